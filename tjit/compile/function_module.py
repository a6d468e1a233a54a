"""Theano's `theano.compile.function_module` names: `Function` (the class of
compiled functions), the input errors, `orig_function`."""
from ..function import MissingInputError, UnusedInputError, function  # noqa: F401
from ..runtime.program import CompiledFunction as Function  # noqa: F401
from .io import convert_function_input  # noqa: F401

orig_function = function
__all__ = ["Function", "MissingInputError", "UnusedInputError", "function", "orig_function",
           "convert_function_input"]
