"""Lowering of a reduction (a scalar program over inputs, reduced over some loop
dims) into a loop-IR `Kernel`, with one of three schedules chosen from which
dims are reduced (`kernel.meta['schedule']`):

- `reduce_inner` (the innermost non-broadcastable dim is reduced, e.g. a sum over
  axis 1): loops over the kept dims, and for each output point a scalar
  accumulator over the reduced dims. A float sum or product is blocked: blocks of
  `BLOCK` elements are accumulated with reassociation allowed (LLVM keeps vector
  partial sums), and the block results are added in order. The split
  (`begin`/`end`) is over the outermost kept loop.
- `reduce_outer` (the innermost dim is kept, e.g. a sum over axis 0): the
  innermost kept dim J runs in blocks of `BLOCK` columns, each with a local
  accumulator row; for each block, the reduced dims loop outside a unit-stride
  loop over the row (vectorized across columns, no reassociation). The split is
  over the outermost kept loop: the other kept dims, else J's columns.
- `partials` (every non-broadcastable dim is reduced): the first reduced loop is
  cut into P = dim(out0, 0) chunks of fixed length ceil(n / P); chunk c writes
  its accumulator to out0[c] (and for argmax/argmin its position, a flat index
  into the reduced dims, to out1[c]). The runtime picks P from the shape alone
  and combines the partials in order, so results never depend on the threads.

Each output point is computed by one fixed sequence of operations whatever the
split, so results are bit-identical for any thread count. Adjacent dims that
every buffer treats alike are collapsed under a `Contiguous` guard, as in
`elementwise_kernel`; `kernel.meta` has the same `checks`, `outer_dims`,
`collapsed_outer_dims`, `contiguous_runs` keys (see `tjit.ir.lower`), so
`outer_extent` gives the extent that `begin`/`end` split.
"""
from __future__ import annotations

import numpy as np

from tjit.ir.lower import _collapsible_groups, _effective_axes, _place_loads, _product
from tjit.ir.nodes import (Accumulate, ArgAccumulate, Begin, Buffer, Cast, Check, Const,
                           Contiguous, Dim, End, Guarded, Improves, Index, IntConst, IntMul, IntOp,
                           Kernel, Load, Local, Op, Range, Store, Var)

BLOCK = 1024
KINDS = {"sum": "add", "prod": "mul", "max": "maximum", "min": "minimum", "all": "and",
         "any": "or", "argmax": "argmax", "argmin": "argmin"}


def identity(kind, dtype):
    """The initial accumulator value of `kind` in `dtype` (max of floats: -inf)."""
    dt = np.dtype(dtype)
    if kind == "sum" or kind == "any":
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
    if kept_act or not red_act:
        schedule = "reduce_inner" if not active or active[-1] in reduced else "reduce_outer"
        bc = tuple(pattern[d] for d in kept_all)
        outs = [Buffer("out", "int64" if arg else out_dtype, bc)]
    else:
        schedule = "partials"
        outs = [Buffer("partial", acc_dtype, (False,))]
        if arg:
            outs.append(Buffer("partial_pos", "int64", (False,)))
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
                contiguous_runs=(), schedule=schedule, kind=kind, acc_dtype=acc_dtype)
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
    """Output axes that the split loop covers (partials: the chunk axis 0)."""
    if schedule == "partials":
        return (0,)
    if not kept_groups:
        return ()
    return tuple(out_axis[d] for d in kept_groups[0])


