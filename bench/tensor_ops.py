"""Tensor-op benchmark: tjit against NumPy (and PyTensor, JAX, Numba when installed).

    python bench/tensor_ops.py [--repeats 7] [--scale 1.0] [--only SECTION ...] [--impls ...]

One table of medians (after a warm-up call), one row per workload. A workload is
a `Workload` in WORKLOADS below: a name, how to make its inputs, the NumPy
reference, and one builder per implementation returning a zero-argument callable.
Add rows by appending to WORKLOADS (keep a section per op family).

Sections:
  dot   dot of two 2000x2000 float64 matrices (target: within 10% of NumPy),
        the same in float32, a gemm-shaped 0.5*dot(x, y) + 2*z (one BLAS call in
        tjit), a 4000x4000 matrix times a vector, and a 64x64 dot (call overhead)
Every implementation's result is checked against NumPy before it is timed; a wrong
result shows WRONG, a peer that fails shows 'err' (the reason on stderr). The
implementations of a row are timed in turns, so that load from elsewhere on the
machine affects them alike.
--scale shrinks the sizes (e.g. 0.01 for a quick run; row labels keep the full sizes).
"""
from __future__ import annotations

import argparse
import gc
import math
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass, field

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness as H  # noqa: E402

PYTENSOR_MODE = "CVM"  # the classic Theano default: C code compiled by g++


@dataclass
class Workload:
    """One row. `inputs(rng, scale)` -> tuple of arrays; `numpy(*inputs)` is the
    reference; `build[impl](*inputs)` returns a callable computing the result."""
    section: str
    name: str
    dtype: str
    unit: str  # 'ms' or 'us'
    inputs: object
    numpy: object
    build: dict = field(default_factory=dict)
    target: str = ""  # e.g. "numpy/tjit >= 0.91"


# --------------------------------------------------------------------------- peers
def _tjit():
    return H.import_tjit()


def _pytensor():
    import pytensor
    import pytensor.tensor as pt
    return pytensor, pt


def _jax():
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    return jax, jnp


def _jax_call(fn, *arrays):
    jax, _ = _jax()
    f = jax.jit(fn)
    dev = [jax.device_put(a) for a in arrays]
    return lambda: f(*dev).block_until_ready()


def _numba_call(fn, *arrays):
    from numba import njit
    f = njit(fn)
    return lambda: f(*arrays)


def symbolic_builders(expr):
    """tjit and PyTensor builders for `expr(T, *symbolic_inputs)`."""
    def tjit_build(*arrays):
        theano, T = _tjit()
        syms = [T.TensorType(str(a.dtype), (False,) * a.ndim)(f"i{k}") for k, a in enumerate(arrays)]
        f = theano.function(syms, expr(T, *syms))
        return lambda: f(*arrays)

    def pytensor_build(*arrays):
        pytensor, pt = _pytensor()
        syms = [pt.tensor(f"i{k}", dtype=str(a.dtype), shape=(None,) * a.ndim)
                for k, a in enumerate(arrays)]
        f = pytensor.function(syms, expr(pt, *syms), mode=PYTENSOR_MODE)
        return lambda: f(*arrays)

    return {"tjit": tjit_build, "pytensor": pytensor_build}


def peer_builders(np_fn, jax_fn=None, numba_fn=None):
    """NumPy, JAX and Numba builders from plain array functions."""
    out = {"numpy": lambda *a: (lambda: np_fn(*a))}
    out["jax"] = lambda *a: _jax_call(jax_fn or np_fn, *a)
    out["numba"] = lambda *a: _numba_call(numba_fn or np_fn, *a)
    return out


# --------------------------------------------------------------------------- dot
def _gemm_np(x, y, z):
    return 0.5 * np.dot(x, y) + 2.0 * z


def _gemm_jax(x, y, z):
    _, jnp = _jax()
    return 0.5 * jnp.dot(x, y) + 2.0 * z


def _dot_jax(x, y):
    _, jnp = _jax()
    return jnp.dot(x, y)


def _dot_numba(x, y):
    return np.dot(x, y)


def _gemm_numba(x, y, z):
    return 0.5 * np.dot(x, y) + 2.0 * z


def _matrices(n, dtype, count, scaled=True):
    def make(rng, scale):
        m = max(2, int(n * math.sqrt(scale if scaled else 1.0)))
        return tuple(rng.standard_normal((m, m)).astype(dtype) for _ in range(count))
    return make


def _matvec(n):
    def make(rng, scale):
        m = max(2, int(n * math.sqrt(scale)))
        return rng.standard_normal((m, m)), rng.standard_normal(m)
    return make


def _dot_row(name, dtype, unit, inputs, target=""):
    build = dict(symbolic_builders(lambda T, x, y: T.dot(x, y)))
    build.update(peer_builders(np.dot, _dot_jax, _dot_numba))
    return Workload("dot", name, dtype, unit, inputs, np.dot, build, target)


def _gemm_row():
    build = dict(symbolic_builders(lambda T, x, y, z: 0.5 * T.dot(x, y) + 2.0 * z))
    build.update(peer_builders(_gemm_np, _gemm_jax, _gemm_numba))
    return Workload("dot", "0.5*dot(x,y)+2*z 2000^2", "float64", "ms",
                    _matrices(2000, "float64", 3), _gemm_np, build)


WORKLOADS = [
    _dot_row("dot 2000x2000", "float64", "ms", _matrices(2000, "float64", 2),
             target="numpy/tjit >= 0.91"),
    _dot_row("dot 2000x2000", "float32", "ms", _matrices(2000, "float32", 2)),
    _gemm_row(),
    _dot_row("matrix.vector 4000", "float64", "ms", _matvec(4000)),
    _dot_row("dot 64x64 (overhead)", "float64", "us", _matrices(64, "float64", 2, scaled=False)),
]


