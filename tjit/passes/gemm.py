"""gemm: `alpha*dot(x, y) + beta*z` (and `dot(x, y) + z`, `z - dot(x, y)`, ...) becomes
one Gemm node: BLAS scales z's copy by beta and adds the product in the same pass,
instead of a product, a scaling and an addition.

It fires on an elementwise add or sub of float32/float64 when
- one operand is a Dot (matrix.matrix, matrix.vector or vector.matrix), possibly
  times a scalar-like factor (0-d, or size 1 in every dim) or negated;
- the product's result is used nowhere else (else it would be computed twice);
- the result has the product's dtype and shape: z may broadcast to the product
  (a row bias, a scalar), never the other way round.
Runs before elemwise_fusion, which then fuses whatever is left around the Gemm,
and after matvec, which has already turned float matrix-vector products into
fused reductions: in FAST_RUN, gemm sees those forms only when matvec is excluded.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from .. import scalar as ts
from ..graph import Constant, toposort
from ..tensor.basic import cast
from ..tensor.blas import BLAS_DTYPES, Dot, gemm
from ..tensor.elemwise import DimShuffle, Elemwise
from ..tensor.var import constant
from .walk import replace


def _scalar(v, dtype):
    """`v` (scalar-like) as a 0-d variable, or None when it is not scalar-like."""
    if not all(v.broadcastable):
        return None
    if isinstance(v, Constant):
        return constant(np.asarray(v.data).reshape(()).astype(dtype))
    if v.owner is not None and isinstance(v.owner.op, DimShuffle) and v.owner.inputs[0].ndim == 0:
        v = v.owner.inputs[0]
    elif v.ndim:
        v = v.dimshuffle()
    return v if v.dtype == dtype else cast(v, dtype)


def _scaled(v, dtype, uses):
    """(scale, core): v == scale * core with scale a 0-d variable or a number."""
    node = v.owner
    if node is None or not isinstance(node.op, Elemwise) or uses[id(v)] != 1:
        return 1, v
    s = node.op.scalar_op
    if s is ts.neg and v.dtype == dtype:
        return -1, node.inputs[0]
    if s is ts.mul and v.dtype == dtype:
        a, b = node.inputs
        for k, other in ((a, b), (b, a)):
            sc = _scalar(k, dtype)
            if sc is not None and not all(other.broadcastable):
                return sc, other
    return 1, v


def _times(scale, sign, dtype):
    if isinstance(scale, (int, float)):
        return constant(np.asarray(scale * sign, dtype=dtype))
    return scale if sign == 1 else -scale


def _match(node, uses):
    """The Gemm output replacing `node`'s output, or None."""
    op = node.op
    if not isinstance(op, Elemwise) or op.scalar_op not in (ts.add, ts.sub):
        return None
    out = node.outputs[0]
    dtype = out.dtype
    if dtype not in BLAS_DTYPES or out.ndim not in (1, 2):
        return None
    u, v = node.inputs
    sign_v = -1 if op.scalar_op is ts.sub else 1
    for (p, p_sign), (z, z_sign) in (((u, 1), (v, sign_v)), ((v, sign_v), (u, 1))):
        alpha, prod = _scaled(p, dtype, uses)
        if not _is_product(prod, out, uses):
            continue
        beta, z = _scaled(z, dtype, uses)
        if z.dtype != dtype:
            z = constant(z.data.astype(dtype)) if isinstance(z, Constant) else cast(z, dtype)
        x, y = prod.owner.inputs
        return gemm(z, _times(alpha, p_sign, dtype), x, y, _times(beta, z_sign, dtype))
    return None


def _is_product(v, out, uses):
    node = v.owner
    return (node is not None and isinstance(node.op, Dot) and uses[id(v)] == 1
            and v.dtype == out.dtype and v.ndim == out.ndim
            and v.broadcastable == out.broadcastable)


def _uses(order, outputs):
    uses = Counter()
    for node in order:
        for v in node.inputs:
            uses[id(v)] += 1
    for v in outputs:
        uses[id(v)] += 1
    return uses


def gemm_rewrite(outputs):
    while True:  # one replacement per sweep: use counts change with each
        order = toposort(outputs)
        uses = _uses(order, outputs)
        for node in order:
            new = _match(node, uses)
            if new is not None:
                outputs = replace(outputs, {node.outputs[0]: new})
                break
        else:
            return outputs
