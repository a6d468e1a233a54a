"""Matrix products: Dot, Gemm, TensorDot, BatchedDot and the functions users call
(`dot`, `outer`, `tensordot`, `batched_dot`), with Theano 1.0's semantics.

Type rules run when a node is built: wrong ndims raise TypeError naming the
operands; the output dtype is the upcast of the operands' (int32 . float32 is
float64, as Theano). Inner sizes are checked when the node runs: a ValueError
names both operands and their shapes. Natively, Dot, Gemm and TensorDot call BLAS
directly (tjit/runtime/blas.py, linked in tjit/link/blas.py); `perform` is the
NumPy reference.
"""
from __future__ import annotations

import numpy as np

from ..graph import Apply, Op
from .. import scalar as ts
from .type import TensorType
from .var import as_tensor_variable, constant

BLAS_DTYPES = ("float32", "float64")


def _describe(var, array):
    return f"{var} of shape {tuple(array.shape)}"


def _check_inner(op, xv, yv, x, y, x_axis, y_axis):
    if x.shape[x_axis] != y.shape[y_axis]:
        raise ValueError(
            f"{op}: shapes not aligned: {_describe(xv, x)} and {_describe(yv, y)} "
            f"(dim {x_axis} of the first is {x.shape[x_axis]}, dim {y_axis} of the second "
            f"is {y.shape[y_axis]})")


# -- Dot: vector/matrix products -------------------------------------------------
class Dot(Op):
    """np.dot for 1-d and 2-d operands: vector.vector -> scalar, matrix.vector,
    vector.matrix, matrix.matrix."""

    def make_node(self, x, y):
        x, y = as_tensor_variable(x), as_tensor_variable(y)
        if x.ndim not in (1, 2) or y.ndim not in (1, 2):
            raise TypeError(f"Dot takes vectors and matrices, got {x} ({x.type}) and "
                            f"{y} ({y.type}); use T.dot or T.tensordot for other ranks")
        bc = x.broadcastable[:-1] + y.broadcastable[1:]
        return Apply(self, [x, y], [TensorType(ts.upcast(x.dtype, y.dtype), bc)()])

    def check_shapes(self, node, x, y):
        _check_inner("dot", node.inputs[0], node.inputs[1], x, y, x.ndim - 1, 0)

    def perform(self, node, inputs):
        x, y = inputs
        self.check_shapes(node, x, y)
        dtype = node.outputs[0].dtype
        return [np.asarray(np.dot(x.astype(dtype, copy=False), y.astype(dtype, copy=False)),
                           dtype=dtype)]

    def grad(self, inputs, output_grads):
        (x, y), (gz,) = inputs, output_grads
        if gz.ndim == 0:
            gx, gy = gz * y, gz * x
        elif x.ndim == 1:
            gx, gy = _dot(gz, y.T), outer(x, gz)
        elif y.ndim == 1:
            gx, gy = outer(gz, y), _dot(x.T, gz)
        else:
            gx, gy = _dot(gz, y.T), _dot(x.T, gz)
        return [patternbroadcast(gx, x.broadcastable), patternbroadcast(gy, y.broadcastable)]



_dot = Dot()


