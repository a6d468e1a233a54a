"""The LLVM side of compile time: a kernel loads only the math library variants
its optimized code calls, the general-stride copy of a loop is not vectorized,
both renderers spell the same code at level 3, and object code is keyed by target."""
import re

import numpy as np
import pytest

import tjit as theano
import tjit.tensor as T
from helpers import only_native
# the native fast_compile mode (level-0 native code); 'FAST_COMPILE' is the py linker
NATIVE_FC = theano.Mode(linker="native", optimizer="fast_compile")
from tjit.codegen import cache as object_cache, jit, mathlib, target
from tjit.codegen.emit import emit_kernel
from tjit.codegen.render_ir import IRRenderer


@pytest.mark.parametrize("cpu", ["host", "x86-64"])
def test_a_kernel_loads_only_the_variants_it_calls(fresh_engines, cpu):
    # exp only: no tanh; the scalar function (loop remainders) and the one width
    # the vectorizer picked, not every width the library offers
    x, y = T.dvectors("x", "y")
    with theano.config.change_flags(cpu=cpu):
        f = theano.function([x, y], T.exp(x) * y + 0.5, mode="FAST_RUN")
        native = only_native(f)
        called = mathlib.variants_called(native.llvm_ir)
        assert set(called) == {("exp", "float64")}
        (width,) = called["exp", "float64"] - {0}
        assert width in mathlib.widths("float64") and len(mathlib.widths("float64")) > 1
        assert 0 in called["exp", "float64"]
        assert {e for e in native.engine.library if e[0] == "m"} == \
            {("m", "exp", "float64", 0), ("m", "exp", "float64", width)}
        v = np.linspace(-5, 5, 1003)            # a remainder after the vector loop
        w = np.linspace(2, 3, 2006)[::2]        # strided: the scalar general loop
        np.testing.assert_allclose(f(v, w), np.exp(v) * w + 0.5, rtol=1e-15)
        np.testing.assert_allclose(f(v[::-1], w), np.exp(v[::-1]) * w + 0.5, rtol=1e-15)
        g = theano.function([x, y], T.exp(x) * y + 0.5, mode=NATIVE_FC)
        for args in ((v, w), (v[::-1], w)):     # vector and scalar: the same bits
            np.testing.assert_array_equal(f(*args), g(*args))


def test_a_later_kernel_builds_only_the_missing_variants(fresh_engines, monkeypatch):
    built = []
    original = mathlib.library_module_ir
    monkeypatch.setattr(mathlib, "_objects", {})
    monkeypatch.setattr(mathlib, "library_module_ir",
                        lambda functions: built.append(dict(functions)) or original(functions))
    x = T.dvector("x")
    f = theano.function([x], T.tanh(x) * 2.0, mode="FAST_RUN")
    g = theano.function([x], T.tanh(x) + T.exp(x), mode="FAST_RUN")
    assert [sorted(b) for b in built] == [[("tanh", "float64")], [("exp", "float64")]]
    v = np.linspace(-3, 3, 37)
    np.testing.assert_allclose(f(v), np.tanh(v) * 2, rtol=1e-15)
    np.testing.assert_allclose(g(v), np.tanh(v) + np.exp(v), rtol=1e-15)


def test_variants_called_reads_calls_not_declarations():
    text = ("declare double @tjit_m_exp_float64(double) #1\n"
            "declare <8 x double> @tjit_m_exp_float64_v8(<8 x double>) #2\n"
            "declare <2 x float> @tjit_m_pow_float32_v2(<2 x float>, <2 x float>) #2\n"
            "  %3 = tail call <4 x double> @tjit_m_exp_float64_v4(<4 x double> %2)\n"
            "  %.9 = call float @\"tjit_m_pow_float32\"(float %.7, float 2.0)\n")
    assert mathlib.variants_called(text) == {("exp", "float64"): {4},
                                             ("pow", "float32"): {0}}


def test_the_general_stride_loop_is_not_vectorized():
    # the unit-stride copy vectorizes; LLVM would only re-version the general
    # one on the same unit strides (twice the code to compile)
    x, y = T.dvectors("x", "y")
    f = theano.function([x, y], T.exp(x) * y, mode="FAST_RUN")
    llvm_ir = only_native(f).llvm_ir
    assert len(re.findall(r"^vector\.body[\d.]*:", llvm_ir, re.M)) == 1
    v = np.linspace(-1, 1, 41)
    np.testing.assert_allclose(f(v[::2], v[::-2]), np.exp(v[::2]) * v[::-2], rtol=1e-15)


def test_both_renderers_give_the_same_code_at_level_3():
    # the text renderer (the default) against llvmlite.ir's, after O3: a
    # multiversioned elementwise kernel with math calls and a reduction
    m = T.dmatrix("m")
    f = theano.function([m], [T.exp(m).sum(axis=1), T.tanh(m) * 2], mode="FAST_RUN")
    natives = [t.native for t in f.thunks if getattr(t, "native", None) is not None]
    assert natives
    for native in natives:
        kernel = native.kernel
        texts = [emit_kernel(kernel, kernel.name, 3),
                 emit_kernel(kernel, kernel.name, 3, renderer=IRRenderer)]
        assert not texts[0].startswith("; ModuleID") and texts[1].startswith("; ModuleID")
        with target.LLVM_LOCK:
            asm = []
            for text in texts:
                module = target.optimize(jit.llvm.parse_assembly(text), 3)
                asm.append([line for line in target.target_machine(3).emit_assembly(module)
                            .splitlines() if not line.lstrip().startswith((".file", "#"))])
        assert asm[0] == asm[1], kernel.name
    v = np.random.default_rng(0).standard_normal((5, 7))
    out = f(v)
    np.testing.assert_allclose(out[0], np.exp(v).sum(axis=1), rtol=1e-14)
    np.testing.assert_allclose(out[1], np.tanh(v) * 2, rtol=1e-15)


def test_object_code_keys_name_the_target():
    keys = set()
    for cpu in ("host", "x86-64", "x86-64-v3"):
        with theano.config.change_flags(cpu=cpu):
            keys.add(object_cache.entry_key("kernel text", "tjit_fused_0"))
            keys.add(object_cache.entry_key("mathlib exp float64 0 4", "tjit_m"))
    assert len(keys) == 6
