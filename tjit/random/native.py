"""Native random draws: loop-IR kernels for Philox and MRG31k3p, and their thunk.

The kernels go through the ordinary pipeline (tjit.codegen.compile_kernel: LLVM
O3, the vector math library, in-memory and on-disk caches). One kernel per
(generator, dist, dtype) serves every size.

- Philox: `for i in [begin, end): out[i] = a + (b - a) * u(i)` (or `a + b * z(i)`)
  where u(i), z(i) are the expressions of `tjit.random.philox` of the index i:
  the loop vectorizes (Philox's 32x32->64-bit multiplies map to vector
  multiplies, log/cos to the vector math library). Inputs are 0-d arrays
  (k0, k1, stream, draw, a, b).
- MRG31k3p: `for s in [begin, end): x = start[s]; for t in [0, L): x = step(x);
  out[s, t] = ...`: a substream per outer iteration (see `tjit.random.mrg`).

Threads split the outer loop; every element is computed by the same code
whatever the split, so results do not depend on tjit.config.threads.
"""
from __future__ import annotations

import numpy as np

from ..config import config
from ..ir.nodes import (Buffer, Cast, Const, Dim, Index, IntConst, IntMul, IntOp, Kernel, Load,
                        Local, Loop, Op, Range, Store, Var)
from ..runtime.thunks import _reuse_or_empty
from ..runtime.threads import MIN_PARALLEL_ELEMENTS, POOL, split
from . import mrg, philox
from .ops import check_size, check_state

_kernels = {}


def _f(name, dtype, *args):
    return Op(name, args, dtype)


def philox_kernel(dist, dtype):
    """Inputs k0, k1, stream, draw (uint32), a, b (0-d); outputs: one (chunks, K)
    array per part of the layout of `tjit.random.philox`."""
    scalars = [Buffer(n, "uint32", ()) for n in ("k0", "k1", "stream", "draw")]
    a, b = Buffer("a", dtype, ()), Buffer("b", dtype, ())
    outs = [Buffer(f"part{q}", dtype, (False, False))
            for q in range(philox.parts(dist, dtype))]
    c, j = Var("c"), Var("j")
    k0, k1, stream, draw = (Load(s, ()) for s in scalars)
    block = Index(IntOp("add", IntMul(c, IntConst(philox.BLOCKS_PER_CHUNK)), j))
    words = philox.ir_words(block, (k0, k1), stream, draw)
    la, lb = Load(a, ()), Load(b, ())
    stores = []
    for out, v in zip(outs, philox.ir_block_values(dist, dtype, words)):
        if dist == "uniform":
            value = _f("add", dtype, la, _f("mul", dtype, _f("sub", dtype, lb, la), v))
        else:
            value = _f("add", dtype, la, _f("mul", dtype, lb, v if dtype == "float64"
                                             else Cast(v, dtype)))
        stores.append(Store(out, ((c, 0), (j, 1)), value))
    inner = Loop(j, Dim(outs[0], 1), tuple(stores))
    body = (Loop(c, Dim(outs[0], 0), (inner,)),)
    return Kernel(f"tjit_philox_{dist}_{dtype}", tuple(scalars) + (a, b) + tuple(outs), body,
                  n_inputs=6, meta={})


