"""Function inputs and outputs with options (Theano's `theano.compile.io`):
`In(variable, name=None, value=None, update=None, ...)`, `Out(variable, borrow)`,
and the tuple shortcuts of Theano's old interface (`convert_function_input`)."""
from __future__ import annotations

from ..graph import Variable
from ..shared import Container, SharedVariable


class In:
    """An input of a function, with options (as Theano's `In`).

    value     default value: without `update` the input is optional and `value`
              is used when no argument is given; with `update` it is the initial
              state, replaced by `update`'s value after every call. A shared
              variable or a Container (`f.container[x]`) shares that storage.
              None: a required input.
    update    expression of the input's type computed by every call (from the
              values before the call) and stored as the input's new value.
    name      keyword of the input (default: the variable's name, if `autoname`).
    mutable   the function may overwrite the value (tjit never does; accepted).
    strict    a value must have exactly the input's type (no conversion).
    allow_downcast  convert values even when precision may be lost (None: only
              Python floats to floatX and exact conversions, as Theano).
    implicit  the caller may not give a value (default: True only when `value`
              is a Container or shared variable).
    """

    def __init__(self, variable, name=None, value=None, update=None, mutable=None,
                 strict=False, allow_downcast=None, autoname=True, implicit=None,
                 borrow=None, shared=False):
        if not isinstance(variable, Variable):
            raise TypeError(f"In() needs a symbolic variable, got {type(variable).__name__}")
        self.variable = variable
        self.name = variable.name if autoname and name is None else name
        if self.name is not None and not isinstance(self.name, str):
            raise TypeError(f"In(): name must be a string, got {self.name!r}")
        self.value = value
        self.update = update
        self.mutable = (update is not None) if mutable is None else mutable
        self.borrow = self.mutable if borrow is None else borrow
        if self.mutable and not self.borrow:
            raise ValueError(f"In({variable}): mutable=True needs borrow=True (a value the "
                             "function may overwrite may also be aliased)")
        self.strict = strict
        self.allow_downcast = allow_downcast
        self.shared = shared
        if implicit is None:
            implicit = isinstance(value, (Container, SharedVariable))
        self.implicit = implicit
        if implicit and value is None:
            raise TypeError(f"In({variable}): an implicit input must be given a value")

    @property
    def has_default(self):
        return self.value is not None

    def __str__(self):
        if self.update is not None:
            return f"In({self.variable} -> {self.update})"
        return f"In({self.variable})"

    __repr__ = __str__


class Out:
    """An output with options (`borrow`: returned arrays are never runtime buffers
    in tjit, so borrow only allows skipping a defensive copy)."""

    def __init__(self, variable, borrow=False):
        self.variable = variable
        self.borrow = borrow

    def __repr__(self):
        return f"Out({self.variable},{self.borrow})"


SymbolicInput = In
SymbolicOutput = Out


def convert_function_input(x):
    """`x` as an In, by Theano's rules:

    r                 -> In(r)
    (name, r)         -> In(r, name=name)
    (r, value)        -> In(r, value=value)
    ((r, up), value)  -> In(r, value=value, update=up)
    (name, r, value)  -> In(r, name=name, value=value)
    (name, (r, up), value) -> In(r, name=name, value=value, update=up)
    TypeError for anything else."""
    if isinstance(x, In):
        return x
    if isinstance(x, Variable):
        return In(x)
    if not isinstance(x, (list, tuple)) or len(x) not in (2, 3):
        raise TypeError(f"function inputs must be symbolic variables, In(...) or Theano's "
                        f"tuple shortcuts, got {type(x).__name__}: {x!r}")
    name = None
    if isinstance(x[0], str):
        name, x = x[0], x[1:]
        if len(x) == 1:
            x = (x[0], None)
    elif len(x) != 2:
        raise TypeError(f"function input {x!r}: a 3-tuple input is (name, variable, value)")
    target, value = x
    update = None
    if isinstance(target, (list, tuple)):
        if len(target) != 2:
            raise TypeError(f"function input {x!r}: expected (variable, update)")
        target, update = target
    if not isinstance(target, Variable):
        raise TypeError(f"function input {x!r}: {target!r} is not a symbolic variable")
    if isinstance(value, Variable) and not isinstance(value, SharedVariable):
        raise TypeError(f"function input {x!r}: a default value must be a value, "
                        f"got the symbolic {value}")
    return In(target, name=name, value=value, update=update)
