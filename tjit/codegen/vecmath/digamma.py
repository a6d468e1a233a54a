"""digamma (psi) in float64 and natively in float32, branch free.

For y = |x| (x < 0 reflects: psi(x) = psi(1 - x) - pi cot(pi x), and
psi(1 - x) = psi(y) + 1/y with y = -x exact, so 1 - x is never rounded):
- y >= X0 (float64 7, float32 4): log(y) - 1/(2y) - sum B_2k/(2k y**2k)
  (14 resp. 7 terms; the reflected lanes add 1/y: + 1/(2y));
- y < X0: y = z + n with z in [1, 2) (or z = y + 1 for y < 1), t = z - 1 =
  y - floor(y) exact, psi(z) = g Y + g P(t)/Q(t), g = z - root with the root
  in parts (Boost's digamma_imp_1_2 rationals, 53- and 24-bit), so relative
  accuracy holds at the positive root 1.46163...; g Y as an exact pair. Plus
  the reciprocals 1/(y - k) of a fixed number of downward steps (masked: a
  term is on while y - k >= 1), in pairs (a + b)/(a b) with a + b exact (one
  division per pair; the first also gives -1/y for y < 1, with its rounding
  error recovered, and 1/y for the asymptotic lanes), all of one sign, summed
  with TwoSum so no addition's rounding is lost. Lanes take one branch or the
  other, so divisions are shared: the asymptotic lanes' log (float64) divides
  where the others compute P/Q.
- pi cot(pi x) from r = x - rint(x) (exact), a = |r|: for a <= 1/4,
  cospi(a) / (a sinc(a)); above, pi**2 s sinc(s) / cospi(s), s = 1/2 - a
  (exact); sinc(v) = sin(pi v)/(pi v) and cospi by their Taylor series in v**2
  (v <= 1/4: truncation < 2**-58 resp. 2**-33), so pi is never rounded into
  an argument. Tiny a gives ~1/a (overflowing to inf, like SciPy).
Special values as tjit's float64 helper (and SciPy): psi(+0) = -inf,
psi(-0) = +inf, NaN at negative integers and -inf, psi(inf) = inf, NaN -> NaN.
Near the negative roots (psi(1 - x) and pi cot(pi x) cancel) the error is
absolute, ~1 ulp of those terms, as in Cephes; except around the first one,
-0.50408... (|x - root| < 0.015, float32 0.04), where, as in SciPy, a Taylor sum in x - root
keeps the error relative.
"""
from __future__ import annotations

import dataclasses
import math

from . import explog, explog32
from .common import float_rule

# B_2k/(2k), k = 1..14, for the series in 1/y**2: float64 from y >= 7 (the
# first omitted term is 5e-19 of log(y)), float32 the first 7 from y >= 4 (7e-11)
ASYMPTOTIC = [0.08333333333333333, -0.008333333333333333, 0.003968253968253968,
              -0.004166666666666667, 0.007575757575757576, -0.021092796092796094,
              0.08333333333333333, -0.4432598039215686, 3.0539543302701198,
              -26.456212121212122, 281.46014492753625, -3607.5105463980462,
              54827.583333333336, -974936.8238505747]

# Boost digamma_imp_1_2, 53 bits: psi(z) = g Y + g P(t)/Q(t), t = z - 1, g = z - root
ROOT64 = (1569415565 / 1073741824, (381566830 / 1073741824) / 1073741824,
          0.9016312093258695918615325266959189453125e-19)
P64 = [0.25479851061131551, -0.32555031186804491, -0.65031853770896507,
       -0.28919126444774784, -0.045251321448739056, -0.0020713321167745952]
Q64 = [1.0, 2.0767117023730469, 1.4606242909763515, 0.43593529692665969,
       0.054151797245674225, 0.0021284987017821144, -0.55789841321675513e-6]
# 24 bits (relative error 4.3e-10 on [1, 2], checked by tools/fit_digamma.py);
# Boost's root_minor (3.7006601859e-7) is split in two floats: one alone is off by 1e-14
ROOT32 = (1532632.0 / 1048576, 3.700660045069526e-07, 1.4084309686948106e-14)
P32 = [0.25479851023250261, -0.44981331915268368, -0.43916936919946835,
       -0.061041765350579073]
Q32 = [1.0, 1.5890202430554952, 0.65341249856146947, 0.063851690523355715]
Y = 0.99558162689208984
# psi(r + d) = sum c_n d**n around the first negative root r (c_n = (-1)**(n+1)
# zeta(n+1, r); tools/fit_digamma.py): there psi(1 - x) and pi cot(pi x) cancel
NEG_ROOT64 = (-0.5040830082644554, -8.15428206243813e-18)
NEG_ROOT32 = (-0.5040830373764038, 2.9111948407489763e-08)
NEG_TAYLOR = [8.939798558792134, -0.8093454625306507, 32.258572064915505,
              -2.761011648790828, 128.27342343090902, -14.70672173553036,
              513.2704629562862, -75.37700066344631, 2055.5357119463315,
              -368.5783503832191, 8234.667099203069]
