"""Native i0 and i1 (vecmath/bessel_i.py), float64 and native float32: accuracy on
every target, special values, level-0 = O3 bits, the code they compile to,
gradients.

float64: 1300 points (uniform over [-12.5, 12.5] and [-714, 714], around the
switch at 12, log-uniform magnitudes from 1e-320 to 700) against mpmath at 30
digits (SciPy, Cephes, is off by up to ~10 ulp there, so it is no reference);
bound 1 ulp, measured <= 0.61 (docs/accuracy.md, tools/sweep_bessel_i.py). float32: every 32771st bit
pattern and 40,001 points of [-95, 95] against SciPy in float64 (its error is
far below a float32 ulp); bound 1 ulp, measured <= 0.59.
Special values (as tjit's float64 helper did before; SciPy differs at +-inf,
where it gives NaN, and between 709.78 and 713.98, where it overflows early):
i0 even, i1 odd (i1(-0) = -0), +-inf at +-inf, NaN at NaN, finite up to the
true overflow (713.98 in float64, 91.9 in float32).
"""
from __future__ import annotations

import functools

import llvmlite.binding as llvm
import mpmath
import numpy as np
import pytest
import scipy.special as sp

import tjit as theano
import tjit.tensor as T
from helpers import check_float32_library_code, check_float64_library_code
from test_vecmath_explog import ulp_error
from tjit.codegen import mathlib_scalar, target

CPUS = ["host", "x86-64-v3", "x86-64"]
NAMES = ["i0", "i1"]
SPECIALS = [0.0, -0.0, np.inf, -np.inf, np.nan, 713.98, -713.98, 713.99, -713.99,
            1e-300, -1e-300, 12.0, -12.0, 8.0, 91.9, 91.95, -91.95]


@functools.lru_cache(maxsize=None)
def inputs(dtype):
    """(points, n): the inputs; the first n are checked against the reference."""
    rng = np.random.default_rng(11)
    if dtype == "float64":
        sign = rng.choice([-1.0, 1.0], 1300)
        x = np.concatenate([rng.uniform(0, 12.5, 500), rng.uniform(0, 714, 400),
                            rng.uniform(11.5, 12.5, 100), 10 ** rng.uniform(-320, 2.845, 300)]) * sign
    else:
        bits = np.arange(0, 1 << 32, 32771, dtype=np.uint64).astype(np.uint32)
        with np.errstate(invalid="ignore"):
            x = np.concatenate([bits.view(np.float32), np.linspace(-95, 95, 40001)]).astype(np.float32)
    return np.concatenate([x, np.array(SPECIALS, dtype=dtype)]), x.size


@functools.lru_cache(maxsize=None)
def results(cpu, dtype, mode="FAST_RUN"):
    x = T.vector(dtype=dtype)
    with theano.config.change_flags(cpu=cpu, threads=1, tiered=False):
        f = theano.function([x], [T.i0(x), T.i1(x)], mode=mode)
    with np.errstate(all="ignore"):
        return dict(zip(NAMES, f(inputs(dtype)[0])))


@functools.lru_cache(maxsize=None)
def reference(name, dtype):
    """(hi, lo) of the true values at the checked inputs: mpmath (float64, ~0.4 s
    a function) or SciPy in float64 (float32; lo = 0)."""
    x, n = inputs(dtype)
    x = x[:n].astype(np.float64)
    if dtype == "float32":
        with np.errstate(all="ignore"):
            return getattr(sp, name)(x), np.zeros(n)
    order = int(name[1])
    his, los = [], []
    with mpmath.workdps(30):
        for v in x:
            exact = mpmath.besseli(order, mpmath.mpf(float(v)))
            hi = float(exact)
            his.append(hi)
            los.append(float(exact - hi) if np.isfinite(hi) else 0.0)
    return np.array(his), np.array(los)


