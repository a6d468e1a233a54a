"""T.nnet (activations, softmax, losses) against NumPy/SciPy, their gradients
against finite differences, and the stabilize_* rewrites: each keeps values,
fixes the unstable case (in the function and in its gradient), shows in the
compiled graph, and can be excluded by name."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy import special as sp

import tjit as theano
import tjit.tensor as T
from tjit.tensor import nnet

TOL = {"float32": dict(rtol=2e-5, atol=2e-6), "float64": dict(rtol=1e-12, atol=1e-13)}
DTYPES = ["float32", "float64"]


def scalar_ops(f):
    """Names of the scalar ops in f's compiled graph (inside fused kernels too)."""
    names = []
    for n in f.nodes:
        program = getattr(n.op, "program", None)
        if program is not None:
            names += program.op_names
        elif hasattr(n.op, "scalar_op"):
            names.append(n.op.scalar_op.name)
        else:
            names.append(type(n.op).__name__)
    return names


def fd_grad(fn, v, eps=1e-6):
    g = np.zeros_like(v)
    for i in np.ndindex(v.shape):
        a, b = v.copy(), v.copy()
        a[i] += eps
        b[i] -= eps
        g[i] = (fn(a) - fn(b)) / (2 * eps)
    return g


def check_grad(expr, x, v, **tol):
    """T.grad of sum(expr) against central differences of the compiled function."""
    cost = expr.sum()
    f = theano.function([x], cost)
    g = theano.function([x], T.grad(cost, x))
    np.testing.assert_allclose(g(v), fd_grad(lambda a: float(f(a)), v),
                               **(tol or dict(rtol=1e-5, atol=1e-7)))


# -- values against NumPy / SciPy ---------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_elementwise_activations_match_numpy(dtype):
    x = T.vector("x", dtype=dtype)
    v = np.array([-900, -30, -1.5, 0, 0.25, 3, 30, 900], dtype=dtype)
    f = theano.function([x], [nnet.sigmoid(x), nnet.softplus(x), nnet.relu(x),
                              nnet.relu(x, alpha=0.1)])
    sig, soft, relu, leaky = f(v)
    for out in (sig, soft, relu, leaky):
        assert out.dtype == dtype
    np.testing.assert_allclose(sig, sp.expit(v), **TOL[dtype])
    np.testing.assert_allclose(soft, np.logaddexp(0, v.astype("float64")), **TOL[dtype])
    np.testing.assert_array_equal(relu, np.maximum(v, 0))
    np.testing.assert_allclose(leaky, np.where(v > 0, v, 0.1 * v), **TOL[dtype])


def test_relu_symbolic_alpha_and_int_input_follow_theano():
    x, a = T.dvector("x"), T.dscalar("a")
    v = np.array([-2.0, -0.5, 0.0, 1.5])
    f = theano.function([x, a], nnet.relu(x, a))
    np.testing.assert_allclose(f(v, 0.2), np.where(v > 0, v, 0.2 * v), rtol=1e-15)
    i = T.ivector("i")
    r = nnet.relu(i)
    assert r.dtype == "float64"  # Theano: 0.5 * (x + abs(x))
    np.testing.assert_array_equal(theano.function([i], r)(np.array([-3, 4], "int32")), [0, 4])


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_and_logsoftmax_match_scipy(dtype):
    x = T.matrix("x", dtype=dtype)
    v = (np.random.RandomState(0).randn(7, 11) * 5).astype(dtype)
    f = theano.function([x], [nnet.softmax(x), nnet.logsoftmax(x), nnet.log_softmax(x)])
    sm, lsm, lsm2 = f(v)
    assert sm.dtype == lsm.dtype == dtype
    np.testing.assert_allclose(sm, sp.softmax(v.astype("float64"), axis=1), **TOL[dtype])
    np.testing.assert_allclose(lsm, sp.log_softmax(v.astype("float64"), axis=1), **TOL[dtype])
    np.testing.assert_array_equal(lsm, lsm2)


def test_softmax_of_vector_is_a_row_as_theano_1_0():
    x = T.dvector("x")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = nnet.softmax(x)
    assert s.broadcastable == (True, False)
    v = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(theano.function([x], s)(v), sp.softmax(v)[None], rtol=1e-15)


def test_softmax_rejects_integer_input_when_the_graph_is_built():
    with pytest.raises(TypeError, match="floats"):
        nnet.softmax(T.imatrix("i"))
    with pytest.raises(ValueError):  # Theano raised ValueError: both work
        nnet.softmax(T.imatrix("i"))


