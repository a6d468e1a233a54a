"""The graph Ops of `MRG_RandomStreams` (Theano's layout; see `tjit.random.mrg`),
with NumPy references. Their native kernels are in `tjit.ir.lower_random`.

- `MRGUniform(dtype, ndim, broadcastable)(rstates, size, low, high)` ->
  (new_rstates, low + (high - low) * u): Theano's mrg_uniform, value i from
  substream i % nstreams of the int32 (nstreams, 6) state matrix.
- `MRGBoxMuller(dtype)(u, n, avg, std)`: Theano's normal from an even number of
  uniforms u = (u1, u2) (halves): (r cos t, r sin t) joined, first n kept, with
  r = sqrt(-2 log u1), t = 2 pi u2; then avg + std * z. One kernel.
- `ChoiceFromUniform(dtype)(pvals, unis, n)`: Theano's choice without replacement.
"""
from __future__ import annotations

import math

import numpy as np

from .. import scalar as ts
from ..graph import Apply, Op
from ..tensor.basic import cast
from ..tensor.type import TensorType
from ..tensor.var import as_tensor_variable
from . import mrg, philox
from .ops import check_size

FLOATS = ("float32", "float64")


def _scalar_of(p, dtype, name, who):
    p = as_tensor_variable(p)
    if p.ndim != 0:
        raise TypeError(f"{who}: {name} must be a scalar, got {p.type}")
    return p if p.dtype == dtype else cast(p, dtype)


class MRGUniform(Op):
    """(rstates, size, low, high) -> (new_rstates, sample); see the module doc."""

    __props__ = ("dtype", "ndim", "broadcastable")

    def __init__(self, dtype, ndim, broadcastable=None):
        if dtype not in FLOATS:
            raise TypeError(f"MRG draws are float32 or float64, got dtype {dtype!r}")
        self.dtype, self.ndim = dtype, int(ndim)
        self.broadcastable = tuple(broadcastable or (False,) * self.ndim)

    def make_node(self, rstates, size, low, high):
        rstates, size = as_tensor_variable(rstates), as_tensor_variable(size)
        if rstates.dtype != "int32" or rstates.ndim != 2:
            raise TypeError(f"{self}: the state must be an int32 matrix, got {rstates.type}")
        if size.ndim != 1 or size.dtype not in ts.DISCRETE:
            raise TypeError(f"{self}: size must be an integer vector, got {size.type}")
        if size.dtype != "int64":
            size = cast(size, "int64")
        low = _scalar_of(low, self.dtype, "low", self)
        high = _scalar_of(high, self.dtype, "high", self)
        return Apply(self, [rstates, size, low, high],
                     [rstates.type(), TensorType(self.dtype, self.broadcastable)()])

    def grad(self, inputs, output_grads):
        return [None] * len(inputs)

    def perform(self, node, inputs):
        rstates, size, low, high = inputs
        shape = check_size(size, self.ndim, str(self))
        u, new = mrg.uniform01(rstates, math.prod(shape), self.dtype)
        dt = np.dtype(self.dtype).type
        low, high = dt(low), dt(high)
        with np.errstate(all="ignore"):
            out = low + (high - low) * u
        return [new, np.asarray(out, dtype=self.dtype).reshape(shape)]


def box_muller(B, u1, u2):
    """(r cos 2 pi u2, r sin 2 pi u2), r = sqrt(-2 log u1), float64 (philox's
    exact-turn sincos)."""
    f = "float64"
    r = B.sqrt(B.mul(B.const(-2.0, f), B.log(u1)))
    cos, sin = philox.sincos_turn(B, u2)
    return B.mul(r, cos), B.mul(r, sin)


class MRGBoxMuller(Op):
    """(u, n, avg, std) -> avg + std * z (vector of n); see the module doc. Computed
    in float64 (float32 results rounded once), so within an ulp or two of Theano's
    graph, not bit for bit."""

    __props__ = ("dtype",)

    def __init__(self, dtype):
        self.dtype = dtype

    def make_node(self, u, n, avg, std):
        u, n = as_tensor_variable(u), as_tensor_variable(n)
        if u.ndim != 1 or u.dtype != self.dtype:
            raise TypeError(f"{self}: u must be a {self.dtype} vector, got {u.type}")
        if n.ndim != 0 or n.dtype not in ts.DISCRETE:
            raise TypeError(f"{self}: n must be an integer scalar, got {n.type}")
        if n.dtype != "int64":
            n = cast(n, "int64")
        avg = _scalar_of(avg, self.dtype, "avg", self)
        std = _scalar_of(std, self.dtype, "std", self)
        return Apply(self, [u, n, avg, std], [TensorType(self.dtype, (False,))()])

    def grad(self, inputs, output_grads):
        return [None] * len(inputs)

    # the math library's log (NumPy's can miss by an ulp): the py linker
    # (FAST_COMPILE) runs it natively, so draws are the same bits in every mode
    same_bits_natively = True

    def perform(self, node, inputs):
        u, n, avg, std = inputs
        half = check_pairs(len(u), int(n))
        with np.errstate(all="ignore"):
            u = np.asarray(u, dtype=np.float64)
            c, s = box_muller(philox._NumPy, u[:half], u[half:])
            z = np.concatenate([c, s])[:int(n)].astype(self.dtype)
            dt = np.dtype(self.dtype).type
            out = dt(avg) + dt(std) * z
        return [np.asarray(out, dtype=self.dtype)]


def check_pairs(length, n):
    if n < 0 or length != n + n % 2:
        raise ValueError(f"MRG normal: {length} uniforms for {n} normals "
                         "(needs n rounded up to even)")
    return length // 2


class ChoiceFromUniform(Op):
    """Theano's choice without replacement: (pvals (rows, k), unis (rows * n,), n)
    -> (rows, n) indices. Draw c of row r uses unis[c * rows + r]: the first
    category whose running sum of the row's (remaining) probabilities exceeds
    it; that category's probability is then set to 0 and the row renormalised."""

    __props__ = ("dtype",)

    def __init__(self, dtype="int64"):
        self.dtype = dtype

    def make_node(self, pvals, unis, n):
        pvals, unis = as_tensor_variable(pvals), as_tensor_variable(unis)
        n = as_tensor_variable(n)
        if pvals.ndim != 2:
            raise NotImplementedError("MRG choice is only implemented for p.ndim = 2")
        if unis.ndim != 1 or n.ndim != 0:
            raise TypeError(f"{self}: unis must be a vector and n a scalar")
        return Apply(self, [pvals, unis, n], [TensorType(self.dtype, (False, False))()])

    def grad(self, inputs, output_grads):
        return [None] * 3

    def perform(self, node, inputs):
        pvals, unis, n = inputs
        n = int(n)
        rows, k = pvals.shape
        if n > k:
            raise ValueError(f"choice: cannot sample {n} values without replacement "
                             f"from {k} categories")
        if len(unis) != rows * n:
            raise ValueError(f"choice: {len(unis)} uniforms for {rows} rows x {n} samples")
        p = np.array(pvals, dtype=np.float64)
        out = np.empty((rows, n), dtype=self.dtype)
        at = np.arange(rows)
        for c in range(n):
            u = np.asarray(unis[c * rows:(c + 1) * rows], dtype=np.float64)
            above = np.cumsum(p, axis=1) > u[:, None]
            m = np.where(above.any(axis=1), above.argmax(axis=1), k - 1)
            out[:, c] = m
            p[at, m] = 0.0
            with np.errstate(all="ignore"):
                p /= p.sum(axis=1, keepdims=True)
        return [out]
