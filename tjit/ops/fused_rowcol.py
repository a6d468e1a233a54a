"""FusedRowCol: a row reduction of X, per-row elementwise work, and a column
reduction of X weighted by its result, in one pass over X.

    z = sum_j X[:, j] * v[j]              (dot(X, v))
    g = program(z, row vectors, scalars)  (a fused scalar program, per row)
    col = sum_i X[i, :] * g[i]            (dot(X.T, g))

Logistic regression's training step is this shape (the forward X.w, the
per-row gradient of the loss, the backward X^T g). Run as two reductions, X is
read from memory twice; the rowcol_fusion rewrite builds this node so that the
native kernel (`tjit.ir.lower_rowcol`) takes X in blocks of rows that stay in
cache between the row dots and the column accumulation. Outputs z, g and col;
`perform` is the NumPy reference.
"""
from __future__ import annotations

import numpy as np

from ..graph import Apply, Op
from .scalar_program import ScalarProgram
from ..tensor.type import TensorType


class FusedRowCol(Op):
    """Inputs X (matrix), v (vector), then the program's other inputs (row vectors
    of length len(X) or 0-d scalars). `program` (a ScalarProgram with one output,
    g) is over the program inputs: the others with z inserted at `zpos`;
    `ext_axes[k]` is (0,) for a row vector, (None,) for a scalar."""

    __props__ = ("program", "zpos", "ext_axes", "acc_dtype")

    def __init__(self, program, zpos, ext_axes, acc_dtype):
        if not (isinstance(program, ScalarProgram) and len(program.outputs) == 1):
            raise TypeError(f"FusedRowCol needs a ScalarProgram with one output, "
                            f"got {program!r}")
        self.acc_dtype = acc_dtype   # both sums accumulate in it (float32 data: float64)
        self.program = program
        self.zpos = zpos
        self.ext_axes = tuple(tuple(a) for a in ext_axes)

    def value_dtype(self, input_dtypes):
        return self.program.dtypes(list(input_dtypes))[0]

    def program_inputs(self, z, others):
        ins = list(others)
        ins.insert(self.zpos, z)
        return ins

    def make_node(self, X, v, *others):
        dtype = X.dtype
        if (X.ndim != 2 or v.ndim != 1 or v.dtype != dtype or dtype not in ("float32", "float64")
                or self.acc_dtype not in ("float32", "float64")
                or np.dtype(self.acc_dtype).itemsize < np.dtype(dtype).itemsize):
            raise TypeError(f"{self}: needs a float matrix and a vector of its dtype, got "
                            f"{X.type} and {v.type}")
        if len(others) + 1 != len(self.ext_axes):
            raise TypeError(f"{self} takes {len(self.ext_axes) + 1} inputs, "
                            f"got {len(others) + 2}")
        for k, (x, ax) in enumerate(zip(self.program_inputs(None, others), self.ext_axes)):
            if k == self.zpos:
                continue
            if not ((ax == (0,) and x.ndim == 1) or (ax == (None,) and x.ndim == 0)):
                raise TypeError(f"{self}: input {x} ({x.type}) is neither a row vector "
                                "nor a scalar")
        gdt = self.value_dtype(self.program_inputs(dtype, [x.dtype for x in others]))
        if gdt != dtype:
            raise TypeError(f"{self}: the per-row program gives {gdt}, not {dtype}")
        outs = [TensorType(dtype, (False,))() for _ in range(3)]
        return Apply(self, [X, v] + list(others), outs)

    def check_shapes(self, node, inputs):
        """ValueError naming the culprit when the input sizes disagree."""
        X, v, *others = inputs
        if X.shape[1] != v.shape[0]:
            raise ValueError(f"dot: shapes not aligned: {node.inputs[0]} of shape {X.shape} "
                             f"and {node.inputs[1]} of shape {v.shape} (dim 1 of the first is "
                             f"{X.shape[1]}, dim 0 of the second is {v.shape[0]})")
        for var, a in zip(node.inputs[2:], others):
            if a.ndim == 1 and a.shape[0] != X.shape[0]:
                raise ValueError(f"elementwise shape mismatch: {var} has shape {a.shape}, but "
                                 f"the rows of {node.inputs[0]} (shape {X.shape}) number "
                                 f"{X.shape[0]}")

    def perform(self, node, inputs):
        self.check_shapes(node, inputs)
        X, v, *others = inputs
        dtype = X.dtype
        z = (X * v[None, :]).sum(axis=1, dtype=self.acc_dtype).astype(dtype)
        ins = self.program_inputs(z, [np.asarray(a) for a in others])
        g = np.array(np.broadcast_to(self.program.evaluate(ins)[0], z.shape), dtype=dtype)
        col = (X * g[:, None]).sum(axis=0, dtype=self.acc_dtype).astype(dtype)
        return [np.asarray(z, dtype), g, np.asarray(col, dtype)]

    def grad(self, inputs, output_grads):
        raise NotImplementedError("FusedRowCol only appears in compiled graphs")

    def __str__(self):
        names = self.program.op_names
        if len(names) > 3:
            names = names[:1] + ["..."] + names[-1:]
        return f"FusedRowCol{{{','.join(names)}}}"
