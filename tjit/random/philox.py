"""Philox4x32-10: the generator, as NumPy code and as loop-IR expressions.

Philox4x32-10 (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as easy as
1, 2, 3", SC'11) maps a 128-bit counter (c0, c1, c2, c3) and a 64-bit key (k0, k1)
to 128 random bits by 10 rounds of two 32x32->64-bit multiplies and xors. Being a
pure function of (counter, key), value i of a draw is computed independently of
every other value: any split of a draw across threads gives the same numbers.

How tjit numbers a draw (the same in the NumPy reference and the native code):
the state of one random variable is uint32[4] = (k0, k1, stream, draw). Block b
of a draw is Philox(counter=(b mod 2**32, b div 2**32, stream, draw), key=(k0, k1)),
four uint32 words w0..w3.
- float64 uniform, element i: block i >> 1; words (w0, w1) if i is even, else
  (w2, w3); u = (wa >> 5) * 2**-27 + (wb >> 6) * 2**-53 in [0, 1) (53 bits).
- float32 uniform, element i: block i >> 2, word i & 3; u = (w >> 8) * 2**-24.
- normal, element i: the pair p = i >> 1 uses block p: u1 from (w0, w1), u2 from
  (w2, w3) as above; Box-Muller r = sqrt(-2 log(1 - u1)), t = 2 pi u2, element 2p
  is r cos t, element 2p+1 is r sin t, computed as r cos(t - pi/2) so each element
  evaluates one cosine (vectorizes). Computed in float64, then rounded to dtype.
"""
from __future__ import annotations

import math

import numpy as np

from ..ir.nodes import Cast, Const, Op

M0, M1 = 0xD2511F53, 0xCD9E8D57          # round multipliers
W0, W1 = 0x9E3779B9, 0xBB67AE85          # key schedule (Weyl) increments
ROUNDS = 10
HALF_PI = math.pi / 2
TWO_PI = 2 * math.pi


# ---- NumPy reference -------------------------------------------------------------
def philox4x32(counter, key, rounds=ROUNDS):
    """Philox4x32-`rounds` of uint32 arrays counter=(c0, c1, c2, c3) (broadcast
    together) under key=(k0, k1); returns the four uint32 output words."""
    c0, c1, c2, c3 = (np.asarray(c, dtype=np.uint32) for c in counter)
    k0, k1 = (np.uint32(k) for k in key)
    with np.errstate(over="ignore"):
        for r in range(rounds):
            if r:
                k0, k1 = np.uint32(k0 + np.uint32(W0)), np.uint32(k1 + np.uint32(W1))
            p0 = c0.astype(np.uint64) * np.uint64(M0)
            p1 = c2.astype(np.uint64) * np.uint64(M1)
            hi0, lo0 = (p0 >> np.uint64(32)).astype(np.uint32), p0.astype(np.uint32)
            hi1, lo1 = (p1 >> np.uint64(32)).astype(np.uint32), p1.astype(np.uint32)
            c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
    return c0, c1, c2, c3


