"""sort, argsort, cumsum, cumprod, diag/diagonal, tile, repeat, nonzero, take against
NumPy (random shapes incl. empty and size 1, non-contiguous and reversed inputs),
their gradients against central finite differences, and build-time errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import tjit as theano
import tjit.tensor as T
from tjit.tensor import extra_ops
from tjit.tensor.sort import PermuteAlongAxis

from test_indexing import check_grad, layout

SETTINGS = settings(max_examples=120, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
shapes = st.lists(st.integers(0, 4), min_size=1, max_size=3).map(tuple)
layouts = st.sampled_from(["c", "strided", "reversed"])
_FNS = {}


def cached(key, build):
    if key not in _FNS:
        _FNS[key] = build()
    return _FNS[key]


def tensor(ndim, dtype="float64", name="x"):
    return T.TensorType(dtype, (False,) * ndim)(name)


def axes_for(ndim):
    return st.sampled_from([None] + list(range(-ndim, ndim)))


# ---- sort / argsort ----------------------------------------------------------------------
def _sort_fn(ndim, axis, dtype):
    def build():
        x = tensor(ndim, dtype)
        return theano.function([x], [T.sort(x, axis), T.argsort(x, axis, kind="stable"),
                                     T.argsort(x, axis), x.sort(axis), x.argsort(axis)])
    return cached(("sort", ndim, axis, dtype), build)


@SETTINGS
@given(shape=shapes, data=st.data(), seed=st.integers(0, 2 ** 31), kind=layouts,
       dtype=st.sampled_from(["float64", "int32", "float32"]))
def test_sort_and_argsort_match_numpy(shape, data, seed, kind, dtype):
    axis = data.draw(axes_for(len(shape)))
    rng = np.random.default_rng(seed)
    x = layout(rng.integers(-3, 4, size=shape).astype(dtype), kind)  # many ties
    if dtype == "float64" and x.size:
        x.flat[0] = np.nan                                            # NaN sorts last
    s, stable, quick, ms, ma = _sort_fn(len(shape), axis, dtype)(x)
    want = np.sort(x, axis=axis)
    np.testing.assert_array_equal(s, want)
    np.testing.assert_array_equal(ms, want)
    assert s.dtype == x.dtype and stable.dtype == np.int64
    np.testing.assert_array_equal(stable, np.argsort(x, axis=axis, kind="stable"))
    flat, ax = (x.reshape(-1), 0) if axis is None else (x, axis)
    for perm in (quick, ma):  # ties may come in any order: check it sorts
        np.testing.assert_array_equal(np.take_along_axis(flat, perm, ax), want)


def test_grad_sort():
    rng = np.random.default_rng(0)
    check_grad(lambda x: T.sort(x) * np.arange(5.0), [rng.standard_normal(5)])
    check_grad(lambda x: T.sort(x, axis=0) * np.arange(12.0).reshape(3, 4),
               [rng.standard_normal((3, 4))])
    check_grad(lambda x: T.sort(x, axis=None) * np.arange(6.0), [rng.standard_normal((2, 3))])


def test_grad_of_argsort_is_zero_and_methods():
    v = T.dvector("v")
    g = T.grad(T.sum(v.argsort() * v), v)
    np.testing.assert_array_equal(g.eval({v: np.array([3.0, 1.0, 2.0])}), [1.0, 2.0, 0.0])


# ---- cumsum / cumprod ---------------------------------------------------------------------
def _cum_fn(ndim, axis, dtype):
    def build():
        x = tensor(ndim, dtype)
        return theano.function([x], [T.cumsum(x, axis), T.cumprod(x, axis), x.cumsum(axis),
                                     x.cumprod(axis)])
    return cached(("cum", ndim, axis, dtype), build)


@SETTINGS
@given(shape=shapes, data=st.data(), seed=st.integers(0, 2 ** 31), kind=layouts,
       dtype=st.sampled_from(["float64", "int32", "int64", "float32"]))
def test_cumsum_cumprod_match_numpy(shape, data, seed, kind, dtype):
    axis = data.draw(axes_for(len(shape)))
    rng = np.random.default_rng(seed)
    x = layout(rng.integers(-3, 4, size=shape).astype(dtype), kind)
    got = _cum_fn(len(shape), axis, dtype)(x)
    want_s = np.cumsum(x, axis=axis, dtype=dtype)   # the dtype stays x's (Theano)
    want_p = np.cumprod(x, axis=axis, dtype=dtype)
    for g, w in zip(got, [want_s, want_p, want_s, want_p]):
        assert g.dtype == np.dtype(dtype) and g.shape == w.shape
        np.testing.assert_array_equal(g, w)


def test_grad_cumsum_cumprod():
    rng = np.random.default_rng(1)
    x = rng.uniform(0.5, 1.5, (3, 4)) * rng.choice([-1, 1], (3, 4))
    for axis in (None, 0, 1, -1):
        check_grad(lambda v: T.cumsum(v, axis), [x])
        check_grad(lambda v: T.cumprod(v, axis), [x])


def test_cumprod_grad_at_zero_is_nan_as_theano():
    # Theano's formula divides by x: documented nan at zeros, exact elsewhere before them
    v = T.dvector("v")
    g = T.grad(T.sum(T.cumprod(v)), v).eval({v: np.array([2.0, 0.0, 3.0])})
    assert g[0] == 1.0 and np.isnan(g[1])


# ---- diag / diagonal ----------------------------------------------------------------------
@SETTINGS
@given(n=st.integers(0, 4), m=st.integers(0, 4), k=st.integers(-5, 5),
       seed=st.integers(0, 2 ** 31), kind=layouts)
def test_diag_matches_numpy(n, m, k, seed, kind):
    rng = np.random.default_rng(seed)
    a = layout(rng.standard_normal((n, m)), kind)
    v = layout(rng.standard_normal(n), kind)
    f = cached(("diag", k), lambda: theano.function(
        [ma := T.dmatrix("a"), ve := T.dvector("v")],
        [T.diag(ma, k), T.diag(ve, k), ma.diagonal(k), extra_ops.diagonal(ma, k, 1, 0)]))
    got = f(a, v)
    for g, w in zip(got, [np.diag(a, k), np.diag(v, k), np.diagonal(a, k),
                          np.diagonal(a, k, 1, 0)]):
        assert g.shape == w.shape
        np.testing.assert_array_equal(g, w)


def test_diagonal_3d_and_grads():
    rng = np.random.default_rng(2)
    t = rng.standard_normal((3, 4, 5))
    x = T.dtensor3("x")
    for off, a1, a2 in [(0, 0, 1), (1, 2, 0), (-2, 1, 2), (1, -1, -3)]:
        np.testing.assert_array_equal(T.diagonal(x, off, a1, a2).eval({x: t}),
                                      np.diagonal(t, off, a1, a2))
        check_grad(lambda v: T.diagonal(v, off, a1, a2), [t])
    check_grad(lambda v: T.diag(v, 1), [rng.standard_normal((3, 5))])
    check_grad(lambda v: T.diag(v, -1), [rng.standard_normal((4, 2))])
    check_grad(lambda v: T.diag(v, 2), [rng.standard_normal(3)])


# ---- tile ----------------------------------------------------------------------------------
@SETTINGS
@given(shape=shapes, reps=st.lists(st.integers(0, 3), min_size=0, max_size=4),
       seed=st.integers(0, 2 ** 31), kind=layouts)
def test_tile_matches_numpy(shape, reps, seed, kind):
    rng = np.random.default_rng(seed)
    x = layout(rng.standard_normal(shape), kind)
    xv = tensor(len(shape))
    r = T.lvector("r")
    nd = max(len(shape), len(reps))
    f = cached(("tile", len(shape), len(reps)), lambda: theano.function(
        [xv, r], [T.tile(xv, [r[i] for i in range(len(reps))]), T.tile(xv, r, ndim=nd)]))
    got = f(x, np.array(reps, dtype="int64"))
    want = np.tile(x, reps)
    for g in got:
        assert g.shape == want.shape
        np.testing.assert_array_equal(g, want)


def test_tile_theano_rules_and_grad():
    x = T.dmatrix("x")
    v = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(T.tile(x, 2).eval({x: v}), np.tile(v, (2, 2)))  # all dims
    np.testing.assert_array_equal(T.tile(x, (2,)).eval({x: v}), np.tile(v, 2))
    np.testing.assert_array_equal(T.tile(x, (2, 1, 3)).eval({x: v}), np.tile(v, (2, 1, 3)))
    assert T.tile(T.drow(), (1, 3)).broadcastable == (True, False)
    assert T.tile(T.drow(), (2, 3)).broadcastable == (False, False)
    rng = np.random.default_rng(3)
    check_grad(lambda a: T.tile(a, (2, 3)), [rng.standard_normal((2, 3))])
    check_grad(lambda a: T.tile(a, (3, 1, 2)), [rng.standard_normal((1, 2))])
    check_grad(lambda a: T.tile(a, 3), [rng.standard_normal(4)])


# ---- repeat ---------------------------------------------------------------------------------
@SETTINGS
@given(shape=shapes, data=st.data(), seed=st.integers(0, 2 ** 31), kind=layouts,
       vector=st.booleans())
def test_repeat_matches_numpy(shape, data, seed, kind, vector):
    axis = data.draw(axes_for(len(shape)))
    rng = np.random.default_rng(seed)
    x = layout(rng.standard_normal(shape), kind)
    n = x.size if axis is None else shape[axis]
    reps = rng.integers(0, 4, size=n) if vector else np.int64(rng.integers(0, 4))
    xv = tensor(len(shape))
    r = T.lvector("r") if vector else T.lscalar("r")
    f = cached(("repeat", len(shape), axis, vector), lambda: theano.function(
        [xv, r], [T.repeat(xv, r, axis), xv.repeat(r, axis)]))
    want = np.repeat(x, reps, axis=axis)
    for g in f(x, reps):
        assert g.shape == want.shape
        np.testing.assert_array_equal(g, want)


def test_grad_repeat():
    rng = np.random.default_rng(4)
    r = T.lvector("r")
    check_grad(lambda a: T.repeat(a, 3, axis=1), [rng.standard_normal((2, 3))])
    check_grad(lambda a: T.repeat(a, 2), [rng.standard_normal((2, 2))])
    check_grad(lambda a, r: T.repeat(a, r, axis=0), [rng.standard_normal((3, 2))],
               extra=[(r, np.array([2, 0, 3]))])


def test_repeat_errors():
    x = T.dmatrix("x")
    with pytest.raises(TypeError, match="repeats"):
        T.repeat(x, 1.5)
    with pytest.raises(TypeError, match="repeats"):
        T.repeat(x, T.lmatrix())
    r = T.lvector("r")
    f = theano.function([x, r], T.repeat(x, r, axis=0))
    with pytest.raises(ValueError, match=r"x of shape \(2, 2\)"):
        f(np.zeros((2, 2)), [1, 2, 3])


# ---- nonzero / take --------------------------------------------------------------------------
@SETTINGS
@given(shape=shapes, seed=st.integers(0, 2 ** 31), kind=layouts)
def test_nonzero_matches_numpy(shape, seed, kind):
    rng = np.random.default_rng(seed)
    x = layout(rng.integers(0, 2, size=shape) * rng.standard_normal(shape), kind)
    xv = tensor(len(shape))
    f = cached(("nonzero", len(shape)), lambda: theano.function(
        [xv], list(T.nonzero(xv)) + [T.nonzero(xv, return_matrix=True), T.flatnonzero(xv),
                                     xv.nonzero_values()]))
    got = f(x)
    want = list(np.nonzero(x)) + [np.array(np.nonzero(x)).reshape(x.ndim, -1),
                                   np.flatnonzero(x), x[x != 0]]
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_array_equal(g, w)


def test_take():
    x = T.dmatrix("x")
    i = T.lvector("i")
    v = np.arange(12.0).reshape(3, 4)
    iv = np.array([5, -1, 0, 5])
    outs = [T.take(x, i), x.take(i, axis=1, mode="wrap"), T.take(x, i, axis=0, mode="clip"),
            T.take(x, 2, axis=1)]
    got = theano.function([x, i], outs)(v, iv)
    for g, w in zip(got, [np.take(v, iv), np.take(v, iv, 1, mode="wrap"),
                          np.take(v, iv, 0, mode="clip"), np.take(v, 2, axis=1)]):
        np.testing.assert_array_equal(g, w)
    with pytest.raises(IndexError, match="shape"):
        theano.function([x, i], T.take(x, i, axis=1))(v, iv)
    check_grad(lambda a, i: T.take(a, i, axis=1), [np.random.default_rng(5).random((2, 4))],
               extra=[(i, np.array([3, 3, -4]))])


# ---- build-time errors ---------------------------------------------------------------------
def test_build_time_errors():
    x = T.dmatrix("x")
    for fn in (T.sort, T.argsort, T.cumsum, T.cumprod):
        with pytest.raises(ValueError, match="out of range"):
            fn(x, axis=2)
        with pytest.raises(TypeError, match="axis"):
            fn(x, axis=1.0)
    with pytest.raises(ValueError, match="kind"):
        T.sort(x, kind="bogo")
    with pytest.raises(TypeError, match="reps"):
        T.tile(x, (2.0, 1))
    with pytest.raises(TypeError, match="reps"):
        T.tile(x, T.dvector())
    with pytest.raises(ValueError, match="ndim"):
        T.tile(x, T.lvector())
    with pytest.raises(ValueError, match="at least one dim"):
        T.diag(T.dscalar())
    with pytest.raises(TypeError, match="vector"):
        extra_ops.AllocDiag()(x)
    with pytest.raises(ValueError, match="axis1 and axis2"):
        T.diagonal(x, 0, 1, -1)
    with pytest.raises(TypeError, match="scalar"):
        T.nonzero(T.dscalar())
    with pytest.raises(TypeError, match="integer"):
        PermuteAlongAxis(0)(T.dvector(), T.dvector())


def test_output_types():
    x = T.fmatrix("x")
    assert T.sort(x).type == x.type and T.argsort(x).dtype == "int64"
    assert T.sort(x, None).ndim == 1 and T.cumsum(x).ndim == 1 and T.cumsum(x, 0).ndim == 2
    assert T.cumsum(T.bvector()).dtype == "int8" and T.cumsum(T.TensorType(
        "bool", (False,))()).dtype == "int64"
    assert T.diag(T.fvector()).type == T.fmatrix().type and T.diag(x).type == T.fvector().type
    assert T.repeat(T.frow(), 2, axis=0).broadcastable == (False, False)
    assert T.repeat(T.frow(), 2, axis=1).broadcastable == (True, False)
    assert T.nonzero(x, return_matrix=True).dtype == "int64"
