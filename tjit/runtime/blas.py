"""Direct BLAS calls for matrix products: NumPy's bundled OpenBLAS through ctypes.

`LIB` is the bound library (or None): it is found in NumPy's `numpy.libs`
directory (then SciPy's `scipy.libs`), or at the path in $TJIT_BLAS; the
symbols `?gemm`, `?gemv`, `?dot` for float32/float64 are looked up with the
prefixes/suffixes OpenBLAS builds use (`scipy_cblas_dgemm64_`, `cblas_dgemm64_`,
`cblas_dgemm`). Calls go through ctypes.CDLL functions, which release the GIL.
When nothing is found (or $TJIT_BLAS=numpy), every product falls back to
np.dot; which one is used is logged once (logger 'tjit.blas') and `describe()`
says it.

The entry points take arrays already checked by the op (ndim, dtype) and return
a fresh C-contiguous result:
  dot(x, y, dtype)                      x, y 1-d or 2-d, as np.dot
  gemm(z, alpha, x, y, beta, dtype)     beta*z + alpha*dot(x, y); z broadcasts
                                        to the shape of dot(x, y)
Integer, bool, float16 and complex dtypes use NumPy (BLAS has no integer
routines; complex is rare enough not to bind), and so do products of fewer than
SMALL_WORK multiply-adds, where ctypes' call overhead would dominate.
"""
from __future__ import annotations

import ctypes
import glob
import importlib.util
import logging
import os

import numpy as np

from .buffers import reuse_or_empty as _reuse_or_empty

log = logging.getLogger("tjit.blas")

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112
_BLAS_DTYPES = {np.dtype("float32"): "s", np.dtype("float64"): "d"}


class BlasLibrary:
    """The bound routines of one BLAS shared library (`fns[(kind, 's'|'d')]`)."""

    def __init__(self, path, cdll, prefix, suffix, int_type):
        self.path, self.prefix, self.suffix = path, prefix, suffix
        self.int_type = int_type
        I, P = int_type, ctypes.c_void_p
        self.fns = {}
        for ch, real in (("s", ctypes.c_float), ("d", ctypes.c_double)):
            gemm = getattr(cdll, f"{prefix}cblas_{ch}gemm{suffix}")
            gemm.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, I, I, I, real, P, I,
                             P, I, real, P, I]
            gemm.restype = None
            gemv = getattr(cdll, f"{prefix}cblas_{ch}gemv{suffix}")
            gemv.argtypes = [ctypes.c_int, ctypes.c_int, I, I, real, P, I, P, I, real, P, I]
            gemv.restype = None
            dot = getattr(cdll, f"{prefix}cblas_{ch}dot{suffix}")
            dot.argtypes = [I, P, I, P, I]
            dot.restype = real
            self.fns.update({("gemm", ch): gemm, ("gemv", ch): gemv, ("dot", ch): dot})

    def __str__(self):
        bits = 64 if self.int_type is ctypes.c_int64 else 32
        return (f"{os.path.basename(self.path)} ({self.prefix}cblas_dgemm{self.suffix}, "
                f"{bits}-bit integers)")


# (prefix, suffix, int type when the name does not say)
_NAMINGS = (("scipy_", "64_", ctypes.c_int64), ("", "64_", ctypes.c_int64),
            ("scipy_", "", None), ("", "", None))


def _candidates():
    forced = os.environ.get("TJIT_BLAS")
    if forced:
        return [] if forced.lower() in ("numpy", "none", "0") else [forced]
    paths = []
    for pkg in ("numpy", "scipy"):
        # found, not imported: importing tjit must not import SciPy (~10 ms)
        spec = importlib.util.find_spec(pkg)
        if spec is None or not spec.origin:
            continue
        libs = os.path.join(os.path.dirname(os.path.dirname(spec.origin)), f"{pkg}.libs")
        paths += sorted(glob.glob(os.path.join(libs, "*openblas*.so*")))
    return paths


def _numpy_ilp64():
    try:
        cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return "64BITINT" in str(cfg.get("openblas configuration", ""))
    except Exception:  # noqa: BLE001  (older NumPy: no dict mode)
        return False


