"""Theano's `theano.compile` import paths: function, pfunc, In, Out, shared,
Mode, get_mode, get_default_mode, the `mode`, `io` and `sharedvalue` modules,
SharedVariable, `function_module.Function`."""
import importlib

from . import io, mode, sharedvalue  # noqa: F401
from .io import In, Out, SymbolicInput, SymbolicOutput  # noqa: F401
from .mode import (DebugMode, FAST_COMPILE, FAST_RUN, Mode, get_default_mode,  # noqa: F401
                   get_mode, predefined_modes)
from ..shared import SharedVariable, shared  # noqa: F401
from ..runtime.debug import DebugModeError  # noqa: F401
from ..link.tiers import wait_for_tier_up  # noqa: F401  (tjit's own: tiered FAST_RUN)

__all__ = ["io", "mode", "sharedvalue", "In", "Out", "SymbolicInput", "SymbolicOutput", "DebugMode",
           "FAST_COMPILE", "FAST_RUN", "Mode", "get_default_mode", "get_mode",
           "predefined_modes", "SharedVariable", "shared", "DebugModeError", "function",
           "pfunc", "function_dump", "UnusedInputError", "MissingInputError",
           "function_module", "wait_for_tier_up"]
_FROM_FUNCTION = ("function", "pfunc", "function_dump", "UnusedInputError",
                  "MissingInputError")


def __getattr__(name):
    # tjit.function imports this package (io, mode), so what it defines is
    # looked up when asked for, not imported while this package loads.
    if name in _FROM_FUNCTION:
        # (tjit.function, the attribute, is the function; the module is this one)
        return getattr(importlib.import_module("tjit.function"), name)
    if name == "function_module":
        return importlib.import_module("tjit.compile.function_module")
    raise AttributeError(f"module 'tjit.compile' has no attribute {name!r}")
