"""Lowering of a reduction (a scalar program over inputs, reduced over some loop
dims) into a loop-IR `Kernel`, with one of four schedules chosen from which
dims are reduced (`kernel.meta['schedule']`):

- `reduce_inner` (the innermost non-broadcastable dim is reduced, e.g. a sum over
  axis 1): loops over the kept dims, and for each output point a scalar
  accumulator over the reduced dims. A float sum or product is blocked: blocks of
  `BLOCK` elements are accumulated with reassociation allowed (LLVM keeps vector
  partial sums), and the block results are added in order. argmax/argmin take a
  vectorized max/min of each block of `ARG_BLOCK`, then rescan one block: the
  first holding the final extremum. The split (`begin`/`end`) is over the outermost kept loop.
- `reduce_outer` (the innermost dim is kept with other kept dims outside it, e.g.
  a sum over axis 1 of a 3-d array): the innermost kept dim J runs in blocks of
  `BLOCK` columns, each with a local accumulator row; for each block, the reduced
  dims loop outside a unit-stride loop over the row (vectorized across columns,
  no reassociation), `ROWS` rows per pass over the row. The split is over the
  outermost kept loop: the other kept dims, else J's columns.
- `outer_partials` (J is the only kept dim, e.g. a sum over axis 0): as
  reduce_outer, over tasks t = (chunk c, column tile of `TILE`): the first
  reduced loop is cut into P = dim(partial, 0) chunks of fixed length ceil(n / P),
  and task t writes its accumulator row to partial[c, tile]. The launch picks P
  from the shape alone and combines the partials in order; [0, P * tiles) is split.
- `partials` (every non-broadcastable dim is reduced): the first reduced loop is
  cut into P = dim(out0, 0) chunks as above; chunk c writes its accumulator to
  out0[c] (and for argmax/argmin its position, a flat index into the reduced
  dims, to out1[c]), combined by the launch (`tjit.ir.reduce_launch`).

Kind m2 (the sum of squared deviations from the mean, for var/std) keeps two
sums, of d = x - shift and of d*d, where shift is x at the first reduced point;
reduce_inner/reduce_outer write max(sum(d*d) - sum(d)**2 / n, 0), the partial
schedules write both sums (`partial`, `partial_sq`).

Each output point is computed by one fixed sequence of operations whatever the
split, so results are bit-identical for any thread count. Adjacent dims that
every buffer treats alike are collapsed under a `Contiguous` guard, as in
`elementwise_kernel`; `kernel.meta` has the same `checks`, `outer_dims`,
`collapsed_outer_dims`, `contiguous_runs` keys (see `tjit.ir.lower`), so
`outer_extent` gives the extent that `begin`/`end` split.
"""
from __future__ import annotations

import numpy as np

from tjit.ir.lower import (CheckList, _collapsible_groups, _effective_axes, _place_loads,
                           _product)
from tjit.ir.nodes import (Accumulate, ArgAccumulate, Begin, Buffer, Cast, Const,
                           Contiguous, Dim, End, Guarded, Improves, Index, IntConst, IntOp,
                           Kernel, Load, Local, Op, Range, Store, Var)

BLOCK = 1024
ARG_BLOCK = 256   # argmax/argmin: short blocks, so few of them hold a new extremum
TILE = 4096   # outer_partials: columns per task; the accumulator row stays in L1/L2
ROWS = 8      # row-wise schedules: rows added per pass over the accumulator row ...
ROWS_M2 = 12  # ... for m2 (var/std: three accumulator rows; 12 measured 10-15% faster
#               than 8 from memory on one core, 16 slower again; a sum gains little) ...
ROWS_BIG = 4  # ... when the reduced value has more than BIG_VALUE nodes (compile time)
BIG_VALUE = 12
KINDS = {"sum": "add", "prod": "mul", "max": "maximum", "min": "minimum", "all": "and",
         "any": "or", "argmax": "argmax", "argmin": "argmin", "m2": "add"}


def identity(kind, dtype):
    """The initial accumulator value of `kind` in `dtype` (max of floats: -inf)."""
    dt = np.dtype(dtype)
    if kind in ("sum", "any", "m2"):
        return 0
    if kind in ("prod", "all"):
        return 1
    if dt.kind == "f":
        return -np.inf if kind in ("max", "argmax") else np.inf
    if dt.kind == "b":
        return kind in ("min", "argmin")
    info = np.iinfo(dt)
    return int(info.min if kind in ("max", "argmax") else info.max)


