"""The loop-level IR: nodes (`nodes`), lowering of elementwise kernels (`lower`),
and a printer (`printer`)."""
from tjit.ir.lower import elementwise_kernel, outer_extent
from tjit.ir.nodes import (SCALAR_OPS, Buffer, Cast, Check, Const, Contiguous, Dim, Guarded,
                           IntConst, IntOp, Kernel, Load, Op, Range, Store, Var, range_to,
                           split_range)
from tjit.ir.printer import format_kernel

__all__ = ["SCALAR_OPS", "Buffer", "Cast", "Check", "Const", "Contiguous", "Dim", "Guarded",
           "IntConst", "IntOp", "Kernel", "Load", "Op", "Range", "Store", "Var", "range_to",
           "split_range", "elementwise_kernel", "outer_extent", "format_kernel"]
