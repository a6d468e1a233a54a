"""Tiered compilation (tjit/link/tiers.py): a FAST_RUN elementwise kernel not in
the compile cache runs level-0 code first, its O3 code built in the background,
then every function using it switches; results are bit-identical throughout."""
import gc
import os
import subprocess
import sys
import threading
import weakref

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tjit as theano
import tjit.tensor as T
from tjit import graph_cache
from tjit.codegen import cache as object_cache, jit
from tjit.codegen.jit import compile_kernel
from tjit.link import tiers
from tjit.runtime.native_thunk import NativeThunk


@pytest.fixture
def tiered(tmp_path):
    """Tiering on, an empty disk cache; pending builds finished before leaving it."""
    with theano.config.change_flags(tiered=True, cache_dir=str(tmp_path)):
        yield tmp_path
        assert tiers.wait_for_tier_up(60)


def _native_thunks(fn):
    return [t for t in fn.thunks if type(t) is NativeThunk]


def _is_level0(native):
    return native.kernel.name.endswith("_t0") and "vector.body" not in native.llvm_ir


def _chain(x, y, c):
    # `c` makes each test's kernel its own (the in-process cache holds the others)
    return T.tanh(T.exp(-x * x) * y + c) - abs(x) * 0.5


def _chain_np(x, y, c):
    return np.tanh(np.exp(-x * x) * y + c) - abs(x) * 0.5


def test_first_calls_run_level0_code_then_the_o3_code_bit_identically(tiered):
    x, y = T.dvectors("x", "y")
    f = theano.function([x, y], _chain(x, y, 0.125))
    g = f.copy()        # a copy made before the switch switches too
    (thunk,) = _native_thunks(f)
    quick = thunk.native
    assert _is_level0(quick) and tiers.pending() >= 1
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(1000), rng.standard_normal(1000)
    before = f(a, b)
    assert f._stub is not None         # the call planned on level-0 code
    np.testing.assert_allclose(before, _chain_np(a, b, 0.125), rtol=1e-13, atol=1e-15)
    assert tiers.wait_for_tier_up(60)
    o3 = thunk.native
    assert not _is_level0(o3) and "vector.body" in o3.llvm_ir and thunk.cfunc is o3.cfunc
    assert f._stub is None and not f._plans        # plans dropped: they named level-0 code
    np.testing.assert_array_equal(f(a, b), before)
    np.testing.assert_array_equal(g(a, b), before)
    plan = next(iter(f._plans.values()))
    assert plan.direct[0] is o3
    # new shapes after the switch: a new plan, on the O3 kernel
    c, d = a[:17].copy(), b[:17].copy()
    np.testing.assert_array_equal(f(c, d), before[:17])
    assert all(p.direct[0] is o3 for p in f._plans.values()) and len(f._plans) == 2
    # the O3 object is in the disk cache (the next process loads it), the
    # level-0 kernel is no longer cached: nothing holds it once dropped
    path = object_cache.entry_path(object_cache.entry_key(jit._cache_text(o3.kernel, 3),
                                                          o3.kernel.name))
    assert path.startswith(str(tiered)) and os.path.exists(path)
    ref = weakref.ref(quick)
    del quick, thunk, plan
    gc.collect()
    assert ref() is None
    # a new function of the same kernel starts on the O3 code
    h = theano.function([x, y], _chain(x, y, 0.125))
    assert _native_thunks(h)[0].native is o3 and tiers.pending() == 0
    # the graph cached, the object not (evicted): the stored launch's kernel
    # (its body read on demand) tiers too
    jit._cache.clear()
    os.remove(path)
    hits = graph_cache.COUNTS["memory"]
    k = theano.function([x, y], _chain(x, y, 0.125))
    assert graph_cache.COUNTS["memory"] == hits + 1
    assert _is_level0(_native_thunks(k)[0].native)
    np.testing.assert_array_equal(k(a, b), before)
    assert tiers.wait_for_tier_up(60) and not _is_level0(_native_thunks(k)[0].native)
    np.testing.assert_array_equal(k(a, b), before)