class _Schedule:
    """Builds one loop nest (collapsed or not) of a reduction kernel."""

    def __init__(self, kind, schedule, inputs, effective, outs, extent, out_axis, value,
                 acc_dtype, reduced):
        self.kind, self.schedule = kind, schedule
        self.inputs, self.effective, self.outs = inputs, effective, outs
        self.extent, self.out_axis, self.value = extent, out_axis, value
        self.acc_dtype, self.op = acc_dtype, KINDS[kind]
        self.arg = kind in ("argmax", "argmin")
        local_shape = (False,) if schedule == "reduce_outer" else ()
        self.acc = Buffer("acc", acc_dtype, local_shape)
        self.pos = Buffer("acc_pos", "int64", local_shape) if self.arg else None
        self.blocked = (schedule != "reduce_outer" and kind in ("sum", "prod")
                        and np.dtype(acc_dtype).kind == "f")
        # argmax/argmin: a vectorized max/min of each block, then a scalar rescan
        # of the (rare) blocks that hold a new extremum
        self.arg_blocked = self.arg and schedule != "reduce_outer"
        if self.arg_blocked:
            self.blocked = True
        self.block = Buffer("block", acc_dtype, ()) if self.blocked else None
        self.first = Buffer("first", "int64", ()) if self.arg_blocked else None

    def locals(self):
        size = BLOCK if self.schedule == "reduce_outer" else 1
        out = [Local(self.acc, size)]
        if self.pos is not None:
            out.append(Local(self.pos, size))
        if self.block is not None:
            out.append(Local(self.block, 1))
        if self.first is not None:
            out.append(Local(self.first, 1))
        return tuple(out)

    def _extent(self, group):
        return _product(self.extent[d] for d in group)

    def _init(self, index):
        init = Const(identity(self.kind, self.acc_dtype), self.acc_dtype)
        stmts = [Store(self.acc, index, init)]
        if self.arg:
            stmts.append(Store(self.pos, index, Const(-1, "int64")))
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
                term = IntMul(term, self._extent(h))
            pos = term if pos is None else IntOp("add", pos, term)
        return Index(pos if pos is not None else IntConst(0))

    def _update(self, index, value, red_vars, red_groups, reassoc=False, into=None):
        if self.arg:
            return ArgAccumulate(self.acc, self.pos, index, self.kind, value,
                                 self._position(red_vars, red_groups))
        return Accumulate(into or self.acc, index, self.op, value, reassoc)

    def _finish(self, out_index, acc_index):
        out = self.outs[0]
        if self.schedule == "partials":
            stmts = [Store(out, out_index, Load(self.acc, acc_index))]
            if self.arg:
                stmts.append(Store(self.outs[1], out_index, Load(self.pos, acc_index)))
            return stmts
        src = Load(self.pos, acc_index) if self.arg else Load(self.acc, acc_index)
        return [Store(out, out_index, src if src.dtype == out.dtype else Cast(src, out.dtype))]

    def nest(self, kept_groups, red_groups, prefix):
        if self.schedule == "reduce_outer":
            return self._nest_outer(kept_groups, red_groups, prefix)
        kvars = [Var("%sk%d" % (prefix, n)) for n in range(len(kept_groups))]
        rvars = [Var("%sr%d" % (prefix, n)) for n in range(len(red_groups))]
        value = self._value_at(list(zip(kvars + rvars, kept_groups + red_groups)))
        chunk = None
        if self.schedule == "partials":
            cvar = Var(prefix + "chunk")
            n0 = self._extent(red_groups[0])
            parts = Dim(self.outs[0], 0)
            size = IntOp("div", IntOp("add", n0, IntOp("sub", parts, IntConst(1))), parts)
            lo = IntMul(cvar, size)
            chunk = (lo, IntOp("min", IntOp("add", lo, size), n0))
        # the reduced loops, innermost first
        inner = self._blocked_loop(rvars, red_groups, value, chunk)
        for k in range(len(red_groups) - 2, -1, -1):
            start, stop = (chunk if k == 0 and chunk else
                           (IntConst(0), self._extent(red_groups[k])))
            inner = (Range(rvars[k], start, stop, 1, inner),)
        if self.schedule == "partials":
            body = tuple(self._init(())) + inner + tuple(self._finish(((cvar, 0),), ()))
            return (Range(cvar, IntOp("max", Begin(), IntConst(0)),
                          IntOp("min", End(), Dim(self.outs[0], 0)), 1, body),)
        out_index = tuple((v, self.out_axis[g[-1]]) for v, g in zip(kvars, kept_groups))
        body = tuple(self._init(())) + inner + tuple(self._finish(out_index, ()))
        for k in range(len(kept_groups) - 1, -1, -1):
            body = (self._kept_range(kvars[k], kept_groups[k], k == 0, body),)
        return body

    def _kept_range(self, var, group, outermost, body, step=1):
        n = self._extent(group)
        if outermost:
            return Range(var, IntOp("max", Begin(), IntConst(0)), IntOp("min", End(), n),
                         step, body)
        return Range(var, IntConst(0), n, step, body)

    def _blocked_loop(self, rvars, red_groups, value, chunk):
        """The innermost reduced loop with its update (a bare update without one)."""
        if not red_groups:
            return (self._update((), value, rvars, red_groups),)
        var, k = rvars[-1], len(red_groups) - 1
        start, stop = chunk if (k == 0 and chunk) else (IntConst(0), self._extent(red_groups[k]))
        if not self.blocked:
            return (Range(var, start, stop, 1, (self._update((), value, rvars, red_groups),)),)
        bvar = Var(var.name + "b")
        init = Const(identity(self.kind, self.acc_dtype), self.acc_dtype)
        if self.arg_blocked:
            stop_b = IntOp("min", IntOp("add", bvar, IntConst(BLOCK)), stop)
            extremum = "maximum" if self.kind == "argmax" else "minimum"
            scan = Range(var, bvar, stop_b, 1, (Accumulate(self.block, (), extremum, value),))
            # the first position in the block holding its extremum m (its first NaN
            # when m is NaN): a vectorizable min of (hit ? position : big)
            m = Load(self.block, ())
            hit = Op("eq", (value, m), "bool")
            if np.dtype(self.acc_dtype).kind == "f":
                both_nan = Op("and", (Op("isnan", (value,), "bool"), Op("isnan", (m,), "bool")),
                              "bool")
                hit = Op("or", (hit, both_nan), "bool")
            where = Op("switch", (hit, self._position(rvars, red_groups),
                                  Const(2 ** 62, "int64")), "int64")
            rescan = (Store(self.first, (), Const(2 ** 62, "int64")),
                      Range(var, bvar, stop_b, 1, (Accumulate(self.first, (), "minimum", where),)),
                      Store(self.acc, (), m), Store(self.pos, (), Load(self.first, ())))
            improves = Improves(self.acc, self.pos, (), self.kind, m)
            body = (Store(self.block, (), init), scan, Guarded(improves, rescan, ()))
            return (Range(bvar, start, stop, BLOCK, body),)
        block_loop = Range(var, bvar, IntOp("min", IntOp("add", bvar, IntConst(BLOCK)), stop), 1,
                           (self._update((), value, rvars, red_groups, True, self.block),))
        body = (Store(self.block, (), init), block_loop,
                Accumulate(self.acc, (), self.op, Load(self.block, ())))
        return (Range(bvar, start, stop, BLOCK, body),)

    def _nest_outer(self, kept_groups, red_groups, prefix):
        outer_groups, jgroup = kept_groups[:-1], kept_groups[-1]
        ovars = [Var("%sk%d" % (prefix, n)) for n in range(len(outer_groups))]
        rvars = [Var("%sr%d" % (prefix, n)) for n in range(len(red_groups))]
        jb, jj = Var(prefix + "jb"), Var(prefix + "j")
        nj = self._extent(jgroup)
        stop_j = IntOp("min", End(), nj) if not outer_groups else nj
        width = IntOp("min", IntConst(BLOCK), IntOp("sub", stop_j, jb))
        terms = list(zip(ovars, outer_groups)) + [(jb, jgroup), (jj, jgroup)] + \
            list(zip(rvars, red_groups))
        value = self._value_at(terms)
        row = ((jj, 0),)

        def over_row(stmts):
            return Range(jj, IntConst(0), width, 1, tuple(stmts))

        inner = (over_row([self._update(row, value, rvars, red_groups)]),)
        for k in range(len(red_groups) - 1, -1, -1):
            inner = (Range(rvars[k], IntConst(0), self._extent(red_groups[k]), 1, inner),)
        oaxis = self.out_axis[jgroup[-1]]
        out_index = tuple((v, self.out_axis[g[-1]]) for v, g in zip(ovars, outer_groups)) + \
            ((jb, oaxis), (jj, oaxis))
        block = (over_row(self._init(row)),) + inner + (over_row(self._finish(out_index, row)),)
        start = IntOp("max", Begin(), IntConst(0)) if not outer_groups else IntConst(0)
        body = (Range(jb, start, stop_j, BLOCK, block),)
        for k in range(len(outer_groups) - 1, -1, -1):
            body = (self._kept_range(ovars[k], outer_groups[k], k == 0, body),)
        return body


def _checks(inputs, outs, extent, pattern, kept_all, schedule):
    checks, meta = [], {}

    def add(a, b, **info):
        if a == b:
            return
        code = len(checks) + 1
        checks.append(Check(a, b, code))
        meta[code] = info

    for position, (buffer, axes) in enumerate(inputs):
        for axis in range(buffer.ndim):
            loop_dim = axes.index(axis) if axis in axes else None
            if buffer.broadcastable[axis]:
                add(Dim(buffer, axis), IntConst(1), kind="broadcastable",
                    position=position, axis=axis, loop_dim=loop_dim)
            else:
                add(Dim(buffer, axis), extent[loop_dim], kind="input",
                    position=position, axis=axis, loop_dim=loop_dim)
    if schedule != "partials":
        for k, d in enumerate(kept_all):
            add(Dim(outs[0], k), IntConst(1) if pattern[d] else extent[d], kind="output",
                position=0, axis=k, loop_dim=d)
    else:
        for out in outs[1:]:
            add(Dim(out, 0), Dim(outs[0], 0), kind="output", position=1, axis=0, loop_dim=None)
    return tuple(checks), meta


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
