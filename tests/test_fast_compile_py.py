"""FAST_COMPILE as Theano 1.0 documents it: the fast_compile rewrites and the
Python linker (every node runs its op's NumPy `perform`), agreeing with NumPy
and with FAST_RUN; the native level-0 mode stays available by its Mode."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import tjit as theano
import tjit.tensor as T
from tjit import graph_cache
from tjit.compile.mode import FAST_COMPILE, Mode, get_mode
from tjit.ifelse import ifelse
from tjit.link import NativeLinker, PyLinker
from tjit.link.control import IfElseThunk, ScanThunk
from tjit.passes import pipeline
from tjit.runtime.native_thunk import NativeThunk
from tjit.scan_module.native import NativeScan
from tjit.sandbox.rng_mrg import MRG_RandomStreams
from tjit.tensor.shared_randomstreams import RandomStreams

RNG = np.random.default_rng(11)


def _native_nodes(f):
    return [n for n, t in zip(f.nodes, f.thunks) if isinstance(t, (NativeThunk, NativeScan))
            or getattr(t, "native", None) is not None]


def _assert_py(f, native_ops=()):
    """f runs no native code (the py linker made every thunk) but for nodes of
    `native_ops` (normal draws: their bits are FAST_RUN's)."""
    assert isinstance(f.linker, PyLinker) and not f.linker.native
    assert f.mode.linker == "py" and f.mode.optimizer == "fast_compile"
    assert [type(n.op).__name__ for n in _native_nodes(f)
            if type(n.op).__name__ not in native_ops] == []


def test_fast_compile_is_the_py_linker_with_the_fast_compile_rewrites():
    m = get_mode("FAST_COMPILE")
    assert m is FAST_COMPILE and m.linker == "py" and m.optimizer == "fast_compile"
    assert m.tags() == ("fast_compile",)
    names = [p.name for p in pipeline(m.tags())]
    assert "merge" in names and "canonicalize" in names
    assert "elemwise_fusion" not in names and "gemm" not in names
    x = T.dvector("x")
    f = theano.function([x], T.exp(x) * 2 + 1, mode="FAST_COMPILE")
    _assert_py(f)
    v = np.linspace(-1, 1, 7)
    np.testing.assert_array_equal(f(v), np.exp(v) * 2 + 1)


def test_native_level0_mode_is_still_constructible():
    m = Mode(linker="native", optimizer="fast_compile")
    assert m.linker == "native" and m.codegen_level == 0 and m != FAST_COMPILE
    assert "elemwise_fusion" in [p.name for p in pipeline(m.tags())]
    for name in ("cvm", "c", "vm"):
        assert Mode(linker=name, optimizer="fast_compile") == m
    x = T.dvector("x")
    f = theano.function([x], T.tanh(x) * x, mode=m)
    assert isinstance(f.linker, NativeLinker) and f.linker.level == 0
    assert _native_nodes(f)
    v = np.linspace(-2, 2, 9)
    py = theano.function([x], T.tanh(x) * x, mode="FAST_COMPILE")
    np.testing.assert_allclose(f(v), py(v), rtol=1e-15)   # tjit's tanh vs NumPy's: 1 ulp


def test_py_linker_skips_the_graph_cache(monkeypatch):
    def no_key(*a, **k):
        raise AssertionError("the graph cache was consulted")
    monkeypatch.setattr(graph_cache, "structure_key", no_key)
    x = T.dvector("x")
    f = theano.function([x], T.sqrt(abs(x)) + 3.25, mode="FAST_COMPILE")
    np.testing.assert_array_equal(f(np.array([-4.0, 9.0])), [5.25, 6.25])


@pytest.fixture(scope="module")
def elementwise():
    """One graph of many scalar ops and dtypes, in both modes (compiled once)."""
    x, y = T.dvectors("x", "y")
    i = T.ivector("i")
    outs = [T.exp(-x * x) + T.tanh(y), abs(x) ** 3, T.switch(x > y, x, y * 2),
            (x + i) // 3, x % 1.5, T.log1p(abs(y)), T.maximum(x, i), T.cast(x * 10, "int16"),
            T.sgn(x) * T.floor(y), i * 2 + 1, T.true_div(i, 4), T.sqr(x) - y ** 2,
            T.erf(x), T.arctan2(x, y), T.clip(x, -0.5, 0.25), (x > 0) & (y < 0)]
    fast_run = theano.function([x, y, i], outs)
    fast_compile = theano.function([x, y, i], outs, mode="FAST_COMPILE")
    _assert_py(fast_compile)
    return fast_run, fast_compile


def _numpy_elementwise(x, y, i):
    with np.errstate(all="ignore"):
        return [np.exp(-x * x) + np.tanh(y), np.abs(x) ** 3, np.where(x > y, x, y * 2),
                (x + i) // 3, x % 1.5, np.log1p(np.abs(y)), np.maximum(x, i),
                (x * 10).astype("int16"), np.sign(x) * np.floor(y), i * 2 + 1, i / 4,
                x * x - y ** 2, None, np.arctan2(x, y), np.clip(x, -0.5, 0.25),
                (x > 0) & (y < 0)]


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 20).flatmap(lambda n: st.tuples(
    hnp.arrays(np.float64, n, elements=st.floats(-50, 50)),
    hnp.arrays(np.float64, n, elements=st.floats(-50, 50)),
    hnp.arrays(np.int32, n, elements=st.integers(-1000, 1000)))))
