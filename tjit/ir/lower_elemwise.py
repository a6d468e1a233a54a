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
        self.check_inputs = None     # a kind may check the loop shape first (FusedRows)

    def prepare(self, inputs, alloc):
        shape = loop_shape(self.plan, inputs)
        if self.check_inputs is not None:
            self.check_inputs(shape)
        outs = [alloc(k, shape, dt) for k, dt in enumerate(self.dtypes)]
        return (*inputs, *outs), outs[0].size, outs

    def extent(self, args):
        return outer_extent(self.kernel, args)

    def error(self, status, inputs):
        # The NumPy-level check names the inputs and their shapes.
        self.node.op.loop_shape(self.node, inputs)
        info = self.kernel.meta.get("checks", {}).get(status, {})
        pos = info.get("position")
        var = self.node.inputs[pos] if isinstance(pos, int) and pos < len(self.node.inputs) \
            else None
        return ValueError(f"{self.node.op}: shape check {status} failed ({info}); input {var} "
                          f"has shape {inputs[pos].shape if var is not None else '?'}")


@lower.register(FusedElemwise)
def _(op, node, level):
    return ElemwiseLaunch(node, lower_fused(node))
