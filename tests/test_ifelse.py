"""ifelse: lazy (only the taken branch runs), multiple outputs, gradients, errors."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from helpers import numeric_grad as _numeric_grad
import tjit
import tjit.tensor as T
from tjit.graph import Apply, Op
from tjit.ifelse import ifelse


class _UnaryTestOp(Op):
    """x -> an array like x; equal only to itself (so merging never drops one)."""

    def __eq__(self, other):
        return self is other

    def __hash__(self):
        return id(self)

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return Apply(self, [x], [x.type()])


class CountingOp(_UnaryTestOp):
    """x -> 2x, counting how many times it ran (proves which branch executed)."""

    def __init__(self):
        self.calls = 0

    def perform(self, node, inputs):
        self.calls += 1
        return [inputs[0] * 2]


class Boom(_UnaryTestOp):
    """Raises whenever it runs."""

    def perform(self, node, inputs):
        raise RuntimeError("the untaken branch ran")


@pytest.mark.parametrize("mode", ["FAST_RUN", "PY"])
def test_values_match_numpy(mode):
    a, b = T.dscalars("a", "b")
    x, y = T.dvectors("x", "y")
    f = tjit.function([a, b, x, y], ifelse(T.lt(a, b), T.mean(x), T.mean(y) * 2), mode=mode)
    xv, yv = np.array([1.0, 2.0, 4.0]), np.array([3.0, 5.0])
    assert f(1, 2, xv, yv) == pytest.approx(xv.mean())
    assert f(3, 2, xv, yv) == pytest.approx(yv.mean() * 2)


@pytest.mark.parametrize("mode", ["FAST_RUN", "PY"])
def test_only_taken_branch_runs(mode):
    a = T.dscalar("a")
    x = T.dvector("x")
    counter_then, counter_else = CountingOp(), CountingOp()
    f = tjit.function([a, x], ifelse(a > 0, counter_then(x).sum(), counter_else(x * 3).sum()),
                      mode=mode)
    v = np.arange(4.0)
    assert f(1.0, v) == pytest.approx(2 * v.sum())
    assert (counter_then.calls, counter_else.calls) == (1, 0)
    assert f(-1.0, v) == pytest.approx(6 * v.sum())
    assert (counter_then.calls, counter_else.calls) == (1, 1)
    f(2.0, v)
    f(3.0, v)
    assert (counter_then.calls, counter_else.calls) == (3, 1)


def test_untaken_branch_that_would_raise():
    a = T.dscalar("a")
    x = T.dvector("x")
    f = tjit.function([a, x], ifelse(T.gt(a, 0), x[0] * 2, x[5] + Boom()(x).sum()))
    assert f(1.0, np.arange(3.0)) == 0.0
    with pytest.raises(IndexError):
        f(-1.0, np.arange(3.0))


def test_switch_stays_eager():
    a = T.dscalar("a")
    x = T.dvector("x")
    f = tjit.function([a, x], T.switch(T.gt(a, 0), x, Boom()(x)))
    with pytest.raises(RuntimeError, match="untaken"):
        f(1.0, np.arange(3.0))


def test_multiple_outputs_and_shared():
    a = T.dscalar("a")
    x = T.dvector("x")
    w = tjit.shared(np.array([1.0, -1.0]), name="w")
    outs = ifelse(a > 0, [x * w, x.sum()], [x - w, x.max()])
    assert isinstance(outs, list) and len(outs) == 2
    f = tjit.function([a, x], outs)
    v = np.array([2.0, 3.0])
    r = f(1.0, v)
    np.testing.assert_allclose(r[0], v * [1, -1])
    assert r[1] == 5.0
    w.set_value(np.array([10.0, 20.0]))
    r = f(-1.0, v)
    np.testing.assert_allclose(r[0], v - [10, 20])
    assert r[1] == 3.0


def test_nested_ifelse_and_integer_condition():
    n = T.lscalar("n")
    x = T.dscalar("x")
    inner = ifelse(T.eq(n, 1), x * 10, x * 100)
    f = tjit.function([n, x], ifelse(T.eq(n, 0), x, inner))
    assert [f(k, 2.0) for k in (0, 1, 2)] == [2.0, 20.0, 200.0]


def test_type_errors_are_clear():
    a = T.dscalar("a")
    with pytest.raises(TypeError, match="output 0 .*float32.*float64|output 0"):
        ifelse(a > 0, T.fvector("f"), T.dvector("d"))
    with pytest.raises(TypeError, match="types must match"):
        ifelse(a > 0, T.dvector("v"), T.dmatrix("m"))
    with pytest.raises(ValueError, match="2 outputs"):
        ifelse(a > 0, [a, a], [a])
    with pytest.raises(TypeError, match="scalar"):
        ifelse(T.dvector("c"), a, a)


def test_broadcastable_patterns_are_unified():
    a = T.dscalar("a")
    row = T.row("r", dtype="float64")
    m = T.dmatrix("m")
    f = tjit.function([a, row, m], ifelse(a > 0, row, m))
    np.testing.assert_allclose(f(1.0, np.ones((1, 3)), np.zeros((2, 3))), np.ones((1, 3)))
    np.testing.assert_allclose(f(-1.0, np.ones((1, 3)), np.zeros((2, 3))), np.zeros((2, 3)))


def test_gradient_routes_through_taken_branch():
    a = T.dscalar("a")
    x = T.dvector("x")
    y = T.dvector("y")
    cost = T.sum(ifelse(a > 0, T.exp(x) * a, T.sin(y) * x))
    ga, gx, gy = T.grad(cost, [a, x, y])
    f = tjit.function([a, x, y], [ga, gx, gy])
    xv, yv = np.array([0.1, -0.4, 0.7]), np.array([1.0, 2.0, -0.5])
    for av in (1.5, -1.5):
        ra, rx, ry = f(av, xv, yv)
        if av > 0:
            np.testing.assert_allclose(ra, np.exp(xv).sum())
            np.testing.assert_allclose(rx, np.exp(xv) * av)
            np.testing.assert_allclose(ry, 0.0)
        else:
            np.testing.assert_allclose(ra, 0.0)
            np.testing.assert_allclose(rx, np.sin(yv))
            np.testing.assert_allclose(ry, np.cos(yv) * xv)
    cf = tjit.function([a, x, y], cost)
    num = _numeric_grad(lambda v: cf(-1.5, v, yv), xv)
    np.testing.assert_allclose(f(-1.5, xv, yv)[1], num, rtol=1e-6)


def test_gradient_of_multiple_outputs():
    a = T.dscalar("a")
    x = T.dvector("x")
    o1, o2 = ifelse(a > 0, [x * 2, x ** 2], [x * 3, x])
    cost = (o1 * o2).sum()
    gx = T.grad(cost, x)
    f = tjit.function([a, x], gx)
    v = np.array([1.0, -2.0])
    np.testing.assert_allclose(f(1.0, v), 6 * v ** 2)
    np.testing.assert_allclose(f(-1.0, v), 6 * v)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-3, 3), min_size=1, max_size=6), st.floats(-1, 1),
       st.sampled_from(["exp", "tanh", "square"]), st.sampled_from(["sin", "abs", "neg"]))
def test_random_branches_against_numpy(values, c, then_name, else_name):
    fns = {"exp": (T.exp, np.exp), "tanh": (T.tanh, np.tanh),
           "square": (T.sqr, np.square), "sin": (T.sin, np.sin), "abs": (abs, np.abs),
           "neg": (lambda v: -v, np.negative)}
    a = T.dscalar("a")
    x = T.dvector("x")
    tt, tn = fns[then_name]
    et, en = fns[else_name]
    f = tjit.function([a, x], ifelse(a >= 0, tt(x) + a, et(x) * a))
    v = np.array(values)
    expected = tn(v) + c if c >= 0 else en(v) * c
    np.testing.assert_allclose(f(c, v), expected, rtol=1e-12, atol=1e-12)


def test_ifelse_branch_count_errors():
    a = T.dscalar("a")
    x = T.dvector("x")
    with pytest.raises(ValueError, match="the branches are empty"):
        ifelse(T.gt(a, 0), [], [])
    with pytest.raises(ValueError, match="then_branch has 2 outputs but else_branch has 1"):
        ifelse(T.gt(a, 0), [x, x], [x])


def test_until_needs_a_scalar_condition():
    from tjit.scan_module import until
    with pytest.raises(TypeError, match="until: the condition must be a scalar"):
        until(T.dvector("v") > 0)
