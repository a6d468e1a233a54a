"""T.nnet.conv3d (Theano 1.0's abstract conv3d) and the op it is built from.

`Corr3d` is Corr2d with a depth axis:

    out[b, o, z, y, x] = sum_{c, k, i, j} img[b, c, z*sz + k*dz - pz, y*sy + i*dy - py,
                                              x*sx + j*dx - px] * kern[o, c, k, i, j]

and its gradients are Corr3ds the way Corr2d's are (the transposed, flipped kernel
over the upsampled output gradient; the swapped correlation for the filters). It
runs natively through the 2-d kernels (`tjit.link.conv.Corr3dThunk`): the depth
taps become channels, out[:, :, z] = Corr2d(img's depth slices under output
plane z, stacked as C*KD channels; kern as (O, C*KD, KH, KW)), with every
Corr2d layout (direct, im2col, swapped, col2im) and its threads.
"""
from __future__ import annotations

import numpy as np

from ..graph import Op
from .nnet_conv import _float_and_pads, check_corr_shapes, corr_node
from .shape_ops import make_vector, zeros
from .subtensor import set_subtensor
from .var import as_tensor_variable


class Corr3d(Op):
    """Inputs: img (B, C, D, H, W), kern (O, C, KD, KH, KW) of one float dtype, and
    geom, an int64 vector (out_d, out_h, out_w, pad_d, pad_h, pad_w) (pads may be
    negative); props `subsample` and `dilation` (triples). Output (B, O, out_d,
    out_h, out_w)."""

    __props__ = ("subsample", "dilation")

    def __init__(self, subsample=(1, 1, 1), dilation=(1, 1, 1)):
        self.subsample = tuple(int(s) for s in subsample)
        self.dilation = tuple(int(d) for d in dilation)

    def make_node(self, img, kern, geom):
        return corr_node(self, img, kern, geom, 3)

    def check_shapes(self, node, inputs):
        check_corr_shapes("conv3d", node, inputs, 3)

    def perform(self, node, inputs):
        self.check_shapes(node, inputs)
        return [corr3d_reference(*inputs, self.subsample, self.dilation)]

    def grad(self, inputs, output_grads):
        img, kern, geom = inputs
        (gz,) = output_grads
        spatial = [img.shape[a] for a in (2, 3, 4)]
        return [_transposed3(spatial, kern, gz, geom[3:], self.subsample, self.dilation),
                corr3d_grad_kern(img, kern, gz, geom, self.subsample, self.dilation),
                None]


def corr3d_reference(img, kern, geom, subsample, dilation):
    """NumPy Corr3d: one tensordot per filter tap over a zero-padded img."""
    outs, pads = [int(g) for g in geom[:3]], [int(g) for g in geom[3:]]
    B, C = img.shape[:2]
    O, _, *ks = kern.shape
    out = np.zeros((B, O, *outs), img.dtype)
    if min(outs) <= 0 or B == 0 or O == 0:
        return out
    lo = [max(p, 0) for p in pads]
    hi = [max(0, (n - 1) * s + (k - 1) * d - p + 1 - size) for n, s, k, d, p, size in
          zip(outs, subsample, ks, dilation, pads, img.shape[2:])]
    padded = np.zeros((B, C) + tuple(s + a + b for s, a, b in zip(img.shape[2:], lo, hi)),
                      img.dtype)
    padded[(slice(None), slice(None)) + tuple(slice(a, a + s) for a, s in
                                                zip(lo, img.shape[2:]))] = img
    for tap in np.ndindex(*ks):
        index = tuple(slice(t * d - p + a, t * d - p + a + (n - 1) * s + 1, s) for t, d, p, a, n, s
                      in zip(tap, dilation, pads, lo, outs, subsample))
        out += np.einsum("bczyx,oc->bozyx", padded[(slice(None), slice(None)) + index],
                         kern[(slice(None), slice(None)) + tap])
    return out


def _upsampled3(gz, subsample):
    """gz with subsample - 1 zeros between entries along the three spatial axes."""
    if tuple(subsample) == (1, 1, 1):
        return gz
    sz, sy, sx = subsample
    up = zeros(make_vector(gz.shape[0], gz.shape[1], (gz.shape[2] - 1) * sz + 1,
                           (gz.shape[3] - 1) * sy + 1, (gz.shape[4] - 1) * sx + 1),
               dtype=gz.dtype)
    return set_subtensor(up[:, :, ::sz, ::sy, ::sx], gz)


