"""Philox4x32-10: the generator, as NumPy code and as loop-IR expressions.

Philox4x32-10 (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as easy as
1, 2, 3", SC'11) maps a 128-bit counter (c0, c1, c2, c3) and a 64-bit key (k0, k1)
to 128 random bits by 10 rounds of two 32x32->64-bit multiplies and xors. Being a
pure function of (counter, key), value i of a draw is computed independently of
every other value: any split of a draw across threads gives the same numbers.

How tjit numbers a draw (the same in the NumPy reference and the native code):
the state of one random variable is uint32[4] = (k0, k1, stream, draw). Block b
of a draw is Philox(counter=(b mod 2**32, b div 2**32, stream, draw), key=(k0, k1)),
four uint32 words w0..w3. A draw is laid out in chunks of PARTS * K elements
(K = BLOCKS_PER_CHUNK): chunk c holds blocks c*K .. c*K + K-1, and part q of the
chunk (K consecutive elements) holds value q of those blocks, so element
i = c*PARTS*K + q*K + j is value q of block c*K + j. The values of a block:
- float64 uniform (2 parts): u53(w0, w1), u53(w2, w3), where
  u53(a, b) = ((a >> 5) * 2**26 + (b >> 6)) * 2**-53 in [0, 1) (53 bits);
- float32 uniform (4 parts): (w >> 8) * 2**-24 for w = w0..w3;
- normal (2 parts), Box-Muller on the pair u1 = u53(w0, w1), u2 = u53(w2, w3):
  r = sqrt(-2 log(1 - u1)); values r cos(2 pi u2) and r sin(2 pi u2) (float64,
  then rounded to the dtype). The cosine and sine of the turn u2 come from
  `sincos_turn`: an exact reduction to the nearest quarter turn and Cephes'
  polynomials on [-pi/4, pi/4] (within 1e-16 of libm), inlined so it vectorizes.
Both implementations evaluate the same sequence of IEEE operations (one
definition, `_block_values`, over a NumPy and a loop-IR backend); they agree
bit for bit except where log differs in the last ulp (vector library vs NumPy).
So value i depends on (key, stream, draw, i) alone, each block is computed once,
and each part is a contiguous run that the native loop stores with unit stride.
"""
from __future__ import annotations

import math

import numpy as np

from ..ir.nodes import Cast, Const, Op

M0, M1 = 0xD2511F53, 0xCD9E8D57          # round multipliers
W0, W1 = 0x9E3779B9, 0xBB67AE85          # key schedule (Weyl) increments
ROUNDS = 10
BLOCKS_PER_CHUNK = 256
HALF_PI = math.pi / 2
# Cephes sin.c: sin x = x + x^3 P(x^2), cos x = 1 - x^2/2 + x^4 Q(x^2) on |x| <= pi/4
SIN_COEFFS = (1.58962301576546568060e-10, -2.50507477628578072866e-8,
              2.75573136213857245213e-6, -1.98412698295895385996e-4,
              8.33333333332211858878e-3, -1.66666666666666307295e-1)
COS_COEFFS = (-1.13585365213876817300e-11, 2.08757008419747316778e-9,
              -2.75573141792967388112e-7, 2.48015872888517045348e-5,
              -1.38888888888730564116e-3, 4.16666666666665929218e-2)


# ---- the generator: NumPy reference ---------------------------------------------------
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


