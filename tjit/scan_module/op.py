"""The Scan op: a loop over an inner graph (its gradient is a reverse scan, see
grad_scan.py).

Outer inputs of a Scan node: [n_steps, *sequences, *initial buffers, *non-sequences].
- sequences: one outer array per (sequence, tap), already sliced so that step t
  reads row t (scan() does the slicing, as Theano does);
- recurrent outputs (Theano's sit_sot/mit_sot, and shared variables updated by the
  step): an initial buffer of L = -min(taps) rows; step t reads row L + t + tap and
  writes row L + t;
- non-sequences: passed unchanged to every step.
Outer outputs: [*recurrent buffers (L + steps rows), *per-step outputs (steps rows)].
With `until`, the loop stops after the step whose condition is true and the
outputs keep only the steps run.
"""
from __future__ import annotations

import weakref

import numpy as np

from ..graph import Apply, Op, ancestors
from ..ifelse import PERFORM_MODE, InnerFunction
from ..tensor.type import TensorType
from ..tensor.var import as_tensor_variable
from ..tensor.basic import patternbroadcast


class ScanSpec:
    """The static description of a loop."""

    def __init__(self, inner_inputs, inner_outputs, n_seqs, rec_taps, n_nit, n_nonseqs,
                 as_while, truncate_gradient, name):
        self.inner_inputs = list(inner_inputs)
        self.inner_outputs = list(inner_outputs)
        self.n_seqs = n_seqs
        self.rec_taps = [list(t) for t in rec_taps]
        self.n_rec = len(rec_taps)
        self.n_nit = n_nit
        self.n_nonseqs = n_nonseqs
        self.as_while = as_while
        self.truncate_gradient = truncate_gradient
        self.name = name
        self.label = f"scan {name!r}" if name else "scan"
        self.n_taps = sum(len(t) for t in rec_taps)
        self.lags = [-min(t) for t in rec_taps]


class StepRunner:
    """Calls a compiled inner function with trusted arguments: the loop already
    knows every argument's dtype and layout, so skip per-call conversion (a
    DebugMode function still checks every node)."""

    def __init__(self, fn):
        self.template = fn.storage_template
        self.in_slots = fn.input_slots
        self.out_slots = fn.output_slots
        self.run_steps = fn._run_steps

    def __call__(self, args):
        storage = list(self.template)
        for s, a in zip(self.in_slots, args):
            storage[s] = a
        self.run_steps(storage)
        return [storage[s] for s in self.out_slots]


def step_error(e, label, t):
    """`e` re-raised with the scan and the step named (same type when possible)."""
    msg = f"{label}, step {t}: {e}"
    try:
        new = type(e)(msg)
    except Exception:
        new = ValueError(msg)
    return new


def _identity_eq(cls):
    cls.__eq__ = lambda self, other: self is other
    cls.__hash__ = lambda self: id(self)
    return cls


