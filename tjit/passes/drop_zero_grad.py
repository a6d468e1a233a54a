"""drop_zero_grad: zero_grad(x) -> x, and every identity-forward gradient op
(theano.gradient's zero_grad, disconnected_grad, grad_clip, grad_scale,
consider_constant: tjit/gradient_ops.py) -> x. These only matter to T.grad, which
has run before compilation; dropping them costs the compiled function nothing and
lets the ops around them fuse."""
from __future__ import annotations

from ..gradient_ops import GradientOp
from .patterns import elemwise
from .walk import replace


def _local(node):
    if isinstance(node.op, GradientOp) or elemwise(node.outputs[0], "zero_grad") is not None:
        return [node.inputs[0]]
    return None


def drop_zero_grad(outputs):
    return replace(outputs, local=_local)
