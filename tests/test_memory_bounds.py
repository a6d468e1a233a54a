"""A long-running process does not grow without bound.

- the in-process kernel cache is an LRU bounded by `tjit.config.kernel_cache_mb`;
- the machine code of kernels nobody references is freed (their MCJIT engine is
  disposed of once its last kernel is dropped);
- the disk cache stays under `tjit.config.cache_size_mb`, least recently used
  entries removed first; `tjit cache info` reports it.
"""
from __future__ import annotations

import gc
import os
import subprocess
import sys
import weakref

import numpy as np

import tjit as theano
import tjit.tensor as T
# the native fast_compile mode (level-0 native code); 'FAST_COMPILE' is the py linker
NATIVE_FC = theano.Mode(linker="native", optimizer="fast_compile")
from tjit.codegen import cache, compile_kernel, jit
from tjit.ir import Buffer, Const, Load, Op, elementwise_kernel

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _kernel(k):
    """A small kernel of its own: out = a * k + 1 (the constant makes it distinct)."""
    a, out = Buffer("a", "float64", (False,)), Buffer("out", "float64", (False,))
    expr = Op("add", (Op("mul", (Load(a, ()), Const(float(k), "float64")), "float64"),
                      Const(1.0, "float64")), "float64")
    return elementwise_kernel(f"bound_{k}", [(a, (0,))], [out], [expr])


def _run(native, k):
    a = np.arange(7.0)
    out = np.empty(7)
    assert native(a, out) == 0
    np.testing.assert_array_equal(out, a * k + 1)


