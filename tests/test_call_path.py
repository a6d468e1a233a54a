"""The call path's fast routes: inputs checked inline when given by position, and
call plans (tjit.runtime.call_plan: a function's small native steps run by one
native driver). Each must give the general path's results and errors."""
from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tjit as theano
import tjit.tensor as T
from tjit.runtime import call_plan, native_thunk
from helpers import call_outcome as _outcome, general_path as _general

FC = theano.Mode(linker="native", optimizer="fast_compile")   # plans of native kernels
_CACHE = {}


def _cached(name, build):
    if name not in _CACHE:
        _CACHE[name] = build()
    return _CACHE[name]


def _assert_same(fast, slow):
    assert fast[0] == slow[0], (fast, slow)
    if fast[0] == "error":
        assert fast[1] == slow[1]
        return
    a, b = fast[1], slow[1]
    for x, y in zip(a if isinstance(a, list) else [a], b if isinstance(b, list) else [b]):
        assert type(x) is type(y) and x.dtype == y.dtype
        np.testing.assert_array_equal(x, y)


def _mixed():
    s, v = T.dscalar("s"), T.dvector("v")
    m, r = T.fmatrix("m"), T.row("r", dtype="float64")
    f = theano.function([s, v, m, r], [(v * s).sum(), m * 2, r + v, abs(m).max(axis=0)])
    return f, _general(f)


# argument kinds: good values of each input's type, and values the checks refuse
_S = st.sampled_from([1.5, 2, np.float64(0.25), np.array(3.0), np.array(3.0, np.float32),
                      "x", [1.0], np.array([1.0, 2.0]), None, True])
_V = st.sampled_from([[1.0, 2.0, 3.0], np.arange(3.0), np.arange(3), np.arange(6.0)[::2],
                      np.arange(3.0, dtype=np.float32), np.ones((3, 1)), 2.0, np.arange(4.0),
                      np.arange(3.0).astype(">f8")])
_M = st.sampled_from([np.ones((3, 2), np.float32), np.ones((3, 2)), np.ones((2, 2), np.float32),
                      np.ones((3, 2), np.float32)[:, ::-1], [[1.0, 2.0]], np.ones(2, np.float32),
                      np.ones((0, 2), np.float32)])
_R = st.sampled_from([np.ones((1, 3)), np.ones((2, 3)), np.ones((1, 4)), np.ones(3),
                      [[1.0, 2.0, 3.0]], np.ones((1, 3), np.float32)])


@settings(max_examples=60, deadline=None)
@given(_S, _V, _M, _R)
def test_fast_path_and_plans_match_the_general_path(s, v, m, r):
    """Same results (values, dtypes, types) and same errors (class and message)
    as the general path, whatever the argument kinds; twice, so the second call
    runs the plan the first one made."""
    f, g = _cached("mixed", _mixed)
    args = (s, v, m, r)
    slow = _outcome(g, args)
    _assert_same(_outcome(f, args), slow)
    _assert_same(_outcome(f, args), slow)


def test_keywords_and_defaults_take_the_general_binding():
    x, y = T.dvectors("x", "y")
    f = theano.function([x, theano.In(y, value=np.ones(2), name="y")], x * y)
    np.testing.assert_array_equal(f([1.0, 2.0]), [1.0, 2.0])
    np.testing.assert_array_equal(f([1.0, 2.0], y=[3.0, 4.0]), [3.0, 8.0])
    np.testing.assert_array_equal(f([1.0, 2.0], [5.0, 6.0]), [5.0, 12.0])
    with pytest.raises(TypeError, match="both by position and by keyword"):
        f([1.0, 2.0], [5.0, 6.0], y=[1.0, 1.0])


def _ten_kernels():
    x = T.dmatrix("x")
    r = None
    for k, kind in enumerate(["sum", "max", "sum", "min", "sum", "max", "sum", "min", "sum"]):
        if r is None:
            e = abs(x * 0.5)
        elif k % 2:
            e = abs(x * r.dimshuffle(0, "x") + 0.1)
        else:
            e = abs(x * r.dimshuffle("x", 0) - 0.1)
        r = getattr(e, kind)(axis=1 - k % 2)
    return theano.function([x], [abs(x * r.dimshuffle("x", 0)) + 1, r.sum(), x.mean()])


