"""config.compute_test_value: test values computed as the graph is built (Theano's
debugging aid), checked against the variables' types."""
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import tjit as theano
import tjit.tensor as T
from tjit.config import change_flags
from tjit.graph import get_test_value
from tjit.ifelse import ifelse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def raise_mode():
    with change_flags(compute_test_value='raise'):
        yield


def test_off_by_default_computes_nothing():
    assert theano.config.compute_test_value == 'off'
    x = T.dmatrix('x')
    x.tag.test_value = np.ones((2, 3))
    y = T.exp(x) + 1
    assert 'test_value' not in y.tag
    with pytest.raises(AttributeError):
        y.tag.test_value
    # nor does a missing value matter
    z = T.dvector('z') * 2
    assert 'test_value' not in z.tag


def test_logistic_regression_tutorial_values(raise_mode):
    # doc/tutorial/printing_drawing.txt sets x.tag.test_value = D[0], y... = D[1]
    rng = np.random.RandomState(3)
    N, feats = 12, 4
    D = (rng.randn(N, feats), rng.randint(size=N, low=0, high=2).astype('float64'))
    x = T.matrix("x")
    y = T.vector("y")
    w0 = rng.randn(feats)
    w = theano.shared(w0, name="w")
    b = theano.shared(np.asarray(0.25), name="b")
    x.tag.test_value = D[0]
    y.tag.test_value = D[1]
    p_1 = 1 / (1 + T.exp(-T.dot(x, w) - b))
    prediction = p_1 > 0.5
    xent = -y * T.log(p_1) - (1 - y) * T.log(1 - p_1)
    cost = xent.mean() + 0.01 * (w ** 2).sum()
    gw, gb = T.grad(cost, [w, b])

    p_ref = 1 / (1 + np.exp(-D[0] @ w0 - 0.25))
    xent_ref = -D[1] * np.log(p_ref) - (1 - D[1]) * np.log(1 - p_ref)
    np.testing.assert_allclose(p_1.tag.test_value, p_ref, rtol=1e-14)
    np.testing.assert_array_equal(prediction.tag.test_value, p_ref > 0.5)
    np.testing.assert_allclose(cost.tag.test_value, xent_ref.mean() + 0.01 * (w0 ** 2).sum(),
                               rtol=1e-14)
    np.testing.assert_allclose(gw.tag.test_value,
                               D[0].T @ (p_ref - D[1]) / N + 0.02 * w0, rtol=1e-12)
    np.testing.assert_allclose(gb.tag.test_value, (p_ref - D[1]).mean(), rtol=1e-12)
    # compiling with the flag on: the function computes the same thing
    train = theano.function([x, y], [prediction, xent], updates=[(w, w - 0.1 * gw),
                                                                (b, b - 0.1 * gb)])
    pred, xe = train(*D)
    np.testing.assert_allclose(xe, xent_ref, rtol=1e-13)
    np.testing.assert_allclose(w.get_value(), w0 - 0.1 * gw.tag.test_value, rtol=1e-13)


def test_shape_error_surfaces_where_the_node_is_built(raise_mode):
    x = T.dmatrix('x')
    v = T.dvector('v')
    x.tag.test_value = np.ones((3, 4))
    v.tag.test_value = np.ones(5)
    with pytest.raises(ValueError, match="shapes not aligned"):
        T.dot(x, v)
    u = T.dvector('u')
    u.tag.test_value = np.ones(3)
    with pytest.raises(ValueError):
        v + u


@pytest.mark.parametrize("mode", ["raise", "warn", "ignore"])
def test_missing_test_value_per_flag(mode):
    z = T.dvector('z')
    with change_flags(compute_test_value=mode):
        if mode == "raise":
            with pytest.raises(ValueError, match=r"Cannot compute test value: input 0 \(z\) "
                               r"of Op .* missing default value"):
                z * 2
            return
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = z * 2
        assert 'test_value' not in out.tag
        msgs = [str(w.message) for w in caught]
        if mode == "warn":
            assert len(msgs) == 1 and "input 0 (z)" in msgs[0]
        else:
            assert msgs == []


def test_shared_variables_and_constants_supply_values(raise_mode):
    s = theano.shared(np.arange(3.0), name='s')
    out = (s * 2 + np.array([1.0, 1.0, 1.0])).sum()
    assert out.tag.test_value == 9.0
    # an integer scalar from a Python int
    i = T.iscalar('i')
    i.tag.test_value = 2
    np.testing.assert_array_equal(s[i:].tag.test_value, [2.0])


