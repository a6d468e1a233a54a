"""stabilize_logsumexp: log(sum(exp(x), axes)) -> m + log(sum(exp(x - m), axes)),
m = max(x, axes), so that exp cannot overflow (logsumexp([1000, 1000]) is
1000 + log 2, not inf). A row that is all -inf has m = -inf; m is taken as 0
there, so the result is -inf (log 0) rather than NaN (-inf - -inf). A keepdims
view between the log and the sum is kept. Skipped when x is already x' - max(x').
"""
from __future__ import annotations

from .. import scalar as ts
from ..tensor.basic import add, exp, isinf, log, switch
from ..tensor.reduction import Reduce
from .patterns import elemwise, finish, is_row_shifted, keepdims_order, reduce_of
from .walk import replace


def _local(node):
    out = node.outputs[0]
    if elemwise(out, "log") is None:
        return None
    (s,) = node.inputs
    red, order = reduce_of(s, "sum")
    if red is None:
        return None
    e = red.inputs[0]
    ex = elemwise(e, "exp")
    if ex is None:
        return None
    x = ex.inputs[0]
    axes = red.op.axis
    if x.dtype not in ts.FLOATS or x.ndim == 0 or is_row_shifted(x, axes):
        return None
    m = Reduce("max", axes)(x)
    m = switch(isinf(m), 0, m)  # all -inf (or +inf) rows: no shift
    m_kept = m.dimshuffle(*keepdims_order(x.ndim, axes))
    lse = add(m, log(red.op(exp(x - m_kept))))
    if order is not None:
        lse = lse.dimshuffle(*order)
    new = finish(lse, out, [s])
    return None if new is None else [new]


def stabilize_logsumexp(outputs):
    return replace(outputs, local=_local)
