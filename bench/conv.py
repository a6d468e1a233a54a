"""Convolutions: one LeNet training step and a ResNet-style 3x3 convolution, forward
and backward, tjit against NumPy (im2col + matmul) and the installed peers.

    python bench/conv.py [--repeats 5] [--scale 1.0]

Workloads (float32; --scale < 1 shrinks the batch for a quick run):
  lenet step    examples/lenet.py's model, batch 500, 1x28x28, 20 and 50 5x5 filters,
                2x2 max pooling, 500 hidden, 10 classes: one SGD step (T.grad, updates)
  conv3x3 f+b   batch 32, 64 -> 64 channels, 56x56, 3x3, border 'half': y = conv2d(x, w)
                and the gradients of sum(y * g) with respect to x and w
GFLOP/s counts the convolutions' multiply-adds as 2 flops (forward, d input where
needed, d filters); the machine's measured peak is one large float32 matrix product
in NumPy's BLAS. JAX and PyTensor rows appear only when they are installed; NumPy
is always run (im2col by stride tricks, then one tensordot per product).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness as H  # noqa: E402


def conv_flops(B, C, O, oh, ow, kh, kw, grad_input=True):
    """Flops of a convolution's forward pass and its backward (d filters, d input)."""
    one = 2.0 * B * C * O * oh * ow * kh * kw
    return one * (3 if grad_input else 2)


def measured_peak(dtype="float32", n=1536):
    a = np.random.rand(n, n).astype(dtype)
    t = H.median_time(lambda: a @ a, repeats=3)
    return 2.0 * n ** 3 / t / 1e9


# --------------------------------------------------------------------------- NumPy
def im2col(x, kh, kw, pad):
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    B, C, H, W = x.shape
    oh, ow = H - kh + 1, W - kw + 1
    s = x.strides
    return np.lib.stride_tricks.as_strided(x, (B, C, kh, kw, oh, ow),
                                           (s[0], s[1], s[2], s[3], s[2], s[3]))


def numpy_conv3x3(x, w, g):
    """y = conv2d(x, w, 'half') (flipped kernel), dx and dw of sum(y * g)."""
    wf = w[:, :, ::-1, ::-1]
    cols = im2col(x, 3, 3, 1)                                     # (B, C, 3, 3, H, W)
    y = np.tensordot(wf, cols, axes=([1, 2, 3], [1, 2, 3])).transpose(1, 0, 2, 3)
    dwf = np.tensordot(g, cols, axes=([0, 2, 3], [0, 4, 5]))      # (O, C, 3, 3)
    gcols = im2col(g, 3, 3, 1)                                    # full corr of g with w
    dx = np.tensordot(w, gcols, axes=([0, 2, 3], [1, 2, 3])).transpose(1, 0, 2, 3)
    return y, dx, dwf[:, :, ::-1, ::-1]


# --------------------------------------------------------------------------- tjit
def tjit_conv3x3():
    theano, T = H.import_tjit()
    from tjit.tensor.nnet import conv2d
    x, w, g = T.ftensor4("x"), T.ftensor4("w"), T.ftensor4("g")
    y = conv2d(x, w, border_mode="half")
    dx, dw = T.grad((y * g).sum(), [x, w])
    return theano.function([x, w, g], [y, dx, dw])


def tjit_lenet_step(batch):
    theano, T = H.import_tjit()
    sys.path.insert(0, os.path.join(H.REPO_ROOT, "examples"))
    import lenet
    rng = np.random.RandomState(0)
    with theano.config.change_flags(floatX="float32"):
        x, y = T.matrix("x"), T.ivector("y")
        cost, _, params = lenet.build_model(rng, x, y, batch)
        grads = T.grad(cost, params)
        f = theano.function([x, y], cost, updates=[(p, p - 0.1 * gp)
                                                   for p, gp in zip(params, grads)])
    X = rng.rand(batch, 784).astype("float32")
    Y = rng.randint(10, size=batch).astype("int32")
    return lambda: f(X, Y)


def main(repeats=5, scale=1.0):
    theano, _ = H.import_tjit()
    peers = [p for p in H.installed_peers(("jax", "pytensor"))]
    peak = measured_peak()
    print(f"measured peak (NumPy BLAS sgemm): {peak:.1f} GFLOP/s; tjit threads "
          f"{theano.config.threads}; peers installed: {peers or 'none (JAX, PyTensor absent)'}")
    rows = []

    batch = max(1, int(round(500 * scale)))
    flops = conv_flops(batch, 1, 20, 24, 24, 5, 5, grad_input=False) + \
        conv_flops(batch, 20, 50, 8, 8, 5, 5)
    t = H.median_time(tjit_lenet_step(batch), repeats=repeats)
    rows.append([f"lenet step b{batch}", "tjit", "float32", H.fmt(t, 1e3),
                 f"{flops / t / 1e9:.1f}", f"{100 * flops / t / 1e9 / peak:.0f}%"])

    B = max(1, int(round(32 * scale)))
    rng = np.random.RandomState(1)
    x = rng.randn(B, 64, 56, 56).astype("float32")
    w = (0.05 * rng.randn(64, 64, 3, 3)).astype("float32")
    g = rng.randn(B, 64, 56, 56).astype("float32")
    flops = conv_flops(B, 64, 64, 56, 56, 3, 3)
    f = tjit_conv3x3()
    want = numpy_conv3x3(x, w, g)
    got = f(x, w, g)
    ok = all(np.allclose(a, b, rtol=1e-3, atol=1e-2 * np.abs(b).max()) for a, b in zip(got, want))
    for name, fn in (("tjit", lambda: f(x, w, g)), ("numpy", lambda: numpy_conv3x3(x, w, g))):
        t = H.median_time(fn, repeats=repeats)
        cell = H.fmt(t, 1e3) if ok or name == "numpy" else H.WRONG
        rows.append([f"conv3x3 64ch 56x56 b{B} f+b", name, "float32", cell,
                     f"{flops / t / 1e9:.1f}", f"{100 * flops / t / 1e9 / peak:.0f}%"])
    H.print_table(["workload", "impl", "dtype", "ms (median)", "GFLOP/s", "of peak"], rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    t0 = time.time()
    main(args.repeats, args.scale)
    print(f"({time.time() - t0:.0f} s)")
