"""gamma(x) as branch-free IR, float64 and natively float32 (no call, no table).

One scheme for both precisions (constants in `GAMMA64` / `GAMMA32`):

1. Positive z (z = x, or z = 1 - x as an exact pair for x < 0): shift up by a
   FIXED number of steps, gamma(z) = gamma(y) / P with y = z + n >= T and
   P = z (z + 1) ... (z + n - 1); each step is a select, each factor z + k an
   exact pair (two_sum), P a pair (two_prod), so P carries no rounding error
   worth an ulp. float64: T = 8, 8 steps; float32: T = 4, 4 steps.
2. Stirling for y >= T: log gamma(y) = (y - 1/2) log y - y + log(2 pi)/2 + S(y),
   S(y) = sum_k B_2k / (2k (2k - 1) y**(2k-1)) (10 terms resp. 5: truncation
   error below 2**-58 resp. 2**-30 at y = T). The exponent L reaches ~710 (float32:
   ~89), so it is built as a pair: log y from explog's double-double log
   (~2**-65 relative; float32: explog32's float32 pair, ~2**-36), y - 1/2 exact,
   the product by two_prod; then exp of the pair gives u 2**k (u a pair in
   [0.7, 1.42]), so gamma(z) = u 2**k / P, never overflowing before the end.
3. x >= tiny: gamma(x) = (u / P) 2**k (a pair division, then `Fp.scale`:
   inf past 171.62 resp. 35.04).
   x < 0: reflection, gamma(x) = pi P / (sin(pi x) u) 2**-k, sin(pi x) from
   r = x - rint(x) (exact) by a Taylor polynomial in r**2 whose two leading
   steps run in double-double, the sign from rint(x)'s parity. The 2**-k comes
   last, so results down to the subnormals (x ~ -184) are right and below that
   they are zeros of the right sign.
   |x| < tiny (2**-56 resp. 2**-27): 1/x - euler_gamma (rounds as the true value).
Special values as glibc's tgamma (what tjit used before): gamma(+-0) = +-inf,
negative integers and -inf -> NaN, +inf -> inf, NaN -> NaN.
"""
from __future__ import annotations

import dataclasses
import math

from . import explog32
from .common import F32, float_rule
from .explog import exp_reduce, exp_reduced, log_pair, log_parts

INF, NAN = math.inf, math.nan
EULER = 0.5772156649015329
# y S(y) = Q(1/y**2), S(y) = log gamma(y) - ((y - 1/2) log y - y + log(2 pi)/2) on
# y >= T: least-squares fits at Chebyshev nodes (tools/fit_gamma.py; Stirling's
# series, B_2k / (2k (2k - 1)), would need 10 terms resp. 5). |S error| < 2**-57.1
# (float64, y >= 8) and 2**-30 (float32, y >= 4).
STIRLING64 = [0.0833333333333333, -0.0027777777776081224, 0.0007936506659056198,
              -0.0005952027660288355, 0.0008372959144132968, -0.0016529188473810017]
STIRLING32 = [0.08333332938964787, -0.0027766243565328064, 0.0007428720864478503]
# sin(pi r) / r = sum_j (-1)**j pi**(2j+1) r**(2j) / (2j+1)!, |r| <= 1/2
SINPI = [3.141592653589793, -5.16771278004997, 2.5501640398773455, -0.5992645293207921,
         0.08214588661112823, -0.0073704309457143504, 0.00046630280576761255,
         -2.1915353447830217e-05, 7.952054001475513e-07, -2.2948428997269873e-08,
         5.392664662608129e-10, -1.0518471716932065e-11, 1.7302192458361107e-13]


@dataclasses.dataclass(frozen=True)
class Precision:
    """What one precision's gamma needs (see the module docstring)."""
    threshold: float          # T: Stirling for y >= T
    stirling: tuple           # Q's coefficients
    sinpi_terms: int
    pi: tuple                 # (hi, lo) pairs in the precision
    sinpi_c1: tuple
    half_log_2pi: tuple
    clamp: float              # z above this overflows (and its reflection underflows)
    tiny: float


GAMMA64 = Precision(8.0, tuple(STIRLING64), 11, (3.141592653589793, 1.2246467991473532e-16),
                    (-5.16771278004997, 2.2665622825789447e-16),
                    (0.9189385332046728, -3.8782941580672414e-17), 200.0, 2.0 ** -56)
