"""Soak test: the reliability checks of issue 14 in bounded time, as a table.

    python bench/soak.py [--functions 2000] [--calls 100000] [--threads 8] [--quick]
                         [--checks calls,compiles,threads,cache,targets] [--cpus host,x86-64-v3]

Not a test (it asserts nothing); it prints what a long-running process sees:
- calls: one function called in a loop; RSS growth and time per call, first
  tenth vs last tenth (drift);
- compiles: --functions distinct functions compiled, called once and dropped, in
  FAST_COMPILE and FAST_RUN, for each of --cpus (kernel cache bounded by
  --kernel-cache-mb, a scratch disk cache); RSS growth per function from when
  the kernel cache is full (or over the second half of the cycles, whichever
  is longer: any growth there is a leak) and the compile-time drift;
- threads: one function with a shared-variable update called from several
  threads (lost updates), and one without updates (wrong results);
- cache: a fresh cache directory whose entries are truncated, bit-flipped and
  swapped with each other, then used by new processes (entries rebuilt, crashes);
- targets: one graph per kernel kind compiled for x86-64 and x86-64-v3, results
  against the host's (largest relative difference).

The memory-per-compile table alone: `python bench/soak.py --checks compiles`.
"""
from __future__ import annotations

import argparse
import gc
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

import _harness as H
from _harness import REPO_ROOT, import_tjit

