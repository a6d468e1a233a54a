"""FusedRows: reductions over the last loop dim and the elementwise program that
consumes them, run row by row in one loop nest.

softmax is max over a row, then the sum of exp(x - max) over it, then
exp(x - max) / sum at every point of it. As separate kernels that is three
passes over x; the rowwise_fusion pass makes it one FusedRows node whose kernel
(`tjit.ir.lower_rowwise`) visits each row once: the row is read from memory
once and stays in cache while the reductions and the stores run over it.

Programs use one ref space: ('in', i) for i < len(axes) is input i, and
('in', len(axes) + k) is the result of reduction k (a value per row, broadcast
along the row) (see ScalarProgram for the refs).
"""
from __future__ import annotations

import numpy as np

from ..graph import Apply, Op
from .fused_elemwise import FusedElemwise
from .scalar_program import ScalarProgram
from ..tensor.reduction import NEEDS_NONEMPTY, reference_reduce
from ..tensor.type import TensorType

KINDS = ("sum", "prod", "max", "min")


class RowReduction:
    """Reduction k of a FusedRows: `kind` over the last loop dim of the value of
    `program` (a ScalarProgram with one output), accumulated in `acc_dtype`,
    result of dtype `dtype`."""

    __slots__ = ("kind", "program", "acc_dtype", "dtype")

    def __init__(self, kind, program, acc_dtype, dtype):
        if kind not in KINDS:
            raise ValueError(f"FusedRows cannot reduce with {kind!r} (only {KINDS})")
        if not (isinstance(program, ScalarProgram) and len(program.outputs) == 1):
            raise TypeError(f"RowReduction needs a ScalarProgram with one output, "
                            f"got {program!r}")
        self.kind, self.program = kind, program
        self.acc_dtype, self.dtype = acc_dtype, dtype

    def _key(self):
        return (self.kind, self.program, self.acc_dtype, self.dtype)

    def __eq__(self, other):
        return isinstance(other, RowReduction) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return f"RowReduction{self._key()!r}"


class FusedRows(Op):
    """The outputs of `program` (a ScalarProgram whose output refs are steps) over
    the inputs and the per-row results of `reductions` (in order; each may use the
    ones before it). `axes`/`broadcastable` describe the loop as in FusedElemwise;
    the last loop dim is the row."""

    __props__ = ("axes", "reductions", "program", "broadcastable")

    def __init__(self, axes, reductions, program, broadcastable):
        if not (isinstance(program, ScalarProgram)
                and all(ref[0] == "step" for ref in program.outputs)):
            raise TypeError(f"FusedRows needs a ScalarProgram whose outputs are steps, "
                            f"got {program!r}")
        self.axes = tuple(tuple(a) for a in axes)
        self.reductions = tuple(reductions)
        self.program = program
        self.broadcastable = tuple(broadcastable)
        if not self.broadcastable or self.broadcastable[-1]:
            raise ValueError("FusedRows: the last loop dim (the row) must not be broadcastable")

    @property
    def n_inputs(self):
        return len(self.axes)

    def _dtypes(self, input_dtypes):
        """(reduction result dtypes, output dtypes), checking the programs' refs."""
        refs = list(input_dtypes)
        for k, r in enumerate(self.reductions):
            if r.program.dtypes(refs)[0] is None:
                raise TypeError(f"{self}: reduction {k} has no value")
            refs.append(r.dtype)
        return refs[len(input_dtypes):], self.program.dtypes(refs)

    def make_node(self, *inputs):
        if len(inputs) != self.n_inputs:
            raise TypeError(f"{self} takes {self.n_inputs} inputs, got {len(inputs)}")
        for i, (x, ax) in enumerate(zip(inputs, self.axes)):
            used = [a for a in ax if a is not None]
            if any(not x.broadcastable[a] for a in range(x.ndim) if a not in used):
                raise TypeError(f"{self}: input {i} ({x}) has dims not in the loop")
        _, dtypes = self._dtypes([x.dtype for x in inputs])
        return Apply(self, list(inputs), [TensorType(dt, self.broadcastable)() for dt in dtypes])

    check_shapes = FusedElemwise.check_shapes

    def loop_shape(self, node, arrays):
        return FusedElemwise.loop_shape(self, node, arrays)

    def check_rows(self, node, shape):
        """ValueError when a max/min reduces an empty row (as the unfused graph)."""
        if shape[-1] == 0:
            for r in self.reductions:
                if r.kind in NEEDS_NONEMPTY:
                    raise ValueError(f"{self}: {r.kind} of an empty axis (loop shape {shape}) "
                                     "has no identity")

    def perform(self, node, inputs):
        shape = self.loop_shape(node, inputs)
        self.check_rows(node, shape)
        refs = list(FusedElemwise.aligned_inputs(self, inputs))
        last = len(shape) - 1
        for r in self.reductions:
            v = np.broadcast_to(r.program.evaluate(refs)[0], shape)
            result = reference_reduce(r.kind, v, (last,), r.acc_dtype, r.dtype, self)
            refs.append(np.expand_dims(result, last))
        return [np.array(np.broadcast_to(value, shape), dtype=v.dtype)
                for value, v in zip(self.program.evaluate(refs), node.outputs)]

    def __str__(self):
        kinds = ",".join(r.kind for r in self.reductions)
        names = self.program.op_names
        if len(names) > 3:
            names = names[:1] + ["..."] + names[-1:]
        return f"FusedRows{{{kinds};{','.join(names)}}}"
