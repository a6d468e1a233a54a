"""ScalarProgram: the scalar program of a fused op, one immutable value.

A program is a sequence of steps, each one ScalarOp applied to refs, and the
refs of its outputs. A ref is a plain tuple:

    ('in', i)             input i (an array, a dtype or an IR value: the caller's)
    ('step', j)           the value of step j (steps refer only to earlier steps)
    ('const', value, dt)  a scalar constant of dtype dt

Every reading of a program goes through `run` (or its uses here: `dtypes`,
`evaluate`; the IR lowering is `tjit.ir.from_graph.program_exprs`), so nothing
else walks the steps. Programs compare and hash by value: the fused ops hold one
in their `__props__`, which merge relies on.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Step:
    """One scalar op applied to refs: ('in', i), ('step', j) or ('const', value, dtype)."""
    op: object
    args: tuple


@dataclass(frozen=True)
class ScalarProgram:
    """`steps` (tuple of Step) and `outputs` (tuple of refs) over inputs addressed
    by index."""
    steps: tuple
    outputs: tuple

    def __init__(self, steps, outputs):
        steps = tuple(s if isinstance(s, Step) else Step(*s) for s in steps)
        outputs = tuple(tuple(r) for r in outputs)
        for j, s in enumerate(steps):
            for r in tuple(s.args):
                _check_ref(r, j)
        for r in outputs:
            _check_ref(r, len(steps))
        object.__setattr__(self, "steps", tuple(Step(s.op, tuple(s.args)) for s in steps))
        object.__setattr__(self, "outputs", outputs)

    def run(self, input_value, const_value, apply):
        """The values of the output refs, interpreting the program with
        `input_value(i)`, `const_value(value, dtype)` and `apply(scalar_op, args)`
        (called once per step, in order)."""
        values = []

        def resolve(ref):
            if ref[0] == "in":
                return input_value(ref[1])
            if ref[0] == "step":
                return values[ref[1]]
            return const_value(ref[1], ref[2])

        for step in self.steps:
            values.append(apply(step.op, [resolve(r) for r in step.args]))
        return [resolve(r) for r in self.outputs]

    def dtypes(self, input_dtypes):
        """The dtypes of the outputs over inputs of `input_dtypes`."""
        return self.run(input_dtypes.__getitem__, lambda value, dtype: dtype,
                        lambda op, args: op.output_dtype(*args))

    def dtype_of(self, ref, input_dtypes):
        """The dtype of `ref` (any ref into this program) over `input_dtypes`."""
        return ScalarProgram(self.steps, (ref,)).dtypes(input_dtypes)[0]

    def evaluate(self, inputs):
        """The NumPy reference: the values of the outputs over the arrays `inputs`
        (broadcast against each other; not broadcast to any loop shape)."""
        return self.run(inputs.__getitem__, lambda value, dtype: np.asarray(value, dtype=dtype),
                        lambda op, args: op.impl(*args))

    def with_inputs(self, index_of):
        """This program with input i renumbered to `index_of(i)`."""
        def ref(r):
            return ("in", index_of(r[1])) if r[0] == "in" else r
        return ScalarProgram([Step(s.op, tuple(ref(a) for a in s.args)) for s in self.steps],
                             [ref(r) for r in self.outputs])

    def with_outputs(self, outputs):
        """The same steps with output refs `outputs`."""
        return ScalarProgram(self.steps, outputs)

    @property
    def op_names(self):
        """The scalar op names of the steps, in order (for printing)."""
        return [s.op.name for s in self.steps]

    def key(self):
        """A stable text of the whole structure: `steps_key()` and the output refs.
        Equal programs have equal keys, and the text is the same in every process."""
        return f"{self.steps_key()} -> {self.outputs!r}"

    def steps_key(self):
        """A stable text of the steps: op names, their dtype parameter (casts),
        args with constants and their dtypes. (The fused ops' cache keys embed it
        with their output refs where those always were, so keys and kernel names
        did not change when this class replaced the step tuples.)"""
        return repr([(s.op.name, getattr(s.op, "dtype", None), s.args) for s in self.steps])

    def __len__(self):
        return len(self.steps)

    def __repr__(self):
        return f"ScalarProgram({self.key()})"


def _check_ref(ref, n_steps):
    ok = (len(ref) == 2 and ref[0] == "in" and ref[1] >= 0) or \
         (len(ref) == 2 and ref[0] == "step" and 0 <= ref[1] < n_steps) or \
         (len(ref) == 3 and ref[0] == "const")
    if not ok:
        raise ValueError(f"bad ref {ref!r} (after {n_steps} steps)")
