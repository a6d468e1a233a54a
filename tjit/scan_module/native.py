"""The whole loop as one native function, when every node of the rewritten inner
graph lowers: elementwise, rowwise and reduction kernels (reductions to fewer
dims run with one partial chunk), matrix-vector products (blocked axpys; a
loop-invariant matrix is transposed once per call), constant-index views
(addressed in place) and shape-check aliases. See tjit/ir/lower_scan.py for how
the node kernels are spliced into the loop.

The first call of each input-shape signature runs step 0 through the inner
function's thunks to learn the shapes of the intermediates (scratch buffers,
overwritten at every step) and of the per-step outputs; then one native call
runs every step, reading and writing the output histories in place. Anything
unusual falls back to the per-step loop (`Scan.run`), which also produces the
exact error (naming the scan and the step) when a shape check fails natively.
"""
from __future__ import annotations

import numpy as np

from ..ir.lower_scan import SpliceError
from ..ir.nodes import Buffer, Dim, IntConst, IntOp, Load, Local, Store, Var
from ..runtime.thunks import _reuse_or_empty
from .kernels import MAX_SPECIALIZED_MATVEC, copy_kernel, matvec_kernel, matvec_kind
from .op import _check_sequences, _n_steps

END = 1 << 62
_ONE = np.zeros(1, np.int8)
MAX_REGISTER_LAG = 4   # scalar outputs with at most this many taps back stay in registers


def native_thunk(op, node):
    """A thunk running the Scan `node` as one native loop, or None."""
    s = op.spec
    if s.as_while:
        return None
    try:
        fn = op.inner.get(True)
        plan = _plan(fn, s, node)
    except _Unsupported:
        return None
    if plan is None:
        return None
    return NativeScan(op, node, fn, plan)


class _Unsupported(Exception):
    pass


def _node_kernel(n):
    """The Kernel computing node `n` natively, or raise _Unsupported."""
    from ..ops.fused_elemwise import FusedElemwise
    from ..ops.fused_reduce import FusedReduce
    from ..ir.from_graph import lower_fused, lower_fused_reduce
    if isinstance(n.op, FusedElemwise):
        return lower_fused(n)
    if type(n.op).__name__ == "FusedRows":     # rowwise programs (softmax and kin)
        from ..ir.lower_rowwise import lower_fused_rows
        kernel = lower_fused_rows(n)
        if len(kernel.buffers) != len(n.inputs) + len(n.outputs):
            raise _Unsupported
        return kernel
    if isinstance(n.op, FusedReduce):
        # max/min of an empty axis: the probe step raises first (shapes are the
        # same at every step), so the kernel never sees one.
        # Partial schedules run with one chunk (P = 1): the partial buffer, of one
        # more leading dim, then holds the result.
        kernel = lower_fused_reduce(n)
        if (kernel.meta.get("schedule") not in ("reduce_inner", "reduce_outer", "partials",
                                                "outer_partials")
                or n.op.kind in ("m2", "argmax", "argmin")
                or len(kernel.buffers) != len(n.inputs) + 1
                or kernel.buffers[-1].dtype != n.outputs[0].dtype):
            raise _Unsupported
        return kernel
    raise _Unsupported


def _is_constant_view(n):
    """x[constant slices of step 1 / integer indices]: a view the loop addresses."""
    from ..tensor.subtensor import Subtensor
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


class _Plan:
    """kernels: [(Kernel or ("matvec", non-sequence position) or ("matvec_cols",),
    storage slot per kernel buffer)]; slot_role: slot -> role tuple; consts:
    constant arrays; scratch: slots of intermediates."""


def _plan(fn, spec, node):
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
        raise _Unsupported
    out_slots = fn.output_slots
    if len(set(out_slots)) != len(out_slots):
        raise _Unsupported
    computed = {slot for _, _, outs in fn.steps for slot in outs}
    for j, slot in enumerate(out_slots):
        if slot in slot_role or slot not in computed:
            raise _Unsupported       # an output that is an input or a constant: nothing computes it
        slot_role[slot] = ("rec", j) if j < s.n_rec else ("nit", j - s.n_rec)

    alias = {}
    views = {}           # slot -> (slot viewed, Subtensor pattern, viewed ndim)
    partial = {}         # slot -> its (1, ...) partial buffer's pseudo slot
    kernels = []         # (Kernel, [slot per kernel buffer])
    for n, (thunk, ins, outs) in zip(fn.nodes, fn.steps):
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
                raise _Unsupported
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
        kernel = _node_kernel(n)
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
        raise _Unsupported
    plan = _Plan()
    plan.kernels, plan.slot_role, plan.consts, plan.scratch = kernels, slot_role, consts, scratch
    plan.views = views
    plan.partial = partial
    return plan


