"""Kernel kind: direct 2-d correlation (Corr2d: conv2d and both of its gradients).

    for each (b, o) in [begin, end)            (the split: batch x output channels)
        out[b, o, :, :] = 0
        for c, i, j:                           (channels, filter rows, filter cols)
            w = kern[o, c, i, j]
            for y in the rows whose input row y*sy + i*dy - py is inside img:
                for x in the columns likewise:                   (vectorizes)
                    out[b, o, y, x] += img[b, c, y*sy + i*dy - py, x*sx + j*dx - px] * w

Padding costs nothing: the y and x ranges are clipped to the taps that read the
image, per (i, j). The output plane stays in L1 across the (c, i, j) taps. Every
output element sums its taps in the same (c, i, j) order whichever thread
computes its (b, o) plane, so results do not depend on `tjit.config.threads`.

The loop IR addresses an element as sum(var * stride): the column index
x*sx + (j*dx - px) becomes two terms over a strided view of img with a fifth
axis of stride sx * (column stride) (`ConvLaunch.prepare` builds it), so the
innermost loop's loads stay affine in x (unit stride when sx is 1).
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..tensor.nnet_conv import Corr2d, Corr2dEpilogue
from .from_graph import scalar_expr, steps_text, structure_hash
from .launch import Launch
from .lowering import lower
from .nodes import (Accumulate, Buffer, Dim, IntConst, IntOp, Kernel, Load, Local, Op,
                    Param, Range, Store, Const, Var, let, split_range)


def _add(a, b):
    return IntOp("add", a, b)


def _sub(a, b):
    return IntOp("sub", a, b)


def _mul(a, b):
    return IntOp("mul", a, b)


def _taps(lo_pad, tap, step, size, n_out):
    """[lo, hi): the outputs whose input index out*step + tap - lo_pad lies in [0, size)."""
    first = _sub(lo_pad, tap)                                 # out*step >= pad - tap
    lo = IntOp("div", _add(IntOp("max", first, IntConst(0)), IntConst(step - 1)),
               IntConst(step))
    hi = IntOp("div", IntOp("max", _add(_add(size, first), IntConst(step - 1)), IntConst(0)),
               IntConst(step))
    return lo, IntOp("min", hi, n_out)


def epilogue_buffers(node):
    """The Buffers of a Corr2dEpilogue node's extra inputs (4-d, aligned to the
    output; broadcastable where they do not vary), or () for a plain Corr2d."""
    if not isinstance(node.op, Corr2dEpilogue):
        return ()
    return tuple(Buffer(f"cv_e{k}", v.dtype, tuple(a is None or v.broadcastable[a] for a in axes))
                 for k, (v, axes) in enumerate(zip(node.inputs[3:], node.op.extra_axes())))


def _epilogue(op, conv_value, extras, at):
    """The IR of op's program at output element `at`, the correlation being
    `conv_value`, each extra loaded at `at` (broadcastable dims ignored)."""
    values = [Load(e, tuple((v, a) for v, a in at if not e.broadcastable[a])) for e in extras]
    values.insert(op.conv_index, conv_value)
    (value,) = op.program.run(values.__getitem__, lambda v, dt: Const(v, dt), scalar_expr)
    return value


def _epilogue_name(op, extras):
    if op is None:
        return ""
    key = structure_hash(steps_text(op.program), op.conv_index,
                         tuple((e.dtype, e.broadcastable) for e in extras))
    return "_e" + key[:12]


def corr2d_kernel(dtype, subsample, dilation, epilogue=None, extras=()):
    """The Kernel: img5 (B, C, H, W, OW) (img with a strided fifth axis), kern
    (O, C, KH, KW) -> out (B, O, OH, OW); params pad_h, pad_w. With `epilogue` (a
    Corr2dEpilogue op) and its `extras` Buffers (inputs after kern), each finished
    plane, still in L1, is rewritten through the epilogue's program."""
    (sy, sx), (dy, dx) = subsample, dilation
    img = Buffer("img", dtype, (False,) * 5)
    kern = Buffer("kern", dtype, (False,) * 4)
    out = Buffer("out", dtype, (False,) * 4)
    wv = Buffer("cv_w", dtype, ())
    py, px = Param("pad_h"), Param("pad_w")
    bo, b, o, c, i, j, y, x, row, col = (Var("cv_" + s) for s in (
        "bo", "b", "o", "c", "i", "j", "y", "x", "row", "col"))
    ylo, yhi, xlo, xhi = (Var("cv_" + s) for s in ("ylo", "yhi", "xlo", "xhi"))
    n_o, n_c = Dim(out, 1), Dim(kern, 1)
    H, W, OH, OW = Dim(img, 2), Dim(img, 3), Dim(out, 2), Dim(out, 3)
    y_range = _taps(py, _mul(i, IntConst(dy)), sy, H, OH)
    x_range = _taps(px, _mul(j, IntConst(dx)), sx, W, OW)

    inner = Range(x, xlo, xhi, 1, (Accumulate(out, ((b, 0), (o, 1), (y, 2), (x, 3)), "add", Op(
        "mul", (Load(img, ((b, 0), (c, 1), (row, 2), (col, 3), (x, 4))), Load(wv, ())),
        dtype)),))
    rows = Range(y, ylo, yhi, 1, let(row, _sub(_add(_mul(y, IntConst(sy)), _mul(i, IntConst(dy))),
                                             py), (inner,)))
    tap = (Store(wv, (), Load(kern, ((o, 0), (c, 1), (i, 2), (j, 3)))),) + \
        let(xlo, x_range[0], let(xhi, x_range[1], let(
            col, _sub(_mul(j, IntConst(dx)), px), (rows,))))
    taps = Range(c, IntConst(0), n_c, 1, (
        Range(i, IntConst(0), Dim(kern, 2), 1, let(ylo, y_range[0], let(yhi, y_range[1], (
            Range(j, IntConst(0), Dim(kern, 3), 1, tap),)))),))
    zero = Range(y, IntConst(0), OH, 1, (
        Range(x, IntConst(0), OW, 1, (Store(out, ((b, 0), (o, 1), (y, 2), (x, 3)),
                                            Const(0.0, dtype)),)),))
    steps = (zero, taps)
    if epilogue is not None:
        at = ((b, 0), (o, 1), (y, 2), (x, 3))
        steps += (Range(y, IntConst(0), OH, 1, (Range(x, IntConst(0), OW, 1, (
            Store(out, at, _epilogue(epilogue, Load(out, at), extras, at)),)),)),)
    plane = let(b, IntOp("div", bo, n_o), let(o, _sub(bo, _mul(IntOp("div", bo, n_o), n_o)),
                                             steps))
    body = (Local(wv), split_range(bo, _mul(Dim(out, 0), n_o), plane))
    name = f"corr2d_{dtype}_s{sy}x{sx}_d{dy}x{dx}{_epilogue_name(epilogue, extras)}"
    return Kernel(name, (img, kern) + tuple(extras) + (out,), body, n_inputs=2 + len(extras),
                  params=(py, px), meta={"schedule": "corr2d"})


