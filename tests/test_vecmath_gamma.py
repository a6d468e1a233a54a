"""Native gamma and gammaln (vecmath/gamma.py), float64 and float32: accuracy on
every target, special values, the code they compile to, level-0 = O3 bits, gamma's
gradient.

For cpu = host, x86-64-v3 (AVX2 + FMA) and x86-64 (SSE2: emulated fma), one
function computes gamma of a float64 vector and of a float32 vector.
float64 inputs: uniform over [-186, 172], [-10, 10], log-uniform magnitudes
(1e-20 .. 180, both signs), points 1e-15 .. 0.1 from the poles -1 .. -179.
Reference: mpmath, on the 200 points farthest from SciPy plus 200 random ones
(SciPy is itself off by up to ~5 ulp, and returns 0 for x < -171.6 where the
true value is a subnormal; it only picks the suspects). Bound 2 ulp (subnormal
results: ulps of the subnormal spacing); measured <= 1.0 (tools/fit_gamma.py).
float32 inputs: every 32771st bit pattern (all exponents, both signs, NaN,
inf) and 20,001 points of [-46, 36]; reference SciPy's float64 gamma (a few
float64 ulps off: nothing in float32 ulps). Bound 2 ulp; measured <= 0.9.
Special values as glibc's tgamma (tjit's before): +-0 -> +-inf, negative
integers and -inf -> NaN, +inf -> inf, overflow to inf past 171.62 (float32:
35.04), zeros of the right sign far left.
gammaln: native in float32 only (float64 stays libm's lgamma, faster than the
native float64 code). float64 (libm; the reference of the float32 check): the same
float64 inputs plus points 1e-12 .. 0.3 from 1 and 2 and magnitudes up to 1e305, vs
mpmath on the suspects as above (SciPy is off by up to ~2e12 ulp near x = 1), bound
4 ulp (libm measured 2.74), except near its zeros at negative x (|log|gamma|| < 0.5):
absolute error <= 2e-16 there (libm 1.1e-16), as Cephes bounds it. float32: vs
tjit's float64 gammaln of the same points, bound 2 ulp (absolute 5e-8 near the
negative zeros); measured <= 0.58.
Special values as SciPy: +inf at 0, -0 and the poles, -inf at -inf, 0 at 1 and 2.
"""
from __future__ import annotations

import functools

import mpmath
import numpy as np
import pytest
import scipy.special as sp

import tjit as theano
import tjit.tensor as T
from helpers import check_float32_library_code, check_float64_library_code
from test_vecmath_explog import ulp_error
from tjit.codegen.scalar_ops import in_library

CPUS = ["host", "x86-64-v3", "x86-64"]
SPECIAL = [0.0, -0.0, -1.0, -2.0, -170.0, -1e300, -np.inf, np.inf, np.nan, 5e-324, -5e-324,
           1e-300, -1e-20, 2.0 ** -57, 171.62, 171.63, 1e300, -171.5, -180.5, -190.5, 1.0, 2.0,
           3.0, 0.5, -0.5, -4503599627370497.0]


@functools.lru_cache(maxsize=None)
def inputs64():
    rng = np.random.default_rng(11)
    poles = -rng.integers(1, 180, 3000).astype(np.float64)
    near = poles + rng.choice([-1.0, 1.0], 3000) * 10.0 ** rng.uniform(-15, -1, 3000)
    return np.concatenate([
        rng.uniform(-186, 172, 20000), rng.uniform(-10, 10, 10000),
        rng.choice([-1.0, 1.0], 6000) * 10.0 ** rng.uniform(-20, 2.26, 6000), near,
        rng.choice([1.0, 2.0], 3000) + rng.choice([-1.0, 1.0], 3000) * 10.0 ** rng.uniform(-12, -0.5, 3000),
        rng.choice([-1.0, 1.0], 2000) * 10.0 ** rng.uniform(2.26, 305.4, 2000), SPECIAL])


@functools.lru_cache(maxsize=None)
def inputs32():
    bits = np.arange(0, 1 << 32, 32771, dtype=np.uint64).astype(np.uint32)
    with np.errstate(invalid="ignore"):
        return np.concatenate([bits.view(np.float32), np.linspace(-46, 36, 20001),
                               np.array(SPECIAL)]).astype(np.float32)


@functools.lru_cache(maxsize=None)
def results(cpu, mode="FAST_RUN"):
    x, y = T.dvector(), T.fvector()
    with theano.config.change_flags(cpu=cpu, threads=1, tiered=False):
        f = theano.function([x, y], [T.gamma(x), T.gamma(y), T.gammaln(x), T.gammaln(y),
                                     T.gammaln(T.cast(y, "float64"))], mode=mode)
    with np.errstate(all="ignore"):
        return f(inputs64(), inputs32())


