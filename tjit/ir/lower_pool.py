"""Kernel kind: 2-d pooling (signal.pool.Pool, float inputs: max, sum, averages)
and its gradients (MaxPoolGrad, AveragePoolGrad).

    for each (b, k) plane in [begin, end)            (the split)
        for each output (r, c):
            acc = -inf (max) or 0
            for the window's rows and columns inside the image (padding excluded):
                acc = max(acc, x) or acc + x
            out[b, k, r, c] = acc, or acc / count for the averages (count clipped to
                the padded image for average_inc_pad, to the image for average_exc_pad)

The gradients scatter instead: per (b, k) plane, zero d x, then for each output
window add its gradient (divided by the count for the averages; for max, only
where x equals the window's max, ties all receiving it) to the window's entries
inside the image. A plane's windows are visited in one order by one thread, so
overlapping windows (stride < ws) sum in an order independent of the threads.

Each output is reduced by one thread in a fixed order: results do not depend on
`tjit.config.threads`. Integer inputs run the op's NumPy perform.
"""
from __future__ import annotations

import numpy as np

from ..tensor.signal.pool import AveragePoolGrad, MaxPoolGrad, Pool
from .launch import Launch
from .lowering import lower
from .nodes import (Accumulate, Buffer, Cast, Const, Dim, Index, IntConst, IntOp, Kernel, Load,
                    Local, Op, Range, Store, Var, let, split_range)


def _window(pos, stride, pad, ws, size):
    """(first, end) of the window at output `pos`, in image coordinates, unclipped."""
    first = IntOp("sub", IntOp("mul", pos, IntConst(stride)), IntConst(pad))
    return first, IntOp("add", first, IntConst(ws))


def _count(op, r0, r1, c0, c1, fr, er, fc, ec, H, W):
    """The element count of the window [fr, er) x [fc, ec), clipped to [r0, r1) x
    [c0, c1) by the image: the averages' divisor (average_inc_pad counts padding)."""
    if op.mode == "average_inc_pad":   # clipped to the padded image only
        rows = IntOp("sub", IntOp("min", er, IntOp("add", H, IntConst(op.pad[0]))), fr)
        cols = IntOp("sub", IntOp("min", ec, IntOp("add", W, IntConst(op.pad[1]))), fc)
    else:
        rows, cols = IntOp("sub", r1, r0), IntOp("sub", c1, c0)
    return IntOp("mul", rows, cols)


class _Windows:
    """The loop nest both pool kernels share: per (b, k) plane of x (the split),
    per output (r, c) of `grid`'s last two dims, the window's rows [r0, r1) and
    columns [c0, c1) clipped to the image; `prefix` names the loop variables."""

    def __init__(self, prefix, op, x, grid):
        self.x, self.grid = x, grid
        self.bk, self.b, self.k, self.r, self.c, self.i, self.j = (
            Var(prefix + s) for s in ("bk", "b", "k", "r", "c", "i", "j"))
        self.r0, self.r1, self.c0, self.c1 = (Var(prefix + s) for s in ("r0", "r1", "c0", "c1"))
        self.n_k, self.H, self.W = Dim(x, 1), Dim(x, 2), Dim(x, 3)
        (sr, sc), (pr, pc), (wr, wc) = op.stride, op.pad, op.ws
        self.fr, self.er = _window(self.r, sr, pr, wr, self.H)
        self.fc, self.ec = _window(self.c, sc, pc, wc, self.W)
        self.at_out = ((self.b, 0), (self.k, 1), (self.r, 2), (self.c, 3))
        self.at_x = ((self.b, 0), (self.k, 1), (self.i, 2), (self.j, 3))

    def count(self, op):
        return _count(op, self.r0, self.r1, self.c0, self.c1, self.fr, self.er, self.fc,
                      self.ec, self.H, self.W)

    def over_window(self, body):
        """`body` for each (i, j) of the clipped window."""
        return Range(self.i, self.r0, self.r1, 1, (Range(self.j, self.c0, self.c1, 1, body),))

    def nest(self, per_out, plane_first=()):
        """The split loop over planes running `per_out` (statements) per output,
        after `plane_first` (statements) per plane."""
        zero = IntConst(0)
        per_out = let(self.c0, IntOp("max", self.fc, zero),
                      let(self.c1, IntOp("min", self.ec, self.W), per_out))
        per_row = let(self.r0, IntOp("max", self.fr, zero), let(self.r1, IntOp(
            "min", self.er, self.H), (Range(self.c, zero, Dim(self.grid, 3), 1, per_out),)))
        bk, n_k = self.bk, self.n_k
        plane = let(self.b, IntOp("div", bk, n_k), let(
            self.k, IntOp("sub", bk, IntOp("mul", IntOp("div", bk, n_k), n_k)), (
                *plane_first, Range(self.r, zero, Dim(self.grid, 2), 1, per_row))))
        return split_range(bk, IntOp("mul", Dim(self.x, 0), n_k), plane)


