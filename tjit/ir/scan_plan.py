"""The native scan loop of a compiled step function: which kernel computes each
node of the step and where each value lives (`plan_scan`), and the loop Kernel
for one shape signature (`ScanPlan.loop_kernel`; tjit/ir/lower_scan.py splices
the node kernels into it).

A step lowers when every node of its rewritten inner graph is an elementwise,
rowwise or reduction kernel (from the lowering registry; reductions to fewer
dims run with one partial chunk), a matrix-vector product (blocked axpys; a
loop-invariant matrix is transposed once per call), a constant-index view
(addressed in place) or a shape-check alias. The runtime part (probing step 0
for shapes, allocating, calling) is tjit/scan_module/native.py.
"""
from __future__ import annotations

import numpy as np

from ..ops.fused_elemwise import FusedElemwise
from ..ops.fused_reduce import FusedReduce
from ..ops.fused_rows import FusedRows
from ..scan_module.kernels import matvec_kind
from ..tensor.subtensor import Subtensor
from .lower import elementwise_kernel
from .lower_scan import Binding, SpliceError, loop_kernel, view_binding
from .lowering import lower
from .nodes import (Accumulate, Buffer, Cast, Check, Const, Contiguous, Dim, Guarded, IntConst,
                    IntOp, Kernel, Load, Local, Op, Param, Range, Store, Var, let, range_to)

MAX_REGISTER_LAG = 4   # scalar outputs with at most this many taps back stay in registers
MATVEC_UNROLL = 8
MATVEC_BLOCK_BYTES = 256    # outputs summed at once: 8 AVX2 registers of partial sums
MAX_SPECIALIZED_MATVEC = 128 * 128   # elements of a matrix compiled for its exact shape


class ScanUnsupported(SpliceError):
    """The step holds a node (or a view, a layout) the native loop cannot run."""


def plan_scan(fn, spec, node, last_only, level):
    """The ScanPlan of the Scan `node` whose step is the compiled function `fn`
    (its storage layout: input_slots, output_slots, steps, nodes,
    storage_template), node kernels lowered for codegen `level`; None when the
    step does not lower."""
    try:
        return ScanPlan(fn, spec, node, last_only, level)
    except ScanUnsupported:
        return None


def _node_kernel(n, level):
    """The Kernel computing node `n` of the step, or raise ScanUnsupported. Only
    kinds whose kernel reads its inputs and writes its outputs, nothing else,
    can be spliced."""
    op = n.op
    if not isinstance(op, (FusedElemwise, FusedRows, FusedReduce)):
        raise ScanUnsupported
    launch = lower(op, n, level)
    if launch is None:
        raise ScanUnsupported
    kernel = launch.kernel
    if kernel.params:         # the loop passes no scalar params to node kernels
        raise ScanUnsupported
    if isinstance(op, FusedRows) and len(kernel.buffers) != len(n.inputs) + len(n.outputs):
        raise ScanUnsupported
    if isinstance(op, FusedReduce):
        # max/min of an empty axis: the probe step raises first (shapes are the
        # same at every step), so the kernel never sees one.
        # Partial schedules run with one chunk (P = 1): the partial buffer, of one
        # more leading dim, then holds the result.
        if (kernel.meta.get("schedule") not in ("reduce_inner", "reduce_outer", "partials",
                                                "outer_partials")
                or op.kind in ("m2", "argmax", "argmin")
                or len(kernel.buffers) != len(n.inputs) + 1
                or kernel.buffers[-1].dtype != n.outputs[0].dtype):
            raise ScanUnsupported
    return kernel


def _reads_only_where_it_writes(statements, source, target):
    """Whether every load of `source` in `statements` is in the value of a store
    to `target` at the same index (so writing target over source, element by
    element, reads each element before it is overwritten: not so for a
    transposed or broadcast read)."""
    def loads(expr, found):
        if isinstance(expr, Load):
            if expr.buffer == source:
                found.append(expr.index)
        elif isinstance(expr, Op):
            for arg in expr.args:
                loads(arg, found)
        elif isinstance(expr, Cast):
            loads(expr.x, found)
        return found

    for stmt in statements:
        if isinstance(stmt, Range):
            if not _reads_only_where_it_writes(stmt.body, source, target):
                return False
        elif isinstance(stmt, Guarded):
            if isinstance(stmt.cond, Contiguous) or not loads(stmt.cond, []):
                if not (_reads_only_where_it_writes(stmt.then, source, target)
                        and _reads_only_where_it_writes(stmt.otherwise, source, target)):
                    return False
            else:
                return False
        elif isinstance(stmt, Store):
            found = loads(stmt.value, [])
            if found and (stmt.buffer != target or any(ix != stmt.index for ix in found)):
                return False
        elif isinstance(stmt, Check):
            continue
        else:                           # accumulations, locals: not an elementwise kernel
            return False
    return True


