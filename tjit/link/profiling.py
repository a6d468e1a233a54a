"""The linker of a profiled function: the mode's linker, with every thunk wrapped
in a profiled one and the lowering and LLVM time of every node recorded (see
`tjit.runtime.profile_thunk`; the unprofiled linkers are untouched)."""
from __future__ import annotations

from time import perf_counter

from ..codegen import jit
from ..ir.lowering import lower
from ..runtime.native_thunk import NativeThunk
from ..runtime.perform_thunk import PerformThunk
from ..runtime.profile_thunk import ProfiledNativeThunk, ProfiledThunk
from .linker import extern


class ProfilingLinker:
    """Makes `inner`'s thunks (a NativeLinker or PyLinker), profiled into `profile`."""

    def __init__(self, inner, profile):
        self.inner = inner
        self.profile = profile
        self.native = inner.native
        self.level = inner.level
        self.mode = inner.mode

    def thunk(self, node):
        stats = self.profile.kernel(node)
        if not self.native:
            return ProfiledThunk(self.inner.thunk(node), stats)
        t0 = perf_counter()
        launch = lower(node.op, node, self.level)
        t1 = perf_counter()
        self.profile.add_compile("lowering", t1 - t0)
        if launch is not None:
            before = dict(jit.CACHE_COUNTS)
            native = jit.compile_kernel(launch.kernel, self.level)
            self.profile.add_compile("LLVM", perf_counter() - t1)
            for k, n in jit.CACHE_COUNTS.items():
                self.profile.cache[k] += n - before[k]
            stats.native = True
            return ProfiledNativeThunk(NativeThunk(launch, native), stats)
        thunk = extern(node.op, node, self)
        self.profile.add_compile("extern", perf_counter() - t1)
        return ProfiledThunk(thunk if thunk is not None else PerformThunk(node), stats)

    def __repr__(self):
        return f"ProfilingLinker({self.inner!r})"
