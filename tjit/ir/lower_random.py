"""Kernel kind: random draws (RandomDraw -> a Philox or MRG31k3p loop-IR kernel).

One kernel per (generator, dist, dtype) serves every size; the linker compiles
it at the mode's level, and the compile caches find it by the hash of its
canonical text (it is built from `tjit.random`'s expressions, which the compile
cache's code version does not cover, so a structure key would not do).

- Philox: `for c, j: part_q[c, j] = a + (b - a) * u` (or `a + b * z`) where u, z
  are the expressions of `tjit.random.philox` of block c*K + j: the inner loop
  vectorizes (Philox's 32x32->64-bit multiplies map to vector multiplies,
  log/cos to the vector math library). a, b are 0-d arrays; the state words
  (k0, k1, stream, draw) are int64 params.
- MRG31k3p: `for c in [begin, end): x[g] = start[c, g]; for t: for g in [0, G):
  x[g] = step(x[g]); out[c, t, g] = ...`: G substreams side by side in vector
  lanes (see `tjit.random.mrg`).

The runtime splits the chunks c across threads; every element is computed by
the same code whatever the split, so results do not depend on tjit.config.threads.
"""
from __future__ import annotations

import functools
import hashlib
import math

import numpy as np

from ..random import mrg, philox
from ..random.ops import RandomDraw, check_size, check_state
from .launch import Launch
from .lowering import lower
from .nodes import (Buffer, Cast, Const, Dim, Index, IntConst, IntOp, Kernel, Load, Local, Op,
                    Param, Store, Var, range_to, split_range)
from .serialize import serialize

STATE_PARAMS = ("k0", "k1", "stream", "draw")     # a Philox state's uint32 words


def _f(name, dtype, *args):
    return Op(name, args, dtype)


def philox_kernel(dist, dtype):
    """Inputs a, b (0-d); outputs: one (chunks, K) array per part of the layout of
    `tjit.random.philox`; params k0, k1, stream, draw (the state's uint32 words)."""
    params = tuple(Param(n) for n in STATE_PARAMS)
    a, b = Buffer("a", dtype, ()), Buffer("b", dtype, ())
    outs = [Buffer(f"part{q}", dtype, (False, False))
            for q in range(philox.parts(dist, dtype))]
    c, j = Var("c"), Var("j")
    k0, k1, stream, draw = (Cast(Index(p), "uint32") for p in params)
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
    return Kernel(f"tjit_philox_{dist}_{dtype}", (a, b) + tuple(outs), body, n_inputs=2,
                  params=params)


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
    return Kernel(f"tjit_mrg_uniform_{dtype}", tuple(starts) + (a, b, out), body, n_inputs=8)


class RandomLaunch(Launch):
    """Checks the state and size, draws into one pooled array of whole chunks
    (the sample is its first n values, reshaped), and gives the next state."""

    n_pools = 1     # one output array; the next state is built by NumPy

    def __init__(self, node, kernel):
        super().__init__(node, kernel)
        op = self.op = node.op
        self.dtype = np.dtype(op.dtype)
        self.draw = self._mrg if op.generator == "mrg" else self._philox
        # names for error messages, formatted once
        self.state_name, self.op_name = str(node.inputs[0]), str(op)

    def prepare(self, inputs, alloc):
        op = self.op
        state, size, a, b = inputs
        state = check_state(op.generator, state, self.state_name)
        shape = check_size(size, op.ndim, self.op_name)
        n = math.prod(shape)
        a = np.asarray(a, dtype=self.dtype).reshape(())
        b = np.asarray(b, dtype=self.dtype).reshape(())
        out, args = self.draw(state, n, a, b, alloc)
        return (args if n else None), out.size, (state, n, shape, out)   # n == 0: no call

    def _philox(self, state, n, a, b, alloc):
        op, k = self.op, philox.BLOCKS_PER_CHUNK
        parts = philox.parts(op.dist, op.dtype)
        out = alloc(0, (-(-n // (parts * k)), parts * k), self.dtype)
        views = [out[:, q * k:(q + 1) * k] for q in range(parts)]
        return out, (a, b, *views, *state.tolist())

    def _mrg(self, state, n, a, b, alloc):
        chunks, rows = mrg.layout(n)
        out = alloc(0, (chunks, rows, mrg.GROUP), self.dtype)
        starts = mrg.substream_starts(state, chunks * mrg.GROUP).astype(np.uint64)
        columns = [np.ascontiguousarray(starts[:, j].reshape(chunks, mrg.GROUP))
                   for j in range(6)]
        return out, (*columns, a, b, out)

    def extent(self, args):
        return len(args[self.kernel.n_inputs])      # chunks: the first output's rows

    def finish(self, carry, inputs):
        state, n, shape, out = carry
        return [self.op._next_state(state, n), out.reshape(-1)[:n].reshape(shape)]

    def error(self, status, inputs):
        return RuntimeError(f"random kernel failed its check {status} (a tjit bug)")


@functools.lru_cache(maxsize=None)
def random_kernel(generator, dist, dtype):
    """The Kernel of a draw, with meta cache_key the hash of its canonical text.
    Built once per process: it depends on these three alone, and serializing it
    costs more (ms) than the rest of a function's compile of it."""
    kernel = mrg_kernel(dtype) if generator == "mrg" else philox_kernel(dist, dtype)
    kernel.meta["cache_key"] = "random " + hashlib.sha256(serialize(kernel).encode()).hexdigest()
    return kernel


@lower.register(RandomDraw)
def _(op, node, level):
    return RandomLaunch(node, random_kernel(op.generator, op.dist, op.dtype))
