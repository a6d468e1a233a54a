"""scan: Theano's checks on taps and initial states' broadcast patterns, the step
function's (outputs, updates) forms, and disconnected inputs in scan gradients."""
from collections import OrderedDict

import numpy as np
import pytest

import tjit as theano
import tjit.tensor as T
from tjit.gradient import DisconnectedInputError
from tjit.tensor.basic import patternbroadcast


# ---- taps ------------------------------------------------------------------------
def test_repeated_output_taps_are_rejected():
    x0 = T.dvector('x0')
    with pytest.raises(ValueError, match=r"outputs_info\[0\] has taps \[-1, -1\].*repeat"):
        theano.scan(lambda a, b: a + b, outputs_info=dict(initial=x0, taps=[-1, -1]),
                    n_steps=3)
    with pytest.raises(ValueError, match=r"repeat \[-2\]"):
        theano.scan(lambda a, b, c: a + b + c,
                    outputs_info=dict(initial=x0, taps=[-2, -1, -2]), n_steps=3)


def test_repeated_sequence_taps_are_rejected():
    x = T.dvector('x')
    with pytest.raises(ValueError, match=r"sequences\[0\] has taps \[0, 0\]"):
        theano.scan(lambda a, b, acc: acc + a + b, sequences=dict(input=x, taps=[0, 0]),
                    outputs_info=T.constant(0.0))


def test_distinct_taps_still_work():
    x = T.dvector('x')
    r, _ = theano.scan(lambda a, b: a * 10 + b, sequences=dict(input=x, taps=[-1, 0]))
    np.testing.assert_allclose(r.eval({x: [1.0, 2.0, 3.0]}), [12.0, 23.0])


# ---- broadcast patterns of initial states ----------------------------------------
def test_row_initial_state_with_matrix_output_raises_as_theano():
    # The classic Theano error (a minimal RNN from a StackOverflow question):
    # outputs_info=np.zeros((1, n)) is a row; adding the (1, n) shared bias (not
    # broadcastable) makes the step's output a matrix.
    X = T.dmatrix('X')
    Wx = theano.shared(np.eye(3), name='Wx')
    Wh = theano.shared(np.eye(3), name='Wh')
    b = theano.shared(np.zeros((1, 3)), name='b')

    def recurrence(x_t, h_tm1):
        return T.nnet.sigmoid(T.dot(h_tm1, Wh) + T.dot(x_t, Wx) + b)

    with pytest.raises(TypeError, match=r"Inconsistency in the inner graph of scan 'scan_fn' "
                       r": an input and an output are associated with the same recurrent "
                       r"state and should have the same type but have type "
                       r"'TensorType\(float64, row\)' and 'TensorType\(float64, matrix\)'"):
        theano.scan(recurrence, sequences=X, outputs_info=np.zeros((1, 3)))
    with pytest.raises(TypeError, match="scan 'rnn'"):
        theano.scan(recurrence, sequences=X, outputs_info=T.zeros((1, 3)), name='rnn')
    # with a vector state and bias, as the answer suggests, it runs
    b = theano.shared(np.full(3, 0.1), name='b')
    h, _ = theano.scan(recurrence, sequences=X, outputs_info=np.zeros(3))
    xv = np.arange(6.0).reshape(2, 3) / 10
    ref, hv = [], np.zeros(3)
    for row in xv:
        hv = 1 / (1 + np.exp(-(hv + row + 0.1)))
        ref.append(hv)
    np.testing.assert_allclose(h.eval({X: xv}), np.array(ref), rtol=1e-13)


def test_unbroadcast_initial_state_fixes_it():
    X = T.dmatrix('X')
    W = np.array([[0.5, -0.2, 0.1], [0.3, 0.4, -0.6], [0.0, 0.2, 0.7]])
    h0 = patternbroadcast(T.constant(np.zeros((1, 3))), (False, False))
    h, _ = theano.scan(lambda x_t, h_tm1: T.tanh(T.dot(h_tm1, W) + x_t),
                       sequences=X.dimshuffle(0, 'x', 1), outputs_info=h0)
    xv = np.arange(6.0).reshape(2, 3) / 10
    ref, hv = [], np.zeros((1, 3))
    for row in xv:
        hv = np.tanh(hv @ W + row)
        ref.append(hv)
    np.testing.assert_allclose(h.eval({X: xv}), np.array(ref), rtol=1e-13)


