"""Elementwise benchmark: tjit against NumPy (and PyTensor, JAX, Numba when installed).

    python bench/elementwise.py [--repeats 7] [--scale 1.0] [--cpus host,x86-64-v3]
                                [--w1-cpus x86-64] [--math exp,log,tanh,sin,cos,...]
                                [--math-only]

Prints one table of medians (after a warm-up call) for:
  W1   exp(-x*x)*a + log1p(abs(x))*0.5 - tanh(x), x and a vectors, n = 10**7,
       float64 and float32
  W2   sqrt(abs(m + r*c)), m float64 (4000, 2500), r a row (1, 2500), c a col (4000, 1)
  copy np.copyto of 10**7 float64 (read 80 MB + write 80 MB: W2's memory traffic),
       the memory-bandwidth bound measured in the same run; also into a new array
       (np.empty_like each time), which adds the page faults of a fresh output
  add  call overhead of a compiled function of two float64 scalars, microseconds per call
  math one library function f(x) over n = 10**7 values on 1 thread, float64 and float32
       (tjit's vector math library: float32 should take at most half float64's time
       where the vectors hold twice as many float32 lanes), with NumPy's time
tjit columns: one per --cpus value (tjit.config.cpu: the host and x86-64-v3, AVX2 +
FMA, by default), plus --w1-cpus (baseline x86-64, SSE2) for W1 and the math rows.
Every implementation's result is checked against NumPy before it is timed; a wrong
result shows WRONG instead of a time, a peer that fails shows 'err' (reason on stderr).
--scale shrinks the array sizes (e.g. 0.01 for a quick smoke run); --math-only
times just the math rows (e.g. --math-only --math arcsinh,arccosh,arctanh).
"""
from __future__ import annotations

import argparse
import importlib
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness as H  # noqa: E402


# --------------------------------------------------------------------------- NumPy
def w1_numpy(x, a):
    return np.exp(-x * x) * a + np.log1p(np.abs(x)) * 0.5 - np.tanh(x)


def w2_numpy(m, r, c):
    return np.sqrt(np.abs(m + r * c))


# --------------------------------------------------------------------------- tjit
def _tjit():
    return H.import_tjit()


def w1_tjit(x, a):
    theano, T = _tjit()
    vec = T.dvector if x.dtype == np.float64 else T.fvector
    xv, av = vec("x"), vec("a")
    out = T.exp(-xv * xv) * av + T.log1p(T.abs_(xv)) * 0.5 - T.tanh(xv)
    f = theano.function([xv, av], out)
    return lambda: f(x, a)


def w2_tjit(m, r, c):
    theano, T = _tjit()
    mv, rv, cv = T.dmatrix("m"), T.drow("r"), T.dcol("c")
    f = theano.function([mv, rv, cv], T.sqrt(T.abs_(mv + rv * cv)))
    return lambda: f(m, r, c)


def add_tjit():
    theano, T = _tjit()
    a, b = T.dscalars("a", "b")
    f = theano.function([a, b], a + b)
    return lambda: f(1.0, 2.0)


# --------------------------------------------------------------------------- PyTensor
# PyTensor >= 3 defaults to its Numba backend; "CVM" is the classic Theano default:
# fast_run rewrites (with elementwise fusion) and the C virtual machine, code compiled by g++.
PYTENSOR_MODE = "CVM"


def _pytensor():
    import pytensor
    import pytensor.tensor as pt

    return pytensor, pt


def w1_pytensor(x, a):
    pytensor, pt = _pytensor()
    vec = pt.dvector if x.dtype == np.float64 else pt.fvector
    xv, av = vec("x"), vec("a")
    out = pt.exp(-xv * xv) * av + pt.log1p(pt.abs(xv)) * 0.5 - pt.tanh(xv)
    f = pytensor.function([xv, av], out, mode=PYTENSOR_MODE)
    return lambda: f(x, a)


def w2_pytensor(m, r, c):
    pytensor, pt = _pytensor()
    mv, rv, cv = pt.dmatrix("m"), pt.drow("r"), pt.dcol("c")
    f = pytensor.function([mv, rv, cv], pt.sqrt(pt.abs(mv + rv * cv)), mode=PYTENSOR_MODE)
    return lambda: f(m, r, c)


