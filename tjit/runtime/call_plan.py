"""Call plans: a compiled function's native steps on small arrays run through one
native entry (`tjit.codegen.sequence`'s driver) instead of one ctypes call,
`prepare` and `finish` per node.

A plan is made for one tuple of input shapes by running a call (`build`): each
native step's launch allocates its outputs once, and the kernels' arguments go
into a table the driver reads. Later calls with the same shapes only allocate
the function's outputs and update values (fresh arrays every call, as on the
general path), write the arguments that change per call (inputs, shared values,
fresh outputs, results of Python steps) into the table, and call the driver,
once per run of native steps between Python steps. A plan of one native step
(one kernel) calls that kernel directly instead (`CallPlan.direct`: the same
arguments, without the driver, which then need not be loaded at all).
Intermediate arrays belong to the plan and never leave it; a plan is used by one
call at a time.

What stays the same: every input is checked and converted before (`_bind`); the
kernels check their shapes in native code. A nonzero status, a Python step's
result of another shape than the plan's, or any exception makes the caller run
the general path from the bound arguments, which raises the same errors as a
function without plans. Only steps whose results need no combining are planned
(elementwise kernels; reductions without partials or with a single partial
that is the result), and only below the thread split's size, so results are
bit-identical to the general path's.
"""
from __future__ import annotations

import ctypes

import numpy as np

from ..codegen.sequence import MAX_ARGS, sequence_driver
from ..tensor.elemwise import DimShuffle, Elemwise
from ..tensor.shape_ops import MakeVector, Shape
from ..tensor.subtensor import Subtensor
from ..ir.lower_elemwise import ElemwiseLaunch
from ..ir.reduce_launch import _COMBINE, ReduceLaunch
from . import call_stub, native_thunk
from .native_thunk import END, NativeThunk

MAX_PLANS = 8                   # plans kept per function (distinct input shapes)
MAX_OWNED_ELEMENTS = 1 << 16    # a plan's own intermediate arrays, in elements
HOLD_GIL_WORK = 1 << 12         # below this work per step, the driver keeps the GIL


class Unplannable(Exception):
    """This function (whatever the shapes) cannot use a plan."""


def check_plannable(fn):
    """Raise Unplannable unless `fn`'s steps may be planned: some native step, no
    step that destroys its inputs."""
    if not any(type(t) is NativeThunk for t in fn.thunks):
        raise Unplannable("no native step")
    for node in fn.nodes:
        if getattr(node.op, "destroy_map", None):
            raise Unplannable("a step destroys its input")


class _Native:
    """A run of native steps: one driver call over table[offset:]."""
    __slots__ = ("address", "updates", "count_pos", "records")

    def __init__(self, count_pos):
        self.count_pos = count_pos
        self.updates = []       # (table position, storage slot): id(value) per call
        self.address = None
        self.records = []       # (native kernel, its arguments, their first table position)


class _Python:
    """A step the plan runs as the general path does (thunk over storage slots);
    `checked`: its outputs native steps read, with the shapes the plan assumes."""
    __slots__ = ("thunk", "ins", "outs", "checked")

    def __init__(self, thunk, ins, outs):
        self.thunk, self.ins, self.outs = thunk, ins, outs
        self.checked = []       # (output index, shape)


