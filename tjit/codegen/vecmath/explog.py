"""exp, log and friends as branch-free float64 IR (float32: explog32.py, natively).

exp family: x = k ln2 + r with |r| <= ln2/2 (Cody-Waite: ln2 as a 32-bit head,
so k * head and x - k * head are exact, plus a tail; the reduced argument is
kept as a double-double r_hi + r_lo), exp(r) = 1 + r + r**2 P(r) with P a
degree-10 fit, then 2**k applied by `Fp.scale` (two exact-or-once-rounded
multiplications, so subnormal results underflow gradually). Results are
returned as unevaluated sums (a, b) so callers round once.

Plain exp skips the pair: one rounded r and a degree-9 P (< 1 ulp). log and
log1p use fdlibm's formula (`log_fast`: one division, no double-double, < 1 ulp);
log1p folds the rounding error of fl(1 + x) in as a first-order term instead of
dividing by u. tanh: an odd polynomial below 1/8, else 1 - 2/(1 + exp(2|x|)) with
exp as an exact pair and the quotient corrected once.

log family (`log_parts`, for log2, log10, pow):
x = 2**e m with m in [sqrt(1/2), sqrt(2)) by integer ops on the bits,
f = m - 1 (exact), s = f / (2 + f) as a double-double, and
log(m) = 2 atanh(s) = 2s + 2s**3/3 + s**5 W(s**2), with the first two terms in
double-double. That gives log(m) to ~2**-65 relative, which pow needs; the
plain logs just round the same parts once more.

Coefficients: Chebyshev interpolants computed with mpmath at 256 bits, rounded
to double (max relative error of each fit, coefficient rounding included, is
below 2**-53 on its interval; the fitted part is at most 1/8 of the result).

Special values follow C99/NumPy: selects at the end patch NaN, +-inf, +-0 and
out-of-domain inputs; overflow and underflow fall out of `scale`.
"""
from __future__ import annotations

import math

from .common import float_rule, log1p_specials, log_specials
from .explog32 import BUILDERS as F32_BUILDERS

# exp(r) = 1 + r + r**2 * P9(r) on |r| <= 0.3466, to 2**-55.8 (plain exp only)
EXP_P9 = [0.5000000000000001, 0.16666666666666669, 0.04166666666662416,
          0.008333333333330063, 0.0013888888917199863, 0.00019841269863042963,
          2.4801521317484083e-05, 2.7557268476553695e-06, 2.7620078203806394e-07,
          2.5100377619606372e-08]
# exp(r) = 1 + r + r**2 * P(r) on |r| <= 0.3467
EXP_P = [0.5, 0.1666666666666667, 0.04166666666666667, 0.00833333333332612,
         0.0013888888888883737, 0.00019841269874873975, 2.480158732558584e-05,
         2.755725533255441e-06, 2.7557273594799413e-07, 2.510524515390137e-08,
         2.0914707069612355e-09]
# 2 atanh(s) = 2s + 2s**3/3 + s**5 W(s**2) on s**2 <= 0.0295 (|s| <= 3 - 2 sqrt 2)
LOG_W = [0.4, 0.2857142857142938, 0.2222222222164882, 0.1818181833699257,
         0.15384594791762352, 0.13334813971292003, 0.11705988156500907,
         0.11725771221811145]
# fdlibm's log: R(z) = z (Lg1 + z Lg2 + ... + z**6 Lg7), 2 atanh(s) = 2s + s R(s**2)
LOG_LG = [6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01,
          2.222219843214978396e-01, 1.818357216161805012e-01, 1.531383769920937332e-01,
          1.479819860511658591e-01]
# tanh(a) = a + a**3 T(a**2) on a <= 1/8 (weighted error 2**-61.6 after rounding)
TANH_T = [-0.3333333333333333, 0.13333333333328656, -0.053968253933312110,
          0.021869478985713266, -0.008862054609770608, 0.003524688390405784]
TANH_SMALL = 0.125
# sinh(x) = x + x**3 S(x**2) on |x| <= 1
SINH_S = [0.16666666666666666, 0.008333333333333333, 0.00019841269841269773,
          2.755731922404034e-06, 2.505210836405804e-08, 1.6059048396350562e-10,
          7.646625361656657e-13, 2.8445264169895285e-15]

