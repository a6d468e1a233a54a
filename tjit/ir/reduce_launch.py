"""Kernel kind: fused reduction (FusedReduce -> `reduction_kernel`, see lower_reduce).

Work is split only over output points (schedules reduce_inner/reduce_outer), or
over a number of chunks P of the first reduced loop chosen from the shape alone
(schedule partials: a reduction to a single value; outer_partials: a reduction
over the outer dims into the innermost one, whose tasks are chunk x column tile);
`finish` combines the P partial results in order. So every result is
bit-identical whatever `tjit.config.threads` is.
"""
from __future__ import annotations

import math

import numpy as np

from ..ops.fused_reduce import FusedReduce
from ..tensor.reduction import NEEDS_NONEMPTY
from .from_graph import lower_fused_reduce
from .launch import Launch, loop_shape, shape_plan
from .lower import outer_extent
from .lower_reduce import TILE
from .lowering import lower

CHUNK_ELEMENTS = 1 << 15   # partials: about this many elements per chunk ...
MAX_PARTIALS = 256         # ... and at most this many chunks
ROW_CHUNKS = 6             # outer_partials: at most this many chunks (divides 2, 3, 6) ...
MIN_CHUNK_ROWS = 64        # ... of at least this many rows of the first reduced dim
# A reduction streams its input at a few elements per cycle, several times the
# elementwise rate the runtime's MIN_PARALLEL_ELEMENTS (2**16) is tuned for: its
# work is reported as elements / WORK_DIVISOR, so it splits from 2**18 elements
# (below, one thread is done in ~100 us, before a second thread on a busy core is
# reliably awake; 10**5-element sums on 2 busy cores ran 10-100x slower split).
WORK_DIVISOR = 4
# ... when the reduced value is this cheap: a value with a division or a math
# function (W5's cross-entropy, two softplus per element) costs more than its
# read, and splits from MIN_PARALLEL_ELEMENTS as elementwise work does
CHEAP_OPS = frozenset(("add", "sub", "mul", "neg", "sqr", "abs", "maximum", "minimum",
                       "second", "identity", "switch", "eq", "neq", "lt", "gt", "le", "ge",
                       "and", "or", "xor", "invert", "isnan", "isinf"))


def _work_divisor(program):
    names = program.op_names
    cheap = all(n in CHEAP_OPS or n.startswith("convert") for n in names)
    return WORK_DIVISOR if cheap else 1
_COMBINE = {"sum": np.add, "prod": np.multiply, "max": np.maximum, "min": np.minimum,
            "all": np.logical_and, "any": np.logical_or}


class ReduceLaunch(Launch):
    """One output of the kept dims (reduce_inner/reduce_outer), or partial
    results (chunk axis first: values, then positions for argmax/argmin or the
    squares' sums for m2) combined by `finish`.

    prepare raises ValueError for max/min/argmax/argmin/... of an empty axis;
    m2 (var) of an empty axis is zeros without a call; finish hands an m2 result
    that is not finite to the NumPy reference (inf/NaN in x, or the one-pass sums
    overflowed where the two-pass ones may not: rare, so its speed is moot).
    """

    n_pools = 1   # the output; partials are small and short-lived

    def __init__(self, node, kernel):
        super().__init__(node, kernel)
        op = node.op
        meta = kernel.meta
        self.kind, self.reduced = op.kind, op.reduced
        self.kept = [d for d in range(len(op.broadcastable)) if d not in op.reduced]
        self.schedule = meta["schedule"]
        self.partial = self.schedule in ("partials", "outer_partials")
        self.m2 = op.kind == "m2"
        self.first_reduced, self.inner_kept = meta["first_reduced"], meta["inner_kept"]
        self.tile = meta.get("tile", TILE)
        self.n_inputs = kernel.n_inputs
        self.out_dtype = np.dtype(node.outputs[0].dtype)
        self.part_dtypes = [np.dtype(b.dtype) for b in kernel.buffers[kernel.n_inputs:]]
        self.plan = shape_plan(node)
        self.divisor = _work_divisor(op.program)

    def prepare(self, inputs, alloc):
        """carry: the output, or (partials, loop shape, output shape) to combine."""
        shape = loop_shape(self.plan, inputs)
        total = math.prod(shape)
        out_shape = tuple([shape[d] for d in self.kept])
        if not total and any([shape[d] == 0 for d in self.reduced]):
            if self.kind in NEEDS_NONEMPTY:
                self.node.op.loop_shape(self.node, inputs)   # a shape mismatch reads better
                raise ValueError(f"{self.node.op}: {self.kind} of an empty axis (loop shape "
                                 f"{shape}, reduced dims {list(self.reduced)}) has no "
                                 f"identity")
            if self.m2:
                return None, 0, np.zeros(out_shape, self.out_dtype)  # no first point
        work = total // self.divisor
        if not self.partial:
            out = alloc(0, out_shape, self.out_dtype)
            return (*inputs, out), work, out
        if self.schedule == "partials":     # P from the shape only
            part_shape = (max(1, min(MAX_PARTIALS, total // CHUNK_ELEMENTS)),)
        else:
            parts = max(1, min(ROW_CHUNKS, shape[self.first_reduced] // MIN_CHUNK_ROWS,
                               total // CHUNK_ELEMENTS))
            part_shape = (parts,) + out_shape
        parts = [np.empty(part_shape, dt) for dt in self.part_dtypes]
        return (*inputs, *parts), work, (parts, shape, out_shape)

    def extent(self, args):
        if self.schedule == "outer_partials":    # tasks: chunk x column tile
            shape = loop_shape(self.plan, args)
            return args[self.n_inputs].shape[0] * -(-shape[self.inner_kept] // self.tile)
        return outer_extent(self.kernel, args)

    def finish(self, carry, inputs):
        result = self._combine(*carry) if type(carry) is tuple else carry
        if self.m2 and not np.isfinite(result).all():
            return self.node.op.perform(self.node, inputs)
        return [result]

    def _combine(self, parts, shape, out_shape):
        """The partial results combined over their chunk axis, in order."""
        values = parts[0]
        if self.kind in ("argmax", "argmin"):
            # the first chunk wins ties and NaNs; empty chunks (position -1) come last
            # and hold the identity, so they never win
            pick = (np.argmax if self.kind == "argmax" else np.argmin)(values, axis=0)
            result = np.take_along_axis(parts[1], pick[None], 0)[0]
        elif self.m2:
            s1, s2 = np.add.reduce(values, axis=0), np.add.reduce(parts[1], axis=0)
            n = math.prod(shape[d] for d in self.reduced)
            with np.errstate(all="ignore"):
                result = np.maximum(s2 - s1 * (s1 / n), 0)
        else:
            result = _COMBINE[self.kind].reduce(values, axis=0)
        return np.asarray(result).astype(self.out_dtype).reshape(out_shape)


@lower.register(FusedReduce)
def lower_reduction(op, node, level):
    """The launch of FusedReduce `node`: its reduction kernel (any `level`)."""
    return ReduceLaunch(node, lower_fused_reduce(node))
