"""T.arcsinh, arccosh, arctanh, erfcinv, j0, j1, i0, i1 (native) and jv, iv (SciPy)
against NumPy/SciPy over wide ranges in float64 and float32, their dtype rules,
special values, gradients against finite differences, the NumPy references
(DebugMode) and the error when SciPy is missing.

Error bounds asserted against SciPy (they include SciPy's own error, up to 8 ulp for
i1 and 6 for erfcinv; tjit's own, against mpmath, is in docs/accuracy.md):
- arcsinh, arccosh, arctanh: the vector library (test_vecmath_hyperbolic_inverse.py);
  float64 relative 4e-16, float32 2.5e-7 (2 ulp).
- erfcinv: relative 2e-15 (float64), 2.5e-7 (float32) on [1e-300, 2) (f32: [1e-37, 2)).
- j0, j1: libm's double functions: |error| <= 1e-13 |J| + 2e-15 on [-200, 200]
  (relative error is unbounded at the zeros of J, in SciPy too); float32 rounded from
  float64: 2.5e-7 relative + 1e-7 absolute.
- i0, i1: relative 3e-15 (float64) on [-709, 709] and in log space up to the
  overflow (SciPy's i0 itself overflows from 709.8); float32 2.5e-7.
"""
from __future__ import annotations

import sys

import numpy as np
import pytest
from scipy import special as sp

import tjit as theano
import tjit.tensor as T
from tjit.gradient import NullGradError

NATIVE = ["arcsinh", "arccosh", "arctanh", "erfcinv", "j0", "j1", "i0", "i1"]
DTYPES = ["float64", "float32"]
REFERENCE = {"arcsinh": np.arcsinh, "arccosh": np.arccosh, "arctanh": np.arctanh,
             "erfcinv": sp.erfcinv, "j0": sp.j0, "j1": sp.j1, "i0": sp.i0, "i1": sp.i1}


def _points(name, dtype):
    """Inputs covering each function's domain: tiny to huge magnitudes, both signs,
    dense sweeps of the middle, the approaches to the domain's ends."""
    f64 = dtype == "float64"
    tiny, big = (-300, 300) if f64 else (-37, 37)
    if name == "arcsinh":
        m = np.concatenate([np.logspace(tiny, big, 2000), np.linspace(0, 30, 2000)])
        return np.concatenate([m, -m])
    if name == "arccosh":
        return np.concatenate([1 + np.logspace(-15 if f64 else -7, 0, 1000),
                               np.logspace(0, big, 2000)])
    if name == "arctanh":
        m = np.concatenate([np.logspace(tiny, -1, 1000), np.linspace(0, 1, 2001)[:-1],
                            1 - np.logspace(-16 if f64 else -7.5, -1, 1000)])
        return np.concatenate([m, -m])
    if name == "erfcinv":
        return np.concatenate([np.logspace(tiny, -0.3, 2000), np.linspace(0, 2, 4001)[1:-1],
                               2 - np.logspace(-15.5 if f64 else -7, 0, 1000)])
    if name in ("j0", "j1"):
        m = np.concatenate([np.linspace(0, 200, 20001), np.logspace(tiny, 1, 1000)])
        return np.concatenate([m, -m])
    hi = 709 if f64 else 88
    m = np.concatenate([np.linspace(0, hi, 20001), np.logspace(tiny, 1, 1000)])
    return np.concatenate([m, -m])


def _bounds(name, dtype):
    if dtype == "float32":
        return dict(rtol=2.5e-7, atol=1e-7 if name in ("j0", "j1") else 0)
    return {"erfcinv": dict(rtol=2e-15, atol=0), "j0": dict(rtol=1e-13, atol=2e-15),
            "j1": dict(rtol=1e-13, atol=2e-15), "i0": dict(rtol=3e-15, atol=0),
            "i1": dict(rtol=3e-15, atol=0)}.get(name, dict(rtol=4e-16, atol=0))


@pytest.fixture(scope="module")
def native_functions():
    """One compiled function per dtype: every native function of its own input."""
    out = {}
    for dt in DTYPES:
        xs = [T.vector(n, dtype=dt) for n in NATIVE]
        out[dt] = theano.function(xs, [getattr(T, n)(x) for n, x in zip(NATIVE, xs)])
    return out