def _ten_kernels_numpy(x):
    r = None
    for k, kind in enumerate(["sum", "max", "sum", "min", "sum", "max", "sum", "min", "sum"]):
        if r is None:
            e = np.abs(x * 0.5)
        elif k % 2:
            e = np.abs(x * r[:, None] + 0.1)
        else:
            e = np.abs(x * r[None, :] - 0.1)
        r = getattr(e, kind)(axis=1 - k % 2)
    return [np.abs(x * r[None, :]) + 1, r.sum(), x.mean()]


def test_a_plan_runs_many_kernels_and_python_steps_with_fresh_outputs():
    f = _cached("ten", _ten_kernels)
    rng = np.random.default_rng(1)
    native = sum(type(t) is native_thunk.NativeThunk for t in f.thunks)
    assert native >= 10 and len(f.thunks) > native       # x.mean(): Python steps too
    kept = []
    for shape in [(4, 4), (5, 5), (4, 4), (1, 1), (5, 5), (3, 3)] * 2:
        x = rng.standard_normal(shape)
        got = f(x)
        want = _ten_kernels_numpy(x)
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=1e-13)
        kept.append((x, got, [np.copy(a) for a in got]))
    assert all(type(p) is call_plan.CallPlan for p in f._plans.values())
    # every call returned arrays of its own: later calls did not overwrite them
    for x, got, copies in kept:
        for a, b in zip(got, copies):
            np.testing.assert_array_equal(a, b)
    a, b = f(np.ones((4, 4))), f(np.ones((4, 4)))
    assert all(not np.shares_memory(p, q) for p, q in zip(a, b))


def test_plans_are_bounded_and_big_work_takes_the_threaded_path():
    x = T.dvector("x")
    f = theano.function([x], (x * 2).sum(), mode=FC)
    for n in range(1, 2 * call_plan.MAX_PLANS + 3):
        assert f(np.ones(n)) == 2 * n
    assert len(f._plans) <= call_plan.MAX_PLANS
    n = native_thunk.MIN_PARALLEL_ELEMENTS * 2
    assert f(np.ones(n)) == 2 * n
    assert f._plans[((n,),)] is None


