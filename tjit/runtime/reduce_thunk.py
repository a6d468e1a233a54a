"""The native thunk of a FusedReduce node: allocate, split over threads, combine.

Work is split only over output points (schedules reduce_inner/reduce_outer), or,
for a reduction to a single value (schedule partials), over a number of chunks P
chosen from the shape alone; the P partial results are combined here in order.
So every result is bit-identical whatever `tjit.config.threads` is.
"""
from __future__ import annotations

import math

import numpy as np

from ..config import config
from ..ir.lower import outer_extent
from ..tensor.reduction import NEEDS_NONEMPTY
from .threads import MIN_PARALLEL_ELEMENTS, POOL, split
from .thunks import END, _reuse_or_empty

CHUNK_ELEMENTS = 1 << 15   # partials: about this many elements per chunk ...
MAX_PARTIALS = 256         # ... and at most this many chunks
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
        self.partials = self.kernel.meta["schedule"] == "partials"
        self.acc_dtype = np.dtype(self.kernel.buffers[self.kernel.n_inputs].dtype)
        self.out_dtype = np.dtype(node.outputs[0].dtype)
        plan = []
        for d, b in enumerate(op.broadcastable):
            src = (-1, 0)
            if not b:
                for i, (x, ax) in enumerate(zip(node.inputs, op.axes)):
                    if ax[d] is not None and not x.broadcastable[ax[d]]:
                        src = (i, ax[d])
                        break
            plan.append(src)
        self.plan = tuple(plan)
        self.pool = []

    def __call__(self, inputs):
        shape = tuple([inputs[i].shape[a] if i >= 0 else 1 for i, a in self.plan])
        if self.kind in NEEDS_NONEMPTY and any(shape[d] == 0 for d in self.reduced):
            self.node.op.loop_shape(self.node, inputs)   # a shape mismatch reads better
            raise ValueError(f"{self.node.op}: {self.kind} of an empty axis (loop shape "
                             f"{shape}, reduced dims {list(self.reduced)}) has no identity")
        total = math.prod(shape)
        threads = config.threads if total >= MIN_PARALLEL_ELEMENTS else 1
        out_shape = tuple(shape[d] for d in self.kept)
        if self.partials:
            return [self._partials(inputs, shape, total, threads, out_shape)]
        out = _reuse_or_empty(self.pool, out_shape, self.out_dtype)
        self._run((*inputs, out), threads)
        return [out]

    def _run(self, arrays, threads):
        if threads > 1:
            ranges = split(outer_extent(self.kernel, arrays), threads)
            codes = POOL.run(self.cfunc, [(*arrays, b, e) for b, e in ranges])
            rc = next((c for c in codes if c), 0)
        else:
            rc = self.cfunc(*arrays, 0, END)
        if rc:
            self._fail(rc, arrays)

    def _partials(self, inputs, shape, total, threads, out_shape):
        parts = max(1, min(MAX_PARTIALS, total // CHUNK_ELEMENTS))  # from the shape only
        values = np.empty(parts, self.acc_dtype)
        if self.kind in ("argmax", "argmin"):
            positions = np.empty(parts, np.int64)
            self._run((*inputs, values, positions), threads)
            seen = positions >= 0
            pick = np.argmax if self.kind == "argmax" else np.argmin
            result = positions[seen][pick(values[seen])]   # first chunk wins ties; NaN first
        else:
            self._run((*inputs, values), threads)
            result = _COMBINE[self.kind].reduce(values)
        return np.asarray(result).astype(self.out_dtype).reshape(out_shape)

    def _fail(self, rc, arrays):
        self.node.op.loop_shape(self.node, arrays[:len(self.node.inputs)])
        info = self.kernel.meta.get("checks", {}).get(rc, {})
        raise ValueError(f"{self.node.op}: shape check {rc} failed ({info}); input shapes "
                         f"{[a.shape for a in arrays[:len(self.node.inputs)]]}")
