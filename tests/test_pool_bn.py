"""pool_2d (four modes, ignore_border, stride, pad, windows larger than the image)
against explicit loops, its gradients against finite differences; batch
normalization (train, test, the older form) against NumPy."""
import warnings

import numpy as np
import pytest

import tjit as theano
import tjit.tensor as T
import tjit.tensor.signal.pool  # noqa: F401  (Theano's import path)
from tjit.gradient_check import verify_grad
from tjit.tensor.signal import pool

MODES = ("max", "sum", "average_inc_pad", "average_exc_pad")
CASES = [  # ws, ignore_border, stride, pad
    ((2, 2), True, None, (0, 0)), ((2, 2), False, None, (0, 0)),
    ((3, 2), False, (1, 2), (0, 0)), ((3, 3), True, (2, 1), (1, 2)),
    ((2, 3), False, (3, 3), (0, 0)), ((5, 6), False, None, (0, 0)),
    ((5, 4), True, (1, 1), (0, 0)), ((4, 4), True, (2, 3), (3, 1))]


def out_len(n, ws, st, pad, ignore_border):
    n += 2 * pad
    if ignore_border:
        return max(0, (n - ws) // st + 1)
    return (n - 1) // st + 1 if st >= ws else max(0, (n - 1 - ws) // st + 1) + 1


def reference(x, ws, ignore_border, stride, pad, mode):
    """Theano's definition, one window at a time."""
    stride = stride or ws
    B, C, H, W = x.shape
    nr = out_len(H, ws[0], stride[0], pad[0], ignore_border)
    nc = out_len(W, ws[1], stride[1], pad[1], ignore_border)
    y = np.zeros((B, C, H + 2 * pad[0], W + 2 * pad[1]))
    y[:, :, pad[0]:pad[0] + H, pad[1]:pad[1] + W] = x
    out = np.zeros((B, C, nr, nc))
    for r in range(nr):
        for c in range(nc):
            r0, r1 = r * stride[0], min(r * stride[0] + ws[0], H + 2 * pad[0])
            c0, c1 = c * stride[1], min(c * stride[1] + ws[1], W + 2 * pad[1])
            if mode != "average_inc_pad":
                r0, r1 = max(r0, pad[0]), min(r1, H + pad[0])
                c0, c1 = max(c0, pad[1]), min(c1, W + pad[1])
            win = y[:, :, r0:r1, c0:c1]
            out[:, :, r, c] = {"max": np.max, "sum": np.sum}.get(mode, np.mean)(win, axis=(2, 3))
    return out


@pytest.mark.parametrize("mode", MODES)
def test_pool_2d_against_loops(mode):
    x = T.dtensor4("x")
    f = theano.function([x], [pool.pool_2d(x, ws, ignore_border=ib, stride=st, pad=pd,
                                           mode=mode) for ws, ib, st, pd in CASES])
    rng = np.random.RandomState(0)
    for shape in ((2, 3, 7, 9), (1, 1, 3, 4), (1, 2, 8, 8)):
        X = rng.randn(*shape)
        for got, (ws, ib, st, pd) in zip(f(X), CASES):
            want = reference(X, ws, ib, st, pd, mode)
            assert got.shape == want.shape, (shape, ws, ib, st, pd)
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12,
                                       err_msg=str((shape, ws, ib, st, pd)))


def test_pool_2d_any_ndim_float32_and_defaults():
    v = T.ftensor3("v")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        y = pool.pool_2d(v, (2, 2))                 # ignore_border=None: warns, means False
    assert any("ignore_border" in str(w.message) for w in caught)
    X = np.random.RandomState(1).randn(3, 5, 5).astype("float32")
    got = y.eval({v: X})
    assert got.dtype == np.float32 and got.shape == (3, 3, 3)
    np.testing.assert_allclose(got, reference(X[:, None], (2, 2), False, None, (0, 0),
                                              "max")[:, 0], rtol=1e-6)
    m = T.dmatrix("m")
    Xm = np.arange(20.0).reshape(4, 5)
    np.testing.assert_allclose(pool.pool_2d(m, (2, 2), ignore_border=True, mode="sum")
                               .eval({m: Xm}), reference(Xm[None, None], (2, 2), True, None,
                                                         (0, 0), "sum")[0, 0])


