"""reduce_fusion: every natively lowerable Reduce becomes a FusedReduce whose
reduced value is the scalar program of the elementwise nodes producing its
input, so `exp(x).sum(axis=1)` or `((x - 1.5) ** 2).sum(axis=0)` reads x once and
materializes nothing the size of x.

Runs before elemwise_fusion. Elementwise producers that also have other clients
are recomputed inside the reduction (they stay in the graph for those clients):
recomputing is cheaper than writing and re-reading an array the size of x, and
it frees the remaining elementwise nodes to fuse with each other (softmax's
`e / e.sum()` then becomes one kernel: e no longer feeds the reduction).
A reduction that is exactly a matrix-vector product becomes a MatVec.
"""
from __future__ import annotations

from ..ops.fused_reduce import FusedReduce
from ..ops.matvec import as_matvec
from ..ops.scalar_program import ScalarProgram, Step
from ..tensor.reduction import Reduce, _acc_dtype
from .elemwise_fusion import NATIVE_DTYPES, _boundary_ref, lowerable
from .walk import replace

MAX_STEPS = 64   # bounds compile time of one kernel


def _program(v):
    """(ScalarProgram with one output, [(var, axes)] of its inputs) of the
    elementwise subgraph producing v."""
    rank = v.ndim
    steps, ext, ext_index, memo = [], [], {}, {}

    def ref(u):
        if id(u) in memo:
            return memo[id(u)]
        p = u.owner
        if p is not None and lowerable(p) and u.ndim == rank and len(steps) < MAX_STEPS:
            args = tuple(ref(w) for w in p.inputs)
            steps.append(Step(p.op.scalar_op, args))
            r = ("step", len(steps) - 1)
        else:
            b = _boundary_ref(u)
            if b[0] == "const":
                r = b
            else:
                key = (id(b[0]), b[1])
                if key not in ext_index:
                    ext_index[key] = len(ext)
                    ext.append(b)
                r = ("in", ext_index[key])
        memo[id(u)] = r
        return r

    value = ref(v)
    return ScalarProgram(steps, (value,)), ext


def fuse_reduce(node):
    """The FusedReduce output replacing Reduce `node`, or None when it cannot lower."""
    op, (x,) = node.op, node.inputs
    out = node.outputs[0]
    if x.dtype not in NATIVE_DTYPES or out.dtype not in NATIVE_DTYPES:
        return None
    acc = op.acc_dtype or _acc_dtype(op.kind, x.dtype)
    if acc is not None and acc not in NATIVE_DTYPES:
        return None
    program, ext = _program(x)
    if program.outputs[0][0] == "const":
        return None
    pattern = tuple(all(a is None or var.broadcastable[a] for var, axes in ext
                        for a in [axes[d]]) for d in range(x.ndim))
    if pattern != x.broadcastable:
        program, ext = ScalarProgram((), (("in", 0),)), [(x, tuple(range(x.ndim)))]
        pattern = x.broadcastable
    fused = FusedReduce(op.kind, [a for _, a in ext], program, op.axis, pattern, acc,
                        out.dtype)
    inputs = [v for v, _ in ext]
    fused = as_matvec(fused, inputs) or fused   # X.v and X^T.v: the explicit kind
    return fused.make_node(*inputs).outputs


def reduce_fusion(outputs):
    def local(node):
        if isinstance(node.op, Reduce):
            return fuse_reduce(node)
        return None
    return replace(outputs, local=local)