@functools.lru_cache(maxsize=None)
def suspects(name="gamma"):
    """Indices of inputs64 checked against mpmath, and mpmath's (hi, lo) there."""
    got = results("host")[0 if name == "gamma" else 2]
    with np.errstate(all="ignore"):
        want = getattr(sp, name)(inputs64())
    err = ulp_error(got, want, np.zeros_like(want))
    err[np.isnan(err)] = np.inf
    rng = np.random.default_rng(2)
    idx = np.union1d(np.argsort(-err)[:200], rng.choice(err.size, 200, replace=False))
    his, los = [], []
    with mpmath.workdps(40):
        for v in inputs64()[idx]:
            if not np.isfinite(v) or (v <= 0 and v == np.round(v)):
                with np.errstate(all="ignore"):
                    his.append(float(getattr(sp, name)(v))), los.append(0.0)
                continue
            if name == "gamma":
                g = mpmath.gamma(mpmath.mpf(float(v))) if v > -1e4 else mpmath.mpf(0)
            else:
                g = mpmath.re(mpmath.loggamma(mpmath.mpf(float(v))))
            hi = float(g)
            his.append(hi), los.append(float(g - hi) if np.isfinite(hi) else 0.0)
    return idx, np.array(his), np.array(los)


def ulps_with_subnormals(got, hi, lo, dtype):
    """ulp_error, with subnormal results in ulps of the subnormal spacing."""
    err = ulp_error(got, hi, lo)
    info = np.finfo(dtype)
    small = np.abs(hi) < info.tiny
    with np.errstate(all="ignore"):
        err[small] = (np.abs((got[small].astype(np.float64) - hi[small]) - lo[small])
                      / (float(info.tiny) * float(info.eps)))
    return err


@pytest.mark.parametrize("cpu", CPUS)
def test_max_ulp_error_on_every_target(cpu):
    got64, got32 = results(cpu)[:2]
    idx, hi, lo = suspects()
    err = ulps_with_subnormals(got64[idx], hi, lo, np.float64)
    k = int(np.argmax(err))
    assert err[k] <= 2.0, (cpu, inputs64()[idx][k], got64[idx][k], hi[k], err[k])
    assert (err > 0.5).sum() > 3, cpu                              # not vacuous
    x32 = inputs32()
    assert got32.dtype == np.float32
    with np.errstate(all="ignore"):
        want = sp.gamma(x32.astype(np.float64))
    err = ulps_with_subnormals(got32, want, np.zeros_like(want), np.float32)
    k = int(np.argmax(err))
    assert err[k] <= 2.0, (cpu, x32[k], got32[k], want[k], err[k])
    assert (err > 0.5).sum() > 10, cpu


def _at(values, xs):
    return [int(np.flatnonzero((values == v) & (np.signbit(values) == np.signbit(v)))[0])
            if not np.isnan(v) else int(np.flatnonzero(np.isnan(values))[0]) for v in xs]


class SpecialValues:
    """gamma at SPECIAL, looked up by the input (-0.0 and nan apart from 0.0)."""

    def __init__(self, values):
        self.values = {repr(float(v)): r for v, r in zip(SPECIAL, values)}

    def __getitem__(self, v):
        return self.values[repr(float(v))]


@pytest.mark.parametrize("cpu", CPUS)
def test_special_values(cpu):
    got64, got32 = results(cpu)[:2]
    for got, xs, dtype in [(got64, inputs64(), np.float64), (got32, inputs32(), np.float32)]:
        with np.errstate(over="ignore"):                 # 1e300 and 171.63 as float32
            g = SpecialValues(got[_at(xs, np.array(SPECIAL, dtype))])
        assert g[0.0] == np.inf and not np.signbit(g[0.0]) and g[-0.0] == -np.inf
        for pole in [-1.0, -2.0, -170.0, -1e300, -np.inf, np.nan, -4503599627370497.0]:
            assert np.isnan(g[pole]), (dtype, pole, g[pole])
        assert g[np.inf] == np.inf and g[1e300] == np.inf and g[171.63] == np.inf
        assert g[1.0] == 1.0 and g[2.0] == 1.0 and g[3.0] == 2.0
        # far left: zeros carrying the sign of gamma there ((-1)**ceil(-x))
        assert g[-180.5] == 0 and np.signbit(g[-180.5]) and g[-190.5] == 0 and np.signbit(g[-190.5])
        # tiny x: 1/x (- euler_gamma): overflow to +-inf, or the rounded reciprocal
        assert g[-1e-20] == dtype(-1e20)
        if dtype == np.float64:
            assert g[5e-324] == np.inf and g[-5e-324] == -np.inf
            assert g[1e-300] == 1 / np.float64(1e-300) == sp.gamma(1e-300)
            assert g[2.0 ** -57] == 2.0 ** 57
            assert g[171.62] == float(mpmath.gamma(171.62)) == 1.7576826789978127e308
            # a subnormal result (SciPy gives 0 here), right to the subnormal grid
            assert abs(g[-171.5] - 1.9316265431712e-310) <= 5e-324
        else:
            assert np.isnan(g[-1e300]) and g[5e-324] == np.inf      # 5e-324 is +0 in float32
            assert g[-171.5] == 0 and not np.signbit(g[-171.5])


