"""LLVM IR for a loop-IR `Kernel`: one walk (`tjit.codegen.walker`, which states
the ABI and what the caller must guarantee), two renderers behind it.

- level 3 (FAST_RUN): `render_ir.IRRenderer` builds llvmlite.ir objects; math
  functions are the vector library's (`tjit.codegen.mathlib`).
- level 0 (FAST_COMPILE): `render_text.TextRenderer` writes the text directly
  (for compile time); one loop version, math functions from the scalar library
  (`tjit.codegen.mathlib_scalar`).
"""
from __future__ import annotations

from tjit.codegen.render_ir import IRRenderer
from tjit.codegen.render_text import TextRenderer


def emit_kernel(kernel, symbol=None, level=3, renderer=None) -> str:
    """LLVM IR text (unoptimized) of `kernel` at `level`, with the host triple and
    data layout; the entry function is named `symbol` (default: `kernel.name`).

    `renderer` overrides the renderer class (default: TextRenderer at level 0,
    else IRRenderer). Sets `kernel.meta["library functions"]`: the (name, dtype)
    math library functions the code calls, which `compile_kernel` loads.
    Raises TypeError on a node the walker does not know.
    """
    cls = renderer or (TextRenderer if level == 0 else IRRenderer)
    walk = cls(kernel, symbol or kernel.name, level)
    text = walk.render()
    kernel.meta["library functions"] = walk.library_functions
    return text