LN2_HI, LN2_LO = 0.6931471803691238, 1.9082149292705877e-10   # head has 32 bits
LN2 = (0.6931471805599453, 2.3190468138462996e-17)
INV_LN2 = (1.4426950408889634, 2.0355273740931033e-17)
LOG10_2 = (0.3010299956639812, -2.8037281277851704e-18)
INV_LN10 = (0.4342944819032518, 1.098319650216765e-17)
TWO_THIRDS = (0.6666666666666666, 3.700743415417188e-17)
SHIFT = 1.5 * 2.0 ** 52        # x + SHIFT rounds x to an integer held in the low bits
SQRT_HALF_BITS = 0x3FE6A09E667F3BCD
INF = math.inf
# Inputs are clamped into +-EXP_CLAMP before reduction: far enough that exp
# over/underflows, near enough that k fits `Fp.scale`.
EXP_CLAMP = 1100.0


# ---- exp core ---------------------------------------------------------------------
def exp_reduce(fp, hi, lo=None):
    """(k, r_hi, r_lo) with hi + lo = k ln2 + r_hi + r_lo, k an i64, |r| <~ ln2/2.

    `hi` must be within +-EXP_CLAMP (or NaN); `lo` is small next to ulp(hi)."""
    shifted = fp.fma(hi, fp.c(INV_LN2[0]), fp.c(SHIFT))
    k = fp.isub(fp.bits(shifted), fp.bits(fp.c(SHIFT)))
    kd = fp.sub(shifted, fp.c(SHIFT))
    head = fp.fma(fp.neg(kd), fp.c(LN2_HI), hi)             # exact: k * LN2_HI has 43 bits
    tail = fp.neg(fp.mul(kd, fp.c(LN2_LO)))
    if lo is not None:
        tail = fp.add(tail, lo)
    # |tail| < 3e-7 so head dominates unless r is tiny, where the pair's exactness no
    # longer matters next to exp(r) ~ 1.
    r_hi, r_lo = fp.fast_two_sum(head, tail)
    return k, r_hi, r_lo


def expm1_reduced(fp, r_hi, r_lo):
    """expm1(r_hi + r_lo) as (r_hi, q): their sum, rounded, is accurate to ~2**-60."""
    poly = fp.mul(fp.mul(r_hi, r_hi), fp.horner(r_hi, EXP_P))
    q = fp.add(fp.fma(r_lo, r_hi, r_lo), poly)             # r_lo * exp(r) ~ r_lo (1 + r)
    return r_hi, q


def exp_reduced(fp, r_hi, r_lo):
    """exp(r_hi + r_lo) as an unevaluated pair (a, b), a = fl(1 + r_hi)."""
    _, q = expm1_reduced(fp, r_hi, r_lo)
    a, e = fp.fast_two_sum(fp.c(1.0), r_hi)
    return a, fp.add(e, q)


def exp_dd(fp, hi, lo=None):
    """exp(hi + lo) rounded once; NaN propagates, +-inf and huge inputs saturate."""
    if lo is not None:
        lo = fp.sel(fp.lt(fp.abs(hi), fp.c(EXP_CLAMP)), lo, fp.c(0.0))
    k, r_hi, r_lo = exp_reduce(fp, fp.clamp(hi, -EXP_CLAMP, EXP_CLAMP), lo)
    a, b = exp_reduced(fp, r_hi, r_lo)
    return fp.scale(fp.add(a, b), k)


def build_exp(fp, x):
    # No pair needed: r = fl(x - k ln2) is off by <= 2**-54 |r| (0.2 ulp of the
    # result), P9 by 2**-55.8, 1 + (r + r**2 P9) rounds twice: < 1 ulp.
    x = fp.clamp(x, -EXP_CLAMP, EXP_CLAMP)
    shifted = fp.fma(x, fp.c(INV_LN2[0]), fp.c(SHIFT))
    k = fp.isub(fp.bits(shifted), fp.bits(fp.c(SHIFT)))
    kd = fp.sub(shifted, fp.c(SHIFT))
    r = fp.fma(fp.neg(kd), fp.c(LN2_LO), fp.fma(fp.neg(kd), fp.c(LN2_HI), x))
    q = fp.fma(fp.mul(r, r), fp.horner(r, EXP_P9), r)
    return fp.scale(fp.add(fp.c(1.0), q), k)


