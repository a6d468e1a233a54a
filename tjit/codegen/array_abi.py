"""Where generated code finds an ndarray's fields inside its PyArrayObject.

Kernels receive `PyObject*`s and read the data pointer, dims and byte strides
straight from numpy's public struct layout (CPython 3.11, non-debug build). The
offsets are checked once, at import, against a real array: a mismatch (another
Python build or numpy ABI) raises ImportError instead of crashing later.
"""
from __future__ import annotations

import ctypes

import numpy as np

DATA_OFFSET = 16        # char *data
NDIM_OFFSET = 24        # int nd
DIMS_OFFSET = 32        # npy_intp *dimensions
STRIDES_OFFSET = 40     # npy_intp *strides


def _read(address, ctype):
    return ctypes.cast(address, ctypes.POINTER(ctype))[0]


def _check_layout():
    probe = np.zeros((3, 5, 7), dtype=np.float64)[::2, 1:, ::-3]
    base = id(probe)
    found = dict(
        data=_read(base + DATA_OFFSET, ctypes.c_void_p),
        ndim=_read(base + NDIM_OFFSET, ctypes.c_int),
    )
    dims = _read(base + DIMS_OFFSET, ctypes.c_void_p)
    strides = _read(base + STRIDES_OFFSET, ctypes.c_void_p)
    if found["ndim"] == probe.ndim and dims and strides:
        found["shape"] = tuple(_read(dims + 8 * k, ctypes.c_int64) for k in range(probe.ndim))
        found["strides"] = tuple(_read(strides + 8 * k, ctypes.c_int64) for k in range(probe.ndim))
    expected = dict(data=probe.ctypes.data, ndim=probe.ndim,
                    shape=probe.shape, strides=probe.strides)
    if found != expected:
        raise ImportError(
            "tjit.codegen: this Python/numpy build lays out PyArrayObject differently "
            "from what generated kernels assume (data@%d, nd@%d, dimensions@%d, strides@%d); "
            "read %r, expected %r" % (DATA_OFFSET, NDIM_OFFSET, DIMS_OFFSET,
                                      STRIDES_OFFSET, found, expected))


_check_layout()
