"""Rebuilding a graph node by node: the shared driver of local rewrites."""
from __future__ import annotations

from ..graph import Apply, Constant, toposort


def _rebuild(node, inputs):
    """`node.op` on `inputs`. An Elemwise's output type is a function of its input
    types alone: when every input keeps its type (and none became a constant),
    clone the outputs (keeping their tags) instead of rerunning type inference.
    Other ops may look through their inputs' owners (Reshape reads a MakeVector
    of constants), so they rerun make_node."""
    from ..tensor.elemwise import Elemwise
    if isinstance(node.op, Elemwise) and all(a.type == b.type and (isinstance(b, Constant) or not isinstance(a, Constant))
           for a, b in zip(inputs, node.inputs)):
        return Apply(node.op, inputs, [o.clone() for o in node.outputs])
    return node.op.make_node(*inputs)


def rewrite_nodes(outputs, local):
    """Visit nodes in dependency order; `local(node)` returns replacement variables
    for node.outputs (same types), or None to keep the node. Nodes whose inputs
    changed are rebuilt through make_node first. Returns the new outputs."""
    memo = {}
    for node in toposort(outputs):
        # Until something changed (memo empty) every node keeps its inputs:
        # the common case of a pass that finds nothing costs one `local` call
        # per node. Identity mappings are never recorded (memo.get's default).
        node_now = node
        if memo:
            new_inputs = [memo.get(id(v), v) for v in node.inputs]
            if any(a is not b for a, b in zip(new_inputs, node.inputs)):
                node_now = _rebuild(node, new_inputs)
                for old, new in zip(node.outputs, node_now.outputs):
                    new.name = old.name
        replacement = local(node_now)
        if replacement is None:
            if node_now is node:
                continue
            replacement = node_now.outputs
        for old, new in zip(node.outputs, replacement):
            if new is old:
                continue
            if new.type != old.type:
                from ..tensor.basic import patternbroadcast
                if getattr(new.type, "dtype", None) == old.type.dtype:
                    new = patternbroadcast(new, old.type.broadcastable)
                else:
                    raise TypeError(f"rewrite changed the type of {old}: {old.type} -> {new.type}")
            memo[id(old)] = new
    return [memo.get(id(v), v) for v in outputs]
