"""NumPy reference implementations of special functions (no SciPy at run time).

Computed in float64 with the C library's functions (through `math`) where it has
them; erfinv and psi are computed here. Used by `perform` (DebugMode, fallback).
Values at poles follow C99 (tgamma, lgamma) and SciPy (psi, erfinv).
"""
from __future__ import annotations

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
