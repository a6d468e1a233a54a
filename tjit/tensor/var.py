"""TensorVariable (Python operators, methods) and TensorConstant; as_tensor_variable.

The operators and methods call functions of modules that build on this one
(basic, reduction, ...): they reach them through the package, `_tensor.basic.add`,
looked up when called (see tjit/tensor/__init__.py).
"""
from __future__ import annotations

import numpy as np

from ..config import config
from ..graph import Constant, Variable, _short_repr
from .. import tensor as _tensor  # the package (partly imported while this module runs)
from .type import TensorType


class _TensorOps:
    """Operators and methods shared by tensor variables and constants."""

    # -- arithmetic: Python operators map to elementwise ops ---------------------
    def __add__(self, o): return _tensor.basic.add(self, o)
    def __radd__(self, o): return _tensor.basic.add(o, self)
    def __sub__(self, o): return _tensor.basic.sub(self, o)
    def __rsub__(self, o): return _tensor.basic.sub(o, self)
    def __mul__(self, o): return _tensor.basic.mul(self, o)
    def __rmul__(self, o): return _tensor.basic.mul(o, self)
    def __truediv__(self, o): return _tensor.basic.true_div(self, o)
    def __rtruediv__(self, o): return _tensor.basic.true_div(o, self)
    def __floordiv__(self, o): return _tensor.basic.int_div(self, o)
    def __rfloordiv__(self, o): return _tensor.basic.int_div(o, self)
    def __mod__(self, o): return _tensor.basic.mod(self, o)
    def __rmod__(self, o): return _tensor.basic.mod(o, self)
    def __pow__(self, o): return _tensor.basic.pow(self, o)
    def __rpow__(self, o): return _tensor.basic.pow(o, self)
    def __neg__(self): return _tensor.basic.neg(self)
    def __abs__(self): return _tensor.basic.abs_(self)
    def __lt__(self, o): return _comparison(_tensor.basic.lt(self, o))
    def __le__(self, o): return _comparison(_tensor.basic.le(self, o))
    def __gt__(self, o): return _comparison(_tensor.basic.gt(self, o))
    def __ge__(self, o): return _comparison(_tensor.basic.ge(self, o))
    def __and__(self, o): return _tensor.basic.and_(self, o)
    def __rand__(self, o): return _tensor.basic.and_(o, self)
    def __or__(self, o): return _tensor.basic.or_(self, o)
    def __ror__(self, o): return _tensor.basic.or_(o, self)
    def __xor__(self, o): return _tensor.basic.xor(self, o)
    def __rxor__(self, o): return _tensor.basic.xor(o, self)
    def __invert__(self): return _tensor.basic.invert(self)

    # Variables are graph nodes: == stays identity so they can key dicts (as Theano).
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def __bool__(self):
        # As Theano: a variable is true (`if not W:` tests for None), except the
        # result of a comparison operator, so that `a < b < c` (Python's
        # `(a < b) and (b < c)`) raises instead of silently dropping a test.
        if self.tag.get("comparison"):
            raise TypeError(f"a symbolic comparison ({self}) has no truth value; use T.and_, "
                            "T.switch or tjit.ifelse.ifelse for conditions")
        return True

    def fill(self, value):
        """A tensor of this one's shape filled with `value` (Theano's T.fill)."""
        return _tensor.basic.fill(self, value)

    def __iter__(self):
        # As Theano: a vector whose length the graph states (`n, d = x.shape`) unpacks
        # into its entries; other vectors raise ValueError("length not known"), and
        # tensors of other ranks TypeError (which also stops builtin sum(x)).
        if self.ndim != 1:
            raise TypeError(f"{self} ({self.type}) is symbolic and cannot be iterated; "
                            "index it instead (or use T.sum, not builtin sum)")
        n = _tensor.shape_ops.get_vector_length(self)
        return (self[k] for k in range(n))

    def __len__(self):
        raise TypeError(f"{self} is symbolic: use {self}.shape[0] for its length")

    # -- type information -----------------------------------------------------
    @property
    def dtype(self): return self.type.dtype

    @property
    def ndim(self): return self.type.ndim

    @property
    def broadcastable(self): return self.type.broadcastable

    @property
    def shape(self): return _tensor.basic.shape(self)

    @property
    def size(self): return _tensor.basic.prod_shape(self)

    @property
    def T(self): return self.dimshuffle(*reversed(range(self.ndim)))

    # -- methods ---------------------------------------------------------------
    def dimshuffle(self, *pattern):
        if len(pattern) == 1 and isinstance(pattern[0], (list, tuple)):
            pattern = tuple(pattern[0])
        return _tensor.elemwise.DimShuffle(self.broadcastable, pattern)(self)

    def transpose(self, *axes):
        if not axes:
            return self.T
        if len(axes) == 1 and isinstance(axes[0], (list, tuple)):
            axes = tuple(axes[0])
        return self.dimshuffle(*axes)

    def reshape(self, shape, ndim=None):
        return _tensor.basic.reshape(self, shape, ndim=ndim)

    def flatten(self, ndim=1):
        return _tensor.basic.flatten(self, ndim)

    def astype(self, dtype):
        return _tensor.basic.cast(self, dtype)

    def clip(self, a_min, a_max):
        return _tensor.basic.clip(self, a_min, a_max)

    def round(self, mode=None):
        return _tensor.basic.round(self, mode)

    def copy(self, name=None):
        out = _tensor.basic.tensor_copy(self)
        out.name = name
        return out

    # -- reductions (tjit/tensor/reduction.py) ----------------------------------
    def sum(self, axis=None, dtype=None, keepdims=False, acc_dtype=None):
        return _tensor.reduction.sum(self, axis, dtype=dtype, keepdims=keepdims,
                                     acc_dtype=acc_dtype)

    def prod(self, axis=None, dtype=None, keepdims=False, acc_dtype=None):
        return _tensor.reduction.prod(self, axis, dtype=dtype, keepdims=keepdims,
                                      acc_dtype=acc_dtype)

    def max(self, axis=None, keepdims=False):
        return _tensor.reduction.max(self, axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return _tensor.reduction.min(self, axis, keepdims=keepdims)

    def mean(self, axis=None, dtype=None, keepdims=False, acc_dtype=None):
        return _tensor.reduction.mean(self, axis, dtype=dtype, keepdims=keepdims,
                                      acc_dtype=acc_dtype)

    def var(self, axis=None, ddof=0, keepdims=False):
        return _tensor.reduction.var(self, axis, ddof=ddof, keepdims=keepdims)

    def std(self, axis=None, ddof=0, keepdims=False):
        return _tensor.reduction.std(self, axis, ddof=ddof, keepdims=keepdims)

    def all(self, axis=None, keepdims=False):
        return _tensor.reduction.all(self, axis, keepdims=keepdims)

    def argmax(self, axis=None, keepdims=False):
        return _tensor.reduction.argmax(self, axis, keepdims=keepdims)

    def argmin(self, axis=None, keepdims=False):
        return _tensor.reduction.argmin(self, axis, keepdims=keepdims)

    def ptp(self, axis=None, keepdims=False):
        return _tensor.reduction.ptp(self, axis, keepdims=keepdims)

    def any(self, axis=None, keepdims=False):
        return _tensor.reduction.any(self, axis, keepdims=keepdims)

    # -- linear algebra (tjit/tensor/blas.py) -------------------------------------
    def dot(self, o):
        return _tensor.blas.dot(self, o)

    def __rdot__(self, o):
        return _tensor.blas.dot(o, self)

    __dot__ = __matmul__ = dot  # Theano 1.0: x.dot(y), x.__dot__(y) and x @ y are T.dot
    __rmatmul__ = __rdot__

    # -- indexing, sorting and shape ops (subtensor.py, extra_ops.py) ------------
    def __getitem__(self, key):
        return _tensor.subtensor.getitem(self, key)

    def take(self, indices, axis=None, mode="raise"):
        return _tensor.extra_ops.take(self, indices, axis, mode)

    def sort(self, axis=-1, kind="quicksort", order=None):
        return _tensor.extra_ops.sort(self, axis, kind, order)

    def argsort(self, axis=-1, kind="quicksort", order=None):
        return _tensor.extra_ops.argsort(self, axis, kind, order)

    def cumsum(self, axis=None):
        return _tensor.extra_ops.cumsum(self, axis)

    def cumprod(self, axis=None):
        return _tensor.extra_ops.cumprod(self, axis)

    def repeat(self, repeats, axis=None):
        return _tensor.extra_ops.repeat(self, repeats, axis)

    def diagonal(self, offset=0, axis1=0, axis2=1):
        return _tensor.extra_ops.diagonal(self, offset, axis1, axis2)

    def nonzero(self, return_matrix=False):
        return _tensor.extra_ops.nonzero(self, return_matrix)

    def nonzero_values(self):
        return _tensor.extra_ops.nonzero_values(self)

    def eval(self, inputs_to_values=None):
        """Compute this variable's value; `inputs_to_values` maps input variables
        to values. The compiled function is cached on the variable."""
        # tjit.function compiles through every later stage, and they import this package
        from ..function import function
        inputs_to_values = inputs_to_values or {}
        keys = tuple(inputs_to_values)
        cache = self.__dict__.setdefault("_eval_cache", {})
        fn = cache.get(keys)
        if fn is None:
            fn = cache[keys] = function(list(keys), self, on_unused_input="ignore")
        return fn(*[inputs_to_values[k] for k in keys])


class TensorVariable(_TensorOps, Variable):
    """A symbolic tensor (a graph input, or an output of an Apply)."""


TensorType.variable_type = TensorVariable  # what TensorType(...)(name) makes


class TensorConstant(_TensorOps, Constant):
    """A tensor with a fixed value."""

    def __str__(self):
        if self.name is not None:
            return self.name
        return f"TensorConstant{{{_short_repr(self.data)}}}"

    def signature(self):
        return Constant.signature(self)


# -- constants -----------------------------------------------------------------
_AUTO_INT = ("int8", "int16", "int32", "int64")


def _autocast_dtype(x):
    """Theano's autocasting of Python numbers: the smallest int8..int64 that holds
    an int; for a float, floatX when it is float32, else the smallest of
    float32/float64 that holds it exactly."""
    if isinstance(x, bool):
        return "bool"
    if isinstance(x, int):
        for dt in _AUTO_INT:
            info = np.iinfo(dt)
            if info.min <= x <= info.max:
                return dt
        return "uint64" if 0 <= x <= np.iinfo("uint64").max else "float64"
    if isinstance(x, float):
        if config.floatX != "float64":
            return config.floatX
        # NaN != NaN: Theano's autocaster falls through to float64 for it
        # (compared as Python floats: NumPy 2 would compare in float32)
        with np.errstate(over="ignore"):
            return "float32" if float(np.float32(x)) == x else "float64"
    if isinstance(x, complex):
        return "complex128"
    return None


_SCALAR_CONSTANTS = {}  # (dtype, value bytes, ndim) -> TensorConstant, as Theano's cache
_SCALAR_CONSTANTS_MAX = 10_000  # bounded, as Theano's: a long-running process does not grow


def constant(x, name=None, ndim=None, dtype=None):
    """A TensorConstant holding `x` (dims of size 1 are broadcastable).

    Unnamed single-element constants are interned (the first 10,000 distinct
    ones), so `x * 2 + y * 2` holds one constant 2 and graphs need no merging of
    equal constants (the merge pass still merges those made past the bound)."""
    if dtype is None:
        dtype = _autocast_dtype(x)
    try:
        data = np.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as e:
        raise TypeError(f"cannot make a tensor constant from {type(x).__name__}: {e}") from None
    if data.dtype == object:
        raise TypeError(f"cannot make a tensor constant from {x!r}")
    if data.dtype.kind in "USV":
        raise TypeError(f"cannot make a tensor constant from a {data.dtype} value")
    if ndim is not None:
        if data.ndim > ndim:
            raise ValueError(f"constant of shape {data.shape} has more than {ndim} dims")
        data = data.reshape((1,) * (ndim - data.ndim) + data.shape)
    t = TensorType(data.dtype, tuple(s == 1 for s in data.shape))
    if name is None and data.size == 1 and data.ndim <= 4:
        key = (t, data.tobytes())
        c = _SCALAR_CONSTANTS.get(key)
        if c is None:
            c = TensorConstant(t, data)
            c.data.setflags(write=False)  # shared by every graph that uses it
            if len(_SCALAR_CONSTANTS) < _SCALAR_CONSTANTS_MAX:
                _SCALAR_CONSTANTS[key] = c
        return c
    return TensorConstant(t, data, name=name)


def as_tensor_variable(x, name=None, ndim=None):
    """`x` as a tensor Variable: variables pass through, numbers, lists and arrays
    become constants.

    With `ndim`, a variable with fewer dims gets leading broadcastable dims; one
    with more loses leading broadcastable dims (as Theano), and ValueError if the
    extra leading dims are not all broadcastable. Constants: ValueError when the
    value has more than `ndim` dims. TypeError for a non-tensor variable.
    """
    if isinstance(x, Variable):
        if not isinstance(x.type, TensorType):
            raise TypeError(f"{x} of type {x.type} is not a tensor")
        if ndim is not None and x.ndim != ndim:
            if x.ndim < ndim:
                return x.dimshuffle(*(["x"] * (ndim - x.ndim) + list(range(x.ndim))))
            # Theano strips every leading broadcastable dim, which can go below
            # ndim; only the extra ones are stripped here, so the result has ndim dims.
            extra = x.ndim - ndim
            if not all(x.broadcastable[:extra]):
                raise ValueError(f"TensorType could not be cast to have {ndim} dimensions: "
                                 f"{x} ({x.type}) has {x.ndim} dims and its {extra} "
                                 "leading ones are not all broadcastable")
            return x.dimshuffle(*range(extra, x.ndim))
        return x
    if isinstance(x, (list, tuple)) and any(isinstance(e, Variable) for e in _flat(x)):
        return _tensor.basic.stack([as_tensor_variable(e) for e in x])
    return constant(x, name=name, ndim=ndim)


def _flat(xs):
    for e in xs:
        if isinstance(e, (list, tuple)):
            yield from _flat(e)
        else:
            yield e


def _comparison(v):
    v.tag["comparison"] = True
    return v
