"""The LSTM tutorial's program (examples/lstm.py, written as deeplearning.net's lstm.py
for Theano): its cost is NumPy's forward pass, its gradients are finite differences,
one Adadelta step is NumPy's, and training lowers the cost."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "examples"))
import lstm  # noqa: E402


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def numpy_cost(p, x, mask, y, decay_c, dropout=True):
    d = p['lstm_U'].shape[0]
    emb = p['Wemb'][x.ravel()].reshape(x.shape + (d,))
    below = emb @ p['lstm_W'] + p['lstm_b']
    h = np.zeros((x.shape[1], d))
    c = np.zeros_like(h)
    hs = []
    for t in range(x.shape[0]):
        pre = h @ p['lstm_U'] + below[t]
        i, f, o = (sigmoid(pre[:, k * d:(k + 1) * d]) for k in range(3))
        cn = f * c + i * np.tanh(pre[:, 3 * d:])
        m = mask[t][:, None]
        c = m * cn + (1 - m) * c
        h = m * (o * np.tanh(c)) + (1 - m) * h
        hs.append(h)
    proj = (np.array(hs) * mask[:, :, None]).sum(0) / mask.sum(0)[:, None]
    if dropout:
        proj = proj * 0.5  # the dropout layer with use_noise off
    a = proj @ p['U'] + p['b']
    pred = np.exp(a - a.max(1, keepdims=True))
    pred /= pred.sum(1, keepdims=True)
    cost = -np.log(pred[np.arange(len(y)), y] + 1e-8).mean()
    return cost + decay_c * (p['U'] ** 2).sum()


def _model(steps, dropout=True, seed=7):
    rng = np.random.RandomState(seed)
    data = lstm.synthetic_sequences(6, 5, 20, rng)
    options = dict(n_words=20, dim_proj=4, ydim=2, use_dropout=dropout, decay_c=0.01)
    return lstm.train(options, steps, rng, data), data, options


def test_lstm_cost_and_gradients_match_numpy():
    model, (x, mask, y), options = _model(steps=0)
    values = {k: v.get_value() for k, v in model['tparams'].items()}
    cost = model['f_cost'](x, mask, y)
    np.testing.assert_allclose(cost, numpy_cost(values, x, mask, y, 0.01), rtol=1e-10)
    grads = dict(zip(values, model['f_grad'](x, mask, y)))
    rng = np.random.RandomState(0)
    for name in ['lstm_U', 'lstm_W', 'Wemb', 'U', 'b']:
        g = grads[name]
        assert g.shape == values[name].shape
        for idx in [tuple(rng.randint(s) for s in g.shape) for _ in range(4)]:
            if name == 'Wemb':
                idx = (int(x[0, 0]),) + idx[1:]   # a row the sequences use
            eps = 1e-6
            up = {k: v.copy() for k, v in values.items()}
            up[name][idx] += eps
            down = {k: v.copy() for k, v in values.items()}
            down[name][idx] -= eps
            fd = (numpy_cost(up, x, mask, y, 0.01) - numpy_cost(down, x, mask, y, 0.01)) / (2 * eps)
            np.testing.assert_allclose(g[idx], fd, rtol=1e-5, atol=1e-9, err_msg=f"{name}{idx}")


def test_one_adadelta_step_is_numpys_and_training_lowers_the_cost():
    start, (x, mask, y), _ = _model(steps=0, dropout=False)
    values = {k: v.get_value() for k, v in start['tparams'].items()}
    np.testing.assert_allclose(start['f_cost'](x, mask, y),
                               numpy_cost(values, x, mask, y, 0.01, dropout=False), rtol=1e-10)
    grads = dict(zip(values, start['f_grad'](x, mask, y)))
    stepped, _, _ = _model(steps=1, dropout=False)
    for k, v in stepped['tparams'].items():
        g = grads[k]
        # Adadelta from zero accumulators: rg2 = 0.05 g^2, step = -sqrt(1e-6)/sqrt(rg2+1e-6) g
        expected = values[k] - np.sqrt(1e-6) / np.sqrt(0.05 * g ** 2 + 1e-6) * g
        np.testing.assert_allclose(v.get_value(), expected, rtol=1e-10, atol=1e-15, err_msg=k)
    costs = _model(steps=40)[0]['costs']  # with dropout noise
    assert all(np.isfinite(costs))
    assert np.mean(costs[-5:]) < np.mean(costs[:5])