NEG_WINDOW = 0.015
CHUNK64, CHUNK32 = 2, 2      # reciprocals per division (3: one division less, ~0.5 ulp more)


def _sinc_series(terms):
    """sin(pi v)/(pi v) = sum c_k (v**2)**k."""
    return [(-1) ** k * math.pi ** (2 * k) / math.factorial(2 * k + 1) for k in range(terms)]


def _cospi_series(terms):
    return [(-1) ** k * math.pi ** (2 * k) / math.factorial(2 * k) for k in range(terms)]


@dataclasses.dataclass(frozen=True)
class Precision:
    x0: float                  # the asymptotic series from here up
    asymptotic: list
    root: tuple                # the positive root in parts, root[0] - 1 exact
    p: list
    q: list
    sinc: list
    cospi: list
    chunk: int                 # reciprocals summed as one fraction
    log_reduce: object         # (e, f): y = 2**e (1 + f), finite y >= x0
    log_divides: bool          # log_finish needs s = f/(2 + f)
    log_finish: object         # (fp, e, f, s, corr): log(y) + corr, small corr
    neg_root: tuple            # the first negative root as hi + lo
    neg_taylor: list           # c_1, c_2, ... (11 resp. 7 terms: < 2**-58 resp. 2**-27 at the edge)
    neg_window: float          # |x - root| below which the Taylor sum is used


def _log_reduce64(fp, y):
    _, e, f = explog.log_reduce(fp, y, subnormals=False)
    return e, f


def _log_finish64(fp, e, f, s, corr):
    """explog.log_fast (e ln2 + log(1 + f) + corr) with its s = f/(2 + f) given."""
    z = fp.mul(s, s)
    r = fp.mul(z, fp.horner(z, explog.LOG_LG))
    hfsq = fp.mul(fp.mul(f, f), fp.c(0.5))
    inner = fp.fma(s, fp.add(hfsq, r), fp.muladd(e, fp.c(explog.LN2_LO), corr))
    return fp.sub(fp.mul(e, fp.c(explog.LN2_HI)), fp.sub(fp.sub(hfsq, inner), f))


def _log_finish32(fp, e, f, _, corr):
    return explog32.log_finish(fp, e, f, corr)


FLOAT64 = Precision(
    x0=7.0, asymptotic=ASYMPTOTIC, root=ROOT64, p=P64, q=Q64, sinc=_sinc_series(9),
    cospi=_cospi_series(9), chunk=CHUNK64, log_reduce=_log_reduce64, log_divides=True,
    log_finish=_log_finish64, neg_root=NEG_ROOT64, neg_taylor=NEG_TAYLOR,
    neg_window=NEG_WINDOW)
FLOAT32 = Precision(
    x0=4.0, asymptotic=ASYMPTOTIC[:7], root=ROOT32, p=P32, q=Q32, sinc=_sinc_series(6),
    cospi=_cospi_series(7), chunk=CHUNK32, log_reduce=explog32.log_reduce, log_divides=False,
    log_finish=_log_finish32, neg_root=NEG_ROOT32, neg_taylor=NEG_TAYLOR[:7],
    neg_window=0.04)


def _pi_cot_pi(fp, p, x):
    """pi cot(pi x) for finite non-integer x (see the module docstring)."""
    r = fp.sub(x, fp.rint(x))
    a = fp.abs(r)
    low = fp.le(a, fp.c(0.25))
    v = fp.sel(low, a, fp.sub(fp.c(0.5), a))
    z = fp.mul(v, v)
    sin_part = fp.muladd(fp.mul(v, z), fp.horner(z, p.sinc[1:]), v)       # v sinc(v)
    cos_part = fp.muladd(z, fp.horner(z, p.cospi[1:]), fp.c(1.0))
    num = fp.sel(low, cos_part, fp.mul(sin_part, fp.c(math.pi ** 2)))
    den = fp.sel(low, sin_part, cos_part)
    return fp.copysign(fp.div(num, den), r)