def build_exp2(fp, x):
    x = fp.clamp(x, -EXP_CLAMP, EXP_CLAMP)
    kd = fp.sub(fp.add(x, fp.c(SHIFT)), fp.c(SHIFT))           # rint(x)
    k = fp.isub(fp.bits(fp.add(x, fp.c(SHIFT))), fp.bits(fp.c(SHIFT)))
    f = fp.sub(x, kd)                                          # exact, |f| <= 1/2
    r_hi, r_err = fp.two_prod(f, fp.c(LN2[0]))
    r_lo = fp.fma(f, fp.c(LN2[1]), r_err)
    a, b = exp_reduced(fp, r_hi, r_lo)
    return fp.scale(fp.add(a, b), k)


def expm1_pair(fp, x):
    """expm1(x) as a normalized double-double (hi = fl(hi + lo)); x is clamped
    to [-50, 710]."""
    x = fp.clamp(x, -50.0, 710.0)
    k, r_hi, r_lo = exp_reduce(fp, x)
    e_hi, e_lo = expm1_reduced(fp, r_hi, r_lo)
    # expm1(x) = (2**k - 1) + 2**k expm1(r). k = 1024 (x in [709.44, 710]) is done
    # as 2**1023 times 2 at the end, so 2**k stays a double.
    big = fp.b.icmp_signed(">", k, fp.i(1023))
    k = fp.sel(big, fp.i(1023), k)
    two_k = fp.pow2(k)
    m_hi, m_lo = fp.two_sum(two_k, fp.c(-1.0))                # 2**k - 1, exactly
    hi, err = fp.two_sum(m_hi, fp.mul(two_k, e_hi))            # 2**k * e_hi is exact
    lo = fp.add(err, fp.fma(two_k, e_lo, m_lo))
    fix = fp.sel(big, fp.c(2.0), fp.c(1.0))
    hi, lo = fp.fast_two_sum(hi, lo)         # renormalize: lo held the polynomial
    return fp.mul(hi, fix), fp.mul(lo, fix)


def build_expm1(fp, x):
    result, _ = expm1_pair(fp, x)
    return fp.sel(fp.eq(x, fp.c(0.0)), x, result)              # expm1(-0) = -0


# ---- log core ------------------------------------------------------------------------
def log_parts(fp, x, x_lo=None):
    """For finite x > 0 (subnormals too): (e, l_hi, l_lo) with
    log(x + x_lo) = e ln2 + l_hi + l_lo, e a float64 integer and |l| <= ln(2)/2.
    `x_lo` (optional) is a tail below ulp(x) that joins f. Other inputs give
    garbage; callers patch them with selects."""
    tiny = fp.lt(x, fp.c(2.0 ** -1022))
    x = fp.sel(tiny, fp.mul(x, fp.c(2.0 ** 54)), x)
    bits = fp.bits(x)
    offset = fp.isub(bits, fp.i(SQRT_HALF_BITS))
    k = fp.ashr(offset, 52)
    e = fp.sub(fp.to_float(k), fp.sel(tiny, fp.c(54.0), fp.c(0.0)))
    m = fp.from_bits(fp.isub(bits, fp.iand(offset, 0xFFF << 52)))   # in [sqrt(1/2), sqrt(2))
    f = fp.sub(m, fp.c(1.0))                                   # exact (Sterbenz)
    # s = f / (2 + f) as s_hi + s_lo; 2 + f is d + d_lo exactly. One division:
    # s_hi = f * (1/d) is within an ulp, so its remainder is exact (FMA) and
    # s_lo = remainder / d needs little accuracy.
    d = fp.add(fp.c(2.0), f)
    d_lo = fp.sub(f, fp.sub(d, fp.c(2.0)))
    if x_lo is not None:
        # x_lo * 2**-k joins f (and d); k <= 1022 here unless x >= 2**1023, where
        # the tail is far below the result's ulp anyway.
        k = fp.sel(fp.b.icmp_signed(">", k, fp.i(1022)), fp.i(1022), k)
        f_lo = fp.mul(x_lo, fp.pow2(fp.isub(fp.i(0), k)))
        d_lo = fp.add(d_lo, f_lo)
    inverse = fp.div(fp.c(1.0), d)
    s_hi = fp.mul(f, inverse)
    rem = fp.sub(fp.fma(fp.neg(s_hi), d, f), fp.mul(s_hi, d_lo))
    if x_lo is not None:
        rem = fp.add(rem, f_lo)
    s_lo = fp.mul(rem, inverse)
    # s**2 and s**3 * 2/3 as double-doubles; s**5 W(s**2) needs no tail.
    s2_hi, s2_lo = fp.two_prod(s_hi, s_hi)
    s2_lo = fp.fma(fp.add(s_hi, s_hi), s_lo, s2_lo)
    s3_hi, s3_err = fp.two_prod(s2_hi, s_hi)
    s3_lo = fp.add(s3_err, fp.fma(s2_lo, s_hi, fp.mul(s2_hi, s_lo)))
    t_hi, t_err = fp.two_prod(s3_hi, fp.c(TWO_THIRDS[0]))
    t_lo = fp.add(t_err, fp.fma(s3_hi, fp.c(TWO_THIRDS[1]), fp.mul(s3_lo, fp.c(TWO_THIRDS[0]))))
    rest = fp.mul(fp.mul(s3_hi, s2_hi), fp.horner(s2_hi, LOG_W))
    l_hi, err = fp.fast_two_sum(fp.add(s_hi, s_hi), t_hi)
    l_lo = fp.add(err, fp.add(fp.add(fp.add(s_lo, s_lo), t_lo), rest))
    return e, l_hi, l_lo


