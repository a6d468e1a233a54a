"""erfinv and erfcinv in float64 (4 lanes per ymm); float32: erfinv32.py.

As in float32, both solve erfc(x) = t for x >= 0, t = 1 - |y| (erfinv; exact
for |y| >= 1/2) or min(y, 2 - y) (erfcinv; exact), a = 1 - t (erfcinv: a + a_lo
exactly), the sign restored at the end:

1. A guess within ~1.3e-7 relative, in w = -log(t (2 - t)): Giles' single-
   precision fits for w < 16, then a fit of x/a in sqrt(w) - 5 for w in
   [16, 37.5] (erfinv's whole rest: t >= 2**-53), and for erfcinv's far tail
   (t < 2.5e-16, down to the subnormals) a fit of x r in r - 0.1, r =
   1/sqrt(-log t) (both fits: Chebyshev interpolants of mpmath/SciPy values,
   converted to monomials; rel. error < 1e-9).
2. One Halley step (cubic: the guess's error drops to ~1e-20), on a residual
   that keeps its digits:
   - a <= SWITCH (x < 0.91): g = erf(x) - a - a_lo with erf(x) = x E(x**2) from
     vecmath/erf.py's double-double E, x e_hi - a as one fma: exact to ~2**-100
     of a; g' = 2/sqrt(pi) exp(-x**2), g'' = -2x g'.
   - above: h = log(erfc(x)/t), erfc(x) = m 2**k from erf.py's unrounded parts
     and t = tm 2**j, so the ratio never under- or overflows (t may be
     subnormal); h = log1p(ratio - 1) by its series (ratio - 1 < ~1e-5);
     -h' = q = (2/sqrt(pi)) / (erfc(x) exp(x**2)), h'' = 2xq - q**2.
   What remains: erfc's ~1 ulp (scaled by 1/(2 x**2) < 0.61 above SWITCH) and
   the final rounding.
Tiny a (< 2**-30): a sqrt(pi)/2 rounded once (subnormals too).
"""
from __future__ import annotations

import math

from .common import float_rule
from .erf import ERF_E1, TWO_OVER_SQRTPI, erfc_positive_parts
from .erfinv32 import (CENTRAL, TAIL, Inverse, build_erfcinv32, build_erfinv32, erfcinv,
                       erfinv)
from .explog import build_exp, log_fast, log_reduce

# x/a = P(sqrt(w) - 5), w in [15.5, 37.5]
MIDDLE = [4.849906401417377, 1.0103004643824574, -0.00013871963366321192,
          -0.00021502134528253734, 7.599614212807318e-05, -1.9725588479228043e-05,
          4.531243541296769e-06, -9.062808477459158e-07, 2.0715133887480349e-07,
          -1.379593100292279e-07, 5.441480650112939e-08]
# x r = Q(r - 0.1), r = 1/sqrt(-log t), t in [4.9e-324, 2.5e-16]
FAR = [0.9855683827668145, -0.23930328180540528, -0.7065051941556248, 1.6041590978566092,
       -4.136416475247415, 16.678838794261537, -74.54094085154975, 426.08666863329927,
       -5236.622853993709, 34428.8722934076]
FAR_BELOW = 2.5e-16
SWITCH = 0.8                 # a = erf(x) up to which the erf-space step is taken
TINY = 2.0 ** -30
HALF_SQRT_PI = (0.886226925452758, -3.8332932499128993e-17)


def _log(fp, x):
    """log(x) for finite x > 0 (subnormals too), no special values."""
    _, e, f = log_reduce(fp, x)
    return log_fast(fp, e, f)


