"""T.grad's options and errors, checked against finite differences."""
import warnings

import numpy as np
import pytest

import tjit as theano
import tjit.tensor as T
from tjit.gradient import DisconnectedInputError


def _fd(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e.flat[i] = eps
        g.flat[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return g


def test_grad_matches_finite_differences():
    x = T.dvector("x")
    w = T.dmatrix("w")
    cost = (T.tanh(T.dot(w, x)) ** 2).sum() + T.log1p(T.exp(x)).mean()
    gx, gw = T.grad(cost, [x, w])
    f = theano.function([x, w], [gx, gw])
    rng = np.random.default_rng(0)
    xv, wv = rng.standard_normal(4), rng.standard_normal((3, 4))

    def cost_np(xv, wv):
        return (np.tanh(wv @ xv) ** 2).sum() + np.log1p(np.exp(xv)).mean()
    got_x, got_w = f(xv, wv)
    np.testing.assert_allclose(got_x, _fd(lambda v: cost_np(v, wv), xv), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(got_w, _fd(lambda v: cost_np(xv, v), wv), rtol=1e-6, atol=1e-8)


def test_consider_constant_stops_the_gradient():
    x = T.dscalar("x")
    y = x * x
    cost = y * x                        # x**3, but y held constant: d/dx = y = x**2
    g = T.grad(cost, x, consider_constant=[y])
    assert theano.function([x], g)(3.0) == pytest.approx(9.0)
    assert theano.function([x], T.grad(cost, x))(3.0) == pytest.approx(27.0)


def test_known_grads_seed_the_backward_pass():
    x = T.dvector("x")
    y = T.exp(x)
    seed = T.dvector("seed")
    g = T.grad(None, x, known_grads={y: seed})
    xv, sv = np.array([0.0, 1.0]), np.array([2.0, 3.0])
    np.testing.assert_allclose(theano.function([x, seed], g)(xv, sv), sv * np.exp(xv))


def test_disconnected_inputs():
    x, z = T.dscalars("x", "z")
    cost = x * 2
    with pytest.raises(DisconnectedInputError, match="z"):
        T.grad(cost, [x, z])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gx, gz = T.grad(cost, [x, z], disconnected_inputs="warn")
    assert any("z" in str(w.message) for w in caught)
    gx, gz = T.grad(cost, [x, z], disconnected_inputs="ignore")
    assert theano.function([x, z], [gx, gz])(1.0, 5.0) == [2.0, 0.0]
    with pytest.raises(ValueError, match="disconnected_inputs"):
        T.grad(cost, x, disconnected_inputs="maybe")


def test_non_scalar_cost_and_integer_inputs():
    x = T.dvector("x")
    with pytest.raises(TypeError, match="scalar"):
        T.grad(x * 2, x)
    i = T.ivector("i")
    g = T.grad((T.cast(i, "float64") * x).sum(), [x, i])
    gx, gi = theano.function([x, i], g)(np.array([1.0, 2.0]), np.array([3, 4], dtype="int32"))
    np.testing.assert_array_equal(gx, [3.0, 4.0])
    np.testing.assert_array_equal(gi, [0, 0])              # integers: zero gradient


def test_broadcast_gradient_is_summed_back():
    m, r = T.dmatrix("m"), T.drow("r")
    g = T.grad((m * r).sum(), r)
    mv = np.arange(6.0).reshape(3, 2)
    out = theano.function([m, r], g)(mv, np.ones((1, 2)))
    assert out.shape == (1, 2)
    np.testing.assert_allclose(out, mv.sum(axis=0, keepdims=True))


def test_indices_are_disconnected_and_integer_gradients_are_float_x():
    """As Theano: an index has no gradient (DisconnectedInputError unless ignored);
    an integer used as a value gets a zero gradient of dtype floatX."""
    x = T.dvector("x")
    i, iv = T.lscalar("i"), T.ivector("iv")
    for cost, idx in ((x[i], i), (x[iv].sum(), iv), (T.inc_subtensor(x[iv], 1.0).sum(), iv)):
        with pytest.raises(DisconnectedInputError, match="indices"):
            T.grad(cost, idx)
        gx, gi = T.grad(cost, [x, idx], disconnected_inputs="ignore")
        assert gi.dtype == "float64"
    f = theano.function([x, iv], T.grad(x[iv].sum(), [x, iv], disconnected_inputs="ignore"))
    gx, gi = f(np.array([1.0, 2.0, 3.0]), np.array([2, 0, 2], dtype="int32"))
    np.testing.assert_array_equal(gx, [1.0, 0.0, 2.0])   # repeated indices accumulate
    np.testing.assert_array_equal(gi, [0.0, 0.0, 0.0])
    with theano.config.change_flags(floatX="float32"):
        g = T.grad((T.cast(iv, "float64") * x[:2]).sum(), iv)
        assert g.dtype == "float32"
    n = T.lscalar("n")
    g = T.grad(T.cast(n, "float64") ** 2, n)  # an integer cost path: zero, not an error
    assert theano.function([n], g)(3) == 0.0


def test_tutorial_cross_entropy_gradient_is_exact_and_stable():
    """d/dz of -y log(p) - (1-y) log(1-p), p = 1/(1+exp(-z)), is p - y; the
    stability rewrites must keep it so, also where exp(-z) overflows (y = 1).
    (Where 1 - p rounds to 0, this formula has 0 * inf in it: T.nnet.sigmoid
    with binary_crossentropy is the stable spelling, tested in test_nnet.)"""
    z, y = T.dvector("z"), T.dvector("y")
    p = 1 / (1 + T.exp(-z))
    cost = (-y * T.log(p) - (1 - y) * T.log(1 - p)).sum()
    f = theano.function([z, y], [cost, T.grad(cost, z)])

    def expit(v):
        return np.exp(-np.logaddexp(0, -v))

    cases = [(np.array([-800.0, -40.0, -1.0, 0.0, 0.5, 2.0, 30.0]), 1.0),
             (np.array([-800.0, -40.0, -1.0, 0.0, 0.5, 2.0, 5.0]), 0.0),
             (np.linspace(-5, 5, 9), np.linspace(0, 1, 9))]
    for zv, yv in cases:
        yv = np.broadcast_to(yv, zv.shape).copy()
        c, g = f(zv, yv)
        np.testing.assert_allclose(g, expit(zv) - yv, rtol=1e-9, atol=1e-15)
        want = np.sum(yv * np.logaddexp(0, -zv) + (1 - yv) * np.logaddexp(0, zv))
        assert c == pytest.approx(want, rel=1e-9)
    assert "stabilize_ratios" in f.rewrites_applied


def test_gradient_graphs_are_stabilized_fused_and_use_gemm():
    x, w = T.dmatrix("x"), T.dmatrix("w")
    b = T.dvector("b")
    out = T.nnet.softmax(T.dot(x, w) + b)
    cost = -T.log(out).sum() + T.log1p(T.exp(T.dot(x, w))).sum()
    gw, gb = T.grad(cost, [w, b])
    f = theano.function([x, w, b], [gw, gb])
    kinds = [type(n.op).__name__ for n in f.nodes]
    assert "Gemm" in kinds or "Dot" in kinds
    assert "Elemwise" not in kinds, kinds          # every elementwise op is fused
    assert {"stabilize_log_softmax", "stabilize_softplus", "gemm", "elemwise_fusion"} \
        <= set(f.rewrites_applied)
    rng = np.random.default_rng(3)
    xv, wv, bv = rng.standard_normal((4, 3)) * 300, rng.standard_normal((3, 5)), np.zeros(5)
    got_w, got_b = f(xv, wv, bv)
    assert np.all(np.isfinite(got_w)) and np.all(np.isfinite(got_b))  # huge logits
    a = xv @ wv + bv
    sm = np.exp(a - a.max(axis=1, keepdims=True))
    sm /= sm.sum(axis=1, keepdims=True)
    d_a = -(1 - 5 * sm)          # d(-sum log softmax)/da = -(1 - n_classes * softmax)
    d_sp = 0.5 * (1 + np.tanh(a / 2))
    np.testing.assert_allclose(got_b, d_a.sum(axis=0), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got_w, xv.T @ (d_a + d_sp), rtol=1e-9, atol=1e-6)
