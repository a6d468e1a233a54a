"""Extra tensor ops (Theano's tensor.extra_ops): cumsum, cumprod, diag/diagonal,
tile, repeat, nonzero; squeeze, diff, to_one_hot, permute_row_elements,
inverse_permutation and cov, by composition. Re-exports sort/argsort, the
advanced-indexing helpers and the NumPy-only ops (numpy_ops.py: searchsorted,
unique, bartlett, fill_diagonal(_offset), choose) so that `tjit.tensor` and
`T.extra_ops` pick everything up from this one module.
"""
from __future__ import annotations

import numpy as np

from ..graph import Apply, Op
from .. import scalar as ts
from .advanced_subtensor import (  # noqa: F401
    AdvancedIncSubtensor, AdvancedIncSubtensor1, AdvancedSubtensor, AdvancedSubtensor1, take)
from .basic import cast, neq, second, sub, sum_to_broadcastable, true_div, zeros, zeros_like
from .numpy_ops import (  # noqa: F401
    Bartlett, Choose, FillDiagonal, FillDiagonalOffset, SearchsortedOp, Unique, bartlett,
    choose, fill_diagonal, fill_diagonal_offset, searchsorted, unique)
from .reduction import mean as _mean, sum as _sum
from .shape_ops import (_const_value, alloc, arange, concatenate, get_vector_length, make_vector,
                        reshape, shape)
from .sort import ArgSortOp, PermuteAlongAxis, SortOp, argsort, sort  # noqa: F401
from .subtensor import inc_subtensor, set_subtensor
from .. import tensor as _tensor  # blas (T.dot, for cov) comes after this module
from .type import TensorType
from .var import as_tensor_variable


def _axis(x, axis, who):
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{who}: axis must be an int or None, got {axis!r}")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"{who}: axis {axis} is out of range for {x} with {x.ndim} dims")
    return int(axis) % x.ndim


def _reverse(x, axis):
    return x[(slice(None),) * axis + (slice(None, None, -1),)]


# -- cumulative sum and product ---------------------------------------------------------
class CumOp(Op):
    """np.cumsum (mode 'add') or np.cumprod (mode 'mul') along a fixed axis; the
    dtype stays x's (as Theano), except bool which accumulates in int64."""

    __props__ = ("axis", "mode")

    def __init__(self, axis, mode="add"):
        if mode not in ("add", "mul"):
            raise ValueError(f"CumOp: mode must be 'add' or 'mul', got {mode!r}")
        self.axis, self.mode = axis, mode

    def make_node(self, x):
        x = as_tensor_variable(x)
        _axis(x, self.axis, f"cum{'sum' if self.mode == 'add' else 'prod'}")
        dtype = "int64" if x.dtype == "bool" else x.dtype
        return Apply(self, [x], [TensorType(dtype, x.broadcastable)()])

    def perform(self, node, inputs):
        fn = np.cumsum if self.mode == "add" else np.cumprod
        return [fn(inputs[0], axis=self.axis, dtype=node.outputs[0].dtype)]

    def grad(self, inputs, output_grads):
        (x,), (g,) = inputs, output_grads
        cumsum_ = CumOp(self.axis, "add")
        if self.mode == "add":  # d out_j / d x_i = [i <= j]: a reversed cumsum
            return [_reverse(cumsum_(_reverse(g, self.axis)), self.axis)]
        # Theano's formula: sum_{j >= i} g_j out_j / x_i. It divides by x, so a
        # zero in x gives inf/nan gradients there (as in Theano).
        fx = CumOp(self.axis, "mul")(x)
        return [_reverse(cumsum_(_reverse(fx * g, self.axis)), self.axis) / x]

    def __str__(self):
        return f"CumOp{{{self.axis}, {self.mode}}}"


