"""Theano 1.0's other T.nnet functions (softsign, hard_sigmoid, ultra_fast_sigmoid,
elu, selu, sigmoid_binary_crossentropy, softmax_with_bias, the crossentropy_softmax_*
family, h_softmax) and the op values programs use (softmax_op, sigmoid and softplus
as Elemwise ops): values against NumPy, gradients against finite differences."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import special as sp

import tjit as theano
import tjit.tensor as T
from tjit.tensor import nnet
from tjit.tensor.elemwise import Elemwise

RNG = np.random.default_rng(7)
TOL = {"float32": dict(rtol=2e-6, atol=2e-7), "float64": dict(rtol=1e-13, atol=1e-15)}


def fd_grad(fn, v, eps=1e-6):
    """Central differences of the scalar fn(v) for each entry of v."""
    g = np.zeros_like(v)
    for i in np.ndindex(v.shape):
        a, b = v.copy(), v.copy()
        a[i] += eps
        b[i] -= eps
        g[i] = (fn(a) - fn(b)) / (2 * eps)
    return g


def np_softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def np_ultra_fast_sigmoid(x):
    h = np.abs(0.5 * x)
    z = np.where(h < 1.7, 1.5 * h / (1 + h),
                 np.where(h < 3, 0.935409070603099 + 0.0458812946797165 * (h - 1.7),
                          0.99505475368673))
    return 0.5 * (np.where(x < 0, -z, z) + 1)


def np_elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


ACTIVATIONS = {
    "softsign": (nnet.softsign, lambda x: x / (1 + np.abs(x))),
    "hard_sigmoid": (nnet.hard_sigmoid, lambda x: np.clip(0.2 * x + 0.5, 0, 1)),
    "ultra_fast_sigmoid": (nnet.ultra_fast_sigmoid, np_ultra_fast_sigmoid),
    "elu": (nnet.elu, np_elu),
    "selu": (nnet.selu, lambda x: 1.0507009873554805 * np_elu(x, 1.6732632423543772)),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_activations_match_numpy(dtype):
    x = T.vector("x", dtype=dtype)
    names = list(ACTIVATIONS)
    f = theano.function([x], [ACTIVATIONS[n][0](x) for n in names])
    v = np.concatenate([np.linspace(-9, 9, 181), [-800, -1e-7, 0, 1e-7, 800]]).astype(dtype)
    for name, got in zip(names, f(v)):
        assert got.dtype == dtype, name
        want = ACTIVATIONS[name][1](v.astype("float64"))
        np.testing.assert_allclose(got, want, err_msg=name, **TOL[dtype])
    # ultra_fast_sigmoid approximates sigmoid (largest error 0.0275, at |x| ~ 3.4)
    ufs = f(v)[names.index("ultra_fast_sigmoid")]
    assert np.max(np.abs(ufs - sp.expit(v.astype("float64")))) < 0.03


def test_activation_dtypes_follow_upgrade_to_float():
    for name in ("softsign", "hard_sigmoid", "ultra_fast_sigmoid"):
        fn = ACTIVATIONS[name][0]
        assert fn(T.bvector()).dtype == "float32", name
        assert fn(T.ivector()).dtype == "float64", name
        assert fn(T.fvector()).dtype == "float32", name
    x = T.ivector()
    got = theano.function([x], nnet.softsign(x))(np.array([-3, 0, 1], dtype="int32"))
    np.testing.assert_array_equal(got, [-0.75, 0.0, 0.5])


def test_activation_gradients_match_finite_differences():
    x = T.dvector("x")
    # away from the kinks (hard_sigmoid: +-2.5; ultra_fast_sigmoid: +-3.4, +-6; elu: 0)
    v = np.array([-7.3, -4.7, -2.9, -1.1, -0.3, 0.2, 0.9, 2.1, 4.1, 8.2])
    for name, (fn, ref) in ACTIVATIONS.items():
        g = theano.function([x], T.grad(fn(x).sum(), x))
        np.testing.assert_allclose(g(v), fd_grad(lambda a: ref(a).sum(), v), rtol=1e-7,
                                   atol=1e-9, err_msg=name)


def test_sigmoid_binary_crossentropy():
    o, t = T.dvectors("o", "t")
    cost = nnet.sigmoid_binary_crossentropy(o, t)
    f = theano.function([o, t], cost)
    ov = np.array([-800.0, -30, -2.5, -0.1, 0, 0.7, 3, 40, 800])
    tv = np.array([0.0, 1, 0.3, 1, 0.5, 0, 0.9, 1, 0])
    # exact form: t * log1p(exp(-o)) + (1 - t) * log1p(exp(o))
    want = tv * np.logaddexp(0, -ov) + (1 - tv) * np.logaddexp(0, ov)
    np.testing.assert_allclose(f(ov, tv), want, rtol=1e-14)
    assert f(ov, tv)[7] > 0        # t = 1, o = 40: exp(-40), not 40 - 40
    # same values as binary_crossentropy(sigmoid(o), t) where that is finite
    mid = slice(2, 7)
    plain = theano.function([o, t], nnet.binary_crossentropy(1 / (1 + T.exp(-o)), t))
    np.testing.assert_allclose(f(ov[mid], tv[mid]), plain(ov[mid], tv[mid]), rtol=1e-12)
    go, gt = theano.function([o, t], T.grad(cost.sum(), [o, t]))(ov, tv)
    # sigmoid(o) - t, where t = 1 as -sigmoid(-o) (exp(-40), not 1 - 1)
    want_go = np.where(tv == 1, -sp.expit(-ov), sp.expit(ov) - tv)
    np.testing.assert_allclose(go, want_go, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(gt, -ov, rtol=1e-14)
    assert go[4] == 0.0            # o = 0, t = 0.5: sigmoid(0) - t exactly
    small = np.array([-1.3, 0.4, 2.2])
    targets = np.array([0.2, 0.9, 0.5])
    fd = fd_grad(lambda a: float(f(a, targets).sum()), small)
    np.testing.assert_allclose(theano.function([o, t], T.grad(cost.sum(), o))(small, targets),
                               fd, rtol=1e-7)


def test_softmax_with_bias_values_gradients_and_errors():
    x, b = T.dmatrix("x"), T.dvector("b")
    out = nnet.softmax_with_bias(x, b)
    xv, bv = RNG.standard_normal((4, 5)), RNG.standard_normal(5)
    xv[1, 2] = 900.0          # no overflow: the row max is taken out first
    np.testing.assert_allclose(theano.function([x, b], out)(xv, bv), np_softmax(xv + bv),
                               rtol=1e-14, atol=1e-300)
    w = RNG.standard_normal((4, 5))
    xv[1, 2] = 0.5
    gx, gb = theano.function([x, b], T.grad((out * w).sum(), [x, b]))(xv, bv)
    def cost(xa, ba):
        return float((np_softmax(xa + ba) * w).sum())
    np.testing.assert_allclose(gx, fd_grad(lambda a: cost(a, bv), xv), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(gb, fd_grad(lambda a: cost(xv, a), bv), rtol=1e-7, atol=1e-9)
    with pytest.raises(ValueError, match="x must be a 2-d"):
        nnet.softmax_with_bias(T.dvector(), b)
    with pytest.raises(ValueError, match="b must be a 1-d"):
        nnet.softmax_with_bias(x, T.dmatrix())
    with pytest.raises(TypeError, match="x must be a 2-d tensor of floats"):
        nnet.softmax_with_bias(T.imatrix(), b)


def test_crossentropy_softmax_family():
    x, b, y = T.dmatrix("x"), T.dvector("b"), T.ivector("y")
    xv, bv = RNG.standard_normal((5, 4)) * 3, RNG.standard_normal(4)
    yv = np.array([0, 3, 1, 1, 2], dtype="int32")
    xv[2, 0] = -800.0         # sm underflows to 0 at the target: nll stays finite
    yv[2] = 0
    rows = np.arange(5)
    sm_b = np_softmax(xv + bv)
    logsm_b = (xv + bv) - (xv + bv).max(1, keepdims=True)
    logsm_b -= np.log(np.exp(logsm_b).sum(1, keepdims=True))

    nll, sm = nnet.crossentropy_softmax_1hot(x, y)
    nll_b, sm_b_var, am = nnet.crossentropy_softmax_argmax_1hot_with_bias(x, b, y)
    pair = nnet.crossentropy_softmax_1hot_with_bias(x, b, y)
    four = nnet.crossentropy_softmax_max_and_argmax_1hot(x, y)
    f = theano.function([x, b, y], [nll, sm, nll_b, sm_b_var, am, pair[0], pair[1]] +
                        list(four))
    (nll_v, sm_v, nllb_v, smb_v, am_v, pair_nll, pair_sm,
     f_nll, f_sm, f_max, f_argmax) = f(xv, bv, yv)
    logsm = xv - xv.max(1, keepdims=True)
    logsm -= np.log(np.exp(logsm).sum(1, keepdims=True))
    np.testing.assert_allclose(nll_v, -logsm[rows, yv], rtol=1e-13)
    assert np.isfinite(nll_v[2]) and nll_v[2] > 700
    np.testing.assert_allclose(sm_v, np_softmax(xv), rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(nllb_v, -logsm_b[rows, yv], rtol=1e-13)
    np.testing.assert_allclose(smb_v, sm_b, rtol=1e-13, atol=1e-300)
    assert am_v.dtype == "int32"
    np.testing.assert_array_equal(am_v, np.argmax(xv + bv, axis=1))
    np.testing.assert_array_equal(pair_nll, nllb_v)
    np.testing.assert_array_equal(pair_sm, smb_v)
    np.testing.assert_array_equal(f_nll, nll_v)
    np.testing.assert_allclose(f_max, np_softmax(xv).max(1), rtol=1e-13)
    np.testing.assert_array_equal(f_argmax, np.argmax(xv, axis=1))

    # gradient of the mean nll with respect to x and b
    xv[2, 0] = -1.0
    gx, gb = theano.function([x, b, y], T.grad(nll_b.mean(), [x, b]))(xv, bv, yv)
    def cost(xa, ba):
        z = xa + ba
        ls = z - z.max(1, keepdims=True)
        ls -= np.log(np.exp(ls).sum(1, keepdims=True))
        return float(-ls[rows, yv].mean())
    np.testing.assert_allclose(gx, fd_grad(lambda a: cost(a, bv), xv), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(gb, fd_grad(lambda a: cost(xv, a), bv), rtol=1e-7, atol=1e-9)


def test_gradient_helpers_match_tgrad():
    """softmax_grad, crossentropy_softmax_1hot_with_bias_dx and
    crossentropy_categorical_1hot_grad compute what T.grad computes."""
    x, dy, g = T.dmatrix("x"), T.dmatrix("dy"), T.dvector("g")
    y = T.lvector("y")
    xv, dyv, gv = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4)), \
        RNG.standard_normal(3)
    yv = np.array([2, 0, 3])
    sm = nnet.softmax(x)
    nll = nnet.crossentropy_categorical_1hot(sm, y)
    p = nnet.sigmoid(x)       # any positive coding distribution
    p_nll = nnet.crossentropy_categorical_1hot(p, y)
    outs = [nnet.softmax_grad(dy, sm), T.grad((sm * dy).sum(), x),
            nnet.crossentropy_softmax_1hot_with_bias_dx(g, sm, y), T.grad((nll * g).sum(), x),
            nnet.crossentropy_categorical_1hot_grad(g, p, y), T.grad((p_nll * g).sum(), p)]
    a, a_ref, b, b_ref, c, c_ref = theano.function([x, dy, g, y], outs)(xv, dyv, gv, yv)
    np.testing.assert_allclose(a, a_ref, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(b, b_ref, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(c, c_ref, rtol=1e-13, atol=1e-15)
    want_c = np.zeros((3, 4))
    want_c[np.arange(3), yv] = -gv / sp.expit(xv)[np.arange(3), yv]
    np.testing.assert_allclose(c, want_c, rtol=1e-13)


def test_op_values():
    """sigmoid and softplus are Elemwise ops (callable, comparable with node.op,
    with a scalar_op) as in Theano; softmax_op builds softmax; softmax_graph is the
    unshifted formula."""
    x = T.dmatrix("x")
    for op, name in ((nnet.sigmoid, "sigmoid"), (nnet.softplus, "softplus")):
        assert isinstance(op, Elemwise)
        assert op.scalar_op.name == name
        out = op(x)
        assert out.owner.op == op
        assert getattr(T, name)(x).owner.op == op          # T.sigmoid builds the same op
        assert op.scalar_op is getattr(nnet, "scalar_" + name)
    xv = RNG.standard_normal((2, 3))
    f = theano.function([x], [nnet.sigmoid(x), nnet.softplus(x), nnet.softmax_op(x),
                              nnet.softmax_graph(x)])
    sig, soft, sm, smg = f(xv)
    np.testing.assert_allclose(sig, sp.expit(xv), rtol=1e-15)
    np.testing.assert_allclose(soft, np.logaddexp(0, xv), rtol=1e-15)
    np.testing.assert_allclose(sm, np_softmax(xv), rtol=1e-14)
    np.testing.assert_allclose(smg, np_softmax(xv), rtol=1e-14)
    assert str(nnet.softmax_op) == "Softmax"


def np_h_softmax(xv, n_outputs, W1, b1, W2, b2):
    class_probs = np_softmax(xv @ W1 + b1)                          # (batch, classes)
    out = np_softmax(np.einsum("bf,cfo->bco", xv, W2) + b2)        # (batch, classes, per)
    return (class_probs[:, :, None] * out).reshape(len(xv), -1)[:, :n_outputs]


def test_h_softmax_as_theano_documents_it():
    """Theano's docstring example shape: 3 classes of 4 outputs, 10 outputs used (the
    last 2 of the 12 are cut); batch_size symbolic (x.shape[0]), W/b shared."""
    n_in, n_classes, per_class, n_outputs = 5, 3, 4, 10
    W1 = theano.shared(RNG.standard_normal((n_in, n_classes)), name="W1")
    b1 = theano.shared(RNG.standard_normal(n_classes), name="b1")
    W2 = theano.shared(RNG.standard_normal((n_classes, n_in, per_class)), name="W2")
    b2 = theano.shared(RNG.standard_normal((n_classes, per_class)), name="b2")
    x, target = T.dmatrix("x"), T.imatrix("target")
    batch = x.shape[0]
    full = nnet.h_softmax(x, batch, n_outputs, n_classes, per_class, W1, b1, W2, b2)
    picked = nnet.h_softmax(x, batch, n_outputs, n_classes, per_class, W1, b1, W2, b2, target)
    assert picked.ndim == 1
    xv = RNG.standard_normal((6, n_in))
    tv = np.array([[0], [9], [4], [5], [7], [3]], dtype="int32")
    f = theano.function([x, target], [full, picked])
    full_v, picked_v = f(xv, tv)
    want = np_h_softmax(xv, n_outputs, W1.get_value(), b1.get_value(), W2.get_value(),
                        b2.get_value())
    assert full_v.shape == (6, n_outputs)
    np.testing.assert_allclose(full_v, want, rtol=1e-13)
    np.testing.assert_allclose(picked_v, want[np.arange(6), tv[:, 0]], rtol=1e-13)
    assert abs(np_h_softmax(xv, 12, W1.get_value(), b1.get_value(), W2.get_value(),
                            b2.get_value()).sum(1) - 1).max() < 1e-13

    # training uses the target form: gradients of the mean nll against finite differences
    cost = -T.mean(T.log(picked))
    params = [W1, b1, W2, b2]
    grads = theano.function([x, target], T.grad(cost, params))(xv, tv)
    for p, g in zip(params, grads):
        value = p.get_value()
        def nll(v, p=p, value=value):
            parts = {id(q): q.get_value() for q in params}
            parts[id(p)] = v
            probs = np_h_softmax(xv, n_outputs, parts[id(W1)], parts[id(b1)], parts[id(W2)],
                                 parts[id(b2)])
            return float(-np.log(probs[np.arange(6), tv[:, 0]]).mean())
        np.testing.assert_allclose(g, fd_grad(nll, value), rtol=1e-6, atol=1e-9,
                                   err_msg=p.name)
