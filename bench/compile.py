"""Compile-time benchmark W8: a chain of 50 elementwise ops over 3 vector inputs.

    python bench/compile.py [--repeats 5] [--cpus host,x86-64-v3]

Each measurement runs in a fresh Python process. Inside the clock: tjit.function
(checks, rewrites, linking, and any module tjit imports lazily on the way; for
native modes also the graph cache's key and lookup, lowering, LLVM, object and
graph cache I/O and loading into the JIT) plus the first call on 1000 elements.
Outside it: the interpreter's start, `import tjit, tjit.tensor` and building the
symbolic graph (for PyTensor: its import and graph; JAX traces and Numba types
the Python function inside the clock: that is their compile):
  tjit cold            empty compile cache (the math library is compiled too)
  tjit cold kernel     the math library cached, the kernel not (a new constant)
  tjit warm            everything in the on-disk cache (object code, and the
                       rewritten graph with its launches: no rewrites, no lowering)
  tjit in-process      a new kernel in a process that already compiled one (no
                       one-time costs: LLVM's first code generation, imports)
each for three modes:
  FAST_RUN             every rewrite, native code at LLVM O3, tiered
                       (tjit/link/tiers.py): a cold function returns with
                       level-0 code and its O3 code is built on a background
                       thread, so two more FAST_RUN rows:
    tjit cold, O3 in place   the same clock, stopped once the O3 code runs
                             (tjit.compile.wait_for_tier_up())
    tjit cold, tiering off   TJIT_FLAGS=tiered=False: O3 built before the call
  FAST_COMPILE         Theano's: the fast_compile rewrites and the Python linker
                       (each node runs its NumPy perform; nothing is compiled or
                       cached, so its cold, cold kernel and warm rows are alike)
  native level 0       Mode(linker="native", optimizer="fast_compile"): the
                       fast_compile rewrites plus fusion, native code at LLVM level 0
(target: FAST_COMPILE >= 5x below FAST_RUN), a second table: 10 different
functions compiled and called in a row in one process, from after the imports to
the end of the process (its exit hook finishing queued O3 builds included), tiered
and not; and the peers (PyTensor C backend, Numba, JAX) compiling the same chain,
each with its own caches disabled or fresh. Prints one table of medians, tjit's
columns for each of --cpus (TJIT_FLAGS=cpu=...; FAST_COMPILE runs no native code,
so its columns differ only by noise), then the stages of tjit's time (host CPU,
medians of the calling thread's CPU time, exclusive: a stage's time excludes the
stages it calls), and the CPU time of each tjit row (steadier than wall time
when the machine is shared):
  key          the graph cache's structure key and lookup (tjit/graph_cache.py)
  rewrites     the pass pipeline
  lowering     node -> loop-IR kernel
  LLVM kernel  emitting, optimizing and code generation of the kernel
  math library building (or loading) the math functions the kernel calls
  cache I/O    reading/writing object code and graph entries
  JIT load     compile_kernel's remainder: the engine, linking object code
  first call   the call after tjit.function returned
  other        the rest of tjit.function (signature checks, layout, the py
               linker's thunks, Python)

The stage table counts the calling thread's CPU time only: a tiered function's
background O3 build runs outside the clock (the CPU table below, process CPU
time, counts it). TJIT_FLAGS=tiered=False gives the untiered stages.

Subprocesses run with Python's bytecode cache enabled (as an installed package
would; PYTHONDONTWRITEBYTECODE would otherwise recompile tjit's sources on every
import, inside the clock) after one untimed import.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time

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

# Exclusive CPU time per stage: each wrapped function's time minus its wrapped
# callees' (CPU time: steady on a shared machine; on a quiet one it is the wall time).
# Wrappers are installed before the clock; a name missing in this tree is skipped.
STAGE_TIMER = """
import importlib, json, threading
STAGES = {}
_stack = []
def _wrap(modname, attr, stage):
    try:
        mod = importlib.import_module(modname)
        fn = getattr(mod, attr)
    except (ImportError, AttributeError):
        return
    def timed(*a, **k):
        if threading.current_thread() is not threading.main_thread():
            return fn(*a, **k)      # a background O3 build: outside the clock
        _stack.append(0.0)
        t = time.thread_time()
        try:
            return fn(*a, **k)
        finally:
            dt = time.thread_time() - t
            inner = _stack.pop()
            STAGES[stage] = STAGES.get(stage, 0.0) + dt - inner
            if _stack:
                _stack[-1] += dt
    setattr(mod, attr, timed)
