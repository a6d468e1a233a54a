"""A restricted Boltzmann machine trained with persistent contrastive divergence,
written as a Theano user writes one.

    python examples/rbm.py [--epochs N] [--k K]

The model is the classic tutorial's: binary visible and hidden units, energy
E(v, h) = -v'W h - vbias'v - hbias'h, trained on the gradient of
mean(F(data)) - mean(F(chain end)) (F the free energy), where the chain end is
reached by k steps of block Gibbs sampling run by `theano.scan`, started from the
previous chain end (a shared "persistent" chain: PCD) or from the data (CD-k).
Minibatches come from a shared dataset through `givens`. The monitoring cost is
the pseudo-likelihood (PCD) or the reconstruction cross-entropy (CD).

The data is synthetic and MNIST-shaped (see dA.py's `synthetic_digits`): nothing
is downloaded. The program uses tjit through Theano's names only.
"""
from __future__ import print_function

import os
import sys
import timeit

import numpy

try:
    import tjit as theano
except ImportError:  # run from a checkout that is not pip-installed
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import tjit as theano
import tjit.tensor as T
from tjit.tensor.shared_randomstreams import RandomStreams

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dA import synthetic_digits  # noqa: E402


class RBM(object):
    """An RBM with shared parameters W (n_visible x n_hidden), hbias, vbias (given,
    e.g. to share them with another model, or made here)."""

    def __init__(self, input=None, n_visible=784, n_hidden=500, W=None, hbias=None,
                 vbias=None, numpy_rng=None, theano_rng=None):
        self.n_visible = n_visible
        self.n_hidden = n_hidden

        if numpy_rng is None:
            numpy_rng = numpy.random.RandomState(1234)

        if theano_rng is None:
            theano_rng = RandomStreams(numpy_rng.randint(2 ** 30))

        if not W:
            bound = 4 * numpy.sqrt(6. / (n_hidden + n_visible))
            initial_W = numpy.asarray(
                numpy_rng.uniform(low=-bound, high=bound, size=(n_visible, n_hidden)),
                dtype=theano.config.floatX)
            W = theano.shared(value=initial_W, name='W', borrow=True)

        if not hbias:
            hbias = theano.shared(value=numpy.zeros(n_hidden, dtype=theano.config.floatX),
                                  name='hbias', borrow=True)

        if not vbias:
            vbias = theano.shared(value=numpy.zeros(n_visible, dtype=theano.config.floatX),
                                  name='vbias', borrow=True)

        self.input = input
        if not input:
            self.input = T.matrix('input')

        self.W = W
        self.hbias = hbias
        self.vbias = vbias
        self.theano_rng = theano_rng
        self.params = [self.W, self.hbias, self.vbias]

    def free_energy(self, v_sample):
        """F(v) = -vbias'v - sum_j log(1 + exp(W_j'v + hbias_j)), one per row."""
        wx_b = T.dot(v_sample, self.W) + self.hbias
        vbias_term = T.dot(v_sample, self.vbias)
        hidden_term = T.sum(T.log(1 + T.exp(wx_b)), axis=1)
        return -hidden_term - vbias_term

    def propup(self, vis):
        """The hidden units' pre-sigmoid activation and mean given `vis`."""
        pre_sigmoid_activation = T.dot(vis, self.W) + self.hbias
        return [pre_sigmoid_activation, T.nnet.sigmoid(pre_sigmoid_activation)]

    def sample_h_given_v(self, v0_sample):
        pre_sigmoid_h1, h1_mean = self.propup(v0_sample)
        h1_sample = self.theano_rng.binomial(size=h1_mean.shape, n=1, p=h1_mean,
                                             dtype=theano.config.floatX)
        return [pre_sigmoid_h1, h1_mean, h1_sample]

    def propdown(self, hid):
        """The visible units' pre-sigmoid activation and mean given `hid`."""
        pre_sigmoid_activation = T.dot(hid, self.W.T) + self.vbias
        return [pre_sigmoid_activation, T.nnet.sigmoid(pre_sigmoid_activation)]

    def sample_v_given_h(self, h0_sample):
        pre_sigmoid_v1, v1_mean = self.propdown(h0_sample)
        v1_sample = self.theano_rng.binomial(size=v1_mean.shape, n=1, p=v1_mean,
                                             dtype=theano.config.floatX)
        return [pre_sigmoid_v1, v1_mean, v1_sample]

    def gibbs_hvh(self, h0_sample):
        """One Gibbs step from the hidden state."""
        pre_sigmoid_v1, v1_mean, v1_sample = self.sample_v_given_h(h0_sample)
        pre_sigmoid_h1, h1_mean, h1_sample = self.sample_h_given_v(v1_sample)
        return [pre_sigmoid_v1, v1_mean, v1_sample, pre_sigmoid_h1, h1_mean, h1_sample]

    def gibbs_vhv(self, v0_sample):
        """One Gibbs step from the visible state."""
        pre_sigmoid_h1, h1_mean, h1_sample = self.sample_h_given_v(v0_sample)
        pre_sigmoid_v1, v1_mean, v1_sample = self.sample_v_given_h(h1_sample)
        return [pre_sigmoid_h1, h1_mean, h1_sample, pre_sigmoid_v1, v1_mean, v1_sample]

    def get_cost_updates(self, lr=0.1, persistent=None, k=1):
        """One step of CD-k (persistent None) or PCD-k (persistent: a shared
        matrix holding the chain's hidden state, batch_size x n_hidden). Returns
        the monitoring cost and the updates (parameters, chain, random states)."""
        pre_sigmoid_ph, ph_mean, ph_sample = self.sample_h_given_v(self.input)

        if persistent is None:
            chain_start = ph_sample
        else:
            chain_start = persistent

        (
            [pre_sigmoid_nvs, nv_means, nv_samples,
             pre_sigmoid_nhs, nh_means, nh_samples],
            updates
        ) = theano.scan(
            self.gibbs_hvh,
            outputs_info=[None, None, None, None, None, chain_start],
            n_steps=k,
            name="gibbs_hvh"
        )
        chain_end = nv_samples[-1]

        cost = T.mean(self.free_energy(self.input)) - T.mean(self.free_energy(chain_end))
        # the chain end is a sample, not a function of the parameters
        gparams = T.grad(cost, self.params, consider_constant=[chain_end])
        for gparam, param in zip(gparams, self.params):
            updates[param] = param - gparam * T.cast(lr, dtype=theano.config.floatX)

        if persistent:
            updates[persistent] = nh_samples[-1]
            monitoring_cost = self.get_pseudo_likelihood_cost(updates)
        else:
            monitoring_cost = self.get_reconstruction_cost(updates, pre_sigmoid_nvs[-1])

        return monitoring_cost, updates

    def get_pseudo_likelihood_cost(self, updates):
        """A stochastic approximation of the pseudo-likelihood: n_visible times the
        log-probability of one bit given the others, the bit cycling over calls."""
        bit_i_idx = theano.shared(value=0, name='bit_i_idx')
        xi = T.round(self.input)
        fe_xi = self.free_energy(xi)
        xi_flip = T.set_subtensor(xi[:, bit_i_idx], 1 - xi[:, bit_i_idx])
        fe_xi_flip = self.free_energy(xi_flip)
        cost = T.mean(self.n_visible * T.log(T.nnet.sigmoid(fe_xi_flip - fe_xi)))
        updates[bit_i_idx] = (bit_i_idx + 1) % self.n_visible
        return cost

    def get_reconstruction_cost(self, updates, pre_sigmoid_nv):
        """The cross-entropy between the input and its reconstruction's mean."""
        cross_entropy = T.mean(
            T.sum(self.input * T.log(T.nnet.sigmoid(pre_sigmoid_nv))
                  + (1 - self.input) * T.log(1 - T.nnet.sigmoid(pre_sigmoid_nv)),
                  axis=1))
        return cross_entropy


