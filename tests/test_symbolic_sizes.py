"""Symbolic sizes (issue 13): T.get_vector_length as Theano's, shape unpacking,
random draws sized by x.shape in both stream classes, givens reaching default
updates, and MRG_RandomStreams.truncated_normal (Theano's method, recomputed in
NumPy from the same uniforms)."""
import math

import numpy as np
import pytest

import tjit
import tjit.tensor as T
from tjit.function import MissingInputError
from tjit.sandbox.rng_mrg import MRG_RandomStreams
from tjit.tensor.shared_randomstreams import RandomStreams

STREAMS = [RandomStreams, MRG_RandomStreams]


# ---- get_vector_length ----------------------------------------------------------
def _lengths():
    x, r = T.tensor3("x"), T.row("r")
    i = T.lscalar("i")
    return [
        (x.shape, 3), (r.shape, 2), (T.shape(T.scalar()), 0),
        (T.constant(np.arange(5)), 5), (T.as_tensor_variable([2, 3]), 2),
        (T.stack([i, i, 3]), 3), (T.stack(i, x.shape[0]), 2),
        (T.concatenate([x.shape, r.shape]), 5), (T.join(0, x.shape, T.stack([i])), 4),
        (x.shape[1:], 2), (x.shape[:-1], 2), (x.shape[::-1], 3), (x.shape[::2], 2),
        (x.shape[-2:], 2), (x.shape[5:], 0), (x.shape[1:][1:], 1),
        (T.cast(x.shape, "int32"), 3), (T.lscalar().dimshuffle("x"), 1),
        (T.patternbroadcast(T.lvector(), (True,)), 1),
    ]


def test_get_vector_length_follows_the_graph():
    got = [T.get_vector_length(v) for v, _ in _lengths()]
    assert got == [n for _, n in _lengths()]


def test_get_vector_length_raises_as_theano():
    x = T.matrix("x")
    for unknown in [T.lvector("v"), x.shape[T.lscalar():], T.join(0, x.shape, T.lvector()),
                    T.arange(T.lscalar())]:
        with pytest.raises(ValueError, match="length not known"):
            T.get_vector_length(unknown)
    with pytest.raises(TypeError, match="symbolic vector"):
        T.get_vector_length(x)


def test_shape_unpacks_into_its_entries():
    x = T.tensor3("x")
    n, d, k = x.shape
    rows, cols = x.shape[1:]
    f = tjit.function([x], [n * 100 + d * 10 + k, rows - cols, sum(s for s in x.shape)])
    got = f(np.zeros((2, 3, 4)))
    assert [int(v) for v in got] == [234, -1, 9]
    with pytest.raises(ValueError, match="length not known"):
        a, b = T.lvector("v")
    with pytest.raises(TypeError, match="cannot be iterated"):
        list(T.matrix("m"))


# ---- draws with a symbolic size ---------------------------------------------------
def _draws(rs, size, cls):
    """One draw of every distribution of `rs`, each sized by `size` (a 2-d size).
    (MRG: Theano guesses the stream count from a constant size, 60 * 256 for a
    symbolic one; given here, so both sizes draw from the same substreams.)"""
    kw = {"nstreams": 60 * 256} if cls is MRG_RandomStreams else {}
    out = [rs.uniform(size=size, low=-1.0, high=2.0, **kw),
           rs.normal(size=size, avg=1.0, std=2.0, **kw),
           rs.binomial(size=size, n=1, p=0.3, **kw), rs.binomial(size=size, n=5, p=0.4, **kw),
           rs.random_integers(size=size, low=-3, high=3), rs.choice(size=size, a=7),
           rs.choice(size=size, a=30, replace=False), rs.permutation(size=size, n=4),
           rs.poisson(size=size, lam=2.5),
           rs.multinomial(size=size, n=4, pvals=[0.2, 0.3, 0.5])]
    if cls is MRG_RandomStreams:
        out += [rs.truncated_normal(size=size, avg=-1.0, std=0.5),
                rs.normal(size=size, truncate=True)]
    return out


