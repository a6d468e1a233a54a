"""examples/lenet.py (issue 18): the LeNet tutorial program trains on small synthetic
digits with its cost falling, and its first step's cost is NumPy's forward pass."""
import os
import sys

import numpy as np
import scipy.signal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "examples"))
import lenet  # noqa: E402


def test_lenet_trains_and_its_cost_falls():
    train, costs = lenet.main(learning_rate=0.3, n_epochs=6, nkerns=(4, 6), batch_size=20,
                              n_train=100, side=16, n_hidden=20, verbose=False)
    assert len(costs) == 6 and all(np.isfinite(costs))
    assert all(b < a for a, b in zip(costs, costs[1:]))
    assert costs[-1] < 0.8 * costs[0]


def _layer(x, W, b):
    conv = np.zeros((x.shape[0], W.shape[0], x.shape[2] - 4, x.shape[3] - 4))
    for n in range(x.shape[0]):
        for o in range(W.shape[0]):
            for c in range(W.shape[1]):
                conv[n, o] += scipy.signal.convolve(x[n, c], W[o, c], mode="valid")
    B, C, H, Wd = conv.shape
    pooled = conv[:, :, :H // 2 * 2, :Wd // 2 * 2].reshape(B, C, H // 2, 2, Wd // 2, 2)
    return np.tanh(pooled.max(axis=(3, 5)) + b[None, :, None, None])


def test_lenet_first_cost_is_numpy_forward_pass():
    import tjit as theano
    import tjit.tensor as T
    rng = np.random.RandomState(0)
    x, y = T.matrix("x"), T.ivector("y")
    cost, _, params = lenet.build_model(rng, x, y, batch_size=6, side=16, nkerns=(3, 4),
                                        n_hidden=8)
    for p in params[::2]:       # nonzero softmax weights and biases, so the check bites
        p.set_value(rng.uniform(-0.5, 0.5, p.get_value().shape).astype(p.dtype))
    for p in params[1::2]:
        p.set_value(rng.uniform(-0.5, 0.5, p.get_value().shape).astype(p.dtype))
    W3, b3, W2, b2, W1, b1, W0, b0 = [p.get_value() for p in params]
    X = rng.rand(6, 256).astype(theano.config.floatX)
    Y = rng.randint(10, size=6).astype("int32")
    h0 = _layer(X.reshape(6, 1, 16, 16).astype(float), W0, b0)
    h1 = _layer(h0, W1, b1).reshape(6, -1)
    h2 = np.tanh(h1 @ W2 + b2)
    z = h2 @ W3 + b3
    logp = z - z.max(1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(1, keepdims=True))
    want = -logp[np.arange(6), Y].mean()
    got = theano.function([x, y], cost)(X, Y)
    np.testing.assert_allclose(got, want, rtol=1e-5)