def _load():
    for path in _candidates():
        try:
            cdll = ctypes.CDLL(path)
        except OSError as e:
            log.debug("cannot load %s: %s", path, e)
            continue
        for prefix, suffix, int_type in _NAMINGS:
            if not hasattr(cdll, f"{prefix}cblas_dgemm{suffix}"):
                continue
            if int_type is None:
                int_type = ctypes.c_int64 if ("numpy" in path and _numpy_ilp64()) \
                    else ctypes.c_int32
            try:
                lib = BlasLibrary(path, cdll, prefix, suffix, int_type)
            except AttributeError as e:
                log.debug("%s lacks a routine: %s", path, e)
                continue
            log.info("tjit BLAS: %s", lib)
            return lib
    log.info("tjit BLAS: no BLAS library found; matrix products use np.dot")
    return None


LIB = _load()


def describe():
    """Which BLAS the matrix products call."""
    return str(LIB) if LIB is not None else "np.dot (no BLAS library bound)"


# -- layouts ---------------------------------------------------------------------
def _matrix(a):
    """(array, trans, ld): `a` (2-d) as a row-major BLAS operand, copied when its
    strides are not expressible (negative, zero, or not whole elements)."""
    m, n = a.shape
    item = a.itemsize
    s0, s1 = a.strides
    if s0 % item == 0 and s1 % item == 0:
        s0, s1 = s0 // item, s1 // item
        if n == 1:
            s1 = 1
        if m == 1:
            s0 = max(n, 1)
        if s1 == 1 and s0 >= max(1, n):
            return a, NO_TRANS, s0
        if s0 == 1 and s1 >= max(1, m):
            return a, TRANS, s1
    a = np.ascontiguousarray(a)
    return a, NO_TRANS, max(1, n)


def _vector(v):
    """(array, inc) for a 1-d BLAS operand (copied unless its stride is positive)."""
    s = v.strides[0]
    if v.shape[0] <= 1:
        return v, 1
    if s > 0 and s % v.itemsize == 0:
        return v, s // v.itemsize
    v = np.ascontiguousarray(v)
    return v, 1


def _ptr(a):
    return a.ctypes.data


# -- products --------------------------------------------------------------------
# Below this many multiply-adds np.dot is as fast or faster: converting a dozen ctypes
# arguments costs about 2.5 us, more than NumPy's own dispatch to the same BLAS.
SMALL_WORK = 1 << 19  # about 80x80x80


def _work(x, y):
    return x.size * (y.shape[1] if y.ndim == 2 else 1)


def dot(x, y, dtype, alloc=np.empty):
    """np.dot(x, y) for 1-d/2-d x, y, computed in `dtype` (inner sizes checked);
    `alloc(shape, dtype)` gives the output buffer of a BLAS call."""
    dtype = np.dtype(dtype)
    ch = _BLAS_DTYPES.get(dtype)
    x = x.astype(dtype, copy=False)
    y = y.astype(dtype, copy=False)
    if LIB is None or ch is None or _work(x, y) < SMALL_WORK:
        return np.asarray(np.dot(x, y), dtype=dtype)
    if x.ndim == 1 and y.ndim == 1:
        n = x.shape[0]
        xv, incx = _vector(x)
        yv, incy = _vector(y)
        return np.asarray(LIB.fns["dot", ch](n, _ptr(xv), incx, _ptr(yv), incy), dtype=dtype)
    out = alloc(_dot_shape(x, y), dtype)
    _product(ch, x, y, 1.0, 0.0, out)
    return out


def gemm(z, alpha, x, y, beta, dtype, alloc=np.empty):
    """beta*z + alpha*dot(x, y) into a new array of the shape of dot(x, y)."""
    dtype = np.dtype(dtype)
    ch = _BLAS_DTYPES.get(dtype)
    alpha, beta = dtype.type(alpha), dtype.type(beta)
    x = x.astype(dtype, copy=False)
    y = y.astype(dtype, copy=False)
    if LIB is None or ch is None or _work(x, y) < SMALL_WORK or x.ndim + y.ndim == 2:
        return np.asarray(beta * z + alpha * np.dot(x, y), dtype=dtype)
    out = alloc(_dot_shape(x, y), dtype)
    if beta != 0:
        np.copyto(out, z, casting="unsafe")
    _product(ch, x, y, alpha, beta, out)
    if beta == 0 and not np.isfinite(z).all():
        with np.errstate(invalid="ignore"):
            out += beta * z  # keep NumPy's 0 * inf = nan, which BLAS skips
    return out


