"""erfinv and erfcinv natively in float32 (8 lanes per ymm); float64 and the
RULES entries: erfinv64.py.

Both solve erfc(x) = t for x >= 0, t = 1 - |y| (erfinv; exact for |y| >= 1/2)
or min(y, 2 - y) (erfcinv; exact), a = 1 - t, the sign restored at the end:

1. A first guess: Giles' single-precision fits ("Approximating the erfinv
   function", GPU Computing Gems) in w = -log(t (2 - t)) for w < 16, i.e. down
   to t ~ 1e-7 (everything erfinv of a float32 needs); below, erfcinv's far tail
   (to t = 1e-45), a fit of x in sqrt(w) (FAR): no logs beyond w's, so the
   common case does not pay for the rare one.
2. One Newton step, in the form whose residual keeps its digits:
   - a <= 1/2 (x < 0.48): on erf(x) - a, with erf(x) = x (c0 + u E(u)) written
     out (erf32's polynomial): x c0 as an exact product, minus a exactly
     (Sterbenz), so the residual is right to ~2**-28 of a.
   - a > 1/2: on log(erfc(x)/t), erfc(x) = mant 2**k from erf32's parts and t
     split as tm 2**j the same way, so the ratio never under- or overflows (t
     may be subnormal), with the step log(ratio) erfcx(x)/c0 (erfcx as exp(v) m
     from the same parts).
   The guess is within ~1e-6 relative, so the step's own (quadratic) error is
   negligible; what remains is erfc's ~1 ulp, scaled by erfc/(x |erfc'|) < 1.2,
   and the final rounding.
Tiny |y| (< 2**-60): y sqrt(pi)/2, rounded once (subnormals too).
"""
from __future__ import annotations

import dataclasses
import math

from . import explog32
from .erf32 import ERF_C0, ERF_E, erfc_parts

# Giles, single precision, lowest degree first
CENTRAL = [1.50140941, 0.246640727, -0.00417768164, -0.00125372503, 0.00021858087,
           -4.39150654e-06, -3.5233877e-06, 3.43273939e-07, 2.81022636e-08]
TAIL = [2.83297682, 1.00167406, 0.00943887047, -0.0076224613, 0.00573950773,
        -0.00367342844, 0.00134934322, 0.000100950558, -0.000200214257]
# x = FAR(sqrt(w) - 7) for w in [16, 105.2] (t down to 2**-149): a least-squares
# fit to mpmath's erfc (tools/fit_erfcinv32_far.py), rel. error < 3.7e-7 in float32
FAR = [6.86901951, 1.00859618, -0.000512640108, 5.52868141e-06, 6.09210429e-06,
       -1.33246272e-06, 2.88941550e-07, -9.19644734e-08, 1.31294575e-08]
HALF_SQRT_PI = (0.886226952, 0.886226925452758 - 0.886226952)
TINY = 2.0 ** -60
# a = |erf(x)| up to which the erf-space step is taken (x < 0.63): there erfc's
# ~1 ulp error would cost more (up to ~1 ulp of x at x ~ 0.48)
SWITCH = 0.625


def _log(fp, x):
    """log(x) for finite x > 0 (subnormals too), no special values."""
    return explog32.log_finish(fp, *explog32.log_reduce(fp, x))


def _guess(fp, t, a, far_tail):
    prod = fp.mul(t, fp.sub(fp.c(2.0), t))           # (1 - a)(1 + a), exact for tiny t
    w = fp.neg(_log(fp, prod))
    s = fp.sqrt(w)
    central = fp.horner(fp.sub(w, fp.c(2.5)), CENTRAL)
    tail = fp.horner(fp.sub(s, fp.c(3.0)), TAIL)
    if not far_tail:        # erfinv: t >= 2**-24, so w < 16
        return fp.mul(a, fp.sel(fp.lt(w, fp.c(5.0)), central, tail))
    far = fp.horner(fp.sub(s, fp.c(7.0)), FAR)      # x, and a = 1 to 6e-8 there
    return fp.mul(a, fp.pick([(fp.lt(w, fp.c(5.0)), central),
                              (fp.lt(w, fp.c(16.0)), tail)], far))


def _central_step(fp, x, a, a_lo):
    """x - (erf(x) - a - a_lo)/erf'(x), for x < 0.7."""
    u = fp.mul(x, x)
    h, h_lo = fp.two_prod(x, fp.c(ERF_C0[0]))
    rest = fp.mul(x, fp.muladd(u, fp.horner(u, ERF_E), fp.c(ERF_C0[1])))
    r = fp.add(fp.sub(h, a), fp.add(h_lo, fp.sub(rest, a_lo)))
    slope = fp.mul(fp.c(ERF_C0[0]), explog32.build_exp(fp, fp.neg(u)))
    return fp.sub(x, fp.div(r, slope))


