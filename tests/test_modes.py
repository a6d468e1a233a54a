"""The native fast_compile mode, Mode(linker="native", optimizer="fast_compile"): few
rewrites and a cheap LLVM pipeline, same results as FAST_RUN."""
import re

import numpy as np

import tjit as theano
import tjit.tensor as T
# the native fast_compile mode (level-0 native code); 'FAST_COMPILE' is the py linker
NATIVE_FC = theano.Mode(linker="native", optimizer="fast_compile")
from tjit.codegen.emit import emit_kernel
from tjit.ir.lower_elemwise import ElemwiseLaunch
from tjit.runtime.native_thunk import NativeThunk


def _chain(x, y, z, n=50):
    e = x
    for i in range(n):
        k = i % 5
        if k == 0:
            e = e * y + z
        elif k == 1:
            e = T.exp(-e * e)
        elif k == 2:
            e = e - x * 0.5
        elif k == 3:
            e = T.tanh(e) + z
        else:
            e = abs(e) * y
    return e


def test_fast_compile_is_native_unvectorized_and_agrees_with_fast_run():
    x, y, z = T.dvectors("x", "y", "z")
    out = _chain(x, y, z)
    fast_run = theano.function([x, y, z], out, mode="FAST_RUN")
    fast_compile = theano.function([x, y, z], out, mode=NATIVE_FC)
    assert all(isinstance(t, NativeThunk) and isinstance(t.launch, ElemwiseLaunch)
               for t in fast_compile.thunks)
    assert "constant_folding" not in fast_compile.rewrites_applied
    assert "vector.body" in theano.dump(fast_run, "llvm")
    assert "vector.body" not in theano.dump(fast_compile, "llvm")
    rng = np.random.default_rng(1)
    v = [rng.standard_normal(1001) for _ in range(3)]
    np.testing.assert_array_equal(fast_compile(*v), fast_run(*v))


def test_fast_compile_math_functions_match_fast_run_bitwise():
    x = T.fvector("x")
    out = T.exp(x) + T.log1p(abs(x)) * T.sin(x) - T.tanh(x) / (1 + T.nnet.sigmoid(x))
    a = theano.function([x], out, mode="FAST_RUN")
    b = theano.function([x], out, mode=NATIVE_FC)
    v = np.linspace(-30, 30, 4097).astype("float32")
    np.testing.assert_array_equal(a(v), b(v))


def test_fast_compile_emits_one_loop_version_and_calls_the_scalar_library():
    # level 0: no unit-stride copy of the loop (nothing vectorizes) and the math
    # library's scalar build, which lives beside FAST_RUN's vector library
    x = T.dmatrix("x")
    out = T.exp(x[:, ::2]) * 2 + 1
    fast_compile = theano.function([x], out, mode=NATIVE_FC)
    fast_run = theano.function([x], out, mode="FAST_RUN")
    kernel = fast_compile.thunks[-1].native
    assert "tjit_s_exp_float64" in kernel.llvm_ir and "tjit_m_exp" not in kernel.llvm_ir
    loops = {level: len(re.findall(r"\.header[.\d]*:", emit_kernel(kernel.kernel, level=level)))
             for level in (0, 3)}
    assert loops[0] < loops[3]     # innermost loops twice at level 3
    v = np.random.default_rng(2).standard_normal((7, 9))
    np.testing.assert_array_equal(fast_compile(v), fast_run(v))
    np.testing.assert_array_equal(fast_compile(v[::-1]), fast_run(v[::-1]))
    np.testing.assert_allclose(fast_compile(v[::-1]), np.exp(v[::-1, ::2]) * 2 + 1, rtol=1e-15)


def _spy_text_renderer(monkeypatch):
    """Record the FAST_COMPILE (level 0) kernels rendered as text
    (tjit.codegen.render_text; FAST_RUN's are too)."""
    from tjit.codegen.render_text import TextRenderer
    taken = []
    original = TextRenderer.render

    def spy(self):
        if self.level == 0:
            taken.append(self.kernel.name)
        return original(self)

    monkeypatch.setattr(TextRenderer, "render", spy)
    return taken


