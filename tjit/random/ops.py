"""Graph Ops drawing random numbers, with NumPy references.

`RandomDraw(generator, dist, dtype, ndim, broadcastable)(state, size, a, b)` returns
(new_state, sample): `sample` has shape `size` and is `a + (b - a) * u` (uniform,
u in [0, 1)) or `a + b * z` (normal, z standard normal), computed in `dtype`.
`state` is the generator state of one random variable (a shared variable whose
default update is `new_state`); the draw is a pure function of (state, size, a, b).

- generator "philox" (normal too): state uint32[4] = (k0, k1, stream, draw); see
  `tjit.random.philox`. new_state increments `draw`.
(MRG31k3p draws have their own Ops, in Theano's layout: `tjit.random.mrg_ops`.)

Natively, a draw runs a loop-IR kernel (`tjit.ir.lower_random`), one per
(generator, dist, dtype) for all sizes; element i is computed from (state, i)
alone, so threads split the work without changing any value.

Distributions without a native kernel are exact NumPy transforms of uniforms
(`BinomialFromUniform`, `CategoricalFromUniform`, `MultinomialFromUniform`).
"""
from __future__ import annotations

import math

import numpy as np

from ..config import config
from ..graph import Apply, Op
from .. import scalar as ts
from ..tensor.type import TensorType
from ..tensor.var import as_tensor_variable
from . import philox
from ..tensor.basic import cast

STATE_TYPES = {"philox": ("uint32", 4)}
FLOATS = ("float32", "float64")


def check_state(generator, value, who):
    """`value` as a valid state array of `generator`, or ValueError naming `who`."""
    dtype, length = STATE_TYPES[generator]
    value = np.asarray(value)
    if value.dtype != dtype or value.shape != (length,):
        raise ValueError(f"{who}: a {generator} generator state must be a {dtype} vector of "
                         f"length {length}, got {value.dtype} with shape {value.shape}")
    return value


def check_size(size, ndim, who):
    shape = tuple(int(s) for s in np.asarray(size).reshape(-1))
    if len(shape) != ndim:
        raise ValueError(f"{who}: size {shape} has {len(shape)} entries, expected {ndim}")
    if any(s < 0 for s in shape):
        raise ValueError(f"{who}: size {shape} has a negative entry")
    return shape


class RandomDraw(Op):
    """(state, size, a, b) -> (new_state, sample); see the module doc."""

    __props__ = ("generator", "dist", "dtype", "ndim", "broadcastable")

    def __init__(self, generator, dist, dtype, ndim, broadcastable=None):
        if generator not in STATE_TYPES:
            raise ValueError(f"unknown generator {generator!r}")
        if dist not in ("uniform", "normal"):
            raise ValueError(f"generator {generator} has no native {dist!r} draw")
        if dtype not in FLOATS:
            raise TypeError(f"random draws are float32 or float64, got dtype {dtype!r}")
        self.generator, self.dist, self.dtype, self.ndim = generator, dist, dtype, int(ndim)
        self.broadcastable = tuple(broadcastable or (False,) * self.ndim)

    def make_node(self, state, size, a, b):
        state, size = as_tensor_variable(state), as_tensor_variable(size)
        dtype, _ = STATE_TYPES[self.generator]
        if state.dtype != dtype or state.ndim != 1:
            raise TypeError(f"{self}: the state must be a {dtype} vector, got {state.type}")
        if size.ndim != 1 or size.dtype not in ts.DISCRETE:
            raise TypeError(f"{self}: size must be an integer vector, got {size.type}")
        params = []
        for name, p in (("a", a), ("b", b)):
            p = as_tensor_variable(p)
            if p.ndim != 0:
                raise TypeError(f"{self}: parameter {name} must be a scalar, got {p.type}")
            if p.dtype != self.dtype:
                p = cast(p, self.dtype)
            params.append(p)
        if size.dtype != "int64":
            size = cast(size, "int64")
        return Apply(self, [state, size, *params],
                     [state.type(), TensorType(self.dtype, self.broadcastable)()])

    def grad(self, inputs, output_grads):
        return [None] * len(inputs)  # disconnected, as Theano's random ops

    @property
    def same_bits_natively(self):
        """Normal draws use the math library's log, which NumPy's can miss by an
        ulp; draws are the same bits in every mode, so the py linker (FAST_COMPILE)
        runs them natively (tjit/link/linker.py)."""
        return self.dist == "normal"

    def perform(self, node, inputs):
        state, size, a, b = inputs
        state = check_state(self.generator, state, str(node.inputs[0]))
        shape = check_size(size, self.ndim, str(self))
        n = math.prod(shape)
        dt = np.dtype(self.dtype).type
        a, b = dt(a), dt(b)
        with np.errstate(all="ignore"):
            if self.dist == "uniform":
                out = a + (b - a) * philox.uniform01(state, n, self.dtype)
            else:
                out = a + b * philox.standard_normal(state, n).astype(self.dtype)
        return [self._next_state(state, n), np.asarray(out, dtype=self.dtype).reshape(shape)]

    def _next_state(self, state, n):
        new = state.copy()
        new[3] = np.uint32((int(state[3]) + 1) & 0xFFFFFFFF)
        return new


