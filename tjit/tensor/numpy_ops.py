"""Ops that always run their NumPy reference (`perform`), having no loop lowering:
searchsorted, unique, bartlett, fill_diagonal, fill_diagonal_offset, choose
(Theano's extra_ops and T.choose). Each is a data-dependent search, a sort, or a
copy with a scattered write, for which NumPy is already the fast path.
"""
from __future__ import annotations

import numpy as np

from ..graph import Apply, Op
from .. import scalar as ts
from .basic import cast, second, zeros_like
from .reduction import sum as _sum
from .shape_ops import stack
from .type import TensorType
from .var import as_tensor_variable


# -- searchsorted ------------------------------------------------------------------------
class SearchsortedOp(Op):
    """np.searchsorted(x, v, side, sorter): int64 insertion points of `v` (any
    shape) into the sorted vector `x` (sorted through the int vector `sorter`)."""

    __props__ = ("side",)

    def __init__(self, side="left"):
        if side not in ("left", "right"):
            raise ValueError(f"'{side}' is an invalid value for keyword 'side'")
        self.side = side

    def make_node(self, x, v, sorter=None):
        x, v = as_tensor_variable(x, ndim=1), as_tensor_variable(v)
        ins = [x, v]
        if sorter is not None:
            sorter = as_tensor_variable(sorter)
            if sorter.ndim != 1 or sorter.dtype not in ts.INTS:
                raise TypeError(f"searchsorted: sorter {sorter} ({sorter.type}) must be an "
                                "integer vector")
            ins.append(sorter)
        return Apply(self, ins, [TensorType("int64", v.broadcastable)()])

    def perform(self, node, inputs):
        x, v = inputs[:2]
        sorter = inputs[2] if len(inputs) == 3 else None
        return [np.asarray(np.searchsorted(x, v, side=self.side, sorter=sorter), "int64")]

    def grad(self, inputs, output_grads):
        # piecewise constant in x and v (as Theano: zeros); sorter holds positions
        grads = [zeros_like(inputs[0]), zeros_like(inputs[1])]
        return grads + [None] * (len(inputs) - 2)


def searchsorted(x, v, side="left", sorter=None):
    """Indices (int64, the shape of `v`) where the elements of `v` would be inserted
    into the sorted vector `x` to keep it sorted (np.searchsorted)."""
    return SearchsortedOp(side)(x, v, sorter)


# -- unique ----------------------------------------------------------------------------------
class Unique(Op):
    """np.unique: the sorted unique values of the flattened `x` (with `axis`, the
    unique slices along that axis, x's ndim kept), then (each if its flag is set)
    the int64 vectors of first indices, of the inverse (x == values[inverse],
    flattened or along axis) and of counts. No gradient (as Theano)."""

    __props__ = ("return_index", "return_inverse", "return_counts", "axis")

    def __init__(self, return_index=False, return_inverse=False, return_counts=False,
                 axis=None):
        self.return_index = bool(return_index)
        self.return_inverse = bool(return_inverse)
        self.return_counts = bool(return_counts)
        if axis is not None and (not isinstance(axis, (int, np.integer)) or isinstance(axis, bool)):
            raise TypeError(f"unique: axis must be an int or None, got {axis!r}")
        self.axis = None if axis is None else int(axis)

    def make_node(self, x):
        x = as_tensor_variable(x)
        if self.axis is None:
            values = TensorType(x.dtype, (False,))()
        else:
            if not -x.ndim <= self.axis < x.ndim:
                raise ValueError(f"unique: axis {self.axis} is out of range for {x} with "
                                 f"{x.ndim} dims")
            a = self.axis % x.ndim
            values = TensorType(x.dtype, tuple(b and d != a for d, b in
                                               enumerate(x.broadcastable)))()
        n_extra = self.return_index + self.return_inverse + self.return_counts
        outs = [values] + [TensorType("int64", (False,))() for _ in range(n_extra)]
        return Apply(self, [x], outs)

    def perform(self, node, inputs):
        x = inputs[0]
        res = np.unique(x.ravel() if self.axis is None else x, return_index=self.return_index,
                        return_inverse=self.return_inverse, return_counts=self.return_counts,
                        axis=self.axis)
        if not isinstance(res, tuple):
            return [res]
        return [res[0]] + [np.asarray(r, "int64").ravel() for r in res[1:]]


