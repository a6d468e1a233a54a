"""Extern call: Corr2d (conv2d and its gradients), by direct loops or im2col + BLAS.

The shape rule, per call: with a reduction of K = C*KH*KW >= GEMM_MIN_K taps and
at least GEMM_MIN_OUT output channels, copying the image into columns (K rows,
one column per output pixel; `ir.lower_conv.im2col_kernel`) and multiplying by
the (O, K) filter matrix in BLAS wins: each copied element feeds O
multiply-adds at BLAS's register-blocked speed, where the direct kernel
(`corr2d_kernel`) loads and stores an output element per tap. Below 16 taps
(a 3x3 filter on one channel) or with few output channels the direct kernel,
whose loops need no copy, wins; LeNet's first layer (one channel, 25 taps, 20
filters) already ran 2-3x faster on the GEMM path.

The GEMM has three layouts, by shape: im2col as above; for outputs with fewer
pixels than the kernel has taps (filter gradients) the swapped matrix (pixels x
images, channels x taps), so the product reduces over the long axis; for stride-1
outputs larger than the image ('full' correlations: input gradients) col2im,
filter taps times pixels scattered into the output, so no product multiplies the
padding's zeros. A Corr2dEpilogue's program is applied where each layout writes
the output (a plane at a time).

Columns are made a tile at a time (whole channels x whole images, at most
TILE_ELEMENTS), so memory stays bounded; the filter matrix's tile products are
accumulated in channel-tile order (beta = 1 after the first). Image tiles are
split across `tjit.config.threads` threads, each calling BLAS single-threaded:
every output's sum order depends on the shapes only, never on the thread count.
"""
from __future__ import annotations

import ctypes

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..codegen import compile_kernel
from ..ir.lower_conv import (col2im_kernel, corr2d_launches, epilogue_buffers,
                             epilogue_copy_kernel, flat_planes)
from ..runtime import blas
from ..config import config
from ..runtime.native_thunk import END, NativeThunk
from ..runtime.threads import POOL, split
from ..tensor.nnet_conv import Corr2d
from ..tensor.nnet_conv3d import Corr3d
from ..tensor.type import TensorType
from .linker import extern

GEMM_MIN_K = 16
GEMM_MIN_OUT = 8
TILE_ELEMENTS = 1 << 21


def _local_threads_setter():
    """OpenBLAS's per-thread thread count setter, or None. Under load (more runnable
    threads than cores) OpenBLAS's own worker threads spin and stall: a product
    ran 10 to 100 times slower than on one thread, so tiles run on tjit's threads,
    each calling BLAS on one."""
    if blas.LIB is None:
        return None
    fn = getattr(ctypes.CDLL(blas.LIB.path), "openblas_set_num_threads_local", None)
    if fn is not None:
        fn.argtypes, fn.restype = [ctypes.c_int], ctypes.c_int
    return fn


_SET_LOCAL_THREADS = _local_threads_setter()


def use_gemm(img_shape, kern_shape):
    O, C, KH, KW = kern_shape
    return C * KH * KW >= GEMM_MIN_K and O >= GEMM_MIN_OUT and blas.LIB is not None