# -- Gemm: beta*z + alpha*dot(x, y) (made by the gemm rewrite) ---------------------
class Gemm(Op):
    """gemm(z, alpha, x, y, beta) = beta*z + alpha*dot(x, y), into a new array.

    x and y are as for Dot (not both vectors); z has the dims of dot(x, y) and may
    be broadcastable where dot(x, y) is not; alpha and beta are 0-d. The output
    has the dtype of dot(x, y), which z's dtype must equal."""

    def make_node(self, z, alpha, x, y, beta):
        z, x, y = (as_tensor_variable(v) for v in (z, x, y))
        alpha, beta = as_tensor_variable(alpha), as_tensor_variable(beta)
        prod = _dot.make_node(x, y).outputs[0]
        if prod.ndim == 0:
            raise TypeError(f"Gemm needs a matrix or vector product, got {x} and {y}")
        if z.ndim != prod.ndim or z.dtype != prod.dtype:
            raise TypeError(f"Gemm: z={z} ({z.type}) must match dot({x}, {y}) ({prod.type})")
        if any(bp and not bz for bp, bz in zip(prod.broadcastable, z.broadcastable)):
            raise TypeError(f"Gemm: z={z} ({z.type}) would broadcast dot({x}, {y})")
        for s in (alpha, beta):
            if s.ndim != 0 or ts.upcast(s.dtype, prod.dtype) != prod.dtype:
                raise TypeError(f"Gemm: alpha/beta must be scalars that fit {prod.dtype}, "
                                f"got {s} ({s.type})")
        return Apply(self, [z, alpha, x, y, beta], [prod.type()])

    def check_shapes(self, node, z, x, y):
        zv, _, xv, yv, _ = node.inputs
        _check_inner("gemm", xv, yv, x, y, x.ndim - 1, 0)
        want = x.shape[:-1] + y.shape[1:]
        # z's broadcastable dims have size 1 (its type says so); the others must match
        if any(n != w and not b for n, w, b in zip(z.shape, want, zv.broadcastable)):
            raise ValueError(f"gemm: {_describe(node.inputs[0], z)} does not match the "
                             f"product dot({node.inputs[2]}, {node.inputs[3]}) of shape {want}")

    def perform(self, node, inputs):
        z, a, x, y, b = inputs
        self.check_shapes(node, z, x, y)
        dtype = node.outputs[0].dtype
        prod = np.dot(x.astype(dtype, copy=False), y.astype(dtype, copy=False))
        a, b = np.asarray(a, dtype=dtype), np.asarray(b, dtype=dtype)
        return [np.asarray(b * z + a * prod, dtype=dtype)]

    def grad(self, inputs, output_grads):
        (z, a, x, y, b), (gz,) = inputs, output_grads
        prod = _dot(x, y)
        gx, gy = _dot.grad([x, y], [a * gz])
        return [sum_to_broadcastable(b * gz, z), _sum(gz * prod), gx, gy, _sum(gz * z)]



gemm = Gemm()


# -- TensorDot: sum over paired axes ----------------------------------------------
def _normalize_axes(a, b, axes):
    """`axes` (an int n, or a pair of ints / int sequences) as two tuples of axes."""
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        if n < 0 or n > a.ndim or n > b.ndim:
            raise TypeError(f"tensordot: axes={n} needs operands with at least {n} dims, got "
                            f"{a} ({a.ndim} dims) and {b} ({b.ndim} dims)")
        return tuple(range(a.ndim - n, a.ndim)), tuple(range(n))
    try:
        ax_a, ax_b = axes
    except (TypeError, ValueError):
        raise ValueError(f"tensordot: axes must be an int or a pair of axis lists, "
                         f"got {axes!r}") from None
    pairs = []
    for var, ax in ((a, ax_a), (b, ax_b)):
        ax = [ax] if isinstance(ax, (int, np.integer)) else list(ax)
        for i in ax:
            if not isinstance(i, (int, np.integer)) or not -var.ndim <= i < var.ndim:
                raise TypeError(f"tensordot: axis {i!r} is out of range for {var} with "
                                f"{var.ndim} dims")
        ax = tuple(int(i) % var.ndim for i in ax)
        if len(set(ax)) != len(ax):
            raise ValueError(f"tensordot: repeated axis in {ax} for {var}")
        pairs.append(ax)
    if len(pairs[0]) != len(pairs[1]):
        raise ValueError(f"tensordot: {len(pairs[0])} axes of {a} paired with "
                         f"{len(pairs[1])} axes of {b}")
    return pairs[0], pairs[1]


