"""T.nnet.conv2d (Theano 1.0's abstract conv2d) and the one op it is built from.

Every convolution, and both of its gradients, is one `Corr2d`: a strided, dilated,
zero-padded cross-correlation whose output size and padding are run-time inputs

    out[b, o, y, x] = sum_{c, i, j} img[b, c, y*sy + i*dy - py, x*sx + j*dx - px] * kern[o, c, i, j]

(reads outside img are zeros). conv2d with filter_flip=True correlates with the
kernel flipped by a subtensor (`kern[:, :, ::-1, ::-1]`); the gradient of a Corr2d
with respect to img is a Corr2d of the (zero-upsampled, when strided) output
gradient with the transposed, flipped kernel, and with respect to kern a Corr2d
of the transposed img with the transposed output gradient (stride and dilation
swap roles). So the native kernel (`tjit.ir.lower_conv`) runs all three.
"""
from __future__ import annotations

import numpy as np

from ..graph import Apply, Op
from .. import scalar as ts
from ..gradient import Lop
from .basic import cast
from .elemwise import Elemwise
from .shape_ops import make_vector
from .subtensor import set_subtensor
from .shape_ops import zeros
from .type import TensorType
from .var import as_tensor_variable, constant


class Corr2d(Op):
    """Inputs: img (B, C, H, W), kern (O, C, KH, KW) of one float dtype, and geom, an
    int64 vector (out_h, out_w, pad_h, pad_w) (pads may be negative: offsets);
    props: `subsample` (sy, sx) and `dilation` (dy, dx). Output (B, O, out_h, out_w)."""

    __props__ = ("subsample", "dilation")

    def __init__(self, subsample=(1, 1), dilation=(1, 1)):
        self.subsample = tuple(int(s) for s in subsample)
        self.dilation = tuple(int(d) for d in dilation)

    def make_node(self, img, kern, geom):
        return corr_node(self, img, kern, geom, 2)

    def check_shapes(self, node, inputs):
        check_corr_shapes("conv2d", node, inputs, 2)

    def perform(self, node, inputs):
        self.check_shapes(node, inputs)
        return [corr2d_reference(*inputs, self.subsample, self.dilation)]

    def grad(self, inputs, output_grads):
        img, kern, geom = inputs
        (gz,) = output_grads
        return [corr2d_grad_img(img, kern, gz, geom, self.subsample, self.dilation),
                corr2d_grad_kern(img, kern, gz, geom, self.subsample, self.dilation),
                None]


def corr_node(op, img, kern, geom, spatial):
    """The Apply of an n-d correlation `op` (Corr2d, Corr3d): img and kern of
    2 + `spatial` dims and one float dtype, geom an integer vector."""
    img, kern, geom = (as_tensor_variable(v) for v in (img, kern, geom))
    nd = 2 + spatial
    if img.ndim != nd or kern.ndim != nd:
        raise TypeError(f"{op}: img and kern must be {nd}-d, got {img.type} and {kern.type}")
    if img.dtype not in ("float32", "float64") or kern.dtype != img.dtype:
        raise TypeError(f"{op}: img and kern must share a float dtype, got {img.type} "
                        f"and {kern.type}")
    if geom.ndim != 1 or geom.dtype not in ts.INTS:
        raise TypeError(f"{op}: geom must be an integer vector, got {geom.type}")
    out = TensorType(img.dtype, (img.broadcastable[0], kern.broadcastable[0]) + (False,) * spatial)
    return Apply(op, [img, kern, cast(geom, "int64")], [out()])


def check_corr_shapes(name, node, inputs, spatial):
    """Run-time checks of an n-d correlation's inputs (channels agree; geom, the
    output sizes then the pads, gives a non-empty output)."""
    img, kern, geom = inputs
    if img.shape[1] != kern.shape[1]:
        raise ValueError(f"{name}: the input {node.inputs[0]} has {img.shape[1]} channels "
                         f"but the filters {node.inputs[1]} expect {kern.shape[1]} "
                         f"(shapes {img.shape} and {kern.shape})")
    if len(geom) != 2 * spatial or min(geom[:spatial]) <= 0:
        # only a filter larger than the padded image gives no output
        raise ValueError(f"{name}: the filters do not fit: the output would be empty or "
                         f"negative, {tuple(geom[:spatial])}, for input shape {img.shape} and "
                         f"filter shape {kern.shape}")


