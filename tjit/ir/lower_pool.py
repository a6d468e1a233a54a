"""Kernel kind: 2-d pooling (signal.pool.Pool, float inputs: max, sum, averages).

    for each (b, k) plane in [begin, end)            (the split)
        for each output (r, c):
            acc = -inf (max) or 0
            for the window's rows and columns inside the image (padding excluded):
                acc = max(acc, x) or acc + x
            out[b, k, r, c] = acc, or acc / count for the averages (count clipped to
                the padded image for average_inc_pad, to the image for average_exc_pad)

Each output is reduced by one thread in a fixed order: results do not depend on
`tjit.config.threads`. Integer inputs run the op's NumPy perform.
"""
from __future__ import annotations

import numpy as np

from ..tensor.signal.pool import Pool
from .launch import Launch
from .lowering import lower
from .nodes import (Accumulate, Buffer, Cast, Const, Dim, Index, IntConst, IntOp, Kernel, Load,
                    Local, Op, Range, Store, Var, let, split_range)


def _window(pos, stride, pad, ws, size):
    """(first, end) of the window at output `pos`, in image coordinates, unclipped."""
    first = IntOp("sub", IntOp("mul", pos, IntConst(stride)), IntConst(pad))
    return first, IntOp("add", first, IntConst(ws))


def pool_kernel(dtype, op):
    x = Buffer("x", dtype, (False,) * 4)
    out = Buffer("out", dtype, (False,) * 4)
    acc = Buffer("pl_acc", dtype, ())
    bk, b, k, r, c, i, j = (Var("pl_" + s) for s in ("bk", "b", "k", "r", "c", "i", "j"))
    r0, r1, c0, c1 = (Var("pl_" + s) for s in ("r0", "r1", "c0", "c1"))
    n_k, H, W = Dim(x, 1), Dim(x, 2), Dim(x, 3)
    (sr, sc), (pr, pc), (wr, wc) = op.stride, op.pad, op.ws
    fr, er = _window(r, sr, pr, wr, H)
    fc, ec = _window(c, sc, pc, wc, W)
    zero = IntConst(0)
    is_max = op.mode == "max"
    init = Const(-np.inf if is_max else 0.0, dtype)
    reduce_ = Range(i, r0, r1, 1, (Range(j, c0, c1, 1, (
        Accumulate(acc, (), "maximum" if is_max else "add",
                   Load(x, ((b, 0), (k, 1), (i, 2), (j, 3)))),)),))
    value = Load(acc, ())
    if op.mode.startswith("average"):
        if op.mode == "average_inc_pad":   # clipped to the padded image only
            rows = IntOp("sub", IntOp("min", er, IntOp("add", H, IntConst(pr))), fr)
            cols = IntOp("sub", IntOp("min", ec, IntOp("add", W, IntConst(pc))), fc)
        else:
            rows, cols = IntOp("sub", r1, r0), IntOp("sub", c1, c0)
        value = Op("true_div", (value, Cast(Index(IntOp("mul", rows, cols)), dtype)), dtype)
    per_out = let(c0, IntOp("max", fc, zero), let(c1, IntOp("min", ec, W), (
        Store(acc, (), init), reduce_, Store(out, ((b, 0), (k, 1), (r, 2), (c, 3)), value))))
    per_row = let(r0, IntOp("max", fr, zero), let(r1, IntOp("min", er, H), (
        Range(c, IntConst(0), Dim(out, 3), 1, per_out),)))
    plane = let(b, IntOp("div", bk, n_k), let(
        k, IntOp("sub", bk, IntOp("mul", IntOp("div", bk, n_k), n_k)), (
            Range(r, IntConst(0), Dim(out, 2), 1, per_row),)))
    body = (Local(acc), split_range(bk, IntOp("mul", Dim(x, 0), n_k), plane))
    name = f"pool_{op.mode}_{dtype}_w{wr}x{wc}_s{sr}x{sc}_p{pr}x{pc}"
    return Kernel(name, (x, out), body, n_inputs=1, meta={"schedule": "pool"})


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


@lower.register(Pool)
def _(op, node, level):
    dtype = node.inputs[0].dtype
    if dtype not in ("float32", "float64"):
        return None
    return PoolLaunch(node, pool_kernel(dtype, op))
