"""Run time: compiled-function objects, thunks, buffers, threads, BLAS, shared state."""
from .inputs import InputSpec  # noqa: F401
from .program import CompiledFunction  # noqa: F401