def corr2d_reference(img, kern, geom, subsample, dilation):
    """NumPy Corr2d: one tensordot per filter tap over a zero-padded img."""
    oh, ow, py, px = (int(g) for g in geom)
    (sy, sx), (dy, dx) = subsample, dilation
    B, C, H, W = img.shape
    O, _, KH, KW = kern.shape
    out = np.zeros((B, O, oh, ow), img.dtype)
    if oh == 0 or ow == 0 or B == 0 or O == 0:
        return out
    lo_y, lo_x = max(py, 0), max(px, 0)
    hi_y = max(0, (oh - 1) * sy + (KH - 1) * dy - py + 1 - H)
    hi_x = max(0, (ow - 1) * sx + (KW - 1) * dx - px + 1 - W)
    padded = np.zeros((B, C, H + lo_y + hi_y, W + lo_x + hi_x), img.dtype)
    padded[:, :, lo_y:lo_y + H, lo_x:lo_x + W] = img
    for i in range(KH):
        for j in range(KW):
            r0, c0 = i * dy - py + lo_y, j * dx - px + lo_x
            patch = padded[:, :, r0:r0 + (oh - 1) * sy + 1:sy, c0:c0 + (ow - 1) * sx + 1:sx]
            out += np.einsum("bcyx,oc->boyx", patch, kern[:, :, i, j])
    return out


def _upsampled(gz, subsample, shape_hw):
    """gz with subsample - 1 zeros between entries (rows and columns)."""
    sy, sx = subsample
    if (sy, sx) == (1, 1):
        return gz
    up = zeros(make_vector(gz.shape[0], gz.shape[1], (gz.shape[2] - 1) * sy + 1,
                           (gz.shape[3] - 1) * sx + 1), dtype=gz.dtype)
    return set_subtensor(up[:, :, ::sy, ::sx], gz)


def corr2d_grad_img(img, kern, gz, geom, subsample, dilation):
    """d img: the upsampled gz correlated with kern transposed (O <-> C) and flipped."""
    return _transposed(img.shape[2], img.shape[3], kern, gz, geom[2], geom[3], subsample,
                       dilation)


def _transposed(h, w, kern, gz, pad_h, pad_w, subsample, dilation):
    """The (h, w) image whose Corr2d with `kern` (stride `subsample`, pads pad_h,
    pad_w) has gradient gz: the transposed correlation."""
    dy, dx = dilation
    kh, kw = kern.shape[2], kern.shape[3]
    g = make_vector(h, w, dy * (kh - 1) - pad_h, dx * (kw - 1) - pad_w)
    kt = kern.dimshuffle(1, 0, 2, 3)[:, :, ::-1, ::-1]
    return Corr2d((1, 1), dilation)(_upsampled(gz, subsample, None), kt, g)


def corr2d_grad_kern(img, kern, gz, geom, subsample, dilation):
    """d kern: img (as C, B, H, W) correlated with gz (as O, B, oh, ow), taps of the
    kernel as outputs: stride and dilation swap roles."""
    g = make_vector(kern.shape[2], kern.shape[3], geom[2], geom[3])
    out = Corr2d(dilation, subsample)(img.dimshuffle(1, 0, 2, 3), gz.dimshuffle(1, 0, 2, 3), g)
    return out.dimshuffle(1, 0, 2, 3)


# -- conv2d: Theano's signature -------------------------------------------------------------
def _pair(v, name):
    if isinstance(v, (int, np.integer)):
        return (int(v), int(v))
    v = tuple(v)
    if len(v) != 2 or not all(isinstance(e, (int, np.integer)) for e in v):
        raise ValueError(f"conv2d: {name} must be an int or a pair of ints, got {v!r}")
    return (int(v[0]), int(v[1]))