@_identity_eq
class Scan(Op):
    """A loop: see the module docstring for the layout of inputs and outputs."""

    def __init__(self, spec, last_only=frozenset(), inner=None, lenient=frozenset()):
        self.spec = spec
        # Recurrent outputs of which only the final value is used (set by the
        # scan_last_only rewrite): output i is then that value, not the history,
        # and the native loop keeps a ring of lag + 1 rows instead of every step.
        self.last_only = frozenset(last_only)
        # Of those, outputs read as buffer[-1] (the initial state when no step ran)
        # rather than buffer[lag:][-1] (an IndexError when no step ran).
        self.lenient = frozenset(lenient)
        self.inner = inner or InnerFunction(spec.inner_inputs, spec.inner_outputs, spec.label)
        self._runners = {}
        self._nodes = []

    def __getstate__(self):
        # pickles as the graph: compiled steps and the weak node list stay behind
        return dict(super().__getstate__(), _runners={}, _nodes=[])

    def __str__(self):
        return f"Scan{{{self.spec.name}}}" if self.spec.name else "Scan"

    # -- graph ------------------------------------------------------------------
    def make_node(self, n_steps, *outer):
        s = self.spec
        n_steps = as_tensor_variable(n_steps)
        if n_steps.ndim != 0 or n_steps.dtype[:3] not in ("int", "uin"):
            raise TypeError(f"{s.label}: n_steps must be an integer scalar, got {n_steps.type}")
        n_in = s.n_seqs + s.n_rec + s.n_nonseqs
        if len(outer) != n_in:
            raise TypeError(f"{s.label}: expected {n_in} inputs, got {len(outer)}")
        outer = [as_tensor_variable(v) for v in outer]
        inner_iter = iter(s.inner_inputs)
        checked = []
        for j, v in enumerate(outer[:s.n_seqs]):
            inner = next(inner_iter)
            checked.append(_check_stacked(v, inner.type, f"{s.label}: sequence {j}"))
        for i, (v, taps) in enumerate(zip(outer[s.n_seqs:s.n_seqs + s.n_rec], s.rec_taps)):
            inner = next(inner_iter)
            for _ in taps[1:]:
                next(inner_iter)
            checked.append(_check_stacked(v, inner.type, f"{s.label}: initial state {i}"))
        for k, v in enumerate(outer[s.n_seqs + s.n_rec:]):
            inner = next(inner_iter)
            checked.append(inner.type.convert_or_raise(v, f"{s.label}: non-sequence {k}"))
        out_types = [o.type if k in self.last_only else _stacked(o.type)
                     for k, o in enumerate(s.inner_outputs[:s.n_rec + s.n_nit])]
        node = Apply(self, [n_steps, *checked], [t() for t in out_types])
        self._nodes = [r for r in self._nodes if r() is not None]
        self._nodes.append(weakref.ref(node))
        return node

    def node_of(self, inputs):
        for r in self._nodes:
            node = r()
            if node is not None and (node.inputs is inputs or (
                    len(node.inputs) == len(inputs)
                    and all(a is b for a, b in zip(node.inputs, inputs)))):
                return node
        return self.make_node(*inputs)

    # -- running ----------------------------------------------------------------
    def runner(self, mode):
        """The step function compiled in `mode`, as a StepRunner."""
        fn = self.inner.get(mode)
        r = self._runners.get(id(fn))
        if r is None:
            r = self._runners[id(fn)] = StepRunner(fn)
        return r

    def perform(self, node, inputs):
        return self.run(node, inputs, PERFORM_MODE)

    def run(self, node, inputs, mode):
        """The loop run step by step, the step compiled in `mode` (the linker's,
        see tjit/link/control.py, or PERFORM_MODE for the NumPy reference)."""
        s = self.spec
        n = _n_steps(inputs[0], s.label)
        seqs = inputs[1:1 + s.n_seqs]
        inits = inputs[1 + s.n_seqs:1 + s.n_seqs + s.n_rec]
        nonseqs = list(inputs[1 + s.n_seqs + s.n_rec:])
        _check_sequences(seqs, n, s.label)
        bufs = []
        for i, (init, lag, out) in enumerate(zip(inits, s.lags, node.outputs)):
            if init.shape[0] < lag:
                raise ValueError(f"{s.label}: initial state {i} has {init.shape[0]} rows but its "
                                 f"taps {s.rec_taps[i]} need {lag}")
            buf = np.empty((lag + n,) + init.shape[1:], out.dtype)
            buf[:lag] = init[:lag]
            bufs.append(buf)
        nits = [None] * s.n_nit
        nit_dtypes = [o.dtype for o in node.outputs[s.n_rec:]]
        run = self.runner(mode)
        done = n
        rec_reads = [(buf, lag, taps) for buf, lag, taps in zip(bufs, s.lags, s.rec_taps)]
        for t in range(n):
            args = [x[t, ...] for x in seqs]
            for buf, lag, taps in rec_reads:
                args.extend([buf[lag + t + k, ...] for k in taps])
            args.extend(nonseqs)
            try:
                outs = run(args)
            except Exception as e:
                raise step_error(e, s.label, t) from e
            for i, (buf, lag, _) in enumerate(rec_reads):
                o = outs[i]
                if o.shape != buf.shape[1:]:
                    raise ValueError(f"{s.label}, step {t}: output {i} has shape {o.shape}, but "
                                     f"its initial state gives each step the shape "
                                     f"{buf.shape[1:]}")
                buf[lag + t] = o
            for j in range(s.n_nit):
                o = outs[s.n_rec + j]
                if nits[j] is None:
                    nits[j] = np.empty((n,) + o.shape, nit_dtypes[j])
                elif o.shape != nits[j].shape[1:]:
                    raise ValueError(f"{s.label}, step {t}: output {s.n_rec + j} has shape "
                                     f"{o.shape}, but earlier steps had {nits[j].shape[1:]}")
                nits[j][t] = o
            if s.as_while and outs[-1]:
                done = t + 1
                break
        results = [buf[:lag + done] for buf, lag in zip(bufs, s.lags)]
        for i in self.last_only:
            results[i] = last_value(results[i], s.lags[i], s.label, i in self.lenient)
        rows = self._empty_rows(seqs, bufs, nonseqs, run) if any(a is None for a in nits) \
            else None
        for j, arr in enumerate(nits):
            if arr is None:          # no step ran
                arr = np.zeros((0,) + rows[j], nit_dtypes[j])
            results.append(arr[:done])
        return results

    def _empty_rows(self, seqs, bufs, nonseqs, run):
        """Row shapes of the per-step outputs when no step ran: one step evaluated on
        zeros of the sequences' row shapes (shapes depend on shapes only), else 0s."""
        s = self.spec
        args = [np.zeros(x.shape[1:], x.dtype) for x in seqs]
        for buf, lag, taps in zip(bufs, s.lags, s.rec_taps):
            args.extend([buf[lag + k, ...] for k in taps])
        args.extend(nonseqs)
        try:
            with np.errstate(all="ignore"):
                outs = run(args)
            return [o.shape for o in outs[s.n_rec:s.n_rec + s.n_nit]]
        except Exception:
            return [(0,) * (len(o.broadcastable) - 1)
                    for o in self.spec.inner_outputs[s.n_rec:s.n_rec + s.n_nit]]

    # -- gradient ---------------------------------------------------------------
    def grad(self, inputs, output_grads):
        # grad_scan builds the reverse scan with scan(), which builds this op: a cycle
        from .grad_scan import reverse_scan_grad
        grads = reverse_scan_grad(self, inputs, output_grads)
        # As Theano's connection pattern: a sequence or non-sequence the step never
        # reads is disconnected (None), so grad() raises DisconnectedInputError
        # for it unless disconnected_inputs='ignore'.
        return [None if i in self._unused_outer_inputs() else g for i, g in enumerate(grads)]

    def _unused_outer_inputs(self):
        """Positions (in the node's inputs) of sequences and non-sequences whose
        inner input no inner output depends on."""
        unused = self.__dict__.get("_unused")
        if unused is None:
            s = self.spec
            used = {id(v) for v in ancestors(s.inner_outputs)}
            inner = s.inner_inputs
            first_nonseq = s.n_seqs + s.n_taps  # inner: sequences, taps, non-sequences
            unused = set()
            for j in range(s.n_seqs):
                if id(inner[j]) not in used:
                    unused.add(1 + j)
            for k in range(s.n_nonseqs):
                if id(inner[first_nonseq + k]) not in used:
                    unused.add(1 + s.n_seqs + s.n_rec + k)
            unused = self.__dict__["_unused"] = frozenset(unused)
        return unused


