"""Compile-time benchmark W8: a chain of 50 elementwise ops over 3 vector inputs.

    python bench/compile.py [--repeats 5]

Each measurement runs in a fresh Python process (imports, and for tjit and
PyTensor the symbolic graph, built before the clock starts) and times compiling
the function plus its first call on 1000 elements (JAX traces and Numba types
the Python function inside the clock: that is their compile):
  tjit cold            empty compile cache (the math library is compiled too)
  tjit cold kernel     the math library cached, the kernel not (a new constant)
  tjit warm            everything in the on-disk cache
  tjit in-process      a new kernel in a process that already compiled one (no
                       one-time costs: LLVM's first code generation, imports)
each for FAST_RUN and FAST_COMPILE (target: FAST_COMPILE 5x faster), and the
peers (PyTensor C backend, Numba, JAX) compiling the same chain, each with its
own caches disabled or fresh. Prints one table of medians.

Subprocesses run with Python's bytecode cache enabled (as an installed package
would; PYTHONDONTWRITEBYTECODE would otherwise recompile tjit's sources on every
import, inside the clock) after one untimed import.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness as H  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHAIN = """
def chain(x, y, z, exp, tanh, absolute, c):
    e = x
    for i in range(50):
        k = i % 5
        if k == 0: e = e * y + z
        elif k == 1: e = exp(-e * e)
        elif k == 2: e = e - x * c
        elif k == 3: e = tanh(e) + z
        else: e = absolute(e) * y
    return e
"""

SCRIPTS = {
    "tjit": """
import tjit as theano, tjit.tensor as T
x, y, z = T.dvectors('x', 'y', 'z')
out = chain(x, y, z, T.exp, T.tanh, abs, C)   # the graph, built before the clock
def run():
    f = theano.function([x, y, z], out, mode=MODE)
    return f(v, v, v)
""",
    # one compile untimed, then REPEATS new kernels (new constants): the median
    "tjit-inprocess": """
import tjit as theano, tjit.tensor as T
x, y, z = T.dvectors('x', 'y', 'z')
theano.function([x, y, z], chain(x, y, z, T.exp, T.tanh, abs, C), mode=MODE)(v, v, v)
outs = [chain(x, y, z, T.exp, T.tanh, abs, C + 1 + k) for k in range(REPEATS)]
def run():
    times = []
    for out in outs:
        t0 = time.perf_counter()
        theano.function([x, y, z], out, mode=MODE)(v, v, v)
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]
""",
    "pytensor": """
import pytensor, pytensor.tensor as pt
x, y, z = pt.dvectors('x', 'y', 'z')
out = chain(x, y, z, pt.exp, pt.tanh, abs, C)
def run():
    f = pytensor.function([x, y, z], out, mode='CVM')
    return f(v, v, v)
""",
    "jax": """
import jax, jax.numpy as jnp
jax.config.update('jax_enable_x64', True)
def run():
    f = jax.jit(lambda x, y, z: chain(x, y, z, jnp.exp, jnp.tanh, jnp.abs, C))
    return f(v, v, v).block_until_ready()
""",
    "numba": """
import math
from numba import njit
def run():
    @njit
    def f(x, y, z):
        out = np.empty_like(x)
        for i in range(x.shape[0]):
            out[i] = chain(x[i], y[i], z[i], math.exp, math.tanh, abs, C)
        return out
    return f(v, v, v)
