"""Basic indexing: `x[1:-1:2, 3]`, `x[::-1]`, `x[None]`, set_subtensor, inc_subtensor.

Slices and integer indices may be symbolic integer scalars. Results of
`Subtensor` are views; integer indices out of range raise IndexError.
Keys with index arrays or boolean masks go to advanced_subtensor.py.
"""
from __future__ import annotations

import numpy as np

from ..graph import Apply, Op, Variable
from .. import scalar as ts
from .. import tensor as _tensor  # advanced_subtensor builds on this module
from .basic import sum_to_broadcastable, zeros_like
from .reduction import sum as _sum
from .type import TensorType
from .var import as_tensor_variable


def _is_int_like(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _index_entry(v, symbolic):
    """An index entry: a Python int, None, or the position of a symbolic input."""
    if v is None or _is_int_like(v):
        return None if v is None else int(v)
    v = as_tensor_variable(v)
    if v.ndim != 0 or v.dtype not in ts.INTS:
        raise TypeError(f"index {v} must be an integer scalar, got {v.type}")
    symbolic.append(v)
    return ("sym", len(symbolic) - 1)


def parse_key(x, key):
    """Split a basic-indexing key into a hashable pattern plus symbolic inputs.

    Pattern entries: ('slice', start, stop, step), ('int', i), ('newaxis',).
    Raises TypeError for other keys (see advanced_subtensor.py), IndexError for too many indices.
    """
    if not isinstance(key, tuple):
        key = (key,)
    pattern, symbolic = [], []
    for k in key:
        if k is None:
            pattern.append(("newaxis",))
        elif isinstance(k, slice):
            pattern.append(("slice",) + tuple(_index_entry(v, symbolic)
                                              for v in (k.start, k.stop, k.step)))
        elif _is_int_like(k):
            pattern.append(("int", int(k)))
        elif isinstance(k, Variable) and k.ndim == 0 and k.dtype in ts.INTS:
            pattern.append(("int", _index_entry(k, symbolic)))
        elif k is Ellipsis:
            n_real = sum(1 for e in key if e is not None and e is not Ellipsis)
            pattern.extend([("slice", None, None, None)] * (x.ndim - n_real))
        else:
            what = getattr(k, "type", type(k).__name__)
            raise TypeError(f"index {k!r} ({what}) of {x}: indices must be integers, slices, "
                            "None, Ellipsis, integer tensors or boolean masks")
    n_used = sum(1 for p in pattern if p[0] != "newaxis")
    if n_used > x.ndim:
        raise IndexError(f"too many indices for {x}: {n_used} given, it has {x.ndim} dims")
    for p in pattern:
        if p[0] == "slice" and p[3] == 0:
            raise ValueError("slice step cannot be zero")
    return tuple(pattern), symbolic


class Subtensor(Op):
    """x[pattern], a view. `pattern` comes from `parse_key`; symbolic entries are
    the extra inputs."""

    __props__ = ("pattern",)
    view_map = {0: [0]}

    def __init__(self, pattern):
        self.pattern = pattern

    def make_node(self, x, *symbolic):
        x = as_tensor_variable(x)
        bc, axis = [], 0
        for p in self.pattern:
            if p[0] == "newaxis":
                bc.append(True)
                continue
            if p[0] == "slice":
                full = p[1] is None and p[2] is None and p[3] in (None, 1, -1)
                bc.append(x.broadcastable[axis] and full)
            axis += 1
        bc.extend(x.broadcastable[axis:])
        return Apply(self, [x] + list(symbolic), [TensorType(x.dtype, tuple(bc))()])

    def key(self, symbolic_values):
        def val(v):
            return int(symbolic_values[v[1]]) if isinstance(v, tuple) else v
        key = []
        for p in self.pattern:
            if p[0] == "newaxis":
                key.append(None)
            elif p[0] == "int":
                key.append(val(p[1]))
            else:
                key.append(slice(val(p[1]), val(p[2]), val(p[3])))
        return tuple(key)

    def perform(self, node, inputs):
        x, *sym = inputs
        key = self.key(sym)
        try:
            return [np.asarray(x[key])]
        except IndexError:
            raise IndexError(f"index {_fmt_key(key)} is out of bounds for {node.inputs[0]} of "
                             f"shape {x.shape}") from None

    def grad(self, inputs, output_grads):
        x, *sym = inputs
        gx = IncSubtensor(self.pattern, set_instead_of_inc=False)(
            zeros_like(x), output_grads[0], *sym)
        return [gx] + [None] * len(sym)

    def __str__(self):
        parts = []
        for p in self.pattern:
            if p[0] == "newaxis":
                parts.append("None")
            elif p[0] == "int":
                parts.append(_fmt_entry(p[1]))
            else:
                s = f"{_fmt_entry(p[1], '')}:{_fmt_entry(p[2], '')}"
                if p[3] is not None:
                    s += f":{_fmt_entry(p[3], '')}"
                parts.append(s)
        return f"Subtensor{{{', '.join(parts)}}}"


def _fmt_entry(v, none="None"):
    if v is None:
        return none
    if isinstance(v, tuple):
        return f"i{v[1]}"
    return str(v)


def _fmt_key(key):
    def one(k):
        if isinstance(k, slice):
            return f"{'' if k.start is None else k.start}:{'' if k.stop is None else k.stop}" + \
                (f":{k.step}" if k.step is not None else "")
        return "None" if k is None else str(k)
    return "[" + ", ".join(one(k) for k in key) + "]"


class IncSubtensor(Op):
    """A copy of x with x[pattern] incremented by (or set to) y, y broadcast."""

    __props__ = ("pattern", "set_instead_of_inc")

    def __init__(self, pattern, set_instead_of_inc=False):
        self.pattern = pattern
        self.set_instead_of_inc = set_instead_of_inc

    def make_node(self, x, y, *symbolic):
        x, y = as_tensor_variable(x), as_tensor_variable(y)
        sub = Subtensor(self.pattern)(x, *symbolic)
        if y.ndim > sub.ndim:
            raise TypeError(f"{'set' if self.set_instead_of_inc else 'inc'}_subtensor: value {y} "
                            f"has {y.ndim} dims, more than the {sub.ndim} of the indexed part")
        if ts.upcast(x.dtype, y.dtype) != x.dtype and y.dtype != x.dtype:
            raise TypeError(f"{'set' if self.set_instead_of_inc else 'inc'}_subtensor: cannot "
                            f"store {y.dtype} values ({y}) into {x} of dtype {x.dtype} "
                            "without loss of precision")
        return Apply(self, [x, y] + list(symbolic), [x.type()])

    def perform(self, node, inputs):
        x, y, *sym = inputs
        out = x.copy()
        key = Subtensor(self.pattern).key(sym)
        try:
            if self.set_instead_of_inc:
                out[key] = y
            else:
                out[key] += y
        except IndexError:
            raise IndexError(f"index {_fmt_key(key)} is out of bounds for {node.inputs[0]} of "
                             f"shape {x.shape}") from None
        except ValueError as e:
            raise ValueError(f"{self}: value of shape {y.shape} does not fit "
                             f"x{_fmt_key(key)} of x with shape {x.shape}: {e}") from None
        return [out]

    def grad(self, inputs, output_grads):
        x, y, *sym = inputs
        g = output_grads[0]
        gx = g
        if self.set_instead_of_inc:
            gx = IncSubtensor(self.pattern, True)(g, zeros_like(y), *sym)
        gy_full = Subtensor(self.pattern)(g, *sym)
        extra = gy_full.ndim - y.ndim
        if extra:
            gy_full = _sum(gy_full, axis=list(range(extra)))
        return [gx, sum_to_broadcastable(gy_full, y)] + [None] * len(sym)

    def __str__(self):
        kind = "Set" if self.set_instead_of_inc else "Inc"
        return f"{kind}{str(Subtensor(self.pattern))}"


def getitem(x, key):
    advanced = _tensor.advanced_subtensor
    if advanced.is_advanced_key(key):
        return advanced.advanced_getitem(x, key)
    pattern, symbolic = parse_key(x, key)
    # x[:] is a Subtensor too (as Theano), so set_subtensor(x[:], y) works; the
    # canonicalize pass removes it when it is only read.
    return Subtensor(pattern)(x, *symbolic)


def _inc_or_set(x, y, set_instead_of_inc):
    node = x.owner
    if node is not None and isinstance(node.op, _tensor.advanced_subtensor.AdvancedSubtensor):
        return node.op.inc_op(set_instead_of_inc)(*node.inputs[:1], y, *node.inputs[1:])
    if node is None or not isinstance(node.op, Subtensor):
        raise TypeError(f"{'set' if set_instead_of_inc else 'inc'}_subtensor: {x} is not an "
                        "indexed tensor (write x[...] as the first argument)")
    base, *sym = node.inputs
    return IncSubtensor(node.op.pattern, set_instead_of_inc)(base, y, *sym)


def set_subtensor(x, y, inplace=False, tolerate_inplace_aliasing=False):
    """The whole tensor that `x` indexes, with x's part replaced by `y` (x may be
    basic- or advanced-indexed; with repeated indices the last write wins). The
    `inplace` flags are accepted for Theano compatibility; results are always new."""
    return _inc_or_set(x, y, True)


def inc_subtensor(x, y, inplace=False, set_instead_of_inc=False,
                  tolerate_inplace_aliasing=False):
    """The whole tensor that `x` indexes, with `y` added to x's part (repeated
    advanced indices accumulate, like np.add.at)."""
    return _inc_or_set(x, y, bool(set_instead_of_inc))