def _is_constant_view(n):
    """x[constant slices of step 1 / integer indices]: a view the loop addresses."""
    return (isinstance(n.op, Subtensor) and len(n.inputs) == 1
            and all(e[0] in ("slice", "int") for e in n.op.pattern)
            and all(isinstance(v, int) or v is None for e in n.op.pattern for v in e[1:]))


def _alias_of(n):
    """Input position whose value a pure view-with-check node returns, else None
    (DotShapes: dot's shape check kept when the product became a reduction)."""
    vm = getattr(n.op, "view_map", {})
    if type(n.op).__name__ == "DotShapes" and len(n.outputs) == 1 and list(vm) == [0]:
        return vm[0][0]
    return None


class ScanPlan:
    """kernels: [(Kernel or ("matvec", non-sequence position) or ("matvec_cols",)
    or ("copy", dtype, ndim), storage slot per kernel buffer)]; slot_role: slot ->
    role tuple; consts: constant arrays; scratch: slots of intermediates;
    views: slot -> (slot viewed, Subtensor pattern, viewed ndim); partial: slot ->
    its (1, ...) partial buffer's pseudo slot; matvec_nonseqs: non-sequence
    positions of the loop-invariant matrices (the runtime transposes them)."""

    def __init__(self, fn, spec, node, last_only, level):
        self.spec, self.node, self.last_only = spec, node, last_only
        self.output_slots = fn.output_slots
        s = spec
        slot_role = {}       # storage slot -> ("seq", j) | ("tap", i, k) | ("non", k) | ...
        pos = 0
        for j in range(s.n_seqs):
            slot_role[fn.input_slots[pos]] = ("seq", j)
            pos += 1
        for i, taps in enumerate(s.rec_taps):
            for k in taps:
                slot_role[fn.input_slots[pos]] = ("tap", i, k)
                pos += 1
        for k in range(s.n_nonseqs):
            slot_role[fn.input_slots[pos]] = ("non", k)
            pos += 1
        if len(set(fn.input_slots)) != len(fn.input_slots):
            raise ScanUnsupported
        out_slots = fn.output_slots
        if len(set(out_slots)) != len(out_slots):
            raise ScanUnsupported
        computed = {slot for _, _, outs in fn.steps for slot in outs}
        for j, slot in enumerate(out_slots):
            if slot in slot_role or slot not in computed:
                raise ScanUnsupported   # an output that is an input or a constant
            slot_role[slot] = ("rec", j) if j < s.n_rec else ("nit", j - s.n_rec)

        alias, views, partial, kernels = {}, {}, {}, []
        elementwise = set()         # positions in `kernels` of elementwise nodes
        for n, (_, ins, outs) in zip(fn.nodes, fn.steps):
            if _is_constant_view(n):
                view = (alias.get(ins[0], ins[0]), n.op.pattern, n.inputs[0].ndim)
                if outs[0] in slot_role:     # a step output that is a view: copy it
                    views[("view", outs[0])] = view
                    kernels.append((("copy", n.outputs[0].dtype, n.outputs[0].ndim),
                                    [("view", outs[0]), outs[0]]))
                else:
                    views[outs[0]] = view
                continue
            a = _alias_of(n)
            if a is not None:
                if outs[0] in slot_role and slot_role[outs[0]][0] in ("rec", "nit"):
                    raise ScanUnsupported
                alias[outs[0]] = alias.get(ins[a], ins[a])
                continue
            slots = [alias.get(i, i) for i in ins] + list(outs)
            kind = matvec_kind(n)
            if kind == "rows" and slot_role.get(slots[0], ("",))[0] == "non":
                kernels.append((("matvec", slot_role[slots[0]][1]), slots))
                continue
            if kind == "cols":
                kernels.append((("matvec_cols",), slots))
                continue
            kernel = _node_kernel(n, level)
            if kernel.meta.get("schedule") in ("partials", "outer_partials"):
                # The kernel writes a (1, ...) partial buffer; readers see its row 0,
                # and an output of the step gets a copy of it.
                pseudo = ("partial", outs[0])
                kernels.append((kernel, slots[:-1] + [pseudo]))
                if outs[0] in slot_role:
                    kernels.append((("copy", n.outputs[0].dtype, n.outputs[0].ndim),
                                    [pseudo, outs[0]]))
                else:
                    partial[outs[0]] = pseudo
                continue
            if isinstance(n.op, FusedElemwise):
                elementwise.add(len(kernels))
            kernels.append((kernel, slots))
        consts, scratch = [], []
        for kernel, slots in kernels:
            for slot in (slots[1:] if isinstance(kernel, tuple) and kernel[0] == "matvec"
                         else slots):
                while slot in views or slot in partial:
                    slot = views[slot][0] if slot in views else partial[slot]
                if slot in slot_role:
                    continue
                value = fn.storage_template[slot] if isinstance(slot, int) else None
                if value is not None:
                    slot_role[slot] = ("const", len(consts))
                    consts.append(np.asarray(value))
                else:
                    slot_role[slot] = ("scratch", len(scratch))
                    scratch.append(slot)
        if any(slot_role.get(slot, ("",))[0] == "tap" for slot in out_slots):
            raise ScanUnsupported
        self.kernels, self.slot_role, self.consts, self.scratch = kernels, slot_role, consts, scratch
        self.views, self.partial = views, partial
        self.matvec_nonseqs = [k[1] for k, _ in kernels
                               if isinstance(k, tuple) and k[0] == "matvec"]
        self.in_place = self._in_place_outputs(alias, elementwise)

    def _in_place_outputs(self, alias, elementwise):
        """Last-only outputs (ring buffers) whose new value can overwrite the old
        one: lag 1, and the previous value is read by one elementwise node only,
        the one writing the new value at the same indices (no broadcasting), so
        every element is read before it is written. A gradient's accumulator
        (g = g + outer(a, b) at every step) then stays in one buffer instead of
        two, a third less memory traffic per step."""
        s, found = self.spec, set()
        for i in self.last_only:
            if s.lags[i] != 1 or list(s.rec_taps[i]) != [-1]:
                continue
            tap = next((slot for slot, r in self.slot_role.items() if r == ("tap", i, -1)), None)
            rec = next((slot for slot, r in self.slot_role.items() if r == ("rec", i)), None)
            if tap is None or rec is None or tap in alias.values() \
                    or any(v[0] == tap for v in self.views.values()):
                continue
            readers = [k for k, (_, slots) in enumerate(self.kernels) if tap in slots]
            if len(readers) != 1 or readers[0] not in elementwise:
                continue
            kernel, slots = self.kernels[readers[0]]
            if (slots[-1] != rec
                    or slots.count(tap) != 1 or kernel.n_inputs != len(slots) - 1
                    or len(kernel.buffers) != len(slots)):
                continue
            if _reads_only_where_it_writes(kernel.body, kernel.buffers[slots.index(tap)],
                                           kernel.buffers[-1]):
                found.add(i)
        return frozenset(found)

    def shapes(self, storage):
        """(scratch shapes and dtypes, per-step outputs' row shapes, matrix-vector
        shapes to specialize on) read off `storage` after one step ran."""
        scratch = tuple(((1,) + storage[slot[1]].shape, storage[slot[1]].dtype)
                        if isinstance(slot, tuple) else (storage[slot].shape, storage[slot].dtype)
                        for slot in self.scratch)
        nit_rows = tuple(storage[slot].shape for slot in self.output_slots[self.spec.n_rec:])
        # Small matrix-vector products are compiled for their exact sizes: constant
        # trip counts let LLVM keep the product vector in registers across rows.
        matvec_shapes = tuple(storage[slots[0]].shape for k, slots in self.kernels
                              if isinstance(k, tuple) and k[0] in ("matvec", "matvec_cols"))
        matvec_shapes = tuple(sh if sh[0] * sh[1] <= MAX_SPECIALIZED_MATVEC else None
                              for sh in matvec_shapes)
        return scratch, nit_rows, matvec_shapes

    @staticmethod
    def kernel_key(shapes):
        """What of `shapes` shapes the loop kernel: ndims and dtypes (sizes are
        run-time dims), except the sizes of small matrix-vector products."""
        scratch, nit_rows, matvec_shapes = shapes
        return (tuple((len(sh), str(dt)) for sh, dt in scratch),
                tuple(len(r) for r in nit_rows), matvec_shapes)

    def loop_kernel(self, shapes):
        """The Kernel running every step for `shapes` (of `shapes()`). Its arrays:
        steps (its length is the step count), sequences, non-sequences, consts,
        transposed matrices, histories, per-step outputs, scratch. Raises
        ScanUnsupported or SpliceError for what the loop cannot address."""
        scratch_shapes, _, matvec_shapes = shapes
        s, node = self.spec, self.node
        outer = node.inputs
        step = Var("step")
        seq_bufs = [Buffer(f"seq{j}", v.dtype, v.broadcastable)
                    for j, v in enumerate(outer[1:1 + s.n_seqs])]
        non_bufs = [Buffer(f"non{k}", v.dtype, v.broadcastable)
                    for k, v in enumerate(outer[1 + s.n_seqs + s.n_rec:])]
        const_bufs = [Buffer(f"const{c}", str(a.dtype), (False,) * a.ndim)
                      for c, a in enumerate(self.consts)]
        hist_bufs = [Buffer(f"hist{i}", outer[1 + s.n_seqs + i].dtype,
                            outer[1 + s.n_seqs + i].broadcastable) for i in range(s.n_rec)]
        nit_bufs = [Buffer(f"nit{j}", v.dtype, v.broadcastable)
                    for j, v in enumerate(node.outputs[s.n_rec:])]
        scratch_bufs = [Buffer(f"tmp{k}", str(dt), (False,) * len(sh))
                        for k, (sh, dt) in enumerate(scratch_shapes)]
        lets, tap_vars = [], {}
        # Scalar loop state lives in kernel locals (registers): step t reads the
        # previous values from `prev` locals and writes `cur`; the epilogue stores
        # cur into the history and shifts the prev locals.
        scalar_state = {i for i, b in enumerate(hist_bufs)
                        if b.ndim == 1 and s.lags[i] <= MAX_REGISTER_LAG}
        prev = {(i, k): Buffer(f"state{i}_prev{k}", hist_bufs[i].dtype, ())
                for i in scalar_state for k in range(1, s.lags[i] + 1)}
        cur = {i: Buffer(f"state{i}_cur", hist_bufs[i].dtype, ()) for i in scalar_state}

        def tap_var(i, offset):
            if (i, offset) not in tap_vars:
                var = Var(f"row{i}_{offset}")
                tap_vars[i, offset] = var
                row = IntOp("add", step, IntConst(offset))
                if i in self.last_only:      # ring of lag + 1 rows (in place: lag)
                    size = IntConst(s.lags[i] + (i not in self.in_place))
                    row = IntOp("sub", row, IntOp("mul", IntOp("div", row, size), size))
                lets.append((var, row))
            return tap_vars[i, offset]

        offsets = {}

        def offset_var(expr):
            """A variable equal to the (step-invariant) integer expression."""
            if expr not in offsets:
                offsets[expr] = Var(f"offset{len(offsets)}")
                lets.append((offsets[expr], expr))
            return offsets[expr]

        def binding(slot):
            if slot in self.partial:     # the value: row 0 of the partial buffer
                buf = binding(self.partial[slot]).buffer
                return Binding(buf, axes=tuple(range(1, buf.ndim)))
            if slot in self.views:
                base, pattern, ndim = self.views[slot]
                b = view_binding(binding(base), pattern, ndim, offset_var)
                if b is None:
                    raise ScanUnsupported
                return b
            role = self.slot_role[slot]
            kind = role[0]
            if kind == "seq":
                return Binding(seq_bufs[role[1]], ((step, 0),), 1)
            if kind == "tap":
                i, k = role[1], role[2]
                if i in scalar_state:
                    return Binding(prev[i, -k])
                return Binding(hist_bufs[i], ((tap_var(i, s.lags[i] + k), 0),), 1)
            if kind == "rec":
                i = role[1]
                if i in scalar_state:
                    return Binding(cur[i])
                return Binding(hist_bufs[i], ((tap_var(i, s.lags[i]), 0),), 1)
            if kind == "nit":
                return Binding(nit_bufs[role[1]], ((step, 0),), 1)
            if kind == "non":
                return Binding(non_bufs[role[1]])
            if kind == "const":
                return Binding(const_bufs[role[1]])
            return Binding(scratch_bufs[role[1]])

        node_kernels, mt_bufs = [], []
        mv_shapes = iter(matvec_shapes)

        def node_dtype(slots):
            """dtype of the value a node writes (its last slot)."""
            kind, k = self.slot_role[slots[-1]][:2]
            return {"rec": hist_bufs, "nit": nit_bufs}.get(kind, scratch_bufs)[k].dtype
        for kernel, slots in self.kernels:
            if isinstance(kernel, tuple) and kernel[0] == "copy":   # a view or partial row 0
                _, dtype, ndim = kernel
                kernel = copy_kernel(dtype, ndim)
                source = binding(slots[0])
                if slots[0][0] == "partial":
                    source = Binding(source.buffer, axes=tuple(range(1, source.buffer.ndim)))
                node_kernels.append((kernel, {kernel.buffers[0]: source,
                                              kernel.buffers[1]: binding(slots[1])}))
                continue
            if isinstance(kernel, tuple) and kernel[0] == "matvec_cols":   # M.T v: M's rows
                kernel = matvec_kernel(node_dtype(slots), next(mv_shapes))
                node_kernels.append((kernel, {b: binding(slot)
                                              for b, slot in zip(kernel.buffers, slots)}))
                continue
            if isinstance(kernel, tuple):        # ("matvec", non-sequence position)
                assert kernel[0] == "matvec"
                mt = Buffer(f"mt{len(mt_bufs)}", non_bufs[kernel[1]].dtype, (False, False))
                mt_bufs.append(mt)
                shape = next(mv_shapes)
                kernel = matvec_kernel(mt.dtype, shape and shape[::-1])
                node_kernels.append((kernel, {kernel.buffers[0]: Binding(mt),
                                              kernel.buffers[1]: binding(slots[1]),
                                              kernel.buffers[2]: binding(slots[2])}))
                continue
            node_kernels.append((kernel, {b: binding(slot)
                                          for b, slot in zip(kernel.buffers, slots)}))
        n_steps = Param("n_steps")          # passed after the arrays
        prologue, epilogue = [], []
        for i in sorted(scalar_state):
            lag = s.lags[i]
            for k in range(1, lag + 1):
                row = Var(f"init{i}_{k}")
                prologue.extend(let(row, IntConst(lag - k),
                                    (Store(prev[i, k], (), Load(hist_bufs[i], ((row, 0),))),)))
            epilogue.append(Store(hist_bufs[i], ((tap_var(i, lag), 0),), Load(cur[i], ())))
            for k in range(lag, 1, -1):
                epilogue.append(Store(prev[i, k], (), Load(prev[i, k - 1], ())))
            epilogue.append(Store(prev[i, 1], (), Load(cur[i], ())))
        locals_ = [Local(b) for b in list(prev.values()) + list(cur.values())]
        return loop_kernel(seq_bufs + non_bufs + const_bufs + mt_bufs,
                           hist_bufs + nit_bufs + scratch_bufs, node_kernels, step, n_steps,
                           lets, locals_, prologue, epilogue)


