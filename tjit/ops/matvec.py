"""MatVec: a matrix-vector product, the explicit kind of the FusedReduce
sum(X * v[None, :], axis=1) (X.v) or sum(X * v[:, None], axis=0) (X^T.v).

reduce_fusion makes one of every reduction that is exactly such a product
(`as_matvec`): the matvec rewrite's dot(X, v), dot(X.T, v) and dot(v, X), or
the same sums written out. Code that treats products specially (their lowering
in `tjit.ir.lower_matvec`, rowcol_fusion, the native scan loop) asks
`isinstance(node.op, MatVec)` instead of matching the scalar program. Being a
FusedReduce, everything else (perform, rowwise fusion, the reduction kernel)
handles it as the reduction it is.
"""
from __future__ import annotations

from .. import scalar as ts
from .fused_reduce import FusedReduce
from .scalar_program import ScalarProgram, Step

FLOATS = ("float32", "float64")
PRODUCT = ScalarProgram((Step(ts.mul, (("in", 0), ("in", 1))),), (("step", 0),))


class MatVec(FusedReduce):
    """out = X.v (`transposed` False: out[i] = sum_j X[i, j] v[j]) or X^T.v
    (True: out[j] = sum_i X[i, j] v[i]), accumulated in `acc_dtype`, for a matrix
    X and a vector v of float dtype `dtype` with no broadcastable dims.

    Inputs (X, v); output: a vector of `dtype`. make_node raises TypeError on
    other types.
    """

    __props__ = ("transposed", "acc_dtype", "dtype")

    def __init__(self, transposed, acc_dtype, dtype):
        axes = ((0, 1), (0, None)) if transposed else ((0, 1), (None, 0))
        super().__init__("sum", axes, PRODUCT, (0,) if transposed else (1,), (False, False),
                         acc_dtype, dtype)
        self.transposed = transposed

    def make_node(self, X, v):
        if not (self.dtype in FLOATS and self.acc_dtype in FLOATS
                and X.type.dtype == v.type.dtype == self.dtype
                and X.broadcastable == (False, False) and v.broadcastable == (False,)):
            raise TypeError(f"{self}: needs a {self.dtype} matrix and vector with no "
                            f"broadcastable dims, got {X.type} and {v.type}")
        return super().make_node(X, v)

    def __str__(self):
        return f"MatVec{{{'X^T.v' if self.transposed else 'X.v'}, acc={self.acc_dtype}}}"


def as_matvec(op, inputs):
    """The MatVec computing what FusedReduce `op` computes over `inputs` (its
    input variables), or None when `op` is not exactly a float matrix-vector
    product (sum of in0 * in1, X = in0 read in order, v = in1 along the summed
    or the kept dim)."""
    if not (type(op) is FusedReduce and op.kind == "sum" and len(inputs) == 2
            and op.program == PRODUCT and op.broadcastable == (False, False)):
        return None
    X, v = inputs
    if (op.dtype not in FLOATS or op.acc_dtype not in FLOATS
            or X.type.dtype != op.dtype or v.type.dtype != op.dtype
            or X.broadcastable != (False, False) or v.broadcastable != (False,)):
        return None
    for transposed in (False, True):
        mv = MatVec(transposed, op.acc_dtype, op.dtype)
        if (mv.axes, mv.reduced) == (op.axes, op.reduced):
            return mv
    return None