def test_shape_errors_match_the_general_path_and_leave_shared_state_unchanged():
    x, y = T.dvectors("x", "y")
    w = theano.shared(np.zeros(3), "w")
    f = theano.function([x, y], [(x * 2).sum(), x + y], updates=[(w, w + x)])
    g = _general(f)
    assert f([1.0, 2.0, 3.0], [1.0, 1.0, 1.0])[0] == 12.0     # plans (3,), (3,)
    np.testing.assert_array_equal(w.get_value(), [1.0, 2.0, 3.0])
    for args in [([1.0, 2.0, 3.0], [1.0, 1.0]), ([1.0], [1.0, 2.0, 3.0])]:
        fast, slow = _outcome(f, args), _outcome(g, args)
        assert fast[0] == "error" and fast[1][0] is ValueError
        _assert_same(fast, slow)
        _assert_same(_outcome(f, args), slow)       # again: the plan's failure is clean
        np.testing.assert_array_equal(w.get_value(), [1.0, 2.0, 3.0])
    f([1.0, 1.0, 1.0], [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(w.get_value(), [2.0, 3.0, 4.0])


def test_updates_under_concurrent_calls_are_all_committed():
    x = T.dvector("x")
    w = theano.shared(np.zeros(4), "w")
    f = theano.function([x], x.sum(), updates=[(w, w + x)])
    g = theano.function([x], (x * 3).max())          # no updates: no lock
    errors = []

    def work():
        try:
            for _ in range(300):
                assert f(np.ones(4)) == 4.0
                assert g(np.arange(4.0)) == 9.0
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    np.testing.assert_array_equal(w.get_value(), np.full(4, 900.0))


def test_a_scalar_sum_that_is_also_an_update_is_fresh_each_call():
    x = T.dvector("x")
    acc = theano.shared(np.float64(0.0), "acc")
    s = (x * x).sum()
    f = theano.function([x], s, updates=[(acc, s)])
    a = f(np.arange(3.0))
    b = f(np.ones(3))
    assert float(a) == 5.0 and float(b) == 3.0 and float(acc.get_value()) == 3.0
    assert not np.shares_memory(a, b) and not np.shares_memory(b, acc.get_value())


def test_stubs_run_plans_of_functions_without_shared_state():
    a, b = T.dscalars("a", "b")
    x = T.dvector("x")
    f = theano.function([a, b], a + b)
    h = theano.function([x, a], [(x * a).sum(), x * 2])
    assert f(1.0, 2.0) == 3.0 and f._stub is not None
    got = f(np.float64(2.5), np.array(0.5))
    assert type(got) is np.ndarray and got.dtype == np.float64 and got == 3.0
    with pytest.raises(TypeError):
        f("a", 1.0)
    with pytest.raises(TypeError, match="at most 2 arguments"):
        f(1.0, 2.0, 3.0)
    s0, d0 = h(np.arange(3.0), 2.0)
    s1, d1 = h(np.arange(3.0), 2.0)        # the stub: shapes (3,)
    s2, d2 = h(np.arange(4.0), 1.0)        # other shapes: a plan of their own
    assert h._stub is not None
    assert float(s0) == float(s1) == 6.0 and float(s2) == 6.0
    np.testing.assert_array_equal(d1, [0.0, 2.0, 4.0])
    np.testing.assert_array_equal(d2, [0.0, 2.0, 4.0, 6.0])
    assert not np.shares_memory(d0, d1) and not np.shares_memory(s0, s1)


def test_stubs_with_shared_values_updates_and_copies_match_the_general_path():
    x = T.dvector("x")
    w = theano.shared(np.zeros(3), "w")
    v = theano.shared(np.ones(3), "v")
    f = theano.function([x], [x.sum(), w * 2, x, v], updates=[(w, w + x * v)])
    g = _general(f)
    w_general = theano.shared(np.zeros(3), "w2")
    g = g.copy(swap={w: w_general})
    g._positional, g._plans = None, None
    for args in [([1.0, 2.0, 3.0],), (np.ones(3),), (np.ones(2),), (np.arange(3.0),),
                 (np.ones(3), 1.0), ("no",)]:
        fast, slow = _outcome(f, args), _outcome(g, args)
        _assert_same(fast, slow)
        np.testing.assert_array_equal(w.get_value(), w_general.get_value())
        if fast[0] == "ok":
            assert f._stub is not None
            _, _, x_out, v_out = fast[1]
            assert x_out is not args[0] and not np.shares_memory(v_out, v.get_value(borrow=True))
    np.testing.assert_array_equal(w.get_value(), [2.0, 4.0, 6.0])


def test_a_function_with_a_stub_is_freed_by_reference_counting():
    import gc
    import weakref
    x = T.dvector("x")
    w = theano.shared(np.zeros(2), "w")
    f = theano.function([x], x * 2, updates=[(w, w + x)])
    f(np.ones(2))
    f(np.ones(2))
    assert f._stub is not None
    ref = weakref.ref(f)
    gc.disable()
    try:
        del f
        assert ref() is None
    finally:
        gc.enable()


def test_a_driver_entry_signed_for_another_key_is_rebuilt_not_linked(monkeypatch, tmp_path):
    import ctypes
    import hashlib
    from tjit.codegen import sequence
    with theano.config.change_flags(cache_dir=str(tmp_path)):
        monkeypatch.setattr(sequence, "_STATE", {})
        sequence.sequence_driver()
        [entry] = tmp_path.glob("sequence-driver-*.bin")
        key = sequence._key()
        assert sequence._load(str(entry), key) is not None
        # a valid envelope (checksum right) whose content belongs to another key
        other = hashlib.sha256(b"another triple").digest()
        junk = b"\x7fELF not this driver"
        entry.write_bytes(hashlib.sha256(other + junk).digest() + other + junk)
        assert sequence._load(str(entry), key) is None
        monkeypatch.setattr(sequence, "_STATE", {})
        driver = sequence.sequence_driver()
        assert sequence._load(str(entry), key) is not None      # rebuilt and stored
        empty_table = (ctypes.c_int64 * 1)(0)
        assert driver(ctypes.addressof(empty_table)) == 0