def matvec_kernel(dtype, shape=None):
    """out = M v as axpys over a transposed copy `mt` of M (mt[j, i] = M[i, j]): the
    inner loop runs along rows of mt with unit stride and no horizontal sums.
    Rows of mt are taken MATVEC_UNROLL at a time (amortizing the inner loop's
    setup), each out[i] still summed over j in order, with fused multiply-adds
    where the target has them. With `shape` (mt's), the sizes are compile-time
    constants (checked against the arrays) and the partial sums stay in
    registers (`_blocked_matvec_kernel`)."""
    mt = Buffer("mt", dtype, (False, False))
    v = Buffer("v", dtype, (False,))
    out = Buffer("out", dtype, (False,))
    if shape is not None:
        return _blocked_matvec_kernel(mt, v, out, shape)
    i, jb, j = Var("mv_i"), Var("mv_jb"), Var("mv_j")
    k, m = Dim(mt, 0), Dim(mt, 1)
    checks = (Check(Dim(v, 0), Dim(mt, 0), 1), Check(Dim(out, 0), Dim(mt, 1), 2))
    unroll = MATVEC_UNROLL
    whole = IntOp("mul", IntOp("div", k, IntConst(unroll)), IntConst(unroll))
    rows = [Var(f"mv_j{c}") for c in range(unroll)]

    def axpy(r):    # out[i] += mt[r, i] v[r]: llvm.fmuladd (no software fma without FMA)
        return Accumulate(out, ((i, 0),), "add",
                          Op("mul", (Load(mt, ((r, 0), (i, 1))), Load(v, ((r, 0),))), dtype))
    blocked = (range_to(i, m, tuple(axpy(r) for r in rows)),)
    for c in reversed(range(unroll)):
        blocked = let(rows[c], IntOp("add", jb, IntConst(c)), blocked)
    body = checks + (
            range_to(i, m, (Store(out, ((i, 0),), Const(0.0, dtype)),)),
            Range(jb, IntConst(0), whole, unroll, blocked),
            Range(j, whole, k, 1, (range_to(i, m, (axpy(j),)),)))
    return Kernel("matvec", (mt, v, out), body, n_inputs=2)