def tiles(B, C, taps, pixels):
    """(channels per tile, images per tile) with cc*taps * bb*pixels <= TILE_ELEMENTS
    where possible: every channel at once when that leaves room for an image."""
    per_image = C * taps * pixels
    if per_image <= TILE_ELEMENTS:
        return C, max(1, min(B, TILE_ELEMENTS // per_image))
    return max(1, TILE_ELEMENTS // (taps * pixels)), 1


def swapped_tiles(B, C, taps, pixels):
    """(channels per tile, images per tile) for the swapped products: a quarter of
    the images (so that threads have tiles to share; a shape's tiles never depend
    on the thread count), as many channels as fit in TILE_ELEMENTS."""
    bb = -(-B // 4)
    return max(1, min(C, TILE_ELEMENTS // (pixels * bb * taps))), bb


class Corr2dThunk:
    """Runs Corr2d `node`: the direct kernel, or im2col tiles and BLAS products."""

    def __init__(self, node, level):
        self.node = node
        self.level = level
        direct, self.im2col_launch, self.swapped_launch = corr2d_launches(node)
        self.direct = NativeThunk(direct, compile_kernel(direct.kernel, level))
        self.cfuncs = {}            # the GEMM paths' kernels, compiled when first used
        self.dtype = np.dtype(node.outputs[0].dtype)
        self.ch = blas._BLAS_DTYPES.get(self.dtype)
        self.has_epilogue = len(node.inputs) > 3
        self.extra_flags = [e.broadcastable for e in epilogue_buffers(node)]
        self.epilogue = None        # the epilogue copy kernel, once compiled

    def _store(self, part, out, b0, extras):
        """out[b0:b0 + nb] = part (a (nb, O, oh, ow) view of a product), through the
        node's epilogue if it has one (the copy the layout needs anyway)."""
        dst = out[b0:b0 + part.shape[0]]
        if not self.has_epilogue:
            dst[...] = part
            return
        plane = part.shape[2:]
        tiles = [flat_planes(e if e.shape[0] == 1 else e[b0:b0 + part.shape[0]],
                             plane if bc[2] != bc[3] else None)
                 for e, bc in zip(extras, self.extra_flags)]
        self.epilogue(flat_planes(part), *tiles, flat_planes(dst), 0, END)

    def _compiled(self, key, build):
        if key not in self.cfuncs:
            self.cfuncs[key] = compile_kernel(build(), self.level).cfunc
        return self.cfuncs[key]

    def _epilogue_op(self):
        return (self.node.op, epilogue_buffers(self.node)) if self.has_epilogue else (None, ())

    def __call__(self, inputs):
        img, kern, geom = inputs[:3]
        if self.ch is None or not use_gemm(img.shape, kern.shape):
            return self.direct(inputs)
        self.node.op.check_shapes(self.node, inputs)
        oh, ow, py, px = (int(g) for g in geom)
        B, C = img.shape[:2]
        O, _, KH, KW = kern.shape
        taps, pixels = KH * KW, oh * ow
        out = np.empty((B, O, oh, ow), self.dtype)
        if out.size == 0:
            return [out]
        extras = self.node.op.aligned_extras(inputs[3:], out.shape) if self.has_epilogue else []
        wmat = kern.reshape(O, C * taps) if kern.flags.c_contiguous else \
            np.ascontiguousarray(kern).reshape(O, C * taps)
        H, W = img.shape[2:]
        if taps > pixels:
            cc, bb = swapped_tiles(B, C, taps, pixels)
            work, launch = self._swapped_products, self.swapped_launch
        elif self.node.op.subsample == (1, 1) and H * W < pixels:
            cc, bb = C, max(1, min(B, TILE_ELEMENTS // (O * taps * H * W)))
            work, launch = self._col2im_products, None
            wmat = np.ascontiguousarray(kern.transpose(0, 2, 3, 1)).reshape(O * taps, C)
        else:
            cc, bb = tiles(B, C, taps, pixels)
            work, launch = self._products, self.im2col_launch
        if launch is None:
            cfunc = self._compiled("col2im", lambda: col2im_kernel(
                self.dtype.name, self.node.op.dilation, *self._epilogue_op()))
        else:
            cfunc = self._compiled(launch, lambda: launch.kernel)
            if self.has_epilogue and self.epilogue is None:
                self.epilogue = self._compiled("epilogue", lambda: epilogue_copy_kernel(
                    self.dtype.name, *self._epilogue_op()))
        if work == self._swapped_products and bb >= B and cc < C:
            self._swapped_by_channels(img, wmat, out, (cc, bb), (KH, KW, oh, ow, py, px), cfunc,
                                      extras)
            return [out]
        starts = list(range(0, B, bb))
        groups = [starts[b:e] for b, e in split(len(starts), config.threads)]
        args = [(work, g, img, wmat, out, (cc, bb), (KH, KW, oh, ow, py, px), cfunc, extras)
                for g in groups]
        if len(args) == 1:
            self._image_tiles(*args[0])
        else:
            POOL.run(self._image_tiles, args)
        return [out]

    @staticmethod
    def _image_tiles(work, starts, *args):
        """out[b0:b0 + bb] for each b0 in `starts`: im2col tiles, BLAS products (one
        BLAS thread here: the split over image tiles is tjit's)."""
        previous = _SET_LOCAL_THREADS(1) if _SET_LOCAL_THREADS is not None else None
        try:
            work(starts, *args)
        finally:
            if previous is not None:
                _SET_LOCAL_THREADS(previous)

    def _col2im_products(self, starts, img, kmat, out, tile, geometry, cfunc, extras):
        """Outputs larger than the image (stride 1; 'full' correlations: input
        gradients): per image tile, every filter tap times every pixel (the (O*taps,
        C) filter matrix times the tile's (C, images x pixels) matrix, one product),
        scattered into the output planes by `col2im_kernel`; no product multiplies
        the padding's zeros, as im2col's would."""
        (_, bb), (KH, KW, _, _, py, px) = tile, geometry
        B, C, H, W = img.shape
        O = out.shape[1]
        src = np.empty(C * min(B, bb) * H * W, self.dtype)
        cols = np.empty(O * KH * KW * min(B, bb) * H * W, self.dtype)
        for b0 in starts:
            nb = min(bb, B - b0)
            x = src[:C * nb * H * W].reshape(C, nb, H, W)
            x[...] = img[b0:b0 + nb].transpose(1, 0, 2, 3)
            c = cols[:O * KH * KW * nb * H * W].reshape(O * KH * KW, nb * H * W)
            blas._product(self.ch, kmat, x.reshape(C, nb * H * W), 1.0, 0.0, c)
            dst = out[b0:b0 + nb]
            s = dst.strides
            out5 = as_strided(dst, dst.shape + (W,), s + (s[3],))
            tiles = [e if e.shape[0] == 1 else e[b0:b0 + nb] for e in extras]
            cfunc(c.reshape(O, KH, KW, nb, H, W), *tiles, out5, py, px, 0, END)

    def _swapped_products(self, starts, img, wmat, out, tile, geometry, cfunc, extras):
        """Outputs with fewer pixels than the kernel has taps (a filter gradient: the
        "kernel" is an output gradient): per image tile, the (pixels x images, taps x
        channels) matrix of the image elements under each tap, times the filter
        matrix transposed, accumulated over channel tiles; BLAS's products then reduce
        over the long taps axis instead of multiplying by a handful of columns."""
        (cc, bb), (KH, KW, oh, ow, _, _) = tile, geometry
        B, C = img.shape[:2]
        O, taps, pixels = out.shape[1], KH * KW, oh * ow
        buf = np.empty(pixels * min(B, bb) * min(C, cc) * taps, self.dtype)
        acc = np.empty(pixels * min(B, bb) * O, self.dtype)
        for b0 in starts:
            nb = min(bb, B - b0)
            part = acc[:pixels * nb * O].reshape(pixels * nb, O)
            for c0 in range(0, C, cc):
                self._swapped_tile(img, wmat, part, (b0, nb, c0, min(cc, C - c0)), geometry,
                                   cfunc, buf, 0.0 if c0 == 0 else 1.0)
            self._store(part.reshape(oh, ow, nb, O).transpose(2, 3, 0, 1), out, b0, extras)

    def _swapped_tile(self, img, wmat, part, span, geometry, cfunc, buf, beta):
        """part (pixels x nb, O) = its product over channels [c0, c0 + nc) + beta * part."""
        (b0, nb, c0, nc), (KH, KW, oh, ow, py, px) = span, geometry
        taps, pixels = KH * KW, oh * ow
        rows = buf[:pixels * nb * nc * taps].reshape(oh, ow, nb, nc, KH, KW)
        launch_args, _, _ = self.swapped_launch.prepare(
            [img, rows.transpose(3, 0, 1, 2, 4, 5), py, px, c0, b0], None)
        cfunc(*launch_args, 0, END)
        blas._product(self.ch, rows.reshape(pixels * nb, nc * taps),
                      wmat[:, c0 * taps:(c0 + nc) * taps].T, 1.0, beta, part)

    def _swapped_by_channels(self, img, wmat, out, tile, geometry, cfunc, extras):
        """The swapped products when the images make one tile but the channels
        several (a filter gradient over a one-channel input, as LeNet's first
        layer): each channel tile's product into its own partial, the tiles split
        across threads, the partials summed in tile order; the sums depend on the
        shapes only, never on the thread count."""
        (cc, _), (KH, KW, oh, ow, _, _) = tile, geometry
        B, C = img.shape[:2]
        O, pixels = out.shape[1], oh * ow
        spans = [(0, B, c0, min(cc, C - c0)) for c0 in range(0, C, cc)]
        partials = np.empty((len(spans), pixels * B, O), self.dtype)

        def channel_tiles(ks):
            buf = np.empty(pixels * B * cc * KH * KW, self.dtype)
            for k in ks:
                self._swapped_tile(img, wmat, partials[k], spans[k], geometry, cfunc, buf, 0.0)
        groups = [(channel_tiles, list(range(b, e))) for b, e in split(len(spans), config.threads)]
        if len(groups) == 1:
            self._image_tiles(*groups[0])
        else:
            POOL.run(self._image_tiles, groups)
        part = partials[0]
        for k in range(1, len(spans)):
            part += partials[k]
        self._store(part.reshape(oh, ow, B, O).transpose(2, 3, 0, 1), out, 0, extras)

    def _products(self, starts, img, wmat, out, tile, geometry, cfunc, extras):
        (cc, bb), (KH, KW, oh, ow, py, px) = tile, geometry
        B, C = img.shape[:2]
        O, taps, pixels = out.shape[1], KH * KW, oh * ow
        buf = np.empty(min(C, cc) * taps * min(B, bb) * pixels, self.dtype)
        acc = np.empty(O * min(B, bb) * pixels, self.dtype)
        for b0 in starts:
            nb = min(bb, B - b0)
            part = acc[:O * nb * pixels].reshape(O, nb * pixels)   # contiguous: BLAS's ldc
            for c0 in range(0, C, cc):
                nc = min(cc, C - c0)
                cols = buf[:nc * taps * nb * pixels].reshape(nc * taps, nb * pixels)
                launch_args, _, _ = self.im2col_launch.prepare(
                    [img, cols.reshape(nc, KH, KW, nb, oh, ow), py, px, c0, b0], None)
                cfunc(*launch_args, 0, END)
                # one product per tile: (O, nc*taps) x (nc*taps, nb*pixels); BLAS's
                # throughput needs the long N (one image's pixels alone are too few)
                blas._product(self.ch, wmat[:, c0 * taps:(c0 + nc) * taps], cols, 1.0,
                              0.0 if c0 == 0 else 1.0, part)
            self._store(part.reshape(O, nb, oh, ow).transpose(1, 0, 2, 3), out, b0, extras)


@extern.register(Corr2d)
def _(op, node, linker):
    return Corr2dThunk(node, linker.level)


class Corr3dThunk:
    """Runs Corr3d `node` as one Corr2d whose channels are (channel, depth tap)
    pairs and whose images are (image, output depth) pairs: the image's depth
    slices under each output plane are copied into a stack (zeros where the
    padding is), the kernel is reshaped (O, C*KD, KH, KW), and the Corr2d's own
    layout choice and threads apply."""

    def __init__(self, node, level):
        self.node = node
        self.dtype = np.dtype(node.outputs[0].dtype)
        plane = TensorType(self.dtype.name, (False,) * 4)
        inner = Corr2d(node.op.subsample[1:], node.op.dilation[1:]).make_node(
            plane(), plane(), TensorType("int64", (False,))())
        self.inner = Corr2dThunk(inner, level)

    def __call__(self, inputs):
        img, kern, geom = inputs
        self.node.op.check_shapes(self.node, inputs)
        od, oh, ow, pd, ph, pw = (int(g) for g in geom)
        B, C, D, H, W = img.shape
        O, _, KD, KH, KW = kern.shape
        sz, dz = self.node.op.subsample[0], self.node.op.dilation[0]
        stack = np.zeros((B, od, C, KD, H, W), self.dtype)
        for z in range(od):
            for k in range(KD):
                src = z * sz + k * dz - pd
                if 0 <= src < D:
                    stack[:, z, :, k] = img[:, :, src]
        kern2 = np.ascontiguousarray(kern).reshape(O, C * KD, KH, KW)
        (out,) = self.inner([stack.reshape(B * od, C * KD, H, W), kern2,
                             np.array([oh, ow, ph, pw], dtype="int64")])
        return [np.ascontiguousarray(out.reshape(B, od, O, oh, ow).transpose(0, 2, 1, 3, 4))]


@extern.register(Corr3d)
def _(op, node, linker):
    return Corr3dThunk(node, linker.level)
