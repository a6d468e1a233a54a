"""A compiled function's explicit inputs: how each is checked and converted
(InputSpec), where its value lives between calls (InputContainer), and Theano's
lookup of inputs by position, variable or name (`f[x]`, `f.value[x]`,
`f.container[x]`).
"""
from __future__ import annotations

import numpy as np

from ..shared import Container

_AMBIGUOUS = object()


class InputContainer(Container):
    """An input's value between calls: its default, or its state when the input
    has an update. Values stored here are converted to the input's type."""

    __slots__ = ("spec",)

    def __init__(self, spec, value=None):
        self.spec = spec
        super().__init__(value)

    @property
    def value(self):
        return Container.value.__get__(self)

    @value.setter
    def value(self, v):
        Container.value.__set__(self, None if v is None else self.spec.filter(v))

    def __reduce__(self):
        return (InputContainer, (self.spec, self.value))


class InputSpec:
    """How one explicit input is checked and converted, and where its value
    lives between calls.

    value     None (a required input), a Container (storage shared with a shared
              variable or another function's input) or a default value.
    stateful  the input has an update: its container keeps the updated value.
    implicit  a caller may not pass a value for it.
    key       the variable callers use to look the input up (the input's own
              variable unless function() cut the graph there).
    """

    def __init__(self, variable, name=None, value=None, allow_downcast=None, strict=False,
                 implicit=False, stateful=False, key=None):
        self.variable = variable
        self.key = variable if key is None else key
        self.name = name
        self.allow_downcast = allow_downcast
        self.strict = strict
        self.implicit = implicit
        self.stateful = stateful
        t = variable.type
        self.type = t
        self.dtype = np.dtype(t.dtype)
        self.ndim = t.ndim
        self.bc_axes = tuple(d for d, b in enumerate(t.broadcastable) if b)
        self.label = name or variable.name or None
        self.has_default = value is not None
        self.shares_storage = isinstance(value, Container)
        if self.shares_storage:
            if value.value is not None:
                self.filter(value.value)  # the storage must hold values of our type
            self.default = None
            self.container = value
        else:
            self.default = self.filter(value) if self.has_default else None
            self.container = InputContainer(self, self.default)
        # the default comes back after every call (f[x] = v lasts one call)
        self.refeed = self.has_default and not self.shares_storage and not stateful

    def filter(self, v):
        """`v` as an aligned ndarray of this input's type, or TypeError/ValueError."""
        a = v if type(v) is np.ndarray else np.asarray(v) if not isinstance(v, (list, tuple)) \
            else None
        if a is not None and a.dtype == self.dtype and a.ndim == self.ndim:
            for d in self.bc_axes:
                if a.shape[d] != 1:
                    break
            else:
                return a if a.flags.aligned else a.copy()
        a = self.type.filter(v, strict=self.strict, allow_downcast=self.allow_downcast,
                             name=self.label or str(self.variable))
        return a if a.flags.aligned else a.copy()

    def __getstate__(self):
        # pickled only as an InputContainer's filter: the container refers to us
        state = dict(self.__dict__)
        state.pop("container", None)
        return state

    def copy(self):
        """This spec with storage of its own (the same storage if it is shared
        with a shared variable or another function)."""
        new = object.__new__(InputSpec)
        new.__dict__.update(self.__dict__)
        if not self.shares_storage:
            v = self.container.value
            new.container = InputContainer(new, None if v is None else np.array(v, copy=True))
        return new

    def __str__(self):
        return f"input {self.label or self.variable}"


class InputFinder:
    """Theano's lookup of a function's inputs: by position, by variable, by name."""

    def __init__(self, specs):
        self.specs = specs
        self.by_var = {}
        self.by_name = {}
        for pos, spec in enumerate(specs):
            self.by_var[id(spec.key)] = pos
            self.by_var.setdefault(id(spec.variable), pos)
            if spec.name is not None:
                self.by_name[spec.name] = _AMBIGUOUS if spec.name in self.by_name else pos

    def position(self, key):
        """The position of the input `key` names; TypeError if none or several."""
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            if 0 <= key < len(self.specs):
                return int(key)
            raise TypeError(f"input position {key} out of range: the function has "
                            f"{len(self.specs)} inputs")
        pos = self.by_name.get(key) if isinstance(key, str) else self.by_var.get(id(key))
        if pos is _AMBIGUOUS:
            raise TypeError(f"Ambiguous name: {key} - several inputs of the function have "
                            "this name")
        if pos is None:
            raise TypeError(f"Unknown input or state: {key}. {self.describe()}")
        return pos

    def __contains__(self, key):
        try:
            self.position(key)
        except TypeError:
            return False
        return True

    def describe(self):
        named = [s.name for s in self.specs if s.name is not None]
        n_unnamed = len(self.specs) - len(named)
        text = f"The function has {len(named)} named input{'s' * (len(named) != 1)}"
        if named:
            text += f" ({', '.join(named)})"
        if n_unnamed:
            text += (f", and {n_unnamed} unnamed input{'s' * (n_unnamed != 1)} which thus "
                     "cannot be accessed through keyword argument (use 'name=...' in a "
                     "variable's constructor to give it a name)")
        return text + "."


class ValueView:
    """`f.value[key]`: the value an input holds between calls (read and write)."""

    def __init__(self, finder):
        self._finder = finder

    def __getitem__(self, key):
        return self._finder.specs[self._finder.position(key)].container.value

    def __setitem__(self, key, value):
        spec = self._finder.specs[self._finder.position(key)]
        spec.container.value = spec.filter(value)

    def __contains__(self, key):
        return key in self._finder


class ContainerView:
    """`f.container[key]`: the storage of an input (read only), to share it with
    another function: `In(x, value=f.container[x])`."""

    def __init__(self, finder):
        self._finder = finder

    def __getitem__(self, key):
        return self._finder.specs[self._finder.position(key)].container

    def __contains__(self, key):
        return key in self._finder