def add_pytensor():
    pytensor, pt = _pytensor()
    a, b = pt.dscalars("a", "b")
    f = pytensor.function([a, b], a + b, mode=PYTENSOR_MODE)
    return lambda: f(1.0, 2.0)


# --------------------------------------------------------------------------- JAX
def _jax():
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    return jax, jnp


def w1_jax(x, a):
    jax, jnp = _jax()
    f = jax.jit(lambda x, a: jnp.exp(-x * x) * a + jnp.log1p(jnp.abs(x)) * 0.5 - jnp.tanh(x))
    xd, ad = jax.device_put(x), jax.device_put(a)
    return lambda: f(xd, ad).block_until_ready()


def w2_jax(m, r, c):
    jax, jnp = _jax()
    f = jax.jit(lambda m, r, c: jnp.sqrt(jnp.abs(m + r * c)))
    md, rd, cd = jax.device_put(m), jax.device_put(r), jax.device_put(c)
    return lambda: f(md, rd, cd).block_until_ready()


def add_jax():
    jax, jnp = _jax()
    f = jax.jit(lambda a, b: a + b)
    return lambda: f(1.0, 2.0).block_until_ready()


# --------------------------------------------------------------------------- Numba
_NUMBA = {}


def _numba():
    """Numba kernels: plain @njit loops, fastmath off, serial."""
    if not _NUMBA:
        from numba import njit

        @njit(fastmath=False)
        def w1(x, a):
            out = np.empty_like(x)
            for i in range(x.shape[0]):
                xi = x[i]
                out[i] = math.exp(-xi * xi) * a[i] + math.log1p(abs(xi)) * 0.5 - math.tanh(xi)
            return out

        @njit(fastmath=False)
        def w2(m, r, c):
            out = np.empty_like(m)
            rows, cols = m.shape
            for i in range(rows):
                ci = c[i, 0]
                for j in range(cols):
                    out[i, j] = math.sqrt(abs(m[i, j] + r[0, j] * ci))
            return out

        @njit(fastmath=False)
        def add(a, b):
            return a + b

        _NUMBA.update(w1=w1, w2=w2, add=add)
    return _NUMBA


def w1_numba(x, a):
    f = _numba()["w1"]
    return lambda: f(x, a)


def w2_numba(m, r, c):
    f = _numba()["w2"]
    return lambda: f(m, r, c)


def add_numba():
    f = _numba()["add"]
    return lambda: f(1.0, 2.0)


# --------------------------------------------------------------------------- math
MATH = ("exp", "log", "tanh", "sin", "cos", "sigmoid", "log1p", "expm1", "erf", "erfc",
        "pow", "arcsin", "arctan", "arcsinh", "arccosh", "arctanh", "erfinv", "erfcinv",
        "gamma", "gammaln", "psi", "i0", "i1", "j0", "j1")
SCIPY = ("erf", "erfc", "erfinv", "erfcinv", "gamma", "gammaln", "psi", "i0", "i1", "j0", "j1")


def math_input(name, n, dtype, rng):
    """Inputs in each function's useful range (log: positive, log1p: above -1,
    arcsin, arctanh, erfinv: [-1, 1], arccosh: [1, 13], erfcinv: [0, 2], gamma,
    gammaln, psi: [0.1, 10], Bessel functions: [-20, 20], both sides of their
    expansions' switch); pow: a pair (x in [0.1, 10], y in [-8, 8])."""
    low = {"log": 0.05, "log1p": -0.9, "pow": 0.1, "arcsin": -1.0, "arctanh": -1.0,
           "arccosh": 1.0, "erfinv": -1.0, "erfcinv": 0.0, "gamma": 0.1, "gammaln": 0.1,
           "psi": 0.1, "i0": -20.0, "i1": -20.0, "j0": -20.0, "j1": -20.0}.get(name, -6.0)
    high = {"pow": 10.0, "arcsin": 1.0, "arctanh": 1.0, "arccosh": 13.0, "erfinv": 1.0,
            "erfcinv": 2.0, "gamma": 10.0, "gammaln": 10.0, "psi": 10.0, "i0": 20.0,
            "i1": 20.0, "j0": 20.0, "j1": 20.0}.get(name, 6.0)
    x = rng.uniform(low, high, n).astype(dtype)
    if name == "pow":
        return x, rng.uniform(-8.0, 8.0, n).astype(dtype)
    return x


