"""FusedElemwise: a group of elementwise ops evaluated in one loop nest.

The fusion pass builds it; the ir stage lowers it to one kernel that reads each
input once and writes each output once. Its `perform` evaluates the same scalar
program with NumPy (the reference used by DebugMode and by tests).
"""
from __future__ import annotations

import numpy as np

from ..graph import Apply, Op
from ..tensor.type import TensorType
from .scalar_program import ScalarProgram


class FusedElemwise(Op):
    """The outputs of `program` (a ScalarProgram whose output refs are steps)
    over `n_inputs` inputs.

    `axes[i][d]` is the axis of input i iterated by loop dim d, or None when input i
    does not vary along d (absorbs DimShuffles of the inputs). All outputs have the
    loop rank and the broadcast pattern `broadcastable`.
    """

    __props__ = ("axes", "program", "broadcastable")

    def __init__(self, axes, program, broadcastable):
        if not (isinstance(program, ScalarProgram)
                and all(ref[0] == "step" for ref in program.outputs)):
            raise TypeError(f"FusedElemwise needs a ScalarProgram whose outputs are steps, "
                            f"got {program!r}")
        self.axes = tuple(tuple(a) for a in axes)
        self.program = program
        self.broadcastable = tuple(broadcastable)

    @property
    def n_inputs(self):
        return len(self.axes)

    def output_dtypes(self, input_dtypes):
        return self.program.dtypes(list(input_dtypes))

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

    def check_shapes(self, node, arrays):
        """ValueError naming the inputs whose sizes disagree (else nothing)."""
        self.loop_shape(node, arrays)

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
        return [np.array(np.broadcast_to(v, shape)) for v in self.program.evaluate(ins)]

    def __str__(self):
        names = self.program.op_names
        if len(names) > 4:
            names = names[:2] + ["..."] + names[-1:]
        return f"FusedElemwise{{{','.join(names)}}}"