@pytest.mark.parametrize("cpu", CPUS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_max_ulp_error_on_every_target(cpu, dtype):
    x, n = inputs(dtype)
    for name in NAMES:
        got = results(cpu, dtype)[name]
        assert got.dtype == dtype
        hi, lo = reference(name, dtype)
        finite = np.isfinite(x[:n])        # SciPy gives NaN at +-inf: see test_special_values
        err = ulp_error(got[:n][finite], hi[finite], lo[finite])
        k = int(np.argmax(err))
        assert err[k] <= 1.0, (cpu, dtype, name, x[:n][finite][k], got[:n][finite][k], hi[finite][k])
        assert (err > 0.5).sum() > 0, (cpu, dtype, name)            # not vacuous


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_special_values(dtype):
    n = inputs(dtype)[1]
    i0, i1 = (results("host", dtype)[name][n:] for name in NAMES)
    at = {v: i for i, v in enumerate(SPECIALS) if v == v}          # NaN: index 4

    def same(got, want):
        return np.array_equal(got, np.array(want, dtype=dtype), equal_nan=True) and (
            np.array_equal(np.signbit(got), np.signbit(np.array(want, dtype=dtype))))
    # 0, -0, inf, -inf, NaN: i0 even, i1 odd (SciPy: NaN at +-inf)
    assert same(i0[:5], [1.0, 1.0, np.inf, np.inf, np.nan])
    assert same(i1[:5], [0.0, -0.0, np.inf, -np.inf, np.nan])
    if dtype == "float64":
        # finite up to the true overflow (SciPy: inf from 709.78), inf above
        with mpmath.workdps(30):
            assert i0[at[713.98]] == i0[at[-713.98]] == float(mpmath.besseli(0, 713.98))
            assert i1[at[713.98]] == -i1[at[-713.98]] == float(mpmath.besseli(1, 713.98))
        assert same(i0[[at[713.99], at[-713.99]]], [np.inf, np.inf])
        assert same(i1[[at[713.99], at[-713.99]]], [np.inf, -np.inf])
        assert i0[at[1e-300]] == 1.0 and i1[at[1e-300]] == 5e-301 and i1[at[-1e-300]] == -5e-301
        assert i0[at[12.0]] == sp.i0(12.0) and i1[at[-12.0]] == -sp.i1(12.0)
    else:
        # the overflow: I0(91.9) = 3.4002e38 (float32 max 3.4028e38)
        assert abs(i0[at[91.9]] / sp.i0(np.float64(np.float32(91.9))) - 1) < 1e-7
        assert i0[at[91.95]] == np.inf and i1[at[-91.95]] == -np.inf


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_level0_code_gives_the_same_bits_as_o3(dtype):
    fast = results("host", dtype, theano.Mode(linker="native", optimizer="fast_compile"))
    view = np.int64 if dtype == "float64" else np.int32
    for name in NAMES:
        np.testing.assert_array_equal(fast[name].view(view), results("host", dtype)[name].view(view))


@pytest.mark.parametrize("cpu", ["x86-64-v3", "x86-64"])
def test_float32_code_is_float32_vector_code_without_calls(cpu):
    check_float32_library_code(cpu, NAMES)


def test_float64_code_is_ymm_fma_code_without_calls():
    check_float64_library_code(NAMES)


def test_gradients_against_finite_differences():
    # i0' = i1 (the library's i1), i1' = i0 - i1/x (1/2 at 0)
    x = T.dvector()
    f = theano.function([x], [T.i0(x), T.i1(x), T.grad(T.i0(x).sum(), x),
                              T.grad(T.i1(x).sum(), x)])
    xs = np.array([-30.0, -5.0, -0.5, 0.0, 0.3, 2.0, 11.9, 12.1, 40.0, 300.0])
    h = 1e-6 * np.maximum(1.0, np.abs(xs))
    up, down = f(xs + h), f(xs - h)
    _, _, g0, g1 = f(xs)
    np.testing.assert_allclose(g0, (up[0] - down[0]) / (2 * h), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(g1, (up[1] - down[1]) / (2 * h), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(g0, sp.i1(xs), rtol=4e-15)


def test_builds_for_aarch64():
    arm = target.Target("aarch64", "aarch64-unknown-linux-gnu", "generic", "+neon")
    with target.LLVM_LOCK, target.pinned(arm):
        module = llvm.parse_assembly(mathlib_scalar.library_module_ir(
            [(name, dtype) for name in NAMES for dtype in ("float64", "float32")]))
        module.verify()
        obj = target.target_machine(0).emit_object(module)
    assert obj[:4] == b"\x7fELF" and int.from_bytes(obj[18:20], "little") == 183
