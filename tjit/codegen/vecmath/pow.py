"""Float pow(x, y) as branch-free IR, float64 and natively float32.

pow(x, y) = exp(y log|x|) with log|x| as a pair (float64: a double-double from
`log_parts`, ~2**-65 relative; float32: a float32 pair from explog32.log_pair,
~2**-36), y log|x| as a pair, and exp of that pair (the low part joins the
reduced argument), so the error of the product's rounding never reaches the
result: within ~1 ulp for every finite result, subnormals included. The sign
and the C99 special cases (Annex F.9.4.4, as NumPy's np.power) are then
patched with selects:

  pow(x, +-0) = 1 and pow(1, y) = 1, even for NaN; pow(-1, +-inf) = 1;
  x < 0 finite and y finite non-integer -> NaN; x < 0 (or -0, -inf) and y an
  odd integer -> the sign of x; 0 ** negative -> inf; +-inf and y = +-inf
  cases follow from exp of +-inf, given log|0| = -inf and log|inf| = inf.

float32 needs log|x| to ~2**-32 relative (y log|x| reaches ~100 before the
result leaves float32's range), so it is a pair there too; everything else is
one float32 exp (explog32.exp_parts with the tail): 8 lanes per ymm.

Integer arguments keep scalar_ops' exact integer pow.
"""
from __future__ import annotations

import math

from .common import F32, Fp
from . import explog32
from .explog import EXP_CLAMP, exp_reduce, exp_reduced, log_pair, log_parts

INF, NAN = math.inf, math.nan
# float32: exp(z) is inf above 88.73 and 0 below -103.98
EXP32_LOW, EXP32_HIGH = -110.0, 90.0


def _log_specials(fp, a, l_hi):
    l_hi = fp.sel(fp.eq(a, fp.c(INF)), fp.c(INF), l_hi)
    l_hi = fp.sel(fp.eq(a, fp.c(0.0)), fp.c(-INF), l_hi)
    return fp.sel(fp.isnan(a), a, l_hi)


def build_pow(fp, x, y):
    a = fp.abs(x)
    l_hi, l_lo = log_pair(fp, *log_parts(fp, a))
    l_hi = _log_specials(fp, a, l_hi)
    z_hi, z_err = fp.two_prod(y, l_hi)
    z_lo = fp.muladd(y, l_lo, z_err)
    # Out of range (or infinite) products saturate; their low part is then
    # meaningless (often NaN) and dropped. A NaN z_hi stays NaN.
    finite = fp.lt(fp.abs(z_hi), fp.c(EXP_CLAMP))
    z_lo = fp.sel(finite, z_lo, fp.c(0.0))
    k, r_hi, r_lo = exp_reduce(fp, fp.clamp(z_hi, -EXP_CLAMP, EXP_CLAMP), z_lo)
    u_a, u_b = exp_reduced(fp, r_hi, r_lo)
    return pow_specials(fp, x, y, a, fp.scale(fp.add(u_a, u_b), k))


def build_pow32(fp, x, y):
    a = fp.abs(x)
    l_hi, l_lo = explog32.log_pair(fp, a)
    l_hi = _log_specials(fp, a, l_hi)
    z_hi, z_err = fp.two_prod(y, l_hi)
    z_lo = fp.muladd(y, l_lo, z_err)
    inside = fp.and_(fp.gt(z_hi, fp.c(EXP32_LOW)), fp.lt(z_hi, fp.c(EXP32_HIGH)))
    z_lo = fp.sel(inside, z_lo, fp.c(0.0))
    k, e = explog32.exp_parts(fp, fp.clamp(z_hi, EXP32_LOW, EXP32_HIGH), x_lo=z_lo)
    return pow_specials(fp, x, y, a, fp.scale(e, k))


def pow_specials(fp, x, y, a, result):
    """`result` = |x| ** y (exp(y log|x|)) with the sign and C99's cases patched in."""
    y_int = fp.eq(fp.trunc(y), y)                       # true for +-inf too
    half = fp.mul(y, fp.c(0.5))
    y_odd = fp.and_(y_int, fp.ne(fp.trunc(half), half))  # |y| >= 2**53 (2**24) is even
    result = fp.sel(fp.and_(y_odd, fp.signbit(x)), fp.neg(result), result)
    negative_finite = fp.and_(fp.lt(x, fp.c(0.0)), fp.gt(x, fp.c(-INF)))
    y_fraction = fp.and_(fp.not_(y_int), fp.lt(fp.abs(y), fp.c(INF)))
    result = fp.sel(fp.and_(negative_finite, y_fraction), fp.c(NAN), result)
    one = fp.or_(fp.eq(y, fp.c(0.0)), fp.eq(x, fp.c(1.0)))
    one = fp.or_(one, fp.and_(fp.eq(a, fp.c(1.0)), fp.eq(fp.abs(y), fp.c(INF))))
    return fp.sel(one, fp.c(1.0), result)


def _emit_pow(em, k, dtype, x, y):
    if k != "f":      # integer and bool pow stay exact, in scalar_ops
        raise TypeError("the math library's pow is for floats, got dtype kind %r" % k)
    if x.type == F32:
        return build_pow32(Fp(em, F32), x, y)
    return build_pow(Fp(em), x, y)


RULES = {"pow": _emit_pow}