GAMMA32 = Precision(4.0, tuple(STIRLING32), 7, (3.1415927410125732, -8.742277657347586e-08),
                    (-5.167712688446045, -9.160392266949202e-08),
                    (0.9189385175704956, 1.563417661998301e-08), 45.0, 2.0 ** -27)


def _mul_pair(fp, a_hi, a_lo, b_hi, b_lo):
    """(a_hi + a_lo)(b_hi + b_lo) as a pair (the lo * lo term dropped)."""
    p, err = fp.two_prod(a_hi, b_hi)
    return p, fp.add(err, fp.muladd(a_hi, b_lo, fp.mul(a_lo, b_hi)))


def _div_pair(fp, a_hi, a_lo, b_hi, b_lo):
    """(a_hi + a_lo) / (b_hi + b_lo), rounded (one correction step; an infinite
    quotient, 1/0 or 1/subnormal, is kept)."""
    q = fp.div(a_hi, b_hi)
    rem = fp.add(fp.fma(fp.neg(q), b_hi, a_hi), fp.sub(a_lo, fp.mul(q, b_lo)))
    return fp.sel(fp.lt(fp.abs(q), fp.c(INF)), fp.add(q, fp.div(rem, b_hi)), q)


def _log_pair(fp, y, y_lo):
    """log(y + y_lo) as a pair, y in [T, clamp]."""
    if fp.ty == F32:
        hi, lo = explog32.log_pair(fp, y)
        return hi, fp.add(lo, fp.div(y_lo, y))
    return log_pair(fp, *log_parts(fp, y, y_lo))


def _exp_pair(fp, hi, lo):
    """(k, u_hi, u_lo): exp(hi + lo) = (u_hi + u_lo) 2**k, hi within the clamp's L."""
    if fp.ty == F32:
        k, (u_hi, u_lo) = explog32.exp_parts(fp, hi, keep_tail=True, x_lo=lo)
        return k, u_hi, u_lo
    k, r_hi, r_lo = exp_reduce(fp, hi, lo)
    u_hi, u_lo = fp.fast_two_sum(*exp_reduced(fp, r_hi, r_lo))   # normalized: |lo| < ulp
    return k, u_hi, u_lo


