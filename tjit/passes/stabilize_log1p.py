"""stabilize_log1p: log(1 + x) and log(x + 1) -> log1p(x); log(1 - x) -> log1p(-x).
log1p keeps the digits of a small x that 1 + x rounds away (log(1 + 1e-20) is 0)."""
from __future__ import annotations

from .. import scalar as ts
from ..tensor.basic import log1p, neg
from .patterns import elemwise, finish, is_const
from .walk import replace


def _local(node):
    out = node.outputs[0]
    if elemwise(out, "log") is None:
        return None
    (u,) = node.inputs
    inner = elemwise(u, "add", "sub")
    if inner is None or inner.outputs[0].dtype not in ts.FLOATS:
        return None
    a, b = inner.inputs
    if inner.op.scalar_op.name == "add":
        x = b if is_const(a, 1) else a if is_const(b, 1) else None
    else:
        x = neg(b) if is_const(a, 1) else None
    if x is None:
        return None
    new = finish(log1p(x), out, [a, b])
    return None if new is None else [new]


def stabilize_log1p(outputs):
    return replace(outputs, local=_local)
