"""The example programs (issue 13): examples/dA.py (a denoising autoencoder) and
examples/rbm.py (an RBM trained by PCD), written as Theano users write them, run on
small synthetic data; their training steps are checked against NumPy."""
import os
import sys

import numpy as np
import pytest

import tjit as theano
import tjit.tensor as T
from tjit.tensor.shared_randomstreams import RandomStreams

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "examples"))
import dA as da_example  # noqa: E402
import rbm as rbm_example  # noqa: E402

SIDE, BATCH = 8, 10


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def _minibatches(n):
    data, _ = da_example.synthetic_digits(n, side=SIDE)
    return data, theano.shared(data, borrow=True)


# ---- denoising autoencoder ---------------------------------------------------------
def test_da_script_trains_and_its_cost_falls():
    _, costs = da_example.main(n_train=200, side=SIDE, n_hidden=16, batch_size=BATCH,
                               training_epochs=6, corruption_level=0.3,
                               learning_rate=0.1, verbose=False)
    assert len(costs) == 6 and all(np.isfinite(costs))
    assert costs[-1] < 0.9 * costs[0]
    assert all(b < a for a, b in zip(costs, costs[1:]))


@pytest.mark.parametrize("corruption", [0.0, 0.3])
def test_da_step_equals_numpy(corruption):
    data, train_set_x = _minibatches(40)
    x, index = T.matrix("x"), T.lscalar()
    rng = np.random.RandomState(7)
    seed = rng.randint(2 ** 30)
    da = da_example.dA(numpy_rng=rng, theano_rng=RandomStreams(seed), input=x,
                       n_visible=SIDE * SIDE, n_hidden=16)
    da.b.set_value(np.linspace(-0.5, 0.5, 16))          # nonzero biases
    da.b_prime.set_value(np.linspace(0.3, -0.3, SIDE * SIDE))
    W, b, bp = (p.get_value().copy() for p in da.params)
    cost, updates = da.get_cost_updates(corruption_level=corruption, learning_rate=0.1)
    train = theano.function([index], cost, updates=updates,
                            givens={x: train_set_x[index * BATCH:(index + 1) * BATCH]})
    got_cost = train(2)

    # the corruption mask: the same draw from a fresh stream of the same seed
    mask = theano.function([], RandomStreams(seed).binomial(
        size=(BATCH, SIDE * SIDE), n=1, p=1 - corruption, dtype="float64"))()
    assert (mask == 1).all() if corruption == 0 else 0.6 < mask.mean() < 0.8
    xb = data[2 * BATCH:3 * BATCH]
    xt = mask * xb
    h = sigmoid(xt @ W + b)
    z = sigmoid(h @ W.T + bp)
    want_cost = np.mean(-np.sum(xb * np.log(z) + (1 - xb) * np.log(1 - z), axis=1))
    dz = (z - xb) / BATCH                   # d cost / d (decoder pre-activation)
    dh = (dz @ W) * h * (1 - h)             # d cost / d (encoder pre-activation)
    gW, gb, gbp = xt.T @ dh + dz.T @ h, dh.sum(axis=0), dz.sum(axis=0)
    np.testing.assert_allclose(got_cost, want_cost, rtol=1e-10)
    for param, before, g in zip(da.params, (W, b, bp), (gW, gb, gbp)):
        np.testing.assert_allclose(param.get_value(), before - 0.1 * g, rtol=1e-9,
                                   atol=1e-12)


# ---- RBM ---------------------------------------------------------------------------
def _free_energy_grads(v, W, hb, vb):
    """d mean(F(v)) / d (W, hbias, vbias), F the RBM free energy."""
    ph = sigmoid(v @ W + hb)
    n = v.shape[0]
    return -(v.T @ ph) / n, -ph.sum(axis=0) / n, -v.sum(axis=0) / n