def _kernel_name(kind, dtype, op):
    (sr, sc), (pr, pc), (wr, wc) = op.stride, op.pad, op.ws
    return f"{kind}_{op.mode}_{dtype}_w{wr}x{wc}_s{sr}x{sc}_p{pr}x{pc}"


def pool_kernel(dtype, op):
    x = Buffer("x", dtype, (False,) * 4)
    out = Buffer("out", dtype, (False,) * 4)
    acc = Buffer("pl_acc", dtype, ())
    w = _Windows("pl_", op, x, out)
    is_max = op.mode == "max"
    init = Const(-np.inf if is_max else 0.0, dtype)
    reduce_ = w.over_window((Accumulate(acc, (), "maximum" if is_max else "add",
                                        Load(x, w.at_x)),))
    value = Load(acc, ())
    if op.mode.startswith("average"):
        value = Op("true_div", (value, Cast(Index(w.count(op)), dtype)), dtype)
    body = (Local(acc), w.nest((Store(acc, (), init), reduce_, Store(out, w.at_out, value))))
    return Kernel(_kernel_name("pool", dtype, op), (x, out), body, n_inputs=1,
                  meta={"schedule": "pool"})


class PoolLaunch(Launch):
    """out (B, C, nr, nc) from one pool; the split is over (b, k) planes."""

    def prepare(self, inputs, alloc):
        (x,) = inputs
        nr, nc, _ = self.node.op.geometry(x.shape)
        out = alloc(0, x.shape[:2] + (nr, nc), x.dtype)
        if out.size == 0:
            return None, 0, out
        return (x, out), out.size * self.node.op.ws[0] * self.node.op.ws[1], out

    def extent(self, args):
        return args[0].shape[0] * args[0].shape[1]

    def finish(self, carry, inputs):
        return [carry]


def pool_grad_kernel(dtype, op):
    """d x (B, C, H, W) of MaxPoolGrad (inputs x, maxout, gz) or AveragePoolGrad
    (inputs x, gz)."""
    is_max = isinstance(op, MaxPoolGrad)
    x = Buffer("x", dtype, (False,) * 4)
    maxout = Buffer("maxout", dtype, (False,) * 4)
    gz = Buffer("gz", dtype, (False,) * 4)
    out = Buffer("out", dtype, (False,) * 4)
    g = Buffer("pg_g", dtype, ())
    w = _Windows("pg_", op, x, gz)
    value = Load(gz, w.at_out)
    if op.mode.startswith("average"):
        value = Op("true_div", (value, Cast(Index(w.count(op)), dtype)), dtype)
    share = Load(g, ())
    if is_max:
        share = Op("switch", (Op("eq", (Load(x, w.at_x), Load(maxout, w.at_out)), "bool"),
                              share, Const(0.0, dtype)), dtype)
    scatter = w.over_window((Accumulate(out, w.at_x, "add", share),))
    zero = IntConst(0)
    clear = Range(w.i, zero, w.H, 1, (Range(w.j, zero, w.W, 1, (
        Store(out, w.at_x, Const(0.0, dtype)),)),))
    body = (Local(g), w.nest((Store(g, (), value), scatter), plane_first=(clear,)))
    buffers = (x, maxout, gz, out) if is_max else (x, gz, out)
    return Kernel(_kernel_name("poolgrad", dtype, op), buffers, body,
                  n_inputs=len(buffers) - 1, meta={"schedule": "pool"})


class PoolGradLaunch(Launch):
    """d x (the shape of x) from one pool; the split is over (b, k) planes."""

    def prepare(self, inputs, alloc):
        x, gz = inputs[0], inputs[-1]
        nr, nc, _ = self.node.op.geometry(x.shape)
        for v in inputs[1:]:
            if v.shape != x.shape[:2] + (nr, nc):
                raise ValueError(f"{self.node.op}: the pooled gradients' shape {v.shape} does "
                                 f"not match the pooling of x {x.shape}: "
                                 f"{x.shape[:2] + (nr, nc)}")
        out = alloc(0, x.shape, x.dtype)
        if out.size == 0:
            return None, 0, out
        return (*inputs, out), gz.size * self.node.op.ws[0] * self.node.op.ws[1], out

    def extent(self, args):
        return args[0].shape[0] * args[0].shape[1]

    def finish(self, carry, inputs):
        return [carry]


@lower.register(MaxPoolGrad)
@lower.register(AveragePoolGrad)
def _(op, node, level):
    dtype = node.inputs[0].dtype
    if dtype not in ("float32", "float64"):
        return None
    return PoolGradLaunch(node, pool_grad_kernel(dtype, op))


@lower.register(Pool)
def _(op, node, level):
    dtype = node.inputs[0].dtype
    if dtype not in ("float32", "float64"):
        return None
    return PoolLaunch(node, pool_kernel(dtype, op))
