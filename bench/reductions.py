"""Reduction benchmark: tjit against NumPy (and JAX, PyTensor, Numba when installed).

    python bench/reductions.py [--repeats 7] [--scale 1.0] [--cpus host,x86-64-v3]
                               [--kinds "argmax axis=1,var axis=0"]

Prints one table of medians (after a warm-up call), in ms:
  W3  x float64 (4000, 2500) (80 MB): sum over axis 0, axis 1, all; max, argmax
      and argmin over axis 1; var over axis 0
  W4  softmax over the rows of x float32 (4000, 1000): T.nnet.softmax when present,
      else exp(x - x.max(1, keepdims=True)) / sum(...)
  read bound: the read-bandwidth bound of W3, measured in the same run: the
      fastest observed pure streaming read of x's 80 MB on both cores, i.e. the min
      of (NumPy's np.add.reduce of x's two halves on two threads at once) and
      (tjit's `x.sum()`: a vector add per element, far below the memory cost, so
      it is a read of x and nothing else). Min, not median, of the two medians.
      The column tjit/bound is each W3 row's tjit time over it (target <= 1.3).
  paired: each W3 row's tjit time over tjit's `x.sum()` (the streaming read),
      the two timed in alternation, call after call, so a spell of low memory
      bandwidth (the machine's is shared) slows both alike: the median of the
      per-pair ratios. A steadier view of the same ratio when the bound moves.
      For W4, paired is JAX's time over tjit's, timed the same way (target > 1).
The tjit columns (and their ratio columns) are repeated for each of --cpus
(tjit.config.cpu; default: the host and x86-64-v3, the AVX2+FMA code).
--kinds runs a subset of the rows (comma-separated names as in the table,
without the W3/W4 prefix; the read bound is always measured).
Numba runs hand-written parallel loops (prange over rows, or over blocks of rows
for the column reductions). Every result is checked against NumPy before it is
timed (WRONG otherwise); a peer that fails shows 'err' (reason on stderr).
--scale shrinks the arrays.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import os
import statistics
import sys
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness as H  # noqa: E402

W3 = {  # name: (NumPy reference, builder over a tensor library module "T"-like)
    "sum axis=0": lambda x: x.sum(axis=0),
    "sum axis=1": lambda x: x.sum(axis=1),
    "sum all": lambda x: x.sum(),
    "max axis=1": lambda x: x.max(axis=1),
    "argmax axis=1": lambda x: x.argmax(axis=1),
    "argmin axis=1": lambda x: x.argmin(axis=1),
    "var axis=0": lambda x: x.var(axis=0),
}


def softmax_numpy(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def make_tjit(kind, x):
    theano, T = H.import_tjit()
    v = T.TensorType(str(x.dtype), (False, False))("x")
    if kind == "softmax":
        nnet_softmax = getattr(T.nnet, "softmax", None)
        if nnet_softmax is not None:
            out = nnet_softmax(v)
        else:
            e = T.exp(v - v.max(axis=1, keepdims=True))
            out = e / e.sum(axis=1, keepdims=True)
    else:
        out = W3[kind](v)
    f = theano.function([v], out)
    return lambda: f(x)


def make_numpy(kind, x):
    fn = softmax_numpy if kind == "softmax" else W3[kind]
    return lambda: fn(x)


def make_jax(kind, x):
    import jax
    jax.config.update("jax_enable_x64", True)
    if kind == "softmax":
        f = jax.jit(lambda v: jax.nn.softmax(v, axis=1))
    else:
        f = jax.jit(W3[kind])
    xd = jax.device_put(x)
    return lambda: f(xd).block_until_ready()


def make_pytensor(kind, x):
    import pytensor
    import pytensor.tensor as pt
    v = pt.tensor(dtype=str(x.dtype), shape=(None, None), name="x")
    if kind == "softmax":
        e = pt.exp(v - v.max(axis=1, keepdims=True))
        out = e / e.sum(axis=1, keepdims=True)
    else:
        out = W3[kind](v)
    f = pytensor.function([v], out, mode="CVM")
    return lambda: f(x)


def make_numba(kind, x):
    """Hand-written parallel loops (numba.prange over rows, or over blocks of rows
    whose column partials are then added), what a Numba user would write."""
    import numba
    prange = numba.prange

    @numba.njit(parallel=True)
    def softmax(v):
        out = np.empty_like(v)
        for i in prange(v.shape[0]):
            m = v[i].max()
            e = np.exp(v[i] - m)
            out[i] = e / e.sum()
        return out

    def per_row(reduce, dtype):
        @numba.njit(parallel=True)
        def rows(v):
            out = np.empty(v.shape[0], dtype)
            for i in prange(v.shape[0]):
                out[i] = reduce(v[i])
            return out
        return rows

    row_sums = per_row(numba.njit(lambda r: r.sum()), np.float64)
    row_max = per_row(numba.njit(lambda r: r.max()), np.float64)
    row_argmax = per_row(numba.njit(lambda r: np.argmax(r)), np.int64)
    row_argmin = per_row(numba.njit(lambda r: np.argmin(r)), np.int64)

    @numba.njit(parallel=True)
    def total(v):
        s = 0.0
        for i in prange(v.shape[0]):
            s += v[i].sum()
        return s

    @numba.njit(parallel=True)
    def column_partials(v, center, square):
        blocks = 16
        rows = (v.shape[0] + blocks - 1) // blocks
        part = np.zeros((blocks, v.shape[1]))
        for b in prange(blocks):
            for i in range(b * rows, min((b + 1) * rows, v.shape[0])):
                for j in range(v.shape[1]):
                    d = v[i, j] - center[j]
                    part[b, j] += d * d if square else d
        return part.sum(axis=0)

    def column_sums(v):
        return column_partials(v, np.zeros(v.shape[1]), False)

    def column_var(v):
        mean = column_sums(v) / v.shape[0]
        return column_partials(v, mean, True) / v.shape[0]

    fns = {"softmax": softmax, "sum axis=0": column_sums, "sum axis=1": row_sums,
           "sum all": total, "max axis=1": row_max, "argmax axis=1": row_argmax,
           "argmin axis=1": row_argmin, "var axis=0": column_var}
    fn = fns[kind]
    fn(x)
    return lambda: fn(x)


MAKERS = {"tjit": make_tjit, "numpy": make_numpy, "jax": make_jax, "pytensor": make_pytensor,
          "numba": make_numba}


def read_bound(x, repeats):
    halves = [x[: x.shape[0] // 2], x[x.shape[0] // 2:]]

    def both():
        t = threading.Thread(target=np.add.reduce, args=(halves[1], None))
        t.start()
        np.add.reduce(halves[0], None)
        t.join()

    return H.median_time(both, repeats=repeats)


def paired_ratio(fn, reference, repeats):
    """Median over `repeats` pairs of fn's time over reference's, the two timed
    back to back (order alternating), after a warm-up call of each."""
    fn(), reference()
    H.settle()
    ratios = []
    for k in range(repeats):
        times = {}
        for name, f in ((("fn", fn), ("ref", reference)) if k % 2 == 0 else
                        (("ref", reference), ("fn", fn))):
            t0 = time.perf_counter()
            f()
            times[name] = time.perf_counter() - t0
        ratios.append(times["fn"] / times["ref"])
    return statistics.median(ratios)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--kinds", default="",
                    help="comma-separated rows to run (e.g. 'argmax axis=1,softmax')")
    H.add_cpus_argument(ap)
    opts = ap.parse_args(argv)
    kinds = [k.strip() for k in opts.kinds.split(",") if k.strip()] or list(W3) + ["softmax"]
    unknown = [k for k in kinds if k not in W3 and k != "softmax"]
    if unknown:
        ap.error("unknown --kinds %s (known: %s, softmax)" % (unknown, ", ".join(W3)))
    theano, _ = H.import_tjit()
    mine = ["tjit"] + [f"tjit @{cpu}" for cpu in H.other_cpus(theano, opts.cpus)]
    impls = mine + ["numpy"] + H.installed_peers()
    skips = H.Skips()
    rng = np.random.default_rng(0)
    s = math.sqrt(opts.scale)
    x3 = rng.standard_normal((max(1, int(4000 * s)), max(1, int(2500 * s))))
    x4 = rng.standard_normal((max(1, int(4000 * s)), max(1, int(1000 * s)))).astype("float32")
    read_all = make_tjit("sum all", x3)
    bound = min(read_bound(x3, opts.repeats), H.median_time(read_all, repeats=opts.repeats))
    rows = []
    for kind, x in [(k, x3) for k in W3 if k in kinds] + [("softmax", x4)] * ("softmax" in kinds):
        expected = make_numpy(kind, x)()
        cells, paired, fns = {}, {}, {}
        for impl in impls:
            name, cpu = H.split_cpu(impl)
            try:
                with H.on_cpu(theano, cpu) if cpu else contextlib.nullcontext():
                    fn = MAKERS[name](kind, x)
                if not H.same(fn(), expected, x.dtype):
                    cells[impl] = H.WRONG
                    continue
                cells[impl] = H.median_time(fn, repeats=opts.repeats)
                fns[impl] = fn
                if name == "tjit" and kind != "softmax":
                    paired[impl] = paired_ratio(fn, read_all, 2 * opts.repeats + 1)
            except Exception as exc:  # a peer missing a feature: note it, go on
                skips.note(impl, exc, kind)
                cells[impl] = "err"
        if kind == "softmax" and "jax" in fns:
            for impl in mine:
                if impl in fns:
                    paired[impl] = paired_ratio(fns["jax"], fns[impl], 2 * opts.repeats + 1)
        label = ("W3 " if kind != "softmax" else "W4 ") + kind
        ratios = []
        for impl in mine:
            t, j = cells[impl], cells.get("jax")
            ok = isinstance(t, float)
            ratios.append(f"{t / bound:.2f}" if ok and kind != "softmax" else "-")
            ratios.append(f"{paired[impl]:.2f}" if impl in paired else "-")
            ratios.append(f"{j / t:.2f}" if ok and kind == "softmax" and isinstance(j, float)
                          else "-")
        rows.append([label, str(x.dtype), "ms"] + [H.fmt(cells[i], 1e3) for i in impls] + ratios)
    rows.append(["read bound (2 threads)", "float64", "ms"] +
                ["-" if i != "numpy" else H.fmt(bound, 1e3) for i in impls] +
                ["1.00", "-", "-"] * len(mine))
    ratio_names = []
    for impl in mine:
        at = impl[len("tjit"):]
        ratio_names += [f"tjit{at}/bound", f"paired{at}", f"jax/tjit{at}"]
    print(f"W3/W4, median of {opts.repeats} (ms; tjit threads={theano.config.threads}; "
          f"targets: W3 tjit/bound <= 1.3, W4 jax/tjit and paired > 1)")
    H.print_table(["workload", "dtype", "unit"] + impls + ratio_names, rows)


if __name__ == "__main__":
    main()
