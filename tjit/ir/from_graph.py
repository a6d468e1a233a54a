"""Lowering of graph nodes to loop-IR kernels (FusedElemwise -> elementwise kernel,
FusedReduce -> reduction kernel)."""
from __future__ import annotations

import hashlib

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
        import numpy as np
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


def structure_key(node):
    """A hash of everything that determines the kernel of a FusedElemwise node
    (stable across processes; the lowering code is covered by the cache's code
    version), so compiled code is found without serializing the kernel."""
    text = repr((node.op.axes, [(s.op.name, getattr(s.op, "dtype", None), s.args)
                                for s in node.op.steps], node.op.outputs, node.op.broadcastable,
                 [(v.dtype, v.broadcastable) for v in node.inputs]))
    return hashlib.sha256(text.encode()).hexdigest()


def lower_fused(node):
    """The elementwise Kernel computing a FusedElemwise node."""
    op = node.op
    ins = [Buffer(f"in{i}", v.dtype, v.broadcastable) for i, v in enumerate(node.inputs)]
    outs = [Buffer(f"out{j}", v.dtype, v.broadcastable) for j, v in enumerate(node.outputs)]
    values = []
    for step in op.steps:
        args = []
        for ref in step.args:
            if ref[0] == "in":
                args.append(Load(ins[ref[1]], ()))
            elif ref[0] == "step":
                args.append(values[ref[1]])
            else:
                args.append(Const(ref[1], ref[2]))
        values.append(scalar_expr(step.op, args))
    exprs = [_cast(values[j], b.dtype) for j, b in zip(op.outputs, outs)]
    key = structure_key(node)
    kernel = elementwise_kernel("tjit_fused_" + key[:16], list(zip(ins, op.axes)), outs, exprs)
    kernel.meta["cache_key"] = "fused " + key
    return kernel


def _program(op, ins):
    """IR values of the steps of a fused scalar program over placeholder loads."""
    values = []

    def resolve(ref):
        if ref[0] == "in":
            return Load(ins[ref[1]], ())
        if ref[0] == "step":
            return values[ref[1]]
        return Const(ref[1], ref[2])

    for step in op.steps:
        values.append(scalar_expr(step.op, [resolve(r) for r in step.args]))
    return resolve


def lower_fused_reduce(node):
    """The reduction Kernel computing a FusedReduce node (see `reduction_kernel`)."""
    op = node.op
    ins = [Buffer(f"in{i}", v.dtype, v.broadcastable) for i, v in enumerate(node.inputs)]
    value = _program(op, ins)(op.value)
    text = repr((op.kind, op.reduced, op.acc_dtype, op.dtype, op.value, op.broadcastable,
                 op.axes, [(s.op.name, getattr(s.op, "dtype", None), s.args) for s in op.steps],
                 [(v.dtype, v.broadcastable) for v in node.inputs]))
    key = hashlib.sha256(text.encode()).hexdigest()
    kernel = reduction_kernel("tjit_reduce_" + key[:16], list(zip(ins, op.axes)), value,
                              op.kind, op.reduced, op.broadcastable, op.acc_dtype, op.dtype)
    kernel.meta["cache_key"] = "reduce " + key
    return kernel
