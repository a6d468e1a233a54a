"""Shared variables: graph inputs whose value lives in the runtime between calls."""
from __future__ import annotations

import itertools
import threading

import numpy as np

from .tensor.type import TensorType
from .tensor.var import TensorVariable, as_tensor_variable


class Container:
    """Holds a shared variable's current value (an aligned ndarray of its type).

    `lock` serialises the calls of functions that update this value (see
    CompiledFunction); `order` is the global order in which locks are taken, so
    two functions touching the same variables can never deadlock."""

    __slots__ = ("value", "lock", "order")
    _count = itertools.count()

    def __init__(self, value):
        self.value = value
        self.lock = threading.RLock()
        self.order = next(Container._count)

    def __reduce__(self):
        # the value pickles; a lock and a lock order are the loading process's own
        return (Container, (self.value,))


class SharedVariable(TensorVariable):
    """A tensor variable with a value kept between function calls.

    get_value(borrow=False) returns a copy unless borrow=True; set_value(v,
    borrow=False) checks v against the variable's type (dtype, ndim) and copies
    it unless borrow=True. `default_update`, if set, is applied by every function
    using the variable (unless no_default_updates).
    """

    def __init__(self, type, value, name=None, borrow=False):
        super().__init__(type, name=name)
        self.container = Container(self._filter(value, borrow))
        self.default_update = None

    def _filter(self, value, borrow):
        who = self.name or "shared variable"
        arr = self.type.filter(value, allow_downcast=None, name=who)
        # Copy unless borrowed; a borrowed array must still be aligned for native code.
        if not borrow or not arr.flags.aligned:
            arr = np.array(arr, copy=True)
        return arr

    def get_value(self, borrow=False, return_internal_type=False):
        v = self.container.value
        return v if borrow else v.copy()

    def set_value(self, value, borrow=False):
        self.container.value = self._filter(value, borrow)

    @property
    def value(self):
        return self.get_value()

    def checked_update(self, value):
        """`value` (an expression or a number) as this variable's new value in
        `updates`; TypeError unless its dtype and number of dims match."""
        return self.type.convert_or_raise(
            as_tensor_variable(value), f"update of shared variable {self}",
            ": dtype and number of dims must match (cast the expression, e.g. "
            "T.cast(expr, shared.dtype))")

    def clone(self):
        c = SharedVariable(self.type, self.container.value, self.name, borrow=True)
        c.container = self.container
        return c

    def zero(self, borrow=False):
        self.container.value = np.zeros_like(self.container.value)


def shared(value, name=None, strict=False, allow_downcast=None, borrow=False,
           broadcastable=None):
    """A SharedVariable initialised with `value` (copied unless borrow=True).

    Python ints become int64, floats float64 (as NumPy); no dim is broadcastable
    unless `broadcastable` says so (as Theano).
    """
    if isinstance(value, TensorVariable):
        raise TypeError(f"shared() needs a value, got the symbolic variable {value}")
    arr = np.asarray(value)
    if arr.dtype == object or arr.dtype.kind in "USVMm":
        raise TypeError(f"shared(): cannot store a value of dtype {arr.dtype}")
    if broadcastable is None:
        broadcastable = (False,) * arr.ndim
    t = TensorType(arr.dtype, broadcastable)
    return SharedVariable(t, arr if isinstance(value, np.ndarray) else arr, name=name,
                          borrow=borrow and isinstance(value, np.ndarray))


def checked_update(target, value):
    """`value` as the new value of the shared variable `target` (the one check of
    function's and scan's `updates`); TypeError naming a target that is not one."""
    if not isinstance(target, SharedVariable):
        raise TypeError(f"update target {target} is not a shared variable")
    return target.checked_update(value)
