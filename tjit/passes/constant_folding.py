"""constant_folding: evaluate nodes whose inputs are all constants."""
from __future__ import annotations

from ..graph import Constant
from ..tensor.var import TensorConstant
from .walk import replace

MAX_FOLDED_SIZE = 1 << 16  # keep big allocations out of the compiled function's constants


def _local(node):
    if not node.inputs or not all(isinstance(v, Constant) for v in node.inputs):
        return None
    if getattr(node.op, "no_constant_folding", False):
        return None
    try:
        values = node.op.perform(node, [v.data for v in node.inputs])
    except Exception:
        return None  # the error is raised when the function runs, naming the node
    if any(getattr(v, "size", 1) > MAX_FOLDED_SIZE for v in values):
        return None
    out = []
    for var, value in zip(node.outputs, values):
        c = TensorConstant(var.type, value.copy() if hasattr(value, "copy") else value)
        out.append(c)
    return out


def constant_folding(outputs):
    return replace(outputs, local=_local)