def _reciprocals(fp, p, ys, reflected, big, y):
    """The shift's reciprocals as quotients: chunks of `p.chunk` terms 1/d,
    d = ys - k, each summed as one fraction num/den (pairs: (a + b)/(a b),
    a + b exact). A term is on while d >= 1; the k = 0 term is +1/y where
    reflected (y >= 1), -1/y for y < 1 otherwise. The first chunk's division
    gives 1/y for the asymptotic lanes. Returns (quotients, the first
    quotient's rounding error where its num is +-1: -1/y is the big term for
    y < 1)."""
    steps = int(p.x0) - 1
    quotients = []
    first_lo = None
    for k0 in range(0, steps, p.chunk):
        num, den = fp.c(0.0), fp.c(1.0)
        for k in range(k0, min(k0 + p.chunk, steps)):
            d = fp.sub(ys, fp.c(float(k)))
            on = fp.ge(d, fp.c(1.0))
            sign = fp.c(1.0)
            if k == 0:
                on = fp.sel(reflected, on, fp.lt(ys, fp.c(1.0)))
                sign = fp.sel(reflected, fp.c(1.0), fp.c(-1.0))
            num = fp.sel(on, fp.muladd(num, d, fp.mul(den, sign)) if k == 0 else
                         fp.muladd(num, d, den), num)
            den = fp.sel(on, fp.mul(den, d), den)
        if k0 == 0:
            num = fp.sel(big, fp.c(1.0), num)
            den = fp.sel(big, y, den)
        q = fp.div(num, den)
        quotients.append(q)
        if k0 == 0:
            unit = fp.eq(fp.abs(num), fp.c(1.0))
            rest = fp.mul(fp.mul(fp.fma(fp.neg(q), den, num), q), num)
            first_lo = fp.sel(unit, rest, fp.c(0.0))
    return quotients, first_lo


def _psi_plus(fp, p, y, reflected):
    """psi(y) for y >= 0 (or -0), plus 1/y where `reflected`: psi(1 + y)."""
    big = fp.ge(y, fp.c(p.x0))
    finite = fp.lt(y, fp.c(math.inf))
    yb = fp.sel(fp.and_(big, finite), y, fp.c(p.x0))
    ys = fp.sel(big, fp.c(1.5), y)
    t = fp.sub(ys, fp.trunc(ys))
    g = fp.sub(t, fp.c(p.root[0] - 1.0))
    for part in p.root[1:]:
        g = fp.sub(g, fp.c(part))
    quotients, first_lo = _reciprocals(fp, p, ys, reflected, big, yb)
    # one division: P/Q for the small lanes, the log's for the asymptotic ones
    e, f = p.log_reduce(fp, yb)
    top, bottom = fp.horner(t, p.p), fp.horner(t, p.q)
    if p.log_divides:
        top, bottom = fp.sel(big, f, top), fp.sel(big, fp.add(fp.c(2.0), f), bottom)
    ratio = fp.div(top, bottom)
    # psi(z) = g Y + g P/Q with g Y exact as a pair
    near, near_lo = fp.two_prod(g, fp.c(Y))
    near_lo = fp.muladd(g, ratio, near_lo)
    # the terms summed with each addition's error kept (TwoSum)
    total, carry = quotients[-1], fp.add(near_lo, first_lo)
    for q in reversed(quotients[:-1]):
        total, err = fp.two_sum(total, q)
        carry = fp.add(carry, err)
    total, err = fp.two_sum(total, near)
    small = fp.add(total, fp.add(carry, err))
    # -1/y overflows for tiny y (+-0 too): the answer, which the sums would make NaN
    small = fp.sel(fp.lt(fp.abs(quotients[0]), fp.c(math.inf)), small, quotients[0])
    # asymptotic: log(y) -+ 1/(2y) - s(1/y**2); quotients[0] = 1/y here
    inv = fp.sel(big, quotients[0], fp.c(0.0))
    w = fp.mul(inv, inv)
    series = fp.mul(w, fp.horner(w, p.asymptotic))
    half = fp.mul(inv, fp.sel(reflected, fp.c(0.5), fp.c(-0.5)))
    large = fp.sel(finite, p.log_finish(fp, e, f, ratio, fp.sub(half, series)), y)
    return fp.sel(big, large, small)


def digamma(fp, p, x):
    negative = fp.lt(x, fp.c(0.0))
    y = fp.sel(negative, fp.neg(x), x)        # -0 stays -0: psi(-0) = -1/-0 = +inf
    plus = _psi_plus(fp, p, y, negative)
    finite = fp.lt(y, fp.c(math.inf))
    reflection = _pi_cot_pi(fp, p, fp.sel(finite, x, fp.c(0.5)))
    result = fp.sel(negative, fp.sub(plus, reflection), plus)
    d = fp.sub(fp.sub(x, fp.c(p.neg_root[0])), fp.c(p.neg_root[1]))    # first step exact
    taylor = fp.mul(d, fp.horner(d, p.neg_taylor))
    result = fp.sel(fp.lt(fp.abs(d), fp.c(p.neg_window)), taylor, result)
    pole = fp.and_(negative, fp.eq(x, fp.rint(x)))     # and -inf
    return fp.sel(fp.or_(pole, fp.isnan(x)), fp.c(math.nan), result)


def build_digamma64(fp, x):
    return digamma(fp, FLOAT64, x)


def build_digamma32(fp, x):
    return digamma(fp, FLOAT32, x)


RULES = {"psi": float_rule(build_digamma64, "psi", build_digamma32)}
