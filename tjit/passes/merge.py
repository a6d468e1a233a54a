"""merge: common-subexpression elimination (equal constants, equal nodes).

One walk in dependency order: each node's inputs are read through what was
merged upstream (equal constants become the first of them); a node equal to one
seen before (same op, same inputs) is dropped for it, and a node whose inputs
changed is rebuilt (`walk.rebuild_node`). A graph without duplicates costs the
walk and no rebuild (the rule `graph.replace` follows, done inline: it is the
FAST_COMPILE pipeline's largest pass).
"""
from __future__ import annotations

from ..graph import Constant, test_value_policy, toposort
from .walk import rebuild_node


def merge(outputs):
    with test_value_policy("off"):   # as graph.replace: rebuilt nodes get no test values
        return _merge(outputs)


def _merge(outputs):
    constants, nodes = {}, {}
    memo = {}           # id(old variable) -> the variable that now stands for it

    def canonical(v):
        v = memo.get(id(v), v)
        if isinstance(v, Constant):
            return constants.setdefault(v.signature(), v)
        return v

    for node in toposort(outputs):
        old = node.inputs
        inputs = [canonical(v) for v in old]
        key = (node.op, tuple([id(v) for v in inputs]))
        seen = nodes.get(key)
        if seen is not None:
            for a, b in zip(node.outputs, seen.outputs):
                memo[id(a)] = b
            continue
        for a, b in zip(inputs, old):
            if a is not b:
                new = rebuild_node(node, inputs)
                for o, n in zip(node.outputs, new.outputs):
                    if n.name is None:
                        n.name = o.name
                    memo[id(o)] = n
                node = new
                break
        nodes[key] = node
    result = [canonical(v) for v in outputs]
    return outputs if all(a is b for a, b in zip(result, outputs)) else result
