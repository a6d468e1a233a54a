"""Advanced indexing: `x[idx]`, `x[idx_a, idx_b]`, `x[:, idx]`, `x[mask]`, and
set_subtensor / inc_subtensor on them, with NumPy's semantics.

A key mixes slices, None, Ellipsis, integer tensors (any ndim, broadcast together)
and boolean masks (a k-dim mask stands for k integer indices: its nonzero()).
Integer scalars in such a key are advanced indices too (as in NumPy, this matters
for where the indexed dims land). The result is always a new array.

Errors: a float or 0-d boolean index, or more indexed dims than `x` has, raise
at graph-build time (TypeError / IndexError). Out-of-range indices and masks of
the wrong shape raise IndexError at run time, naming the tensor and its shape;
NumPy does the indexing, so no access leaves a buffer.
"""
from __future__ import annotations

import numpy as np

from ..graph import Apply, Op, Variable
from .. import scalar as ts
from .basic import clip, sum_to_broadcastable, zeros_like
from .reduction import sum as _sum
from .shape_ops import shape
from .subtensor import _fmt_entry, _index_entry, _is_int_like
from .type import TensorType
from .var import as_tensor_variable


class IndexDimError(TypeError, IndexError):
    """More indexed dims than the tensor has (a type error that NumPy calls IndexError)."""


def is_advanced_key(key):
    """Whether `key` needs advanced indexing (arrays, lists, masks or bools in it)."""
    for k in key if isinstance(key, tuple) else (key,):
        if isinstance(k, (list, np.ndarray, bool, np.bool_)):
            return True
        if isinstance(k, Variable) and (k.ndim > 0 or k.dtype == "bool"):
            return True
    return False


def _as_index(k, x):
    if isinstance(k, list) and len(k) == 0:
        k = np.zeros(0, dtype="int64")  # NumPy: x[[]] is an empty integer index
    v = as_tensor_variable(k)
    if v.dtype == "bool" and v.ndim == 0:
        raise TypeError(f"index {v} of {x} is a 0-d boolean; use T.switch for conditions")
    if v.dtype != "bool" and v.dtype not in ts.INTS:
        raise TypeError(f"index {v} of {x} has dtype {v.dtype} ({v.type}); indices must be "
                        "integers or boolean masks")
    return v


def parse_advanced_key(x, key):
    """(pattern, symbolic inputs) for an advanced key. Pattern entries:
    ('slice', start, stop, step) as in subtensor.parse_key, ('newaxis',), and
    ('adv', j) for the index tensor symbolic[j]."""
    key = key if isinstance(key, tuple) else (key,)
    if sum(k is Ellipsis for k in key) > 1:
        raise IndexError(f"an index of {x} can only have a single Ellipsis")
    pattern, symbolic = [], []
    for k in key:
        if k is None:
            pattern.append(("newaxis",))
        elif k is Ellipsis:
            pattern.append(("ellipsis",))
        elif isinstance(k, slice):
            pattern.append(("slice",) + tuple(_index_entry(v, symbolic)
                                              for v in (k.start, k.stop, k.step)))
            if pattern[-1][3] == 0:
                raise ValueError("slice step cannot be zero")
        else:
            v = _as_index(k if not _is_int_like(k) else np.int64(k), x)
            symbolic.append(v)
            pattern.append(("adv", len(symbolic) - 1))
    used = sum(_consumed(p, symbolic) for p in pattern)
    if used > x.ndim:
        raise IndexDimError(f"too many indices for {x}: the key indexes {used} dims, "
                            f"it has {x.ndim}")
    if ("ellipsis",) in pattern:
        i = pattern.index(("ellipsis",))
        pattern[i:i + 1] = [("slice", None, None, None)] * (x.ndim - used)
    return tuple(pattern), symbolic


def _consumed(p, symbolic):
    if p[0] == "slice":
        return 1
    if p[0] == "adv":
        v = symbolic[p[1]]
        return v.ndim if v.dtype == "bool" else 1
    return 0