def cumsum(x, axis=None):
    """Cumulative sum along `axis`; of the flattened `x` when axis is None."""
    x = as_tensor_variable(x)
    if axis is None:
        x, axis = x.flatten(), 0
    return CumOp(_axis(x, axis, "cumsum"), "add")(x)


def cumprod(x, axis=None):
    """Cumulative product along `axis`; of the flattened `x` when axis is None."""
    x = as_tensor_variable(x)
    if axis is None:
        x, axis = x.flatten(), 0
    return CumOp(_axis(x, axis, "cumprod"), "mul")(x)


# -- diagonals ----------------------------------------------------------------------------
class ExtractDiag(Op):
    """np.diagonal(x, offset, axis1, axis2) as a new array: the two axes are
    removed and the diagonal becomes the last dim."""

    __props__ = ("offset", "axis1", "axis2")

    def __init__(self, offset=0, axis1=0, axis2=1):
        self.offset, self.axis1, self.axis2 = int(offset), axis1, axis2

    def make_node(self, x):
        x = as_tensor_variable(x)
        if x.ndim < 2:
            raise TypeError(f"diagonal: {x} ({x.type}) needs at least 2 dims")
        a1, a2 = _axis(x, self.axis1, "diagonal"), _axis(x, self.axis2, "diagonal")
        if a1 == a2:
            raise ValueError(f"diagonal: axis1 and axis2 are both {a1}")
        bc = tuple(b for d, b in enumerate(x.broadcastable) if d not in (a1, a2)) + (False,)
        return Apply(self, [x], [TensorType(x.dtype, bc)()])

    def perform(self, node, inputs):
        return [np.diagonal(inputs[0], self.offset, self.axis1, self.axis2).copy()]

    def grad(self, inputs, output_grads):
        # zeros with the diagonal set to g: inc_subtensor(z[..., rows, cols], g) on a
        # copy of x's zeros whose two axes are moved last, then moved back.
        (x,), (g,) = inputs, output_grads
        a1, a2 = self.axis1 % x.ndim, self.axis2 % x.ndim
        rest = [d for d in range(x.ndim) if d not in (a1, a2)]
        perm = rest + [a1, a2]
        z = zeros_like(x).dimshuffle(*perm)
        i = arange(shape(g)[g.ndim - 1])
        rows, cols = i + max(-self.offset, 0), i + max(self.offset, 0)
        gz = inc_subtensor(z[(Ellipsis, rows, cols)], g)
        return [gz.dimshuffle(*[perm.index(d) for d in range(x.ndim)])]


class AllocDiag(Op):
    """np.diag(v, offset): a square matrix with the vector `v` on diagonal `offset`."""

    __props__ = ("offset",)

    def __init__(self, offset=0):
        self.offset = int(offset)

    def make_node(self, v):
        v = as_tensor_variable(v)
        if v.ndim != 1:
            raise TypeError(f"AllocDiag: {v} ({v.type}) must be a vector")
        return Apply(self, [v], [TensorType(v.dtype, (False, False))()])

    def perform(self, node, inputs):
        return [np.diag(inputs[0], self.offset)]

    def grad(self, inputs, output_grads):
        return [ExtractDiag(self.offset, 0, 1)(output_grads[0])]


def diagonal(a, offset=0, axis1=0, axis2=1):
    """The diagonal `offset` of `a` in the plane (axis1, axis2), as np.diagonal."""
    return ExtractDiag(offset, axis1, axis2)(a)


def diag(v, k=0):
    """A vector gives a matrix with `v` on diagonal `k`; a matrix (or more dims)
    gives its diagonal `k` (Theano's diag)."""
    v = as_tensor_variable(v)
    if v.ndim == 1:
        return AllocDiag(k)(v)
    if v.ndim >= 2:
        return diagonal(v, offset=k)
    raise ValueError(f"diag: {v} must have at least one dim, got {v.type}")


