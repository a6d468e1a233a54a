"""exp, log and friends natively in float32 (twice float64's lanes), <= ~1.5 ulp.

The float64 family (explog.py) carries double-double intermediates to reach
~0.5 ulp; float32 needs no such care: every function here is a short
polynomial plus a few once-rounded steps, all in float32, so a vector holds
twice as many lanes (4 per xmm, 8 per ymm, 16 per zmm) and the polynomials are
half as long. Steps that need one rounding or an exact product are `fp.fma`,
the others `fp.muladd` (the same instruction with FMA; cheaper without it).

exp family: x = k ln2 + r, |r| <= ln2/2 (Cody-Waite: fma(-k, ln2_hi, x) is
exact, the ln2_lo step is a small separate term r_lo), exp(r) = 1 + (r + (r_lo +
r**2 P(r))), P of degree 4, then `Fp.scale` by 2**k (two multiplications, so
subnormal results are rounded once).

log family: x = 2**e (1 + f) with 1 + f in [sqrt(1/2), sqrt(2)) by integer ops
on the bits (f exact), log(1 + f) = f + f**2 Q(f) with Q of degree 9 (no
division), and e ln2 + f summed by one fma. log1p adds the rounding error c of
u = fl(1 + x) to f (scaled by 2**-e), so it never divides either.

Coefficients: mpmath Chebyshev fits (`mpmath.chebyfit`, 200 bits), rounded to
float32; weighted errors after rounding: P 2**-26.9, Q 2**-28.3 (relative to
log1p(f)), tanh's T 2**-27.7, sinh's S 2**-27.7.

Special values follow C99/NumPy (checked exhaustively over all 2**32 inputs,
see docs/accuracy.md): NaN propagates, +-inf and over/underflow saturate,
signed zeros are kept by odd functions.
"""
from __future__ import annotations

import math
import struct

from .common import log1p_specials, log_specials

# exp(r) = 1 + r + r**2 P(r) on |r| <= 0.3466
EXP_P = [0.5, 0.16666576266288757, 0.041666556149721146, 0.008363177999854088,
         0.0013926181709393859]
# log(1 + f) = f + f**2 Q(f) on f in [sqrt(1/2) - 1, sqrt(2) - 1]
LOG_Q = [-0.5, 0.33333322405815125, -0.25000011920928955, 0.20001447200775146,
         -0.16667528450489044, 0.1423228532075882, -0.12420950084924698,
         0.11812568455934525, -0.11556577682495117, 0.06767020374536514]
# tanh(a) = a + a**3 T(a**2) on a <= TANH_SMALL
TANH_T = [-0.3333333134651184, 0.13333073258399963, -0.053901754319667816,
          0.021263353526592255, -0.0065255723893642426]
TANH_SMALL = 0.5625          # above atanh(1/2): the large-|x| form has no cancellation
# sinh(a) = a + a**3 S(a**2) on a <= 1
SINH_S = [0.1666666716337204, 0.008333339355885983, 0.00019838102161884308,
          2.806280235745362e-06]



def _split(value):
    """(hi, lo): hi = float32(value), lo = float32(value - hi)."""
    def f32(v):
        return struct.unpack("f", struct.pack("f", v))[0]
    return f32(value), f32(value - f32(value))


LN2_HI, LN2_LO = _split(math.log(2))
LN2_HI16 = 0.693145751953125               # ln 2 to 16 bits: e * LN2_HI16 is exact
LN2_LO16 = math.log(2) - LN2_HI16
INV_LN2 = 1 / math.log(2)
INV_LN2_HI, INV_LN2_LO = _split(1 / math.log(2))
INV_LN10_HI, INV_LN10_LO = _split(1 / math.log(10))
LOG10_2_HI, LOG10_2_LO = _split(math.log10(2))
SHIFT = 1.5 * 2.0 ** 23      # x + SHIFT rounds x to an integer held in the low bits
SQRT_HALF_BITS = 0x3F3504F3  # float32(sqrt(1/2))
TINY = 2.0 ** -126           # smallest normal float32


# ---- exp core ---------------------------------------------------------------------
def exp_parts(fp, x, keep_tail=False, x_lo=None):
    """(k, e) with exp(x) = e * 2**k, e in [0.7, 1.42] rounded, k an i32, for x in
    [-150, 129] (or NaN: e is NaN). keep_tail: e is a pair (e_hi, e_lo) instead,
    e_lo the rounding error of e_hi = fl(1 + q). x_lo: exp(x + x_lo) instead, x_lo
    a tail below x's ulp (it joins the reduced argument's low part)."""
    shifted = fp.muladd(x, fp.c(INV_LN2), fp.c(SHIFT))
    k = fp.isub(fp.bits(shifted), fp.bits(fp.c(SHIFT)))
    kd = fp.sub(shifted, fp.c(SHIFT))
    r1 = fp.fma(fp.neg(kd), fp.c(LN2_HI), x)           # exact: |r1| < 1/2 on x's grid
    if x_lo is None:
        r_lo = fp.mul(fp.neg(kd), fp.c(LN2_LO))
    else:
        r_lo = fp.muladd(fp.neg(kd), fp.c(LN2_LO), x_lo)
    q = expm1_small(fp, r1, r_lo)
    if keep_tail:
        return k, fp.fast_two_sum(fp.c(1.0), q)
    return k, fp.add(fp.c(1.0), q)