def _split(fp, t):
    """(tm, j): t = tm 2**j, tm in [1, 2), j an i32; t > 0 finite (subnormals too)."""
    tiny = fp.lt(t, fp.c(2.0 ** -126))
    bits = fp.bits(fp.sel(tiny, fp.mul(t, fp.c(2.0 ** 24)), t))
    j = fp.isub(fp.ashr(bits, 23), fp.i(127))
    j = fp.isub(j, fp.sel(tiny, fp.i(24), fp.i(0)))
    tm = fp.from_bits(fp.b.or_(fp.iand(bits, 0x7FFFFF), fp.i(127 << 23)))
    return tm, j


def _tail_step(fp, x, t):
    """x + log(erfc(x)/t) erfcx(x)/c0, for x >= 0.45 (x <= 10.5)."""
    k, mant, v, m = erfc_parts(fp, x)
    tm, j = _split(fp, t)
    shift = fp.isub(k, j)
    shift = fp.sel(fp.b.icmp_signed(">", shift, fp.i(100)), fp.i(100), shift)
    shift = fp.sel(fp.b.icmp_signed("<", shift, fp.i(-100)), fp.i(-100), shift)
    ratio = fp.div(mant, tm)
    g = fp.add(_log(fp, ratio), fp.mul(fp.to_float(shift), fp.c(math.log(2))))
    factor = fp.mul(explog32.build_exp(fp, v), fp.mul(m, fp.c(1 / ERF_C0[0])))
    return fp.muladd(g, factor, x)


@dataclasses.dataclass(frozen=True)
class Inverse:
    """What one precision's solve needs (erfinv64.py has the float64 one): its
    guess and two steps, the a up to which the erf-space step is taken, the
    range the tail step's x is clamped to, and the tiny-|y| limit."""
    guess: object
    central_step: object
    tail_step: object
    switch: float
    tail_range: tuple
    tiny: float
    half_sqrt_pi: tuple


def solve(fp, p, t, a, a_lo, far_tail):
    """x >= 0 with erfc(x) = t, 0 < t <= 1, t exact where a > p.switch; a + a_lo =
    1 - t exactly where a <= p.switch; far_tail: t down to the smallest subnormal."""
    x0 = p.guess(fp, t, a, far_tail)
    small = fp.le(a, fp.c(p.switch))
    x_small = p.central_step(fp, fp.sel(small, x0, fp.c(0.25)), a, a_lo)
    x_large = p.tail_step(fp, fp.sel(small, fp.c(1.0), fp.clamp(x0, *p.tail_range)), t)
    x = fp.sel(small, x_small, x_large)
    # tiny: a sqrt(pi)/2 scaled up first, so that only the last step rounds on
    # the subnormal grid (and an emulated fma's split does not underflow)
    up = fp.mul(a, fp.c(2.0 ** 64))
    half = p.half_sqrt_pi
    linear = fp.fma(up, fp.c(half[0]), fp.mul(up, fp.c(half[1])))
    return fp.sel(fp.lt(a, fp.c(p.tiny)), fp.mul(linear, fp.c(2.0 ** -64)), x)


def erfinv(fp, p, y):
    a = fp.abs(y)
    inside = fp.lt(a, fp.c(1.0))
    t = fp.sub(fp.c(1.0), a)
    x = solve(fp, p, fp.sel(inside, t, fp.c(0.5)), fp.sel(inside, a, fp.c(0.5)),
              fp.c(0.0), False)
    x = fp.pick([(inside, x), (fp.eq(a, fp.c(1.0)), fp.c(math.inf))], fp.c(math.nan))
    return fp.copysign(x, y)             # keeps -0; NaN stays NaN


def erfcinv(fp, p, y):
    above = fp.gt(y, fp.c(1.0))
    t = fp.sel(above, fp.sub(fp.c(2.0), y), y)        # exact
    inside = fp.and_(fp.gt(t, fp.c(0.0)), fp.le(t, fp.c(1.0)))
    t = fp.sel(inside, t, fp.c(0.5))
    a, a_lo = fp.two_sum(fp.c(1.0), fp.neg(t))
    x = solve(fp, p, t, a, a_lo, True)
    x = fp.sel(fp.eq(t, fp.c(1.0)), fp.c(0.0), x)
    x = fp.pick([(inside, x), (fp.eq(y, fp.c(0.0)), fp.c(math.inf)),
                 (fp.eq(y, fp.c(2.0)), fp.c(math.inf))], fp.c(math.nan))
    return fp.sel(above, fp.neg(x), x)


FLOAT32 = Inverse(_guess, _central_step, _tail_step, SWITCH, (0.45, 10.5), TINY, HALF_SQRT_PI)


def build_erfinv32(fp, y):
    return erfinv(fp, FLOAT32, y)


def build_erfcinv32(fp, y):
    return erfcinv(fp, FLOAT32, y)
