"""The corr2d_epilogue pass: a bias add and an activation (any elementwise chain) on
a convolution's output run inside the convolution's kernels (direct loops, im2col +
BLAS, swapped im2col), checked against NumPy; gradients through the fused node."""
import numpy as np
import pytest

import tjit as theano
import tjit.tensor as T
from tjit.tensor.nnet import conv2d
from tjit.tensor.nnet_conv import Corr2d, Corr2dEpilogue, ShapeCheck, corr2d_reference

ACTIVATIONS = {"relu": (T.nnet.relu, lambda v: np.maximum(v, 0)),
               "tanh": (T.tanh, np.tanh),
               "sigmoid": (T.nnet.sigmoid, lambda v: 1 / (1 + np.exp(-v)))}


def kinds(f):
    return [type(n.op) for n in f.maker.fgraph.toposort()]


def conv_ref(X, W, pads, subsample=(1, 1)):
    """conv2d (flipped filters) by the op's NumPy reference."""
    kh, kw = W.shape[2:]
    oh = (X.shape[2] + 2 * pads[0] - kh) // subsample[0] + 1
    ow = (X.shape[3] + 2 * pads[1] - kw) // subsample[1] + 1
    return corr2d_reference(X, W[:, :, ::-1, ::-1], (oh, ow) + tuple(pads), subsample, (1, 1))


# (x shape, w shape, border_mode, subsample): the direct kernel, the im2col GEMM
# path, the swapped GEMM path (kernel larger than the output), col2im (output
# larger than the image)
SHAPES = [((2, 3, 7, 6), (4, 3, 3, 3), "half", (1, 1)),
          ((3, 8, 9, 10), (8, 8, 3, 3), "valid", (2, 1)),
          ((2, 4, 11, 11), (9, 4, 8, 9), (1, 0), (1, 1)),
          ((2, 8, 4, 4), (8, 8, 3, 3), "full", (1, 1))]


@pytest.mark.parametrize("dtype,names", [("float32", tuple(ACTIVATIONS)), ("float64", ("relu",))])
def test_bias_and_activations_fuse(dtype, names):
    x, b = T.tensor4("x", dtype=dtype), T.vector("b", dtype)
    wvars = [T.tensor4("w" + name, dtype=dtype) for name in names]   # a conv each
    outs, wants = [], []
    rng = np.random.RandomState(0)
    data = []
    for k, (xs, ws, bm, sub) in enumerate(SHAPES):
        X, W, B = rng.randn(*xs).astype(dtype), rng.randn(*ws).astype(dtype), \
            rng.randn(ws[0]).astype(dtype)
        data.append((X, W, B))
        pads = {"half": (1, 1), "valid": (0, 0), "full": (2, 2)}.get(bm, bm)
        pre = conv_ref(X, W, pads, sub) + B[None, :, None, None]
        for w, (sym, num) in zip(wvars, [ACTIVATIONS[n] for n in names]):
            outs.append((k, sym(conv2d(x, w, border_mode=bm, subsample=sub)
                                + b.dimshuffle("x", 0, "x", "x"))))
            wants.append(num(pre))
    for k, (X, W, B) in enumerate(data):
        f = theano.function([x, b] + wvars, [o for j, o in outs if j == k])
        assert kinds(f).count(Corr2dEpilogue) == len(names) and Corr2d not in kinds(f)
        got = f(X, B, *[W] * len(names))
        tol = 2e-4 if dtype == "float32" else 1e-10
        for g, want in zip(got, [wv for (j, _), wv in zip(outs, wants) if j == k]):
            assert g.dtype == dtype
            np.testing.assert_allclose(g, want, rtol=tol, atol=tol)
        for n in (1, 3):
            with theano.config.change_flags(threads=n):
                for a, c in zip(f(X, B, *[W] * len(names)), got):
                    np.testing.assert_array_equal(a, c)


def test_any_chain_residual_and_shape_check():
    """A residual (a full 4-d extra), a per-row term and a chain of ops; conv2d with
    declared shapes (its ShapeCheck moves after the fused node and still checks)."""
    x, w, b, r = T.dtensor4("x"), T.dtensor4("w"), T.dvector("b"), T.dvector("r")
    c = conv2d(x, w, input_shape=(None, 8, 6, 6), filter_shape=(8, 8, 3, 3), border_mode="half")
    y = T.nnet.relu(c * 0.5 + b.dimshuffle("x", 0, "x", "x") + x) ** 2 - r.dimshuffle("x", "x", 0, "x")
    g = theano.function([x, w, b, r], y)
    f = lambda X, W, B: g(X, W, B, R)   # noqa: E731
    assert Corr2dEpilogue in kinds(g) and ShapeCheck in kinds(g)
    rng = np.random.RandomState(1)
    X, W, B, R = rng.randn(2, 8, 6, 6), rng.randn(8, 8, 3, 3), rng.randn(8), rng.randn(6)
    want = np.maximum(conv_ref(X, W, (1, 1)) * 0.5 + B[None, :, None, None] + X, 0) ** 2 - \
        R[None, None, :, None]
    np.testing.assert_allclose(f(X, W, B), want, rtol=1e-10, atol=1e-10)
    with pytest.raises(ValueError, match="input_shape"):
        g(rng.randn(2, 8, 7, 7), W, B, rng.randn(7))
    with pytest.raises(ValueError, match="elementwise|match"):
        f(X, W, rng.randn(5))


def test_not_fused_when_the_convolution_is_used_elsewhere():
    x, w = T.dtensor4("x"), T.dtensor4("w")
    c = conv2d(x, w)
    f = theano.function([x, w], [T.tanh(c), c])
    assert Corr2dEpilogue not in kinds(f)


def test_gradients_through_the_fused_node():
    """T.grad of a cost through relu(conv + b), compiled (the forward's epilogue
    fused), against finite differences; and Corr2dEpilogue's own gradient (its
    unfused graph's) against the unfused graph's."""
    rng = np.random.RandomState(2)
    X, W, B = rng.randn(2, 3, 6, 5), rng.randn(4, 3, 3, 3), rng.randn(4)

    def fun(x, w, b):
        return T.tanh(conv2d(x, w, border_mode="half") + b.dimshuffle("x", 0, "x", "x"))
    T.verify_grad(fun, [X, W, B], rng=rng, n_tests=1)

    x, w, b = T.dtensor4("x"), T.dtensor4("w"), T.dvector("b")
    f = theano.function([x, w, b], fun(x, w, b))
    node = [n for n in f.maker.fgraph.toposort() if isinstance(n.op, Corr2dEpilogue)][0]
    geom = T.lvector("geom")
    extras = [T.TensorType(v.dtype, v.broadcastable)() for v in node.inputs[3:]]
    fused = node.op(x, w, geom, *extras)
    plain = node.op.unfused([x, w, geom] + extras)
    g = T.dtensor4("g")
    grads = [T.grad((o * g).sum(), [x, w] + extras) for o in (fused, plain)]
    h = theano.function([x, w, geom, g] + extras, grads[0] + grads[1],
                        mode=theano.Mode(optimizer="fast_compile"))
    G = rng.randn(2, 4, 6, 5)
    vals = h(X, W[:, :, ::-1, ::-1], np.array([6, 5, 1, 1]), G, B)
    for a, c in zip(vals[:3], vals[3:]):
        np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-12)
