"""Theano 1.0 tensor functions (issue 13): TensorType constructors, as_tensor_variable's
ndim, shape padding and broadcast patterns, specify_shape, stacklists, mgrid/ogrid,
swapaxes, power, inv, choose, get_scalar_constant_value, cov, permute_row_elements,
inverse_permutation, the dtype lists, T.extra_ops (squeeze, fill_diagonal(_offset),
searchsorted, unique, diff, bartlett, to_one_hot) and float16 reductions, against NumPy."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tjit as theano
import tjit.tensor as T
from tjit.tensor import extra_ops

FC = "FAST_COMPILE"
PREFIXES = {"b": "int8", "w": "int16", "i": "int32", "l": "int64",
            "f": "float32", "d": "float64", "c": "complex64", "z": "complex128"}
KINDS = {"scalar": (), "vector": (False,), "row": (True, False), "col": (False, True),
         "matrix": (False, False), "tensor3": (False,) * 3, "tensor4": (False,) * 4}


def fn(inputs, outputs, mode=FC):
    return theano.function(inputs, outputs, mode=mode)


# ---- 1. T.dmatrix & co are TensorType instances ---------------------------------------------
@pytest.mark.parametrize("prefix", list(PREFIXES))
@pytest.mark.parametrize("kind", list(KINDS))
def test_prefixed_constructors_are_tensor_types(prefix, kind):
    t = getattr(T, prefix + kind)
    assert isinstance(t, T.TensorType)
    assert t == T.TensorType(PREFIXES[prefix], KINDS[kind])
    assert t.ndim == len(KINDS[kind]) and t.dtype == PREFIXES[prefix]
    v = t("v")
    assert v.type == t and v.name == "v" and t().name is None


def test_tensor_type_constructors_in_graphs():
    x = T.dmatrix("x")
    assert x.type == T.dmatrix and x.type != T.fmatrix
    assert T.TensorType("float64", (False, False)) == T.dmatrix
    assert hash(T.TensorType("float64", (False, False))) == hash(T.dmatrix)
    assert pickle.loads(pickle.dumps(T.dmatrix)) == T.dmatrix
    # the floatX ones stay functions taking (name, dtype), as Theano
    assert T.matrix("m").dtype == theano.config.floatX
    assert T.matrix("m", dtype="int32").type == T.imatrix
    y = T.dvector("y")
    f = fn([x, y], T.dot(x, y) + 1)
    np.testing.assert_allclose(f(np.eye(2) * 3, [1.0, 2.0]), [4.0, 7.0])
    a, b = T.fmatrices("a", "b")
    assert a.type == b.type == T.fmatrix
    with pytest.raises(TypeError):
        T.dmatrix("x", dtype="float32")     # as Theano: a TensorType has no dtype argument


# ---- 2. as_tensor_variable(x, ndim=k) -----------------------------------------------------------
def test_as_tensor_variable_ndim_strips_leading_broadcastable_dims():
    r = T.drow("r")                                         # (True, False)
    v = T.as_tensor_variable(r, ndim=1)
    assert v.broadcastable == (False,)
    t = T.TensorType("float64", (True, True, False))("t")
    assert T.as_tensor_variable(t, ndim=2).broadcastable == (True, False)
    assert T.as_tensor_variable(t, ndim=1).broadcastable == (False,)
    assert T.as_tensor_variable(T.dvector(), ndim=3).broadcastable == (True, True, False)
    np.testing.assert_array_equal(fn([r], v)(np.array([[1.0, 2.0]])), [1.0, 2.0])
    with pytest.raises(ValueError, match="could not be cast"):
        T.as_tensor_variable(T.dmatrix(), ndim=1)
    with pytest.raises(ValueError, match="could not be cast"):
        T.as_tensor_variable(T.dcol(), ndim=1)              # the extra dim is not leading-bc
    with pytest.raises(ValueError):
        T.as_tensor_variable(np.ones((2, 2)), ndim=1)
    assert T.as_tensor_variable(np.ones(3), ndim=2).broadcastable == (True, False)
    with pytest.raises(TypeError):
        T.as_tensor_variable(theano.graph.Variable(theano.graph.Type()))


# ---- 3. shape and broadcast helpers ----------------------------------------------------------
def test_shape_pad_and_broadcast_patterns():
    x = T.dmatrix("x")
    assert T.shape_padleft(x, 2).broadcastable == (True, True, False, False)
    assert T.shape_padright(x).broadcastable == (False, False, True)
    assert T.shape_padaxis(x, 1).broadcastable == (False, True, False)
    assert T.shape_padaxis(x, -1).broadcastable == (False, False, True)
    with pytest.raises(IndexError):
        T.shape_padaxis(x, 3)
    a = T.addbroadcast(x, 0)
    assert a.broadcastable == (True, False)
    assert T.unbroadcast(a, 0).broadcastable == (False, False)
    assert T.addbroadcast(x, -1).broadcastable == (False, True)
    assert T.patternbroadcast(x, (True, True)).broadcastable == (True, True)
    with pytest.raises(ValueError, match="non-existent"):
        T.addbroadcast(x, 2)
    xv = np.arange(6.0).reshape(1, 6)
    f = fn([x], [T.shape_padleft(x, 2), T.shape_padright(x), T.shape_padaxis(x, 1), a * 2])
    for got, want in zip(f(xv), [xv[None, None], xv[..., None], xv[:, None], xv * 2]):
        np.testing.assert_array_equal(got, want)
        assert got.shape == want.shape
    with pytest.raises(ValueError, match="dimension 0"):
        fn([x], a * 2)(np.ones((2, 6)))
    g = T.grad((T.addbroadcast(x, 0) * 3).sum(), x)
    np.testing.assert_array_equal(fn([x], g)(xv), np.full((1, 6), 3.0))


def test_specify_shape():
    x = T.dmatrix("x")
    y = T.specify_shape(x, (2, 3))
    assert y.type == x.type
    f = fn([x], [y * 2, T.grad((y ** 2).sum(), x)])
    xv = np.arange(6.0).reshape(2, 3)
    out, g = f(xv)
    np.testing.assert_array_equal(out, xv * 2)
    np.testing.assert_array_equal(g, 2 * xv)
    with pytest.raises(AssertionError, match=r"\(3, 2\)"):
        f(xv.T.copy())
    s = T.specify_shape(x, x.shape)            # symbolic shapes are accepted too
    np.testing.assert_array_equal(fn([x], s)(xv), xv)
    with pytest.raises(TypeError):
        T.specify_shape(x, (2, 3, 4))
    with pytest.raises(TypeError):
        T.specify_shape(x, T.dvector())


def test_stacklists_mgrid_ogrid_swapaxes():
    a, b, c, d = T.dscalars("abcd")
    m = T.stacklists([[a, b], [c, d]])
    assert m.ndim == 2
    np.testing.assert_array_equal(fn([a, b, c, d], m)(1, 2, 3, 4), [[1, 2], [3, 4]])
    vs = T.dvectors("p", "q")
    s = T.stacklists([vs, vs])
    pv, qv = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    np.testing.assert_array_equal(fn(vs, s)(pv, qv), np.array([[pv, qv], [pv, qv]]))

    n = T.lscalar("n")
    grids = T.mgrid[0:n, 1:7:2]
    opens = T.ogrid[0:n, 1:7:2]
    got = fn([n], grids + opens)(4)
    want_m, want_o = np.mgrid[0:4, 1:7:2], np.ogrid[0:4, 1:7:2]
    for g, w in zip(got, list(want_m) + list(want_o)):
        np.testing.assert_array_equal(g, w)
        assert g.shape == w.shape
    assert opens[0].broadcastable == (False, True) and opens[1].broadcastable == (True, False)
    with pytest.raises(TypeError):
        T.mgrid[0:3, 2]

    x = T.dtensor3("x")
    xv = np.arange(24.0).reshape(2, 3, 4)
    f = fn([x], [T.swapaxes(x, 0, 2), T.swapaxes(x, 1, -1)])
    for g, w in zip(f(xv), [np.swapaxes(xv, 0, 2), np.swapaxes(xv, 1, -1)]):
        np.testing.assert_array_equal(g, w)
    with pytest.raises(IndexError):
        T.swapaxes(x, 0, 3)


def test_power_and_inv():
    x, y = T.dvectors("x", "y")
    xv, yv = np.array([1.5, 2.0, 4.0]), np.array([2.0, -1.0, 0.5])
    f = fn([x, y], [T.power(x, y), T.inv(x), T.grad(T.inv(x).sum(), x),
                    T.grad(T.power(x, y).sum(), y)])
    p, i, gi, gy = f(xv, yv)
    np.testing.assert_allclose(p, np.power(xv, yv))
    np.testing.assert_allclose(i, 1 / xv)
    np.testing.assert_allclose(gi, -1 / xv ** 2)
    np.testing.assert_allclose(gy, np.power(xv, yv) * np.log(xv))
    # Theano's inv upgrades ints to float as upgrade_to_float does
    assert T.inv(T.bvector()).dtype == "float32"
    assert T.inv(T.ivector()).dtype == "float64"
    assert T.inv(T.fvector()).dtype == "float32"
    iv = T.ivector("iv")
    np.testing.assert_allclose(fn([iv], T.inv(iv))(np.array([1, 2, 4], "int32")),
                               [1.0, 0.5, 0.25])


def test_choose():
    a = T.lvector("a")
    c0, c1, c2 = T.dvectors("c0", "c1", "c2")
    av = np.array([0, 2, 1, 2])
    cv = [np.arange(4.0), np.arange(4.0) * 10, np.arange(4.0) * 100]
    f = fn([a, c0, c1, c2], [T.choose(a, [c0, c1, c2]), T.choose(a, T.stack([c0, c1, c2])),
                             T.choose(a + 2, [c0, c1, c2], mode="wrap"),
                             T.choose(a + 2, [c0, c1, c2], mode="clip")])
    for got, want in zip(f(av, *cv), [np.choose(av, cv), np.choose(av, cv),
                                      np.choose(av + 2, cv, mode="wrap"),
                                      np.choose(av + 2, cv, mode="clip")]):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="choose"):
        fn([a, c0, c1], T.choose(a, [c0, c1]))(av, cv[0], cv[1])    # index 2 of 2 choices
    # broadcasting: a matrix of indices against scalar and vector choices
    am = T.lmatrix("am")
    s = T.dscalar("s")
    amv = np.array([[0, 1], [1, 0]])
    g = fn([am, s, c0], T.choose(am, [s, c0]))
    np.testing.assert_array_equal(g(amv, 7.0, np.array([1.0, 2.0])),
                                  np.choose(amv, [7.0, np.array([1.0, 2.0])]))
    with pytest.raises(TypeError, match="int"):
        T.choose(T.dvector(), [c0, c1])


def test_get_scalar_constant_value():
    gv = T.get_scalar_constant_value
    assert gv(T.constant(3)) == 3
    assert gv(2.5) == 2.5
    assert gv(np.array(4)) == 4
    assert gv(T.constant(np.full((2, 2), 7.0))) == 7.0            # one unique value
    assert gv(T.cast(T.constant(3), "float32") * 2 + 1) == 7
    assert gv(T.cast(T.constant(3), "float32") * 2 + 1).dtype == np.float32
    x = T.dmatrix("x")
    assert gv(T.addbroadcast(x, 1).shape[1]) == 1
    assert gv(T.stack([T.constant(4), T.lscalar()])[0]) == 4
    assert gv(T.fill(x, 5.0).dimshuffle(0, 1, "x")) == 5.0
    assert gv(T.alloc(np.float64(2.0), 3, 4)) == 2.0
    for bad in (x, x.shape[0], T.constant(np.arange(3)), T.dscalar() + 1):
        with pytest.raises(T.NotScalarConstantError):
            gv(bad)
    with pytest.raises(T.basic.EmptyConstantError):
        gv(T.constant(np.zeros(0)))
    assert issubclass(T.basic.EmptyConstantError, T.NotScalarConstantError)
    with pytest.raises(T.NotScalarConstantError):
        gv(T.constant(3) + 1, only_process_constants=True)
    with pytest.raises(T.NotScalarConstantError):
        gv(T.constant(3) + 1, elemwise=False)


def test_dtype_lists():
    assert T.discrete_dtypes == ["bool", "int8", "int16", "int32", "int64",
                                 "uint8", "uint16", "uint32", "uint64"]
    assert T.int_dtypes == ["int8", "int16", "int32", "int64"]
    assert T.uint_dtypes == ["uint8", "uint16", "uint32", "uint64"]
    assert T.integer_dtypes == T.int_dtypes + T.uint_dtypes
    assert T.float_dtypes == ["float16", "float32", "float64"]
    assert T.complex_dtypes == ["complex64", "complex128"]
    assert T.continuous_dtypes == T.float_dtypes + T.complex_dtypes
    assert T.all_dtypes == T.discrete_dtypes + T.continuous_dtypes
    for dt in T.all_dtypes:         # every one is a dtype tjit's tensors take
        assert T.TensorType(dt, (False,))().dtype == dt


def test_cov_against_numpy():
    m, w = T.dmatrix("m"), T.lvector("w")
    aw = T.dvector("aw")
    y = T.dmatrix("y")
    rng = np.random.default_rng(0)
    mv, yv = rng.normal(size=(3, 6)), rng.normal(size=(2, 6))
    wv, awv = np.array([1, 2, 1, 3, 1, 1]), rng.uniform(0.5, 2, size=6)
    outs = [T.cov(m), T.cov(m, bias=True), T.cov(m, ddof=3), T.cov(m.T, rowvar=False),
            T.cov(m, y), T.cov(m, fweights=w), T.cov(m, aweights=aw),
            T.cov(m, fweights=w, aweights=aw, ddof=0)]
    want = [np.cov(mv), np.cov(mv, bias=True), np.cov(mv, ddof=3), np.cov(mv.T, rowvar=False),
            np.cov(mv, yv), np.cov(mv, fweights=wv), np.cov(mv, aweights=awv),
            np.cov(mv, fweights=wv, aweights=awv, ddof=0)]
    for got, exp in zip(fn([m, y, w, aw], outs)(mv, yv, wv, awv), want):
        np.testing.assert_allclose(got, exp, rtol=1e-12)
    v = T.dvector("v")
    c = T.cov(v)
    assert c.ndim == 0
    np.testing.assert_allclose(fn([v], c)(mv[0]), np.cov(mv[0]))
    g = T.grad(T.cov(m).sum(), m)     # differentiable: a composition of mean and dot
    eps, base = 1e-6, np.cov(mv).sum()
    bumped = mv.copy()
    bumped[1, 2] += eps
    np.testing.assert_allclose(fn([m], g)(mv)[1, 2], (np.cov(bumped).sum() - base) / eps,
                               rtol=1e-4)
    with pytest.raises(ValueError):
        T.cov(T.dtensor3())


def test_permute_row_elements_and_inverse_permutation():
    x, p = T.dmatrix("x"), T.lmatrix("p")
    pv1 = T.lvector("pv1")
    rng = np.random.default_rng(1)
    xv = rng.normal(size=(3, 5))
    pv = np.array([rng.permutation(5) for _ in range(3)])
    one = rng.permutation(5)
    f = fn([x, p, pv1], [T.permute_row_elements(x, p), T.permute_row_elements(x, p, inverse=1),
                         T.permute_row_elements(x, pv1), T.inverse_permutation(p),
                         T.grad((T.permute_row_elements(x, pv1) * T.arange(5)).sum(), x)])
    fwd, inv, bcast, invp, g = f(xv, pv, one)
    np.testing.assert_array_equal(fwd, np.take_along_axis(xv, pv, 1))
    back = np.empty_like(xv)
    np.put_along_axis(back, pv, xv, 1)
    np.testing.assert_array_equal(inv, back)
    np.testing.assert_array_equal(bcast, xv[:, one])
    np.testing.assert_array_equal(invp, np.argsort(pv, axis=1))
    np.testing.assert_array_equal(g, np.tile(np.argsort(one), (3, 1)).astype(float))
    # a vector x broadcast against a matrix of permutations; its gradient sums the rows
    xv1 = T.dvector("xv1")
    h = fn([xv1, p], [T.permute_row_elements(xv1, p), T.grad(T.permute_row_elements(xv1, p)[0, 0] +
                                                              T.permute_row_elements(xv1, p)[1, 0], xv1)])
    out, gx = h(xv[0], pv)
    np.testing.assert_array_equal(out, xv[0][pv])
    want = np.zeros(5)
    want[pv[0, 0]] += 1
    want[pv[1, 0]] += 1
    np.testing.assert_array_equal(gx, want)
    with pytest.raises(TypeError):
        T.permute_row_elements(x, T.dmatrix())


# ---- 4. T.extra_ops --------------------------------------------------------------------------
def test_squeeze_diff_bartlett_to_one_hot():
    x = T.TensorType("float64", (True, False, True))("x")
    assert extra_ops.squeeze(x).broadcastable == (False,)
    xv = np.arange(4.0).reshape(1, 4, 1)
    m = T.dmatrix("m")
    mv = np.array([[1.0, 4.0, 9.0, 16.0], [2.0, -1.0, 5.0, 0.0]])
    M = T.lscalar("M")
    y = T.lvector("y")
    bm = T.bmatrix("bm")
    f = fn([x, m, M, y, bm], [extra_ops.squeeze(x), extra_ops.diff(m), extra_ops.diff(m, n=2),
                              extra_ops.diff(m, axis=0), extra_ops.bartlett(M),
                              extra_ops.to_one_hot(y, 4), extra_ops.to_one_hot(y, 4, "int32"),
                              extra_ops.diff(bm, n=2),
                              T.grad((extra_ops.diff(m, n=2) * T.arange(2)).sum(), m)])
    yv = np.array([3, 0, 1])
    bmv = np.array([[1, 5, -2, 7], [0, 0, 3, 1]], "int8")
    sq, d1, d2, d0, bw, oh, ohi, db, gd = f(xv, mv, 7, yv, bmv)
    np.testing.assert_array_equal(sq, xv.ravel())
    np.testing.assert_array_equal(d1, np.diff(mv))
    np.testing.assert_array_equal(d2, np.diff(mv, n=2))
    np.testing.assert_array_equal(d0, np.diff(mv, axis=0))
    np.testing.assert_array_equal(db, np.diff(bmv, n=2))
    assert db.dtype == np.int8
    np.testing.assert_allclose(bw, np.bartlett(7))
    assert bw.dtype == np.float64
    np.testing.assert_array_equal(oh, np.eye(4)[yv])
    assert oh.dtype == theano.config.floatX and ohi.dtype == np.int32
    # d/dm of sum_j k_j (m[j+2] - 2 m[j+1] + m[j]) with k = (0, 1)
    np.testing.assert_array_equal(gd, np.tile([0.0, 1.0, -2.0, 1.0], (2, 1)))
    np.testing.assert_array_equal(fn([M], extra_ops.bartlett(M))(0), np.bartlett(0))
    with pytest.raises(TypeError):
        extra_ops.bartlett(T.dscalar())
    with pytest.raises(ValueError):
        extra_ops.diff(m, axis=2)


def test_fill_diagonal_values_and_gradients():
    a = T.dmatrix("a")
    t = T.dtensor3("t")
    val = T.dscalar("val")
    k = T.lscalar("k")
    rng = np.random.default_rng(2)
    fd, fdo = extra_ops.fill_diagonal, extra_ops.fill_diagonal_offset
    outs = [fd(a, val), fd(t, val), fdo(a, val, k)]
    w = T.dmatrix("w")     # a weight for the gradient: cost = sum(w * out)
    cost = (w * fd(a, val)).sum()
    cost_o = (w * fdo(a, val, k)).sum()
    grads = T.grad(cost, [a, val]) + T.grad(cost_o, [a, val])
    f = fn([a, t, val, k, w], outs + grads)
    for shape in [(3, 3), (4, 2), (2, 5)]:
        for off in (-3, -1, 0, 2, 6):
            av, wv = rng.normal(size=shape), rng.normal(size=shape)
            tv = rng.normal(size=(3, 3, 3))
            o2, o3, oo, ga, gv, goa, gov = f(av, tv, 1.5, off, wv)
            want = av.copy()
            np.fill_diagonal(want, 1.5)
            np.testing.assert_array_equal(o2, want)
            want3 = tv.copy()
            np.fill_diagonal(want3, 1.5)
            np.testing.assert_array_equal(o3, want3)
            mask = np.eye(*shape, k=off, dtype=bool)
            np.testing.assert_array_equal(oo, np.where(mask, 1.5, av))
            np.testing.assert_array_equal(ga, np.where(np.eye(*shape, dtype=bool), 0, wv))
            np.testing.assert_allclose(gv, np.trace(wv[:min(shape), :min(shape)]))
            np.testing.assert_array_equal(goa, np.where(mask, 0, wv))
            np.testing.assert_allclose(gov, wv[mask].sum())
    with pytest.raises(TypeError):
        fd(T.dvector(), 1.0)
    with pytest.raises(TypeError):
        fd(T.fmatrix(), T.dscalar())          # float64 cannot go into float32 losslessly
    with pytest.raises(TypeError):
        fdo(a, 1.0, T.dscalar())
    with pytest.raises(ValueError, match="must be equal"):
        f(np.ones((2, 2)), np.ones((2, 3, 3)), 0.0, 0, np.ones((2, 2)))


def test_searchsorted():
    x, v, xu = T.dvector("x"), T.dmatrix("v"), T.dvector("xu")
    s = T.lvector("s")
    xv = np.array([1.0, 2.0, 3.0, 3.0, 5.0])
    vv = np.array([[-1.0, 3.0], [4.0, 9.0]])
    unsorted = np.array([5.0, 1.0, 3.0, 2.0, 3.0])
    f = fn([x, v, xu, s], [extra_ops.searchsorted(x, v),
                           extra_ops.searchsorted(x, v, side="right"),
                           extra_ops.searchsorted(xu, v, sorter=s)])
    left, right, sorted_ = f(xv, vv, unsorted, np.argsort(unsorted))
    np.testing.assert_array_equal(left, np.searchsorted(xv, vv))
    np.testing.assert_array_equal(right, np.searchsorted(xv, vv, side="right"))
    np.testing.assert_array_equal(sorted_, np.searchsorted(unsorted, vv,
                                                           sorter=np.argsort(unsorted)))
    assert left.dtype == np.int64
    assert extra_ops.searchsorted([1, 2, 3, 4, 5], 3, side="right").eval() == 3
    g = T.grad((extra_ops.searchsorted(x, v) * 1.0).sum() + x.sum(), x)
    np.testing.assert_array_equal(fn([x, v], g)(xv, vv), np.ones(5))
    with pytest.raises(ValueError):
        extra_ops.searchsorted(x, v, side="middle")
    with pytest.raises(ValueError):
        extra_ops.searchsorted(T.dmatrix(), v)
    with pytest.raises(TypeError):
        extra_ops.searchsorted(x, v, sorter=T.dvector())


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(-3, 3), min_size=1, max_size=12),
       st.booleans(), st.booleans(), st.booleans())
def test_unique_flags_match_numpy(values, ri, rv, rc):
    key = (ri, rv, rc)
    if key not in _UNIQUE_FNS:
        x = T.lmatrix("x")
        _UNIQUE_FNS[key] = fn([x], extra_ops.unique(x, ri, rv, rc))
    arr = np.array(values).reshape(1, -1)
    got = _UNIQUE_FNS[key](arr)
    want = np.unique(arr, return_index=ri, return_inverse=rv, return_counts=rc)
    if not (ri or rv or rc):
        got, want = [got], [want]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, np.ravel(w))


_UNIQUE_FNS = {}


def test_unique_op_is_theanos():
    x = T.dvector("x")
    outs = extra_ops.Unique(True, True, False)(x)
    vals, idx, inv = fn([x], outs)([1, 2.0, 3, 4, 3, 2, 1.0])
    np.testing.assert_array_equal(vals, [1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(idx, [0, 1, 2, 3])
    np.testing.assert_array_equal(inv, [0, 1, 2, 3, 2, 1, 0])


# ---- 5. float16 reductions accumulate in float32 ---------------------------------------------
def test_float16_reductions_accumulate_in_float32():
    x = T.TensorType("float16", (False,))("x")
    outs = [x.sum(), x.mean(), x.prod(), T.var(x), x.max()]
    assert [o.dtype for o in outs] == ["float16"] * 5
    # 4096 + 1 + 1 + ... : float16 accumulation would stay at 4096 (spacing 4 there)
    xv = np.concatenate([[2048.0], np.ones(1500)]).astype("float16")
    s, m, p, v, mx = fn([x], outs)(xv)
    assert s == np.float16(np.sum(xv, dtype="float32"))
    assert s == np.float16(3548.0)
    assert m == np.float16(np.sum(xv, dtype="float32") / xv.size)
    assert mx == 2048
    yv = np.full(8, 1.5, "float16")
    s2, m2, p2, v2, _ = fn([x], outs)(yv)
    assert p2 == np.float16(np.prod(yv, dtype="float32"))
    assert v2 == 0


def test_unique_along_an_axis():
    x = T.lmatrix("x")
    xv = np.array([[1, 2], [0, 5], [1, 2], [0, 5], [3, 3]])
    vals, inv, counts = fn([x], extra_ops.unique(x, return_inverse=True, return_counts=True,
                                                 axis=0))(xv)
    wv, winv, wc = np.unique(xv, return_inverse=True, return_counts=True, axis=0)
    np.testing.assert_array_equal(vals, wv)
    np.testing.assert_array_equal(inv, np.ravel(winv))
    np.testing.assert_array_equal(counts, wc)
    with pytest.raises(ValueError):
        extra_ops.unique(x, axis=2)
