"""Random streams: the user-facing classes (Theano's RandomStreams interface).

Every call of a distribution method makes a new random variable with its own
generator state, a shared variable whose `default_update` is the state after the
draw: each call of a compiled function draws new numbers, unless the function is
built with `no_default_updates=True` (or a list holding the state). Two random
variables never share numbers: Philox gives each its own stream id (a counter
word), MRG its own stream (2^134 steps apart). `seed(s)` resets every state.

Native draws are the standard uniform and normal of the generator (see
`tjit.random.ops.RandomDraw`); the other distributions are exact transforms of
uniforms in the graph (so they fuse/run natively where the graph does), or small
NumPy Ops for the inverse CDFs (binomial n > 1, poisson, weighted choice,
multinomial); permutations are argsorts of uniforms.
"""
from __future__ import annotations

import numpy as np

from ..graph import Constant, Variable
from .. import tensor as T
from ..tensor.shape_ops import MakeVector, Shape, get_vector_length, make_vector
from ..tensor.subtensor import Subtensor
from ..tensor.var import as_tensor_variable
from .ops import (BinomialFromUniform, CategoricalFromUniform, MultinomialFromUniform,
                  PoissonFromUniform, RandomDraw, default_float)
from ..shared import shared
from ..tensor.sort import PermuteAlongAxis


def _const(v):
    """The Python value of a build-time constant (number or constant variable), else None."""
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        return v
    if isinstance(v, Constant) and np.ndim(v.data) == 0:
        return np.asarray(v.data).item()
    return None


def _is_scalar(p):
    return np.ndim(p) == 0 if not isinstance(p, Variable) else p.ndim == 0


class _Size:
    """A draw's shape: `vector` (int64, symbolic), `ndim`, `broadcastable`."""

    def __init__(self, vector, ndim, broadcastable):
        self.vector, self.ndim, self.broadcastable = vector, ndim, tuple(broadcastable)

    def extended(self, n):
        """This shape with one more trailing dim of size n."""
        entries = [self.vector[k] for k in range(self.ndim)] + [n]
        return _size(tuple(entries), None, ())

    def total(self):
        out = as_tensor_variable(np.int64(1))
        for k in range(self.ndim):
            out = out * self.vector[k]
        return out


def _size(size, ndim, params):
    """Normalise Theano's (size, ndim) pair; with size None the params' broadcast
    shape (a scalar draw when every param is a scalar)."""
    if isinstance(size, _Size):
        return size
    if size is None:
        tensors = [as_tensor_variable(p) for p in params]
        if all(t.ndim == 0 for t in tensors):
            vector, nd, bc = as_tensor_variable(np.zeros(0, dtype="int64")), 0, ()
        else:
            total = tensors[0]
            for t in tensors[1:]:
                total = total + t
            nd, bc = total.ndim, total.broadcastable
            vector = T.shape(total)
    elif isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        return _size((size,), ndim, params)
    elif isinstance(size, (list, tuple)):
        entries = []
        for k, e in enumerate(size):
            c = _const(e)
            if c is not None and (not float(c).is_integer() or c < 0):
                raise ValueError(f"size entry {k} must be a non-negative integer, got {e!r}")
            ev = as_tensor_variable(np.int64(c) if c is not None else e)
            if ev.ndim != 0 or ev.dtype not in ("int8", "int16", "int32", "int64", "uint8",
                                                 "uint16", "uint32", "uint64"):
                raise TypeError(f"size entry {k} must be an integer scalar, got {e!r}")
            entries.append(ev)
        nd = len(entries)
        bc = tuple(_const(e) == 1 or _is_broadcastable_dim(e) for e in entries)
        vector = (make_vector(*entries) if entries
                  else as_tensor_variable(np.zeros(0, dtype="int64")))
    else:
        vector = as_tensor_variable(size)
        if vector.ndim == 0:        # a symbolic length (Theano MRG's _check_size)
            return _size((vector,), ndim, params)
        if vector.ndim != 1 or not vector.dtype.startswith(("int", "uint")):
            raise TypeError(f"size must be a tuple of ints/int scalars or an int vector, "
                            f"got {size!r}")
        if isinstance(vector, Constant):
            nd = len(vector.data)
            bc = tuple(int(v) == 1 for v in vector.data)
        else:
            # as Theano, ndim is the size's length when the graph states it
            # (x.shape, stack of scalars, join, slices of those)
            try:
                nd = get_vector_length(vector)
            except ValueError as e:
                if ndim is None:
                    raise ValueError(f"cannot infer the number of dimensions of the draw "
                                     f"from its size: {e}; pass ndim") from None
                nd = ndim
            bc = _known_ones(vector, nd)
        vector = T.cast(vector, "int64")
    if ndim is not None and ndim != nd:
        raise ValueError(f"ndim={ndim} does not match size, which has {nd} entries")
    return _Size(vector, nd, bc)


