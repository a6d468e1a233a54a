"""argmax/argmin over the innermost reduced loop in lanes (`ArgLanes`, a part of
`tjit.ir.lower_reduce._Schedule` for schedules reduce_inner and partials).

Fast pass (one reduced loop): blocks of ARG_BLOCK positions; in each, a plain
extremum per lane (lane j: block positions = j mod BLOCK_LANES; a vector max,
no compare and select per element), beside a per-lane sum of the values (NaN
when a value is NaN); at the end of a block the lanes fold into GROUPS
(extremum, block start) pairs, a group taking the block's when strictly better.
At the end: acc = the extremum over the groups; the first block holding it is
the first noted by a group holding it; one contiguous rescan of that block
gives NumPy's first position. Several reduced loops: the fast pass keeps
(extremum, position) per element in LANES lanes (strict compare and select).

Exact pass, run instead when the fast one saw a NaN (or +inf met -inf) or
found only the identity (a row of -inf, an empty chunk): LANES lanes of
`ArgAccumulate` (NumPy's rules: nothing seen, strictly better, or a first NaN),
then the smallest position among lanes holding the extremum.
"""
from __future__ import annotations

import numpy as np

from tjit.ir.nodes import (Accumulate, ArgAccumulate, Buffer, Const, Guarded, Index, IntConst,
                           IntOp, Load, Op, Range, Store, Var, let)

BLOCK_LANES = 16  # lanes of a block's extremum: four AVX2 vectors of float64 ...
GROUPS = 4        # ... folded into this many (extremum, block) pairs at the end of a block
ARG_BLOCK = 128   # positions per block (short: the position is found by rescanning one)
LANES = 8         # lanes of (extremum, position) per element: fewer, each holds a
#                   vector of positions too
BIG = 2 ** 62     # "no position" in a min over positions


def floor_to(count, multiple):
    """count (>= 0) rounded down to a multiple of `multiple`."""
    return IntOp("mul", IntOp("div", count, IntConst(multiple)), IntConst(multiple))