# -- tile and repeat ------------------------------------------------------------------------
class Tile(Op):
    """np.tile(x, reps) for an int vector `reps` with one count per dim of x."""

    def make_node(self, x, reps):
        x, reps = as_tensor_variable(x), as_tensor_variable(reps)
        if reps.ndim != 1 or reps.dtype not in ts.INTS:
            raise TypeError(f"tile: reps {reps} ({reps.type}) must be an integer vector")
        known = _const_value(reps)
        if known is not None and len(known) != x.ndim:
            raise ValueError(f"tile: {len(known)} reps for {x} with {x.ndim} dims")
        bc = (False,) * x.ndim if known is None else \
            tuple(b and int(r) == 1 for b, r in zip(x.broadcastable, known))
        return Apply(self, [x, reps], [TensorType(x.dtype, bc)()])

    def perform(self, node, inputs):
        x, reps = inputs
        if len(reps) != x.ndim or any(r < 0 for r in reps):
            raise ValueError(f"tile: reps {tuple(int(r) for r in reps)} do not fit "
                             f"{node.inputs[0]} with {x.ndim} dims (one count >= 0 per dim)")
        return [np.tile(x, tuple(int(r) for r in reps))]

    def grad(self, inputs, output_grads):
        # view g as (r0, s0, r1, s1, ...) and sum the copies (the r axes)
        (x, reps), (g,) = inputs, output_grads
        dims = []
        for d in range(x.ndim):
            dims += [reps[d], shape(x)[d]]
        if not dims:
            return [g, None]
        g = _sum(reshape(g, make_vector(*dims), ndim=2 * x.ndim),
                 axis=list(range(0, 2 * x.ndim, 2)))
        return [sum_to_broadcastable(g, x), None]


def tile(x, reps, ndim=None):
    """`x` repeated `reps[d]` times along each dim d, as np.tile. As in Theano, a
    scalar `reps` tiles every dim; a symbolic vector `reps` needs `ndim`. The result
    has max(x.ndim, len(reps), ndim) dims; short reps are padded with 1s on the left."""
    x = as_tensor_variable(x)
    if ndim is not None and ndim < x.ndim:
        raise ValueError(f"tile: ndim={ndim} is less than the {x.ndim} dims of {x}")
    if isinstance(reps, (list, tuple)):
        reps = [as_tensor_variable(r) for r in reps]
        for r in reps:
            if r.ndim != 0 or r.dtype not in ts.INTS:
                raise TypeError(f"tile: reps must be integer scalars, got {r} ({r.type})")
        nd = max(x.ndim, len(reps), ndim or 0)
        reps = make_vector(*([1] * (nd - len(reps)) + reps)) if nd else \
            as_tensor_variable(np.zeros(0, "int64"))
    else:
        reps = as_tensor_variable(reps)
        if reps.dtype not in ts.INTS or reps.ndim > 1:
            raise TypeError(f"tile: reps {reps} ({reps.type}) must be integer scalar or vector")
        if reps.ndim == 0:
            nd = max(x.ndim, ndim or 0)
            reps = make_vector(*[reps] * nd)
        else:
            if ndim is None:
                try:
                    ndim = max(x.ndim, get_vector_length(reps))
                except ValueError:
                    raise ValueError(f"tile: the length of reps {reps} is not known when "
                                     f"the graph is built; pass ndim") from None
            nd = ndim
            ones = alloc(np.int64(1), nd - shape(reps)[0])
            reps = concatenate([ones, cast(reps, "int64")])
    x = x.dimshuffle(*(["x"] * (nd - x.ndim) + list(range(x.ndim))))
    return Tile()(x, reps)