def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None):
    """The sorted unique elements of `ar` (flattened, or slices along `axis`), and
    with the flags the index / inverse / counts vectors, as np.unique (a list when
    a flag is set)."""
    return Unique(return_index, return_inverse, return_counts, axis)(ar)


# -- bartlett ---------------------------------------------------------------------------------
class Bartlett(Op):
    """np.bartlett(M): the triangular window of M points (float64; empty when M <= 0)."""

    def make_node(self, M):
        M = as_tensor_variable(M)
        if M.ndim != 0:
            raise TypeError(f"bartlett only works on scalar input, got {M} ({M.type})")
        if M.dtype not in ts.INTS:
            raise TypeError(f"bartlett only works on integer input, got {M} ({M.dtype})")
        return Apply(self, [M], [TensorType("float64", (False,))()])

    def perform(self, node, inputs):
        return [np.bartlett(int(inputs[0])).astype("float64")]

    def grad(self, inputs, output_grads):
        return [None]


_bartlett = Bartlett()


def bartlett(M):
    """The Bartlett (triangular) window of `M` points, a float64 vector whose end
    points are zero."""
    return _bartlett(M)


# -- fill_diagonal, fill_diagonal_offset ------------------------------------------------------
def _fill_value(a, val, who):
    val = as_tensor_variable(val)
    if val.ndim != 0:
        raise TypeError(f"{who}: second parameter must be a scalar, got {val} ({val.type})")
    if ts.upcast(a.dtype, val.dtype) != a.dtype:
        raise TypeError(f"{who}: type of second parameter ({val.dtype}) must be the same as "
                        f"the first's ({a.dtype}), or cast to it without loss")
    return cast(val, a.dtype)


class FillDiagonal(Op):
    """A copy of `a` (>= 2 dims) with a[i, i, ..., i] set to the scalar `val` (a
    matrix may be rectangular: its min(rows, cols) diagonal is set, unwrapped; more
    dims must all be equal, as np.fill_diagonal)."""

    def make_node(self, a, val):
        a = as_tensor_variable(a)
        if a.ndim < 2:
            raise TypeError(f"fill_diagonal: first parameter must have at least two "
                            f"dimensions, got {a} ({a.type})")
        return Apply(self, [a, _fill_value(a, val, "fill_diagonal")], [a.type()])

    def perform(self, node, inputs):
        a, val = inputs
        a = a.copy()
        try:
            np.fill_diagonal(a, val)
        except ValueError:
            raise ValueError(f"fill_diagonal: {node.inputs[0]} of shape {a.shape}: all "
                             "dimensions of an array with more than 2 must be equal") from None
        return [a]

    def grad(self, inputs, output_grads):
        # Theano's: the diagonal gets no gradient; val gets the sum over the diagonal
        # (here as g times a mask of it, so it holds for any number of dims)
        g = output_grads[0]
        mask = fill_diagonal(zeros_like(g), 1)
        return [fill_diagonal(g, 0), _sum(g * mask)]


_fill_diagonal = FillDiagonal()


def fill_diagonal(a, val):
    """A copy of `a` with its main diagonal set to the scalar `val`, which must cast
    to a's dtype without loss."""
    return _fill_diagonal(a, val)