@pytest.mark.parametrize("cls", STREAMS)
def test_symbolic_size_draws_the_numbers_of_the_constant_size(cls):
    x = T.matrix("x")
    symbolic = _draws(cls(77), x.shape, cls)
    constant = _draws(cls(77), (3, 4), cls)
    assert [v.ndim for v in symbolic] == [v.ndim for v in constant]
    f = tjit.function([x], symbolic)
    g = tjit.function([], constant)
    for k in range(2):   # both advance their states alike
        got, want = f(np.zeros((3, 4))), g()
        for a, b in zip(got, want):
            assert a.shape == b.shape and a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
    # another shape at run time: another draw of the same function
    assert [a.shape[:2] for a in f(np.zeros((5, 2)))] == [(5, 2)] * len(symbolic)


@pytest.mark.parametrize("cls", STREAMS)
def test_size_forms_give_the_ndim_and_broadcast_pattern(cls):
    rs = cls(3)
    x, r = T.tensor3("x"), T.row("r")
    assert rs.uniform(size=x.shape[1:]).ndim == 2
    assert rs.uniform(size=x.shape[0]).ndim == 1      # a symbolic length (Theano's MRG)
    assert rs.normal(size=T.stack([x.shape[0], 5])).broadcastable == (False, False)
    assert rs.binomial(size=T.concatenate([x.shape, r.shape]), p=0.5).ndim == 5
    # the draw keeps x's broadcastable dims, so `mask * r` is still a row
    mask = rs.binomial(size=r.shape, n=1, p=0.5, dtype="float64")
    assert mask.broadcastable == (True, False) and (mask * r).broadcastable == (True, False)
    assert rs.uniform(size=(r.shape[0], 3)).broadcastable == (True, False)
    assert rs.uniform(size=T.lvector("s"), ndim=2).ndim == 2
    with pytest.raises(ValueError, match="length not known.*pass ndim"):
        rs.uniform(size=T.lvector("s"))
    with pytest.raises(ValueError, match="ndim=2 does not match"):
        rs.uniform(size=x.shape, ndim=2)


# ---- givens and default updates ---------------------------------------------------
@pytest.mark.parametrize("cls", STREAMS)
def test_givens_reach_the_default_update_of_a_draw_sized_by_the_replaced_input(cls):
    data = tjit.shared(np.arange(1.0, 41.0).reshape(10, 4))
    x, i = T.matrix("x"), T.lscalar("i")
    rs = cls(5)
    corrupted = rs.binomial(size=x.shape, n=1, p=0.5, dtype="float64") * x
    f = tjit.function([i], corrupted, givens={x: data[i * 2:(i + 1) * 2]})
    # the same mask as a constant-size draw of the same seed, advancing per call
    # (MRG: Theano's stream count for a symbolic size, 60 * 256, given explicitly)
    kw = {"nstreams": 60 * 256} if cls is MRG_RandomStreams else {}
    masks = tjit.function([], cls(5).binomial(size=(2, 4), n=1, p=0.5, dtype="float64", **kw))
    block = data.get_value()
    for call in range(3):
        np.testing.assert_array_equal(f(call), masks() * block[call * 2:(call + 1) * 2])
    frozen = tjit.function([i], corrupted, givens={x: data[i * 2:(i + 1) * 2]},
                           no_default_updates=True)
    np.testing.assert_array_equal(frozen(1), frozen(1))


def test_default_update_chains_are_followed_and_given():
    x = T.vector("x")
    a = tjit.shared(0.0, name="a")
    b = tjit.shared(1.0, name="b")
    a.default_update = a + b            # b is read only by a's default update
    b.default_update = b + T.sum(x)     # and b's reads x, replaced by givens
    f = tjit.function([], a * 10, givens={x: tjit.shared(np.array([1.0, 2.0]))})
    assert [float(f()) for _ in range(3)] == [0.0, 10.0, 50.0]
    assert (float(a.get_value()), float(b.get_value())) == (12.0, 10.0)
    with pytest.raises(MissingInputError, match="x"):
        tjit.function([], a * 10)


