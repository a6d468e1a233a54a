"""Thread splitting (results independent of the thread count) and the on-disk
compile cache (hits, corruption, concurrency, the `tjit cache` command)."""
import contextlib
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tjit as theano
import tjit.tensor as T
from tjit.runtime import native_thunk, threads

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _w1(dtype):
    x = T.vector("x", dtype=dtype)
    a = T.vector("a", dtype=dtype)
    return theano.function([x, a], T.exp(-x * x) * a + T.log1p(abs(x)) * 0.5 - T.tanh(x))


_FUNCS = {}


def _w2():
    m, r, c = T.dmatrix("m"), T.drow("r"), T.dcol("c")
    return theano.function([m, r, c], T.sqrt(abs(m + r * c)) - m * 0.25)


def _cached(key, build):
    if key not in _FUNCS:
        _FUNCS[key] = build()
    return _FUNCS[key]


def test_split_covers_range_in_order():
    for extent in (0, 1, 5, 17, 1000):
        for parts in (1, 2, 3, 8):
            ranges = threads.split(extent, parts)
            flat = [i for b, e in ranges for i in range(b, e)]
            assert flat == list(range(extent))
            assert len(ranges) <= max(1, min(parts, extent))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_w1_bit_identical_for_any_thread_count(dtype):
    f = _cached(("w1", dtype), lambda: _w1(dtype))
    rng = np.random.default_rng(0)
    x = rng.standard_normal(300_001).astype(dtype)
    a = rng.standard_normal(300_001).astype(dtype)
    results = []
    for n in (1, 2, 3, 5):
        with theano.config.change_flags(threads=n):
            results.append(f(x, a))
    for r in results[1:]:
        assert r.dtype == dtype
        np.testing.assert_array_equal(r, results[0])
    with np.errstate(all="ignore"):
        ref = np.exp(-x * x) * a + np.log1p(abs(x)) * 0.5 - np.tanh(x)
    np.testing.assert_allclose(results[0], ref, rtol=1e-5 if dtype == "float32" else 1e-12,
                               atol=1e-6 if dtype == "float32" else 1e-14)


@settings(max_examples=25, deadline=None)
@given(rows=st.integers(1, 700), cols=st.integers(1, 700), transpose=st.booleans(),
       step=st.sampled_from([1, 2, -1]), n_threads=st.integers(2, 4))
def test_broadcast_kernel_thread_independent(rows, cols, transpose, step, n_threads):
    f = _cached("w2", _w2)
    rng = np.random.default_rng(rows * 1000 + cols)
    base = rng.standard_normal((rows, cols * abs(step)))
    m = base[:, ::step]
    if transpose:
        m = np.ascontiguousarray(m.T).T  # Fortran order, same values
    r = rng.standard_normal((1, m.shape[1]))
    c = rng.standard_normal((m.shape[0], 1))
    with theano.config.change_flags(threads=1):
        one = f(m, r, c)
    with theano.config.change_flags(threads=n_threads), _split_everything():
        many = f(m, r, c)
    np.testing.assert_array_equal(one, many)
    np.testing.assert_allclose(one, np.sqrt(abs(m + r * c)) - m * 0.25, rtol=1e-14)


@contextlib.contextmanager
def _split_everything():
    """Split every kernel across the threads, however small (most of the shapes
    drawn above are below the size where a split pays)."""
    saved = native_thunk.MIN_PARALLEL_ELEMENTS
    native_thunk.MIN_PARALLEL_ELEMENTS = 1
    try:
        yield
    finally:
        native_thunk.MIN_PARALLEL_ELEMENTS = saved


def test_small_kernels_are_split_when_the_threshold_says_so(monkeypatch):
    """The helper above really splits: with it, a 3-row kernel runs its chunks on
    several threads (a kernel that records the ranges it was given)."""
    f = _cached("w2", _w2)
    calls = []
    thunk = f.thunks[0]
    cfunc = thunk.cfunc
    monkeypatch.setattr(thunk, "cfunc", lambda *a: calls.append(a[-2:]) or cfunc(*a))
    m, r, c = np.ones((3, 4)), np.ones((1, 4)), np.ones((3, 1))
    with theano.config.change_flags(threads=3), _split_everything():
        f(m, r, c)
    assert sorted(calls) == [(0, 1), (1, 2), (2, 3)]


def test_threaded_shape_error_is_clear():
    f = _cached("w1", lambda: _w1("float64"))
    with theano.config.change_flags(threads=2):
        with pytest.raises(ValueError, match="shape"):
            f(np.ones(200_000), np.ones(200_001))


