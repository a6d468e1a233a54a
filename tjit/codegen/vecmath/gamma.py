"""gamma(x) and log|gamma(x)| as branch-free IR, float64 and natively float32
(no call, no table, no float64 instruction in the float32 code).

One scheme for both precisions (constants in `GAMMA64` / `GAMMA32`):

1. Positive z (z = x, or z = 1 - x as an exact pair for x < 0) below T is shifted
   to y = z + T: gamma(z) = gamma(y) / P, P = z (z + 1) ... (z + T - 1) as a
   double-double, its factors paired, (z + j)(z + T - 1 - j) = a + j (T - 1 - j)
   with a = z (z + T - 1), each an exact pair (two_sum), so T/2 pair products and
   no rounding error worth an ulp. float64: T = 8; float32: T = 4.
2. For y >= T: log gamma(y) = L = (y - 1/2)(log y - 1) - 1/2 + log(2 pi)/2 + S(y)
   (that grouping never overflows before log gamma does), S(y) = Q(1/y**2)/y a
   fitted correction (|error| < 2**-57.5 resp. 2**-35.7; leading term as a pair).
   L reaches ~710 (float32 ~89), so it is a pair: log y from explog's double-double
   log (~2**-65 relative; float32: explog32's float32 pair, ~2**-36), products by
   two_prod, sums by two_sum.
3. gamma: exp of the pair as u 2**k (u a pair in [0.7, 1.42]), then
   x > 0: (u / P) 2**k (inf past 171.62 resp. 35.04);
   x < 0: reflection, pi P / (sin(pi x) u) 2**-k, sin(pi x) from r = x - rint(x)
   (exact) by a Taylor polynomial in r**2 whose three leading steps run in
   double-double, the sign from rint(x)'s parity. The 2**-k comes last, so
   results down to the subnormals (x ~ -184) are right and below that they are
   zeros of the right sign;
   |x| < tiny (2**-56 resp. 2**-27): 1/x - euler_gamma.
   One pair division and one `Fp.scale` for the three.
   gammaln: x > 0: L - log P; x < 0: log(pi P / |sin(pi x)|) - L; |x| < tiny:
   -log|x| (one more double-double log for the three); |x - 1|, |x - 2| <= 1/8
   (float32 1/64): fitted polynomials t N(t), t = x - 1 or x - 2, so the zeros at
   1 and 2 keep relative accuracy. Near the zeros at negative x (-2.457, ...) the
   error is absolute (~3e-17 resp. ~2e-8), as Cephes'.
Special values as glibc's tgamma (what tjit used before): gamma(+-0) = +-inf,
negative integers and -inf -> NaN, +inf -> inf, NaN -> NaN; gammaln: +inf at the
poles and +inf, -inf at -inf (SciPy's convention, as before).
gammaln is wired for float32 only (scalar_ops.LIBRARY_OPS_BY_DTYPE): the float64
one is ~1.3x slower than libm's lgamma, which float64 keeps.
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
# series, B_2k / (2k (2k - 1)), would need 10 terms resp. 5). |S error| < 2**-57.5
# (float64, y >= 8) and 2**-35.7 (float32, y >= 4).
STIRLING64 = [0.0833333333333333, -0.0027777777776081224, 0.0007936506659056198,
              -0.0005952027660288355, 0.0008372959144132968, -0.0016529188473810017]
STIRLING32 = [0.08333333325756584, -0.0027777383169054377, 0.0007904010623467801,
              -0.0005069757429219177]
# log gamma(c + t) = t N(t) near its zeros c = 1, 2, |t| <= NEAR (tools/fit_gamma.py:
# least squares at Chebyshev nodes, relative error < 2**-55.5 resp. 2**-28.4; N(0),
# -euler_gamma resp. 1 - euler_gamma, as a pair)
NEAR64 = (0.125, [(-0.5772156649015329, 4.942915152430645e-18), 0.8224670334241132,
                  -0.4006856343865192, 0.27058080842775173, -0.2073855510411619,
                  0.16955717702005998, -0.14404989198294815, 0.12550966263584398,
                  -0.11133513841912691, 0.1001005318508535, -0.0908725164786387,
                  0.08326430181058278, -0.08068878583186552, 0.07521335319235418],
          [(0.42278433509846713, 4.942915152430645e-18), 0.3224670334241132,
           -0.06735230105319809, 0.020580808427784546, -0.0073855510286743534,
           0.002890510330741856, -0.0011927539115620125, 0.0005096695246416997,
           -0.00022315478426283288, 9.945752862385805e-05, -4.49238170867361e-05,
           2.050588723857476e-05, -9.551835392989631e-06, 4.431274955938569e-06])
NEAR32 = (1 / 64, [(-0.5772156715393066, 6.637773886097875e-09), 0.822467029094696,
                   -0.4007362723350525, 0.2706325650215149],
          [(0.42278432846069336, 6.637773886097875e-09), 0.32246702909469604,
           -0.06735410541296005, 0.020581690594553947])
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
    sinpi_c2: tuple
    half_log_2pi: tuple
    clamp: float              # z above this overflows (and its reflection underflows)
    tiny: float
    near: tuple               # gammaln near 1 and 2: (half width, N at 1, N at 2)


GAMMA64 = Precision(8.0, tuple(STIRLING64), 11, (3.141592653589793, 1.2246467991473532e-16),
                    (-5.16771278004997, 2.2665622825789447e-16),
                    (2.5501640398773455, -7.931006345326556e-17),
                    (0.9189385332046728, -3.8782941580672414e-17), 200.0, 2.0 ** -56, NEAR64)
GAMMA32 = Precision(4.0, tuple(STIRLING32), 7, (3.1415927410125732, -8.742277657347586e-08),
                    (-5.167712688446045, -9.160392266949202e-08),
                    (2.550163984298706, 5.557863858030032e-08),
                    (0.9189385175704956, 1.563417661998301e-08), 45.0, 2.0 ** -27, NEAR32)


def _split(fp, value):
    """(hi, lo): value as a pair in fp's precision."""
    if fp.ty == F32:
        return explog32._split(value)
    return value, 0.0