class FillDiagonalOffset(Op):
    """A copy of the matrix `a` with its diagonal number `offset` (an int scalar;
    > 0 above the main one) set to the scalar `val`, unwrapped."""

    def make_node(self, a, val, offset):
        a, offset = as_tensor_variable(a), as_tensor_variable(offset)
        if a.ndim != 2:
            raise TypeError(f"fill_diagonal_offset: first parameter must have exactly two "
                            f"dimensions, got {a} ({a.type})")
        if offset.ndim != 0 or offset.dtype not in ts.INTS:
            raise TypeError(f"fill_diagonal_offset: offset {offset} ({offset.type}) must be "
                            "an integer scalar; use T.cast(offset, 'int64')")
        val = _fill_value(a, val, "fill_diagonal_offset")
        return Apply(self, [a, val, offset], [a.type()])

    def perform(self, node, inputs):
        a, val, offset = inputs
        a, k = a.copy(), int(offset)
        rows, cols = a.shape
        i = np.arange(max(0, min(rows + min(k, 0), cols - max(k, 0))))
        a[i - min(k, 0), i + max(k, 0)] = val
        return [a]

    def grad(self, inputs, output_grads):
        offset, g = inputs[2], output_grads[0]
        mask = fill_diagonal_offset(zeros_like(g), 1, offset)
        return [fill_diagonal_offset(g, 0, offset), _sum(g * mask), None]


_fill_diagonal_offset = FillDiagonalOffset()


def fill_diagonal_offset(a, val, offset):
    """A copy of the matrix `a` with diagonal `offset` set to the scalar `val`."""
    return _fill_diagonal_offset(a, val, offset)


# -- choose -------------------------------------------------------------------------------------
class Choose(Op):
    """np.choose(a, choices, mode): out[I] = choices[a[I]][I], with `a` (ints) and
    the choices broadcast together; the choices are stacked along a first axis.
    mode 'raise' (an index out of range is an error), 'wrap' or 'clip'. No gradient
    (as Theano)."""

    __props__ = ("mode",)

    def __init__(self, mode="raise"):
        if mode not in ("raise", "wrap", "clip"):
            raise ValueError(f"choose: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
        self.mode = mode

    def make_node(self, a, choices):
        a, choices = as_tensor_variable(a), as_tensor_variable(choices)
        if a.dtype not in ts.DISCRETE:
            raise TypeError(f"choose first argument must have an [u]int* dtype. Got {a.dtype}.")
        if choices.ndim < 1:
            raise TypeError(f"choose: choices {choices} must stack the choices along a first "
                            "axis (at least one dim)")
        nd = max(a.ndim, choices.ndim - 1)
        a = a.dimshuffle(*(["x"] * (nd - a.ndim) + list(range(a.ndim))))
        pad = nd - (choices.ndim - 1)
        choices = choices.dimshuffle(0, *(["x"] * pad + list(range(1, choices.ndim))))
        bc = tuple(x and y for x, y in zip(a.broadcastable, choices.broadcastable[1:]))
        return Apply(self, [a, choices], [TensorType(choices.dtype, bc)()])

    def perform(self, node, inputs):
        a, choices = inputs
        try:
            return [np.asarray(np.choose(a, choices, mode=self.mode), choices.dtype)]
        except ValueError as e:
            raise ValueError(f"choose: index array {node.inputs[0]} of shape {a.shape} with "
                             f"{choices.shape[0]} choices of shape {choices.shape[1:]}: {e}") \
                from None


def choose(a, choices, out=None, mode="raise"):
    """np.choose: each element taken from the choice that `a` (ints) names. `choices`
    is a list of tensors (broadcast together) or one tensor whose first axis
    enumerates them. `out` must be None (Theano has no output argument either)."""
    if out is not None:
        raise ValueError("choose: out must be None; tensors are not written in place")
    if isinstance(choices, (list, tuple)):
        parts = [as_tensor_variable(c) for c in choices]
        if not parts:
            raise ValueError("choose: no choices given")
        spread = []
        for i, c in enumerate(parts):
            for j, other in enumerate(parts):
                if j != i:
                    c = second(other, c)    # c broadcast to the shape of all choices
            spread.append(c)
        choices = stack(spread)
    return Choose(mode)(a, choices)
