"""Reductions over axes: sum, prod, max, min, all, any, m2, and mean/var/std on top.

Accumulator and output dtypes follow Theano: integer sums and products
accumulate in (u)int64, float32 accumulates in float64 and returns float32,
float16 accumulates in float32 and returns float16 (mean divides in float32).
m2 is the sum of squared deviations from the mean (var = m2 / (n - ddof)); the
var_one_pass rewrite puts it in place of var's composite graph, so that var
reads x once.
"""
from __future__ import annotations

import builtins
import math

import numpy as np

from ..graph import Apply, Op
from .. import scalar as ts
from .basic import cast, eq, fill, sqr, sqrt, sub, switch, true_div, zeros_like
from .shape_ops import shape
from .type import TensorType
from .var import as_tensor_variable

def _m2(x, axis, dtype):
    """Sum of squared deviations from the mean, two-pass (NumPy's var times n)."""
    x = np.asarray(x, dtype=dtype)
    with np.errstate(all="ignore"):
        d = x - np.mean(x, axis=axis, keepdims=True) if x.size else x
        return np.sum(d * d, axis=axis)


_NP = {"sum": np.sum, "prod": np.prod, "max": np.max, "min": np.min,
       "all": np.all, "any": np.any, "argmax": np.argmax, "argmin": np.argmin, "m2": _m2}
NEEDS_NONEMPTY = ("max", "min", "argmax", "argmin")


def reference_reduce(kind, x, axes, acc_dtype, out_dtype, label):
    """NumPy reference of a reduction of array `x` over `axes` (a tuple), the
    semantics native kernels follow. argmax/argmin over several axes give the
    index into the reduced axes flattened in C order. ValueError for max, min,
    argmax and argmin over an empty axis (naming `label`)."""
    if kind in NEEDS_NONEMPTY and builtins.any(x.shape[a] == 0 for a in axes):
        raise ValueError(f"{kind} of an empty axis of {label} (shape {x.shape}) has no identity")
    if kind in ("argmax", "argmin"):
        kept = [d for d in range(x.ndim) if d not in axes]
        t = np.transpose(x, kept + list(axes))
        t = t.reshape([x.shape[d] for d in kept] + [math.prod(x.shape[d] for d in axes)])
        r = _NP[kind](t, axis=-1)
    elif kind in ("sum", "prod", "m2"):
        r = _NP[kind](x, axis=axes, dtype=acc_dtype)
    else:
        r = _NP[kind](np.asarray(x, dtype=acc_dtype) if acc_dtype else x, axis=axes)
    return np.asarray(r, dtype=out_dtype)


