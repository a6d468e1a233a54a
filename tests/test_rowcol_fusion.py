"""The rowcol_fusion rewrite: X.w, per-row work giving g, and X.T.g in one pass
over X (FusedRowCol); values as NumPy's in every layout and dtype, in FAST_RUN
and DebugMode, bit-identical for any thread count, and left alone when g is not
a per-row function of X.w."""
import re

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from helpers import apply_layout
import tjit as theano
import tjit.tensor as T
from tjit.config import change_flags
from tjit.ir.lower_rowcol import RowColLaunch
from tjit.link import NativeLinker
from tjit.ops import FusedReduce

LAYOUTS = ("contiguous", "strided", "reversed", "fortran")


def kinds(f):
    return [type(n.op).__name__ for n in f.nodes]


def laid_out(a, layout):
    if layout == "strided":
        a = np.repeat(a, 2, axis=-1)
        return apply_layout(a, layout, a.shape[:-1] + (a.shape[-1] // 2,))
    return apply_layout(a, layout, a.shape)


def logreg(dtype="float64"):
    """W5's training step (shared w and b, cross-entropy + L2, updates), and a
    NumPy step computing the same math."""
    X, y = T.TensorType(dtype, (False, False))("X"), T.TensorType(dtype, (False,))("y")
    w = theano.shared(np.zeros(1, dtype), name="w")
    b = theano.shared(np.asarray(0.0, dtype), name="b")
    p = T.nnet.sigmoid(T.dot(X, w) + b)
    cost = T.nnet.binary_crossentropy(p, y).mean() + 0.01 * (w ** 2).sum()
    gw, gb = T.grad(cost, [w, b])
    updates = [(w, w - 0.1 * gw), (b, b - 0.1 * gb)]

    def reference(Xv, yv, w0, b0):
        z = Xv @ w0 + b0
        pv = 1 / (1 + np.exp(-z))
        c = -np.mean(yv * np.log(pv) + (1 - yv) * np.log1p(-pv)) + 0.01 * np.sum(w0 * w0)
        g = (pv - yv) / len(yv)
        return c, w0 - 0.1 * (Xv.T @ g + 0.02 * w0), b0 - 0.1 * g.sum()

    return (X, y, w, b, cost, updates), reference


@pytest.mark.parametrize("mode", ["FAST_RUN", "DebugMode"])
def test_logistic_regression_step_reads_x_once(mode):
    (X, y, w, b, cost, updates), reference = logreg()
    f = theano.function([X, y], cost, updates=updates, mode=mode)
    if mode == "FAST_RUN":
        assert kinds(f).count("FusedRowCol") == 1, kinds(f)
        assert not any(isinstance(n.op, FusedReduce) and n.inputs[0] is X
                       for n in f.nodes), "X is still read by a reduction"
    rng = np.random.default_rng(1)
    Xv = rng.standard_normal((3001, 23))
    yv = (Xv @ rng.standard_normal(23) > 0).astype(float)
    w0 = 0.01 * rng.standard_normal(23)
    w.set_value(w0.copy())
    b.set_value(np.asarray(0.1))
    for _ in range(3):
        want_c, want_w, want_b = reference(Xv, yv, w.get_value(), float(b.get_value()))
        got_c = f(Xv, yv)
        np.testing.assert_allclose(got_c, want_c, rtol=1e-12)
        np.testing.assert_allclose(w.get_value(), want_w, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(b.get_value(), want_b, rtol=1e-12, atol=1e-15)


def test_results_do_not_depend_on_the_thread_count():
    (X, y, w, b, cost, updates), _ = logreg()
    rng = np.random.default_rng(2)
    Xv = rng.standard_normal((5000, 37))       # five partial chunks, the last one short
    yv = (rng.random(5000) > 0.5).astype(float)
    w0 = 0.1 * rng.standard_normal(37)
    results = []
    for threads in (1, 2, 3):
        with change_flags(threads=threads):
            f = theano.function([X, y], cost, updates=updates)
            assert "FusedRowCol" in kinds(f)
            w.set_value(w0.copy())
            b.set_value(np.asarray(0.0))
            c = f(Xv, yv)
            results.append((c, w.get_value().copy(), float(b.get_value())))
    for c, wv, bv in results[1:]:
        assert c == results[0][0] and bv == results[0][2]
        assert np.array_equal(wv, results[0][1])


# per-row chains: t is the running vector, a a row vector, s a scalar
CHAIN = {
    "sigmoid": (lambda t, a, s: T.nnet.sigmoid(t), lambda t, a, s: 1 / (1 + np.exp(-t))),
    "tanh": (lambda t, a, s: T.tanh(t), lambda t, a, s: np.tanh(t)),
    "mul_a": (lambda t, a, s: t * a, lambda t, a, s: t * a),
    "add_s": (lambda t, a, s: t + s, lambda t, a, s: t + s),
    "sub_a": (lambda t, a, s: t - a, lambda t, a, s: t - a),
    "sqr": (lambda t, a, s: t ** 2, lambda t, a, s: t ** 2),
    "softplus": (lambda t, a, s: T.nnet.softplus(t), lambda t, a, s: np.logaddexp(0, t)),
    "switch": (lambda t, a, s: T.switch(t > a, t, s * t),
               lambda t, a, s: np.where(t > a, t, s * t)),
}


@settings(max_examples=25, deadline=None)
@given(chain=st.lists(st.sampled_from(sorted(CHAIN)), min_size=0, max_size=5),
       dtype=st.sampled_from(["float32", "float64"]),
       n=st.one_of(st.integers(0, 40), st.integers(1000, 2500)),
       d=st.one_of(st.integers(1, 12), st.integers(100, 300)),
       layout=st.sampled_from(LAYOUTS), mode=st.sampled_from(["FAST_RUN", "DebugMode"]),
       seed=st.integers(0, 2**31))
def test_random_per_row_chains_match_numpy(chain, dtype, n, d, layout, mode, seed):
    X = T.TensorType(dtype, (False, False))("X")
    v, a = T.TensorType(dtype, (False,))("v"), T.TensorType(dtype, (False,))("a")
    s = T.TensorType(dtype, ())("s")
    t = T.dot(X, v)
    for name in chain:
        t = CHAIN[name][0](t, a, s)
    f = theano.function([X, v, a, s], [T.dot(X.T, t), t.sum()], mode=mode,
                        on_unused_input="ignore")
    if mode == "FAST_RUN":
        assert "FusedRowCol" in kinds(f), kinds(f)
    rng = np.random.default_rng(seed)
    Xv = (rng.standard_normal((n, d)) / np.sqrt(d)).astype(dtype)
    vv, av = rng.standard_normal(d).astype(dtype), rng.standard_normal(n).astype(dtype)
    sv = np.asarray(rng.standard_normal(), dtype)
    Xl = laid_out(Xv, layout)          # reversed: a different matrix, in reversed memory
    got_col, got_sum = f(Xl, vv, av, sv)
    X64 = Xl.astype("float64")
    tv = X64 @ vv.astype("float64")
    for name in chain:
        tv = CHAIN[name][1](tv, av.astype("float64"), float(sv))
    assert got_col.dtype == np.dtype(dtype) and got_col.shape == (d,)
    tol = dict(rtol=2e-3, atol=2e-3) if dtype == "float32" else dict(rtol=1e-9, atol=1e-9)
    scale = max(1.0, float(np.abs(tv).max(initial=0)))
    np.testing.assert_allclose(got_col / scale, X64.T @ tv / scale, **tol)
    np.testing.assert_allclose(got_sum / scale / max(n, 1), tv.sum() / scale / max(n, 1),
                               **tol)


def test_not_fused_when_g_is_not_per_row():
    """g = z - mean(z) needs every row's z before any g: two passes stay."""
    X, v = T.dmatrix("X"), T.dvector("v")
    z = T.dot(X, v)
    f = theano.function([X, v], T.dot(X.T, z - z.mean()))
    assert "FusedRowCol" not in kinds(f)
    rng = np.random.default_rng(3)
    Xv, vv = rng.standard_normal((500, 9)), rng.standard_normal(9)
    zv = Xv @ vv
    np.testing.assert_allclose(f(Xv, vv), Xv.T @ (zv - zv.mean()), rtol=1e-10, atol=1e-10)


def test_not_fused_across_different_matrices():
    X, Y, v = T.dmatrix("X"), T.dmatrix("Y"), T.dvector("v")
    f = theano.function([X, Y, v], T.dot(Y.T, T.tanh(T.dot(X, v))))
    assert "FusedRowCol" not in kinds(f)
    rng = np.random.default_rng(4)
    Xv, Yv, vv = rng.standard_normal((50, 4)), rng.standard_normal((50, 6)), \
        rng.standard_normal(4)
    np.testing.assert_allclose(f(Xv, Yv, vv), Yv.T @ np.tanh(Xv @ vv), rtol=1e-12)


@pytest.mark.parametrize("mode", ["FAST_RUN", "DebugMode"])
def test_mismatched_shapes_raise_naming_the_inputs(mode):
    X, v, a = T.dmatrix("X"), T.dvector("v"), T.dvector("a")
    f = theano.function([X, v, a], T.dot(X.T, T.dot(X, v) * a), mode=mode)
    rng = np.random.default_rng(5)
    Xv = rng.standard_normal((20, 3))
    with pytest.raises(ValueError, match="a"):
        f(Xv, np.ones(3), np.ones(19))
    with pytest.raises(ValueError, match="not aligned"):
        f(Xv, np.ones(4), np.ones(20))


def test_lowered_kernel_runs_at_level_0():
    """FAST_COMPILE never builds FusedRowCol, but its lowering compiles at any level:
    at level 0 (no vector code) it agrees with level 3 and NumPy."""
    X, v, a = T.dmatrix("X"), T.dvector("v"), T.dvector("a")
    f = theano.function([X, v, a], T.dot(X.T, T.tanh(T.dot(X, v)) * a))
    node = next(n for n in f.nodes if type(n.op).__name__ == "FusedRowCol")
    thunks = {level: NativeLinker(level).thunk(node) for level in (0, 3)}
    assert all(isinstance(t.launch, RowColLaunch) for t in thunks.values())
    vector = re.compile(r"<\d+ x double>")
    assert vector.search(thunks[3].native.llvm_ir)
    assert not vector.search(thunks[0].native.llvm_ir)
    rng = np.random.default_rng(6)
    Xv, vv, av = rng.standard_normal((2500, 13)), rng.standard_normal(13), \
        rng.standard_normal(2500)
    got = {level: t([Xv, vv, av]) for level, t in thunks.items()}
    z = Xv @ vv
    want = [z, np.tanh(z) * av, Xv.T @ (np.tanh(z) * av)]
    for level in (0, 3):
        for g, w in zip(got[level], want):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)
