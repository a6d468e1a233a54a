"""Row-major matrix-vector products, out[i] = sum_j X[i, j] v[j], as the FusedReduce
the matvec rewrite makes of dot(X, v): four rows at a time.

The general reduction kernel sums one row at a time; with short rows (a hundred
features) the per-row start and horizontal sum cost as much as reading the row,
so the product ran well below the memory's read bandwidth. Taking four rows per
pass over v shares each load of v and the loop overhead between them (as BLAS's
gemv does). Each row is still summed on its own: which path (a 4-row block or
the tail) a row takes depends on n only, never on the thread split, so results
are bit-identical whatever `tjit.config.threads` is.
"""
from __future__ import annotations

import numpy as np

from ..config import config
from .threads import MIN_PARALLEL_ELEMENTS, POOL, split
from .thunks import _reuse_or_empty

ROWS = 4   # rows per block


def is_row_matvec(node):
    """Whether FusedReduce `node` is sum_j X[i, j] * v[j] over a matrix X and a
    vector v of its float dtype, accumulated in that dtype."""
    op = node.op
    return (op.kind == "sum" and len(node.inputs) == 2 and len(op.steps) == 1
            and op.steps[0].op.name == "mul"
            and tuple(op.steps[0].args) == (("in", 0), ("in", 1)) and op.value == ("step", 0)
            and op.reduced == (1,) and op.axes == ((0, 1), (None, 0))
            and op.dtype in ("float32", "float64") and op.acc_dtype == op.dtype
            and all(v.dtype == op.dtype for v in node.inputs)
            and not any(node.inputs[0].broadcastable) and not node.inputs[1].broadcastable[0])


def rowdot_kernel(dtype):
    """The Kernel: X (n, F), v (F,) -> out (n,), rows [begin, end) (begin a
    multiple of ROWS, end one or n)."""
    from ..ir.lower_scan import let
    from ..ir.nodes import (Accumulate, Begin, Buffer, Check, Const, Dim, End, IntConst,
                            IntOp, Kernel, Load, Local, Op, Range, Store, Var)
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
    return Kernel(f"rowdot_{dtype}", (X, v, out), body, n_inputs=2,
                  meta={"schedule": "rowdot"})


class RowDotThunk:
    def __init__(self, node, native):
        self.node, self.native, self.cfunc = node, native, native.cfunc
        self.dtype = np.dtype(node.outputs[0].dtype)
        self.pool = []

    def __call__(self, inputs):
        X, v = inputs
        n = X.shape[0]
        out = _reuse_or_empty(self.pool, (n,), self.dtype)
        threads = config.threads
        if threads > 1 and X.size >= MIN_PARALLEL_ELEMENTS and n >= 2 * ROWS:
            blocks = split((n + ROWS - 1) // ROWS, threads)
            codes = POOL.run(self.cfunc, [(X, v, out, b * ROWS, min(e * ROWS, n))
                                          for b, e in blocks])
            rc = next((c for c in codes if c), 0)
        else:
            rc = self.cfunc(X, v, out, 0, n)
        if rc:
            self.node.op.loop_shape(self.node, inputs)   # names the culprit
            raise ValueError(f"{self.node.op}: shape check {rc} failed for inputs of shapes "
                             f"{X.shape} and {v.shape}")
        return [out]


def rowdot_thunk(node):
    """The thunk of FusedReduce `node` when it is a row-major matrix-vector
    product, else None."""
    if not is_row_matvec(node):
        return None
    from ..codegen import compile_kernel
    return RowDotThunk(node, compile_kernel(rowdot_kernel(node.outputs[0].dtype)))
