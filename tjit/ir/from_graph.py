"""Lowering of graph nodes to loop-IR kernels (FusedElemwise -> elementwise kernel,
FusedReduce -> reduction kernel), and what every fused kind's lowering shares: the
IR of a ScalarProgram (`program_exprs`) and the structure hash of a kernel."""
from __future__ import annotations

import hashlib

import numpy as np

from .. import scalar as ts
from .lower import elementwise_kernel
from .lower_reduce import reduction_kernel
from .nodes import Buffer, Cast, Const, Load, Op


def expr_dtype(e):
    return e.dtype


def _cast(e, dtype):
    if expr_dtype(e) == dtype:
        return e
    if isinstance(e, Const):
        return Const(np.asarray(e.value).astype(dtype).item(), dtype)
    return Cast(e, dtype)


def scalar_expr(op, args):
    """The IR expression of ScalarOp `op` applied to IR expressions `args`."""
    dtypes = [expr_dtype(a) for a in args]
    out = op.output_dtype(*dtypes)
    if isinstance(op, ts.Cast):
        return _cast(args[0], op.dtype)
    if op is ts.second:
        return _cast(args[1], out)
    if op is ts.identity:
        return _cast(args[0], out)
    if op is ts.switch:
        cond = args[0]
        if expr_dtype(cond) != "bool":
            cond = Op("neq", (cond, Const(0, expr_dtype(cond))), "bool")
        return Op("switch", (cond, _cast(args[1], out), _cast(args[2], out)), out)
    if op.rule == "pred" and dtypes[0] in ts.DISCRETE:
        return Const(False, "bool")  # ints are never nan or inf
    compute = op.compute_dtype(*dtypes)
    cast_args = tuple(_cast(a, compute) for a in args)
    return Op(op.ir_name, cast_args, out)


class Verbatim(str):
    """Text that `repr` leaves as it is: a program's `steps_key()` inside a
    structure tuple reads as it did when the steps were a list in that tuple."""

    def __repr__(self):
        return str(self)


def structure_hash(*parts):
    """A stable hash of `parts` (reprs of tuples, strings, ints, dtypes and
    Verbatim texts), for a kernel's name and compile-cache key."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def steps_text(program):
    """`program`'s step structure, for a `structure_hash` part."""
    return Verbatim(program.steps_key())


def input_types(node):
    return [(v.dtype, v.broadcastable) for v in node.inputs]


def program_exprs(program, inputs):
    """The IR expressions of the outputs of ScalarProgram `program`, input i
    being a placeholder load of Buffer `inputs[i]` at index () (the kernel
    builders place the loads)."""
    return program.run(lambda i: Load(inputs[i], ()), lambda value, dtype: Const(value, dtype),
                       scalar_expr)


def structure_key(node):
    """A hash of everything that determines the kernel of a FusedElemwise node
    (stable across processes; the lowering code is covered by the cache's code
    version), so compiled code is found without serializing the kernel."""
    op = node.op
    return structure_hash(op.axes, steps_text(op.program),
                          tuple(ref[1] for ref in op.program.outputs), op.broadcastable,
                          input_types(node))


def lower_fused(node):
    """The elementwise Kernel computing a FusedElemwise node."""
    op = node.op
    ins = [Buffer(f"in{i}", v.dtype, v.broadcastable) for i, v in enumerate(node.inputs)]
    outs = [Buffer(f"out{j}", v.dtype, v.broadcastable) for j, v in enumerate(node.outputs)]
    exprs = [_cast(e, b.dtype) for e, b in zip(program_exprs(op.program, ins), outs)]
    key = structure_key(node)
    kernel = elementwise_kernel("tjit_fused_" + key[:16], list(zip(ins, op.axes)), outs, exprs)
    kernel.meta["cache_key"] = "fused " + key
    return kernel


def lower_fused_reduce(node):
    """The reduction Kernel computing a FusedReduce node (see `reduction_kernel`)."""
    op = node.op
    ins = [Buffer(f"in{i}", v.dtype, v.broadcastable) for i, v in enumerate(node.inputs)]
    (value,) = program_exprs(op.program, ins)
    key = structure_hash(op.kind, op.reduced, op.acc_dtype, op.dtype, op.program.outputs[0],
                         op.broadcastable, op.axes, steps_text(op.program), input_types(node))
    kernel = reduction_kernel("tjit_reduce_" + key[:16], list(zip(ins, op.axes)), value,
                              op.kind, op.reduced, op.broadcastable, op.acc_dtype, op.dtype)
    kernel.meta["cache_key"] = "reduce " + key
    return kernel