# ---- the on-disk cache -----------------------------------------------------------
_SCRIPT = textwrap.dedent("""
    import sys, numpy as np
    import tjit as theano, tjit.tensor as T
    x, y = T.dvectors('x', 'y')
    f = theano.function([x, y], T.sqrt(abs(x * 3.0 + y)) - y * y / 7.0)
    v = np.linspace(-2, 2, 101)
    out = f(v, v[::-1])
    ref = np.sqrt(abs(v * 3.0 + v[::-1])) - v[::-1] * v[::-1] / 7.0
    assert np.allclose(out, ref, rtol=1e-13, atol=1e-15), "wrong result"
    print(int(all(getattr(t, "native").from_disk_cache for t in f.thunks)))
""")


def _run(cache_dir, script=_SCRIPT):
    env = dict(os.environ, TJIT_CACHE_DIR=str(cache_dir), PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def _entries(cache_dir):
    return [os.path.join(d, f) for d, _, fs in os.walk(cache_dir) for f in fs
            if f.endswith(".o")]


def test_cache_hit_in_a_fresh_process(tmp_path):
    assert _run(tmp_path) == "0"          # cold: compiled, then stored
    assert len(_entries(tmp_path)) == 1
    assert _run(tmp_path) == "1"          # warm: loaded from disk


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty"])
def test_corrupt_entry_is_rebuilt_not_loaded(tmp_path, damage):
    _run(tmp_path)
    (path,) = _entries(tmp_path)
    data = open(path, "rb").read()
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":
        i = len(data) - 100
        data = data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:]
    else:
        data = b""
    open(path, "wb").write(data)
    assert _run(tmp_path) == "0"          # detected, recompiled (and still correct)
    assert _run(tmp_path) == "1"          # the rebuilt entry is good


def test_a_valid_entry_under_another_key_is_rebuilt_not_linked(tmp_path):
    """Every entry (kernels and the math library) overwritten by another valid,
    checksummed entry: each proves its key before it is linked, so a fresh
    process rebuilds them instead of crashing or loading the wrong symbols."""
    _run(tmp_path)
    _run(tmp_path, _MATH_SCRIPT)
    paths = sorted(_entries(tmp_path))
    assert len(paths) >= 3        # a kernel of each script and a math library object
    contents = [open(p, "rb").read() for p in paths]
    for p, data in zip(paths, contents[1:] + contents[:1]):     # each gets its neighbour's
        open(p, "wb").write(data)
    assert _run(tmp_path) == "0"                  # rebuilt, correct (the script checks)
    assert _run(tmp_path, _MATH_SCRIPT) == "1"    # the library rebuilt once, then cached
    assert _run(tmp_path) == "1"                  # the rebuilt entries are good


def test_concurrent_processes_share_the_cache(tmp_path):
    env = dict(os.environ, TJIT_CACHE_DIR=str(tmp_path), PYTHONPATH=ROOT)
    procs = [subprocess.Popen([sys.executable, "-c", _SCRIPT], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    assert len(_entries(tmp_path)) == 1
    assert not [f for d, _, fs in os.walk(tmp_path) for f in fs if f.startswith(".tmp-")]
    assert _run(tmp_path) == "1"


_MATH_SCRIPT = textwrap.dedent("""
    import numpy as np
    import tjit as theano, tjit.tensor as T
    from tjit.codegen import mathlib
    x = T.fvector('x')
    f = theano.function([x], T.tanh(x) * 2)
    v = np.linspace(-3, 3, 1001, dtype='float32')
    assert np.allclose(f(v), np.tanh(v) * 2, rtol=1e-6, atol=1e-7)
    print(len(mathlib._loaded))
""")


def test_math_library_objects_are_cached(tmp_path):
    assert _run(tmp_path, _MATH_SCRIPT) == "1"     # tanh float32 built once
    n = len(_entries(tmp_path))
    assert n == 2                                  # the kernel and the library object
    assert _run(tmp_path, _MATH_SCRIPT) == "1"
    assert len(_entries(tmp_path)) == n            # nothing rebuilt


def test_cache_cli_info_and_clear(tmp_path):
    _run(tmp_path)
    env = dict(os.environ, TJIT_CACHE_DIR=str(tmp_path), PYTHONPATH=ROOT)
    info = subprocess.run([sys.executable, "-m", "tjit", "cache", "info"], env=env,
                          capture_output=True, text=True, check=True).stdout
    assert "entries: 1" in info and str(tmp_path) in info
    cleared = subprocess.run([sys.executable, "-m", "tjit", "cache", "clear"], env=env,
                             capture_output=True, text=True, check=True).stdout
    assert "removed 1" in cleared
    assert _entries(tmp_path) == []