def reduction_kernel(name, inputs, value, kind, reduced, pattern, acc_dtype, out_dtype):
    """The kernel reducing scalar expression `value` (with placeholder loads
    `Load(buffer, ())`, as in `elementwise_kernel`) with `kind` over loop dims
    `reduced` of a loop of broadcast pattern `pattern`.

    inputs: [(Buffer, axes)] as in `elementwise_kernel` (axes over the loop dims).
    The value is cast to `acc_dtype` (for argmax/argmin: the value's own dtype)
    and accumulated. Outputs (after the inputs in `kernel.buffers`):
    schedules reduce_inner/reduce_outer: `out` of dtype `out_dtype` (argmax:
    int64) with the kept loop dims; schedule partials: `partial` (acc dtype, 1-d)
    and for argmax/argmin `partial_pos` (int64, 1-d).
    Raises ValueError on an unknown kind or inconsistent arguments.
    """
    if kind not in KINDS:
        raise ValueError("unknown reduction kind %r" % (kind,))
    rank = len(pattern)
    for buffer, axes in inputs:
        if len(axes) != rank:
            raise ValueError("input %s: axes map %s must have length %d"
                             % (buffer.name, axes, rank))
    arg = kind in ("argmax", "argmin")
    if arg:
        acc_dtype = value.dtype
    effective = [_effective_axes(b, axes) for b, axes in inputs]
    extent = {}
    for d in range(rank):
        src = next(((b, e[d]) for (b, _), e in zip(inputs, effective) if e[d] is not None),
                   None)
        if src is None and not pattern[d]:
            raise ValueError("loop dim %d is not broadcastable but no input varies along it" % d)
        extent[d] = Dim(*src) if src is not None else IntConst(1)
    active = [d for d in range(rank) if not pattern[d]]
    red_act = [d for d in active if d in reduced]
    kept_act = [d for d in active if d not in reduced]
    kept_all = [d for d in range(rank) if d not in reduced]
    out_axis = {d: k for k, d in enumerate(kept_all)}
    bc = tuple(pattern[d] for d in kept_all)
    if red_act and kept_act == active[-1:]:
        schedule = "outer_partials"
        out_axis = {d: k + 1 for d, k in out_axis.items()}
        bc = (False,) + bc
    elif kept_act or not red_act:
        schedule = "reduce_inner" if not active or active[-1] in reduced else "reduce_outer"
    else:
        schedule, bc = "partials", (False,)
    if schedule in ("reduce_inner", "reduce_outer"):
        outs = [Buffer("out", "int64" if arg else out_dtype, bc)]
    else:
        outs = [Buffer("partial", acc_dtype, bc)]
        if arg:
            outs.append(Buffer("partial_pos", "int64", bc))
        if kind == "m2":
            outs.append(Buffer("partial_sq", acc_dtype, bc))
    s = _Schedule(kind, schedule, inputs, effective, outs, extent, out_axis, value,
                  acc_dtype, reduced)
    out_eff = [tuple(out_axis[d] if d in out_axis and not pattern[d] else None
                     for d in range(rank))] if schedule != "partials" else []
    kept_groups = _collapsible_groups(kept_act, effective + out_eff)
    red_groups = _collapsible_groups(red_act, effective)
    checks, check_meta = _checks(inputs, outs, extent, pattern, kept_all, schedule)
    full = s.nest([(d,) for d in kept_act], [(d,) for d in red_act], "i")
    buffers = tuple(b for b, _ in inputs) + tuple(outs)
    locals_ = s.locals()
    outer = _outer_dims(schedule, [(d,) for d in kept_act], out_axis)
    meta = dict(checks=check_meta, outer_dims=outer, collapsed_outer_dims=None,
                contiguous_runs=(), schedule=schedule, kind=kind, acc_dtype=acc_dtype,
                first_reduced=red_act[0] if red_act else None, tile=TILE,
                inner_kept=kept_act[-1] if kept_act else None)
    groups = kept_groups + red_groups
    if all(len(g) == 1 for g in groups):
        body = locals_ + checks + full
    else:
        runs = _runs(groups, inputs, effective, outs[0] if schedule != "partials" else None,
                     out_axis)
        collapsed = s.nest(kept_groups, red_groups, "c")
        body = locals_ + checks + (Guarded(Contiguous(runs), collapsed, full),)
        positions = {b: k for k, b in enumerate(buffers)}
        meta.update(collapsed_outer_dims=_outer_dims(schedule, kept_groups, out_axis),
                    contiguous_runs=tuple((positions[b], axes) for b, axes in runs))
    return Kernel(name, buffers, body, n_inputs=len(inputs), meta=meta)