def _pads(border_mode, kh, kw, dilation):
    """(pad_h, pad_w) for `border_mode`, as ints or symbolic scalars of the filter size."""
    dy, dx = dilation
    if isinstance(border_mode, str):
        if border_mode == "valid":
            return 0, 0
        if border_mode == "full":
            return dy * (kh - 1), dx * (kw - 1)
        if border_mode == "half":
            return (dy * (kh - 1) + 1) // 2, (dx * (kw - 1) + 1) // 2
        raise ValueError(f"conv2d: border_mode must be 'valid', 'full', 'half', an int or a "
                         f"pair of ints, got {border_mode!r}")
    try:
        pads = _pair(border_mode, "border_mode")
    except (TypeError, ValueError):
        raise ValueError(f"conv2d: border_mode must be 'valid', 'full', 'half', an int or a "
                         f"pair of ints, got {border_mode!r}") from None
    if min(pads) < 0:
        raise ValueError(f"conv2d: border_mode padding must be >= 0, got {border_mode!r}")
    return pads


def _check_shape(given, var, name):
    if given is None:
        return
    given = tuple(given)
    if len(given) != 4:
        raise ValueError(f"conv2d: {name} must have 4 entries, got {given!r}")
    for k, (g, b) in enumerate(zip(given, var.broadcastable)):
        if g is not None and b and g != 1:
            raise ValueError(f"conv2d: {name}[{k}] is {g} but {var} is broadcastable there")


def _float_and_pads(input, filters, filter_shape, border_mode, dilation):
    """input and filters cast to their common float dtype, the filter's (rows, cols)
    (declared in filter_shape, else symbolic) and the padding border_mode asks for."""
    dtype = ts.upcast(input.dtype, filters.dtype)
    if dtype not in ("float32", "float64"):
        dtype = ts.upgrade_to_float(dtype)
    input, filters = cast(input, dtype), cast(filters, dtype)
    kh, kw = (filter_shape[i] if filter_shape is not None and filter_shape[i] is not None
              else filters.shape[i] for i in (2, 3))
    return input, filters, (kh, kw), _pads(border_mode, kh, kw, dilation)


def conv2d(input, filters, input_shape=None, filter_shape=None, border_mode="valid",
           subsample=(1, 1), filter_flip=True, image_shape=None, filter_dilation=(1, 1),
           num_groups=1, unshared=False, **kwargs):
    """Theano 1.0's T.nnet.conv2d: input (batch, channels, rows, cols), filters
    (out channels, channels, rows, cols) -> (batch, out channels, out rows, out cols).

    filter_flip=True (the default) convolves (the kernel is flipped); False
    cross-correlates. border_mode 'valid' | 'full' | 'half' | int | (int, int);
    subsample and filter_dilation are pairs. input_shape / filter_shape (entries
    may be None) are checked against each other when the graph is built and
    against the values when it runs. float32 and float64 (a mix upcasts)."""
    if image_shape is not None:
        input_shape = image_shape
    if num_groups != 1 or unshared:
        raise NotImplementedError("conv2d: num_groups != 1 and unshared are not supported")
    input, filters = as_tensor_variable(input), as_tensor_variable(filters)
    if input.ndim != 4 or filters.ndim != 4:
        raise TypeError(f"conv2d: input and filters must be 4-d, got {input.type} and "
                        f"{filters.type}")
    subsample = _pair(subsample, "subsample")
    dilation = _pair(filter_dilation, "filter_dilation")
    if min(subsample) < 1 or min(dilation) < 1:
        raise ValueError(f"conv2d: subsample and filter_dilation must be >= 1, got "
                         f"{subsample} and {dilation}")
    _check_shape(input_shape, input, "input_shape")
    _check_shape(filter_shape, filters, "filter_shape")
    if input_shape is not None and filter_shape is not None and None not in (
            input_shape[1], filter_shape[1]) and input_shape[1] != filter_shape[1]:
        raise ValueError(f"conv2d: input_shape {tuple(input_shape)} has {input_shape[1]} "
                         f"channels but filter_shape {tuple(filter_shape)} expects "
                         f"{filter_shape[1]}")
    input, filters, (kh, kw), (py, px) = _float_and_pads(input, filters, filter_shape,
                                                         border_mode, dilation)
    (sy, sx), (dy, dx) = subsample, dilation
    h, w = input.shape[2], input.shape[3]
    if input_shape is not None and filter_shape is not None:
        known = [input_shape[2], input_shape[3], filter_shape[2], filter_shape[3]]
        if None not in known:
            for n, k, p, d, what in ((known[0], known[2], py, dy, "rows"),
                                     (known[1], known[3], px, dx, "columns")):
                if n + 2 * p - d * (k - 1) - 1 < 0:
                    raise ValueError(f"conv2d: the filters' {what} (dilated: "
                                     f"{d * (k - 1) + 1}) exceed the padded input's "
                                     f"({n + 2 * p}): input_shape {tuple(input_shape)}, "
                                     f"filter_shape {tuple(filter_shape)}, "
                                     f"border_mode {border_mode!r}")
    oh = (h + 2 * py - dy * (kh - 1) - 1) // sy + 1
    ow = (w + 2 * px - dx * (kw - 1) - 1) // sx + 1
    kern = filters[:, :, ::-1, ::-1] if filter_flip else filters
    out = Corr2d(subsample, dilation)(input, kern, make_vector(oh, ow, py, px))
    if input_shape is not None or filter_shape is not None:
        out = _checked(out, input, filters, input_shape, filter_shape)
    return out