class CallPlan:
    """The steps of one function for one tuple of input shapes (see the module doc)."""

    def __init__(self):
        self.fresh = []         # (slot, shape, dtype, view shape or None, table positions)
        self.allocs = []        # (slot, shape, dtype): fresh arrays the kernels write
        self.views = []         # (slot, shape, dtype, view shape, table positions)
        self.pre = []           # (table position, slot): written before the first segment
        self.single = None      # the table address when one native run is the whole plan
        self.owned_read = []    # (slot, array): plan-owned arrays Python steps read
        self.segments = []
        self.table = None
        self.owned = []         # keeps the plan's own arrays (and views of them) alive
        self.max_work = 0       # the largest native step (a smaller thread split: no plan)
        self.key = None         # the input shapes it is for
        self.stub = None        # the whole call as one Python function (call_stub), or None
        self.driver = None      # sequence_driver(): releasing the GIL unless the work is tiny
        # one kernel: (its function, its arguments as the table's words would name
        # them); `pre` and the views' positions are then indices into those arguments
        self.direct = None
        self.table_mode = None  # the driver's pre, views and single, for use_table

    def finalize(self, words):
        """Build the table (or, for one kernel, its direct call); sort fresh
        arrays into plain ones and views."""
        segments = self.segments
        self.table = (ctypes.c_int64 * len(words))(*words)
        address = ctypes.addressof(self.table)
        for g in segments:
            if type(g) is _Native:
                g.address = address + 8 * g.count_pos
        for slot, shape, dtype, view_shape, positions in self.fresh:
            if view_shape is None:
                self.allocs.append((slot, shape, dtype))
                self.pre.extend((pos, slot) for pos in positions)
            else:
                self.views.append((slot, shape, dtype, view_shape, positions))
        if len(segments) == 1:
            self.pre.extend(segments[0].updates)
            self.single = segments[0].address
            self.owned_read = []    # no Python step reads storage
            if len(segments[0].records) == 1:
                self.table_mode = (self.pre, self.views, self.single)
                native, args, base = self.segments[0].records[0]
                self.direct = (native, [a if type(a) is np.ndarray else int(a) for a in args])
                self.pre = [(pos - base, slot) for pos, slot in self.pre]
                self.views = [(slot, shape, dtype, view_shape, [pos - base for pos in positions])
                              for slot, shape, dtype, view_shape, positions in self.views]
                for pos in [p for p, _ in self.pre] + [p for v in self.views for p in v[4]]:
                    self.direct[1][pos] = None      # set per call (keep no caller's array)

    def use_table(self, fn):
        """Call the kernel through the driver and its table from now on: one
        ctypes argument instead of one per kernel argument (~0.5 us less per
        call), worth loading the driver once a plan has been called often.
        The caller holds the plan lock."""
        if self.direct is None:
            return
        self.pre, self.views, self.single = self.table_mode
        self.direct = None
        self.driver = sequence_driver(release_gil=self.max_work >= HOLD_GIL_WORK)
        if self.stub is not None:
            self.stub = fn._stub = call_stub.make_stub(fn, self, self.driver)

    def run(self, storage):
        """Run the planned steps over `storage` (bound arguments and shared values);
        False if the general path must run instead."""
        if self.max_work >= native_thunk.MIN_PARALLEL_ELEMENTS:
            return False
        empty = np.empty
        # one kernel: its arguments take the table's place
        table = self.table if self.direct is None else self.direct[1][:]
        for slot, shape, dtype in self.allocs:
            storage[slot] = empty(shape, dtype)
        for slot, shape, dtype, view_shape, positions in self.views:
            a = empty(shape, dtype)
            storage[slot] = a.reshape(view_shape)
            for pos in positions:
                table[pos] = a if self.direct is not None else id(a)
        if self.direct is not None:
            for pos, slot in self.pre:
                table[pos] = storage[slot]
            return not self.driver(*table, 0, END)
        for pos, slot in self.pre:
            table[pos] = id(storage[slot])
        driver = self.driver
        if self.single:
            return not driver(self.single)
        for slot, a in self.owned_read:
            storage[slot] = a
        for seg in self.segments:
            if type(seg) is _Native:
                for pos, slot in seg.updates:
                    table[pos] = id(storage[slot])
                if driver(seg.address):
                    return False
            else:
                results = seg.thunk([storage[i] for i in seg.ins])
                for k, shape in seg.checked:
                    if results[k].shape != shape:
                        return False
                for s, r in zip(seg.outs, results):
                    storage[s] = r
        return True


