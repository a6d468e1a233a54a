"""Native random draws: loop-IR kernels for Philox and MRG31k3p, and their thunk.

The kernels go through the ordinary pipeline (tjit.codegen.compile_kernel: LLVM
O3, the vector math library, in-memory and on-disk caches). One kernel per
(generator, dist, dtype) serves every size.

- Philox: `for i in [begin, end): out[i] = a + (b - a) * u(i)` (or `a + b * z(i)`)
  where u(i), z(i) are the expressions of `tjit.random.philox` of the index i:
  the loop vectorizes (Philox's 32x32->64-bit multiplies map to vector
  multiplies, log/cos to the vector math library). Inputs are 0-d arrays
  (k0, k1, stream, draw, a, b).
- MRG31k3p: `for c in [begin, end): x[g] = start[c, g]; for t: for g in [0, G):
  x[g] = step(x[g]); out[c, t, g] = ...`: G substreams side by side in vector
  lanes (see `tjit.random.mrg`).

Threads split the outer loop; every element is computed by the same code
whatever the split, so results do not depend on tjit.config.threads.
"""
from __future__ import annotations

import math

import numpy as np

from ..config import config
from ..ir.nodes import (Buffer, Cast, Const, Dim, Index, IntConst, IntOp, Kernel, Load,
                        Local, Op, Store, Var, range_to, split_range)
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
    block = Index(IntOp("add", IntOp("mul", c, IntConst(philox.BLOCKS_PER_CHUNK)), j))
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
    inner = range_to(j, Dim(outs[0], 1), stores)
    body = (split_range(c, Dim(outs[0], 0), (inner,)),)
    return Kernel(f"tjit_philox_{dist}_{dtype}", tuple(scalars) + (a, b) + tuple(outs), body,
                  n_inputs=6, meta={})


def mrg_kernel(dtype):
    """Inputs: the 6 components of the substream starts (uint64 (chunks, GROUP)),
    a, b (0-d); output (chunks, rows, GROUP). Chunk c steps its GROUP substreams
    side by side (the inner loop over g vectorizes); the arithmetic is exact
    modular arithmetic by shifts and masks, as in L'Ecuyer's and Theano's code
    (no division, so it stays in vector lanes)."""
    u64 = "uint64"
    g_count = mrg.GROUP
    starts = [Buffer(f"x{k}", u64, (False, False)) for k in range(6)]
    a, b = Buffer("a", dtype, ()), Buffer("b", dtype, ())
    out = Buffer("out", dtype, (False, False, False))
    c, t, g = Var("c"), Var("t"), Var("g")
    state = [Buffer(f"state{k}", u64, (False,)) for k in range(6)]
    fresh = [Buffer(f"new{k}", u64, (False,)) for k in (1, 2)]
    at = ((g, 0),)
    x = [Load(v, at) for v in state]

    def k(v):
        return Const(v, u64)

    def add(p, q):
        return _f("add", u64, p, q)

    def low_bits(v, bits):
        return _f("and", u64, v, k((1 << bits) - 1))

    def high_bits(v, bits):
        return _f("int_div", u64, v, k(1 << bits))

    def reduce(v, m):      # v < 2m -> v mod m
        return Op("switch", (Op("ge", (v, k(m)), "bool"), _f("sub", u64, v, k(m)), v), u64)

    # component 1: 2^22 x + 129 y mod m1, with 2^31 = 1 (mod m1)
    p = reduce(add(_f("mul", u64, low_bits(x[1], 9), k(1 << 22)), high_bits(x[1], 9)), mrg.M1)
    q = reduce(add(_f("mul", u64, low_bits(x[2], 24), k(1 << 7)), high_bits(x[2], 24)), mrg.M1)
    y1 = reduce(add(p, reduce(add(q, x[2]), mrg.M1)), mrg.M1)
    # component 2: 2^15 x + 32769 y mod m2, with 2^31 = 21069 (mod m2)
    def times_2_15(v):
        return reduce(add(_f("mul", u64, low_bits(v, 16), k(1 << 15)),
                          _f("mul", u64, high_bits(v, 16), k(21069))), mrg.M2)
    y2 = reduce(add(times_2_15(x[3]), reduce(add(times_2_15(x[5]), x[5]), mrg.M2)), mrg.M2)
    n1, n2 = Load(fresh[0], at), Load(fresh[1], at)
    z = Op("switch", (Op("gt", (n1, n2), "bool"), _f("sub", u64, n1, n2),
                      _f("sub", u64, add(n1, k(mrg.M1)), n2)), u64)
    norm = Const(float(mrg.NORM32), dtype) if dtype == "float32" else Const(mrg.NORM, dtype)
    u = _f("mul", dtype, Cast(Cast(z, "int32"), dtype), norm)
    la, lb = Load(a, ()), Load(b, ())
    value = _f("add", dtype, la, _f("mul", dtype, _f("sub", dtype, lb, la), u))
    # Temporaries first: a Store is evaluated when reached, so the shifts below
    # must not overwrite what y1/y2 still read.
    step = (Store(fresh[0], at, y1), Store(fresh[1], at, y2),
            Store(out, ((c, 0), (t, 1), (g, 2)), value),
            Store(state[2], at, x[1]), Store(state[1], at, x[0]), Store(state[0], at, n1),
            Store(state[5], at, x[4]), Store(state[4], at, x[3]), Store(state[3], at, n2))
    init = range_to(g, IntConst(g_count), (
        Store(state[j], at, Load(starts[j], ((c, 0), (g, 1)))) for j in range(6)))
    steps = range_to(t, Dim(out, 1), (range_to(g, IntConst(g_count), step),))
    body = tuple(Local(v, g_count) for v in state + fresh) + (
        split_range(c, Dim(out, 0), (init, steps)),)
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
        # names for error messages, formatted once
        self.state_name, self.op_name = str(node.inputs[0]), str(op)

    def __call__(self, inputs):
        op = self.op
        state, size, a, b = inputs
        state = check_state(op.generator, state, self.state_name)
        shape = check_size(size, op.ndim, self.op_name)
        n = math.prod(shape)
        a = np.asarray(a, dtype=self.dtype).reshape(())
        b = np.asarray(b, dtype=self.dtype).reshape(())
        draw = self._mrg if op.generator == "mrg" else self._philox
        out = draw(state, n, a, b)
        return [op._next_state(state, n), out.reshape(shape)]

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
        chunks, rows = mrg.layout(n)
        out = _reuse_or_empty(self.pool, (chunks, rows, mrg.GROUP), self.dtype)
        if n:
            starts = mrg.substream_starts(state, chunks * mrg.GROUP).astype(np.uint64)
            columns = [np.ascontiguousarray(starts[:, j].reshape(chunks, mrg.GROUP))
                       for j in range(6)]
            _run(self.cfunc, (*columns, a, b, out), chunks, rows * mrg.GROUP)
        return out.reshape(-1)[:n]
