"""elemwise_fusion: every maximal group of natively lowerable elementwise nodes
becomes one FusedElemwise node (with several outputs where values are needed
outside the group), so a chain like exp(-x*x)*a + log1p(abs(x))*0.5 - tanh(x)
reads x and a once and writes its result once.

DimShuffles (transposes, added broadcast dims) and scalar constants at the
group's boundary are absorbed into the kernel's loads.
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np

from ..graph import Constant, toposort
from ..ir.nodes import SCALAR_OPS
from ..scalar import Cast
from ..tensor.elemwise import DimShuffle, Elemwise
from ..ops.fused_elemwise import FusedElemwise
from ..ops.scalar_program import ScalarProgram, Step
from .walk import rebuild_node

NATIVE_DTYPES = frozenset(("bool", "int8", "int16", "int32", "int64", "uint8", "uint16",
                           "uint32", "uint64", "float32", "float64"))


def lowerable(node):
    """Whether the ir stage can lower this Elemwise node to native code."""
    if not isinstance(node.op, Elemwise):
        return False
    s = node.op.scalar_op
    if not (isinstance(s, Cast) or s.name in ("second", "identity") or s.ir_name in SCALAR_OPS):
        return False
    return all(v.dtype in NATIVE_DTYPES for v in node.inputs + node.outputs)


class _Group:
    def __init__(self, node):
        self.members = [node]
        self.ids = {id(node)}
        self.ndim = node.outputs[0].ndim
        self.pattern = node.outputs[0].broadcastable


def _clients(order, outputs):
    clients = defaultdict(list)
    for node in order:
        for v in node.inputs:
            clients[id(v)].append(node)
    for v in outputs:
        clients[id(v)].append(None)  # None: needed as a graph output
    return clients


def _reaches(start_vars, target_ids, stop_ids, group_of=None):
    """Whether a node in `target_ids` is an ancestor of any of `start_vars`,
    searching only through nodes not in `stop_ids`. With `group_of`, a node of
    another group depends on every input of its group (the group becomes one
    node), so paths through groups formed earlier count too."""
    seen, stack = set(), [v.owner for v in start_vars if v.owner is not None]
    while stack:
        n = stack.pop()
        if id(n) in target_ids:
            return True
        if id(n) in seen or id(n) in stop_ids:
            continue
        seen.add(id(n))
        stack.extend(v.owner for v in n.inputs if v.owner is not None)
        g = group_of.get(id(n)) if group_of is not None else None
        if g is not None:
            stack.extend(m for m in g.members if id(m) not in seen)
    return False


def _grow(group, group_of, clients):
    """Absorb producers of the group's inputs, depth first from its members."""
    frontier = list(group.members)
    while frontier:
        member = frontier.pop()
        for v in member.inputs:
            p = v.owner
            if p is not None and isinstance(p.op, DimShuffle):
                _absorb_scalar(group, group_of, clients, p, frontier)
                continue
            if p is None or id(p) in group_of or not lowerable(p):
                continue
            if p.outputs[0].ndim != group.ndim:
                continue
            external = [c for c in clients[id(p.outputs[0])]
                        if c is None or id(c) not in group.ids]
            if external:
                if p.outputs[0].broadcastable != group.pattern:
                    continue  # its value would not fill the loop's output shape
                ext_inputs = [u for m in group.members for u in m.inputs
                              if u.owner is not None and id(u.owner) not in group.ids
                              and u.owner is not p]
                if _reaches(ext_inputs, {id(p)}, group.ids, group_of):
                    continue  # p -> outside -> group: fusing would make a cycle
            group.members.append(p)
            group.ids.add(id(p))
            group_of[id(p)] = group
            frontier.append(p)