def test_errors_and_shared_updates_across_the_switch(tiered):
    x = T.dvector("x")
    acc = theano.shared(np.zeros(8), name="acc")
    f = theano.function([x], acc * 0.5, updates={acc: acc * 0.25 + T.sin(x) * 2.0})
    assert _is_level0(_native_thunks(f)[0].native)
    expected = np.zeros(8)
    v = np.linspace(-3, 3, 8)

    def step():
        nonlocal expected
        out = f(v)
        np.testing.assert_allclose(out, expected * 0.5, rtol=1e-15)
        expected = expected * 0.25 + np.sin(v) * 2.0
        np.testing.assert_allclose(acc.get_value(), expected, rtol=1e-14)

    for _ in range(3):
        step()
    with pytest.raises(ValueError) as before:
        f(np.zeros(5))
    assert tiers.wait_for_tier_up(60)
    assert not _is_level0(_native_thunks(f)[0].native)
    for _ in range(3):
        step()
    with pytest.raises(ValueError) as after:
        f(np.zeros(5))
    assert str(after.value) == str(before.value)
    assert "(x, shape (5,)) has size 5" in str(after.value) and "(acc, shape (8,))" in \
        str(after.value)
    with pytest.raises(TypeError, match="wrong number of dimensions"):
        f(np.zeros((2, 2)))
    np.testing.assert_array_equal(acc.get_value(), expected)    # nothing committed