# --------------------------------------------------------------------------- driver
def close(result, expected, dtype):
    """Equal to the reference within the dtype's tolerance, relative to the largest
    value (a long dot product's rounding error scales with its terms, not its sum)."""
    r, e = np.asarray(result), np.asarray(expected)
    if r.shape != e.shape:
        return False
    tol = H.tolerances(dtype)["rtol"]
    scale = float(np.max(np.abs(e))) if e.size else 0.0
    return bool(np.allclose(r, e, rtol=tol, atol=tol * scale))


def build_cell(impl, w, arrays, expected, skips):
    """A checked callable for one implementation, or a marker ('err', WRONG, None).
    'tjit @CPU' compiles for tjit.config.cpu=CPU (the call runs that code)."""
    name, cpu = H.split_cpu(impl)
    builder = w.build.get(name)
    if builder is None:
        return None
    try:
        if cpu:
            with H.on_cpu(H.import_tjit()[0], cpu):
                fn = builder(*arrays)
        else:
            fn = builder(*arrays)
        result = fn()
    except Exception as exc:  # a failing implementation is skipped, not fatal
        skips.note(impl, exc, w.name)
        return "err"
    return fn if close(result, expected, w.dtype) else H.WRONG


def time_round_robin(fns, unit, repeats):
    """Median time of each callable, timed in turns (one run of each per round, in a
    shuffled order) so that load from elsewhere hits every implementation alike."""
    calls = 1
    if unit == "us":
        calls = 2000
    times = {k: [] for k in fns}
    gc_was = gc.isenabled()
    gc.disable()
    try:
        order = list(fns.items())
        shuffle = random.Random(0).shuffle
        for r in range(repeats + 1):  # round 0 warms up (then tier-ups: H.settle)
            if r == 1:
                H.settle()
            # A BLAS's or XLA's worker threads spin for a while after a call and slow
            # down whatever runs next (Numba calls SciPy's OpenBLAS, a second thread
            # pool): shuffle the order each round and let the spinning stop first.
            shuffle(order)
            for k, fn in order:
                time.sleep(0.05)
                t0 = time.perf_counter()
                for _ in range(calls):
                    fn()
                if r:
                    times[k].append((time.perf_counter() - t0) / calls)
    finally:
        if gc_was:
            gc.enable()
    return {k: statistics.median(v) for k, v in times.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7, help="timed runs per cell (median)")
    ap.add_argument("--scale", type=float, default=1.0, help="shrink sizes (quick runs)")
    ap.add_argument("--only", nargs="*", help="sections to run (default: all)")
    ap.add_argument("--impls", nargs="*", help="implementations (default: tjit, numpy and "
                    "the installed peers)")
    H.add_cpus_argument(ap)
    opts = ap.parse_args(argv)

    tjit_cpus = [f"tjit @{c}" for c in H.other_cpus(H.import_tjit()[0], opts.cpus)]
    impls = opts.impls or ["tjit"] + tjit_cpus + ["numpy"] + H.installed_peers()
    skips = H.Skips()
    rng = np.random.default_rng(0)
    table, notes = [], []
    for w in WORKLOADS:
        if opts.only and w.section not in opts.only:
            continue
        arrays = w.inputs(rng, opts.scale)
        expected = w.numpy(*arrays)
        t0 = time.perf_counter()
        cells = {impl: build_cell(impl, w, arrays, expected, skips) for impl in impls}
        cells.update(time_round_robin({k: v for k, v in cells.items() if callable(v)},
                                      w.unit, opts.repeats))
        scale = 1e6 if w.unit == "us" else 1e3
        t, npy = cells.get("tjit"), cells.get("numpy")
        ratio = npy / t if isinstance(t, float) and isinstance(npy, float) and t > 0 else None
        table.append([w.section, w.name, w.dtype, w.unit] + [H.fmt(cells[i], scale) for i in impls]
                     + [f"{ratio:.2f}x" if ratio else "-"])
        if w.target and ratio is not None:
            bound = float(w.target.split(">=")[1])
            notes.append(f"target {w.name} {w.dtype}: {w.target}: {ratio:.2f} "
                         f"{'ok' if ratio >= bound else 'MISSED'}")
        print(f"[done] {w.name} {w.dtype} ({time.perf_counter() - t0:.1f} s)", file=sys.stderr,
              flush=True)

    header = ["section", "workload", "dtype", "unit"] + impls + ["numpy/tjit"]
    print()
    _print_table(header, table)
    print()
    for n in notes:
        print(n)
    try:
        from tjit.runtime.blas import describe
        print(f"tjit BLAS: {describe()}")
    except ImportError:
        pass
    print("versions: numpy " + np.__version__
          + "".join(f", {p} {_version(p)}" for p in H.installed_peers())
          + f"; repeats {opts.repeats} (median after warm-up); "
          f"pytensor mode {PYTENSOR_MODE!r}; jax jit, x64 on; numba @njit")
    return 0


def _print_table(header, rows):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    left = {0, 1, 2, 3}
    for k, row in enumerate([header] + rows):
        print("  ".join(c.ljust(widths[i]) if i in left else c.rjust(widths[i])
                        for i, c in enumerate(row)).rstrip())
        if k == 0:
            print("  ".join("-" * w for w in widths))


def _version(name):
    try:
        return __import__(name).__version__
    except Exception as exc:  # noqa: BLE001
        return f"unavailable ({type(exc).__name__})"


if __name__ == "__main__":
    sys.exit(main())