def test_elementwise_equals_numpy_and_fast_run(elementwise, arrays):
    fast_run, fast_compile = elementwise
    x, y, i = arrays
    got, ref = fast_compile(x, y, i), fast_run(x, y, i)
    for k, (a, r, want) in enumerate(zip(got, ref, _numpy_elementwise(x, y, i))):
        assert a.dtype == r.dtype and a.shape == r.shape, k
        # FAST_RUN's math library is within an ulp or two of NumPy's (1 + tanh(-9) cancels)
        np.testing.assert_allclose(a, r, rtol=1e-13, atol=1e-15, err_msg=str(k))
        if want is not None:
            assert a.dtype == want.dtype or k in (10,), (k, a.dtype, want.dtype)
            np.testing.assert_allclose(a, want, rtol=1e-13, atol=0, err_msg=str(k))


def test_reductions_dot_and_broadcasting():
    A, B = T.dmatrices("A", "B")
    v = T.dvector("v")
    r = T.drow("r")
    outs = [A.sum(axis=0), A.max(axis=1, keepdims=True), A.argmax(axis=1), A.mean(),
            A.var(axis=0), T.dot(A, B), T.dot(A, v), A + r, (A * v).prod(axis=1),
            T.nnet.softmax(A), T.cumsum(v), A.T[::-1, 1:]]
    fc = theano.function([A, B, v, r], outs, mode="FAST_COMPILE")
    fr = theano.function([A, B, v, r], outs)
    _assert_py(fc)
    a, b = RNG.normal(size=(4, 3)), RNG.normal(size=(3, 5))
    vv, rr = RNG.normal(size=3), RNG.normal(size=(1, 3))
    e = np.exp(a - a.max(axis=1, keepdims=True))
    want = [a.sum(0), a.max(1, keepdims=True), a.argmax(1), a.mean(), a.var(0), a @ b,
            a @ vv, a + rr, (a * vv).prod(1), e / e.sum(1, keepdims=True), np.cumsum(vv),
            a.T[::-1, 1:]]
    for k, (got, ref, w) in enumerate(zip(fc(a, b, vv, rr), fr(a, b, vv, rr), want)):
        assert got.dtype == ref.dtype == w.dtype and got.shape == w.shape, k
        np.testing.assert_allclose(got, w, rtol=1e-12, atol=1e-14, err_msg=str(k))
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-14, err_msg=str(k))


def test_scan_runs_its_step_in_fast_compile():
    W, X = T.dmatrices("W", "X")
    h0 = T.dvector("h0")
    hs, _ = theano.scan(lambda xt, h: T.tanh(T.dot(W, h) + xt), sequences=X,
                        outputs_info=h0)
    fc = theano.function([W, X, h0], hs, mode="FAST_COMPILE")
    fr = theano.function([W, X, h0], hs)
    _assert_py(fc)
    thunk = next(t for t in fc.thunks if isinstance(t, ScanThunk))
    assert thunk.mode is FAST_COMPILE
    w, x, h = RNG.normal(size=(3, 3)), RNG.normal(size=(5, 3)), RNG.normal(size=3)
    want, state = [], h
    for t in range(5):
        state = np.tanh(w @ state + x[t])
        want.append(state)
    np.testing.assert_allclose(fc(w, x, h), np.array(want), rtol=1e-12)
    np.testing.assert_allclose(fc(w, x, h), fr(w, x, h), rtol=1e-12)
    step = thunk.op.inner.get(FAST_COMPILE)
    _assert_py(step)


def test_ifelse_is_lazy_and_its_branches_are_py():
    c = T.iscalar("c")
    x = T.dvector("x")
    out = ifelse(T.gt(c, 0), T.exp(x).sum(), T.log(x).sum())
    f = theano.function([c, x], out, mode="FAST_COMPILE")
    _assert_py(f)
    node, thunk = next((n, t) for n, t in zip(f.nodes, f.thunks) if isinstance(t, IfElseThunk))
    v = np.array([1.0, 2.0])
    assert f(1, v) == pytest.approx(np.exp(v).sum(), rel=1e-15)
    assert node.op.else_fn._compiled == {}   # the branch not taken: not even compiled
    _assert_py(node.op.then_fn.get(thunk.mode))
    assert f(0, v) == pytest.approx(np.log(v).sum(), rel=1e-15)


