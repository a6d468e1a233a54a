"""Tiered compilation: a FAST_RUN kernel runs level-0 code until its O3 code is built.

A FAST_RUN kernel that is in neither the in-process nor the on-disk object cache
and that is *eligible* (below) is compiled at level 0 (no IR passes, one loop
version, the scalar math library, fast instruction selection: a fifth of the
time), and its O3 build is queued on one background thread (`_worker`, a
daemon). When the O3 object is built it is stored in the disk cache, loaded, and
every function using the level-0 kernel switches to it: the thunks' `native` and
`cfunc` are replaced and the call plans and stub dropped
(`CompiledFunction.drop_plans`), so they are made again on the next call with the
new kernel. Nothing is checked per call. A call running on another thread keeps
the code it started with (thunks, plans and stubs hold their kernels, and a
kernel holds its engine); the level-0 kernel is dropped from the kernel cache,
so its machine code is freed with its last user. A call with at least
`native_thunk.TIER_WAIT_ELEMENTS` elements of work does not run level-0 code:
it waits for the O3 kernel to be built (`job.ready`) and runs that.

Eligibility is bit-identity: a user must never see other bits from call 1
(level 0) than from call 100 (O3), nor depend on the thread timing. Only
elementwise kernels (`ElemwiseLaunch`) qualify, and only if they are made of
loads, stores, loops, guards, checks and scalar ops (`_SAFE_NODES`): no
accumulation (`reassoc` reductions keep vector partial sums at O3 only; a float
`acc += a*b` is `llvm.fmuladd`, which LLVM may fuse or not per level: LLVM 20
and 22 fuse it at both levels on FMA targets, but nothing promises it), no local
buffers, and none of the meta hints that change code at
level 3 only (`inline_math`, `interleave`, `wide_math_loops`). Their scalar ops
use no fast-math flags, and the math library's scalar and vector variants are
built from one IR rule per lane, so both levels give the same bits
(`tests/test_tiered_compile.py` checks random graphs on host, x86-64-v3 and
x86-64). Everything else is compiled at O3 directly, as without tiering.

The background build takes `LLVM_LOCK` one stage at a time (emit and parse,
O3 passes, machine code, math library, load) and starts each once no
foreground compile (`foreground()`, around the linker's compiles) ran for
`QUIET` seconds (`foreground()` marks `tjit.function`'s compile and the
linker's compiles): functions compiled in a row and a function's first calls
go first, and a foreground compile waits at most for one stage.

At exit, an `atexit` hook lets the queued builds finish (at most `EXIT_WAIT`
seconds, without loading them) so the disk cache holds their O3 code and the
next process starts warm at O3. `tjit.config.tiered = False` (or
`TJIT_FLAGS=tiered=False`) turns tiering off; DebugMode, profiled functions and
level-0 modes never tier, and while `MAX_QUEUED` builds are queued (the
background thread is behind: no idle core) new kernels compile at O3
directly. Scan's native loop kernels and the kernels of extern
thunks (conv) compile at O3 directly; inner functions of ifelse and scan are
functions like any other and tier. `wait_for_tier_up()` waits for the pending
builds (tests, benchmarks).
"""
from __future__ import annotations

import atexit
import collections
import contextlib
import dataclasses
import logging
import os
import threading
import time
import weakref

from ..codegen import jit, mathlib, target as targets
from ..codegen import cache as object_cache
from ..codegen.target import LLVM_LOCK
from ..ir.lower_elemwise import ElemwiseLaunch
from ..ir.nodes import (Begin, Buffer, Cast, Check, Const, Contiguous, Dim, End, Guarded,
                        IntConst, IntOp, Kernel, Load, Op, Param, Range, Store, Var)

log = logging.getLogger("tjit.tiers")

EXIT_WAIT = 5.0         # seconds the exit hook waits for queued O3 builds
# A stage starts once no foreground compile ran for QUIET seconds (compiles in a
# row, a function's first calls: its first stage is Python, emitting the IR,
# which would take the interpreter from them), or after FOREGROUND_WAIT.
QUIET = 0.02
FOREGROUND_WAIT = 1.0
# Kernels tier while fewer O3 builds than this are queued; past it the
# background thread is behind (no idle core to build on), so level-0 code
# would only add work: the kernel compiles at O3 directly, as without tiering.
MAX_QUEUED = max(1, (os.cpu_count() or 2) - 1)

