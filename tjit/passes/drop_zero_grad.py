"""drop_zero_grad: zero_grad(x) -> x. zero_grad only matters to T.grad, which has
run before compilation; dropping it lets the ops around it fuse."""
from __future__ import annotations

from .patterns import elemwise
from .walk import replace


def _local(node):
    if elemwise(node.outputs[0], "zero_grad") is not None:
        return [node.inputs[0]]
    return None


def drop_zero_grad(outputs):
    return replace(outputs, local=_local)
