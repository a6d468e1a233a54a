"""stabilize_softplus: logs of sigmoids and of 1 + exp as softplus, which neither
underflows nor overflows.

    log(sigmoid(x))                       -> -softplus(-x)
    log(1 - sigmoid(x)), log1p(-sigmoid(x)) -> -softplus(x)
    log(1 + exp(x)), log1p(exp(x))        -> softplus(x)
"""
from __future__ import annotations

from ..tensor.basic import neg, softplus
from .patterns import elemwise, finish, is_const
from .walk import replace


def _one_plus(v):
    """u if v is 1 + u or u + 1, else None."""
    node = elemwise(v, "add")
    if node is None:
        return None
    a, b = node.inputs
    return b if is_const(a, 1) else a if is_const(b, 1) else None


def _one_minus(v):
    node = elemwise(v, "sub")
    return node.inputs[1] if node is not None and is_const(node.inputs[0], 1) else None


def _arg(v, name):
    node = elemwise(v, name) if v is not None else None
    return node.inputs[0] if node is not None else None


def _local(node):
    out = node.outputs[0]
    if elemwise(out, "log") is not None:
        (u,) = node.inputs
        x = _arg(u, "sigmoid")
        if x is not None:
            return [finish(neg(softplus(neg(x))), out, [x])]
        x = _arg(_one_minus(u), "sigmoid")
        if x is not None:
            return [finish(neg(softplus(x)), out, [x, u])]
        x = _arg(_one_plus(u), "exp")
        if x is not None:
            return [finish(softplus(x), out, [x, u])]
    elif elemwise(out, "log1p") is not None:
        (u,) = node.inputs
        x = _arg(_arg(u, "neg"), "sigmoid")
        if x is not None:
            return [finish(neg(softplus(x)), out, [x])]
        x = _arg(u, "exp")
        if x is not None:
            return [finish(softplus(x), out, [x])]
    return None


def _checked(node):
    new = _local(node)
    return None if new is None or new[0] is None else new


def stabilize_softplus(outputs):
    return replace(outputs, local=_checked)
