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

# Every kernel kind's lowering registers itself with `tjit.ir.lowering.lower`.
from tjit.ir import lower_elemwise, lower_rowwise  # noqa: E402,F401
from tjit.ir import lower_random, lower_rowcol  # noqa: E402,F401
from tjit.ir import reduce_launch, lower_matvec  # noqa: E402,F401
from tjit.ir import lower_conv  # noqa: E402,F401
from tjit.ir import lower_pool  # noqa: E402,F401
