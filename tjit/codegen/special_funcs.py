"""Scalar functions with no single libm call, emitted as internal LLVM helpers.

Each `build_*(em, args)` fills in a helper function whose entry block `em.builder`
is positioned at (see `ScalarEmitter.helper`) and ends it with `ret`.
- integer pow: square-and-multiply with wraparound (exact, like NumPy);
- erfinv, erfcinv: Giles' approximation (for erfcinv's far tail, the asymptotic
  erfc) refined by Halley (erf) or Newton (log erfc) steps;
- Bessel I0, I1: power series up to |x| = 20, Hankel's asymptotic series above;
- digamma: reflection for x < 0, recurrence to x >= 10, asymptotic series (Cephes);
  a rational approximation on [1, 2] around the positive root (Boost).
"""
from __future__ import annotations

import math

from llvmlite import ir

from .. import special

F64 = ir.DoubleType()


def _f64(value):
    return ir.Constant(F64, value)


def _power_loop(em, base, exponent):
    """ret base**exponent for exponent >= 0 by repeated squaring (wrapping multiply)."""
    bd = em.builder
    ty = base.type
    entry = bd.block
    header = bd.append_basic_block("header")
    body = bd.append_basic_block("body")
    done = bd.append_basic_block("done")
    bd.branch(header)
    bd.position_at_end(header)
    result, square, rest = bd.phi(ty, "result"), bd.phi(ty, "square"), bd.phi(ty, "rest")
    result.add_incoming(ir.Constant(ty, 1), entry)
    square.add_incoming(base, entry)
    rest.add_incoming(exponent, entry)
    bd.cbranch(bd.icmp_unsigned("!=", rest, ir.Constant(ty, 0)), body, done)
    bd.position_at_end(body)
    odd = bd.trunc(rest, ir.IntType(1))
    result.add_incoming(bd.select(odd, bd.mul(result, square), result), body)
    square.add_incoming(bd.mul(square, square), body)
    rest.add_incoming(bd.lshr(rest, ir.Constant(ty, 1)), body)
    bd.branch(header)
    bd.position_at_end(done)
    bd.ret(result)


def build_ipow_unsigned(em, args):
    _power_loop(em, *args)


def build_ipow_signed(em, args):
    """Negative exponents give 1 for base 1, +-1 for base -1, else 0 (NumPy raises)."""
    base, exponent = args
    bd = em.builder
    ty = base.type
    negative = bd.append_basic_block("negative")
    nonnegative = bd.append_basic_block("nonnegative")
    bd.cbranch(bd.icmp_signed("<", exponent, ir.Constant(ty, 0)), negative, nonnegative)
    bd.position_at_end(negative)
    one, minus_one, zero = ir.Constant(ty, 1), ir.Constant(ty, -1), ir.Constant(ty, 0)
    odd = bd.trunc(exponent, ir.IntType(1))
    result = bd.select(bd.icmp_signed("==", base, minus_one), bd.select(odd, minus_one, one), zero)
    bd.ret(bd.select(bd.icmp_signed("==", base, one), one, result))
    bd.position_at_end(nonnegative)
    _power_loop(em, base, exponent)


def _horner(bd, x, coefficients):
    """coefficients[0] * x**(n-1) + ... + coefficients[-1]."""
    acc = _f64(coefficients[0])
    for c in coefficients[1:]:
        acc = bd.fadd(bd.fmul(acc, x), _f64(c))
    return acc


# Giles, "Approximating the erfinv function" (GPU Computing Gems), single precision.
_ERFINV_CENTRAL = [2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
                   0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941]
_ERFINV_TAIL = [-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844,
                0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682]


def build_erfinv(em, args):
    """erfinv(y) for float64; +-inf at +-1, NaN outside [-1, 1]; odd (keeps -0.0)."""
    (y,) = args
    bd = em.builder
    ax = em.intrinsic("fabs", y)
    one = _f64(1.0)
    x = _erfinv_positive(em, ax, bd.fsub(one, ax))
    x = bd.select(bd.fcmp_ordered("==", ax, one), _f64(math.inf), x)
    x = bd.select(bd.fcmp_ordered(">", ax, one), _f64(math.nan), x)
    bd.ret(em.intrinsic("copysign", x, y))


