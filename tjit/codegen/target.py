"""The target machine (`tjit.config.cpu`) and the O3 optimization pipeline.

llvmlite is not thread safe: every use of `llvmlite.binding` in tjit goes through
`LLVM_LOCK`. `tjit.config.cpu` names the machine code is generated for:

- `host` (default): the host CPU and all its features (AVX-512 hosts get zmm code);
- `x86-64`, `x86-64-v2`, `-v3`, `-v4`: the psABI levels, with exactly their
  features (SSE2 baseline; SSE4.2; AVX2 + FMA; AVX-512), for code that must run on
  laptops, CI runners and old servers alike;
- any other LLVM CPU name for the host's architecture (`skylake`, `znver2`, ...),
  with the features LLVM gives that CPU.

Code can be built for any of them (`target_machine`, `tjit.codegen.jit.build_object`),
but only code the host can execute is loaded: `check_runnable` raises instead of
letting the process die of an illegal instruction.
"""
from __future__ import annotations

import contextlib
import ctypes.util
import dataclasses
import hashlib
import marshal
import os
import tempfile
import threading

import llvmlite
import llvmlite.binding as llvm

from ..config import config

LLVM_LOCK = threading.RLock()
_state = {}

# The x86-64 psABI levels, each adding to the one before (LLVM's feature names).
_LEVELS = (("x86-64", "cmov cx8 fxsr mmx sse sse2"),
           ("x86-64-v2", "cx16 popcnt sahf sse3 sse4.1 sse4.2 ssse3"),
           ("x86-64-v3", "avx avx2 bmi bmi2 f16c fma lzcnt movbe xsave"),
           ("x86-64-v4", "avx512bw avx512cd avx512dq avx512f avx512vl"))
LEVEL_FEATURES = {}
for _k, (_name, _added) in enumerate(_LEVELS):
    LEVEL_FEATURES[_name] = tuple(sorted({f for _, a in _LEVELS[:_k + 1] for f in a.split()}))


@dataclasses.dataclass(frozen=True)
class Target:
    """What code is generated for: `name` is the flag value; `features` the
    explicit LLVM feature string ('' where the CPU name implies them)."""
    name: str
    triple: str
    cpu: str
    features: str

    @property
    def description(self):
        """triple/CPU/features: part of every cache key for object code."""
        return f"{self.triple}/{self.cpu}/{self.features}"


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


def _host():
    """(triple, CPU name, features), queried once per process. The queries need
    no initialized target: a process that only loads cached code never
    initializes one (`tjit.codegen.elf_loader`)."""
    host = _state.get("host triple")
    if host is None:
        host = _state["host triple"] = _stored_host()
    return host


def _cpu_fingerprint():
    """What identifies this CPU to LLVM's host query, or None: Linux's first
    /proc/cpuinfo block (vendor, family, model, stepping, microcode and the
    flags the kernel enabled: a CPU, VM or boot option exposing other
    features has other flags) without its varying lines (MHz...)."""
    try:
        with open("/proc/cpuinfo", "rb") as f:
            block = f.read().split(b"\n\n", 1)[0]
    except OSError:
        return None
    lines = [ln for ln in block.splitlines()
             if not ln.startswith((b"cpu MHz", b"bogomips", b"BogoMIPS"))]
    return b"\n".join(lines) if lines else None


