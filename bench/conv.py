"""Convolutions: one LeNet training step and a ResNet-style 3x3 convolution, forward
and backward, tjit against JAX jit, PyTensor and NumPy (im2col + matmul), same run.

    python bench/conv.py [--repeats 5] [--scale 1.0] [--cpus host,x86-64-v3]

Workloads (float32; --scale < 1 shrinks the batch for a quick run):
  lenet step    examples/lenet.py's model, batch 500, 1x28x28, 20 and 50 5x5 filters,
                2x2 max pooling, 500 hidden, 10 classes: one SGD step (T.grad, updates)
  conv3x3 f+b   batch 32, 64 -> 64 channels, 56x56, 3x3, border 'half': y = conv2d(x, w)
                and the gradients of sum(y * g) with respect to x and w
  conv3x3 +b relu  its forward with a bias and relu: fused into the convolution's
                output loop ("tjit"), and with the fusion pass excluded ("unfused")
GFLOP/s counts the convolutions' multiply-adds as 2 flops (forward, d input where
needed, d filters); the machine's measured peak is one large float32 matrix product
in NumPy's BLAS. JAX and PyTensor rows appear only when they are installed; NumPy
is always run (im2col by stride tricks, then one tensordot per product). The tjit
rows are repeated per --cpus (host and x86-64-v3). "jax/impl" > 1: impl is faster.
PyTensor 3 has no conv2d or pool_2d (only signal.convolve2d, one SciPy call per
image x filter x channel), so its rows say so instead of a time.
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
    f = theano.function([x, w, g], [y, dx, dw])
    return lambda x, w, g: f(x, w, g)


def tjit_conv_bias_relu(fused=True):
    """relu(conv2d(x, w, 'half') + b): the bias and relu in the convolution's
    epilogue (the corr2d_epilogue pass), or as a second pass (pass excluded)."""
    theano, T = H.import_tjit()
    from tjit.tensor.nnet import conv2d
    x, w, b = T.ftensor4("x"), T.ftensor4("w"), T.fvector("b")
    y = T.nnet.relu(conv2d(x, w, border_mode="half") + b.dimshuffle("x", 0, "x", "x"))
    mode = theano.Mode(optimizer="fast_run")
    f = theano.function([x, w, b], y, mode=mode if fused else mode.excluding("corr2d_epilogue"))
    return lambda x, w, b: f(x, w, b)


def jax_conv_bias_relu():
    import jax
    from jax import lax

    @jax.jit
    def fwd(x, w, b):
        y = lax.conv_general_dilated(x, w[:, :, ::-1, ::-1], (1, 1), ((1, 1), (1, 1)),
                                     dimension_numbers=("NCHW", "OIHW", "NCHW"))
        return jax.nn.relu(y + b[None, :, None, None])
    return lambda x, w, b: np.asarray(fwd(x, w, b).block_until_ready())


def lenet_params(batch):
    """examples/lenet.py's parameters (its RandomState(0) initialisation) and one batch."""
    theano, T = H.import_tjit()
    sys.path.insert(0, os.path.join(H.REPO_ROOT, "examples"))
    import lenet
    rng = np.random.RandomState(0)
    with theano.config.change_flags(floatX="float32"):
        x, y = T.matrix("x"), T.ivector("y")
        cost, _, params = lenet.build_model(rng, x, y, batch)
    X = rng.rand(batch, 784).astype("float32")
    Y = rng.randint(10, size=batch).astype("int32")
    return (x, y, cost, params), X, Y


def tjit_lenet_step(batch):
    """One SGD step; returns (step, cost of the first step)."""
    theano, T = H.import_tjit()
    (x, y, cost, params), X, Y = lenet_params(batch)
    with theano.config.change_flags(floatX="float32"):
        grads = T.grad(cost, params)
        f = theano.function([x, y], cost, updates=[(p, p - 0.1 * gp)
                                                   for p, gp in zip(params, grads)])
    first = float(f(X, Y))
    return (lambda: f(X, Y)), first