def test_a_function_called_from_two_threads_during_the_switch(tiered):
    x, y = T.dvectors("x", "y")
    f = theano.function([x, y], _chain(x, y, 0.375))
    assert _is_level0(_native_thunks(f)[0].native)
    rng = np.random.default_rng(3)
    inputs = [(rng.standard_normal(n), rng.standard_normal(n)) for n in (64, 1000, 7)]
    expected = [f(a, b) for a, b in inputs]
    failures = []
    stop = threading.Event()

    def caller(k):
        try:
            while not stop.is_set():
                for (a, b), e in zip(inputs, expected):
                    np.testing.assert_array_equal(f(a, b), e)
        except Exception as error:     # reported below
            failures.append(error)

    threads = [threading.Thread(target=caller, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    assert tiers.wait_for_tier_up(60)
    for _ in range(200):        # after the switch, still both threads
        np.testing.assert_array_equal(f(*inputs[0]), expected[0])
    stop.set()
    for t in threads:
        t.join()
    assert not failures
    assert not _is_level0(_native_thunks(f)[0].native)
    np.testing.assert_allclose(expected[1], _chain_np(*inputs[1], 0.375), rtol=1e-13, atol=1e-15)


def test_ineligible_kernels_compile_at_o3_directly(tiered):
    x = T.dmatrix("x")
    f = theano.function([x], [T.exp(x * 0.625).sum(axis=1), T.nnet.softmax(x * 0.625)])
    assert tiers.pending() == 0
    natives = [t.native for t in _native_thunks(f)]
    assert natives and not any(_is_level0(n) for n in natives)
    assert not any(tiers.eligible(t.launch) for t in _native_thunks(f))
    v = np.random.default_rng(4).standard_normal((5, 300))
    s, m = f(v)
    np.testing.assert_allclose(s, np.exp(v * 0.625).sum(axis=1), rtol=1e-13)
    e = np.exp(v * 0.625 - (v * 0.625).max(axis=1, keepdims=True))
    np.testing.assert_allclose(m, e / e.sum(axis=1, keepdims=True), rtol=1e-13)


def test_debug_mode_and_the_flag_off_never_tier(tmp_path):
    x = T.dvector("x")
    with theano.config.change_flags(tiered=True, cache_dir=str(tmp_path)):
        f = theano.function([x], T.exp(x) * 0.875, mode="DebugMode")
    with theano.config.change_flags(tiered=False, cache_dir=str(tmp_path)):
        g = theano.function([x], T.exp(x) * 0.8125)
    assert tiers.pending() == 0
    assert not any(_is_level0(t.native) for t in _native_thunks(g))
    v = np.linspace(-2, 2, 33)
    np.testing.assert_allclose(f(v), np.exp(v) * 0.875, rtol=1e-14)
    np.testing.assert_allclose(g(v), np.exp(v) * 0.8125, rtol=1e-14)
    with pytest.raises(ValueError, match="tiered.*True or False"):
        theano.config.tiered = "maybe"
    assert theano.config.tiered is False        # unchanged (the suite runs untiered)


# ---- bit identity of level 0 and O3 over random elementwise graphs ------------------
UNARY = {
    "exp": T.exp, "log": lambda e: T.log(abs(e)), "tanh": T.tanh, "sin": T.sin,
    "cos": T.cos, "erf": T.erf, "erfc": T.erfc, "sigmoid": T.nnet.sigmoid,
    "softplus": T.nnet.softplus, "log1p": lambda e: T.log1p(abs(e)), "expm1": T.expm1,
    "sqrt": lambda e: T.sqrt(abs(e)), "arctan": T.arctan, "abs": abs, "neg": lambda e: -e,
    "floor": T.floor, "sinh": T.sinh, "cosh": T.cosh, "tan": T.tan,
    "arcsin": lambda e: T.arcsin(T.tanh(e)), "log2": lambda e: T.log2(abs(e)),
    "exp2": T.exp2, "sqr": T.sqr, "round": lambda e: T.round(e, "half_to_even"),
    "gammaln": lambda e: T.gammaln(abs(e) + 0.5), "erfinv": lambda e: T.erfinv(T.tanh(e)),
    "int_cast": lambda e: T.cast(T.cast(e * 7.0, "int32") // 3 + T.cast(e, "int32") % 5,
                                 e.dtype),
}
BINARY = {
    "add": lambda a, b: a + b, "mul": lambda a, b: a * b, "div": lambda a, b: a / b,
    "pow": lambda a, b: abs(a) ** b, "max": T.maximum, "min": T.minimum,
    "where": lambda a, b: T.switch(a < b, a, b * 2.5),
    "cmp": lambda a, b: T.cast(T.ge(a, b), a.dtype) + T.cast(T.eq(a, b), a.dtype),
    "arctan2": T.arctan2, "clip": lambda a, b: T.clip(a, -1.5, b),
}

SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-310, -1e-30, 88.7, -745.2, 710.0, 1e300]


def _graph(ops, dtype, each):
    """A chain of `ops` over x (binary ones with the row, column or x), or with
    `each`, every op applied to x itself (one output each)."""
    x = T.matrix("x", dtype=dtype)
    row = T.row("r", dtype=dtype)       # broadcast along the rows
    col = T.col("c", dtype=dtype)

    def apply(k, name, e):
        return UNARY[name](e) if name in UNARY else BINARY[name](e, (row, col, x)[k % 3])
    if each:
        return [x, row, col], [apply(k, name, x) for k, name in enumerate(ops)]
    e = x
    for k, name in enumerate(ops):
        e = apply(k, name, e)
    return [x, row, col], [e, T.exp(e) * x]


def _run(fn, args, level):
    """`fn`'s outputs with every native kernel compiled at `level`, on the
    general path (the plans' kernels are compiled at O3)."""
    storage = fn._bind(args, {})
    for thunk, ins, outs in fn.steps:
        if type(thunk) is NativeThunk and level == 0:
            assert tiers.eligible(thunk.launch)
            thunk = NativeThunk(thunk.launch, compile_kernel(thunk.launch.kernel, 0))
        for s, r in zip(outs, thunk([storage[i] for i in ins])):
            storage[s] = r
    return [storage[s] for s in fn.output_slots]


def _same_bits(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    if a.dtype.kind != "f":
        return np.array_equal(a, b)
    nan = np.isnan(a)
    ints = "i%d" % a.dtype.itemsize
    return np.array_equal(nan, np.isnan(b)) and np.array_equal(a[~nan].view(ints),
                                                               b[~nan].view(ints))


def _check_bit_identity(ops, dtype, seed, cpu, each=False):
    rng = np.random.default_rng(seed)
    with theano.config.change_flags(cpu=cpu, tiered=False):
        inputs, outputs = _graph(ops, dtype, each)
        fn = theano.function(inputs, outputs, on_unused_input="ignore")
        # magnitudes from 1e-6 to 1e3 (each sign), and the special values
        x = rng.choice([-1.0, 1.0], (9, 14)) * 10.0 ** rng.uniform(-6, 3, (9, 14))
        x.flat[rng.choice(x.size, len(SPECIAL), replace=False)] = SPECIAL
        with np.errstate(over="ignore"):
            x = x.astype(dtype)
        strided = [x, x.T.copy().T, np.asfortranarray(x)[:, ::-1][:, ::-1]]
        row = rng.standard_normal((1, 28)).astype(dtype)[:, ::2]     # strided
        col = (rng.standard_normal((9, 1)) * 3).astype(dtype)
        with np.errstate(all="ignore"):
            for a in strided:
                for o3, l0 in zip(_run(fn, (a, row, col), 3), _run(fn, (a, row, col), 0)):
                    assert _same_bits(o3, l0), (ops, dtype, cpu, o3, l0)


_ops = st.lists(st.sampled_from(sorted(UNARY) + sorted(BINARY)), min_size=4, max_size=9)


@settings(max_examples=10, deadline=None, derandomize=True)
@given(ops=_ops, dtype=st.sampled_from(["float64", "float32"]), seed=st.integers(0, 99))
def test_level0_and_o3_give_the_same_bits_host(ops, dtype, seed):
    _check_bit_identity(ops, dtype, seed, "host")


@settings(max_examples=6, deadline=None, derandomize=True)
@given(ops=_ops, dtype=st.sampled_from(["float64", "float32"]), seed=st.integers(0, 99))
def test_level0_and_o3_give_the_same_bits_avx2_and_baseline(ops, dtype, seed):
    _check_bit_identity(ops, dtype, seed, "x86-64-v3")
    _check_bit_identity(ops, dtype, seed, "x86-64")


def test_every_math_function_gives_the_same_bits_at_both_levels():
    # each function of x itself (all its range and special values), per dtype
    for dtype in ("float64", "float32"):
        _check_bit_identity(sorted(UNARY) + sorted(BINARY), dtype, 7, "host", each=True)


_SCRIPT = """
import sys
import numpy as np
import tjit as theano, tjit.tensor as T
from tjit.codegen import jit
x = T.dvector("x")
f = theano.function([x], T.tanh(T.exp(x) * 0.4375) + x)
native = f.thunks[0].native
v = np.linspace(-4, 4, 1000)
print(native.kernel.name.endswith("_t0"), jit.CACHE_COUNTS["built"], jit.CACHE_COUNTS["disk"],
      repr(f(v).tobytes().hex()[:64]))
"""


def test_exit_finishes_the_o3_build_and_the_next_process_starts_at_o3(tmp_path):
    # the first process returns right after its call: the exit hook builds the
    # O3 object into the disk cache, which the second process loads
    env = dict(os.environ, TJIT_FLAGS="tiered=True", TJIT_CACHE_DIR=str(tmp_path),
               PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    runs = [subprocess.run([sys.executable, "-c", _SCRIPT], env=env, capture_output=True,
                           text=True, timeout=120) for _ in range(2)]
    assert all(r.returncode == 0 for r in runs), [r.stderr for r in runs]
    first, second = (r.stdout.split() for r in runs)
    assert first[:2] == ["True", "1"]           # level 0 built (the O3 one after it)
    assert second[:3] == ["False", "0", "1"]    # O3 from the disk cache, nothing built
    assert first[3] == second[3]                # the same bits


def test_a_large_call_waits_for_the_o3_code_instead_of_running_level0_code(tiered):
    # (the first call plans under the function's plan lock: the wait must not
    # need the switch, which takes that lock)
    from tjit.runtime.native_thunk import TIER_WAIT_ELEMENTS
    x, y = T.dvectors("x", "y")
    f = theano.function([x, y], _chain(x, y, 0.71875))
    (thunk,) = _native_thunks(f)
    assert _is_level0(thunk.native) and thunk.pending_tier_up is not None
    job = thunk.pending_tier_up
    rng = np.random.default_rng(3)
    small = rng.standard_normal(1000)
    np.testing.assert_allclose(f(small, small[::-1]), _chain_np(small, small[::-1], 0.71875),
                               rtol=1e-13, atol=1e-15)
    assert not job.ready.is_set() or job.native is not None
    big = rng.standard_normal(TIER_WAIT_ELEMENTS + 5)
    called = []
    o3_cfunc = thunk._o3_cfunc
    thunk._o3_cfunc = lambda: called.append(1) or o3_cfunc()
    out = f(big, big[::-1])
    assert called and job.ready.is_set() and job.native is not None
    np.testing.assert_allclose(out, _chain_np(big, big[::-1], 0.71875), rtol=1e-13, atol=1e-15)
    assert tiers.wait_for_tier_up(60)
    assert thunk.pending_tier_up is None and thunk.native is job.native
    np.testing.assert_array_equal(f(big, big[::-1]), out)
