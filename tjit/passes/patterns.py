"""Matching helpers shared by the stabilize_* rewrites (no rewrite lives here)."""
from __future__ import annotations

import numpy as np

from ..graph import Constant
from ..tensor.basic import cast, fill
from ..tensor.elemwise import DimShuffle, Elemwise
from ..tensor.reduction import Reduce


def elemwise(v, *names):
    """v's node if v is the output of an Elemwise whose scalar op is one of `names`."""
    node = v.owner
    if node is not None and isinstance(node.op, Elemwise) and node.op.scalar_op.name in names:
        return node
    return None


def strip(v):
    """v without the DimShuffles on top of it."""
    while v.owner is not None and isinstance(v.owner.op, DimShuffle):
        v = v.owner.inputs[0]
    return v


def is_const(v, value):
    """Whether v (through DimShuffles) is a constant whose every entry equals `value`."""
    v = strip(v)
    if not isinstance(v, Constant):
        return False
    data = np.asarray(v.data)
    return data.size > 0 and bool(np.all(data == value))


def reduce_of(v, kind):
    """(node, None) if v is a `kind` Reduce; (node, order) if v is a keepdims view of one."""
    order = None
    if v.owner is not None and isinstance(v.owner.op, DimShuffle):
        order = v.owner.op.new_order
        v = v.owner.inputs[0]
    node = v.owner
    if node is None or not isinstance(node.op, Reduce) or node.op.kind != kind:
        return None, None
    if order is not None and order != keepdims_order(node.inputs[0].ndim, node.op.axis):
        return None, None
    return node, order


def keepdims_order(ndim, axes):
    """The DimShuffle order that puts back the reduced `axes` as broadcastable dims."""
    order, k = [], 0
    for d in range(ndim):
        if d in axes:
            order.append("x")
        else:
            order.append(k)
            k += 1
    return tuple(order)


def is_row_shifted(y, axes):
    """Whether y is x - max(x) over `axes` (kept dims, maybe behind zero_grad):
    exp(y) then cannot overflow, so no further shift is needed."""
    node = elemwise(y, "sub")
    if node is None:
        return False
    x, m = node.inputs
    m_node = elemwise(m, "zero_grad")
    if m_node is not None:
        m = m_node.inputs[0]
    red, order = reduce_of(m, "max")
    return red is not None and order is not None and red.op.axis == tuple(axes) \
        and same(red.inputs[0], x)


def same(a, b, depth=0):
    """Structural equality: the same op applied to structurally equal inputs."""
    if a is b:
        return True
    if depth > 100 or a.type != b.type:
        return False
    if isinstance(a, Constant) or isinstance(b, Constant):
        return isinstance(a, Constant) and isinstance(b, Constant) \
            and a.signature() == b.signature()
    na, nb = a.owner, b.owner
    if na is None or nb is None or a.index != b.index or na.op != nb.op \
            or len(na.inputs) != len(nb.inputs):
        return False
    return all(same(x, y, depth + 1) for x, y in zip(na.inputs, nb.inputs))


def finish(new, old, donors=()):
    """`new` with the type of `old`: cast to its dtype, and filled to its shape
    (from `donors`, variables of old's ndim) where new has broadcastable dims
    that old has not. None if no donor can give the shape."""
    if new.ndim != old.ndim:
        return None
    for d, (b_new, b_old) in enumerate(zip(new.broadcastable, old.broadcastable)):
        if b_new and not b_old:
            donor = next((v for v in donors if v.ndim == new.ndim
                          and not v.broadcastable[d]), None)
            if donor is None:
                return None
            new = fill(donor, new)
    if new.dtype != old.dtype:
        new = cast(new, old.dtype)
    return new
