"""T.nnet.conv2d against SciPy (scipy.signal.correlate on a padded image with a
dilated kernel, then subsampled) for every border mode, subsample, dilation and
flip; gradients against finite differences; shape errors; thread independence."""
import numpy as np
import pytest
import scipy.signal

import tjit as theano
import tjit.tensor as T
from tjit.gradient_check import verify_grad
from tjit.tensor.nnet import conv2d

BORDERS = ("valid", "full", "half", 1, (2, 1), (0, 3))


def reference(X, W, border_mode, subsample, flip, dilation):
    """conv2d by its definition: pad, dilate the (flipped) kernel, correlate, subsample."""
    K = W[:, :, ::-1, ::-1] if flip else W
    (dy, dx), (sy, sx) = dilation, subsample
    O, C, KH, KW = K.shape
    Kd = np.zeros((O, C, (KH - 1) * dy + 1, (KW - 1) * dx + 1), X.dtype)
    Kd[:, :, ::dy, ::dx] = K
    if border_mode == "valid":
        py = px = 0
    elif border_mode == "full":
        py, px = Kd.shape[2] - 1, Kd.shape[3] - 1
    elif border_mode == "half":
        py, px = Kd.shape[2] // 2, Kd.shape[3] // 2
    elif isinstance(border_mode, int):
        py = px = border_mode
    else:
        py, px = border_mode
    Xp = np.pad(X, ((0, 0), (0, 0), (py, py), (px, px)))
    B = X.shape[0]
    rows = Xp.shape[2] - Kd.shape[2] + 1
    cols = Xp.shape[3] - Kd.shape[3] + 1
    out = np.zeros((B, O, rows, cols))
    for b in range(B):
        for o in range(O):
            for c in range(C):
                out[b, o] += scipy.signal.correlate(Xp[b, c], Kd[o, c], mode="valid")
    return out[:, :, ::sy, ::sx]


@pytest.mark.parametrize("subsample,dilation", [((1, 1), (1, 1)), ((2, 3), (1, 1)),
                                                ((1, 1), (2, 1)), ((2, 1), (1, 3))])
def test_every_border_mode_and_flip(subsample, dilation):
    x, w = T.dtensor4("x"), T.dtensor4("w")
    cases = [(bm, flip) for bm in BORDERS for flip in (True, False)]
    outs = [conv2d(x, w, border_mode=bm, subsample=subsample, filter_flip=flip,
                   filter_dilation=dilation) for bm, flip in cases]
    f = theano.function([x, w], outs)
    rng = np.random.RandomState(1)
    # odd sizes, rectangular image and filter; batch 1 / channels 1 below
    for xs, ws in (((2, 3, 11, 9), (4, 3, 3, 2)), ((1, 1, 7, 8), (1, 1, 2, 3))):
        X, W = rng.randn(*xs), rng.randn(*ws)
        for got, (bm, flip) in zip(f(X, W), cases):
            want = reference(X, W, bm, subsample, flip, dilation)
            assert got.shape == want.shape, (bm, flip)
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10, err_msg=str((bm, flip)))


