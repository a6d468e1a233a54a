"""Kernel kind: FusedRowCol (row dots, per-row program, column sums; X read once).

    for each chunk c of CHUNK rows (the unit the threads split):
        part[c, :] = 0
        for each block of rows (small enough to stay in L1/L2):
            z[i] = X[i, :] . v                 for the block's rows, one by one
            g[i] = program(z[i], extras[i])    for the block's rows (vectorizes)
            part[c, :] += X[i, :] * g[i]       row by row, X[i, :] still in cache
    col = part[0] + part[1] + ...  (here, in chunk order)

Chunks have a fixed number of rows, and each partial sum adds its rows in order,
so results are bit-identical whatever `tjit.config.threads` is; the block size
(the kernel's int64 param `block`, chosen per call from the row width) changes
only what is in cache, never the order of any sum.
"""
from __future__ import annotations

import numpy as np

from ..ops.fused_rowcol import FusedRowCol
from .from_graph import input_types, program_exprs, steps_text, structure_hash
from .launch import Launch
from .lower import _place_loads
from .lowering import lower
from .nodes import (Accumulate, Buffer, Cast, Check, Const, Dim, IntConst, IntOp,
                    Kernel, Load, Local, Op, Param, Range, Store, Var, let, split_range)

CHUNK = 1024            # rows per partial column sum (fixed: results do not depend on threads)
ROWS = 4                # rows per pass over part[c, :] (the column sums)
BLOCK_BYTES = 1 << 18   # a block of rows this large stays in L1/L2 between its passes


def block_rows(width, itemsize):
    """Rows per cache block (a power of two in [4, 256]) for rows of `width`."""
    rows = 4
    while rows < 256 and 2 * rows * max(width, 1) * itemsize <= BLOCK_BYTES:
        rows *= 2
    return rows


