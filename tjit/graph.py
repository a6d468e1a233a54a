"""The graph core: Type, Variable, Constant, Apply, Op, and graph traversal.

A graph is a DAG of `Apply` nodes (an `Op` applied to input Variables, producing
output Variables). Types are checked when a node is built (`Op.make_node`).
"""
from __future__ import annotations

import contextlib
import itertools
import threading
import warnings

import numpy as np

from .config import config

_ids = itertools.count()


class Type:
    """A set of values; `filter` converts a value into it or raises TypeError."""

    def filter(self, value, strict=False, allow_downcast=None):
        raise NotImplementedError

    def make_variable(self, name=None):
        return Variable(self, name=name)

    def convert_variable(self, var):
        """`var` if it can stand for a variable of this type, else None. Subtypes
        may return an equivalent variable of exactly this type instead."""
        return var if var.type == self else None

    def __call__(self, name=None):
        return self.make_variable(name)


class Tag(dict):
    """A variable's scratchpad (`var.tag`): items, also readable and writable as
    attributes, as Theano programs use it (`x.tag.test_value = ...`). Assigning
    `test_value` converts the value with the variable's type (Theano's filter):
    a value of the wrong dtype or number of dimensions raises TypeError there."""

    def __init__(self, items=(), type=None):
        super().__init__(items)
        object.__setattr__(self, "_type", type)

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"tag has no attribute {name!r}") from None

    def __setattr__(self, name, value):
        if name == "test_value":
            value = _filtered_test_value(self.__dict__.get("_type"), value)
        self[name] = value

    def __delattr__(self, name):
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None


class Variable:
    """A symbolic value: the output `index` of `owner` (an Apply), or a graph input."""

    def __init__(self, type, owner=None, index=None, name=None):
        self.type = type
        self.owner = owner
        self.index = index
        self.name = name
        self.tag = Tag(type=type)
        self.auto_name = f"auto_{next(_ids)}"

    def __str__(self):
        if self.name is not None:
            return self.name
        if self.owner is not None:
            op = str(self.owner.op)
            if len(self.owner.outputs) == 1:
                return f"{op}.0"
            return f"{op}.{self.index}"
        return f"<{self.type}>"

    def __repr__(self):
        return str(self)

    def clone(self):
        v = type(self)(self.type, None, None, self.name)
        v.tag = Tag(self.tag, type=self.type)
        return v


class Constant(Variable):
    """A graph input with a fixed value (`data`, already filtered by its type)."""

    def __init__(self, type, data, name=None):
        super().__init__(type, None, None, name)
        self.data = type.filter(data)

    def __str__(self):
        if self.name is not None:
            return self.name
        return _short_repr(self.data)

    def clone(self):
        return type(self)(self.type, self.data, self.name)

    def signature(self):
        sig = self.__dict__.get("_signature")
        if sig is None:
            sig = self._signature = (self.type, _data_key(self.data))
        return sig


def _data_key(data):
    a = np.asarray(data)
    return (a.dtype.str, a.shape, a.tobytes())


def _short_repr(data):
    a = np.asarray(data)
    if a.size == 1:  # broadcastable padding of a scalar is not worth printing
        a = a.reshape(())
    if a.ndim == 0:
        v = a.item()
        return repr(v) if not isinstance(v, bool) else str(v)
    s = np.array2string(a, threshold=6, separator=", ")
    return s if len(s) < 60 else f"Constant{{{a.shape}}}"


class Apply:
    """`op` applied to `inputs`, producing `outputs` (whose owner is this node)."""

    def __init__(self, op, inputs, outputs):
        self.op = op
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        for i, out in enumerate(self.outputs):
            out.owner = self
            out.index = i

    @property
    def out(self):
        assert len(self.outputs) == 1
        return self.outputs[0]

    def clone_with_new_inputs(self, inputs):
        """Rebuild through make_node so types are rechecked."""
        return self.op.make_node(*inputs)

    def __repr__(self):
        return f"{self.op}({', '.join(map(str, self.inputs))})"


class Op:
    """Base class of operations. Subclasses define:

    make_node(*inputs) -> Apply      type rule, raises TypeError/ValueError early
    perform(node, inputs) -> list    NumPy reference (arrays in, arrays out)
    grad(inputs, output_grads)       symbolic gradient (list, one per input)
    Native lowering is described by the passes/ir stages (see tjit/passes/elemwise_fusion.py).
    `__props__` names the attributes that define equality (for merging nodes).
    """

    __props__ = ()
    view_map = {}  # output index -> [input index] the output may alias

    def make_node(self, *inputs):
        raise NotImplementedError

    def __call__(self, *inputs, **kwargs):
        node = self.make_node(*inputs, **kwargs)
        if _test_values_on():
            compute_test_values(node)
        if len(node.outputs) == 1:
            return node.outputs[0]
        return node.outputs

    def perform(self, node, inputs):
        raise NotImplementedError(f"{self} has no NumPy implementation")

    def grad(self, inputs, output_grads):
        raise NotImplementedError(f"{self} has no gradient")

    def _props(self):
        return tuple(getattr(self, p) for p in self.__props__)

    def __eq__(self, other):
        return self is other or (type(self) is type(other) and self._props() == other._props())

    def __hash__(self):
        # Ops are immutable once built; merging and caches hash them constantly.
        h = self.__dict__.get("_props_hash")
        if h is None:
            h = self.__dict__["_props_hash"] = hash((type(self), self._props()))
        return h

    def __getstate__(self):
        # the cached hash is valid only in this process (str hashes are salted)
        state = dict(self.__dict__)
        state.pop("_props_hash", None)
        return state

    def __str__(self):
        if self.__props__:
            args = ", ".join(str(p) for p in self._props())
            return f"{type(self).__name__}{{{args}}}"
        return type(self).__name__


