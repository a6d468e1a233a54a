"""TensorType(dtype, broadcastable): n-d arrays of one dtype, some dims known to be 1."""
from __future__ import annotations

import warnings

import numpy as np

from ..config import config
from ..graph import Type
from ..scalar import ALL_DTYPES
from .. import tensor as _tensor  # shape_ops (patternbroadcast) builds on this module


class TensorType(Type):
    """Arrays of `dtype` with `len(broadcastable)` dims; a True flag means that
    dim always has size 1 (and broadcasts against any size)."""

    # TensorVariable, which var.py defines on top of this class and installs here.
    variable_type = None

    def __init__(self, dtype, broadcastable, name=None):
        if dtype == "floatX":
            dtype = config.floatX
        elif type(dtype) is not str or dtype not in ALL_DTYPES:
            dtype = str(np.dtype(dtype))
        if dtype not in ALL_DTYPES:
            raise TypeError(f"unsupported dtype {dtype!r}; tjit supports {', '.join(ALL_DTYPES)}")
        self.dtype = dtype
        self.broadcastable = tuple(bool(b) for b in broadcastable)
        self.name = name

    @property
    def ndim(self):
        return len(self.broadcastable)

    def __eq__(self, other):
        return (type(other) is type(self) and other.dtype == self.dtype
                and other.broadcastable == self.broadcastable)

    def __hash__(self):
        return hash((TensorType, self.dtype, self.broadcastable))

    def __str__(self):
        if self.name:
            return self.name
        b = self.broadcastable
        named = {(): "scalar", (False,): "vector", (True, False): "row",
                 (False, True): "col", (False, False): "matrix"}
        if b in named:
            return f"TensorType({self.dtype}, {named[b]})"
        return f"TensorType({self.dtype}, {b})"

    __repr__ = __str__

    def make_variable(self, name=None):
        return self.variable_type(self, name=name)

    def clone(self, dtype=None, broadcastable=None):
        return TensorType(dtype or self.dtype,
                          self.broadcastable if broadcastable is None else broadcastable)

    def filter(self, value, strict=False, allow_downcast=None, name=None):
        """Convert `value` to an ndarray of this type, or raise TypeError.

        Without allow_downcast, only conversions that lose no precision are done
        (a Python float into float32 is allowed when floatX is float32, as Theano).
        """
        who = f"input {name!r}" if name else "value"
        if isinstance(value, np.ndarray) and value.dtype == self.dtype:
            arr = value
        elif strict:
            raise TypeError(f"{who}: expected an ndarray of dtype {self.dtype}, "
                            f"got {type(value).__name__}"
                            + (f" of dtype {value.dtype}" if hasattr(value, "dtype") else ""))
        else:
            arr = self._convert(value, allow_downcast, who)
        if arr.ndim != self.ndim:
            raise TypeError(f"{who}: wrong number of dimensions: expected {self.ndim} "
                            f"({self}), got {arr.ndim} (shape {arr.shape})")
        for axis, (b, n) in enumerate(zip(self.broadcastable, arr.shape)):
            if b and n != 1:
                raise ValueError(f"{who}: dimension {axis} is broadcastable in {self} "
                                 f"and must have size 1, got shape {arr.shape}")
        return arr

    def _convert(self, value, allow_downcast, who):
        try:
            arr = np.asarray(value)
        except Exception as e:  # ragged lists etc.
            raise TypeError(f"{who}: cannot convert {type(value).__name__} to an array: {e}")
        if arr.dtype == self.dtype:
            return arr
        if arr.dtype == object or arr.dtype.kind in "USVMm":
            raise TypeError(f"{who}: cannot convert {arr.dtype} data to {self.dtype}")
        if allow_downcast:
            return arr.astype(self.dtype)
        # Theano's rules: an array converts only to a dtype that holds all its
        # values; a Python float converts to floatX unless allow_downcast=False;
        # other Python numbers, lists and NumPy scalars convert when exact.
        if isinstance(value, np.ndarray):
            if np.can_cast(arr.dtype, self.dtype, "safe"):
                return arr.astype(self.dtype)
        elif allow_downcast is None and type(value) is float and self.dtype == config.floatX:
            return arr.astype(self.dtype)
        else:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
                converted = arr.astype(self.dtype)
            if np.array_equal(converted, arr, equal_nan=arr.dtype.kind in "fc"):
                return converted
        raise TypeError(
            f"{who}: {self} cannot store a value of dtype {arr.dtype} without "
            f"risking loss of precision; cast it first or pass allow_input_downcast=True")

    def convert_variable(self, var):
        """`var` if it can stand for this type (same dtype, compatible dims), else None."""
        t = var.type
        if (isinstance(t, TensorType) and t.dtype == self.dtype and t.ndim == self.ndim
                and all(sb <= vb for sb, vb in zip(self.broadcastable, t.broadcastable))):
            if t.broadcastable == self.broadcastable:
                return var
            return _tensor.shape_ops.patternbroadcast(var, self.broadcastable)
        return None

    def convert_or_raise(self, var, what, hint=""):
        """`convert_variable(var)`, or a TypeError naming `what` and both types."""
        converted = self.convert_variable(var)
        if converted is None:
            raise TypeError(f"{what} has type {var.type}, expected {self}{hint}")
        return converted

    def value_zeros(self, shape):
        return np.zeros(shape, dtype=self.dtype)