class RandomStreamsBase:
    """The distributions, over a generator's native standard draws."""

    generator = None

    def __init__(self, seed=None):
        self.state_updates = []       # (state shared variable, new state), per variable
        self.default_instance_seed = 12345 if seed is None else seed
        self._seed = self._check_seed(self.default_instance_seed)

    # ---- states ---------------------------------------------------------------------
    def seed(self, seed=None):
        """Reset every random variable's state for `seed` (default: the seed the
        streams were made with), as if just created."""
        self._seed = self._check_seed(self.default_instance_seed if seed is None else seed)
        for k, (state, _) in enumerate(self.state_updates):
            state.set_value(self._initial_state(k))

    def updates(self):
        """[(state, new_state)] of every random variable made so far."""
        return list(self.state_updates)

    def _new_state(self):
        k = len(self.state_updates)
        return shared(self._initial_state(k), name=f"{self.generator}_state{k}")

    def _draw(self, size, dist, dtype, a, b):
        """A native draw of `dist` with scalar params a, b."""
        state = self._new_state()
        op = RandomDraw(self.generator, dist, dtype, size.ndim, size.broadcastable)
        new_state, out = op(state, size.vector, a, b)
        state.default_update = new_state
        self.state_updates.append((state, new_state))
        out.rng = out.rstate = state
        out.update = (state, new_state)
        return out

    def _uniform01(self, size, dtype="float64"):
        return self._draw(size, "uniform", dtype, 0.0, 1.0)

    # ---- distributions --------------------------------------------------------------
    def uniform(self, size=None, low=0.0, high=1.0, ndim=None, dtype=None):
        """Uniform on [low, high) (MRG: (low, high)), of `dtype` (default floatX,
        upcast with symbolic float params)."""
        dtype = _float_dtype(dtype or default_float(low, high), "uniform")
        shape = _size(size, ndim, (low, high))
        if _is_scalar(low) and _is_scalar(high):
            return self._draw(shape, "uniform", dtype, low, high)
        u = self._draw(shape, "uniform", dtype, 0.0, 1.0)
        low, high = as_tensor_variable(low), as_tensor_variable(high)
        return T.cast(low + (high - low) * u, dtype)

    def normal(self, size=None, avg=0.0, std=1.0, ndim=None, dtype=None):
        """Normal with mean `avg` and standard deviation `std`, of `dtype`."""
        dtype = _float_dtype(dtype or default_float(avg, std), "normal")
        shape = _size(size, ndim, (avg, std))
        scalar = _is_scalar(avg) and _is_scalar(std)
        z = self._standard_normal(shape, dtype, avg if scalar else 0.0, std if scalar else 1.0)
        if scalar:
            return z
        return T.cast(as_tensor_variable(avg) + as_tensor_variable(std) * z, dtype)

    def _standard_normal(self, shape, dtype, avg, std):
        return self._draw(shape, "normal", dtype, avg, std)

    def binomial(self, size=None, n=1, p=0.5, ndim=None, dtype="int64", prob=None):
        """Binomial(n, p) counts (`prob` is Theano MRG's name for p)."""
        if prob is not None:
            p = prob
        shape = _size(size, ndim, (n, p))
        u = self._uniform01(shape)
        if _const(n) == 1:
            return T.cast(T.lt(u, p), dtype)
        return BinomialFromUniform(dtype)(u, n, p)

    def poisson(self, size=None, lam=1.0, ndim=None, dtype="int64"):
        """Poisson(lam) counts."""
        shape = _size(size, ndim, (lam,))
        return PoissonFromUniform(dtype)(self._uniform01(shape), lam)

    def random_integers(self, size=None, low=0, high=1, ndim=None, dtype="int64"):
        """Integers uniform on [low, high], both inclusive."""
        lo, hi = _const(low), _const(high)
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"random_integers: low={lo} is greater than high={hi}")
        shape = _size(size, ndim, (low, high))
        u = self._uniform01(shape)
        low_f, high_f = T.cast(as_tensor_variable(low), "float64"), T.cast(
            as_tensor_variable(high), "float64")
        value = T.minimum(low_f + T.floor(u * (high_f - low_f + 1.0)), high_f)
        return T.cast(value, dtype)

    def choice(self, size=None, a=2, replace=True, p=None, ndim=None, dtype="int64"):
        """Samples of range(a) (a an int) or of the vector a, with or without
        replacement, uniformly or with probabilities p."""
        values = None
        if _const(a) is None:
            a = as_tensor_variable(a)
            if a.ndim == 1:
                values, count = a, T.shape(a)[0]
            elif a.ndim == 0:
                count = T.cast(a, "int64")
            else:
                raise TypeError(f"choice: a must be an int or a vector, got {a.type}")
        else:
            count = int(_const(a))
            if count < 1:
                raise ValueError(f"choice: a must be >= 1, got {count}")
        shape = _size(size, ndim, ())
        if replace:
            u = self._uniform01(shape)
            if p is None:
                countf = T.cast(as_tensor_variable(count), "float64")
                idx = T.cast(T.minimum(T.floor(u * countf), countf - 1.0), "int64")
            else:
                idx = CategoricalFromUniform("int64")(u, p)
        else:
            total = _const_total(shape)
            if total is not None and isinstance(count, int) and total > count:
                raise ValueError(f"choice: cannot take {total} samples from {count} "
                                 "without replacement")
            # Without replacement: the `total` smallest of one key per population
            # member; keys uniform (p None) or exponential/p (Efraimidis-Spirakis).
            keys = self._uniform01(_size((count,), None, ()))
            if p is not None:
                keys = -T.log1p(-keys) / T.cast(as_tensor_variable(p), "float64")
            order = T.argsort(keys)
            idx = T.reshape(order[:shape.total()], shape.vector, ndim=shape.ndim)
        out = idx if values is None else T.take(values, idx)
        return T.cast(out, dtype) if values is None else out

    def permutation(self, size=None, n=1, ndim=None, dtype="int64"):
        """Permutations of range(n), one per entry of `size` (result size + (n,))."""
        shape = _size(size, ndim, ())
        u = self._uniform01(shape.extended(n))
        return T.cast(T.argsort(u, axis=-1), dtype)

    def shuffle_row_elements(self, input):
        """`input` with the elements of each row (its last axis) permuted."""
        x = as_tensor_variable(input)
        if x.ndim < 1:
            raise TypeError(f"shuffle_row_elements needs at least one dim, got {x.type}")
        dims = T.shape(x)
        batch = _size(tuple(dims[k] for k in range(x.ndim - 1)), None, ())
        perm = self.permutation(batch, n=dims[x.ndim - 1])
        return PermuteAlongAxis(x.ndim - 1)(x, perm)

    def multinomial(self, size=None, n=1, pvals=None, ndim=None, dtype="int64",
                    nstreams=None):
        """Counts of n trials over the categories of pvals' last axis; shape
        size + (k,) (size defaults to pvals' leading dims)."""
        if pvals is None:
            pvals = [0.5, 0.5]
        pvals = as_tensor_variable(pvals)
        trials = _const(n)
        if trials is None or not float(trials).is_integer() or trials < 0:
            raise ValueError(f"multinomial: n must be a non-negative integer constant, got {n!r}")
        if size is None:
            if pvals.ndim < 1:
                raise TypeError("multinomial: pvals must have at least one dim")
            lead = T.shape(pvals)
            batch = _size(tuple(lead[k] for k in range(pvals.ndim - 1)), None, ())
        else:
            batch = _size(size, ndim, ())
        u = self._uniform01(batch.extended(int(trials)))
        return MultinomialFromUniform(dtype)(u, pvals)