# --------------------------------------------------------------------------- JAX
def jax_lenet_step(batch):
    """The same network and SGD step in JAX (jit; parameters passed in and returned)."""
    import jax
    import jax.numpy as jnp
    from jax import lax
    (_, _, _, params), X, Y = lenet_params(batch)
    W3, b3, W2, b2, W1, b1, W0, b0 = [jnp.asarray(p.get_value()) for p in params]
    dn = ("NCHW", "OIHW", "NCHW")

    def conv_pool(h, W, b):
        c = lax.conv_general_dilated(h, W[:, :, ::-1, ::-1], (1, 1), "VALID", dimension_numbers=dn)
        p = lax.reduce_window(c, -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")
        return jnp.tanh(p + b[None, :, None, None])

    def cost(ps, X, Y):
        W3, b3, W2, b2, W1, b1, W0, b0 = ps
        h = conv_pool(X.reshape(batch, 1, 28, 28), W0, b0)
        h = conv_pool(h, W1, b1).reshape(batch, -1)
        h = jnp.tanh(h @ W2 + b2)
        logp = jax.nn.log_softmax(h @ W3 + b3)
        return -jnp.mean(logp[jnp.arange(batch), Y])

    @jax.jit
    def step(ps, X, Y):
        c, gs = jax.value_and_grad(cost)(ps, X, Y)
        return c, [p - 0.1 * g for p, g in zip(ps, gs)]

    state = {"ps": [W3, b3, W2, b2, W1, b1, W0, b0]}
    Xj, Yj = jnp.asarray(X), jnp.asarray(Y)

    def run():
        c, state["ps"] = step(state["ps"], Xj, Yj)
        c.block_until_ready()
        return c
    first = float(run())
    return run, first


def jax_conv3x3():
    import jax
    from jax import lax
    dn = ("NCHW", "OIHW", "NCHW")

    def y_of(x, w):
        return lax.conv_general_dilated(x, w[:, :, ::-1, ::-1], (1, 1), ((1, 1), (1, 1)),
                                        dimension_numbers=dn)

    @jax.jit
    def fb(x, w, g):
        y, vjp = jax.vjp(y_of, x, w)
        dx, dw = vjp(g)
        return y, dx, dw

    def run(x, w, g):
        out = fb(x, w, g)
        for o in out:
            o.block_until_ready()
        return [np.asarray(o) for o in out]
    return run


# --------------------------------------------------------------------------- table
def row(workload, impl, t, flops, peak, jax_t):
    if isinstance(t, str):
        return [workload, impl, "float32", t, "-", "-", "-"]
    gf = flops / t / 1e9
    return [workload, impl, "float32", H.fmt(t, 1e3), f"{gf:.1f}", f"{100 * gf / peak:.0f}%",
            f"{jax_t / t:.2f}" if isinstance(jax_t, float) else "-"]


def on(tjit, impl, build):
    """build() under impl's CPU ('tjit @x86-64-v3' -> cpu=x86-64-v3)."""
    _, cpu = H.split_cpu(impl)
    with H.on_cpu(tjit, cpu):
        return build()


PYTENSOR_NA = "n/a: no conv2d/pool_2d"


def main(repeats=5, scale=1.0, cpus="host,x86-64-v3"):
    theano, _ = H.import_tjit()
    peers = H.installed_peers(("jax", "pytensor"))
    tjits = ["tjit"] + [f"tjit @{c}" for c in H.other_cpus(theano, cpus)]
    peak = measured_peak()
    print(f"measured peak (NumPy BLAS sgemm, all cores): {peak:.1f} GFLOP/s; tjit threads "
          f"{theano.config.threads}; peers installed: {peers or 'none (JAX, PyTensor absent)'}; "
          f"median of {repeats}")
    rows = []

    batch = max(1, int(round(500 * scale)))
    work = f"lenet step b{batch}"
    flops = conv_flops(batch, 1, 20, 24, 24, 5, 5, grad_input=False) + \
        conv_flops(batch, 20, 50, 8, 8, 5, 5)
    times, firsts = {}, {}
    if "jax" in peers:
        fn, firsts["jax"] = jax_lenet_step(batch)
        times["jax"] = H.median_time(fn, repeats=repeats)
    for impl in tjits:
        fn, firsts[impl] = on(theano, impl, lambda: tjit_lenet_step(batch))
        times[impl] = H.median_time(fn, repeats=repeats)
    ref = firsts.get("jax")
    for impl in tjits + [p for p in ("jax",) if p in peers]:
        t = times[impl]
        if ref is not None and abs(firsts[impl] - ref) > 1e-3 * max(1.0, abs(ref)):
            t = H.WRONG
        rows.append(row(work, impl, t, flops, peak, times.get("jax")))
    if "pytensor" in peers:
        rows.append(row(work, "pytensor", PYTENSOR_NA, flops, peak, None))

    B = max(1, int(round(32 * scale)))
    work = f"conv3x3 64ch 56x56 b{B} f+b"
    rng = np.random.RandomState(1)
    x = rng.randn(B, 64, 56, 56).astype("float32")
    w = (0.05 * rng.randn(64, 64, 3, 3)).astype("float32")
    g = rng.randn(B, 64, 56, 56).astype("float32")
    flops = conv_flops(B, 64, 64, 56, 56, 3, 3)
    want = numpy_conv3x3(x, w, g)
    builders = {impl: (lambda impl=impl: on(theano, impl, tjit_conv3x3)) for impl in tjits}
    builders["numpy"] = lambda: numpy_conv3x3
    if "jax" in peers:
        builders["jax"] = jax_conv3x3
    times = {}
    for impl, build in builders.items():
        f = build()
        got = f(x, w, g)
        ok = all(np.allclose(a, b, rtol=1e-3, atol=1e-3 * np.abs(b).max())
                 for a, b in zip(got, want))
        times[impl] = H.median_time(lambda: f(x, w, g), repeats=repeats) if ok else H.WRONG
    order = tjits + (["jax"] if "jax" in peers else []) + ["numpy"]
    for impl in order:
        rows.append(row(work, impl, times[impl], flops, peak, times.get("jax")))
    if "pytensor" in peers:
        rows.append(row(work, "pytensor", PYTENSOR_NA, flops, peak, None))

    work = f"conv3x3 +b relu b{B} fwd"
    flops = conv_flops(B, 64, 64, 56, 56, 3, 3) / 3
    bias = rng.randn(64).astype("float32")
    want = np.maximum(want[0] + bias[None, :, None, None], 0)
    builders = {}
    for impl in tjits:
        builders[impl] = lambda impl=impl: on(theano, impl, tjit_conv_bias_relu)
        builders[impl + " unfused"] = lambda impl=impl: on(theano, impl,
                                                            lambda: tjit_conv_bias_relu(False))
    if "jax" in peers:
        builders["jax"] = jax_conv_bias_relu
    times = {}
    for impl, build in builders.items():
        f = build()
        ok = np.allclose(f(x, w, bias), want, rtol=1e-3, atol=1e-3 * np.abs(want).max())
        times[impl] = H.median_time(lambda: f(x, w, bias), repeats=repeats) if ok else H.WRONG
    for impl in builders:
        rows.append(row(work, impl, times[impl], flops, peak, times.get("jax")))
    H.print_table(["workload", "impl", "dtype", "ms (median)", "GFLOP/s", "of peak",
                   "jax/impl"], rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0)
    H.add_cpus_argument(parser)
    args = parser.parse_args()
    t0 = time.time()
    main(args.repeats, args.scale, args.cpus)
    print(f"({time.time() - t0:.0f} s)")
