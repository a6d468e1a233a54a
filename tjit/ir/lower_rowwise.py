"""Lowering of a FusedRows node: reductions over each row, then the elementwise
stores of that row, in one loop nest.

    for each row (the kept loop dims; the outermost one split by begin/end):
        for each reduction k, in order: acc_k = identity; acc_k op= value_k over
            the row (the loop `reduce_inner` uses: blocked float sums with vector
            partials, the same operations, so the same results); res_k = acc_k
            cast to the result dtype
        for each point j of the row: out[row, j] = expr(inputs, res_0, ...)

The row is read from memory by the first reduction and stays in L1/L2 for the
next ones and the stores, so x is read from memory once instead of once per
reduction plus once for the stores. `kernel.meta` has the keys of
`tjit.ir.lower` (`checks`, `outer_dims`, no collapsed nest), so
it runs with the elementwise kind's launch.
"""
from __future__ import annotations

from ..ops.fused_rows import FusedRows
from ..tensor.reduction import NEEDS_NONEMPTY
from .from_graph import _cast, input_types, program_exprs, steps_text, structure_hash
from .launch import loop_shape
from .lower_elemwise import ElemwiseLaunch
from .lowering import lower
from .lower import CheckList, _effective_axes, _place_loads
from .lower_reduce import _Schedule
from .nodes import (Buffer, Cast, Dim, IntConst, Kernel, Load, Local, Op, Range, Store,
                    Var, range_to, split_range)


def rowwise_kernel(name, inputs, reductions, exprs_of, outputs, pattern):
    """The kernel of a FusedRows computation.

    inputs: [(Buffer, axes)] over the loop dims (as `elementwise_kernel`).
    reductions: [(kind, value_of, acc_dtype, dtype)]: `value_of(refs)` gives the
        reduced scalar expression over placeholder loads of `refs` (the input
        buffers, then one local scalar per earlier reduction result).
    exprs_of(refs): the output expressions, over all inputs and results.
    outputs: [Buffer] with broadcast pattern `pattern` (the loop's).
    """
    rank = len(pattern)
    last = rank - 1
    effective = [_effective_axes(b, axes) for b, axes in inputs]
    extent = {}
    for d in range(rank):
        src = next(((b, e[d]) for (b, _), e in zip(inputs, effective) if e[d] is not None), None)
        extent[d] = Dim(*src) if src is not None else (Dim(outputs[0], d) if not pattern[d]
                                                         else IntConst(1))
    kept = [d for d in range(last) if not pattern[d]]
    kvars = {d: Var("k%d" % d) for d in kept}
    jvar = Var("j")
    results = [Buffer("res%d" % k, dtype, ()) for k, (_, _, _, dtype) in enumerate(reductions)]
    refs = [b for b, _ in inputs] + results
    # results are per-row scalars: in every program they load at index ()
    all_inputs = list(inputs) + [(r, (None,) * rank) for r in results]
    all_effective = effective + [(None,) * rank for _ in results]

    index = {}
    for (buffer, _), eff in zip(all_inputs, all_effective):
        index[buffer] = tuple((kvars[d] if d < last else jvar, eff[d])
                              for d in kept + [last] if eff[d] is not None)
    out_index = tuple((kvars[d], d) for d in kept) + ((jvar, last),)
    exprs = [_place_loads(_cast(e, out.dtype), index) for out, e in zip(outputs, exprs_of(refs))]

    locals_, row, scratch = [Local(r, 1) for r in results], [], set()
    for k, (kind, value_of, acc_dtype, dtype) in enumerate(reductions):
        s = _Schedule(kind, "reduce_inner", all_inputs, all_effective, [results[k]], extent,
                      {}, value_of(refs), acc_dtype, (last,), prefix="r%d_" % k)
        locals_ += list(s.locals())
        terms = [(kvars[d], (d,)) for d in kept] + [(jvar, (last,))]
        value = s._value_at(terms)
        # An output whose expression contains the reduced value (softmax's
        # exp(x - max) in exp(x - max) / sum) gets it stored while reducing and
        # reads it back: the value is computed once per point, not twice.
        extra = ()
        v = value.x if isinstance(value, Cast) and value.dtype == acc_dtype else value
        if not _is_load(v):
            for o, out in enumerate(outputs):
                if o not in scratch and out.dtype == v.dtype and _contains(exprs[o], v):
                    scratch.add(o)
                    extra = (Store(out, out_index, v),)
                    exprs[o] = _substitute(exprs[o], v, Load(out, out_index))
                    break
        row += s._init(())
        row += list(s.with_nan_fallback(
            s.acc, lambda: s._blocked_loop([jvar], [(last,)], value, None, extra)))
        acc = s.result()
        row.append(Store(results[k], (), acc if acc.dtype == dtype else Cast(acc, dtype)))

    stores = tuple(Store(out, out_index, e) for out, e in zip(outputs, exprs))
    row.append(Range(jvar, IntConst(0), extent[last], 1, stores))

    body = tuple(row)
    for n, d in reversed(list(enumerate(kept))):
        body = (split_range(kvars[d], extent[d], body) if n == 0 else
                range_to(kvars[d], extent[d], body),)
    if not kept:       # one row: the runtime's split is [0, 1)
        body = (split_range(Var("once"), IntConst(1), body),)

    checks = CheckList()
    checks.inputs(inputs, lambda d: extent[d])
    for position, out in enumerate(outputs):
        for d in range(rank):
            checks.add(Dim(out, d), IntConst(1) if pattern[d] else extent[d], kind="output",
                       position=position, axis=d, loop_dim=d)
    check_stmts, check_meta = checks.result()
    meta = dict(checks=check_meta, outer_dims=tuple(kept[:1]), collapsed_outer_dims=None,
                contiguous_runs=())
    buffers = tuple(b for b, _ in inputs) + tuple(outputs)
    return Kernel(name, buffers, tuple(locals_) + check_stmts + body, n_inputs=len(inputs),
                  meta=meta)


