"""Inner functions (ifelse branches, scan steps) compile in the outer function's
mode: the linker passes it down (tjit/link/control.py)."""
import numpy as np

import tjit as theano
import tjit.tensor as T
from tjit.ifelse import ifelse
from tjit.link import NativeLinker
from tjit.link.control import IfElseThunk, ScanThunk
from tjit.runtime.debug import DebugFunction
from tjit.runtime.perform_thunk import PerformThunk
from tjit.scan_module.native import NativeScan

RNG = np.random.default_rng(7)
# FAST_COMPILE is the py linker; these tests are about native code at level 0
NATIVE_FC = theano.Mode(linker="native", optimizer="fast_compile")


def _node_and_thunk(f, name):
    return next((n, t) for n, t in zip(f.nodes, f.thunks) if type(n.op).__name__ == name)


def _branches(f):
    """The compiled functions of f's IfElse branches, in the mode its thunk runs
    them in."""
    node, thunk = _node_and_thunk(f, "IfElse")
    return [b.get(thunk.mode) for b in (node.op.then_fn, node.op.else_fn)]


def _llvm(fn):
    return "".join(t.native.llvm_ir for t in fn.thunks if getattr(t, "native", None))


def test_ifelse_branch_compiles_at_fast_compile_level():
    c, x = T.iscalar("c"), T.dvector("x")
    out = ifelse(c, T.exp(x) * 2 + x, x + 1)
    fast_run = theano.function([c, x], out, mode="FAST_RUN")
    fast_compile = theano.function([c, x], out, mode=NATIVE_FC)
    v = RNG.standard_normal(101)
    for cond in (1, 0):
        np.testing.assert_array_equal(fast_compile(cond, v), fast_run(cond, v))
    assert isinstance(_node_and_thunk(fast_compile, "IfElse")[1], IfElseThunk)
    slow, quick = _branches(fast_run), _branches(fast_compile)
    assert all(fn.linker.level == 3 and fn.mode.optimizer == "fast_run" for fn in slow)
    assert all(fn.linker.level == 0 and fn.mode.optimizer == "fast_compile" for fn in quick)
    assert "vector.body" in _llvm(slow[0])
    assert "vector.body" not in _llvm(quick[0])


def test_scan_step_and_loop_compile_at_fast_compile_level():
    X, h0 = T.dmatrix("X"), T.dvector("h0")
    hs, _ = theano.scan(lambda s, h: T.tanh(h * 0.5 + s) * 2 - s, sequences=X, outputs_info=h0)
    fast_run = theano.function([X, h0], hs, mode="FAST_RUN")
    fast_compile = theano.function([X, h0], hs, mode=NATIVE_FC)
    v = RNG.standard_normal((30, 64))
    np.testing.assert_array_equal(fast_compile(v, v[0]), fast_run(v, v[0]))
    (_, slow), (_, quick) = _node_and_thunk(fast_run, "Scan"), _node_and_thunk(fast_compile,
                                                                              "Scan")
    assert isinstance(slow, NativeScan) and isinstance(quick, NativeScan)
    assert slow.fn.linker.level == 3 and quick.fn.linker.level == 0
    assert quick.fn.mode.optimizer == "fast_compile"
    assert "vector.body" in slow.native.llvm_ir
    assert "vector.body" not in quick.native.llvm_ir


def test_fast_compile_rnn_step_agrees_with_fast_run():
    # FAST_COMPILE runs no matvec rewrite: the step keeps its BLAS dot and the scan
    # runs step by step (still in FAST_COMPILE).
    W, X, h0 = T.dmatrix("W"), T.dmatrix("X"), T.dvector("h0")
    hs, _ = theano.scan(lambda x, h, W: T.tanh(T.dot(W, h) + x), sequences=X,
                        outputs_info=h0, non_sequences=W)
    fast_run = theano.function([W, X, h0], hs, mode="FAST_RUN")
    fast_compile = theano.function([W, X, h0], hs, mode=NATIVE_FC)
    w, x, h = RNG.standard_normal((16, 16)) * 0.3, RNG.standard_normal((40, 16)), np.zeros(16)
    np.testing.assert_allclose(fast_compile(w, x, h), fast_run(w, x, h), rtol=1e-12, atol=1e-12)
    _, thunk = _node_and_thunk(fast_compile, "Scan")
    assert isinstance(thunk, ScanThunk) and thunk.mode.optimizer == "fast_compile"
    assert thunk.op.inner.get(thunk.mode).linker.level == 0


def _ifelse_and_scan(mode):
    """A function of an ifelse (exp(x) or 3x) and a scan, compiled in `mode`."""
    c, x = T.iscalar("c"), T.dvector("x")
    hs, _ = theano.scan(lambda s, h: h * 0.5 + s, sequences=x, outputs_info=T.constant(0.0))
    return theano.function([c, x], [ifelse(c, T.exp(x), x * 3), hs], mode=mode)


def test_debug_mode_checks_inner_functions():
    f = _ifelse_and_scan("DebugMode")
    v = RNG.standard_normal(12)
    got = f(1, v)
    np.testing.assert_allclose(got[0], np.exp(v))
    assert all(isinstance(fn, DebugFunction) for fn in _branches(f))
    _, thunk = _node_and_thunk(f, "Scan")
    assert isinstance(thunk.fn, DebugFunction)


def test_py_linker_runs_inner_functions_with_numpy():
    f = _ifelse_and_scan("PY")
    v = RNG.standard_normal(12)
    got = f(0, v)
    np.testing.assert_allclose(got[0], v * 3)
    for name in ("IfElse", "Scan"):
        _, thunk = _node_and_thunk(f, name)
        assert isinstance(thunk, PerformThunk)
    op = _node_and_thunk(f, "IfElse")[0].op
    assert list(op.else_fn._compiled) == ["PY"] and not op.then_fn._compiled


def test_linker_without_a_mode_uses_its_level():
    c, x = T.iscalar("c"), T.dvector("x")
    node = ifelse(c, x * 2, x + 1).owner
    thunk = NativeLinker(0).thunk(node)
    assert isinstance(thunk, IfElseThunk)
    np.testing.assert_array_equal(thunk([np.int32(1), np.arange(3.0)])[0], [0.0, 2.0, 4.0])
    [branch] = node.op.then_fn._compiled.values()
    assert branch.mode == NATIVE_FC and branch.linker.level == 0