class ArgLanes:
    """The argmax/argmin lanes of a `_Schedule` (which provides kind, acc,
    pos, acc_dtype, _kept_terms, _value_at, _position, identity_const)."""

    def lane_buffers(self, prefix):
        """Declare the lanes' locals (all None when not argmax/argmin inner)."""
        on = self.lanes
        self.lane_acc = Buffer(prefix + "lane", self.acc_dtype, (False,)) if on else None
        self.lane_pos = Buffer(prefix + "lane_pos", "int64", (False,)) if on else None
        self.lane_nan = Buffer(prefix + "lane_nan", self.acc_dtype, (False,)) \
            if on and np.dtype(self.acc_dtype).kind == "f" else None
        self.lane_block = Buffer(prefix + "lane_block", self.acc_dtype, (False,)) if on else None
        self.first = Buffer(prefix + "first", "int64", ()) if on else None
        self._span = None       # (start, stop, var, group) of the fast pass's one loop

    def lane_locals(self):
        """(buffer, size) of the lanes' locals."""
        return [(b, BLOCK_LANES) for b in (self.lane_acc, self.lane_pos, self.lane_nan,
                                           self.lane_block) if b] + \
            [(self.first, 1)] * (self.first is not None)

    def _lanes_reset(self):
        lane = Var(self.lane_acc.name + "_j")
        at = ((lane, 0),)
        init = self.identity_const()
        stmts = (Store(self.lane_acc, at, init), Store(self.lane_pos, at, Const(-1, "int64")))
        if self.lane_nan is not None and not self._exact:
            stmts += (Store(self.lane_nan, at, Const(0, self.acc_dtype)),)
        return Range(lane, IntConst(0), IntConst(BLOCK_LANES), 1, stmts)

    def with_lanes_fallback(self, build):
        """`build()` (the reduced loops over the lanes) fast, then combined; then
        the exact pass when the fast one saw a NaN or found only the identity."""
        self._span = None
        fast = tuple(build())
        if self._span:          # one reduced loop: the lanes' blocks
            fast += self._blocks_extremum()
            located = self._blocks_position()
        else:
            fast += self._lanes_combined()
            located = ()
        self._exact = True
        try:
            exact = (self._lanes_reset(),) + tuple(build())
        finally:
            self._exact = False
        init = self.identity_const()
        exact += (Store(self.acc, (), init), Store(self.pos, (), Const(-1, "int64")))
        exact += self._lanes_combined()
        redo = Op("eq", (Load(self.acc, ()), init), "bool")
        if self.lane_nan is not None:
            lane = Var(self.lane_acc.name + "_n")
            fast += (Store(self.nan, (), Const(0, self.acc_dtype)),
                     Range(lane, IntConst(0), IntConst(BLOCK_LANES), 1,
                           (Accumulate(self.nan, (), "add", Load(self.lane_nan, ((lane, 0),)),
                                       True),)))
            redo = Op("or", (redo, Op("isnan", (Load(self.nan, ()),), "bool")), "bool")
        return fast + (Guarded(redo, exact, located),)

    def _lanes_combined(self):
        """(acc, pos) from the lanes: the extremum over the lanes (NaN if one
        is), then the smallest position of a lane holding it (NumPy's first
        occurrence: lanes interleave positions, so not the first such lane);
        pos = -1 when no lane saw anything (an empty chunk)."""
        lane = Var(self.lane_acc.name + "_k")
        at = ((lane, 0),)
        held, held_pos = Load(self.lane_acc, at), Load(self.lane_pos, at)
        seen = Op("ge", (held_pos, Const(0, "int64")), "bool")
        held_pos = Op("add", (held_pos, Index(lane)), "int64")
        big = Const(BIG, "int64")
        found = Load(self.acc, ())
        hit = Op("eq", (held, found), "bool")
        if np.dtype(self.acc_dtype).kind == "f":
            both_nan = Op("and", (Op("isnan", (held,), "bool"),
                                  Op("isnan", (found,), "bool")), "bool")
            hit = Op("or", (hit, both_nan), "bool")
        where = Op("switch", (Op("and", (hit, seen), "bool"), held_pos, big), "int64")
        first = Load(self.first, ())
        none = Op("eq", (first, big), "bool")
        return (Range(lane, IntConst(0), IntConst(LANES), 1,
                      (ArgAccumulate(self.acc, self.pos, (), self.kind, held, held_pos),)),
                Store(self.first, (), big),
                Range(lane, IntConst(0), IntConst(LANES), 1,
                      (Accumulate(self.first, (), "minimum", where),)),
                Store(self.pos, (), Op("switch", (none, Const(-1, "int64"), first), "int64")))

    def _lane_blocks(self, var, group, start, stop):
        """The fast pass over one reduced loop [start, stop): blocks of ARG_BLOCK
        positions, a plain extremum per lane in each (a vector max: no compare
        and select per element), then lane j takes its block's extremum when
        strictly better, noting the block's start. The tail is a shorter block."""
        bvar, ivar, lane = Var(var.name + "b"), Var(var.name + "i"), Var(var.name + "l")
        at = ((lane, 0),)
        gt = "gt" if self.kind == "argmax" else "lt"
        init = self.identity_const()

        def scan(base, lanes):
            value = self._value_at(self._kept_terms + [(base, group), (lane, group)])
            held = Load(self.lane_block, at)
            step = (Store(self.lane_block, at,
                          Op("switch", (Op(gt, (value, held), "bool"), value, held), value.dtype)),)
            if self.lane_nan is not None:
                step += (Accumulate(self.lane_nan, at, "add", value),)
            return Range(lane, IntConst(0), lanes, 1, step)

        offsets = [Var("%s_o%d" % (var.name, c)) for c in range(1, BLOCK_LANES // GROUPS)]

        def block(begin, end, whole):
            best = Load(self.lane_block, at)
            for o in offsets:       # lanes j, j + GROUPS, ... folded into group j
                other = Load(self.lane_block, ((lane, 0), (o, 0)))
                best = Op("switch", (Op(gt, (other, best), "bool"), other, best), best.dtype)
            found = Load(self.lane_acc, at)
            take = Op(gt, (best, found), "bool")
            stmts = (all_lanes(Store(self.lane_block, at, init)),
                     Range(ivar, begin, IntOp("sub", end, IntConst(BLOCK_LANES - 1)), BLOCK_LANES,
                           (scan(ivar, IntConst(BLOCK_LANES)),)))
            if not whole:       # the last, shorter block: the last positions in lanes 0, 1, ...
                last = IntOp("add", begin, floor_to(IntOp("sub", end, begin), BLOCK_LANES))
                stmts += let(rest, last, (scan(rest, IntOp("sub", end, rest)),))
            fold = (Range(lane, IntConst(0), IntConst(GROUPS), 1, (
                Store(self.lane_pos, at, Op("switch", (take, Index(begin), Load(self.lane_pos, at)),
                                            "int64")),
                Store(self.lane_acc, at, Op("switch", (take, best, found), found.dtype)))),)
            for k, o in reversed(list(enumerate(offsets, 1))):
                fold = let(o, IntConst(k * GROUPS), fold)
            return stmts + fold

        def all_lanes(*stmts):
            return Range(lane, IntConst(0), IntConst(BLOCK_LANES), 1, stmts)

        rest, tail = Var(var.name + "r"), Var(var.name + "t")
        tail_start = IntOp("add", start, floor_to(IntOp("max", IntOp("sub", stop, start),
                                                      IntConst(0)), ARG_BLOCK))
        full = Range(bvar, start, IntOp("sub", stop, IntConst(ARG_BLOCK - 1)), ARG_BLOCK,
                     block(bvar, IntOp("add", bvar, IntConst(ARG_BLOCK)), True))
        return (full,) + let(tail, tail_start, block(tail, stop, False))

    def _blocks_extremum(self):
        """acc after `_lane_blocks`: the extremum over the groups."""
        group = Var(self.lane_acc.name + "_g")
        held, found = Load(self.lane_acc, ((group, 0),)), Load(self.acc, ())
        gt = "gt" if self.kind == "argmax" else "lt"
        if self.lane_nan is not None:   # no NaN in the lanes: a vector max reduction
            step = Accumulate(self.acc, (), "maximum" if gt == "gt" else "minimum", held, True)
        else:
            step = Store(self.acc, (), Op("switch", (Op(gt, (held, found), "bool"), held, found),
                                          found.dtype))
        return (Range(group, IntConst(0), IntConst(GROUPS), 1, (step,)),)

    def _blocks_position(self):
        """pos after `_lane_blocks` (no NaN seen): the first block holding acc
        (the first noted by a group holding acc), then the first position
        holding acc in it (a vectorized min of (hit ? position : big))."""
        start, stop, var, red_group = self._span
        group = Var(self.lane_acc.name + "_g")
        at = ((group, 0),)
        found, big = Load(self.acc, ()), Const(BIG, "int64")
        noted = Op("switch", (Op("eq", (Load(self.lane_acc, at), found), "bool"),
                              Load(self.lane_pos, at), big), "int64")
        value = self._value_at(self._kept_terms + [(var, red_group)])
        where = Op("switch", (Op("eq", (value, found), "bool"), Index(var), big), "int64")
        bvar = Var(var.name + "rb")
        rescan = Range(var, bvar, IntOp("min", IntOp("add", bvar, IntConst(ARG_BLOCK)), stop), 1,
                       (Accumulate(self.pos, (), "minimum", where),))
        return (Store(self.first, (), big),
                Range(group, IntConst(0), IntConst(GROUPS), 1,
                      (Accumulate(self.first, (), "minimum", noted),)),
                # (loop bounds are index expressions, not loads: find the noted
                # block by walking the block starts again)
                Store(self.pos, (), big),
                Range(bvar, start, stop, ARG_BLOCK,
                      (Guarded(Op("eq", (Index(bvar), Load(self.first, ())), "bool"),
                               (rescan,), ()),)))

    def _lane_loops(self, rvars, red_groups, start, stop):
        """The innermost reduced loop [start, stop) of argmax/argmin over the
        lanes: blocks of LANES positions, lane j taking block position j, then
        the remaining positions into lanes 0, 1, ..."""
        var, group = rvars[-1], red_groups[-1]
        block, lane = Var(var.name + "b"), Var(var.name + "l")
        outer_terms = self._kept_terms + list(zip(rvars[:-1], red_groups[:-1]))

        def update(base):
            value = self._value_at(outer_terms + [(base, group), (lane, group)])
            # the lanes hold the position of their block (a broadcast, not a
            # vector of positions): lane k's position is held + k
            position = self._position(rvars[:-1] + [base], red_groups)
            at = ((lane, 0),)
            if self._exact:
                return (ArgAccumulate(self.lane_acc, self.lane_pos, at, self.kind, value,
                                      position),)
            held = Load(self.lane_acc, at)
            take = Op("gt" if self.kind == "argmax" else "lt", (value, held), "bool")
            stmts = (Store(self.lane_pos, at, Op("switch", (take, position,
                                                            Load(self.lane_pos, at)), "int64")),
                     Store(self.lane_acc, at, Op("switch", (take, value, held), value.dtype)))
            if self.lane_nan is not None:
                stmts += (Accumulate(self.lane_nan, at, "add", value),)
            return stmts

        count = IntOp("max", IntOp("sub", stop, start), IntConst(0))
        tail = Var(var.name + "t")
        tail_start = IntOp("add", start, floor_to(count, LANES))
        full = Range(block, start, IntOp("sub", stop, IntConst(LANES - 1)), LANES,
                     (Range(lane, IntConst(0), IntConst(LANES), 1, update(block)),))
        rest = let(tail, tail_start,
                     (Range(lane, IntConst(0), IntOp("sub", stop, tail), 1, update(tail)),))
        return (full,) + rest
