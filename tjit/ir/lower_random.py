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
- MRG31k3p (Theano's layout, see `tjit.random.mrg`): `for c in [begin, end):
  x[g] = state[c, g]; for t: for g: x[g] = step(x[g]); out[t, c, g] = ...;
  next[c, g] = x[g]`: up to mrg.LANES substreams side by side (uint32 vector
  lanes), each row stored as a contiguous run of the row-major (rows, nstreams)
  draw. MRG normals: one Box-Muller kernel over the
  halves of an even uniform draw.

The runtime splits the chunks c across threads; every element is computed by
the same code whatever the split, so results do not depend on tjit.config.threads.
"""
from __future__ import annotations

import functools
import hashlib
import math

import numpy as np

from ..random import mrg, philox
from ..random.mrg_ops import MRGBoxMuller, MRGUniform, box_muller, check_pairs
from ..random.ops import RandomDraw, RandomDrawRange, check_range, check_size, check_state
from .launch import Launch
from .lowering import lower
from .nodes import (Buffer, Cast, Const, Dim, Index, IntConst, IntOp, Kernel, Load, Local, Op,
                    Param, Range, Store, Var, range_to, split_range)
from .serialize import serialize

STATE_PARAMS = ("k0", "k1", "stream", "draw")     # a Philox state's uint32 words
# then `chunk0`: the draw's chunk that output row 0 holds (0 for a whole draw; a
# part of a draw, RandomDrawRange, starts there)


def _f(name, dtype, *args):
    return Op(name, args, dtype)


def philox_kernel(dist, dtype):
    """Inputs a, b (0-d); outputs: one (chunks, K) array per part of the layout of
    `tjit.random.philox`, row c holding chunk chunk0 + c; params k0, k1, stream,
    draw (the state's uint32 words), chunk0."""
    params = tuple(Param(n) for n in STATE_PARAMS)
    chunk0 = Param("chunk0")
    a, b = Buffer("a", dtype, ()), Buffer("b", dtype, ())
    outs = [Buffer(f"part{q}", dtype, (False, False))
            for q in range(philox.parts(dist, dtype))]
    c, j = Var("c"), Var("j")
    k0, k1, stream, draw = (Cast(Index(p), "uint32") for p in params)
    block = Index(IntOp("add", IntOp("mul", IntOp("add", c, chunk0),
                                     IntConst(philox.BLOCKS_PER_CHUNK)), j))
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
                  params=params + (chunk0,))


def _mrg_step(x, fresh, at):
    """Expressions of one MRG31k3p step of the lane states x (6 loads): (y1, y2, z)
    with z in [1, m1] read from the temporaries `fresh` (where y1, y2 are stored
    first). Exact modular arithmetic by shifts and masks, as in L'Ecuyer's and
    Theano's code (no division, so it stays in vector lanes). Every intermediate is
    below 2^32 (the components are below 2^31), so uint32 lanes hold them: twice
    the lanes of uint64 and native 32-bit multiplies."""
    u32 = "uint32"

    def k(v):
        return Const(v, u32)

    def add(p, q):
        return _f("add", u32, p, q)

    def low_bits(v, bits):
        return _f("and", u32, v, k((1 << bits) - 1))

    def high_bits(v, bits):
        return _f("int_div", u32, v, k(1 << bits))

    def reduce(v, m):      # v < 2m -> v mod m
        return Op("switch", (Op("ge", (v, k(m)), "bool"), _f("sub", u32, v, k(m)), v), u32)

    # component 1: 2^22 x + 129 y mod m1, with 2^31 = 1 (mod m1)
    p = reduce(add(_f("mul", u32, low_bits(x[1], 9), k(1 << 22)), high_bits(x[1], 9)), mrg.M1)
    q = reduce(add(_f("mul", u32, low_bits(x[2], 24), k(1 << 7)), high_bits(x[2], 24)), mrg.M1)
    y1 = reduce(add(p, reduce(add(q, x[2]), mrg.M1)), mrg.M1)

    # component 2: 2^15 x + 32769 y mod m2, with 2^31 = 21069 (mod m2)
    def times_2_15(v):
        return reduce(add(_f("mul", u32, low_bits(v, 16), k(1 << 15)),
                          _f("mul", u32, high_bits(v, 16), k(21069))), mrg.M2)
    y2 = reduce(add(times_2_15(x[3]), reduce(add(times_2_15(x[5]), x[5]), mrg.M2)), mrg.M2)
    n1, n2 = Load(fresh[0], at), Load(fresh[1], at)
    z = Op("switch", (Op("gt", (n1, n2), "bool"), _f("sub", u32, n1, n2),
                      _f("sub", u32, add(n1, k(mrg.M1)), n2)), u32)
    return y1, y2, z, n1, n2


def mrg_uniform_kernel(dtype):
    """Theano's layout (see `tjit.random.mrg`). Inputs: the 6 state components of
    the used substreams (uint32 (blocks, LANES), block c = substreams c*LANES..),
    a, b (0-d); outputs: the sample as (rows, blocks, LANES) (a strided view of the
    row-major (rows, nstreams) draw: value t*nstreams + s is output t+1 of
    substream s), the 6 new state components; params: `full` (rows every used
    substream fills), `streams` (used substreams), `rem` (substreams filling the
    last, partial row). Block c steps its substreams side by side (the inner loop
    over lanes vectorizes); threads split the blocks."""
    u32, lanes = "uint32", mrg.LANES
    starts = [Buffer(f"x{k}", u32, (False, False)) for k in range(6)]
    a, b = Buffer("a", dtype, ()), Buffer("b", dtype, ())
    out = Buffer("out", dtype, (False, False, False))
    ends = [Buffer(f"next{k}", u32, (False, False)) for k in range(6)]
    full, streams, rem = Param("full"), Param("streams"), Param("rem")
    c, t, g = Var("c"), Var("t"), Var("g")
    state = [Buffer(f"state{k}", u32, (False,)) for k in range(6)]
    fresh = [Buffer(f"new{k}", u32, (False,)) for k in (1, 2)]
    at = ((g, 0),)
    x = [Load(v, at) for v in state]
    y1, y2, z, n1, n2 = _mrg_step(x, fresh, at)
    norm = Const(float(mrg.NORM32), dtype) if dtype == "float32" else Const(mrg.NORM, dtype)
    u = _f("mul", dtype, Cast(Cast(z, "int32"), dtype), norm)
    la, lb = Load(a, ()), Load(b, ())
    value = _f("add", dtype, la, _f("mul", dtype, _f("sub", dtype, lb, la), u))
    produce = (Store(fresh[0], at, y1), Store(fresh[1], at, y2),
               Store(out, ((t, 0), (c, 1), (g, 2)), value))
    # The shifts in this order read each old component before it is overwritten.
    moves = ((2, x[1]), (1, x[0]), (0, n1), (5, x[4]), (4, x[3]), (3, n2))
    shift = tuple(Store(state[j], at, v) for j, v in moves)
    # In the partial last row only substreams < rem advance (Theano's i % nstreams).
    used = Op("lt", (Index(IntOp("add", IntOp("mul", c, IntConst(lanes)), g)),
                     Index(rem)), "bool")
    shift_used = tuple(Store(state[j], at, Op("switch", (used, v, x[j]), u32))
                       for j, v in moves)
    width = IntOp("min", IntConst(lanes), IntOp("sub", streams, IntOp("mul", c, IntConst(lanes))))
    init = range_to(g, width, (
        Store(state[j], at, Load(starts[j], ((c, 0), (g, 1)))) for j in range(6)))
    rows = range_to(t, full, (range_to(g, width, produce + shift),))
    tail = Range(t, full, Dim(out, 0), 1, (range_to(g, width, produce + shift_used),))
    save = range_to(g, width, (
        Store(ends[j], ((c, 0), (g, 1)), Load(state[j], at)) for j in range(6)))
    body = tuple(Local(v, lanes) for v in state + fresh) + (
        split_range(c, Dim(starts[0], 0), (init, rows, tail, save)),)
    return Kernel(f"tjit_mrg_uniform_{dtype}", tuple(starts) + (a, b, out) + tuple(ends),
                  body, n_inputs=8, params=(full, streams, rem))


def mrg_normal_kernel(dtype):
    """Theano's Box-Muller on the halves (u1, u2) of an even draw: outputs the
    halves (z_cos, z_sin) of avg + std * z, in float64 (rounded once to dtype)."""
    f = "float64"
    u1, u2 = Buffer("u1", dtype, (False,)), Buffer("u2", dtype, (False,))
    a, b = Buffer("avg", dtype, ()), Buffer("std", dtype, ())
    z_cos, z_sin = Buffer("z_cos", dtype, (False,)), Buffer("z_sin", dtype, (False,))
    i = Var("i")
    at = ((i, 0),)

    def wide(v):
        return v if dtype == f else Cast(v, f)

    cos, sin = box_muller(philox._IR, wide(Load(u1, at)), wide(Load(u2, at)))
    la, lb = Load(a, ()), Load(b, ())
    stores = []
    for buf, v in ((z_cos, cos), (z_sin, sin)):
        v = v if dtype == f else Cast(v, dtype)
        stores.append(Store(buf, at, _f("add", dtype, la, _f("mul", dtype, lb, v))))
    body = (split_range(i, Dim(u1, 0), stores),)
    return Kernel(f"tjit_mrg_normal_{dtype}", (u1, u2, a, b, z_cos, z_sin), body, n_inputs=4)


class MRGUniformLaunch(Launch):
    """Checks the state and size, lays the used substreams' states out in lanes,
    draws into a pooled row-major (rows, nstreams) array (the sample is its first
    n values) and assembles the new state matrix."""

    n_pools = 1

    def __init__(self, node, kernel):
        super().__init__(node, kernel)
        self.dtype = np.dtype(node.op.dtype)
        self.op_name = str(node.op)

    def prepare(self, inputs, alloc):
        rstates, size, a, b = inputs
        shape = check_size(size, self.node.op.ndim, self.op_name)
        n = math.prod(shape)
        rstates = np.asarray(rstates)
        mrg.check_draw(rstates, n, self.op_name)
        ns = len(rstates)
        used = min(ns, n)
        full, rem = divmod(n, ns)
        lanes = mrg.LANES
        blocks = -(-used // lanes)
        cols = np.zeros((6, blocks * lanes), dtype=np.uint32)
        cols[:, :used] = rstates[:used].T
        cols = cols.reshape(6, blocks, lanes)
        ends = np.empty_like(cols)
        flat = alloc(0, ((full + (rem > 0)) * ns,), self.dtype)
        item = self.dtype.itemsize
        out = np.lib.stride_tricks.as_strided(
            flat, (full + (rem > 0), blocks, lanes), (ns * item, lanes * item, item))
        a = np.asarray(a, dtype=self.dtype).reshape(())
        b = np.asarray(b, dtype=self.dtype).reshape(())
        args = (*cols, a, b, out, *ends, full, used, rem)
        return (args if n else None), n, (rstates, used, ends, flat, n, shape)

    def extent(self, args):
        return len(args[0])          # blocks of substreams

    def finish(self, carry, inputs):
        rstates, used, ends, flat, n, shape = carry
        new = rstates.astype(np.int32, copy=True)
        if used:
            new[:used] = ends.reshape(6, -1)[:, :used].T
        return [new, flat[:n].reshape(shape)]

    def error(self, status, inputs):
        return RuntimeError(f"MRG kernel failed its check {status} (a tjit bug)")


class MRGNormalLaunch(Launch):
    """Splits the uniforms into halves and the pooled output (n rounded up to
    even) into the cos and sin halves; the sample is its first n values."""

    n_pools = 1

    def __init__(self, node, kernel):
        super().__init__(node, kernel)
        self.dtype = np.dtype(node.op.dtype)

    def prepare(self, inputs, alloc):
        u, n, avg, std = inputs
        n = int(n)
        half = check_pairs(len(u), n)
        out = alloc(0, (2 * half,), self.dtype)
        avg = np.asarray(avg, dtype=self.dtype).reshape(())
        std = np.asarray(std, dtype=self.dtype).reshape(())
        args = (u[:half], u[half:], avg, std, out[:half], out[half:])
        return (args if half else None), 2 * half, [out[:n]]

    def extent(self, args):
        return len(args[0])

    def error(self, status, inputs):
        return RuntimeError(f"MRG normal kernel failed its check {status} (a tjit bug)")


class RandomLaunch(Launch):
    """Checks the state and size, draws into one pooled array of whole chunks
    (the sample is its first n values, reshaped), and gives the next state."""

    n_pools = 1     # one output array; the next state is built by NumPy

    def __init__(self, node, kernel):
        super().__init__(node, kernel)
        op = self.op = node.op
        self.dtype = np.dtype(op.dtype)
        self.draw = self._philox
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
        return out, (a, b, *views, *state.tolist(), 0)

    def extent(self, args):
        return len(args[self.kernel.n_inputs])      # chunks: the first output's rows

    def finish(self, carry, inputs):
        state, n, shape, out = carry
        return [self.op._next_state(state, n), out.reshape(-1)[:n].reshape(shape)]

    def error(self, status, inputs):
        return RuntimeError(f"random kernel failed its check {status} (a tjit bug)")


class RangeLaunch(RandomLaunch):
    """RandomDrawRange: the whole chunks covering positions first .. first+count-1
    (the kernel's chunk0 = the first of them), sliced; no new state."""

    def prepare(self, inputs, alloc):
        op, k = self.op, philox.BLOCKS_PER_CHUNK
        state, first, count, a, b = inputs
        state = check_state(op.generator, state, self.state_name)
        first, count = check_range(first, count, self.op_name)
        per = philox.parts(op.dist, op.dtype) * k
        c0, c1 = first // per, -(-(first + count) // per)
        out = alloc(0, (c1 - c0, per), self.dtype)
        views = [out[:, q * k:(q + 1) * k] for q in range(per // k)]
        a = np.asarray(a, dtype=self.dtype).reshape(())
        b = np.asarray(b, dtype=self.dtype).reshape(())
        args = (a, b, *views, *state.tolist(), c0)
        skip = first - c0 * per
        return (args if count else None), out.size, out.reshape(-1)[skip:skip + count]

    def finish(self, carry, inputs):
        return [carry]


@functools.lru_cache(maxsize=None)
def random_kernel(generator, dist, dtype):
    """The Kernel of a draw, with meta cache_key the hash of its canonical text.
    Built once per process: it depends on these three alone, and serializing it
    costs more (ms) than the rest of a function's compile of it."""
    if generator == "mrg":
        kernel = mrg_normal_kernel(dtype) if dist == "normal" else mrg_uniform_kernel(dtype)
    else:
        kernel = philox_kernel(dist, dtype)
    kernel.meta["cache_key"] = "random " + hashlib.sha256(serialize(kernel).encode()).hexdigest()
    return kernel


@lower.register(RandomDraw)
def _(op, node, level):
    return RandomLaunch(node, random_kernel(op.generator, op.dist, op.dtype))


@lower.register(RandomDrawRange)
def _(op, node, level):
    return RangeLaunch(node, random_kernel(op.generator, op.dist, op.dtype))


@lower.register(MRGUniform)
def _(op, node, level):
    return MRGUniformLaunch(node, random_kernel("mrg", "uniform", op.dtype))


@lower.register(MRGBoxMuller)
def _(op, node, level):
    return MRGNormalLaunch(node, random_kernel("mrg", "normal", op.dtype))