def epilogue_copy_kernel(dtype, epilogue, extras):
    """The GEMM paths' last step: dst (nb, O, P) = the epilogue of src (a strided view
    of the product, same shape), P = OH*OW, each plane one loop (`flat_planes`);
    `extras` as in corr2d_kernel (4-d Buffers, flattened here). Split over (b, o)
    planes."""
    src = Buffer("src", dtype, (False,) * 3)
    dst = Buffer("dst", dtype, (False,) * 3)
    flat = tuple(Buffer(e.name, e.dtype, e.broadcastable[:2] + (
        e.broadcastable[2] and e.broadcastable[3],)) for e in extras)
    bo, b, o, p = (Var("ep_" + s) for s in ("bo", "b", "o", "p"))
    n_o = Dim(dst, 1)
    at = ((b, 0), (o, 1), (p, 2))
    copy = Range(p, IntConst(0), Dim(dst, 2), 1, (
        Store(dst, at, _epilogue(epilogue, Load(src, at), flat, at)),))
    plane = let(b, IntOp("div", bo, n_o), let(o, _sub(bo, _mul(IntOp("div", bo, n_o), n_o)),
                                             (copy,)))
    body = (split_range(bo, _mul(Dim(dst, 0), n_o), plane),)
    name = f"corr2d_epilogue_{dtype}{_epilogue_name(epilogue, extras)}"
    return Kernel(name, (src,) + flat + (dst,), body, n_inputs=1 + len(extras),
                  meta={"schedule": "corr2d"})