def test_test_value_is_checked_against_the_type():
    x = T.dmatrix('x')
    with pytest.raises(TypeError, match="test value does not fit TensorType"
                       r"\(float64, matrix\).*wrong number of dimensions"):
        x.tag.test_value = np.zeros(3)
    f = T.fvector('f')
    with pytest.raises(TypeError, match="float32"):
        f.tag.test_value = np.zeros(3)           # float64 would lose precision
    f.tag.test_value = [1, 2]                    # lists are converted
    assert f.tag.test_value.dtype == np.float32
    r = T.drow('r')
    with pytest.raises(ValueError, match="broadcastable"):
        r.tag.test_value = np.zeros((2, 2))
    x.tag.test_value = [[1.0, 2.0]]
    np.testing.assert_array_equal(x.tag.test_value, [[1.0, 2.0]])


def test_flag_values_and_assignment():
    old = theano.config.compute_test_value
    try:
        theano.config.compute_test_value = 'warn'
        assert theano.config.compute_test_value == 'warn'
        with pytest.raises(ValueError, match="compute_test_value"):
            theano.config.compute_test_value = 'sometimes'
        theano.config.compute_test_value_opt = 'off'
    finally:
        theano.config.compute_test_value = old
    assert theano.config.compute_test_value == old


def test_tjit_flags_environment():
    code = ("import numpy as np, tjit, tjit.tensor as T\n"
            "print(tjit.config.compute_test_value)\n"
            "x = T.dvector('x'); x.tag.test_value = np.arange(3.0)\n"
            "print((x * 2).tag.test_value.tolist())\n")
    env = dict(os.environ, PYTHONPATH=ROOT, TJIT_FLAGS="compute_test_value=raise")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["raise", "[0.0, 2.0, 4.0]"]


def test_scan_step_gets_test_values_and_errors_surface_in_scan(raise_mode):
    seq = T.dmatrix('seq')
    seq.tag.test_value = np.arange(6.0).reshape(3, 2)
    h0 = T.dvector('h0')
    h0.tag.test_value = np.array([0.5, -0.5])
    W = theano.shared(np.array([[0.5, 0.1], [-0.2, 0.3]]), name='W')
    seen = []

    def step(x_t, h):
        seen.append((x_t.tag.test_value.copy(), h.tag.test_value.copy()))
        return T.tanh(T.dot(h, W) + x_t)

    hs, _ = theano.scan(step, sequences=seq, outputs_info=h0)
    np.testing.assert_array_equal(seen[0][0], [0.0, 1.0])   # row 0 of the sequence
    np.testing.assert_array_equal(seen[0][1], [0.5, -0.5])  # the initial state
    ref, h = [], np.array([0.5, -0.5])
    for row in np.arange(6.0).reshape(3, 2):
        h = np.tanh(h @ W.get_value() + row)
        ref.append(h)
    np.testing.assert_allclose(get_test_value(hs), ref, rtol=1e-14)
    np.testing.assert_allclose(hs[-1].tag.test_value, ref[-1], rtol=1e-14)
    g = T.grad(hs.sum(), W)
    f = theano.function([seq, h0], g)
    np.testing.assert_allclose(g.tag.test_value, f(seq.tag.test_value, h0.tag.test_value),
                               rtol=1e-12)
    # a shape error inside the step surfaces when scan() is called
    bad = theano.shared(np.ones((3, 3)), name='bad')
    with pytest.raises(ValueError, match="shapes not aligned"):
        theano.scan(lambda x_t, h: T.dot(h, bad) + x_t, sequences=seq, outputs_info=h0)


def test_taps_and_ifelse_values(raise_mode):
    x = T.dvector('x')
    x.tag.test_value = np.array([1.0, 2.0, 4.0, 8.0])
    r, _ = theano.scan(lambda a, b: a + 10 * b, sequences=dict(input=x, taps=[-1, 1]))
    np.testing.assert_allclose(r[0].tag.test_value, 1.0 + 10 * 4.0)
    c = T.dscalar('c')
    c.tag.test_value = -1.0
    z = ifelse(T.gt(c, 0), x * 2, x * 3)
    np.testing.assert_allclose((z + 1).tag.test_value, [4.0, 7.0, 13.0, 25.0])
    gz = T.grad(z.sum(), x)
    np.testing.assert_allclose(get_test_value(gz), [3.0, 3.0, 3.0, 3.0])


def test_random_draws_get_values_without_advancing_the_stream():
    from tjit.tensor.shared_randomstreams import RandomStreams

    def draws(mode):
        with change_flags(compute_test_value=mode):
            srng = RandomStreams(7)
            u = srng.uniform((3,))
            value = get_test_value(u + 0) if mode != 'off' else None
            return value, theano.function([], u)()

    v_on, first_on = draws('raise')
    _, first_off = draws('off')
    np.testing.assert_array_equal(first_on, first_off)   # the stream did not move
    np.testing.assert_array_equal(v_on, first_off)       # the test value is that draw