def test_pool_errors():
    x = T.dtensor4()
    with pytest.raises(ValueError, match="mode"):
        pool.pool_2d(x, (2, 2), ignore_border=True, mode="median")
    with pytest.raises(NotImplementedError, match="ignore_border"):
        pool.pool_2d(x, (2, 2), ignore_border=False, pad=(1, 1))
    with pytest.raises(NotImplementedError, match="smaller"):
        pool.pool_2d(x, (2, 2), ignore_border=True, pad=(2, 0))
    with pytest.raises(ValueError, match="pair"):
        pool.pool_2d(x, (2, 2.5), ignore_border=True)


@pytest.mark.parametrize("mode", MODES)
def test_pool_gradients(mode):
    rng = np.random.RandomState(2)
    X = rng.permutation(2 * 2 * 6 * 7).reshape(2, 2, 6, 7) / 10.0  # no ties for max
    for ws, ib, st, pd in (CASES[2], CASES[3], CASES[5]):
        verify_grad(lambda x: pool.pool_2d(x, ws, ignore_border=ib, stride=st, pad=pd,
                                           mode=mode), [X], rng=rng, n_tests=1)


def test_max_pool_ties_and_same_size():
    x = T.dtensor4("x")
    g = T.grad(pool.pool_2d(x, (2, 2), ignore_border=True).sum(), x)
    X = np.array([[[[1.0, 1.0], [0.0, 1.0]]]])
    np.testing.assert_array_equal(g.eval({x: X}), [[[[1, 1], [0, 1]]]])   # Theano: every tie
    X = np.array([[[[1.0, 5.0, 2.0], [3.0, 4.0, 9.0], [0.0, 1.0, 2.0]]]])
    same = pool.max_pool_2d_same_size(x, (2, 2)).eval({x: X})
    np.testing.assert_array_equal(same, [[[[0, 5, 0], [0, 0, 0], [0, 0, 0]]]])


def test_average_pool_second_order_gradient():
    rng = np.random.RandomState(3)
    X = rng.randn(1, 2, 5, 5)

    def fun(x):
        y = pool.pool_2d(x, (2, 2), ignore_border=True, mode="average_exc_pad")
        return T.grad((y ** 2).sum(), x)
    verify_grad(fun, [X], rng=rng, n_tests=1)


# -- batch normalization -----------------------------------------------------------------
def test_batch_normalization_train_and_test_spatial():
    x = T.dtensor4("x")
    gamma, beta = T.dvector("gamma"), T.dvector("beta")
    rm, rv = T.dvector("rm"), T.dvector("rv")
    out, mean, invstd, new_rm, new_rv = T.nnet.bn.batch_normalization_train(
        x, gamma, beta, axes="spatial", epsilon=1e-3, running_average_factor=0.3,
        running_mean=rm, running_var=rv)
    test_out = T.nnet.bn.batch_normalization_test(x, gamma, beta, rm, rv, axes="spatial",
                                                  epsilon=1e-3)
    f = theano.function([x, gamma, beta, rm, rv], [out, mean, invstd, new_rm, new_rv, test_out])
    rng = np.random.RandomState(4)
    X, G, Bt = rng.randn(4, 3, 5, 6), rng.rand(3) + 0.5, rng.randn(3)
    RM, RV = rng.randn(3), rng.rand(3) + 1
    o, m, s, nrm, nrv, t = f(X, G, Bt, RM, RV)
    mu, var = X.mean(axis=(0, 2, 3)), X.var(axis=(0, 2, 3))
    c = (slice(None), None, None)
    np.testing.assert_allclose(m, mu)
    np.testing.assert_allclose(s, 1 / np.sqrt(var + 1e-3))
    np.testing.assert_allclose(o, (X - mu[c]) / np.sqrt(var[c] + 1e-3) * G[c] + Bt[c])
    np.testing.assert_allclose(nrm, 0.7 * RM + 0.3 * mu)
    np.testing.assert_allclose(nrv, 0.7 * RV + 0.3 * X.var(axis=(0, 2, 3), ddof=1))
    np.testing.assert_allclose(t, (X - RM[c]) / np.sqrt(RV[c] + 1e-3) * G[c] + Bt[c])


