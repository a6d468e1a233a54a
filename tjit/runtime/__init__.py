"""Run time: compiled-function objects, thunks, buffers, threads, BLAS, shared state."""
from .program import CompiledFunction, InputSpec  # noqa: F401
