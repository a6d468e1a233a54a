"""The native thunk of a FusedReduce node: allocate, split over threads, combine.

Work is split only over output points (schedules reduce_inner/reduce_outer), or
over a number of chunks P of the first reduced loop chosen from the shape alone
(schedule partials: a reduction to a single value; outer_partials: a reduction
over the outer dims into the innermost one, whose tasks are chunk x column tile);
the P partial results are combined here in order. So every result is
bit-identical whatever `tjit.config.threads` is.
"""
from __future__ import annotations

import math

import numpy as np

from ..config import config
from ..ir.lower import outer_extent
from ..ir.lower_reduce import TILE
from ..tensor.reduction import NEEDS_NONEMPTY
from .threads import MIN_PARALLEL_ELEMENTS, POOL, split
from ..ir.launch import shape_plan
from .buffers import reuse_or_empty as _reuse_or_empty
from .native_thunk import END

CHUNK_ELEMENTS = 1 << 15   # partials: about this many elements per chunk ...
MAX_PARTIALS = 256         # ... and at most this many chunks
ROW_CHUNKS = 6             # outer_partials: at most this many chunks (divides 2, 3, 6) ...
MIN_CHUNK_ROWS = 64        # ... of at least this many rows of the first reduced dim
_COMBINE = {"sum": np.add, "prod": np.multiply, "max": np.maximum, "min": np.minimum,
            "all": np.logical_and, "any": np.logical_or}


def reduce_thunk(node):
    """The thunk running FusedReduce `node` natively (compiles its kernel)."""
    from ..codegen import compile_kernel
    from ..ir.from_graph import lower_fused_reduce
    return NativeReduceThunk(node, compile_kernel(lower_fused_reduce(node)))


class NativeReduceThunk:
    def __init__(self, node, native):
        op = node.op
        self.node, self.native, self.cfunc = node, native, native.cfunc
        self.kernel = native.kernel
        self.kind = op.kind
        self.reduced = op.reduced
        self.kept = [d for d in range(len(op.broadcastable)) if d not in op.reduced]
        self.schedule = self.kernel.meta["schedule"]
        self.acc_dtype = np.dtype(self.kernel.buffers[self.kernel.n_inputs].dtype)
        self.out_dtype = np.dtype(node.outputs[0].dtype)
        self.plan = shape_plan(node)
        self.pool = []

    def __call__(self, inputs):
        result = self._compute(inputs)
        if self.kind == "m2" and not np.isfinite(result).all():
            # inf/NaN in x, or the one-pass sums overflowed where the two-pass
            # ones may not: the NumPy reference decides (rare, so its speed is moot)
            return self.node.op.perform(self.node, inputs)
        return [result]

    def _compute(self, inputs):
        shape = tuple([inputs[i].shape[a] if i >= 0 else 1 for i, a in self.plan])
        if self.kind in NEEDS_NONEMPTY and any(shape[d] == 0 for d in self.reduced):
            self.node.op.loop_shape(self.node, inputs)   # a shape mismatch reads better
            raise ValueError(f"{self.node.op}: {self.kind} of an empty axis (loop shape "
                             f"{shape}, reduced dims {list(self.reduced)}) has no identity")
        total = math.prod(shape)
        threads = config.threads if total >= MIN_PARALLEL_ELEMENTS else 1
        out_shape = tuple(shape[d] for d in self.kept)
        if self.kind == "m2" and any(shape[d] == 0 for d in self.reduced):
            return np.zeros(out_shape, self.out_dtype)   # no first point to shift by
        if self.schedule == "partials":
            parts = max(1, min(MAX_PARTIALS, total // CHUNK_ELEMENTS))  # from the shape only
            return self._partials(inputs, (parts,), None, shape, threads, out_shape)
        if self.schedule == "outer_partials":
            meta = self.kernel.meta
            parts = max(1, min(ROW_CHUNKS, shape[meta["first_reduced"]] // MIN_CHUNK_ROWS,
                               total // CHUNK_ELEMENTS))
            tiles = -(-shape[meta["inner_kept"]] // meta.get("tile", TILE))
            return self._partials(inputs, (parts,) + out_shape, parts * tiles, shape, threads,
                                  out_shape)
        out = _reuse_or_empty(self.pool, out_shape, self.out_dtype)
        self._run((*inputs, out), threads)
        return out

    def _run(self, arrays, threads, extent=None):
        if threads > 1:
            if extent is None:
                extent = outer_extent(self.kernel, arrays)
            ranges = split(extent, threads)
            codes = POOL.run(self.cfunc, [(*arrays, b, e) for b, e in ranges])
            rc = next((c for c in codes if c), 0)
        else:
            rc = self.cfunc(*arrays, 0, END)
        if rc:
            self._fail(rc, arrays)

    def _partials(self, inputs, part_shape, extent, shape, threads, out_shape):
        """Run the kernel into partial results of shape `part_shape` (chunk axis
        first) and combine them over the chunks, in order."""
        values = np.empty(part_shape, self.acc_dtype)
        if self.kind in ("argmax", "argmin"):
            positions = np.empty(part_shape, np.int64)
            self._run((*inputs, values, positions), threads, extent)
            # the first chunk wins ties and NaNs; empty chunks (position -1) come last
            # and hold the identity, so they never win
            pick = (np.argmax if self.kind == "argmax" else np.argmin)(values, axis=0)
            result = np.take_along_axis(positions, pick[None], 0)[0]
        elif self.kind == "m2":
            squares = np.empty(part_shape, self.acc_dtype)
            self._run((*inputs, values, squares), threads, extent)
            s1, s2 = np.add.reduce(values, axis=0), np.add.reduce(squares, axis=0)
            n = math.prod(shape[d] for d in self.reduced)
            with np.errstate(all="ignore"):
                result = np.maximum(s2 - s1 * (s1 / n), 0)
        else:
            self._run((*inputs, values), threads, extent)
            result = _COMBINE[self.kind].reduce(values, axis=0)
        return np.asarray(result).astype(self.out_dtype).reshape(out_shape)

    def _fail(self, rc, arrays):
        self.node.op.loop_shape(self.node, arrays[:len(self.node.inputs)])
        info = self.kernel.meta.get("checks", {}).get(rc, {})
        raise ValueError(f"{self.node.op}: shape check {rc} failed ({info}); input shapes "
                         f"{[a.shape for a in arrays[:len(self.node.inputs)]]}")
