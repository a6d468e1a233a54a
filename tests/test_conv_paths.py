"""Corr2d's three native paths (direct loops, im2col + BLAS, and the swapped im2col
for outputs smaller than the kernel, i.e. filter gradients) against the op's NumPy
reference, over strides, dilations, paddings, channel tiles and thread counts."""
import numpy as np
import pytest

import tjit as theano
import tjit.tensor as T
from tjit.link import conv as conv_link
from tjit.tensor.nnet_conv import Corr2d, corr2d_reference


def _geom(img_shape, kern_shape, pads, subsample, dilation):
    (py, px), (sy, sx), (dy, dx) = pads, subsample, dilation
    oh = (img_shape[2] + 2 * py - dy * (kern_shape[2] - 1) - 1) // sy + 1
    ow = (img_shape[3] + 2 * px - dx * (kern_shape[3] - 1) - 1) // sx + 1
    return np.array([oh, ow, py, px], dtype="int64")


_FUNCS = {}


def _count_calls(monkeypatch, method):
    """A list that grows by one per call of Corr2dThunk.`method` (a GEMM layout)."""
    calls, original = [], getattr(conv_link.Corr2dThunk, method)

    def counted(self, *args):
        calls.append(1)
        return original(self, *args)
    monkeypatch.setattr(conv_link.Corr2dThunk, method, counted)
    return calls


def _corr(subsample, dilation):
    key = (subsample, dilation)
    if key not in _FUNCS:
        img, kern, geom = T.dtensor4("img"), T.dtensor4("kern"), T.lvector("geom")
        _FUNCS[key] = theano.function([img, kern, geom],
                                      Corr2d(subsample, dilation)(img, kern, geom))
    return _FUNCS[key]


# (img shape, kern shape, pads, subsample, dilation): kernels larger than the output
# (the last: one image, so with small tiles the channel tiles are split instead)
SWAPPED = [((5, 3, 12, 11), (8, 3, 10, 9), (0, 0), (1, 1), (1, 1)),
           ((4, 6, 13, 12), (9, 6, 9, 8), (2, 1), (2, 1), (1, 1)),
           ((3, 4, 14, 15), (8, 4, 6, 6), (1, 2), (1, 2), (2, 2)),
           ((1, 7, 9, 9), (10, 7, 9, 9), (1, 1), (1, 1), (1, 1))]


@pytest.mark.parametrize("tile", [1 << 21, 500])
@pytest.mark.parametrize("shapes", SWAPPED)
def test_swapped_gemm_path(shapes, tile, monkeypatch):
    img_shape, kern_shape, pads, subsample, dilation = shapes
    monkeypatch.setattr(conv_link, "TILE_ELEMENTS", tile)
    rng = np.random.RandomState(sum(img_shape))
    # non-contiguous operands, as the gradient's dimshuffles give them
    img = rng.randn(img_shape[1], img_shape[0], *img_shape[2:]).transpose(1, 0, 2, 3)
    kern = rng.randn(kern_shape[1], kern_shape[0], *kern_shape[2:]).transpose(1, 0, 2, 3)
    geom = _geom(img_shape, kern_shape, pads, subsample, dilation)
    assert conv_link.use_gemm(img.shape, kern.shape) and \
        kern_shape[2] * kern_shape[3] > geom[0] * geom[1]
    calls = _count_calls(monkeypatch, "_swapped_tile")
    f = _corr(subsample, dilation)
    got = f(img, kern, geom)
    assert calls
    np.testing.assert_allclose(got, corr2d_reference(img, kern, geom, subsample, dilation),
                               rtol=1e-10, atol=1e-10)
    for n in (1, 3):
        with theano.config.change_flags(threads=n):
            np.testing.assert_array_equal(f(img, kern, geom), got)


def test_swapped_tiles_depend_on_shapes_only():
    cc, bb = conv_link.swapped_tiles(64, 32, 3136, 9)
    assert bb == 16 and cc * bb * 3136 * 9 <= conv_link.TILE_ELEMENTS
    assert conv_link.swapped_tiles(1, 5, 10 ** 7, 4) == (1, 1)


# outputs larger than the image, stride 1: the col2im path
COL2IM = [((3, 6, 5, 4), (8, 6, 5, 4), (4, 3), (1, 1)),
          ((2, 6, 6, 7), (9, 6, 3, 4), (3, 2), (2, 1)),
          ((5, 8, 4, 4), (10, 8, 3, 3), (2, 2), (1, 1))]


@pytest.mark.parametrize("tile", [1 << 21, 700])
@pytest.mark.parametrize("shapes", COL2IM)
def test_col2im_gemm_path(shapes, tile, monkeypatch):
    img_shape, kern_shape, pads, dilation = shapes
    monkeypatch.setattr(conv_link, "TILE_ELEMENTS", tile)
    rng = np.random.RandomState(sum(kern_shape))
    img = rng.randn(*img_shape)[:, :, ::-1]                 # negative strides
    kern = rng.randn(*kern_shape)
    geom = _geom(img_shape, kern_shape, pads, (1, 1), dilation)
    calls = _count_calls(monkeypatch, "_col2im_products")
    f = _corr((1, 1), dilation)
    got = f(img, kern, geom)
    assert calls
    np.testing.assert_allclose(got, corr2d_reference(img, kern, geom, (1, 1), dilation),
                               rtol=1e-10, atol=1e-10)
    for n in (1, 3):
        with theano.config.change_flags(threads=n):
            np.testing.assert_array_equal(f(img, kern, geom), got)
