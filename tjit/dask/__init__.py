"""tjit on Dask arrays: `tjit.dask.function(inputs, outputs)` compiles once and
applies to `dask.array` arguments, lazily, returning dask arrays.

Elementwise work (and row-wise work whose reduced axis is one chunk, e.g.
softmax) runs as one native call per block (`da.blockwise`); reductions and dot
products over split axes run as `da.reduction` trees whose chunk and combine steps
are tjit kernels. Shared variables are read-only (their values are read when the
function is called, shipped with the tasks); `updates=` is refused: compute, then
`set_value` (a training loop: README, `tests/test_dask.py`).

Needs the `dask` extra (`pip install tjit[dask]`); `import tjit` never imports it.
"""
from __future__ import annotations

try:
    import dask.array as da
    from dask.array.core import unify_chunks
    from dask.base import tokenize
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError("tjit.dask needs dask: pip install 'tjit[dask]'") from e

import numpy as np

from .. import tensor as T
from ..graph import clone_replace, graph_inputs
from ..shared import SharedVariable
from ..tensor.reduction import Reduce
from ..tensor.var import as_tensor_variable
from .kernels import Combine, Kernel, _keep_lead, identity, stats
from .plan import Planner, SplitAxisError, discover_axes
from . import random

__all__ = ["function", "DaskFunction", "SplitAxisError", "stats", "random", "Kernel", "Combine",
           "identity", "Planner"]

_LETTERS = "abcdefghijklmn"
_NEW = "opqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def function(inputs, outputs, mode=None, updates=None, givens=None, name=None):
    """A function of dask arrays: call it with one dask array per input; it
    returns dask arrays (nothing runs until you compute them)."""
    return DaskFunction(inputs, outputs, mode, updates, givens, name)


class DaskFunction:
    def __init__(self, inputs, outputs, mode=None, updates=None, givens=None, name=None):
        if updates:
            raise ValueError(
                "tjit.dask.function: updates= is refused (shared variables are read-only "
                "inside Dask work); compute the new values as outputs, then commit them "
                "with shared.set_value(...) after compute()")
        if not isinstance(inputs, (list, tuple)):
            raise TypeError("tjit.dask.function: inputs must be a list of variables")
        self.inputs = [as_tensor_variable(x) for x in inputs]
        for x in self.inputs:
            if x.owner is not None or isinstance(x, SharedVariable):
                raise TypeError(f"tjit.dask.function: input {x} must be a free variable")
        self.unpack = not isinstance(outputs, (list, tuple))
        outs = [as_tensor_variable(o) for o in ([outputs] if self.unpack else outputs)]
        if givens:
            pairs = list(givens.items()) if isinstance(givens, dict) else list(givens)
            outs = clone_replace(outs, pairs)
        self.outputs = outs
        self.mode = mode
        self.name = name or "function"
        self._plans = {}

    def __getstate__(self):  # the graphs; plans are rebuilt where it is called
        state = dict(self.__dict__)
        state["_plans"] = {}
        return state

    def __dask_tokenize__(self):
        return ("tjit.dask.DaskFunction", self.name,
                Kernel(self.inputs, self.outputs, self.name, self.mode).token)

    def __call__(self, *args):
        if len(args) != len(self.inputs):
            raise TypeError(f"tjit.dask.function {self.name}: expected {len(self.inputs)} "
                            f"dask arrays, got {len(args)}")
        arrays = [self._check_arg(v, a, k) for k, (v, a) in enumerate(zip(self.inputs, args))]
        amaps, N = discover_axes(self.inputs, self.outputs, [a.shape for a in arrays])
        shape = [None] * N
        for v, a, amap in zip(self.inputs, arrays, amaps):
            for d, (s, g) in enumerate(zip(a.shape, amap)):
                if shape[g] is not None and shape[g] != s:
                    raise ValueError(f"tjit.dask.function {self.name}: dim {d} of input {v} "
                                     f"has length {s}, but the graph lines it up with a dim "
                                     f"of length {shape[g]}")
                shape[g] = s
        pairs = []
        for a, amap in zip(arrays, amaps):
            pairs += [a, tuple(_LETTERS[g] for g in amap)]
        try:
            chunkss, arrays = unify_chunks(*pairs)
        except ValueError as e:
            raise ValueError(f"tjit.dask.function {self.name}: the inputs' chunks cannot be "
                             f"aligned: {e}") from None
        split = tuple(g for g in range(N) if len(chunkss.get(_LETTERS[g], (1,))) > 1)
        key = (tuple(shape), split, tuple(amaps))
        if key not in self._plans:
            self._plans[key] = _Plan(self, tuple(shape), split, amaps)
        return self._plans[key].run(arrays, chunkss)

    def _check_arg(self, v, a, k):
        if not isinstance(a, da.Array):
            raise TypeError(f"tjit.dask.function {self.name}: argument {k} ({v}) must be a "
                            f"dask array, got {type(a).__name__}; wrap it with "
                            "dask.array.from_array, or make it a shared variable")
        if a.ndim != v.ndim:
            raise TypeError(f"tjit.dask.function {self.name}: argument {k} ({v}) must have "
                            f"{v.ndim} dims, got {a.ndim}")
        if a.dtype != np.dtype(v.dtype):
            if not np.can_cast(a.dtype, v.dtype, "same_kind"):
                raise TypeError(f"tjit.dask.function {self.name}: argument {k} ({v}) has dtype "
                                f"{a.dtype}, expected {v.dtype}")
            a = a.astype(v.dtype)
        return a


