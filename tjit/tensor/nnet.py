"""T.nnet: activations, softmax / logsoftmax and the cross-entropy losses (Theano 1.0).

softmax and logsoftmax are built from tensor ops (max, sub, exp, sum, div), so the
fusion passes turn them into one pass per row and their gradients come for free.
Only the integer-target cross-entropy needs ops of its own (`RowPick` and its
gradient `RowPickGrad`). The stability rewrites live in tjit/passes/stabilize_*.py.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..graph import Apply, Op
from .. import scalar as ts
from .basic import (abs_, exp, log, maximum, mul, sigmoid, softplus, switch,  # noqa: F401
                    zeros_like)
from .elemwise import Elemwise
from .reduction import max as _max, sum as _sum
from .type import TensorType
from .var import as_tensor_variable, constant


class NnetInputError(TypeError, ValueError):
    """A wrong input type for an nnet function (Theano raised ValueError, tjit
    raises TypeError for type errors; this is both)."""


# -- zero_grad: identity whose gradient is zero ---------------------------------
class _ZeroGrad(ts.ScalarOp):
    """identity in value (lowers to the 'identity' loop op), zero in gradient.
    softmax uses it on its row max: softmax does not depend on the shift, so
    differentiating through the max would only add work."""

    def __init__(self):
        super().__init__("zero_grad", 1, "upcast", np.copy, ir_name="identity")

    def grad(self, inputs, output, gz, T):
        return [None]  # None, not zeros: the walk then stops here (no grad of max needed)

    def __reduce__(self):
        return (_zero_grad_scalar, ())


_ZERO_GRAD = _ZeroGrad()
zero_grad_op = Elemwise(_ZERO_GRAD, name="zero_grad")


def _zero_grad_scalar():
    return _ZERO_GRAD


def zero_grad(x):
    """`x` in value; the gradient does not flow through it (theano.gradient.zero_grad)."""
    return zero_grad_op(x)


# -- activations ----------------------------------------------------------------
def relu(x, alpha=0):
    """max(x, 0); with `alpha` (number or symbolic), alpha * x where x < 0 (leaky)."""
    x = as_tensor_variable(x)
    if x.dtype in ts.DISCRETE:
        return 0.5 * (x + abs_(x))  # Theano's formula, and its float result dtype
    if isinstance(alpha, (int, float, np.number)):
        if alpha == 0:
            return maximum(x, 0)
        # alpha in x's dtype: a float32 x stays float32 (Theano gave float64 for 0.1)
        return switch(x > 0, x, mul(constant(alpha, dtype=x.dtype), x))
    alpha = as_tensor_variable(alpha)
    return 0.5 * (1 + alpha) * x + 0.5 * (1 - alpha) * abs_(x)


# -- softmax --------------------------------------------------------------------
def _rows(x, name):
    """`x` as a float tensor whose last axis is the class axis; a vector becomes a
    (1, n) row as in Theano 1.0 (which warned that this would change)."""
    x = as_tensor_variable(x)
    if x.dtype not in ts.FLOATS or x.ndim == 0:
        raise NnetInputError(f"{name}: x must be a 1-d or 2-d tensor of floats, got {x} "
                             f"({x.type})")
    if x.ndim == 1:
        warnings.warn(f"{name} of a vector returns a (1, n) row, as Theano 1.0 did",
                      stacklevel=3)
        x = x.dimshuffle("x", 0)
    return x


def _shifted(x):
    """x - max(x) over the last axis; every row's largest entry becomes 0."""
    return x - zero_grad(_max(x, axis=-1, keepdims=True))


def softmax(x):
    """exp(x) / sum(exp(x)) over the last axis, computed without overflow."""
    e = exp(_shifted(_rows(x, "softmax")))
    out = e / _sum(e, axis=-1, keepdims=True)
    out.tag["softmax_of"] = e.owner.inputs[0]
    return out


def logsoftmax(x):
    """log(softmax(x)) over the last axis: (x - m) - log(sum(exp(x - m))), m = row max."""
    y = _shifted(_rows(x, "logsoftmax"))
    return y - log(_sum(exp(y), axis=-1, keepdims=True))


log_softmax = logsoftmax


def _stable_log(coding_dist):
    """log(coding_dist), built directly in a stable form when coding_dist is a
    softmax (logsoftmax) or a sigmoid (-softplus(-z)); the gradient then is stable too."""
    shifted = coding_dist.tag.get("softmax_of") if hasattr(coding_dist, "tag") else None
    if shifted is not None:
        return shifted - log(_sum(exp(shifted), axis=-1, keepdims=True))
    return log(coding_dist)


