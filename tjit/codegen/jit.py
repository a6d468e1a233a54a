"""Compile a `Kernel` to machine code and load it into the process.

All kernels live in one MCJIT engine. Compiled kernels are cached in memory by
the kernel's canonical text (so an identical kernel compiles once per process)
and on disk (tjit.codegen.cache), so it compiles once per machine.
"""
from __future__ import annotations

import ctypes
import logging
import time

import llvmlite.binding as llvm
import numpy as np

from tjit.codegen import cache as object_cache, mathlib, mathlib_scalar
from tjit.codegen.emit import emit_kernel
from tjit.codegen.target import LLVM_LOCK, optimize, target_machine
from tjit.ir.serialize import serialize

log = logging.getLogger("tjit.codegen")
_engine = None
_cache = {}         # canonical kernel text -> NativeKernel
_symbols = set()    # entry names already loaded into the engine


class NativeKernel:
    """A compiled kernel.

    The hot path is `cfunc(*arrays, *params, begin, end) -> int`: arrays are the
    kernel's buffers in order (inputs then outputs) as ndarrays, params one int
    per `kernel.params` (int64); the call releases the GIL. It returns 0, or the
    code of the first failed `Check` (see `kernel.meta['checks']`). The caller
    must guarantee what `tjit.codegen.emit` states (dtype, ndim, alignment,
    outputs fresh and not aliasing inputs).
    """

    def __init__(self, kernel, llvm_ir, object_code, address, compile_seconds):
        self.kernel = kernel
        self.llvm_ir = llvm_ir                  # optimized IR text
        self.object_code = object_code          # bytes, for an on-disk cache
        self.address = address
        self.compile_seconds = compile_seconds
        n, k = len(kernel.buffers), len(kernel.params)
        prototype = ctypes.CFUNCTYPE(ctypes.c_int32, *([ctypes.py_object] * n),
                                     *([ctypes.c_int64] * (k + 2)))
        self.cfunc = prototype(address)
        self._asm = None

    def __call__(self, *args, begin=0, end=2 ** 62):
        """Run on `args`: the arrays (inputs then outputs), then one int per
        `kernel.params`, after checking what the ABI assumes (ndarray, dtype,
        ndim, alignment, writeable outputs, int64 params); returns the kernel's
        status code. Raises TypeError/ValueError instead of crashing."""
        buffers, params = self.kernel.buffers, self.kernel.params
        if len(args) != len(buffers) + len(params):
            raise TypeError("kernel %s takes %d arrays and %d int params, got %d arguments"
                            % (self.kernel.name, len(buffers), len(params), len(args)))
        arrays, values = args[:len(buffers)], args[len(buffers):]
        for param, value in zip(params, values):
            if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)):
                raise TypeError("kernel %s: param %s must be an int, got %r"
                                % (self.kernel.name, param.name, type(value)))
            if not -2 ** 63 <= int(value) < 2 ** 63:
                raise ValueError("kernel %s: param %s = %d is out of int64 range"
                                 % (self.kernel.name, param.name, value))
        for k, (buffer, array) in enumerate(zip(buffers, arrays)):
            if type(array) is not np.ndarray or array.dtype != buffer.dtype \
                    or array.ndim != buffer.ndim or not array.flags.aligned:
                raise TypeError("kernel %s: argument %s must be an aligned %s ndarray of "
                                "ndim %d, got %r" % (self.kernel.name, buffer.name, buffer.dtype,
                                                     buffer.ndim, type(array)))
            if k >= self.kernel.n_inputs and not array.flags.writeable:
                raise ValueError("kernel %s: output %s is read-only"
                                 % (self.kernel.name, buffer.name))
        return self.cfunc(*arrays, *(int(v) for v in values), begin, end)

    @property
    def asm(self):
        """Assembly text of the optimized module (computed on first use)."""
        if self._asm is None:
            with LLVM_LOCK:
                module = llvm.parse_assembly(self.llvm_ir)
                self._asm = target_machine().emit_assembly(module)
        return self._asm

    def __repr__(self):
        return "<NativeKernel %s at 0x%x>" % (self.kernel.name, self.address)