def _mul_pair(fp, a_hi, a_lo, b_hi, b_lo):
    """(a_hi + a_lo)(b_hi + b_lo) as a pair (the lo * lo term dropped)."""
    p, err = fp.two_prod(a_hi, b_hi)
    return p, fp.add(err, fp.muladd(a_hi, b_lo, fp.mul(a_lo, b_hi)))


def _div_to_pair(fp, a_hi, a_lo, b_hi, b_lo):
    """(a_hi + a_lo) / (b_hi + b_lo) as a pair (q, correction)."""
    q = fp.div(a_hi, b_hi)
    rem = fp.add(fp.fma(fp.neg(q), b_hi, a_hi), fp.sub(a_lo, fp.mul(q, b_lo)))
    return q, fp.div(rem, b_hi)


def _div_pair(fp, a_hi, a_lo, b_hi, b_lo):
    """(a_hi + a_lo) / (b_hi + b_lo), rounded (one correction step; an infinite
    quotient, 1/0 or 1/subnormal, is kept)."""
    q, correction = _div_to_pair(fp, a_hi, a_lo, b_hi, b_lo)
    return fp.sel(fp.lt(fp.abs(q), fp.c(INF)), fp.add(q, correction), q)


def _log_pair(fp, y, y_lo):
    """log(y + y_lo) as a pair, y finite > 0 (subnormals too)."""
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


