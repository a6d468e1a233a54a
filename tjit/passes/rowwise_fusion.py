"""rowwise_fusion: a FusedElemwise that reads reductions over its own last dim
(softmax's `e / e.sum(axis=-1, keepdims=True)` after `x - x.max(...)`) becomes
one FusedRows node with them, so each row is read from memory once.

A FusedReduce joins when it reduces exactly the last loop dim of a loop with
the consumer's broadcast pattern, its kind is sum/prod/max/min, the consumer
reads its result along the kept dims in order (broadcast along the row), and
nothing outside the group uses the result. Reductions feeding those
reductions (softmax's max feeding the sum) join by the same rule.
Runs after elemwise_fusion (it groups fused nodes).
"""
from __future__ import annotations

from ..graph import toposort
from ..ops.fused_elemwise import FusedElemwise
from ..ops.fused_reduce import FusedReduce
from ..ops.fused_rows import KINDS, FusedRows, RowReduction
from .elemwise_fusion import _clients
from .walk import replace


def _row_reduction(var, axes, pattern):
    """The FusedReduce node producing `var`, read through `axes` in a loop of
    broadcast pattern `pattern`, if it can join a row group."""
    node = var.owner
    if node is None or not isinstance(node.op, FusedReduce):
        return None
    op, rank = node.op, len(pattern)
    if (op.kind not in KINDS or op.reduced != (rank - 1,) or op.broadcastable != pattern
            or tuple(axes) != tuple(range(rank - 1)) + (None,)):
        return None
    return node


def _row_reads(node, rank):
    """Ids of the variables `node` reads along its last loop dim (the row). An
    input broadcast along the row (size 1 there) says nothing of its length."""
    return {id(v) for v, axes in zip(node.inputs, node.op.axes)
            if axes and axes[-1] == rank - 1 and not v.broadcastable[axes[-1]]}


def _group(consumer, clients):
    """The reductions joining `consumer` (a FusedElemwise or FusedReduce node),
    in dependency order, or []."""
    pattern = consumer.op.broadcastable
    members, order, other_reads = {id(consumer)}, [], set()
    # A reduction joins only if it reads a row the consumer reads too: that proves
    # its row length is the consumer's (sum(y) * x with len(y) != len(x) is legal).
    rows = _row_reads(consumer, len(pattern))

    def visit(node):
        for v, axes in zip(node.inputs, node.op.axes):
            r = _row_reduction(v, axes, pattern)
            if r is not None and not (_row_reads(r, len(pattern)) & rows):
                r = None
            if r is None:
                other_reads.add(id(v))      # e.g. a result read across the row too
                continue
            if id(r) in members:
                continue
            members.add(id(r))
            visit(r)
            order.append(r)

    visit(consumer)
    # drop reductions whose result is used outside the group, or inside it other
    # than along the row (it stays a node; the group reads it as an input)
    while True:
        bad = [r for r in order if id(r.outputs[0]) in other_reads or any(
            c is None or id(c) not in members for c in clients.get(id(r.outputs[0]), []))]
        if not bad:
            return order
        for r in bad:
            members.discard(id(r))
        order = [r for r in order if id(r) in members]
        # a kept reduction reading a dropped one still reads it as an input: fine


def _fuse(consumer, reductions):
    """The FusedRows node replacing `consumer` and `reductions`."""
    index_of = {id(r.outputs[0]): k for k, r in enumerate(reductions)}
    ext, ext_index = [], {}

    def remap(node):
        """Map a node's ('in', i) refs into the group's ref space (filled later)."""
        refs = []
        for v, axes in zip(node.inputs, node.op.axes):
            if id(v) in index_of:
                refs.append(("red", index_of[id(v)]))
            else:
                key = (id(v), tuple(axes))
                if key not in ext_index:
                    ext_index[key] = len(ext)
                    ext.append((v, tuple(axes)))
                refs.append(("in", ext_index[key]))
        return refs

    maps = [remap(r) for r in reductions] + [remap(consumer)]
    n = len(ext)

    def program_of(op, table):
        return op.program.with_inputs(lambda i: table[i][1] + (0 if table[i][0] == "in" else n))

    rows = [RowReduction(r.op.kind, program_of(r.op, t), r.op.acc_dtype, r.op.dtype)
            for r, t in zip(reductions, maps)]
    op = FusedRows([a for _, a in ext], rows, program_of(consumer.op, maps[-1]),
                   consumer.op.broadcastable)
    return op.make_node(*[v for v, _ in ext])


def rowwise_fusion(outputs):
    while True:
        order = toposort(outputs)
        clients = _clients(order, outputs)
        groups = {}
        for node in order:
            if isinstance(node.op, FusedElemwise) and node.op.broadcastable \
                    and not node.op.broadcastable[-1]:
                reductions = _group(node, clients)
                if reductions:
                    groups[id(node)] = (node, reductions)
        if not groups:
            return outputs

        def local(node):
            # Groups are found on the graph as it was; a consumer rebuilt because
            # another group fused upstream of it is left for the next sweep.
            group = groups.pop(id(node), None)
            if group is None:
                return None
            fused = _fuse(node, group[1]).outputs
            for old, new in zip(node.outputs, fused):
                new.name = old.name
            return fused

        outputs = replace(outputs, local=local)
        if not groups:
            return outputs
