"""Property tests for two shapes of graph the fuzz campaign found wrong answers in
(issue 14, item 5), so that the class is covered, not just the two examples:

- a broadcastable input used both inside a keepdims reduction and outside it
  (`sum(a * x, keepdims=True) * a + y`), for every reduction kind, both modes;
- float32 values near the top of the range: reductions whose float64
  accumulation fits float32 must not overflow on the way (var of +-1.5e19 is
  2.25e38, not inf), against NumPy computed in float64 (Theano's dtype rules:
  float32 sums accumulate in float64 and return float32; mean divides that sum).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import tjit as theano
import tjit.tensor as T

KINDS = ("sum", "prod", "max", "min", "mean")
_NP = {"sum": np.sum, "prod": np.prod, "max": np.max, "min": np.min, "mean": np.mean}


def _reduce(kind, v, axis, keepdims):
    return getattr(T, kind)(v, axis=axis, keepdims=keepdims)


@st.composite
def shared_broadcast_graphs(draw):
    """(ndim, broadcastable pattern of a, kind, axis, x shape, y shape, mode)."""
    nd = draw(st.integers(1, 2))
    pattern = tuple(draw(st.lists(st.booleans(), min_size=nd, max_size=nd)))
    if not any(pattern):
        pattern = (True,) + pattern[1:]
    shape = tuple(draw(st.integers(1, 5)) for _ in range(nd))
    axis = draw(st.sampled_from([None] + list(range(nd))))
    # y broadcasts the dims that stay size-1 (reduced, and a broadcastable
    # there) to sizes of its own; elsewhere the output has x's size
    y_shape = tuple(draw(st.integers(1, 4)) if (axis is None or d == axis) and pattern[d]
                    else shape[d] for d in range(nd))
    return (nd, pattern, draw(st.sampled_from(KINDS)), axis, shape, y_shape,
            draw(st.sampled_from(["FAST_RUN", "FAST_COMPILE"])))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=shared_broadcast_graphs(), seed=st.integers(0, 2 ** 31))
def test_broadcastable_input_inside_and_outside_a_keepdims_reduction(graph, seed):
    nd, pattern, kind, axis, shape, y_shape, mode = graph
    a = T.TensorType("float64", pattern)("a")
    x, y = T.TensorType("float64", (False,) * nd)("x"), T.TensorType("float64", (False,) * nd)("y")
    out = _reduce(kind, a * x, axis, True) * a + y
    f = theano.function([a, x, y], out, mode=mode)
    rng = np.random.default_rng(seed)
    av = rng.uniform(0.5, 1.5, tuple(1 if b else s for b, s in zip(pattern, shape)))
    xv, yv = rng.uniform(0.5, 1.5, shape), rng.uniform(-1, 1, y_shape)
    want = _NP[kind](av * xv, axis=axis, keepdims=True) * av + yv
    got = f(av, xv, yv)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)


def test_the_issue_examples():
    a = T.TensorType("float64", (True,))("a")
    x, y = T.dvector("x"), T.dvector("y")
    for kind in ("sum", "prod", "max"):
        f = theano.function([a, x, y], _reduce(kind, a * x, None, True) * a + y)
        want = {"sum": 9.0, "prod": 9.0, "max": 5.0}[kind]
        np.testing.assert_array_equal(f(np.array([2.0]), np.ones(2), np.ones(3)), [want] * 3)
    v = T.fvector("v")
    f = theano.function([v], [T.var(v), T.std(v), T.var(v, ddof=1)])
    values = np.array([1.5e19, 1.5e19, -1.5e19, -1.5e19], "float32")
    var, std, var1 = f(values)
    assert var.dtype == np.float32 and np.isfinite(var)
    np.testing.assert_allclose([var, std, var1], [2.25e38, 1.5e19, 3e38], rtol=1e-6)


# ---- float32 near the range limit ---------------------------------------------------
def _expected(kind, x, axis, ddof=0):
    """The float32 result Theano's dtype rules give, computed in float64."""
    x64 = x.astype(np.float64)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "sum":
            return np.float32(np.sum(x64, axis=axis))
        if kind == "mean":     # Theano: the float32 sum, divided in float32
            n = x.size if axis is None else x.shape[axis]
            return np.float32(np.sum(x64, axis=axis)) / np.float32(n)
        if kind in ("max", "min"):
            return getattr(np, kind)(x, axis=axis)
        var = np.float32(np.var(x64, axis=axis, ddof=ddof))
        return var if kind == "var" else np.sqrt(var)


@st.composite
def near_limit_matrices(draw):
    rows, cols = draw(st.integers(1, 6)), draw(st.integers(1, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 31)))
    low = draw(st.sampled_from([16.0, 18.5, 19.0]))     # magnitudes 10**low .. 10**19.4
    x = rng.choice([-1.0, 1.0], (rows, cols)) * 10.0 ** rng.uniform(low, 19.4, (rows, cols))
    x = x.astype(np.float32)
    return x, draw(st.sampled_from([None, 0, 1])), draw(st.sampled_from([0, 1]))


_FUNCTIONS = {}


def _near_limit_function(axis, ddof):
    if (axis, ddof) not in _FUNCTIONS:
        m = T.fmatrix("m")
        outs = [T.sum(m, axis=axis), T.mean(m, axis=axis), T.max(m, axis=axis),
                T.min(m, axis=axis), T.var(m, axis=axis, ddof=ddof),
                T.std(m, axis=axis, ddof=ddof)]
        _FUNCTIONS[axis, ddof] = theano.function([m], outs, mode="FAST_RUN")
    return _FUNCTIONS[axis, ddof]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=near_limit_matrices())
def test_float32_reductions_near_the_range_limit(case):
    x, axis, ddof = case
    n = x.size if axis is None else x.shape[axis]
    if n <= ddof:
        ddof = 0
    with np.errstate(all="ignore"):
        got = _near_limit_function(axis, ddof)(x)
    for kind, value in zip(("sum", "mean", "max", "min", "var", "std"), got):
        want = _expected(kind, x, axis, ddof)
        value, want = np.asarray(value), np.asarray(want)
        assert value.dtype == np.float32, kind
        # inf exactly where the float64 result does not fit float32, never elsewhere
        np.testing.assert_array_equal(np.isinf(value), np.isinf(want), err_msg=kind)
        np.testing.assert_allclose(value, want, rtol=2e-5, err_msg=kind)


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_float32_variance_that_fits_is_finite_on_every_schedule(axis):
    # large enough that the reduction splits into chunks and partial sums
    rng = np.random.default_rng(1)
    x = (rng.choice([-1.0, 1.0], (300, 700)) * 1.5e19).astype(np.float32)
    m = T.fmatrix("m")
    f = theano.function([m], [T.var(m, axis=axis), T.std(m, axis=axis)])
    with theano.config.change_flags(threads=2):
        var, std = f(x)
    np.testing.assert_allclose(var, _expected("var", x, axis), rtol=1e-5)
    np.testing.assert_allclose(std, _expected("std", x, axis), rtol=1e-5)
    assert np.isfinite(var).all()
