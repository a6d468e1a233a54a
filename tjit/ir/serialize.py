"""A canonical text of a kernel: the key of the compiled-code caches.

Expressions are DAGs with shared subtrees; `repr` would print a shared subtree
once per path (exponential), so nodes are numbered once, in post-order.
"""
from __future__ import annotations

import dataclasses

from .nodes import Buffer


def serialize(kernel):
    """Deterministic text naming everything that determines the kernel's code."""
    lines, memo = [], {}

    def ref(value):
        if isinstance(value, tuple):
            return "(" + ",".join(ref(v) for v in value) + ")"
        if isinstance(value, Buffer) or not dataclasses.is_dataclass(value):
            return repr(value)
        key = id(value)
        if key not in memo:
            fields = ",".join(ref(getattr(value, f.name)) for f in dataclasses.fields(value)
                              if f.compare)
            memo[key] = (value, f"%{len(lines)}")
            lines.append(f"{type(value).__name__}({fields})")
        return memo[key][1]

    body = ref(kernel.body)
    head = (f"kernel {kernel.name} {ref(kernel.buffers)} n_inputs={kernel.n_inputs} "
            f"params={ref(kernel.params)}")
    return "\n".join([head] + lines + ["body " + body])