theano, T = import_tjit()
from tjit.codegen import jit  # noqa: E402


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def drift(times):
    """(first tenth, last tenth) mean of `times`, in ms."""
    k = max(1, len(times) // 10)
    return 1e3 * np.mean(times[:k]), 1e3 * np.mean(times[-k:])


def soak_calls(n):
    x, y = T.dvectors("x", "y")
    f = theano.function([x, y], [T.tanh(x) * y + 1.0, (x * y).sum()])
    v = np.linspace(-1, 1, 64)
    times = []
    gc.collect()
    start = rss_mb()
    for _ in range(n):
        t = time.perf_counter()
        f(v, v)
        times.append(time.perf_counter() - t)
    gc.collect()
    first, last = drift(times)
    return [("calls", f"{n}", f"{(rss_mb() - start) * 1e3 / n:.3f} KB/call",
             f"{1e3 * first:.1f} -> {1e3 * last:.1f} us/call")]


def _distinct_graph(k, x, y):
    e = x
    for bit in range(12):
        e = e + y if (k >> bit) & 1 else e * y
    return T.exp(e) if k & 4096 else e


def soak_compiles(n, mode, cpu="host"):
    x, y = T.dvectors("x", "y")
    v = np.linspace(0.5, 1.5, 9)
    # measured from when the kernel cache is full (it grows until then), but
    # over at least the second half of the cycles
    half, full, start = n // 2, 0.9e6 * theano.config.kernel_cache_mb, None
    times = []
    with H.on_cpu(theano, cpu):
        for k in range(n):
            if start is None and (k == half or k >= n // 4 and jit._cache.nbytes > full):
                gc.collect()
                jit.free_released()
                start, half = rss_mb(), k
            t = time.perf_counter()
            f = theano.function([x, y], _distinct_graph(k, x, y), mode=mode)
            f(v, v)
            times.append(time.perf_counter() - t)
            del f
    gc.collect()
    jit.free_released()
    grown = (rss_mb() - start) * 1e3 / (n - half)
    first, last = drift(times)
    where = f" @{cpu}" if cpu != "host" else ""
    return [(f"compile-call-drop ({mode}{where})", f"{n}",
             f"{grown:.1f} KB/function over cycles {half}-{n} (kernel cache "
             f"{len(jit._cache)} kernels, {jit._cache.nbytes / 1e6:.1f} MB)",
             f"{first:.1f} -> {last:.1f} ms/compile")]


def soak_threads(threads, calls):
    c = theano.shared(np.int64(0))
    x = T.dvector("x")
    f = theano.function([x], x.sum(), updates=[(c, c + 1)])
    g = theano.function([x], T.exp(x).sum())
    wrong = [0]
    big = np.linspace(0, 1, 300_000)      # above the threading threshold
    want = np.exp(big).sum()

    def work():
        ones = np.ones(4)
        for k in range(calls):
            f(ones)
            if k % 50 == 0 and abs(g(big) - want) > 1e-9 * want:
                wrong[0] += 1

    ts = [threading.Thread(target=work) for _ in range(threads)]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    total = threads * calls
    lost = total - int(c.get_value())
    return [("threads", f"{threads} x {calls}", f"{lost} lost updates, {wrong[0]} wrong "
             "results", f"{time.perf_counter() - t0:.1f} s")]


_CACHE_SCRIPT = """
import numpy as np, tjit as theano, tjit.tensor as T
x, y = T.dvectors('x', 'y'); f32 = T.fvector('f')
f = theano.function([x, y], T.sqrt(abs(x * 3.0 + y)) - y * y / 7.0)
g = theano.function([f32], T.tanh(f32) * 2 + T.exp(f32).sum())
h = theano.function([x], [x.sum(), T.nnet.softmax(x.reshape((1, -1)))])
v = np.linspace(-2, 2, 101)
assert np.allclose(f(v, v[::-1]), np.sqrt(abs(v * 3.0 + v[::-1])) - v[::-1] ** 2 / 7.0)
w = v.astype('float32')
assert np.allclose(g(w), np.tanh(w) * 2 + np.exp(w).sum(), rtol=1e-5)
assert np.allclose(h(v)[0], v.sum())
print(sum(not t.native.from_disk_cache for fn in (f, g, h) for t in fn.thunks
          if hasattr(t, 'native')))
"""


def soak_cache():
    root = tempfile.mkdtemp(prefix="tjit-soak-")
    env = dict(os.environ, TJIT_CACHE_DIR=root, PYTHONPATH=REPO_ROOT)

    def run():
        out = subprocess.run([sys.executable, "-c", _CACHE_SCRIPT], env=env,
                             capture_output=True, text=True, timeout=300)
        return out.returncode, out.stdout.strip()

    def entries():
        return sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs
                      if f.endswith(".o"))

    rows, crashes, rebuilt, corrupted = [], 0, 0, 0
    try:
        run()
        for damage in ("truncate", "flip", "swap"):
            paths = entries()
            data = [open(p, "rb").read() for p in paths]
            for k, (p, d) in enumerate(zip(paths, data)):
                if damage == "truncate":
                    d = d[: len(d) // 2]
                elif damage == "flip":
                    d = d[:-100] + bytes([d[-100] ^ 0xFF]) + d[-99:]
                else:
                    d = data[(k + 1) % len(data)]
                open(p, "wb").write(d)
            corrupted += len(paths)
            code, out = run()
            crashes += code != 0
            rebuilt += int(out) if code == 0 and out.isdigit() else 0
            code, out = run()           # and then the cache is good again
            crashes += code != 0 or out != "0"
    finally:
        shutil.rmtree(root, ignore_errors=True)
    rows.append(("cache corruption", f"{corrupted} entries damaged",
                 f"{rebuilt} kernels rebuilt, {crashes} crashes", "-"))
    return rows


def soak_targets():
    x, m = T.dvector("x"), T.dmatrix("m")
    graphs = [([x], T.exp(x) * 2 + T.sin(x)), ([m], T.nnet.softmax(m)),
              ([m], m.sum(axis=0)), ([m, x], T.dot(m, x)), ([m], T.var(m, axis=1))]
    rng = np.random.default_rng(0)
    args = {x: rng.standard_normal(50), m: rng.standard_normal((40, 50))}
    rows = []
    results = {}
    for cpu in ("host", "x86-64", "x86-64-v3"):
        with theano.config.change_flags(cpu=cpu):
            results[cpu] = [theano.function(i, o)(*[args[a] for a in i]) for i, o in graphs]
    for cpu in ("x86-64", "x86-64-v3"):
        worst = max(float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))
                    for a, b in zip(results[cpu], results["host"]))
        rows.append((f"target {cpu}", f"{len(graphs)} kernels",
                     f"max relative difference to host {worst:.1e}", "-"))
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--functions", type=int, default=2000)
    p.add_argument("--calls", type=int, default=100_000)
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--kernel-cache-mb", type=float, default=4.0,
                   help="tjit.config.kernel_cache_mb during the compile checks")
    p.add_argument("--quick", action="store_true", help="a tenth of each")
    p.add_argument("--checks", default="calls,compiles,threads,cache,targets",
                   help="comma-separated checks to run")
    H.add_cpus_argument(p)
    ns = p.parse_args()
    if ns.quick:
        ns.functions, ns.calls = ns.functions // 10, ns.calls // 10
    t0 = time.perf_counter()
    rows = []
    checks = set(ns.checks.split(","))
    scratch = tempfile.mkdtemp(prefix="tjit-soak-")
    with theano.config.change_flags(cache_dir=scratch, kernel_cache_mb=ns.kernel_cache_mb):
        if "calls" in checks:
            rows += soak_calls(ns.calls)
        if "compiles" in checks:
            for cpu in ["host"] + H.other_cpus(theano, ns.cpus):
                for mode in ("FAST_COMPILE", "FAST_RUN"):
                    rows += soak_compiles(ns.functions, mode, cpu)
        if "threads" in checks:
            rows += soak_threads(ns.threads, max(1, ns.calls // 50))
    shutil.rmtree(scratch, ignore_errors=True)
    if "cache" in checks:
        rows += soak_cache()
    if "targets" in checks:
        rows += soak_targets()
    header = ("check", "size", "result", "time")
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(4)]
    for r in [header, tuple("-" * w for w in widths)] + rows:
        print(" | ".join(str(c).ljust(w) for c, w in zip(r, widths)))
    print(f"\ntotal {time.perf_counter() - t0:.0f} s; RSS {rss_mb():.0f} MB; "
          f"kernel_cache_mb={ns.kernel_cache_mb:g} (compile checks), "
          f"cache_size_mb={theano.config.cache_size_mb:g}")


if __name__ == "__main__":
    main()