@pytest.mark.parametrize("streams", [RandomStreams, MRG_RandomStreams])
def test_random_draws_are_fast_runs_bits(streams):
    draws = {}
    for mode in ("FAST_RUN", "FAST_COMPILE"):
        rng = streams(1234)
        outs = [rng.uniform((7,), low=-1, high=2), rng.normal((301,), avg=1, std=3),
                rng.binomial((5,), p=0.3), rng.normal((3, 4), dtype="float32")]
        f = theano.function([], outs, mode=mode)
        if mode == "FAST_COMPILE":
            # uniforms and binomials are NumPy's; a normal draw needs the math
            # library's log for FAST_RUN's bits: its node alone is native
            _assert_py(f, native_ops=("RandomDraw", "MRGBoxMuller"))
            native = _native_nodes(f)
            assert len(native) == 2 and all(n.op.same_bits_natively for n in native)
            assert not any(getattr(n.op, "same_bits_natively", False)
                           for n in f.nodes if n not in native)
        draws[mode] = [f(), f()]    # the default updates advance the state
    for got, want in zip(draws["FAST_COMPILE"], draws["FAST_RUN"]):
        for a, b in zip(got, want):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
    assert not np.array_equal(draws["FAST_RUN"][0][0], draws["FAST_RUN"][1][0])


def test_updates_givens_borrow_and_output_subset():
    x, y = T.dvectors("x", "y")
    s = theano.shared(np.zeros(3), name="s")
    f = theano.function([x], [s * 2, s.sum()], updates=[(s, s + x)], mode="FAST_COMPILE")
    _assert_py(f)
    one = np.ones(3)
    doubled, total = f(one)
    np.testing.assert_array_equal(doubled, np.zeros(3))
    f(one)
    np.testing.assert_array_equal(s.get_value(), [2.0, 2.0, 2.0])
    assert f(one, output_subset=[1]) == [6.0]
    np.testing.assert_array_equal(s.get_value(), [3.0, 3.0, 3.0])
    g = theano.function([y], x * 2, givens={x: y + 1}, mode="FAST_COMPILE")
    np.testing.assert_array_equal(g(np.array([1.0, 2.0])), [4.0, 6.0])
    h = theano.function([theano.In(x, borrow=True)], theano.Out(x, borrow=True),
                        mode="FAST_COMPILE")
    v = np.arange(3.0)
    out = h(v)
    np.testing.assert_array_equal(out, v)
    k = theano.function([x], x, mode="FAST_COMPILE")
    assert not np.shares_memory(k(v), v)     # returned arrays are the caller's


def _error(f, *args):
    with pytest.raises(Exception) as info:
        f(*args)
    return info


def test_errors_are_fast_runs():
    x, y = T.dvectors("x", "y")
    m = T.dmatrix("m")
    f = {mode: theano.function([x, y], x + y, mode=mode) for mode in ("FAST_RUN", "FAST_COMPILE")}
    g = {mode: theano.function([m, x], T.dot(m, x), mode=mode)
         for mode in ("FAST_RUN", "FAST_COMPILE")}
    cases = [(f, (np.ones((2, 2)), np.ones(2))), (f, (np.ones(2), np.ones(3))),
             (f, (np.ones(2, dtype=np.complex128), np.ones(2))), (f, (np.ones(2),)),
             (g, (np.ones((2, 3)), np.ones(4)))]
    for fns, args in cases:
        want = _error(fns["FAST_RUN"], *args)
        got = _error(fns["FAST_COMPILE"], *args)
        assert got.type is want.type, (args, got.value, want.value)
    message = str(_error(f["FAST_COMPILE"], np.ones((2, 2)), np.ones(2)).value)
    assert "'x'" in message


def test_debugprint_and_profile():
    import io
    x = T.dvector("x")
    f = theano.function([x], T.exp(x) + T.exp(x), mode="FAST_COMPILE", profile=True)
    np.testing.assert_array_equal(f(np.zeros(2)), [2.0, 2.0])
    buf = io.StringIO()
    theano.printing.debugprint(f, file=buf)
    text = buf.getvalue()
    # merged (one exp node, printed under both its uses), not fused
    assert text.count("Elemwise{exp,no_inplace} [id B]") == 2 and "[id D]" not in text
    assert f.profile.calls == 1
    assert [k.calls for k in f.profile.kernels] == [1, 1]    # exp, then add
    assert not any(k.native for k in f.profile.kernels)