class Repeat(Op):
    """np.repeat(x, repeats, axis): each element repeated `repeats` times (an int
    scalar, or an int vector with one count per element along `axis`)."""

    __props__ = ("axis",)

    def __init__(self, axis):
        self.axis = axis

    def make_node(self, x, repeats):
        x, repeats = as_tensor_variable(x), as_tensor_variable(repeats)
        if repeats.dtype not in ts.INTS or repeats.ndim > 1:
            raise TypeError(f"repeat: repeats {repeats} ({repeats.type}) must be an integer "
                            "scalar or vector")
        _axis(x, self.axis, "repeat")
        bc = tuple(b and d != self.axis for d, b in enumerate(x.broadcastable))
        return Apply(self, [x, repeats], [TensorType(x.dtype, bc)()])

    def perform(self, node, inputs):
        x, repeats = inputs
        try:
            return [np.repeat(x, repeats, axis=self.axis)]
        except ValueError as e:
            raise ValueError(f"repeat: cannot repeat {node.inputs[0]} of shape {x.shape} by "
                             f"repeats of shape {np.shape(repeats)} along axis {self.axis}: "
                             f"{e}") from None

    def grad(self, inputs, output_grads):
        # out[j] = x[src[j]] with src = repeat(arange(n), repeats): scatter-add back
        (x, repeats), (g,) = inputs, output_grads
        src = Repeat(0)(arange(shape(x)[self.axis]), repeats)
        z = zeros_like(x)[(slice(None),) * self.axis + (src,)]
        return [inc_subtensor(z, g), None]


def repeat(x, repeats, axis=None):
    """np.repeat: elements of `x` (flattened when axis is None) repeated along `axis`."""
    x = as_tensor_variable(x)
    if axis is None:
        x, axis = x.flatten(), 0
    return Repeat(_axis(x, axis, "repeat"))(x, repeats)


# -- nonzero ----------------------------------------------------------------------------------
class Nonzero(Op):
    """The indices of the non-zero elements of `x` as an int64 matrix of shape
    (x.ndim, count): row d holds the positions along dim d (np.nonzero, stacked)."""

    def make_node(self, x):
        x = as_tensor_variable(x)
        if x.ndim == 0:
            raise TypeError(f"nonzero: {x} is a scalar; it needs at least one dim")
        return Apply(self, [x], [TensorType("int64", (x.ndim == 1, False))()])

    def perform(self, node, inputs):
        x = inputs[0]
        return [np.array(np.nonzero(x), dtype="int64").reshape(x.ndim, -1)]

    def grad(self, inputs, output_grads):
        return [zeros_like(inputs[0])]  # integer positions: zero gradient


def nonzero(a, return_matrix=False):
    """A tuple of int64 vectors (one per dim of `a`), or the (ndim, count) matrix."""
    m = Nonzero()(a)
    if return_matrix:
        return m
    return tuple(m[d] for d in range(as_tensor_variable(a).ndim))


def flatnonzero(a):
    """Indices of the non-zero elements of the flattened `a`."""
    return nonzero(as_tensor_variable(a).flatten())[0]


def nonzero_values(a):
    """The non-zero elements of the flattened `a`."""
    flat = as_tensor_variable(a).flatten()
    return flat[flatnonzero(flat)]


# -- Theano's extra_ops and tensor functions defined by composition ----------------------------
def squeeze(x):
    """`x` without its broadcastable dims (a view)."""
    x = as_tensor_variable(x)
    return x.dimshuffle(*[d for d in range(x.ndim) if not x.broadcastable[d]])


def diff(x, n=1, axis=-1):
    """The n-th discrete difference along `axis` (np.diff): out[i] = x[i+1] - x[i],
    applied n times (bool: x[i+1] != x[i], as NumPy)."""
    x = as_tensor_variable(x)
    axis = _axis(x, axis, "diff")
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
        raise ValueError(f"diff: order n must be a non-negative int, got {n!r}")
    before = (slice(None),) * axis
    for _ in range(n):
        hi, lo = x[before + (slice(1, None),)], x[before + (slice(None, -1),)]
        x = neq(hi, lo) if x.dtype == "bool" else sub(hi, lo)
    return x