def normalize_axis(x, axis):
    """`axis` (None, int, or a sequence) as a sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(x.ndim))
    axes = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)):
            raise TypeError(f"reduction axis must be an int, got {a!r}")
        if not -x.ndim <= a < builtins.max(x.ndim, 1):
            raise ValueError(f"axis {a} is out of range for {x} with {x.ndim} dims")
        out.append(int(a) % builtins.max(x.ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"repeated axis in {axis}")
    return tuple(sorted(out))


def _out_dtype(kind, dtype):
    if kind in ("argmax", "argmin"):
        return "int64"
    if kind == "m2":
        return dtype if dtype in ("float16", "float32", "float64") else "float64"
    if kind in ("all", "any"):
        return "bool"
    if kind in ("sum", "prod"):
        if dtype in ("bool", "int8", "int16", "int32", "int64"):
            return "int64"
        if dtype.startswith("uint"):
            return "uint64"
    return dtype


def _acc_dtype(kind, dtype):
    if kind in ("argmax", "argmin"):
        return None
    if kind in ("sum", "prod", "m2") and dtype in ("float16", "float32"):
        return "float32" if dtype == "float16" else "float64"  # Theano's accumulators
    return _out_dtype(kind, dtype)


class Reduce(Op):
    """Reduce `x` with `kind` over `axis` (a tuple); the reduced dims are removed."""

    __props__ = ("kind", "axis", "dtype", "acc_dtype")

    def __init__(self, kind, axis, dtype=None, acc_dtype=None):
        if kind not in _NP:
            raise ValueError(f"unknown reduction {kind!r}")
        self.kind, self.axis, self.dtype, self.acc_dtype = kind, tuple(axis), dtype, acc_dtype

    def make_node(self, x):
        x = as_tensor_variable(x)
        if builtins.any(a >= x.ndim for a in self.axis) and x.ndim:
            raise ValueError(f"{self}: axis out of range for {x} with {x.ndim} dims")
        if x.dtype in ts.COMPLEX and (self.kind in NEEDS_NONEMPTY or self.kind == "m2"):
            raise TypeError(f"{self.kind} is not defined for complex {x}")
        dtype = self.dtype or _out_dtype(self.kind, x.dtype)
        bc = tuple(b for d, b in enumerate(x.broadcastable) if d not in self.axis)
        return Apply(self, [x], [TensorType(dtype, bc)()])

    def perform(self, node, inputs):
        x = inputs[0]
        acc = self.acc_dtype or _acc_dtype(self.kind, str(x.dtype))
        return [reference_reduce(self.kind, x, self.axis, acc, node.outputs[0].dtype,
                                 node.inputs[0])]

    def grad(self, inputs, output_grads):
        """sum: gz broadcast back; prod: Theano's rule with zeros (below);
        max/min: gz to every position equal to the extremum (ties all get it, as
        Theano 1.0); m2: 2 (x - mean) gz; argmax/argmin/all/any: zero."""
        (x,), (gz,) = inputs, output_grads
        if x.dtype in ts.DISCRETE or self.kind in ("argmax", "argmin", "all", "any"):
            return [zeros_like(x)]
        g = _keep(x, gz, self.axis, True)
        if self.kind == "sum":
            return [cast(fill(x, g), x.dtype)]
        if self.kind == "m2":
            return [cast(2 * (x - mean(x, self.axis, keepdims=True)) * g, x.dtype)]
        if self.kind in ("max", "min"):
            m = _keep(x, Reduce(self.kind, self.axis)(x), self.axis, True)
            return [cast(eq(x, m) * g, x.dtype)]
        # prod: d prod / d x_i = prod of the others. Where no zero: prod / x_i;
        # where exactly one zero: the product of the non-zeros at that zero, 0
        # elsewhere; two or more zeros: 0.
        zero = eq(x, 0)
        n_zeros = _keep(x, Reduce("sum", self.axis)(zero), self.axis, True)
        p = _keep(x, Reduce("prod", self.axis, acc_dtype=self.acc_dtype)(x), self.axis, True)
        p_nz = _keep(x, Reduce("prod", self.axis, acc_dtype=self.acc_dtype)(
            switch(zero, cast(1, x.dtype), x)), self.axis, True)
        dx = switch(eq(n_zeros, 0), true_div(p, switch(zero, cast(1, x.dtype), x)),
                    switch(eq(n_zeros, 1), switch(zero, p_nz, cast(0, x.dtype)),
                           cast(0, x.dtype)))
        return [cast(dx * g, x.dtype)]

    def __str__(self):
        return f"{self.kind.capitalize()}{{axis={list(self.axis)}}}"


def _keep(x, out, axes, keepdims):
    if not keepdims:
        return out
    order, k = [], 0
    for d in range(x.ndim):
        if d in axes:
            order.append("x")
        else:
            order.append(k)
            k += 1
    return out.dimshuffle(*order)


def _reduce(kind, x, axis, keepdims, dtype=None, acc_dtype=None):
    x = as_tensor_variable(x)
    axes = normalize_axis(x, axis)
    out = Reduce(kind, axes, dtype, acc_dtype)(x)
    return _keep(x, out, axes, keepdims)


def sum(x, axis=None, dtype=None, keepdims=False, acc_dtype=None):
    return _reduce("sum", x, axis, keepdims, dtype, acc_dtype)


def prod(x, axis=None, dtype=None, keepdims=False, acc_dtype=None):
    return _reduce("prod", x, axis, keepdims, dtype, acc_dtype)


def max(x, axis=None, keepdims=False):
    return _reduce("max", x, axis, keepdims)


def min(x, axis=None, keepdims=False):
    return _reduce("min", x, axis, keepdims)


def argmax(x, axis=None, keepdims=False):
    """Index of the first maximum (the first NaN if any), int64; over several axes,
    the index into those axes flattened in C order (axis=None: into x.ravel())."""
    return _reduce("argmax", x, axis, keepdims)


def argmin(x, axis=None, keepdims=False):
    return _reduce("argmin", x, axis, keepdims)


def max_and_argmax(x, axis=None, keepdims=False):
    return [max(x, axis, keepdims), argmax(x, axis, keepdims)]


def ptp(x, axis=None, keepdims=False):
    """max - min (range of values) along `axis`."""
    return max(x, axis, keepdims) - min(x, axis, keepdims)


def all(x, axis=None, keepdims=False):
    return _reduce("all", x, axis, keepdims)


def any(x, axis=None, keepdims=False):
    return _reduce("any", x, axis, keepdims)


def _count(x, axes):
    n = None
    for a in axes:
        d = shape(x)[a]
        n = d if n is None else n * d
    return n


def mean(x, axis=None, dtype=None, keepdims=False, acc_dtype=None):
    """Arithmetic mean; ints give float64, float32 stays float32 (as Theano)."""
    x = as_tensor_variable(x)
    axes = normalize_axis(x, axis)
    # float16 sums overflow too easily: as Theano, sum and divide in float32, then cast
    half = dtype == "float16" or (dtype is None and x.dtype == "float16")
    s = sum(x, axis=axes, dtype="float32" if half else dtype, keepdims=keepdims,
            acc_dtype=acc_dtype)
    if s.dtype in ts.DISCRETE:
        s = cast(s, "float64")
    n = _count(x, axes)
    if n is not None:
        s = cast(true_div(s, cast(n, s.dtype)), s.dtype)
    return cast(s, "float16") if half else s


def var(x, axis=None, ddof=0, keepdims=False):
    """Variance (biased unless ddof=1): Theano's composite graph (its gradient is
    the composite's), tagged `one_pass` so that the var_one_pass rewrite can put
    `m2(x) / (n - ddof)` in its place."""
    x = as_tensor_variable(x)
    if x.dtype in ("float16", "float32"):
        # deviations and their squares in float64: var of float32 values near
        # float32's range fits float32 when the sum of squares does not
        return cast(var(cast(x, "float64"), axis, ddof, keepdims), x.dtype)
    axes = normalize_axis(x, axis)
    m = mean(x, axis=axes, keepdims=True)
    d = sqr(sub(x, m))
    s = sum(d, axis=axes, keepdims=keepdims)
    n = _count(x, axes)
    if n is None:
        return s
    n = cast(n, s.dtype)
    out = true_div(s, n - ddof) if ddof else true_div(s, n)
    if x.dtype not in ts.COMPLEX:
        out.tag["one_pass"] = ("var", axes, ddof, keepdims)
    return out


def std(x, axis=None, ddof=0, keepdims=False):
    return sqrt(var(x, axis=axis, ddof=ddof, keepdims=keepdims))
