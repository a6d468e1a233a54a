"""The host target machine and the O3 optimization pipeline.

llvmlite is not thread safe: every use of `llvmlite.binding` in tjit goes through
`LLVM_LOCK`. The target machine is created once, lazily, for the host CPU (all
its features, so AVX-512 hosts get zmm code).
"""
from __future__ import annotations

import ctypes.util
import threading

import llvmlite.binding as llvm

LLVM_LOCK = threading.RLock()
_state = {}


def _initialize():
    """Initialize the native target once and make libm/libc symbols resolvable."""
    if _state.get("initialized"):
        return
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    # Generated code calls libm (exp, lgamma, ...) and LLVM may introduce libc
    # calls (memset, memcpy); the JIT resolves them from these libraries.
    for lib, soname in (("m", "libm.so.6"), ("c", "libc.so.6")):
        try:
            llvm.load_library_permanently(soname)   # glibc: no ldconfig lookup needed
        except RuntimeError:
            path = ctypes.util.find_library(lib)
            if path:
                llvm.load_library_permanently(path)
    _state["initialized"] = True


def target_machine():
    """The host `TargetMachine` (opt=3, JIT code model), created once."""
    with LLVM_LOCK:
        tm = _state.get("tm")
        if tm is None:
            _initialize()
            target = llvm.Target.from_triple(llvm.get_process_triple())
            tm = target.create_target_machine(
                cpu=llvm.get_host_cpu_name(),
                features=llvm.get_host_cpu_features().flatten(),
                opt=3, jit=True)
            _state["tm"] = tm
        return tm


def host_description():
    """A string naming triple, CPU and features: part of any cache key for object code."""
    with LLVM_LOCK:
        desc = _state.get("host")
        if desc is None:
            _initialize()
            desc = _state["host"] = "%s/%s/%s" % (
                llvm.get_process_triple(), llvm.get_host_cpu_name(),
                llvm.get_host_cpu_features().flatten())
        return desc


def optimize(module):
    """Run the O3 module pipeline (loop and SLP vectorization on) over `module` in place."""
    with LLVM_LOCK:
        tm = target_machine()
        pto = llvm.create_pipeline_tuning_options(speed_level=3)
        pto.loop_vectorization = True
        pto.slp_vectorization = True
        pb = llvm.create_pass_builder(tm, pto)
        pb.getModulePassManager().run(module, pb)
    return module
