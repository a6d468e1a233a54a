"""Native j0 and j1 (vecmath/bessel_j.py), float64 and float32: accuracy on every
target against mpmath, special values, huge arguments, level-0 = O3 bits, the code
they compile to, gradients.

Points: uniform on [0, 5] (the rational branch) and [5, 60], log-uniform up to
1e6 and 1e300, the first ten zeros of J0 and J1 nudged by relative -1e-15 ..
1e-7, powers of two toward 0, some of them negated (j0 even, j1 odd). Reference:
mpmath (40 digits). Errors: ulps of the exact value where |J| > A/8, A =
1 on |x| <= 5, else sqrt(2/(pi |x|)) (the local amplitude), and on |x| <= 5 everywhere (the
first zero keeps its relative accuracy); elsewhere, near the zeros, the absolute
error in ulps of A (relative error is unbounded there in any such method: SciPy,
glibc). Bounds: 2.5 ulps, 2 ulps of A (measured here 1.66 and 1.22 at most, on
every target; docs/accuracy.md has the sweep over more points, tools/sweep_bessel_j.py).
"""
from __future__ import annotations

import functools
import re

import mpmath
import numpy as np
import pytest

import tjit as theano
import tjit.tensor as T
from helpers import (FLOAT32_CODE, check_float32_library_code, check_float64_library_code,
                     library_variant)
from tjit.codegen import target

CPUS = ["host", "x86-64-v3", "x86-64"]
NAMES = ["j0", "j1"]
# (ulps where |J| > A/8 or |x| <= 5, |error| in ulps of A)
BOUNDS = {"float64": (2.5, 2.0), "float32": (2.5, 2.0)}
SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -1e-310, 1e-30, 1e10, 1e300,
           -1e300, 1.7e308]


@functools.lru_cache(maxsize=None)
def inputs(dtype):
    rng = np.random.default_rng(11)
    with mpmath.workdps(30):
        zeros = [float(mpmath.besseljzero(n, k)) for n in (0, 1) for k in range(1, 11)]
    near = (np.array(zeros)[:, None] * (1 + np.array([-1e-15, -1e-9, 0.0, 1e-12, 1e-7]))).ravel()
    x = np.concatenate([rng.uniform(0, 5, 500), rng.uniform(5, 60, 500),
                        np.exp(rng.uniform(np.log(60), np.log(1e6), 200)),
                        10.0 ** rng.uniform(6, 300, 60), near, 2.0 ** -np.arange(1, 60, 4)])
    x[::7] *= -1
    with np.errstate(over="ignore"):
        x = x.astype(dtype)
    return x[np.isfinite(x)]


@functools.lru_cache(maxsize=None)
def reference(dtype):
    """{name: (hi, lo)}: mpmath's J at the points, as float64 pairs (~1 s)."""
    out = {}
    with mpmath.workdps(40):
        for order, name in enumerate(NAMES):
            exact = [mpmath.besselj(order, mpmath.mpf(float(v))) for v in inputs(dtype)]
            hi = np.array([float(e) for e in exact])
            out[name] = hi, np.array([float(e - mpmath.mpf(h)) for e, h in zip(exact, hi)])
    return out


@functools.lru_cache(maxsize=None)
def results(cpu, mode="FAST_RUN"):
    """{(name, dtype): values}: one function per target for both dtypes and SPECIAL."""
    x, y, s = T.dvector(), T.fvector(), T.dvector()
    with theano.config.change_flags(cpu=cpu, threads=1, tiered=False):
        f = theano.function([x, y, s], [T.j0(x), T.j1(x), T.j0(y), T.j1(y), T.j0(s), T.j1(s)],
                            mode=mode)
    with np.errstate(all="ignore"):
        values = f(inputs("float64"), inputs("float32"), np.array(SPECIAL))
    keys = [(n, d) for d in ("float64", "float32", "special") for n in NAMES]
    return dict(zip(keys, values))


def amplitude(x):
    """A bound of |J0|, |J1| near x: 1 on |x| <= 5, then sqrt(2/(pi |x|))."""
    ax = np.abs(x.astype(np.float64))
    return np.where(ax <= 5, 1.0, np.sqrt(2 / np.pi / np.maximum(ax, 5)))


def errors(got, hi, lo, x, dtype):
    """(ulps of the exact value, |error| in ulps of the amplitude A), float64 arrays."""
    amp = amplitude(x)
    err = np.abs((got.astype(np.float64) - hi) - lo)
    rel = err / np.spacing(np.abs(hi).astype(dtype)).astype(np.float64)
    return rel, err / np.spacing(amp.astype(dtype)).astype(np.float64)


@pytest.mark.parametrize("cpu", CPUS)
def test_error_against_mpmath_on_every_target(cpu):
    for dtype in ("float64", "float32"):
        x = inputs(dtype)
        amp = amplitude(x)
        rel_bound, abs_bound = BOUNDS[dtype]
        for name in NAMES:
            got = results(cpu)[name, dtype]
            assert got.dtype == dtype
            hi, lo = reference(dtype)[name]
            rel, absolute = errors(got, hi, lo, x, dtype)
            checked = (np.abs(hi) > amp / 8) | (np.abs(x) <= 5)
            k = int(np.argmax(np.where(checked, rel, 0)))
            assert rel[k] <= rel_bound, (cpu, dtype, name, x[k], got[k], hi[k], rel[k])
            k = int(np.argmax(absolute))
            assert absolute[k] <= abs_bound, (cpu, dtype, name, x[k], got[k], hi[k], absolute[k])
            assert (rel[checked] > 1).sum() > 3, (cpu, dtype, name)      # not vacuous


