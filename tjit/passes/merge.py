"""merge: common-subexpression elimination (equal constants, equal nodes)."""
from __future__ import annotations

from ..graph import Constant, toposort
from .walk import rebuild_node, replace


def _has_duplicates(outputs):
    """Whether two nodes compute the same thing (equal constants count as one):
    most graphs have none, and then nothing needs rebuilding."""
    nodes, same = {}, {}

    def key(v):
        v = same.get(id(v), v)
        return ("c", v.signature()) if isinstance(v, Constant) else id(v)

    for node in toposort(outputs):
        k = (node.op, tuple(key(v) for v in node.inputs))
        seen = nodes.get(k)
        if seen is None:
            nodes[k] = node
            continue
        for a, b in zip(node.outputs, seen.outputs):
            same[id(a)] = b
    if same:
        return True
    signatures = set()
    for v in outputs:
        if isinstance(v, Constant):
            if v.signature() in signatures:
                return True
            signatures.add(v.signature())
    return False


def merge(outputs):
    if not _has_duplicates(outputs):
        return outputs
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
            node = rebuild_node(node, inputs)
        nodes[key] = node
        return node.outputs

    result = [canonical(v) for v in replace(outputs, local=local)]
    return outputs if all(a is b for a, b in zip(result, outputs)) else result
