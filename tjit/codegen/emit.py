"""LLVM IR for a loop-IR `Kernel`: one walk (`tjit.codegen.walker`, which states
the ABI and what the caller must guarantee), two renderers behind it.

- `render_text.TextRenderer` (the default) writes the text directly (building
  llvmlite.ir objects and printing them costs ~4x as much Python time);
- `render_ir.IRRenderer` builds llvmlite.ir objects (kept to check that both
  spell the same instructions, and used for the level-3 kernels whose meta asks
  for an inlined math function or an interleave hint: softmax's rows).

Level 3 (FAST_RUN): multiversioned loops, math functions from the vector
library (`tjit.codegen.mathlib`), then LLVM's O3 pipeline. Level 0
(FAST_COMPILE): one loop version, math functions from the scalar library
(`tjit.codegen.mathlib_scalar`), no IR optimization.
"""
from __future__ import annotations

from tjit.codegen.render_text import TextRenderer


def emit_kernel(kernel, symbol=None, level=3, renderer=None) -> str:
    """LLVM IR text (unoptimized) of `kernel` at `level`, with the host triple and
    data layout; the entry function is named `symbol` (default: `kernel.name`).

    `renderer` overrides the renderer class (default: TextRenderer). Sets
    `kernel.meta["library functions"]`: the (name, dtype) math library
    functions the code calls.
    Raises TypeError on a node the walker does not know.
    """
    cls = renderer
    if cls is None:
        meta = kernel.meta
        needs_ir = level and (meta.get("inline_math") or meta.get("interleave"))
        cls = _ir_renderer() if needs_ir else TextRenderer
    walk = cls(kernel, symbol or kernel.name, level)
    text = walk.render()
    kernel.meta["library functions"] = walk.library_functions
    return text


def _ir_renderer():
    from tjit.codegen.render_ir import IRRenderer   # builds llvmlite.ir: imported when used
    return IRRenderer
