"""Call-overhead benchmark: the time of one call of a compiled function on tiny inputs.

    python bench/call_overhead.py [--calls 500] [--repeats 300] [--cpus host,x86-64-v3]

Rows (the work is a few dozen flops, so the time is the call path itself):
  two scalars   f(a, b) = a + b on two Python floats (float64 scalars)
  10 kernels    an (8, 8) float64 matrix through 9 reductions alternating over rows
                and columns (sum, max, sum, min, ...), each reading x times the
                previous one's result, then an elementwise output: 10 kernels that
                cannot fuse (tjit's count is printed under the table)
  sum + update  f(x) = x.sum() with the update w <- w + x of a shared (100,) vector
Columns: tjit (its host and x86-64-v3 code; targets: <= 2 us, <= 4 us), NumPy's
equivalent expression (for scale: no function, no checks), PyTensor (its default
mode), JAX (jit, then block_until_ready; the update returns the new w), Numba
(@njit; the reductions as loops). Each cell: the best over --repeats batches of
the mean time of up to --calls calls, in microseconds (the call's own cost:
batches of ~0.5 ms, so some run between a busy machine's preemptions); results are checked
against NumPy first (WRONG if they differ). Run PyTensor and Numba from the peers' venv:
    cd <checkout> && /work/peers/bin/python bench/call_overhead.py
"""
from __future__ import annotations

import argparse
import gc
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness as H  # noqa: E402

WORKLOADS = ("two scalars", "10 kernels", "sum + update")
KINDS = ("sum", "max", "sum", "min", "sum", "max", "sum", "min", "sum")
X = np.random.default_rng(0).random((8, 8))
V = np.linspace(-1.0, 1.0, 100)


def ten_kernels_numpy(x):
    r = None
    for k, kind in enumerate(KINDS):
        if r is None:
            e = np.abs(x * 0.5)
        elif k % 2:
            e = np.abs(x * r[:, None] + 0.1)
        else:
            e = np.abs(x * r[None, :] - 0.1)
        r = getattr(e, kind)(axis=1 - k % 2)
    return np.abs(x * r[None, :]) + 1


def ten_kernels_symbolic(x):
    """The same graph from a Theano-like tensor module's variables (tjit, PyTensor)."""
    r = None
    for k, kind in enumerate(KINDS):
        if r is None:
            e = abs(x * 0.5)
        elif k % 2:
            e = abs(x * r.dimshuffle(0, "x") + 0.1)
        else:
            e = abs(x * r.dimshuffle("x", 0) - 0.1)
        r = getattr(e, kind)(axis=1 - k % 2)
    return abs(x * r.dimshuffle("x", 0)) + 1


def _expected(workload):
    if workload == "two scalars":
        return 3.0
    if workload == "10 kernels":
        return ten_kernels_numpy(X)
    return V.sum()


# ---- builders: workload -> a callable running one call ----------------------------
def tjit_fn(workload):
    tjit, T = H.import_tjit()
    if workload == "two scalars":
        a, b = T.dscalars("a", "b")
        f = tjit.function([a, b], a + b)
        return lambda: f(1.0, 2.0), f
    x = T.dmatrix("x") if workload == "10 kernels" else T.dvector("x")
    if workload == "10 kernels":
        f = tjit.function([x], ten_kernels_symbolic(x))
        return lambda: f(X), f
    w = tjit.shared(np.zeros(100), "w")
    f = tjit.function([x], x.sum(), updates=[(w, w + x)])
    return lambda: f(V), f


def numpy_fn(workload):
    if workload == "two scalars":
        return lambda: np.add(1.0, 2.0)
    if workload == "10 kernels":
        return lambda: ten_kernels_numpy(X)
    w = [np.zeros(100)]

    def step():
        w[0] = w[0] + V
        return V.sum()
    return step


def pytensor_fn(workload):
    import pytensor
    import pytensor.tensor as pt
    if workload == "two scalars":
        a, b = pt.dscalars("a", "b")
        f = pytensor.function([a, b], a + b)
        return lambda: f(1.0, 2.0)
    if workload == "10 kernels":
        x = pt.dmatrix("x")
        f = pytensor.function([x], ten_kernels_symbolic(x))
        return lambda: f(X)
    x = pt.dvector("x")
    w = pytensor.shared(np.zeros(100), "w")
    f = pytensor.function([x], x.sum(), updates=[(w, w + x)])
    return lambda: f(V)


