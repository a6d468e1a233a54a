"""canonicalize: drop no-op nodes and merge chains of view ops."""
from __future__ import annotations

from ..scalar import Cast, identity, second
from ..tensor.elemwise import DimShuffle, Elemwise
from ..tensor.shape_ops import Rebroadcast
from ..tensor.subtensor import Subtensor
from .walk import replace


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
    if (isinstance(op, Subtensor) and len(op.pattern) == inputs[0].ndim
            and all(p == ("slice", None, None, None) for p in op.pattern)):
        return [inputs[0]]  # x[:, :]: the whole tensor
    if isinstance(op, Rebroadcast) and inputs[0].broadcastable == op.broadcastable:
        return [inputs[0]]
    if isinstance(op, Elemwise):
        s = op.scalar_op
        if s is second and all(node.outputs[0].broadcastable):
            # fill(model, value) with a size-1 result needs no value of `model`
            value = inputs[1]
            out = node.outputs[0]
            if value.broadcastable == out.broadcastable:
                return [value]
        if (isinstance(s, Cast) and inputs[0].dtype == s.dtype) or s is identity:
            if inputs[0].broadcastable == node.outputs[0].broadcastable:
                return [inputs[0]]
    return None


def canonicalize(outputs):
    return replace(outputs, local=_local)
