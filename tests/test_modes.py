"""FAST_COMPILE: few rewrites and a cheap LLVM pipeline, same results as FAST_RUN."""
import numpy as np

import tjit as theano
import tjit.tensor as T
from tjit.runtime.thunks import NativeElemwiseThunk


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
    assert all(isinstance(t, NativeElemwiseThunk) for t in fast_compile.thunks)
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
