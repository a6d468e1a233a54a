"""Advanced and boolean indexing, set/inc_subtensor on them, against NumPy:
values (random shapes incl. empty and size 1, non-contiguous and reversed inputs,
index vectors with repeats and negatives, random masks), gradients against
central finite differences, and errors (build-time types, run-time IndexError)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from helpers import numeric_grads as numeric_grad
import tjit as theano
import tjit.tensor as T
from tjit.tensor.advanced_subtensor import AdvancedSubtensor, AdvancedSubtensor1

SETTINGS = settings(max_examples=120, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def layout(a, kind):
    """`a` as a C-contiguous, strided (every other element of a bigger buffer)
    or reversed (negative strides) array with the same values."""
    if kind == "strided":
        big = np.zeros(tuple(2 * n for n in a.shape), a.dtype)
        view = big[tuple(slice(None, None, 2) for _ in a.shape)]
        view[...] = a
        return view
    if kind == "reversed":
        rev = tuple(slice(None, None, -1) for _ in a.shape)
        return np.ascontiguousarray(a[rev])[rev]
    return a


shapes = st.lists(st.integers(0, 4), min_size=1, max_size=3).map(tuple)
layouts = st.sampled_from(["c", "strided", "reversed"])


def indices(rng, n, k):
    """k indices into a dim of size n: repeats and negative values, all in range."""
    return rng.integers(-n, n, size=k) if n else np.zeros(0, "int64")


def check_grad(build, values, extra=(), rtol=1e-6, atol=1e-8):
    """grad of the cost sum(sin(build(*xs)) + out**2) w.r.t. each float64 input,
    against finite differences. `extra` are (variable, value) non-differentiated inputs."""
    xs = [T.TensorType("float64", (False,) * np.ndim(v))(f"x{i}") for i, v in enumerate(values)]
    out = build(*xs, *[e[0] for e in extra])
    cost = T.sum(T.sin(out) + out ** 2)
    ins = xs + [e[0] for e in extra]
    ev = [e[1] for e in extra]
    f = theano.function(ins, cost)
    g = theano.function(ins, T.grad(cost, xs))
    got = g(*values, *ev)
    want = numeric_grad(lambda *vs: float(f(*vs, *ev)), [np.array(v, float) for v in values])
    for gg, ww in zip(got, want):
        np.testing.assert_allclose(gg, ww, rtol=rtol, atol=atol)


def np_inc(x, key, y):
    """x[key] += y with every repeated position accumulating (a plain loop)."""
    out = x.copy()
    pos = np.arange(x.size).reshape(x.shape)[key]
    flat = out.reshape(-1)
    for p, v in zip(pos.ravel(), np.broadcast_to(y, pos.shape).ravel()):
        flat[p] += v
    return out


def np_set(x, key, y):
    out = x.copy()
    out[key] = y
    return out


# ---- x[idx_vector] (AdvancedSubtensor1) ------------------------------------------------------
_ADV1 = {}


def _adv1_fn(ndim):
    if ndim not in _ADV1:
        x = T.TensorType("float64", (False,) * ndim)("x")
        y = T.TensorType("float64", (False,) * ndim)("y")
        i = T.lvector("i")
        assert isinstance(x[i].owner.op, AdvancedSubtensor1)
        _ADV1[ndim] = theano.function([x, y, i], [x[i], T.inc_subtensor(x[i], y),
                                                  T.set_subtensor(x[i], y), x[i][::-1]])
    return _ADV1[ndim]


@SETTINGS
@given(shape=shapes, k=st.integers(0, 7), seed=st.integers(0, 2 ** 31), kind=layouts)
def test_index_vector_matches_numpy(shape, k, seed, kind):
    rng = np.random.default_rng(seed)
    x = layout(rng.standard_normal(shape), kind)
    i = indices(rng, shape[0], k)
    y = layout(rng.standard_normal((len(i),) + shape[1:]), kind)
    got = _adv1_fn(len(shape))(x, y, i)
    want = [x[i], np_inc(x, i, y), np_set(x, i, y), x[i][::-1]]
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_array_equal(g, w)


def test_repeated_indices_accumulate_and_last_write_wins():
    x = T.dvector("x")
    i = T.lvector("i")
    y = T.dvector("y")
    f = theano.function([x, i, y], [T.inc_subtensor(x[i], y), T.set_subtensor(x[i], y),
                                    T.inc_subtensor(x[i], 1.0)])
    inc, st_, one = f(np.zeros(4), [1, 1, -3, 3, 3, 3], [1.0, 2.0, 4.0, 8.0, 16.0, 32.0])
    np.testing.assert_array_equal(inc, [0.0, 7.0, 0.0, 56.0])
    np.testing.assert_array_equal(st_, [0.0, 4.0, 0.0, 32.0])
    np.testing.assert_array_equal(one, [0.0, 3.0, 0.0, 3.0])


def test_python_list_and_constant_indices():
    x = T.dmatrix("x")
    v = np.arange(12.0).reshape(4, 3)
    outs = [x[[0, 2, 2]], x[np.array([-1, 0])], x[[1]], x[:, [2, 0]], x[[]], x[[0, 1], [2, 2]]]
    assert outs[2].broadcastable == (True, False)      # a constant length-1 index
    assert outs[0].broadcastable == (False, False)
    got = theano.function([x], outs)(v)
    for g, w in zip(got, [v[[0, 2, 2]], v[[-1, 0]], v[[1]], v[:, [2, 0]], v[[]],
                          v[[0, 1], [2, 2]]]):
        assert g.shape == w.shape
        np.testing.assert_array_equal(g, w)


# ---- general keys: slices, ints, None and index tensors mixed ----------------------------------
ENTRY = st.sampled_from(["full", "slice", "rev", "vec", "col", "int"])
SLICES = {"full": slice(None), "slice": slice(1, None, 2), "rev": slice(None, None, -1)}
_GEN = {}


def _general(entries, none_at):
    """f(x, y, idx_0, idx_1, idx_2) -> [x[key], inc_subtensor, set_subtensor] for a 3-d x;
    entry d of the key is a slice or the index input idx_d ('vec': int vector, 'col':
    int matrix of shape (m, 1), 'int': int scalar), with None inserted at none_at."""
    if (entries, none_at) not in _GEN:
        x, y = T.dtensor3("x"), T.dvector("y")
        kinds = {"vec": T.lvector, "col": T.lmatrix, "int": T.lscalar}
        idx = [kinds.get(e, T.lscalar)(f"idx{d}") for d, e in enumerate(entries)]
        key = [SLICES[e] if e in SLICES else idx[d] for d, e in enumerate(entries)]
        if none_at is not None:
            key.insert(none_at, None)
        sub = x[tuple(key)]
        val = y[:sub.size].reshape(sub.shape, ndim=sub.ndim)
        _GEN[(entries, none_at)] = theano.function(
            [x, y] + idx, [sub, T.inc_subtensor(sub, val), T.set_subtensor(sub, val)],
            on_unused_input="ignore")
    return _GEN[(entries, none_at)]


@SETTINGS
@given(shape=st.tuples(*[st.integers(0, 4)] * 3), entries=st.tuples(ENTRY, ENTRY, ENTRY),
       none_at=st.sampled_from([None, 0, 1, 2, 3]), k=st.integers(0, 4),
       seed=st.integers(0, 2 ** 31), kind=layouts)
def test_general_advanced_keys_match_numpy(shape, entries, none_at, k, seed, kind):
    # no integer index fits an empty dim: index arrays there are empty, ints become slices
    entries = tuple("full" if e == "int" and not shape[d] else e for d, e in enumerate(entries))
    if entries == ("full",) * 3 and none_at is None:
        entries = ("rev", "full", "full")  # x[:, :, :] is x itself, not an indexed tensor
    if any(not shape[d] for d, e in enumerate(entries) if e == "vec"):
        k = 0
    m = 3 if all(shape[d] for d, e in enumerate(entries) if e == "col") else 0
    rng = np.random.default_rng(seed)
    x = layout(rng.standard_normal(shape), kind)
    vals, npkey = [], []
    for d, e in enumerate(entries):
        if e == "vec":
            vals.append(indices(rng, shape[d], k))
        elif e == "col":
            vals.append(indices(rng, shape[d], m).reshape(-1, 1))
        elif e == "int":
            vals.append(np.int64(rng.integers(-shape[d], shape[d])))
        else:
            vals.append(np.int64(0))
        npkey.append(SLICES[e] if e in SLICES else vals[-1])
    if none_at is not None:
        npkey.insert(none_at, None)
    npkey = tuple(npkey)
    want = x[npkey]
    y = rng.standard_normal(want.size)
    yv = y.reshape(want.shape)
    got = _general(entries, none_at)(x, y, *vals)
    assert got[0].shape == want.shape
    np.testing.assert_array_equal(got[0], want)
    np.testing.assert_allclose(got[1], np_inc(x, npkey, yv), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(got[2], np_set(x, npkey, yv))


def test_advanced_dims_placement_and_broadcastable():
    x = T.dtensor4("x")
    i, j = T.lvector("i"), T.lmatrix("j")
    cases = [((slice(None), i, i), (2, 3, 5)), ((i, slice(None), i), (3, 2, 5)),
             ((slice(None), j, slice(None), i), (5, 3, 2, 4)), ((0, slice(None), i), (3, 2, 5)),
             ((Ellipsis, i), (2, 2, 4, 3)), ((i, None, i), (3, 1, 4, 5)),
             ((slice(None), i, None, i), (3, 2, 1, 5))]
    v = np.arange(2.0 * 2 * 4 * 5).reshape(2, 2, 4, 5)
    iv, jv = np.array([0, 1, 1]), np.array([[1], [0], [-1], [1], [0]])
    for key, shp in cases:
        out = x[key]
        assert isinstance(out.owner.op, AdvancedSubtensor)
        assert out.ndim == len(shp)
        npkey = tuple(iv if k is i else jv if k is j else k for k in key)
        got = out.eval({x: v, i: iv, j: jv}) if any(k is j for k in key) else \
            out.eval({x: v, i: iv})
        assert got.shape == shp == v[npkey].shape
        np.testing.assert_array_equal(got, v[npkey])
    assert x[i, 0].broadcastable == (False, False, False)
    assert x[None, :, i].broadcastable == (True, False, False, False, False)
    r = T.drow("r")
    assert r[:, i].broadcastable == (True, False)


# ---- boolean masks -----------------------------------------------------------------------------
_MASK = {}


def _mask_fn(ndim, mdim):
    if (ndim, mdim) not in _MASK:
        x = T.TensorType("float64", (False,) * ndim)("x")
        m = T.TensorType("bool", (False,) * mdim)("m")
        y = T.dvector("y")
        sub = x[m]
        assert sub.broadcastable[0] is False
        val = y[:sub.shape[0]]
        if sub.ndim > 1:
            val = val.dimshuffle(0, *["x"] * (sub.ndim - 1))
        _MASK[(ndim, mdim)] = theano.function(
            [x, m, y], [sub, T.set_subtensor(x[m], val), T.inc_subtensor(x[m], val),
                        T.set_subtensor(x[m], 0.0), x[x > 0.5]])
    return _MASK[(ndim, mdim)]


@SETTINGS
@given(shape=shapes, data=st.data(), seed=st.integers(0, 2 ** 31), kind=layouts)
def test_boolean_mask_matches_numpy(shape, data, seed, kind):
    mdim = data.draw(st.integers(1, len(shape)))
    rng = np.random.default_rng(seed)
    x = layout(rng.standard_normal(shape), kind)
    m = layout(rng.random(shape[:mdim]) < 0.5, kind)
    y = rng.standard_normal(m.size + 1)
    got = _mask_fn(len(shape), mdim)(x, m, y)
    n = int(m.sum())
    val = y[:n].reshape((n,) + (1,) * (x.ndim - mdim))
    want = [x[m], np_set(x, m, val), np_inc(x, m, val), np_set(x, m, 0.0), x[x > 0.5]]
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_array_equal(g, w)


def test_mask_examples_from_theano_docs():
    c = T.dvector("c")
    v = np.array([1.0, 5.0, 3.0, 7.0, 2.0])
    np.testing.assert_array_equal(c[c > 3].eval({c: v}), [5.0, 7.0])
    np.testing.assert_array_equal(T.set_subtensor(c[c > 3], 0).eval({c: v}),
                                  [1.0, 0.0, 3.0, 0.0, 2.0])
    m = T.dmatrix("m")
    mv = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(m[:, np.array([True, False, True])].eval({m: mv}),
                                  mv[:, [True, False, True]])
    np.testing.assert_array_equal(m[[True, False]].eval({m: mv}), mv[[True, False]])
    np.testing.assert_array_equal(T.inc_subtensor(m[m > 2], 10.0).eval({m: mv}),
                                  np.where(mv > 2, mv + 10, mv))


# ---- gradients --------------------------------------------------------------------------------
def test_grad_index_vector_with_repeats():
    rng = np.random.default_rng(0)
    i = T.lvector("i")
    iv = np.array([2, 0, 2, -1, 2])
    check_grad(lambda x, i: x[i], [rng.standard_normal((4, 3))], extra=[(i, iv)])
    check_grad(lambda x, i: x[:, i], [rng.standard_normal((2, 3))], extra=[(i, iv)])


def test_grad_general_and_mask():
    rng = np.random.default_rng(1)
    i, j = T.lvector("i"), T.lvector("j")
    iv, jv = np.array([1, 1, -1, 0]), np.array([2, 0, 2, 2])
    check_grad(lambda x, i, j: x[i, :, j], [rng.standard_normal((3, 2, 4))],
               extra=[(i, iv), (j, jv)])
    check_grad(lambda x, i: x[None, 1:, i], [rng.standard_normal((3, 2))],
               extra=[(i, np.array([1, 1, 0]))])
    check_grad(lambda x: x[x > 0.1], [rng.standard_normal((3, 4))])
    m = T.bvector("m")
    check_grad(lambda x, m: x[:, T.cast(m, "bool")], [rng.standard_normal((2, 4))],
               extra=[(m, np.array([1, 0, 1, 1], "int8"))])


def test_grad_inc_and_set_subtensor():
    rng = np.random.default_rng(2)
    i = T.lvector("i")
    rep, uniq = np.array([0, 3, 0, -1]), np.array([3, 0, 1])
    x, y = rng.standard_normal((4, 2)), rng.standard_normal((4, 2))
    check_grad(lambda x, y, i: T.inc_subtensor(x[i], y), [x, y], extra=[(i, rep)])
    check_grad(lambda x, y, i: T.inc_subtensor(x[i], y), [x, y[0]], extra=[(i, rep)])
    check_grad(lambda x, y, i: T.set_subtensor(x[i], y) * 1.5, [x, y[:3]], extra=[(i, uniq)])
    check_grad(lambda x, y: T.set_subtensor(x[x > 0], y), [x, np.array(0.7)])
    check_grad(lambda x, y, i: T.inc_subtensor(x[i, 1], y) ** 2, [x, y[:, 0]],
               extra=[(i, rep)])


# ---- errors -------------------------------------------------------------------------------
def test_out_of_range_indices_raise_index_error():
    x = T.dmatrix("x")
    i = T.lvector("i")
    f = theano.function([x, i], x[i])
    with pytest.raises(IndexError, match=r"x of shape \(3, 2\)"):
        f(np.zeros((3, 2)), [0, 3])
    with pytest.raises(IndexError, match=r"shape \(3, 2\)"):
        f(np.zeros((3, 2)), [-4])
    g = theano.function([x, i], [T.inc_subtensor(x[:, i], 1.0)])
    with pytest.raises(IndexError, match=r"x of shape \(3, 2\)"):
        g(np.zeros((3, 2)), [2])
    h = theano.function([x, i], T.set_subtensor(x[i, i], 1.0))
    with pytest.raises(IndexError, match="x of shape"):
        h(np.zeros((3, 2)), [2])
    np.testing.assert_array_equal(h(np.zeros((2, 2)), [1, -1])[1], [0.0, 1.0])
    m = T.bvector("m")
    fm = theano.function([x, m], x[T.cast(m, "bool")])
    with pytest.raises(IndexError, match=r"x of shape \(3, 2\)"):
        fm(np.zeros((3, 2)), np.ones(4, "int8"))    # mask of the wrong length


def test_build_time_type_errors():
    x = T.dmatrix("x")
    with pytest.raises(TypeError, match="float64"):
        x[T.dvector("fi")]
    with pytest.raises(TypeError):
        x[[0.5, 1.0]]
    with pytest.raises(TypeError):
        x[T.dscalar("s")]
    with pytest.raises(TypeError, match="too many"):
        x[T.TensorType("bool", (False,) * 3)("m3")]   # mask with more dims than x
    with pytest.raises(IndexError):
        x[T.lvector(), T.lvector(), T.lvector()]
    with pytest.raises(TypeError, match="0-d boolean"):
        x[T.sum(x) > 0]
    with pytest.raises(TypeError, match="dims"):
        T.set_subtensor(x[T.lvector()], T.dtensor3())
    with pytest.raises(TypeError, match="precision"):
        T.inc_subtensor(T.imatrix()[T.lvector()], T.dvector())
    with pytest.raises(TypeError):
        AdvancedSubtensor1()(x, T.lmatrix())


def test_y_shape_mismatch_raises_value_error():
    x, y = T.dvector("x"), T.dvector("y")
    i = T.lvector("i")
    f = theano.function([x, y, i], T.inc_subtensor(x[i], y))
    with pytest.raises(ValueError, match="does not fit"):
        f(np.zeros(4), np.ones(3), [0, 1])


def test_printing_names_the_ops():
    x = T.dmatrix("x")
    i = T.lvector("i")
    assert str(x[i].owner.op) == "AdvancedSubtensor1"
    assert str(x[1:, i].owner.op) == "AdvancedSubtensor{1:, i0}"
    assert str(T.inc_subtensor(x[i], 1.0).owner.op) == "AdvancedIncSubtensor1"
    assert str(T.set_subtensor(x[:, i], 1.0).owner.op) == "AdvancedSetSubtensor{:, i0}"