def test_rbm_script_trains_with_pcd_and_samples():
    _, costs, samples = rbm_example.main(
        n_train=200, side=SIDE, n_hidden=16, batch_size=BATCH, training_epochs=5,
        learning_rate=0.1, k=3, n_chains=4, n_samples=2, plot_every=5, verbose=False)
    # the pseudo-likelihood (a log-likelihood proxy, negative) rises with training
    assert all(np.isfinite(costs)) and np.mean(costs[-2:]) > costs[0] + 5
    assert len(samples) == 2 and samples[0].shape == (4, SIDE * SIDE)
    assert ((samples[1] > 0) & (samples[1] < 1)).all()


def test_rbm_pcd_training_lowers_the_reconstruction_error():
    data, train_set_x = _minibatches(200)
    x, index = T.matrix("x"), T.lscalar()
    chain = theano.shared(np.zeros((BATCH, 16)), borrow=True)
    rbm = rbm_example.RBM(input=x, n_visible=SIDE * SIDE, n_hidden=16,
                          numpy_rng=np.random.RandomState(3))
    cost, updates = rbm.get_cost_updates(lr=0.1, persistent=chain, k=3)
    train = theano.function([index], cost, updates=updates,
                            givens={x: train_set_x[index * BATCH:(index + 1) * BATCH]})

    def reconstruction_error():
        W, hb, vb = (p.get_value() for p in rbm.params)
        return np.mean((data - sigmoid(sigmoid(data @ W + hb) @ W.T + vb)) ** 2)

    before = reconstruction_error()
    for epoch in range(5):
        for batch_index in range(len(data) // BATCH):
            train(batch_index)
    assert reconstruction_error() < 0.5 * before
    assert set(np.unique(chain.get_value())) <= {0.0, 1.0}   # the chain holds samples


def test_rbm_cd1_step_equals_numpy_from_the_drawn_samples():
    data, train_set_x = _minibatches(40)
    x, index = T.matrix("x"), T.lscalar()
    given = {x: train_set_x[index * BATCH:(index + 1) * BATCH]}
    seed = 99
    rbm = rbm_example.RBM(input=x, n_visible=SIDE * SIDE, n_hidden=16,
                          numpy_rng=np.random.RandomState(5), theano_rng=RandomStreams(seed))
    rbm.hbias.set_value(np.linspace(-0.2, 0.2, 16))
    W, hb, vb = (p.get_value().copy() for p in rbm.params)
    cost, updates = rbm.get_cost_updates(lr=0.05, persistent=None, k=1)
    train = theano.function([index], cost, updates=updates, givens=given)

    # the same model and random streams, built in the same order, hand back the
    # samples the training step draws: h0 from the data, then the chain's v1
    twin = rbm_example.RBM(input=x, n_visible=SIDE * SIDE, n_hidden=16,
                           W=theano.shared(W.copy()), hbias=theano.shared(hb.copy()),
                           vbias=theano.shared(vb.copy()), theano_rng=RandomStreams(seed))
    _, _, h0 = twin.sample_h_given_v(twin.input)
    (_, _, v1, _, _, _), twin_updates = theano.scan(
        twin.gibbs_hvh, outputs_info=[None] * 5 + [h0], n_steps=1)
    samples = theano.function([index], [h0, v1[-1]], updates=twin_updates, givens=given)
    h0_value, chain_end = samples(1)
    got_cost = train(1)

    xb = data[BATCH:2 * BATCH]
    assert set(np.unique(h0_value)) == {0.0, 1.0} and set(np.unique(chain_end)) == {0.0, 1.0}
    v_mean = sigmoid(h0_value @ W.T + vb)
    want_cost = np.mean(np.sum(xb * np.log(v_mean) + (1 - xb) * np.log(1 - v_mean), axis=1))
    np.testing.assert_allclose(got_cost, want_cost, rtol=1e-10)
    positive = _free_energy_grads(xb, W, hb, vb)
    negative = _free_energy_grads(chain_end, W, hb, vb)
    for param, before, gp, gn in zip(rbm.params, (W, hb, vb), positive, negative):
        np.testing.assert_allclose(param.get_value(), before - 0.05 * (gp - gn),
                                   rtol=1e-10, atol=1e-13)
