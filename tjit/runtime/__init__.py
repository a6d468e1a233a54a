"""Run time: compiled-function objects, thunks, argument checks, update commits."""
from .program import CompiledFunction, InputSpec  # noqa: F401
from .thunks import make_thunk  # noqa: F401
