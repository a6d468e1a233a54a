"""Theano's classic tutorials, trained with tjit and with NumPy, must agree.

1. Logistic regression, as in Theano's documentation ("A Real Example: Logistic
   Regression"): shared w and b, p = 1 / (1 + exp(-x.w - b)), cross-entropy plus
   0.01 * sum(w**2), gradient-descent updates.
2. The deep-learning tutorial's multilayer perceptron: a tanh hidden layer, a
   softmax output, the negative log-likelihood (categorical cross-entropy) plus
   L1 and L2 penalties, gradient descent on all four parameters.

The NumPy side implements the same math by hand (closed-form gradients), so the
weights after a few hundred steps must match up to summation-order rounding.
Each test also checks what the compiled training step is made of: the gradient
graph goes through the stability rewrites, fusion and gemm.
"""
import numpy as np
import pytest

import tjit as theano
import tjit.tensor as T


def op_names(f):
    return [type(n.op).__name__ for n in f.nodes]


def scalar_ops(f):
    names = set()
    for n in f.nodes:
        if hasattr(n.op, "program"):
            names.update(n.op.program.op_names)
        if hasattr(n.op, "scalar_op"):
            names.add(n.op.scalar_op.name)
    return names


def softplus(z):
    return np.logaddexp(0.0, z)


# -- 1. logistic regression ----------------------------------------------------------
def logistic_data(n=400, feats=60, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, feats)
    y = rng.randint(size=n, low=0, high=2).astype("float64")
    return X, y, rng.randn(feats)


@pytest.mark.parametrize("w_scale", [1.0, 0.01])  # the tutorial's randn (saturated), small
def test_logistic_regression_tutorial_matches_numpy(w_scale):
    X, Y, w_init = logistic_data()
    w_init = w_init * w_scale
    steps, lr = 300, 0.1
    x, y = T.dmatrix("x"), T.dvector("y")
    w = theano.shared(w_init.copy(), name="w")
    b = theano.shared(0.0, name="b")
    p_1 = 1 / (1 + T.exp(-T.dot(x, w) - b))
    prediction = p_1 > 0.5
    xent = -y * T.log(p_1) - (1 - y) * T.log(1 - p_1)
    cost = xent.mean() + 0.01 * (w ** 2).sum()
    gw, gb = T.grad(cost, [w, b])
    train = theano.function([x, y], [prediction, xent],
                            updates=((w, w - lr * gw), (b, b - lr * gb)))
    predict = theano.function([x], prediction)

    nw, nb = w_init.copy(), 0.0
    n = len(Y)
    for step in range(steps):
        pred, xe = train(X, Y)
        z = X @ nw + nb
        p = 1 / (1 + np.exp(-z))
        # the same cross-entropy, evaluated stably (log(1 - p) is -inf once p rounds to 1)
        want_xe = Y * softplus(-z) + (1 - Y) * softplus(z)
        if step in (0, 1, steps - 1):
            np.testing.assert_array_equal(pred, p > 0.5)
            np.testing.assert_allclose(xe, want_xe, rtol=1e-7, atol=1e-9)
        g = (p - Y) / n
        nw = nw - lr * (X.T @ g + 0.02 * nw)
        nb = nb - lr * g.sum()
    np.testing.assert_allclose(w.get_value(), nw, rtol=1e-7, atol=1e-10)
    assert float(b.get_value()) == pytest.approx(nb, rel=1e-7, abs=1e-10)
    np.testing.assert_array_equal(predict(X), (X @ nw + nb) > 0)
    assert np.all(np.isfinite(xe))


def test_logistic_regression_step_is_rewritten_and_fused():
    """The training step: log(sigmoid) becomes softplus (stability), X.w and X.T.g
    become fused reductions (matvec), then one pass over X (rowcol_fusion), and the elementwise
    work of the forward and backward passes fuses into a few kernels."""
    X, Y, w_init = logistic_data()
    x, y = T.dmatrix("x"), T.dvector("y")
    w = theano.shared(0.01 * w_init, name="w")
    b = theano.shared(0.0, name="b")
    p_1 = T.nnet.sigmoid(T.dot(x, w) + b)
    cost = T.nnet.binary_crossentropy(p_1, y).mean() + 0.01 * (w ** 2).sum()
    gw, gb = T.grad(cost, [w, b])
    train = theano.function([x, y], cost, updates=((w, w - 0.1 * gw), (b, b - 0.1 * gb)))
    names = op_names(train)
    # binary_crossentropy of a sigmoid is built as softplus: no stabilize rewrite needed
    assert "softplus" in scalar_ops(train)
    assert not any(n.startswith("stabilize") for n in train.rewrites_applied)
    assert {"matvec", "reduce_fusion", "rowcol_fusion", "elemwise_fusion"} \
        <= set(train.rewrites_applied)
    assert "log" not in scalar_ops(train)  # no log of a sigmoid left: it would underflow
    assert "Dot" not in names and "Gemm" not in names and "Elemwise" not in names, names
    readers_of_x = [type(n.op).__name__ for n in train.nodes if any(v is x for v in n.inputs)
                    and type(n.op).__name__ in ("FusedReduce", "MatVec", "FusedRowCol")]
    # X.w and X.T.g in one pass (rowcol_fusion): X is read once, nothing more
    assert readers_of_x == ["FusedRowCol"], names
    assert sum(names.count(k) for k in ("FusedElemwise", "FusedReduce", "MatVec")) <= 9, names
    got = train(X, Y)
    z = X @ (0.01 * w_init)
    want = np.mean(Y * softplus(-z) + (1 - Y) * softplus(z)) + 0.01 * np.sum((0.01 * w_init) ** 2)
    assert float(got) == pytest.approx(want, rel=1e-12)