def log_gamma_parts(fp, p, z, z_lo):
    """(L_hi, L_lo, P_hi, P_lo) with log gamma(z + z_lo) = L - log P, for finite
    z > 0 (z_lo a tail below z's ulp); L overflows to +-inf (lo then garbage) only
    where log gamma does."""
    small = fp.lt(z, fp.c(p.threshold))
    big_p, big_p_lo = _shift_product(fp, p, z, z_lo)
    big_p = fp.sel(small, big_p, fp.c(1.0))
    big_p_lo = fp.sel(small, big_p_lo, fp.c(0.0))
    n = fp.sel(small, fp.c(p.threshold), fp.c(0.0))
    y, y_lo = fp.two_sum(z, n)
    y_lo = fp.add(y_lo, z_lo)
    l_hi, l_lo = _log_pair(fp, y, y_lo)
    # (y - 1/2) log y - y as (y - 1/2)(log y - 1) - 1/2: no intermediate overflow
    t = fp.sub(y, fp.c(0.5))                                  # exact for y < 2**52
    d_hi, d_err = fp.two_sum(l_hi, fp.c(-1.0))
    d_lo = fp.add(d_err, l_lo)
    m_hi, m_err = fp.two_prod(t, d_hi)
    m_lo = fp.add(fp.muladd(t, d_lo, m_err), fp.mul(y_lo, d_hi))
    a_hi, a_err = fp.two_sum(m_hi, fp.c(-0.5))
    # S = w Q(w**2), w = 1/(y + y_lo), its leading term w Q(0) (~0.01) as a pair: its
    # rounding would be an absolute error in log gamma (float32: ~1e-9)
    w = fp.div(fp.c(1.0), y)
    w_lo = fp.mul(fp.sub(fp.fma(fp.neg(w), y, fp.c(1.0)), fp.mul(w, y_lo)), w)
    c0_hi, c0_lo = _split(fp, p.stirling[0])
    s_hi, s_err = fp.two_prod(w, fp.c(c0_hi))
    w2 = fp.mul(w, w)
    s_lo = fp.add(s_err, fp.muladd(w_lo, fp.c(c0_hi), fp.mul(
        w, fp.muladd(w2, fp.horner(w2, p.stirling[1:]), fp.c(c0_lo)))))
    hi, b_err = fp.two_sum(a_hi, fp.c(p.half_log_2pi[0]))
    hi, c_err = fp.two_sum(hi, s_hi)
    lo = fp.add(fp.add(fp.add(a_err, b_err), c_err),
                fp.add(m_lo, fp.add(s_lo, fp.c(p.half_log_2pi[1]))))
    return hi, lo, big_p, big_p_lo


def gamma_parts(fp, p, z, z_lo):
    """(k, u_hi, u_lo, P_hi, P_lo) with gamma(z + z_lo) = (u_hi + u_lo) 2**k / P,
    for 0 < z <= p.clamp (z_lo a tail below z's ulp)."""
    hi, lo, big_p, big_p_lo = log_gamma_parts(fp, p, z, z_lo)
    k, u_hi, u_lo = _exp_pair(fp, hi, lo)
    return k, u_hi, u_lo, big_p, big_p_lo


def _sinpi(fp, p, x):
    """sin(pi x) as a pair, for finite x (integers give +-0)."""
    m = fp.rint(x)
    r = fp.sub(x, m)                                           # exact, |r| <= 1/2
    coefficients = [p.pi, p.sinpi_c1, p.sinpi_c2] + SINPI[3:p.sinpi_terms]
    h, h_lo = fp.horner_dd(fp.mul(r, r), coefficients, 3)
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


def _near_zeros(fp, p, x):
    """(t N(t), near): log gamma(x) for |x - c| <= half width, c = 1 or 2, where
    L - log P would keep only an absolute error; the coefficients are selected per
    lane, t = x - c is exact (Sterbenz)."""
    width, at_one, at_two = p.near
    one = fp.le(fp.abs(fp.sub(x, fp.c(1.0))), fp.c(width))
    two = fp.le(fp.abs(fp.sub(x, fp.c(2.0))), fp.c(width))
    t = fp.sub(x, fp.sel(one, fp.c(1.0), fp.c(2.0)))
    acc = fp.sel(one, fp.c(at_one[-1]), fp.c(at_two[-1]))
    for c1, c2 in zip(reversed(at_one[1:-1]), reversed(at_two[1:-1])):
        acc = fp.muladd(acc, t, fp.sel(one, fp.c(c1), fp.c(c2)))
    c0_hi = fp.sel(one, fp.c(at_one[0][0]), fp.c(at_two[0][0]))
    c0_lo = fp.sel(one, fp.c(at_one[0][1]), fp.c(at_two[0][1]))
    p_hi, p_err = fp.two_prod(t, c0_hi)
    tail = fp.mul(t, fp.muladd(t, acc, c0_lo))
    return fp.add(p_hi, fp.add(p_err, tail)), fp.or_(one, two)