def _outer_dims(schedule, kept_groups, out_axis):
    """Output axes that the split loop covers (partials: the chunk axis 0;
    outer_partials: the launch gives the extent chunks x column tiles)."""
    if schedule in ("partials", "outer_partials"):
        return (0,)
    if not kept_groups:
        return ()
    return tuple(out_axis[d] for d in kept_groups[0])


class _Schedule:
    """Builds one loop nest (collapsed or not) of a reduction kernel."""

    def __init__(self, kind, schedule, inputs, effective, outs, extent, out_axis, value,
                 acc_dtype, reduced, prefix=""):
        self.kind, self.schedule = kind, schedule
        self.inputs, self.effective, self.outs = inputs, effective, outs
        self.extent, self.out_axis, self.value = extent, out_axis, value
        self.acc_dtype, self.op = acc_dtype, KINDS[kind]
        self.arg = kind in ("argmax", "argmin")
        self.rowwise = schedule in ("reduce_outer", "outer_partials")
        local_shape = (False,) if self.rowwise else ()
        # `prefix` names the locals apart when one kernel holds several reductions
        self.acc = Buffer(prefix + "acc", acc_dtype, local_shape)
        self.pos = Buffer(prefix + "acc_pos", "int64", local_shape) if self.arg else None
        # m2 (sum of squared deviations from the mean) in one pass: the sums of
        # d = x - shift and of d*d, shift = x at the first reduced point (which
        # keeps sum(d)**2 / n from cancelling sum(d*d) when the mean is large)
        self.m2 = kind == "m2"
        self.acc2 = Buffer(prefix + "acc_sq", acc_dtype, local_shape) if self.m2 else None
        self.shift = Buffer(prefix + "shift", acc_dtype, local_shape) if self.m2 else None
        self.count = _product([extent[d] for d in reduced] or [IntConst(1)])
        self.blocked = (not self.rowwise and kind in ("sum", "prod", "m2")
                        and np.dtype(acc_dtype).kind == "f")
        # argmax/argmin: a vectorized max/min of each block, then a rescan of the
        # first block holding the final extremum
        self.arg_blocked = self.arg and not self.rowwise
        if self.arg_blocked:
            self.blocked = True
        self.block = Buffer(prefix + "block", acc_dtype, ()) if self.blocked else None
        self.block2 = Buffer(prefix + "block_sq", acc_dtype, ()) if self.blocked and self.m2 \
            else None
        self.first = Buffer(prefix + "first", "int64", ()) if self.arg_blocked else None
        self.best = Buffer(prefix + "best_block", "int64", ()) if self.arg_blocked else None
        # Float max/min (and argmax/argmin's block scans): a plain vector max
        # (`reassoc` Accumulate: NaNs dropped, zero signs either way) beside a
        # vector sum of the same values, which is NaN when a value is NaN (or
        # +inf meets -inf). Only then the range is reduced again with the
        # NaN-propagating maximum: the same value, at a third of the work.
        self.fast_extremum = (kind in ("max", "min", "argmax", "argmin") and not self.rowwise
                              and acc_dtype in ("float32", "float64"))
        # (argmax/argmin's block scans use the same NaN sum: a bool flag costs a
        # pack and an or per vector on AVX2, the sum one add)
        self.nan = None if not self.fast_extremum else Buffer(prefix + "nansum", acc_dtype, ())
        self._exact = False

    def locals(self):
        size = {"reduce_outer": BLOCK, "outer_partials": TILE}.get(self.schedule, 1)
        out = [Local(b, size) for b in (self.acc, self.pos, self.acc2, self.shift) if b]
        out += [Local(b, 1) for b in (self.block, self.block2, self.first, self.best, self.nan)
                if b]
        return tuple(out)

    def _extremum_update(self, into, op, value):
        """Accumulate max/min `value` into `into` (fast) and into the NaN sum."""
        if self._exact or not self.fast_extremum:
            return [Accumulate(into, (), op, value)]
        return [Accumulate(into, (), op, value, True),
                Accumulate(self.nan, (), "add", value, True)]

    def with_nan_fallback(self, into, build):
        """`build()` (the loops accumulating into `into`) with the fast max/min,
        then, if its NaN sum is NaN, `into` reset and `build()` again exactly."""
        if not self.fast_extremum:
            return tuple(build())
        fast = tuple(build())
        self._exact = True
        try:
            exact = tuple(build())
        finally:
            self._exact = False
        init = Const(identity(self.kind, self.acc_dtype), self.acc_dtype)
        saw_nan = Op("isnan", (Load(self.nan, ()),), "bool")
        return ((Store(self.nan, (), Const(0, self.acc_dtype)),) + fast
                + (Guarded(saw_nan, (Store(into, (), init),) + exact, ()),))

    def result(self, acc_index=()):
        """The finished accumulator of a max/min/sum/prod (before the output cast)."""
        return Load(self.acc, acc_index)

    def _extent(self, group):
        return _product(self.extent[d] for d in group)

    def _init(self, index, first=None):
        """Statements starting an accumulator; `first`: the value at the first
        reduced point (m2's shift)."""
        init = Const(identity(self.kind, self.acc_dtype), self.acc_dtype)
        stmts = [Store(self.acc, index, init)]
        if self.arg:
            stmts.append(Store(self.pos, index, Const(-1, "int64")))
        if self.m2:
            stmts += [Store(self.acc2, index, init), Store(self.shift, index, first)]
        return stmts

    def _value_at(self, terms):
        """The value with loads placed at `terms`: [(var, loop group)]."""
        index = {}
        for (buffer, _), eff in zip(self.inputs, self.effective):
            index[buffer] = tuple((var, eff[g[-1]]) for var, g in terms if eff[g[-1]] is not None)
        v = _place_loads(self.value, index)
        if not self.arg and v.dtype != self.acc_dtype:
            v = Cast(v, self.acc_dtype)
        return v

    def _position(self, red_vars, red_groups):
        pos = None
        for k, (var, g) in enumerate(zip(red_vars, red_groups)):
            term = var
            for h in red_groups[k + 1:]:
                term = IntOp("mul", term, self._extent(h))
            pos = term if pos is None else IntOp("add", pos, term)
        return Index(pos if pos is not None else IntConst(0))

    def _update(self, index, value, red_vars, red_groups, reassoc=False, into=None):
        """The statements accumulating `value` (into the block locals `into`)."""
        if self.arg:
            return [ArgAccumulate(self.acc, self.pos, index, self.kind, value,
                                  self._position(red_vars, red_groups))]
        acc, acc2 = into or (self.acc, self.acc2)
        if self.fast_extremum:
            return self._extremum_update(acc, self.op, value)
        if not self.m2:
            return [Accumulate(acc, index, self.op, value, reassoc)]
        d = Op("sub", (value, Load(self.shift, index)), self.acc_dtype)
        return [Accumulate(acc, index, "add", d, reassoc),
                Accumulate(acc2, index, "add", Op("mul", (d, d), self.acc_dtype), reassoc)]

    def _finish(self, out_index, acc_index):
        out = self.outs[0]
        if self.schedule in ("partials", "outer_partials"):
            stmts = [Store(out, out_index, self.result(acc_index))]
            if len(self.outs) > 1:
                src = self.pos if self.arg else self.acc2
                stmts.append(Store(self.outs[1], out_index, Load(src, acc_index)))
            return stmts
        if self.m2:
            s1, s2, dt = Load(self.acc, acc_index), Load(self.acc2, acc_index), self.acc_dtype
            n = Cast(Index(self.count), dt)
            m2 = Op("sub", (s2, Op("mul", (s1, Op("true_div", (s1, n), dt)), dt)), dt)
            src = Op("maximum", (m2, Const(0, dt)), dt)
        else:
            src = Load(self.pos, acc_index) if self.arg else self.result(acc_index)
        return [Store(out, out_index, src if src.dtype == out.dtype else Cast(src, out.dtype))]

    def nest(self, kept_groups, red_groups, prefix):
        if self.rowwise:
            return self._nest_outer(kept_groups, red_groups, prefix)
        kvars = [Var("%sk%d" % (prefix, n)) for n in range(len(kept_groups))]
        rvars = [Var("%sr%d" % (prefix, n)) for n in range(len(red_groups))]
        value = self._value_at(list(zip(kvars + rvars, kept_groups + red_groups)))
        first = self._value_at(list(zip(kvars, kept_groups))) if self.m2 else None
        chunk = None
        if self.schedule == "partials":
            cvar = Var(prefix + "chunk")
            n0 = self._extent(red_groups[0])
            parts = Dim(self.outs[0], 0)
            size = IntOp("div", IntOp("add", n0, IntOp("sub", parts, IntConst(1))), parts)
            lo = IntOp("mul", cvar, size)
            chunk = (lo, IntOp("min", IntOp("add", lo, size), n0))
        def reduced_loops():
            """The reduced loops, built innermost first."""
            inner = self._blocked_loop(rvars, red_groups, value, chunk)
            for k in range(len(red_groups) - 2, -1, -1):
                start, stop = (chunk if k == 0 and chunk else
                               (IntConst(0), self._extent(red_groups[k])))
                inner = (Range(rvars[k], start, stop, 1, inner),)
            return inner

        if self.fast_extremum and not self.arg:
            inner = self.with_nan_fallback(self.acc, reduced_loops)
        else:
            inner = reduced_loops()
        if self.schedule == "partials":
            body = tuple(self._init((), first)) + inner + tuple(self._finish(((cvar, 0),), ()))
            return (Range(cvar, IntOp("max", Begin(), IntConst(0)),
                          IntOp("min", End(), Dim(self.outs[0], 0)), 1, body),)
        out_index = tuple((v, self.out_axis[g[-1]]) for v, g in zip(kvars, kept_groups))
        body = tuple(self._init((), first)) + inner + tuple(self._finish(out_index, ()))
        for k in range(len(kept_groups) - 1, -1, -1):
            body = (self._kept_range(kvars[k], kept_groups[k], k == 0, body),)
        return body

    def _kept_range(self, var, group, outermost, body, step=1):
        n = self._extent(group)
        if outermost:
            return Range(var, IntOp("max", Begin(), IntConst(0)), IntOp("min", End(), n),
                         step, body)
        return Range(var, IntConst(0), n, step, body)

    def _blocked_loop(self, rvars, red_groups, value, chunk, extra=()):
        """The innermost reduced loop with its update (a bare update without one);
        `extra`: statements run before each update (not with argmax/argmin;
        first, so the update reuses what they computed)."""
        if not red_groups:
            return tuple(extra) + tuple(self._update((), value, rvars, red_groups))
        var, k = rvars[-1], len(red_groups) - 1
        start, stop = chunk if (k == 0 and chunk) else (IntConst(0), self._extent(red_groups[k]))
        if not self.blocked:
            return (Range(var, start, stop, 1,
                          tuple(extra) + tuple(self._update((), value, rvars, red_groups))),)
        bvar = Var(var.name + "b")
        init = Const(identity(self.kind, self.acc_dtype), self.acc_dtype)
        if self.arg_blocked:
            stop_b = IntOp("min", IntOp("add", bvar, IntConst(ARG_BLOCK)), stop)
            extremum = "maximum" if self.kind == "argmax" else "minimum"
            scan = (Range(var, bvar, stop_b, 1,
                          tuple(self._extremum_update(self.block, extremum, value))),)
            if self.fast_extremum:
                # a NaN sum (a NaN in the block, or +inf meeting -inf): the block's
                # extremum again with the NaN-propagating maximum/minimum
                exact = (Store(self.block, (), init),
                         Range(var, bvar, stop_b, 1,
                               (Accumulate(self.block, (), extremum, value),)))
                saw_nan = Op("isnan", (Load(self.nan, ()),), "bool")
                scan = ((Store(self.nan, (), Const(0, self.acc_dtype)),) + scan
                        + (Guarded(saw_nan, exact, ()),))
            # A block improving on (acc, pos) takes its extremum m and is noted
            # (pos = 0: something seen); after the loop only the last block noted
            # (the first to hold the final extremum) is rescanned for the first
            # position holding it (its first NaN when it is NaN): a vectorizable
            # min of (hit ? position : big). One rescan per loop, not one per
            # block with a new extremum.
            m = Load(self.block, ())
            improves = Improves(self.acc, self.pos, (), self.kind, m)
            take = (Store(self.acc, (), m), Store(self.pos, (), Const(0, "int64")),
                    Store(self.best, (), Index(bvar)))
            body = (Store(self.block, (), init),) + scan + (Guarded(improves, take, ()),)
            found = Load(self.acc, ())
            hit = Op("eq", (value, found), "bool")
            if np.dtype(self.acc_dtype).kind == "f":
                both_nan = Op("and", (Op("isnan", (value,), "bool"),
                                      Op("isnan", (found,), "bool")), "bool")
                hit = Op("or", (hit, both_nan), "bool")
            where = Op("switch", (hit, self._position(rvars, red_groups),
                                  Const(2 ** 62, "int64")), "int64")
            rescan = (Store(self.first, (), Const(2 ** 62, "int64")),
                      Range(var, bvar, stop_b, 1, (Accumulate(self.first, (), "minimum", where),)),
                      Store(self.pos, (), Load(self.first, ())))
            # (loop bounds are index expressions, not loads: find the noted block
            # by walking the block starts again)
            noted = Op("eq", (Index(bvar), Load(self.best, ())), "bool")
            return (Store(self.best, (), Const(-1, "int64")),
                    Range(bvar, start, stop, ARG_BLOCK, body),
                    Range(bvar, start, stop, ARG_BLOCK, (Guarded(noted, rescan, ()),)))
        blocks = (self.block, self.block2)
        block_loop = Range(var, bvar, IntOp("min", IntOp("add", bvar, IntConst(BLOCK)), stop), 1,
                           # products keep their order: reassociating moves where
                           # they overflow to inf and where inf * 0 makes NaN
                           tuple(extra) + tuple(self._update((), value, rvars, red_groups,
                                                             self.op != "mul", blocks)))
        body = [Store(b, (), init) for b in blocks if b] + [block_loop]
        body += [Accumulate(a, (), self.op, Load(b, ())) for a, b in
                 ((self.acc, self.block), (self.acc2, self.block2)) if b]
        return (Range(bvar, start, stop, BLOCK, tuple(body)),)

    def _unrolled_rows(self, rvars, red_groups, kept_terms, start, stop, over_row):
        """The innermost reduced loop [start, stop) of a row-wise schedule, ROWS rows
        per pass over the accumulator row (each element gets them in row order, so
        the result is the plain loop's), then the remaining rows one by one."""
        var, group = rvars[-1], red_groups[-1]

        def update_at(offset=None):
            terms = kept_terms + list(zip(rvars, red_groups))
            if offset is not None:
                terms.append((offset, group))       # row var + offset
            return self._update(((kept_terms[-1][0], 0),), self._value_at(terms),
                                rvars, red_groups)

        unroll = ROWS_BIG if _size(self.value) > BIG_VALUE else ROWS_M2 if self.m2 else ROWS
        if self.arg:
            return (Range(var, start, stop, 1, (over_row(update_at()),)),)
        count = IntOp("max", IntOp("sub", stop, start), IntConst(0))
        split = IntOp("add", start, IntOp("mul", IntOp("div", count, IntConst(unroll)),
                                           IntConst(unroll)))
        offsets = [None] + [Var("%s_%d" % (var.name, k)) for k in range(1, unroll)]
        body = (Range(var, start, split, unroll,
                      (over_row([u for o in offsets for u in update_at(o)]),)),)
        for k in range(unroll - 1, 0, -1):     # constants, bound once outside the rows
            body = _bind(offsets[k], IntConst(k), body)
        return body + (Range(var, split, stop, 1, (over_row(update_at()),)),)

    def _nest_outer(self, kept_groups, red_groups, prefix):
        """reduce_outer: column blocks of the innermost kept group J, the reduced
        loops inside, a unit-stride loop over the block's row innermost.
        outer_partials (J is the only kept group): tasks t = (chunk c of the first
        reduced loop, column tile); each writes its accumulator row to partial[c]."""
        tiled = self.schedule == "outer_partials"
        outer_groups, jgroup = kept_groups[:-1], kept_groups[-1]
        ovars = [Var("%sk%d" % (prefix, n)) for n in range(len(outer_groups))]
        rvars = [Var("%sr%d" % (prefix, n)) for n in range(len(red_groups))]
        jb, jj = Var(prefix + "jb"), Var(prefix + "j")
        nj = self._extent(jgroup)
        if tiled:
            stop_j, size = nj, TILE
        else:
            stop_j, size = (IntOp("min", End(), nj) if not outer_groups else nj), BLOCK
        width = IntOp("min", IntConst(size), IntOp("sub", stop_j, jb))
        kept_terms = list(zip(ovars, outer_groups)) + [(jb, jgroup), (jj, jgroup)]
        value = self._value_at(kept_terms + list(zip(rvars, red_groups)))
        first = self._value_at(kept_terms) if self.m2 else None
        row = ((jj, 0),)

        def over_row(stmts):
            return Range(jj, IntConst(0), width, 1, tuple(stmts))

        chunk, cvar = None, Var(prefix + "chunk")
        if tiled:
            n0 = self._extent(red_groups[0])
            parts = Dim(self.outs[0], 0)
            rows = IntOp("div", IntOp("add", n0, IntOp("sub", parts, IntConst(1))), parts)
            lo = IntOp("mul", cvar, rows)
            chunk = (lo, IntOp("min", IntOp("add", lo, rows), n0))
        inner = None if red_groups else (over_row(self._update(row, value, rvars, red_groups)),)
        for k in range(len(red_groups) - 1, -1, -1):
            start, stop = (chunk if k == 0 and chunk else
                           (IntConst(0), self._extent(red_groups[k])))
            if inner is None:
                inner = self._unrolled_rows(rvars, red_groups, kept_terms, start, stop, over_row)
            else:
                inner = (Range(rvars[k], start, stop, 1, inner),)
        oaxis = self.out_axis[jgroup[-1]]
        out_index = tuple((v, self.out_axis[g[-1]]) for v, g in zip(ovars, outer_groups)) + \
            ((jb, oaxis), (jj, oaxis))
        if tiled:
            out_index = ((cvar, 0),) + out_index
        block = (over_row(self._init(row, first)),) + inner + \
            (over_row(self._finish(out_index, row)),)
        if tiled:
            t = Var(prefix + "t")
            tiles = IntOp("div", IntOp("add", nj, IntConst(TILE - 1)), IntConst(TILE))
            tile = IntOp("sub", t, IntOp("mul", cvar, tiles))
            body = _bind(cvar, IntOp("div", t, tiles),
                         _bind(jb, IntOp("mul", tile, IntConst(TILE)), block))
            return (Range(t, IntOp("max", Begin(), IntConst(0)),
                          IntOp("min", End(), IntOp("mul", parts, tiles)), 1, body),)
        start = IntOp("max", Begin(), IntConst(0)) if not outer_groups else IntConst(0)
        body = (Range(jb, start, stop_j, BLOCK, block),)
        for k in range(len(outer_groups) - 1, -1, -1):
            body = (self._kept_range(ovars[k], outer_groups[k], k == 0, body),)
        return body