class RandomDrawRange(Op):
    """(state, first, count, a, b) -> the `count` values at flat positions
    first .. first+count-1 of the draw of `RandomDraw` with `state` (bit for bit
    what that draw gives there, natively), and no new state: a part of one draw,
    e.g. one Dask block of it (tjit.dask.random). Philox only (counter-based:
    the kernel starts its block counter at an offset)."""

    __props__ = ("generator", "dist", "dtype")

    def __init__(self, generator, dist, dtype):
        if generator != "philox":
            raise ValueError(f"a draw at an offset needs a counter-based generator (philox), "
                             f"got {generator!r}")
        if dist not in ("uniform", "normal"):
            raise ValueError(f"generator {generator} has no native {dist!r} draw")
        if dtype not in FLOATS:
            raise TypeError(f"random draws are float32 or float64, got dtype {dtype!r}")
        self.generator, self.dist, self.dtype = generator, dist, dtype

    def make_node(self, state, first, count, a, b):
        state = as_tensor_variable(state)
        if state.dtype != "uint32" or state.ndim != 1:
            raise TypeError(f"{self}: the state must be a uint32 vector, got {state.type}")
        ints = []
        for name, v in (("first", first), ("count", count)):
            v = as_tensor_variable(v)
            if v.ndim != 0 or v.dtype not in ts.DISCRETE:
                raise TypeError(f"{self}: {name} must be an integer scalar, got {v.type}")
            ints.append(v if v.dtype == "int64" else cast(v, "int64"))
        params = [_float_input(p, self.dtype) for p in (a, b)]
        for name, p in zip("ab", params):
            if p.ndim != 0:
                raise TypeError(f"{self}: parameter {name} must be a scalar, got {p.type}")
        return Apply(self, [state, *ints, *params], [TensorType(self.dtype, (False,))()])

    def grad(self, inputs, output_grads):
        return [None] * len(inputs)

    @property
    def same_bits_natively(self):
        """Normal draws use the math library's log, which NumPy's can miss by an
        ulp; draws are the same bits in every mode, so the py linker (FAST_COMPILE)
        runs them natively (tjit/link/linker.py)."""
        return self.dist == "normal"

    def perform(self, node, inputs):
        state, first, count, a, b = inputs
        state = check_state(self.generator, state, str(node.inputs[0]))
        first, count = check_range(first, count, str(self))
        dt = np.dtype(self.dtype).type
        a, b = dt(a), dt(b)
        z = philox.draw(state, count, self.dist, self.dtype, first)
        with np.errstate(all="ignore"):
            out = a + (b - a) * z if self.dist == "uniform" else a + b * z.astype(self.dtype)
        return [np.asarray(out, dtype=self.dtype)]