def expm1_small(fp, r1, r_lo):
    """expm1(r1 + r_lo) for |r1 + r_lo| <= 0.35, r_lo tiny, rounded once more."""
    r = fp.add(r1, r_lo)
    return fp.add(r1, fp.muladd(fp.mul(r, r), fp.horner(r, EXP_P), r_lo))


def build_exp(fp, x):
    k, e = exp_parts(fp, fp.clamp(x, -104.0, 89.0))
    return fp.scale(e, k)


def build_exp2(fp, x):
    x = fp.clamp(x, -151.0, 129.0)
    shifted = fp.add(x, fp.c(SHIFT))
    k = fp.isub(fp.bits(shifted), fp.bits(fp.c(SHIFT)))
    f = fp.sub(x, fp.sub(shifted, fp.c(SHIFT)))          # exact, |f| <= 1/2
    r_hi, r_err = fp.two_prod(f, fp.c(LN2_HI))
    r_lo = fp.muladd(f, fp.c(LN2_LO), r_err)
    return fp.scale(fp.add(fp.c(1.0), expm1_small(fp, r_hi, r_lo)), k)


def build_expm1(fp, x):
    # expm1(x) = 2**k expm1(r) + (2**k - 1), the last step an fma, so (2**k - 1),
    # exact for |k| <= 24, and 2**k r1 enter with one rounding. k = 128 is done as
    # 2**127 times 2.
    xc = fp.clamp(x, -18.0, 89.0)
    shifted = fp.muladd(xc, fp.c(INV_LN2), fp.c(SHIFT))
    k = fp.isub(fp.bits(shifted), fp.bits(fp.c(SHIFT)))
    kd = fp.sub(shifted, fp.c(SHIFT))
    r1 = fp.fma(fp.neg(kd), fp.c(LN2_HI), xc)
    r_lo = fp.mul(fp.neg(kd), fp.c(LN2_LO))
    r = fp.add(r1, r_lo)
    s = fp.muladd(fp.mul(r, r), fp.horner(r, EXP_P), r_lo)  # expm1(r) = r1 + s
    big = fp.b.icmp_signed(">", k, fp.i(127))
    t = fp.pow2(fp.sel(big, fp.i(127), k))
    u = fp.fma(t, r1, fp.sub(t, fp.c(1.0)))
    result = fp.mul(fp.fma(t, s, u), fp.sel(big, fp.c(2.0), fp.c(1.0)))
    return fp.sel(fp.eq(x, fp.c(0.0)), x, result)         # expm1(-0) = -0


# ---- log core ----------------------------------------------------------------------
def log_reduce(fp, x):
    """For finite x > 0 (subnormals too): (e, f), x = 2**e (1 + f), e an
    integer-valued float, 1 + f in [sqrt(1/2), sqrt(2)), f exact. Other inputs
    give garbage."""
    return _log_reduce(fp, x)[1:]


def _log_reduce(fp, x, subnormals=True):
    """(k, e, f) as `log_reduce`, k = e as an i32 (for normal x); subnormals=False
    for callers whose x is never subnormal."""
    if subnormals:
        tiny = fp.lt(x, fp.c(TINY))
        x = fp.sel(tiny, fp.mul(x, fp.c(2.0 ** 23)), x)
    bits = fp.bits(x)
    offset = fp.isub(bits, fp.i(SQRT_HALF_BITS))
    k = fp.ashr(offset, 23)
    m = fp.from_bits(fp.isub(bits, fp.b.and_(offset, fp.i(-1 << 23))))
    e = fp.to_float(k)
    if subnormals:
        e = fp.sub(e, fp.sel(tiny, fp.c(23.0), fp.c(0.0)))
    return k, e, fp.sub(m, fp.c(1.0))