def _erfinv_positive(em, ax, t, far_tail=False):
    """x >= 0 with erf(x) = ax, given t = 1 - ax exactly (0 < t <= 1). With
    `far_tail`, t may be far below 1e-16 (erfcinv), where Giles' tail guess is out
    of its range: there x starts from the asymptotic erfc(x) ~ exp(-x*x)/(x sqrt(pi))."""
    bd = em.builder
    one = _f64(1.0)
    # w = -log(1 - ax*ax); erfinv keeps its historical (1 - ax) * (1 + ax)
    other = bd.fsub(_f64(2.0), t) if far_tail else bd.fadd(one, ax)
    w = bd.fneg(em.libm("log", bd.fmul(t, other)))
    central = _horner(bd, bd.fsub(w, _f64(2.5)), _ERFINV_CENTRAL)
    tail = _horner(bd, bd.fsub(em.intrinsic("sqrt", w), _f64(3.0)), _ERFINV_TAIL)
    x = bd.fmul(bd.select(bd.fcmp_ordered("<", w, _f64(5.0)), central, tail), ax)
    if far_tail:
        minus_log_t = bd.fneg(em.libm("log", t))
        x0 = em.intrinsic("sqrt", minus_log_t)
        x1 = em.intrinsic("sqrt", bd.fsub(minus_log_t, em.libm(
            "log", bd.fmul(x0, _f64(math.sqrt(math.pi))))))
        x = bd.select(bd.fcmp_ordered(">", w, _f64(37.0)), x1, x)
    # Up to 0.5: Halley on g(x) = erf(x) - ax (g'' = -2x g'). Above, solve
    # log(erfc(x) / t) = 0 by Newton: it keeps its digits near ax = 1 and
    # converges from the rough tail guess where erf-space steps crawl.
    upper = bd.fcmp_ordered(">", ax, _f64(0.5))
    for _ in range(4):
        slope = bd.fmul(_f64(2.0 / math.sqrt(math.pi)), em.libm("exp", bd.fneg(bd.fmul(x, x))))
        ratio = bd.fdiv(bd.fsub(em.libm("erf", x), ax), slope)
        halley = bd.fsub(x, bd.fdiv(ratio, bd.fadd(one, bd.fmul(x, ratio))))
        tail = em.libm("erfc", x)
        log_ratio = em.libm("log1p", bd.fdiv(bd.fsub(tail, t), t))
        newton = bd.fadd(x, bd.fdiv(bd.fmul(log_ratio, tail), slope))
        x = bd.select(upper, newton, halley)
    if far_tail:
        x = bd.select(bd.fcmp_ordered("<", t, _f64(ERFC_ASYMPTOTIC_BELOW)),
                      _erfc_asymptotic_solve(em, t), x)
    return x


# Below this t (x > ~19.5) erfc(x) nears the subnormals, where its digits run out:
# there x solves x*x + log(x sqrt(pi)) - log(S(x)) = -log(t), with S the asymptotic
# series of erfc(x) x sqrt(pi) exp(x*x) = 1 - 1/(2x^2) + 3/(2x^2)^2 - ...
ERFC_ASYMPTOTIC_BELOW = 1e-167
ERFC_ASYMPTOTIC_TERMS = 9


def _erfc_asymptotic_solve(em, t):
    bd = em.builder
    minus_log_t = bd.fneg(em.libm("log", t))
    x = em.intrinsic("sqrt", minus_log_t)
    for _ in range(4):
        inv = bd.fdiv(_f64(1.0), bd.fmul(_f64(2.0), bd.fmul(x, x)))
        term = series = _f64(1.0)
        for k in range(1, ERFC_ASYMPTOTIC_TERMS + 1):
            term = bd.fmul(term, bd.fmul(inv, _f64(-(2.0 * k - 1))))
            series = bd.fadd(series, term)
        f = bd.fsub(bd.fadd(bd.fmul(x, x), em.libm("log", bd.fmul(x, _f64(math.sqrt(math.pi))))),
                    bd.fadd(em.libm("log", series), minus_log_t))
        x = bd.fsub(x, bd.fdiv(f, bd.fadd(bd.fmul(_f64(2.0), x), bd.fdiv(_f64(1.0), x))))
    return x