class _Plan:
    """The kernels for one (shape, split axes) of the inputs; built once."""

    def __init__(self, fn, shape, split, amaps):
        self.fn, self.shape, self.split = fn, shape, split
        p = Planner(fn.inputs, amaps, shape, split)
        self.infos = [p.visit(o) for o in fn.outputs]
        for o, i in zip(fn.outputs, self.infos):
            if i.stage is None:
                raise ValueError(f"tjit.dask.function {fn.name}: output {o} does not depend "
                                 "on the dask inputs; compute it with tjit.function")
        self.planner = p
        shared = [v for v in graph_inputs(fn.outputs) if isinstance(v, SharedVariable)]
        self.shared = list({id(s): s for s in shared}.values())
        self.shared_fresh = [s.type(s.name or "shared") for s in self.shared]
        self.pairs = [pr for pr in p.replace.values()] + list(zip(self.shared, self.shared_fresh))
        self.bigs = [self._big_kernel(b) for b in p.bigs]
        self.outs = [self._out_kernel(o, i, k) for k, (o, i) in
                     enumerate(zip(fn.outputs, self.infos))]

    def _replaced(self, exprs, keep=()):
        pairs = [(a, b) for a, b in self.pairs if id(a) not in keep]
        return clone_replace(exprs, pairs) if pairs else list(exprs)

    def _kernel(self, exprs, label, leaves):
        """A Kernel of `exprs` (already replaced) and the leaves it reads, in order."""
        used = {id(v) for v in graph_inputs(exprs)}
        ins = [v for v in leaves if id(v) in used]
        return Kernel(ins, exprs[0] if len(exprs) == 1 else exprs, label, self.fn.mode), ins

    def _leaves(self):
        return list(self.fn.inputs) + self.shared_fresh + [b.fresh for b in self.planner.bigs]

    def _big_kernel(self, big):
        nlead = len(big.split)
        e = self._replaced(big.inputs, keep={id(big.out)})
        label = f"{self.fn.name}-{big.kind}-chunk"
        if big.kind == "dot":
            exprs = [_keep_lead(T.dot(e[0], e[1]), 1)]
        elif big.kind in ("argmax", "argmin"):
            x = e[0]
            exprs = [Reduce("max" if big.kind == "argmax" else "min", big.axes)(x),
                     Reduce(big.kind, big.axes)(x)]
        elif big.kind == "var":
            x = e[0]
            n = 1.0
            for d in big.axes:
                n = n * T.cast(x.shape[d], "float64")
            xs = T.cast(x, "float64")
            mean = Reduce("sum", big.axes)(xs) / n
            keep = T.reduction._keep(xs, mean, big.axes, True)
            m2 = Reduce("sum", big.axes)(T.sqr(xs - keep))
            exprs = [_keep_lead(T.stack([T.ones_like(mean) * n, mean, m2], axis=-1), nlead)]
        else:
            exprs = [_keep_lead(Reduce(big.kind, big.axes)(e[0]), nlead)]
        kernel, ins = self._kernel(exprs, label, self._leaves())
        stat = {"argmax": 2, "argmin": 2, "var": 3}.get(big.kind, 0)
        pdtype = "float64" if stat else big.out.dtype
        ndim = nlead + len(big.rest[0]) + (1 if stat else 0)
        combine = Combine(big.kind, nlead, ndim, pdtype, None)
        return dict(big=big, kernel=kernel, ins=ins, stat=stat, pdtype=pdtype,
                    combine=combine, label=label)

    def _out_kernel(self, o, info, k):
        big = next((b for b in self.planner.bigs if b.out is o), None)
        if big is not None:  # the output is a reduction's result: no kernel after the tree
            return dict(direct=big.fresh)
        expr = self._replaced([o])
        label = f"{self.fn.name}-out{k}" if len(self.fn.outputs) > 1 else self.fn.name
        kernel, ins = self._kernel(expr, label, self._leaves())
        return dict(kernel=kernel, ins=ins, info=info, out=o, label=label)

    # -- building the dask graph ------------------------------------------------
    def run(self, arrays, chunkss):
        env = {id(v): (a, self.planner.info[id(v)].amap) for v, a in zip(self.fn.inputs, arrays)}
        values = [np.asarray(s.get_value(borrow=True)) for s in self.shared]
        for f, val in zip(self.shared_fresh, values):
            env[id(f)] = (val, None)
        for b in self.bigs:
            env[id(b["big"].fresh)] = (self._reduce(b, env, chunkss), b["big"].amap)
        outs = [env[id(o["direct"])][0] if "direct" in o else
                self._blockwise(o["kernel"], o["ins"], env, o["info"].amap, o["info"].sizes,
                                o["out"].dtype, o["label"]) for o in self.outs]
        return outs[0] if self.fn.unpack else outs

    def _args(self, ins, env, newl):
        args = []
        for v in ins:
            a, amap = env[id(v)]
            if amap is None:
                args += [a, None]
                continue
            args += [a, tuple(_LETTERS[g] if g is not None else next(newl) for g in amap)]
        return args

    def _out_index(self, amap, sizes, newl):
        ind, new_axes, seen = [], {}, set()
        for g, s in zip(amap, sizes):
            if g is not None and g not in seen:
                ind.append(_LETTERS[g])
                seen.add(g)
                continue
            if g is not None and g in self.split:
                raise NotImplementedError("tjit.dask: an output with two dims along the same "
                                          "split axis")
            if s is None:
                raise NotImplementedError("tjit.dask: an output dim of unknown length")
            c = next(newl)
            ind.append(c)
            new_axes[c] = s
        return tuple(ind), new_axes

    def _blockwise(self, kernel, ins, env, amap, sizes, dtype, label, lead=(), extra=()):
        newl = iter(_NEW)
        args = self._args(ins, env, newl)
        ind, new_axes = self._out_index(amap, sizes, newl)
        lead_ind = tuple(_LETTERS[g] for g in lead)
        out_ind = lead_ind + ind
        if extra:
            c = next(newl)
            out_ind += (c,)
            new_axes[c] = extra[0]
        kernel = _Blocks.wrap(kernel, args, out_ind)
        name = f"tjit-{label}-{tokenize(kernel, *args)}"
        return da.blockwise(kernel, out_ind, *args, *extra[1:], dtype=dtype, name=name,
                            new_axes=new_axes, adjust_chunks={c: 1 for c in lead_ind},
                            concatenate=False, meta=np.empty((0,) * len(out_ind), dtype))

    def _reduce(self, b, env, chunkss):
        big = b["big"]
        nlead = len(big.split)
        amap, sizes = big.rest
        kernel = b["kernel"]
        if big.kind in ("argmax", "argmin"):
            kernel = _ArgChunk(kernel, big, self.shape)
            ins_args = b["ins"]
            extra_pairs = []
            for g in big.split:  # the block's positions along g: its start and length
                pos = da.arange(self.shape[g], chunks=(chunkss[_LETTERS[g]],), dtype="int64")
                extra_pairs += [pos, (_LETTERS[g],)]
            P = self._blockwise_arg(kernel, ins_args, env, amap, sizes, big.split,
                                    extra_pairs, b)
        else:
            extra = (b["stat"],) if b["stat"] else ()
            P = self._blockwise(kernel, b["ins"], env, amap, sizes, b["pdtype"], b["label"],
                                lead=big.split, extra=extra)
        ndim = P.ndim
        R = da.reduction(P, identity, b["combine"], combine=b["combine"],
                         axis=tuple(range(nlead)), keepdims=False, dtype=b["pdtype"],
                         concatenate=True, meta=np.empty((0,) * (ndim - nlead), b["pdtype"]),
                         name=f"tjit-{self.fn.name}-{big.kind}")
        if big.kind in ("argmax", "argmin"):
            return R[..., 1].astype("int64")
        if big.kind == "var":
            v = R[..., 2] / (R[..., 0] - big.ddof)
            if big.keep_shape is not None:
                v = da.expand_dims(v, tuple(d for d, s in enumerate(big.keep_shape)
                                            if s == 1))
            return v.astype(big.out.dtype)
        return R

    def _blockwise_arg(self, kernel, ins, env, amap, sizes, lead, extra_pairs, b):
        newl = iter(_NEW)
        args = self._args(ins, env, newl) + extra_pairs
        ind, new_axes = self._out_index(amap, sizes, newl)
        lead_ind = tuple(_LETTERS[g] for g in lead)
        c = next(newl)
        new_axes[c] = 2
        out_ind = lead_ind + ind + (c,)
        kernel = _Blocks.wrap(kernel, args, out_ind)
        name = f"tjit-{b['label']}-{tokenize(kernel, *args)}"
        return da.blockwise(kernel, out_ind, *args, dtype="float64", name=name,
                            new_axes=new_axes, adjust_chunks={x: 1 for x in lead_ind},
                            concatenate=False, meta=np.empty((0,) * len(out_ind), "float64"))