def _known_ones(vector, n):
    """Which entries of the size vector (of length n) are 1 by the graph: the
    broadcastable dims of x in shape(x), constant ones of a make_vector."""
    owner = vector.owner
    if owner is not None and isinstance(owner.op, Shape):
        return owner.inputs[0].broadcastable
    if owner is not None and isinstance(owner.op, MakeVector):
        return tuple(_const(e) == 1 or _is_broadcastable_dim(e) for e in owner.inputs)
    return (False,) * n


def _is_broadcastable_dim(e):
    """Whether the scalar `e` is shape(x)[k] of a broadcastable dim k of x."""
    owner = e.owner
    if owner is None or not isinstance(owner.op, Subtensor) or len(owner.op.pattern) != 1:
        return False
    (kind, k), src = owner.op.pattern[0][:2], owner.inputs[0]
    return (kind == "int" and isinstance(k, int) and src.owner is not None
            and isinstance(src.owner.op, Shape) and src.owner.inputs[0].broadcastable[k])


def _const_total(shape):
    """The number of elements of `shape` when known at build time, else None."""
    owner = shape.vector.owner
    if owner is None:
        data = getattr(shape.vector, "data", None)
        return None if data is None else int(np.prod(data))
    values = [_const(v) for v in owner.inputs]
    if type(owner.op).__name__ == "MakeVector" and all(v is not None for v in values):
        return int(np.prod(values))
    return None


def _float_dtype(dtype, who):
    dtype = str(np.dtype(dtype)) if dtype != "floatX" else default_float()
    if dtype not in ("float32", "float64"):
        raise TypeError(f"{who}: dtype must be float32 or float64, got {dtype!r}")
    return dtype


class PhiloxStreams(RandomStreamsBase):
    """Streams of Philox4x32-10 (key = the 64-bit seed, one counter word per
    random variable); see `tjit.random.philox`."""

    generator = "philox"

    @staticmethod
    def _check_seed(seed):
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"RandomStreams seed must be an int, got {seed!r}")
        if not 0 <= int(seed) < 2 ** 64:
            raise ValueError(f"RandomStreams seed must be in [0, 2**64), got {seed}")
        return int(seed)

    def _initial_state(self, k):
        if k >= 2 ** 32:
            raise ValueError("too many random variables for one RandomStreams")
        return np.array([self._seed & 0xFFFFFFFF, self._seed >> 32, k, 0], dtype=np.uint32)
