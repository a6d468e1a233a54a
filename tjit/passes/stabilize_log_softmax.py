"""stabilize_log_softmax: log(softmax(y)) -> y - log(sum(exp(y))), over the softmax axes.

softmax(y) is matched as exp(y) / sum(exp(y), axes, keepdims=True) (T.nnet.softmax
builds it so, with y = x - max(x)); log(softmax(y)[arange(n), idx]) is matched too
(categorical_crossentropy with class indices). A probability that underflows to 0
then gives its log instead of -inf. When y is not max-shifted,
stabilize_logsumexp (which runs next) shifts the log(sum(exp(y))).
"""
from __future__ import annotations

from ..tensor.basic import log, sub
from ..tensor.nnet import RowPick, row_pick
from .patterns import elemwise, finish, reduce_of, same
from .walk import replace


def log_softmax_of(p):
    """log(p) in a stable form if p is exp(y) / sum(exp(y)) (kept dims), else None."""
    div = elemwise(p, "true_div")
    if div is None:
        return None
    e, denom = div.inputs
    if elemwise(e, "exp") is None:
        return None
    red, order = reduce_of(denom, "sum")
    if red is None or (order is None and red.inputs[0].ndim != 0) \
            or elemwise(red.inputs[0], "exp") is None or not same(red.inputs[0], e):
        return None
    return sub(e.owner.inputs[0], log(denom))


def _local(node):
    out = node.outputs[0]
    if elemwise(out, "log") is None:
        return None
    (p,) = node.inputs
    new = log_softmax_of(p)
    if new is not None:
        new = finish(new, out, [p])
    elif p.owner is not None and isinstance(p.owner.op, RowPick):
        z = p.owner.inputs[0]
        inner = log_softmax_of(z)
        inner = finish(inner, z, [z]) if inner is not None else None
        if inner is not None:
            new = finish(row_pick(inner, p.owner.inputs[1]), out)
    return None if new is None else [new]


def stabilize_log_softmax(outputs):
    return replace(outputs, local=_local)