def build_erfcinv(em, args):
    """erfcinv(y) = erfinv(1 - y) for float64, solved in t = min(y, 2 - y) (exact)
    so that small y keep their digits; +inf at 0, -inf at 2, NaN outside [0, 2]."""
    (y,) = args
    bd = em.builder
    one, two = _f64(1.0), _f64(2.0)
    above = bd.fcmp_ordered(">", y, one)
    t = bd.select(above, bd.fsub(two, y), y)
    x = _erfinv_positive(em, bd.fsub(one, t), t, far_tail=True)
    x = bd.select(bd.fcmp_ordered("==", t, one), _f64(0.0), x)
    x = bd.select(bd.fcmp_ordered("==", t, _f64(0.0)), _f64(math.inf), x)
    x = bd.select(above, bd.fneg(x), x)
    outside = bd.or_(bd.fcmp_unordered("<", y, _f64(0.0)), bd.fcmp_ordered(">", y, two))
    bd.ret(bd.select(outside, _f64(math.nan), x))


# Cephes psi.c: Bernoulli-number coefficients of the asymptotic series in 1/x**2.
_DIGAMMA_SERIES = [8.33333333333333333333E-2, -2.10927960927960927961E-2,
                   7.57575757575757575758E-3, -4.16666666666666666667E-3,
                   3.96825396825396825397E-3, -8.33333333333333333333E-3,
                   8.33333333333333333333E-2]


# Boost digamma_imp_1_2 (53-bit): psi(x) = g * Y + g * P(x-1)/Q(x-1), g = x - root.
_DIGAMMA_Y = 0.99558162689208984
_DIGAMMA_ROOT = (1569415565 / 1073741824, (381566830 / 1073741824) / 1073741824,
                 0.9016312093258695918615325266959189453125e-19)
_DIGAMMA_P = [0.25479851061131551, -0.32555031186804491, -0.65031853770896507,
              -0.28919126444774784, -0.045251321448739056, -0.0020713321167745952]
_DIGAMMA_Q = [1.0, 2.0767117023730469, 1.4606242909763515, 0.43593529692665969,
              0.054151797245674225, 0.0021284987017821144, -0.55789841321675513e-6]


def build_digamma(em, args):
    """digamma(x) for float64, matching scipy.special.psi at the special points:
    psi(+0) = -inf, psi(-0) = +inf, NaN at negative integers and -inf, psi(inf) = inf."""
    (x,) = args
    bd = em.builder
    zero, one = _f64(0.0), _f64(1.0)
    negative = bd.fcmp_ordered("<", x, zero)
    floor = em.intrinsic("floor", x)
    # psi(x) = psi(1 - x) - pi / tan(pi x); tan has period 1, so first reduce x
    # to x - round(x) in [-0.5, 0.5] (exact) to keep pi * x accurate.
    frac = bd.fsub(x, em.intrinsic("roundeven", x))
    reflection = bd.fdiv(_f64(math.pi), em.libm("tan", bd.fmul(_f64(math.pi), frac)))
    z = bd.select(negative, bd.fsub(one, x), x)
    # psi(z) = psi(z + 1) - 1/z: step z up to >= 10 (z > 0 here: ten steps suffice).
    shift = zero
    for _ in range(10):
        small = bd.fcmp_ordered("<", z, _f64(10.0))
        shift = bd.select(small, bd.fsub(shift, bd.fdiv(one, z)), shift)
        z = bd.select(small, bd.fadd(z, one), z)
    inv_square = bd.fdiv(one, bd.fmul(z, z))
    series = bd.fmul(inv_square, _horner(bd, inv_square, _DIGAMMA_SERIES))
    result = bd.fsub(bd.fsub(em.libm("log", z), bd.fdiv(_f64(0.5), z)), series)
    result = bd.fadd(result, shift)
    result = bd.select(negative, bd.fsub(result, reflection), result)
    # On [1, 2] (holding the positive root, where the sum above cancels) use
    # Boost's rational approximation in (x - root), the root split in three parts.
    on_root_interval = bd.and_(bd.fcmp_ordered(">=", x, one), bd.fcmp_ordered("<=", x, _f64(2.0)))
    offset = x
    for part in _DIGAMMA_ROOT:
        offset = bd.fsub(offset, _f64(part))
    t = bd.fsub(x, one)
    rational = bd.fdiv(_horner(bd, t, _DIGAMMA_P[::-1]), _horner(bd, t, _DIGAMMA_Q[::-1]))
    near_root = bd.fadd(bd.fmul(offset, _f64(_DIGAMMA_Y)), bd.fmul(offset, rational))
    result = bd.select(on_root_interval, near_root, result)
    pole = bd.and_(negative, bd.fcmp_ordered("==", x, floor))
    bd.ret(bd.select(pole, _f64(math.nan), result))


