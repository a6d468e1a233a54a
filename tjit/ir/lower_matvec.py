"""Kernel kind: matrix-vector product (MatVec -> four rows per pass over v).

out[i] = sum_j X[i, j] v[j] for a row-major X: the general reduction kernel sums
one row at a time; with short rows (a hundred features) the per-row start and
horizontal sum cost as much as reading the row, so the product ran well below
the memory's read bandwidth. Taking four rows per pass over v shares each load
of v and the loop overhead between them (as BLAS's gemv does). Each row is
still summed on its own: which path (a 4-row block or the tail) a row takes
depends on n only, never on the thread split (ranges begin at multiples of
ROWS), so results are bit-identical whatever `tjit.config.threads` is.

X^T.v, and products accumulated in a wider dtype than their own, lower as the
reductions they are (`tjit.ir.reduce_launch`).
"""
from __future__ import annotations

import numpy as np

from ..ops.matvec import MatVec
from .launch import Launch
from .lowering import lower
from .nodes import (Accumulate, Begin, Buffer, Check, Const, Dim, End, IntConst, IntOp, Kernel,
                    Load, Local, Op, Range, Store, Var, let)
from .reduce_launch import lower_reduction

ROWS = 4   # rows per block


def matvec_rows_kernel(dtype):
    """The Kernel: X (n, F), v (F,) -> out (n,), rows [begin, end) (begin a
    multiple of ROWS, end one or n)."""
    X = Buffer("X", dtype, (False, False))
    v = Buffer("v", dtype, (False,))
    out = Buffer("out", dtype, (False,))
    n, width = Dim(X, 0), Dim(X, 1)
    i, j, r = Var("rd_i"), Var("rd_j"), Var("rd_r")
    rows = [Var(f"rd_i{k}") for k in range(ROWS)]
    accs = [Buffer(f"rd_acc{k}", dtype, ()) for k in range(ROWS)]

    def term(row):
        return Op("mul", (Load(X, ((row, 0), (j, 1))), Load(v, ((j, 0),))), dtype)

    start = IntOp("max", Begin(), IntConst(0))
    stop = IntOp("min", End(), n)
    whole = IntOp("add", start, IntOp("mul", IntOp("div", IntOp("sub", stop, start), IntConst(ROWS)),
                                       IntConst(ROWS)))
    block = tuple(Store(a, (), Const(0.0, dtype)) for a in accs) + (
        Range(j, IntConst(0), width, 1,
              tuple(Accumulate(a, (), "add", term(row), reassoc=True)
                    for a, row in zip(accs, rows))),) + tuple(
        Store(out, ((row, 0),), Load(a, ())) for a, row in zip(accs, rows))
    for k in reversed(range(ROWS)):
        block = let(rows[k], IntOp("add", i, IntConst(k)), block)
    tail = (Store(accs[0], (), Const(0.0, dtype)),
            Range(j, IntConst(0), width, 1, (Accumulate(accs[0], (), "add", term(r),
                                                        reassoc=True),)),
            Store(out, ((r, 0),), Load(accs[0], ())))
    body = (Check(Dim(v, 0), width, 1), Check(Dim(out, 0), n, 2)) + \
        tuple(Local(a) for a in accs) + \
        (Range(i, start, whole, ROWS, block), Range(r, whole, stop, 1, tail))
    return Kernel(f"matvec_rows_{dtype}", (X, v, out), body, n_inputs=2,
                  meta={"schedule": "matvec_rows"})


class MatVecLaunch(Launch):
    """out (n,) from one pool; the split is over X's rows, in blocks of ROWS."""

    grain = ROWS

    def __init__(self, node, kernel):
        super().__init__(node, kernel)
        self.dtype = np.dtype(node.outputs[0].dtype)

    def prepare(self, inputs, alloc):
        X, v = inputs
        n = X.shape[0]
        out = alloc(0, (n,), self.dtype)
        # under two blocks of rows: one call, however large the rows
        return (X, v, out), (X.size if n >= 2 * ROWS else 0), out

    def extent(self, args):
        return args[0].shape[0]

    def finish(self, carry, inputs):
        return [carry]


@lower.register(MatVec)
def _(op, node, level):
    if op.transposed or op.acc_dtype != op.dtype:
        return lower_reduction(op, node, level)
    return MatVecLaunch(node, matvec_rows_kernel(op.dtype))
