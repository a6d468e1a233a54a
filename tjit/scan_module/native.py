"""Running a scan as one native loop (the loop kernel is planned and built by
tjit/ir/scan_plan.py; tjit/link/control.py links the two).

The first call of each input-shape signature runs step 0 through the inner
function's thunks to learn the shapes of the intermediates (scratch buffers,
overwritten at every step) and of the per-step outputs, and has the linker build
the loop kernel for them; then one native call runs every step, reading and
writing the output histories in place. Anything unusual falls back to the
per-step loop (`Scan.run`), which also produces the exact error (naming the scan
and the step) when a shape check fails natively.
"""
from __future__ import annotations

import math
import sys

import numpy as np

from ..runtime.buffers import MIN_POOLED_BYTES, POOL_SIZE, reuse_or_empty as _reuse_or_empty
from ..runtime.native_thunk import END
from .op import _check_sequences, _n_steps


ALIGN = 64      # bytes: a cache line (a 32-byte load from a 16-byte aligned row splits
                # across two lines every other time)


def _aligned_empty(shape, dtype, align=ALIGN):
    """np.empty(shape, dtype) starting on an `align`-byte boundary."""
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    raw = np.empty(nbytes + align, np.uint8)
    start = -raw.__array_interface__["data"][0] % align
    return raw[start:start + nbytes].view(dtype).reshape(shape)


def _reuse_or_aligned(pool, shape, dtype):
    """`tjit.runtime.buffers.reuse_or_empty`; the pooled (large) buffers cache-line
    aligned (allocated once, so their alignment costs once)."""
    for arr in pool:
        # References: the pool, the loop variable and getrefcount's argument; to
        # its memory's owner (views of arr point there, not at arr): arr's and
        # the argument.
        if sys.getrefcount(arr) == 3 and sys.getrefcount(arr.base) == 2 \
                and arr.shape == shape:
            return arr
    if math.prod(shape) * dtype.itemsize < MIN_POOLED_BYTES:
        return np.empty(shape, dtype)
    arr = _aligned_empty(shape, dtype)
    if len(pool) >= POOL_SIZE:
        pool.pop(0)
    pool.append(arr)
    return arr


class NativeScan:
    """Thunk: allocate the histories and scratch buffers, run the loop kernel.

    fn: the compiled step function; plan: its ScanPlan; build(shapes): the
    compiled loop kernel for those shapes, or None if the loop cannot run them;
    mode: the mode of the per-step loop it falls back to."""

    def __init__(self, op, node, fn, plan, build, mode):
        self.op, self.node, self.fn, self.plan = op, node, fn, plan
        self.build, self.mode = build, mode
        self.spec = op.spec
        self.compiled = {}     # plan.kernel_key(shapes) -> NativeKernel
        self.shapes = {}       # input shape signature -> plan.shapes(...)
        # Output buffers nobody references any more are reused (no page faults).
        self.pools = [[] for _ in node.outputs]
        self.native = None     # the loop kernel last run (for tjit dump), once called
        self.unsupported = False
        self.kernels = {}      # input shape signature -> its loop kernel
        self.spare = {}        # input shape signature -> [(scratch, transposed) not in use]

    def fallback(self, inputs):
        return self.op.run(self.node, inputs, self.mode)

    def __call__(self, inputs):
        s = self.spec
        n = _n_steps(inputs[0], s.label)
        seqs = inputs[1:1 + s.n_seqs]
        inits = inputs[1 + s.n_seqs:1 + s.n_seqs + s.n_rec]
        nonseqs = list(inputs[1 + s.n_seqs + s.n_rec:])
        if n == 0 or self.unsupported:
            return self.fallback(inputs)
        _check_sequences(seqs, n, s.label)
        for init, lag in zip(inits, s.lags):
            if init.shape[0] < lag:
                return self.fallback(inputs)   # raises the error
        signature = tuple(a.shape[1:] for a in seqs) + tuple(a.shape for a in inits) \
            + tuple(np.shape(a) for a in nonseqs)
        shapes = self.shapes.get(signature)
        if shapes is None:
            shapes = self._probe(seqs, inits, nonseqs)
            if shapes is None:
                return self.fallback(inputs)
            self.shapes[signature] = shapes
        native = self.kernels.get(signature)
        if native is None:
            native = self._kernel(shapes)
            if native is None:
                self.unsupported = True      # e.g. a view the loop cannot address
                return self.fallback(inputs)
            self.kernels[signature] = native
        self.native = native
        scratch_shapes, nit_rows, _ = shapes
        hists = []
        last_only = self.op.last_only
        for i, (init, lag, out, pool) in enumerate(zip(inits, s.lags, self.node.outputs,
                                                       self.pools)):
            # a ring (of lag rows when the step updates the value in place), or every step
            rows = lag + (i not in self.plan.in_place) if i in last_only else lag + n
            buf = _reuse_or_aligned(pool, (rows,) + init.shape[1:], np.dtype(init.dtype))
            buf[:lag] = init[:lag]
            hists.append(buf)
        nits = [_reuse_or_empty(pool, (n,) + row, np.dtype(out.dtype))
                for row, out, pool in zip(nit_rows, self.node.outputs[s.n_rec:],
                                          self.pools[s.n_rec:])]
        # Scratch buffers and the transposed loop-invariant matrices of matrix-vector
        # products: one set per concurrent call of this function (taken from the
        # spare sets, returned after the call), cache-line aligned.
        spare = self.spare.setdefault(signature, [])
        try:
            scratch, transposed = spare.pop()
        except IndexError:
            scratch = [_aligned_empty(shape, dtype) for shape, dtype in scratch_shapes]
            transposed = [_aligned_empty(nonseqs[k].shape[::-1], nonseqs[k].dtype)
                          for k in self.plan.matvec_nonseqs]
        for k, mt in zip(self.plan.matvec_nonseqs, transposed):
            np.copyto(mt, nonseqs[k].T)           # transposed once per call
        arrays = [*seqs, *nonseqs, *self.plan.consts, *transposed, *hists, *nits, *scratch]
        try:
            rc = native.cfunc(*arrays, n, 0, END)     # n: the loop kernel's param n_steps
        finally:
            spare.append((scratch, transposed))
        if rc:
            # A shape check failed: the per-step loop raises the error naming the step.
            return self.fallback(inputs)
        results = hists + nits
        for i in last_only:
            lag = s.lags[i]
            results[i] = hists[i][(n - 1 + lag) % hists[i].shape[0], ...].copy()
        return results

    def _probe(self, seqs, inits, nonseqs):
        """Run step 0 through the inner function's thunks: `plan.shapes` of the
        storage it leaves (None on error)."""
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
        for i, slot in enumerate(fn.output_slots[:s.n_rec]):
            if storage[slot].shape != inits[i].shape[1:]:
                return None      # the per-step loop names the bad output and step
        return self.plan.shapes(storage)

    def _kernel(self, shapes):
        key = self.plan.kernel_key(shapes)
        native = self.compiled.get(key)
        if native is None:
            native = self.build(shapes)
            if native is not None:
                self.compiled[key] = native
        return native