def log_pair(fp, e, l_hi, l_lo):
    """(hi, lo) = e ln2 + l as a double-double (e * LN2_HI is exact)."""
    hi, err = fp.fast_two_sum(fp.mul(e, fp.c(LN2_HI)), l_hi)
    return hi, fp.add(err, fp.fma(e, fp.c(LN2_LO), l_lo))


def _times(fp, l_hi, l_lo, const):
    """(l_hi + l_lo) * (const[0] + const[1]) as a double-double."""
    p_hi, p_err = fp.two_prod(l_hi, fp.c(const[0]))
    return p_hi, fp.add(p_err, fp.fma(l_hi, fp.c(const[1]), fp.mul(l_lo, fp.c(const[0]))))


def log_reduce(fp, x, subnormals=True):
    """For finite x > 0: (k, e, f), x = 2**e (1 + f), 1 + f in [sqrt(1/2), sqrt(2)),
    f exact, k = e as an i64 (e a float64, which differs from k for subnormal x)."""
    if subnormals:
        tiny = fp.lt(x, fp.c(2.0 ** -1022))
        x = fp.sel(tiny, fp.mul(x, fp.c(2.0 ** 54)), x)
    bits = fp.bits(x)
    offset = fp.isub(bits, fp.i(SQRT_HALF_BITS))
    k = fp.ashr(offset, 52)
    e = fp.to_float(k)
    if subnormals:
        e = fp.sub(e, fp.sel(tiny, fp.c(54.0), fp.c(0.0)))
    m = fp.from_bits(fp.isub(bits, fp.iand(offset, 0xFFF << 52)))
    return k, e, fp.sub(m, fp.c(1.0))


def log_fast(fp, e, f, corr=None):
    """e ln2 + log(1 + f) (+ corr, tiny next to the result) to < 1 ulp with one
    division and no double-double: fdlibm's e_log.c step, log(1 + f) =
    f - (f**2/2 - s (f**2/2 + R(s**2))), s = f / (2 + f)."""
    s = fp.div(f, fp.add(fp.c(2.0), f))
    z = fp.mul(s, s)
    r = fp.mul(z, fp.horner(z, LOG_LG))
    hfsq = fp.mul(fp.mul(f, f), fp.c(0.5))
    small = fp.mul(e, fp.c(LN2_LO))
    if corr is not None:
        small = fp.add(small, corr)
    inner = fp.fma(s, fp.add(hfsq, r), small)
    return fp.sub(fp.mul(e, fp.c(LN2_HI)), fp.sub(fp.sub(hfsq, inner), f))


def build_log(fp, x):
    _, e, f = log_reduce(fp, x)
    return log_specials(fp, x, log_fast(fp, e, f))


def build_log2(fp, x):
    e, l_hi, l_lo = log_parts(fp, x)
    p_hi, p_lo = _times(fp, l_hi, l_lo, INV_LN2)
    hi, err = fp.fast_two_sum(e, p_hi)                         # |e| >= 1 > |p| or e = 0
    return log_specials(fp, x, fp.add(hi, fp.add(err, p_lo)))


