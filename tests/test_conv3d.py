"""T.nnet.conv3d against explicit loops (every border mode, subsample, dilation,
flip, odd sizes, batch 1, one channel, the 2-d kernels' GEMM layouts), gradients
against finite differences, errors."""
import numpy as np
import pytest

import tjit as theano
import tjit.tensor as T
from tjit.gradient_check import verify_grad
from tjit.tensor.nnet import conv3d


def tensor5(name, dtype="float64"):
    # T.tensor5 / dtensor5 / ftensor5 do not exist in tjit yet
    return T.TensorType(dtype, (False,) * 5)(name)


def loops(X, W, pads, subsample, flip, dilation):
    """conv3d by its definition, one output element at a time."""
    K = W[:, :, ::-1, ::-1, ::-1] if flip else W
    B, C, D, H, Wd = X.shape
    O, _, KD, KH, KW = K.shape
    Xp = np.zeros((B, C) + tuple(n + 2 * p for n, p in zip((D, H, Wd), pads)))
    Xp[:, :, pads[0]:pads[0] + D, pads[1]:pads[1] + H, pads[2]:pads[2] + Wd] = X
    ext = [d * (k - 1) + 1 for d, k in zip(dilation, (KD, KH, KW))]
    outs = [(n - e) // s + 1 for n, e, s in zip(Xp.shape[2:], ext, subsample)]
    out = np.zeros((B, O, *outs))
    (sz, sy, sx), (dz, dy, dx) = subsample, dilation
    for z, y, x in np.ndindex(*outs):
        patch = Xp[:, :, z * sz:z * sz + ext[0]:dz, y * sy:y * sy + ext[1]:dy,
                   x * sx:x * sx + ext[2]:dx]
        out[:, :, z, y, x] = np.einsum("bckij,ockij->bo", patch, K)
    return out


def pads_of(border_mode, wshape, dilation):
    ks = wshape[2:]
    if border_mode == "valid":
        return (0, 0, 0)
    if border_mode == "full":
        return tuple(d * (k - 1) for k, d in zip(ks, dilation))
    if border_mode == "half":
        return tuple((d * (k - 1) + 1) // 2 for k, d in zip(ks, dilation))
    return (border_mode,) * 3 if isinstance(border_mode, int) else border_mode


CASES = [  # x shape, w shape, border_mode, subsample, dilation, flip
    ((2, 2, 5, 6, 7), (3, 2, 2, 3, 2), "valid", (1, 1, 1), (1, 1, 1), True),
    ((1, 1, 4, 5, 5), (2, 1, 3, 2, 3), "full", (2, 1, 2), (1, 1, 1), False),
    ((2, 3, 6, 5, 7), (2, 3, 3, 3, 2), "half", (1, 2, 1), (2, 1, 1), True),
    ((1, 2, 5, 7, 6), (3, 2, 2, 2, 3), (1, 0, 2), (1, 1, 1), (1, 2, 1), True),
    ((2, 4, 5, 6, 6), (8, 4, 2, 3, 3), 1, (1, 1, 1), (1, 1, 1), False)]   # GEMM layouts


def test_conv3d_against_loops():
    x, w = tensor5("x"), tensor5("w")
    outs = [conv3d(x[:xs[0], :xs[1], :xs[2], :xs[3], :xs[4]],
                   w[:ws[0], :ws[1], :ws[2], :ws[3], :ws[4]], border_mode=bm, subsample=sub,
                   filter_flip=flip, filter_dilation=dil)
            for xs, ws, bm, sub, dil, flip in CASES]
    f = theano.function([x, w], outs)
    rng = np.random.RandomState(0)
    X, W = rng.randn(2, 4, 6, 7, 7), rng.randn(8, 4, 3, 3, 3)
    for got, (xs, ws, bm, sub, dil, flip) in zip(f(X, W), CASES):
        Xc = X[:xs[0], :xs[1], :xs[2], :xs[3], :xs[4]]
        Wc = W[:ws[0], :ws[1], :ws[2], :ws[3], :ws[4]]
        want = loops(Xc, Wc, pads_of(bm, ws, dil), sub, flip, dil)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
    # float32, and the op's NumPy reference (py linker) agreeing
    xf, wf = tensor5("xf", "float32"), tensor5("wf", "float32")
    y = conv3d(xf, wf, border_mode="half", subsample=(2, 1, 1))
    Xf, Wf = X[:, :2].astype("float32"), W[:3, :2].astype("float32")
    a = theano.function([xf, wf], y)(Xf, Wf)
    b = theano.function([xf, wf], y, mode=theano.Mode(linker="py"))(Xf, Wf)
    assert a.dtype == "float32"
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", [CASES[1], CASES[2]])
def test_conv3d_gradients(case):
    xs, ws, bm, sub, dil, flip = case
    rng = np.random.RandomState(1)
    verify_grad(lambda x, w: conv3d(x, w, border_mode=bm, subsample=sub, filter_flip=flip,
                                    filter_dilation=dil),
                [rng.randn(*xs), rng.randn(*ws)], rng=rng, n_tests=1)


def test_conv3d_errors():
    x, w = tensor5("x"), tensor5("w")
    with pytest.raises(ValueError, match="border_mode"):
        conv3d(x, w, border_mode="same")
    with pytest.raises(ValueError, match="subsample"):
        conv3d(x, w, subsample=(1, 0, 1))
    with pytest.raises(TypeError, match="5-d"):
        conv3d(T.dtensor4(), w)
    with pytest.raises(ValueError, match="channels"):
        conv3d(x, w, input_shape=(None, 3, 4, 4, 4), filter_shape=(2, 2, 2, 2, 2))
    f = theano.function([x, w], conv3d(x, w))
    with pytest.raises(ValueError, match="channels"):
        f(np.zeros((1, 3, 4, 4, 4)), np.zeros((2, 2, 2, 2, 2)))
    with pytest.raises(ValueError, match="empty or negative"):
        f(np.zeros((1, 2, 1, 4, 4)), np.zeros((2, 2, 2, 2, 2)))
