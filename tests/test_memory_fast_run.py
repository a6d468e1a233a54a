"""Compiling FAST_RUN functions does not grow memory without bound.

Each FAST_RUN kernel runs LLVM's O3 pipeline; llvmlite never freed the pass
manager it builds (~100 KB a kernel, see tjit.codegen.target.dispose_pass_manager),
so a process compiling thousands of distinct functions grew by that much each.
A fresh process compiles, calls and drops distinct functions with small caches;
once the caches are full, its RSS must stay flat.
"""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

import tjit as theano
import tjit.tensor as T

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_CYCLES = """
import gc, os, sys
import numpy as np
import tjit as theano, tjit.tensor as T
from tjit.codegen import jit

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6

warm, cycles = int(sys.argv[1]), int(sys.argv[2])
x = T.dvector("x")
v = np.linspace(-1.0, 1.0, 7)
marks = []
with theano.config.change_flags(kernel_cache_mb=0.05):
    for k in range(cycles + 1):
        c = 0.5 + k                     # a distinct constant: a kernel never seen before
        f = theano.function([x], T.tanh(x) * c + x * x, mode="FAST_RUN")
        np.testing.assert_allclose(f(v), np.tanh(v) * c + v * v, rtol=1e-13)
        del f
        if k in (warm, cycles):
            gc.collect()
            jit.free_released()
            marks.append(rss_mb())
print(marks[1] - marks[0])
"""


def test_fast_run_compiles_keep_rss_flat(tmp_path):
    # A scratch disk cache: every kernel is built (optimized), none loaded from disk.
    env = dict(os.environ, TJIT_CACHE_DIR=str(tmp_path), PYTHONPATH=ROOT)
    # measured past the first engine's 48 kernels and the tiny kernel cache's fill
    warm, cycles = 50, 90
    out = subprocess.run([sys.executable, "-c", _CYCLES, str(warm), str(cycles)], env=env,
                         capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    grown_mb = float(out.stdout.split()[-1])
    # Before the fix: ~100 KB a kernel, 4 MB over these 40 cycles. Now ~0.5 MB:
    # the new constants each cycle brings (interned, up to a bound), llvmlite's
    # ~1 KB a pass builder (see target.optimize), allocator noise.
    assert grown_mb < 1.5, "RSS grew %.2f MB over %d FAST_RUN compiles" % (grown_mb,
                                                                       cycles - warm)


def test_scalar_constant_cache_is_bounded(monkeypatch):
    # Distinct functions usually bring distinct constants: the interning cache
    # of scalar constants stops growing at its bound (Theano's bounds its too).
    var = sys.modules["tjit.tensor.var"]
    monkeypatch.setattr(var, "_SCALAR_CONSTANTS", {})
    monkeypatch.setattr(var, "_SCALAR_CONSTANTS_MAX", 5)
    made = [T.constant(k + 0.25) for k in range(20)]
    assert len(var._SCALAR_CONSTANTS) == 5
    assert T.constant(0.25) is made[0]              # interned before the bound
    assert T.constant(19.25) is not made[19]        # past it: a new constant each time
    assert float(made[19].data) == 19.25 and not made[19].data.flags.writeable
    x = T.dvector("x")
    f = theano.function([x], x * 19.25 + T.exp(x) * 19.25, mode="FAST_COMPILE")
    v = np.linspace(-1.0, 1.0, 5)
    np.testing.assert_allclose(f(v), v * 19.25 + np.exp(v) * 19.25, rtol=1e-14)
