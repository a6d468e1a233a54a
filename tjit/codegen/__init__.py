"""Code generation: loop-IR `Kernel` -> LLVM IR -> machine code loaded in-process.

- `emit_kernel(kernel) -> str`: LLVM IR text (ABI and guarantees in `emit`).
- `compile_kernel(kernel) -> NativeKernel`: optimized, JIT-loaded, cached by IR.
- `scalar_ops`: the per-op LLVM builders (NumPy semantics); `target`: host machine.
"""
from tjit.codegen.jit import NativeKernel, compile_kernel


def __getattr__(name):
    # The IR emitter (llvmlite.ir and the op builders) is imported only when a
    # kernel is not in the compile cache.
    if name == "emit_kernel":
        from tjit.codegen.emit import emit_kernel
        return emit_kernel
    raise AttributeError(name)

__all__ = ["emit_kernel", "compile_kernel", "NativeKernel"]