def flat_planes(a, plane=None):
    """(n0, n1, h, w) array `a` as (n0, n1, h*w) (a view when the strides allow); with
    `plane` (h, w), broadcast to it first (an extra that varies along only one of
    h and w: its flattened axis must have the whole plane)."""
    if plane is not None:
        a = np.broadcast_to(a, a.shape[:2] + tuple(plane))
    return a.reshape(a.shape[0], a.shape[1], a.shape[2] * a.shape[3])


class ConvLaunch(Launch):
    """out (B, O, oh, ow) from one pool; the split is over (b, o) planes."""

    def __init__(self, node, kernel):
        super().__init__(node, kernel)
        self.dtype = np.dtype(node.outputs[0].dtype)
        self.sx = node.op.subsample[1]

    def prepare(self, inputs, alloc):
        img, kern, geom = inputs[:3]
        self.node.op.check_shapes(self.node, inputs)
        oh, ow, py, px = (int(g) for g in geom)
        B, O = img.shape[0], kern.shape[0]
        out = alloc(0, (B, O, oh, ow), self.dtype)
        if out.size == 0:
            return None, 0, out
        extras = self.node.op.aligned_extras(inputs[3:], out.shape) if len(inputs) > 3 else []
        if img.size == 0 or kern.size == 0:
            out[...] = 0
            if extras:          # the epilogue of zeros
                (value,) = self.node.op.program.evaluate(self.node.op.program_inputs(out, extras))
                out[...] = value
            return None, 0, out
        img5 = strided_img(img, ow, self.sx)
        work = out.size * kern.shape[1] * kern.shape[2] * kern.shape[3]
        return (img5, kern, *extras, out, py, px), work, out

    def extent(self, args):
        out = args[-3]
        return out.shape[0] * out.shape[1]

    def finish(self, carry, inputs):
        return [carry]