def result_broadcastable(x, pattern, symbolic):
    """The broadcast pattern of x[key] (NumPy's placement of advanced dims); checks types."""
    parts, adv_at, index_bcs, axis = [], [], [], 0
    for n, p in enumerate(pattern):
        if p[0] == "newaxis":
            parts.append((True,))
        elif p[0] == "slice":
            for e in p[1:]:
                if isinstance(e, tuple):
                    v = symbolic[e[1]]
                    if v.ndim != 0 or v.dtype not in ts.INTS:
                        raise TypeError(f"slice bound {v} of {x} must be an integer scalar")
            full = p[1] is None and p[2] is None and p[3] in (None, 1, -1)
            parts.append((x.broadcastable[axis] and full,))
            axis += 1
        else:
            v = symbolic[p[1]]
            if v.dtype not in ts.INTS and not (v.dtype == "bool" and v.ndim > 0):
                raise TypeError(f"index {v} of {x} ({v.type}) must be an integer tensor or "
                                "a boolean mask")
            # a mask's length is data dependent: its dim is never broadcastable
            index_bcs.append((False,) if v.dtype == "bool" else v.broadcastable)
            parts.append(None)
            adv_at.append(n)
            axis += _consumed(p, symbolic)
    if axis > x.ndim:
        raise IndexDimError(f"too many indices for {x}: {axis} dims indexed, it has {x.ndim}")
    nd = max((len(b) for b in index_bcs), default=0)
    padded = [(True,) * (nd - len(b)) + tuple(b) for b in index_bcs]
    adv = tuple(all(b[d] for b in padded) for d in range(nd))
    if adv_at and adv_at == list(range(adv_at[0], adv_at[-1] + 1)):
        parts[adv_at[0]] = adv  # adjacent advanced indices: their dims stay in place
    else:
        parts.insert(0, adv)    # separated: NumPy puts the broadcast dims first
    return sum((q for q in parts if q is not None), ()) + x.broadcastable[axis:]


def _key(pattern, sym):
    def val(v):
        return int(sym[v[1]]) if isinstance(v, tuple) else v
    key = []
    for p in pattern:
        if p[0] == "newaxis":
            key.append(None)
        elif p[0] == "adv":
            key.append(sym[p[1]])
        else:
            key.append(slice(val(p[1]), val(p[2]), val(p[3])))
    return tuple(key)


def _index_error(op, node, x, e):
    return IndexError(f"{op}: {e}, indexing {node.inputs[0]} of shape {x.shape}")


class AdvancedSubtensor(Op):
    """x[key] for an advanced key (see parse_advanced_key); a new array."""

    __props__ = ("pattern",)

    def __init__(self, pattern):
        self.pattern = tuple(pattern)

    def make_node(self, x, *symbolic):
        x = as_tensor_variable(x)
        symbolic = [as_tensor_variable(s) for s in symbolic]
        bc = result_broadcastable(x, self.pattern, symbolic)
        return Apply(self, [x] + symbolic, [TensorType(x.dtype, bc)()])

    def perform(self, node, inputs):
        x, *sym = inputs
        try:
            return [np.array(x[_key(self.pattern, sym)])]
        except IndexError as e:
            raise _index_error(self, node, x, e) from None

    def grad(self, inputs, output_grads):
        x, *sym = inputs
        gx = self.inc_op(False)(zeros_like(x), output_grads[0], *sym)
        return [gx] + [None] * len(sym)

    def inc_op(self, set_instead_of_inc):
        return AdvancedIncSubtensor(self.pattern, set_instead_of_inc)

    def __str__(self):
        return f"AdvancedSubtensor{{{_fmt(self.pattern)}}}"


class AdvancedSubtensor1(AdvancedSubtensor):
    """x[ilist] for an integer vector `ilist` indexing the first axis (Theano's name)."""

    __props__ = ()

    def __init__(self):
        super().__init__((("adv", 0),))

    def make_node(self, x, ilist):
        ilist = as_tensor_variable(ilist)
        if ilist.ndim != 1 or ilist.dtype not in ts.INTS:
            raise TypeError(f"AdvancedSubtensor1: index {ilist} must be an integer vector, "
                            f"got {ilist.type}")
        return super().make_node(x, ilist)

    def inc_op(self, set_instead_of_inc):
        return AdvancedIncSubtensor1(set_instead_of_inc)

    def __str__(self):
        return "AdvancedSubtensor1"


