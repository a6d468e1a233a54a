"""T.grad's options and errors, checked against finite differences."""
import warnings

import numpy as np
import pytest

from helpers import numeric_grad as _fd
import tjit as theano
import tjit.tensor as T
from tjit.gradient import DisconnectedInputError


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


# -- jacobian and hessian ---------------------------------------------------------------
def _op_kinds(f):
    return {type(n.op).__name__ for n in f.nodes}


def test_jacobian_of_an_elementwise_function_is_diagonal_without_a_loop():
    from tjit.gradient import jacobian
    x, a = T.dvector("x"), T.dscalar("a")
    expr = T.tanh(x) * a + T.nnet.softplus(x) ** 2
    f = theano.function([x, a], jacobian(expr, x))
    assert "Scan" not in _op_kinds(f)
    xv = np.array([0.3, -1.2, 2.0, 0.0])
    sp, sg = np.logaddexp(0, xv), 0.5 * (1 + np.tanh(xv / 2))
    want = np.diag(1.5 * (1 - np.tanh(xv) ** 2) + 2 * sp * sg)
    np.testing.assert_allclose(f(xv, 1.5), want, rtol=1e-12, atol=1e-15)
    assert f(np.zeros(0), 1.5).shape == (0, 0)


def test_jacobian_by_scan_lists_and_tuples():
    from tjit.gradient import jacobian
    x, A = T.dvector("x"), T.dmatrix("A")
    y = T.tanh(T.dot(A, x))
    jx, jA = jacobian(y, [x, A])
    f = theano.function([x, A], [jx, jA])
    assert "Scan" in _op_kinds(f)
    rng = np.random.default_rng(0)
    xv, Av = rng.standard_normal(3), rng.standard_normal((2, 3))
    got_x, got_A = f(xv, Av)
    d = 1 - np.tanh(Av @ xv) ** 2
    np.testing.assert_allclose(got_x, d[:, None] * Av, rtol=1e-12)
    want_A = np.zeros((2, 2, 3))
    for i in range(2):
        want_A[i, i] = d[i] * xv
    np.testing.assert_allclose(got_A, want_A, rtol=1e-12, atol=1e-15)
    assert isinstance(jacobian(y, (x,)), tuple) and isinstance(jacobian(y, [x]), list)
    assert jacobian(y, x).ndim == 2
    # a scalar expression: its gradient
    g = jacobian(y.sum(), x)
    np.testing.assert_allclose(theano.function([x, A], g)(xv, Av), d @ Av, rtol=1e-12)


def test_jacobian_and_hessian_errors_and_disconnected_inputs():
    from tjit.gradient import hessian, jacobian
    x, z = T.dvector("x"), T.dvector("z")
    m = T.dmatrix("m")
    with pytest.raises(TypeError, match="flatten"):
        jacobian(m * 2, m)
    with pytest.raises(TypeError, match="scalar"):
        hessian(x * 2, x)
    with pytest.raises(TypeError, match="vectors"):
        hessian((m ** 2).sum(), m)
    with pytest.raises(DisconnectedInputError):
        jacobian(T.tanh(x), z)
    with pytest.raises(DisconnectedInputError):
        hessian((x ** 2).sum(), z)
    j = jacobian(T.tanh(x), z, disconnected_inputs="ignore")
    h = hessian((x ** 2).sum(), [x, z], disconnected_inputs="ignore")
    f = theano.function([x, z], [j] + h)
    got_j, hx, hz = f(np.ones(3), np.ones(2))
    np.testing.assert_array_equal(got_j, np.zeros((3, 2)))
    np.testing.assert_allclose(hx, 2 * np.eye(3))
    np.testing.assert_array_equal(hz, np.zeros((2, 2)))
    # connected to the cost but not to its gradient (a linear cost): zero Hessian
    lin = theano.function([x], hessian((3 * x).sum(), x))
    np.testing.assert_array_equal(lin(np.ones(4)), np.zeros((4, 4)))


def test_hessian_by_scan_matches_analytic_and_finite_differences():
    from tjit.gradient import hessian
    x, w = T.dvector("x"), T.dvector("w")
    lse = T.log(T.exp(x).sum())   # Hessian diag(p) - p p^T, p = softmax(x)
    cross = (T.tanh(x * w.sum()) * w).sum()
    hx, hw = hessian(cross, [x, w])
    f = theano.function([x, w], [hessian(lse, x), hx, hw])
    assert "Scan" in _op_kinds(f)
    rng = np.random.default_rng(1)
    xv, wv = rng.standard_normal(4), rng.standard_normal(4) * 0.5
    got_lse, got_x, got_w = f(xv, wv)
    p = np.exp(xv - xv.max())
    p /= p.sum()
    np.testing.assert_allclose(got_lse, np.diag(p) - np.outer(p, p), rtol=1e-10, atol=1e-14)
    g = theano.function([x, w], T.grad(cross, [x, w]))
    for k, got in ((0, got_x), (1, got_w)):
        want = np.zeros((4, 4))
        for j in range(4):
            args_p, args_m = [xv.copy(), wv.copy()], [xv.copy(), wv.copy()]
            args_p[k][j] += 1e-6
            args_m[k][j] -= 1e-6
            want[:, j] = (g(*args_p)[k] - g(*args_m)[k]) / 2e-6
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(got, got.T, rtol=1e-12, atol=1e-14)


def test_hessian_consider_constant():
    from tjit.gradient import hessian
    x = T.dvector("x")
    y = x ** 2
    cost = (y * x).sum()          # x**3, with y held constant: gradient y, Hessian 0
    f = theano.function([x], [hessian(cost, x), hessian(cost, x, consider_constant=[y])])
    full, held = f(np.array([1.0, 2.0]))
    np.testing.assert_allclose(full, np.diag([6.0, 12.0]))
    np.testing.assert_array_equal(held, np.zeros((2, 2)))


def test_zero_hessians_and_jacobians_need_no_loop():
    """A gradient that depends on w only through shapes (sum's fill of X + w) has a
    zero Jacobian: it is built directly, zeros of the right shape, without a scan."""
    from tjit.gradient import hessian, jacobian
    X, w = T.dmatrix("X"), T.dvector("w")
    cost = ((X + w) * 2.5).sum() + T.tanh(X).sum()
    f = theano.function([X, w], [hessian(cost, w), jacobian(X.sum(axis=0) * 1.0, w,
                                                            disconnected_inputs="ignore")])
    assert "Scan" not in _op_kinds(f)
    h, j = f(np.ones((2, 3)), np.arange(3.0))
    np.testing.assert_array_equal(h, np.zeros((3, 3)))
    np.testing.assert_array_equal(j, np.zeros((3, 3)))
