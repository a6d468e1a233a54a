"""`MRG_RandomStreams`: Theano's `theano.sandbox.rng_mrg` streams, number for number.

Each draw is a random variable whose state is an int32 (nstreams, 6) shared
matrix: the starts of `nstreams` substreams of the variable's stream (Theano's
`get_substream_rstates`); variable k uses stream k of the seed. `nstreams`
defaults to Theano's `guess_n_streams(size)`. A call of a compiled function
draws value i from substream i % nstreams and stores the advanced states (the
variable's default update), so successive calls continue the substreams as in
Theano (see `tjit.random.mrg`).

Theano's methods follow Theano 1.0 exactly: uniform (u * (high - low) + low),
normal (Box-Muller on the halves of an even uniform draw, odd sizes dropping the
last value; `truncate`), truncated_normal, binomial (n = 1: u < p with u of
floatX), multinomial (pvals a matrix, size None: draw c of row r uses uniform
c * rows + r), choice without replacement (a None, p a matrix) and
multinomial_wo_replacement. tjit's extensions (binomial n > 1, poisson,
multinomial with a size, choice with replacement, permutation, ...) draw their
uniforms the same way.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .. import tensor as T
from ..shared import shared
from ..tensor.var import as_tensor_variable
from . import mrg
from .mrg_ops import ChoiceFromUniform, MRGBoxMuller, MRGUniform
from .ops import BinomialFromUniform, MultinomialFromUniform, default_float
from .streams import RandomStreamsBase, _const, _float_dtype, _is_scalar, _size

# scipy.stats.truncnorm(-2, 2).std(): the standard deviation of a standard normal
# truncated to [-2, 2] (Theano's constant)
TRUNCATED_STD = 0.87962566103423978


def _reject_non_positive(size):
    """Theano's check: constant entries of a size tuple must be > 0."""
    if isinstance(size, (tuple, list)):
        for e in size:
            c = _const(e) if not isinstance(e, (int, np.integer)) else e
            if c is not None and not isinstance(c, float) and int(c) <= 0:
                raise ValueError(f"The specified size contains a dimension with value "
                                 f"<= 0: {tuple(size)}")
    elif isinstance(size, (int, np.integer)) and not isinstance(size, bool) and size <= 0:
        raise ValueError(f"The specified size contains a dimension with value <= 0: {size}")


def _check_nstreams(nstreams):
    if isinstance(nstreams, bool) or not isinstance(nstreams, (int, np.integer)):
        raise TypeError(f"nstreams must be an int, got {nstreams!r}")
    if not 0 < int(nstreams) <= mrg.MAX_STREAMS:
        raise ValueError(f"nstreams must be in [1, 2**31 - 1] (an int32 state matrix), "
                         f"got {nstreams}")
    return int(nstreams)


