"""drop_zero_grad: zero_grad(x) -> x. zero_grad only matters to T.grad, which has
run before compilation; dropping it lets the ops around it fuse."""
from __future__ import annotations

from .patterns import elemwise
from .registry import register
from .walk import rewrite_nodes


def _local(node):
    if elemwise(node.outputs[0], "zero_grad") is not None:
        return [node.inputs[0]]
    return None


@register("drop_zero_grad", "fast_run", "fast_compile")
def drop_zero_grad(outputs):
    return rewrite_nodes(outputs, _local)