class AdvancedIncSubtensor(Op):
    """A copy of x with x[key] incremented by (or set to) y, y broadcast to x[key].

    Repeated indices accumulate when incrementing (like np.add.at); when setting,
    the last write wins (like NumPy assignment). Gradients treat every write as
    effective (as Theano): with repeated indices and set, each copy of y gets the
    gradient of its position.
    """

    __props__ = ("pattern", "set_instead_of_inc")

    def __init__(self, pattern, set_instead_of_inc=False):
        self.pattern = tuple(pattern)
        self.set_instead_of_inc = set_instead_of_inc

    def make_node(self, x, y, *symbolic):
        x, y = as_tensor_variable(x), as_tensor_variable(y)
        sub = AdvancedSubtensor(self.pattern)(x, *symbolic)
        what = "set_subtensor" if self.set_instead_of_inc else "inc_subtensor"
        if y.ndim > sub.ndim:
            raise TypeError(f"{what}: value {y} has {y.ndim} dims, more than the "
                            f"{sub.ndim} of the indexed part {sub}")
        if ts.upcast(x.dtype, y.dtype) != x.dtype and y.dtype != x.dtype:
            raise TypeError(f"{what}: cannot store {y.dtype} values ({y}) into {x} of dtype "
                            f"{x.dtype} without loss of precision")
        return Apply(self, [x, y] + sub.owner.inputs[1:], [x.type()])

    def perform(self, node, inputs):
        x, y, *sym = inputs
        out = x.copy()  # C-contiguous: its flat view addresses every element
        key = _key(self.pattern, sym)
        try:
            if self.set_instead_of_inc:
                out[key] = y
                return [out]
            # flat positions of x[key] (any key NumPy accepts), then an unbuffered add
            pos = np.arange(x.size, dtype=np.intp).reshape(x.shape)[key]
            np.add.at(out.reshape(-1), pos, np.broadcast_to(y, pos.shape))
        except IndexError as e:
            raise _index_error(self, node, x, e) from None
        except ValueError as e:
            raise ValueError(f"{self}: value of shape {np.shape(y)} does not fit the "
                             f"indexed part of {node.inputs[0]} (shape {x.shape}): {e}") from None
        return [out]

    def grad(self, inputs, output_grads):
        x, y, *sym = inputs
        g = output_grads[0]
        sub = self.subtensor_op()
        gx = sub.inc_op(True)(g, zeros_like(y), *sym) if self.set_instead_of_inc else g
        gy = sub(g, *sym)
        if gy.ndim > y.ndim:
            gy = _sum(gy, axis=list(range(gy.ndim - y.ndim)))
        return [gx, sum_to_broadcastable(gy, y)] + [None] * len(sym)

    def subtensor_op(self):
        return AdvancedSubtensor(self.pattern)

    def __str__(self):
        kind = "Set" if self.set_instead_of_inc else "Inc"
        return f"Advanced{kind}Subtensor{{{_fmt(self.pattern)}}}"


class AdvancedIncSubtensor1(AdvancedIncSubtensor):
    """x[ilist] += y (or = y) for an integer vector `ilist` on the first axis."""

    __props__ = ("set_instead_of_inc",)

    def __init__(self, set_instead_of_inc=False):
        super().__init__((("adv", 0),), set_instead_of_inc)

    def make_node(self, x, y, ilist):
        AdvancedSubtensor1().make_node(as_tensor_variable(x), ilist)  # checks ilist
        return super().make_node(x, y, ilist)

    def subtensor_op(self):
        return AdvancedSubtensor1()

    def __str__(self):
        return f"Advanced{'Set' if self.set_instead_of_inc else 'Inc'}Subtensor1"


def _fmt(pattern):
    parts = []
    for p in pattern:
        if p[0] == "newaxis":
            parts.append("None")
        elif p[0] == "adv":
            parts.append(f"i{p[1]}")
        else:
            s = f"{_fmt_entry(p[1], '')}:{_fmt_entry(p[2], '')}"
            parts.append(s + (f":{_fmt_entry(p[3], '')}" if p[3] is not None else ""))
    return ", ".join(parts)


def advanced_getitem(x, key):
    """x[key] for an advanced key: AdvancedSubtensor1 for one integer vector."""
    pattern, symbolic = parse_advanced_key(x, key)
    if pattern == (("adv", 0),) and symbolic[0].ndim == 1 and symbolic[0].dtype != "bool":
        return AdvancedSubtensor1()(x, symbolic[0])
    return AdvancedSubtensor(pattern)(x, *symbolic)


def take(a, indices, axis=None, mode="raise"):
    """np.take: elements of `a` (flattened when axis is None) at integer `indices`.
    mode 'raise' (IndexError when out of range), 'wrap' or 'clip'."""
    a = as_tensor_variable(a)
    indices = _as_index(indices, a)
    if indices.dtype == "bool":
        raise TypeError(f"take: indices {indices} must be integers, got a boolean mask")
    if axis is None:
        a, axis = a.flatten(), 0
    if not -a.ndim <= axis < a.ndim:
        raise ValueError(f"take: axis {axis} out of range for {a} with {a.ndim} dims")
    axis %= a.ndim
    n = shape(a)[axis]
    if mode == "wrap":
        indices = indices % n
    elif mode == "clip":
        indices = clip(indices, 0, n - 1)
    elif mode != "raise":
        raise ValueError(f"take: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
    return advanced_getitem(a, (slice(None),) * axis + (indices,))
