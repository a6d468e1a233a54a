"""Native float64 erfinv and erfcinv (vecmath/erfinv64.py): accuracy on every
target, special values, the code they compile to, level-0 = O3 bits, gradients.

Inputs: random points of (-1, 1) and (0, 2), 1 - 10**-k log-spaced toward +-1
(erfinv), 2**-k toward 0 down to the smallest subnormal and 2 - 2**-k
(erfcinv). Reference: mpmath (40 digits, two Newton steps from SciPy's value),
on the 250 points farthest from SciPy plus 150 random ones (SciPy itself is off
by up to ~3 ulp, and by far more at tiny y, so it only picks the suspects;
tools/sweep_erfinv64.py checks more). Bound 2 ulp vs
mpmath; measured <= 1.4 (docs/accuracy.md, tools/sweep_erfinv64.py).
"""
from __future__ import annotations

import functools

import mpmath
import numpy as np
import pytest
import scipy.special as sp

import tjit as theano
import tjit.tensor as T
from test_vecmath_explog import ulp_error
from helpers import check_float64_library_code

CPUS = ["host", "x86-64-v3", "x86-64"]
NAMES = ["erfinv", "erfcinv"]


@functools.lru_cache(maxsize=None)
def inputs():
    rng = np.random.default_rng(7)
    k = np.linspace(0, 1074, 3000)
    toward_one = 1 - np.logspace(-16.3, 0, 3000)
    return np.concatenate([
        rng.uniform(-1, 1, 20000), toward_one, -toward_one, rng.uniform(0, 2, 20000),
        2.0 ** -k, 2 - 2.0 ** -np.linspace(0, 53, 3000),
        [0.0, -0.0, 1.0, -1.0, 2.0, np.inf, -np.inf, np.nan, 5e-324, -5e-324,
         1 + 2.0 ** -52, 2 + 2.0 ** -51, 0.8, -0.8, 2.0 ** -30, 1 - 2.0 ** -53]])


@functools.lru_cache(maxsize=None)
def results(cpu, mode="FAST_RUN"):
    x = T.dvector()
    with theano.config.change_flags(cpu=cpu, threads=1, tiered=False):
        f = theano.function([x], [T.erfinv(x), T.erfcinv(x)], mode=mode)
    with np.errstate(all="ignore"):
        return dict(zip(NAMES, f(inputs())))


def mp_reference(name, ys):
    """(hi, lo) of erfinv / erfcinv at ys, from SciPy's value by Newton steps at 40
    digits on erf(x) = |y| (t = 1 - |y| or y or 2 - y above 1/2) or log erfc(x) = log t."""
    his, los = [], []
    with mpmath.workdps(40):
        c = 2 / mpmath.sqrt(mpmath.pi)
        for y in ys:
            with np.errstate(all="ignore"):
                x0 = float(getattr(sp, name)(y))
            if name == "erfcinv" and 0 < y < 1e-300:     # SciPy: inf at 5e-324
                x0 = float(np.sqrt(-np.log(y)))
            if not np.isfinite(x0) or x0 == 0:
                his.append(x0), los.append(0.0)
                continue
            big_y = mpmath.mpf(float(y))
            t = 1 - abs(big_y) if name == "erfinv" else min(big_y, 2 - big_y)
            a = abs(big_y) if name == "erfinv" else 1 - t
            x = mpmath.mpf(abs(x0))
            for _ in range(3):
                if t > 0.5:
                    x -= (mpmath.erf(x) - a) / (c * mpmath.exp(-x * x))
                else:
                    e = mpmath.erfc(x)
                    x += mpmath.log(e / t) * e / (c * mpmath.exp(-x * x))
            sign = 1 if x0 > 0 else -1
            his.append(sign * float(x)), los.append(sign * float(x - float(x)))
    return np.array(his), np.array(los)


@functools.lru_cache(maxsize=None)
def suspects(name):
    """Indices checked against mpmath, and their (hi, lo)."""
    got = results("host")[name]
    with np.errstate(all="ignore"):
        want = getattr(sp, name)(inputs())
    err = ulp_error(got, want, np.zeros_like(want))
    err[np.isnan(err)] = np.inf
    rng = np.random.default_rng(1)
    idx = np.union1d(np.argsort(-err)[:250], rng.choice(err.size, 150, replace=False))
    return idx, mp_reference(name, inputs()[idx])


@pytest.mark.parametrize("cpu", CPUS)
def test_max_ulp_error_against_mpmath_on_every_target(cpu):
    x = inputs()
    for name in NAMES:
        got = results(cpu)[name]
        idx, (hi, lo) = suspects(name)
        err = ulp_error(got[idx], hi, lo)
        k = int(np.argmax(err))
        assert err[k] <= 2.0, (cpu, name, x[idx][k], got[idx][k], hi[k], err[k])
        assert (err > 0.5).sum() > 3, (cpu, name)                # not vacuous


def test_special_values():
    got = results("host")
    y = np.array([0.0, -0.0, 1.0, -1.0, 2.0, np.inf, -np.inf, np.nan, 1 + 2.0 ** -52,
                  2 + 2.0 ** -51, -5e-324])
    at = [int(np.flatnonzero(inputs().view(np.int64) == v)[0]) for v in y.view(np.int64)]
    erfinv, erfcinv = got["erfinv"][at], got["erfcinv"][at]
    # erfinv: odd (-0 -> -0, tjit's convention; SciPy gives +0), +-inf at +-1, NaN outside
    np.testing.assert_array_equal(erfinv[:4], [0.0, -0.0, np.inf, -np.inf])
    assert not np.signbit(erfinv[0]) and np.signbit(erfinv[1])
    assert np.isnan(erfinv[4:10]).all()
    # erfcinv: +inf at 0 (either sign), +0 at 1, -inf at 2, NaN outside [0, 2]
    np.testing.assert_array_equal(erfcinv[[0, 1, 2, 4]], [np.inf, np.inf, 0.0, -np.inf])
    assert not np.signbit(erfcinv[2])
    assert np.isnan(erfcinv[[3, 5, 6, 7, 9, 10]]).all()
    # tiny erfinv: y sqrt(pi)/2 rounded once, subnormals too
    assert results("host")["erfinv"][at[10]] == -5e-324


def test_level0_code_gives_the_same_bits_as_o3():
    fast = results("host", theano.Mode(linker="native", optimizer="fast_compile"))
    for name in NAMES:
        np.testing.assert_array_equal(fast[name].view(np.int64), results("host")[name].view(np.int64))


def test_float64_code_is_ymm_fma_code_without_calls():
    check_float64_library_code(NAMES)


def test_gradients():
    x = T.dvector()
    f = theano.function([x], [T.grad(T.erfinv(x).sum(), x), T.grad(T.erfcinv(x).sum(), x)])
    ys = np.array([-0.9, -0.3, 0.0, 0.5, 0.99])
    ge = f(ys)[0]
    np.testing.assert_allclose(ge, np.sqrt(np.pi) / 2 * np.exp(sp.erfinv(ys) ** 2), rtol=1e-13)
    zs = ys + 1
    np.testing.assert_allclose(f(zs)[1], -np.sqrt(np.pi) / 2 * np.exp(sp.erfcinv(zs) ** 2), rtol=1e-13)
