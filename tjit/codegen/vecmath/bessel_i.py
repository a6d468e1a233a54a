"""The modified Bessel functions I0 and I1, branch-free, in float64 and natively
in float32 (the same formulas, each precision with its own fits).

With a = |x| and S the switch point (12 in float64, 8 in float32):
- a <= S: I0 = P0(q), I1 = x P1(q), q = a**2/4: near-minimax polynomials close
  to the power series (positive coefficients, so Horner's condition is 1). The
  last Horner steps run in double-double with q's rounding error (an fma) fed
  in: in plain Horner the roundings of the dominant middle terms and of q (I0's
  sensitivity to q is q I0'/I0 ~ a/2) cost up to ~2 ulp near S.
- a > S: I = exp(a) sqrt(t) Q(t), t = S/a, Q a fit on [S/A_MAX, 1] (A_MAX past
  the overflow). t, sqrt(t), Q(t) and exp(a) are pairs, multiplied out and
  rounded once, then scaled by 2**k: the result overflows only where I does
  (a ~ 713.99 in float64, ~91.9 in float32) and a = inf (clamped to A_MAX) gives inf.
Both are computed and one is selected; I1 takes x's sign (odd: I1(-0) = -0),
I0 is even; NaN gives x (the same NaN). Coefficients: tools/fit_bessel_i.py
(relative least squares in mpmath, rounded one at a time; fit errors < 0.04
units of 2**-53 resp. 2**-24). Errors: docs/accuracy.md (< 0.61 ulp).
"""
from __future__ import annotations

from . import explog, explog32
from .common import F64, float_rule

# float64: S = 12, A_MAX = 714.5
P0_64 = [1.0, 1.0, 0.25000000000000006, 0.02777777777777755, 0.0017361111111114517,
         6.94444444441811e-05, 1.9290123458010355e-06, 3.936759885449334e-08,
         6.151187403778351e-10, 7.594057279952461e-12, 7.594070969855685e-14,
         6.275979456135763e-16, 4.359010166825129e-18, 2.576097590605111e-20,
         1.3253900949845174e-22, 5.609863495323735e-25, 2.6995216688130715e-27,
         3.141243234050478e-30, 5.536215256006732e-32]
P1_64 = [0.5, 0.25, 0.04166666666666667, 0.003472222222222207, 0.00017361111111113074,
         5.7870370370237045e-06, 1.3778659612547764e-07, 2.4604749291802873e-09,
         3.4173263222312577e-11, 3.7970288018515777e-13, 3.4518489840858933e-15,
         2.6150011698642337e-17, 1.676493978672024e-19, 9.202132174247197e-22,
         4.4131678690343205e-24, 1.7622335890690506e-26, 7.822709592039155e-29,
         9.626026700997599e-32, 1.4254419350128525e-33]
Q0_64 = [0.11516471649044516, 0.0011996324634426698, 5.623277168626688e-05,
         4.881318305116131e-06, 6.228497563698186e-07, 1.0545326646094175e-07,
         1.9093359350794678e-08, 2.3917880035274092e-08, -8.034366232640573e-08,
         2.710231723929323e-07, -6.660312656719749e-07, 1.2273794999364874e-06,
         -1.6798022766630858e-06, 1.6797930706492832e-06, -1.1885507721480407e-06,
         5.616755901942502e-07, -1.5833022689754937e-07, 2.004216955058183e-08]
Q1_64 = [0.11516471649044517, -0.0035988973903279676, -9.372128612084987e-05,
         -6.833846287108773e-06, -8.007966130890329e-07, -1.2898815961545839e-07,
         -2.1882161205844695e-08, -3.09074720257788e-08, 1.0286224345484619e-07,
         -3.3441257379586666e-07, 7.995780816726961e-07, -1.440786268400322e-06,
         1.936078318501914e-06, -1.9070874149342481e-06, 1.3326662628241558e-06,
         -6.233202499817165e-07, 1.7421820746454142e-07, -2.1899729138305942e-08]
# float32: S = 8, A_MAX = 92
P0_32 = [1.0, 1.0, 0.25, 0.027777770534157753, 0.0017361222999170423,
         6.943784683244303e-05, 1.9310027710162103e-06, 3.902556855450712e-08,
         6.49776787930989e-10, 5.566924525524097e-12, 1.3730969215374617e-13]
P1_32 = [0.5, 0.25, 0.0416666679084301, 0.0034722196869552135, 0.0001736130507197231,
         5.786276688013459e-06, 1.3795926179227536e-07, 2.436524093596404e-09,
         3.6222667226804006e-11, 2.7525185364481175e-13, 6.27132225070417e-15]
Q0_32 = [0.1410473883152008, 0.002204036107286811, 0.00015353479830082506,
         2.6076857466250658e-05, -9.610691449779551e-06, 1.8399916370981373e-05,
         -1.184185384772718e-05, 3.798519628617214e-06]
Q1_32 = [0.141047403216362, -0.006611762102693319, -0.00025687977904453874,
         -3.401210415177047e-05, 8.281571354018524e-06, -1.8478778656572104e-05,
         1.1837654710689094e-05, -3.896489488397492e-06]

# exp(r) = 1 + r + r**2/2 + r**3 EXP_P(r), |r| <= ln2/2: Taylor to r**8 (truncation
# 2**-32; explog32's shorter fit, 2**-26.9, would cost ~0.1 ulp here)
EXP_P32 = [1 / 6, 1 / 24, 1 / 120, 1 / 720, 1 / 5040, 1 / 40320]