def _rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def test_kernel_cache_is_lru_bounded_by_bytes(monkeypatch, tmp_path):
    monkeypatch.setattr(jit, "_cache", jit.KernelCache())
    with theano.config.change_flags(kernel_cache_mb=0.05, cache_dir=str(tmp_path)):
        first = compile_kernel(_kernel(0), 0)
        per_kernel = first.nbytes
        natives = []
        for k in range(1, 60):
            natives.append(compile_kernel(_kernel(k), 0))
            assert compile_kernel(_kernel(0), 0) is first      # used: kept, moved to the end
        assert jit._cache.nbytes <= 0.05e6
        assert len(jit._cache) == int(0.05e6 // per_kernel) or \
            abs(len(jit._cache) - 0.05e6 / per_kernel) < 2
        # the oldest unused ones were dropped, the recent ones kept
        assert compile_kernel(_kernel(59), 0) is natives[-1]
        again = compile_kernel(_kernel(1), 0)
        assert again is not natives[0] and again.from_disk_cache     # recompiled: from disk
        _run(again, 1)
        _run(natives[0], 1)     # the dropped one still runs: its holder keeps its code


def test_machine_code_of_dropped_kernels_is_freed(monkeypatch, tmp_path):
    monkeypatch.setattr(jit, "_cache", jit.KernelCache())
    engines = []
    with theano.config.change_flags(kernel_cache_mb=0.02, cache_dir=str(tmp_path)):
        kept, created = None, sum(jit._loads.values())
        for k in range(3 * jit.Engine.KERNELS + 5):
            native = compile_kernel(_kernel(1000 + k), 0)
            _run(native, 1000 + k)
            engines.append(weakref.ref(native.engine))
            if k == 1:
                kept = native.cfunc          # a bare function pointer keeps its engine
            del native
        gc.collect()
        jit.free_released()
        assert sum(jit._loads.values()) - created >= 3
        alive = {id(e()) for e in engines if e() is not None}
        # only the engine still taking kernels, the one the kept pointer holds,
        # and those of the few kernels the tiny cache still holds
        needed = {id(n.engine) for n in jit._cache.values()} | {
            id(e) for e in jit._engines.values()} | {id(kept.engine)}
        assert alive <= needed and len(alive) <= 3
        assert engines[1]() is not None
        out = np.empty(7)
        assert kept(np.arange(7.0), out, 0, 1 << 62) == 0
        np.testing.assert_array_equal(out, np.arange(7.0) * 1001 + 1)
        del kept
        gc.collect()
        jit.free_released()
        assert engines[1]() is None and not jit._released


def test_rss_stays_bounded_over_compile_call_drop_cycles(monkeypatch, tmp_path):
    """650 distinct kernels compiled, called and dropped (bench/soak.py runs 2,000
    functions): after a warm-up, RSS stays flat. Measured on this test: ~0.5 MB
    over the last 500; ~12.6 MB with an unbounded kernel cache, ~4.7 MB if no
    engine were freed."""
    monkeypatch.setattr(jit, "_cache", jit.KernelCache())
    with theano.config.change_flags(kernel_cache_mb=0.5, cache_dir=str(tmp_path),
                                    cache_size_mb=2.0):
        def cycle(k):
            native = compile_kernel(_kernel(5000 + k), 0)
            _run(native, 5000 + k)

        for k in range(150):            # warm up: allocator pools, the first engines
            cycle(k)
        gc.collect()
        start = _rss_mb()
        for k in range(150, 650):
            cycle(k)
        gc.collect()
        jit.free_released()
        grown = _rss_mb() - start
        assert jit._cache.nbytes <= 0.5e6
        count, size, _ = cache.info()
        assert size <= 2.0e6 and 0 < count < 650
    assert grown < 2.5, f"RSS grew by {grown:.1f} MB over 500 compile-call-drop cycles"


def test_functions_compiled_and_dropped_free_their_kernels(monkeypatch, tmp_path):
    """Through tjit.function: distinct graphs compiled, called and dropped leave
    the kernel cache at its bound and dispose of their engines."""
    monkeypatch.setattr(jit, "_cache", jit.KernelCache())
    x, y = T.dvectors("x", "y")
    v = np.linspace(0.5, 1.5, 9)
    engines = []
    with theano.config.change_flags(kernel_cache_mb=0.1, cache_dir=str(tmp_path)):
        for k in range(128):
            e = x
            for bit in range(7):
                e = e + y if (k >> bit) & 1 else e * y
            f = theano.function([x, y], e, mode=NATIVE_FC)
            want = v.copy()
            for bit in range(7):
                want = want + v if (k >> bit) & 1 else want * v
            np.testing.assert_allclose(f(v, v), want, rtol=1e-15)
            engines.append(weakref.ref(f.thunks[0].native.engine))
            del f
        gc.collect()
        jit.free_released()
        assert jit._cache.nbytes <= 0.1e6 and len(jit._cache) < 128
        assert sum(e() is None for e in engines) >= 64


def test_disk_cache_stays_under_its_limit_oldest_removed_first(tmp_path):
    with theano.config.change_flags(cache_dir=str(tmp_path), cache_size_mb=0.2):
        keys = []
        for k in range(120):
            key = cache.entry_key(f"entry {k}", "sym")
            cache.store(key, os.urandom(3000), "ir")
            keys.append(key)
            if k == 5:
                # recently used entries survive: the load refreshes it
                os.utime(cache._path(keys[0]), ns=(0, 0))
            if k % 10 == 0:
                assert cache.load(keys[0]) is not None
            count, size, _ = cache.info()
            assert size <= 0.2e6
        assert cache.load(keys[-1]) is not None and cache.load(keys[0]) is not None
        assert cache.load(keys[1]) is None                  # the least recently used
        assert 40 <= count < 66


def test_cache_cli_shows_the_limit(tmp_path):
    env = dict(os.environ, TJIT_CACHE_DIR=str(tmp_path), PYTHONPATH=ROOT,
               TJIT_FLAGS="cache_size_mb=123")
    with theano.config.change_flags(cache_dir=str(tmp_path)):
        cache.store(cache.entry_key("one", "s"), b"\0" * 5000, "ir")
    out = subprocess.run([sys.executable, "-m", "tjit", "cache", "info"], env=env,
                         capture_output=True, text=True, check=True).stdout
    assert "entries: 1" in out and str(tmp_path) in out and "limit: 123 MB" in out