def conv2d_transpose(input, filters, output_shape, filter_shape=None, border_mode="valid",
                     input_dilation=(1, 1), filter_flip=True, filter_dilation=(1, 1),
                     num_groups=1, unshared=False):
    """Theano 1.0's conv2d_transpose: the gradient of conv2d with respect to its input,
    as an op. input (batch, in channels, rows, cols), filters (in channels, out
    channels, rows, cols); output_shape (4 entries, ints or scalars; rows and cols
    are used) is the shape of the conv2d input this transposes; input_dilation is
    that conv2d's subsample."""
    if num_groups != 1 or unshared:
        raise NotImplementedError("conv2d_transpose: num_groups != 1 and unshared are not "
                                  "supported")
    input, filters = as_tensor_variable(input), as_tensor_variable(filters)
    if input.ndim != 4 or filters.ndim != 4:
        raise TypeError(f"conv2d_transpose: input and filters must be 4-d, got {input.type} "
                        f"and {filters.type}")
    output_shape = tuple(output_shape)
    if len(output_shape) != 4:
        raise ValueError(f"conv2d_transpose: output_shape must have 4 entries, got "
                         f"{output_shape!r}")
    _check_shape(filter_shape, filters, "filter_shape")
    subsample = _pair(input_dilation, "input_dilation")
    dilation = _pair(filter_dilation, "filter_dilation")
    if min(subsample) < 1 or min(dilation) < 1:
        raise ValueError(f"conv2d_transpose: input_dilation and filter_dilation must be >= 1, "
                         f"got {subsample} and {dilation}")
    input, filters, (kh, kw), (py, px) = _float_and_pads(input, filters, filter_shape,
                                                         border_mode, dilation)
    kern = filters[:, :, ::-1, ::-1] if filter_flip else filters
    return _transposed(output_shape[2], output_shape[3], kern, input, py, px, subsample,
                       dilation)


class ShapeCheck(Op):
    """Identity on x that raises ValueError when x's or the reference arrays' shapes
    disagree with the shapes the user declared (None entries match anything)."""

    __props__ = ("shapes",)
    view_map = {0: [0]}

    def __init__(self, shapes):
        self.shapes = shapes        # ((name, shape tuple or None), ...) per checked input

    def make_node(self, x, *refs):
        return Apply(self, [x, *refs], [x.type()])

    def perform(self, node, inputs):
        for (name, shape), value in zip(self.shapes, inputs[1:]):
            if shape is not None and any(s is not None and s != v
                                         for s, v in zip(shape, value.shape)):
                raise ValueError(f"conv2d: {name} was declared {shape} but the value's shape "
                                 f"is {value.shape}")
        return [inputs[0]]

    def grad(self, inputs, output_grads):
        return [output_grads[0]] + [None] * (len(inputs) - 1)


def _checked(out, input, filters, input_shape, filter_shape):
    shapes = (("input_shape", None if input_shape is None else tuple(input_shape)),
              ("filter_shape", None if filter_shape is None else tuple(filter_shape)))
    return ShapeCheck(shapes)(out, input, filters)


# -- a convolution with its elementwise epilogue (the corr2d_epilogue pass builds it) -------
def aligned(array, axes):
    """`array` as a 4-d view over the output's loop dims: axes[d] is its axis along
    loop dim d, or None (size 1 there), as FusedElemwise's axes."""
    present = [a for a in axes if a is not None]
    rest = [d for d in range(array.ndim) if d not in present]
    t = np.transpose(array, present + rest).reshape([array.shape[a] for a in present])
    return t.reshape([1 if a is None else array.shape[a] for a in axes])


