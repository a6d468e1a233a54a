"""Compiler-internal ops: the nodes rewrites create and users never build.

Each is a graph op like any other (type rule, NumPy reference `perform`); the fused
kinds are lowered to native kernels by `tjit.ir` lowerings registered against them.
"""
from .dot_shapes import DotShapes
from .fused_elemwise import FusedElemwise
from .fused_reduce import FusedReduce
from .fused_rowcol import FusedRowCol
from .fused_rows import FusedRows
from .matvec import MatVec
from .scalar_program import ScalarProgram, Step

__all__ = ["DotShapes", "FusedElemwise", "FusedReduce", "FusedRowCol", "FusedRows", "MatVec",
           "ScalarProgram", "Step"]
