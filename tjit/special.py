"""NumPy reference implementations of special functions (no SciPy at run time).

Computed in float64 with the C library's functions (through `math`) where it has
them; erfinv and psi are computed here. Used by `perform` (DebugMode, fallback).
Values at poles follow C99 (tgamma, lgamma) and SciPy (psi, erfinv).
"""
from __future__ import annotations

import functools
import math

import numpy as np


def _vectorize(fn):
    vf = np.vectorize(fn, otypes=[np.float64])

    def apply(x):
        x = np.asarray(x, dtype=np.float64)
        return vf(x) if x.size else np.empty(x.shape)
    return apply


def _safe(fn, pole):
    def f(v):
        try:
            return fn(v)
        except (ValueError, OverflowError):
            return pole(v)
    return f


def _gamma_pole(v):
    if v == 0.0:
        return math.copysign(math.inf, v)
    if v > 0:
        return math.inf
    return math.nan  # negative integers and -inf


def _lgamma(v):
    if v == -math.inf:
        return -math.inf  # as SciPy (C's lgamma gives +inf)
    try:
        return math.lgamma(v)
    except (ValueError, OverflowError):
        return math.inf


erf = _vectorize(math.erf)
erfc = _vectorize(math.erfc)
gamma = _vectorize(_safe(math.gamma, _gamma_pole))
gammaln = _vectorize(_lgamma)


def _psi1(x):
    """Digamma: reflection for x < 0, recurrence to x >= 6, asymptotic series."""
    if math.isnan(x) or x == -math.inf:
        return math.nan
    if x == math.inf:
        return math.inf
    if x == 0.0:
        return -math.copysign(math.inf, x)
    if x < 0:
        if x == math.floor(x):
            return math.nan
        # psi(1 - x) - psi(x) = pi / tan(pi x)
        return _psi1(1.0 - x) - math.pi / math.tan(math.pi * x)
    acc = 0.0
    while x < 6.0:
        acc -= 1.0 / x
        x += 1.0
    inv = 1.0 / (x * x)
    series = inv * (1 / 12 - inv * (1 / 120 - inv * (1 / 252 - inv * (
        1 / 240 - inv * (1 / 132 - inv * (691 / 32760 - inv / 12))))))
    return acc + math.log(x) - 0.5 / x - series


def _erfinv1(y):
    """Inverse error function: Giles' single-precision start, then Newton on erf."""
    if math.isnan(y) or abs(y) > 1:
        return math.nan
    if y == 1.0:
        return math.inf
    if y == -1.0:
        return -math.inf
    if y == 0.0:
        return y
    w = -math.log((1.0 - y) * (1.0 + y))
    if w < 5.0:
        w -= 2.5
        p = 2.81022636e-08
        for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
                  -0.00125372503, -0.00417768164, 0.246640727, 1.50140941):
            p = c + p * w
    else:
        w = math.sqrt(w) - 3.0
        p = -0.000200214257
        for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
                  -0.0076224613, 0.00943887047, 1.00167406, 2.83297682):
            p = c + p * w
    x = p * y
    for _ in range(3):  # Newton (Halley-free) steps: erf is smooth and cheap here
        err = (math.erfc(x) - (1.0 - y)) if y > 0.5 else (math.erf(x) - y)
        if y > 0.5:
            err = -err
        x -= err / (2.0 / math.sqrt(math.pi) * math.exp(-x * x))
    return x


psi = _vectorize(_psi1)
erfinv = _vectorize(_erfinv1)