# -- losses ---------------------------------------------------------------------
def binary_crossentropy(output, target):
    """-(target * log(output) + (1 - target) * log(1 - output)), elementwise.
    For output = sigmoid(z) this is built as target * softplus(-z) + (1 - target) * softplus(z)."""
    output, target = as_tensor_variable(output), as_tensor_variable(target)
    o = output.owner
    if o is not None and isinstance(o.op, Elemwise) and o.op.scalar_op is ts.sigmoid:
        z = o.inputs[0]
        return target * softplus(-z) + (1.0 - target) * softplus(z)
    return -(target * log(output) + (1.0 - target) * log(1.0 - output))


def categorical_crossentropy(coding_dist, true_dist):
    """-sum(true_dist * log(coding_dist), axis=-1) for a probability matrix
    `true_dist`; -log(coding_dist[i, true_dist[i]]) for an integer vector of classes."""
    coding_dist, true_dist = as_tensor_variable(coding_dist), as_tensor_variable(true_dist)
    if true_dist.ndim == coding_dist.ndim:
        return -_sum(true_dist * _stable_log(coding_dist), axis=coding_dist.ndim - 1)
    if true_dist.ndim == coding_dist.ndim - 1:
        return crossentropy_categorical_1hot(coding_dist, true_dist)
    raise NnetInputError(f"categorical_crossentropy: rank mismatch between the coding "
                         f"distribution {coding_dist} ({coding_dist.ndim} dims) and the true "
                         f"distribution {true_dist} ({true_dist.ndim} dims)")


def crossentropy_categorical_1hot(coding_dist, true_one_of_n):
    """-log(coding_dist[arange(n), true_one_of_n]) (Theano's CrossentropyCategorical1Hot)."""
    coding_dist = as_tensor_variable(coding_dist)
    shifted = coding_dist.tag.get("softmax_of")
    if shifted is not None:
        return -row_pick(_stable_log(coding_dist), true_one_of_n)
    return -log(row_pick(coding_dist, true_one_of_n))


class RowPick(Op):
    """x[arange(n), idx] for a matrix x and an integer vector idx of length n."""

    def make_node(self, x, idx):
        x, idx = as_tensor_variable(x), as_tensor_variable(idx)
        if x.ndim != 2:
            raise NnetInputError(f"{self}: the coding distribution must be a matrix, got {x} "
                                 f"({x.type})")
        if idx.ndim != 1 or idx.dtype not in ts.INTS:
            raise NnetInputError(f"{self}: the class indices must be an integer vector, got "
                                 f"{idx} ({idx.type})")
        return Apply(self, [x, idx], [TensorType(x.dtype, (x.broadcastable[0],))()])

    def perform(self, node, inputs):
        x, idx = inputs
        _check_rows(x, idx, node)
        return [x[np.arange(x.shape[0]), idx].copy()]

    def grad(self, inputs, output_grads):
        x, idx = inputs
        return [RowPickGrad()(x, output_grads[0], idx), None]


class RowPickGrad(Op):
    """zeros_like(x) with g[i] at [i, idx[i]]: the gradient of RowPick."""

    def make_node(self, x, g, idx):
        x, g, idx = (as_tensor_variable(v) for v in (x, g, idx))
        if x.ndim != 2 or g.ndim != 1 or idx.ndim != 1 or idx.dtype not in ts.INTS:
            raise NnetInputError(f"{self}: expected a matrix, a vector and an integer vector, "
                                 f"got {x.type}, {g.type}, {idx.type}")
        return Apply(self, [x, g, idx], [TensorType(x.dtype, x.broadcastable)()])

    def perform(self, node, inputs):
        x, g, idx = inputs
        _check_rows(x, idx, node)
        out = np.zeros(x.shape, dtype=node.outputs[0].dtype)
        out[np.arange(x.shape[0]), idx] = g
        return [out]

    def grad(self, inputs, output_grads):
        x, g, idx = inputs
        return [zeros_like(x), row_pick(output_grads[0], idx), None]


def _check_rows(x, idx, node):
    if idx.shape[0] != x.shape[0]:
        raise ValueError(f"{node.op}: {x.shape[0]} rows in {node.inputs[0]} but "
                         f"{idx.shape[0]} class indices in {node.inputs[-1]}")
    if idx.size and (idx.min() < -x.shape[1] or idx.max() >= x.shape[1]):
        raise IndexError(f"{node.op}: class index out of range [0, {x.shape[1]}) in "
                         f"{node.inputs[-1]}")


_row_pick = RowPick()


def row_pick(x, idx):
    """x[arange(n), idx] (one entry per row)."""
    return _row_pick(x, idx)
