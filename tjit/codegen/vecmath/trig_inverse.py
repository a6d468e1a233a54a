"""arcsin, arccos, arctan, arctan2 as branch-free inline IR (float64, and natively float32).

arctan/arctan2 (fdlibm's reduction, with selects instead of branches): for
u = |y|/|x| pick c in {0, 1/2, 1, 3/2} by comparing |y| with k*|x| (no division
first), t = (|y| - c|x|) / (|x| + c|y|) so |t| <= 0.44, or t = -|x|/|y| with
c = inf when u > 39/16; then atan(u) = atan(c) + atan(t). For x < 0 the base
constant becomes pi - atan(c) and t changes sign, so each lane adds one
double-double constant K to t + t*z*A(z), z = t*t: K_hi + t is split exactly and
only the final rounding is large. The sign of y is copied last, which gives
atan2's signed zeros; +-0/+-0 and inf/inf are selected explicitly (C99 Annex F).

arcsin/arccos (fdlibm's split at |x| = 1/2): below, asin(x) = x + x*z*R(z) with
z = x*x; above, asin(|x|) = pi/2 - 2*asin(s), s = sqrt((1 - |x|)/2) (exact
argument), with the sqrt's rounding error recovered by an fma. One polynomial
R on z in [0, 1/4] serves both halves (z and the base value are selected).

Coefficients: near-minimax fits (weighted least squares + Lawson, mpmath) of
A(z) = (atan(t)/t - 1)/z on [0, (7/16)**2] and R(z) = (asin(s)/s - 1)/z on
[0, 1/4]; weighted errors 2**-59.7 / 2**-58.6 (float64), 2**-39 (float32).

float32 runs the same code on float32 values (8 lanes per ymm), with the float32
coefficients, the pair constants re-split for float32 (`_pair`) and the scaling
thresholds moved into float32's range (`_SCALES`).
"""
from __future__ import annotations

import math

import struct

from .common import F32, I1, float_rule

ATAN64 = [-0.33333333333333315, 0.19999999999993123, -0.14285714284849133,
          0.11111111056454635, -0.09090907063293742, 0.0769225965469622,
          -0.06665904149359726, 0.058740324564798205, -0.052001801483869174,
          0.04433305367821805, -0.03192280950562711, 0.013698480200881286]
ATAN32 = [-0.33333333259148434, 0.19999989899389045, -0.1428524757022042,
          0.11100818353302652, -0.08967940328302407, 0.0686311046099485,
          -0.035716176818042365]
ASIN64 = [0.16666666666666763, 0.074999999999703, 0.04464285717508938,
          0.030381942684928595, 0.022372215627519492, 0.017351600623903295,
          0.013980955604519823, 0.01139782033960714, 0.01078629652426867,
          0.0036838694549666353, 0.021761591185896028, -0.021074720842029836,
          0.03267535193853292]
ASIN32 = [0.16666666626752497, 0.07500005039637611, 0.044640688456574505,
          0.030426831836413308, 0.021863084731993554, 0.020658723944760975,
          0.0019491203025388025, 0.03294118727792153]

PIO2 = (1.5707963267948966, 6.123233995736766e-17)
PI = (3.141592653589793, 1.2246467991473532e-16)
# (c, upper bound of u = |y|/|x| for this c, atan(c), pi - atan(c)) as hi/lo pairs
_ATAN_STEPS = [
    (0.0, 7 / 16, (0.0, 0.0), PI),
    (0.5, 11 / 16, (0.4636476090008061, 2.2698777452961687e-17),
     (2.677945044588987, 1.5527705369303147e-16)),
    (1.0, 19 / 16, (0.7853981633974483, 3.061616997868383e-17),
     (2.356194490192345, 9.184850993605148e-17)),
    (1.5, 39 / 16, (0.982793723247329, 1.3903311031230998e-17),
     (2.158798930342464, 2.1958367134601997e-16)),
]