""",
}

TEMPLATE = """
import time, numpy as np
{chain}
C = {c}
MODE = {mode!r}
REPEATS = {repeats}
v = np.linspace(-1, 1, 1000)
{body}
t0 = time.perf_counter()
r = run()
print(r if isinstance(r, float) else time.perf_counter() - t0)   # in-process: its own median
"""


def measure(impl, env, c=0.5, mode="FAST_RUN", repeats=5):
    body = SCRIPTS[impl]
    if impl == "numba":
        # numba needs the chain as a jitted function to inline it
        body = body.replace("import math\n", "import math\nfrom numba import njit\n"
                            "chain = njit(chain)\n")
    script = TEMPLATE.format(chain=CHAIN, c=c, mode=mode, repeats=repeats,
                             body=textwrap.dedent(body))
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr else "failed")
    return float(out.stdout.strip().splitlines()[-1])


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def tjit_rows(base, repeats, mode):
    """(cold, cold kernel, warm, in-process) medians of tjit in `mode`."""
    cold, cold_kernel, warm = [], [], []
    for k in range(repeats):
        cache = tempfile.mkdtemp(prefix="tjit-bench-")
        try:
            env = dict(base, TJIT_CACHE_DIR=cache)
            cold.append(measure("tjit", env, c=0.5, mode=mode))
            cold_kernel.append(measure("tjit", env, c=0.25 + k, mode=mode))  # library cached
            warm.append(measure("tjit", env, c=0.25 + k, mode=mode))
        finally:
            shutil.rmtree(cache, ignore_errors=True)
    cache = tempfile.mkdtemp(prefix="tjit-bench-")
    try:
        inprocess = measure("tjit-inprocess", dict(base, TJIT_CACHE_DIR=cache), c=0.5,
                            mode=mode, repeats=repeats)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return [median(cold), median(cold_kernel), median(warm), inprocess]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    opts = ap.parse_args(argv)
    base = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    base.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([sys.executable, "-c", "import tjit.codegen.emit, tjit.codegen.mathlib_scalar"],
                   env=base, check=True)     # bytecode written once, outside the clock
    labels = ["tjit cold (empty cache)", "tjit cold kernel (math library cached)",
              "tjit warm (fresh process, cached)", "tjit in-process (a new kernel, no one-time costs)"]
    fast_run = tjit_rows(base, opts.repeats, "FAST_RUN")
    fast_compile = tjit_rows(base, opts.repeats, "FAST_COMPILE")
    rows = [[label, f"{r * 1e3:.1f}", f"{c * 1e3:.1f}", f"{r / c:.1f}x"]
            for label, r, c in zip(labels, fast_run, fast_compile)]

    for impl in H.installed_peers():
        times = []
        try:
            for k in range(opts.repeats):
                cache = tempfile.mkdtemp(prefix=f"{impl}-bench-")
                env = dict(base, PYTENSOR_FLAGS=f"base_compiledir={cache}",
                           NUMBA_CACHE_DIR=cache, JAX_COMPILATION_CACHE_DIR=cache)
                try:
                    times.append(measure(impl, env, c=0.5 + k))
                finally:
                    shutil.rmtree(cache, ignore_errors=True)
            rows.append([f"{impl} (fresh process, no cache)", f"{median(times) * 1e3:.1f}",
                         "-", "-"])
        except Exception as exc:  # a failing peer is reported, not fatal
            rows.append([f"{impl}: {exc}", "-", "-", "-"])

    print()
    H.print_table(["W8: 50 chained elementwise ops, build + first call", "FAST_RUN ms",
                   "FAST_COMPILE ms", "FAST_RUN/FAST_COMPILE"], rows)
    print()
    cold_kernel, warm = fast_run[1], fast_run[2]
    print(f"target cold compile < 100 ms: {cold_kernel * 1e3:.0f} ms "
          f"{'ok' if cold_kernel < 0.1 else 'MISSED'} (kernel not cached; "
          f"{fast_run[0] * 1e3:.0f} ms when the math library is built too, once per machine)")
    print(f"target warm < 10 ms in a fresh process: {warm * 1e3:.1f} ms "
          f"{'ok' if warm < 0.01 else 'MISSED'}")
    for label, r, c in zip(("cold", "cold kernel", "in-process"),
                           (fast_run[0], fast_run[1], fast_run[3]),
                           (fast_compile[0], fast_compile[1], fast_compile[3])):
        print(f"target FAST_COMPILE >= 5x faster ({label}): {r / c:.1f}x "
              f"{'ok' if r >= 5 * c else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