def build_log10(fp, x):
    e, l_hi, l_lo = log_parts(fp, x)
    a_hi, a_err = fp.two_prod(e, fp.c(LOG10_2[0]))
    a_lo = fp.fma(e, fp.c(LOG10_2[1]), a_err)
    p_hi, p_lo = _times(fp, l_hi, l_lo, INV_LN10)
    hi, err = fp.fast_two_sum(a_hi, p_hi)                      # |a| >= 0.30 > 0.16 >= |p|
    return log_specials(fp, x, fp.add(hi, fp.add(err, fp.add(a_lo, p_lo))))


def log1p_parts(fp, x, x_lo=None):
    """(e, f, corr) with log1p(x + x_lo) = e ln2 + log(1 + f) + corr, for
    `log_fast`; x > -1 (other inputs give garbage), x_lo an optional tail below
    ulp(1 + x) (its size next to x does not matter).

    u = fl(1 + x) = 2**e (1 + f) and its rounding error c: log1p(x) =
    log(u) + c'/(1 + f), c' = c 2**-e, the quotient taken as c' (1 - f + f**2)
    (relative error f**3 on a term below 2**-53 of the result): no second division."""
    u, c = fp.two_sum(fp.c(1.0), x)
    if x_lo is not None:
        c = fp.add(c, x_lo)
    k, e, f = log_reduce(fp, u, subnormals=False)        # u >= 2**-53 for x > -1
    k = fp.sel(fp.b.icmp_signed(">", k, fp.i(1022)), fp.i(1022), k)
    c = fp.mul(c, fp.pow2(fp.isub(fp.i(0), k)))
    return e, f, fp.mul(c, fp.fma(f, fp.sub(f, fp.c(1.0)), fp.c(1.0)))


def build_log1p(fp, x, x_lo=None):
    """log1p(x + x_lo) (x_lo: an optional tail, tiny next to x)."""
    return log1p_specials(fp, x, log_fast(fp, *log1p_parts(fp, x, x_lo)), tiny=2.0 ** -54)


# ---- hyperbolic, sigmoid, softplus -------------------------------------------------
def build_tanh(fp, x):
    # |x| < 1/4: odd polynomial. Above: 1 - q, q = 2/(1 + E), E = exp(2|x|) as an
    # exact pair (exp's unrounded parts scaled by 2**k, k >= 0), 1 + E split exactly,
    # q corrected once from its exact remainder and 1 - q summed by two_sum: the
    # pair's ~2**-56 error is all that remains next to the final rounding.
    a = fp.abs(x)
    z = fp.mul(a, a)
    small = fp.fma(fp.mul(a, z), fp.horner(z, TANH_T), a)
    k, r_hi, r_lo = exp_reduce(fp, fp.clamp(fp.add(a, a), 0.0, 44.0))
    u_a, u_b = fp.fast_two_sum(*exp_reduced(fp, r_hi, r_lo))  # normalized: |u_b| <= ulp
    two_k = fp.pow2(k)
    e_hi, e_lo = fp.mul(u_a, two_k), fp.mul(u_b, two_k)
    d_hi, d_err = fp.fast_two_sum(e_hi, fp.c(1.0))
    d_lo = fp.add(d_err, e_lo)
    inverse = fp.div(fp.c(1.0), d_hi)
    q = fp.add(inverse, inverse)                               # 2/d_hi, within an ulp
    rem = fp.fma(fp.neg(q), d_lo, fp.fma(fp.neg(q), d_hi, fp.c(2.0)))
    q_lo = fp.mul(rem, inverse)
    t, t_err = fp.two_sum(fp.c(1.0), fp.neg(q))
    large = fp.add(t, fp.sub(t_err, q_lo))
    return fp.copysign(fp.sel(fp.lt(a, fp.c(TANH_SMALL)), small, large), x)


