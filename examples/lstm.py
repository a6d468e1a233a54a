"""An LSTM sentence classifier trained with Adadelta, written as the deeplearning.net
LSTM tutorial (lstm.py) writes it for Theano: masks over padded sequences, a scan
over time steps, dropout driven by a shared flag, weight decay, and an optimizer
split into two compiled functions. Runs on synthetic sequences (nothing downloaded).

    python examples/lstm.py
"""

from collections import OrderedDict

import numpy

import tjit as theano
from tjit import config
import tjit.tensor as tensor
from tjit.sandbox.rng_mrg import MRG_RandomStreams as RandomStreams


def numpy_floatX(data):
    return numpy.asarray(data, dtype=config.floatX)


def _p(pp, name):
    return '%s_%s' % (pp, name)


def ortho_weight(ndim, rng):
    W = rng.randn(ndim, ndim)
    u, s, v = numpy.linalg.svd(W)
    return u.astype(config.floatX)


def init_params(options, rng):
    params = OrderedDict()
    randn = rng.rand(options['n_words'], options['dim_proj'])
    params['Wemb'] = (0.01 * randn).astype(config.floatX)
    d = options['dim_proj']
    params['lstm_W'] = numpy.concatenate([ortho_weight(d, rng) for _ in range(4)], axis=1)
    params['lstm_U'] = numpy.concatenate([ortho_weight(d, rng) for _ in range(4)], axis=1)
    params['lstm_b'] = numpy.zeros((4 * d,)).astype(config.floatX)
    params['U'] = 0.01 * rng.randn(d, options['ydim']).astype(config.floatX)
    params['b'] = numpy.zeros((options['ydim'],)).astype(config.floatX)
    return params


def init_tparams(params):
    tparams = OrderedDict()
    for kk, pp in params.items():
        tparams[kk] = theano.shared(params[kk], name=kk)
    return tparams


def _slice(_x, n, dim):
    if _x.ndim == 3:
        return _x[:, :, n * dim:(n + 1) * dim]
    return _x[:, n * dim:(n + 1) * dim]


def lstm_layer(tparams, state_below, options, prefix='lstm', mask=None):
    nsteps = state_below.shape[0]
    if state_below.ndim == 3:
        n_samples = state_below.shape[1]
    else:
        n_samples = 1
    assert mask is not None

    def _step(m_, x_, h_, c_):
        preact = tensor.dot(h_, tparams[_p(prefix, 'U')])
        preact += x_
        i = tensor.nnet.sigmoid(_slice(preact, 0, options['dim_proj']))
        f = tensor.nnet.sigmoid(_slice(preact, 1, options['dim_proj']))
        o = tensor.nnet.sigmoid(_slice(preact, 2, options['dim_proj']))
        c = tensor.tanh(_slice(preact, 3, options['dim_proj']))
        c = f * c_ + i * c
        c = m_[:, None] * c + (1. - m_)[:, None] * c_
        h = o * tensor.tanh(c)
        h = m_[:, None] * h + (1. - m_)[:, None] * h_
        return h, c

    state_below = (tensor.dot(state_below, tparams[_p(prefix, 'W')]) +
                   tparams[_p(prefix, 'b')])
    dim_proj = options['dim_proj']
    rval, updates = theano.scan(_step,
                                sequences=[mask, state_below],
                                outputs_info=[tensor.alloc(numpy_floatX(0.), n_samples, dim_proj),
                                              tensor.alloc(numpy_floatX(0.), n_samples, dim_proj)],
                                name=_p(prefix, '_layers'),
                                n_steps=nsteps)
    return rval[0]


def dropout_layer(state_before, use_noise, trng):
    proj = tensor.switch(use_noise,
                         (state_before *
                          trng.binomial(state_before.shape, p=0.5, n=1,
                                        dtype=state_before.dtype)),
                         state_before * 0.5)
    return proj


def build_model(tparams, options):
    trng = RandomStreams(1234)
    use_noise = theano.shared(numpy_floatX(0.))
    x = tensor.matrix('x', dtype='int64')
    mask = tensor.matrix('mask', dtype=config.floatX)
    y = tensor.vector('y', dtype='int64')
    n_timesteps = x.shape[0]
    n_samples = x.shape[1]
    emb = tparams['Wemb'][x.flatten()].reshape([n_timesteps, n_samples, options['dim_proj']])
    proj = lstm_layer(tparams, emb, options, prefix='lstm', mask=mask)
    proj = (proj * mask[:, :, None]).sum(axis=0)
    proj = proj / mask.sum(axis=0)[:, None]
    if options['use_dropout']:
        proj = dropout_layer(proj, use_noise, trng)
    pred = tensor.nnet.softmax(tensor.dot(proj, tparams['U']) + tparams['b'])
    f_pred_prob = theano.function([x, mask], pred, name='f_pred_prob')
    f_pred = theano.function([x, mask], pred.argmax(axis=1), name='f_pred')
    off = 1e-8
    cost = -tensor.log(pred[tensor.arange(n_samples), y] + off).mean()
    return use_noise, x, mask, y, f_pred_prob, f_pred, cost


