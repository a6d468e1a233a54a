"""What gradients are made of besides tensors, as Theano 1.0 has them.

* `DisconnectedType` / `NullType`: placeholder types. A gradient of DisconnectedType
  says "the cost does not depend on this" (grad then raises DisconnectedInputError or
  returns zeros, per `disconnected_inputs`); a NullType one says "this gradient is
  undefined or not implemented" (grad raises NullTypeGradError unless
  `null_gradients='return'`). Neither can be computed: `function` rejects them.
  `grad_undefined` / `grad_not_implemented` make the NullType ones an op's `grad`
  returns.
* The identity-forward ops `zero_grad`, `disconnected_grad`, `consider_constant`,
  `grad_clip`, `grad_scale`: the value passes through unchanged, the gradient is
  zeroed, cut, clipped or scaled. They only matter to `grad`, which runs before
  compilation, so the `drop_zero_grad` pass removes them from compiled graphs.
"""
from __future__ import annotations

import warnings

from .graph import Apply, Op, Type, Variable
from .tensor.basic import clip, zeros_like
from .tensor.var import as_tensor_variable


# -- placeholder types ----------------------------------------------------------------
class DisconnectedType(Type):
    """The type of a gradient that is zero because the cost does not depend on
    the variable at all: a symbolic placeholder, never a value."""

    def filter(self, value, strict=False, allow_downcast=None):
        raise TypeError("a DisconnectedType variable is a placeholder for a disconnected "
                        "gradient; it has no values")

    def __eq__(self, other):
        return type(other) is type(self)

    def __hash__(self):
        return hash(DisconnectedType)

    def __str__(self):
        return "DisconnectedType"

    __repr__ = __str__


disconnected_type = DisconnectedType()


class NullType(Type):
    """The type of a gradient that cannot be computed; `why_null` says why."""

    def __init__(self, why_null="(no explanation given)"):
        self.why_null = why_null

    def filter(self, value, strict=False, allow_downcast=None):
        raise TypeError(f"a NullType variable has no values: {self.why_null}")

    def __eq__(self, other):
        return type(other) is type(self) and other.why_null == self.why_null

    def __hash__(self):
        return hash((NullType, self.why_null))

    def __str__(self):
        return "NullType"

    __repr__ = __str__


null_type = NullType()


def is_disconnected(v):
    return isinstance(v, Variable) and isinstance(v.type, DisconnectedType)


def is_null(v):
    return isinstance(v, Variable) and isinstance(v.type, NullType)


def grad_not_implemented(op, x_pos, x, comment=""):
    """A NullType variable standing for the gradient of `op` with respect to its
    input `x_pos` (`x`), which is not implemented. `grad` raises NullTypeGradError
    if it reaches a requested gradient; `function` refuses to compute it."""
    return NullType(f"This variable is Null because the grad method for input {x_pos} "
                    f"({x}) of the {op} op is not implemented. {comment}")()


def grad_undefined(op, x_pos, x, comment=""):
    """As `grad_not_implemented`, for a gradient that is mathematically undefined."""
    return NullType(f"This variable is Null because the grad method for input {x_pos} "
                    f"({x}) of the {op} op is mathematically undefined. {comment}")()


# -- identity-forward ops -------------------------------------------------------------
class GradientOp(Op):
    """Identity on values; subclasses say what happens to the gradient. Removed
    from compiled graphs by the drop_zero_grad pass, so the forward pass never
    pays for them (their `perform` runs only without rewrites)."""

    view_map = {0: [0]}

    def make_node(self, x):
        x = as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs):
        return [inputs[0]]


class ZeroGrad(GradientOp):
    """Gradient zero, but connected: `grad` does not raise for variables reached
    only through it (Theano's ZeroGrad)."""

    def grad(self, inputs, output_grads):
        return [zeros_like(output_grads[0])]


class ConsiderConstant(ZeroGrad):
    """The deprecated spelling of ZeroGrad (theano.gradient.consider_constant)."""


class DisconnectedGrad(GradientOp):
    """Gradient cut: the input counts as not connected to the cost through here."""

    def grad(self, inputs, output_grads):
        return [disconnected_type()]

    def connection_pattern(self, node):
        return [[False]]


class GradClip(GradientOp):
    """Gradient clipped elementwise to [clip_lower_bound, clip_upper_bound]."""

    __props__ = ("clip_lower_bound", "clip_upper_bound")

    def __init__(self, clip_lower_bound, clip_upper_bound):
        if clip_upper_bound < clip_lower_bound:
            raise ValueError(f"grad_clip: upper bound {clip_upper_bound} is below the lower "
                             f"bound {clip_lower_bound}")
        self.clip_lower_bound = clip_lower_bound
        self.clip_upper_bound = clip_upper_bound

    def grad(self, inputs, output_grads):
        return [clip(output_grads[0], self.clip_lower_bound, self.clip_upper_bound)]


class GradScale(GradientOp):
    """Gradient multiplied by `multiplier` (a negative one reverses it)."""

    __props__ = ("multiplier",)

    def __init__(self, multiplier):
        self.multiplier = multiplier

    def grad(self, inputs, output_grads):
        return [self.multiplier * output_grads[0]]


zero_grad_ = ZeroGrad()
consider_constant_ = ConsiderConstant()
disconnected_grad_ = DisconnectedGrad()


def zero_grad(x):
    """`x` unchanged, but its gradient is truncated to zero (still connected)."""
    return zero_grad_(x)


def disconnected_grad(x):
    """`x` unchanged, but no gradient flows back through it: what only reaches the
    cost through it is disconnected (grad raises unless told to ignore that)."""
    return disconnected_grad_(x)


def consider_constant(x):
    """Deprecated (as in Theano): use zero_grad() or disconnected_grad()."""
    warnings.warn("consider_constant() is deprecated, use zero_grad() or "
                  "disconnected_grad() instead.", stacklevel=2)
    return consider_constant_(x)


def grad_clip(x, lower_bound, upper_bound):
    """`x` unchanged; the gradient flowing back through it is clipped elementwise
    to [lower_bound, upper_bound]."""
    return GradClip(lower_bound, upper_bound)(x)


def grad_scale(x, multiplier):
    """`x` unchanged; the gradient flowing back through it is multiplied by `multiplier`."""
    return GradScale(multiplier)(x)