# compile_kernel's outcomes so far (profiles report cache hits per function)
CACHE_COUNTS = {"memory": 0, "disk": 0, "built": 0}


def compile_kernel(kernel, level=3) -> NativeKernel:
    """Emit, verify, optimize and load `kernel`, or load its object code from the
    on-disk cache; cached in memory by the kernel's canonical text.

    `level` 3 is the full O3 pipeline with vectorization; level 0 (FAST_COMPILE)
    no IR optimization, one version of each loop, the scalar math library and
    fast instruction selection.

    Raises RuntimeError if LLVM rejects the generated IR (a codegen bug).
    """
    start = time.perf_counter()
    # Kernels lowered from graph nodes carry a key of their structure; others are
    # identified by their canonical text.
    text = kernel.meta.get("cache_key")
    if not text:
        text = serialize(kernel)
    elif kernel.params:     # the signature: a structure key need not name them
        text += "\nparams " + " ".join(p.name for p in kernel.params)
    if level != 3:
        text = f"level {level}\n{text}"
    with LLVM_LOCK:
        cached = _cache.get(text)
        if cached is not None:
            CACHE_COUNTS["memory"] += 1
            return cached
        symbol = kernel.name
        if symbol in _symbols:      # another kernel of the same name is loaded
            symbol = "%s.%d" % (kernel.name, len(_symbols))
        key = object_cache.entry_key(text, symbol)
        entry = object_cache.load(key)
        if entry is None:
            CACHE_COUNTS["built"] += 1
            object_code, llvm_ir = _build(kernel, symbol, level)
            object_cache.store(key, object_code, llvm_ir)
        else:
            CACHE_COUNTS["disk"] += 1
            object_code, llvm_ir = entry
        engine = _shared_engine(level)
        library = mathlib_scalar if level == 0 else mathlib
        used = kernel.meta.get("library functions")     # set by emit_kernel
        library.ensure_loaded(engine, mathlib.functions_used(kernel) if used is None else used)
        engine.add_object_file(llvm.ObjectFileRef.from_data(object_code))
        engine.finalize_object()
        address = engine.get_function_address(symbol)
        if not address:
            raise RuntimeError("kernel %s: symbol %s not found after loading"
                               % (kernel.name, symbol))
        _symbols.add(symbol)
        native = NativeKernel(kernel, llvm_ir, object_code, address,
                              time.perf_counter() - start)
        native.from_disk_cache = entry is not None
        log.debug("kernel %s: %s in %.1f ms", kernel.name,
                  "loaded from the disk cache" if entry is not None else "compiled",
                  1e3 * native.compile_seconds)
        _cache[text] = native
        return native


def _build(kernel, symbol, level=3):
    """(object code, optimized IR text) of `kernel` under the name `symbol`."""
    t0 = time.perf_counter()
    source = emit_kernel(kernel, symbol, level)
    t1 = time.perf_counter()
    try:
        module = llvm.parse_assembly(source)
        module.verify()
    except RuntimeError as error:
        raise RuntimeError("invalid LLVM IR for kernel %s: %s\n%s"
                           % (kernel.name, error, source)) from None
    t2 = time.perf_counter()
    optimize(module, level)
    t3 = time.perf_counter()
    obj = target_machine(3 if level >= 2 else 0).emit_object(module)
    log.debug("kernel %s: emit %.1f ms, parse %.1f ms, optimize %.1f ms, machine code %.1f ms",
              kernel.name, 1e3 * (t1 - t0), 1e3 * (t2 - t1), 1e3 * (t3 - t2),
              1e3 * (time.perf_counter() - t3))
    # level 0 runs no pass: the module is the source (printing it again costs)
    return obj, source if level == 0 else str(module)


def _shared_engine(level=3):
    global _engine
    if _engine is None:
        # it only links object code: any of our target machines will do (the
        # one of the first kernel's level is created already)
        _engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""),
                                             target_machine(3 if level else 0))
    return _engine
