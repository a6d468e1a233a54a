"""The passes' graph rebuild: `tjit.graph.replace` with the rules rewrites follow."""
from __future__ import annotations

from .. import graph
from ..graph import Apply, Constant
from ..tensor.elemwise import Elemwise


def rebuild_node(node, inputs):
    """`node.op` on `inputs`. An Elemwise's output type is a function of its input
    types alone: when every input keeps its type (and none became a constant),
    clone the outputs (keeping their tags) instead of rerunning type inference.
    Other ops may look through their inputs' owners (Reshape reads a MakeVector
    of constants), so they rerun make_node."""
    if isinstance(node.op, Elemwise) and all(
            a.type == b.type and (isinstance(b, Constant) or not isinstance(a, Constant))
            for a, b in zip(inputs, node.inputs)):
        return Apply(node.op, inputs, [o.clone() for o in node.outputs])
    return node.op.make_node(*inputs)


def replace(outputs, mapping=None, local=None):
    """`tjit.graph.replace(outputs, mapping, local)` as every pass uses it: a
    substitution keeps the type of the variable it replaces (a more broadcastable
    one is rebroadcast; another dtype is a TypeError), and rebuilt Elemwise nodes
    whose input types are unchanged are cloned (`rebuild_node`).

    Returns `outputs` itself when the graph did not change, so a pass that
    returns this result reports a no-op by identity."""
    return graph.replace(outputs, mapping, local, rebuild_node=rebuild_node, keep_types=True)