def jax_fn(workload):
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    if workload == "two scalars":
        f = jax.jit(lambda a, b: a + b)
        return lambda: f(1.0, 2.0).block_until_ready()
    if workload == "10 kernels":
        def ten(x):
            r = None
            for k, kind in enumerate(KINDS):
                if r is None:
                    e = jnp.abs(x * 0.5)
                elif k % 2:
                    e = jnp.abs(x * r[:, None] + 0.1)
                else:
                    e = jnp.abs(x * r[None, :] - 0.1)
                r = getattr(e, kind)(axis=1 - k % 2)
            return jnp.abs(x * r[None, :]) + 1
        f = jax.jit(ten)
        return lambda: f(X).block_until_ready()
    f = jax.jit(lambda w, x: (x.sum(), w + x))
    state = [jnp.zeros(100)]

    def step():
        s, state[0] = f(state[0], V)
        return s.block_until_ready()
    return step


def numba_fn(workload):
    from numba import njit
    if workload == "two scalars":
        add = njit(lambda a, b: a + b)
        return lambda: add(1.0, 2.0)
    if workload == "10 kernels":
        reduce_ = njit(_reduce_loops)

        @njit
        def ten(x):
            r = reduce_(np.abs(x * 0.5), 0, 1)
            for k in range(1, 9):
                if k % 2:
                    e = np.abs(x * r.reshape((r.shape[0], 1)) + 0.1)
                else:
                    e = np.abs(x * r.reshape((1, r.shape[0])) - 0.1)
                r = reduce_(e, (0, 1, 0, 2)[k % 4], 1 - k % 2)
            return np.abs(x * r.reshape((1, r.shape[0]))) + 1
        return lambda: ten(X)

    @njit
    def step(w, x):
        w[:] = w + x
        return x.sum()
    w = np.zeros(100)
    return lambda: step(w, V)


def _reduce_loops(e, kind, axis):
    """sum (0), max (1) or min (2) of a matrix over `axis`, as loops (for Numba)."""
    n, m = e.shape
    out = np.empty(n if axis == 1 else m)
    for i in range(out.shape[0]):
        acc = e[i, 0] if axis == 1 else e[0, i]
        for j in range(1, m if axis == 1 else n):
            v = e[i, j] if axis == 1 else e[j, i]
            if kind == 0:
                acc += v
            elif kind == 1:
                acc = max(acc, v)
            else:
                acc = min(acc, v)
        out[i] = acc
    return out


BUILDERS = {"tjit": tjit_fn, "numpy": numpy_fn, "pytensor": pytensor_fn, "jax": jax_fn,
            "numba": numba_fn}


def run_one(impl, workload, skips, opts, notes):
    impl, cpu = H.split_cpu(impl)
    if cpu:
        tjit, _ = H.import_tjit()
        with H.on_cpu(tjit, cpu):
            return run_one(impl, workload, skips, opts, notes)
    try:
        built = BUILDERS[impl](workload)
        if impl == "tjit":
            built, f = built
            if workload == "10 kernels":
                notes.add(f"tjit's 10 kernels function has {len(f.thunks)} steps: "
                          + ", ".join(type(t.node.op).__name__ for t in f.thunks))
        result = built()
    except Exception as exc:  # a failing implementation is skipped, not fatal
        skips.note(impl, exc, workload)
        return "err"
    if not H.same(np.asarray(result), _expected(workload)):
        return H.WRONG
    return best_time_per_call(built, opts.calls, opts.repeats)


def best_time_per_call(fn, calls, repeats, batch_seconds=5e-4):
    """The least mean time of one `fn()` over `repeats` batches of at most
    `calls` calls, each batch about `batch_seconds` long (short enough to run
    between a busy machine's preemptions)."""
    for _ in range(20):
        fn()
    H.settle()
    t0 = time.perf_counter()
    for _ in range(20):
        fn()
    estimate = (time.perf_counter() - t0) / 20
    calls = max(5, min(calls, int(batch_seconds / max(estimate, 1e-9))))
    best = float("inf")
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(calls):
                fn()
            best = min(best, (time.perf_counter() - t0) / calls)
    finally:
        if gc_was_enabled:
            gc.enable()
    return best


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=500, help="at most this many calls per batch")
    ap.add_argument("--repeats", type=int, default=300, help="timed batches per cell (best)")
    H.add_cpus_argument(ap)
    opts = ap.parse_args(argv)
    tjit, _ = H.import_tjit()
    impls = ["tjit"] + [f"tjit @{c}" for c in H.other_cpus(tjit, opts.cpus)]
    impls += ["numpy"] + H.installed_peers()
    skips = H.Skips()
    notes = set()
    rows = []
    for workload in WORKLOADS:
        cells = {impl: run_one(impl, workload, skips, opts, notes) for impl in impls}
        rows.append([workload, "float64", "us"] + [H.fmt(cells[i], 1e6) for i in impls])
    print(f"Call overhead: one call of a compiled function on tiny inputs, best of "
          f"{opts.repeats} batches of ~0.5 ms (us per call; tjit targets: "
          f"two scalars <= 2 us, 10 kernels <= 4 us)")
    H.print_table(["workload", "dtype", "unit"] + impls, rows)
    for note in sorted(notes):
        print(note)


if __name__ == "__main__":
    main()
