"""argmax/argmin over the one reduced loop of schedules reduce_inner and
partials in lanes (`ArgLanes`, a part of `tjit.ir.lower_reduce._Schedule`).

Fast pass: blocks of ARG_BLOCK positions; in each, a plain extremum per lane
(lane j: block positions = j mod BLOCK_LANES; a vector max, no compare and
select per element), beside a per-lane sum of the values (NaN when a value is
NaN, or +inf meets -inf); at the end of a block the lanes fold into GROUPS
(extremum, block start) pairs, a group taking the block's extremum when
strictly better. Then acc = the extremum over the groups; the first block
holding it is the first noted by a group holding it; one contiguous rescan of
that block gives NumPy's first position.

Exact pass, run instead when the fast one saw a NaN or found only the identity
(a row of -inf, an empty chunk): a plain `ArgAccumulate` loop (NumPy's rules:
nothing seen, strictly better, or a first NaN). Several reduced loops get only
that loop.
"""
from __future__ import annotations

import numpy as np

from tjit.ir.nodes import (Accumulate, Buffer, Const, Guarded, Index, IntConst,
                           IntOp, Load, Op, Range, Store, Var, let)

BLOCK_LANES = 16  # lanes of a block's extremum: four AVX2 vectors of float64 ...
GROUPS = 4        # ... folded into this many (extremum, block) pairs at the end of a block
ARG_BLOCK = 128   # positions per block (short: the position is found by rescanning one)
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
        return [(b, GROUPS) for b in (self.lane_acc, self.lane_pos) if b] + \
            [(b, BLOCK_LANES) for b in (self.lane_nan, self.lane_block) if b] + \
            [(self.first, 1)] * (self.first is not None)

    def _lanes_reset(self):
        lane = Var(self.lane_acc.name + "_j")
        at = ((lane, 0),)
        stmts = (Range(lane, IntConst(0), IntConst(GROUPS), 1,
                       (Store(self.lane_acc, at, self.identity_const()),
                        Store(self.lane_pos, at, Const(-1, "int64")))),)
        if self.lane_nan is not None:
            stmts += (Range(lane, IntConst(0), IntConst(BLOCK_LANES), 1,
                            (Store(self.lane_nan, at, Const(0, self.acc_dtype)),)),)
        return stmts

    def with_lanes_fallback(self, build, start, stop, var, group):
        """The fast pass over the one reduced loop (`_lane_blocks`), then the
        exact pass `build()` (plain `ArgAccumulate` into acc, pos) instead
        when the fast one saw a NaN or found only the identity."""
        self._span = (start, stop, var, group)
        fast = self._lanes_reset() + self._lane_blocks(var, group, start, stop)
        fast += self._blocks_extremum()
        self._exact = True
        try:
            exact = (Store(self.acc, (), self.identity_const()),
                     Store(self.pos, (), Const(-1, "int64"))) + tuple(build())
        finally:
            self._exact = False
        redo = Op("eq", (Load(self.acc, ()), self.identity_const()), "bool")
        if self.lane_nan is not None:
            lane = Var(self.lane_acc.name + "_n")
            fast += (Store(self.nan, (), Const(0, self.acc_dtype)),
                     Range(lane, IntConst(0), IntConst(BLOCK_LANES), 1,
                           (Accumulate(self.nan, (), "add", Load(self.lane_nan, ((lane, 0),)),
                                       True),)))
            redo = Op("or", (redo, Op("isnan", (Load(self.nan, ()),), "bool")), "bool")
        return fast + (Guarded(redo, exact, self._blocks_position()),)

    def _lane_blocks(self, var, group, start, stop):
        """The fast pass over one reduced loop [start, stop): blocks of ARG_BLOCK
        positions (the last one shorter), a plain extremum per lane in each (a
        vector max: no compare and select per element; a block's last positions
        short of a whole vector go to lanes 0, 1, ...), then the lanes folded
        into GROUPS, each taking its block's extremum when strictly better and
        noting the block's start."""
        bvar, ivar, lane = Var(var.name + "b"), Var(var.name + "i"), Var(var.name + "l")
        rest = Var(var.name + "r")
        at = ((lane, 0),)
        gt = "gt" if self.kind == "argmax" else "lt"
        extremum = "maximum" if self.kind == "argmax" else "minimum"

        def scan(base, lanes):
            value = self._value_at(self._kept_terms + [(base, group), (lane, group)])
            held = Load(self.lane_block, at)
            if np.dtype(self.acc_dtype).kind in "iu":      # smax/umax: less to compile
                step = (Accumulate(self.lane_block, at, extremum, value),)
            else:       # (floats: an ordered compare and select, which drops NaNs)
                step = (Store(self.lane_block, at, Op("switch", (Op(gt, (value, held), "bool"),
                                                                 value, held), value.dtype)),)
            if self.lane_nan is not None:
                step += (Accumulate(self.lane_nan, at, "add", value),)
            return Range(lane, IntConst(0), lanes, 1, step)

        offsets = [Var("%s_o%d" % (var.name, c)) for c in range(1, BLOCK_LANES // GROUPS)]
        best = Load(self.lane_block, at)
        for o in offsets:       # lanes j, j + GROUPS, ... folded into group j
            other = Load(self.lane_block, ((lane, 0), (o, 0)))
            best = Op("switch", (Op(gt, (other, best), "bool"), other, best), best.dtype)
        found = Load(self.lane_acc, at)
        take = Op(gt, (best, found), "bool")
        fold = (Range(lane, IntConst(0), IntConst(GROUPS), 1, (
            Store(self.lane_pos, at, Op("switch", (take, Index(bvar), Load(self.lane_pos, at)),
                                        "int64")),
            Store(self.lane_acc, at, Op("switch", (take, best, found), found.dtype)))),)
        for k, o in reversed(list(enumerate(offsets, 1))):
            fold = let(o, IntConst(k * GROUPS), fold)
        end = IntOp("min", IntOp("add", bvar, IntConst(ARG_BLOCK)), stop)
        last = IntOp("add", bvar, floor_to(IntOp("sub", end, bvar), BLOCK_LANES))
        block = ((Range(lane, IntConst(0), IntConst(BLOCK_LANES), 1,
                        (Store(self.lane_block, at, self.identity_const()),)),
                  Range(ivar, bvar, IntOp("sub", end, IntConst(BLOCK_LANES - 1)), BLOCK_LANES,
                        (scan(ivar, IntConst(BLOCK_LANES)),)))
                 + let(rest, last, (scan(rest, IntOp("sub", end, rest)),)) + fold)
        return (Range(bvar, start, stop, ARG_BLOCK, block),)

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
