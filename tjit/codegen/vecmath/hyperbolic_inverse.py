"""arcsinh, arccosh, arctanh as branch-free IR (float64, and natively float32).

Each is one log1p of an argument computed as an unevaluated pair X + X_lo, so
only log1p's own error (< 0.9 ulp) and its one final rounding remain. fdlibm's
case splits exist because its arguments are rounded (e.g. 2x/(1 - x) loses
1 - x's rounding for small x); here every step before the log is exact or
carries its error in X_lo, so one formula covers each range:

  arctanh(x) = sign(x) log1p(q)/2,  q = 2a/(1 - a), a = |x|: 1 - a as an exact
      pair, q by one division and its exact remainder (fma);
  arcsinh(x) = sign(x) log1p(a - 1 + s),  s = sqrt(1 + a**2);
  arccosh(x) = log1p(x - 1 + s),          s = sqrt(x**2 - 1) = sqrt((x - 1)(x + 1));
with a**2 as an exact product, 1 +- a**2 and a - 1 as exact two-sums, s as
sqrt(hi) plus the correction (v - s**2)/(2s) from its exact residual. The
cancellation in a - 1 + s for small a is exact (two-sum); log1p takes the
tail (`log1p_parts`: the tail joins the rounding error of 1 + X, which is all
it needs to be small next to).

Past HUGE (2**28, float32 2**13), where a**2 would lose 1 (and overflow
further up), arcsinh(a) = arccosh(a) = log(2a) to within 1/(4a**2) relative:
log1p's input is a - 1 (an exact pair) with 1 added to its exponent, so 2a is
never formed and the largest finite input gives a finite result. Below TINY
(2**-28, float32 2**-12) arcsinh(x) = arctanh(x) = x to within x**2/3 relative,
less than half an ulp: x is returned (signed zeros, subnormals kept).

float32 runs the same code on float32 values (8 lanes per ymm) with float32's
log1p (`explog32.log1p_parts`); nothing is widened to float64.
"""
from __future__ import annotations

import math

from . import explog, explog32
from .common import F32, float_rule

# (TINY, HUGE) per float type; see the module docstring
_LIMITS = {"double": (2.0 ** -28, 2.0 ** 28), "float": (2.0 ** -12, 2.0 ** 13)}


def _log1p_pair(fp, x, x_lo, extra):
    """log1p(x + x_lo) + extra ln2 (extra: 0.0 or 1.0, a float per lane), for
    x >= 0, with the native log1p of fp's type; garbage for inf and NaN."""
    if fp.ty == F32:
        e, f, corr = explog32.log1p_parts(fp, x, x_lo)
        return explog32.log_finish(fp, fp.add(e, extra), f, corr)
    e, f, corr = explog.log1p_parts(fp, x, x_lo)
    return explog.log_fast(fp, fp.add(e, extra), f, corr)


def _sqrt_pair(fp, hi, lo):
    """sqrt(hi + lo) as (s, ds), hi >= 0 and lo below ulp(hi): s rounded, ds
    from the residual hi + lo - s**2 (exact by fma); 0 for hi = 0."""
    s = fp.sqrt(hi)
    twice = fp.add(s, s)
    twice = fp.sel(fp.eq(twice, fp.c(0.0)), fp.c(1.0), twice)
    return s, fp.div(fp.add(fp.fma(fp.neg(s), s, hi), lo), twice)


def _log_of_sum(fp, a, s_hi, s_lo, huge):
    """log(a + s) (s = s_hi + s_lo >= 0) as log1p((a - 1) + s); where `huge`,
    log(2a) instead (s ~ a is not used: it may be garbage)."""
    m, m_lo = fp.two_sum(a, fp.c(-1.0))                    # a - 1 exactly
    h, h_lo = fp.two_sum(m, s_hi)
    x = fp.sel(huge, m, h)
    x_lo = fp.sel(huge, m_lo, fp.add(fp.add(h_lo, m_lo), s_lo))
    return _log1p_pair(fp, x, x_lo, fp.sel(huge, fp.c(1.0), fp.c(0.0)))


def build_arcsinh(fp, x):
    tiny, huge = _LIMITS[str(fp.ty)]
    a = fp.abs(x)
    p, p_lo = fp.two_prod(a, a)
    w, w_lo = fp.two_sum(fp.c(1.0), p)                     # 1 + a**2 = w + w_lo + p_lo
    s, ds = _sqrt_pair(fp, w, fp.add(w_lo, p_lo))
    result = fp.copysign(_log_of_sum(fp, a, s, ds, fp.ge(a, fp.c(huge))), x)
    # x itself below TINY (+-0, subnormals), at +-inf and for NaN
    regular = fp.and_(fp.ge(a, fp.c(tiny)), fp.lt(a, fp.c(math.inf)))
    return fp.sel(regular, result, x)


def build_arccosh(fp, x):
    _, huge = _LIMITS[str(fp.ty)]
    p, p_lo = fp.two_prod(x, x)
    v, v_lo = fp.two_sum(p, fp.c(-1.0))                    # x**2 - 1, exact for x >= 1
    v, v_lo = fp.fast_two_sum(v, fp.add(v_lo, p_lo))      # |v| >= ulp(1) > |tail| or v = 0
    s, ds = _sqrt_pair(fp, v, v_lo)
    result = _log_of_sum(fp, x, s, ds, fp.ge(x, fp.c(huge)))
    regular = fp.and_(fp.ge(x, fp.c(1.0)), fp.lt(x, fp.c(math.inf)))
    # inf -> inf; x < 1 (-inf, -0 included) and NaN -> NaN
    return fp.sel(regular, result, fp.sel(fp.eq(x, fp.c(math.inf)), x, fp.c(math.nan)))


def build_arctanh(fp, x):
    tiny, _ = _LIMITS[str(fp.ty)]
    a = fp.abs(x)
    d, d_lo = fp.two_sum(fp.c(1.0), fp.neg(a))             # 1 - a exactly
    twice = fp.add(a, a)
    inverse = fp.div(fp.c(1.0), d)
    q = fp.mul(twice, inverse)                             # within an ulp: exact remainder
    rem = fp.sub(fp.fma(fp.neg(q), d, twice), fp.mul(q, d_lo))
    q_lo = fp.mul(rem, inverse)
    half = fp.mul(_log1p_pair(fp, q, q_lo, fp.c(0.0)), fp.c(0.5))
    result = fp.pick([(fp.lt(a, fp.c(tiny)), fp.abs(x)),           # sign restored below
                      (fp.lt(a, fp.c(1.0)), half),
                      (fp.eq(a, fp.c(1.0)), fp.c(math.inf))], fp.c(math.nan))
    return fp.copysign(result, x)                          # NaN: any sign, still NaN


RULES = {name: float_rule(build, name, build) for name, build in [
    ("arcsinh", build_arcsinh), ("arccosh", build_arccosh), ("arctanh", build_arctanh)]}
