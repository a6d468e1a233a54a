"""merge: common-subexpression elimination (equal constants, equal nodes)."""
from __future__ import annotations

from ..graph import Constant
from .registry import register
from .walk import rewrite_nodes


@register("merge", "fast_run", "fast_compile")
def merge(outputs):
    constants, nodes = {}, {}

    def canonical(v):
        if isinstance(v, Constant):
            return constants.setdefault(v.signature(), v)
        return v

    def local(node):
        inputs = [canonical(v) for v in node.inputs]
        key = (node.op, tuple(id(v) for v in inputs))
        seen = nodes.get(key)
        if seen is not None:
            return seen.outputs
        if any(a is not b for a, b in zip(inputs, node.inputs)):
            node = node.op.make_node(*inputs)
        nodes[key] = node
        return node.outputs

    return [canonical(v) for v in rewrite_nodes(outputs, local)]
