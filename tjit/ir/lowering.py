"""The lowering registry: graph op -> `Launch` (loop-IR kernel + launch description).

Each kernel kind registers its lowering in its own module, beside nothing else:

    @lower.register(FusedElemwise)
    def _(op, node, level):
        return ElemwiseLaunch(node, elementwise_kernel(...))

`lower(node.op, node, level)` returns None for ops with no native lowering (the
linker then looks for an extern call, else runs the op's NumPy `perform`).
`level` is the codegen level the kernel will be compiled at (3 FAST_RUN, 0
FAST_COMPILE): a lowering may pick a schedule that compiles faster at level 0.
"""
from __future__ import annotations

from functools import singledispatch


@singledispatch
def lower(op, node, level):
    return None