class _Blocks:
    """Calls `fn` with whole blocks where da.blockwise(concatenate=False) gives
    nested lists (an argument's dims absent from the output index: its whole dims,
    one chunk each). A one-block list is unwrapped, not copied (concatenate=True
    copies even one block: a full copy of every block read by a reduction)."""

    def __init__(self, fn, axes):
        self.fn, self.axes = fn, axes

    @classmethod
    def wrap(cls, fn, args, out_ind):
        axes = tuple(() if ind is None else tuple(p for p, c in enumerate(ind) if c not in out_ind)
                     for ind in args[1::2])
        return cls(fn, axes) if any(axes) else fn

    def __dask_tokenize__(self):
        return ("tjit.dask.Blocks", tokenize(self.fn), self.axes)

    def __call__(self, *args):
        return self.fn(*[_join(a, ax) for a, ax in zip(args, self.axes)])


def _join(a, axes):
    if not axes:
        return a
    parts = [_join(x, axes[1:]) for x in a]
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=axes[0])


class _ArgChunk:
    """argmax/argmin of one block: tjit gives the extremum and its index inside the
    block's reduced dims; the index becomes global (C order over the reduced dims)."""

    def __init__(self, kernel, big, shape):
        self.kernel, self.nsplit = kernel, len(big.split)
        amap, sizes = big.in_info
        self.red_sizes = tuple(sizes[d] for d in big.axes)
        self.split_pos = [k for k, d in enumerate(big.axes) if amap[d] in big.split]

    def __dask_tokenize__(self):
        return ("tjit.dask.ArgChunk", self.kernel.token, self.red_sizes)

    def __call__(self, *args):
        n = len(args) - len(self.split_pos)
        vals, loc = self.kernel(*args[:n])
        pos = args[n:]
        block = list(self.red_sizes)
        starts = [0] * len(block)
        for j, p in enumerate(self.split_pos):
            starts[p] = int(pos[j][0])
            block[p] = len(pos[j])
        coords = np.unravel_index(np.asarray(loc), block)
        glob = np.ravel_multi_index([c + s for c, s in zip(coords, starts)], self.red_sizes)
        out = np.stack([np.asarray(vals, "float64"), np.asarray(glob, "float64")], axis=-1)
        return out.reshape((1,) * self.nsplit + out.shape)
