"""Every elementwise op on edge values, against NumPy (SciPy for erf, erfc, erfinv,
gamma, gammaln, psi): 0, -0.0, +-inf, nan, huge, tiny, denormals, int min/max.

Each op is compiled twice per dtype: alone, and inside a fused chain of exact
operations (negations and multiplications by a run-time 1) that must fuse into one
kernel and preserve every value bit for bit, so fusion is exercised on the same
edge values. The sign of a zero result is checked wherever NumPy's result is a
signed zero (not for maximum/minimum/clip, whose zero sign NumPy's own loops do
not agree on, nor for SciPy's functions).
"""
from __future__ import annotations

import functools
import math

import mpmath
import numpy as np
import pytest
import scipy.special as sp

import tjit as theano
import tjit.tensor as T
from tjit.ops.fused_elemwise import FusedElemwise

F64 = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e308, -1e308, 1.7976931348623157e308,
                5e-324, -5e-324, 2.2250738585072014e-308, 1e-310, -1e-310, 1e-20, -1e-20,
                1.0, -1.0, 0.5, -0.5, 1.5, 2.5, -2.5, 3.0, -3.0, 0.49999999999999994,
                4503599627370497.0, 10.0, -10.0, 100.0, 709.0, 710.0, -745.0, -746.0,
                171.5, 0.9999999999999999, -0.9999999999999999, math.pi / 2, 1e15, -7.25],
               dtype="float64")
F32 = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 3e38, -3e38, 3.4028235e38, 1e-45, -1e-45,
                1.1754944e-38, 1e-40, -1e-40, 1e-20, 1.0, -1.0, 0.5, -0.5, 1.5, 2.5, -2.5,
                3.0, -3.0, 0.49999997, 8388609.0, 10.0, -10.0, 88.0, 89.0, -103.0, -104.0,
                35.5, 0.99999994, -0.99999994, 1.5707964, 1e7, -7.25],
               dtype="float32")
EDGES = {"float64": F64, "float32": F32}
INT_DTYPES = ["int8", "int16", "int32", "int64"]


def int_edges(dtype):
    info = np.iinfo(dtype)
    return np.array([info.min, info.min + 1, -7, -2, -1, 0, 1, 2, 7, info.max - 1, info.max],
                    dtype=dtype)


def _round_away(x):
    t = np.trunc(x)
    frac = x - t  # exact
    r = t + np.where(np.abs(frac) >= 0.5, np.sign(x), 0).astype(x.dtype)
    return np.copysign(r, x)  # C's round(): round(-0.4) == -0.0


def _with_mpmath(scipy_fn, mp_fn):
    """SciPy's value, except where SciPy is off by more than 1e-10 from the exact
    (mpmath, 50 digits) value: gammaln(5e-324) is 744.44 (SciPy: inf) and psi just
    above the pole at -1 is -9.007e15 (SciPy: -5.5e15)."""
    def ref(x):
        want = np.asarray(scipy_fn(x))
        out = want.copy()
        with mpmath.workdps(50):
            for i, v in enumerate(np.asarray(x, dtype="float64").ravel()):
                if not np.isfinite(v):
                    continue
                try:
                    exact = float(mp_fn(mpmath.mpf(float(v))))
                except (ValueError, ZeroDivisionError):
                    continue
                if np.isfinite(exact) and not np.isclose(want.flat[i], exact, rtol=1e-10,
                                                         atol=0):
                    out.flat[i] = exact
        return out
    return ref


def _softplus(x):
    return np.logaddexp(x.dtype.type(0), x)


