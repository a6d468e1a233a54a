"""Shared helpers for the benchmarks: timing, result checks, peer detection, tables.

Not part of the tjit package; imported by the scripts in bench/ (and examples/).
"""
from __future__ import annotations

import gc
import importlib
import importlib.util
import os
import statistics
import sys
import time

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PEERS = ("pytensor", "jax", "numba")

WRONG = "WRONG"


def import_tjit():
    """Import the tjit of the checkout these scripts live in (so a bench run in a
    worktree measures that tree, not whichever tjit is installed)."""
    if REPO_ROOT not in sys.path:
        sys.path.insert(0, REPO_ROOT)
    import tjit  # noqa: F401
    import tjit.tensor  # noqa: F401
    return sys.modules["tjit"], sys.modules["tjit.tensor"]


def add_cpus_argument(ap, default="host,x86-64-v3"):
    """The --cpus option every benchmark takes: tjit.config.cpu values compared side by side."""
    ap.add_argument("--cpus", default=default,
                    help="tjit.config.cpu values whose tjit columns are printed side by side")


def other_cpus(tjit, cpus):
    """The non-host CPUs of the comma-separated `cpus` this tree can target (the
    `cpu` flag exists), else []: the extra tjit columns a table prints."""
    try:
        with tjit.config.change_flags(cpu="host"):
            pass
    except Exception:       # no cpu flag in this tree: host only
        return []
    return [c for c in cpus.split(",") if c and c != "host"]


def split_cpu(impl):
    """'tjit @x86-64-v3' -> ('tjit', 'x86-64-v3'); 'tjit' -> ('tjit', '')."""
    name, _, cpu = impl.partition(" @")
    return name, cpu


def on_cpu(tjit, cpu):
    """A context in which tjit compiles for `cpu` ('' or 'host': the host)."""
    return tjit.config.change_flags(cpu=cpu or "host")


def installed_peers(names=PEERS):
    """The peers among `names` that are importable (found, without importing them)."""
    return [n for n in names if importlib.util.find_spec(n) is not None]


def settle():
    """Wait for tjit's pending tier-ups (FAST_RUN first runs level-0 code while
    its O3 code is built in the background: tjit/link/tiers.py), so that timed
    runs after the warm-up measure the steady state, the O3 code."""
    tiers = sys.modules.get("tjit.link.tiers")
    if tiers is not None:
        tiers.wait_for_tier_up()


def median_time(fn, repeats=7, warmup=1):
    """Median wall time of `fn()` in seconds, over `repeats` runs after `warmup`
    runs (and tjit's tier-ups: `settle`)."""
    for _ in range(warmup):
        fn()
    settle()
    times = []
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    finally:
        if gc_was_enabled:
            gc.enable()
    return statistics.median(times)


def median_time_per_call(fn, calls=20000, repeats=7, warmup=1000):
    """Median over `repeats` batches of the mean time of one `fn()` call, in
    seconds (after `warmup` calls and tjit's tier-ups: `settle`)."""
    for _ in range(warmup):
        fn()
    settle()
    times = []
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(calls):
                fn()
            times.append((time.perf_counter() - t0) / calls)
    finally:
        if gc_was_enabled:
            gc.enable()
    return statistics.median(times)


def tolerances(dtype):
    dt = np.dtype(dtype)
    if dt == np.float32:
        return dict(rtol=1e-4, atol=1e-5)
    return dict(rtol=1e-7, atol=1e-9)


def same(result, expected, dtype=None):
    """True when `result` matches the NumPy reference `expected` (shape and values)."""
    try:
        r = np.asarray(result)
        e = np.asarray(expected)
    except Exception:
        return False
    if r.shape != e.shape:
        return False
    return bool(np.allclose(r, e, **tolerances(dtype or e.dtype)))


def fmt(value, scale):
    """Format a time in seconds (or a marker string) for a table cell."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    v = value * scale
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    if v >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def print_table(header, rows, out=sys.stdout):
    """Print a plain-text table: `header` is a list of names, `rows` lists of strings."""
    widths = [len(h) for h in header]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    align_left = {0, 1, 2}

    def line(cells):
        parts = []
        for i, cell in enumerate(cells):
            parts.append(cell.ljust(widths[i]) if i in align_left else cell.rjust(widths[i]))
        return "  ".join(parts).rstrip()

    print(line(header), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for row in rows:
        print(line(row), file=out)


class Skips:
    """Remembers why an implementation was skipped; prints each reason once."""

    def __init__(self):
        self.seen = set()

    def note(self, impl, exc, context=""):
        msg = f"{type(exc).__name__}: {exc}".splitlines()[0]
        if len(msg) > 160:
            msg = msg[:157] + "..."
        if context:
            msg += f" [{context}]"
        key = (impl, msg)
        if key not in self.seen:
            self.seen.add(key)
            print(f"[skip] {impl}: {msg}", file=sys.stderr, flush=True)