class Corr2dEpilogue(Corr2d):
    """A Corr2d whose output goes through the elementwise `program` (a FusedElemwise's
    ScalarProgram, one output) before it is stored, so a bias add and an activation
    cost no second pass over memory. The program's input `conv_index` is the
    correlation; its other inputs are this node's inputs after geom, in order, each
    aligned to the output by `axes` (one entry per program input, as FusedElemwise's).
    Inputs: img, kern, geom, extras..."""

    __props__ = ("subsample", "dilation", "program", "axes", "conv_index")

    def __init__(self, subsample, dilation, program, axes, conv_index):
        super().__init__(subsample, dilation)
        self.program = program
        self.axes = tuple(tuple(a) for a in axes)
        self.conv_index = int(conv_index)

    def extra_axes(self):
        return [a for k, a in enumerate(self.axes) if k != self.conv_index]

    def make_node(self, img, kern, geom, *extras):
        node = super().make_node(img, kern, geom)
        extras = [as_tensor_variable(e) for e in extras]
        if len(extras) != len(self.axes) - 1:
            raise TypeError(f"{self}: {len(self.axes) - 1} extra inputs expected, got "
                            f"{len(extras)}")
        dtypes = [e.dtype for e in extras]
        dtypes.insert(self.conv_index, node.outputs[0].dtype)
        (out_dtype,) = self.program.dtypes(dtypes)
        if out_dtype != node.outputs[0].dtype:
            raise TypeError(f"{self}: the epilogue gives {out_dtype}, the convolution "
                            f"{node.outputs[0].dtype}")
        return Apply(self, node.inputs + extras, [node.outputs[0].type()])

    def aligned_extras(self, extras, out_shape):
        """The extras as 4-d arrays (size 1 where they do not vary); ValueError when
        one disagrees with the output's shape."""
        out = []
        for k, (e, axes) in enumerate(zip(extras, self.extra_axes())):
            a = aligned(np.asarray(e), axes)
            if any(n != 1 and n != m for n, m in zip(a.shape, out_shape)):
                raise ValueError(f"conv2d's fused elementwise epilogue: extra input {k} of shape {np.shape(e)} (aligned "
                                 f"{a.shape}) does not match the convolution's output "
                                 f"{tuple(out_shape)}")
            out.append(a)
        return out

    def out_shape(self, inputs):
        img, kern, geom = inputs[:3]
        return (img.shape[0], kern.shape[0], int(geom[0]), int(geom[1]))

    def check_shapes(self, node, inputs):
        super().check_shapes(node, inputs[:3])
        self.aligned_extras(inputs[3:], self.out_shape(inputs))

    def program_inputs(self, conv, extras):
        values = list(extras)
        values.insert(self.conv_index, conv)
        return values

    def perform(self, node, inputs):
        self.check_shapes(node, inputs)
        conv = corr2d_reference(*inputs[:3], self.subsample, self.dilation)
        extras = self.aligned_extras(inputs[3:], conv.shape)
        (value,) = self.program.evaluate(self.program_inputs(conv, extras))
        return [np.array(np.broadcast_to(value, conv.shape), dtype=conv.dtype)]

    def unfused(self, inputs):
        """The Corr2d and the elementwise graph this node stands for (symbolic)."""
        img, kern, geom = inputs[:3]
        conv = Corr2d(self.subsample, self.dilation)(img, kern, geom)
        extras = []
        for e, axes in zip(inputs[3:], self.extra_axes()):
            extras.append(e.dimshuffle(*['x' if a is None else a for a in axes]))
        (out,) = self.program.run(self.program_inputs(conv, extras).__getitem__,
                                  lambda value, dtype: constant(np.asarray(value, dtype)),
                                  lambda op, args: Elemwise(op)(*args))
        return out

    def grad(self, inputs, output_grads):
        out = self.unfused(inputs)
        wrt = [v for k, v in enumerate(inputs) if k != 2]
        grads = Lop(out, wrt, output_grads[0], disconnected_inputs="ignore")
        return grads[:2] + [None] + list(grads[2:])