def check_range(first, count, who):
    first, count = int(first), int(count)
    if first < 0 or count < 0 or first + count > 2 ** 62:
        raise ValueError(f"{who}: positions {first} .. {first + count - 1} are not a range of "
                         "a draw (first and count must be >= 0, the end below 2**62)")
    return first, count


def _float_input(x, dtype):
    x = as_tensor_variable(x)
    if x.dtype != dtype:
        x = cast(x, dtype)
    return x


class BinomialFromUniform(Op):
    """Binomial(n, p) variates by the inverse CDF of uniforms u in [0, 1):
    the smallest k with P(X <= k) > u. n, p broadcast against u."""

    __props__ = ("dtype",)

    def __init__(self, dtype="int64"):
        self.dtype = dtype

    def make_node(self, u, n, p):
        u = as_tensor_variable(u)
        n, p = as_tensor_variable(n), _float_input(p, "float64")
        if n.dtype not in ts.DISCRETE:
            raise TypeError(f"binomial: n must be an integer tensor, got {n.type}")
        if n.ndim > u.ndim or p.ndim > u.ndim:
            raise ValueError("binomial: n and p must not have more dims than size")
        return Apply(self, [u, n, p], [TensorType(self.dtype, u.broadcastable)()])

    def grad(self, inputs, output_grads):
        return [None] * 3

    def perform(self, node, inputs):
        u, n, p = inputs
        n = np.broadcast_to(np.asarray(n, dtype=np.int64), u.shape)
        p = np.broadcast_to(np.asarray(p, dtype=np.float64), u.shape)
        if (n < 0).any():
            raise ValueError("binomial: n must be >= 0")
        if ((p < 0) | (p > 1) | np.isnan(p)).any():
            raise ValueError("binomial: p must be in [0, 1]")
        u = np.asarray(u, dtype=np.float64)
        k = np.zeros(u.shape, dtype=np.int64)
        with np.errstate(all="ignore"):
            # pmf(0) = (1-p)^n, pmf(k+1) = pmf(k) (n-k)/(k+1) p/(1-p); p == 1 handled apart.
            q = 1.0 - p
            pmf = np.where(q > 0, q ** n, 0.0)
            cdf = pmf.copy()
            ratio = np.where(q > 0, p / np.where(q > 0, q, 1.0), 0.0)
            active = (cdf <= u) & (k < n) & (q > 0)
            while active.any():
                pmf = np.where(active, pmf * (n - k) / (k + 1) * ratio, pmf)
                k = np.where(active, k + 1, k)
                cdf = np.where(active, cdf + pmf, cdf)
                # Rounding can leave cdf below u at k == n: stop there.
                active = active & (cdf <= u) & (k < n)
        k = np.where(q > 0, k, n)
        return [k.astype(self.dtype)]


class PoissonFromUniform(Op):
    """Poisson(lam) variates by the inverse CDF of uniforms u in [0, 1): the
    smallest k with P(X <= k) > u, the pmf accumulated in log space (so a large
    lam does not underflow). lam broadcasts against u."""

    __props__ = ("dtype",)

    def __init__(self, dtype="int64"):
        self.dtype = dtype

    def make_node(self, u, lam):
        u, lam = as_tensor_variable(u), _float_input(lam, "float64")
        if lam.ndim > u.ndim:
            raise ValueError("poisson: lam must not have more dims than size")
        return Apply(self, [u, lam], [TensorType(self.dtype, u.broadcastable)()])

    def grad(self, inputs, output_grads):
        return [None] * 2

    def perform(self, node, inputs):
        u, lam = inputs
        lam = np.broadcast_to(np.asarray(lam, dtype=np.float64), u.shape)
        if ((lam < 0) | ~np.isfinite(lam)).any():
            raise ValueError("poisson: lam must be finite and >= 0")
        u = np.asarray(u, dtype=np.float64)
        k = np.zeros(u.shape, dtype=np.int64)
        with np.errstate(all="ignore"):
            log_lam = np.log(lam)
            log_pmf = -lam
            cdf = np.exp(log_pmf)
            # Rounding may keep cdf below u far in the tail: stop well past it.
            limit = np.ceil(lam + 12 * np.sqrt(lam) + 30)
            active = (cdf <= u) & (lam > 0)
            while active.any():
                log_pmf = np.where(active, log_pmf + log_lam - np.log(k + 1.0), log_pmf)
                k = np.where(active, k + 1, k)
                cdf = np.where(active, cdf + np.exp(log_pmf), cdf)
                active = active & (cdf <= u) & (k < limit)
        return [k.astype(self.dtype)]