def test_fast_compile_text_emitter_matches_fast_run_bitwise(monkeypatch, tmp_path):
    # float ops and math functions, both float dtypes, broadcasting over two
    # axes, strided / reversed inputs, casts: all rendered as text
    taken = _spy_text_renderer(monkeypatch)
    rng = np.random.default_rng(7)
    with theano.config.change_flags(cache_dir=str(tmp_path)):
        for dtype in ("float64", "float32"):
            x = T.matrix("x", dtype=dtype)
            r = T.row("r", dtype=dtype)
            c = T.col("c", dtype=dtype)
            k = np.asarray(1.0371, dtype)
            out = (abs(x - r) / (c * c + k) - T.sqr(-x) + T.exp(-abs(x)) * T.tanh(r)
                   + T.arctan2(x, c) + T.log1p(abs(r)) - T.nnet.sigmoid(x) ** 2)
            fc = theano.function([x, r, c], out, mode=NATIVE_FC)
            fr = theano.function([x, r, c], out, mode="FAST_RUN")
            v = rng.standard_normal((9, 13)).astype(dtype) * 3
            vr = rng.standard_normal((1, 13)).astype(dtype)
            vc = rng.standard_normal((9, 1)).astype(dtype)
            for args in ((v, vr, vc), (v[::-2, ::3], vr[:, ::3], vc[::-2]),
                         (np.asfortranarray(v), vr, vc)):
                np.testing.assert_array_equal(fc(*args), fr(*args))
            with np.errstate(all="ignore"):
                ref = (np.abs(v - vr) / (vc * vc + k) - np.square(-v)
                       + np.exp(-np.abs(v)) * np.tanh(vr) + np.arctan2(v, vc)
                       + np.log1p(np.abs(vr)) - (1 / (1 + np.exp(-v))) ** 2)
            tol = 1e-4 if dtype == "float32" else 1e-12
            np.testing.assert_allclose(fc(v, vr, vc), ref, rtol=tol, atol=tol)
            with np.testing.assert_raises(ValueError):
                fc(v, vr, vc[:5])
        assert len(taken) >= 2
        # several outputs of one kernel, and a 0-d input broadcast into a 3-d loop
        a, s3 = T.dtensor3("a"), T.dscalar("s")
        first = T.exp(a) * s3 - 0.30517
        outs = [first, T.tanh(first) / (s3 + 2.0517)]
        count = len(taken)
        fc = theano.function([a, s3], outs, mode=NATIVE_FC)
        fr = theano.function([a, s3], outs, mode="FAST_RUN")
        assert len(taken) == count + 1
        va = rng.standard_normal((3, 4, 5))
        for args in ((va, 1.5), (va[:, ::-1, ::2], -0.25)):
            for p, q in zip(fc(*args), fr(*args)):
                np.testing.assert_array_equal(p, q)
        np.testing.assert_allclose(fc(va, 1.5)[1], np.tanh(np.exp(va) * 1.5 - 0.30517) / 3.5517,
                                   rtol=1e-13)
        i = T.ivector("i")
        y = T.dvector("y")
        mixed = theano.function([i, y], T.exp(i * 0.25) + y * 1.0731, mode=NATIVE_FC)
        vi, vy = np.arange(-5, 6, dtype="int32"), rng.standard_normal(11)
        np.testing.assert_array_equal(
            mixed(vi, vy),
            theano.function([i, y], T.exp(i * 0.25) + y * 1.0731, mode="FAST_RUN")(vi, vy))
        np.testing.assert_allclose(mixed(vi, vy), np.exp(vi * 0.25) + vy * 1.0731, rtol=1e-15)
        assert len(taken) == count + 2    # the int32 -> float64 cast too