def log_finish(fp, e, f, corr=None):
    """e ln2 + log(1 + f) (+ corr, a term tiny next to the result), rounded.

    e ln2_hi (exact: ln2_hi has 16 bits) + f is split exactly by fast_two_sum
    (|e ln2_hi| >= 0.69 > |f| unless e = 0), so only the final addition rounds
    anything but small terms."""
    hi, err = fp.fast_two_sum(fp.mul(e, fp.c(LN2_HI16)), f)
    small = fp.muladd(e, fp.c(LN2_LO16), err)
    if corr is not None:
        small = fp.add(small, corr)
    return fp.add(hi, fp.muladd(fp.mul(f, f), fp.horner(f, LOG_Q), small))


# log1p(f) = 2 atanh(s), s = f/(2 + f): 2s + s**3 (2/3 + s**2 R(s**2)), |s| <= 0.1716;
# R is atanh's Taylor series 2/5 + 2/7 t + ... (truncated at 2/13 t**4: 3e-9 off)
TWO_THIRDS_HI, TWO_THIRDS_LO = _split(2 / 3)
ATANH_R = [2 / 5, 2 / 7, 2 / 9, 2 / 11, 2 / 13]


def log_pair(fp, x):
    """log(x) as a float32 pair (hi, lo), relative error ~2**-36, for finite x > 0
    (subnormals too); other inputs give garbage. For pow, whose y log(x) (up to
    ~100) must be right to ~2**-25 absolute.

    x = 2**e (1 + f); s = f/(2 + f) as an exact-ish pair (one division, then the
    remainder); 2s, s**3 and the leading 2/3 as exact products, so only terms
    ~2**-6 of the result and below are rounded in float32."""
    e, f = log_reduce(fp, x)
    d_hi, d_lo = fp.fast_two_sum(fp.c(2.0), f)           # 2 + f exactly
    inverse = fp.div(fp.c(1.0), d_hi)
    s = fp.mul(f, inverse)
    rem = fp.sub(fp.fma(fp.neg(s), d_hi, f), fp.mul(s, d_lo))
    s_lo = fp.mul(rem, inverse)
    s2, s2_err = fp.two_prod(s, s)
    s3, s3_err = fp.two_prod(s2, s)
    s3_lo = fp.muladd(s2_err, s, s3_err)
    p_lo = fp.muladd(s2, fp.horner(s2, ATANH_R), fp.c(TWO_THIRDS_LO))
    t_hi, t_err = fp.two_prod(s3, fp.c(TWO_THIRDS_HI))
    t_lo = fp.muladd(s3, p_lo, fp.muladd(s3_lo, fp.c(TWO_THIRDS_HI), t_err))
    a_hi, a_err = fp.fast_two_sum(fp.add(s, s), t_hi)    # |2s| >= |t|
    hi, b_err = fp.fast_two_sum(fp.mul(e, fp.c(LN2_HI16)), a_hi)   # e = 0 or |e ln2| > |a|
    # s_lo's share of the s**3 term: its derivative 2 s**2 (1 + s**2 + ...) times s_lo
    two_s_lo = fp.add(s_lo, s_lo)
    t_lo = fp.muladd(two_s_lo, fp.muladd(s2, s2, s2), t_lo)
    lo = fp.add(fp.add(b_err, a_err), fp.add(two_s_lo, t_lo))
    return hi, fp.muladd(e, fp.c(LN2_LO16), lo)


def build_log(fp, x):
    return log_specials(fp, x, log_finish(fp, *log_reduce(fp, x)))


def build_log2(fp, x):
    # e + f/ln2 + f**2 Q/ln2, with e + f/ln2_hi summed exactly (two_prod, then
    # fast_two_sum: |e| >= 1 > |f/ln2| unless e = 0).
    e, f = log_reduce(fp, x)
    p_hi, p_lo = fp.two_prod(f, fp.c(INV_LN2_HI))
    hi, err = fp.fast_two_sum(e, p_hi)
    small = fp.add(fp.muladd(f, fp.c(INV_LN2_LO), p_lo), err)
    g = fp.mul(fp.mul(f, f), fp.horner(f, LOG_Q))
    return log_specials(fp, x, fp.add(hi, fp.muladd(g, fp.c(INV_LN2_HI), small)))


def build_log10(fp, x):
    e, f = log_reduce(fp, x)
    g = fp.mul(fp.mul(f, f), fp.horner(f, LOG_Q))
    w = fp.muladd(g, fp.c(INV_LN10_HI), fp.muladd(f, fp.c(INV_LN10_LO), fp.mul(e, fp.c(LOG10_2_LO))))
    return log_specials(fp, x, fp.fma(e, fp.c(LOG10_2_HI), fp.fma(f, fp.c(INV_LN10_HI), w)))