def _shift_product(fp, p, z, z_lo):
    """z (z + 1) ... (z + T - 1) as a pair, by pairing factors: with a = z (z + T - 1),
    (z + j)(z + T - 1 - j) = a + j (T - 1 - j), so T/2 pair products, each factor
    exact as a pair (two_sum)."""
    s, e = fp.two_sum(z, fp.c(p.threshold - 1))
    a_hi, a_lo = _mul_pair(fp, z, z_lo, s, fp.add(e, z_lo))
    big_p, big_p_lo = a_hi, a_lo
    last = int(p.threshold) - 1
    for j in range(1, int(p.threshold) // 2):
        f_hi, f_err = fp.two_sum(a_hi, fp.c(float(j * (last - j))))
        big_p, big_p_lo = _mul_pair(fp, big_p, big_p_lo, f_hi, fp.add(f_err, a_lo))
    return big_p, big_p_lo


def gamma_parts(fp, p, z, z_lo):
    """(k, u_hi, u_lo, P_hi, P_lo) with gamma(z + z_lo) = (u_hi + u_lo) 2**k / P,
    for 0 < z <= p.clamp (z_lo a tail below z's ulp)."""
    small = fp.lt(z, fp.c(p.threshold))
    big_p, big_p_lo = _shift_product(fp, p, z, z_lo)
    big_p = fp.sel(small, big_p, fp.c(1.0))
    big_p_lo = fp.sel(small, big_p_lo, fp.c(0.0))
    n = fp.sel(small, fp.c(p.threshold), fp.c(0.0))
    y, y_lo = fp.two_sum(z, n)
    y_lo = fp.add(y_lo, z_lo)
    l_hi, l_lo = _log_pair(fp, y, y_lo)
    t = fp.sub(y, fp.c(0.5))                                  # exact: y >= T
    m_hi, m_err = fp.two_prod(t, l_hi)
    m_lo = fp.add(fp.muladd(t, l_lo, m_err), fp.mul(y_lo, l_hi))
    a_hi, a_err = fp.two_sum(m_hi, fp.neg(y))
    w = fp.div(fp.c(1.0), y)
    series = fp.mul(w, fp.horner(fp.mul(w, w), p.stirling))
    hi, b_err = fp.two_sum(a_hi, fp.c(p.half_log_2pi[0]))
    lo = fp.add(fp.add(a_err, b_err), fp.add(fp.sub(m_lo, y_lo),
                                            fp.add(series, fp.c(p.half_log_2pi[1]))))
    k, u_hi, u_lo = _exp_pair(fp, hi, lo)
    return k, u_hi, u_lo, big_p, big_p_lo


def _sinpi(fp, p, x):
    """sin(pi x) as a pair, for finite x (integers give +-0)."""
    m = fp.rint(x)
    r = fp.sub(x, m)                                           # exact, |r| <= 1/2
    coefficients = [p.pi, p.sinpi_c1] + SINPI[2:p.sinpi_terms]
    h, h_lo = fp.horner_dd(fp.mul(r, r), coefficients, 2)
    s_hi, s_lo = _mul_pair(fp, h, h_lo, r, fp.c(0.0))
    half = fp.mul(m, fp.c(0.5))
    odd = fp.ne(fp.trunc(half), half)
    return fp.sel(odd, fp.neg(s_hi), s_hi), fp.sel(odd, fp.neg(s_lo), s_lo)


def gamma(fp, p, x):
    negative = fp.lt(x, fp.c(0.0))
    # z = 1 - x exactly as a pair for x < 0; x itself otherwise; clamped
    one_minus, one_minus_lo = fp.two_sum(fp.c(1.0), fp.neg(x))
    z = fp.sel(negative, one_minus, x)
    z_lo = fp.sel(negative, one_minus_lo, fp.c(0.0))
    inside = fp.and_(fp.lt(z, fp.c(p.clamp)), fp.ge(fp.abs(x), fp.c(p.tiny)))
    z = fp.sel(inside, z, fp.sel(fp.ge(z, fp.c(p.clamp)), fp.c(p.clamp), fp.c(1.0)))
    z_lo = fp.sel(inside, z_lo, fp.c(0.0))
    k, u_hi, u_lo, big_p, big_p_lo = gamma_parts(fp, p, z, z_lo)
    # x > 0: u / P, then 2**k; x < 0 (reflection): pi P / (sin(pi x) u), then 2**-k;
    # |x| < tiny: 1 / x - euler_gamma (+-0 -> +-inf). One division for all three.
    finite = fp.lt(fp.abs(x), fp.c(INF))
    s_hi, s_lo = _sinpi(fp, p, fp.sel(finite, x, fp.c(0.5)))
    pi_p_hi, pi_p_lo = _mul_pair(fp, fp.c(p.pi[0]), fp.c(p.pi[1]), big_p, big_p_lo)
    s_u_hi, s_u_lo = _mul_pair(fp, s_hi, s_lo, u_hi, u_lo)
    tiny = fp.lt(fp.abs(x), fp.c(p.tiny))
    num_hi = fp.pick([(tiny, fp.c(1.0)), (negative, pi_p_hi)], u_hi)
    num_lo = fp.pick([(tiny, fp.c(0.0)), (negative, pi_p_lo)], u_lo)
    den_hi = fp.pick([(tiny, x), (negative, s_u_hi)], big_p)
    den_lo = fp.pick([(tiny, fp.c(0.0)), (negative, s_u_lo)], big_p_lo)
    k = fp.pick([(tiny, fp.i(0)), (negative, fp.isub(fp.i(0), k))], k)
    result = fp.scale(_div_pair(fp, num_hi, num_lo, den_hi, den_lo), k)
    result = fp.sel(tiny, fp.sub(result, fp.c(EULER)), result)
    pole = fp.and_(negative, fp.not_(tiny))
    pole = fp.and_(pole, fp.or_(fp.eq(s_hi, fp.c(0.0)), fp.not_(finite)))   # -n, -inf
    result = fp.sel(pole, fp.c(NAN), result)
    result = fp.sel(fp.eq(x, fp.c(INF)), x, result)
    return fp.sel(fp.isnan(x), x, result)


def build_gamma64(fp, x):
    return gamma(fp, GAMMA64, x)


def build_gamma32(fp, x):
    return gamma(fp, GAMMA32, x)


RULES = {"gamma": float_rule(build_gamma64, "gamma", build_gamma32)}