@pytest.mark.parametrize("dtype", DTYPES)
def test_native_values_match_scipy(native_functions, dtype):
    inputs = [_points(n, dtype).astype(dtype) for n in NATIVE]
    results = native_functions[dtype](*inputs)
    for name, v, got in zip(NATIVE, inputs, results):
        assert got.dtype == dtype, name
        with np.errstate(all="ignore"):
            want = REFERENCE[name](v.astype("float64"))
        if dtype == "float32":
            want = want.astype("float32").astype("float64")
        np.testing.assert_allclose(got, want, err_msg=f"{name} {dtype}", **_bounds(name, dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_special_values(native_functions, dtype):
    inf, nan = np.inf, np.nan
    # input -> expected: the limits, with the sign of an odd function's zero (SciPy
    # gives NaN for j0, j1 and i1 at -inf; glibc's libm, and tjit, the limits)
    cases = {
        "arcsinh": ([0.0, -0.0, inf, -inf, nan], [0.0, -0.0, inf, -inf, nan]),
        "arccosh": ([1.0, inf, 0.5, -inf, nan], [0.0, inf, nan, nan, nan]),
        "arctanh": ([0.0, 1.0, -1.0, 1.5, nan], [0.0, inf, -inf, nan, nan]),
        "erfcinv": ([0.0, 1.0, 2.0, -0.1, 2.1, nan], [inf, 0.0, -inf, nan, nan, nan]),
        "j0": ([0.0, inf, -inf, nan], [1.0, 0.0, 0.0, nan]),
        "j1": ([0.0, -0.0, inf, -inf, nan], [0.0, -0.0, 0.0, -0.0, nan]),
        "i0": ([0.0, inf, -inf, nan], [1.0, inf, inf, nan]),
        "i1": ([0.0, -0.0, inf, -inf, nan], [0.0, -0.0, inf, -inf, nan]),
    }
    inputs = [np.array(cases[n][0], dtype=dtype) for n in NATIVE]
    for name, got in zip(NATIVE, native_functions[dtype](*inputs)):
        want = np.array(cases[name][1], dtype=dtype)
        np.testing.assert_array_equal(got, want, err_msg=name)
        signed = ~np.isnan(want)      # zeros keep their sign; a NaN's sign is not defined
        np.testing.assert_array_equal(np.signbit(got[signed]), np.signbit(want[signed]),
                                      err_msg=name)


def test_bessel_i_up_to_overflow():
    """SciPy's i0/i1 overflow with exp(x) at 709.8; tjit's stay finite up to where
    I(x) itself overflows (~713.98): compare in log space, log I = x + log(ie(x))."""
    x = T.dvector()
    f = theano.function([x], [T.i0(x), T.i1(x)])
    v = np.linspace(700, 713.9, 300)
    got0, got1 = f(np.concatenate([v, -v, [714.5]]))
    np.testing.assert_allclose(np.log(got0[:300]), v + np.log(sp.i0e(v)), rtol=1e-15)
    np.testing.assert_allclose(np.log(got1[:300]), v + np.log(sp.i1e(v)), rtol=1e-15)
    np.testing.assert_array_equal(got0[300:600], got0[:300])     # even
    np.testing.assert_array_equal(got1[300:600], -got1[:300])    # odd
    assert got0[-1] == np.inf and got1[-1] == np.inf


def test_fast_compile_and_debug_mode_agree_with_fast_run(native_functions):
    """Both math paths give the same bits; DebugMode checks the NumPy references
    (tjit.special: libm's j0/j1 through ctypes, the same Bessel-I sums) against them."""
    xs = [T.dvector(n) for n in NATIVE]
    outs = [getattr(T, n)(x) for n, x in zip(NATIVE, xs)]
    inputs = [_points(n, "float64")[::40] for n in NATIVE]
    want = native_functions["float64"](*inputs)
    fast_compile = theano.function(xs, outs, mode=theano.Mode(linker="native",
                                                              optimizer="fast_compile"))(*inputs)
    debug = theano.function(xs, outs, mode="DebugMode")(*inputs)
    for name, a, b, c in zip(NATIVE, want, fast_compile, debug):
        np.testing.assert_array_equal(a, b, err_msg=name)
        np.testing.assert_allclose(c, a, rtol=1e-14, err_msg=name)


def test_native_functions_are_fused_into_one_kernel():
    x = T.dvector()
    f = theano.function([x], T.j0(x) * T.i1(x) + T.arcsinh(x) - T.erfcinv(x))
    assert [type(n.op).__name__ for n in f.nodes] == ["FusedElemwise"]


def test_dtype_rules():
    """Theano's upgrade_to_float: small ints -> float32, int32/int64 -> float64;
    complex inputs rejected at graph build time (arcsinh & co. accept them)."""
    for name in NATIVE:
        fn = getattr(T, name)
        assert fn(T.bvector()).dtype == "float32", name
        assert fn(T.fvector()).dtype == "float32", name
        assert fn(T.ivector()).dtype == "float64", name
        assert fn(T.dvector()).dtype == "float64", name
    for name in ("erfcinv", "j0", "j1", "i0", "i1"):
        with pytest.raises(TypeError, match="complex"):
            getattr(T, name)(T.zvector())
    assert T.arcsinh(T.cvector()).dtype == "complex64"
    assert T.jv(2, T.fvector()).dtype == "float32"
    assert T.jv(T.dscalar(), T.fvector()).dtype == "float64"
    assert T.iv(T.ivector(), T.ivector()).dtype == "float64"
    x = T.ivector()
    got = theano.function([x], T.j0(x))(np.array([0, 3, -5], dtype="int32"))
    np.testing.assert_allclose(got, sp.j0([0.0, 3.0, -5.0]), rtol=1e-15)


def test_jv_iv_real_order_match_scipy():
    v, x = T.dvector("v"), T.dmatrix("x")
    f = theano.function([v, x], [T.jv(v, x), T.iv(v, x)])
    orders = np.array([0.0, 0.5, 1.0, 2.5, 7.0, -1.5])
    points = np.linspace(-20, 60, 48).reshape(8, 6)
    j, i = f(orders, points)
    np.testing.assert_allclose(j, sp.jv(orders, points), rtol=1e-15, atol=0)
    np.testing.assert_allclose(i, sp.iv(orders, points), rtol=1e-15, atol=0)
    # inside native code (fused exp on both sides), in every mode
    for mode in ("FAST_RUN", "FAST_COMPILE", "DebugMode"):
        mixed = theano.function([v, x], T.exp(T.jv(v, T.exp(x))) * 2, mode=mode)
        np.testing.assert_allclose(mixed(orders, points[:, :6] / 10),
                                   np.exp(sp.jv(orders, np.exp(points[:, :6] / 10))) * 2,
                                   rtol=1e-14, err_msg=mode)
    xf = T.fvector()
    got = theano.function([xf], T.jv(1.5, xf))(np.array([0.5, 3.0], dtype="float32"))
    assert got.dtype == "float32"
    np.testing.assert_allclose(got, sp.jv(1.5, [0.5, 3.0]), rtol=1e-6)


def test_jv_without_scipy_names_scipy(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy", None)
    monkeypatch.setitem(sys.modules, "scipy.special", None)
    with pytest.raises(ImportError, match="jv.*SciPy"):
        T.jv(1.5, T.dvector())
    with pytest.raises(ImportError, match="iv.*SciPy"):
        T.iv(1.5, T.dvector())


def _fd(f, v, eps=1e-6):
    return (f(v + eps) - f(v - eps)) / (2 * eps)


def test_gradients_match_finite_differences():
    """d/dx of every function (elementwise, so one vector of central differences)."""
    domains = {"arcsinh": np.linspace(-4, 4, 9), "arccosh": np.linspace(1.1, 9, 9),
               "arctanh": np.linspace(-0.9, 0.9, 9), "erfcinv": np.linspace(0.01, 1.99, 9),
               "j0": np.linspace(-15, 15, 9), "j1": np.linspace(-15, 15, 9),
               "i0": np.linspace(-25, 25, 9), "i1": np.linspace(-25, 25, 9)}
    xs = [T.dvector(n) for n in NATIVE]
    funcs = theano.function(xs, [getattr(T, n)(x) for n, x in zip(NATIVE, xs)])
    grads = theano.function(xs, T.grad(sum(getattr(T, n)(x).sum() for n, x in zip(NATIVE, xs)),
                                       xs))
    inputs = [domains[n] for n in NATIVE]
    got = grads(*inputs)
    for k, name in enumerate(NATIVE):
        def one(v, k=k):
            args = list(inputs)
            args[k] = v
            return funcs(*args)[k]
        np.testing.assert_allclose(got[k], _fd(one, inputs[k]), rtol=1e-7, atol=1e-8,
                                   err_msg=name)


def test_order1_gradients_at_zero_and_float32():
    x = T.fvector()
    g = theano.function([x], T.grad((T.j1(x) + 2 * T.i1(x)).sum(), x))
    got = g(np.array([0.0, 1.0], dtype="float32"))
    assert got.dtype == "float32"
    want1 = (sp.j0(1.0) - sp.jv(2, 1.0)) / 2 + (sp.i0(1.0) + sp.iv(2, 1.0))
    np.testing.assert_allclose(got, [0.5 + 1.0, want1], rtol=1e-6)


def test_jv_iv_gradients():
    v, x = T.dscalar("v"), T.dvector("x")
    points = np.linspace(0.5, 12, 7)
    for fn, ref in ((T.jv, sp.jv), (T.iv, sp.iv)):
        g = theano.function([v, x], T.grad(fn(v, x).sum(), x))
        np.testing.assert_allclose(g(2.5, points), _fd(lambda p: ref(2.5, p), points),
                                   rtol=1e-7)
        # Theano's order gradient is grad_not_implemented: NullTypeGradError names it
        with pytest.raises(NullGradError, match="input 0 .* not implemented"):
            T.grad(fn(v, x).sum(), v)
        # ... and an order that is also used elsewhere keeps its other gradient
        with pytest.raises(NullGradError):
            T.grad((fn(v, x) + v).sum(), v)
