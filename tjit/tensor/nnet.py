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
from .. import tensor as _tensor  # dot and tensordot (blas comes after this module)
from . import basic as _basic
from .basic import abs_, cast, clip, exp, log, maximum, mul, switch, zeros_like
from .elemwise import Elemwise
from .reduction import argmax as _argmax, max as _max, sum as _sum
from .shape_ops import reshape
from .type import TensorType
from .var import as_tensor_variable, constant

# As in Theano, sigmoid and softplus are Elemwise ops: callable like functions, and
# values a program can compare with node.op or read .scalar_op from.
sigmoid = _basic.sigmoid.op
softplus = _basic.softplus.op
scalar_sigmoid, scalar_softplus = ts.sigmoid, ts.softplus


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


# -- Theano 1.0's other nnet functions and op values --------------------------------
def _upgrade_to_float(x):
    """x cast as Theano's upgrade_to_float would (int8 -> float32, int32 -> float64)."""
    x = as_tensor_variable(x)
    return cast(x, ts.upgrade_to_float(x.dtype))


def softsign(x):
    """x / (1 + |x|), elementwise."""
    x = _upgrade_to_float(x)
    return x / (1 + abs_(x))


def hard_sigmoid(x):
    """clip(0.2 x + 0.5, 0, 1): Theano's 3-piece approximation of sigmoid."""
    x = _upgrade_to_float(x)
    return clip(x * constant(0.2, dtype=x.dtype) + constant(0.5, dtype=x.dtype), 0, 1)


def ultra_fast_sigmoid(x):
    """Theano's piecewise approximation of sigmoid (absolute error < 0.03):
    0.5 (1 + z(x / 2)) with z(h) = 1.5 h / (1 + h) below 1.7, a line up to 3, then
    0.99505475368673 (z odd). Its gradient is the derivative of this approximation."""
    x = _upgrade_to_float(x)
    h = abs_(x * constant(0.5, dtype=x.dtype))
    z = switch(h < 1.7, 1.5 * h / (1 + h),
               switch(h < 3, 0.935409070603099 + 0.0458812946797165 * (h - 1.7),
                      0.99505475368673))
    z = switch(x < 0, -z, z)
    return cast(0.5 * (z + 1), x.dtype)


def elu(x, alpha=1):
    """x where x > 0, else alpha * (exp(x) - 1). A number `alpha` takes x's float
    dtype (as relu's), so float32 stays float32."""
    x = _upgrade_to_float(x)
    if isinstance(alpha, (int, float, np.number)):
        alpha = constant(alpha, dtype=x.dtype)
    return switch(x > 0, x, alpha * (exp(x) - 1))


def selu(x):
    """Scaled ELU (Klambauer et al. 2017), with Theano's constants."""
    out = elu(x, 1.6732632423543772848170429916717)
    return constant(1.0507009873554804934193349852946, dtype=out.dtype) * out


def sigmoid_binary_crossentropy(output, target):
    """binary_crossentropy(sigmoid(output), target) for real-valued `output`, as
    target * softplus(-output) + (1 - target) * softplus(output): no term
    cancels, and the gradients are exactly sigmoid(output) - target and -output."""
    output, target = as_tensor_variable(output), as_tensor_variable(target)
    return target * softplus(-output) + (1.0 - target) * softplus(output)


def _check_with_bias(x, b, name):
    x, b = as_tensor_variable(x), as_tensor_variable(b)
    if x.ndim != 2 or x.dtype not in ts.FLOATS:
        raise NnetInputError(f"{name}: x must be a 2-d tensor of floats, got {x} ({x.type})")
    if b.ndim != 1 or b.dtype not in ts.FLOATS:
        raise NnetInputError(f"{name}: b must be a 1-d tensor of floats, got {b} ({b.type})")
    return x, b


def softmax_with_bias(x, b):
    """softmax(x + b) for a matrix x and a vector b (one entry per column)."""
    x, b = _check_with_bias(x, b, "softmax_with_bias")
    return softmax(x + b)


def softmax_graph(c):
    """exp(c) / sum(exp(c), axis=-1): softmax written out, without the max shift."""
    e = exp(as_tensor_variable(c))
    return e / _sum(e, axis=-1, keepdims=True)


def softmax_grad(dy, sm):
    """d cost / d x of sm = softmax(x) given dy = d cost / d sm:
    dy * sm - sum(dy * sm, axis=-1) * sm."""
    dy, sm = as_tensor_variable(dy), as_tensor_variable(sm)
    product = dy * sm
    return product - _sum(product, axis=-1, keepdims=True) * sm


class Softmax:
    """Theano's Softmax op as a value (`T.nnet.softmax_op`): calling it builds
    `softmax(x)` from tjit's ops, so the fusion and stability rewrites apply."""

    def __call__(self, x):
        return softmax(x)

    def __str__(self):
        return "Softmax"


softmax_op = Softmax()


