"""Kernel kind: fused elementwise (FusedElemwise -> one loop nest).

The kernel reads each input once and writes each output once; the runtime
splits its outermost (possibly collapsed) loop across threads.
"""
from __future__ import annotations

import numpy as np

from ..ops.fused_elemwise import FusedElemwise
from .from_graph import lower_fused
from .launch import Launch, loop_shape, shape_plan
from .lower import outer_extent
from .lowering import lower


class ElemwiseLaunch(Launch):
    """Outputs of the loop shape, one pool each; the split is the outer loop."""

    def __init__(self, node, kernel):
        super().__init__(node, kernel)
        self.plan = shape_plan(node)
        self.dtypes = [np.dtype(v.dtype) for v in node.outputs]

    def prepare(self, inputs, alloc):
        return self.outputs(inputs, loop_shape(self.plan, inputs), alloc)

    def outputs(self, inputs, shape, alloc):
        outs = [alloc(k, shape, dt) for k, dt in enumerate(self.dtypes)]
        return (*inputs, *outs), outs[0].size, outs

    def extent(self, args):
        return outer_extent(self.kernel, args)


@lower.register(FusedElemwise)
def _(op, node, level):
    return ElemwiseLaunch(node, lower_fused(node))
