"""Compile a `Kernel` to machine code and load it into the process.

Kernels are loaded into engines, a few dozen per engine (`Engine`: tjit's ELF
loader, or LLVM's MCJIT for objects it does not handle): the machine code of an
engine is freed when the last kernel loaded into it is dropped (each
`NativeKernel`, and its `cfunc`, keeps its engine alive), so a long-running
process that compiles and drops functions does not grow without bound.
Compiled kernels are cached in memory by the target and the kernel's canonical
text (an identical kernel compiles once per process; least recently used ones
are dropped past `tjit.config.kernel_cache_mb`) and on disk (tjit.codegen.cache),
so it compiles once per machine.
"""
from __future__ import annotations

import collections
import contextlib
import ctypes
import logging
import os
import time
import weakref

import llvmlite.binding as llvm
import numpy as np

from tjit.codegen import cache as object_cache, elf_loader, mathlib, mathlib_scalar, \
    target as targets
from tjit.codegen.emit import emit_kernel
from tjit.codegen.target import LLVM_LOCK, optimize, target_machine
from tjit.config import config
from tjit.ir.serialize import serialize

log = logging.getLogger("tjit.codegen")


class NativeKernel:
    """A compiled kernel.

    The hot path is `cfunc(*arrays, *params, begin, end) -> int`: arrays are the
    kernel's buffers in order (inputs then outputs) as ndarrays, params one int
    per `kernel.params` (int64); the call releases the GIL. It returns 0, or the
    code of the first failed `Check` (see `kernel.meta['checks']`). The caller
    must guarantee what `tjit.codegen.emit` states (dtype, ndim, alignment,
    outputs fresh and not aliasing inputs).
    """

    def __init__(self, kernel, llvm_ir, object_code, address, compile_seconds, engine=None):
        self.kernel = kernel
        self.engine = engine                    # keeps the machine code loaded
        self.llvm_ir = llvm_ir                  # optimized IR text
        self.object_code = object_code          # bytes, for an on-disk cache
        self.address = address
        self.compile_seconds = compile_seconds
        n, k = len(kernel.buffers), len(kernel.params)
        prototype = ctypes.CFUNCTYPE(ctypes.c_int32, *([ctypes.py_object] * n),
                                     *([ctypes.c_int64] * (k + 2)))
        self.cfunc = prototype(address)
        self.cfunc.engine = engine              # whoever holds cfunc holds the code
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
                tgt = self.engine.target if self.engine is not None else None
                self._asm = target_machine(3, tgt).emit_assembly(module)
        return self._asm

    @property
    def nbytes(self):
        """Bytes this kernel holds in the in-process cache (object code and IR)."""
        return len(self.object_code) + len(self.llvm_ir)

    def __repr__(self):
        return "<NativeKernel %s at 0x%x>" % (self.kernel.name, self.address)


# compile_kernel's outcomes so far (profiles report cache hits per function)
CACHE_COUNTS = {"memory": 0, "disk": 0, "built": 0}


class Engine:
    """One engine of `target`: the kernels and math library objects loaded into
    it. Holds at most `KERNELS` kernels; then `engine_for` starts another, so
    that dropping old kernels can free their engine's machine code.

    `ee` loads the objects and finds their symbols (`get_function_address`):
    tjit's ELF loader (`elf_loader.ObjectImages`: no LLVM initialized, no
    engine built; what a warm process needs), or, with `mcjit` (an object that
    loader does not handle) or off x86-64 Linux, an LLVM MCJIT engine."""
    KERNELS = 48

    def __init__(self, target, mcjit=False):
        self.target = target
        self.mcjit = mcjit or not target.triple.startswith("x86_64") \
            or "linux" not in target.triple
        if self.mcjit:
            # The engine takes ownership of its target machine: a fresh one
            # each. Only object code is ever added: the empty module MCJIT must
            # start with is taken out again, so no finalize runs the code
            # generator (its first run in a process costs ~1 ms).
            empty = llvm.parse_assembly("")
            self.ee = llvm.create_mcjit_compiler(
                empty, targets.new_target_machine(target, 0, generic=True))
            self.ee.remove_module(empty)
        else:
            self.ee = elf_loader.ObjectImages()
        self.symbols = set()        # entry names loaded (one definition each)
        self.library = set()        # math library code loaded: ("s", name, dtype) scalar
                                    # library, ("m", name, dtype, variant) vector library
        self.kernels = 0
        # disposed by a later compile, under LLVM_LOCK (llvmlite is not thread safe)
        weakref.finalize(self, _released.append, self.ee)

    def add_object(self, object_code):
        """Load `object_code`; raises elf_loader.Unsupported (having loaded
        nothing) if tjit's loader does not handle it: load it into an MCJIT
        engine instead."""
        if self.mcjit:
            self.ee.add_object_file(llvm.ObjectFileRef.from_data(object_code))
            self.ee.finalize_object()
        else:
            self.ee.add_object(object_code)