def main(n_train=2000, side=28, n_hidden=500, batch_size=20, training_epochs=15,
         learning_rate=0.1, k=15, n_chains=20, n_samples=10, plot_every=1000,
         seed=123, verbose=True):
    """Train an RBM with PCD-k on synthetic digits, then sample from it by Gibbs
    sampling. Returns (rbm, mean cost of each epoch, samples: n_samples arrays of
    n_chains visible means, plot_every Gibbs steps apart)."""
    data, _ = synthetic_digits(n_train, side=side)
    train_set_x = theano.shared(numpy.asarray(data, dtype=theano.config.floatX),
                                borrow=True)
    n_train_batches = train_set_x.get_value(borrow=True).shape[0] // batch_size

    index = T.lscalar()    # index to a minibatch
    x = T.matrix('x')      # the data, rasterized images

    rng = numpy.random.RandomState(seed)
    theano_rng = RandomStreams(rng.randint(2 ** 30))

    # the persistent chain's hidden state
    persistent_chain = theano.shared(numpy.zeros((batch_size, n_hidden),
                                                 dtype=theano.config.floatX),
                                     borrow=True)

    rbm = RBM(input=x, n_visible=side * side, n_hidden=n_hidden, numpy_rng=rng,
              theano_rng=theano_rng)
    cost, updates = rbm.get_cost_updates(lr=learning_rate, persistent=persistent_chain,
                                         k=k)

    train_rbm = theano.function(
        [index], cost, updates=updates,
        givens={x: train_set_x[index * batch_size: (index + 1) * batch_size]},
        name='train_rbm')

    start_time = timeit.default_timer()
    epoch_costs = []
    for epoch in range(training_epochs):
        mean_cost = []
        for batch_index in range(n_train_batches):
            mean_cost += [train_rbm(batch_index)]
        epoch_costs.append(float(numpy.mean(mean_cost)))
        if verbose:
            print('Training epoch %d, cost is ' % epoch, epoch_costs[-1])
    if verbose:
        print('Training took %.2f s' % (timeit.default_timer() - start_time))

    # Sampling: n_chains Gibbs chains started from test examples
    test_x, _ = synthetic_digits(max(n_chains, 2 * n_chains), side=side, seed=1)
    test_idx = rng.randint(test_x.shape[0] - n_chains + 1)
    persistent_vis_chain = theano.shared(
        numpy.asarray(test_x[test_idx:test_idx + n_chains], dtype=theano.config.floatX))
    (
        [presig_hids, hid_mfs, hid_samples, presig_vis, vis_mfs, vis_samples],
        updates
    ) = theano.scan(
        rbm.gibbs_vhv,
        outputs_info=[None, None, None, None, None, persistent_vis_chain],
        n_steps=plot_every,
        name="gibbs_vhv"
    )
    # the chain continues from where it stopped at the next call
    updates.update({persistent_vis_chain: vis_samples[-1]})
    sample_fn = theano.function([], [vis_mfs[-1], vis_samples[-1]], updates=updates,
                                name='sample_fn')
    samples = []
    for idx in range(n_samples):
        vis_mf, vis_sample = sample_fn()
        samples.append(vis_mf)
        if verbose:
            print(' ... plotting sample %d: mean activation %.4f' % (idx, vis_mf.mean()))
    return rbm, epoch_costs, samples


if __name__ == '__main__':
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--epochs', type=int, default=15)
    parser.add_argument('--k', type=int, default=15)
    parser.add_argument('--n-train', type=int, default=2000)
    parser.add_argument('--n-hidden', type=int, default=500)
    args = parser.parse_args()
    main(n_train=args.n_train, n_hidden=args.n_hidden, training_epochs=args.epochs,
         k=args.k)