def _exp_plus_minus(fp, a, sign):
    """exp(a)/2 + sign * exp(-a)/2 for a >= 0, overflowing only when the true
    value does: t = exp(a)/2 as a pair (scaled by 2**(k-1), exact here as t >= 1/2),
    v = 1/(4t) with its division remainder, summed with one final rounding."""
    k, r_hi, r_lo = exp_reduce(fp, fp.clamp(a, -EXP_CLAMP, EXP_CLAMP))
    u_a, u_b = exp_reduced(fp, r_hi, r_lo)
    u_a, u_b = fp.fast_two_sum(u_a, u_b)
    k = fp.isub(k, fp.i(1))
    t_hi, t_lo = fp.scale(u_a, k), fp.scale(u_b, k)
    v = fp.div(fp.c(0.25), t_hi)
    v_lo = fp.mul(fp.fma(fp.neg(v), t_hi, fp.c(0.25)), fp.mul(v, fp.c(4.0)))
    if sign < 0:
        v, v_lo = fp.neg(v), fp.neg(v_lo)
    s, err = fp.two_sum(t_hi, v)
    result = fp.add(s, fp.add(err, fp.add(t_lo, v_lo)))
    return fp.sel(fp.eq(t_hi, fp.c(INF)), t_hi, result)       # two_sum(inf, .) is NaN


def build_sinh(fp, x):
    a = fp.abs(x)
    u = fp.mul(a, a)
    small = fp.fma(fp.mul(a, u), fp.horner(u, SINH_S), a)
    large = _exp_plus_minus(fp, a, -1)
    return fp.copysign(fp.sel(fp.lt(a, fp.c(1.0)), small, large), x)


def build_cosh(fp, x):
    return _exp_plus_minus(fp, fp.abs(x), +1)


def _exp_negative(fp, a):
    """For a <= 0: (e_hi, e_lo, e) with e_hi + e_lo ~ exp(a) to ~2**-60 (while
    normal) and e = exp(a) rounded once (subnormals included)."""
    k, r_hi, r_lo = exp_reduce(fp, fp.clamp(a, -EXP_CLAMP, EXP_CLAMP))
    u_a, u_b = exp_reduced(fp, r_hi, r_lo)
    u_a, u_b = fp.fast_two_sum(u_a, u_b)
    return fp.scale(u_a, k), fp.scale(u_b, k), fp.scale(fp.add(u_a, u_b), k)


def build_sigmoid(fp, x):
    # 1 / (1 + exp(-x)), as e / (1 + e) with e = exp(-|x|) for x < 0 so that the
    # tail is exp(x) (subnormal below -708), not 1/inf = 0. Exactly 0 at -inf, 1 at
    # +inf, NaN only for NaN. The quotient of pairs is corrected by its remainder.
    e_hi, e_lo, e = _exp_negative(fp, fp.neg(fp.abs(x)))
    negative = fp.lt(x, fp.c(0.0))
    n_hi = fp.sel(negative, e_hi, fp.c(1.0))
    n_lo = fp.sel(negative, e_lo, fp.c(0.0))
    d_hi, d_err = fp.fast_two_sum(fp.c(1.0), e_hi)
    d_lo = fp.add(d_err, e_lo)
    inverse = fp.div(fp.c(1.0), d_hi)
    q = fp.mul(n_hi, inverse)                                  # within an ulp: exact remainder
    rem = fp.sub(fp.add(fp.fma(fp.neg(q), d_hi, n_hi), n_lo), fp.mul(q, d_lo))
    result = fp.fma(rem, inverse, q)
    return fp.sel(fp.lt(x, fp.c(-40.0)), e, result)            # e/(1+e) = e there


def build_softplus(fp, x):
    # max(x, 0) + log1p(exp(-|x|)): never overflows, exact 0 at -inf, NaN stays NaN.
    # Below -40, log1p(e) = e - e**2/2 rounds to e = exp(x) (rounded once, which
    # matters in the subnormal range).
    e_hi, e_lo, e = _exp_negative(fp, fp.neg(fp.abs(x)))
    tail = build_log1p(fp, e_hi, e_lo)
    result = fp.add(fp.em.intrinsic("maximum", x, fp.c(0.0)), tail)
    return fp.sel(fp.lt(x, fp.c(-40.0)), e, result)


RULES = {name: float_rule(build, name, F32_BUILDERS.get(name)) for name, build in [
    ("exp", build_exp), ("exp2", build_exp2), ("expm1", build_expm1), ("log", build_log),
    ("log2", build_log2), ("log10", build_log10), ("log1p", build_log1p),
    ("tanh", build_tanh), ("sinh", build_sinh), ("cosh", build_cosh),
    ("sigmoid", build_sigmoid), ("softplus", build_softplus)]}

from .pow import RULES as _POW_RULES  # noqa: E402
from .erf import RULES as _ERF_RULES  # noqa: E402

RULES.update(_POW_RULES)
RULES.update(_ERF_RULES)