def log1p_parts(fp, x, x_lo=None):
    """(e, f, corr) with log1p(x + x_lo) = e ln2 + log(1 + f) + corr, for
    `log_finish`; x > -1 (NaN -> NaN), x_lo optional, below ulp(1 + x).
    u = fl(1 + x) = 2**e (1 + f); the rounding error c of u enters as
    log(1 + f + c') = log(1 + f) + c'/(1 + f), c' = c 2**-e, the quotient taken
    as c' (1 - f + f**2) (relative error f**3, on a term below 2**-24 of the result)."""
    u, c = fp.two_sum(fp.c(1.0), x)
    if x_lo is not None:
        c = fp.add(c, x_lo)
    k, e, f = _log_reduce(fp, u, subnormals=False)         # u >= 2**-24
    k = fp.sel(fp.b.icmp_signed(">", k, fp.i(126)), fp.i(126), k)
    c = fp.mul(c, fp.pow2(fp.isub(fp.i(0), k)))
    return e, f, fp.mul(c, fp.muladd(f, fp.sub(f, fp.c(1.0)), fp.c(1.0)))


def log1p_core(fp, x, x_lo=None):
    """log1p(x + x_lo) for x > -1 (NaN -> NaN), x_lo optional and tiny next to x."""
    return log_finish(fp, *log1p_parts(fp, x, x_lo))


def build_log1p(fp, x):
    return log1p_specials(fp, x, log1p_core(fp, x), tiny=2.0 ** -24)


# ---- hyperbolic, sigmoid, softplus -------------------------------------------------
def build_tanh(fp, x):
    # |x| < 0.5625: odd polynomial. Above: 1 - 2/(1 + exp(2|x|)), where the quotient
    # is at most 1/2 of a result >= 1/2, so its rounding errors count half.
    a = fp.abs(x)
    z = fp.mul(a, a)
    small = fp.muladd(fp.mul(a, z), fp.horner(z, TANH_T), a)
    k, e = exp_parts(fp, fp.clamp(fp.add(a, a), 0.0, 20.0))
    big = fp.sub(fp.c(1.0), fp.div(fp.c(2.0), fp.add(fp.c(1.0), fp.mul(e, fp.pow2(k)))))
    return fp.copysign(fp.sel(fp.lt(a, fp.c(TANH_SMALL)), small, big), x)


def _half_exp(fp, a):
    """exp(a)/2 for a >= 0, overflowing only past float32 range (a <= 90 kept)."""
    k, e = exp_parts(fp, fp.clamp(a, 0.0, 90.0))
    return fp.scale(e, fp.isub(k, fp.i(1)))


def build_sinh(fp, x):
    a = fp.abs(x)
    z = fp.mul(a, a)
    small = fp.muladd(fp.mul(a, z), fp.horner(z, SINH_S), a)
    t = _half_exp(fp, a)
    large = fp.sub(t, fp.div(fp.c(0.25), t))
    return fp.copysign(fp.sel(fp.lt(a, fp.c(1.0)), small, large), x)


def build_cosh(fp, x):
    t = _half_exp(fp, fp.abs(x))
    return fp.add(t, fp.div(fp.c(0.25), t))


def build_sigmoid(fp, x):
    # e = exp(-|x|): 1/(1 + e) for x >= 0, e/(1 + e) for x < 0 (subnormal tail
    # kept). 1 + e = d + d_lo exactly; the quotient is corrected once from its
    # exact remainder, so only e's error (damped by 1/(1 + e)) and one rounding remain.
    e = build_exp(fp, fp.neg(fp.abs(x)))
    numerator = fp.sel(fp.lt(x, fp.c(0.0)), e, fp.c(1.0))
    d, d_lo = fp.fast_two_sum(fp.c(1.0), e)
    inverse = fp.div(fp.c(1.0), d)
    q = fp.mul(numerator, inverse)
    rem = fp.muladd(fp.neg(q), d_lo, fp.fma(fp.neg(q), d, numerator))
    return fp.muladd(rem, inverse, q)


def build_softplus(fp, x):
    # max(x, 0) + log1p(exp(-|x|)): no overflow, 0 at -inf, NaN stays NaN. exp's
    # last rounding (1 + q) is handed to log1p as a tail.
    k, e = exp_parts(fp, fp.clamp(fp.neg(fp.abs(x)), -104.0, 0.0), keep_tail=True)
    e_hi, e_lo = fp.scale(e[0], k), fp.scale(e[1], k)
    tail = log1p_core(fp, e_hi, e_lo)
    return fp.add(fp.em.intrinsic("maximum", x, fp.c(0.0)), tail)


BUILDERS = {"exp": build_exp, "exp2": build_exp2, "expm1": build_expm1, "log": build_log,
            "log2": build_log2, "log10": build_log10, "log1p": build_log1p,
            "tanh": build_tanh, "sinh": build_sinh, "cosh": build_cosh,
            "sigmoid": build_sigmoid, "softplus": build_softplus}
