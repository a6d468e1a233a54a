"""Random draws as dask arrays, block by block, with the numbers the same draw
gives on one machine at the same positions (Philox is counter-based: value i of a
draw depends on (key, stream, draw, i) alone; see tjit.random.philox).

`uniform(streams, size, chunks)` equals `streams.uniform(size)` compiled and
called once, when `streams` is a PhiloxStreams in the same state (each call makes
a new random variable, as the single-machine draw does). A block runs the native
draw kernel from an offset (`RandomDrawRange`: whole Philox chunks, sliced, so a
normal's Box-Muller pair is the same whichever block holds either half) on
tjit's threads; the function is compiled once per process."""
from __future__ import annotations

import math
import threading

import dask.array as da
from dask.base import tokenize
import numpy as np

from .. import tensor as T
from ..function import function
from ..random.ops import RandomDrawRange
from ..random.streams import PhiloxStreams

_DRAWS = {}                  # (dist, dtype) -> (compiled range draw, its lock), per process
_GLOBAL = threading.Lock()
CALL_COST = 4096             # a call's overhead, in values drawn (for choosing runs vs span)


def draw_range(state, first, count, dist, dtype, a=0.0, b=1.0):
    """Values first .. first+count-1 of the draw with `state` (native), as
    `a + (b - a) * u` (uniform) or `a + b * z` (normal), of `dtype`."""
    key = (dist, dtype)
    got = _DRAWS.get(key)
    if got is None:
        with _GLOBAL:
            got = _DRAWS.get(key)
            if got is None:
                s = T.TensorType("uint32", (False,))("state")
                lo, n = T.lscalar("first"), T.lscalar("count")
                pa, pb = T.scalar("a", dtype=dtype), T.scalar("b", dtype=dtype)
                out = RandomDrawRange("philox", dist, dtype)(s, lo, n, pa, pb)
                got = _DRAWS[key] = (function([s, lo, n, pa, pb], out), threading.Lock())
    fn, lock = got
    dt = np.dtype(dtype).type
    with lock:  # a compiled function's storage is not reentrant
        return fn(state, first, count, dt(a), dt(b))


def block_runs(shape, loc):
    """The block `loc` ([(start, stop)] per dim) of a C-ordered `shape` as runs of
    consecutive flat positions: (first positions (an int array over the block's
    leading dims), run length, the block's shape)."""
    if not shape:
        return np.zeros(1, np.int64), 1, ()
    k = len(shape) - 1       # the last dim the block does not cover whole
    while k > 0 and loc[k] == (0, shape[k]):
        k -= 1
    inner = math.prod(shape[k + 1:])
    run = (loc[k][1] - loc[k][0]) * inner
    lead = np.ix_(*[np.arange(s, e) for s, e in loc[:k]]) if k else ()
    strides = [math.prod(shape[d + 1:]) for d in range(k)]
    firsts = sum((g * st for g, st in zip(lead, strides)), np.zeros((), np.int64))
    firsts = firsts + loc[k][0] * inner
    return np.asarray(firsts, dtype=np.int64), run, tuple(e - s for s, e in loc)


class _Block:
    def __init__(self, state, shape, dist, dtype, a, b):
        self.state, self.shape, self.dist, self.dtype = state, shape, dist, dtype
        self.a, self.b = a, b

    def __dask_tokenize__(self):
        return ("tjit.dask.random", self.state.tobytes(), self.shape, self.dist, self.dtype,
                self.a, self.b)

    def __call__(self, block_info=None):
        loc = [tuple(x) for x in block_info[None]["array-location"]]
        firsts, run, bshape = block_runs(self.shape, loc)
        args = (self.dist, self.dtype, self.a, self.b)
        flat = firsts.reshape(-1)
        lo = int(flat[0])
        span = int(flat[-1]) + run - lo
        if len(flat) == 1:
            out = draw_range(self.state, lo, run, *args)
        elif len(flat) * (run + CALL_COST) < span:  # sparse: one call per run
            out = np.concatenate([draw_range(self.state, int(f), run, *args) for f in flat])
        else:  # dense: the span in one call, then the runs out of it
            values = draw_range(self.state, lo, span, *args)
            out = values[(flat - lo)[:, None] + np.arange(run)]
        return np.asarray(out, dtype=self.dtype).reshape(bshape)


def _draw(streams, size, chunks, dist, dtype, a, b):
    if not isinstance(streams, PhiloxStreams):
        raise TypeError("tjit.dask.random needs Philox streams (tjit's counter-based "
                        f"RandomStreams), got {type(streams).__name__}")
    if dtype not in ("float32", "float64"):
        raise TypeError(f"tjit.dask.random: dtype must be float32 or float64, got {dtype!r}")
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