# ---- test values (config.compute_test_value, as Theano) ------------------------
_override = threading.local()  # .policy: this thread's compute_test_value, if set


def _test_value_policy():
    policy = getattr(_override, "policy", None)
    return config._values["compute_test_value"] if policy is None else policy


def _test_values_on():
    flags = config._values
    if flags["compute_test_value"] == flags["compute_test_value_opt"] == "off":
        return False  # the common case, without a thread-local lookup
    return _test_value_policy() != "off"


@contextlib.contextmanager
def test_value_policy(policy):
    """Use `policy` ('off', 'ignore', 'warn', 'raise') instead of
    config.compute_test_value in this thread, inside the block. Graph rebuilds
    (clone_replace, replace) run with 'off', since they make nodes over
    placeholders that have no test values (as Theano's clone); the rewrite
    pipeline runs with config.compute_test_value_opt (as Theano's optimizer)."""
    old = getattr(_override, "policy", None)
    _override.policy = policy
    try:
        yield
    finally:
        _override.policy = old


def _filtered_test_value(vtype, value):
    if vtype is None:
        return value
    try:
        return vtype.filter(value)
    except NotImplementedError:  # a type without a filter keeps the value as given
        return value
    except (TypeError, ValueError) as e:
        raise e.__class__(f"test value does not fit {vtype}: {e}") from None


def get_test_value(v):
    """The test value of `v`: a constant's data, a shared variable's value, or
    `v.tag.test_value`; for an output of a node built without its value (e.g.
    by make_node directly), computed from its inputs'. AttributeError if none."""
    if isinstance(v, Constant):
        return v.data
    get_value = getattr(v, "get_value", None)
    if get_value is not None and v.owner is None:  # a shared variable
        return get_value(borrow=True)
    if "test_value" in v.tag:
        return v.tag["test_value"]
    if v.owner is not None and compute_test_values(v.owner, missing="ignore"):
        return v.tag["test_value"]
    raise AttributeError(f"{v} has no test value")


def compute_test_values(node, missing=None):
    """Run `node.op.perform` on its inputs' test values and store the results as
    its outputs' tag.test_value (shape errors surface when the node is built).
    An input without a test value: per config.compute_test_value ('raise':
    ValueError, 'warn': a warning, 'ignore': nothing), and no value is computed.
    Returns whether values were computed."""
    missing = missing or _test_value_policy()
    values = []
    for i, v in enumerate(node.inputs):
        try:
            values.append(get_test_value(v))
        except AttributeError:
            msg = (f"Cannot compute test value: input {i} ({v}) of Op {node!r} missing "
                   "default value. Set its tag.test_value (or set "
                   "config.compute_test_value='off').")
            if missing == "raise":
                raise ValueError(msg) from None
            if missing == "warn":
                warnings.warn(msg, stacklevel=3)
            return False
    try:
        outs = node.op.perform(node, values)
    except NotImplementedError:
        return False  # an op without a NumPy reference: no test values below it
    for out, value in zip(node.outputs, outs):
        dtype = getattr(out.type, "dtype", None)
        if dtype is not None and isinstance(value, (np.ndarray, np.generic)):
            value = np.asarray(value)
            if value.dtype != dtype:
                value = value.astype(dtype)
        out.tag["test_value"] = value
    return True


# ---- traversal ----------------------------------------------------------------
_TOPOSORT_CACHE = []  # [(outputs, order)], most recent last; graphs are immutable


def toposort(outputs):
    """Apply nodes needed for `outputs`, each after the nodes it depends on."""
    outputs = list(outputs)
    for outs, order in _TOPOSORT_CACHE:
        # Passes that change nothing hand the same outputs to the next pass.
        if len(outs) == len(outputs) and all(a is b for a, b in zip(outs, outputs)):
            return list(order)
    order = _toposort(outputs)
    _TOPOSORT_CACHE.append((outputs, order))
    del _TOPOSORT_CACHE[:-4]
    return list(order)


