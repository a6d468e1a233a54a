"""canonicalize: drop no-op nodes and merge chains of view ops."""
from __future__ import annotations

from ..scalar import Cast, identity
from ..tensor.elemwise import DimShuffle, Elemwise
from ..tensor.shape_ops import Rebroadcast
from .registry import register
from .walk import rewrite_nodes


def _local(node):
    op, inputs = node.op, node.inputs
    if isinstance(op, DimShuffle):
        x = inputs[0]
        if op.new_order == tuple(range(x.ndim)):
            return [x]
        inner = x.owner
        if inner is not None and isinstance(inner.op, DimShuffle):
            order = [e if e == "x" else inner.op.new_order[e] for e in op.new_order]
            return [inner.inputs[0].dimshuffle(*order)]
    if isinstance(op, Rebroadcast) and inputs[0].broadcastable == op.broadcastable:
        return [inputs[0]]
    if isinstance(op, Elemwise):
        s = op.scalar_op
        if (isinstance(s, Cast) and inputs[0].dtype == s.dtype) or s is identity:
            if inputs[0].broadcastable == node.outputs[0].broadcastable:
                return [inputs[0]]
    return None


@register("canonicalize", "fast_run", "fast_compile")
def canonicalize(outputs):
    return rewrite_nodes(outputs, _local)
