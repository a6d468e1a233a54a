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
        new_inputs = [memo.get(id(v), v) for v in node.inputs]
        if any(a is not b for a, b in zip(new_inputs, node.inputs)):
            rebuilt = _rebuild(node, new_inputs)
            for old, new in zip(node.outputs, rebuilt.outputs):
                new.name = old.name
            node_now = rebuilt
        else:
            node_now = node
        replacement = local(node_now)
        outs = replacement if replacement is not None else node_now.outputs
        for old, new in zip(node.outputs, outs):
            if new.type != old.type:
                from ..tensor.basic import patternbroadcast
                if getattr(new.type, "dtype", None) == old.type.dtype:
                    new = patternbroadcast(new, old.type.broadcastable)
                else:
                    raise TypeError(f"rewrite changed the type of {old}: {old.type} -> {new.type}")
            memo[id(old)] = new
    return [memo.get(id(v), v) for v in outputs]