class TensorDot(Op):
    """np.tensordot(a, b, (axes_a, axes_b)): the output's dims are a's other dims,
    then b's other dims."""

    __props__ = ("axes_a", "axes_b")

    def __init__(self, axes_a, axes_b):
        self.axes_a, self.axes_b = tuple(axes_a), tuple(axes_b)

    def make_node(self, a, b):
        a, b = as_tensor_variable(a), as_tensor_variable(b)
        if any(i >= a.ndim for i in self.axes_a) or any(i >= b.ndim for i in self.axes_b):
            raise TypeError(f"{self}: axes out of range for {a} ({a.ndim} dims) and "
                            f"{b} ({b.ndim} dims)")
        bc = tuple(f for d, f in enumerate(a.broadcastable) if d not in self.axes_a) + \
            tuple(f for d, f in enumerate(b.broadcastable) if d not in self.axes_b)
        return Apply(self, [a, b], [TensorType(ts.upcast(a.dtype, b.dtype), bc)()])

    def check_shapes(self, node, a, b):
        for i, j in zip(self.axes_a, self.axes_b):
            _check_inner("tensordot", node.inputs[0], node.inputs[1], a, b, i, j)

    def perform(self, node, inputs):
        a, b = inputs
        self.check_shapes(node, a, b)
        dtype = node.outputs[0].dtype
        r = np.tensordot(a.astype(dtype, copy=False), b.astype(dtype, copy=False),
                         axes=(self.axes_a, self.axes_b))
        return [np.asarray(r, dtype=dtype)]

    def grad(self, inputs, output_grads):
        (a, b), (gz,) = inputs, output_grads
        free_a = [d for d in range(a.ndim) if d not in self.axes_a]
        free_b = [d for d in range(b.ndim) if d not in self.axes_b]
        na = len(free_a)
        ga = tensordot(gz, b, [list(range(na, gz.ndim)), free_b])
        gb = tensordot(a, gz, [free_a, list(range(na))])
        # ga's dims: free_a, then the partners of b's summed axes in b's order;
        # gb's dims: the partners of a's summed axes in a's order, then free_b
        pair_a = dict(zip(self.axes_b, self.axes_a))
        pair_b = dict(zip(self.axes_a, self.axes_b))
        order_a = free_a + [pair_a[j] for j in sorted(self.axes_b)]
        order_b = [pair_b[i] for i in sorted(self.axes_a)] + free_b
        ga = ga.dimshuffle(*[order_a.index(d) for d in range(a.ndim)])
        gb = gb.dimshuffle(*[order_b.index(d) for d in range(b.ndim)])
        return [patternbroadcast(ga, a.broadcastable), patternbroadcast(gb, b.broadcastable)]


    def __str__(self):
        return f"TensorDot{{{list(self.axes_a)}, {list(self.axes_b)}}}"


# -- BatchedDot: one product per index of the first dim ------------------------------
class BatchedDot(Op):
    """z[i] = dot(x[i], y[i]) for x, y of 2 or 3 dims; both have the batch size."""

    def make_node(self, x, y):
        x, y = as_tensor_variable(x), as_tensor_variable(y)
        if x.ndim not in (2, 3) or y.ndim not in (2, 3):
            raise TypeError(f"BatchedDot takes 2-d or 3-d operands, got {x} ({x.type}) "
                            f"and {y} ({y.type})")
        bc = (x.broadcastable[0] and y.broadcastable[0],) + x.broadcastable[1:-1] + \
            y.broadcastable[2:]
        return Apply(self, [x, y], [TensorType(ts.upcast(x.dtype, y.dtype), bc)()])

    def check_shapes(self, node, x, y):
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"batched_dot: batch sizes differ: {_describe(node.inputs[0], x)} "
                             f"and {_describe(node.inputs[1], y)}")
        _check_inner("batched_dot", node.inputs[0], node.inputs[1], x, y, x.ndim - 1, 1)

    def perform(self, node, inputs):
        x, y = inputs
        self.check_shapes(node, x, y)
        dtype = node.outputs[0].dtype
        x3 = x[:, None, :] if x.ndim == 2 else x
        y3 = y[:, :, None] if y.ndim == 2 else y
        z = np.matmul(x3.astype(dtype, copy=False), y3.astype(dtype, copy=False))
        if y.ndim == 2:
            z = z[:, :, 0]
        if x.ndim == 2:
            z = z[:, 0]
        return [np.ascontiguousarray(z, dtype=dtype)]

    def grad(self, inputs, output_grads):
        (x, y), (gz,) = inputs, output_grads
        x3 = x if x.ndim == 3 else x.dimshuffle(0, "x", 1)
        y3 = y if y.ndim == 3 else y.dimshuffle(0, 1, "x")
        # gz is (batch, [rows of x], [cols of y]): give it the missing dims
        order = [0, 1 if x.ndim == 3 else "x"]
        order.append(gz.ndim - 1 if y.ndim == 3 else "x")
        g3 = gz.dimshuffle(*order)
        gx = _batched(g3, y3.dimshuffle(0, 2, 1))
        gy = _batched(x3.dimshuffle(0, 2, 1), g3)
        if x.ndim == 2:
            gx = gx.dimshuffle(0, 2)
        if y.ndim == 2:
            gy = gy.dimshuffle(0, 1)
        return [patternbroadcast(gx, x.broadcastable), patternbroadcast(gy, y.broadcastable)]