@pytest.mark.parametrize("cpu", CPUS)
def test_gammaln_max_error_on_every_target(cpu):
    _, _, got64, got32, wide = results(cpu)
    idx, hi, lo = suspects("gammaln")
    x = inputs64()[idx]
    err = ulp_error(got64[idx], hi, lo)
    zero = (x < 0) & (np.abs(hi) < 0.5)          # near log|gamma|'s zeros at negative x
    assert zero.sum() > 3 and (err[~zero] > 0.3).sum() > 3, cpu        # not vacuous
    k = int(np.argmax(np.where(zero, 0, err)))
    assert err[k] <= 4.0, (cpu, x[k], got64[idx][k], hi[k], err[k])     # libm's lgamma
    absolute = np.abs((got64[idx][zero] - hi[zero]) - lo[zero])
    assert absolute.max() <= 2e-16, (cpu, absolute.max())
    x32 = inputs32()
    err = ulp_error(got32, wide, np.zeros_like(wide))
    zero = (x32 < 0) & (np.abs(wide) < 0.5)
    k = int(np.argmax(np.where(zero, 0, err)))
    assert err[k] <= 2.0, (cpu, x32[k], got32[k], wide[k], err[k])
    assert (err[~zero] > 0.5).sum() > 10, cpu
    assert np.abs(got32[zero] - wide[zero]).max() <= 5e-8, cpu


def test_gammaln_special_values():
    _, _, got64, got32, _ = results("host")
    for got, xs, dtype in [(got64, inputs64(), np.float64), (got32, inputs32(), np.float32)]:
        with np.errstate(over="ignore"):
            g = SpecialValues(got[_at(xs, np.array(SPECIAL, dtype))])
        for pole in [0.0, -0.0, -1.0, -2.0, -170.0, -4503599627370497.0, np.inf]:
            assert g[pole] == np.inf, (dtype, pole, g[pole])
        assert g[-1e300] == (np.inf if dtype == np.float64 else -np.inf)   # float32: -inf
        assert g[-np.inf] == -np.inf and np.isnan(g[np.nan])
        assert g[1.0] == 0 and g[2.0] == 0 and g[3.0] == dtype(np.log(2))
        assert g[-1e-20] == dtype(np.log(1e20))
        if dtype == np.float64:
            assert g[5e-324] == g[-5e-324] == -np.log(5e-324)
            np.testing.assert_allclose([g[1e300], g[171.63]], sp.gammaln([1e300, 171.63]), rtol=4e-16)
    # overflow: log gamma(x) > 1.8e308 from x = 2.5563e305 (float32: 4.08e36)
    x = T.dvector()
    y = T.fvector()
    f = theano.function([x, y], [T.gammaln(x), T.gammaln(y)])
    big64, big32 = f([2.55e305, 2.56e305], np.array([4.0e36, 4.1e36], np.float32))
    assert np.isfinite(big64[0]) and big64[1] == np.inf
    assert np.isfinite(big32[0]) and big32[1] == np.inf


def test_level0_code_gives_the_same_bits_as_o3():
    fast = results("host", theano.Mode(linker="native", optimizer="fast_compile"))
    for a, b in zip(fast, results("host")):
        np.testing.assert_array_equal(a.view(a.dtype.str.replace("f", "i")),
                                      b.view(b.dtype.str.replace("f", "i")))


@pytest.mark.parametrize("cpu", ["x86-64-v3", "x86-64"])
def test_float32_code_is_float32_vector_code_without_calls(cpu):
    check_float32_library_code(cpu, ["gamma", "gammaln"])


def test_float64_code_is_ymm_fma_code_without_calls():
    check_float64_library_code(["gamma"])


def test_gammaln_is_native_for_float32_only():
    assert in_library("gammaln", "float32") and not in_library("gammaln", "float64")
    assert in_library("gamma", "float32") and in_library("gamma", "float64")


def test_gradient_against_finite_differences():
    x = T.dvector()
    f = theano.function([x], T.grad(T.gamma(x).sum(), x))
    xs = np.array([-2.5, -0.3, 0.2, 1.0, 1.4616321449683622, 3.7, 10.5, 30.0])
    h = 1e-6 * np.maximum(1.0, np.abs(xs))
    numeric = (sp.gamma(xs + h) - sp.gamma(xs - h)) / (2 * h)
    np.testing.assert_allclose(f(xs), numeric, rtol=1e-6, atol=1e-9)
    assert abs(f(xs)[4]) < 1e-12                     # the minimum of gamma on x > 0