def rowcol_kernel(node):
    """The Kernel of FusedRowCol `node`: X, v, extras -> z, g, part, with the
    int64 param `block` (rows per cache block, >= 1). Split by chunk: begin/end
    count chunks of CHUNK rows; part[c, :] is chunk c's column sum."""
    op = node.op
    dtype = node.inputs[0].dtype
    X = Buffer("X", dtype, (False, False))
    v = Buffer("v", dtype, (False,))
    extras = [Buffer(f"e{k}", x.dtype, x.broadcastable) for k, x in enumerate(node.inputs[2:])]
    z, g = Buffer("z", dtype, (False,)), Buffer("g", dtype, (False,))
    acc_dtype = op.acc_dtype    # the sums' dtype: part is in it, z is cast from it
    part = Buffer("part", acc_dtype, (False, False))
    accs = [Buffer(f"rc_acc{k}", acc_dtype, ()) for k in range(ROWS)]
    gis = [Buffer(f"rc_g{k}", dtype, ()) for k in range(ROWS)]
    rowv = [Var(f"rc_row{k}") for k in range(ROWS)]
    i4 = Var("rc_i4")

    def widened(e):
        return e if acc_dtype == dtype else Cast(e, acc_dtype)
    n, width = Dim(X, 0), Dim(X, 1)
    nchunks = IntOp("div", IntOp("add", n, IntConst(CHUNK - 1)), IntConst(CHUNK))
    c, r0, r1, kb, i0, i1, i, j = (Var("rc_" + s) for s in ("c", "r0", "r1", "kb", "i0", "i1",
                                                              "i", "j"))
    bl = Param("block")

    prog_bufs = op.program_inputs(z, extras)
    (gexpr,) = program_exprs(op.program, prog_bufs)
    index = {b: (((i, 0),) if b.ndim == 1 else ()) for b in prog_bufs}
    gexpr = _place_loads(gexpr, index)
    if gexpr.dtype != dtype:
        gexpr = Cast(gexpr, dtype)

    def narrow(e):
        return e if acc_dtype == dtype else Cast(e, dtype)

    def term(row, w):
        return widened(Op("mul", (Load(X, ((row, 0), (j, 1))), w), dtype))

    def dot_rows(rs):       # z of rows rs: one pass over v for all of them
        return tuple(Store(a, (), Const(0.0, acc_dtype)) for a in accs[:len(rs)]) + (
            Range(j, IntConst(0), width, 1, tuple(
                Accumulate(a, (), "add", term(r, Load(v, ((j, 0),))), reassoc=True)
                for a, r in zip(accs, rs))),) + tuple(
            Store(z, ((r, 0),), narrow(Load(a, ()))) for a, r in zip(accs, rs))

    def col_rows(rs):       # part[c, :] += X[r, :] * g[r], rows in order (so the same
        # sums as one row at a time), part[c, j] held in a register across them
        return tuple(Store(gk, (), Load(g, ((r, 0),))) for gk, r in zip(gis, rs)) + (
            Range(j, IntConst(0), width, 1, tuple(
                Accumulate(part, ((c, 0), (j, 1)), "add", term(r, Load(gk, ())))
                for gk, r in zip(gis, rs))),)

    def by_rows(body_of):   # rows [i0, i1): ROWS at a time, then one at a time
        body = body_of(rowv)
        for k in reversed(range(ROWS)):
            body = let(rowv[k], IntOp("add", i, IntConst(k)), body)
        return (Range(i, i0, i4, ROWS, body), Range(i, i4, i1, 1, body_of([i])))

    rows_g = Range(i, i0, i1, 1, (Store(g, ((i, 0),), gexpr),))
    whole = IntOp("add", i0, IntOp("mul", IntOp("div", IntOp("sub", i1, i0), IntConst(ROWS)),
                                    IntConst(ROWS)))
    # z row by row: X is read from memory here, and one sequential stream keeps the
    # hardware prefetcher ahead (four interleaved row streams ran the whole step
    # 15-25% slower); the column pass re-reads the block from L1/L2, ROWS at a time
    dots = (Range(i, i0, i1, 1, dot_rows([i])),)
    block_body = let(i4, whole, dots + (rows_g,) + by_rows(col_rows))
    nblocks = IntOp("div", IntOp("add", IntOp("sub", r1, r0), IntOp("sub", bl, IntConst(1))), bl)
    blocks = Range(kb, IntConst(0), nblocks, 1,
                   let(i0, IntOp("add", r0, IntOp("mul", kb, bl)),
                       let(i1, IntOp("min", r1, IntOp("add", i0, bl)),
                           block_body)))
    chunk = let(r0, IntOp("mul", c, IntConst(CHUNK)),
                let(r1, IntOp("min", n, IntOp("add", r0, IntConst(CHUNK))), (
                    Range(j, IntConst(0), width, 1,
                          (Store(part, ((c, 0), (j, 1)), Const(0.0, acc_dtype)),)),
                    blocks)))
    checks = [Check(Dim(v, 0), width, 1), Check(IntOp("max", bl, IntConst(1)), bl, 94)]
    checks += [Check(Dim(e, 0), n, 2 + k) for k, e in enumerate(extras) if e.ndim == 1]
    checks += [Check(Dim(z, 0), n, 90), Check(Dim(g, 0), n, 91),
               Check(Dim(part, 0), nchunks, 92), Check(Dim(part, 1), width, 93)]
    body = tuple(checks) + tuple(Local(b) for b in accs + gis) + (
        split_range(c, nchunks, chunk),)
    # Named and cached by its structure (as FusedElemwise): the ops, the program and
    # the input types; this module's code is in the compile cache's code version.
    key = structure_hash(acc_dtype, steps_text(op.program), op.program.outputs[0], op.zpos,
                         op.ext_axes, input_types(node))
    return Kernel("tjit_rowcol_" + key[:16], (X, v, *extras, z, g, part), body,
                  n_inputs=2 + len(extras), params=(bl,),
                  meta={"schedule": "rowcol", "cache_key": "rowcol " + key})


class RowColLaunch(Launch):
    """z and g pooled; the column partials per chunk, summed in chunk order by
    `finish`; the split is over chunks."""

    n_pools = 2     # z and g; the partial column sums are fresh per call

    def __init__(self, node, kernel):
        super().__init__(node, kernel)
        self.dtype = np.dtype(node.outputs[0].dtype)
        self.acc_dtype = np.dtype(node.op.acc_dtype)

    def prepare(self, inputs, alloc):
        X = inputs[0]
        n, width = X.shape
        z = alloc(0, (n,), self.dtype)
        g = alloc(1, (n,), self.dtype)
        part = np.empty((-(-n // CHUNK), width), self.acc_dtype)
        block = block_rows(width, self.dtype.itemsize)
        return (*inputs, z, g, part, block), X.size, (z, g, part)

    def extent(self, args):
        return len(args[-2])           # chunks: the rows of `part`

    def finish(self, carry, inputs):
        z, g, part = carry
        if len(part):
            col = np.add.reduce(part, axis=0).astype(self.dtype, copy=False)
        else:
            col = np.zeros(part.shape[1], self.dtype)
        return [z, g, col]


@lower.register(FusedRowCol)
def _(op, node, level):
    return RowColLaunch(node, rowcol_kernel(node))
