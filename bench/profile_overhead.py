"""Profiler overhead: the call time of the same functions compiled without and
with `profile=True`.

    python bench/profile_overhead.py [--repeats 7] [--calls 2000]

Unprofiled functions use the plain `CompiledFunction` and `NativeThunk` (the
profiled classes are chosen at link time), so "off" is the cost of tjit's call
path itself; "on" adds a few perf_counter reads and byte counts per kernel.
Prints one table of median microseconds per call.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import _harness as H


def cases(theano, T):
    x, y = T.dvectors("x", "y")
    w = theano.shared(np.zeros(10), name="w")
    small = (np.ones(10), np.ones(10))
    big = (np.ones(1_000_000), np.ones(1_000_000))
    return [
        ("1 kernel, 10 elements", dict(inputs=[x, y], outputs=T.exp(x) * y + 1.0), small),
        ("3 kernels + update, 10 el.",
         dict(inputs=[x, y], outputs=[T.exp(x) * y, (x * y).sum()],
              updates=[(w, w + x)]), small),
        ("1 kernel, 1e6 elements", dict(inputs=[x, y], outputs=T.exp(x) * y + 1.0), big),
    ]


def per_call(fs, args, calls, repeats):
    """Median seconds per call of each function in `fs`, measured interleaved (a
    shared, noisy machine slows both alike)."""
    for f in fs:
        for _ in range(10):
            f(*args)
    H.settle()
    times = [[] for _ in fs]
    for _ in range(repeats):
        for f, t in zip(fs, times):
            t0 = time.perf_counter()
            for _ in range(calls):
                f(*args)
            t.append((time.perf_counter() - t0) / calls)
    return [sorted(t)[len(t) // 2] for t in times]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--calls", type=int, default=2000)
    H.add_cpus_argument(p)
    ns = p.parse_args()
    theano, T = H.import_tjit()
    print(f"{'function':<30} {'cpu':<10} {'off us/call':>12} {'on us/call':>12} {'overhead':>10}")
    for cpu in ["host"] + H.other_cpus(theano, ns.cpus):
        for label, kw, args in cases(theano, T):
            calls = ns.calls if args[0].size < 1000 else max(ns.calls // 100, 5)
            with H.on_cpu(theano, cpu):
                fns = [theano.function(**kw), theano.function(profile=True, **kw)]
            off, on = per_call(fns, args, calls, ns.repeats)
            print(f"{label:<30} {cpu:<10} {1e6 * off:12.2f} {1e6 * on:12.2f} "
                  f"{1e6 * (on - off):+9.2f}us")


if __name__ == "__main__":
    main()