_batched = BatchedDot()


# -- the functions users call -------------------------------------------------------
def dot(a, b):
    """Theano's T.dot: scalars multiply; vectors/matrices use Dot; higher ranks sum
    over the last axis of a and the second-to-last of b (as np.dot)."""
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.ndim > 2 or b.ndim > 2:
        return tensordot(a, b, [[a.ndim - 1], [max(0, b.ndim - 2)]])
    return _dot(a, b)


def outer(x, y):
    """The outer product of two vectors (other ranks are flattened first)."""
    x, y = as_tensor_variable(x), as_tensor_variable(y)
    if x.ndim != 1:
        x = x.flatten()
    if y.ndim != 1:
        y = y.flatten()
    return dot(x.dimshuffle(0, "x"), y.dimshuffle("x", 0))


def tensordot(a, b, axes=2):
    """np.tensordot: `axes` is an int n (last n axes of a with first n of b) or a
    pair of axis lists. TypeError for axes beyond the operands' dims."""
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    axes_a, axes_b = _normalize_axes(a, b, axes)
    return TensorDot(axes_a, axes_b)(a, b)


def batched_dot(a, b):
    """Theano's batched_dot: dot(a[i], b[i]) for every i of the first dim. Vectors
    multiply elementwise per batch; ranks above 3 sum over a's last axis and b's
    axis max(1, b.ndim - 2)."""
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    if a.ndim == 0 or b.ndim == 0:
        raise TypeError(f"batched_dot: operands need a batch axis, got {a} ({a.ndim} dims) "
                        f"and {b} ({b.ndim} dims)")
    if a.ndim == 1:
        return a.dimshuffle(*([0] + ["x"] * (b.ndim - 1))) * b
    if b.ndim == 1:
        return a * b.dimshuffle(*([0] + ["x"] * (a.ndim - 1)))
    if a.ndim > 3 or b.ndim > 3:
        return _batched_nd(a, b)
    return _batched(a, b)


def _batched_nd(a, b):
    """batched_dot of ranks above 3, as one 3-d BatchedDot between reshapes."""
    j = max(1, b.ndim - 2)
    rest = [d for d in range(1, b.ndim) if d != j]
    sa, sb = shape(a), shape(b)
    mid_a = [sa[d] for d in range(1, a.ndim - 1)]
    rest_b = [sb[d] for d in rest]
    a3 = reshape(a, [sa[0], _prod(mid_a), sa[a.ndim - 1]])
    b3 = reshape(b.dimshuffle(0, j, *rest), [sb[0], sb[j], _prod(rest_b)])
    return reshape(_batched(a3, b3), [sa[0]] + mid_a + rest_b)


def _prod(dims):
    out = constant(np.int64(1))
    for d in dims:
        out = out * d
    return out


from . import nlinalg  # noqa: E402,F401  (T.nlinalg, whose grads use dot)
from .basic import patternbroadcast, reshape, shape, sum_to_broadcastable
from .reduction import sum as _sum