def _absorb_scalar(group, group_of, clients, shuffle, frontier):
    """Absorb a 0-d producer seen through a DimShuffle: its value is the same at
    every point of the loop, so LLVM hoists it out of the loop anyway, and the
    function needs one native call instead of two."""
    src = shuffle.inputs[0]
    q = src.owner
    if q is None or id(q) in group_of or not lowerable(q) or src.ndim != 0:
        return
    views = clients[id(src)]
    if not all(c is not None and isinstance(c.op, DimShuffle)
               and all(cc is not None and id(cc) in group.ids for cc in clients[id(c.outputs[0])])
               for c in views):
        return
    group.members.append(q)
    group.ids.add(id(q))
    for c in views:  # the views become internal to the group
        group.ids.add(id(c))
        group_of[id(c)] = group
    group_of[id(q)] = group
    frontier.append(q)


def _external_inputs(group):
    return [u for m in group.members for u in m.inputs
            if u.owner is None or id(u.owner) not in group.ids]


def _shape_keys(group):
    """Keys (id(var), axes) of the group's inputs that fix every non-broadcastable
    loop dim: two groups sharing one run over the same loop shape. In the order of
    the group's inputs (a set would iterate in address order, and which sibling a
    group merges into would change from run to run)."""
    keys = {}
    for v in _external_inputs(group):
        b = _boundary_ref(v)
        if b[0] == "const" or len(b[1]) != group.ndim:
            continue
        var, axes = b
        if all(group.pattern[d] or (axes[d] is not None and not var.broadcastable[axes[d]])
               for d in range(group.ndim)):
            keys[(id(var), axes, group.pattern)] = None
    return list(keys)


def _merge_siblings(groups, group_of):
    """Merge independent groups that loop over the same shape (they share an input
    that fixes it): one kernel then reads the shared inputs once."""
    kept, owner = [], {}
    for g in groups:
        keys = _shape_keys(g)
        target = None
        for k in keys:
            h = owner.get(k)
            if h is not None and not _reaches(_external_inputs(g), h.ids, (), group_of) \
                    and not _reaches(_external_inputs(h), g.ids, (), group_of):
                target = h
                break
        if target is None:
            kept.append(g)
            target = g
        else:
            target.members.extend(g.members)
            target.ids |= g.ids
            for i in g.ids:
                group_of[i] = target
        for k in keys:
            owner.setdefault(k, target)
    return kept


def _merge_adjacent(groups, group_of):
    """Merge a group into a group that reads one of its outputs directly over the
    same loop (as exp(x) read by both exp(x) * 2 and exp(x) + 1): one kernel then
    computes both without storing and reloading the value. Skipped when another
    path connects the two groups (fusing would make a cycle)."""
    changed = True
    while changed:
        changed = False
        for g in list(groups):
            for u in _external_inputs(g):
                h = group_of.get(id(u.owner)) if u.owner is not None else None
                if (h is None or h is g or h not in groups or h.ndim != g.ndim
                        or h.pattern != g.pattern or u.broadcastable != g.pattern):
                    continue
                g_in = [v for v in _external_inputs(g)
                        if v.owner is None or id(v.owner) not in h.ids]
                h_in = [v for v in _external_inputs(h)
                        if v.owner is None or id(v.owner) not in g.ids]
                if _reaches(g_in, h.ids, (), group_of) or _reaches(h_in, g.ids, (), group_of):
                    continue
                g.members.extend(h.members)
                g.ids |= h.ids
                for i in h.ids:
                    group_of[i] = g
                groups.remove(h)
                changed = True
                break
            if changed:
                break
    return groups


def _boundary_ref(v):
    """('const', value, dtype) for a scalar-like constant, else (var, axes)."""
    if isinstance(v, Constant) and np.asarray(v.data).size == 1:
        return ("const", np.asarray(v.data).reshape(()).item(), v.dtype)
    axes = tuple(range(v.ndim))
    while v.owner is not None and isinstance(v.owner.op, DimShuffle):
        order = v.owner.op.new_order
        axes = tuple(None if a is None or order[a] == "x" else order[a] for a in axes)
        v = v.owner.inputs[0]
        if isinstance(v, Constant) and np.asarray(v.data).size == 1:
            return ("const", np.asarray(v.data).reshape(()).item(), v.dtype)
    return (v, axes)