def tensordot(a, b, axes_a, axes_b, dtype, alloc=np.empty):
    """np.tensordot(a, b, (axes_a, axes_b)) as one matrix product between reshapes."""
    free_a = [d for d in range(a.ndim) if d not in axes_a]
    free_b = [d for d in range(b.ndim) if d not in axes_b]
    out_shape = tuple(a.shape[d] for d in free_a) + tuple(b.shape[d] for d in free_b)
    m = int(np.prod([a.shape[d] for d in free_a], dtype=np.int64))
    n = int(np.prod([b.shape[d] for d in free_b], dtype=np.int64))
    k = int(np.prod([a.shape[d] for d in axes_a], dtype=np.int64))
    a2 = a.transpose(free_a + list(axes_a)).reshape(m, k)
    b2 = b.transpose(list(axes_b) + free_b).reshape(k, n)
    return dot(a2, b2, dtype, alloc).reshape(out_shape)


def _dot_shape(x, y):
    return x.shape[:-1] + y.shape[1:]


def _product(ch, x, y, alpha, beta, out):
    """out = alpha*dot(x, y) + beta*out for (2,2), (2,1), (1,2) dims."""
    k = x.shape[-1]
    if out.size == 0:
        return
    if k == 0:           # an empty sum: BLAS may reject k = 0 leading dimensions
        if beta == 0:
            out.fill(0)
        else:
            out *= beta
        return
    if x.ndim == 2 and y.ndim == 2:
        a, ta, lda = _matrix(x)
        b, tb, ldb = _matrix(y)
        m, n = out.shape
        LIB.fns["gemm", ch](ROW_MAJOR, ta, tb, m, n, k, alpha, _ptr(a), lda, _ptr(b), ldb,
                            beta, _ptr(out), max(1, n))
        return
    if x.ndim == 2:          # matrix . vector
        a, ta, lda = _matrix(x)
        v, inc = _vector(y)
        rows, cols = (x.shape[0], k) if ta == NO_TRANS else (k, x.shape[0])
    else:                    # vector . matrix = y.T . x
        a, ta, lda = _matrix(y)
        v, inc = _vector(x)
        ta = TRANS if ta == NO_TRANS else NO_TRANS
        rows, cols = (y.shape[1], k) if ta == NO_TRANS else (k, y.shape[1])
    LIB.fns["gemv", ch](ROW_MAJOR, ta, rows, cols, alpha, _ptr(a), lda, _ptr(v), inc,
                        beta, _ptr(out), 1)


# -- thunks ----------------------------------------------------------------------
class _ProductThunk:
    """Common part of the thunks: the node, its output dtype, its shape check and a
    pool of output buffers (reused once nobody references them: no page faults)."""

    def __init__(self, node):
        self.node = node
        self.dtype = np.dtype(node.outputs[0].dtype)
        self.check = node.op.check_shapes
        self.pool = []

    def alloc(self, shape, dtype):
        return _reuse_or_empty(self.pool, shape, dtype)


class DotThunk(_ProductThunk):
    """Runs a Dot node: checks the inner sizes (ValueError naming the operands),
    then one BLAS call into a new output."""

    def __call__(self, inputs):
        x, y = inputs
        self.check(self.node, x, y)
        return [dot(x, y, self.dtype, self.alloc)]


class TensorDotThunk(_ProductThunk):
    """Runs a TensorDot node: shape checks, then one BLAS matrix product."""

    def __call__(self, inputs):
        a, b = inputs
        self.check(self.node, a, b)
        op = self.node.op
        return [tensordot(a, b, op.axes_a, op.axes_b, self.dtype, self.alloc)]


class GemmThunk(_ProductThunk):
    """Runs a Gemm node (z, alpha, x, y, beta): beta*z + alpha*dot(x, y)."""

    def __call__(self, inputs):
        z, a, x, y, b = inputs
        self.check(self.node, z, x, y)
        return [gemm(z, a.reshape(()), x, y, b.reshape(()), self.dtype, self.alloc)]