def build(fn, storage, key):
    """Run one call of `fn` over `storage` while planning it: (plan, ran). `plan`
    is None when these shapes cannot be planned (e.g. a reduction that needs its
    combine step); `ran`: storage holds every result (else the general path must
    run, from the bound arguments)."""
    fresh_slots = set(fn.output_slots) | set(fn.update_slots)
    plan = CallPlan()
    per_call = set(fn.input_slots) | {s for s, _ in fn.shared_slots}
    owned_ids = set()           # id of every array the plan owns (buffers and views)
    owned_elements = 0
    words = []
    fresh_positions = {}        # id(fresh buffer) -> its table positions
    # slots whose shape (sized) or value (fixed) is the same on every call of this
    # plan: the inputs' and shared values' shapes are its key
    sized = set(fn.input_slots) | {s for s, _ in fn.shared_slots}
    fixed = {s for s, v in enumerate(fn.storage_template) if v is not None}
    seg = None
    for (thunk, ins, outs), node in zip(fn.steps, fn.nodes):
        inputs = [storage[i] for i in ins]
        if _shape_only(node, ins, outs, sized, fixed, fresh_slots):
            # x.shape[0] and the like: computed once, here (mean's divisor)
            for s, r in zip(outs, thunk(inputs)):
                storage[s] = r
                fixed.add(s)
                sized.add(s)
                plan.owned.append(r)
                owned_ids.add(id(r))
                plan.owned_read.append((s, r))
            continue
        step = _native_step(thunk, inputs) if type(thunk) is NativeThunk else None
        if step is None or len(step[0]) > MAX_ARGS:
            if getattr(node.op, "view_map", None) and any(
                    id(a) in owned_ids for a in inputs):
                return None, False      # a view of a plan's array would leave the plan
            for i, a in zip(ins, inputs):
                if id(a) in owned_ids:
                    plan.owned_read.append((i, a))
            results = thunk(inputs)
            if any(id(r) in owned_ids for r in results):
                return None, False
            for s, r in zip(outs, results):
                storage[s] = r
                per_call.add(s)
            plan.segments.append(_Python(thunk, ins, outs))
            seg = None
            continue
        args, work, results, buffers = step
        plan.max_work = max(plan.max_work, work)
        if seg is None:
            seg = _Native(len(words))
            words.append(0)
            plan.segments.append(seg)
        words[seg.count_pos] += 1
        words.extend([thunk.native.address, len(args)])
        base = len(words)
        seg.records.append((thunk.native, args, base))
        # a buffer the launch allocated is fresh per call when it backs an output
        # or update value of the function, else the plan's own
        backing = {id(r if r.base is None else r.base): (s, r) for s, r in zip(outs, results)}
        for b in buffers:
            s, r = backing.get(id(b), (None, None))
            if s in fresh_slots:
                positions = fresh_positions[id(b)] = []
                plan.fresh.append((s, b.shape, b.dtype, None if r is b else r.shape, positions))
                per_call.add(s)
            else:
                owned_elements += b.size
                plan.owned.append(b)
                owned_ids.add(id(b))
        for s, r in zip(outs, results):
            if s not in fresh_slots:
                plan.owned.append(r)
                owned_ids.add(id(r))
        for j, a in enumerate(args):
            if type(a) is np.ndarray:
                if id(a) in fresh_positions:
                    fresh_positions[id(a)].append(base + j)
                else:
                    k = next((k for k, x in enumerate(inputs) if x is a), None)
                    if k is not None and ins[k] in per_call:
                        seg.updates.append((base + j, ins[k]))
                words.append(id(a))
            else:
                words.append(int(a))
        if owned_elements > MAX_OWNED_ELEMENTS:
            return None, False
        if thunk.cfunc(*args, 0, END):
            return None, False
        for s, r in zip(outs, results):
            storage[s] = r
            sized.add(s)
    if not any(type(g) is _Native for g in plan.segments):
        return None, True       # every step ran as on the general path
    # the shapes Python steps hand to native steps are part of the plan
    native_reads = {s for g in plan.segments if type(g) is _Native for _, s in g.updates}
    for g in plan.segments:
        if type(g) is _Python:
            g.checked = [(k, storage[s].shape) for k, s in enumerate(g.outs)
                         if s in native_reads]
    plan.finalize(words)
    plan.key = key
    release_gil = plan.max_work >= HOLD_GIL_WORK
    if plan.direct is not None:
        plan.driver = kernel_function(plan.direct[0], release_gil)
    else:
        plan.driver = sequence_driver(release_gil=release_gil)
    if call_stub.eligible(fn, plan):
        plan.stub = call_stub.make_stub(fn, plan, plan.driver)
    return plan, True


# Python steps whose value depends only on their inputs' shapes (Shape) or values
# (the rest), and which have no side effects
_PURE_OPS = (Subtensor, Elemwise, DimShuffle, MakeVector)


def _shape_only(node, ins, outs, sized, fixed, fresh_slots):
    """Whether `node` computes the same value on every call of a plan: the shape
    of a value whose shape is the plan's, or a pure op over such values and
    constants. Never a function output (the caller owns those)."""
    op = node.op
    if any(s in fresh_slots for s in outs):
        return False
    if type(op) is Shape:
        return ins[0] in sized
    return isinstance(op, _PURE_OPS) and all(s in fixed for s in ins)


def _native_step(thunk, inputs):
    """(args, results, allocated buffers) of a native step the plan can run, or None."""
    launch = thunk.launch
    kind = type(launch)
    if kind is not ElemwiseLaunch and kind is not ReduceLaunch:
        return None
    args, work, carry = launch.prepare(inputs, _alloc)
    if args is None or work >= native_thunk.MIN_PARALLEL_ELEMENTS:
        return None
    ids = {id(a) for a in inputs}
    buffers = []
    for a in args:
        if type(a) is np.ndarray:
            if id(a) not in ids:
                buffers.append(a)
        elif not isinstance(a, (int, np.integer)) or isinstance(a, (bool, np.bool_)):
            return None
    if kind is ElemwiseLaunch:
        results = list(carry)
    elif launch.m2:
        return None
    elif type(carry) is tuple:
        parts, _, out_shape = carry
        if (launch.kind not in _COMBINE or len(parts) != 1 or parts[0].shape[0] != 1
                or parts[0].dtype != launch.out_dtype):
            return None
        results = [parts[0].reshape(out_shape)]
    else:
        results = [carry]
    return args, work, results, buffers


_PROTOTYPES = {}    # (arrays, params) -> the ctypes type of a kernel called holding the GIL


def kernel_function(native, release_gil):
    """`native`'s kernel as a ctypes function (`native.cfunc`, or, holding the GIL:
    cheaper for tiny work, as the driver's variant), keeping its code loaded."""
    if release_gil:
        return native.cfunc
    shape = (len(native.kernel.buffers), len(native.kernel.params))
    prototype = _PROTOTYPES.get(shape)
    if prototype is None:
        prototype = _PROTOTYPES[shape] = ctypes.PYFUNCTYPE(
            ctypes.c_int32, *([ctypes.py_object] * shape[0]), *([ctypes.c_int64] * (shape[1] + 2)))
    fn = prototype(native.address)
    fn.native = native          # whoever holds the function holds the code
    return fn


def _alloc(k, shape, dtype):
    return np.empty(shape, dtype)
