"""Code generation: loop-IR `Kernel` -> LLVM IR -> machine code loaded in-process.

- `emit_kernel(kernel) -> str`: LLVM IR text (one walker, `walker`; two
  renderers, `render_ir` and `render_text`).
- `compile_kernel(kernel) -> NativeKernel`: optimized, JIT-loaded, cached by IR.
- `scalar_ops`: the per-op LLVM builders (NumPy semantics); `target`: host machine.
"""
from tjit.codegen.emit import emit_kernel
from tjit.codegen.jit import NativeKernel, compile_kernel

__all__ = ["emit_kernel", "compile_kernel", "NativeKernel"]
