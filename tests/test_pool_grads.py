"""The native pooling gradients (MaxPoolGrad, AveragePoolGrad: tjit.ir.lower_pool)
against the ops' NumPy perform, every mode, overlapping windows, padding, partial
borders, windows larger than the image, ties, NaN, thread counts."""
import numpy as np
import pytest

import tjit as theano
import tjit.tensor as T
from tjit.tensor.signal import pool
from tjit.tensor.signal.pool import AveragePoolGrad, MaxPoolGrad

MODES = ("max", "sum", "average_inc_pad", "average_exc_pad")
CASES = [  # ws, ignore_border, stride, pad
    ((3, 2), False, (1, 2), (0, 0)), ((3, 3), True, (2, 1), (1, 2)),
    ((5, 6), False, None, (0, 0))]


@pytest.mark.parametrize("dtype,modes", [("float32", MODES), ("float64", MODES[:1])])
def test_native_pool_grads_match_perform(dtype, modes, monkeypatch):
    x = T.tensor4("x", dtype=dtype)
    g = T.tensor4("g", dtype=dtype)
    grads = []
    for mode in modes:
        for ws, ib, st, pd in CASES:
            y = pool.pool_2d(x, ws, ignore_border=ib, stride=st, pad=pd, mode=mode)
            grads.append(T.grad((y * g[:, :, :y.shape[2], :y.shape[3]]).sum(), x))
    f = theano.function([x, g], grads)
    kinds = {type(n.op) for n in f.maker.fgraph.toposort()}
    assert {MaxPoolGrad, AveragePoolGrad} & kinds
    ref = theano.function([x, g], grads, mode=theano.Mode(linker="py"))
    rng = np.random.RandomState(3)
    X = rng.randint(-3, 4, size=(2, 3, 9, 5)).astype(dtype)   # small ints: many ties
    X[1, 2, 4, 2] = np.nan
    G = rng.randn(2, 3, 12, 12).astype(dtype)
    want = ref(X, G)

    def no_perform(*args):
        raise AssertionError("the native kernel should run, not perform")
    for op in (MaxPoolGrad, AveragePoolGrad):
        monkeypatch.setattr(op, "perform", no_perform)
    for n in (1, 3):
        with theano.config.change_flags(threads=n):
            got = f(X, G)
            for a, b in zip(got, want):
                np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
            if n == 1:
                first = got
            else:
                for a, b in zip(got, first):
                    np.testing.assert_array_equal(a, b)


def test_max_pool_grad_native_ties_all_receive():
    x = T.dmatrix("x").reshape((1, 1, 2, 4))
    X = np.array([[1.0, 1.0, 0.0, 2.0], [0.0, 1.0, 2.0, -1.0]])
    xm = T.dmatrix("x")
    y = pool.pool_2d(xm.reshape((1, 1, 2, 4)), (2, 2), ignore_border=True)
    gx = theano.function([xm], T.grad((y * [[[[2.0, 3.0]]]]).sum(), xm))(X)
    np.testing.assert_array_equal(gx, [[2, 2, 0, 3], [0, 2, 3, 0]])
    assert x.ndim == 4


def test_pool_grad_shape_mismatch_raises():
    x, m, g = T.dtensor4("x"), T.dtensor4("m"), T.dtensor4("g")
    f = theano.function([x, m, g], MaxPoolGrad((2, 2), True)(x, m, g))
    with pytest.raises(ValueError, match="pooled gradients"):
        f(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 2)))


def test_max_pool_second_derivatives():
    """MaxPoolGrad's gradient (MaxPoolGradGrad, Theano's DownsampleFactorMaxGradGrad):
    finite differences through T.grad of a max pooling, and ties against loops."""
    rng = np.random.RandomState(5)
    X = rng.permutation(2 * 2 * 7 * 6).reshape(2, 2, 7, 6) * 0.1   # distinct: no ties

    def fun(x):
        y = pool.pool_2d(x, (3, 2), ignore_border=False, stride=(2, 2))
        return T.grad((y ** 2).sum(), x) * x
    T.verify_grad(fun, [X], rng=rng, n_tests=1)

    from tjit.tensor.signal.pool import MaxPoolGradGrad
    x, m, gg = T.dtensor4("x"), T.dtensor4("m"), T.dtensor4("gg")
    f = theano.function([x, m, gg], MaxPoolGradGrad((2, 2), True, (1, 2), (1, 0))(x, m, gg))
    Xt = rng.randint(0, 3, size=(1, 2, 4, 5)).astype(float)            # many ties
    M = theano.function([x], pool.pool_2d(x, (2, 2), ignore_border=True, stride=(1, 2),
                                          pad=(1, 0)))(Xt)
    GG = rng.randn(1, 2, 4, 5)
    want = np.zeros(M.shape)
    for b, k, r, c in np.ndindex(*M.shape):
        for i in range(r - 1, r + 1):          # window rows r*1 - 1 + [0, 2), pad 1
            for j in range(2 * c, 2 * c + 2):
                if 0 <= i < 4 and j < 5 and Xt[b, k, i, j] == M[b, k, r, c]:
                    want[b, k, r, c] += GG[b, k, i, j]
    np.testing.assert_allclose(f(Xt, M, GG), want, rtol=1e-12)