# (huge, its scale, tiny, its scale, den_tiny) of _atan_core per float type: den >=
# huge is scaled down; num < tiny is scaled up if den < den_tiny. float32 scales a
# tiny num up below any den that stays finite: else the remainder giving t_lo
# (~ulp(t) den) falls on the subnormal grid, and, without FMA, so do the emulated
# product's pieces.
_SCALES = {"double": (2.0 ** 1019, 1 / 16, 2.0 ** -900, 2.0 ** 200, 2.0 ** -900),
           "float": (2.0 ** 125, 1 / 16, 2.0 ** -100, 2.0 ** 50, 2.0 ** 75)}


def _f32(value):
    return struct.unpack("f", struct.pack("f", value))[0]


def _pair(f, pair):
    """A (hi, lo) constant of f's type: float64 pairs as given, float32 re-split
    (hi the float32 nearest, lo the float32 nearest the rest)."""
    if f.ty != F32:
        return pair
    hi = _f32(pair[0] + pair[1])
    return hi, _f32((pair[0] - hi) + pair[1])


def _atan_core(f, num, den, x_negative, coeffs):
    """atan(num/den) for num, den >= 0, or pi - that where x_negative (an i1).
    Results for num = den = 0 or num = den = inf are garbage (callers select)."""
    # The quotient is scale free: above 2**1019 den + 1.5*num could overflow, and when
    # both are tiny c*den and num - c*den would round on the denormal grid.
    huge, down, small, up, den_small = _SCALES[str(f.ty)]
    tiny = f.and_(f.lt(num, f.c(small)), f.lt(den, f.c(den_small)))
    scale = f.pick([(f.le(f.c(huge), den), f.c(down)), (tiny, f.c(up))], f.c(1.0))
    num, den = f.mul(num, scale), f.mul(den, scale)
    below = [f.lt(num, f.mul(den, f.c(bound))) for _, bound, _, _ in _ATAN_STEPS]
    pick = lambda values, default: f.pick(list(zip(below, values)), default)   # noqa: E731
    c = pick([f.c(step[0]) for step in _ATAN_STEPS], f.c(0.0))
    large = f.not_(below[-1])                      # u > 39/16 (or NaN): t = -1/u
    top = f.sel(large, f.neg(den), f.fma(den, f.neg(c), num))
    bottom = f.sel(large, num, f.fma(num, c, den))
    # t + t_lo = top/bottom to ~2**-105: for c = 0 (top, bottom exact) t's own rounding
    # would otherwise cost a full ulp just below a power of two.
    inv = f.div(f.c(1.0), bottom)
    t = f.mul(top, inv)
    t_lo = f.mul(f.fma(f.neg(t), bottom, top), inv)
    t_lo = f.sel(f.eq(inv, f.c(0.0)), f.c(0.0), t_lo)     # bottom = inf: t = -0 exactly
    t, t_lo = f.sel(x_negative, f.neg(t), t), f.sel(x_negative, f.neg(t_lo), t_lo)
    k_hi, k_lo = [], []
    for _, _, positive, negative in _ATAN_STEPS:
        positive, negative = _pair(f, positive), _pair(f, negative)
        k_hi.append(f.sel(x_negative, f.c(negative[0]), f.c(positive[0])))
        k_lo.append(f.sel(x_negative, f.c(negative[1]), f.c(positive[1])))
    pio2 = _pair(f, PIO2)
    k_hi, k_lo = pick(k_hi, f.c(pio2[0])), pick(k_lo, f.c(pio2[1]))
    z = f.mul(t, t)
    head, err = f.fast_two_sum(k_hi, t, b_minus_delta=True)   # |k_hi| >= |t| or k_hi == 0
    tail = f.muladd(f.mul(t, z), f.horner(z, coeffs), f.add(k_lo, t_lo))
    return f.add(head, f.add(err, tail))