def _blocked_matvec_kernel(mt, v, out, shape):
    """out = M v for mt (k, m) of a compile-time shape. The outputs are taken in
    blocks of MATVEC_BLOCK_BYTES, each block's partial sums in a Local that LLVM
    keeps in vector registers for the whole j loop: per row of mt one broadcast
    of v[j] and one multiply-add per vector of outputs, with 8 independent
    chains (enough to cover the FMA latency), and no partial sums stored and
    reloaded per row as the general kernel does. Each out[i] is still summed
    over j in order with fused multiply-adds (llvm.fmuladd: separate ones on
    targets without FMA), so the results equal the general kernel's.

    Blocks run as a loop over their start (not one unrolled copy each): with a
    block at the constant start 0, LLVM's SLP vectorizer packed its lanes off by
    one (three scalar FMAs per row)."""
    dtype = mt.dtype
    k, m = shape
    block = MATVEC_BLOCK_BYTES // np.dtype(dtype).itemsize
    j, c, base = Var("mv_j"), Var("mv_c"), Var("mv_base")
    body = [Check(Dim(mt, 0), IntConst(k), 3), Check(Dim(mt, 1), IntConst(m), 4),
            Check(Dim(v, 0), IntConst(k), 1), Check(Dim(out, 0), IntConst(m), 2)]

    def blocks(start, stop, width):
        acc = Buffer(f"mv_acc{start}", dtype, (False,))
        body.append(Local(acc, width))
        # acc += a * b: a fused multiply-add where the target has one (llvm.fmuladd)
        product = Op("mul", (Load(mt, ((j, 0), (base, 1), (c, 1))), Load(v, ((j, 0),))), dtype)
        width = IntConst(width)
        body.append(Range(base, IntConst(start), IntConst(stop), block, (
            range_to(c, width, (Store(acc, ((c, 0),), Const(0.0, dtype)),)),
            range_to(j, IntConst(k), (range_to(c, width, (
                Accumulate(acc, ((c, 0),), "add", product),)),)),
            range_to(c, width, (Store(out, ((base, 0), (c, 0)), Load(acc, ((c, 0),))),)))))

    whole = m - m % block
    if whole:
        blocks(0, whole, block)
    if m % block:
        blocks(whole, m, m % block)
    return Kernel("matvec_blocked", (mt, v, out), tuple(body), n_inputs=2)


def copy_kernel(dtype, ndim):
    """out = x elementwise (a reduction's partial row into a step output)."""
    x, out = Buffer("x", dtype, (False,) * ndim), Buffer("out", dtype, (False,) * ndim)
    return elementwise_kernel("copy", [(x, tuple(range(ndim)))], [out], [Load(x, ())])