_engines = {}           # target -> the engine new kernels go into
_released = []          # engines nobody uses any more, to dispose of
_loads = collections.Counter()      # how many engines each target has had (for tests)


def engine_for(target, fresh=False, mcjit=False):
    """The engine the next kernel of `target` is loaded into (a new one, an
    MCJIT engine if `mcjit`, if `fresh`). Call with LLVM_LOCK held."""
    engine = _engines.get(target)
    if engine is None or engine.kernels >= Engine.KERNELS or fresh:
        engine = _engines[target] = Engine(target, mcjit)
        _loads[target] += 1
    return engine


def free_released():
    """Dispose of the engines no kernel uses any more: their machine code is freed."""
    with LLVM_LOCK:
        while _released:
            _released.pop().close()


class KernelCache(collections.OrderedDict):
    """Compiled kernels by key, least recently used dropped first once their
    bytes pass `tjit.config.kernel_cache_mb`."""

    def __init__(self):
        super().__init__()
        self.nbytes = 0

    def get(self, key, default=None):
        found = super().get(key, default)
        if found is not default:
            self.move_to_end(key)
        return found

    def __setitem__(self, key, native):
        if key in self:
            self.nbytes -= self[key].nbytes
        super().__setitem__(key, native)
        self.nbytes += native.nbytes
        limit = config.kernel_cache_mb * 1e6
        while self.nbytes > limit and len(self) > 1:
            _, dropped = self.popitem(last=False)
            self.nbytes -= dropped.nbytes

    def clear(self):
        super().clear()
        self.nbytes = 0


_cache = KernelCache()      # target, level and kernel text -> NativeKernel


def _cache_text(kernel, level):
    """The text naming `kernel` compiled at `level` (without its target)."""
    # Kernels lowered from graph nodes carry a key of their structure; others are
    # identified by their canonical text.
    text = kernel.meta.get("cache_key")
    if not text:
        text = serialize(kernel)
    elif kernel.params:     # the signature: a structure key need not name them
        text += "\nparams " + " ".join(p.name for p in kernel.params)
    if level != 3:
        text = f"level {level}\n{text}"
    return text


def compile_kernel(kernel, level=3) -> NativeKernel:
    """Emit, verify, optimize and load `kernel` for `tjit.config.cpu`, or load its
    object code from the on-disk cache; cached in memory by target and the
    kernel's canonical text.

    `level` 3 is the full O3 pipeline with vectorization; level 0 (FAST_COMPILE)
    no IR optimization, one version of each loop, the scalar math library and
    fast instruction selection.

    Raises RuntimeError if LLVM rejects the generated IR (a codegen bug), or if
    the host cannot execute code for the configured CPU (instead of crashing).
    """
    start = time.perf_counter()
    text = _cache_text(kernel, level)
    with LLVM_LOCK:
        free_released()
        tgt = targets.current()
        memory_key = f"{tgt.description}\n{text}"
        cached = _cache.get(memory_key)
        if cached is not None:
            CACHE_COUNTS["memory"] += 1
            return cached
        targets.check_runnable(tgt)
        with targets.pinned(tgt):
            symbol = kernel.name
            # A name loaded before (the kernel was dropped from this cache, or
            # another has its name) goes into a new engine: the symbol, and so
            # the disk entry, stays the kernel's own.
            engine = engine_for(tgt, fresh=symbol in engine_for(tgt).symbols)
            key = object_cache.entry_key(text, symbol)
            entry = object_cache.load(key)
            if entry is None:
                CACHE_COUNTS["built"] += 1
                object_code, llvm_ir = _build(kernel, symbol, level)
                object_cache.store(key, object_code, llvm_ir)
            else:
                CACHE_COUNTS["disk"] += 1
                object_code, llvm_ir = entry
            try:
                _load(engine, kernel, level, object_code, llvm_ir)
            except elf_loader.Unsupported as e:
                log.debug("kernel %s: loaded by MCJIT (%s)", kernel.name, e)
                engine = engine_for(tgt, fresh=True, mcjit=True)
                _load(engine, kernel, level, object_code, llvm_ir)
            address = engine.ee.get_function_address(symbol)
        if not address:
            raise RuntimeError("kernel %s: symbol %s not found after loading"
                               % (kernel.name, symbol))
        engine.symbols.add(symbol)
        engine.kernels += 1
        native = NativeKernel(kernel, llvm_ir, object_code, address,
                              time.perf_counter() - start, engine)
        native.from_disk_cache = entry is not None
        log.debug("kernel %s: %s in %.1f ms", kernel.name,
                  "loaded from the disk cache" if entry is not None else "compiled",
                  1e3 * native.compile_seconds)
        _cache[memory_key] = native
        return native