# (S, A_MAX, double-double steps of P, (P, Q) of I0, (P, Q) of I1)
FITS = {"float64": (12.0, 714.5, 8, (P0_64, Q0_64), (P1_64, Q1_64)),
        "float32": (8.0, 92.0, 6, (P0_32, Q0_32), (P1_32, Q1_32))}


def _series(fp, a, p, steps):
    """P(a**2/4) as a pair (hi, lo), the last `steps` Horner steps in double-double
    with q's rounding error q_lo entering them (a <= S)."""
    square = fp.mul(a, a)
    q = fp.mul(square, fp.c(0.25))
    q_lo = fp.mul(fp.fma(a, a, fp.neg(square)), fp.c(0.25))
    return fp.horner_dd(q, p, steps, q_lo)


def _exp_pair(fp, a):
    """(k, hi, lo): exp(a) = (hi + lo) 2**k to ~2**-60 (float32: ~2**-30), hi
    near 1, for 0 <= a <= A_MAX."""
    if fp.ty == F64:
        k, r_hi, r_lo = explog.exp_reduce(fp, a)
        hi, lo = explog.exp_reduced(fp, r_hi, r_lo)
        return k, hi, lo
    # explog32.exp_parts' reduction; exp(r1 + r_lo) = 1 + r1 + r1**2/2 + r1**3 P(r1)
    # + r_lo (1 + r1 + r1**2/2), the first three terms exact (two_prod, fast_two_sum): in
    # float32 one rounding of the r**2 terms (~0.06) would cost ~0.1 ulp of the result
    shifted = fp.muladd(a, fp.c(explog32.INV_LN2), fp.c(explog32.SHIFT))
    k = fp.isub(fp.bits(shifted), fp.bits(fp.c(explog32.SHIFT)))
    kd = fp.neg(fp.sub(shifted, fp.c(explog32.SHIFT)))
    r1 = fp.fma(kd, fp.c(explog32.LN2_HI), a)                  # exact
    r_lo = fp.mul(kd, fp.c(explog32.LN2_LO))
    square, square_err = fp.two_prod(r1, r1)
    half = fp.mul(square, fp.c(0.5))
    hi, err = fp.fast_two_sum(fp.c(1.0), r1)
    hi, err2 = fp.fast_two_sum(hi, half)
    cubic = fp.mul(fp.mul(square, r1), fp.horner(r1, EXP_P32))
    # r_lo (up to ~2.5e-7 at a = 92) times exp(r1) to second order
    small = fp.muladd(fp.add(r1, half), r_lo, fp.muladd(square_err, fp.c(0.5), r_lo))
    return k, hi, fp.add(fp.add(err, err2), fp.add(small, cubic))


def _asymptotic(fp, a, s, q):
    """exp(a) sqrt(t) Q(t), t = S/a (S <= a <= A_MAX), rounded once: t, sqrt(t),
    Q(t) and the products are carried as pairs (each would cost up to an ulp)."""
    t = fp.div(fp.c(s), a)
    # the tails' divisions (by a, by 2 sqrt(t)) as multiplications by a/S ~ 1/t:
    # a relative error of ~2**-52 in a tail is harmless
    inverse = fp.mul(a, fp.c(1.0 / s))
    t_lo = fp.mul(fp.fma(fp.neg(t), a, fp.c(s)), fp.mul(t, fp.c(1.0 / s)))
    root = fp.sqrt(t)
    root_lo = fp.add(fp.fma(fp.neg(root), root, t), t_lo)
    root_lo = fp.mul(fp.mul(root_lo, fp.mul(root, fp.c(0.5))), inverse)
    q_hi, q_lo = fp.horner_dd(t, q, 2, t_lo)
    g, g_err = fp.two_prod(root, q_hi)
    g_lo = fp.add(g_err, fp.muladd(root, q_lo, fp.mul(root_lo, q_hi)))
    k, e_hi, e_lo = _exp_pair(fp, a)
    tail = fp.muladd(e_hi, g_lo, fp.mul(e_lo, g))
    return fp.scale(fp.fma(e_hi, g, tail), k)


def bessel_i(fp, x, order):
    s, a_max, steps, *pieces = FITS["float64" if fp.ty == F64 else "float32"]
    p, q = pieces[order]
    a = fp.abs(x)
    near_a = fp.clamp(a, 0.0, s)                               # clamp keeps NaN
    hi, lo = _series(fp, near_a, p, steps)
    if order == 1:
        near = fp.fma(near_a, hi, fp.mul(near_a, lo))
    else:
        near = fp.add(hi, lo)
    far = _asymptotic(fp, fp.clamp(a, s, a_max), s, q)
    result = fp.sel(fp.le(a, fp.c(s)), near, far)
    if order == 1:
        result = fp.copysign(result, x)
    # x itself at NaN: the NaN the arithmetic gives depends on its operand order,
    # which O3 may change (level-0 and O3 code must give the same bits)
    return fp.sel(fp.isnan(x), x, result)


def build_i0(fp, x):
    return bessel_i(fp, x, 0)


def build_i1(fp, x):
    return bessel_i(fp, x, 1)


RULES = {"i0": float_rule(build_i0, "i0", build_i0),
         "i1": float_rule(build_i1, "i1", build_i1)}