def _size(expr, seen=None):
    """The number of distinct nodes of a scalar expression."""
    seen = set() if seen is None else seen
    if id(expr) in seen:
        return 0
    seen.add(id(expr))
    children = expr.args if isinstance(expr, Op) else (expr.x,) if isinstance(expr, Cast) else ()
    return 1 + sum(_size(c, seen) for c in children)


def _bind(var, expr, body):
    """`body` with `var` = integer expression `expr`: a Range of one iteration
    (LLVM removes the loop)."""
    return (Range(var, expr, IntOp("add", expr, IntConst(1)), 1, tuple(body)),)


def _checks(inputs, outs, extent, pattern, kept_all, schedule):
    checks = CheckList()
    checks.inputs(inputs, lambda d: extent[d])
    shift = 1 if schedule == "outer_partials" else 0
    if schedule != "partials":
        for k, d in enumerate(kept_all):
            checks.add(Dim(outs[0], k + shift), IntConst(1) if pattern[d] else extent[d],
                       kind="output", position=0, axis=k + shift, loop_dim=d)
    for position, out in enumerate(outs[1:], 1):
        for axis in range(out.ndim):
            checks.add(Dim(out, axis), Dim(outs[0], axis), kind="output", position=position,
                       axis=axis, loop_dim=None)
    return checks.result()


def _runs(groups, inputs, effective, out, out_axis):
    runs = []
    for group in groups:
        if len(group) < 2:
            continue
        for (buffer, _), eff in zip(inputs, effective):
            if eff[group[0]] is not None:
                runs.append((buffer, tuple(eff[d] for d in group)))
        if out is not None and group[0] in out_axis:
            runs.append((out, tuple(out_axis[d] for d in group)))
    return tuple(runs)
