"""Profiled thunks and the profiled function: chosen at link time when a function
is compiled with `profile=True` (or `tjit.config.profile`), so the unprofiled call
path (`NativeThunk`, `CompiledFunction._call`) does no extra work at all.

Each profiled thunk adds its call's time, the bytes of its input and output arrays
and an estimate of its flops to its `KernelStats` (see `tjit.profiling`).
"""
from __future__ import annotations

from time import perf_counter

from .native_thunk import NativeThunk
from .program import CompiledFunction


class ProfiledNativeThunk(NativeThunk):
    """A NativeThunk whose calls are timed; the launch's `prepare` (output
    allocation, params) is timed apart from the kernel."""

    def __init__(self, thunk, stats):
        self.__dict__.update(thunk.__dict__)
        self.stats = stats
        self._launch_prepare = thunk.prepare
        self.prepare = self._timed_prepare

    def _timed_prepare(self, inputs, alloc):
        t0 = perf_counter()
        result = self._launch_prepare(inputs, alloc)
        self.stats.prepare_time += perf_counter() - t0
        return result

    def __call__(self, inputs):
        t0 = perf_counter()
        outputs = NativeThunk.__call__(self, inputs)
        self.stats.record(perf_counter() - t0, inputs, outputs)
        return outputs


class ProfiledThunk:
    """Any other thunk (extern calls, NumPy `perform`), timed as a whole."""

    def __init__(self, thunk, stats):
        self.thunk = thunk
        self.node = getattr(thunk, "node", None)
        self.stats = stats

    def __getattr__(self, name):    # native, launch, ...: the wrapped thunk's
        return getattr(self.__dict__["thunk"], name)

    def __call__(self, inputs):
        t0 = perf_counter()
        outputs = self.thunk(inputs)
        self.stats.record(perf_counter() - t0, inputs, outputs)
        return outputs


class ProfiledFunction(CompiledFunction):
    """A CompiledFunction whose calls record the Python side's time (argument
    checks and binding, the thunks, update commits and output copies) in
    `self.profile` (a `tjit.profiling.ProfileStats`)."""

    def _call(self, args, kwargs):
        t0 = perf_counter()
        storage = self._bind(args, kwargs)
        t1 = perf_counter()
        self._run_steps(storage)
        t2 = perf_counter()
        result = self._finish(storage)
        t3 = perf_counter()
        self.profile.record_call(t1 - t0, t2 - t1, t3 - t2)
        return result


__all__ = ["ProfiledNativeThunk", "ProfiledThunk", "ProfiledFunction"]
