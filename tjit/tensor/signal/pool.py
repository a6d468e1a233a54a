"""theano.tensor.signal.pool: pool_2d (max, sum, average_inc_pad, average_exc_pad)
and its gradients, Theano 1.0's semantics.

A window r covers padded rows [r*stride, r*stride + ws), clipped to the padded
image; 'max', 'sum' and 'average_exc_pad' also exclude the zero padding (pad <
ws), 'average_inc_pad' counts it. With ignore_border=False, a last partial window
is kept. Pool and its gradients MaxPoolGrad and AveragePoolGrad run natively for
float inputs (`tjit.ir.lower_pool`); MaxPoolGradGrad (the max gradient's own
gradient, for second derivatives) and integer inputs run the NumPy perform, which
loops over the ws[0]*ws[1] window taps (each tap a strided slice of every window
at once), so its cost is that of a few passes over the image.
"""
from __future__ import annotations

import warnings

import numpy as np

from ...graph import Apply, Op
from ..basic import cast, zeros_like
from ..shape_ops import concatenate, reshape
from ..type import TensorType
from ..var import as_tensor_variable

MODES = ("max", "sum", "average_inc_pad", "average_exc_pad")


def _pair(v, name):
    if v is None:
        return None
    v = tuple(v)
    if len(v) != 2 or not all(isinstance(e, (int, np.integer)) for e in v):
        raise ValueError(f"pool_2d: {name} must be a pair of ints, got {v!r}")
    return (int(v[0]), int(v[1]))