def test_fast_compile_text_emitter_split_across_threads(monkeypatch, tmp_path):
    # the runtime splits the outer loop by begin/end: every chunk, both nests
    taken = _spy_text_renderer(monkeypatch)
    x, y = T.dmatrix("x"), T.dvector("y")
    out = T.exp(-abs(x)) * y + T.tanh(x) / 3.0917
    rng = np.random.default_rng(3)
    v, w = rng.standard_normal((500, 300)), rng.standard_normal(300)
    with theano.config.change_flags(cache_dir=str(tmp_path), threads=2):
        fc = theano.function([x, y], out, mode=NATIVE_FC)
        fr = theano.function([x, y], out, mode="FAST_RUN")
        for a in (v, v[::-1, ::2], np.asfortranarray(v)):
            b = w[:a.shape[1]]
            np.testing.assert_array_equal(fc(a, b), fr(a, b))
            np.testing.assert_allclose(fc(a, b), np.exp(-abs(a)) * b + np.tanh(a) / 3.0917,
                                       rtol=1e-13, atol=1e-15)
    assert len(taken) == 1


_SCALAR_LIBRARY_SCRIPT = """
import numpy as np, sys
import tjit as theano, tjit.tensor as T
from tjit.codegen import mathlib_scalar
x = T.dvector('x')
v = np.linspace(-3, 3, 101)
for expr in sys.argv[1:]:
    f = theano.function([x], eval(expr), mode=theano.Mode(linker='native', optimizer='fast_compile'))
    print(expr, f(v).tobytes().hex()[:4000])
print(sorted(mathlib_scalar._loaded))
"""


