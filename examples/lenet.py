"""LeNet5, the convolutional network of the deep learning tutorial
(`convolutional_mlp.py`), written as a Theano user writes it.

    python examples/lenet.py [--epochs N] [--batch-size B] [--n-train N] [--side S]

Two convolution + max-pooling layers (20 and 50 5x5 filters, 2x2 pooling, tanh),
a fully connected tanh layer of 500 units and a softmax (logistic regression)
over 10 classes, trained by minibatch SGD on the negative log-likelihood, the
minibatch picked from a shared dataset with `givens`.

The data is synthetic and MNIST-shaped (see `dA.synthetic_digits`): nothing is
downloaded. The program uses tjit through Theano's names only, so it runs
unchanged on Theano.
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
from tjit.tensor.nnet import conv2d
from tjit.tensor.signal import pool

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dA import synthetic_digits  # noqa: E402


class LogisticRegression(object):
    """Softmax regression: p(y | x) = softmax(x W + b)."""

    def __init__(self, input, n_in, n_out):
        self.W = theano.shared(numpy.zeros((n_in, n_out), dtype=theano.config.floatX),
                               name='W', borrow=True)
        self.b = theano.shared(numpy.zeros((n_out,), dtype=theano.config.floatX),
                               name='b', borrow=True)
        self.p_y_given_x = T.nnet.softmax(T.dot(input, self.W) + self.b)
        self.y_pred = T.argmax(self.p_y_given_x, axis=1)
        self.params = [self.W, self.b]

    def negative_log_likelihood(self, y):
        return -T.mean(T.log(self.p_y_given_x)[T.arange(y.shape[0]), y])

    def errors(self, y):
        return T.mean(T.neq(self.y_pred, y))


class HiddenLayer(object):
    """tanh(x W + b), W uniform in +-sqrt(6 / (n_in + n_out))."""

    def __init__(self, rng, input, n_in, n_out, activation=T.tanh):
        bound = numpy.sqrt(6. / (n_in + n_out))
        W_values = numpy.asarray(rng.uniform(low=-bound, high=bound, size=(n_in, n_out)),
                                 dtype=theano.config.floatX)
        self.W = theano.shared(value=W_values, name='W', borrow=True)
        self.b = theano.shared(numpy.zeros((n_out,), dtype=theano.config.floatX),
                               name='b', borrow=True)
        self.output = activation(T.dot(input, self.W) + self.b)
        self.params = [self.W, self.b]


class LeNetConvPoolLayer(object):
    """tanh(max_pool(conv2d(input, W)) + b), a bias per feature map."""

    def __init__(self, rng, input, filter_shape, image_shape, poolsize=(2, 2)):
        assert image_shape[1] == filter_shape[1]
        fan_in = numpy.prod(filter_shape[1:])
        fan_out = filter_shape[0] * numpy.prod(filter_shape[2:]) // numpy.prod(poolsize)
        W_bound = numpy.sqrt(6. / (fan_in + fan_out))
        self.W = theano.shared(
            numpy.asarray(rng.uniform(low=-W_bound, high=W_bound, size=filter_shape),
                          dtype=theano.config.floatX), borrow=True)
        self.b = theano.shared(numpy.zeros((filter_shape[0],), dtype=theano.config.floatX),
                               borrow=True)
        conv_out = conv2d(input=input, filters=self.W, filter_shape=filter_shape,
                          input_shape=image_shape)
        pooled_out = pool.pool_2d(input=conv_out, ws=poolsize, ignore_border=True)
        self.output = T.tanh(pooled_out + self.b.dimshuffle('x', 0, 'x', 'x'))
        self.params = [self.W, self.b]
        self.input = input


def build_model(rng, x, y, batch_size, side=28, nkerns=(20, 50), n_hidden=500):
    """The network on the symbolic minibatch x (rows of side*side pixels) and labels y:
    (cost, errors, params)."""
    layer0_input = x.reshape((batch_size, 1, side, side))
    layer0 = LeNetConvPoolLayer(rng, input=layer0_input,
                                image_shape=(batch_size, 1, side, side),
                                filter_shape=(nkerns[0], 1, 5, 5), poolsize=(2, 2))
    side1 = (side - 4) // 2
    layer1 = LeNetConvPoolLayer(rng, input=layer0.output,
                                image_shape=(batch_size, nkerns[0], side1, side1),
                                filter_shape=(nkerns[1], nkerns[0], 5, 5), poolsize=(2, 2))
    side2 = (side1 - 4) // 2
    layer2 = HiddenLayer(rng, input=layer1.output.flatten(2),
                         n_in=nkerns[1] * side2 * side2, n_out=n_hidden, activation=T.tanh)
    layer3 = LogisticRegression(input=layer2.output, n_in=n_hidden, n_out=10)
    params = layer3.params + layer2.params + layer1.params + layer0.params
    return layer3.negative_log_likelihood(y), layer3.errors(y), params


def main(learning_rate=0.1, n_epochs=2, nkerns=(20, 50), batch_size=500, n_train=5000,
         side=28, n_hidden=500, verbose=True):
    """Train LeNet5 on synthetic digits; returns (train_model, per-epoch mean costs)."""
    rng = numpy.random.RandomState(23455)
    data, labels = synthetic_digits(n_train, side=side)
    train_set_x = theano.shared(numpy.asarray(data, dtype=theano.config.floatX), borrow=True)
    train_set_y = theano.shared(numpy.asarray(labels, dtype='int32'), borrow=True)
    n_train_batches = n_train // batch_size

    index = T.lscalar()
    x = T.matrix('x')
    y = T.ivector('y')
    cost, errors, params = build_model(rng, x, y, batch_size, side, nkerns, n_hidden)
    grads = T.grad(cost, params)
    updates = [(p, p - learning_rate * g) for p, g in zip(params, grads)]
    train_model = theano.function(
        [index], cost, updates=updates,
        givens={x: train_set_x[index * batch_size: (index + 1) * batch_size],
                y: train_set_y[index * batch_size: (index + 1) * batch_size]})

    costs = []
    start_time = timeit.default_timer()
    for epoch in range(n_epochs):
        c = [train_model(i) for i in range(n_train_batches)]
        costs.append(float(numpy.mean(c)))
        if verbose:
            print('epoch %i, training cost %f' % (epoch, costs[-1]))
    if verbose:
        print('trained for %.1fs' % (timeit.default_timer() - start_time))
    return train_model, costs


if __name__ == '__main__':
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--epochs', type=int, default=2)
    parser.add_argument('--batch-size', type=int, default=500)
    parser.add_argument('--n-train', type=int, default=5000)
    parser.add_argument('--side', type=int, default=28)
    parser.add_argument('--learning-rate', type=float, default=0.1)
    args = parser.parse_args()
    main(learning_rate=args.learning_rate, n_epochs=args.epochs, batch_size=args.batch_size,
         n_train=args.n_train, side=args.side)