def _blocks(state, blocks):
    blocks = np.asarray(blocks, dtype=np.uint64)
    lo = (blocks & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    hi = (blocks >> np.uint64(32)).astype(np.uint32)
    k0, k1, stream, draw = (np.uint32(v) for v in state)
    return philox4x32((lo, hi, np.full_like(lo, stream), np.full_like(lo, draw)), (k0, k1))


def _u53(wa, wb):
    return ((wa >> np.uint32(5)).astype(np.float64) * 67108864.0
            + (wb >> np.uint32(6)).astype(np.float64)) * 2.0 ** -53


def uniform01(state, n, dtype):
    """The n standard uniforms [0, 1) of `dtype` of the draw with `state`."""
    i = np.arange(n, dtype=np.uint64)
    if dtype == "float32":
        w = np.stack(_blocks(state, i >> np.uint64(2)))
        word = w[(i & np.uint64(3)).astype(np.intp), np.arange(n)]
        return (word >> np.uint32(8)).astype(np.float32) * np.float32(2.0 ** -24)
    w0, w1, w2, w3 = _blocks(state, i >> np.uint64(1))
    odd = (i & np.uint64(1)).astype(bool)
    return _u53(np.where(odd, w2, w0), np.where(odd, w3, w1))


def standard_normal(state, n):
    """The n float64 standard normals of the draw with `state` (Box-Muller)."""
    i = np.arange(n, dtype=np.uint64)
    w0, w1, w2, w3 = _blocks(state, i >> np.uint64(1))
    r = np.sqrt(-2.0 * np.log(1.0 - _u53(w0, w1)))
    odd = (i & np.uint64(1)).astype(np.float64)
    return r * np.cos(TWO_PI * _u53(w2, w3) - odd * HALF_PI)


# ---- loop-IR expressions -----------------------------------------------------------
def _u32(v):
    return Const(v, "uint32")


def _op(name, *args):
    return Op(name, args, args[0].dtype)


def _shr(x, bits):
    """x >> bits for an unsigned x: floor division by 2**bits, which LLVM emits
    as a logical shift (the loop IR has no shift op)."""
    return Op("int_div", (x, Const(1 << bits, x.dtype)), x.dtype)


def ir_philox4x32(counter, key, rounds=ROUNDS):
    """Loop-IR uint32 expressions of Philox4x32-`rounds` (see `philox4x32`)."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for r in range(rounds):
        if r:
            k0, k1 = _op("add", k0, _u32(W0)), _op("add", k1, _u32(W1))
        p0 = _op("mul", Cast(c0, "uint64"), Const(M0, "uint64"))
        p1 = _op("mul", Cast(c2, "uint64"), Const(M1, "uint64"))
        hi0, lo0 = Cast(_shr(p0, 32), "uint32"), Cast(p0, "uint32")
        hi1, lo1 = Cast(_shr(p1, 32), "uint32"), Cast(p1, "uint32")
        c0, c1, c2, c3 = (_op("xor", _op("xor", hi1, c1), k0), lo1,
                          _op("xor", _op("xor", hi0, c3), k1), lo0)
    return c0, c1, c2, c3


def ir_block(index, shift, key, stream, draw):
    """The 4 words of block (index >> shift) of a draw; `index` an int64 expression."""
    b = _shr(Cast(index, "uint64"), shift)
    lo = Cast(b, "uint32")
    hi = Cast(_shr(b, 32), "uint32")
    return ir_philox4x32((lo, hi, stream, draw), key)


def _ir_u53(wa, wb):
    # Each half converts from int32 exactly (vector int32->double conversions
    # exist everywhere, uint64->double ones do not).
    a = Cast(Cast(_shr(wa, 5), "int32"), "float64")
    b = Cast(Cast(_shr(wb, 6), "int32"), "float64")
    f = "float64"
    return Op("mul", (Op("add", (Op("mul", (a, Const(67108864.0, f)), f), b), f),
                      Const(2.0 ** -53, f)), f)


def _odd(index):
    return Op("eq", (Op("and", (index, Const(1, "int64")), "int64"), Const(1, "int64")), "bool")


def ir_uniform01(index, dtype, key, stream, draw):
    """Loop-IR expression of element `index` (int64) of a standard uniform draw."""
    if dtype == "float32":
        w = ir_block(index, 2, key, stream, draw)
        sel = Op("and", (index, Const(3, "int64")), "int64")

        def pick(k):
            return Op("eq", (sel, Const(k, "int64")), "bool")
        word = Op("switch", (pick(0), w[0], Op("switch", (pick(1), w[1], Op(
            "switch", (pick(2), w[2], w[3]), "uint32")), "uint32")), "uint32")
        u = Cast(Cast(_shr(word, 8), "int32"), "float32")
        return Op("mul", (u, Const(2.0 ** -24, "float32")), "float32")
    w0, w1, w2, w3 = ir_block(index, 1, key, stream, draw)
    odd = _odd(index)
    return _ir_u53(Op("switch", (odd, w2, w0), "uint32"), Op("switch", (odd, w3, w1), "uint32"))


def ir_standard_normal(index, key, stream, draw):
    """Loop-IR float64 expression of element `index` of a standard normal draw."""
    f = "float64"
    w0, w1, w2, w3 = ir_block(index, 1, key, stream, draw)
    u1, u2 = _ir_u53(w0, w1), _ir_u53(w2, w3)
    one = Const(1.0, f)
    r = Op("sqrt", (Op("mul", (Const(-2.0, f), Op("log", (Op("sub", (one, u1), f),), f)), f),), f)
    phase = Op("mul", (Cast(Op("and", (index, Const(1, "int64")), "int64"), f),
                       Const(HALF_PI, f)), f)
    t = Op("sub", (Op("mul", (Const(TWO_PI, f), u2), f), phase), f)
    return Op("mul", (r, Op("cos", (t,), f)), f)
