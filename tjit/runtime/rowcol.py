"""The native kernel of a FusedRowCol node: X read from memory once.

    for each chunk c of CHUNK rows (the unit the threads split):
        part[c, :] = 0
        for each block of rows (small enough to stay in L1/L2):
            z[i] = X[i, :] . v                 for the block's rows
            g[i] = program(z[i], extras[i])    for the block's rows (vectorizes)
            part[c, :] += X[i, :] * g[i]       row by row, X[i, :] still in cache
    col = part[0] + part[1] + ...  (here, in chunk order)

Chunks have a fixed number of rows, and each partial sum adds its rows in order,
so results are bit-identical whatever `tjit.config.threads` is; the block size
changes only what is in cache, never the order of any sum.
"""
from __future__ import annotations

import hashlib

import numpy as np

from ..config import config
from .threads import MIN_PARALLEL_ELEMENTS, POOL, split
from .thunks import _reuse_or_empty

CHUNK = 1024            # rows per partial column sum (fixed: results do not depend on threads)
ROWS = 4                # rows per pass over v (z) and over part[c, :] (the column sums)
BLOCK_BYTES = 1 << 18   # a block of rows this large stays in L1/L2 between its passes


def block_rows(width, itemsize):
    """Rows per cache block (a power of two in [4, 256]) for rows of `width`."""
    rows = 4
    while rows < 256 and 2 * rows * max(width, 1) * itemsize <= BLOCK_BYTES:
        rows *= 2
    return rows


def rowcol_kernel(node):
    """The Kernel of FusedRowCol `node`: X, v, extras, rows -> z, g, part (rows
    split by chunk: begin/end count chunks; len(rows) is the cache block)."""
    from ..ir.from_graph import _program
    from ..ir.lower import _place_loads
    from ..ir.lower_scan import let
    from ..ir.nodes import (Accumulate, Begin, Buffer, Cast, Check, Const, Dim, End, IntConst,
                            IntOp, Kernel, Load, Local, Op, Range, Store, Var)
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
    rows = Buffer("rows", "int8", (False,))   # never read: its length is the block

    prog_bufs = op.program_inputs(z, extras)
    gexpr = _program(op, prog_bufs)(op.value)
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
    block_body = let(i4, whole, by_rows(dot_rows) + (rows_g,) + by_rows(col_rows))
    # the block length is the size of the `rows` carrier (a run-time choice, one kernel)
    bl = Dim(rows, 0)
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
        Range(c, IntOp("max", Begin(), IntConst(0)), IntOp("min", End(), nchunks), 1, chunk),)
    # named by its structure; cached by its full text (no meta cache_key: the text
    # covers this module's lowering, which the cache's code version does not)
    text = repr((acc_dtype, [(s.op.name, getattr(s.op, "dtype", None), s.args)
                             for s in op.steps], op.value, op.zpos, op.ext_axes,
                 [(x.dtype, x.broadcastable) for x in node.inputs]))
    key = hashlib.sha256(text.encode()).hexdigest()
    return Kernel("tjit_rowcol_" + key[:16], (X, v, *extras, rows, z, g, part), body,
                  n_inputs=3 + len(extras), meta={"schedule": "rowcol"})


class RowColThunk:
    def __init__(self, node, native):
        self.node, self.native, self.cfunc = node, native, native.cfunc
        self.dtype = np.dtype(node.outputs[0].dtype)
        self.acc_dtype = np.dtype(node.op.acc_dtype)
        self.carriers = {}                    # block rows -> the `rows` array
        self.pools = ([], [], [])

    def __call__(self, inputs):
        X, v, *others = inputs
        n, width = X.shape
        cfunc = self.cfunc
        block = block_rows(width, self.dtype.itemsize)
        rows = self.carriers.get(block)
        if rows is None:
            rows = self.carriers[block] = np.zeros(block, np.int8)
        nchunks = -(-n // CHUNK)
        z = _reuse_or_empty(self.pools[0], (n,), self.dtype)
        g = _reuse_or_empty(self.pools[1], (n,), self.dtype)
        part = np.empty((nchunks, width), self.acc_dtype)
        args = [X, v, *others, rows, z, g, part]
        threads = config.threads
        if threads > 1 and X.size >= MIN_PARALLEL_ELEMENTS and nchunks >= 2:
            codes = POOL.run(cfunc, [tuple(args) + (b, e) for b, e in split(nchunks, threads)])
            rc = next((code for code in codes if code), 0)
        else:
            rc = cfunc(*args, 0, nchunks)
        if rc:
            self.node.op.check_shapes(self.node, inputs)   # names the culprit
            raise ValueError(f"{self.node.op}: shape check {rc} failed for inputs of shapes "
                             f"{[a.shape for a in inputs]}")
        col = np.add.reduce(part, axis=0).astype(self.dtype, copy=False) if nchunks else \
            np.zeros(width, self.dtype)
        return [z, g, col]


def rowcol_thunk(node):
    from ..codegen import compile_kernel
    return RowColThunk(node, compile_kernel(rowcol_kernel(node)))
