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


def target_machine(opt=3):
    """The host `TargetMachine` (JIT code model) for code-generation level `opt`
    (3: FAST_RUN; 0: FAST_COMPILE's fast instruction selection), created once."""
    with LLVM_LOCK:
        key = ("tm", opt)
        tm = _state.get(key)
        if tm is None:
            _initialize()
            triple, cpu, features = _host()
            target = llvm.Target.from_triple(triple)
            tm = target.create_target_machine(cpu=cpu, features=features, opt=opt, jit=True)
            _state[key] = tm
        return tm


def host_description():
    """A string naming triple, CPU and features: part of any cache key for object code."""
    with LLVM_LOCK:
        desc = _state.get("host")
        if desc is None:
            desc = _state["host"] = "%s/%s/%s" % _host()
        return desc


def _host():
    """(triple, CPU name, features), queried once (the features take a while)."""
    host = _state.get("host triple")
    if host is None:
        _initialize()
        host = _state["host triple"] = (llvm.get_process_triple(), llvm.get_host_cpu_name(),
                                        llvm.get_host_cpu_features().flatten())
    return host


def optimize(module, level=3):
    """Run the module pipeline over `module` in place: O3 with loop and SLP
    vectorization (level 3), a cheaper pipeline without vectorizers (1, 2), or
    nothing (0)."""
    if level == 0:
        return module
    with LLVM_LOCK:
        tm = target_machine()
        pto = llvm.create_pipeline_tuning_options(speed_level=level)
        pto.loop_vectorization = level >= 2
        pto.slp_vectorization = level >= 2
        pb = llvm.create_pass_builder(tm, pto)
        pb.getModulePassManager().run(module, pb)
    return module
