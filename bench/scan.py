"""Scan benchmark: tjit against a NumPy Python loop, JAX lax.scan, a hand-written
Numba loop and PyTensor's scan (Numba backend) when installed.

    python bench/scan.py [--repeats 15] [--calls 3] [--scale 1.0] [--pytensor]
                         [--cpus host,x86-64-v3]

  W6a  RNN h_t = tanh(W h_{t-1} + x_t), 1000 steps, hidden 64, float64; the whole
       sequence of states is returned
  W6a grad  d sum(h**2) / dW of W6a by backpropagation through time (NumPy: a
       hand-written reverse loop)
  W6b  scalar cumulative sum as a scan, 10**6 steps, float64; the sequence of
       partial sums is returned (and, as "W6b last", only the final sum)
Every implementation's result is checked against the NumPy loop before it is
timed; a wrong result shows WRONG, a peer that fails shows 'err' (reason on
stderr). The implementations of a case are timed in turn, round after round
(--repeats rounds of --calls calls each), so that a passing load on a shared
machine slows them alike. Times are medians in milliseconds; ratios are against NumPy, and
jax/tjit is JAX's time over tjit's (> 1: tjit faster). The tjit column is repeated
for each of --cpus (tjit.config.cpu; default: the host and x86-64-v3).
PyTensor (--pytensor) compiles slowly; it is off by default.
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness as H  # noqa: E402


# --------------------------------------------------------------------------- NumPy
def w6a_numpy(W, X, h0):
    hs = np.empty_like(X)
    h = h0
    for t in range(X.shape[0]):
        h = np.tanh(W @ h + X[t])
        hs[t] = h
    return hs


def w6g_numpy(W, X, h0):
    """d sum(h**2) / dW by a hand-written BPTT loop."""
    hs = w6a_numpy(W, X, h0)
    gW = np.zeros_like(W)
    carry = np.zeros_like(h0)
    for t in range(X.shape[0] - 1, -1, -1):
        prev = hs[t - 1] if t else h0
        da = (2 * hs[t] + carry) * (1 - hs[t] ** 2)
        gW += np.outer(da, prev)
        carry = W.T @ da
    return gW


def w6b_numpy(x):
    return np.cumsum(x)


# --------------------------------------------------------------------------- tjit
def w6a_tjit(W, X, h0):
    theano, T = H.import_tjit()
    Wv, Xv, hv = T.dmatrix("W"), T.dmatrix("X"), T.dvector("h0")
    hs, _ = theano.scan(lambda x, h, W: T.tanh(T.dot(W, h) + x), sequences=Xv,
                        outputs_info=hv, non_sequences=Wv)
    f = theano.function([Wv, Xv, hv], hs)
    return lambda: f(W, X, h0)


def w6g_tjit(W, X, h0):
    theano, T = H.import_tjit()
    Wv, Xv, hv = T.dmatrix("W"), T.dmatrix("X"), T.dvector("h0")
    hs, _ = theano.scan(lambda x, h, W: T.tanh(T.dot(W, h) + x), sequences=Xv,
                        outputs_info=hv, non_sequences=Wv)
    f = theano.function([Wv, Xv, hv], T.grad((hs ** 2).sum(), Wv))
    return lambda: f(W, X, h0)


def w6b_tjit(x, last=False):
    theano, T = H.import_tjit()
    xv = T.dvector("x")
    s, _ = theano.scan(lambda a, acc: acc + a, sequences=xv, outputs_info=np.float64(0))
    f = theano.function([xv], s[-1] if last else s)
    return lambda: f(x)


# --------------------------------------------------------------------------- JAX
def _jax():
    import jax
    jax.config.update("jax_enable_x64", True)
    return jax


def w6a_jax(W, X, h0):
    jax = _jax()
    jnp = jax.numpy

    @jax.jit
    def run(W, X, h0):
        def step(h, x):
            h = jnp.tanh(W @ h + x)
            return h, h
        return jax.lax.scan(step, h0, X)[1]

    args = [jax.device_put(a) for a in (W, X, h0)]
    return lambda: run(*args).block_until_ready()


def w6g_jax(W, X, h0):
    jax = _jax()
    jnp = jax.numpy

    def cost(W, X, h0):
        def step(h, x):
            h = jnp.tanh(W @ h + x)
            return h, h
        return (jax.lax.scan(step, h0, X)[1] ** 2).sum()

    run = jax.jit(jax.grad(cost))
    args = [jax.device_put(a) for a in (W, X, h0)]
    return lambda: run(*args).block_until_ready()


def w6b_jax(x, last=False):
    jax = _jax()

    @jax.jit
    def run(x):
        def step(acc, a):
            acc = acc + a
            return acc, acc
        final, hist = jax.lax.scan(step, jax.numpy.float64(0), x)
        return final if last else hist

    xd = jax.device_put(x)
    return lambda: run(xd).block_until_ready()


# --------------------------------------------------------------------------- Numba
def w6a_numba(W, X, h0):
    import numba

    @numba.njit(cache=False, fastmath=False)
    def run(W, X, h0):
        n, d = X.shape
        hs = np.empty((n, d))
        h = h0.copy()
        for t in range(n):
            for i in range(d):
                acc = 0.0
                for j in range(d):
                    acc += W[i, j] * h[j]
                hs[t, i] = np.tanh(acc + X[t, i])
            h = hs[t]
        return hs

    return lambda: run(W, X, h0)


def w6b_numba(x, last=False):
    import numba

    @numba.njit(cache=False)
    def run_all(x):
        out = np.empty_like(x)
        acc = 0.0
        for i in range(x.shape[0]):
            acc += x[i]
            out[i] = acc
        return out

    @numba.njit(cache=False)
    def run_last(x):
        acc = 0.0
        for i in range(x.shape[0]):
            acc += x[i]
        return acc

    run = run_last if last else run_all
    return lambda: run(x)


# --------------------------------------------------------------------------- PyTensor
def w6a_pytensor(W, X, h0):
    import pytensor
    import pytensor.tensor as pt
    Wv, Xv, hv = pt.dmatrix("W"), pt.dmatrix("X"), pt.dvector("h0")
    hs, _ = pytensor.scan(lambda x, h, W: pt.tanh(pt.dot(W, h) + x), sequences=Xv,
                          outputs_info=hv, non_sequences=Wv)
    f = pytensor.function([Wv, Xv, hv], hs, mode="NUMBA")
    return lambda: f(W, X, h0)


def w6g_pytensor(W, X, h0):
    import pytensor
    import pytensor.tensor as pt
    Wv, Xv, hv = pt.dmatrix("W"), pt.dmatrix("X"), pt.dvector("h0")
    hs, _ = pytensor.scan(lambda x, h, W: pt.tanh(pt.dot(W, h) + x), sequences=Xv,
                          outputs_info=hv, non_sequences=Wv)
    f = pytensor.function([Wv, Xv, hv], pytensor.grad((hs ** 2).sum(), Wv), mode="NUMBA")
    return lambda: f(W, X, h0)


def w6b_pytensor(x, last=False):
    import pytensor
    import pytensor.tensor as pt
    xv = pt.dvector("x")
    s, _ = pytensor.scan(lambda a, acc: acc + a, sequences=xv,
                         outputs_info=pt.as_tensor_variable(np.float64(0)))
    f = pytensor.function([xv], s[-1] if last else s, mode="NUMBA")
    return lambda: f(x)


# --------------------------------------------------------------------------- driver
def interleaved_medians(fns, rounds, calls, skips, label):
    """{impl: median seconds per call}: every round times each impl in turn (the
    mean of `calls` calls), so that a load that comes and goes on a shared
    machine weighs on all of them alike; the median over `rounds` rounds."""
    times = {impl: [] for impl in fns}
    for impl, fn in list(fns.items()):
        try:
            fn()                      # warm-up
        except Exception as e:  # a peer that fails must not stop the table
            skips.note(impl, e, label)
            del fns[impl]
    H.settle()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        order = list(fns.items())
        for r in range(rounds if order else 0):
            # rotated each round: no impl always runs right after one that leaves
            # threads spinning (JAX's pool) on this 2-core machine
            for impl, fn in order[r % len(order):] + order[:r % len(order)]:
                t0 = time.perf_counter()
                for _ in range(calls):
                    fn()
                times[impl].append((time.perf_counter() - t0) / calls)
    finally:
        if gc_was_enabled:
            gc.enable()
    return {impl: statistics.median(t) if impl in fns else "err" for impl, t in times.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15,
                    help="rounds; each times every implementation in turn")
    ap.add_argument("--calls", type=int, default=3, help="calls timed per round")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--pytensor", action="store_true")
    H.add_cpus_argument(ap)
    args = ap.parse_args(argv)
    theano, _ = H.import_tjit()
    rng = np.random.default_rng(0)
    steps_a = max(2, int(1000 * args.scale))
    W = rng.normal(size=(64, 64)) * (0.9 / 8)
    X = rng.normal(size=(steps_a, 64))
    h0 = rng.normal(size=64)
    x = rng.normal(size=max(2, int(10 ** 6 * args.scale)))
    cases = [
        ("W6a", f"RNN {steps_a} steps, hidden 64", (W, X, h0), {}, w6a_numpy(W, X, h0),
         "w6a"),
        ("W6a grad", "d sum(h**2) / dW (BPTT)", (W, X, h0), {}, w6g_numpy(W, X, h0), "w6g"),
        ("W6b", f"cumsum scan, {x.size} steps", (x,), {}, w6b_numpy(x), "w6b"),
        ("W6b last", f"cumsum scan, {x.size} steps, last", (x,), {"last": True},
         w6b_numpy(x)[-1], "w6b"),
    ]
    peers = [p for p in ("jax", "numba") if p in H.installed_peers()]
    if args.pytensor and "pytensor" in H.installed_peers():
        peers.append("pytensor")
    mine = ["tjit"] + [f"tjit @{cpu}" for cpu in H.other_cpus(theano, args.cpus)]
    impls = mine + peers
    skips = H.Skips()
    vs_jax = [f"jax/{i}" for i in mine] if "jax" in peers else []
    header = ["case", "what", "unit", "numpy"] + impls + [f"{i}/np" for i in impls] + vs_jax
    rows = []
    module = sys.modules[__name__]
    for label, what, data, kw, expected, prefix in cases:
        times = {}
        if prefix in ("w6a", "w6g"):
            ref = w6a_numpy if prefix == "w6a" else w6g_numpy
            times["numpy"] = H.median_time(lambda: ref(*data), args.repeats)
        else:
            times["numpy"] = H.median_time(lambda: np.cumsum(*data)[-1 if kw else slice(None)],
                                           args.repeats)
        fns = {}
        for impl in impls:
            name, cpu = H.split_cpu(impl)
            maker = getattr(module, f"{prefix}_{name}", None)
            if maker is None:
                times[impl] = None
                continue
            try:
                with H.on_cpu(theano, cpu) if cpu else contextlib.nullcontext():
                    fn = maker(*data, **kw)
                if not H.same(np.asarray(fn()), expected):
                    times[impl] = H.WRONG
                    continue
                fns[impl] = fn
            except Exception as e:  # a peer that fails must not stop the table
                skips.note(impl, e, label)
                times[impl] = "err"
        times.update(interleaved_medians(fns, args.repeats, args.calls, skips, label))
        row = [label, what, "ms", H.fmt(times["numpy"], 1e3)]
        row += [H.fmt(times[i], 1e3) for i in impls]
        for impl in impls:
            t = times[impl]
            row.append(f"{times['numpy'] / t:.2f}x" if isinstance(t, float) else "-")
        for impl in mine if vs_jax else ():
            t, j = times[impl], times["jax"]
            ok = isinstance(t, float) and isinstance(j, float)
            row.append(f"{j / t:.2f}" if ok else "-")
        rows.append(row)
    H.print_table(header, rows)
    print("\nnumpy: W6a a Python loop of NumPy calls; W6b np.cumsum (a C loop, no scan). "
          "Ratios > 1: faster than NumPy;\n"
          "jax/tjit > 1: tjit faster than JAX (the W6a target). "
          f"tjit threads {theano.config.threads}; median of {args.repeats} rounds of "
          f"{args.calls} calls, implementations in turn.")


if __name__ == "__main__":
    main()