def _transposed3(spatial, kern, gz, pads, subsample, dilation):
    """The image (spatial sizes `spatial`) whose Corr3d with `kern` (stride
    `subsample`, pads `pads`) has gradient gz: the transposed correlation."""
    g = make_vector(*spatial, *[d * (kern.shape[2 + a] - 1) - pads[a]
                                for a, d in enumerate(dilation)])
    kt = kern.dimshuffle(1, 0, 2, 3, 4)[:, :, ::-1, ::-1, ::-1]
    return Corr3d((1, 1, 1), dilation)(_upsampled3(gz, subsample), kt, g)


def corr3d_grad_kern(img, kern, gz, geom, subsample, dilation):
    """d kern: img (as C, B, ...) correlated with gz (as O, B, ...), the kernel's
    taps as outputs: stride and dilation swap roles."""
    g = make_vector(kern.shape[2], kern.shape[3], kern.shape[4], geom[3], geom[4], geom[5])
    out = Corr3d(dilation, subsample)(img.dimshuffle(1, 0, 2, 3, 4),
                                      gz.dimshuffle(1, 0, 2, 3, 4), g)
    return out.dimshuffle(1, 0, 2, 3, 4)


def _triple(v, name):
    if isinstance(v, (int, np.integer)):
        return (int(v),) * 3
    v = tuple(v)
    if len(v) != 3 or not all(isinstance(e, (int, np.integer)) for e in v):
        raise ValueError(f"conv3d: {name} must be an int or a triple of ints, got {v!r}")
    return tuple(int(e) for e in v)


def _pads3(border_mode, ks, dilation):
    if isinstance(border_mode, str):
        if border_mode == "valid":
            return (0, 0, 0)
        if border_mode == "full":
            return tuple(d * (k - 1) for k, d in zip(ks, dilation))
        if border_mode == "half":
            return tuple((d * (k - 1) + 1) // 2 for k, d in zip(ks, dilation))
    else:
        try:
            pads = _triple(border_mode, "border_mode")
        except (TypeError, ValueError):
            pads = None
        if pads is not None and min(pads) >= 0:
            return pads
    raise ValueError(f"conv3d: border_mode must be 'valid', 'full', 'half', an int >= 0 or a "
                     f"triple of them, got {border_mode!r}")


def conv3d(input, filters, input_shape=None, filter_shape=None, border_mode="valid",
           subsample=(1, 1, 1), filter_flip=True, filter_dilation=(1, 1, 1), num_groups=1):
    """Theano 1.0's T.nnet.conv3d: input (batch, channels, depth, rows, cols),
    filters (out channels, channels, depth, rows, cols) -> (batch, out channels,
    out depth, out rows, out cols). filter_flip=True convolves (the kernel is
    flipped on all three axes); False cross-correlates. border_mode 'valid' |
    'full' | 'half' | int | (int, int, int); subsample and filter_dilation are
    triples. input_shape / filter_shape (entries may be None) are hints checked
    against each other when the graph is built. float32 and float64."""
    if num_groups != 1:
        raise NotImplementedError("conv3d: num_groups != 1 is not supported")
    input, filters = as_tensor_variable(input), as_tensor_variable(filters)
    if input.ndim != 5 or filters.ndim != 5:
        raise TypeError(f"conv3d: input and filters must be 5-d, got {input.type} and "
                        f"{filters.type}")
    subsample = _triple(subsample, "subsample")
    dilation = _triple(filter_dilation, "filter_dilation")
    if min(subsample) < 1 or min(dilation) < 1:
        raise ValueError(f"conv3d: subsample and filter_dilation must be >= 1, got "
                         f"{subsample} and {dilation}")
    for given, name in ((input_shape, "input_shape"), (filter_shape, "filter_shape")):
        if given is not None and len(tuple(given)) != 5:
            raise ValueError(f"conv3d: {name} must have 5 entries, got {given!r}")
    if input_shape is not None and filter_shape is not None and None not in (
            input_shape[1], filter_shape[1]) and input_shape[1] != filter_shape[1]:
        raise ValueError(f"conv3d: input_shape {tuple(input_shape)} has {input_shape[1]} "
                         f"channels but filter_shape {tuple(filter_shape)} expects "
                         f"{filter_shape[1]}")
    # conv2d's dtype rule (its 2-d filter size and pads are not used here)
    input, filters, _, _ = _float_and_pads(input, filters, None, "valid", (1, 1))
    ks = [filter_shape[a] if filter_shape is not None and filter_shape[a] is not None
          else filters.shape[a] for a in (2, 3, 4)]
    pads = _pads3(border_mode, ks, dilation)
    outs = [(input.shape[2 + a] + 2 * pads[a] - dilation[a] * (ks[a] - 1) - 1) // subsample[a] + 1
            for a in range(3)]
    kern = filters[:, :, ::-1, ::-1, ::-1] if filter_flip else filters
    return Corr3d(subsample, dilation)(input, kern, make_vector(*outs, *pads))


__all__ = ["conv3d", "Corr3d"]
