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