UNARY = {  # name -> (tjit builder, reference, reference is NumPy (sign of zero checked))
    "exp": (T.exp, np.exp, True), "exp2": (T.exp2, np.exp2, True),
    "expm1": (T.expm1, np.expm1, True), "log": (T.log, np.log, True),
    "log2": (T.log2, np.log2, True), "log10": (T.log10, np.log10, True),
    "log1p": (T.log1p, np.log1p, True), "sqrt": (T.sqrt, np.sqrt, True),
    "sqr": (T.sqr, np.square, True), "abs_": (T.abs_, np.abs, True),
    "sgn": (T.sgn, np.sign, True), "neg": (lambda x: -x, np.negative, True),
    "sin": (T.sin, np.sin, True), "cos": (T.cos, np.cos, True), "tan": (T.tan, np.tan, True),
    "arcsin": (T.arcsin, np.arcsin, True), "arccos": (T.arccos, np.arccos, True),
    "arctan": (T.arctan, np.arctan, True), "sinh": (T.sinh, np.sinh, True),
    "cosh": (T.cosh, np.cosh, True), "tanh": (T.tanh, np.tanh, True),
    "floor": (T.floor, np.floor, True), "ceil": (T.ceil, np.ceil, True),
    "round": (T.round, np.round, True),
    "round_half_away_from_zero": (lambda x: T.round(x, mode="half_away_from_zero"),
                                  _round_away, True),
    "erf": (T.erf, sp.erf, False), "erfc": (T.erfc, sp.erfc, False),
    "erfinv": (T.erfinv, sp.erfinv, False), "gamma": (T.gamma, sp.gamma, False),
    "gammaln": (T.gammaln, _with_mpmath(sp.gammaln, lambda v: mpmath.log(abs(mpmath.gamma(v)))),
                False),
    "psi": (T.psi, _with_mpmath(sp.psi, mpmath.digamma), False),
    "sigmoid": (T.nnet.sigmoid, sp.expit, False), "softplus": (T.nnet.softplus, _softplus,
                                                               False),
}
EXACT_UNARY = {"sqrt", "sqr", "abs_", "sgn", "neg", "floor", "ceil", "round",
               "round_half_away_from_zero"}

BINARY = {
    "add": (lambda a, b: a + b, np.add), "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply), "true_div": (lambda a, b: a / b, np.true_divide),
    "int_div": (lambda a, b: a // b, np.floor_divide), "mod": (lambda a, b: a % b, np.mod),
    "pow": (lambda a, b: a ** b, np.power), "maximum": (T.maximum, np.maximum),
    "minimum": (T.minimum, np.minimum), "arctan2": (T.arctan2, np.arctan2),
    "lt": (lambda a, b: a < b, np.less), "le": (lambda a, b: a <= b, np.less_equal),
    "gt": (lambda a, b: a > b, np.greater), "ge": (lambda a, b: a >= b, np.greater_equal),
    "eq": (T.eq, np.equal), "neq": (T.neq, np.not_equal),
}
EXACT_BINARY = {"add", "sub", "mul", "true_div", "maximum", "minimum", "lt", "le", "gt", "ge",
                "eq", "neq", "int_div", "mod"}
NO_ZERO_SIGN = {"maximum", "minimum", "clip"}


def tol(name, dtype, exact):
    if exact:
        return 0.0
    if dtype == "float32":
        return 3e-6 if name in ("erfinv", "gamma", "gammaln", "psi", "tan", "pow") else 1e-6
    return 4e-14 if name in ("erfinv", "gamma", "gammaln", "psi", "tan", "pow") else 4e-15


def check(got, want, name, dtype, exact, signed_zero, what):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype, (what, got.dtype, want.dtype)
    assert got.shape == want.shape
    if got.dtype.kind != "f":
        np.testing.assert_array_equal(got, want, err_msg=what)
        return
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=f"NaN positions: {what}")
    np.testing.assert_array_equal(np.isinf(got) * np.sign(got), np.isinf(want) * np.sign(want),
                                  err_msg=f"infinities: {what}")
    fin = np.isfinite(want)
    rtol = tol(name, dtype, exact)
    if exact:
        np.testing.assert_array_equal(got[fin], want[fin], err_msg=what)
    else:
        # relative to the value, but never finer than the smallest normal number
        tiny = np.finfo(dtype).tiny
        err = np.abs(got[fin].astype("float64") - want[fin].astype("float64"))
        bound = rtol * np.maximum(np.abs(want[fin].astype("float64")), tiny)
        bad = err > bound
        assert not bad.any(), (f"{what}: got {got[fin][bad][:5]}, want {want[fin][bad][:5]}")
    if signed_zero and name not in NO_ZERO_SIGN:
        z = want == 0
        np.testing.assert_array_equal(np.signbit(got[z]), np.signbit(want[z]),
                                      err_msg=f"sign of zero: {what}")


@functools.lru_cache(maxsize=None)
def compiled(kind, name, dtype):
    """(single-op function, fused-chain function) for op `name` on `dtype` vectors."""
    if kind == "unary":
        x = T.vector("x", dtype=dtype)
        one = T.scalar("one", dtype=dtype)
        build = UNARY[name][0]
        single = theano.function([x], build(x))
        chain = -(-build((-(-x)) * one) * one)
        fused = theano.function([x, one], chain)
        return single, fused
    a, b = T.vector("a", dtype=dtype), T.vector("b", dtype=dtype)
    one = T.scalar("one", dtype=dtype)
    build = BINARY[name][0]
    single = theano.function([a, b], build(a, b))
    out = build((-(-a)) * one, (-(-b)) * one)
    chain = -(-out * T.cast(one, out.dtype)) if out.dtype != "bool" else ~(~out)
    fused = theano.function([a, b, one], chain)
    return single, fused


