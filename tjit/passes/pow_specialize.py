"""pow_specialize: x ** c for the constants NumPy's own `**` special-cases:
2 -> sqr(x), 0.5 -> sqrt(x), 1 -> x, -1 -> 1 / x (floats).

Same values as NumPy's `x ** c` (it takes these fast paths too; sqr and sqrt are
correctly rounded), and far cheaper than a general pow.
"""
from __future__ import annotations

import numpy as np

from .. import scalar as ts
from ..tensor.basic import constant, sqr, sqrt, true_div
from .patterns import elemwise, is_const
from .walk import replace


def _local(node):
    out = node.outputs[0]
    if elemwise(out, "pow") is None:
        return None
    x, c = node.inputs
    if x.dtype != out.dtype or x.broadcastable != out.broadcastable:
        return None     # the constant sets the dtype or the shape: keep pow
    if is_const(c, 2):
        return [sqr(x)]
    if is_const(c, 1):
        return [x]
    if out.dtype in ts.FLOATS:
        if is_const(c, 0.5):
            return [sqrt(x)]
        if is_const(c, -1):
            return [true_div(constant(np.asarray(1, dtype=out.dtype)), x)]
    return None


def pow_specialize(outputs):
    return replace(outputs, local=_local)
