"""Profiles of compiled functions (Theano's ProfileStats, for tjit).

`tjit.function(..., profile=True)` or `tjit.config.profile = True` (TJIT_FLAGS=
"profile=True") compiles a function whose thunks are timed (see
`tjit.runtime.profile_thunk` and `tjit.link.profiling`); `f.profile` is its
`ProfileStats`: per kernel the calls, time, bytes read and written, GB/s and
GFLOP/s; the Python side's time (argument checks, thunks, update commits); and
the compile time by stage. `f.profile.summary()` prints the table. With
`config.profile` on, every profile is printed when the program exits.

Bandwidth: memory-bound kernels' GB/s are set against the machine's copy
bandwidth, `config.profile_bandwidth` GB/s when set, else measured once (a large
NumPy copy) and cached in `config.cache_dir`/bandwidth.json.
"""
from __future__ import annotations

import atexit
import json
import os
import platform
import sys
import time

import numpy as np

from .config import config

# kernels doing fewer flops per byte than this are memory-bound on any CPU tjit targets
MEMORY_BOUND_INTENSITY = 1.0
_KINDS = {"FusedElemwise": "elementwise", "FusedRows": "rows", "FusedReduce": "reduce",
          "MatVec": "matvec", "FusedRowCol": "rowcol", "RandomDraw": "random",
          "RandomDrawRange": "random",
          "Dot": "BLAS", "Gemm": "BLAS", "TensorDot": "BLAS"}
_SHAPE_ONLY = ("Shape", "Shape_i")
_AT_EXIT = []   # profiles printed when the program exits (config.profile)


def kernel_kind(node):
    """A short name of what runs `node` (the fused kind, BLAS, ...)."""
    return _KINDS.get(type(node.op).__name__, type(node.op).__name__)


def _nbytes(arrays):
    return sum(a.nbytes for a in arrays if isinstance(a, np.ndarray))


def _flop_rule(node):
    """flops(inputs, outputs) of one call of `node`, or None when unknown."""
    op = node.op
    name = type(op).__name__
    if name in ("Dot", "Gemm") or name == "MatVec":
        def products(ins, outs):
            # the left operand's last dim is the product's inner size
            if name == "MatVec":
                return 2 * ins[0].size
            a = ins[0] if name == "Dot" else ins[2]  # Gemm: z, alpha, x, y, beta
            inner = a.shape[-1] if getattr(a, "ndim", 0) else 1
            return 2 * outs[0].size * inner
        return products
    program = getattr(op, "program", None)
    if program is None:
        return None
    if name == "FusedRowCol":     # X.v and X^T.g (2 flops per element each), g per row
        def rowcol(ins, outs):
            return 4 * ins[0].size + len(program.steps) * len(ins[0])
        return rowcol
    steps = len(program.steps) + (1 if hasattr(op, "kind") or hasattr(op, "reductions") else 0)

    def per_element(ins, outs):
        n = max([a.size for a in list(ins) + list(outs) if isinstance(a, np.ndarray)] or [0])
        return steps * n
    return per_element


class KernelStats:
    """One node's thunk: calls, seconds, bytes read/written, flops."""

    def __init__(self, node, position):
        self.node = node
        self.position = position
        self.kind = kernel_kind(node)
        self.native = False
        self.calls = 0
        self.time = 0.0
        self.prepare_time = 0.0     # native: output allocation and params
        self.bytes_read = 0
        self.bytes_written = 0
        self.flops = 0
        self._flops = _flop_rule(node)
        # views and shape reads move no data: their bytes are not counted
        self.moves_data = not (getattr(node.op, "view_map", None)
                               or type(node.op).__name__ in _SHAPE_ONLY)

    def record(self, seconds, inputs, outputs):
        self.calls += 1
        self.time += seconds
        if self.moves_data:
            self.bytes_read += _nbytes(inputs)
            self.bytes_written += _nbytes(outputs)
        if self._flops is not None:
            self.flops += self._flops(inputs, outputs)

    @property
    def mean_time(self):
        return self.time / self.calls if self.calls else 0.0

    @property
    def gbs(self):
        return (self.bytes_read + self.bytes_written) / self.time / 1e9 if self.time else 0.0

    @property
    def gflops(self):
        return self.flops / self.time / 1e9 if self.time and self._flops else None

    @property
    def memory_bound(self):
        moved = self.bytes_read + self.bytes_written
        return self._flops is not None and self.kind != "BLAS" and moved > 0 and \
            self.flops / moved < MEMORY_BOUND_INTENSITY

    @property
    def label(self):
        return str(self.node.op)


