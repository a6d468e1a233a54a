"""Random-number benchmark (W7): tjit against NumPy (and PyTensor, JAX, Numba when installed).

    python bench/random_draws.py [--repeats 7] [--scale 1.0] [--threads N] [--cpus host,x86-64-v3]

Prints one table of medians (after a warm-up call) of drawing n = 10**7 float64
  uniform  uniforms on [0, 1)
  normal   standard normals
from a compiled function per implementation:
  tjit      RandomStreams (Philox4x32-10, native, config.threads threads; "1T":
            one thread) and MRG_RandomStreams (MRG31k3p in Theano's layout,
            its default 60*256 substreams: a native uniform kernel; the normal
            is that draw plus one native Box-Muller kernel)
  numpy     np.random.default_rng (PCG64): rng.random(n), rng.standard_normal(n)
  pytensor  RandomStream, mode CVM (its random ops run NumPy's generators)
  jax       jax.random.uniform / normal under jit (threefry), block_until_ready
  numba     @njit np.random.random(n) / np.random.standard_normal(n)
Streams differ, so results are checked statistically (shape, dtype, mean and
standard deviation within 6 standard errors): a failing one shows WRONG.
Ratios are against NumPy; "MRG/Philox" is tjit MRG's time over tjit's (the
goal: at most 1.5). --scale shrinks n (e.g. 0.01 for a smoke run). With
tjit.config.cpu (when this tree has the flag), the tjit columns are repeated for
each of --cpus (default: host and x86-64-v3), side by side.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness as H  # noqa: E402

MOMENTS = {"uniform": (0.5, np.sqrt(1 / 12)), "normal": (0.0, 1.0)}


def plausible(result, n, dist):
    r = np.asarray(result)
    if r.shape != (n,) or r.dtype != np.float64 or not np.isfinite(r).all():
        return False
    mean, std = MOMENTS[dist]
    se = std / np.sqrt(n)
    if dist == "uniform" and (r.min() < 0 or r.max() >= 1):
        return False
    return abs(r.mean() - mean) < 6 * se + 1e-3 * (n < 1000) and abs(r.std() - std) < 0.05 * std


# ---- builders: (n, dist) -> a callable drawing once ---------------------------------
def tjit_philox(n, dist):
    tjit, T = H.import_tjit()
    from tjit.tensor.shared_randomstreams import RandomStreams
    rs = RandomStreams(1234)
    f = tjit.function([], getattr(rs, dist)((n,), dtype="float64"))
    return f


def tjit_philox_1thread(n, dist):
    tjit, T = H.import_tjit()
    f = tjit_philox(n, dist)

    def one_thread():
        with tjit.config.change_flags(threads=1):
            return f()
    return one_thread


def tjit_mrg(n, dist):
    tjit, T = H.import_tjit()
    from tjit.sandbox.rng_mrg import MRG_RandomStreams
    rs = MRG_RandomStreams(1234)
    return tjit.function([], getattr(rs, dist)((n,), dtype="float64"))


def tjit_mrg_1thread(n, dist):
    tjit, T = H.import_tjit()
    f = tjit_mrg(n, dist)

    def one_thread():
        with tjit.config.change_flags(threads=1):
            return f()
    return one_thread


def numpy_pcg64(n, dist):
    rng = np.random.default_rng(1234)
    draw = rng.random if dist == "uniform" else rng.standard_normal
    return lambda: draw(n)


def pytensor_streams(n, dist):
    import pytensor
    from pytensor.tensor.random.utils import RandomStream
    rs = RandomStream(1234)
    x = rs.uniform(0.0, 1.0, size=(n,)) if dist == "uniform" else rs.normal(0.0, 1.0, size=(n,))
    return pytensor.function([], x, mode="CVM")


def jax_random(n, dist):
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    draw = jax.random.uniform if dist == "uniform" else jax.random.normal
    f = jax.jit(lambda key: draw(key, (n,), dtype=jnp.float64))
    key = jax.random.PRNGKey(1234)
    return lambda: f(key).block_until_ready()


def numba_random(n, dist):
    from numba import njit

    @njit
    def uniform(n):
        return np.random.random(n)

    @njit
    def normal(n):
        return np.random.standard_normal(n)

    f = uniform if dist == "uniform" else normal
    return lambda: f(n)


BUILDERS = {"tjit": tjit_philox, "tjit 1T": tjit_philox_1thread, "tjit MRG": tjit_mrg,
            "tjit MRG 1T": tjit_mrg_1thread, "numpy": numpy_pcg64,
            "pytensor": pytensor_streams, "jax": jax_random, "numba": numba_random}


def run_one(impl, n, dist, skips, repeats):
    impl, cpu = H.split_cpu(impl)
    if cpu:
        tjit, _ = H.import_tjit()
        with H.on_cpu(tjit, cpu):
            return run_one(impl, n, dist, skips, repeats)
    try:
        fn = BUILDERS[impl](n, dist)
        result = fn()
    except Exception as exc:  # a failing implementation is skipped, not fatal
        skips.note(impl, exc)
        return "err"
    if not plausible(result, n, dist):
        return H.WRONG
    del result
    return H.median_time(fn, repeats=repeats)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7, help="timed runs per cell (median)")
    ap.add_argument("--scale", type=float, default=1.0, help="shrink n (quick runs)")
    ap.add_argument("--threads", type=int, default=None, help="tjit.config.threads")
    H.add_cpus_argument(ap)
    opts = ap.parse_args(argv)
    tjit, _ = H.import_tjit()
    if opts.threads:
        tjit.config.threads = opts.threads
    n = max(1000, int(10 ** 7 * opts.scale))
    mine = ["tjit", "tjit 1T", "tjit MRG", "tjit MRG 1T"]
    impls = list(mine)
    for cpu in H.other_cpus(tjit, opts.cpus):
        impls += [f"{i} @{cpu}" for i in mine]
    impls += ["numpy"] + H.installed_peers()
    skips = H.Skips()
    rows = []
    for dist in ("uniform", "normal"):
        cells = {impl: run_one(impl, n, dist, skips, opts.repeats) for impl in impls}
        rows.append((dist, cells))
    print(f"W7: {n} float64 random numbers, median of {opts.repeats} (ms; "
          f"tjit threads={tjit.config.threads}; ratio = NumPy time / time, > 1 is faster)")
    pairs = [(i, i.replace("MRG", "").replace("  ", " ").strip()) for i in impls if "MRG" in i]
    header = (["workload", "dtype", "unit"] + impls + [f"numpy/{i}" for i in impls if i != "numpy"]
              + [a.replace("tjit MRG", "MRG/Philox") for a, _ in pairs])
    table = []
    for dist, cells in rows:
        ratios = []
        for impl in impls:
            if impl == "numpy":
                continue
            a, b = cells["numpy"], cells[impl]
            ok = not isinstance(a, str) and not isinstance(b, str)
            ratios.append(f"{a / b:.2f}x" if ok else "-")
        for mrg_impl, philox_impl in pairs:
            a, b = cells[mrg_impl], cells[philox_impl]
            ok = not isinstance(a, str) and not isinstance(b, str)
            ratios.append(f"{a / b:.2f}" if ok else "-")
        table.append([dist, "float64", "ms"] + [H.fmt(cells[i], 1e3) for i in impls] + ratios)
    H.print_table(header, table)



if __name__ == "__main__":
    main()
