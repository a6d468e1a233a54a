"""tjit kernels as Dask task functions: shipped as graphs (a few kilobytes),
compiled once per worker process, and the combine steps of reduction trees."""
from __future__ import annotations

import hashlib
import pickle
import threading

import numpy as np

from .. import tensor as T
from ..function import function
from ..tensor.reduction import Reduce

_COMPILED = {}          # token -> compiled tjit function, per process
_LOCKS = {}
_GLOBAL = threading.Lock()
STATS = {"compiles": 0}
_PER_KERNEL = {}        # token -> times compiled in this process (counted, not assumed)


def stats():
    """This process's counters: `compiles` (tjit functions built for Dask tasks)
    and `per_kernel` ({kernel token: times compiled})."""
    return {"compiles": STATS["compiles"], "per_kernel": dict(_PER_KERNEL)}


class Kernel:
    """A tjit function of blocks. It pickles as its graph; the first call in a
    process compiles it (the disk cache makes that fast), later calls reuse it."""

    def __init__(self, inputs, outputs, label, mode=None):
        self.payload = pickle.dumps((inputs, outputs, mode), protocol=pickle.HIGHEST_PROTOCOL)
        self.token = hashlib.sha1(self.payload).hexdigest()[:16]
        self.label = label

    def __getstate__(self):
        return {"payload": self.payload, "token": self.token, "label": self.label}

    def __setstate__(self, state):
        self.__dict__.update(state)

    def __dask_tokenize__(self):
        return ("tjit.dask.Kernel", self.token)

    def __repr__(self):
        return f"<tjit kernel {self.label} {self.token}>"

    def function(self):
        fn = _COMPILED.get(self.token)
        if fn is None:
            with _GLOBAL:
                fn = _COMPILED.get(self.token)
                if fn is None:
                    ins, outs, mode = pickle.loads(self.payload)
                    fn = function(ins, outs, mode=mode, on_unused_input="ignore")
                    _LOCKS[self.token] = threading.Lock()
                    _COMPILED[self.token] = fn
                    STATS["compiles"] += 1
                    _PER_KERNEL[self.token] = _PER_KERNEL.get(self.token, 0) + 1
        return fn

    def __call__(self, *args):
        fn = self.function()
        with _LOCKS[self.token]:  # a compiled function's storage is not reentrant
            out = fn(*[np.asarray(a) for a in args])
        return out


def _keep_lead(r, nlead):
    return r.dimshuffle(*(["x"] * nlead + list(range(r.ndim))))


def _field(p, k):
    return p[(slice(None),) * (p.ndim - 1) + (k,)]


def combine_graph(kind, nlead, ndim, dtype):
    """The combine step's graph: partials with `nlead` leading axes of blocks (ndim
    in all, a last axis of statistics for argmax/argmin (value, index) and var
    (count, mean, M2)) -> the same with one block per leading axis."""
    p = T.TensorType(dtype, (False,) * ndim)("partials")
    lead = tuple(range(nlead))
    R = Reduce
    if kind in ("argmax", "argmin"):
        vals, idx = _field(p, 0), _field(p, 1)
        best = R("max" if kind == "argmax" else "min", lead)(vals)
        bk = _keep_lead(best, nlead)
        # NumPy: a NaN is the extremum, the first one wins (the chunk kernels give
        # NaN and its index; max/min propagate it), and NaN == NaN is false
        hit = T.switch(T.isnan(bk), T.isnan(vals), T.eq(vals, bk))
        first = R("min", lead)(T.switch(hit, idx, np.inf))
        out = T.stack([best, first], axis=-1)
    elif kind == "var":
        n, mu, m2 = _field(p, 0), _field(p, 1), _field(p, 2)
        total = R("sum", lead)(n)
        mean = R("sum", lead)(n * mu) / total
        d = mu - _keep_lead(mean, nlead)
        out = T.stack([total, mean, R("sum", lead)(m2 + n * d * d)], axis=-1)
    else:
        out = R("sum" if kind == "dot" else kind, lead)(p)
    return [p], _keep_lead(out, nlead)


class Combine:
    """da.reduction's combine/aggregate callable for one Big node."""

    def __init__(self, kind, nlead, ndim, dtype, finish):
        ins, out = combine_graph(kind, nlead, ndim, dtype)
        self.kernel = Kernel(ins, out, f"combine-{kind}")
        self.nlead, self.finish = nlead, finish

    def __dask_tokenize__(self):
        return ("tjit.dask.Combine", self.kernel.token, self.nlead, repr(self.finish))

    def __call__(self, x, axis=None, keepdims=False, **kw):
        if isinstance(x, list):  # concatenate=True gives arrays; be safe
            x = np.concatenate(x, axis=0)
        r = self.kernel(x)
        if keepdims:
            return r
        r = r.reshape(r.shape[self.nlead:])
        return self.finish(r) if self.finish is not None else r


def identity(x, axis=None, keepdims=False, **kw):
    return x
