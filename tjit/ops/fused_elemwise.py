"""FusedElemwise: a group of elementwise ops evaluated in one loop nest.

The fusion pass builds it; the ir stage lowers it to one kernel that reads each
input once and writes each output once. Its `perform` evaluates the same scalar
program with NumPy (the reference used by DebugMode and by tests).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..graph import Apply, Op
from ..tensor.type import TensorType


@dataclass(frozen=True)
class Step:
    """One scalar op applied to refs: ('in', i), ('step', j) or ('const', value, dtype)."""
    op: object
    args: tuple


class FusedElemwise(Op):
    """Outputs `outputs` (step indices) of a scalar program over `n_inputs` inputs.

    `axes[i][d]` is the axis of input i iterated by loop dim d, or None when input i
    does not vary along d (absorbs DimShuffles of the inputs). All outputs have the
    loop rank and the broadcast pattern `broadcastable`.
    """

    __props__ = ("axes", "steps", "outputs", "broadcastable")

    def __init__(self, axes, steps, outputs, broadcastable):
        self.axes = tuple(tuple(a) for a in axes)
        self.steps = tuple(steps)
        self.outputs = tuple(outputs)
        self.broadcastable = tuple(broadcastable)

    @property
    def n_inputs(self):
        return len(self.axes)

    def output_dtypes(self, input_dtypes):
        dtypes = []
        for step in self.steps:
            arg_dtypes = [_ref_dtype(r, input_dtypes, dtypes) for r in step.args]
            dtypes.append(step.op.output_dtype(*arg_dtypes))
        return [dtypes[j] for j in self.outputs]

    def make_node(self, *inputs):
        if len(inputs) != self.n_inputs:
            raise TypeError(f"{self} takes {self.n_inputs} inputs, got {len(inputs)}")
        for i, (x, ax) in enumerate(zip(inputs, self.axes)):
            used = [a for a in ax if a is not None]
            missing = [a for a in range(x.ndim) if a not in used]
            if any(not x.broadcastable[a] for a in missing):
                raise TypeError(f"{self}: input {i} ({x}) has dims {missing} not in the loop")
        dtypes = self.output_dtypes([x.dtype for x in inputs])
        outs = [TensorType(dt, self.broadcastable)() for dt in dtypes]
        return Apply(self, list(inputs), outs)

    def aligned_inputs(self, arrays):
        """Input arrays as views with the loop rank (size-1 dims where absent)."""
        out = []
        for a, ax in zip(arrays, self.axes):
            present = [x for x in ax if x is not None]
            rest = [d for d in range(a.ndim) if d not in present]
            t = np.transpose(a, present + rest).reshape([a.shape[x] for x in present])
            shape = [1 if x is None else a.shape[x] for x in ax]
            out.append(t.reshape(shape))
        return out

    def loop_shape(self, node, arrays):
        """The output shape; ValueError naming the inputs whose sizes disagree."""
        shape, first = [], {}
        for d, b in enumerate(self.broadcastable):
            size = 1
            for i, (x, a, ax) in enumerate(zip(node.inputs, arrays, self.axes)):
                if ax[d] is None or x.broadcastable[ax[d]]:
                    continue
                n = a.shape[ax[d]]
                if d in first and n != first[d][0]:
                    j, other = first[d][1], node.inputs[first[d][1]]
                    raise ValueError(
                        f"elementwise shape mismatch: input {i} ({x}, shape {a.shape}) has "
                        f"size {n} along its axis {ax[d]}, but input {j} ({other}, shape "
                        f"{arrays[j].shape}) has size {first[d][0]} there; only "
                        "broadcastable dims may differ")
                first.setdefault(d, (n, i))
                size = n
            shape.append(size)
        return tuple(shape)

    def perform(self, node, inputs):
        shape = self.loop_shape(node, inputs)
        ins = self.aligned_inputs(inputs)
        values = []
        for step in self.steps:
            args = [_ref_value(r, ins, values) for r in step.args]
            values.append(step.op.impl(*args))
        return [np.array(np.broadcast_to(values[j], shape)) for j in self.outputs]

    def __str__(self):
        names = [s.op.name for s in self.steps]
        if len(names) > 4:
            names = names[:2] + ["..."] + names[-1:]
        return f"FusedElemwise{{{','.join(names)}}}"


def _ref_dtype(ref, input_dtypes, step_dtypes):
    if ref[0] == "in":
        return input_dtypes[ref[1]]
    if ref[0] == "step":
        return step_dtypes[ref[1]]
    return ref[2]


def program_dtype(steps, value, input_dtypes):
    """The dtype of ref `value` in a step program over inputs of `input_dtypes`."""
    dtypes = []
    for step in steps:
        dtypes.append(step.op.output_dtype(*[_ref_dtype(r, input_dtypes, dtypes)
                                             for r in step.args]))
    return _ref_dtype(value, input_dtypes, dtypes)


def _ref_value(ref, inputs, values):
    if ref[0] == "in":
        return inputs[ref[1]]
    if ref[0] == "step":
        return values[ref[1]]
    return np.asarray(ref[1], dtype=ref[2])
