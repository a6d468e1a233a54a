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

from ..graph import Apply, Op
from ..tensor.blas import BLAS_DTYPES, Dot
from ..tensor.elemwise import DimShuffle
from .registry import register
from .walk import rewrite_nodes


class DotShapes(Op):
    """dot(a, b)'s inner-size check, kept when the product becomes a reduction.

    Inputs are dot's operands in order, except that a transposed matrix comes
    untransposed (`transposed`: so the transpose need not run); returns operand
    `which` (a view) or raises Dot's ValueError naming both operands."""

    __props__ = ("which", "transposed")

    def __init__(self, which, transposed=False):
        self.which, self.transposed = which, transposed
        self.view_map = {0: [which]}

    def make_node(self, a, b):
        return Apply(self, [a, b], [(a, b)[self.which].type()])

    def perform(self, node, inputs):
        names = [str(v) for v in node.inputs]
        a, b = inputs
        if self.transposed:
            names[1 - self.which] += ".T"
            a, b = (a.T, b) if self.which == 1 else (a, b.T)
        if a.shape[-1] != b.shape[0]:
            raise ValueError(f"dot: shapes not aligned: {names[0]} of shape {a.shape} and "
                             f"{names[1]} of shape {b.shape} (dim {a.ndim - 1} of the first is "
                             f"{a.shape[-1]}, dim 0 of the second is {b.shape[0]})")
        return [inputs[self.which]]  # the vector, never transposed

    def grad(self, inputs, output_grads):
        raise NotImplementedError("DotShapes only appears in compiled graphs")


def _untransposed(m):
    """(A, True) when the matrix m is A.T, else (m, False)."""
    node = m.owner
    if node is not None and isinstance(node.op, DimShuffle) and node.op.new_order == (1, 0):
        return node.inputs[0], True
    return m, False


def _local(node):
    from ..tensor.reduction import sum as sum_
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
    from ..graph import toposort
    from ..tensor.reduction import Reduce
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
    return rewrite_nodes(outputs, local) if stored else outputs


@register("matvec", "fast_run")
def matvec(outputs):
    return _read_stored_vectors(rewrite_nodes(outputs, _local))
