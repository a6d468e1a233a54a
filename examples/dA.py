"""A denoising autoencoder, written as a Theano user writes one.

    python examples/dA.py [--epochs N] [--corruption C]

The model is the classic tutorial's (Vincent et al. 2008): corrupt the input by
zeroing each pixel with probability `corruption_level` (a binomial mask drawn with
the input's symbolic shape), encode y = sigmoid(x~ W + b), decode with tied weights
z = sigmoid(y W' + b'), and minimise the cross-entropy between x and z by
minibatch SGD, the minibatch picked from a shared dataset with `givens`.

The data is synthetic and MNIST-shaped (28x28 pixels in [0, 1]; see
`synthetic_digits`): nothing is downloaded. The program uses tjit through
Theano's names only, so it runs unchanged on Theano.
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


def synthetic_digits(n_samples, side=28, n_classes=10, seed=0):
    """MNIST-shaped data: `n_samples` images of side x side pixels in [0, 1], rows
    of a (n_samples, side * side) float matrix, and their labels. Each class is a
    random smooth blob pattern; samples are shifted, noisy copies of it."""
    rng = numpy.random.RandomState(seed)
    grid = numpy.arange(side)
    templates = []
    for _ in range(n_classes):
        image = numpy.zeros((side, side))
        for _ in range(3):
            cy, cx = rng.uniform(0.2 * side, 0.8 * side, size=2)
            width = rng.uniform(0.08, 0.2) * side
            image += numpy.exp(-((grid[:, None] - cy) ** 2 + (grid[None, :] - cx) ** 2)
                               / (2 * width ** 2))
        templates.append(image / image.max())
    labels = rng.randint(n_classes, size=n_samples)
    images = numpy.empty((n_samples, side, side))
    for k, label in enumerate(labels):
        dy, dx = rng.randint(-1, 2, size=2)
        image = numpy.roll(numpy.roll(templates[label], dy, axis=0), dx, axis=1)
        images[k] = image + 0.1 * rng.normal(size=(side, side))
    images = numpy.clip(images, 0.0, 1.0)
    return images.reshape(n_samples, side * side), labels


class dA(object):
    """Denoising autoencoder with tied weights: W (n_visible x n_hidden), the hidden
    bias b and the visible bias b_prime are shared variables (given, or made
    here); `input` is the symbolic minibatch (a new matrix if None)."""

    def __init__(self, numpy_rng, theano_rng=None, input=None, n_visible=784,
                 n_hidden=500, W=None, bhid=None, bvis=None):
        self.n_visible = n_visible
        self.n_hidden = n_hidden

        if not theano_rng:
            theano_rng = RandomStreams(numpy_rng.randint(2 ** 30))

        if not W:
            # uniform in +-4 sqrt(6 / (fan_in + fan_out)), the range suited to sigmoids
            bound = 4 * numpy.sqrt(6. / (n_hidden + n_visible))
            initial_W = numpy.asarray(
                numpy_rng.uniform(low=-bound, high=bound, size=(n_visible, n_hidden)),
                dtype=theano.config.floatX)
            W = theano.shared(value=initial_W, name='W', borrow=True)

        if not bvis:
            bvis = theano.shared(value=numpy.zeros(n_visible, dtype=theano.config.floatX),
                                 name='b_prime', borrow=True)

        if not bhid:
            bhid = theano.shared(value=numpy.zeros(n_hidden, dtype=theano.config.floatX),
                                 name='b', borrow=True)

        self.W = W
        self.b = bhid
        self.b_prime = bvis
        self.W_prime = self.W.T          # tied weights
        self.theano_rng = theano_rng
        if input is None:
            self.x = T.dmatrix(name='input')
        else:
            self.x = input

        self.params = [self.W, self.b, self.b_prime]

    def get_corrupted_input(self, input, corruption_level):
        """`input` with each entry zeroed with probability corruption_level (a new
        mask at every call of the compiled function)."""
        return self.theano_rng.binomial(size=input.shape, n=1, p=1 - corruption_level,
                                        dtype=theano.config.floatX) * input

    def get_hidden_values(self, input):
        return T.nnet.sigmoid(T.dot(input, self.W) + self.b)

    def get_reconstructed_input(self, hidden):
        return T.nnet.sigmoid(T.dot(hidden, self.W_prime) + self.b_prime)

    def get_cost_updates(self, corruption_level, learning_rate):
        """The mean reconstruction cross-entropy of a minibatch and the SGD updates
        of the parameters."""
        tilde_x = self.get_corrupted_input(self.x, corruption_level)
        y = self.get_hidden_values(tilde_x)
        z = self.get_reconstructed_input(y)
        # one cross-entropy per example (the sum over its pixels)
        L = - T.sum(self.x * T.log(z) + (1 - self.x) * T.log(1 - z), axis=1)
        cost = T.mean(L)

        gparams = T.grad(cost, self.params)
        updates = [(param, param - learning_rate * gparam)
                   for param, gparam in zip(self.params, gparams)]
        return (cost, updates)


def main(n_train=2000, side=28, n_hidden=500, batch_size=20, training_epochs=15,
         corruption_level=0.3, learning_rate=0.1, seed=123, verbose=True):
    """Train a dA on synthetic digits; returns (da, mean cost of each epoch)."""
    data, _ = synthetic_digits(n_train, side=side)
    train_set_x = theano.shared(numpy.asarray(data, dtype=theano.config.floatX),
                                borrow=True)
    n_train_batches = train_set_x.get_value(borrow=True).shape[0] // batch_size

    index = T.lscalar()    # index to a minibatch
    x = T.matrix('x')      # the data, rasterized images

    rng = numpy.random.RandomState(seed)
    theano_rng = RandomStreams(rng.randint(2 ** 30))

    da = dA(numpy_rng=rng, theano_rng=theano_rng, input=x, n_visible=side * side,
            n_hidden=n_hidden)
    cost, updates = da.get_cost_updates(corruption_level=corruption_level,
                                        learning_rate=learning_rate)
    train_da = theano.function(
        [index], cost, updates=updates,
        givens={x: train_set_x[index * batch_size: (index + 1) * batch_size]})

    start_time = timeit.default_timer()
    epoch_costs = []
    for epoch in range(training_epochs):
        c = []
        for batch_index in range(n_train_batches):
            c.append(train_da(batch_index))
        epoch_costs.append(float(numpy.mean(c)))
        if verbose:
            print('Training epoch %d, cost ' % epoch, epoch_costs[-1])
    if verbose:
        print('The %d%% corruption code ran for %.2fs'
              % (corruption_level * 100, timeit.default_timer() - start_time))
    return da, epoch_costs


if __name__ == '__main__':
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--epochs', type=int, default=15)
    parser.add_argument('--corruption', type=float, default=0.3)
    parser.add_argument('--n-train', type=int, default=2000)
    args = parser.parse_args()
    main(n_train=args.n_train, training_epochs=args.epochs,
         corruption_level=args.corruption)