@settings(max_examples=15, deadline=None)
@given(rows=st.integers(1, 5), cols=st.integers(1, 9), scale=st.sampled_from([1, 30, 1e3]),
       dtype=st.sampled_from(DTYPES), seed=st.integers(0, 2 ** 16))
def test_softmax_random_shapes_and_large_magnitudes(rows, cols, scale, dtype, seed):
    v = (np.random.RandomState(seed).randn(rows, cols) * scale).astype(dtype)
    f = _softmax_fns[dtype]
    sm, lsm, lse = f(v)
    ref = v.astype("float64")
    assert np.all(np.isfinite(sm)) and np.all(np.isfinite(lse))
    np.testing.assert_allclose(sm, sp.softmax(ref, axis=1), **TOL[dtype])
    np.testing.assert_allclose(lsm, sp.log_softmax(ref, axis=1),
                               rtol=TOL[dtype]["rtol"], atol=TOL[dtype]["atol"] * scale)
    np.testing.assert_allclose(lse, sp.logsumexp(ref, axis=1), **TOL[dtype])


def _softmax_fn(dtype):
    x = T.matrix("x", dtype=dtype)
    return theano.function([x], [nnet.softmax(x), T.log(nnet.softmax(x)),
                                 T.log(T.exp(x).sum(axis=1))])


_softmax_fns = {d: _softmax_fn(d) for d in DTYPES}


