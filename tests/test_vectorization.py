"""The W1 kernel, compiled through the whole pipeline, runs vector code."""
import re

import numpy as np
import pytest

import tjit as theano
import tjit.tensor as T
from helpers import host_vectors, loop_register
from tjit.codegen import mathlib


@pytest.mark.parametrize("dtype,suffix", [("float64", "pd"), ("float32", "ps")])
def test_w1_kernel_uses_vector_registers_and_vector_math(dtype, suffix):
    x = T.vector("x", dtype=dtype)
    a = T.vector("a", dtype=dtype)
    f = theano.function([x, a], T.exp(-x * x) * a + T.log1p(abs(x)) * 0.5 - T.tanh(x))
    assert len(f.thunks) == 1                        # one fused kernel
    asm = theano.dump(f, "asm")
    # packed arithmetic on the host's widest registers (zmm on AVX-512, ymm on
    # AVX2, xmm on SSE2) in the kernel itself
    register, _, _, avx = host_vectors()
    assert re.search(r"\b%s(mul|add|sub|fmadd\w*|fnmadd\w*)%s\s+[^\n]*%%%s"
                     % ("v" if avx else "", suffix, loop_register()), asm), register
    llvm_ir = theano.dump(f, "llvm")
    for name in ("exp", "log1p", "tanh"):
        # the math functions are called in their vector variants, never per element
        assert re.search(r"call [^\n]*<\d+ x \w+> @\"?tjit_m_%s_%s_v\d+" % (name, dtype),
                         llvm_ir), name
        lib = mathlib.library_asm(name, dtype)
        assert re.search(r"%" + register, lib) and not re.search(r"call\w*\s+\w*(exp|log|tanh)", lib)
    v = np.linspace(-4, 4, 1001).astype(dtype)
    with np.errstate(all="ignore"):
        ref = np.exp(-v * v) * v + np.log1p(abs(v)) * 0.5 - np.tanh(v)
    tol = 1e-5 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(f(v, v), ref, rtol=tol, atol=tol)


def test_building_the_math_library_prints_nothing(tmp_path):
    # LLVM reports loops it was told to vectorize but could not on stderr; every
    # library variant must vectorize cleanly (a fresh cache builds them all).
    import os
    import subprocess
    import sys
    code = ("import tjit as theano, tjit.tensor as T\n"
            "x, y = T.dvectors('x', 'y')\n"
            "theano.function([x, y], [x ** y, T.erf(x), T.erfc(y), T.exp(x), T.sin(y)])\n"
            "a, b = T.fvectors('a', 'b')\n"
            "theano.function([a, b], [a ** b, T.erf(a), T.tanh(b)])\n")
    env = dict(os.environ, TJIT_CACHE_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