class CategoricalFromUniform(Op):
    """Indices drawn from the probabilities `p` (a vector, normalised here) by
    the inverse CDF of uniforms u in [0, 1)."""

    __props__ = ("dtype",)

    def __init__(self, dtype="int64"):
        self.dtype = dtype

    def make_node(self, u, p):
        u, p = as_tensor_variable(u), _float_input(p, "float64")
        if p.ndim != 1:
            raise TypeError(f"choice: p must be a vector, got {p.type}")
        return Apply(self, [u, p], [TensorType(self.dtype, u.broadcastable)()])

    def grad(self, inputs, output_grads):
        return [None] * 2

    def perform(self, node, inputs):
        u, p = inputs
        cdf = _cdf(p, "choice")
        idx = np.searchsorted(cdf, np.asarray(u, dtype=np.float64), side="right")
        return [np.minimum(idx, len(p) - 1).astype(self.dtype)]


def _cdf(p, who):
    p = np.asarray(p, dtype=np.float64)
    if p.size == 0 or (p < 0).any() or not np.isfinite(p).all() or p.sum() <= 0:
        raise ValueError(f"{who}: probabilities must be finite, >= 0 and not all 0, got {p}")
    cdf = np.cumsum(p, axis=-1)
    return cdf / cdf[..., -1:]


class MultinomialFromUniform(Op):
    """Counts of `n` trials over the categories of `pvals` (last axis; rows are
    normalised), each trial the inverse CDF of one uniform. u has shape
    batch + (n,), pvals broadcasts to batch + (k,); the result is batch + (k,)."""

    __props__ = ("dtype",)

    def __init__(self, dtype="int64"):
        self.dtype = dtype

    def make_node(self, u, pvals):
        u, pvals = as_tensor_variable(u), _float_input(pvals, "float64")
        if pvals.ndim < 1 or pvals.ndim > u.ndim:
            raise TypeError(f"multinomial: pvals must have 1..{u.ndim} dims, got {pvals.type}")
        bc = u.broadcastable[:-1] + (False,)
        return Apply(self, [u, pvals], [TensorType(self.dtype, bc)()])

    def grad(self, inputs, output_grads):
        return [None] * 2

    def perform(self, node, inputs):
        u, pvals = inputs
        batch, k = u.shape[:-1], pvals.shape[-1]
        cdf = np.broadcast_to(_cdf(pvals, "multinomial"), batch + (k,))
        flat_cdf = cdf.reshape(-1, k)
        flat_u = np.asarray(u, dtype=np.float64).reshape(len(flat_cdf), -1)
        counts = np.zeros((len(flat_cdf), k), dtype=np.int64)
        for row in range(len(flat_cdf)):
            cat = np.minimum(np.searchsorted(flat_cdf[row], flat_u[row], side="right"), k - 1)
            counts[row] = np.bincount(cat, minlength=k)
        return [counts.reshape(batch + (k,)).astype(self.dtype)]


def default_float(*params):
    """Theano's rule: floatX, upcast with the dtypes of symbolic float parameters."""
    dtype = config.floatX
    for p in params:
        if hasattr(p, "dtype") and not isinstance(p, (np.ndarray, np.generic)):
            if p.dtype in FLOATS:
                dtype = ts.upcast(dtype, p.dtype)
    return dtype