def test_first_zeros_keep_relative_accuracy():
    """J0 at the double next to its first zero is -6.109e-17 (glibc: -5.55e-17, SciPy:
    -9.59e-17); J1 likewise."""
    x = inputs("float64")
    for name, zero in [("j0", 2.404825557695773), ("j1", 3.8317059702075125)]:
        at = np.flatnonzero(np.abs(x) == zero)
        hi, lo = reference("float64")[name]
        rel, _ = errors(results("host")[name, "float64"][at], hi[at], lo[at], x[at], np.float64)
        assert at.size >= 1 and rel.max() <= 2, (name, rel)


def test_special_values_and_huge_arguments():
    """As glibc's j0/j1 (tjit before these kernels): J0(+-0) = 1, J1(+-0) = +-0,
    J0(+-inf) = +0, J1(+-inf) = +-0, NaN -> NaN, and the right values at 1e10 ..
    1.7e308 (SciPy: NaN at inf, no accurate reduction of huge x)."""
    got = results("host")
    j0, j1 = got["j0", "special"], got["j1", "special"]
    np.testing.assert_array_equal(j0[:4], [1.0, 1.0, 0.0, 0.0])
    np.testing.assert_array_equal(np.signbit(j1[:4]), [False, True, False, True])
    assert (j1[:4] == 0).all() and not np.signbit(j0[2:4]).any()
    assert np.isnan(j0[4]) and np.isnan(j1[4])
    np.testing.assert_array_equal(j0[5:8], [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(j1[5:8], [0.0, -5e-311, 5e-31])
    with mpmath.workdps(40):
        for i in range(8, len(SPECIAL)):
            v = mpmath.mpf(SPECIAL[i])
            for value, order in [(j0[i], 0), (j1[i], 1)]:
                want = float(mpmath.besselj(order, v))
                assert abs(value - want) <= 4 * np.spacing(np.sqrt(2 / np.pi / abs(SPECIAL[i]))), (
                    SPECIAL[i], order, value, want)
    for cpu in CPUS[1:]:
        for key in [("j0", "special"), ("j1", "special")]:
            np.testing.assert_array_equal(results(cpu)[key].view(np.int64),
                                          got[key].view(np.int64))


def test_float32_special_values_and_symmetry():
    x = T.fvector()
    f = theano.function([x], [T.j0(x), T.j1(x)], mode="FAST_COMPILE")
    v = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, 3e38, -3e38, 7.5, -7.5],
                 dtype=np.float32)
    j0, j1 = f(v)
    np.testing.assert_array_equal(j0[[0, 1, 2, 3, 5]], [1, 1, 0, 0, 1])
    np.testing.assert_array_equal(np.signbit(j1[:4]), [False, True, False, True])
    assert (j1[:4] == 0).all() and np.isnan(j0[4]) and np.isnan(j1[4]) and j1[5] == 0
    assert j0[6] == j0[7] and j1[6] == -j1[7] and j0[8] == j0[9] and j1[8] == -j1[9]
    with mpmath.workdps(40):
        for value, order in [(j0[6], 0), (j1[6], 1)]:
            want = float(mpmath.besselj(order, mpmath.mpf(float(v[6]))))
            assert abs(value - want) <= 4 * np.spacing(np.float32(np.sqrt(2 / np.pi / 3e38)))


def test_level0_code_gives_the_same_bits_as_o3():
    fast = results("host", theano.Mode(linker="native", optimizer="fast_compile"))
    for key, value in results("host").items():
        np.testing.assert_array_equal(fast[key].view(value.dtype.str.replace("f", "i")),
                                      value.view(value.dtype.str.replace("f", "i")), err_msg=str(key))


def test_float64_code_is_ymm_fma_code_without_calls():
    check_float64_library_code(NAMES)


# float64 arithmetic, conversions and compares (vblendvpd, vandpd, vbroadcastsd and
# vpermpd also appear: they move the float32 code's i64 words of 2/pi, no float64)
DOUBLE_MATH = re.compile(r"v?(add|sub|mul|div|sqrt|min|max|round|cmp\w*|u?comi|"
                         r"cvt\w*|f?n?m(add|sub)\w*)[ps]d$|v?cvt\w*(2pd|2sd)$")


@pytest.mark.parametrize("cpu", ["x86-64-v3", "x86-64"])
def test_float32_code_is_float32_vector_code_without_calls_gathers_or_doubles(cpu):
    check_float32_library_code(cpu, NAMES, DOUBLE_MATH)
    with target.LLVM_LOCK, target.pinned(target.resolve(cpu)):    # the pattern sees float64 code
        lanes = FLOAT32_CODE[cpu][1] // 2
        assert [op for op in library_variant("j0", "float64", lanes)[1] if DOUBLE_MATH.match(op)]


def test_gradients_against_finite_differences():
    x = T.dvector()
    f = theano.function([x], [T.grad(T.j0(x).sum(), x), T.grad(T.j1(x).sum(), x), T.j1(x)])
    v = np.array([-7.3, -2.0, 0.5, 2.404825557695773, 4.9, 5.1, 13.0, 1e4])
    g0, g1, j1 = f(v)
    np.testing.assert_array_equal(g0, -j1)
    h = 1e-6
    fd = theano.function([x], [T.j0(x), T.j1(x)])
    (p0, p1), (m0, m1) = fd(v + h), fd(v - h)
    np.testing.assert_allclose(g0, (p0 - m0) / (2 * h), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(g1, (p1 - m1) / (2 * h), rtol=1e-6, atol=1e-9)