for _m, _a, _s in [
        ("tjit.graph_cache", "structure_key", "key"), ("tjit.graph_cache", "lookup", "key"),
        ("tjit.function", "optimize", "rewrites"), ("tjit.link.linker", "lower", "lowering"),
        ("tjit.link.linker", "compile_kernel", "JIT load"),
        ("tjit.codegen.jit", "_build", "LLVM kernel"),
        ("tjit.codegen.mathlib", "ensure_loaded", "math library"),
        ("tjit.codegen.mathlib_scalar", "ensure_loaded", "math library"),
        ("tjit.codegen.cache", "load", "cache I/O"), ("tjit.codegen.cache", "store", "cache I/O"),
        ("tjit.graph_cache", "_load", "cache I/O"), ("tjit.graph_cache", "_write", "cache I/O"),
        ("tjit.graph_cache", "store", "cache I/O")]:
    _wrap(_m, _a, _s)
"""

SCRIPTS = {
    "tjit": """
import tjit as theano, tjit.tensor as T
x, y, z = T.dvectors('x', 'y', 'z')
out = chain(x, y, z, T.exp, T.tanh, abs, C)   # the graph, built before the clock
""" + STAGE_TIMER + """
def run():
    t0 = time.thread_time()
    f = theano.function([x, y, z], out, mode=MODE)
    t1 = time.thread_time()
    f(v, v, v)
    STAGES["first call"] = time.thread_time() - t1
    STAGES["function"] = t1 - t0
def tier_up():      # the O3 code in place (None: a tree without tiering)
    try:
        from tjit.link import tiers
    except ImportError:
        return None
    tiers.wait_for_tier_up()
    return time.perf_counter()
""",
    # 10 different functions compiled and called in a row; the parent clocks the
    # process from START (after the imports) to its end, exit hooks included
    "tjit-many": """
import tjit as theano, tjit.tensor as T
x, y, z = T.dvectors('x', 'y', 'z')
outs = [chain(x, y, z, T.exp, T.tanh, abs, C + k) * (k + 2) for k in range(10)]
print("START", time.time(), flush=True)
def run():
    for out in outs:
        theano.function([x, y, z], out, mode=MODE)(v, v, v)
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

NATIVE_LEVEL0 = "native level 0"    # Mode(linker="native", optimizer="fast_compile")

TEMPLATE = """
import time, numpy as np
NATIVE_LEVEL0 = {native!r}
{chain}
C = {c}
MODE = {mode!r}
if MODE == NATIVE_LEVEL0:
    import tjit
    MODE = tjit.Mode(linker="native", optimizer="fast_compile")
REPEATS = {repeats}
v = np.linspace(-1, 1, 1000)
{body}
t0, c0 = time.perf_counter(), time.process_time()
r = run()
t = r if isinstance(r, float) else time.perf_counter() - t0   # in-process: its own median
if "tier_up" in globals():
    done = tier_up()
    if done is not None:
        print("O3", done - t0)
if "STAGES" in globals():
    print("STAGES " + json.dumps(STAGES))
print("CPU", time.process_time() - c0)
print(t)
"""