def im2col_kernel(dtype, subsample, dilation):
    """The Kernel: img5 (as in corr2d_kernel) -> cols (cc, KH, KW, bb, OH, OW), a view
    of a (cc*KH*KW, bb*OH*OW) matrix: cols[c, i, j, b, y, x] = img[b0 + b, c0 + c,
    y*sy + i*dy - py, x*sx + j*dx - px], zero outside img. Params pad_h, pad_w, c0,
    b0; the split is over the matrix's rows (c, i, j)."""
    (sy, sx), (dy, dx) = subsample, dilation
    img = Buffer("img", dtype, (False,) * 5)
    cols = Buffer("cols", dtype, (False,) * 6)
    py, px, c0, b0 = Param("pad_h"), Param("pad_w"), Param("c0"), Param("b0")
    r, c, i, j, b, y, x, row, col, bi, ci = (Var("ic_" + s) for s in (
        "r", "c", "i", "j", "b", "y", "x", "row", "col", "bi", "ci"))
    ylo, yhi, xlo, xhi = (Var("ic_" + s) for s in ("ylo", "yhi", "xlo", "xhi"))
    KH, KW, BB, OH, OW = (Dim(cols, a) for a in (1, 2, 3, 4, 5))
    H, W = Dim(img, 2), Dim(img, 3)
    taps = _mul(KH, KW)
    y_range = _taps(py, _mul(i, IntConst(dy)), sy, H, OH)
    x_range = _taps(px, _mul(j, IntConst(dx)), sx, W, OW)
    at = ((c, 0), (i, 1), (j, 2), (b, 3), (y, 4), (x, 5))
    zero = Store(cols, at, Const(0.0, dtype))
    copy = Store(cols, at, Load(img, ((bi, 0), (ci, 1), (row, 2), (col, 3), (x, 4))))
    inside = let(row, _sub(_add(_mul(y, IntConst(sy)), _mul(i, IntConst(dy))), py), (
        Range(x, IntConst(0), xlo, 1, (zero,)), Range(x, xlo, xhi, 1, (copy,)),
        Range(x, xhi, OW, 1, (zero,))))
    per_b = let(bi, _add(b, b0), (
        Range(y, IntConst(0), ylo, 1, (Range(x, IntConst(0), OW, 1, (zero,)),)),
        Range(y, ylo, yhi, 1, inside),
        Range(y, yhi, OH, 1, (Range(x, IntConst(0), OW, 1, (zero,)),))))
    # clamped so the three ranges tile [0, OH) and [0, OW) in order
    bounds = let(ylo, IntOp("min", y_range[0], OH), let(yhi, IntOp("max", y_range[1], ylo), let(
        xlo, IntOp("min", x_range[0], OW), let(xhi, IntOp("max", x_range[1], xlo), let(
            col, _sub(_mul(j, IntConst(dx)), px), (Range(b, IntConst(0), BB, 1, per_b),))))))
    unpack = let(c, IntOp("div", r, taps), let(ci, _add(c, c0), let(
        i, IntOp("div", _sub(r, _mul(c, taps)), KW), let(
            j, _sub(_sub(r, _mul(c, taps)), _mul(i, KW)), bounds))))
    body = (split_range(r, _mul(Dim(cols, 0), taps), unpack),)
    name = f"im2col_{dtype}_s{sy}x{sx}_d{dy}x{dx}"
    return Kernel(name, (img, cols), body, n_inputs=1, params=(py, px, c0, b0),
                  meta={"schedule": "im2col"})


def col2im_kernel(dtype, dilation, epilogue=None, extras=()):
    """The stride-1 correlation as a scatter (for outputs larger than the image: a
    'full' correlation, an input gradient): cols (O, KH, KW, nb, H, W), the filter
    taps times each image pixel (one BLAS product), -> out5 (nb, O, OH, OW, W) (out
    with a fifth axis of its column stride):

        out[b, o, u + py - i*dy, v + px - j*dx] += cols[o, i, j, b, u, v]

    over the (u, v) that land inside out, taps in (i, j) order; the split is over
    (b, o) planes, each zeroed first and put through the epilogue (if any) last."""
    dy, dx = dilation
    cols = Buffer("cols", dtype, (False,) * 6)
    out = Buffer("out", dtype, (False,) * 5)
    py, px = Param("pad_h"), Param("pad_w")
    bo, b, o, i, j, u, v, y, x, row, shift = (Var("c2i_" + s) for s in (
        "bo", "b", "o", "i", "j", "u", "v", "y", "x", "row", "shift"))
    ulo, uhi, vlo, vhi = (Var("c2i_" + s) for s in ("ulo", "uhi", "vlo", "vhi"))
    n_o, OH, OW = Dim(out, 1), Dim(out, 2), Dim(out, 3)
    H, W = Dim(cols, 4), Dim(cols, 5)
    zero = IntConst(0)
    up, left = _mul(i, IntConst(dy)), _mul(j, IntConst(dx))

    def clip(tap, pad, size, n_out):        # [lo, hi): tap - pad <= u < n_out + tap - pad
        lo = IntOp("max", _sub(tap, pad), zero)
        return lo, IntOp("max", IntOp("min", size, _add(n_out, _sub(tap, pad))), lo)
    at = ((b, 0), (o, 1), (y, 2), (x, 3))
    scatter = Range(v, vlo, vhi, 1, (Accumulate(out, ((b, 0), (o, 1), (row, 2), (shift, 3), (v, 4)),
                                                "add", Load(cols, ((o, 0), (i, 1), (j, 2), (b, 3),
                                                                   (u, 4), (v, 5)))),))
    per_j = let(vlo, clip(left, px, W, OW)[0], let(vhi, clip(left, px, W, OW)[1], let(
        shift, _sub(px, left), (Range(u, ulo, uhi, 1, let(row, _add(u, _sub(py, up)),
                                                          (scatter,))),))))
    per_i = let(ulo, clip(up, py, H, OH)[0], let(uhi, clip(up, py, H, OH)[1], (
        Range(j, zero, Dim(cols, 2), 1, per_j),)))
    steps = (Range(y, zero, OH, 1, (Range(x, zero, OW, 1, (Store(out, at, Const(0.0, dtype)),)),)),
             Range(i, zero, Dim(cols, 1), 1, per_i))
    if epilogue is not None:
        steps += (Range(y, zero, OH, 1, (Range(x, zero, OW, 1, (
            Store(out, at, _epilogue(epilogue, Load(out, at), extras, at)),)),)),)
    plane = let(b, IntOp("div", bo, n_o), let(o, _sub(bo, _mul(IntOp("div", bo, n_o), n_o)),
                                             steps))
    body = (split_range(bo, _mul(Dim(out, 0), n_o), plane),)
    name = f"col2im_{dtype}_d{dy}x{dx}{_epilogue_name(epilogue, extras)}"
    return Kernel(name, (cols,) + tuple(extras) + (out,), body, n_inputs=1 + len(extras),
                  params=(py, px), meta={"schedule": "corr2d"})