def to_one_hot(y, nb_class, dtype=None):
    """A (len(y), nb_class) matrix whose row i is the one-hot encoding of the
    integer y[i] (dtype floatX unless given)."""
    y = as_tensor_variable(y)
    if y.ndim != 1 or y.dtype not in ts.INTS:
        raise TypeError(f"to_one_hot: y {y} ({y.type}) must be an integer vector")
    out = zeros((shape(y)[0], nb_class), dtype=dtype)
    return set_subtensor(out[arange(shape(y)[0]), y], 1)


def permute_row_elements(x, y, inverse=0):
    """Permute the last axis of `x` by the integer permutations `y` (x and y
    broadcast in their leading dims): out[..., i] = x[..., y[..., i]], or with
    `inverse` out[..., y[..., i]] = x[..., i]. Gradient w.r.t. x: the inverse
    permutation of the output gradient, summed over x's broadcast dims."""
    x, y = as_tensor_variable(x), as_tensor_variable(y)
    if y.dtype not in ts.INTS:
        raise TypeError(f"permute_row_elements: y {y} ({y.type}) must be an integer tensor")
    if x.ndim < 1 or y.ndim < 1:
        raise TypeError(f"permute_row_elements: x {x} and y {y} need at least one dim")
    xb, yb = second(y, x), second(x, y)   # each broadcast to the common shape
    return PermuteAlongAxis(xb.ndim - 1, inverse=bool(inverse))(xb, yb)


def inverse_permutation(perm):
    """The inverse of each permutation (of 0..n-1) in the last axis of `perm`."""
    perm = as_tensor_variable(perm)
    return permute_row_elements(arange(shape(perm)[perm.ndim - 1], dtype=perm.dtype), perm,
                                inverse=True)


def _as_variables(m, rowvar, who):
    m = as_tensor_variable(m)
    if m.ndim > 2 or m.ndim == 0:
        raise ValueError(f"{who}: {m} ({m.type}) must be a vector or a matrix")
    if m.ndim == 1:
        return m.dimshuffle("x", 0)
    # NumPy keeps a one-row matrix as one variable even when rowvar is False; here
    # that is known only for a broadcastable first dim
    return m if rowvar or m.broadcastable[0] else m.T


def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None):
    """The covariance matrix of the variables in `m` (and `y`), as np.cov: rows are
    variables and columns observations unless rowvar is False; normalised by
    N - ddof (ddof defaults to 0 with bias, else 1); fweights (int counts) and
    aweights (relative weights) weigh the observations. Integer data gives float64,
    float32 stays float32 (as Theano's mean). The result is squeezed to a scalar
    only when a single variable is known at graph-build time."""
    X = _as_variables(m, rowvar, "cov")
    if y is not None:
        X = concatenate([X, _as_variables(y, rowvar, "cov")], axis=0)
    if X.dtype in ts.COMPLEX:
        raise TypeError(f"cov: complex data ({X.dtype}) is not supported")
    if X.dtype not in ts.FLOATS:
        X = cast(X, "float64")
    if ddof is None:
        ddof = 0 if bias else 1
    w = None
    if fweights is not None:
        w = cast(as_tensor_variable(fweights, ndim=1), X.dtype)
    if aweights is not None:
        aw = cast(as_tensor_variable(aweights, ndim=1), X.dtype)
        w = aw if w is None else w * aw
    if w is None:
        avg = _mean(X, axis=1)
        fact = cast(shape(X)[1], X.dtype) - ddof
    else:
        v1 = _sum(w)
        avg = true_div(_sum(X * w, axis=1), v1)
        fact = v1 - ddof if aweights is None else v1 - ddof * _sum(w * aw) / v1
    Xc = X - avg.dimshuffle(0, "x")
    Xw = Xc if w is None else Xc * w
    c = true_div(_tensor.blas.dot(Xc, Xw.T), cast(fact, X.dtype))
    if c.broadcastable == (True, True):
        return c[0, 0]
    return c