def mrg_kernel(dtype):
    """Inputs: the 6 columns of the substream starts (int64 vectors of length S),
    a, b (0-d); output: out (S, L)."""
    starts = [Buffer(f"x{k}", "int64", (False,)) for k in range(6)]
    a, b = Buffer("a", dtype, ()), Buffer("b", dtype, ())
    out = Buffer("out", dtype, (False, False))
    s, t = Var("s"), Var("t")
    state = [Buffer(f"state{k}", "int64", ()) for k in range(6)]
    fresh = [Buffer(f"new{k}", "int64", ()) for k in (1, 2)]
    x = [Load(v, ()) for v in state]
    i64 = "int64"

    def c(v):
        return Const(v, i64)
    y1 = _f("mod", i64, _f("add", i64, _f("mul", i64, c(4194304), x[1]),
                           _f("mul", i64, c(129), x[2])), c(mrg.M1))
    y2 = _f("mod", i64, _f("add", i64, _f("mul", i64, c(32768), x[3]),
                           _f("mul", i64, c(32769), x[5])), c(mrg.M2))
    n1, n2 = Load(fresh[0], ()), Load(fresh[1], ())
    z = _f("sub", i64, n1, n2)
    z = Op("switch", (Op("le", (z, c(0)), "bool"), _f("add", i64, z, c(mrg.M1)), z), i64)
    if dtype == "float32":
        u = _f("mul", dtype, Cast(z, dtype), Const(float(mrg.NORM32), dtype))
    else:
        u = _f("mul", dtype, Cast(z, dtype), Const(mrg.NORM, dtype))
    la, lb = Load(a, ()), Load(b, ())
    value = _f("add", dtype, la, _f("mul", dtype, _f("sub", dtype, lb, la), u))
    # Compute both components into temporaries first: a Store is evaluated when
    # reached, so the shifts below must not overwrite what y1/y2 still read.
    step = (Store(fresh[0], (), y1), Store(fresh[1], (), y2),
            Store(out, ((s, 0), (t, 1)), value),
            Store(state[2], (), x[1]), Store(state[1], (), x[0]), Store(state[0], (), n1),
            Store(state[5], (), x[4]), Store(state[4], (), x[3]), Store(state[3], (), n2))
    init = tuple(Store(state[k], (), Load(starts[k], ((s, 0),))) for k in range(6))
    inner = Range(t, IntConst(0), Dim(out, 1), 1, step)
    body = tuple(Local(v) for v in state + fresh) + (Loop(s, Dim(out, 0), init + (inner,)),)
    return Kernel(f"tjit_mrg_uniform_{dtype}", tuple(starts) + (a, b, out), body,
                  n_inputs=8, meta={})


def native_kernel(generator, dist, dtype, level):
    key = (generator, dist, dtype, level)
    native = _kernels.get(key)
    if native is None:
        from ..codegen import compile_kernel
        kernel = mrg_kernel(dtype) if generator == "mrg" else philox_kernel(dist, dtype)
        native = _kernels[key] = compile_kernel(kernel, level)
    return native


def _run(cfunc, arrays, extent, grain):
    """cfunc over [0, extent), split across tjit.config.threads threads."""
    threads = config.threads
    if threads > 1 and extent * grain >= MIN_PARALLEL_ELEMENTS:
        codes = POOL.run(cfunc, [(*arrays, b, e) for b, e in split(extent, threads)])
        rc = next((c for c in codes if c), 0)
    else:
        rc = cfunc(*arrays, 0, extent)
    if rc:
        raise RuntimeError(f"random kernel failed its check {rc} (a tjit bug)")


class RandomThunk:
    """Runs a RandomDraw node natively."""

    def __init__(self, node, level=3):
        self.node = node
        op = node.op
        self.op = op
        self.dtype = np.dtype(op.dtype)
        self.native = native_kernel(op.generator, op.dist, op.dtype, level)
        self.cfunc = self.native.cfunc
        self.pool = []

    def __call__(self, inputs):
        op = self.op
        state, size, a, b = inputs
        state = check_state(op.generator, state, str(self.node.inputs[0]))
        shape = check_size(size, op.ndim, str(op))
        n = int(np.prod(shape))
        a = np.asarray(a, dtype=self.dtype).reshape(())
        b = np.asarray(b, dtype=self.dtype).reshape(())
        if op.generator == "mrg":
            new_state = mrg.next_state(state, n)
            out = self._mrg(state, n, a, b)
        else:
            new_state = op._next_state(state, n)
            out = self._philox(state, n, a, b)
        return [new_state, out.reshape(shape)]

    def _philox(self, state, n, a, b):
        op, k = self.op, philox.BLOCKS_PER_CHUNK
        parts = philox.parts(op.dist, op.dtype)
        chunks = -(-n // (parts * k))
        out = _reuse_or_empty(self.pool, (chunks, parts * k), self.dtype)
        if n:
            words = [state[w:w + 1].reshape(()) for w in range(4)]
            views = [out[:, q * k:(q + 1) * k] for q in range(parts)]
            _run(self.cfunc, (*words, a, b, *views), chunks, parts * k)
        return out.reshape(-1)[:n]

    def _mrg(self, state, n, a, b):
        length = mrg.SUBSTREAM_LENGTH
        count = -(-n // length)
        out = _reuse_or_empty(self.pool, (count, length), self.dtype)
        if n:
            starts = mrg.substream_starts(state, count)
            columns = [np.ascontiguousarray(starts[:, k]) for k in range(6)]
            _run(self.cfunc, (*columns, a, b, out), count, length)
        return out.reshape(-1)[:n]
