"""Small kernels the native scan loop uses besides the nodes' own: matrix-vector
products as blocked axpys, and copies into step outputs."""
from __future__ import annotations

from ..codegen.scalar_ops import OPS, rule
from ..ir.nodes import (Buffer, Check, Const, Dim, IntConst, IntOp, Kernel, Load, Op, Range,
                        Store, Var, range_to)

if "fma" not in OPS:
    @rule("fma")
    def _fma(em, k, dtype, a, b, c):
        """a * b + c rounded once (llvm.fma, floats only): the matrix-vector kernels
        use it, as BLAS's do."""
        return em.intrinsic("fma", a, b, c)


def matvec_kind(n):
    """'rows' for out[i] = sum_j M[i, j] v[j], 'cols' for out[j] = sum_i M[i, j] v[i]
    (dot(M, v) and dot(M.T, v) after the matvec rewrite), else None."""
    from ..ops.fused_reduce import FusedReduce
    op = n.op
    if not (isinstance(op, FusedReduce) and op.kind == "sum" and len(n.inputs) == 2
            and len(op.steps) == 1 and op.steps[0].op.name == "mul"
            and tuple(op.steps[0].args) == (("in", 0), ("in", 1)) and op.value == ("step", 0)
            and all(v.dtype == n.outputs[0].dtype == op.acc_dtype for v in n.inputs)
            and op.dtype in ("float32", "float64")
            and not any(n.inputs[0].broadcastable) and not n.inputs[1].broadcastable[0]):
        return None
    if op.reduced == (1,) and op.axes == ((0, 1), (None, 0)):
        return "rows"
    if op.reduced == (0,) and op.axes == ((0, 1), (0, None)):
        return "cols"
    return None


MATVEC_UNROLL = 8
MAX_SPECIALIZED_MATVEC = 128 * 128   # elements of a matrix compiled for its exact shape


def matvec_kernel(dtype, shape=None):
    """out = M v as axpys over a transposed copy `mt` of M (mt[j, i] = M[i, j]): the
    inner loop runs along rows of mt with unit stride and no horizontal sums.
    Rows of mt are taken MATVEC_UNROLL at a time (amortizing the inner loop's
    setup), each out[i] still summed over j in order, with fused multiply-adds.
    With `shape` (mt's), the sizes are compile-time constants (checked against
    the arrays)."""
    from ..ir.lower_scan import let
    mt = Buffer("mt", dtype, (False, False))
    v = Buffer("v", dtype, (False,))
    out = Buffer("out", dtype, (False,))
    i, jb, j = Var("mv_i"), Var("mv_jb"), Var("mv_j")
    k, m = Dim(mt, 0), Dim(mt, 1)
    checks = (Check(Dim(v, 0), Dim(mt, 0), 1), Check(Dim(out, 0), Dim(mt, 1), 2))
    if shape is not None:
        k, m = IntConst(shape[0]), IntConst(shape[1])
        checks += (Check(Dim(mt, 0), k, 3), Check(Dim(mt, 1), m, 4))
    unroll = MATVEC_UNROLL
    whole = IntOp("mul", IntOp("div", k, IntConst(unroll)), IntConst(unroll))
    rows = [Var(f"mv_j{c}") for c in range(unroll)]
    total = Load(out, ((i, 0),))
    for r in rows:
        total = Op("fma", (Load(mt, ((r, 0), (i, 1))), Load(v, ((r, 0),)), total), dtype)
    blocked = (range_to(i, m, (Store(out, ((i, 0),), total),)),)
    for c in reversed(range(unroll)):
        blocked = let(rows[c], IntOp("add", jb, IntConst(c)), blocked)
    body = checks + (
            range_to(i, m, (Store(out, ((i, 0),), Const(0.0, dtype)),)),
            Range(jb, IntConst(0), whole, unroll, blocked),
            Range(j, whole, k, 1, (
                range_to(i, m, (
                    Store(out, ((i, 0),), Op("fma", (Load(mt, ((j, 0), (i, 1))),
                                                      Load(v, ((j, 0),)),
                                                      Load(out, ((i, 0),))), dtype)),)),)))
    return Kernel("matvec", (mt, v, out), body, n_inputs=2)


def copy_kernel(dtype, ndim):
    """out = x elementwise (a reduction's partial row into a step output)."""
    from ..ir.lower import elementwise_kernel
    x, out = Buffer("x", dtype, (False,) * ndim), Buffer("out", dtype, (False,) * ndim)
    return elementwise_kernel("copy", [(x, tuple(range(ndim)))], [out], [Load(x, ())])