def measure(impl, env, c=0.5, mode="FAST_RUN", repeats=5, stages=None, cpu=None, o3=None):
    """Seconds of one fresh-process measurement; tjit's stage times (seconds)
    are appended to `stages`, the process's CPU time inside the clock to
    `cpu`, and the time until the O3 code was in place to `o3`, if given. For
    "tjit-many": from the script's START line to the end of the process."""
    body = SCRIPTS[impl]
    if impl == "numba":
        # numba needs the chain as a jitted function to inline it
        body = body.replace("import math\n", "import math\nfrom numba import njit\n"
                            "chain = njit(chain)\n")
    script = TEMPLATE.format(chain=CHAIN, c=c, mode=mode, repeats=repeats,
                             native=NATIVE_LEVEL0, body=textwrap.dedent(body))
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         text=True, timeout=600)
    ended = time.time()
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr else "failed")
    lines = out.stdout.strip().splitlines()
    total = float(lines[-1])
    for line in lines:
        if line.startswith("START "):
            total = ended - float(line[6:])
        if line.startswith("O3 ") and o3 is not None:
            o3.append(float(line[3:]))
        if line.startswith("CPU ") and cpu is not None:
            cpu.append(float(line[4:]))
        if line.startswith("STAGES ") and stages is not None:
            st = json.loads(line[7:])
            fn = st.pop("function")
            st["other"] = fn - sum(v for k, v in st.items() if k != "first call")
            stages.append(st)
    return total


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def tjit_rows(base, repeats, mode, stages=None):
    """(cold, cold kernel, warm, in-process, cold until O3, cold untiered)
    medians of tjit in `mode` (the last two None but for FAST_RUN); the stage
    times of the cold and warm runs go to stages["cold"] / stages["warm"]."""
    stages = stages if stages is not None else {}
    cold, cold_kernel, warm, o3, untiered = [], [], [], [], []
    cpu = stages.setdefault("CPU", {"cold": [], "cold kernel": [], "warm": []})
    for k in range(repeats):
        if mode == "FAST_RUN":
            cache = tempfile.mkdtemp(prefix="tjit-bench-")
            flags = ",".join(f for f in (base.get("TJIT_FLAGS"), "tiered=False") if f)
            try:
                untiered.append(measure("tjit", dict(base, TJIT_CACHE_DIR=cache,
                                                     TJIT_FLAGS=flags), c=0.5, mode=mode))
            finally:
                shutil.rmtree(cache, ignore_errors=True)
        cache = tempfile.mkdtemp(prefix="tjit-bench-")
        try:
            env = dict(base, TJIT_CACHE_DIR=cache)
            cold.append(measure("tjit", env, c=0.5, mode=mode, cpu=cpu["cold"],
                                stages=stages.setdefault("cold", []), o3=o3))
            cold_kernel.append(measure("tjit", env, c=0.25 + k, mode=mode,   # library cached
                                       cpu=cpu["cold kernel"]))
            warm.append(measure("tjit", env, c=0.25 + k, mode=mode, cpu=cpu["warm"],
                                stages=stages.setdefault("warm", [])))
        finally:
            shutil.rmtree(cache, ignore_errors=True)
    cache = tempfile.mkdtemp(prefix="tjit-bench-")
    try:
        inprocess = measure("tjit-inprocess", dict(base, TJIT_CACHE_DIR=cache), c=0.5,
                            mode=mode, repeats=repeats)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return [median(cold), median(cold_kernel), median(warm), inprocess,
            median(o3) if o3 and mode == "FAST_RUN" else None,
            median(untiered) if untiered else None]


def many_rows(base, repeats):
    """Seconds (median) for 10 functions in a row, whole process after the
    imports, empty cache: (tiered, tiering off)."""
    result = []
    for tiered in ("True", "False"):
        flags = ",".join(f for f in (base.get("TJIT_FLAGS"), f"tiered={tiered}") if f)
        times = []
        for k in range(repeats):
            cache = tempfile.mkdtemp(prefix="tjit-bench-")
            try:
                times.append(measure("tjit-many", dict(base, TJIT_CACHE_DIR=cache,
                                                       TJIT_FLAGS=flags), c=0.5 + k))
            finally:
                shutil.rmtree(cache, ignore_errors=True)
        result.append(median(times))
    return result


STAGE_ORDER = ["key", "rewrites", "lowering", "LLVM kernel", "math library", "cache I/O",
               "JIT load", "first call", "other"]