class NativeScan:
    """Thunk: allocate the histories and scratch buffers, run the loop kernel."""

    def __init__(self, op, node, fn, plan):
        self.op, self.node, self.fn, self.plan = op, node, fn, plan
        self.spec = op.spec
        self.compiled = {}     # scratch/nit row shapes -> (NativeKernel)
        self.shapes = {}       # input shape signature -> (scratch shapes, nit row shapes)
        # Output buffers nobody references any more are reused (no page faults).
        self.pools = [[] for _ in node.outputs]
        self.native = None     # the loop kernel last run (for tjit dump), once called
        self.unsupported = False
        self.kernels = {}      # input shape signature -> its loop kernel
        # non-sequence positions of the loop-invariant matrices of matrix-vector products
        self.matvec_nonseqs = [k[1] for k, _ in plan.kernels
                               if isinstance(k, tuple) and k[0] == "matvec"]

    def __call__(self, inputs):
        s = self.spec
        n = _n_steps(inputs[0], s.label)
        seqs = inputs[1:1 + s.n_seqs]
        inits = inputs[1 + s.n_seqs:1 + s.n_seqs + s.n_rec]
        nonseqs = list(inputs[1 + s.n_seqs + s.n_rec:])
        if n == 0 or self.unsupported:
            return self.op.run(self.node, inputs, native=True)
        _check_sequences(seqs, n, s.label)
        for init, lag in zip(inits, s.lags):
            if init.shape[0] < lag:
                return self.op.run(self.node, inputs, native=True)   # raises the error
        signature = tuple(a.shape[1:] for a in seqs) + tuple(a.shape for a in inits) \
            + tuple(np.shape(a) for a in nonseqs)
        shapes = self.shapes.get(signature)
        if shapes is None:
            shapes = self._probe(seqs, inits, nonseqs)
            if shapes is None:
                return self.op.run(self.node, inputs, native=True)
            self.shapes[signature] = shapes
        scratch_shapes, nit_rows, matvec_shapes = shapes
        native = self.kernels.get(signature)
        if native is None:
            try:
                native = self.kernels[signature] = self._kernel(scratch_shapes, nit_rows,
                                                                matvec_shapes)
            except (_Unsupported, SpliceError):
                self.unsupported = True      # e.g. a view the loop cannot address
                return self.op.run(self.node, inputs, native=True)
        self.native = native
        hists = []
        last_only = self.op.last_only
        for i, (init, lag, out, pool) in enumerate(zip(inits, s.lags, self.node.outputs,
                                                       self.pools)):
            rows = lag + 1 if i in last_only else lag + n     # a ring, or every step
            buf = _reuse_or_empty(pool, (rows,) + init.shape[1:], np.dtype(init.dtype))
            buf[:lag] = init[:lag]
            hists.append(buf)
        nits = [_reuse_or_empty(pool, (n,) + row, np.dtype(out.dtype))
                for row, out, pool in zip(nit_rows, self.node.outputs[s.n_rec:],
                                          self.pools[s.n_rec:])]
        # Per call, not per thunk: concurrent calls of one function must not share it.
        scratch = [np.empty(shape, dtype) for shape, dtype in scratch_shapes]
        # Loop-invariant matrices of matrix-vector products, transposed once per call.
        transposed = [np.ascontiguousarray(nonseqs[k].T) for k in self.matvec_nonseqs]
        steps = np.broadcast_to(_ONE, (n,))     # its length is the step count, no memory
        arrays = [steps, *seqs, *nonseqs, *self.plan.consts, *transposed, *hists, *nits,
                  *scratch]
        rc = native.cfunc(*arrays, 0, END)
        if rc:
            # A shape check failed: the per-step loop raises the error naming the step.
            return self.op.run(self.node, inputs, native=True)
        results = hists + nits
        for i in last_only:
            lag = s.lags[i]
            results[i] = hists[i][(n - 1 + lag) % (lag + 1), ...].copy()
        return results

    def _probe(self, seqs, inits, nonseqs):
        """Run step 0 through the inner function's thunks: the shapes and dtypes of
        the scratch values and the per-step outputs' row shapes (None on error)."""
        s, fn = self.spec, self.fn
        args = [x[0, ...] for x in seqs]
        for init, lag, taps in zip(inits, s.lags, s.rec_taps):
            args.extend([init[lag + k, ...] for k in taps])
        args.extend(nonseqs)
        storage = list(fn.storage_template)
        for slot, a in zip(fn.input_slots, args):
            storage[slot] = a
        try:
            for thunk, ins, outs in fn.steps:
                for slot, r in zip(outs, thunk([storage[i] for i in ins])):
                    storage[slot] = r
        except Exception:
            return None
        scratch = tuple(((1,) + storage[slot[1]].shape, storage[slot[1]].dtype)
                        if isinstance(slot, tuple) else (storage[slot].shape, storage[slot].dtype)
                        for slot in self.plan.scratch)
        nit_rows = tuple(storage[slot].shape for slot in fn.output_slots[s.n_rec:])
        for i, slot in enumerate(fn.output_slots[:s.n_rec]):
            if storage[slot].shape != inits[i].shape[1:]:
                return None      # the per-step loop names the bad output and step
        # Small matrix-vector products are compiled for their exact sizes: constant
        # trip counts let LLVM keep the product vector in registers across rows.
        matvec_shapes = tuple(storage[slots[0]].shape for k, slots in self.plan.kernels
                              if isinstance(k, tuple) and k[0] in ("matvec", "matvec_cols"))
        matvec_shapes = tuple(sh if sh[0] * sh[1] <= MAX_SPECIALIZED_MATVEC else None
                              for sh in matvec_shapes)
        return scratch, nit_rows, matvec_shapes

    def _kernel(self, scratch_shapes, nit_rows, matvec_shapes):
        # Only ndims and dtypes shape the kernel (sizes are run-time dims), except
        # the sizes of small matrix-vector products.
        key = (tuple((len(sh), str(dt)) for sh, dt in scratch_shapes),
               tuple(len(r) for r in nit_rows), matvec_shapes)
        native = self.compiled.get(key)
        if native is None:
            native = self.compiled[key] = self._compile(scratch_shapes, matvec_shapes)
        return native

    def _compile(self, scratch_shapes, matvec_shapes):
        from ..codegen import compile_kernel
        from ..ir.lower_scan import Binding, let, loop_kernel, view_binding
        s, plan, node = self.spec, self.plan, self.node
        outer = node.inputs
        step = Var("step")
        seq_bufs = [Buffer(f"seq{j}", v.dtype, v.broadcastable)
                    for j, v in enumerate(outer[1:1 + s.n_seqs])]
        non_bufs = [Buffer(f"non{k}", v.dtype, v.broadcastable)
                    for k, v in enumerate(outer[1 + s.n_seqs + s.n_rec:])]
        const_bufs = [Buffer(f"const{c}", str(a.dtype), (False,) * a.ndim)
                      for c, a in enumerate(plan.consts)]
        hist_bufs = [Buffer(f"hist{i}", outer[1 + s.n_seqs + i].dtype,
                            outer[1 + s.n_seqs + i].broadcastable) for i in range(s.n_rec)]
        steps_buf = Buffer("steps", "int8", (False,))
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
                if i in self.op.last_only:      # ring of lag + 1 rows: row mod (lag + 1)
                    size = IntConst(s.lags[i] + 1)
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
            if slot in plan.partial:     # the value: row 0 of the partial buffer
                buf = binding(plan.partial[slot]).buffer
                return Binding(buf, axes=tuple(range(1, buf.ndim)))
            if slot in plan.views:
                base, pattern, ndim = plan.views[slot]
                b = view_binding(binding(base), pattern, ndim, offset_var)
                if b is None:
                    raise _Unsupported
                return b
            role = plan.slot_role[slot]
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
            kind, k = plan.slot_role[slots[-1]][:2]
            return {"rec": hist_bufs, "nit": nit_bufs}.get(kind, scratch_bufs)[k].dtype
        for kernel, slots in plan.kernels:
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
        n_steps = Dim(steps_buf, 0)
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
        kernel = loop_kernel([steps_buf] + seq_bufs + non_bufs + const_bufs + mt_bufs,
                             hist_bufs + nit_bufs + scratch_bufs, node_kernels, step, n_steps,
                             lets, locals_, prologue, epilogue)
        return compile_kernel(kernel)