# kernel meta hints that change the code at level 3 only
_LEVEL3_HINTS = ("inline_math", "interleave", "wide_math_loops")
# the loop-IR nodes of kernels that give the same bits at both levels (any
# other, e.g. Accumulate, Local, or a node added later, makes a kernel ineligible)
_SAFE_NODES = (Buffer, Dim, IntConst, Param, IntOp, Begin, End, Var, Const, Load, Op, Cast,
               Store, Range, Check, Contiguous, Guarded)


def eligible(launch):
    """Whether `launch`'s kernel gives the same bits at level 0 and at O3 (see the
    module doc)."""
    if type(launch) is not ElemwiseLaunch:
        return False
    kernel = launch.kernel
    if any(kernel.meta.get(hint) for hint in _LEVEL3_HINTS):
        return False
    return _only_safe(kernel.body, set())


def _only_safe(node, seen):
    """Whether every loop-IR node in `node` (a node or a tuple of them) is one of
    `_SAFE_NODES` (shared subexpressions visited once)."""
    if id(node) in seen:
        return True
    seen.add(id(node))
    if isinstance(node, tuple):
        return all(_only_safe(n, seen) for n in node)
    if dataclasses.is_dataclass(node):
        return isinstance(node, _SAFE_NODES) and all(
            _only_safe(getattr(node, f.name), seen) for f in dataclasses.fields(node))
    return True


class TierUp:
    """One queued O3 build: `kernel`, for `target`, running as `quick` (level 0)
    meanwhile in `functions`; `native` is its O3 kernel once loaded."""

    def __init__(self, kernel, target, quick, key):
        self.kernel, self.target, self.quick, self.key = kernel, target, quick, key
        self.entry_key = object_cache.entry_key(jit._cache_text(kernel, 3), kernel.name)
        self.functions = weakref.WeakSet()
        self.native = None
        self.error = None
        self.done = threading.Event()      # built, and its functions switched
        self.ready = threading.Event()     # `native` set, or the build ended without it


_lock = threading.Lock()            # guards _jobs, _queue and the jobs' functions
_wake = threading.Condition(_lock)
_jobs = {}                          # memory key -> TierUp, until done
_failed = set()                     # memory keys whose O3 build failed
_queue = collections.deque()        # TierUps not done, oldest first
_state = {"worker": None, "exiting": False, "foreground": 0, "quiet_since": 0.0}
_idle = threading.Condition()       # guards the foreground count and time


@contextlib.contextmanager
def foreground():
    """Mark a foreground compile: the background build waits for it to end."""
    with _idle:
        _state["foreground"] += 1
    try:
        yield
    finally:
        with _idle:
            _state["foreground"] -= 1
            _state["quiet_since"] = time.monotonic()


def compile_fast_run(launch):
    """The NativeKernel a FAST_RUN thunk of `launch` starts with: the O3 kernel
    when cached or when the kernel is not eligible (compiled now), else level-0
    code, its O3 build queued."""
    kernel = launch.kernel
    with foreground():
        if jit.cached(kernel, 3) or not eligible(launch):
            return jit.compile_kernel(kernel, 3)
        key = jit.memory_key(kernel, 3)
        with _lock:
            job = _jobs.get(key)
            busy = len(_queue) >= MAX_QUEUED
        if job is not None:
            return job.quick
        if busy or key in _failed:
            return jit.compile_kernel(kernel, 3)
        # its own symbol: the level-0 and the O3 kernel share one engine
        quick = jit.compile_kernel(Kernel(kernel.name + "_t0", kernel.buffers, kernel.body,
                                          kernel.n_inputs, dict(kernel.meta), kernel.params), 0)
    with _lock:
        job = _jobs.get(key)
        if job is None:
            job = _jobs[key] = TierUp(kernel, targets.current(), quick, key)
            quick.tier_up = job
            _queue.append(job)
            _start_worker()
            _wake.notify()
    return job.quick


def attach(fn):
    """Switch `fn` (a CompiledFunction) to the O3 kernels of the tier-ups its
    thunks run level-0 code of, when each is built (now, if it already is); its
    copies too."""
    if getattr(fn.linker, "level", None) != 3:
        return      # a level-0 mode may share the level-0 kernel: it keeps it
    switch_now = []
    with _lock:
        for thunk in fn.thunks:
            job = getattr(getattr(thunk, "native", None), "tier_up", None)
            if job is None:
                continue
            fn.on_copy = attach
            if job.native is None:
                job.functions.add(fn)
                thunk.pending_tier_up = job     # a large call waits for the switch
            else:
                switch_now.append(job)
    for job in switch_now:
        _switch(fn, job.native)


