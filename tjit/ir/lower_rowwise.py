"""Lowering of a FusedRows node: reductions over each row, then the elementwise
stores of that row, in one loop nest.

    for each row (the kept loop dims; the outermost one split by begin/end):
        for each reduction k, in order:
            [out[row, :] = value_k, when an output reads it or it holds an exp]
            acc_k = identity; acc_k op= value_k (or out[row, j]) over the row
            (the loop `reduce_inner` uses: blocked float sums with vector
            partials, the same operations, so the same results); res_k = acc_k
            cast to the result dtype
        for each point j of the row: out[row, j] = expr(inputs, res_0, ...)
            (x / res_k as x * (1 / res_k) for float32 when 1/res_k is normal)

The row is read from memory by the first reduction and stays in L1/L2 for the
next ones and the stores, so x is read from memory once instead of once per
reduction plus once for the stores. Softmax computes one exp per element: the
value loop stores exp(x - max) (the exp inlined, interleaved: see
`kernel.meta`'s `inline_math` and `interleave` in `tjit.codegen.walker`), the
sum reads it back, the last loop scales it in place. `kernel.meta` has the keys of
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
from .nodes import (Buffer, Cast, Const, Dim, Guarded, IntConst, Kernel, Load, Local, Op,
                    Range, Store, Var, range_to, split_range)


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
        # exp(x - max) in exp(x - max) / sum) gets it stored first and reads it
        # back: the value is computed once per point, not twice. Without one, an
        # exp is still stored in an output's row (logsoftmax's sum(exp(y)); the
        # store loop overwrites it). The value's loop is its own, then the row (in
        # L1) is reduced: a loop with only float32 in it vectorizes 8 lanes wide
        # on AVX2 (with a float64 sum in it, 4: LLVM sizes vectors by the widest type).
        v = value.x if isinstance(value, Cast) and value.dtype == acc_dtype else value
        if not _is_load(v):
            free = [o for o, out in enumerate(outputs) if o not in scratch and out.dtype == v.dtype]
            using = [o for o in free if _contains(exprs[o], v)]
            if not using and _has_op(v, "exp"):
                using = free
            if using:
                o, out = using[0], outputs[using[0]]
                scratch.add(o)
                row.append(_value_loop(s, kept, kvars, last, extent[last], out))
                exprs[o] = _substitute(exprs[o], v, Load(out, out_index))
                value = Load(out, out_index)
                if value.dtype != acc_dtype:
                    value = Cast(value, acc_dtype)
        row += s._init(())
        row += list(s.with_nan_fallback(
            s.acc, lambda: s._blocked_loop([jvar], [(last,)], value, None)))
        acc = s.result()
        row.append(Store(results[k], (), acc if acc.dtype == dtype else Cast(acc, dtype)))

    row += _store_loop(jvar, extent[last], outputs, out_index, exprs, results, locals_)

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
    if scratch:
        # exp is most of softmax's time: inlined, the vectorized value loop has
        # no call per vector (nor the spills of live registers around it). Not
        # in a loop summing in float64: LLVM sizes its vectors by the widest
        # type, and 4-lane inlined exps are slower than 8-lane calls.
        meta.update(inline_math=("exp",), interleave={VALUE_VAR: VALUE_INTERLEAVE})
    buffers = tuple(b for b, _ in inputs) + tuple(outputs)
    return Kernel(name, buffers, tuple(locals_) + check_stmts + body, n_inputs=len(inputs),
                  meta=meta)


# The loop storing a reduced value (softmax's exp(x - max)) has a variable of its
# own, which the kernel's meta asks the vectorizer to interleave.
VALUE_VAR, VALUE_INTERLEAVE = "jv", 2


def _value_loop(schedule, kept, kvars, last, extent, out):
    """for jv in row: out[row, jv] = the reduced value (before its cast to the
    accumulator)."""
    jv = Var(VALUE_VAR)
    value = schedule._value_at([(kvars[d], (d,)) for d in kept] + [(jv, (last,))])
    if isinstance(value, Cast) and value.dtype == schedule.acc_dtype:
        value = value.x
    index = tuple((kvars[d], d) for d in kept) + ((jv, last),)
    return Range(jv, IntConst(0), extent, 1, (Store(out, index, value),))


# 1/r is a normal float32 for |r| in [2**-126, 2**126]
RECIPROCAL_RANGE = (2.0 ** -126, 2.0 ** 126)


def _store_loop(jvar, extent, outputs, out_index, exprs, results, locals_):
    """The row's store loop. A float32 x / r by a row's result r (softmax's
    e / sum) is x * (1 / r) when 1/r is a normal float32 (a guard per row):
    one multiply instead of a division per point, at most 1 ulp from x / r
    (the reciprocal's rounding); NaN, infinite, zero and extreme r divide."""
    stores = tuple(Store(out, out_index, e) for out, e in zip(outputs, exprs))
    divisors = [r for r in results if r.dtype == "float32"
                and any(_divisions(e, Load(r, ())) for e in exprs)]
    if not divisors:
        return [Range(jvar, IntConst(0), extent, 1, stores)]
    prep, fast, ok = [], list(exprs), None
    lo, hi = (Const(v, "float32") for v in RECIPROCAL_RANGE)
    for r in divisors:
        inv = Buffer("inv_" + r.name, "float32", ())
        locals_.append(Local(inv, 1))
        prep.append(Store(inv, (), Op("true_div", (Const(1.0, "float32"), Load(r, ())),
                                      "float32")))
        size = Op("abs", (Load(r, ()),), "float32")
        inside = Op("and", (Op("ge", (size, lo), "bool"), Op("le", (size, hi), "bool")), "bool")
        ok = inside if ok is None else Op("and", (ok, inside), "bool")
        for k, e in enumerate(fast):
            for div in _divisions(e, Load(r, ())):
                e = _substitute(e, div, Op("mul", (div.args[0], Load(inv, ())), "float32"))
            fast[k] = e
    fast_stores = tuple(Store(out, out_index, e) for out, e in zip(outputs, fast))
    return prep + [Guarded(ok, (Range(jvar, IntConst(0), extent, 1, fast_stores),),
                           (Range(jvar, IntConst(0), extent, 1, stores),))]


def _divisions(expr, divisor):
    """The distinct subexpressions x / divisor of `expr`."""
    found, seen = [], set()

    def visit(e):
        if id(e) in seen:
            return
        seen.add(id(e))
        if isinstance(e, Op):
            if e.name == "true_div" and e.args[1] == divisor and e not in found:
                found.append(e)
            for a in e.args:
                visit(a)
        elif isinstance(e, Cast):
            visit(e.x)

    visit(expr)
    return found


def _is_load(expr):
    while isinstance(expr, Cast):
        expr = expr.x
    return isinstance(expr, Load)


def _has_op(expr, name):
    seen = set()

    def visit(e):
        if id(e) in seen:
            return False
        seen.add(id(e))
        if isinstance(e, Op):
            return e.name == name or any(visit(a) for a in e.args)
        return isinstance(e, Cast) and visit(e.x)

    return visit(expr)


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