def test_more_broadcastable_output_is_rebroadcast_to_the_state():
    m0 = T.dmatrix('m0')
    # the step returns a row (sum with keepdims) for a matrix state
    r, _ = theano.scan(lambda m: m.sum(axis=0, keepdims=True) * 0.5, outputs_info=m0,
                       n_steps=2)
    v = np.array([[1.0, 2.0]])
    np.testing.assert_allclose(r.eval({m0: v}), [[[0.5, 1.0]], [[0.25, 0.5]]])


# ---- what the step returns -------------------------------------------------------
@pytest.mark.parametrize("wrap", [
    lambda o: (o, {}),
    lambda o: (o, OrderedDict()),
    lambda o: (o, []),
    lambda o: ([o], {}),
    lambda o: ({}, o),
])
def test_outputs_with_empty_updates_parse(wrap):
    x = T.dvector('x')
    r, updates = theano.scan(lambda a: wrap(a * 2 + 1), sequences=x)
    assert len(updates) == 0
    np.testing.assert_allclose(r.eval({x: [1.0, 2.0]}), [3.0, 5.0])


def test_several_outputs_with_updates_dict():
    x = T.dvector('x')
    (a, b), updates = theano.scan(lambda v: ([v + 1, v * v], {}), sequences=x)
    f = theano.function([x], [a, b], updates=updates)
    ra, rb = f([1.0, 3.0])
    np.testing.assert_allclose(ra, [2.0, 4.0])
    np.testing.assert_allclose(rb, [1.0, 9.0])


# ---- gradients: disconnected inputs ----------------------------------------------
def _scan_ignoring_u():
    x = T.dvector('x')
    w = T.dscalar('w')
    u = T.dscalar('u')
    r, _ = theano.scan(lambda a, acc, w, u: acc + a * w, sequences=x,
                       outputs_info=T.constant(0.0), non_sequences=[w, u])
    return x, w, u, r


def test_grad_wrt_unused_non_sequence_raises():
    x, w, u, r = _scan_ignoring_u()
    with pytest.raises(DisconnectedInputError, match="does not depend on u"):
        T.grad(r[-1], u)
    with pytest.raises(DisconnectedInputError):
        T.grad(r[-1], [w, u])


def test_grad_wrt_unused_non_sequence_ignored_gives_zeros():
    x, w, u, r = _scan_ignoring_u()
    gu, gw, gx = T.grad(r[-1], [u, w, x], disconnected_inputs='ignore')
    f = theano.function([x, w, u], [gu, gw, gx], on_unused_input='ignore')
    xv = np.array([1.0, 2.0, 4.0])
    vu, vw, vx = f(xv, 3.0, 5.0)
    assert vu == 0.0
    np.testing.assert_allclose(vw, xv.sum())      # d sum(x*w) / dw
    np.testing.assert_allclose(vx, [3.0, 3.0, 3.0])


def test_grad_wrt_unused_sequence_raises():
    x = T.dvector('x')
    y = T.dvector('y')
    w = T.dscalar('w')
    r, _ = theano.scan(lambda a, b, acc: acc * w + a, sequences=[x, y],
                       outputs_info=T.constant(0.0))
    with pytest.raises(DisconnectedInputError, match="does not depend on y"):
        T.grad(r[-1], y)
    gx, gy = T.grad(r[-1], [x, y], disconnected_inputs='ignore')
    f = theano.function([x, y, w], [gx, gy], on_unused_input='ignore')
    vx, vy = f([1.0, 2.0, 3.0], [0.0, 0.0, 0.0], 0.5)
    np.testing.assert_allclose(vx, [0.25, 0.5, 1.0])   # w ** (n - 1 - t)
    np.testing.assert_array_equal(vy, [0.0, 0.0, 0.0])


def test_non_sequence_used_only_through_the_recurrence_is_connected():
    # u only enters the state's update; still connected to the final value
    x0 = T.dscalar('x0')
    u = T.dscalar('u')
    r, _ = theano.scan(lambda s, u: s * u, outputs_info=x0, non_sequences=u, n_steps=3)
    g = T.grad(r[-1], u)
    np.testing.assert_allclose(theano.function([x0, u], g)(2.0, 3.0), 2.0 * 3 * 3.0 ** 2)
