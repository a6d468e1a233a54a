"""FAST_COMPILE: few rewrites and a cheap LLVM pipeline, same results as FAST_RUN."""
import re

import numpy as np

import tjit as theano
import tjit.tensor as T
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
    fast_compile = theano.function([x, y, z], out, mode="FAST_COMPILE")
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
    b = theano.function([x], out, mode="FAST_COMPILE")
    v = np.linspace(-30, 30, 4097).astype("float32")
    np.testing.assert_array_equal(a(v), b(v))


def test_fast_compile_emits_one_loop_version_and_calls_the_scalar_library():
    # level 0: no unit-stride copy of the loop (nothing vectorizes) and the math
    # library's scalar build, which lives beside FAST_RUN's vector library
    x = T.dmatrix("x")
    out = T.exp(x[:, ::2]) * 2 + 1
    fast_compile = theano.function([x], out, mode="FAST_COMPILE")
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


def _spy_fast_path(monkeypatch):
    """Record which kernels FAST_COMPILE emitted as text (tjit.codegen.emit_fast)."""
    import tjit.codegen.emit_fast as emit_fast
    taken = []
    original = emit_fast.emit_elementwise

    def spy(kernel, *args):
        text = original(kernel, *args)
        taken.append(text is not None)
        return text

    monkeypatch.setattr(emit_fast, "emit_elementwise", spy)
    return taken


def test_fast_compile_text_emitter_matches_fast_run_bitwise(monkeypatch, tmp_path):
    # every op of the text path, both float dtypes, broadcasting over two axes,
    # and strided / reversed inputs; kernels it cannot take (a cast) fall back
    taken = _spy_fast_path(monkeypatch)
    rng = np.random.default_rng(7)
    with theano.config.change_flags(cache_dir=str(tmp_path)):
        for dtype in ("float64", "float32"):
            x = T.matrix("x", dtype=dtype)
            r = T.row("r", dtype=dtype)
            c = T.col("c", dtype=dtype)
            k = np.asarray(1.0371, dtype)
            out = (abs(x - r) / (c * c + k) - T.sqr(-x) + T.exp(-abs(x)) * T.tanh(r)
                   + T.arctan2(x, c) + T.log1p(abs(r)) - T.nnet.sigmoid(x) ** 2)
            fc = theano.function([x, r, c], out, mode="FAST_COMPILE")
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
        assert taken and all(taken[:2])
        # several outputs of one kernel, and a 0-d input broadcast into a 3-d loop
        a, s3 = T.dtensor3("a"), T.dscalar("s")
        first = T.exp(a) * s3 - 0.30517
        outs = [first, T.tanh(first) / (s3 + 2.0517)]
        count = len(taken)
        fc = theano.function([a, s3], outs, mode="FAST_COMPILE")
        fr = theano.function([a, s3], outs, mode="FAST_RUN")
        assert taken[count:] == [True]
        va = rng.standard_normal((3, 4, 5))
        for args in ((va, 1.5), (va[:, ::-1, ::2], -0.25)):
            for p, q in zip(fc(*args), fr(*args)):
                np.testing.assert_array_equal(p, q)
        np.testing.assert_allclose(fc(va, 1.5)[1], np.tanh(np.exp(va) * 1.5 - 0.30517) / 3.5517,
                                   rtol=1e-13)
        i = T.ivector("i")
        y = T.dvector("y")
        mixed = theano.function([i, y], T.exp(i * 0.25) + y * 1.0731, mode="FAST_COMPILE")
        vi, vy = np.arange(-5, 6, dtype="int32"), rng.standard_normal(11)
        np.testing.assert_array_equal(
            mixed(vi, vy),
            theano.function([i, y], T.exp(i * 0.25) + y * 1.0731, mode="FAST_RUN")(vi, vy))
        np.testing.assert_allclose(mixed(vi, vy), np.exp(vi * 0.25) + vy * 1.0731, rtol=1e-15)
        assert False in taken        # the int32 -> float64 cast took the general emitter


def test_fast_compile_text_emitter_split_across_threads(monkeypatch, tmp_path):
    # the runtime splits the outer loop by begin/end: every chunk, both nests
    taken = _spy_fast_path(monkeypatch)
    x, y = T.dmatrix("x"), T.dvector("y")
    out = T.exp(-abs(x)) * y + T.tanh(x) / 3.0917
    rng = np.random.default_rng(3)
    v, w = rng.standard_normal((500, 300)), rng.standard_normal(300)
    with theano.config.change_flags(cache_dir=str(tmp_path), threads=2):
        fc = theano.function([x, y], out, mode="FAST_COMPILE")
        fr = theano.function([x, y], out, mode="FAST_RUN")
        for a in (v, v[::-1, ::2], np.asfortranarray(v)):
            b = w[:a.shape[1]]
            np.testing.assert_array_equal(fc(a, b), fr(a, b))
            np.testing.assert_allclose(fc(a, b), np.exp(-abs(a)) * b + np.tanh(a) / 3.0917,
                                       rtol=1e-13, atol=1e-15)
    assert taken == [True]


_SCALAR_LIBRARY_SCRIPT = """
import numpy as np, sys
import tjit as theano, tjit.tensor as T
from tjit.codegen import mathlib_scalar
x = T.dvector('x')
v = np.linspace(-3, 3, 101)
for expr in sys.argv[1:]:
    f = theano.function([x], eval(expr), mode='FAST_COMPILE')
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
