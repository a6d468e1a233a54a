"""Linking: from a rewritten graph's nodes to the thunks the runtime runs.

`NativeLinker(level)` lowers each node (`tjit.ir.lowering.lower`), compiles the
kernel at the mode's codegen level and wraps it in the runtime's one
`NativeThunk`; nodes with no lowering take an extern call (BLAS, control flow)
or the op's NumPy `perform`. `PyLinker` runs every node's `perform`.
"""
from .linker import NativeLinker, PyLinker, extern
from . import blas, control, conv  # noqa: F401,E402  (extern calls register themselves)

__all__ = ["NativeLinker", "PyLinker", "extern"]
