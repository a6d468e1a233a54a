"""FusedReduce: a reduction whose reduced value is a fused scalar program.

The reduce_fusion pass builds it from a Reduce node and the elementwise nodes
that produce its input, so `((x - 1.5) ** 2).sum(axis=0)` reads x once and
materializes nothing the size of x. Its lowering (`tjit.ir.reduce_launch`) runs
`tjit.ir.lower_reduce.reduction_kernel`; `perform` evaluates the same program
with NumPy (the reference of DebugMode and of tests). Matrix-vector products are
the subclass MatVec (`tjit.ops.matvec`).
"""
from __future__ import annotations

from ..graph import Apply, Op
from .fused_elemwise import FusedElemwise
from .scalar_program import ScalarProgram
from ..tensor.reduction import reference_reduce
from ..tensor.type import TensorType

import numpy as np


class FusedReduce(Op):
    """Reduce with `kind` over loop dims `reduced` the value of `program` (a
    ScalarProgram with one output, an input or a step) over the inputs.

    `axes` and `broadcastable` describe the loop over the *unreduced* domain as in
    FusedElemwise; the output has the kept dims (in order) and dtype `dtype`;
    values are accumulated in `acc_dtype` (None for argmax/argmin).
    """

    __props__ = ("kind", "axes", "program", "reduced", "broadcastable", "acc_dtype", "dtype")

    def __init__(self, kind, axes, program, reduced, broadcastable, acc_dtype, dtype):
        if not (isinstance(program, ScalarProgram) and len(program.outputs) == 1
                and program.outputs[0][0] != "const"):
            raise TypeError(f"FusedReduce needs a ScalarProgram with one non-constant "
                            f"output, got {program!r}")
        self.kind = kind
        self.axes = tuple(tuple(a) for a in axes)
        self.program = program
        self.reduced = tuple(reduced)
        self.broadcastable = tuple(broadcastable)
        self.acc_dtype, self.dtype = acc_dtype, dtype

    def value_dtype(self, input_dtypes):
        return self.program.dtypes(list(input_dtypes))[0]

    def make_node(self, *inputs):
        if len(inputs) != len(self.axes):
            raise TypeError(f"{self} takes {len(self.axes)} inputs, got {len(inputs)}")
        for i, (x, ax) in enumerate(zip(inputs, self.axes)):
            used = [a for a in ax if a is not None]
            if any(not x.broadcastable[a] for a in range(x.ndim) if a not in used):
                raise TypeError(f"{self}: input {i} ({x}) has dims not in the loop")
        bc = tuple(b for d, b in enumerate(self.broadcastable) if d not in self.reduced)
        return Apply(self, list(inputs), [TensorType(self.dtype, bc)()])

    check_shapes = FusedElemwise.check_shapes

    def loop_shape(self, node, arrays):
        """The unreduced loop shape; ValueError naming inputs whose sizes disagree."""
        return FusedElemwise.loop_shape(self, node, arrays)

    def perform(self, node, inputs):
        shape = self.loop_shape(node, inputs)
        ins = FusedElemwise.aligned_inputs(self, inputs)
        v = np.broadcast_to(self.program.evaluate(ins)[0], shape)
        return [reference_reduce(self.kind, v, self.reduced, self.acc_dtype, self.dtype,
                                 node.inputs[0] if node.inputs else self)]

    def __str__(self):
        names = self.program.op_names
        if len(names) > 3:
            names = names[:1] + ["..."] + names[-1:]
        inner = ",".join(names)
        return f"FusedReduce{{{self.kind}{'(' + inner + ')' if inner else ''}, " \
               f"axis={list(self.reduced)}}}"