def gammaln(fp, p, x):
    """log|gamma(x)|: L - log P for x > 0; log(pi P / |sin(pi x)|) - L for x < 0
    (L, P those of 1 - x); -log|x| for |x| < tiny. One log of a pair besides L's."""
    negative = fp.lt(x, fp.c(0.0))
    finite = fp.lt(fp.abs(x), fp.c(INF))
    tiny = fp.lt(fp.abs(x), fp.c(p.tiny))
    one_minus, one_minus_lo = fp.two_sum(fp.c(1.0), fp.neg(x))
    inside = fp.and_(finite, fp.not_(tiny))
    z = fp.sel(negative, one_minus, x)
    z = fp.sel(inside, z, fp.c(1.0))
    z_lo = fp.sel(fp.and_(inside, negative), one_minus_lo, fp.c(0.0))
    l_hi, l_lo, big_p, big_p_lo = log_gamma_parts(fp, p, z, z_lo)
    s_hi, s_lo = _sinpi(fp, p, fp.sel(finite, x, fp.c(0.5)))
    s_neg = fp.lt(s_hi, fp.c(0.0))
    s_hi, s_lo = fp.sel(s_neg, fp.neg(s_hi), s_hi), fp.sel(s_neg, fp.neg(s_lo), s_lo)
    pi_p_hi, pi_p_lo = _mul_pair(fp, fp.c(p.pi[0]), fp.c(p.pi[1]), big_p, big_p_lo)
    ratio_hi, ratio_lo = _div_to_pair(fp, pi_p_hi, pi_p_lo, s_hi, s_lo)
    # the argument of the second log: P (x > 0), pi P / |sin(pi x)| (x < 0), |x| (tiny)
    pole = fp.eq(s_hi, fp.c(0.0))
    r_hi = fp.pick([(tiny, fp.abs(x)), (fp.and_(negative, fp.not_(pole)), ratio_hi)], big_p)
    r_lo = fp.pick([(tiny, fp.c(0.0)), (fp.and_(negative, fp.not_(pole)), ratio_lo)], big_p_lo)
    g_hi, g_lo = _log_pair(fp, r_hi, r_lo)
    flip = fp.and_(negative, fp.not_(tiny))
    l_hi = fp.sel(tiny, fp.c(0.0), l_hi)
    l_lo = fp.sel(tiny, fp.c(0.0), l_lo)
    a_hi = fp.sel(flip, g_hi, l_hi)
    a_lo = fp.sel(flip, g_lo, l_lo)
    b_hi = fp.sel(flip, l_hi, g_hi)
    b_lo = fp.sel(flip, l_lo, g_lo)
    d_hi, d_err = fp.two_sum(a_hi, fp.neg(b_hi))
    result = fp.add(d_hi, fp.add(d_err, fp.sub(a_lo, b_lo)))
    result = fp.sel(fp.lt(fp.abs(d_hi), fp.c(INF)), result, d_hi)     # overflow: +inf
    near_result, near = _near_zeros(fp, p, x)
    result = fp.sel(near, near_result, result)
    # poles (0, negative integers) and +inf: +inf; -inf: -inf (SciPy's convention)
    result = fp.sel(fp.or_(fp.eq(x, fp.c(0.0)), fp.and_(flip, pole)), fp.c(INF), result)
    result = fp.sel(fp.not_(finite), fp.abs(x), result)
    result = fp.sel(fp.eq(x, fp.c(-INF)), x, result)
    return fp.sel(fp.isnan(x), x, result)


def build_gamma64(fp, x):
    return gamma(fp, GAMMA64, x)


def build_gamma32(fp, x):
    return gamma(fp, GAMMA32, x)


def build_gammaln64(fp, x):
    return gammaln(fp, GAMMA64, x)


def build_gammaln32(fp, x):
    return gammaln(fp, GAMMA32, x)


RULES = {"gamma": float_rule(build_gamma64, "gamma", build_gamma32),
         "gammaln": float_rule(build_gammaln64, "gammaln", build_gammaln32)}
