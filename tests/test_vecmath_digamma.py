"""Native digamma (psi) in float64 and float32 (vecmath/digamma.py): accuracy on
every target against mpmath, special values, level-0 = O3 bits, the code it
compiles to, and the gradient of gammaln (which is psi).

For cpu = host, x86-64-v3 (AVX2 + FMA) and x86-64 (SSE2: emulated fma), one
function computes psi of ~6,000 float64 points and the same points rounded to
float32: uniform on [0, 12] and [-12, 0], log-uniform magnitudes up to 1e300
(negatives: up to 1e15, integers dropped), around the positive root 1.4616...
and the first negative root -0.5040... (down to 1e-17 away), special values.
Reference: mpmath at 40 digits (SciPy's psi is itself off by up to ~2.6 ulp for
x > 0 and ~7 ulp near -0.504; docs/accuracy.md).
Bounds, in ulps of the exact value rounded to the dtype:
- x > 0 and |x + 0.504| < 0.1: relative, 2 ulp (x > 0) and 4 ulp (near the
  negative root); measured <= 1.45 / 1.41 (float64 / float32) and <= 2.71 / 2.48;
- other x < 0, where psi(1 - x) and pi cot(pi x) cancel near psi's other
  negative roots: absolute, 4 ulp of the largest of |psi(x)|, |psi(1 - x)|
  and |pi cot(pi x)| (as Cephes/SciPy, which are worse there); measured <= 2.48.
Larger sweeps: tools/fit_digamma.py --sweep (docs/accuracy.md).
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

CPUS = ["host", "x86-64-v3", "x86-64"]
DTYPES = ["float64", "float32"]
ROOT = 1.4616321449683623
NEG_ROOT = -0.5040830082644554
SPECIAL = np.array([0.0, -0.0, -1.0, -2.0, -1e300, np.inf, -np.inf, np.nan, 5e-324, -5e-324,
                    1e-310, -1e-310, 1e-45, -1e-45, 1e300, 3e38, -3e38])


@functools.lru_cache(maxsize=None)
def inputs(dtype):
    rng = np.random.default_rng(11)
    near = np.logspace(-17, -1, 150)
    x = np.concatenate([
        rng.uniform(0, 12, 2000), rng.uniform(-12, 0, 2000), 10 ** rng.uniform(-300, 300, 400),
        -(10 ** rng.uniform(-300, 15, 300)), ROOT + rng.uniform(-0.1, 0.1, 300), ROOT + near,
        ROOT - near, NEG_ROOT + rng.uniform(-0.1, 0.1, 300), NEG_ROOT + near, NEG_ROOT - near,
        [ROOT, NEG_ROOT, 1.0, 2.0, 0.5, 1.5, -0.5, -2.5, 10.0, 6.0, 9.999999999999998]])
    with np.errstate(over="ignore"):
        x = x.astype(dtype)
    x = x[np.isfinite(x) & ~((x < 0) & (x == np.rint(x)))]
    return np.concatenate([x, SPECIAL.astype(dtype)])


@functools.lru_cache(maxsize=None)
def results(cpu, mode="FAST_RUN"):
    x64, x32 = T.dvector(), T.fvector()
    with theano.config.change_flags(cpu=cpu, threads=1, tiered=False):
        f = theano.function([x64, x32], [T.psi(x64), T.psi(x32)], mode=mode)
    with np.errstate(all="ignore"):
        return dict(zip(DTYPES, f(inputs("float64"), inputs("float32"))))


@functools.lru_cache(maxsize=None)
def reference(dtype):
    """(hi, lo, scale): mpmath's psi (NaN at poles) and the absolute-error scale
    max(|psi(x)|, |psi(1 - x)|, |pi cot(pi x)|) for x < 0."""
    x = inputs(dtype).astype(np.float64)
    his, los = [], []
    with mpmath.workdps(40):
        for v in x:
            if not np.isfinite(v) or (v <= 0 and v == np.rint(v)):
                his.append(np.nan), los.append(0.0)
                continue
            r = mpmath.digamma(mpmath.mpf(v))
            his.append(float(r)), los.append(float(r - float(r)))
    hi, lo = np.array(his), np.array(los)
    with np.errstate(all="ignore"):
        cot = np.abs(np.pi / np.tan(np.pi * (x - np.rint(x))))
        scale = np.maximum(np.maximum(np.abs(hi), np.abs(sp.psi(1 - x))), cot)
    return hi, lo, scale


@pytest.mark.parametrize("cpu", CPUS)
def test_max_error_against_mpmath_on_every_target(cpu):
    for dtype in DTYPES:
        x = inputs(dtype)
        got = results(cpu)[dtype]
        assert got.dtype == dtype
        hi, lo, scale = reference(dtype)
        finite = np.isfinite(hi) & (np.abs(hi) < np.finfo(dtype).max)
        err = ulp_error(got, hi, lo)
        near_neg = np.abs(x - NEG_ROOT) < 0.1
        for mask, bound in [((x > 0) & finite, 2.0), (near_neg, 4.0)]:
            k = int(np.argmax(np.where(mask, err, 0)))
            assert err[k] <= bound, (cpu, dtype, x[k], got[k], hi[k], err[k])
            assert (err[mask] > 0.5).sum() > 3, (cpu, dtype)           # not vacuous
        # other negatives: absolute, in ulps of the largest term
        other = (x < 0) & finite & ~near_neg
        with np.errstate(all="ignore"):
            ulp = np.spacing(scale.astype(dtype)).astype(np.float64)
            abs_err = np.abs(got.astype(np.float64) - hi - lo) / ulp
        k = int(np.argmax(np.where(other, abs_err, 0)))
        assert abs_err[k] <= 4.0, (cpu, dtype, x[k], got[k], hi[k], abs_err[k])
        assert other.sum() > 1500


@pytest.mark.parametrize("cpu", CPUS)
def test_special_values_match_scipy(cpu):
    # tjit's float64 helper (before the math library) gave these too: -inf at +0
    # and tiny x (-1/x overflows), +inf at -0 and tiny -x, NaN at negative
    # integers (all x <= -2**52) and -inf, inf at inf
    for dtype in DTYPES:
        got = results(cpu)[dtype][-SPECIAL.size:]
        with np.errstate(all="ignore"):
            x = SPECIAL.astype(dtype)
            want = sp.psi(x.astype(np.float64)).astype(dtype)
        special = ~np.isfinite(want)
        np.testing.assert_array_equal(got[special], want[special], err_msg=f"{cpu} {dtype}")
        assert np.isfinite(got[~special]).all()
        np.testing.assert_allclose(got[~special], want[~special], rtol=1e-6)
    assert results(cpu)["float64"][-SPECIAL.size:][0] == -np.inf


def test_level0_code_gives_the_same_bits_as_o3():
    fast = results("host", theano.Mode(linker="native", optimizer="fast_compile"))
    for dtype, ity in [("float64", np.int64), ("float32", np.int32)]:
        np.testing.assert_array_equal(fast[dtype].view(ity), results("host")[dtype].view(ity))


@pytest.mark.parametrize("cpu", ["x86-64-v3", "x86-64"])
def test_float32_code_is_float32_vector_code_without_calls(cpu):
    check_float32_library_code(cpu, ["psi"])


def test_float64_code_is_ymm_fma_code_without_calls():
    check_float64_library_code(["psi"])


def test_gammaln_gradient_is_psi():
    """scalar.py's gammaln gradient is g * psi(x): against central differences of
    SciPy's gammaln (error ~1e-9 relative) and against psi's own value."""
    x = T.dvector()
    f = theano.function([x], [T.grad(T.gammaln(x).sum(), x), T.psi(x)])
    xs = np.array([0.3, 1.0, ROOT, 2.5, 7.25, 15.0, 1e3, -0.7, -2.5, -5.2])
    grad, psi = f(xs)
    h = 1e-6 * np.maximum(1.0, np.abs(xs))
    central = (sp.gammaln(xs + h) - sp.gammaln(xs - h)) / (2 * h)
    np.testing.assert_allclose(grad, central, rtol=1e-7, atol=1e-8)
    np.testing.assert_array_equal(grad, psi)