def _toposort(outputs):
    order, seen = [], set()
    for out in outputs:
        if out.owner is None or id(out.owner) in seen:
            continue
        stack = [(out.owner, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            for inp in reversed(node.inputs):
                if inp.owner is not None and id(inp.owner) not in seen:
                    stack.append((inp.owner, False))
    return order


def graph_inputs(outputs):
    """Variables without an owner that `outputs` depend on, in first-seen order."""
    result, seen = [], set()
    for node in toposort(outputs):
        for v in node.inputs:
            if v.owner is None and id(v) not in seen:
                seen.add(id(v))
                result.append(v)
    for out in outputs:
        if out.owner is None and id(out) not in seen:
            seen.add(id(out))
            result.append(out)
    return result


def ancestors(outputs):
    """Every variable `outputs` depend on (including themselves)."""
    result, seen, stack = [], set(), list(outputs)
    while stack:
        v = stack.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        result.append(v)
        if v.owner is not None:
            stack.extend(v.owner.inputs)
    return result


def clone_replace(outputs, replace=None, strict=True):
    """Copies of `outputs` in which each key of `replace` is replaced by its value.

    The original graph is left unchanged. `replace` is a dict or list of pairs.
    With strict=True a replacement must have the same type as the variable it replaces.
    """
    single = not isinstance(outputs, (list, tuple))
    outs = [outputs] if single else list(outputs)
    pairs = list(replace.items()) if isinstance(replace, dict) else list(replace or [])
    subst = {}
    for old, new in pairs:
        if strict and old.type != new.type:
            new = _convert_replacement(old, new)
        subst[id(old)] = new
    result = _walk(outs, subst, None, Apply.clone_with_new_inputs, keep_types=False)
    return result[0] if single else result


def _convert_replacement(old, new):
    converted = old.type.convert_variable(new)
    if converted is None:
        raise TypeError(
            f"cannot replace {old} of type {old.type} by {new} of type {new.type}")
    return converted


def replace(outputs, mapping=None, local=None, rebuild_node=None, keep_types=False):
    """`outputs` rebuilt with substitutions: the one graph walk behind clone_replace
    and every rewrite pass. The original graph is never changed.

    mapping       {old variable: new variable}, or (old, new) pairs: every use of an
                  old variable reads the new one. New variables are taken as given
                  (their own graphs are not searched for old variables), and a node
                  any of whose outputs is a key is left out (even if mapped to
                  itself).
    local         fn(node) -> new variables for node.outputs, or None to keep the
                  node: called on every node in dependency order, on the node as
                  rebuilt over the substitutions made so far (a local rewrite sees
                  the graph already rewritten upstream of it).
    rebuild_node  fn(node, new inputs) -> Apply, for nodes whose inputs changed
                  (default: the op's make_node, which rechecks types).
    keep_types    every substitution must have the type of the variable it replaces
                  or convert to it (`Type.convert_variable`: a more broadcastable
                  tensor is rebroadcast); else TypeError. Without it, types may
                  change and the change propagates downstream.

    Nodes whose inputs are unchanged are reused; a rebuilt output keeps the name of
    the output it replaces. Returns `outputs` itself when no output changed (so the
    caller can tell a no-op by identity), else a new list. When nothing is
    substituted the walk costs one `local` call per node.
    """
    subst = {}
    if mapping:
        for old, new in (mapping.items() if isinstance(mapping, dict) else mapping):
            subst[id(old)] = _retyped(old, new) if keep_types else new
    return _walk(outputs, subst, local, rebuild_node or Apply.clone_with_new_inputs,
                 keep_types)


def _walk(outputs, subst, local, rebuild_node, keep_types):
    """replace()'s walk; `subst` maps id(old variable) -> new variable."""
    if _test_values_on():
        with test_value_policy("off"):
            return _walk(outputs, subst, local, rebuild_node, keep_types)
    memo = dict(subst)  # id(old variable) -> its new variable
    for node in toposort(outputs):
        node_now = node
        if memo:
            # Until something changed (memo empty) no node needs its inputs remapped.
            if subst and any(id(o) in subst for o in node.outputs):
                continue
            new_inputs = [memo.get(id(v), v) for v in node.inputs]
            if any(a is not b for a, b in zip(new_inputs, node.inputs)):
                node_now = rebuild_node(node, new_inputs)
                for old, new in zip(node.outputs, node_now.outputs):
                    if new.name is None:
                        new.name = old.name
                    memo[id(old)] = new
        if local is None:
            continue
        replacement = local(node_now)
        if replacement is None:
            continue
        for old, new in zip(node.outputs, replacement):
            if new is old:
                continue
            memo[id(old)] = _retyped(old, new) if keep_types else new
    if not memo:
        return outputs
    result = [memo.get(id(v), v) for v in outputs]
    return outputs if all(a is b for a, b in zip(result, outputs)) else result


def _retyped(old, new):
    """`new` standing for `old`: itself if the types are equal, else converted by
    old's type (a more broadcastable tensor is rebroadcast), else TypeError."""
    if new.type == old.type:
        return new
    conv = getattr(old.type, "convert_variable", None)
    converted = conv(new) if conv is not None else None
    if converted is None:
        raise TypeError(f"a rewrite changed the type of {old}: {old.type} -> {new.type}")
    return converted
