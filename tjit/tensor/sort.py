"""Sorting: T.sort, T.argsort (NumPy semantics; axis=None sorts the flattened tensor).

The gradient of sort sends each output gradient back to the position its value
came from: a scatter through argsort (`PermuteAlongAxis`).
"""
from __future__ import annotations

import numpy as np

from ..graph import Apply, Op
from .. import scalar as ts
from .basic import zeros_like
from .type import TensorType
from .var import as_tensor_variable

KINDS = ("quicksort", "mergesort", "heapsort", "stable")


def _check_axis(x, axis, who):
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{who}: axis must be an int or None, got {axis!r}")
    if x.ndim == 0 or not -x.ndim <= axis < x.ndim:
        raise ValueError(f"{who}: axis {axis} is out of range for {x} with {x.ndim} dims")
    return int(axis) % x.ndim


def _check_kind(kind, order, who):
    if kind not in KINDS:
        raise ValueError(f"{who}: kind must be one of {KINDS}, got {kind!r}")
    if order is not None:
        raise ValueError(f"{who}: order is for structured arrays, which tjit does not have")


class SortOp(Op):
    """np.sort(x, axis, kind) along a fixed axis."""

    __props__ = ("axis", "kind")

    def __init__(self, axis, kind="quicksort"):
        self.axis, self.kind = axis, kind

    def make_node(self, x):
        x = as_tensor_variable(x)
        _check_axis(x, self.axis, "sort")
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs):
        return [np.sort(inputs[0], axis=self.axis, kind=self.kind)]

    def grad(self, inputs, output_grads):
        (x,), (g,) = inputs, output_grads
        perm = ArgSortOp(self.axis, self.kind)(x)
        return [PermuteAlongAxis(self.axis, inverse=True)(g, perm)]


class ArgSortOp(Op):
    """np.argsort(x, axis, kind) along a fixed axis, as int64."""

    __props__ = ("axis", "kind")

    def __init__(self, axis, kind="quicksort"):
        self.axis, self.kind = axis, kind

    def make_node(self, x):
        x = as_tensor_variable(x)
        _check_axis(x, self.axis, "argsort")
        return Apply(self, [x], [TensorType("int64", x.broadcastable)()])

    def perform(self, node, inputs):
        return [np.argsort(inputs[0], axis=self.axis, kind=self.kind).astype("int64")]

    def grad(self, inputs, output_grads):
        return [zeros_like(inputs[0])]  # integer positions: zero gradient (as Theano)


class PermuteAlongAxis(Op):
    """Permute `g` along `axis` by the integer indices `perm` (same shape as g):
    out = take_along_axis(g, perm), or with inverse=True the scatter
    out[perm] = g (the inverse permutation). Each is the other's gradient."""

    __props__ = ("axis", "inverse")

    def __init__(self, axis, inverse=False):
        self.axis, self.inverse = axis, inverse

    def make_node(self, g, perm):
        g, perm = as_tensor_variable(g), as_tensor_variable(perm)
        if perm.dtype not in ts.INTS or perm.ndim != g.ndim:
            raise TypeError(f"{self}: perm {perm} ({perm.type}) must be an integer tensor "
                            f"with the {g.ndim} dims of {g}")
        _check_axis(g, self.axis, str(self))
        return Apply(self, [g, perm], [g.type()])

    def perform(self, node, inputs):
        g, perm = inputs
        if g.shape != perm.shape:
            raise ValueError(f"{self}: shapes {g.shape} and {perm.shape} differ")
        if not self.inverse:
            return [np.take_along_axis(g, perm, axis=self.axis)]
        out = np.empty_like(g)
        np.put_along_axis(out, perm, g, axis=self.axis)
        return [out]

    def grad(self, inputs, output_grads):
        g, perm = inputs
        return [PermuteAlongAxis(self.axis, not self.inverse)(output_grads[0], perm), None]


def sort(a, axis=-1, kind="quicksort", order=None):
    """`a` sorted along `axis` (the flattened `a` when axis is None)."""
    _check_kind(kind, order, "sort")
    a = as_tensor_variable(a)
    if axis is None:
        a, axis = a.flatten(), 0
    return SortOp(_check_axis(a, axis, "sort"), kind)(a)


def argsort(a, axis=-1, kind="quicksort", order=None):
    """Indices (int64) that sort `a` along `axis` (of the flattened `a` when None)."""
    _check_kind(kind, order, "argsort")
    a = as_tensor_variable(a)
    if axis is None:
        a, axis = a.flatten(), 0
    return ArgSortOp(_check_axis(a, axis, "argsort"), kind)(a)