def _stored_host():
    """LLVM's answer for this CPU, kept in the cache dir by its fingerprint and
    llvmlite's version: the features query costs ~0.5 ms of a warm process's
    ~4 (`bench/compile.py`), the file read ~0.05."""
    fingerprint = _cpu_fingerprint()
    if fingerprint is None:
        return _query_host()
    tag = hashlib.sha256(fingerprint + b"\0" + llvmlite.__version__.encode()).hexdigest()[:24]
    path = os.path.join(config.cache_dir, f"host-{tag}.bin")
    try:
        with open(path, "rb") as f:
            found = marshal.loads(f.read())
        if type(found) is tuple and len(found) == 3 and all(type(v) is str for v in found):
            return found
    except Exception:  # missing, corrupt, another Python's: asked again
        pass
    found = _query_host()
    try:
        os.makedirs(config.cache_dir, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=config.cache_dir, prefix=".tmp-host-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(marshal.dumps(found))
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:     # a read-only cache dir: asked again next process
        pass
    return found


def _query_host():
    return (llvm.get_process_triple(), llvm.get_host_cpu_name(),
            llvm.get_host_cpu_features().flatten())


def host_features():
    """{feature: bool} of the host CPU, as LLVM reports them (a copy)."""
    found = _state.get("host features")
    if found is None:
        with LLVM_LOCK:
            flags = _host()[2]
        found = _state["host features"] = {f[1:]: f[0] == "+" for f in flags.split(",") if f}
    return dict(found)


def resolve(name):
    """The `Target` for a `tjit.config.cpu` value; ValueError on a name LLVM does
    not know for the host's architecture."""
    with LLVM_LOCK:
        triple, cpu, features = _host()
        if name == "host":
            return Target("host", triple, cpu, features)
        if name in LEVEL_FEATURES:
            return Target(name, triple, name, ",".join("+" + f for f in LEVEL_FEATURES[name]))
        if ("known cpu", triple, name) not in _state:
            _check_cpu_name(triple, name)
            _state[("known cpu", triple, name)] = True
        return Target(name, triple, name, "")


def _check_cpu_name(triple, name):
    """LLVM only warns (on stderr) about a CPU it does not know, then aborts the
    process when generating code: ask it here, with its stderr captured."""
    _initialize()
    unknown = not name or name != name.strip()
    target = llvm.Target.from_triple(triple)
    with _captured_stderr() as err:
        target.create_target_machine(cpu=name, features="", opt=0, jit=True)
        unknown = unknown or "not a recognized processor" in err.text()
    if unknown:
        levels = ", ".join(LEVEL_FEATURES)
        raise ValueError(f"unknown CPU {name!r}: LLVM does not know it for {triple} "
                         f"(use 'host', {levels} or an LLVM CPU name such as 'haswell')")


class _Captured:
    def __init__(self, f):
        self.f = f

    def text(self):
        self.f.seek(0)
        return self.f.read().decode(errors="replace")


@contextlib.contextmanager
def _captured_stderr():
    """File descriptor 2 redirected to a temporary file (LLVM writes there directly)."""
    with tempfile.TemporaryFile() as f:
        saved = os.dup(2)
        try:
            os.dup2(f.fileno(), 2)
            yield _Captured(f)
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def current():
    """The `Target` code is generated for now: the one `pinned` by the compile in
    progress, else `tjit.config.cpu`'s."""
    pinned = _state.get("pinned")
    if pinned is not None:
        return pinned
    from ..config import config     # config imports nothing of codegen
    return resolve(config.cpu)


@contextlib.contextmanager
def pinned(target):
    """Generate for `target` inside the block (call with LLVM_LOCK held: one
    compile at a time, so a flag changed meanwhile by another thread cannot
    mix two targets in one kernel)."""
    old = _state.get("pinned")
    _state["pinned"] = target
    try:
        yield target
    finally:
        _state["pinned"] = old


def target_machine(opt=3, target=None):
    """The `TargetMachine` (JIT code model) of `target` (default `current()`) for
    code-generation level `opt` (3: FAST_RUN; 0: FAST_COMPILE's fast instruction
    selection), created once per target and level."""
    with LLVM_LOCK:
        target = target or current()
        key = ("tm", target, opt)
        tm = _state.get(key)
        if tm is None:
            tm = _state[key] = new_target_machine(target, opt)
        return tm


def new_target_machine(target, opt=3, generic=False):
    """A fresh `TargetMachine` for `target` (an MCJIT engine takes ownership of
    the one it is given, so each engine needs its own). `generic`: the triple's
    generic CPU, for an engine that only loads object code (its machine never
    generates code; without the host's long feature list it is cheaper to make)."""
    with LLVM_LOCK:
        _initialize()
        if target.triple != _host()[0]:
            llvm.initialize_all_targets()
            llvm.initialize_all_asmprinters()
        cpu, features = ("", "") if generic else (target.cpu, target.features)
        return llvm.Target.from_triple(target.triple).create_target_machine(
            cpu=cpu, features=features, opt=opt, jit=True)


def host_description():
    """The current target's triple/CPU/features: part of any cache key for object code."""
    return current().description


# What a CPU named by LLVM can do, read from the code LLVM generates for it (no
# API reports a named CPU's features): feature -> (probe IR, what its assembly shows).
_PROBES = {
    "avx512f": ("define <16 x float> @p(<16 x float> %a) {\n  %b = fadd <16 x float> %a, %a\n"
                "  ret <16 x float> %b\n}", "zmm"),
    "avx2": ("define <8 x i32> @p(<8 x i32> %a) {\n  %b = add <8 x i32> %a, %a\n"
             "  ret <8 x i32> %b\n}", "vpaddd\t%ymm"),
    "avx": ("define <8 x float> @p(<8 x float> %a) {\n  %b = fadd <8 x float> %a, %a\n"
            "  ret <8 x float> %b\n}", "ymm"),
    "fma": ("declare double @llvm.fma.f64(double, double, double)\ndefine double @p(double %a) {"
            "\n  %b = call double @llvm.fma.f64(double %a, double %a, double %a)\n"
            "  ret double %b\n}", "vfmadd"),
    "sse4.1": ("declare double @llvm.floor.f64(double)\ndefine double @p(double %a) {\n"
               "  %b = call double @llvm.floor.f64(double %a)\n  ret double %b\n}", "round"),
}


def required_features(target):
    """The host features code for `target` may use (those LLVM can report)."""
    if target.name == "host":
        return ()
    if target.name in LEVEL_FEATURES:
        return LEVEL_FEATURES[target.name]
    with LLVM_LOCK:
        found = _state.get(("probed", target))
        if found is None:
            tm = target_machine(0, target)
            found = tuple(f for f, (ir, mark) in _PROBES.items()
                          if mark in tm.emit_assembly(llvm.parse_assembly(ir)))
            _state[("probed", target)] = found
        return found


def check_runnable(target):
    """Raise RuntimeError unless the host can execute code built for `target`
    (its triple and every feature it may use)."""
    host = host_features()
    triple = _host()[0]
    if target.triple != triple:
        raise RuntimeError(f"tjit.config.cpu={target.name!r} targets {target.triple}; this "
                           f"host is {triple}: its code can be built, not run here")
    missing = [f for f in required_features(target) if host.get(f, True) is False]
    if missing:
        raise RuntimeError(
            f"tjit.config.cpu={target.name!r} generates code using {', '.join(missing)}, "
            f"which this CPU ({_host()[1]}) does not have: running it would crash the "
            "process (illegal instruction). Build objects for it with "
            "tjit.codegen.jit.build_object, or set cpu=host to run here.")


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
        # A fresh PassBuilder each run: llvmlite registers the run's (stack-local)
        # instrumentation callbacks in the builder, so a reused one would call
        # dangling callbacks on its next run.
        pb = llvm.create_pass_builder(tm, pto)
        mpm = pb.getModulePassManager()
        try:
            mpm.run(module, pb)
        finally:
            dispose_pass_manager(mpm)
    return module


def dispose_pass_manager(pm):
    """Free a new-pass-manager pipeline now. llvmlite (0.47-0.50) never does:
    `ModulePassManager(ObjectRef, NewPassManager)` inherits ObjectRef's no-op
    `_dispose` ahead of NewPassManager's, so every pipeline built (~30 KB; ~100 KB
    once its O3 passes have run) would stay allocated for the life of the process.
    What remains is llvmlite's ~1 KB a PassBuilder (its instrumentation callbacks
    are never deleted)."""
    if type(pm)._dispose is llvm.ffi.ObjectRef._dispose:
        llvm.newpassmanagers.NewPassManager._dispose(pm)
        pm.detach()
    else:       # a llvmlite whose pass managers dispose of themselves
        pm.close()