def _build(group, clients, new_var):
    """The FusedElemwise node for `group`; returns {id(old output): new output}."""
    members = [n for n in group.order]
    step_of, steps, ext, ext_index = {}, [], [], {}
    for node in members:
        refs = []
        for v in node.inputs:
            if v.owner is not None and id(v.owner) in group.ids:
                if isinstance(v.owner.op, DimShuffle):  # view of an absorbed scalar
                    v = v.owner.inputs[0]
                refs.append(("step", step_of[id(v)]))
                continue
            b = _boundary_ref(v)
            if b[0] == "const":
                refs.append(b)
                continue
            var, axes = b
            if len(axes) != group.ndim:  # an input of an absorbed 0-d producer
                axes = (None,) * group.ndim
            key = (id(var), axes)
            if key not in ext_index:
                ext_index[key] = len(ext)
                ext.append((var, axes))
            refs.append(("in", ext_index[key]))
        step_of[id(node.outputs[0])] = len(steps)
        steps.append(Step(node.op.scalar_op, tuple(refs)))
    needed = [n.outputs[0] for n in members
              if any(c is None or id(c) not in group.ids for c in clients[id(n.outputs[0])])]
    program = ScalarProgram(steps, [("step", step_of[id(v)]) for v in needed])
    op = FusedElemwise([a for _, a in ext], program, group.pattern)
    node = op.make_node(*[new_var(v) for v, _ in ext])
    return {id(old): new for old, new in zip(needed, node.outputs)}


def elemwise_fusion(outputs):
    order = toposort(outputs)
    clients = _clients(order, outputs)
    group_of, groups = {}, []
    for node in reversed(order):
        if id(node) in group_of or not lowerable(node):
            continue
        g = _Group(node)
        group_of[id(node)] = g
        _grow(g, group_of, clients)
        groups.append(g)
    if not groups:
        return outputs
    groups = _merge_siblings(groups, group_of)
    groups = _merge_adjacent(groups, group_of)
    position = {id(n): i for i, n in enumerate(order)}
    for g in groups:
        g.order = sorted(g.members, key=lambda n: position[id(n)])

    memo = {}

    def new_var(v):
        return memo.get(id(v), v)

    # Build units (a group, or a single other node) in a dependency order of the
    # contracted graph, which fusion keeps acyclic. (Not tjit.graph.replace's walk:
    # a group's members are not contiguous in a dependency order of the nodes, and
    # its FusedElemwise needs the new versions of every member's inputs.)
    for unit in _unit_order(order, outputs, group_of):
        if isinstance(unit, _Group):
            memo.update(_build(unit, clients, new_var))
            continue
        new_inputs = [new_var(v) for v in unit.inputs]
        if any(a is not b for a, b in zip(new_inputs, unit.inputs)):
            rebuilt = rebuild_node(unit, new_inputs)
            for old, new in zip(unit.outputs, rebuilt.outputs):
                new.name = old.name
                memo[id(old)] = new
    return [new_var(v) for v in outputs]


def _unit_order(order, outputs, group_of):
    """Groups and ungrouped nodes, each after every unit it reads from."""
    def unit_of(node):
        return group_of.get(id(node), node)

    def deps(unit):
        nodes = unit.order if isinstance(unit, _Group) else [unit]
        for n in nodes:
            for v in n.inputs:
                if v.owner is not None and unit_of(v.owner) is not unit:
                    yield unit_of(v.owner)

    result, done, active = [], set(), set()
    for root in [unit_of(v.owner) for v in outputs if v.owner is not None]:
        stack = [(root, iter(deps(root)))]
        if id(root) in done:
            continue
        active.add(id(root))
        while stack:
            unit, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                active.discard(id(unit))
                done.add(id(unit))
                result.append(unit)
            elif id(nxt) not in done:
                if id(nxt) in active:
                    raise AssertionError("elemwise_fusion built a cyclic group")
                active.add(id(nxt))
                stack.append((nxt, iter(deps(nxt))))
    return result
