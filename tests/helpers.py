"""Shared test utilities."""
import json
import os
import re
import subprocess
import sys

import numpy as np

from tjit.codegen import target

LAYOUTS = ("contiguous", "strided", "reversed", "fortran")


def apply_layout(a, layout, shape):
    """`a` (whose last dim is doubled for 'strided') viewed or copied in `layout`,
    with the logical `shape`: every kernel must read any memory order correctly."""
    if layout == "strided" and shape:
        a = a[..., ::2]
    elif layout == "reversed" and a.ndim:
        a = np.array(a)[(slice(None, None, -1),) * a.ndim]
    elif layout == "fortran" and a.ndim:
        a = np.asfortranarray(a)
    assert a.shape == tuple(shape)
    return a


def numeric_grad(f, x, eps=1e-6):
    """Central differences of the scalar f(x) with respect to each entry of array x."""
    g = np.zeros_like(x)
    for i in range(x.size):
        d = np.zeros_like(x)
        d.flat[i] = eps
        g.flat[i] = (f(x + d) - f(x - d)) / (2 * eps)
    return g


def numeric_grads(f, values, eps=1e-6):
    """Central differences of the scalar f(*values), one array per value."""
    return [numeric_grad(lambda v, k=k: f(*values[:k], v, *values[k + 1:]), x, eps)
            for k, x in enumerate(values)]


def host_vectors():
    """What vector code for the target looks like (the host, or tjit.config.cpu),
    for tests of generated code:
    (register, float32 lanes, fma, avx): zmm/16 with AVX-512, ymm/8 with AVX2,
    else xmm/4 (SSE2, where instructions have no `v` prefix unless AVX exists)."""
    t = target.current()    # the host, or what tjit.config.cpu names
    if t.name == "host":
        features = {f[1:] for f in t.features.split(",") if f.startswith("+")}
    else:   # a psABI level's features, or those probed for an LLVM CPU name
        features = set(target.required_features(t))
    fma = "fma" in features
    if "avx512f" in features:
        return "zmm", 16, fma, True
    if "avx2" in features:
        return "ymm", 8, fma, True
    return "xmm", 4, fma, "avx" in features


def loop_register():
    """A regex of the registers a vectorized kernel loop for the target uses:
    `host_vectors`' widest, except that on AVX-512 LLVM's tuning for some CPUs
    (skylake-avx512, icelake...) prefers 256-bit loop vectors: ymm or zmm. (The
    math library's variants are built at each width, so they use zmm there.)"""
    register = host_vectors()[0]
    return "(?:zmm|ymm)" if register == "zmm" else register


def library_variant(name, dtype, lanes):
    """(body, ops): the assembly of the math library's `lanes`-wide variant of
    `name` for the current target, and its instruction mnemonics."""
    from tjit.codegen import mathlib
    asm = mathlib.library_asm(name, dtype)
    start = asm.index("tjit_m_%s_%s_v%d:" % (name, dtype, lanes))
    body = asm[start:asm.index(".Lfunc_end", start)]
    ops = [line.split()[0] for line in body.splitlines()
           if line.startswith("\t") and not line.startswith("\t.")]
    return body, ops


# float32 variants checked on each target: (register, lanes, a float32 arithmetic op)
FLOAT32_CODE = {"x86-64-v3": ("ymm", 8, r"vfn?m(add|sub)\d*ps"), "x86-64": ("xmm", 4, r"mulps")}


def check_float32_library_code(cpu, names, double=None):
    """Each of `names`' float32 library variant for `cpu` (a FLOAT32_CODE key) does
    full-width float32 arithmetic and holds no call, jump, gather or float64
    instruction (`double`: a compiled regex of the float64 mnemonics to refuse;
    default any *pd/*sd op not of the integer unit)."""
    register, lanes, arithmetic = FLOAT32_CODE[cpu]
    with target.LLVM_LOCK, target.pinned(target.resolve(cpu)):
        for name in names:
            body, ops = library_variant(name, "float32", lanes)
            assert re.search(r"\b%s\s+[^\n]*%%%s" % (arithmetic, register), body), (cpu, name)
            assert not [op for op in ops if op.startswith(("call", "jmp")) or "gather" in op], \
                (cpu, name)
            found = [op for op in ops if double.match(op)] if double else [
                op for op in ops if not op.startswith(("p", "vp")) and op.endswith(("pd", "sd"))]
            assert not found, (cpu, name, found)


def check_float64_library_code(names):
    """Each of `names`' 4-lane float64 variant for x86-64-v3 is ymm FMA code without
    a call, jump or gather."""
    with target.LLVM_LOCK, target.pinned(target.resolve("x86-64-v3")):
        for name in names:
            body, ops = library_variant(name, "float64", 4)
            assert re.search(r"\bvfn?m(add|sub)\d*pd\s+[^\n]*%ymm", body), name
            assert not [op for op in ops if op.startswith(("call", "jmp")) or "gather" in op], name


def general_path(f):
    """A copy of compiled function `f` that always takes the general call path (no
    inline argument checks, no call plans): what the fast paths must agree with."""
    g = f.copy()
    g._positional = None
    g._plans = None
    return g


def call_outcome(f, args):
    """("ok", f(*args)) or ("error", (exception type, message)), to compare paths."""
    try:
        return "ok", f(*args)
    except Exception as e:  # compared with the general path's
        return "error", (type(e), str(e))


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def only_native(f):
    """The NativeKernel of compiled function `f`'s one native thunk."""
    (native,) = [t.native for t in f.thunks if getattr(t, "native", None) is not None]
    return native


def cold_then_warm(script, cache_dir):
    """(cold, warm): the JSON each of two fresh processes running `script`
    printed last, both with the compile cache in `cache_dir` (empty before)."""
    env = dict(os.environ, TJIT_CACHE_DIR=str(cache_dir),
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    runs = []
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                              text=True, timeout=300, cwd=ROOT)
        assert done.returncode == 0, done.stderr
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return tuple(runs)
