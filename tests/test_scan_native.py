"""The whole scan loop as one native function: it is used when the inner graph
lowers, and agrees with the per-step Python path and NumPy loops."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tjit
import tjit.tensor as T
from tjit.scan_module.native import NativeScan
from tjit.scan_module.utils import until


def _scan_thunk(f):
    for node, thunk in zip(f.nodes, f.thunks):
        if type(node.op).__name__ == "Scan":
            return thunk
    raise AssertionError("no Scan node")


def test_rnn_runs_natively_and_matches_numpy():
    W, X, h0 = T.dmatrix("W"), T.dmatrix("X"), T.dvector("h0")
    h, _ = tjit.scan(lambda x, h, W: T.tanh(T.dot(W, h) + x), sequences=X, outputs_info=h0,
                     non_sequences=W)
    f = tjit.function([W, X, h0], h)
    assert isinstance(_scan_thunk(f), NativeScan)
    rng = np.random.default_rng(1)
    Wv, Xv, hv = rng.normal(size=(7, 7)) * 0.3, rng.normal(size=(30, 7)), rng.normal(size=7)
    ref, hh = [], hv
    for x in Xv:
        hh = np.tanh(Wv @ hh + x)
        ref.append(hh)
    np.testing.assert_allclose(f(Wv, Xv, hv), ref, rtol=1e-12, atol=1e-14)
    # other sizes reuse the compiled loop; layouts: a reversed, strided sequence
    np.testing.assert_allclose(f(Wv, Xv[::-2], hv)[-1], _rnn(Wv, Xv[::-2], hv), rtol=1e-12)
    W3 = rng.normal(size=(3, 3))
    np.testing.assert_allclose(f(W3, Xv[:, :3], hv[:3])[-1], _rnn(W3, Xv[:, :3], hv[:3]),
                               rtol=1e-12)
    # hidden sizes around the matrix-vector unroll (8 rows at a time, then the rest)
    for d in (8, 21, 64):
        Wd, Xd, hd = rng.normal(size=(d, d)) / d, rng.normal(size=(9, d)), rng.normal(size=d)
        np.testing.assert_allclose(f(Wd, Xd, hd)[-1], _rnn(Wd, Xd, hd), rtol=1e-12)
        # a non-contiguous (transposed) W
        np.testing.assert_allclose(f(Wd.T, Xd, hd)[-1], _rnn(Wd.T, Xd, hd), rtol=1e-12)


def _rnn(W, X, h):
    for x in X:
        h = np.tanh(W @ h + x)
    return h


def test_cumulative_sum_runs_natively():
    x = T.dvector("x")
    s, _ = tjit.scan(lambda a, acc: acc + a, sequences=x, outputs_info=np.float64(0))
    f = tjit.function([x], s)
    assert isinstance(_scan_thunk(f), NativeScan)
    xv = np.random.default_rng(2).normal(size=1000)
    np.testing.assert_array_equal(f(xv), np.cumsum(xv))
    assert f(xv[:0]).shape == (0,)


def test_non_square_matrix_vector_steps():
    W, X, h0, V = T.dmatrix("W"), T.dmatrix("X"), T.dvector("h0"), T.dmatrix("V")
    (h, y), _ = tjit.scan(lambda x, h, W, V: [T.tanh(T.dot(W, h) + x), T.dot(V, h)],
                          sequences=X, outputs_info=[h0, None], non_sequences=[W, V])
    f = tjit.function([W, X, h0, V], [h, y])
    assert isinstance(_scan_thunk(f), NativeScan)
    rng = np.random.default_rng(5)
    Wv, Xv, hv, Vv = (rng.normal(size=(10, 10)) / 5, rng.normal(size=(6, 10)),
                      rng.normal(size=10), rng.normal(size=(3, 10)))
    got_h, got_y = f(Wv, Xv, hv, Vv)
    hh, hs, ys = hv, [], []
    for x in Xv:
        ys.append(Vv @ hh)
        hh = np.tanh(Wv @ hh + x)
        hs.append(hh)
    np.testing.assert_allclose(got_h, hs, rtol=1e-12)
    np.testing.assert_allclose(got_y, ys, rtol=1e-12)


def test_dump_shows_the_loop_kernel_once_run():
    x = T.dvector("x")
    s, _ = tjit.scan(lambda a, acc: acc + a, sequences=x, outputs_info=np.float64(0))
    f = tjit.function([x], s)
    f(np.arange(3.0))
    text = tjit.dump(f, "loop")
    assert "for step in" in text and "seq0[step]" in text


def test_native_shape_error_names_scan_and_step():
    W, X, h0 = T.dmatrix("W"), T.dmatrix("X"), T.dvector("h0")
    h, _ = tjit.scan(lambda x, h, W: T.tanh(T.dot(W, h) + x), sequences=X, outputs_info=h0,
                     non_sequences=W, name="rnn")
    f = tjit.function([W, X, h0], h)
    with pytest.raises(ValueError, match="scan 'rnn', step 0"):
        f(np.ones((3, 3)), np.ones((4, 2)), np.ones(3))
    with pytest.raises(ValueError, match="scan 'rnn', step 0"):
        f(np.ones((3, 4)), np.ones((4, 3)), np.ones(4))


def test_until_falls_back_to_the_step_loop():
    y0 = T.dscalar("y0")
    ys, _ = tjit.scan(lambda y: (y * 2, until(y * 2 > 20)), outputs_info=y0, n_steps=100)
    f = tjit.function([y0], ys)
    assert not isinstance(_scan_thunk(f), NativeScan)
    np.testing.assert_array_equal(f(1.0), [2, 4, 8, 16, 32])


def test_several_outputs_taps_and_map_outputs():
    x = T.dvector("x")
    a0 = T.dvector("a0")

    def step(xt, a2, a1, b1):
        a = a1 * 0.5 + a2 * 0.25 + xt
        b = b1 * 0.9 + a
        return a, b, a * b, T.exp(-xt)

    outs, _ = tjit.scan(step, sequences=x,
                        outputs_info=[dict(initial=a0, taps=[-2, -1]), np.float64(1.0), None,
                                      None])
    f = tjit.function([x, a0], outs)
    assert isinstance(_scan_thunk(f), NativeScan)
    g = tjit.function([x, a0], outs, mode="PY")
    xv, av = np.random.default_rng(3).normal(size=12), np.array([0.3, -0.7])
    got, ref = f(xv, av), g(xv, av)
    for r, e in zip(got, ref):
        np.testing.assert_allclose(r, e, rtol=1e-13)
    hist, b, prods = list(av), 1.0, []
    for t, xt in enumerate(xv):
        a = hist[-1] * 0.5 + hist[-2] * 0.25 + xt
        b = b * 0.9 + a
        hist.append(a)
        prods.append(a * b)
    np.testing.assert_allclose(got[0], hist[2:], rtol=1e-13)
    np.testing.assert_allclose(got[2], prods, rtol=1e-13)
    np.testing.assert_allclose(got[3], np.exp(-xv), rtol=1e-15)


def test_matrix_state_with_reduction_and_shared_update():
    acc = tjit.shared(np.zeros(3), name="acc")
    M = T.dmatrix("M")
    X = T.dtensor3("X")

    def step(x, m):
        new = T.tanh(m * 0.5 + x)
        return [new, new.sum(axis=0)], {acc: acc + new.max(axis=0)}

    (ms, sums), upd = tjit.scan(step, sequences=X, outputs_info=[M, None])
    f = tjit.function([X, M], [ms, sums], updates=upd)
    assert isinstance(_scan_thunk(f), NativeScan)   # reductions over axis 0 included
    rng = np.random.default_rng(4)
    Xv, Mv = rng.normal(size=(5, 4, 3)), rng.normal(size=(4, 3))
    r_ms, r_sums = f(Xv, Mv)
    m, a, ref_ms = Mv, np.zeros(3), []
    for x in Xv:
        m = np.tanh(m * 0.5 + x)
        a = a + m.max(axis=0)
        ref_ms.append(m)
    np.testing.assert_allclose(r_ms, ref_ms, rtol=1e-13)
    np.testing.assert_allclose(r_sums, np.array(ref_ms).sum(axis=1), rtol=1e-13)
    np.testing.assert_allclose(acc.get_value(), a, rtol=1e-13)


EXPRS = {
    "add": lambda s, h, w: s + h * w,
    "tanh": lambda s, h, w: T.tanh(s - h) * w,
    "mix": lambda s, h, w: T.switch(T.gt(h, 0), h * 0.5, s) + w,
    "sum": lambda s, h, w: h * 0.3 + (s * w).sum(),
}
NP_EXPRS = {
    "add": lambda s, h, w: s + h * w,
    "tanh": lambda s, h, w: np.tanh(s - h) * w,
    "mix": lambda s, h, w: np.where(h > 0, h * 0.5, s) + w,
    "sum": lambda s, h, w: h * 0.3 + (s * w).sum(),
}


@settings(max_examples=15, deadline=None)
@given(name=st.sampled_from(sorted(EXPRS)), taps=st.lists(st.integers(-3, -1), min_size=1,
                                                             max_size=2, unique=True),
       n=st.integers(1, 9), width=st.integers(1, 4), backwards=st.booleans(),
       seed=st.integers(0, 99))
def test_random_inner_graphs_native_vs_python(name, taps, n, width, backwards, seed):
    rng = np.random.default_rng(seed)
    lag = -min(taps)
    xv = rng.normal(size=(n, width))
    iv = rng.normal(size=(lag, width))
    wv = rng.normal(size=width)
    x, init, w = T.dmatrix("x"), T.dmatrix("init"), T.dvector("w")
    expr = EXPRS[name]

    def step(s, *rest):
        hs, wt = rest[:-1], rest[-1]
        return expr(s, sum(hs[1:], hs[0]), wt)

    out, _ = tjit.scan(step, sequences=x,
                       outputs_info=dict(initial=init if taps != [-1] else init[0], taps=taps),
                       non_sequences=w, go_backwards=backwards)
    f = tjit.function([x, init, w], out)
    g = tjit.function([x, init, w], out, mode="PY")
    got, ref_py = f(xv, iv, wv), g(xv, iv, wv)
    seq = xv[::-1] if backwards else xv
    hist = list(iv)
    for t in range(n):
        h = sum(hist[lag + t + k] for k in taps[1:]) + hist[lag + t + taps[0]] \
            if len(taps) > 1 else hist[lag + t + taps[0]]
        hist.append(NP_EXPRS[name](seq[t], h, wv))
    np.testing.assert_allclose(got, np.array(hist[lag:]), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got, ref_py, rtol=1e-12, atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(taps=st.lists(st.integers(-6, -1), min_size=1, max_size=3, unique=True),
       n=st.integers(1, 12), seed=st.integers(0, 99), with_map=st.booleans())
def test_scalar_state_taps_native_vs_reference(taps, n, seed, with_map):
    """Scalar states (kept in registers when at most 4 taps back) and a map output."""
    rng = np.random.default_rng(seed)
    lag = -min(taps)
    xv, iv = rng.normal(size=n), rng.normal(size=lag)
    x, init = T.dvector("x"), T.dvector("init")

    def step(xt, *hs):
        new = xt + sum(0.5 ** (j + 1) * T.sin(h) for j, h in enumerate(hs))
        return (new, new * xt) if with_map else new

    infos = [dict(initial=init if taps != [-1] else init[0], taps=taps)]
    out, _ = tjit.scan(step, sequences=x, outputs_info=infos + ([None] if with_map else []))
    f = tjit.function([x, init], out)
    assert isinstance(_scan_thunk(f), NativeScan)
    got = f(xv, iv)
    hist, maps = list(iv), []
    for t in range(n):
        new = xv[t] + sum(0.5 ** (j + 1) * np.sin(hist[lag + t + k]) for j, k in enumerate(taps))
        hist.append(new)
        maps.append(new * xv[t])
    # sin is within an ulp of NumPy's, not equal: a state that cancels to ~0
    # keeps an absolute error of an ulp of its terms (which are below 8)
    tol = dict(rtol=1e-13, atol=1e-14)
    if with_map:
        np.testing.assert_allclose(got[0], hist[lag:], **tol)
        np.testing.assert_allclose(got[1], maps, **tol)
    else:
        np.testing.assert_allclose(got, hist[lag:], **tol)


def _scan_op(f):
    return next(n.op for n in f.nodes if type(n.op).__name__ == "Scan")


@pytest.mark.parametrize("mode", ["FAST_RUN", "PY"])
@pytest.mark.parametrize("taps,width", [([-1], 0), ([-3, -1], 0), ([-1], 5), ([-2, -1], 3),
                                        ([-6, -5], 0)])
def test_last_value_only_keeps_a_ring(mode, taps, width):
    lag = -min(taps)
    shape = (width,) if width else ()
    x = T.TensorType("float64", (False,) * (1 + len(shape)))("x")
    init = T.TensorType("float64", (False,) * (1 + len(shape)))("init")

    def step(xt, *hs):
        return xt + sum(0.5 * T.cos(h) for h in hs)

    out, _ = tjit.scan(step, sequences=x,
                       outputs_info=dict(initial=init if taps != [-1] else init[0], taps=taps))
    f = tjit.function([x, init], out[-1], mode=mode)
    assert _scan_op(f).last_only == {0}
    rng = np.random.default_rng(len(taps) + width)
    iv = rng.normal(size=(lag,) + shape)
    for n in (1, lag, lag + 1, 17):
        xv = rng.normal(size=(n,) + shape)
        hist = list(iv)
        for t in range(n):
            hist.append(xv[t] + sum(0.5 * np.cos(hist[lag + t + k]) for k in taps))
        np.testing.assert_allclose(f(xv, iv), hist[-1], rtol=1e-13)
    with pytest.raises(IndexError, match="no steps"):
        f(np.zeros((0,) + shape), iv)


def test_whole_history_used_keeps_the_history():
    x = T.dvector("x")
    s, _ = tjit.scan(lambda a, acc: acc + a, sequences=x, outputs_info=np.float64(0))
    f = tjit.function([x], [s, s[-1]])
    assert not _scan_op(f).last_only
    xv = np.arange(5.0)
    r = f(xv)
    np.testing.assert_array_equal(r[0], np.cumsum(xv))
    assert r[1] == 10.0
    g = tjit.function([x], T.grad(s[-1] * 2, x))       # the gradient needs the history
    np.testing.assert_array_equal(g(xv), np.full(5, 2.0))


def test_gradient_is_a_native_reverse_scan():
    """BPTT runs as a reverse scan (native here), keeping no history of its
    states; truncate_gradient >= steps gives the full gradient."""
    W, X, h0 = T.dmatrix("W"), T.dmatrix("X"), T.dvector("h0")
    rng = np.random.default_rng(6)
    Wv, Xv, hv = rng.normal(size=(9, 9)) / 3, rng.normal(size=(15, 9)), rng.normal(size=9)
    results = []
    for truncate in (-1, 1000):
        h, _ = tjit.scan(lambda x, h, W: T.tanh(T.dot(W, h) + x), sequences=X,
                         outputs_info=h0, non_sequences=W, truncate_gradient=truncate)
        cost = (h ** 2).sum() + h[-1].sum()
        f = tjit.function([W, X, h0], T.grad(cost, [W, X, h0]))
        scans = [(n.op, t) for n, t in zip(f.nodes, f.thunks) if type(n.op).__name__ == "Scan"]
        assert len(scans) == 2 and all(isinstance(t, NativeScan) for _, t in scans)
        assert any(op.last_only for op, _ in scans)     # gradient states keep no history
        results.append(f(Wv, Xv, hv))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-13)


def test_gradient_with_zero_steps():
    n, y0, a = T.lscalar("n"), T.dscalar("y0"), T.dscalar("a")
    xs = T.dvector("xs")
    ys, _ = tjit.scan(lambda x, y, a: y * a + x, sequences=xs, outputs_info=y0,
                      non_sequences=a, n_steps=n)
    g = tjit.function([n, xs, y0, a], T.grad(ys.sum() + y0, [xs, y0, a]))
    gx, gy, ga = g(0, np.ones(3), 2.0, 3.0)
    np.testing.assert_array_equal(gx, 0.0)
    assert (gy, ga) == (1.0, 0.0)
    gx, gy, ga = g(2, np.ones(3), 2.0, 3.0)    # ys = [2a + 1, (2a + 1) a + 1]
    np.testing.assert_allclose(gx, [1 + 3.0, 1, 0])
    assert gy == 1 + 3.0 + 9.0 and ga == 2 + (4 * 3.0 + 1)


def test_lstm_with_gate_slices_runs_natively():
    n = 5
    W, X, h0, c0 = T.dmatrix("W"), T.dmatrix("X"), T.dvector("h0"), T.dvector("c0")

    def step(x, h, c, W):
        pre = T.dot(W, h) + x
        i, f = T.nnet.sigmoid(pre[:n]), T.nnet.sigmoid(pre[n:2 * n])
        o, g = T.nnet.sigmoid(pre[2 * n:3 * n]), T.tanh(pre[-n:])
        c2 = f * c + i * g
        return o * T.tanh(c2), c2

    (h, c), _ = tjit.scan(step, sequences=X, outputs_info=[h0, c0], non_sequences=W)
    fn = tjit.function([W, X, h0, c0], [h, c[-1]])
    assert isinstance(_scan_thunk(fn), NativeScan)
    rng = np.random.default_rng(8)
    Wv, Xv = rng.normal(size=(4 * n, n)) * 0.5, rng.normal(size=(11, 4 * n))
    hv, cv = rng.normal(size=n), rng.normal(size=n)
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    hs, hh, cc = [], hv, cv
    for x in Xv:
        pre = Wv @ hh + x
        cc = sig(pre[n:2 * n]) * cc + sig(pre[:n]) * np.tanh(pre[3 * n:])
        hh = sig(pre[2 * n:3 * n]) * np.tanh(cc)
        hs.append(hh)
    got_h, got_c = fn(Wv, Xv, hv, cv)
    np.testing.assert_allclose(got_h, hs, rtol=1e-12)
    np.testing.assert_allclose(got_c, cc, rtol=1e-12)


KEYS = [np.s_[1:], np.s_[:-1], np.s_[-3:], np.s_[2:-1], np.s_[0], np.s_[-1], np.s_[1:100],
        np.s_[:, 1], np.s_[1:, -1], np.s_[-2:, :], np.s_[:, 1:], np.s_[::2], np.s_[5:2]]


@settings(max_examples=25, deadline=None)
@given(key=st.sampled_from(range(len(KEYS))), rows=st.integers(1, 5), cols=st.integers(2, 5),
       seed=st.integers(0, 99))
def test_constant_views_inside_the_loop(key, rows, cols, seed):
    """x[key] of a sequence row, a state and a non-sequence: native (when the view
    can be addressed) and Python paths agree with NumPy."""
    k = KEYS[key]
    rng = np.random.default_rng(seed)
    xv = rng.normal(size=(4, rows, cols))
    mv = rng.normal(size=(rows, cols))
    x, m = T.dtensor3("x"), T.dmatrix("m")
    s0 = T.dmatrix("s0")

    def step(xt, s, m):
        v = xt[k] * 2 + T.tanh(s[k]) + m[k]
        return s * 0.5 + 1.0, v

    (ss, vs), _ = tjit.scan(step, sequences=x, outputs_info=[s0, None], non_sequences=m)
    f = tjit.function([x, s0, m], [ss, vs])
    g = tjit.function([x, s0, m], [ss, vs], mode="PY")
    try:
        expected_shape = mv[k].shape
    except IndexError:      # NumPy refuses the view: both paths must refuse it too
        for fn in (f, g):
            with pytest.raises(IndexError, match="out of bounds"):
                fn(xv, mv, mv)
        return
    got, ref = f(xv, mv, mv), g(xv, mv, mv)
    if isinstance(k, int) or k in (np.s_[1:], np.s_[2:-1], np.s_[-2:, :], np.s_[5:2]):
        thunk = _scan_thunk(f)
        assert isinstance(thunk, NativeScan) and not thunk.unsupported
    s, states, views = mv, [], []
    for t in range(4):
        v = xv[t][k] * 2 + np.tanh(s[k]) + mv[k]
        s = s * 0.5 + 1.0
        states.append(s)
        views.append(v)
    assert got[1].shape == (4,) + expected_shape
    for a, b, c in zip(got, ref, (states, views)):
        np.testing.assert_allclose(a, np.array(c), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["sum", "max", "prod", "min"])
def test_full_reductions_inside_the_loop(kind):
    """Reductions to a scalar (one partial chunk in the loop) read by later nodes
    and returned as per-step outputs."""
    x = T.dmatrix("x")
    s0 = T.dscalar("s0")
    red = getattr(T, kind)
    np_red = getattr(np, kind)

    def step(row, s):
        r = red(T.tanh(row + s))
        return s * 0.5 + r, red(row * 2), red(row.dimshuffle("x", 0) * row.dimshuffle(0, "x"),
                                              axis=0)

    (ss, rs, cols), _ = tjit.scan(step, sequences=x, outputs_info=[s0, None, None])
    f = tjit.function([x, s0], [ss, rs, cols])
    thunk = _scan_thunk(f)
    xv = np.random.default_rng(9).uniform(0.5, 1.5, size=(6, 5))
    got = f(xv, 0.3)
    assert isinstance(thunk, NativeScan) and not thunk.unsupported
    s, states = 0.3, []
    for row in xv:
        s = s * 0.5 + np_red(np.tanh(row + s))
        states.append(s)
    np.testing.assert_allclose(got[0], states, rtol=1e-12)
    np.testing.assert_allclose(got[1], [np_red(r * 2) for r in xv], rtol=1e-12)
    np.testing.assert_allclose(got[2], [np_red(r[None, :] * r[:, None], axis=0) for r in xv],
                               rtol=1e-12)


def test_float32_rnn_and_integer_bool_constant_outputs():
    W, X, h0 = T.fmatrix("W"), T.fmatrix("X"), T.fvector("h0")
    h, _ = tjit.scan(lambda x, h, W: T.tanh(T.dot(W, h) + x), sequences=X, outputs_info=h0,
                     non_sequences=W)
    f = tjit.function([W, X, h0], h)
    assert isinstance(_scan_thunk(f), NativeScan)
    rng = np.random.default_rng(10)
    Wv = (rng.normal(size=(20, 20)) * 0.2).astype("float32")
    Xv, hv = rng.normal(size=(7, 20)).astype("float32"), np.zeros(20, "float32")
    got = f(Wv, Xv, hv)
    assert got.dtype == np.float32
    hh = hv
    for x in Xv:
        hh = np.tanh(Wv @ hh + x)
    np.testing.assert_allclose(got[-1], hh, rtol=1e-5, atol=1e-6)

    x = T.lvector("x")
    (s, b, c), _ = tjit.scan(lambda a, acc: [acc + a, T.gt(a, 2), a * np.array([1, 2, 3])],
                             sequences=x, outputs_info=[np.int64(0), None, None])
    f = tjit.function([x], [s, b, c])
    assert isinstance(_scan_thunk(f), NativeScan)
    xv = np.arange(5)
    got = f(xv)
    np.testing.assert_array_equal(got[0], np.cumsum(xv))
    np.testing.assert_array_equal(got[1], xv > 2)
    np.testing.assert_array_equal(got[2], xv[:, None] * [1, 2, 3])
    assert (got[0].dtype, got[1].dtype, got[2].dtype) == (np.int64, np.bool_, np.int64)


# -- random step graphs -----------------------------------------------------------
UNARY_OPS = [(T.tanh, np.tanh), (T.sin, np.sin), (lambda v: v * 0.5, lambda v: v * 0.5),
             (lambda v: T.exp(-abs(v)), lambda v: np.exp(-np.abs(v))),
             (lambda v: v - v.sum(), lambda v: v - v.sum()),
             (lambda v: v * v.max(), lambda v: v * v.max())]
BINARY_OPS = [(lambda a, b: a + b, np.add), (lambda a, b: a * b, np.multiply),
              (lambda a, b: a - b * 0.5, lambda a, b: a - b * 0.5), (T.maximum, np.maximum)]


def _random_graph(draw, n_leaves, depth):
    """A random expression over leaves 0..n_leaves-1: nested tuples of op indices."""
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return ("leaf", draw(st.integers(0, n_leaves - 1)))
    if draw(st.booleans()):
        return ("un", draw(st.integers(0, len(UNARY_OPS) - 1)),
                _random_graph(draw, n_leaves, depth - 1))
    return ("bin", draw(st.integers(0, len(BINARY_OPS) - 1)),
            _random_graph(draw, n_leaves, depth - 1), _random_graph(draw, n_leaves, depth - 1))


def _evaluate(tree, leaves, numeric):
    if tree[0] == "leaf":
        return leaves[tree[1]]
    if tree[0] == "un":
        return UNARY_OPS[tree[1]][numeric](_evaluate(tree[2], leaves, numeric))
    return BINARY_OPS[tree[1]][numeric](_evaluate(tree[2], leaves, numeric),
                                        _evaluate(tree[3], leaves, numeric))


@st.composite
def _step_graphs(draw):
    taps = draw(st.lists(st.integers(-3, -1), min_size=1, max_size=2, unique=True))
    n_leaves = 1 + len(taps) + 1          # sequence row, taps, non-sequence
    return taps, [_random_graph(draw, n_leaves, 3) for _ in range(2)]


@settings(max_examples=25, deadline=None)
@given(graph=_step_graphs(), n=st.integers(1, 8), width=st.integers(1, 4),
       seed=st.integers(0, 99))
def test_random_step_graphs_native_python_and_reference_agree(graph, n, width, seed):
    taps, (state_tree, map_tree) = graph
    rng = np.random.default_rng(seed)
    lag = -min(taps)
    xv, iv, wv = (rng.normal(size=(n, width)), rng.normal(size=(lag, width)) * 0.5,
                  rng.normal(size=width))
    x, init, w = T.dmatrix("x"), T.dmatrix("init"), T.dvector("w")

    def step(row, *rest):
        leaves = [row, *rest]
        # a state that stays bounded, and a per-step output
        return T.tanh(_evaluate(state_tree, leaves, 0)), _evaluate(map_tree, leaves, 0) + row

    info = dict(initial=init if taps != [-1] else init[0], taps=taps)
    outs, _ = tjit.scan(step, sequences=x, outputs_info=[info, None], non_sequences=w)
    got = tjit.function([x, init, w], outs)(xv, iv, wv)
    ref_py = tjit.function([x, init, w], outs, mode="PY")(xv, iv, wv)
    hist, maps = list(iv), []
    for t in range(n):
        leaves = [xv[t]] + [hist[lag + t + k] for k in taps] + [wv]
        hist.append(np.tanh(_evaluate(state_tree, leaves, 1) + np.zeros(width)))
        maps.append(_evaluate(map_tree, leaves, 1) + xv[t])
    np.testing.assert_allclose(got[0], np.array(hist[lag:]), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got[1], np.array(maps), rtol=1e-10, atol=1e-12)
    for a, b in zip(got, ref_py):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def _softmax_rows(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_softmax_steps_and_view_outputs_run_natively():
    # batch softmax (a rowwise program) as the state
    X, H0 = T.dtensor3("X"), T.dmatrix("H0")
    out, _ = tjit.scan(lambda x, h: T.nnet.softmax(x + h * 0.5), sequences=X, outputs_info=H0)
    f = tjit.function([X, H0], out)
    assert isinstance(_scan_thunk(f), NativeScan)
    rng = np.random.default_rng(11)
    xv, hv = rng.normal(size=(5, 3, 4)), rng.normal(size=(3, 4))
    h, ref = hv, []
    for x in xv:
        h = _softmax_rows(x + h * 0.5)
        ref.append(h)
    np.testing.assert_allclose(f(xv, hv), ref, rtol=1e-13)
    # a step output that is a view (row 0 of a (1, n) softmax) is copied into place
    x, w = T.dmatrix("x"), T.dvector("w")
    out, _ = tjit.scan(lambda row, h, w: T.nnet.softmax((row + h * w).dimshuffle("x", 0))[0],
                       sequences=x, outputs_info=T.ones_like(w) / w.shape[0], non_sequences=w)
    f = tjit.function([x, w], out)
    thunk = _scan_thunk(f)
    xv, wv = rng.normal(size=(6, 4)), rng.normal(size=4)
    h, ref = np.ones(4) / 4, []
    for r in xv:
        h = _softmax_rows(r + h * wv)
        ref.append(h)
    np.testing.assert_allclose(f(xv, wv), ref, rtol=1e-13)
    assert isinstance(thunk, NativeScan) and not thunk.unsupported


def test_step_outputs_nothing_computes_are_constants_or_inputs():
    # Regression: an output no step node writes (a constant, an input passed
    # through) must not come back as uninitialized memory.
    x = T.dvector("x")
    outs, _ = tjit.scan(lambda i, x: [T.constant(np.arange(2.0)), x, x + i],
                          sequences=T.arange(3), non_sequences=x)
    f = tjit.function([x], outs)
    xv = np.array([1.0, -2.0])
    got = f(xv)
    np.testing.assert_array_equal(got[0], np.tile(np.arange(2.0), (3, 1)))
    np.testing.assert_array_equal(got[1], np.tile(xv, (3, 1)))
    np.testing.assert_array_equal(got[2], xv + np.arange(3.0)[:, None])
    h, _ = tjit.scan(lambda h: T.constant(np.arange(2.0)), outputs_info=x, n_steps=4)
    np.testing.assert_array_equal(tjit.function([x], h)(xv), np.tile(np.arange(2.0), (4, 1)))


def test_matrix_vector_products_take_the_loops_matvec_kernels():
    """dot(W, h) (W a non-sequence) and the gradient's dot(W.T, g) are MatVec
    nodes in the step graph; the loop runs them with its own matvec kernels."""
    W, X, h0 = T.dmatrix("W"), T.dmatrix("X"), T.dvector("h0")
    h, _ = tjit.scan(lambda x, h, W: T.tanh(T.dot(W, h) + x), sequences=X, outputs_info=h0,
                     non_sequences=W)
    f = tjit.function([W, X, h0], [h[-1], T.grad((h ** 2).sum(), W)])
    rng = np.random.default_rng(3)
    f(rng.normal(size=(8, 8)) * 0.1, rng.normal(size=(10, 8)), rng.normal(size=8))
    scans = [t for t in f.thunks if isinstance(t, NativeScan)]
    kinds = [k[0] for t in scans for k, _ in t.plan.kernels if isinstance(k, tuple)]
    assert len(scans) == 2 and "matvec" in kinds and "matvec_cols" in kinds, kinds