class ProfileStats:
    """The profile of one compiled function (Theano's ProfileStats).

    calls, call_time (wall seconds inside calls), bind_time (argument checks and
    binding), run_time (the thunks), commit_time (update commits, output copies);
    kernels (KernelStats per node, in run order); compile_time {stage: seconds}
    (rewrites, lowering, LLVM, extern) and cache {memory, disk, built}: how many
    kernels came from the memory cache, the disk cache or were compiled."""

    def __init__(self, name=None, atexit_print=None):
        self.name = name
        self.calls = 0
        self.bind_time = self.run_time = self.commit_time = 0.0
        self.kernels = []
        self.compile_time = {}
        self.cache = {"memory": 0, "disk": 0, "built": 0}
        if atexit_print if atexit_print is not None else config.profile:
            _AT_EXIT.append(self)

    # -- recording (the linker and the profiled function call these) ----------------
    def kernel(self, node):
        k = KernelStats(node, len(self.kernels))
        self.kernels.append(k)
        return k

    def add_compile(self, stage, seconds):
        self.compile_time[stage] = self.compile_time.get(stage, 0.0) + seconds

    def record_call(self, bind, run, commit):
        self.calls += 1
        self.bind_time += bind
        self.run_time += run
        self.commit_time += commit

    # -- reading ------------------------------------------------------------------
    @property
    def call_time(self):
        return self.bind_time + self.run_time + self.commit_time

    @property
    def kernel_time(self):
        return sum(k.time for k in self.kernels)

    def summary(self, file=sys.stdout, n_kernels=20):
        """Print the profile: the function's calls and time split, compile time by
        stage, and the kernels sorted by time (Theano's ProfileStats.summary)."""
        text = self.format(n_kernels)
        if file == "str":
            return text
        file.write(text)
        return None

    def format(self, n_kernels=20):
        lines = [f"Function profile: {self.name or '<unnamed>'}",
                 f"  calls: {self.calls}   time in calls: {self.call_time:.6f} s"
                 + (f"   mean: {1e6 * self.call_time / self.calls:.1f} us" if self.calls else "")]
        if self.calls:
            t = self.call_time or 1.0
            other = self.run_time - self.kernel_time
            lines.append(f"  argument checks and binding {self.bind_time:.6f} s "
                         f"({100 * self.bind_time / t:.1f}%), thunks {self.run_time:.6f} s "
                         f"({100 * self.run_time / t:.1f}%; between thunks {max(other, 0):.6f}"
                         f" s), update commits and output copies {self.commit_time:.6f} s "
                         f"({100 * self.commit_time / t:.1f}%)")
            prep = sum(k.prepare_time for k in self.kernels)
            lines.append(f"  output allocation and params (inside native thunks): {prep:.6f} s")
        stages = ", ".join(f"{k} {1e3 * v:.1f} ms" for k, v in self.compile_time.items())
        lines.append(f"  compile: {stages or '-'}; kernels: {self.cache['memory']} from the "
                     f"memory cache, {self.cache['disk']} from the disk cache, "
                     f"{self.cache['built']} compiled")
        if not self.kernels:
            return "\n".join(lines) + "\n"
        bw = machine_bandwidth() if any(k.memory_bound and k.calls for k in self.kernels) \
            else None
        total = self.kernel_time or 1.0
        lines.append("")
        lines.append(f"  {'<% time>':>8} {'<sum %>':>8} {'<time s>':>10} {'<mean us>':>9} "
                     f"{'<calls>':>7} {'<MB rd>':>8} {'<MB wr>':>8} {'<GB/s>':>7} "
                     f"{'<% bw>':>6} {'<GFLOP/s>':>9} {'<kind>':<11} <node>")
        cumulative = 0.0
        ranked = sorted(self.kernels, key=lambda k: -k.time)
        for k in ranked[:n_kernels]:
            share = 100 * k.time / total
            cumulative += share
            gf = k.gflops
            pct = f"{100 * k.gbs / bw:5.0f}%" if bw and k.memory_bound and k.calls else "     -"
            lines.append(f"  {share:7.1f}% {cumulative:7.1f}% {k.time:10.6f} "
                         f"{1e6 * k.mean_time:9.1f} {k.calls:7d} {k.bytes_read / 1e6:8.2f} "
                         f"{k.bytes_written / 1e6:8.2f} {k.gbs:7.2f} {pct} "
                         f"{(f'{gf:9.2f}' if gf is not None else '        -')} "
                         f"{k.kind:<11} {k.position}: {_short(k.label)}")
        if len(ranked) > n_kernels:
            lines.append(f"  ... {len(ranked) - n_kernels} more kernels")
        if bw:
            lines.append(f"  % bw: memory-bound kernels' GB/s (bytes read + written) against "
                         f"the machine's copy bandwidth, {bw:.1f} GB/s")
        return "\n".join(lines) + "\n"

    def __str__(self):
        return self.format()


def _short(text, width=60):
    return text if len(text) <= width else text[:width - 3] + "..."


# -- the machine's memory bandwidth -------------------------------------------------
_BANDWIDTH = []


def machine_bandwidth():
    """GB/s of a large array copy (read + written bytes): `config.profile_bandwidth`
    when set, else measured once per machine and cached in the cache directory."""
    if config.profile_bandwidth > 0:
        return config.profile_bandwidth
    if _BANDWIDTH:
        return _BANDWIDTH[0]
    path = os.path.join(config.cache_dir, "bandwidth.json")
    machine = f"{platform.node()} {platform.machine()} {os.cpu_count()}"
    try:
        with open(path) as f:
            saved = json.load(f)
        if saved.get("machine") == machine:
            _BANDWIDTH.append(float(saved["GB/s"]))
            return _BANDWIDTH[0]
    except (OSError, ValueError, KeyError):
        pass
    value = measure_bandwidth()
    _BANDWIDTH.append(value)
    try:
        os.makedirs(config.cache_dir, exist_ok=True)
        with open(path, "w") as f:
            json.dump({"machine": machine, "GB/s": value}, f)
    except OSError:
        pass    # a read-only cache directory: measure again next time
    return value


def measure_bandwidth(megabytes=64, repeats=5):
    """GB/s of the best of `repeats` copies of a `megabytes` array (beyond caches)."""
    a = np.ones(megabytes * (1 << 20) // 8)
    b = np.empty_like(a)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.copyto(b, a)
        best = min(best, time.perf_counter() - t0)
    return 2 * a.nbytes / best / 1e9


def _print_at_exit():
    for p in _AT_EXIT:
        if p.calls or p.kernels:
            p.summary(file=sys.stderr)


atexit.register(_print_at_exit)

__all__ = ["ProfileStats", "KernelStats", "machine_bandwidth", "measure_bandwidth"]