# ---- truncated_normal -------------------------------------------------------------
def _truncated_reference(seed, n, dtype, avg, std):
    """Theano's truncated normal recomputed in NumPy from the streams' uniforms:
    a fresh stream of the same seed draws the same two uniform variables."""
    ref = MRG_RandomStreams(seed)
    half = (n + 1) // 2
    # Theano's normal draws its uniforms with a symbolic size: 60 * 256 streams
    u = tjit.function([], ref.uniform((2 * half,), dtype=dtype, nstreams=60 * 256))()
    r, t = np.sqrt(-2 * np.log(u[:half])), 2 * np.pi * u[half:]
    z0, z1 = r * np.cos(t), r * np.sin(t)
    out0, out1 = np.abs(z0) > 2, np.abs(z1) > 2
    n0 = out0.sum()
    u_fix = tjit.function([], ref.uniform((int(n0 + out1.sum()),), low=math.exp(-2),
                                          high=1.0, dtype=dtype, nstreams=60 * 256))()
    r_fix = np.sqrt(-2 * np.log(u_fix))
    z = np.concatenate([z0[~out0], r_fix[:n0] * np.cos(t)[out0],
                        z1[~out1], r_fix[n0:] * np.sin(t)[out1]])[:n]
    return avg + std / 0.87962566103423978 * z


@pytest.mark.parametrize("dtype,tol", [("float64", 1e-12), ("float32", 2e-5)])
def test_truncated_normal_is_theanos_method(dtype, tol):
    x = T.matrix("x")
    v = MRG_RandomStreams(42).truncated_normal(x.shape, avg=1.0, std=3.0, dtype=dtype)
    assert v.dtype == dtype and v.ndim == 2
    got = tjit.function([x], v)(np.zeros((301, 7)))   # odd count: the last pair is cut
    want = _truncated_reference(42, 301 * 7, dtype, 1.0, 3.0).reshape(301, 7)
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    assert np.abs(got - 1.0).max() <= 2 * 3.0 / 0.87962566103423978 * (1 + tol)


def test_truncated_normal_has_the_asked_spread():
    rs = MRG_RandomStreams(7)
    sample = tjit.function([], rs.truncated_normal((40000,), avg=-2.0, std=0.5))()
    bound = 2 * 0.5 / 0.87962566103423978
    assert -2.0 - bound <= sample.min() and sample.max() <= -2.0 + bound
    assert abs(sample.mean() + 2.0) < 0.01          # 4 standard errors
    assert abs(sample.std() - 0.5) < 0.01
    # truncate=True keeps the std of the untruncated normal as the scale
    plain = tjit.function([], rs.normal((40000,), std=2.0, truncate=True))()
    assert np.abs(plain).max() <= 4.0 and abs(plain.std() - 2.0 * 0.8796) < 0.03


# ---- shapes given as symbolic vectors of known length ---------------------------------
def test_zeros_ones_reshape_tile_take_a_shape_vector():
    x = T.dmatrix("x")
    a = np.arange(6.0).reshape(2, 3)
    f = tjit.function([x], [T.zeros(x.shape), T.ones(x.shape[::-1]) + 1,
                            T.reshape(x, x.shape[::-1]), x.reshape(T.stack([x.shape[1], 2])),
                            T.tile(x, T.stack([2, 3]))])
    z, o, r, r2, t = f(a)
    np.testing.assert_array_equal(z, np.zeros((2, 3)))
    np.testing.assert_array_equal(o, np.full((3, 2), 2.0))
    np.testing.assert_array_equal(r, a.reshape(3, 2))
    np.testing.assert_array_equal(r2, a.reshape(3, 2))
    np.testing.assert_array_equal(t, np.tile(a, (2, 3)))
    v = T.lvector("v")
    with pytest.raises(ValueError, match="not known.*pass ndim"):
        T.reshape(x, v)
    with pytest.raises(ValueError, match="not known.*pass ndim"):
        T.tile(x, v)
    np.testing.assert_array_equal(
        tjit.function([x, v], T.reshape(x, v, ndim=1))(a, np.array([6])), a.ravel())