# -- 2. the multilayer perceptron ------------------------------------------------------
def mlp_data(n=300, n_in=20, n_classes=3, seed=1):
    rng = np.random.RandomState(seed)
    centers = rng.randn(n_classes, n_in) * 1.5
    labels = rng.randint(0, n_classes, size=n)
    X = centers[labels] + rng.randn(n, n_in)
    return X, labels.astype("int32"), rng


@pytest.mark.parametrize("loss", ["nll_indexing", "categorical_crossentropy"])
def test_mlp_tutorial_matches_numpy(loss):
    X, labels, rng = mlp_data()
    n, n_in = X.shape
    n_hidden, n_out = 16, 3
    lr, l1, l2, steps = 0.05, 0.0001, 0.0001, 200
    bound = np.sqrt(6.0 / (n_in + n_hidden))
    W1_0 = rng.uniform(-bound, bound, size=(n_in, n_hidden))
    # the tutorial starts the output layer at zero (where |W| has a kink: sign(0) = 0)
    W2_0 = np.zeros((n_hidden, n_out))

    x, y = T.dmatrix("x"), T.ivector("y")
    W1 = theano.shared(W1_0.copy(), name="W1")
    b1 = theano.shared(np.zeros(n_hidden), name="b1")
    W2 = theano.shared(W2_0.copy(), name="W2")
    b2 = theano.shared(np.zeros(n_out), name="b2")
    hidden = T.tanh(T.dot(x, W1) + b1)
    p_y_given_x = T.nnet.softmax(T.dot(hidden, W2) + b2)
    if loss == "nll_indexing":
        nll = -T.mean(T.log(p_y_given_x)[T.arange(y.shape[0]), y])
    else:
        nll = T.nnet.categorical_crossentropy(p_y_given_x, y).mean()
    L1 = abs(W1).sum() + abs(W2).sum()
    L2_sqr = (W1 ** 2).sum() + (W2 ** 2).sum()
    cost = nll + l1 * L1 + l2 * L2_sqr
    params = [W1, b1, W2, b2]
    gparams = T.grad(cost, params)
    train = theano.function([x, y], cost,
                            updates=[(p, p - lr * g) for p, g in zip(params, gparams)])
    errors = theano.function([x, y], T.mean(T.neq(T.argmax(p_y_given_x, axis=1), y)))

    names = op_names(train)
    assert "Gemm" in names, names        # matrix products with their bias/penalty terms
    assert "Elemwise" not in names, names  # every elementwise op is fused
    assert {"elemwise_fusion", "gemm"} <= set(train.rewrites_applied)
    # categorical_crossentropy builds log(softmax) stable itself; indexing log(p) needs
    # the rewrite
    assert ("stabilize_log_softmax" in train.rewrites_applied) == (loss == "nll_indexing")

    w1, c1, w2, c2 = W1_0.copy(), np.zeros(n_hidden), W2_0.copy(), np.zeros(n_out)
    onehot = np.eye(n_out)[labels]
    for step in range(steps):
        got = float(train(X, labels))
        h = np.tanh(X @ w1 + c1)
        a = h @ w2 + c2
        a = a - a.max(axis=1, keepdims=True)
        logp = a - np.log(np.exp(a).sum(axis=1, keepdims=True))
        want = -np.mean(logp[np.arange(n), labels]) + l1 * (np.abs(w1).sum() + np.abs(w2).sum()) \
            + l2 * ((w1 ** 2).sum() + (w2 ** 2).sum())
        assert got == pytest.approx(want, rel=1e-9), step
        dA = (np.exp(logp) - onehot) / n
        dw2 = h.T @ dA + l1 * np.sign(w2) + 2 * l2 * w2
        dc2 = dA.sum(axis=0)
        dz = (dA @ w2.T) * (1 - h * h)
        dw1 = X.T @ dz + l1 * np.sign(w1) + 2 * l2 * w1
        dc1 = dz.sum(axis=0)
        w1, c1, w2, c2 = w1 - lr * dw1, c1 - lr * dc1, w2 - lr * dw2, c2 - lr * dc2
    for shared, want in zip(params, (w1, c1, w2, c2)):
        np.testing.assert_allclose(shared.get_value(), want, rtol=1e-7, atol=1e-10,
                                   err_msg=shared.name)
    assert float(errors(X, labels)) < 0.2  # it learned something