def wait_for_tier_up(timeout=None):
    """Wait until every queued O3 build is done and its functions switched (at
    most `timeout` seconds); True if none is left."""
    deadline = None if timeout is None else time.monotonic() + timeout
    with _lock:
        pending = list(_queue)
    for job in pending:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        if not job.done.wait(left):
            return False
    return True


def pending():
    """How many O3 builds are queued or running."""
    with _lock:
        return len(_queue)


def _start_worker():
    """Start the background thread (call with _lock held)."""
    worker = _state["worker"]
    if worker is None or not worker.is_alive():
        worker = _state["worker"] = threading.Thread(target=_work, name="tjit-tier-up",
                                                     daemon=True)
        worker.start()


def _work():
    while True:
        with _lock:
            while not _queue:
                _wake.wait()
            job = _queue[0]
        try:
            _tier_up(job)
        except Exception as error:      # the function keeps its level-0 code
            job.error = error
            _failed.add(job.key)        # (the next compile at O3 raises it)
            log.warning("tier-up of kernel %s failed: %s", job.kernel.name, error)
        finally:
            with _lock:
                _queue.popleft()
                _jobs.pop(job.key, None)
                job.functions = weakref.WeakSet()
            job.ready.set()
            job.done.set()


@contextlib.contextmanager
def _stage(job):
    """One stage of a background build: after the foreground compiles, under
    LLVM_LOCK, for the job's target."""
    _wait_for_quiet()
    with LLVM_LOCK, targets.pinned(job.target):
        yield


def _wait_for_quiet():
    """Wait until no foreground compile ran for QUIET seconds (at most
    FOREGROUND_WAIT; not at exit)."""
    deadline = time.monotonic() + FOREGROUND_WAIT
    with _idle:
        while not _state["exiting"]:
            now = time.monotonic()
            left = QUIET - (now - _state["quiet_since"]) if not _state["foreground"] else QUIET
            if left <= 0 or now >= deadline:
                return
            _idle.wait(min(left, deadline - now))


class _LibraryStandin:
    """An engine for `mathlib.ensure_loaded` that loads nothing: the library's
    object is built (and cached) as a stage of its own, before the load."""

    def __init__(self):
        self.library = set()

    def add_object(self, object_code):
        pass


def _tier_up(job):
    object_code, llvm_ir = jit._build(job.kernel, job.kernel.name, 3,
                                      stage=lambda: _stage(job))
    object_cache.store(job.entry_key, object_code, llvm_ir)
    with _stage(job):
        mathlib.ensure_loaded(_LibraryStandin(), mathlib.variants_called(llvm_ir))
    if _state["exiting"]:
        return          # the disk cache holds it: the next process loads it
    with _stage(job):
        native = jit.compile_kernel(job.kernel, 3)      # from the disk cache
    with _lock:
        job.native = native
        functions = list(job.functions)
    job.ready.set()     # large calls run it now (NativeThunk.TIER_WAIT_ELEMENTS)
    for fn in functions:
        _switch(fn, native)
    quick, job.quick = job.quick, None     # (quick.tier_up stays: late attach calls)
    with _stage(job):
        jit.forget(quick, 0)


def _switch(fn, native):
    """Make `fn`'s thunks that run the level-0 code of `native`'s kernel run
    `native`; drop its call plans (they name the old kernels)."""
    for thunk in fn.thunks:
        quick = getattr(thunk, "native", None)
        job = getattr(quick, "tier_up", None)
        if job is not None and job.native is native:
            thunk.native = native
            thunk.cfunc = native.cfunc
            thunk.pending_tier_up = None
    fn.drop_plans()


def _at_exit():
    """Finish the queued builds (at most EXIT_WAIT seconds) into the disk cache;
    then keep LLVM_LOCK so that no stage runs while the process ends."""
    if not pending():
        return
    _state["exiting"] = True
    if not wait_for_tier_up(EXIT_WAIT):
        log.info("tjit: %d O3 builds not finished at exit", pending())
    LLVM_LOCK.acquire(timeout=EXIT_WAIT)


atexit.register(_at_exit)