def adadelta(lr, tparams, grads, x, mask, y, cost):
    zipped_grads = [theano.shared(p.get_value() * numpy_floatX(0.), name='%s_grad' % k)
                    for k, p in tparams.items()]
    running_up2 = [theano.shared(p.get_value() * numpy_floatX(0.), name='%s_rup2' % k)
                   for k, p in tparams.items()]
    running_grads2 = [theano.shared(p.get_value() * numpy_floatX(0.), name='%s_rgrad2' % k)
                      for k, p in tparams.items()]
    zgup = [(zg, g) for zg, g in zip(zipped_grads, grads)]
    rg2up = [(rg2, 0.95 * rg2 + 0.05 * (g ** 2)) for rg2, g in zip(running_grads2, grads)]
    f_grad_shared = theano.function([x, mask, y], cost, updates=zgup + rg2up,
                                    name='adadelta_f_grad_shared')
    updir = [-tensor.sqrt(ru2 + 1e-6) / tensor.sqrt(rg2 + 1e-6) * zg
             for zg, ru2, rg2 in zip(zipped_grads, running_up2, running_grads2)]
    ru2up = [(ru2, 0.95 * ru2 + 0.05 * (ud ** 2)) for ru2, ud in zip(running_up2, updir)]
    param_up = [(p, p + ud) for p, ud in zip(tparams.values(), updir)]
    f_update = theano.function([lr], [], updates=ru2up + param_up,
                               on_unused_input='ignore', name='adadelta_f_update')
    return f_grad_shared, f_update


def train(options, steps, rng, data):
    params = init_params(options, rng)
    tparams = init_tparams(params)
    (use_noise, x, mask, y, f_pred_prob, f_pred, cost) = build_model(tparams, options)
    decay_c = theano.shared(numpy_floatX(options['decay_c']), name='decay_c')
    weight_decay = 0.
    weight_decay += (tparams['U'] ** 2).sum()
    weight_decay *= decay_c
    cost += weight_decay
    f_cost = theano.function([x, mask, y], cost, name='f_cost')
    grads = tensor.grad(cost, wrt=list(tparams.values()))
    f_grad = theano.function([x, mask, y], grads, name='f_grad')
    lr = tensor.scalar(name='lr')
    f_grad_shared, f_update = adadelta(lr, tparams, grads, x, mask, y, cost)
    costs = []
    for _ in range(steps):
        use_noise.set_value(1.)
        costs.append(float(f_grad_shared(*data)))
        f_update(0.0001)  # lr is unused by adadelta, as in the tutorial
    use_noise.set_value(0.)
    return dict(params=params, tparams=tparams, f_pred_prob=f_pred_prob, f_pred=f_pred,
                f_cost=f_cost, f_grad=f_grad, costs=costs)


def synthetic_sequences(n, maxlen, n_words, rng):
    """(x, mask, y) of `n` padded sequences, time-major as the tutorial's prepare_data:
    label 1 when the sequence holds more words from the upper half of the vocabulary."""
    lengths = rng.randint(2, maxlen + 1, size=n)
    x = numpy.zeros((maxlen, n), dtype='int64')
    mask = numpy.zeros((maxlen, n), dtype=config.floatX)
    y = numpy.zeros(n, dtype='int64')
    for j, length in enumerate(lengths):
        words = rng.randint(1, n_words, size=length)
        x[:length, j] = words
        mask[:length, j] = 1.
        y[j] = int((words >= n_words // 2).mean() > 0.5)
    return x, mask, y


def main(n_samples=64, maxlen=12, n_words=40, dim_proj=16, steps=800, seed=123,
         verbose=True):
    """Train on synthetic sequences; returns (the trained model, cost of each step)."""
    rng = numpy.random.RandomState(seed)
    data = synthetic_sequences(n_samples, maxlen, n_words, rng)
    options = dict(n_words=n_words, dim_proj=dim_proj, ydim=2, use_dropout=True,
                   decay_c=0.0001)
    model = train(options, steps, rng, data)
    if verbose:
        costs = model['costs']
        for i in range(0, len(costs), max(1, len(costs) // 10)):
            print('step %d, cost %.4f' % (i, costs[i]))
        acc = (model['f_pred'](data[0], data[1]) == data[2]).mean()
        print('training accuracy %.3f' % acc)
    return model, model['costs']


if __name__ == '__main__':
    main()