def assert_one_kernel(f):
    kinds = [type(n.op).__name__ for n in f.nodes]
    assert kinds.count("FusedElemwise") == 1 and len(f.nodes) == 1, kinds


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_float_edges(name, dtype):
    x = EDGES[dtype]
    build, ref, numpy_ref = UNARY[name]
    with np.errstate(all="ignore"):
        want = np.asarray(ref(x)).astype(dtype)
    single, fused = compiled("unary", name, dtype)
    exact = name in EXACT_UNARY
    check(single(x), want, name, dtype, exact, numpy_ref, f"{name}({dtype}) single")
    assert_one_kernel(fused)
    check(fused(x, np.asarray(1, dtype)), want, name, dtype, exact, numpy_ref,
          f"{name}({dtype}) in a fused chain")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_float_edges(name, dtype):
    e = EDGES[dtype]
    a, b = np.repeat(e, len(e)), np.tile(e, len(e))  # every pair
    _, ref = BINARY[name]
    with np.errstate(all="ignore"):
        want = np.asarray(ref(a, b))
    single, fused = compiled("binary", name, dtype)
    exact = name in EXACT_BINARY
    check(single(a, b), want, name, dtype, exact, True, f"{name}({dtype}) single")
    assert_one_kernel(fused)
    check(fused(a, b, np.asarray(1, dtype)), want, name, dtype, exact, True,
          f"{name}({dtype}) in a fused chain")


INT_BINARY = ["add", "sub", "mul", "int_div", "mod", "maximum", "minimum", "lt", "le", "gt",
              "ge", "eq", "neq"]


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_integer_ops_at_int_min_and_max(dtype):
    """Wrapping arithmetic, floor division/modulo (x // 0 == x % 0 == 0, like NumPy;
    INT_MIN // -1 wraps to INT_MIN) and comparisons on every pair of edge values."""
    e = int_edges(dtype)
    a, b = np.repeat(e, len(e)), np.tile(e, len(e))
    for name in INT_BINARY:
        _, ref = BINARY[name]
        with np.errstate(all="ignore"):
            want = np.asarray(ref(a, b))
        single, fused = compiled("binary", name, dtype)
        check(single(a, b), want, name, dtype, True, False, f"{name}({dtype})")
        check(fused(a, b, np.asarray(1, dtype)), want, name, dtype, True, False,
              f"{name}({dtype}) fused")
    x = T.vector("x", dtype=dtype)
    y = T.vector("y", dtype=dtype)
    f = theano.function([x, y], [-x, abs(x), T.sgn(x), T.sqr(x), x & y, x | y, x ^ y, ~x,
                                 x ** T.clip(y, 0, 9), T.clip(x, y, 5)])
    with np.errstate(all="ignore"):
        wants = [-a, np.abs(a), np.sign(a), np.square(a), a & b, a | b, a ^ b, ~a,
                 np.power(a, np.clip(b, 0, 9)), np.minimum(np.maximum(a, b), 5).astype(dtype)]
    for got, want, what in zip(f(a, b), wants, ["neg", "abs", "sgn", "sqr", "and", "or", "xor",
                                                "invert", "pow", "clip"]):
        check(got, want, what, dtype, True, False, f"{what}({dtype})")