def _is_load(expr):
    while isinstance(expr, Cast):
        expr = expr.x
    return isinstance(expr, Load)


def _contains(expr, part):
    seen, key = set(), hash(part)

    def visit(e):
        if hash(e) == key and e == part:
            return True
        if id(e) in seen:
            return False
        seen.add(id(e))
        children = e.args if isinstance(e, Op) else (e.x,) if isinstance(e, Cast) else ()
        return any(visit(c) for c in children)

    return visit(expr)


def _substitute(expr, part, by):
    memo, key = {}, hash(part)

    def visit(e):
        if hash(e) == key and e == part:
            return by
        if id(e) in memo:
            return memo[id(e)][1]
        if isinstance(e, Op):
            new = Op(e.name, tuple(visit(a) for a in e.args), e.dtype)
        elif isinstance(e, Cast):
            new = Cast(visit(e.x), e.dtype)
        else:
            new = e
        memo[id(e)] = (e, new)
        return new

    return visit(expr)


def lower_fused_rows(node):
    """The Kernel computing a FusedRows node."""
    op = node.op
    ins = [Buffer(f"in{i}", v.dtype, v.broadcastable) for i, v in enumerate(node.inputs)]
    outs = [Buffer(f"out{j}", v.dtype, v.broadcastable) for j, v in enumerate(node.outputs)]

    def value_of(r):
        return lambda refs: program_exprs(r.program, refs)[0]

    def exprs_of(refs):
        return program_exprs(op.program, refs)

    reductions = [(r.kind, value_of(r), r.acc_dtype, r.dtype) for r in op.reductions]
    rows = [(r.kind, r.program.outputs[0], r.acc_dtype, r.dtype, steps_text(r.program))
            for r in op.reductions]
    key = structure_hash(op.axes, rows, steps_text(op.program),
                         tuple(ref[1] for ref in op.program.outputs), op.broadcastable,
                         input_types(node))
    kernel = rowwise_kernel("tjit_rows_" + key[:16], list(zip(ins, op.axes)), reductions,
                            exprs_of, outs, op.broadcastable)
    kernel.meta["cache_key"] = "rows " + key
    return kernel


@lower.register(FusedRows)
def _(op, node, level):
    kernel = lower_fused_rows(node)
    if any(r.kind in NEEDS_NONEMPTY for r in op.reductions):
        return NonEmptyRowsLaunch(node, kernel)
    return ElemwiseLaunch(node, kernel)


class NonEmptyRowsLaunch(ElemwiseLaunch):
    """Rows reduced by max/min/argmax/argmin: an empty row has no identity, so
    the loop shape is checked (raising the op's ValueError) before the kernel."""

    def prepare(self, inputs, alloc):
        shape = loop_shape(self.plan, inputs)
        self.node.op.check_rows(self.node, shape)
        return self.outputs(inputs, shape, alloc)
