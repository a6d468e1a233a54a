"""The thunk of a node with no native code: its op's NumPy `perform`.

Results are checked against the node's output types, so native code downstream
can trust every array's dtype, ndim and alignment.
"""
from __future__ import annotations

import numpy as np


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