def out_size(n, ws, stride, pad, ignore_border):
    """Pooled length of an axis of length `n` (Theano's Pool.out_shape)."""
    n = n + 2 * pad
    if ignore_border:
        return max(0, (n - ws) // stride + 1)
    if stride >= ws:
        return (n - 1) // stride + 1
    return max(0, (n - 1 - ws) // stride + 1) + 1


class _PoolBase(Op):
    __props__ = ("ws", "ignore_border", "stride", "pad", "mode")

    def __init__(self, ws, ignore_border=False, stride=None, pad=(0, 0), mode="max"):
        self.ws = _pair(ws, "ws")
        if min(self.ws) < 1:
            raise ValueError(f"pool_2d: ws must be positive, got {self.ws}")
        self.stride = _pair(stride, "stride") or self.ws
        if min(self.stride) < 1:
            raise ValueError(f"pool_2d: stride must be positive, got {self.stride}")
        self.pad = _pair(pad, "pad")
        self.ignore_border = bool(ignore_border)
        if self.pad != (0, 0) and not self.ignore_border:
            raise NotImplementedError("pool_2d: padding works only with ignore_border=True")
        if self.pad[0] >= self.ws[0] or self.pad[1] >= self.ws[1] or min(self.pad) < 0:
            raise NotImplementedError(f"pool_2d: pad {self.pad} must be >= 0 and smaller than "
                                      f"ws {self.ws}")
        if mode not in MODES:
            raise ValueError(f"pool_2d: mode must be one of {MODES}, got {mode!r}")
        self.mode = mode

    def geometry(self, shape):
        """(out rows, out cols, padded array shape covering every window)."""
        nr = out_size(shape[2], self.ws[0], self.stride[0], self.pad[0], self.ignore_border)
        nc = out_size(shape[3], self.ws[1], self.stride[1], self.pad[1], self.ignore_border)
        rows = max(shape[2] + 2 * self.pad[0], (nr - 1) * self.stride[0] + self.ws[0])
        cols = max(shape[3] + 2 * self.pad[1], (nc - 1) * self.stride[1] + self.ws[1])
        return nr, nc, shape[:2] + (rows, cols)

    def taps(self, nr, nc):
        """(index of each tap's windows in the padded array), over the window."""
        (sr, sc), (wr, wc) = self.stride, self.ws
        for i in range(wr):
            for j in range(wc):
                yield (Ellipsis, slice(i, i + (nr - 1) * sr + 1, sr),
                       slice(j, j + (nc - 1) * sc + 1, sc))

    def counts(self, shape, nr, nc):
        """Each window's element count for the averages: clipped to the padded image
        (inc_pad) or to the image itself (exc_pad)."""
        out = []
        for axis, n_out in ((0, nr), (1, nc)):
            n, p, s, w = shape[2 + axis], self.pad[axis], self.stride[axis], self.ws[axis]
            start = np.arange(n_out) * s
            end = np.minimum(start + w, n + 2 * p)
            if self.mode == "average_exc_pad":
                start, end = np.maximum(start, p), np.minimum(end, n + p)
            out.append(end - start)
        return np.outer(out[0], out[1])

    def padded(self, x, fill):
        nr, nc, shape = self.geometry(x.shape)
        buf = np.full(shape, fill, x.dtype)
        buf[:, :, self.pad[0]:self.pad[0] + x.shape[2], self.pad[1]:self.pad[1] + x.shape[3]] = x
        return buf, nr, nc


class Pool(_PoolBase):
    """pool_2d of a 4-d tensor over its last two axes."""

    def make_node(self, x):
        x = as_tensor_variable(x)
        if x.ndim != 4:
            raise TypeError(f"{self}: needs a 4-d input, got {x.type}")
        return Apply(self, [x], [TensorType(x.dtype, x.broadcastable[:2] + (False, False))()])

    def perform(self, node, inputs):
        (x,) = inputs
        fill = -np.inf if self.mode == "max" and x.dtype.kind == "f" else 0
        if self.mode == "max" and x.dtype.kind != "f":
            fill = np.iinfo(x.dtype).min
        buf, nr, nc = self.padded(x, fill)
        out = np.full(x.shape[:2] + (nr, nc), fill, x.dtype)
        if out.size == 0:
            return [out]
        combine = np.maximum if self.mode == "max" else np.add
        if self.mode != "max":
            out[...] = 0
        for tap in self.taps(nr, nc):
            combine(out, buf[tap], out=out)
        if self.mode.startswith("average"):
            out = (out / self.counts(x.shape, nr, nc)).astype(x.dtype)
        return [out]

    def grad(self, inputs, output_grads):
        (x,), (gz,) = inputs, output_grads
        args = (self.ws, self.ignore_border, self.stride, self.pad)
        if self.mode == "max":
            return [MaxPoolGrad(*args)(x, self(x), gz)]
        return [AveragePoolGrad(*args, mode=self.mode)(x, gz)]


class MaxPoolGrad(_PoolBase):
    """d x of max pooling: each window's gradient goes to every entry equal to its
    max (ties all receive it, as in Theano)."""

    def __init__(self, ws, ignore_border=False, stride=None, pad=(0, 0), mode="max"):
        super().__init__(ws, ignore_border, stride, pad, mode)

    def make_node(self, x, maxout, gz):
        x, maxout, gz = (as_tensor_variable(v) for v in (x, maxout, gz))
        if x.ndim != 4 or maxout.ndim != 4 or gz.ndim != 4:
            raise TypeError(f"{self}: needs 4-d x, maxout and gz")
        return Apply(self, [x, maxout, cast(gz, x.dtype)], [x.type()])

    def perform(self, node, inputs):
        x, maxout, gz = inputs
        buf, nr, nc = self.padded(x, -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min)
        grad = np.zeros(buf.shape, x.dtype)
        for tap in self.taps(nr, nc):
            grad[tap] += np.where(buf[tap] == maxout, gz, 0)
        return [grad[:, :, self.pad[0]:self.pad[0] + x.shape[2],
                     self.pad[1]:self.pad[1] + x.shape[3]].copy()]

    def grad(self, inputs, output_grads):
        # linear in gz; its adjoint sums each window's tied maxima of the new gradient
        x, maxout, _ = inputs
        (ggx,) = output_grads
        args = (self.ws, self.ignore_border, self.stride, self.pad)
        return [zeros_like(x), zeros_like(maxout), MaxPoolGradGrad(*args)(x, maxout, ggx)]


class MaxPoolGradGrad(_PoolBase):
    """The gradient of MaxPoolGrad with respect to its gz (Theano's
    DownsampleFactorMaxGradGrad): for each window, the sum of ggx over the
    entries equal to the window's max. Shape of maxout."""

    def make_node(self, x, maxout, ggx):
        x, maxout, ggx = (as_tensor_variable(v) for v in (x, maxout, ggx))
        if x.ndim != 4 or maxout.ndim != 4 or ggx.ndim != 4:
            raise TypeError(f"{self}: needs 4-d x, maxout and ggx")
        return Apply(self, [x, maxout, cast(ggx, x.dtype)], [maxout.type()])

    def perform(self, node, inputs):
        x, maxout, ggx = inputs
        buf, nr, nc = self.padded(x, -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min)
        if maxout.shape != x.shape[:2] + (nr, nc) or ggx.shape != x.shape:
            raise ValueError(f"{self}: maxout {maxout.shape} and ggx {ggx.shape} do not match "
                             f"the pooling of x {x.shape}")
        gbuf, _, _ = self.padded(ggx, 0)
        out = np.zeros(maxout.shape, x.dtype)
        for tap in self.taps(nr, nc):
            out += np.where(buf[tap] == maxout, gbuf[tap], 0).astype(x.dtype)
        return [out]

    def grad(self, inputs, output_grads):
        x, maxout, _ = inputs
        (gz,) = output_grads
        args = (self.ws, self.ignore_border, self.stride, self.pad)
        return [zeros_like(x), zeros_like(maxout), MaxPoolGrad(*args)(x, maxout, gz)]


class AveragePoolGrad(_PoolBase):
    """d x of sum and average pooling: each window's gradient (divided by its
    count for the averages) spread over the window."""

    def make_node(self, x, gz):
        x, gz = as_tensor_variable(x), as_tensor_variable(gz)
        if x.ndim != 4 or gz.ndim != 4:
            raise TypeError(f"{self}: needs 4-d x and gz")
        return Apply(self, [x, cast(gz, x.dtype)], [x.type()])

    def perform(self, node, inputs):
        x, gz = inputs
        nr, nc, shape = self.geometry(x.shape)
        if self.mode.startswith("average"):
            gz = (gz / self.counts(x.shape, nr, nc)).astype(x.dtype)
        grad = np.zeros(shape, x.dtype)
        for tap in self.taps(nr, nc):
            grad[tap] += gz
        return [grad[:, :, self.pad[0]:self.pad[0] + x.shape[2],
                     self.pad[1]:self.pad[1] + x.shape[3]].copy()]

    def grad(self, inputs, output_grads):
        # linear in gz, and its adjoint is the pooling itself
        (x, _), (g,) = inputs, output_grads
        pool = Pool(self.ws, self.ignore_border, self.stride, self.pad, self.mode)
        return [zeros_like(x), pool(g)]


def pool_2d(input, ws=None, ignore_border=None, stride=None, pad=(0, 0), mode="max",
            ds=None, st=None, padding=None):
    """Pool the last two axes of `input` (ndim >= 2) in windows `ws` moved by `stride`
    (default ws), zero-padded by `pad` (needs ignore_border=True), with `mode` max,
    sum, average_inc_pad (padding counts) or average_exc_pad. ignore_border=None
    warns and means False, as in Theano 1.0. ds / st / padding are the old names."""
    ws = ws if ws is not None else ds
    if ws is None:
        raise ValueError("pool_2d: ws must be given")
    stride = stride if stride is not None else st
    pad = padding if padding is not None else pad
    input = as_tensor_variable(input)
    if input.ndim < 2:
        raise NotImplementedError("pool_2d requires a dimension >= 2")
    if ignore_border is None:
        warnings.warn("pool_2d() will have the parameter ignore_border default value changed "
                      "to True (currently False). To have consistent behavior with all Theano "
                      "versions, explicitly add the parameter ignore_border=True.", stacklevel=2)
        ignore_border = False
    op = Pool(ws, ignore_border, stride, pad, mode)
    if input.ndim == 4:
        return op(input)
    # the leading axes as one batch axis of single-channel images, then back
    lead = input.shape[:-2]
    x4 = reshape(input, concatenate([[-1, 1], input.shape[-2:]]), ndim=4)
    out = op(x4)
    return reshape(out, concatenate([lead, out.shape[-2:]]), ndim=input.ndim)


def max_pool_2d_same_size(input, patch_size):
    """`input` (4-d) with every entry that is not its non-overlapping patch's max set
    to zero."""
    out = Pool(patch_size, True)(input)
    return MaxPoolGrad(patch_size, True)(input, out, out)