def stage_table(stages):
    """Rows: each stage's median (ms) in each of the `stages` columns."""
    header = ["stage (host, median CPU ms)"] + list(stages)
    rows = []
    for name in STAGE_ORDER:
        rows.append([name] + [f"{median([r.get(name, 0.0) for r in runs]) * 1e3:.1f}"
                              if runs else "-" for runs in stages.values()])
    return header, rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-peers", action="store_true", help="skip PyTensor, JAX, Numba")
    H.add_cpus_argument(ap)
    opts = ap.parse_args(argv)
    base = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    base.pop("PYTHONDONTWRITEBYTECODE", None)
    base.pop("TJIT_FLAGS", None)
    subprocess.run([sys.executable, "-c", "import importlib\n"
                    "for m in ('tjit.codegen.emit', 'tjit.codegen.mathlib_scalar',"
                    " 'tjit.codegen.vecmath', 'tjit.graph_cache'):\n"
                    "    try: importlib.import_module(m)\n"
                    "    except ImportError: pass  # an older tree"],
                   env=base, check=True)     # bytecode written once, outside the clock
    tjit, _ = H.import_tjit()
    cpus = [""] + H.other_cpus(tjit, opts.cpus)
    labels = ["tjit cold (empty cache)", "tjit cold kernel (math library cached)",
              "tjit warm (fresh process, cached)", "tjit in-process (a new kernel, no one-time costs)",
              "tjit cold, O3 in place (tier-up waited)", "tjit cold, tiering off"]
    header = ["W8: 50 chained elementwise ops, build + first call"]
    modes = ("FAST_RUN", "FAST_COMPILE", NATIVE_LEVEL0)
    columns, stages, cpu_times, many = [], {}, {}, {}
    for cpu in cpus:
        env = dict(base, TJIT_FLAGS=f"cpu={cpu}") if cpu else base
        at = f" @{cpu}" if cpu else ""
        rows_of = {}
        for mode in modes:
            st = {}
            rows_of[mode] = tjit_rows(env, opts.repeats, mode, st)
            cpu_times[(cpu, mode)] = st.pop("CPU")
            if not cpu and mode != NATIVE_LEVEL0:
                stages.update({f"{k} {mode}": v for k, v in st.items()})
        header += [f"FAST_RUN{at} ms", f"FAST_COMPILE{at} ms", f"ratio{at}",
                   f"native level 0{at} ms"]
        columns.append((cpu, rows_of))
        many[cpu] = many_rows(env, opts.repeats)
    rows = []

    def ms(t, digits=1):
        return "-" if t is None else f"{t * 1e3:.{digits}f}"

    for i, label in enumerate(labels):
        row = [label]
        for _, r in columns:
            run, comp, native = (r[m][i] for m in modes)
            ratio = "-" if run is None or comp is None else f"{run / comp:.1f}x"
            row += [ms(run), ms(comp, 2), ratio, ms(native)]
        rows.append(row)

    for impl in ([] if opts.no_peers else H.installed_peers()):
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
            rows.append([f"{impl} (fresh process, no cache)", f"{median(times) * 1e3:.1f}"]
                        + ["-"] * (len(header) - 2))
        except Exception as exc:  # a failing peer is reported, not fatal
            rows.append([f"{impl}: {exc}"] + ["-"] * (len(header) - 1))

    print()
    H.print_table(header, rows)
    print()
    H.print_table(*stage_table({k.replace(" FAST_", " "): v for k, v in sorted(
        stages.items(), key=lambda kv: (kv[0].split()[0] != "cold", kv[0]))}))
    print()
    # CPU time is steadier than wall time on a shared machine (it leaves out
    # waiting for a core): it shows the ratios when the wall times are noisy
    cpu_header = ["tjit CPU time inside the clock (median ms)"]
    cpu_rows = [[row] for row in ("cold", "cold kernel", "warm")]
    for cpu, _ in columns:
        at = f" @{cpu}" if cpu else ""
        cpu_header += [f"FAST_RUN{at}", f"FAST_COMPILE{at}", f"ratio{at}", f"native level 0{at}"]
        for row in cpu_rows:
            run, comp, native = (median(cpu_times[(cpu, m)][row[0]]) for m in modes)
            row += [f"{run * 1e3:.1f}", f"{comp * 1e3:.2f}", f"{run / comp:.1f}x",
                    f"{native * 1e3:.1f}"]
    H.print_table(cpu_header, cpu_rows)
    print()
    many_header = ["10 different W8 functions in a row, FAST_RUN, empty cache (ms)"]
    many_rows_ = [["tiered (exit hook finishing O3 builds included)"], ["tiering off"],
                  ["ratio"]]
    for cpu, (tiered, untiered) in many.items():
        many_header.append(f"whole process{' @' + cpu if cpu else ''}")
        many_rows_[0].append(f"{tiered * 1e3:.0f}")
        many_rows_[1].append(f"{untiered * 1e3:.0f}")
        many_rows_[2].append(f"{tiered / untiered:.2f}x")
    H.print_table(many_header, many_rows_)
    print()
    for cpu, r in columns:
        at = cpu or "host"
        fast_run, fast_compile = r["FAST_RUN"], r["FAST_COMPILE"]
        cold, warm = fast_run[0], fast_run[2]
        print(f"[{at}] target empty cache <= 50 ms: {cold * 1e3:.0f} ms "
              f"{'ok' if cold <= 0.05 else 'MISSED'} (level-0 code, tiered; "
              f"{fast_run[1] * 1e3:.0f} ms with the math library cached; O3 code in place "
              f"after {fast_run[4] * 1e3:.0f} ms; {fast_run[5] * 1e3:.0f} ms tiering off)")
        print(f"[{at}] target warm <= 5 ms in a fresh process: {warm * 1e3:.1f} ms "
              f"{'ok' if warm <= 0.005 else 'MISSED'}")
        for label, run, c in zip(("cold", "cold kernel", "in-process"),
                                 (fast_run[0], fast_run[1], fast_run[3]),
                                 (fast_compile[0], fast_compile[1], fast_compile[3])):
            print(f"[{at}] target FAST_COMPILE >= 5x faster ({label}): {run / c:.1f}x "
                  f"{'ok' if run >= 5 * c else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
