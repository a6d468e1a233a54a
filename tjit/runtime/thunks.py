"""Thunks: the callable form of one graph node at run time.

A thunk maps a list of input arrays to a list of output arrays. Native thunks call
compiled kernels; the others run the op's NumPy `perform` and have their results
checked against the node's output types, so native code downstream can trust
every array's dtype, ndim and alignment.
"""
from __future__ import annotations

import sys

import numpy as np

from ..config import config
from ..ir.lower import outer_extent
from ..ops.fused_elemwise import FusedElemwise
from .threads import MIN_PARALLEL_ELEMENTS, POOL, split

END = 1 << 62  # "to the end" for a kernel's outer-loop range


class PerformThunk:
    """Runs `node.op.perform` and conforms its results to the output types."""

    def __init__(self, node):
        self.node = node
        self.perform = node.op.perform
        self.types = [(np.dtype(v.type.dtype), v.type.ndim, v.type.broadcastable)
                      for v in node.outputs]

    def __call__(self, inputs):
        outs = self.perform(self.node, inputs)
        return [_conform(o, t, self.node, k) for k, (o, t) in enumerate(zip(outs, self.types))]


def _conform(value, spec, node, k):
    dtype, ndim, bc = spec
    if not isinstance(value, np.ndarray):
        value = np.asarray(value)
    if value.dtype != dtype:
        value = value.astype(dtype)
    if value.ndim != ndim:
        raise AssertionError(f"{node.op} returned a {value.ndim}-d array for output {k}, "
                             f"declared {ndim}-d: a bug in {type(node.op).__name__}.perform")
    for d, b in enumerate(bc):
        if b and value.shape[d] != 1:
            raise ValueError(f"{node.op}: output {k} has shape {value.shape}, but dimension "
                             f"{d} is declared broadcastable (size 1)")
    if not value.flags.aligned:
        value = value.copy()
    return value


def shape_plan(node):
    """For each loop dim of a fused node (FusedElemwise, FusedReduce): the
    (input position, axis) whose run-time size it has, or (-1, 0) for size 1."""
    op = node.op
    plan = []
    for d, b in enumerate(op.broadcastable):
        src = (-1, 0)
        if not b:
            for i, (x, ax) in enumerate(zip(node.inputs, op.axes)):
                if ax[d] is not None and not x.broadcastable[ax[d]]:
                    src = (i, ax[d])
                    break
        plan.append(src)
    return tuple(plan)


class NativeElemwiseThunk:
    """Allocates the outputs of a FusedElemwise node and calls its kernel."""

    def __init__(self, node, native):
        self.node = node
        self.native = native
        self.cfunc = native.cfunc
        self.dtypes = [np.dtype(v.dtype) for v in node.outputs]
        self.plan = shape_plan(node)
        self.pools = [[] for _ in node.outputs]

    def __call__(self, inputs):
        shape = tuple([inputs[i].shape[a] if i >= 0 else 1 for i, a in self.plan])
        outs = [_reuse_or_empty(pool, shape, dt) for pool, dt in zip(self.pools, self.dtypes)]
        threads = config.threads
        if threads > 1 and outs[0].size >= MIN_PARALLEL_ELEMENTS:
            rc = self._parallel(inputs, outs, threads)
        else:
            rc = self.cfunc(*inputs, *outs, 0, END)
        if rc:
            self._fail(rc, inputs)
        return outs

    def _parallel(self, inputs, outs, threads):
        arrays = (*inputs, *outs)
        extent = outer_extent(self.native.kernel, arrays)
        ranges = split(extent, threads)
        codes = POOL.run(self.cfunc, [(*arrays, b, e) for b, e in ranges])
        return next((c for c in codes if c), 0)

    def _fail(self, rc, inputs):
        # The NumPy-level check names the inputs and their shapes.
        self.node.op.loop_shape(self.node, inputs)
        info = self.native.kernel.meta.get("checks", {}).get(rc, {})
        pos = info.get("position")
        var = self.node.inputs[pos] if isinstance(pos, int) and pos < len(self.node.inputs) else None
        raise ValueError(f"{self.node.op}: shape check {rc} failed ({info}); input {var} has "
                         f"shape {inputs[pos].shape if var is not None else '?'}")


_POOL_SIZE = 2  # double-buffering covers a value kept by a shared variable


def _reuse_or_empty(pool, shape, dtype):
    """A buffer for an output: one this thunk returned earlier that nobody else
    references any more (so reusing it is unobservable), or a new one. Reuse
    saves the page faults of fresh large allocations."""
    for arr in pool:
        # References: the pool, the loop variable and getrefcount's argument.
        # Views of arr and exported buffers hold references too: they block reuse.
        if sys.getrefcount(arr) == 3 and arr.shape == shape:
            return arr
    arr = np.empty(shape, dtype)
    if arr.nbytes >= (1 << 16):
        if len(pool) >= _POOL_SIZE:
            pool.pop(0)
        pool.append(arr)
    return arr


def make_thunk(node, native=True, level=3):
    """The thunk running `node`: native code when the node lowers, else perform.

    An op may provide its own `make_thunk(node)` (returning a thunk or None) for
    native execution, e.g. BLAS calls or reduction kernels."""
    own = getattr(node.op, "make_thunk", None) if native else None
    if own is not None:
        thunk = own(node)
        if thunk is not None:
            return thunk
    if native and isinstance(node.op, FusedElemwise):
        from ..codegen import compile_kernel
        from ..ir.from_graph import lower_fused
        return NativeElemwiseThunk(node, compile_kernel(lower_fused(node), level))
    return PerformThunk(node)
