"""Draws docs/train_step.svg and prints the profile of the demo's training step
(examples/demo.py's logistic regression) for the README:

    python docs/train_step_picture.py
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import tjit as theano  # noqa: E402
import tjit.tensor as T  # noqa: E402
from tjit.printing import pydotprint  # noqa: E402

n, features, lr = 100_000, 100, 0.1
rng = np.random.default_rng(1)
data = rng.standard_normal((n, features))
labels = (data @ rng.standard_normal(features) > 0).astype(np.float64)
X, y = T.dmatrix("X"), T.dvector("y")
w = theano.shared(0.01 * rng.standard_normal(features), name="w")
b = theano.shared(0.0, name="b")
p = T.nnet.sigmoid(T.dot(X, w) + b)
cost = T.nnet.binary_crossentropy(p, y).mean() + 0.01 * (w ** 2).sum()
gw, gb = T.grad(cost, [w, b])
train = theano.function([X, y], cost, updates=[(w, w - lr * gw), (b, b - lr * gb)],
                        name="train", profile=True)
pydotprint(train, outfile=os.path.join(HERE, "train_step.svg"), format="svg")
for _ in range(50):
    train(data, labels)
train.profile.summary()