def _guess(fp, t, a, far_tail):
    w = fp.neg(_log(fp, fp.mul(t, fp.sub(fp.c(2.0), t))))
    s = fp.sqrt(w)
    central = fp.horner(fp.sub(w, fp.c(2.5)), CENTRAL)
    tail = fp.horner(fp.sub(s, fp.c(3.0)), TAIL)
    middle = fp.horner(fp.sub(s, fp.c(5.0)), MIDDLE)
    ratio = fp.pick([(fp.lt(w, fp.c(5.0)), central), (fp.lt(w, fp.c(16.0)), tail)], middle)
    x = fp.mul(a, ratio)
    if not far_tail:
        return x
    # -log(t) = w + log(2 - t) = w + log(2) where it is used (t < 2.5e-16)
    root = fp.sqrt(fp.add(w, fp.c(math.log(2.0))))
    far = fp.mul(fp.horner(fp.sub(fp.div(fp.c(1.0), root), fp.c(0.1)), FAR), root)
    return fp.sel(fp.lt(t, fp.c(FAR_BELOW)), far, x)


def _central_step(fp, x, a, a_lo):
    """Halley on erf(x) - a - a_lo, for x < 1."""
    u, u_lo = fp.two_prod(x, x)
    e_hi, e_lo = fp.horner_dd(u, [TWO_OVER_SQRTPI[0]] + ERF_E1, 3, u_lo)
    e_lo = fp.add(e_lo, fp.c(TWO_OVER_SQRTPI[1]))
    g = fp.add(fp.fma(x, e_hi, fp.neg(a)), fp.sub(fp.mul(x, e_lo), a_lo))
    r = fp.mul(fp.mul(g, fp.c(1 / TWO_OVER_SQRTPI[0])), build_exp(fp, u))    # g / g'
    # r / (1 + x r) as r (1 - x r): |x r| < ~1e-7, the dropped term is below 2**-100 x
    return fp.sub(x, fp.mul(r, fp.sub(fp.c(1.0), fp.mul(x, r))))


def _split(fp, t):
    """(tm, j): t = tm 2**j, tm in [1, 2), j an i64; t > 0 finite (subnormals too)."""
    tiny = fp.lt(t, fp.c(2.0 ** -1022))
    bits = fp.bits(fp.sel(tiny, fp.mul(t, fp.c(2.0 ** 54)), t))
    j = fp.isub(fp.ashr(bits, 52), fp.i(1023))
    j = fp.isub(j, fp.sel(tiny, fp.i(54), fp.i(0)))
    tm = fp.from_bits(fp.b.or_(fp.iand(bits, (1 << 52) - 1), fp.i(1023 << 52)))
    return tm, j


def _tail_step(fp, x, t):
    """Halley on log(erfc(x)/t), for 0.5 <= x <= 27.5."""
    m, k, g = erfc_positive_parts(fp, x)
    tm, j = _split(fp, t)
    shift = fp.isub(k, j)
    shift = fp.sel(fp.b.icmp_signed(">", shift, fp.i(1000)), fp.i(1000), shift)
    shift = fp.sel(fp.b.icmp_signed("<", shift, fp.i(-1000)), fp.i(-1000), shift)
    d = fp.sub(fp.mul(fp.div(m, tm), fp.pow2(shift)), fp.c(1.0))
    h = fp.mul(d, fp.horner(d, [1.0, -1 / 2, 1 / 3, -1 / 4, 1 / 5]))
    q = fp.div(fp.c(TWO_OVER_SQRTPI[0]), g)
    delta = fp.mul(fp.mul(h, g), fp.c(1 / TWO_OVER_SQRTPI[0]))             # h / q
    bend = fp.mul(fp.mul(delta, fp.c(0.5)), fp.sub(fp.add(x, x), q))
    # delta / (1 - bend) as delta (1 + bend): |bend| < ~1e-5, bend**2 delta negligible
    return fp.add(x, fp.muladd(delta, bend, delta))


FLOAT64 = Inverse(_guess, _central_step, _tail_step, SWITCH, (0.5, 27.5), TINY, HALF_SQRT_PI)


def build_erfinv64(fp, y):
    return erfinv(fp, FLOAT64, y)


def build_erfcinv64(fp, y):
    return erfcinv(fp, FLOAT64, y)


RULES = {"erfinv": float_rule(build_erfinv64, "erfinv", build_erfinv32),
         "erfcinv": float_rule(build_erfcinv64, "erfcinv", build_erfcinv32)}