def test_float32_non_contiguous_and_fast_compile():
    x, w = T.ftensor4("x"), T.ftensor4("w")
    y = conv2d(x, w, border_mode="half", subsample=(2, 2))
    rng = np.random.RandomState(2)
    X = rng.randn(3, 2, 10, 13).astype("float32")
    W = rng.randn(5, 2, 3, 3).astype("float32")
    want = reference(X, W, "half", (2, 2), True, (1, 1))
    results = []
    for mode in ("FAST_RUN", theano.Mode(linker="native", optimizer="fast_compile")):
        f = theano.function([x, w], y, mode=mode)
        assert f(X, W).dtype == np.float32
        np.testing.assert_allclose(f(X, W), want, rtol=1e-4, atol=1e-4)
        results.append(f(X, W))
        # views: reversed batch, every other column (non-unit strides)
        Xv = np.concatenate([X, X], axis=3)[::-1, :, :, ::2]
        np.testing.assert_allclose(f(Xv, W), reference(Xv, W, "half", (2, 2), True, (1, 1)),
                                   rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(results[0], results[1])   # the two codegen levels agree


def test_mixed_dtypes_upcast():
    x, w = T.ftensor4("x"), T.dtensor4("w")
    y = conv2d(x, w)
    assert y.dtype == "float64"
    rng = np.random.RandomState(3)
    X, W = rng.randn(1, 2, 5, 5).astype("float32"), rng.randn(2, 2, 2, 2)
    np.testing.assert_allclose(y.eval({x: X, w: W}), reference(X, W, "valid", (1, 1), True,
                                                               (1, 1)), rtol=1e-6)


@pytest.mark.parametrize("border_mode,subsample,dilation,flip", [
    ("valid", (1, 1), (1, 1), True), ("full", (2, 1), (1, 1), False),
    ("half", (1, 2), (2, 1), True), ((1, 2), (3, 2), (1, 2), True)])
def test_gradients_finite_differences(border_mode, subsample, dilation, flip):
    rng = np.random.RandomState(4)
    X, W = rng.randn(2, 2, 7, 6), rng.randn(3, 2, 3, 2)

    def fun(x, w):
        return conv2d(x, w, border_mode=border_mode, subsample=subsample, filter_flip=flip,
                      filter_dilation=dilation)
    verify_grad(fun, [X, W], rng=rng, n_tests=1)


def test_second_order_gradient():
    rng = np.random.RandomState(5)
    X, W = rng.randn(1, 2, 5, 5), rng.randn(2, 2, 2, 2)

    def fun(x):     # the gradient wrt w is a Corr2d too: differentiate it wrt x
        w = theano.shared(W)
        cost = (conv2d(x, w, subsample=(2, 1)) ** 2).sum()
        return T.grad(cost, w)
    verify_grad(fun, [X], rng=rng, n_tests=1)


def test_threads_give_identical_results():
    x, w = T.ftensor4("x"), T.ftensor4("w")
    y = conv2d(x, w, border_mode="half")
    gx, gw = T.grad((y * y).sum(), [x, w])
    f = theano.function([x, w], [y, gx, gw])
    rng = np.random.RandomState(6)
    X = rng.randn(8, 4, 20, 20).astype("float32")
    W = rng.randn(16, 4, 3, 3).astype("float32")
    results = []
    for n in (1, 2, 3):
        with theano.config.change_flags(threads=n):
            results.append(f(X, W))
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(results[0][0], reference(X, W, "half", (1, 1), True, (1, 1)),
                               rtol=1e-4, atol=1e-4)


def test_build_time_errors():
    x, w = T.dtensor4("x"), T.dtensor4("w")
    with pytest.raises(ValueError, match="border_mode"):
        conv2d(x, w, border_mode="same")
    with pytest.raises(ValueError, match="border_mode"):
        conv2d(x, w, border_mode=(-1, 0))
    with pytest.raises(ValueError, match="subsample"):
        conv2d(x, w, subsample=(0, 1))
    with pytest.raises(TypeError, match="4-d"):
        conv2d(T.dmatrix(), w)
    with pytest.raises(ValueError, match="channels"):
        conv2d(x, w, input_shape=(None, 3, 8, 8), filter_shape=(4, 2, 3, 3))
    with pytest.raises(ValueError, match="exceed"):
        conv2d(x, w, input_shape=(None, 3, 4, 8), filter_shape=(4, 3, 5, 3))
    with pytest.raises(ValueError, match="4 entries"):
        conv2d(x, w, input_shape=(3, 8, 8))


def test_run_time_shape_errors():
    x, w = T.dtensor4("x"), T.dtensor4("w")
    f = theano.function([x, w], conv2d(x, w))
    with pytest.raises(ValueError, match="channels"):
        f(np.zeros((1, 3, 5, 5)), np.zeros((2, 2, 3, 3)))
    with pytest.raises(ValueError, match="empty or negative"):
        f(np.zeros((1, 2, 2, 5)), np.zeros((2, 2, 3, 3)))
    g = theano.function([x, w], conv2d(x, w, input_shape=(None, 2, 5, 5),
                                       filter_shape=(2, 2, 3, 3)))
    assert g(np.ones((4, 2, 5, 5)), np.ones((2, 2, 3, 3))).shape == (4, 2, 3, 3)
    with pytest.raises(ValueError, match="input_shape"):
        g(np.ones((4, 2, 6, 5)), np.ones((2, 2, 3, 3)))


@pytest.mark.parametrize("tile", [1 << 21, 200, 3000])
def test_im2col_gemm_path_and_its_tiles(tile, monkeypatch):
    """K = C*KH*KW >= 16 and >= 8 output channels take im2col + BLAS; small tiles
    (channel tiles accumulated with beta=1, image tiles) give the same values."""
    from tjit.link import conv as conv_link
    monkeypatch.setattr(conv_link, "TILE_ELEMENTS", tile)
    x, w = T.dtensor4("x"), T.dtensor4("w")
    y = conv2d(x, w, border_mode=(1, 2), subsample=(2, 1), filter_dilation=(1, 2))
    gx, gw = T.grad((y * y).sum(), [x, w])
    f = theano.function([x, w], [y, gx, gw])
    rng = np.random.RandomState(7)
    X, W = rng.randn(3, 9, 9, 10), rng.randn(8, 9, 3, 3)
    assert conv_link.use_gemm(X.shape, W.shape)
    out, dx, dw = f(X, W)
    with theano.config.change_flags(threads=1):
        for a, b in zip(f(X, W), (out, dx, dw)):      # image tiles split or not
            np.testing.assert_array_equal(a, b)
    want = reference(X, W, (1, 2), (2, 1), True, (1, 2))
    np.testing.assert_allclose(out, want, rtol=1e-10, atol=1e-10)
    # the gradients (Corr2ds on the GEMM path too) against the ops' NumPy perform
    py = theano.function([x, w], [y, gx, gw], mode=theano.Mode(linker="py"))
    for got, want in zip((out, dx, dw), py(X, W)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def transpose_reference(X, W, out_hw, pads, stride, flip, dilation):
    """conv2d_transpose by scattering every input pixel through the filter taps."""
    K = W[:, :, ::-1, ::-1] if flip else W
    B, O, h, w = X.shape
    _, C, KH, KW = K.shape
    (py, px), (sy, sx), (dy, dx) = pads, stride, dilation
    out = np.zeros((B, C, out_hw[0], out_hw[1]))
    for y in range(h):
        for x in range(w):
            for i in range(KH):
                for j in range(KW):
                    r, c = y * sy + i * dy - py, x * sx + j * dx - px
                    if 0 <= r < out_hw[0] and 0 <= c < out_hw[1]:
                        out[:, :, r, c] += X[:, :, y, x] @ K[:, :, i, j]
    return out


@pytest.mark.parametrize("border_mode,pads,stride,dilation,flip", [
    ("valid", (0, 0), (1, 1), (1, 1), True), ("half", (1, 1), (2, 2), (1, 1), False),
    ((2, 1), (2, 1), (2, 3), (1, 2), True)])
def test_conv2d_transpose(border_mode, pads, stride, dilation, flip):
    x, w = T.dtensor4("x"), T.dtensor4("w")
    rng = np.random.RandomState(8)
    W = rng.randn(3, 2, 3, 3)                       # (in channels, out channels, rows, cols)
    out_hw = (9, 10)
    h = (out_hw[0] + 2 * pads[0] - dilation[0] * 2 - 1) // stride[0] + 1
    wd = (out_hw[1] + 2 * pads[1] - dilation[1] * 2 - 1) // stride[1] + 1
    X = rng.randn(2, 3, h, wd)
    y = T.nnet.conv2d_transpose(x, w, (None, None) + out_hw, border_mode=border_mode,
                                input_dilation=stride, filter_flip=flip,
                                filter_dilation=dilation)
    got = theano.function([x, w], y)(X, W)
    np.testing.assert_allclose(got, transpose_reference(X, W, out_hw, pads, stride, flip,
                                                        dilation), rtol=1e-10, atol=1e-10)