def test_comparisons_with_nan_and_signed_zero():
    x, y = T.dvectors("x", "y")
    f = theano.function([x, y], [x < y, x <= y, x > y, x >= y, T.eq(x, y), T.neq(x, y)])
    a = np.array([np.nan, 1.0, np.nan, 0.0, -0.0, np.inf])
    b = np.array([1.0, np.nan, np.nan, -0.0, 0.0, np.inf])
    for got, ref in zip(f(a, b), [np.less, np.less_equal, np.greater, np.greater_equal,
                                  np.equal, np.not_equal]):
        assert got.dtype == np.bool_
        np.testing.assert_array_equal(got, ref(a, b))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_clip_maximum_minimum_nan_propagation(dtype):
    x, lo, hi = (T.vector(n, dtype=dtype) for n in "x lo hi".split())
    f = theano.function([x, lo, hi], [T.clip(x, lo, hi), T.maximum(x, lo), T.minimum(x, hi)])
    xv = np.array([np.nan, -5, 5, 0.5, np.inf, -np.inf, 1], dtype)
    lov = np.array([0, 0, 0, np.nan, 0, 0, 0], dtype)
    hiv = np.array([1, 1, 1, 1, 1, 1, np.nan], dtype)
    c, mx, mn = f(xv, lov, hiv)
    np.testing.assert_array_equal(c, np.minimum(np.maximum(xv, lov), hiv))
    np.testing.assert_array_equal(mx, np.maximum(xv, lov))
    np.testing.assert_array_equal(mn, np.minimum(xv, hiv))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_round_modes(dtype):
    v = np.array([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5, 0.4, -0.4, 0.6, -0.6, 1e300 if
                  dtype == "float64" else 1e30, np.nan, np.inf, -np.inf, -0.0, 0.0,
                  np.nextafter(np.asarray(0.5, dtype), np.asarray(0, dtype))], dtype)
    x = T.vector("x", dtype=dtype)
    even = theano.function([x], T.round(x))(v)
    also_even = theano.function([x], T.round(x, mode="half_to_even"))(v)
    away = theano.function([x], T.round(x, mode="half_away_from_zero"))(v)
    assert even.dtype == away.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(even, np.round(v))
    np.testing.assert_array_equal(also_even, np.round(v))
    np.testing.assert_array_equal(np.signbit(even), np.signbit(np.round(v)))
    want_away = np.array([1, 2, 3, 4, -1, -2, -3, 0, -0.0, 1, -1, v[11], np.nan, np.inf,
                          -np.inf, -0.0, 0.0, 0.0], dtype)
    np.testing.assert_array_equal(away, want_away)
    np.testing.assert_array_equal(np.signbit(away), np.signbit(want_away))
    with pytest.raises(ValueError):
        T.round(x, mode="bankers")


def test_round_and_floor_of_integers_follow_theano():
    """Theano: floor/ceil keep an integer dtype (and value); round is float-only."""
    for dt in INT_DTYPES:
        x = T.vector("x", dtype=dt)
        assert T.floor(x).dtype == dt and T.ceil(x).dtype == dt
        v = int_edges(dt)
        np.testing.assert_array_equal(theano.function([x], T.floor(x) + T.ceil(x))(v),
                                      (v + v).astype(dt))
        with pytest.raises(TypeError):
            T.round(x)


@pytest.mark.parametrize("src", ["float64", "float32"])
def test_casts_of_edge_values(src):
    """float -> narrower float rounds (overflow -> inf), float -> int in range truncates."""
    x = T.vector("x", dtype=src)
    e = EDGES[src]
    targets = ["float32", "float64"]
    f = theano.function([x], [T.cast(x, t) for t in targets])
    with np.errstate(all="ignore"):
        for got, t in zip(f(e), targets):
            want = e.astype(t)
            check(got, want, "cast", t, True, True, f"cast {src}->{t}")
    inrange = np.array([0.0, -0.0, 0.9, -0.9, 1.5, -1.5, 100.7, -100.7, 127.0, -128.0], src)
    for t in INT_DTYPES:
        g = theano.function([x], T.cast(x, t))
        np.testing.assert_array_equal(g(inrange), inrange.astype(t))
        assert g(inrange).dtype == np.dtype(t)


@pytest.mark.parametrize("src", INT_DTYPES)
def test_int_casts_wrap_and_widen(src):
    x = T.vector("x", dtype=src)
    e = int_edges(src)
    targets = ["bool", "int8", "int16", "int32", "int64", "float32", "float64"]
    f = theano.function([x], [T.cast(x, t) for t in targets])
    for got, t in zip(f(e), targets):
        assert got.dtype == np.dtype(t)
        np.testing.assert_array_equal(got, e.astype(t), err_msg=f"cast {src}->{t}")


def test_pow_float_edge_cases():
    """pow follows C/NumPy: x**0 == 1 even for nan, 1**y == 1 even for nan, 0**-1 == inf."""
    a, b = T.dvectors("a", "b")
    f = theano.function([a, b], a ** b)
    av = np.array([np.nan, 1.0, 0.0, -0.0, -8.0, -1.0, np.inf, 2.0, 0.5])
    bv = np.array([0.0, np.nan, -1.0, -1.0, 1 / 3, np.inf, -2.0, 1024.0, -1075.0])
    with np.errstate(all="ignore"):
        want = np.power(av, bv)
    got = f(av, bv)
    np.testing.assert_array_equal(got, want)
    num = ~np.isnan(want)  # the sign of a NaN means nothing
    np.testing.assert_array_equal(np.signbit(got[num]), np.signbit(want[num]))
