"""matvec: float products that read their matrix once become reductions.

    dot(X, v)            -> sum(X * v[None, :], axis=1)
    dot(X.T, v), dot(v, X) -> sum(X * v[:, None], axis=0)
    dot(u, v)            -> sum(u * v)
    dot(a, b) with an inner dim of length 1 (outer products) -> a * b

A matrix-vector product does two flops per element of X it reads, so it runs at
the memory's read bandwidth whoever computes it, BLAS included. As a reduction it
becomes a FusedReduce (reduce_fusion, which runs after this) that runs at that same
bound and also absorbs the elementwise work producing X, and the elementwise work
around it fuses with its neighbours instead of stopping at a BLAS call. An outer
product is one multiplication per output element: elementwise, it fuses too.
Matrix-matrix products stay on BLAS (gemm). Runs before gemm, so gemm does not
turn these into Gemm nodes first.
"""
from __future__ import annotations

from ..graph import toposort
from ..ops.dot_shapes import DotShapes
from ..tensor.blas import BLAS_DTYPES, Dot
from ..tensor.elemwise import DimShuffle
from ..tensor.reduction import Reduce, sum as sum_
from .walk import replace


def _untransposed(m):
    """(A, True) when the matrix m is A.T, else (m, False)."""
    node = m.owner
    if node is not None and isinstance(node.op, DimShuffle) and node.op.new_order == (1, 0):
        return node.inputs[0], True
    return m, False


def _local(node):
    if not isinstance(node.op, Dot):
        return None
    x, y = node.inputs
    if x.dtype not in BLAS_DTYPES or y.dtype not in BLAS_DTYPES:
        return None
    if x.ndim == 2 and y.ndim == 2:
        if x.broadcastable[1] and y.broadcastable[0]:
            return [x * y]          # inner length 1: an outer product
        return None                 # matrix-matrix: BLAS
    if x.ndim == 1 and y.ndim == 1:
        return [sum_(x * DotShapes(1)(x, y))]
    if x.ndim == 2:                 # dot(X, v)
        m, transposed = _untransposed(x)
        v = DotShapes(1, transposed)(m, y)
    else:                           # dot(v, X) = dot(X.T, v)
        m, transposed = _untransposed(y)
        v = DotShapes(0, transposed)(x, m)
        transposed = not transposed
    if transposed:                  # sum over the rows of m
        return [sum_(m * v.dimshuffle(0, "x"), axis=0)]
    return [sum_(m * v.dimshuffle("x", 0), axis=1)]


def _read_stored_vectors(outputs):
    """Reductions of a vector that a product reads anyway (it is stored, behind
    its DotShapes check) read it there, instead of recomputing the elementwise
    work producing it inside the reduction (reduce_fusion would): W5's db, the
    sum of the gradient vector whose product with X.T is dw."""
    stored = {}
    for node in toposort(outputs):
        if isinstance(node.op, DotShapes):
            vec = node.inputs[node.op.which]
            if vec.owner is not None:
                stored.setdefault(id(vec), node.outputs[0])

    def local(node):
        if isinstance(node.op, Reduce) and id(node.inputs[0]) in stored:
            return node.op.make_node(stored[id(node.inputs[0])]).outputs
        return None
    return replace(outputs, local=local) if stored else outputs


def matvec(outputs):
    return _read_stored_vectors(replace(outputs, local=_local))
