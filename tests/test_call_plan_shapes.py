"""Call plans compute shape-only steps (`x.shape[0]`, mean's divisor) once per
plan: a plan is for one tuple of input shapes, so those values are its
constants. Results must stay those of the general path, shape by shape. Also
Theano's `output_subset` call argument."""
from __future__ import annotations

import numpy as np
import pytest

import tjit as theano
import tjit.tensor as T
from tjit.runtime import call_plan


def _plan(f, *args):
    key = tuple(np.shape(a) for a in args if np.ndim(a))
    return f._plans[key]


def test_mean_is_one_native_run_per_shape():
    x = T.dmatrix("x")
    f = theano.function([x], [x.mean(), x.mean(axis=1) * x.shape[1]])
    rng = np.random.default_rng(0)
    for shape in [(8, 8), (3, 5), (8, 8), (1, 7), (3, 5)]:
        a = rng.random(shape)
        for _ in range(2):      # the plan's first call, then a planned one
            m, r = f(a)
            np.testing.assert_allclose(m, a.mean(), rtol=1e-14)
            np.testing.assert_allclose(r, a.mean(axis=1) * shape[1], rtol=1e-14)
        plan = _plan(f, a)
        assert type(plan) is call_plan.CallPlan
        # Shape, the Subtensors and their casts ran at planning: no Python step left
        assert [type(g).__name__ for g in plan.segments] == ["_Native"]
        assert plan.stub is not None


def test_a_returned_shape_is_fresh_every_call():
    x = T.dmatrix("x")
    f = theano.function([x], [x.shape, x.sum() / x.shape[0]])
    a = np.ones((4, 3))
    s1, m1 = f(a)
    s1[0] = 99                          # the caller owns what it was given
    s2, m2 = f(a)
    assert s2.tolist() == [4, 3] and s1 is not s2
    assert m1 == m2 == 3.0


def test_shape_of_a_python_steps_result_is_not_fixed():
    # nonzero's length depends on the values, not on the input's shape
    x = T.dvector("x")
    nz = T.nonzero(x)[0]
    f = theano.function([x], (x[nz] * 2).sum() / nz.shape[0])
    for a in ([1.0, 0.0, 3.0, 0.0], [1.0, 2.0, 3.0, 0.0], [0.0, 0.0, 5.0, 0.0]):
        a = np.array(a)
        for _ in range(2):
            want = (a[a != 0] * 2).sum() / np.count_nonzero(a)
            np.testing.assert_allclose(f(a), want, rtol=1e-14)


def test_shared_values_shape_changes_with_set_value():
    w = theano.shared(np.ones((2, 3)), name="w")
    x = T.dvector("x")
    f = theano.function([x], (w * x).sum() / w.shape[0])
    x3 = np.arange(3.0)
    assert f(x3) == f(x3) == 3.0
    w.set_value(np.ones((5, 3)))
    assert f(x3) == f(x3) == 3.0
    w.set_value(np.full((4, 3), 2.0))
    np.testing.assert_allclose([f(x3), f(x3)], [6.0, 6.0])


def test_output_subset_as_theano():
    x = T.dvector("x")
    acc = theano.shared(0.0, name="acc")
    f = theano.function([x], [x * 2, x.sum(), x.max()], updates=[(acc, acc + x.sum())])
    a = np.array([1.0, 5.0, 2.0])
    got = f(a, output_subset=[2, 0])
    assert isinstance(got, list) and len(got) == 2
    assert got[0] == 5.0 and got[1].tolist() == [2.0, 10.0, 4.0]
    assert acc.get_value() == 8.0                       # updates run regardless
    assert [v.tolist() for v in f(x=a, output_subset=[1])] == [8.0]
    assert f(a, output_subset=None)[1] == 8.0
    with pytest.raises(IndexError, match="3 output"):
        f(a, output_subset=[3])
    assert acc.get_value() == 24.0                      # the refused call changed nothing
    g = theano.function([x], {"total": x.sum(), "twice": x * 2})
    assert g(a, output_subset=["total"]) == {"total": 8.0}
    with pytest.raises(KeyError, match="'nope'"):
        g(a, output_subset=["nope"])
    h = theano.function([x], x.sum())                   # one output: still a list
    assert h(a, output_subset=[0]) == [8.0]


def test_a_one_kernel_plan_moves_to_the_driver_after_many_calls():
    import gc
    import weakref
    from tjit.runtime.call_stub import DIRECT_CALLS
    a, b = T.dscalar("a"), T.dscalar("b")
    f = theano.function([a, b], a * b + a)
    assert f(1.0, 2.0) == 3.0
    (plan,) = f._plans.values()
    assert plan.direct is not None          # first calls: the kernel itself
    for i in range(DIRECT_CALLS + 3):
        assert f(float(i), 2.0) == 3.0 * i
    assert plan.direct is None and f._stub is plan.stub     # then through the driver
    assert f(np.float64(2.5), 4) == 12.5
    with pytest.raises(TypeError):
        f(1.0, "x")
    gc.disable()                            # function, plan and stubs: no cycle
    try:
        ref = weakref.ref(f)
        del f, plan
        assert ref() is None
    finally:
        gc.enable()