def last_value(buf, lag, label, lenient=False):
    """The final value of a history buffer (its first `lag` rows are the initial
    state): unless `lenient`, IndexError (as indexing [-1] of the empty output)
    when no step ran."""
    if buf.shape[0] <= lag and not lenient:
        raise IndexError(f"{label}: index -1 is out of bounds: the output has no steps")
    return buf[-1, ...].copy()


def _stacked(t):
    return TensorType(t.dtype, (False,) + tuple(t.broadcastable))


def _check_stacked(v, inner_type, what):
    if v.ndim != inner_type.ndim + 1 or v.dtype != inner_type.dtype:
        raise TypeError(f"{what} has type {v.type}; expected {inner_type.ndim + 1} dims of "
                        f"{inner_type.dtype}")
    want = _stacked(inner_type)
    if v.type == want:
        return v
    bc = (False,) + tuple(a and b for a, b in zip(inner_type.broadcastable,
                                                  v.broadcastable[1:]))
    if bc != want.broadcastable:
        raise TypeError(f"{what} has broadcastable pattern {v.broadcastable}, but the loop "
                        f"needs {want.broadcastable}")
    return patternbroadcast(v, bc)


def _n_steps(value, label):
    n = int(np.asarray(value))
    if n < 0:
        raise IndexError(f"{label} was asked to run for a negative number of steps ({n})")
    return n


def _check_sequences(seqs, n, label):
    for j, x in enumerate(seqs):
        if x.shape[0] < n:
            raise ValueError(f"{label}: sequence {j} has {x.shape[0]} rows (after applying its "
                             f"taps), shorter than the {n} steps asked for")
