"""When a reduction's launch lets the runtime split it (tjit.ir.reduce_launch:
elements / WORK_DIVISOR against MIN_PARALLEL_ELEMENTS when the value is cheap,
elements when it has a math function), and that the result is
the same bits either way."""
import numpy as np

import tjit
import tjit.tensor as T
from tjit.ir import reduce_launch
from tjit.runtime import native_thunk
from tjit.runtime.threads import MIN_PARALLEL_ELEMENTS

SPLIT_FROM = MIN_PARALLEL_ELEMENTS * reduce_launch.WORK_DIVISOR


def _recorded_ranges(f, x, threads):
    """The (begin, end) ranges f's one reduction kernel was called with."""
    thunk = next(t for t in f.thunks if hasattr(t, "cfunc"))
    calls, cfunc = [], thunk.cfunc
    thunk.cfunc = lambda *a: calls.append(a[-2:]) or cfunc(*a)
    try:
        with tjit.config.change_flags(threads=threads):
            out = f(x)
    finally:
        thunk.cfunc = cfunc
    return calls, out


def test_a_small_sum_runs_on_one_thread_a_large_one_splits():
    v = T.dvector("v")
    f = tjit.function([v], [(v * v).sum()])
    rng = np.random.default_rng(0)
    small = rng.standard_normal(SPLIT_FROM - 1)      # 10**5-ish: W5's sums
    large = rng.standard_normal(SPLIT_FROM)
    calls, out = _recorded_ranges(f, small, 2)
    assert len(calls) == 1
    np.testing.assert_allclose(out[0], (small * small).sum(), rtol=1e-12)
    calls, out = _recorded_ranges(f, large, 2)
    assert len(calls) == 2
    np.testing.assert_allclose(out[0], (large * large).sum(), rtol=1e-12)


def test_a_costly_value_splits_at_the_elementwise_threshold():
    v = T.dvector("v")
    f = tjit.function([v], [T.exp(v).sum()])
    x = np.random.default_rng(2).standard_normal(MIN_PARALLEL_ELEMENTS * 2)
    calls, out = _recorded_ranges(f, x, 2)
    assert len(calls) == 2
    np.testing.assert_allclose(out[0], np.exp(x).sum(), rtol=1e-12)


def test_row_reductions_split_by_size_with_the_same_bits():
    m = T.dmatrix("m")
    f = tjit.function([m], [m.argmax(axis=1), m.var(axis=0)])
    rng = np.random.default_rng(1)
    for rows in (3, 1000):                 # 3 x 333 below the split, 1000 x 333 above
        x = rng.standard_normal((rows, 333))
        want = [x.argmax(1), x.var(0)]
        results = {}
        for threads in (1, 2, 3):
            with tjit.config.change_flags(threads=threads):
                results[threads] = f(x)
        saved = native_thunk.MIN_PARALLEL_ELEMENTS
        native_thunk.MIN_PARALLEL_ELEMENTS = 1          # split however small
        try:
            with tjit.config.change_flags(threads=3):
                results["forced"] = f(x)
        finally:
            native_thunk.MIN_PARALLEL_ELEMENTS = saved
        for key, got in results.items():
            for g, r1, w in zip(got, results[1], want):
                assert g.tobytes() == r1.tobytes(), key
                np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)