def test_fast_compile_scalar_library_objects_across_processes(tmp_path):
    # the scalar functions a kernel needs are built as one object, cached under
    # that set; other processes load it whole, or build only what they miss,
    # and never define a symbol twice (that would fail to link)
    import os
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, TJIT_CACHE_DIR=str(tmp_path), PYTHONPATH=root)

    def run(*exprs):
        out = subprocess.run([sys.executable, "-c", _SCALAR_LIBRARY_SCRIPT, *exprs], env=env,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        return out.stdout.splitlines()

    both, single = "T.exp(x) * T.tanh(x)", "T.exp(-x) + 1.5"
    first = run(both, single)                # builds {exp, tanh}; then nothing
    again = run(both, single)                # loads the {exp, tanh} object
    other = run(single, both)                # builds {exp}, then {tanh} alone
    assert first == again
    assert sorted(first[:2]) == sorted(other[:2])
    x = T.dvector("x")
    v = np.linspace(-3, 3, 101)
    for line in first[:2]:
        expr, digest = line.rsplit(" ", 1)
        reference = theano.function([x], eval(expr), mode="FAST_RUN")(v)
        assert reference.tobytes().hex()[:4000] == digest


def _record_native_calls(monkeypatch):
    """Wrap every NativeKernel compiled from now on so that its calls are
    recorded: (native, copies of the arrays before the call, params and
    begin/end, copies of the arrays after)."""
    import tjit.codegen.jit as jit
    calls = []
    init = jit.NativeKernel.__init__

    def recording_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        cfunc, n = self.cfunc, len(self.kernel.buffers)

        def recorder(*call_args):
            before = [np.array(a, copy=True) for a in call_args[:n]]
            rc = cfunc(*call_args)
            calls.append((self, before, call_args[n:], [np.array(a, copy=True)
                                                        for a in call_args[:n]], rc))
            return rc
        self.cfunc = recorder

    monkeypatch.setattr(jit, "_cache", {})
    monkeypatch.setattr(jit.NativeKernel, "__init__", recording_init)
    return calls


def _same_bits(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def test_both_renderers_give_the_same_bits_for_every_kernel_kind(monkeypatch, tmp_path):
    # each kernel kind FAST_RUN builds (elementwise with ints, bools, casts and
    # integer ops; reductions incl. argmax; row kernels; matrix-vector rows; the
    # row+column kernel; scan; random draws), re-rendered at level 0 by both
    # renderers: the text and the llvmlite.ir walk give the same bits
    import dataclasses

    import tjit.codegen.jit as jit
    from tjit.codegen.emit import emit_kernel
    from tjit.codegen.render_ir import IRRenderer
    from tjit.tensor.shared_randomstreams import RandomStreams
    calls = _record_native_calls(monkeypatch)
    rng = np.random.default_rng(5)
    m, v, i = T.dmatrix("m"), T.dvector("v"), T.ivector("i")
    X, y = T.dmatrix("X"), T.dvector("y")
    w = theano.shared(np.zeros(6), name="w")
    cost = T.nnet.binary_crossentropy(T.nnet.sigmoid(T.dot(X, w)), y).mean()
    h, _ = theano.scan(lambda x, h: T.tanh(h * 0.5 + x), sequences=m, outputs_info=v)
    fm = T.fmatrix("fm")
    outputs = [
        ([m, v, i], [T.exp(m) * v + (i % 3) * (i // 2) - (i ** 2), (m > 0.5) | (v < 0),
                     T.cast(m * 7, "int16") + i[:6], abs(i) - T.sgn(i), T.maximum(m, v)]),
        ([m], [m.sum(axis=0), m.max(axis=1), T.argmax(m, axis=1), m.mean(), T.nnet.softmax(m),
               T.min(m, axis=0)]),
        ([fm], [fm.sum(axis=1), T.argmin(fm, axis=0), T.var(fm, axis=0)]),
        ([m, v], [T.dot(m, v)]),
        ([m, v], [h]),
        ([], [RandomStreams(3).uniform((5, 4)), RandomStreams(4).normal((3, 8))]),
    ]
    args = {m: rng.standard_normal((7, 6)), v: rng.standard_normal(6),
            i: rng.integers(-9, 9, 6).astype("int32"), fm: rng.standard_normal((9, 5)).astype("f4")}
    with theano.config.change_flags(cache_dir=str(tmp_path), threads=1):
        for inputs, outs in outputs:
            theano.function(inputs, outs, mode="FAST_RUN")(*[args[x] for x in inputs])
        theano.function([X, y], cost, updates=[(w, w - 0.1 * T.grad(cost, w))])(
            rng.standard_normal((40, 6)), (rng.random(40) > 0.5) * 1.0)
        schedules = {c[0].kernel.meta.get("schedule") for c in calls}
        names = {c[0].kernel.name.split("_")[1] for c in calls}
        assert {"rowcol", "matvec_rows"} <= schedules and {"fused", "reduce", "rows", "scan",
                                                      "philox"} <= names
        monkeypatch.undo()                   # stop recording
        compiled = {}
        for native, before, scalars, after, rc in calls:
            kernel = native.kernel
            if kernel.name not in compiled:
                text = jit.compile_kernel(dataclasses.replace(kernel, name=kernel.name + "_text",
                                                              meta={}), 0)
                jit.emit_kernel = lambda k, s, level: emit_kernel(k, s, level,
                                                                  renderer=IRRenderer)
                try:
                    via_ir = jit.compile_kernel(dataclasses.replace(
                        kernel, name=kernel.name + "_ir", meta={}), 0)
                finally:
                    jit.emit_kernel = emit_kernel
                assert text.llvm_ir.startswith("target triple") and "vector.body" not in text.llvm_ir
                assert via_ir.llvm_ir.startswith("; ModuleID")
                compiled[kernel.name] = text, via_ir
            results = []
            for native0 in compiled[kernel.name]:
                arrays = [a.copy() for a in before]
                assert native0.cfunc(*arrays, *scalars) == rc
                results.append(arrays)
            for a, b, reference in zip(*results, after):
                assert _same_bits(a, b), kernel.name
                if a.dtype.kind == "f":
                    np.testing.assert_allclose(a, reference, rtol=1e-5, atol=1e-6)
                else:
                    np.testing.assert_array_equal(a, reference)
    assert len(compiled) >= 15