def strided_img(img, ow, sx):
    """img (B, C, H, W) with a fifth axis of `ow` steps of sx columns (no copy)."""
    s = img.strides
    return as_strided(img, img.shape + (ow,), s + (s[3] * sx,), writeable=False)


class Im2colLaunch(Launch):
    """Fills a given cols tile; inputs (img, cols6, pad_h, pad_w, c0, b0). Its
    extent is the tile's rows (tjit.link.conv calls the kernel whole, one tile per
    thread)."""

    def __init__(self, node, kernel, sx):
        super().__init__(node, kernel)
        self.sx = sx                # the cols' last axis steps sx image columns

    n_pools = 0

    def prepare(self, inputs, alloc):
        img, cols, py, px, c0, b0 = inputs
        return (strided_img(img, cols.shape[5], self.sx), cols, py, px, c0, b0), cols.size, cols

    def extent(self, args):
        cols = args[1]
        return cols.shape[0] * cols.shape[1] * cols.shape[2]


def corr2d_launches(node):
    """(direct ConvLaunch, Im2colLaunch, swapped Im2colLaunch) of Corr2d `node`. The
    swapped one has stride and dilation exchanged: given cols laid out (c, oh, ow, b,
    KH, KW) it copies, for each output pixel, the image elements under every tap
    (the transposed matrix, for outputs smaller than the kernel; tjit.link.conv)."""
    op, dtype = node.op, node.outputs[0].dtype
    (_, sx), (_, dx) = op.subsample, op.dilation
    extras = epilogue_buffers(node)
    epilogue = op if extras or isinstance(op, Corr2dEpilogue) else None
    return (ConvLaunch(node, corr2d_kernel(dtype, op.subsample, op.dilation, epilogue, extras)),
            Im2colLaunch(node, im2col_kernel(dtype, op.subsample, op.dilation), sx),
            Im2colLaunch(node, im2col_kernel(dtype, op.dilation, op.subsample), dx))


@lower.register(Corr2d)
def _(op, node, level):
    # Corr2d picks its algorithm per call from the shapes: tjit.link.conv's thunk runs
    # one of the two launches above (and BLAS), so it is an extern call.
    return None