def _words(state, blocks):
    blocks = np.asarray(blocks, dtype=np.uint64)
    lo = (blocks & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    hi = (blocks >> np.uint64(32)).astype(np.uint32)
    k0, k1, stream, draw = (np.uint32(v) for v in state)
    return philox4x32((lo, hi, np.full_like(lo, stream), np.full_like(lo, draw)), (k0, k1))


# ---- the generator: loop-IR expressions ----------------------------------------------
def _op(name, *args):
    return Op(name, args, args[0].dtype)


def _shr(x, bits):
    """x >> bits for an unsigned x: floor division by 2**bits, which LLVM emits
    as a logical shift (the loop IR has no shift op)."""
    return Op("int_div", (x, Const(1 << bits, x.dtype)), x.dtype)


def ir_philox4x32(counter, key, rounds=ROUNDS):
    """Loop-IR uint32 expressions of Philox4x32-`rounds` (see `philox4x32`).

    The words are carried as uint64 values below 2**32: the products then need
    no widening, and vector code stays in 64-bit lanes (no packing/unpacking of
    32-bit lanes between the multiplies and the xors)."""
    u64 = "uint64"
    mask = Const(0xFFFFFFFF, u64)
    c0, c1, c2, c3 = (Cast(c, u64) for c in counter)
    k0, k1 = (Cast(k, u64) for k in key)
    for r in range(rounds):
        if r:
            k0 = _op("and", _op("add", k0, Const(W0, u64)), mask)
            k1 = _op("and", _op("add", k1, Const(W1, u64)), mask)
        p0 = _op("mul", c0, Const(M0, u64))
        p1 = _op("mul", c2, Const(M1, u64))
        c0, c1, c2, c3 = (_op("xor", _op("xor", _shr(p1, 32), c1), k0), _op("and", p1, mask),
                          _op("xor", _op("xor", _shr(p0, 32), c3), k1), _op("and", p0, mask))
    return tuple(Cast(c, "uint32") for c in (c0, c1, c2, c3))


def ir_words(block, key, stream, draw):
    """The 4 words of block `block` (an int64 expression) of a draw."""
    b = Cast(block, "uint64")
    return ir_philox4x32((Cast(b, "uint32"), Cast(_shr(b, 32), "uint32"), stream, draw), key)


# ---- from words to values: one definition, two backends --------------------------------
class _NumPy:
    """Array operations, in the order `_block_values` states them."""
    const = staticmethod(lambda v, dtype: np.asarray(v, dtype=dtype)[()])
    add, sub, mul = staticmethod(np.add), staticmethod(np.subtract), staticmethod(np.multiply)
    neg, log, sqrt = staticmethod(np.negative), staticmethod(np.log), staticmethod(np.sqrt)
    rint = staticmethod(np.rint)
    select = staticmethod(np.where)

    @staticmethod
    def shr(w, bits):
        return w >> np.uint32(bits)

    @staticmethod
    def small_uint_to_float(w, dtype):     # w < 2**31: exact through int32
        return w.astype(np.int32).astype(dtype)

    @staticmethod
    def quadrant_is(k, q):                 # k: integral float64 in [0, 4]; 4 is 0
        return (k == q) | (k == 4.0) if q == 0 else k == q


class _IR:
    """Loop-IR expressions for the same operations."""

    @staticmethod
    def const(v, dtype):
        return Const(v, dtype)

    add = staticmethod(lambda a, b: _op("add", a, b))
    sub = staticmethod(lambda a, b: _op("sub", a, b))
    mul = staticmethod(lambda a, b: _op("mul", a, b))
    neg = staticmethod(lambda a: _op("neg", a))
    log = staticmethod(lambda a: _op("log", a))
    sqrt = staticmethod(lambda a: _op("sqrt", a))
    rint = staticmethod(lambda a: _op("round_half_even", a))
    shr = staticmethod(_shr)

    @staticmethod
    def select(cond, a, b):
        return Op("switch", (cond, a, b), a.dtype)

    @staticmethod
    def small_uint_to_float(w, dtype):
        # via int32: vector int32->float conversions exist everywhere, uint ones do not
        return Cast(Cast(w, "int32"), dtype)

    @staticmethod
    def quadrant_is(k, q):
        # float compares: no float->int conversion in the vector loop
        hit = Op("eq", (k, Const(float(q), k.dtype)), "bool")
        if q == 0:
            hit = Op("or", (hit, Op("eq", (k, Const(4.0, k.dtype)), "bool")), "bool")
        return hit


def _u53(B, wa, wb):
    f = "float64"
    a = B.small_uint_to_float(B.shr(wa, 5), f)
    b = B.small_uint_to_float(B.shr(wb, 6), f)
    return B.mul(B.add(B.mul(a, B.const(67108864.0, f)), b), B.const(2.0 ** -53, f))


def _poly(B, z, coeffs):
    f = "float64"
    acc = B.const(coeffs[0], f)
    for c in coeffs[1:]:
        acc = B.add(B.mul(acc, z), B.const(c, f))
    return acc


def sincos_turn(B, u):
    """(cos 2 pi u, sin 2 pi u) for float64 u in [0, 1): k = the nearest quarter
    turn (exact), x = (4u - k) pi/2 in [-pi/4, pi/4], then Cephes' polynomials."""
    f = "float64"
    four_u = B.mul(u, B.const(4.0, f))
    k = B.rint(four_u)
    x = B.mul(B.sub(four_u, k), B.const(HALF_PI, f))
    z = B.mul(x, x)
    s = B.add(x, B.mul(B.mul(x, z), _poly(B, z, SIN_COEFFS)))
    c = B.add(B.sub(B.const(1.0, f), B.mul(B.const(0.5, f), z)),
              B.mul(B.mul(z, z), _poly(B, z, COS_COEFFS)))
    ns, nc = B.neg(s), B.neg(c)
    q0, q1, q2 = (B.quadrant_is(k, q) for q in range(3))
    cos = B.select(q0, c, B.select(q1, ns, B.select(q2, nc, s)))
    sin = B.select(q0, s, B.select(q1, c, B.select(q2, ns, nc)))
    return cos, sin


def _block_values(B, dist, dtype, w):
    if dist == "uniform" and dtype == "float32":
        return [B.mul(B.small_uint_to_float(B.shr(x, 8), "float32"),
                      B.const(2.0 ** -24, "float32")) for x in w]
    u1, u2 = _u53(B, w[0], w[1]), _u53(B, w[2], w[3])
    if dist == "uniform":
        return [u1, u2]
    f = "float64"
    r = B.sqrt(B.mul(B.const(-2.0, f), B.log(B.sub(B.const(1.0, f), u1))))
    cos, sin = sincos_turn(B, u2)
    return [B.mul(r, cos), B.mul(r, sin)]


def parts(dist, dtype):
    """Number of values per block (= parts per chunk) of a draw."""
    return 4 if (dist, dtype) == ("uniform", "float32") else 2


def block_values(dist, dtype, w):
    """NumPy: the values of blocks with words w = (w0, w1, w2, w3)."""
    with np.errstate(all="ignore"):
        return _block_values(_NumPy, dist, dtype, w)


def ir_block_values(dist, dtype, w):
    """Loop IR: the values of a block with word expressions w."""
    return _block_values(_IR, dist, dtype, w)


def draw(state, n, dist, dtype, first=0):
    """The n standard values (uniform [0, 1) of `dtype`, or float64 normals) of
    the draw with `state` at flat positions first .. first+n-1, laid out as the
    module doc says. Whole chunks are computed and sliced, so a normal's
    Box-Muller pair (its cos and sin halves, in two parts of one chunk) is the
    same whatever range asks for either half."""
    k = BLOCKS_PER_CHUNK
    per = parts(dist, dtype) * k
    c0, c1 = first // per, -(-(first + n) // per)
    blocks = np.arange(c0 * k, c1 * k, dtype=np.uint64)
    w = [x.reshape(c1 - c0, k) for x in _words(state, blocks)]
    values = np.concatenate(block_values(dist, dtype, w), axis=1)
    return values.reshape(-1)[first - c0 * per:first - c0 * per + n]


def uniform01(state, n, dtype):
    return draw(state, n, "uniform", dtype)


def standard_normal(state, n):
    return draw(state, n, "normal", "float64")
