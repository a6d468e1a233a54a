"""var_one_pass: var(x, axes) -> m2(x, axes) / (n - ddof), where m2 (the sum of
squared deviations from the mean) is one Reduce: reduce_fusion then makes it one
kernel that reads x once (sums of x - x[first] and of its square), instead of
var's composite graph (mean, subtract, square, sum, divide), which reads x twice.

Fires on the output that `tjit.tensor.var` tags `one_pass`, after checking the
composite's shape (true_div of a sum of sqr(x - mean)), so a graph already
rebuilt by an earlier rewrite keeps its composite form. Gradients are taken on
the composite before rewrites run, so they are unchanged. Runs before canonicalize
(which may reshape the composite) and so before reduce_fusion.
"""
from __future__ import annotations

from ..tensor.basic import cast, true_div
from ..tensor.elemwise import Elemwise
from ..tensor.reduction import Reduce
from ..tensor.shape_ops import shape
from .patterns import elemwise, keepdims_order, reduce_of
from .walk import replace


def _extent(v, axis):
    """v's size along `axis`, read from an input of the elementwise graph producing v
    that spans that axis (so computing the size does not materialize v)."""
    if v.broadcastable[axis]:
        return 1
    while v.owner is not None and isinstance(v.owner.op, Elemwise):
        spanning = [u for u in v.owner.inputs if u.ndim == v.ndim and not u.broadcastable[axis]]
        if not spanning:
            break
        v = spanning[0]
    return shape(v)[axis]


def _local(node):
    out = node.outputs[0]
    tag = out.tag.get("one_pass")
    if tag is None or tag[0] != "var" or elemwise(out, "true_div") is None:
        return None
    _, axes, ddof, keepdims = tag
    red, _ = reduce_of(node.inputs[0], "sum")
    sq = elemwise(red.inputs[0], "sqr") if red is not None and red.op.axis == axes else None
    sub = elemwise(sq.inputs[0], "sub") if sq is not None else None
    if sub is None:
        return None
    x = sub.inputs[0]
    if x.dtype not in ("float32", "float64"):
        # Theano's mean of integers sums in int64, which can wrap: keep the
        # composite so the value stays the graph's.
        return None
    # m2 kept in its float64 accumulator: for float32 x it can pass float32's
    # range where the variance (m2 / n) does not (var of +-1.5e19 is 2.25e38)
    m2 = Reduce("m2", axes, dtype="float64")(x)
    n = None
    for a in axes:
        n = _extent(x, a) if n is None else n * _extent(x, a)
    n = cast(n, m2.dtype)
    v = cast(true_div(m2, n - ddof) if ddof else true_div(m2, n), out.dtype)
    if keepdims:
        v = v.dimshuffle(*keepdims_order(x.ndim, axes))
    return [v]


def var_one_pass(outputs):
    return replace(outputs, local=_local)