def _atan2(f, y, x, coeffs):
    num, den = f.abs(y), f.abs(x)
    x_negative = f.signbit(x)
    value = _atan_core(f, num, den, x_negative, coeffs)
    inf = f.c(math.inf)
    # |y| = 0 or |x| = inf (where the core computes inf*0): 0 or pi; both infinite: pi/4, 3pi/4
    flat = f.or_(f.eq(num, f.c(0.0)), f.eq(den, inf))
    value = f.sel(flat, f.sel(x_negative, f.c(_pair(f, PI)[0]), f.c(0.0)), value)
    both_inf = f.and_(f.eq(num, inf), f.eq(den, inf))
    value = f.sel(both_inf, f.sel(x_negative, f.c(3 * math.pi / 4), f.c(math.pi / 4)), value)
    value = f.copysign(value, y)
    return f.sel(f.or_(f.isnan(x), f.isnan(y)), f.add(x, y), value)


def _atan(f, x, coeffs):
    value = _atan_core(f, f.abs(x), f.c(1.0), I1(0), coeffs)
    return f.copysign(value, x)      # NaN stays NaN; inf gives pi/2 (t = -0)


def _asin_parts(f, x, coeffs):
    """(ax, small, v, p): asin(v) = v + p, where v = |x| if small (|x| < 1/2) else
    sqrt((1 - |x|)/2) (NaN when |x| > 1)."""
    ax = f.abs(x)
    small = f.lt(ax, f.c(0.5))
    z_big = f.mul(f.sub(f.c(1.0), ax), f.c(0.5))       # exact for |x| >= 1/2
    s = f.sqrt(z_big)
    # sqrt(z) = s + ds to ~2**-106; s = 0 (|x| = 1) gives ds = 0.
    twice = f.add(s, s)
    ds = f.div(f.fma(f.neg(s), s, z_big), f.sel(f.eq(twice, f.c(0.0)), f.c(1.0), twice))
    z = f.sel(small, f.mul(ax, ax), z_big)
    v = f.sel(small, ax, s)
    p = f.muladd(f.mul(v, z), f.horner(z, coeffs), f.sel(small, f.c(0.0), ds))
    return ax, small, v, p


def _asin(f, x, coeffs):
    ax, small, v, p = _asin_parts(f, x, coeffs)
    # |x| >= 1/2: pi/2 - 2*(v + p), with pi/2 - 2v split exactly (2v <= 1 < pi/2).
    pio2 = _pair(f, PIO2)
    head, err = f.fast_two_sum(f.c(pio2[0]), f.mul(v, f.c(-2.0)), b_minus_delta=True)
    big = f.add(head, f.add(err, f.muladd(p, f.c(-2.0), f.c(pio2[1]))))
    return f.copysign(f.sel(small, f.add(v, p), big), x)


def _acos(f, x, coeffs):
    ax, small, v, p = _asin_parts(f, x, coeffs)
    negative = f.signbit(x)
    # acos = A + B*v + L - B*p per case (see module docstring):
    #   |x| < 1/2: pi/2 - asin(x); x >= 1/2: 2*asin(s); x <= -1/2: pi - 2*asin(s)
    minus_sign = f.sel(negative, f.c(1.0), f.c(-1.0))
    pio2, pi = _pair(f, PIO2), _pair(f, PI)
    a = f.pick([(small, f.c(pio2[0])), (negative, f.c(pi[0]))], f.c(0.0))
    lo = f.pick([(small, f.c(pio2[1])), (negative, f.c(pi[1]))], f.c(0.0))
    scale = f.pick([(small, minus_sign), (negative, f.c(-2.0))], f.c(2.0))
    head, err = f.fast_two_sum(a, f.mul(v, scale), b_minus_delta=True)
    return f.add(head, f.add(err, f.muladd(p, scale, lo)))


def _with(name, coeffs64, coeffs32, build):
    """float_rule for `build(fp, *args, coeffs)`; float32 runs it natively with
    the shorter float32 coefficients."""
    return float_rule(lambda f, *args: build(f, *args, coeffs64), name,
                      lambda f, *args: build(f, *args, coeffs32))


RULES = {
    "arcsin": _with("arcsin", ASIN64, ASIN32, _asin),
    "arccos": _with("arccos", ASIN64, ASIN32, _acos),
    "arctan": _with("arctan", ATAN64, ATAN32, _atan),
    "arctan2": _with("arctan2", ATAN64, ATAN32, _atan2),
}