def _compensated_sum(bd, terms):
    """sum(terms) with each addition's rounding error carried along (TwoSum)."""
    total, carry = terms[0], _f64(0.0)
    for t in terms[1:]:
        new = bd.fadd(total, t)
        back = bd.fsub(new, total)
        error = bd.fadd(bd.fsub(total, bd.fsub(new, back)), bd.fsub(t, back))
        total, carry = new, bd.fadd(carry, error)
    return bd.fadd(total, carry)


def bessel_i_builder(order):
    """A builder of I_order(x) (order 0 or 1) for float64: the power series up to
    |x| = 20, Hankel's asymptotic series above (the sums and term counts of
    tjit.special.bessel_i_int); even (I0) or odd (I1); +-inf beyond the overflow."""

    def build(em, args):
        (x,) = args
        bd = em.builder
        ax = em.intrinsic("fabs", x)
        # q = x*x/4 as q_hi + q_lo (fma gives the product's rounding error): term k
        # is proportional to q**k, so a rounded q alone would cost k ulps.
        square = bd.fmul(ax, ax)
        q_hi = bd.fmul(square, _f64(0.25))
        q_lo = bd.fmul(em.intrinsic("fma", ax, ax, bd.fneg(square)), _f64(0.25))
        term = _f64(1.0) if order == 0 else bd.fmul(ax, _f64(0.5))
        terms = [term]
        for k in range(1, special.BESSEL_I_SERIES_TERMS + 1):
            scaled = em.intrinsic("fma", term, q_hi, bd.fmul(term, q_lo))
            term = bd.fdiv(scaled, _f64(float(k * (k + order))))
            terms.append(term)
        series = _compensated_sum(bd, terms)
        mu = 4.0 * order * order
        term = _f64(1.0)
        terms = [term]
        for k in range(1, special.BESSEL_I_ASYMPTOTIC_TERMS + 1):
            c = -(mu - (2 * k - 1) ** 2) / (8.0 * k)
            term = bd.fdiv(bd.fmul(term, _f64(c)), ax)
            terms.append(term)
        asym = _compensated_sum(bd, terms)
        # e**|x| as a product of two halves: I(x) overflows later than e**|x| does.
        half = em.libm("exp", bd.fdiv(ax, _f64(2.0)))
        scale = em.intrinsic("sqrt", bd.fmul(_f64(2 * math.pi), ax))
        asym = bd.fmul(half, bd.fdiv(bd.fmul(half, asym), scale))
        result = bd.select(bd.fcmp_ordered("<=", ax, _f64(special.BESSEL_I_SWITCH)), series, asym)
        # beyond I's overflow (~713.99) the product above would be inf * 0 at huge |x|
        overflow = bd.fcmp_ordered(">", ax, _f64(special.BESSEL_I_OVERFLOW))
        result = bd.select(overflow, _f64(math.inf), result)
        bd.ret(em.intrinsic("copysign", result, x) if order == 1 else result)
    return build