def math_numpy(name, x):
    if name == "sigmoid":
        return 1 / (1 + np.exp(-x))
    if name == "pow":
        return np.power(*x)
    if name in SCIPY:
        import scipy.special

        return getattr(scipy.special, name)(x)
    return getattr(np, name)(x)


def math_tjit(name, x):
    theano, T = _tjit()
    args = x if isinstance(x, tuple) else (x,)
    vs = [T.vector(v, dtype=a.dtype.name) for v, a in zip("xy", args)]
    fn = T.nnet.sigmoid if name == "sigmoid" else getattr(T, name)
    with theano.config.change_flags(threads=1):
        f = theano.function(vs, fn(*vs))
    return lambda: f(*args)


def paired_medians(fns, repeats):
    """Median time of each of `fns`, timed in turn (a, b, a, b, ...) so that the
    load of a shared machine falls on all of them alike."""
    for fn in fns:
        fn()
    H.settle()
    times = [[] for _ in fns]
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return [sorted(t)[len(t) // 2] for t in times]


# --------------------------------------------------------------------------- driver
BUILDERS = {
    "tjit": dict(w1=w1_tjit, w2=w2_tjit, add=add_tjit),
    "numpy": dict(
        w1=lambda x, a: (lambda: w1_numpy(x, a)),
        w2=lambda m, r, c: (lambda: w2_numpy(m, r, c)),
        add=lambda: (lambda: np.add(1.0, 2.0)),
    ),
    "pytensor": dict(w1=w1_pytensor, w2=w2_pytensor, add=add_pytensor),
    "jax": dict(w1=w1_jax, w2=w2_jax, add=add_jax),
    "numba": dict(w1=w1_numba, w2=w2_numba, add=add_numba),
}


def run_one(impl, kind, args, expected, dtype, skips, repeats, per_call=False):
    """Build, check and time one implementation. Returns (time or marker, first-call s).
    'tjit @cpu' compiles for tjit.config.cpu=cpu."""
    name, cpu = H.split_cpu(impl)
    if cpu:
        tjit, _ = _tjit()
        with H.on_cpu(tjit, cpu):
            return run_one(name, kind, args, expected, dtype, skips, repeats, per_call)
    try:
        t0 = time.perf_counter()
        fn = BUILDERS[impl][kind](*args)
        result = fn()
        first = time.perf_counter() - t0
    except Exception as exc:  # a failing implementation is skipped, not fatal
        skips.note(impl, exc, context(impl))
        return "err", None
    if not H.same(result, expected, dtype):
        return H.WRONG, first
    del result
    try:
        if per_call:
            return H.median_time_per_call(fn, repeats=repeats), first
        return H.median_time(fn, repeats=repeats), first
    except Exception as exc:
        skips.note(impl, exc)
        return "err", first


def context(impl):
    """Versions worth knowing when `impl` fails (Numba pins its llvmlite minor version)."""
    if impl == "numba":
        return f"numba {version_of('numba')} with llvmlite {version_of('llvmlite')}"
    return ""


def version_of(name):
    try:
        return importlib.import_module(name).__version__
    except Exception as exc:  # noqa: BLE001
        return f"unavailable ({type(exc).__name__})"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7, help="timed runs per cell (median)")
    ap.add_argument("--scale", type=float, default=1.0, help="shrink array sizes (quick runs)")
    H.add_cpus_argument(ap)
    ap.add_argument("--w1-cpus", default="x86-64",
                    help="more tjit.config.cpu columns for W1 and the math rows only")
    ap.add_argument("--math", default=",".join(MATH),
                    help="library functions timed float64 vs float32 ('' for none)")
    ap.add_argument("--math-only", action="store_true",
                    help="time only the math rows (no W1, W2, copy bound, call overhead)")
    opts = ap.parse_args(argv)

    peers = H.installed_peers()
    tjit_mod, _ = _tjit()
    cpus = H.other_cpus(tjit_mod, opts.cpus)
    w1_only = [c for c in H.other_cpus(tjit_mod, opts.w1_cpus) if c not in cpus]
    tjit_cols = ["tjit"] + [f"tjit @{c}" for c in cpus]
    w1_cols = [f"tjit @{c}" for c in w1_only]
    impls = tjit_cols + w1_cols + ["numpy"] + peers
    skips = H.Skips()
    rng = np.random.default_rng(0)
    rows = []  # (workload, dtype, unit, {impl: value}, scale)
    compile_times = []  # (label, seconds)

    n1 = max(1, int(10**7 * opts.scale))
    rows2 = max(1, int(4000 * math.sqrt(opts.scale)))
    cols2 = max(1, int(2500 * math.sqrt(opts.scale)))

    def bench_row(label, dtype, unit, kind, args, expected, per_call=False):
        cells = {}
        for impl in impls:
            if impl in w1_cols and kind != "w1":
                continue
            value, first = run_one(impl, kind, args, expected, dtype, skips, opts.repeats, per_call)
            cells[impl] = value
            if impl == "tjit" and first is not None:
                compile_times.append((f"{label} {dtype}", first))
        rows.append((label, dtype, unit, cells))
        return cells

    # the workloads (skipped by --math-only)
    scaling, w1_cells, w2, add, bound = {}, {}, {}, {}, None
    if not opts.math_only:
        # W1: float64 and float32; tjit also on one thread, for its scaling
        for dtype in ("float64", "float32"):
            x = rng.standard_normal(n1).astype(dtype)
            a = rng.standard_normal(n1).astype(dtype)
            label = f"W1 n={n1:.0e}".replace("+0", "")
            cells = w1_cells[dtype] = bench_row(label, dtype, "ms", "w1", (x, a), w1_numpy(x, a))
            theano, _ = _tjit()
            with theano.config.change_flags(threads=1):
                one, _ = run_one("tjit", "w1", (x, a), w1_numpy(x, a), dtype, skips, opts.repeats)
            rows.append(("  tjit on 1 thread", dtype, "ms", {"tjit": one}))
            if isinstance(one, float) and isinstance(cells.get("tjit"), float):
                scaling[dtype] = one / cells["tjit"]
            del x, a

        # W2: matrix + row * col
        m = rng.standard_normal((rows2, cols2))
        r = rng.standard_normal((1, cols2))
        c = rng.standard_normal((rows2, 1))
        w2_label = f"W2 ({rows2},{cols2})"
        w2 = bench_row(w2_label, "float64", "ms", "w2", (m, r, c), w2_numpy(m, r, c))
        del m, r, c

        # memory-bandwidth reference: W2 reads m and writes the result (80 MB + 80 MB)
        src = rng.standard_normal(rows2 * cols2)
        dst = np.zeros_like(src)
        bound = H.median_time(lambda: np.copyto(dst, src), repeats=opts.repeats)
        traffic_mb = (src.nbytes + dst.nbytes) / 1e6
        rows.append((f"copy {traffic_mb:.0f} MB (bound)", "float64", "ms", {"numpy": bound}))
        # the same copy into a new array, as a function returning a fresh result must do:
        # it adds the page faults of the new output (NumPy asks for huge pages on Linux)
        bound_new = H.median_time(lambda: np.copyto(np.empty_like(src), src), repeats=opts.repeats)
        rows.append(("  same, new output", "float64", "ms", {"numpy": bound_new}))
        del src, dst

        # call overhead: two float64 scalars
        add = bench_row("call a+b (scalars)", "float64", "us", "add", (), np.float64(3.0), per_call=True)

    # math library: float64 vs float32, one thread, each tjit target
    math_ratios = []    # (name, column, float64 / float32 time)
    n_math = max(1, int(10**7 * opts.scale))
    math_cols = tjit_cols + w1_cols
    for name in [m for m in opts.math.split(",") if m]:
        cells = {dt: {} for dt in ("float64", "float32")}
        xs = {dt: math_input(name, n_math, dt, np.random.default_rng(1)) for dt in cells}
        for col in math_cols + ["numpy"]:
            fns = []
            for dt in cells:
                x = xs[dt]
                if col == "numpy":
                    fns.append(lambda x=x: math_numpy(name, x))
                    continue
                _, cpu = H.split_cpu(col)
                try:
                    with H.on_cpu(tjit_mod, cpu):
                        fn = math_tjit(name, x)
                    with np.errstate(all="ignore"):
                        ok = H.same(fn(), math_numpy(name, x), dt)
                except Exception as exc:  # noqa: BLE001
                    skips.note(col, exc)
                    fn, ok = None, False
                fns.append(fn if ok else None)
            if None in fns:
                for dt in cells:
                    cells[dt][col] = H.WRONG
                continue
            with np.errstate(all="ignore"):
                t64, t32 = paired_medians(fns, opts.repeats)
            cells["float64"][col], cells["float32"][col] = t64, t32
            if col != "numpy":
                math_ratios.append((name, col, t64 / t32))
        for dt in cells:
            rows.append((f"math {name} 1T n={n_math:.0e}".replace("+0", ""), dt, "ms", cells[dt]))
        del xs

    # ---------------------------------------------------------------- the table
    header = ["workload", "dtype", "unit"] + impls + ["numpy/tjit"]
    table = []
    for label, dtype, unit, cells in rows:
        scale = 1e6 if unit == "us" else 1e3
        line = [label, dtype, unit] + [H.fmt(cells.get(i), scale) for i in impls]
        t, npy = cells.get("tjit"), cells.get("numpy")
        if isinstance(t, float) and isinstance(npy, float) and t > 0:
            line.append(f"{npy / t:.2f}x")
        else:
            line.append("-")
        table.append(line)
    print()
    H.print_table(header, table)
    print()

    # ---------------------------------------------------------------- notes
    if bound is not None:
        print(f"memory bound: copy of {traffic_mb:.0f} MB = {bound * 1e3:.2f} ms "
              f"({traffic_mb / 1e3 / bound:.1f} GB/s)", end="")
        print(f", {bound_new * 1e3:.2f} ms into a new array", end="")
        if isinstance(w2.get("tjit"), float):
            print(f"; tjit W2 = {w2['tjit'] / bound:.2f}x the bound")
        else:
            print()
    if compile_times:
        print("tjit compile (theano.function + first call): "
              + ", ".join(f"{k} {v * 1e3:.0f} ms" for k, v in compile_times))
    for dtype, cells in w1_cells.items():
        t, npy, jx = cells.get("tjit"), cells.get("numpy"), cells.get("jax")
        if isinstance(t, float) and isinstance(npy, float):
            verdict = "ok" if npy / t >= 4 and (not isinstance(jx, float) or t < jx) else "MISSED"
            jax_text = f", JAX {jx / t:.2f}x slower" if isinstance(jx, float) else ""
            print(f"target W1 {dtype} >= 4x NumPy and faster than JAX: {npy / t:.2f}x NumPy"
                  f"{jax_text} {verdict}")
    theano, _ = _tjit()
    for dtype, ratio in scaling.items():
        print(f"W1 {dtype}: {theano.config.threads} threads are {ratio:.2f}x faster than 1 "
              f"(target >= 1.8x: {'ok' if ratio >= 1.8 else 'MISSED'})")
    t2, n2 = w2.get("tjit"), w2.get("numpy")
    if isinstance(t2, float) and isinstance(n2, float):
        ok = n2 / t2 >= 4
        print(f"target W2 >= 4x faster than NumPy: {n2 / t2:.2f}x {'ok' if ok else 'MISSED'}")
    for name, col, ratio in math_ratios:
        target = col in tjit_cols and ("@" not in col or col.endswith(("x86-64-v3", "x86-64-v4")))
        verdict = ("ok" if ratio >= 2.0 else "within 5%" if ratio >= 1.9 else "MISSED"
                   ) if target else "(no target: SSE2)"
        print(f"math {name}: {col} float64/float32 time = {ratio:.2f}x "
              f"(target on the host and x86-64-v3: >= 2x) {verdict}")
    ta = add.get("tjit")
    if isinstance(ta, float):
        ok = ta < 10e-6
        print(f"target call overhead < 10 us: {ta * 1e6:.2f} us {'ok' if ok else 'MISSED'}")
    print("versions: numpy " + np.__version__
          + "".join(f", {p} {version_of(p)}" for p in peers)
          + f"; repeats {opts.repeats} (median after warm-up)")
    print(f"pytensor: mode {PYTENSOR_MODE!r} (C backend); jax: jit, x64 on; "
          "numba: serial @njit loops, fastmath off")
    return 0


if __name__ == "__main__":
    sys.exit(main())
