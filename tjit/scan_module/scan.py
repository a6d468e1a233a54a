"""scan(): Theano's looping construct, building a Scan node.

Argument order given to `fn` (as Theano): every tap of every sequence, then every
tap of every output that has taps (in outputs_info order), then the
non-sequences. Shared variables used by `fn` are found automatically; those `fn`
updates become loop state (each step sees the previous step's value) and the
returned updates hold their final values.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from ..config import config
from ..graph import Constant, Variable, clone_replace, get_test_value, graph_inputs
from ..shared import SharedVariable, checked_update
from ..tensor.type import TensorType
from ..tensor.var import as_tensor_variable
from .op import Scan, ScanSpec
from .utils import get_updates_and_outputs
from ..tensor.basic import cast, minimum, patternbroadcast


def _wrap(x):
    if x is None:
        return []
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]


def _tap_name(var, k):
    if getattr(var, "name", None) is None:
        return None
    return f"{var.name}[t{'+' if k > 0 else ''}{k if k else ''}]"


def _row_type(t):
    return TensorType(t.dtype, t.broadcastable[1:])


def _padleft(x):
    return patternbroadcast(x.dimshuffle("x", *range(x.ndim)), (False,) + x.broadcastable)


def _steps_input(n_steps):
    """The n_steps argument as an int64 scalar variable (or None)."""
    if n_steps is None:
        return None
    if isinstance(n_steps, Variable):
        if n_steps.dtype[:3] not in ("int", "uin"):
            raise ValueError(f"scan: n_steps must be an integer, got {n_steps} of dtype "
                             f"{n_steps.dtype}")
        if n_steps.ndim != 0:
            raise ValueError(f"scan: n_steps must be a scalar, got {n_steps.type}")
        return n_steps if n_steps.dtype == "int64" else cast(n_steps, "int64")
    value = np.asarray(n_steps)
    if value.ndim != 0 or value.dtype.kind not in "iuf" or value != np.floor(value):
        raise ValueError(f"scan: n_steps must be an integer, got {n_steps!r}")
    return as_tensor_variable(np.int64(value))


def _check_unique_taps(taps, where):
    repeated = sorted({k for k in taps if taps.count(k) > 1})
    if repeated:
        raise ValueError(f"scan: {where} has taps {taps}, which repeat {repeated}: each tap "
                         "may appear once (pass the same slice to fn only once)")


def _with_test_value(inner, outer, pick):
    """`inner` (a placeholder fn receives) given the test value of the slice of
    `outer` it stands for at the first step, when config.compute_test_value is
    on (as Theano's scan), so the step's nodes compute theirs. A missing value is
    reported by the first node that needs it."""
    if config.compute_test_value == "off":
        return inner
    try:
        value = pick(get_test_value(outer))
    except (AttributeError, IndexError):
        return inner
    inner.tag.test_value = np.asarray(value).astype(inner.dtype, copy=False)
    return inner


def _tap_row(sit_sot, row):
    return (lambda init: init) if sit_sot else (lambda init: init[row])


class _Output:
    """What outputs_info says about one output."""

    def __init__(self, i, info):
        self.init = None
        self.taps = []
        if info is None:
            return
        if isinstance(info, dict):
            if info.get("return_steps") is not None:
                raise ValueError("scan: `return_steps` is deprecated (as in Theano): index the "
                                 "output instead")
            init, taps = info.get("initial"), info.get("taps")
            if init is None:
                if taps:
                    raise ValueError(f"scan: outputs_info[{i}] has taps {taps} but no initial "
                                     "state; give dict(initial=..., taps=...)")
                return
            taps = [-1] if taps is None else _wrap(taps)
        else:
            init, taps = info, [-1]
        taps = [int(k) for k in taps]
        _check_unique_taps(taps, f"outputs_info[{i}]")
        if not taps or any(k >= 0 for k in taps):
            raise ValueError(f"scan: outputs_info[{i}] has taps {taps}: output taps must be "
                             "negative (an output can only see its past)")
        self.init = as_tensor_variable(init)
        self.taps = taps
        if taps != [-1] and self.init.ndim < 1:
            raise ValueError(f"scan: outputs_info[{i}] uses taps {taps}, so its initial state "
                             f"needs one more dimension holding {-min(taps)} past values")

    @property
    def sit_sot(self):
        return self.taps == [-1]

    def tap_type(self):
        return self.init.type if self.sit_sot else _row_type(self.init.type)

    def outer_buffer(self):
        if self.sit_sot:
            return _padleft(self.init)
        return self.init[:-min(self.taps)]


def scan(fn, sequences=None, outputs_info=None, non_sequences=None, n_steps=None,
         truncate_gradient=-1, go_backwards=False, mode=None, name=None, profile=False,
         allow_gc=None, strict=False, return_list=False):
    """Theano's scan: returns (outputs, updates). Contract: docs/scan.md."""
    if not callable(fn):
        raise TypeError(f"scan: fn must be callable, got {type(fn).__name__}")
    label = f"scan {name!r}" if name else "scan"
    steps = _steps_input(n_steps)

    # Sequences: one sliced outer array per tap, row t read at step t (Theano 1.0).
    seq_outer, seq_inner = [], []
    for i, seq in enumerate(_wrap(sequences)):
        if isinstance(seq, dict):
            if "input" not in seq:
                raise ValueError(f"{label}: sequences[{i}] is a dict without 'input'")
            x, taps = seq["input"], seq.get("taps")
            taps = [0] if taps is None else [int(k) for k in _wrap(taps)]
        else:
            x, taps = seq, [0]
        x = as_tensor_variable(x)
        if x.ndim < 1:
            raise ValueError(f"{label}: sequence {i} ({x}) is a scalar; sequences are iterated "
                             "over their first dimension")
        if not taps:
            continue
        _check_unique_taps(taps, f"sequences[{i}]")
        hi, lo = max(max(taps), 0), min(min(taps), 0)
        for k in taps:
            start = k - lo
            sliced = x[start:] if k == hi else x[start:-(hi - k)]
            if go_backwards:
                sliced = sliced[::-1]
            seq_outer.append(sliced)
            seq_inner.append(_with_test_value(_row_type(x.type)(_tap_name(x, k)), sliced,
                                              lambda rows: rows[0]))

    if steps is None:
        if not seq_outer:
            raise ValueError(f"{label}: no information about the number of steps: give "
                             "n_steps or a sequence")
        steps = seq_outer[0].shape[0]
        for s in seq_outer[1:]:
            steps = minimum(steps, s.shape[0])
    seq_outer = [s[:steps] for s in seq_outer]

    out_infos = [_Output(i, info) for i, info in enumerate(_wrap(outputs_info))]
    non_seqs = [v if isinstance(v, Variable) else as_tensor_variable(v)
                for v in _wrap(non_sequences)]

    # Call fn (again, with more general placeholder types, if an output's
    # broadcastable pattern or a constant initial state's dtype disagrees).
    tap_types = [o.tap_type() if o.taps else None for o in out_infos]
    for attempt in range(3):
        rec_inner = []
        for o, t in zip(out_infos, tap_types):
            rec_inner.append([_with_test_value(t(_tap_name(o.init, k)), o.init,
                                               _tap_row(o.sit_sot, -min(o.taps) + k))
                              for k in o.taps] if o.taps else [])
        args = seq_inner + [v for vs in rec_inner for v in vs] + non_seqs
        cond, outputs, updates = get_updates_and_outputs(fn(*args))
        outputs = [as_tensor_variable(o) for o in outputs]
        if out_infos and len(outputs) != len(out_infos):
            raise ValueError(f"{label}: fn returned {len(outputs)} outputs but outputs_info has "
                             f"{len(out_infos)} entries; give None in outputs_info for outputs "
                             "that do not feed back (like a map)")
        if not out_infos:
            out_infos = [_Output(i, None) for i in range(len(outputs))]
            tap_types = [None] * len(outputs)
        retry = False
        for i, (o, out, t) in enumerate(zip(out_infos, outputs, tap_types)):
            if t is None:
                continue
            if out.dtype != t.dtype or out.ndim != t.ndim:
                if isinstance(o.init, Constant) and out.ndim == t.ndim and attempt == 0:
                    tap_types[i] = TensorType(out.dtype, t.broadcastable)
                    retry = True
                    continue
                raise TypeError(
                    f"{label}: output {i} of fn has type {out.type} but its initial state "
                    f"(outputs_info[{i}]) gives {t} per step; they must have the same dtype "
                    "and number of dims (cast the initial state or the output)")
            if out.broadcastable != t.broadcastable and t.convert_variable(out) is None:
                # As Theano: the state's per-step type comes from its initial value,
                # and the step may not return a less broadcastable value (a (1, n)
                # initial state is a row; a step returning a matrix is an error).
                # A more broadcastable output is rebroadcast to the state's type.
                raise TypeError(
                    f"Inconsistency in the inner graph of scan '{name or 'scan_fn'}' : an "
                    "input and an output are associated with the same recurrent state "
                    f"and should have the same type but have type '{t}' and '{out.type}' "
                    f"respectively. (outputs_info[{i}] has broadcastable pattern "
                    f"{t.broadcastable} per step, output {i} of fn {out.broadcastable}; "
                    "T.unbroadcast or T.patternbroadcast the initial state)")
        if not retry:
            break
    for i, (o, t) in enumerate(zip(out_infos, tap_types)):
        if t is not None and o.init.type != (t if o.sit_sot else TensorType(
                t.dtype, (False,) + t.broadcastable)):
            init = cast(o.init, t.dtype) if o.init.dtype != t.dtype else o.init
            o.init = _unify_init(init, t, o.sit_sot)
    outputs = [t.convert_variable(out) if t is not None and out.type != t else out
               for out, t in zip(outputs, tap_types)]

    # Shared variables with a default update used by fn (random streams' states)
    # advance at every step, as if fn had returned their updates (as Theano).
    updated = {id(sv) for sv in updates}
    found = outputs + list(updates.values()) + ([cond] if cond is not None else [])
    for v in graph_inputs(found):
        if (isinstance(v, SharedVariable) and v.default_update is not None
                and id(v) not in updated):
            updates[v] = v.default_update
            updated.add(id(v))

    # Shared variables updated by fn become loop state (taps [-1]).
    update_pairs = []
    for sv, expr in updates.items():
        try:
            update_pairs.append((sv, checked_update(sv, expr)))
        except TypeError as e:
            raise TypeError(f"{label}: {e}") from None
    state_inner = [sv.type(f"{sv.name}[t-1]" if sv.name else None) for sv, _ in update_pairs]

    replace = [(sv, ph) for (sv, _), ph in zip(update_pairs, state_inner)]
    given = [v for v in non_seqs if not isinstance(v, (Constant, SharedVariable))]
    given_inner = [v.type(v.name) for v in given]
    replace += list(zip(given, given_inner))
    results = outputs + [e for _, e in update_pairs] + ([cond] if cond is not None else [])
    results = clone_replace(results, replace, strict=False) if replace else results

    known = {id(v) for v in seq_inner + [v for vs in rec_inner for v in vs] + state_inner
             + given_inner}
    extra = [v for v in graph_inputs(results)
             if id(v) not in known and not isinstance(v, Constant)]
    if strict:
        passed = {id(v) for v in non_seqs}
        missing = [v for v in extra if id(v) not in passed]
        if missing:
            raise ValueError(f"{label} (strict=True): fn uses {', '.join(map(str, missing))}, "
                             "which are not passed in non_sequences (or sequences)")
    extra_inner = [v.type(v.name) for v in extra]
    if extra:
        results = clone_replace(results, list(zip(extra, extra_inner)), strict=False)

    n_user = len(outputs)
    rec_pos = [i for i, o in enumerate(out_infos) if o.taps]
    nit_pos = [i for i, o in enumerate(out_infos) if not o.taps]
    inner_outputs = ([results[i] for i in rec_pos]
                     + results[n_user:n_user + len(update_pairs)]
                     + [results[i] for i in nit_pos]
                     + ([results[-1]] if cond is not None else []))
    inner_inputs = (seq_inner + [v for i in rec_pos for v in rec_inner[i]] + state_inner
                    + given_inner + extra_inner)
    rec_taps = [out_infos[i].taps for i in rec_pos] + [[-1]] * len(update_pairs)
    spec = ScanSpec(inner_inputs, inner_outputs, len(seq_inner), rec_taps, len(nit_pos),
                    len(given_inner) + len(extra_inner), cond is not None, truncate_gradient,
                    name)
    op = Scan(spec)
    outer = (seq_outer + [out_infos[i].outer_buffer() for i in rec_pos]
             + [_padleft(sv) for sv, _ in update_pairs] + given + extra)
    node = op.make_node(steps, *outer)

    user = [None] * n_user
    for k, i in enumerate(rec_pos):
        user[i] = node.outputs[k][-min(out_infos[i].taps):]
    new_updates = OrderedDict()
    for k, (sv, _) in enumerate(update_pairs):
        new_updates[sv] = node.outputs[len(rec_pos) + k][-1]
    base = len(rec_pos) + len(update_pairs)
    for k, i in enumerate(nit_pos):
        user[i] = node.outputs[base + k]
    for v, info in zip(user, out_infos):
        if name and v.name is None:
            v.name = f"{name}_out"
    if return_list:
        return user, new_updates
    if len(user) == 1:
        return user[0], new_updates
    if not user:
        return None, new_updates
    return user, new_updates


def _unify_init(init, tap_type, sit_sot):
    if sit_sot:
        return patternbroadcast(init, tap_type.broadcastable)
    return patternbroadcast(init, (init.broadcastable[0],) + tap_type.broadcastable)
