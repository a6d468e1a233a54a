"""Random draws as dask arrays, block by block, with the numbers the same draw
gives on one machine at the same positions (Philox is counter-based: value i of a
draw depends on (key, stream, draw, i) alone; see tjit.random.philox).

`uniform(streams, size, chunks)` equals `streams.uniform(size)` compiled and
called once, when `streams` is a PhiloxStreams in the same state (each call makes
a new random variable, as the single-machine draw does)."""
from __future__ import annotations

import math

import dask.array as da
from dask.base import tokenize
import numpy as np

from ..random import philox
from ..random.streams import PhiloxStreams


def draw_range(state, lo, hi, dist, dtype):
    """Values lo..hi-1 of the flat standard draw with `state` (NumPy Philox)."""
    per = philox.parts(dist, dtype) * philox.BLOCKS_PER_CHUNK
    c0, c1 = lo // per, -(-hi // per)
    k = philox.BLOCKS_PER_CHUNK
    blocks = np.arange(c0 * k, c1 * k, dtype=np.uint64)
    w = [x.reshape(c1 - c0, k) for x in philox._words(state, blocks)]
    values = np.concatenate(philox.block_values(dist, dtype, w), axis=1).reshape(-1)
    return values[lo - c0 * per: hi - c0 * per]


class _Block:
    def __init__(self, state, shape, dist, dtype, a, b):
        self.state, self.shape, self.dist, self.dtype = state, shape, dist, dtype
        self.a, self.b = a, b

    def __dask_tokenize__(self):
        return ("tjit.dask.random", self.state.tobytes(), self.shape, self.dist, self.dtype,
                self.a, self.b)

    def __call__(self, block_info=None):
        loc = block_info[None]["array-location"]
        grids = np.ix_(*[np.arange(s, e) for s, e in loc])
        idx = np.ravel_multi_index(grids, self.shape) if self.shape else np.zeros((), int)
        lo, hi = int(idx.min()), int(idx.max()) + 1
        u = draw_range(self.state, lo, hi, self.dist, self.dtype)[idx - lo]
        dt = np.dtype(self.dtype).type
        a, b = dt(self.a), dt(self.b)
        with np.errstate(all="ignore"):
            out = a + (b - a) * u if self.dist == "uniform" else a + b * u.astype(self.dtype)
        return np.asarray(out, dtype=self.dtype)


def _draw(streams, size, chunks, dist, dtype, a, b):
    if not isinstance(streams, PhiloxStreams):
        raise TypeError("tjit.dask.random needs Philox streams (tjit's counter-based "
                        f"RandomStreams), got {type(streams).__name__}")
    shape = tuple(int(s) for s in size)
    state = streams._new_state()
    streams.state_updates.append((state, state))  # the next variable gets the next stream
    value = np.asarray(state.get_value(), dtype=np.uint32)
    fn = _Block(value, shape, dist, dtype, a, b)
    name = f"tjit-random-{dist}-" + tokenize(fn, chunks)
    if math.prod(shape) == 0:
        return da.zeros(shape, dtype=dtype, chunks=chunks)
    return da.map_blocks(fn, dtype=dtype, chunks=da.core.normalize_chunks(chunks, shape),
                         name=name, meta=np.empty((0,) * len(shape), dtype))


def uniform(streams, size, chunks, low=0.0, high=1.0, dtype="float64"):
    """Uniform on [low, high), as `streams.uniform(size, low, high, dtype=dtype)`."""
    return _draw(streams, size, chunks, "uniform", dtype, low, high)


def normal(streams, size, chunks, avg=0.0, std=1.0, dtype="float64"):
    """Normal(avg, std), as `streams.normal(size, avg, std, dtype=dtype)`."""
    return _draw(streams, size, chunks, "normal", dtype, avg, std)