def memory_key(kernel, level=3):
    """The in-process cache's key of `kernel` at `level` for the current target."""
    return f"{targets.current().description}\n{_cache_text(kernel, level)}"


def cached(kernel, level=3):
    """Whether `compile_kernel(kernel, level)` would load the kernel (from this
    process's cache, or an entry in the disk cache) instead of building it."""
    if memory_key(kernel, level) in _cache:
        return True
    text = _cache_text(kernel, level)
    return os.path.exists(object_cache.entry_path(object_cache.entry_key(text, kernel.name)))


def forget(native, level):
    """Drop `native` (compiled at `level`) from the in-process cache, so its
    machine code is freed once nobody else holds it (a tiered kernel's level-0
    code once its O3 code replaced it)."""
    with LLVM_LOCK:
        key = memory_key(native.kernel, level)
        if _cache.get(key) is native:
            del _cache[key]
            _cache.nbytes -= native.nbytes


def _load(engine, kernel, level, object_code, llvm_ir):
    """Load the kernel's object code and the math library code it calls into `engine`."""
    if level == 0:
        used = kernel.meta.get("library functions")     # set by emit_kernel
        mathlib_scalar.ensure_loaded(engine, mathlib.functions_used(kernel)
                                     if used is None else used)
    elif engine.mcjit:      # only the variants the optimized code calls
        mathlib.ensure_loaded(engine, mathlib.variants_called(llvm_ir))
    else:                   # the same, read from the object's symbols (cheaper)
        object_code = elf_loader.ObjectFile(object_code)
        mathlib.ensure_loaded(engine, mathlib.variants_named(object_code.undefined()))
    engine.add_object(object_code)


def build_object(kernel, level=3, target=None):
    """(object code, optimized LLVM IR) of `kernel` for `target` (a
    `tjit.codegen.target.Target`; default: `tjit.config.cpu`'s), built but not
    loaded: any target LLVM knows, runnable here or not. The entry is `kernel.name`."""
    with LLVM_LOCK:
        with targets.pinned(target or targets.current()):
            return _build(kernel, kernel.name, level)


def _build(kernel, symbol, level=3, stage=contextlib.nullcontext):
    """(object code, optimized IR text) of `kernel` under the name `symbol`.

    Its three steps (emit and parse, IR passes, machine code) each run inside
    `stage()`: a background build (tjit.link.tiers) takes LLVM_LOCK per step."""
    with stage():
        t0 = time.perf_counter()
        source = emit_kernel(kernel, symbol, level)
        t1 = time.perf_counter()
        try:
            # its own context: the global one keeps every type and constant a
            # module ever named (memory that a long-running process never gets back)
            module = llvm.parse_assembly(source, context=llvm.create_context())
            module.verify()
        except RuntimeError as error:
            raise RuntimeError("invalid LLVM IR for kernel %s: %s\n%s"
                               % (kernel.name, error, source)) from None
        t2 = time.perf_counter()
    with stage():
        t3 = time.perf_counter()
        optimize(module, level)
        t4 = time.perf_counter()
    with stage():
        t5 = time.perf_counter()
        obj = target_machine(3 if level >= 2 else 0).emit_object(module)
        # level 0 runs no pass: the module is the source (printing it again costs)
        text = source if level == 0 else str(module)
        del module
    log.debug("kernel %s: emit %.1f ms, parse %.1f ms, optimize %.1f ms, machine code %.1f ms",
              kernel.name, 1e3 * (t1 - t0), 1e3 * (t2 - t1), 1e3 * (t4 - t3),
              1e3 * (time.perf_counter() - t5))
    return obj, text
