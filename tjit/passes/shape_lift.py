"""shape_lift: take shapes from the earliest variable that has them.

    shape(f(x, y))        -> shape(x)       (f elementwise, x has f's full shape)
    second(f(x, y), v)    -> second(x, v)   (fill: the model only gives a shape)

`mean` divides by shape(x)[0] and sum's gradient fills shape(x): when x is an
intermediate (a cross-entropy vector, say), its values would be computed and
stored only for their shape, and the nodes needing that shape could not fuse
with the nodes computing x. Lifting the shape to an input of the elementwise
chain (through inputs with the same broadcast pattern, hence the same run-time
shape once the shapes are checked) drops that work.
"""
from __future__ import annotations

from ..scalar import second
from ..tensor.elemwise import Elemwise
from ..tensor.shape_ops import Shape, shape
from .walk import replace


def _earliest(v):
    """The earliest variable up v's elementwise producers with v's ndim and
    broadcast pattern (so the same shape); v itself when there is none."""
    while v.owner is not None and isinstance(v.owner.op, Elemwise):
        same = [u for u in v.owner.inputs if u.broadcastable == v.broadcastable]
        if not same:
            break
        # prefer a graph input or a value computed anyway over another elementwise node
        v = next((u for u in same if u.owner is None), same[0])
    return v


def _local(node):
    op = node.op
    if isinstance(op, Shape):
        src = _earliest(node.inputs[0])
        return None if src is node.inputs[0] else [shape(src)]
    if isinstance(op, Elemwise) and op.scalar_op is second:
        model, value = node.inputs
        src = _earliest(model)
        return None if src is model else [op(src, value)]
    return None


def shape_lift(outputs):
    return replace(outputs, local=_local)
