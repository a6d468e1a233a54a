"""Gradients through scan (a reverse scan): random tap patterns against finite
differences, full vs truncate_gradient >= steps, and truncated BPTT against a
hand-written reverse loop."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from helpers import numeric_grad as _numeric
import tjit
import tjit.tensor as T


def _build(seq_taps, out_taps, truncate, with_map):
    x, init, w = T.dmatrix("x"), T.dmatrix("init"), T.dvector("w")

    def step(*args):
        seq_vals = args[:len(seq_taps)]
        out_vals = args[len(seq_taps):len(seq_taps) + len(out_taps)]
        wt = args[-1]
        total = sum(T.sin(v) * (k + 1) for k, v in enumerate(seq_vals))
        total = total + sum(T.tanh(v * wt) * 0.5 for v in out_vals)
        return (total, (total * wt).sum()) if with_map else total

    info = [dict(initial=init if out_taps != [-1] else init[0], taps=out_taps)]
    out, _ = tjit.scan(step, sequences=dict(input=x, taps=seq_taps),
                       outputs_info=info + ([None] if with_map else []), non_sequences=w,
                       truncate_gradient=truncate)
    if with_map:
        cost = (out[0] ** 2).sum() + out[1].sum()
    else:
        cost = (out ** 2).sum() + out[-1].sum()
    return [x, init, w], cost


@settings(max_examples=12, deadline=None)
@given(seq_taps=st.lists(st.integers(-2, 2), min_size=1, max_size=2, unique=True),
       out_taps=st.lists(st.integers(-3, -1), min_size=1, max_size=2, unique=True),
       with_map=st.booleans(), seed=st.integers(0, 999))
def test_reverse_scan_gradient_full_truncated_and_finite_differences(seq_taps, out_taps,
                                                                         with_map, seed):
    rng = np.random.default_rng(seed)
    lag = -min(out_taps)
    xv = rng.normal(size=(7, 3))
    iv = rng.normal(size=(lag, 3))
    wv = rng.normal(size=3)
    grads = []
    for truncate in (-1, 10 ** 6):
        ins, cost = _build(seq_taps, out_taps, truncate, with_map)
        grads.append(tjit.function(ins, T.grad(cost, ins))(xv, iv, wv))
        if truncate == -1:
            fc = tjit.function(ins, cost)
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    gx, gi, gw = grads[0]
    np.testing.assert_allclose(gw, _numeric(lambda v: fc(xv, iv, v), wv), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(gi, _numeric(lambda v: fc(xv, v, wv), iv), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(gx, _numeric(lambda v: fc(v, iv, wv), xv), rtol=1e-5, atol=1e-7)


def test_gradient_through_go_backwards_and_shared_state():
    x = T.dvector("x")
    a = T.dscalar("a")
    acc = tjit.shared(np.float64(0.5), name="acc")
    # the shared variable's update is loop state: each step sees the previous value
    out, upd = tjit.scan(lambda xt, a: (acc * xt * a, {acc: acc + xt * a}), sequences=x,
                         non_sequences=a, go_backwards=True)
    cost = out.sum() + upd[acc] * 2
    f = tjit.function([x, a], T.grad(cost, [x, a]))
    fc = tjit.function([x, a], cost)
    xv, av = np.array([0.3, -1.2, 0.8, 2.0]), 0.7
    gx, ga = f(xv, av)
    np.testing.assert_allclose(gx, _numeric(lambda v: fc(v, av), xv), rtol=1e-6)
    np.testing.assert_allclose(ga, _numeric(lambda v: fc(xv, v), np.array(av)), rtol=1e-6)


def test_gradient_of_scan_inside_scan():
    M = T.dmatrix("M")
    w = T.dscalar("w")

    def row_fn(row, w):
        s, _ = tjit.scan(lambda v, acc, w: T.tanh(acc * w + v), sequences=row,
                         outputs_info=T.constant(0.0, dtype="float64"), non_sequences=w)
        return s[-1]

    outs, _ = tjit.scan(row_fn, sequences=M, non_sequences=w)
    cost = (outs ** 2).sum()
    f = tjit.function([M, w], T.grad(cost, [M, w]))
    fc = tjit.function([M, w], cost)
    mv, wv = np.random.default_rng(7).normal(size=(3, 4)), 0.8
    gm, gw = f(mv, wv)
    np.testing.assert_allclose(gm, _numeric(lambda v: fc(v, wv), mv), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(gw, _numeric(lambda v: fc(mv, v), np.array(wv)), rtol=1e-6)


@pytest.mark.parametrize("truncate", [1, 2, 3, 5, 8, 50])
def test_truncated_bptt_of_a_two_tap_recurrence_against_a_reverse_loop(truncate):
    """y_t = p y_{t-2} + q y_{t-1} + x_t, cost = sum(c_t y_t): the reverse loop only
    visits the last `truncate` steps."""
    x, init, c = T.dvector("x"), T.dvector("init"), T.dvector("c")
    p, q = T.dscalar("p"), T.dscalar("q")
    ys, _ = tjit.scan(lambda xt, y2, y1, p, q: p * y2 + q * y1 + xt, sequences=x,
                      outputs_info=dict(initial=init, taps=[-2, -1]), non_sequences=[p, q],
                      truncate_gradient=truncate)
    cost = (ys * c).sum()
    f = tjit.function([x, init, c, p, q], T.grad(cost, [x, init, p, q]))
    rng = np.random.default_rng(truncate)
    n, xv, iv, cv, pv, qv = 8, rng.normal(size=8), rng.normal(size=2), rng.normal(size=8), 0.3, -0.6
    hist = list(iv)
    for t in range(n):
        hist.append(pv * hist[t] + qv * hist[t + 1] + xv[t])
    dbuf = np.concatenate([np.zeros(2), cv])
    dx, dp, dq = np.zeros(n), 0.0, 0.0
    for t in range(n - 1, max(n - truncate, 0) - 1, -1):
        g = dbuf[t + 2]
        dx[t] += g
        dbuf[t] += pv * g
        dbuf[t + 1] += qv * g
        dp += g * hist[t]
        dq += g * hist[t + 1]
    gx, gi, gp, gq = f(xv, iv, cv, pv, qv)
    np.testing.assert_allclose(gx, dx, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(gi, dbuf[:2], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose([gp, gq], [dp, dq], rtol=1e-12, atol=1e-14)