# ---- inverse error function of the complement ---------------------------------
def _erfcinv1(y):
    """erfcinv(y) = erfinv(1 - y), solved in y itself so that small y keep their digits:
    for y > 1 by erfcinv(y) = -erfcinv(2 - y) (exact), then Newton on log(erfc(x) / t)."""
    if math.isnan(y) or y < 0.0 or y > 2.0:
        return math.nan
    if y == 0.0:
        return math.inf
    if y == 2.0:
        return -math.inf
    if y == 1.0:
        return 0.0
    if y > 1.0:
        return -_erfcinv1(2.0 - y)
    if y > 0.5:                     # 1 - y is exact here: erfinv's own route
        return _erfinv1(1.0 - y)
    t = y
    big_l = -math.log(t)
    x = math.sqrt(big_l)
    if t < 1e-167:      # erfc(x) nears the subnormals: solve its asymptotic form instead
        for _ in range(4):
            inv, term, series = 1.0 / (2.0 * x * x), 1.0, 1.0
            for k in range(1, 10):
                term *= inv * -(2.0 * k - 1)
                series += term
            f = x * x + math.log(x * math.sqrt(math.pi)) - (math.log(series) + big_l)
            x -= f / (2.0 * x + 1.0 / x)
        return x
    x = math.sqrt(max(big_l - math.log(x * math.sqrt(math.pi)), 0.25))
    for _ in range(5):
        slope = 2.0 / math.sqrt(math.pi) * math.exp(-x * x)
        tail = math.erfc(x)
        if tail == 0.0 or slope == 0.0:
            break
        x += math.log(tail / t) * tail / slope
    return x


erfcinv = _vectorize(_erfcinv1)


# ---- Bessel functions ----------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _libm_function(name):
    """The C library's double function `name` (glibc's libm has j0, j1): the
    native code calls the same function, so both agree bit for bit."""
    import ctypes
    lib = ctypes.CDLL("libm.so.6")
    fn = getattr(lib, name)
    fn.restype, fn.argtypes = ctypes.c_double, [ctypes.c_double]
    return fn


j0 = _vectorize(lambda v: _libm_function("j0")(v))
j1 = _vectorize(lambda v: _libm_function("j1")(v))

# The modified Bessel functions I0 and I1 (no libm function): the power series
# sum (x/2)**(2k+v) / (k! (k+v)!) up to |x| = 20 (all terms positive: no
# cancellation), Hankel's asymptotic series above. Term counts reach 1e-17 relative
# at the switch point; tjit/codegen/special_funcs.py emits the same series (there
# with fma-corrected terms and compensated sums: a few ulps closer).
BESSEL_I_SWITCH = 20.0
BESSEL_I_SERIES_TERMS = 38
BESSEL_I_ASYMPTOTIC_TERMS = 28
BESSEL_I_OVERFLOW = 715.0      # I0(x), I1(x) > 1.8e308 from x = 713.99


def bessel_i_int(order, x):
    """I_order(x) for order 0 or 1 and a float64 array x."""
    x = np.asarray(x, dtype=np.float64)
    ax = np.abs(x)
    with np.errstate(all="ignore"):
        q = ax * ax / 4
        term = np.ones_like(ax) if order == 0 else ax / 2
        series = term.copy()
        for k in range(1, BESSEL_I_SERIES_TERMS + 1):
            term = term * q / (k * (k + order))
            series = series + term
        mu = 4.0 * order * order
        term = np.ones_like(ax)
        asym = term.copy()
        for k in range(1, BESSEL_I_ASYMPTOTIC_TERMS + 1):
            term = term * (-(mu - (2 * k - 1) ** 2) / (8.0 * k)) / ax
            asym = asym + term
        half = np.exp(ax / 2)
        asym = half * (half * asym / np.sqrt(2 * math.pi * ax))
        out = np.where(ax <= BESSEL_I_SWITCH, series, asym)
        out = np.where(ax > BESSEL_I_OVERFLOW, math.inf, out)
    return np.copysign(out, x) if order == 1 else out


def i0(x):
    return bessel_i_int(0, x)


def i1(x):
    return bessel_i_int(1, x)


def scipy_special(name):
    """scipy.special.<name>: the NumPy reference of the ops tjit does not compute
    natively (jv, iv of real order). SciPy is optional at run time."""
    try:
        import scipy.special
    except ImportError:
        raise ImportError(f"tjit's {name} (computed by scipy.special.{name}, it has no "
                          "native form) needs SciPy: pip install scipy") from None
    return getattr(scipy.special, name)