def test_batch_normalization_per_activation_full_shape_params_and_gradient():
    x = T.fmatrix("x")
    gamma, beta = T.frow("gamma"), T.frow("beta")     # the input's ndim, broadcastable
    out, mean, invstd = T.nnet.bn.batch_normalization_train(x, gamma, beta)
    assert out.dtype == "float32" and mean.broadcastable == (True, False)
    rng = np.random.RandomState(5)
    X = rng.randn(6, 4).astype("float32")
    G, Bt = rng.rand(1, 4).astype("float32"), rng.randn(1, 4).astype("float32")
    want = (X - X.mean(0)) / np.sqrt(X.var(0) + 1e-4) * G + Bt
    np.testing.assert_allclose(out.eval({x: X, gamma: G, beta: Bt}), want, rtol=1e-4, atol=1e-5)
    verify_grad(lambda a, g, b: T.nnet.bn.batch_normalization_train(a, g, b)[0] ** 2,
                [X.astype("float64"), G.astype("float64"), Bt.astype("float64")], rng=rng,
                n_tests=1)


def test_batch_normalization_old_form_and_errors():
    x, g, b, m, s = T.dmatrix(), T.dvector(), T.dvector(), T.dvector(), T.dvector()
    rng = np.random.RandomState(6)
    X, G, Bt, M, S = rng.randn(3, 4), rng.randn(4), rng.randn(4), rng.randn(4), rng.rand(4) + 1
    y = T.nnet.bn.batch_normalization(x, g, b, m, s, mode="high_mem")
    np.testing.assert_allclose(y.eval({x: X, g: G, b: Bt, m: M, s: S}), (X - M) * (G / S) + Bt)
    with pytest.raises(ValueError, match="mode"):
        T.nnet.bn.batch_normalization(x, g, b, m, s, mode="fast")
    with pytest.raises(ValueError, match="epsilon"):
        T.nnet.bn.batch_normalization_train(x, g, b, epsilon=1e-7)
    with pytest.raises(ValueError, match="axes"):
        T.nnet.bn.batch_normalization_train(x, g, b, axes="channel")
    with pytest.raises(ValueError, match="dims"):
        T.nnet.bn.batch_normalization_train(x, T.dtensor3(), b)


def test_native_pool_matches_perform_and_threads():
    """The native kernel (float inputs) against the op's NumPy perform (py linker), on
    1 and 2 threads; an integer input runs the perform."""
    x = T.ftensor4("x")
    outs = [pool.pool_2d(x, ws, ignore_border=ib, stride=st, pad=pd, mode=mode)
            for mode in MODES for ws, ib, st, pd in CASES[2:5]]
    f = theano.function([x], outs)
    ref = theano.function([x], outs, mode=theano.Mode(linker="py"))
    X = np.random.RandomState(9).randn(4, 8, 33, 30).astype("float32")
    X[0, 0, 0, 0] = np.nan                                 # max and sum propagate NaN
    want = ref(X)
    for n in (1, 2):
        with theano.config.change_flags(threads=n):
            for got, w in zip(f(X), want):
                np.testing.assert_allclose(got, w, rtol=1e-6, atol=1e-6)
    i = T.itensor4("i")
    Xi = np.arange(2 * 1 * 5 * 5, dtype="int32").reshape(2, 1, 5, 5)
    np.testing.assert_array_equal(pool.pool_2d(i, (2, 2), ignore_border=True).eval({i: Xi}),
                                  Xi.reshape(2, 1, 5, 5)[:, :, 1:4:2, 1:4:2])