def crossentropy_softmax_argmax_1hot_with_bias(x, b, y_idx):
    """(nll, sm, am) with sm = softmax(x + b), nll[i] = -log(sm[i, y_idx[i]]) (computed
    as -logsoftmax, so it is finite where sm underflows) and am[i] = argmax(x[i] + b),
    of y_idx's dtype."""
    x, b = _check_with_bias(x, b, "crossentropy_softmax_argmax_1hot_with_bias")
    y_idx = as_tensor_variable(y_idx)
    sm = softmax(x + b)
    nll = crossentropy_categorical_1hot(sm, y_idx)
    return nll, sm, cast(_argmax(x + b, axis=1), y_idx.dtype)


def crossentropy_softmax_1hot_with_bias(x, b, y_idx):
    """(nll, softmax(x + b)) as crossentropy_softmax_argmax_1hot_with_bias."""
    return crossentropy_softmax_argmax_1hot_with_bias(x, b, y_idx)[:2]


def crossentropy_softmax_1hot(x, y_idx):
    """(nll, softmax(x)) with nll[i] = -log(softmax(x)[i, y_idx[i]])."""
    x = as_tensor_variable(x)
    return crossentropy_softmax_1hot_with_bias(x, zeros_like(x[0, :]), y_idx)


def crossentropy_softmax_max_and_argmax_1hot_with_bias(x, b, y_idx):
    """(nll, sm, max(sm, axis=-1), argmax(sm, axis=-1))."""
    nll, sm = crossentropy_softmax_1hot_with_bias(x, b, y_idx)
    return nll, sm, _max(sm, axis=-1), _argmax(sm, axis=-1)


def crossentropy_softmax_max_and_argmax_1hot(x, y_idx):
    x = as_tensor_variable(x)
    return crossentropy_softmax_max_and_argmax_1hot_with_bias(x, zeros_like(x[0, :]), y_idx)


def crossentropy_softmax_1hot_with_bias_dx(dy, sm, y_idx):
    """The gradient of nll w.r.t. x + b: dy[i] * (sm[i] - onehot(y_idx[i]))."""
    dy, sm = as_tensor_variable(dy), as_tensor_variable(sm)
    if dy.ndim == 0:
        dy = dy.dimshuffle("x")
    return dy.dimshuffle(0, "x") * sm - RowPickGrad()(sm, cast(dy, sm.dtype), y_idx)


def crossentropy_categorical_1hot_grad(g_y, coding_dist, true_one_of_n):
    """The gradient of crossentropy_categorical_1hot w.r.t. coding_dist: zeros, with
    -g_y[i] / coding_dist[i, true_one_of_n[i]] at [i, true_one_of_n[i]]."""
    coding_dist = as_tensor_variable(coding_dist)
    picked = row_pick(coding_dist, true_one_of_n)
    return RowPickGrad()(coding_dist, -as_tensor_variable(g_y) / picked, true_one_of_n)


def h_softmax(x, batch_size, n_outputs, n_classes, n_outputs_per_class,
              W1, b1, W2, b2, target=None):
    """Theano's two-level hierarchical softmax. x: (batch_size, features); W1:
    (features, n_classes), b1: (n_classes,); W2: (n_classes, features,
    n_outputs_per_class), b2: (n_classes, n_outputs_per_class). Output k is
    output k % n_outputs_per_class of class k // n_outputs_per_class.

    Without `target`: every output's probability, (batch_size, n_outputs). With
    `target` (integers, (batch_size,) or (batch_size, 1)): the probability of each
    row's target only, (batch_size,), in O(n_classes + n_outputs_per_class) per row."""
    x = as_tensor_variable(x)
    W2, b2 = as_tensor_variable(W2), as_tensor_variable(b2)
    class_probs = softmax(_tensor.dot(x, W1) + b1)
    if target is None:
        activations = _tensor.tensordot(x, W2, [[1], [1]]) + b2
        output_probs = softmax(reshape(activations, (-1, n_outputs_per_class)))
        output_probs = reshape(output_probs, (batch_size, n_classes, -1))
        output_probs = class_probs.dimshuffle(0, 1, "x") * output_probs
        return reshape(output_probs, (batch_size, -1))[:, :n_outputs]
    target = as_tensor_variable(target).flatten()
    target_classes = target // n_outputs_per_class
    target_outputs_in_class = target % n_outputs_per_class
    # each row's second-level weights and bias: (batch, features, outputs per class)
    activations = _sum(x.dimshuffle(0, 1, "x") * W2[target_classes], axis=1) + \
        b2[target_classes]
    output_probs = row_pick(softmax(activations), target_outputs_in_class)
    return row_pick(class_probs, target_classes) * output_probs

# -- convolution and batch normalization (issue 18) ------------------------------------
from .nnet_conv import conv2d, conv2d_transpose  # noqa: E402,F401
from .nnet_conv3d import conv3d  # noqa: E402,F401
from . import nnet_bn as bn  # noqa: E402,F401  (T.nnet.bn.batch_normalization_train, ...)
import sys as _sys  # noqa: E402
_sys.modules[__name__ + ".bn"] = bn     # `import theano.tensor.nnet.bn` works too