@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_crossentropy_matches_numpy(dtype):
    o, t = T.vector("o", dtype=dtype), T.vector("t", dtype=dtype)
    ov = np.array([0.1, 0.5, 0.9, 0.999], dtype=dtype)
    tv = np.array([0.0, 1.0, 0.3, 1.0], dtype=dtype)
    out = theano.function([o, t], nnet.binary_crossentropy(o, t))(ov, tv)
    ref = -(tv * np.log(ov) + (1 - tv) * np.log(1 - ov))
    assert out.dtype == dtype
    np.testing.assert_allclose(out, ref, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_categorical_crossentropy_with_probabilities_and_class_indices(dtype):
    c, t, y = T.matrix("c", dtype=dtype), T.matrix("t", dtype=dtype), T.ivector("y")
    cv = sp.softmax(np.random.RandomState(1).randn(5, 4), axis=1).astype(dtype)
    yv = np.array([0, 3, 1, 1, 2], dtype="int32")
    tv = np.eye(4, dtype=dtype)[yv]
    f = theano.function([c, t, y], [nnet.categorical_crossentropy(c, t),
                                    nnet.categorical_crossentropy(c, y)])
    dense, picked = f(cv, tv, yv)
    ref = -np.log(cv[np.arange(5), yv].astype("float64"))
    np.testing.assert_allclose(dense, ref, **TOL[dtype])
    np.testing.assert_allclose(picked, ref, **TOL[dtype])
    with pytest.raises(IndexError):
        f(cv, tv, np.array([0, 4, 1, 1, 2], dtype="int32"))
    with pytest.raises(TypeError, match="rank mismatch"):
        nnet.categorical_crossentropy(c, T.dtensor3())
    with pytest.raises(TypeError, match="integer"):
        nnet.categorical_crossentropy(c, T.dvector())


def test_crossentropy_of_softmax_is_log_softmax_even_for_huge_logits():
    x, y = T.dmatrix("x"), T.ivector("y")
    loss = nnet.categorical_crossentropy(nnet.softmax(x), y)
    g = T.grad(loss.sum(), x)
    f = theano.function([x, y], [loss, g])
    v = np.array([[0.0, 1000.0, -1000.0], [1.0, 2.0, 3.0]])
    yv = np.array([2, 0], dtype="int32")
    lv, gv = f(v, yv)
    np.testing.assert_allclose(lv, -sp.log_softmax(v, axis=1)[np.arange(2), yv], rtol=1e-14)
    np.testing.assert_allclose(gv, sp.softmax(v, axis=1) - np.eye(3)[yv], atol=1e-14)


# -- gradients against finite differences ----------------------------------------
@pytest.mark.parametrize("name", ["softmax", "logsoftmax", "sigmoid", "softplus", "relu",
                                  "leaky_relu"])
def test_gradients_match_finite_differences(name):
    x = T.dmatrix("x")
    w = np.random.RandomState(3).randn(3, 4)
    fn = {"softmax": nnet.softmax, "logsoftmax": nnet.logsoftmax, "sigmoid": nnet.sigmoid,
          "softplus": nnet.softplus, "relu": nnet.relu,
          "leaky_relu": lambda a: nnet.relu(a, 0.2)}[name]
    v = np.random.RandomState(4).randn(3, 4) + 0.05  # away from relu's kink at 0
    check_grad(fn(x) * w, x, v)


def test_loss_gradients_match_finite_differences():
    x, c = T.dmatrix("x"), T.dmatrix("c")
    rs = np.random.RandomState(5)
    t = sp.softmax(rs.randn(3, 4), axis=1)
    yv = np.array([1, 0, 3], dtype="int32")
    p = sp.softmax(rs.randn(3, 4), axis=1)
    check_grad(nnet.categorical_crossentropy(nnet.softmax(x), t), x, rs.randn(3, 4))
    check_grad(nnet.categorical_crossentropy(nnet.softmax(x), yv), x, rs.randn(3, 4))
    check_grad(nnet.categorical_crossentropy(c, yv), c, p)
    check_grad(nnet.categorical_crossentropy(c, t), c, p)
    check_grad(nnet.binary_crossentropy(nnet.sigmoid(x), t), x, rs.randn(3, 4))
    check_grad(nnet.binary_crossentropy(c, t), c, p)
    check_grad(T.log(T.exp(x).sum(axis=1)), x, rs.randn(3, 4))


# -- the stability rewrites ---------------------------------------------------------
def compiled(inputs, expr, *excluded):
    mode = theano.Mode().excluding(*excluded) if excluded else None
    return theano.function(inputs, expr, mode=mode)


def test_log1p_rewrite():
    x = T.dvector("x")
    v = np.array([1e-20, -1e-20, 0.5, -0.25])
    for expr, ref in [(T.log(1 + x), np.log1p(v)), (T.log(x + 1), np.log1p(v)),
                      (T.log(1 - x), np.log1p(-v))]:
        f = compiled([x], expr)
        assert "stabilize_log1p" in f.rewrites_applied
        assert "log1p" in scalar_ops(f) and "log" not in scalar_ops(f)
        np.testing.assert_allclose(f(v), ref, rtol=1e-15)
        assert f(v)[0] != 0  # log(1 + 1e-20) is 1e-20, not 0
        off = compiled([x], expr, "stabilize_log1p")
        assert "log1p" not in scalar_ops(off) and off(v)[0] == 0
        assert "stabilize_log1p" not in off.rewrites_applied
    for expr in (T.log(2 + x), T.log(x), T.log(x - 1)):  # nothing for the rewrite to do
        assert "stabilize_log1p" not in compiled([x], expr).rewrites_applied


@pytest.mark.parametrize("dtype", DTYPES)
def test_log_sigmoid_rewrites_value_and_gradient(dtype):
    x = T.vector("x", dtype=dtype)
    v = np.array([-800, -50, -1, 0, 2, 50, 800], dtype=dtype)
    cases = [(T.log(nnet.sigmoid(x)), -np.logaddexp(0, -v.astype("float64")),
              sp.expit(-v.astype("float64"))),
             (T.log(1 - nnet.sigmoid(x)), -np.logaddexp(0, v.astype("float64")),
              -sp.expit(v.astype("float64")))]
    for expr, ref, gref in cases:
        f = compiled([x], [expr, T.grad(expr.sum(), x)])
        assert "stabilize_softplus" in f.rewrites_applied and "softplus" in scalar_ops(f)
        out, g = f(v)
        assert np.all(np.isfinite(out)) and np.all(np.isfinite(g))
        np.testing.assert_allclose(out, ref, **TOL[dtype])
        np.testing.assert_allclose(g, gref, **TOL[dtype])
        with np.errstate(all="ignore"):
            off_out, off_g = compiled([x], [expr, T.grad(expr.sum(), x)],
                                      "stabilize_softplus", "stabilize_ratios")(v)
        assert not np.all(np.isfinite(off_out)) and not np.all(np.isfinite(off_g))


def test_log_sigmoid_at_minus_800_is_minus_800():
    x = T.dscalar("x")
    f = compiled([x], T.log(nnet.sigmoid(x)))
    assert "stabilize_softplus" in f.rewrites_applied and "softplus" in scalar_ops(f)
    assert f(-800.0) == -800.0
    assert "stabilize_softplus" not in compiled([x], T.log(T.tanh(x))).rewrites_applied
    assert theano.function([x], T.grad(T.log(nnet.sigmoid(x)), x))(-800.0) == 1.0


def test_log_one_plus_exp_is_softplus_with_a_finite_gradient():
    x = T.dvector("x")
    v = np.array([-800.0, -2.0, 0.0, 3.0, 800.0])
    for expr in (T.log(1 + T.exp(x)), T.log1p(T.exp(x))):
        f = compiled([x], [expr, T.grad(expr.sum(), x)])
        out, g = f(v)
        np.testing.assert_allclose(out, np.logaddexp(0, v), rtol=1e-15)
        np.testing.assert_allclose(g, sp.expit(v), rtol=1e-15)


def test_binary_crossentropy_of_sigmoid_is_stable():
    z, t = T.dvector("z"), T.dvector("t")
    tv = np.array([1.0, 0.0, 0.3, 1.0, 0.0])
    zv = np.array([-800.0, 800.0, 0.7, 40.0, -40.0])
    loss = nnet.binary_crossentropy(nnet.sigmoid(z), t)
    out, g = theano.function([z, t], [loss, T.grad(loss.sum(), z)])(zv, tv)
    ref = tv * np.logaddexp(0, -zv) + (1 - tv) * np.logaddexp(0, zv)
    np.testing.assert_allclose(out, ref, rtol=1e-14)
    np.testing.assert_allclose(g, sp.expit(zv) - tv, rtol=1e-14, atol=1e-16)
    # Written out by hand, the stabilize rewrites make the same graph stable.
    s = nnet.sigmoid(z)
    manual = -(t * T.log(s) + (1 - t) * T.log(1 - s))
    out2, g2 = theano.function([z, t], [manual, T.grad(manual.sum(), z)])(zv, tv)
    np.testing.assert_allclose(out2, ref, rtol=1e-14)
    np.testing.assert_allclose(g2, sp.expit(zv) - tv, rtol=1e-14, atol=1e-16)


@pytest.mark.parametrize("keepdims", [False, True])
def test_logsumexp_rewrite(keepdims):
    x = T.dmatrix("x")
    expr = T.log(T.exp(x).sum(axis=1, keepdims=keepdims))
    v = np.array([[1000.0, 1000.0], [-np.inf, -np.inf], [1.0, 2.0], [-1000.0, -1001.0]])
    ref = sp.logsumexp(v, axis=1, keepdims=keepdims)
    f = compiled([x], [expr, T.grad(expr.sum(), x)])
    assert "stabilize_logsumexp" in f.rewrites_applied
    assert "max" in theano.printing.debugprint(f, file="str").lower()  # Max or FusedReduce{max
    out, g = f(v)
    np.testing.assert_allclose(out, ref, rtol=1e-15)
    assert out.ravel()[0] == 1000 + np.log(2) and out.ravel()[1] == -np.inf
    fin = [0, 2, 3]
    np.testing.assert_allclose(g[fin], sp.softmax(v[fin], axis=1), rtol=1e-14)
    off = compiled([x], expr, "stabilize_logsumexp")
    assert "max" not in theano.printing.debugprint(off, file="str").lower()
    assert "stabilize_logsumexp" not in off.rewrites_applied
    shifted = x - x.max(axis=1, keepdims=True)         # already stable: left alone
    assert "stabilize_logsumexp" not in \
        compiled([x], T.log(T.exp(shifted).sum(axis=1))).rewrites_applied
    with np.errstate(all="ignore"):
        assert off(v).ravel()[0] == np.inf


def test_logsumexp_over_all_axes_and_float32():
    x = T.fmatrix("x")
    v = np.array([[80.0, 90.0], [95.0, -3.0]], dtype="float32")  # exp overflows float32
    out = compiled([x], T.log(T.sum(T.exp(x))))(v)
    assert out.dtype == "float32"
    np.testing.assert_allclose(out, sp.logsumexp(v.astype("float64")), rtol=1e-6)


def test_log_softmax_rewrite():
    x = T.dmatrix("x")
    v = np.array([[0.0, -1000.0, 5.0], [1.0, 2.0, 3.0]])
    expr = T.log(nnet.softmax(x))
    f = compiled([x], [expr, T.grad((expr * np.arange(3.0)).sum(), x)])
    assert "stabilize_log_softmax" in f.rewrites_applied
    assert "true_div" not in scalar_ops(compiled([x], expr))  # no probabilities divided
    # nnet.logsoftmax is built stable: nothing for the rewrite to do
    assert "stabilize_log_softmax" not in compiled([x], nnet.logsoftmax(x)).rewrites_applied
    out, g = f(v)
    np.testing.assert_allclose(out, sp.log_softmax(v, axis=1), rtol=1e-15)
    w = np.arange(3.0)
    ref_g = w - sp.softmax(v, axis=1) * w.sum()
    np.testing.assert_allclose(g, ref_g, rtol=1e-13, atol=1e-14)
    off = compiled([x], expr, "stabilize_log_softmax")
    with np.errstate(all="ignore"):
        assert off(v)[0, 1] == -np.inf
    assert out[0, 1] == -1000.0 - sp.logsumexp([0.0, -1000.0, 5.0])


def test_hand_written_softmax_log_is_stabilized_too():
    x = T.dmatrix("x")
    e = T.exp(x)
    expr = T.log(e / e.sum(axis=1, keepdims=True))
    v = np.array([[1000.0, 2.0], [0.0, -1000.0]])
    f = compiled([x], expr)
    assert {"stabilize_log_softmax", "stabilize_logsumexp"} <= set(f.rewrites_applied)
    np.testing.assert_allclose(f(v), sp.log_softmax(v, axis=1), rtol=1e-15)


def test_rewrites_are_in_the_pipeline_by_name_with_tags():
    from tjit.passes import PIPELINE
    names = {p.name: p.tags for p in PIPELINE}
    for name in ("stabilize_log1p", "stabilize_softplus", "stabilize_logsumexp",
                 "stabilize_log_softmax", "stabilize_ratios", "stabilize_logistic"):
        assert {"fast_run", "stabilize"} <= names[name]
    order = [p.name for p in PIPELINE]
    assert order.index("stabilize_ratios") < order.index("constant_folding")
    assert order.index("stabilize_logsumexp") < order.index("elemwise_fusion")
    x = T.dvector("x")
    assert compiled([x], T.log(1 + x)).rewrites_applied == ["stabilize_log1p", "elemwise_fusion"]
    f = compiled([x], T.log(1 + x), "stabilize")  # the tag excludes them all
    assert f.rewrites_applied == ["elemwise_fusion"]


def test_optimizer_excluding_config_flag():
    x = T.dvector("x")
    old = theano.config.optimizer_excluding
    try:
        theano.config.optimizer_excluding = ("stabilize_log1p",)
        f = theano.function([x], T.log(1 + x))
    finally:
        theano.config.optimizer_excluding = old
    assert "stabilize_log1p" not in f.rewrites_applied
    assert f(np.array([1e-20]))[0] == 0


def test_debugmode_agrees_on_nnet_graphs():
    x, y = T.dmatrix("x"), T.ivector("y")
    loss = nnet.categorical_crossentropy(nnet.softmax(x), y).mean()
    f = theano.function([x, y], [loss, T.grad(loss, x)], mode="DebugMode")
    v = np.random.RandomState(9).randn(4, 3)
    yv = np.array([0, 2, 1, 1], dtype="int32")
    lv, gv = f(v, yv)
    np.testing.assert_allclose(lv, -sp.log_softmax(v, axis=1)[np.arange(4), yv].mean(),
                               rtol=1e-14)
    np.testing.assert_allclose(gv, (sp.softmax(v, axis=1) - np.eye(3)[yv]) / 4, atol=1e-15)


# -- row-wise fusion: softmax-like graphs run as one FusedRows kernel ----------------
def _rows_nodes(f):
    return [n for n in f.nodes if type(n.op).__name__ == "FusedRows"]


def _np_softmax(a):
    e = np.exp(a - a.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _np_logsoftmax(a):
    y = a - a.max(-1, keepdims=True)
    return y - np.log(np.exp(y).sum(-1, keepdims=True))


def _layouts(a):
    """a, a reversed along every axis, a strided view, a Fortran-ordered copy."""
    wide = np.repeat(a, 2, axis=-1)[..., ::2]
    return [a, a[::-1, ::-1], wide, np.asfortranarray(a)]


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_and_logsoftmax_are_one_row_kernel_on_any_layout(dtype):
    x = T.matrix("x", dtype=dtype)
    for build, ref in [(nnet.softmax, _np_softmax), (nnet.logsoftmax, _np_logsoftmax)]:
        f = theano.function([x], build(x))
        (node,) = f.nodes
        assert type(node.op).__name__ == "FusedRows"
        assert [r.kind for r in node.op.reductions] == ["max", "sum"]
        a = (np.random.default_rng(3).standard_normal((37, 53)) * 30).astype(dtype)
        for v in _layouts(a):
            np.testing.assert_allclose(f(v), ref(v.astype("float64")), **TOL[dtype])
            # the kernel computes exactly what its NumPy reference does, up to
            # the order of the float sum
            np.testing.assert_allclose(f(v), node.op.perform(node, [v])[0], **TOL[dtype])


def test_row_kernel_results_do_not_depend_on_threads():
    x = T.fmatrix("x")
    a = np.random.default_rng(4).standard_normal((300, 700)).astype("float32")
    results = []
    for threads in (1, 2, 3):
        with theano.config.change_flags(threads=threads):
            results.append(theano.function([x], nnet.softmax(x))(a))
    assert all(r.tobytes() == results[0].tobytes() for r in results[1:])


def test_row_fusion_rows_of_3d_inputs_and_general_programs():
    x, b = T.dtensor3("x"), T.dvector("b")
    centred = x - x.mean(-1, keepdims=True)
    outs = [centred / (1 + abs(x).max(-1, keepdims=True)) + b,
            T.exp(x) / T.exp(x).sum(-1, keepdims=True)]
    f = theano.function([x, b], outs)
    (rows,) = _rows_nodes(f)      # both outputs in one row kernel, three reductions
    assert sorted(r.kind for r in rows.op.reductions) == ["max", "sum", "sum"]
    assert all(n is rows for n in f.nodes if n.outputs[0].ndim == 3)
    a = np.random.default_rng(5).standard_normal((3, 4, 9))
    bv = np.linspace(-1, 1, 9)
    got = f(a, bv)
    want = [(a - a.mean(-1, keepdims=True)) / (1 + np.abs(a).max(-1, keepdims=True)) + bv,
            np.exp(a) / np.exp(a).sum(-1, keepdims=True)]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-13)
    with pytest.raises(ValueError):
        f(a, bv[:5])


def test_row_fusion_keeps_reductions_used_elsewhere():
    x = T.dmatrix("x")
    m = x.max(axis=1)
    f = theano.function([x], [nnet.softmax(x), m])
    assert len(_rows_nodes(f)) == 1
    a = np.random.default_rng(6).standard_normal((5, 8))
    s, mv = f(a)
    np.testing.assert_allclose(s, _np_softmax(a), rtol=1e-13)
    np.testing.assert_array_equal(mv, a.max(1))


def test_row_fusion_empty_rows_and_no_rows():
    x = T.dmatrix("x")
    f = theano.function([x], nnet.softmax(x))
    assert f(np.zeros((0, 4))).shape == (0, 4)
    with pytest.raises(ValueError, match="empty"):
        f(np.zeros((3, 0)))
    g = theano.function([x], x / x.sum(1, keepdims=True))   # a sum has an identity
    assert g(np.zeros((3, 0))).shape == (3, 0)


def test_row_fusion_nan_and_inf_as_numpy():
    x = T.dmatrix("x")
    f = theano.function([x], nnet.softmax(x))
    a = np.array([[1.0, np.nan, 2.0], [np.inf, 1.0, 0.0], [-np.inf, 0.0, 1.0],
                  [-np.inf, -np.inf, -np.inf]])
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(np.isnan(f(a)), np.isnan(_np_softmax(a)))
        np.testing.assert_allclose(f(a), _np_softmax(a), rtol=1e-13)


def test_row_fusion_can_be_excluded_and_debugmode_agrees():
    x = T.fmatrix("x")
    a = np.random.default_rng(7).standard_normal((20, 30)).astype("float32")
    off = theano.function([x], nnet.softmax(x), mode=theano.Mode().excluding("rowwise_fusion"))
    assert not _rows_nodes(off)
    on = theano.function([x], nnet.softmax(x))
    np.testing.assert_allclose(on(a), off(a), rtol=1e-6)
    dbg = theano.function([x], nnet.softmax(x), mode="DebugMode")
    np.testing.assert_allclose(dbg(a), off(a), rtol=1e-6)


@settings(max_examples=40, deadline=None)
@given(rows=st.integers(1, 7), cols=st.integers(1, 70), scale=st.sampled_from([0.1, 1.0, 50.0]),
       dtype=st.sampled_from(DTYPES), log=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_row_kernels_match_numpy_property(rows, cols, scale, dtype, log, seed):
    x = T.matrix("x", dtype=dtype)
    f = theano.function([x], (nnet.logsoftmax if log else nnet.softmax)(x))
    a = (np.random.default_rng(seed).standard_normal((rows, cols)) * scale).astype(dtype)
    ref = (_np_logsoftmax if log else _np_softmax)(a.astype("float64"))
    tol = TOL[dtype] if not log else dict(rtol=TOL[dtype]["rtol"], atol=50 * TOL[dtype]["atol"])
    np.testing.assert_allclose(f(a), ref, **tol)


def test_row_fusion_leaves_results_read_across_rows_alone():
    # s[:, None] * s[None, :]: the sum is read along the row and across it; only
    # a read along the row can come from the row being reduced
    x = T.dmatrix("x")
    s = x.sum(axis=1, keepdims=True)
    f = theano.function([x], s * s.T)
    assert not _rows_nodes(f)
    a = np.random.default_rng(8).standard_normal((3, 3))
    sv = a.sum(1, keepdims=True)
    np.testing.assert_allclose(f(a), sv * sv.T, rtol=1e-13)


def test_rowwise_fusion_needs_a_shared_row():
    # sum(y) broadcast against x with len(y) != len(x) is legal: the reduction must
    # not join x's row loop (it would check y's length against x's).
    x = T.dvector("x")
    y = T.dvector("y")
    f = theano.function([x, y], T.maximum(y.sum(), x) * x.sum() + T.exp(x - x.max()))
    xv, yv = np.array([0.5, -1.0, 2.0]), np.array([3.0, 4.0])
    np.testing.assert_allclose(f(xv, yv), np.maximum(yv.sum(), xv) * xv.sum()
                               + np.exp(xv - xv.max()))
    np.testing.assert_allclose(f(xv, yv[:0]), np.maximum(0.0, xv) * xv.sum()
                               + np.exp(xv - xv.max()))


_TERMS = {"x": (lambda t: t, lambda a: a), "exp": (T.exp, np.exp), "abs": (abs, np.abs),
          "sq": (lambda t: t * t, lambda a: a * a)}
_KINDS = {"sum": (lambda t: t.sum(-1, keepdims=True), lambda a: a.sum(-1, keepdims=True)),
          "max": (lambda t: t.max(-1, keepdims=True), lambda a: a.max(-1, keepdims=True)),
          "min": (lambda t: t.min(-1, keepdims=True), lambda a: a.min(-1, keepdims=True)),
          "mean": (lambda t: t.mean(-1, keepdims=True), lambda a: a.mean(-1, keepdims=True))}
_COMBINE = {"add": np.add, "sub": np.subtract, "mul": np.multiply}


@settings(max_examples=30, deadline=None)
@given(shape=st.sampled_from([(1, 5), (4, 33), (3, 2, 17), (2, 1, 70)]),
       parts=st.lists(st.tuples(st.sampled_from(sorted(_TERMS)), st.sampled_from(sorted(_KINDS)),
                                st.sampled_from(sorted(_COMBINE))), min_size=1, max_size=3),
       outer=st.sampled_from(sorted(_TERMS)), layout=st.integers(0, 3), seed=st.integers(0, 99))
def test_row_fusion_random_programs_match_numpy(shape, parts, outer, layout, seed):
    # out = outer(x) (op) kind(term(x)) (op) ...: every reduction over the row
    # runs inside the row kernel; values checked against NumPy on any layout
    x = T.TensorType("float64", (False,) * len(shape))("x")
    a = _layouts(np.random.default_rng(seed).uniform(-2, 2, shape))[layout]
    out, want = _TERMS[outer][0](x), _TERMS[outer][1](a)
    for term, kind, op in parts:
        r = _KINDS[kind][0](_TERMS[term][0](x))
        out = {"add": out + r, "sub": out - r, "mul": out * r}[op]
        want = _COMBINE[op](want, _KINDS[kind][1](_TERMS[term][1](a)))
    f = theano.function([x], out)
    assert all(n is _rows_nodes(f)[0] for n in f.nodes if n.outputs[0].ndim == len(shape))
    np.testing.assert_allclose(f(a), want, rtol=1e-11, atol=1e-11)
