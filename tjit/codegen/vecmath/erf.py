"""erf and erfc as branch-free float64 IR (float32: natively, erf32.py).

|x| < 1 (erf) or < 1/4 (erfc): erf(x) = x E(x**2), E a degree-13 fit whose
constant term 2/sqrt(pi) is a double-double, so x * E is rounded once.

Otherwise erfc(a), a = |x|, = exp(-a**2) G(a) with G(a) = erfc(a) exp(a**2) in
(0.02, 0.8]. G is fitted once over the whole range [1/4, 27.3] (erfc underflows
at 27.23) by mapping a to w = 1/(a + 2): G = w H(s), s = alpha w + beta in
[-1, 1], H a degree-29 polynomial (a Chebyshev interpolant, converted to
monomials, which stay below 1 here). The rounding of w and s would cost ~2 ulp,
so both are kept as double-doubles and the last Horner steps of H are done in
double-double (the tail of s entering them to first order). exp(-a**2) gets a**2 as
an exact pair, and exp's unrounded pair times G's pair is rounded once, then
scaled by 2**k (so subnormal results keep their relative accuracy until they
are rounded to the subnormal grid). That leaves ~1 ulp.

erf(x) = sign(x) (1 - erfc|x|) for |x| >= 1; erfc(x) = 2 - erfc|x| for
x <= -1/4 (both without harmful cancellation: erfc(1) < 0.16, erfc(1/4) < 0.73).
"""
from __future__ import annotations

from .common import float_rule
from .erf32 import build_erf32, build_erfc32
from .explog import EXP_CLAMP, exp_reduce, exp_reduced

TWO_OVER_SQRTPI = (1.1283791670955126, 1.533545961316588e-17)
# erf(x)/x = 2/sqrt(pi) + u E1(u), u = x**2 in [0, 1]
ERF_E1 = [-0.37612638903183754, 0.1128379167095512, -0.02686617064512984,
          0.0052239776254232985, -0.000854832702193483, 0.00012055332902888736,
          -1.4925647567519332e-05, 1.6462045441468418e-06, -1.6364642158167616e-07,
          1.4792401209404813e-08, -1.216456005728345e-09, 8.709045129053106e-11,
          -4.230945824295338e-12]
# erfc(a) exp(a**2) = w H(alpha w + beta), w = 1 / (a + ERFC_K), a in [1/4, 27.3]
ERFC_K = 2.0
ERFC_LO, ERFC_HI = 0.25, 27.3
ALPHA, BETA = 4.8743068391866915, -1.166358595194085
ERFC_H = [0.9926469314611135, 0.5444190491101447, 0.18489468124587152, 0.022108631870828652,
          -0.009088272314953325, -0.0026939631591909228, 0.0008568861304163577,
          0.0002659002398476192, -0.00013111143006749895, -1.6762318241931505e-05,
          2.1824974829516737e-05, -2.349280086471848e-06, -2.865694393317963e-06,
          1.2251248392192006e-06, 1.0397731903061187e-07, -2.564477636560358e-07,
          7.645717416578446e-08, 1.872580754762348e-08, -2.286288133252653e-08,
          6.317350198631414e-09, 1.7389404887860896e-09, -2.2130494884427406e-09,
          8.153952026019364e-10, 1.1818927388362152e-10, -3.151053959113751e-10,
          1.0564731382442355e-10, 4.889377271139819e-11, -3.266076320610172e-11,
          -2.9146432019448014e-12, 3.4433719411082895e-12]

# The leading coefficients' rounding errors (they would cost ~0.5 ulp).
ERFC_H_TAILS = [1.5620663603116285e-18, -5.077871930996179e-17, 1.0868390955706048e-17]


def erf_small(fp, x):
    """erf(x) for |x| <= 1, rounded once (sign of zero kept)."""
    u, u_lo = fp.two_prod(x, x)
    e_hi, e_lo = fp.horner_dd(u, [TWO_OVER_SQRTPI[0]] + ERF_E1, 3, u_lo)
    e_lo = fp.add(e_lo, fp.c(TWO_OVER_SQRTPI[1]))
    return fp.fma(x, e_hi, fp.mul(x, e_lo))


def erfc_positive(fp, a):
    """erfc(a) for a >= 1/4 (and +inf, NaN); garbage below 1/4."""
    m, k, _ = erfc_positive_parts(fp, a)
    return fp.scale(m, k)


def erfc_positive_parts(fp, a):
    """(m, k, g): erfc(a) = m 2**k before its last rounding (m in ~[0.01, 1.2], k
    an i64) and g ~ erfc(a) exp(a**2) (erfinv64's step); a >= 1/4 as above."""
    x = fp.clamp(a, ERFC_LO, ERFC_HI)       # past 27.3 exp(-a**2) G is 0 anyway
    d_hi, d_lo = fp.two_sum(x, fp.c(ERFC_K))
    w = fp.div(fp.c(1.0), d_hi)
    w_lo = fp.mul(fp.sub(fp.fma(fp.neg(w), d_hi, fp.c(1.0)), fp.mul(w, d_lo)), w)
    p_hi, p_err = fp.two_prod(w, fp.c(ALPHA))
    s, s_err = fp.two_sum(p_hi, fp.c(BETA))
    s_lo = fp.add(fp.add(s_err, p_err), fp.mul(w_lo, fp.c(ALPHA)))
    leading = [(c, lo) for c, lo in zip(ERFC_H, ERFC_H_TAILS)]
    h_hi, h_lo = fp.horner_dd(s, leading + ERFC_H[3:], 3, s_lo)
    g_hi, g_err = fp.two_prod(w, h_hi)
    g_lo = fp.add(g_err, fp.muladd(w, h_lo, fp.mul(w_lo, h_hi)))
    # exp(-a**2) with a**2 = sq_hi + sq_lo exactly.
    sq_hi, sq_lo = fp.two_prod(a, a)
    sq_lo = fp.sel(fp.lt(sq_hi, fp.c(EXP_CLAMP)), sq_lo, fp.c(0.0))
    k, r_hi, r_lo = exp_reduce(fp, fp.clamp(fp.neg(sq_hi), -EXP_CLAMP, EXP_CLAMP),
                               fp.neg(sq_lo))
    u_a, u_b = exp_reduced(fp, r_hi, r_lo)
    m = fp.fma(u_a, g_hi, fp.muladd(u_a, g_lo, fp.mul(u_b, g_hi)))
    return m, k, g_hi


def build_erf(fp, x):
    a = fp.abs(x)
    large = fp.sub(fp.c(1.0), erfc_positive(fp, fp.clamp(a, 1.0, 6.0)))   # erf(6) = 1
    large = fp.sel(fp.isnan(x), x, large)
    return fp.sel(fp.lt(a, fp.c(1.0)), erf_small(fp, x), fp.copysign(large, x))


def build_erfc(fp, x):
    a = fp.abs(x)
    tail = erfc_positive(fp, a)
    result = fp.sel(fp.lt(x, fp.c(0.0)), fp.sub(fp.c(2.0), tail), tail)
    return fp.sel(fp.lt(a, fp.c(ERFC_LO)), fp.sub(fp.c(1.0), erf_small(fp, x)), result)


RULES = {"erf": float_rule(build_erf, "erf", build_erf32),
         "erfc": float_rule(build_erfc, "erfc", build_erfc32)}