class MRGStreams(RandomStreamsBase):
    """MRG31k3p streams in Theano's layout; see the module doc."""

    generator = "mrg"

    def __init__(self, seed=12345):
        self._nstreams = []          # per random variable, in creation order
        self._stream_starts = None
        super().__init__(seed)

    @staticmethod
    def _check_seed(seed):
        return mrg.seed_state(seed)

    @property
    def rstate(self):
        """The seed state (int32[6]), as Theano's `MRG_RandomStreams.rstate`."""
        return self._seed.astype(np.int32)

    def _stream_start(self, k):
        # stream k = the seed state jumped k streams (2^134 steps) ahead
        starts = self._stream_starts
        if starts is None or not np.array_equal(starts[0], self._seed):
            starts = self._stream_starts = [self._seed]
        while len(starts) <= k:
            starts.append(mrg.apply(mrg.NEXT_STREAM, starts[-1]))
        return starts[k]

    def _initial_state(self, k):
        return mrg.substream_starts(self._stream_start(k), self._nstreams[k])

    def get_substream_rstates(self, n_streams, dtype=None, inc_rstate=True):
        """Theano's: int32 (n_streams, 6), the starts of the substreams of the
        stream the next random variable will use (tjit numbers streams by
        variable, so nothing advances here; `inc_rstate` is accepted)."""
        k = len(self.state_updates)
        return mrg.substream_starts(self._stream_start(k), _check_nstreams(n_streams))

    def n_streams(self, size):
        return mrg.guess_n_streams(size)

    # ---- the one native draw --------------------------------------------------------
    def _mrg_draw(self, shape, dtype, low, high, nstreams):
        k, nstreams = len(self.state_updates), _check_nstreams(nstreams)
        state = shared(mrg.substream_starts(self._stream_start(k), nstreams),
                       name=f"mrg_rstate{k}")
        new_state, out = MRGUniform(dtype, shape.ndim, shape.broadcastable)(
            state, shape.vector, low, high)
        self._nstreams.append(nstreams)         # (only once the draw is built)
        state.default_update = new_state
        self.state_updates.append((state, new_state))
        out.rng = out.rstate = state
        out.update = (state, new_state)
        return out

    def _draw(self, size, dist, dtype, a, b):
        # tjit's extension methods (RandomStreamsBase; no Theano counterpart):
        # uniforms on 60 * 256 substreams, whatever the size
        assert dist == "uniform", dist
        return self._mrg_draw(size, dtype, a, b, mrg.DEFAULT_STREAMS)

    def _streams(self, size, nstreams):
        return _check_nstreams(nstreams) if nstreams is not None else self.n_streams(
            tuple(size) if isinstance(size, list) else size)

    # ---- Theano's methods -----------------------------------------------------------
    def uniform(self, size=None, low=0.0, high=1.0, ndim=None, dtype=None, nstreams=None):
        """Uniform on (low, high) of `dtype` (default floatX, upcast with symbolic
        float bounds): u * (high - low) + low, u of Theano's mrg_uniform."""
        dtype = _float_dtype(dtype or default_float(low, high), "uniform")
        _reject_non_positive(size)
        shape = _size(size, ndim, (low, high))
        nstreams = self._streams(size, nstreams)
        if _is_scalar(low) and _is_scalar(high):
            return self._mrg_draw(shape, dtype, low, high, nstreams)
        u = self._mrg_draw(shape, dtype, 0.0, 1.0, nstreams)
        low, high = as_tensor_variable(low), as_tensor_variable(high)
        return T.cast(u * T.cast(high - low, dtype) + T.cast(low, dtype), dtype)

    def binomial(self, size=None, n=1, p=0.5, ndim=None, dtype="int64", prob=None,
                 nstreams=None):
        """Binomial(n, p): for n == 1 Theano's cast(u < p), u uniform of floatX
        (size None: p's shape); n > 1 (tjit's extension) by the inverse CDF of
        float64 uniforms. nstreams defaults to Theano's guess from the size."""
        if prob is not None:
            p = prob
        _reject_non_positive(size)
        shape = _size(size, ndim, (n, p))
        nstreams = self._streams(size, nstreams)
        if _const(n) == 1:
            u = self._mrg_draw(shape, default_float(), 0.0, 1.0, nstreams)
            return T.cast(T.lt(u, p), dtype)
        u = self._mrg_draw(shape, "float64", 0.0, 1.0, nstreams)
        return BinomialFromUniform(dtype)(u, n, p)

    def normal(self, size=None, avg=0.0, std=1.0, ndim=None, dtype=None, nstreams=None,
               truncate=False):
        """Normal(avg, std) by Theano's method: Box-Muller on the halves of one
        uniform draw of n rounded up to even (nstreams default 60 * 256, as
        Theano, whose draw size there is symbolic); the cos values first, then
        the sin values, the first n kept; then z * std + avg. With truncate=True,
        values outside [-2, 2] (before scaling) are redrawn as Theano does."""
        dtype = _float_dtype(dtype or default_float(avg, std), "normal")
        _reject_non_positive(size)
        shape = _size(size, ndim, (avg, std))
        nstreams = mrg.DEFAULT_STREAMS if nstreams is None else _check_nstreams(nstreams)
        total = shape.total()
        even = total + total % 2
        u = self._mrg_draw(_size((even,), None, ()), dtype, 0.0, 1.0, nstreams)
        scalar = _is_scalar(avg) and _is_scalar(std)
        if truncate:
            z = self._truncated(u, even, total, dtype, nstreams)
        elif scalar:
            z = MRGBoxMuller(dtype)(u, total, avg, std)
            return T.reshape(z, shape.vector, ndim=shape.ndim)
        else:
            z = MRGBoxMuller(dtype)(u, total, 0.0, 1.0)
        z = T.reshape(z, shape.vector, ndim=shape.ndim)
        return T.cast(z * T.cast(as_tensor_variable(std), dtype)
                      + T.cast(as_tensor_variable(avg), dtype), dtype)

    def _truncated(self, u, even, total, dtype, nstreams):
        # Theano's method: each value outside [-2, 2] keeps its angle and takes a new
        # radius sqrt(-2 log v), v uniform on (e^-2, 1) from a second draw; ordered
        # valid cos values, fixed cos values, valid sin values, fixed sin values.
        half = even // 2
        r = T.sqrt(-2.0 * T.log(u[:half]))
        t = np.asarray(2.0 * math.pi, dtype=dtype) * u[half:]
        parts, fixes = [], []
        for trig in (T.cos(t), T.sin(t)):
            z = r * trig
            outside = T.or_(T.lt(z, -2.0), T.gt(z, 2.0))
            parts.append((z[T.flatnonzero(T.invert(outside))], trig))
            fixes.append(T.flatnonzero(outside))
        n_cos = T.shape(fixes[0])[0]
        n_fix = n_cos + T.shape(fixes[1])[0]
        low = np.asarray(1.0 / np.e ** 2, dtype=dtype)
        v = self._mrg_draw(_size((n_fix,), None, ()), dtype, low, 1.0, nstreams)
        r_fix = T.sqrt(-2.0 * T.log(v))
        (z_cos, cos_t), (z_sin, sin_t) = parts
        return T.concatenate([z_cos, r_fix[:n_cos] * cos_t[fixes[0]],
                              z_sin, r_fix[n_cos:] * sin_t[fixes[1]]])[:total]

    def truncated_normal(self, size, avg=0.0, std=1.0, ndim=None, dtype=None,
                         nstreams=None):
        """Normal values truncated to avg +- 2 s, s = std / 0.8796...: s is chosen
        (as Theano) so that the truncated distribution's standard deviation is std."""
        dtype = _float_dtype(dtype or default_float(avg, std), "truncated_normal")
        spread = as_tensor_variable(std) / np.asarray(TRUNCATED_STD, dtype=dtype)
        return self.normal(size, avg, spread, ndim, dtype, nstreams, truncate=True)

    def multinomial(self, size=None, n=1, pvals=None, ndim=None, dtype="int64",
                    nstreams=None):
        """Theano's form (size None, pvals a matrix): counts of n draws per row,
        draw c of row r the first category whose running sum exceeds uniform
        c * rows + r (one floatX draw of rows * n). With a size or a vector of
        pvals: tjit's extension (RandomStreams' multinomial)."""
        if pvals is None:
            raise TypeError("You have to specify pvals")
        pvals_t = as_tensor_variable(pvals)
        if size is not None or pvals_t.ndim != 2:
            _reject_non_positive(size)
            return super().multinomial(size, n, pvals, ndim, dtype)
        if ndim is not None:
            raise ValueError("Provided an ndim argument to MRG_RandomStreams.multinomial, "
                             "which does not use the ndim argument.")
        trials = _const(n)
        if trials is None or not float(trials).is_integer() or trials < 1:
            raise ValueError(f"multinomial: n must be a positive integer constant, got {n!r}")
        trials = int(trials)
        rows = T.shape(pvals_t)[0]
        nstreams = mrg.DEFAULT_STREAMS if nstreams is None else _check_nstreams(nstreams)
        u = self._mrg_draw(_size((rows * trials,), None, ()), default_float(), 0.0, 1.0,
                           nstreams)
        # u[c * rows + r] -> row r, draw c
        per_row = T.reshape(u, T.stack([as_tensor_variable(np.int64(trials)), rows]), ndim=2).T
        return MultinomialFromUniform(dtype)(per_row, pvals_t)

    def choice(self, size=1, a=None, replace=True, p=None, ndim=None, dtype="int64",
               nstreams=None):
        """Theano's form (a None, p a matrix, replace=False): `size` indices per row
        of p without replacement, (rows, size). Otherwise tjit's extension
        (RandomStreams' choice: a an int or vector, with or without replacement)."""
        p_t = None if p is None else as_tensor_variable(p)
        if a is None:
            if replace:
                raise NotImplementedError("MRG_RandomStreams.choice only works without "
                                          "replacement for now.")
            if p_t is None:
                raise TypeError("For now, p has to be specified in MRG_RandomStreams.choice.")
            if ndim is not None:
                raise ValueError("ndim argument to MRG_RandomStreams.choice is not used.")
            if p_t.ndim != 2:
                raise NotImplementedError("MRG_RandomStreams.choice is only implemented "
                                          "for p.ndim = 2")
            count = as_tensor_variable(size)
            if count.ndim != 0:
                raise TypeError(f"choice: size must be an integer scalar, got {size!r}")
            nstreams = mrg.DEFAULT_STREAMS if nstreams is None else _check_nstreams(nstreams)
            total = T.shape(p_t)[0] * T.cast(count, "int64")
            u = self._mrg_draw(_size((total,), None, ()), default_float(), 0.0, 1.0, nstreams)
            return ChoiceFromUniform(dtype)(p_t, u, count)
        return super().choice(size, a, replace, p, ndim, dtype)

    def multinomial_wo_replacement(self, size=None, n=1, pvals=None, ndim=None,
                                   dtype="int64", nstreams=None):
        """Deprecated in Theano: choice(size=n, a=None, replace=False, p=pvals)."""
        warnings.warn("MRG_RandomStreams.multinomial_wo_replacement() is deprecated; "
                      "use MRG_RandomStreams.choice() instead", DeprecationWarning,
                      stacklevel=2)
        if size is not None:
            raise ValueError("multinomial_wo_replacement does not use size")
        return self.choice(size=n, a=None, replace=False, p=pvals, dtype=dtype,
                           nstreams=nstreams, ndim=ndim)

