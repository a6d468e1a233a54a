"""stabilize_logistic: logs of the logistic function written out, as Theano's
tutorial does, become softplus, which neither underflows nor overflows.

    log(1 / (1 + exp(u)))      -> -softplus(u)
    log(1 - 1 / (1 + exp(u)))  -> -softplus(-u)

(p = 1 / (1 + exp(-z)) gives u = -z: log(p) = -softplus(-z), log(1 - p) =
-softplus(z).) Runs after stabilize_ratios, which first simplifies the gradient
terms that divide by p and by 1 + exp(u), so only the logs are left here.
"""
from __future__ import annotations

from ..tensor.basic import neg, softplus
from .patterns import elemwise, finish, is_const
from .stabilize_softplus import _arg, _one_minus, _one_plus
from .walk import replace


def _exp_arg_of_inverse(v):
    """u if v is 1 / (1 + exp(u)), else None."""
    node = elemwise(v, "true_div") if v is not None else None
    if node is None or not is_const(node.inputs[0], 1):
        return None
    return _arg(_one_plus(node.inputs[1]), "exp")


def _local(node):
    out = node.outputs[0]
    if elemwise(out, "log") is None:
        return None
    (v,) = node.inputs
    u = _exp_arg_of_inverse(v)
    if u is not None:
        new = finish(neg(softplus(u)), out, [u, v])
        return None if new is None else [new]
    u = _exp_arg_of_inverse(_one_minus(v))
    if u is not None:
        new = finish(neg(softplus(neg(u))), out, [u, v])
        return None if new is None else [new]
    return None


def stabilize_logistic(outputs):
    return replace(outputs, local=_local)
