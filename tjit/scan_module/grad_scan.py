"""Backpropagation through time as a reverse scan (full BPTT).

The gradient of a Scan node is another scan() over the steps in reverse, so it
compiles like any scan (one native loop when its inner graph lowers). Step t of
the reverse loop (t = done-1 ... 0) receives the forward step's inputs (sequence
rows and tap rows, reversed) and the cotangents of its outputs, and computes the
vector-Jacobian product of the step function. Adjoints travel through the taps
in recurrent states: for an output with lag L, states C^0..C^{L-1} hold the
partial adjoints of history rows t..t+L-1 (contributions of later steps), so
the full cotangent of step t's output is gB[t+L] + C^{L-1}, and step t adds its
tap gradients: C'^q = C^{q-1} + (gradient of tap q - L). Non-sequence gradients
are summed in accumulator states. After the loop, C^q is the adjoint of initial
row q. Only their final values are used, so the scan_last_only rewrite keeps
no history of the states.

Truncated BPTT (truncate_gradient = m > 0) runs the reverse loop over the last
m steps only: earlier sequence rows get zero gradients, and the states' final
values are the adjoints of history rows done-m .. done-m+L-1, added to the
initial state's gradient where those rows are initial rows.
"""
from __future__ import annotations

from .. import scalar as ts
from ..graph import clone_replace, toposort
from ..gradient import grad
from ..ifelse import ifelse
from ..tensor.basic import concatenate, eq, maximum, minimum, patternbroadcast, stack, zeros_like
from ..tensor.subtensor import set_subtensor
from .scan import scan


def _float(v):
    return v.dtype not in ts.DISCRETE


def _last_row(user_output):
    """The last row of the history buffer behind a scan() output `buffer[lag:]`
    (the initial state's last row when no step ran)."""
    return user_output.owner.inputs[0][-1]


def _same_values(outputs, pairs):
    """(variable, replacement) for every variable of the graph of `outputs` that
    recomputes one of pairs' variables: the same op on the same inputs (gradients
    rebuild the nodes they differentiate, e.g. tanh's output for its derivative)."""
    wanted = {}
    for var, value in pairs:
        node = var.owner
        wanted.setdefault((node.op, tuple(id(v) for v in node.inputs), var.index), value)
    found = list(pairs)
    for node in toposort(outputs):
        for out in node.outputs:
            value = wanted.get((node.op, tuple(id(v) for v in node.inputs), out.index))
            if value is not None and out.type == value.type:
                found.append((out, value))
    return found


def reverse_scan_grad(op, inputs, output_grads):
    """Gradients of the inputs of Scan `op` (inputs[0] is n_steps) as graphs."""
    s = op.spec
    seqs = inputs[1:1 + s.n_seqs]
    nonseqs = inputs[1 + s.n_seqs + s.n_rec:]
    node = op.node_of(inputs)
    bufs = node.outputs[:s.n_rec]
    g_bufs = output_grads[:s.n_rec]
    g_nits = output_grads[s.n_rec:s.n_rec + s.n_nit]
    if s.n_rec:
        done = bufs[0].shape[0] - s.lags[0]
    elif s.n_nit:
        done = node.outputs[s.n_rec].shape[0]
    else:
        return [None] * len(inputs)
    truncate = s.truncate_gradient
    if truncate not in (-1, None) and truncate <= 0:
        raise ValueError(f"{s.label}: truncate_gradient must be -1 or positive, got {truncate}")
    # steps the reverse loop runs: the last `span` steps run forward
    span = done if truncate in (-1, None) else minimum(done, truncate)

    # sequences of the reverse loop (the forward steps done-1, ..., done-span)
    rev = []

    def reverse(x):
        r = x[::-1]
        return r if span is done else r[:span]

    for x in seqs:
        rev.append(reverse(x[:done]))
    tap_positions = []
    for i, (b, lag, taps) in enumerate(zip(bufs, s.lags, s.rec_taps)):
        for k in taps:
            rev.append(reverse(b[lag + k:lag + k + done]))
            tap_positions.append((i, k))
    for g, lag in zip(g_bufs, s.lags):
        rev.append(reverse(g[lag:lag + done]))
    for g in g_nits:
        rev.append(reverse(g[:done]))
    # The forward outputs of each step, as computed: the vector-Jacobian product
    # reads them instead of recomputing the step (e.g. tanh's derivative needs
    # only tanh's output).
    for b, lag in zip(bufs, s.lags):
        rev.append(reverse(b[lag:lag + done]))
    for y in node.outputs[s.n_rec:s.n_rec + s.n_nit]:
        rev.append(reverse(y[:done]))

    seq_float = [j for j, x in enumerate(seqs) if _float(x)]
    rec_float = [i for i, b in enumerate(bufs) if _float(b)]
    non_float = [k for k, p in enumerate(nonseqs) if _float(p)]
    outputs_info = [None] * len(seq_float)
    for i in rec_float:
        outputs_info += [zeros_like(bufs[i][0])] * s.lags[i]
    outputs_info += [zeros_like(nonseqs[k]) for k in non_float]
    n_taps = len(tap_positions)
    n_in = len(s.inner_inputs)

    def step(*args):
        pos = 0
        seq_rows = args[pos:pos + s.n_seqs]
        pos += s.n_seqs
        tap_rows = args[pos:pos + n_taps]
        pos += n_taps
        g_rows = args[pos:pos + s.n_rec]
        pos += s.n_rec
        go_rows = args[pos:pos + s.n_nit]
        pos += s.n_nit
        y_rows = args[pos:pos + s.n_rec + s.n_nit]
        pos += s.n_rec + s.n_nit
        states = {}
        for i in rec_float:
            states[i] = list(args[pos:pos + s.lags[i]])
            pos += s.lags[i]
        accs = args[pos:pos + len(non_float)]
        pos += len(non_float)
        non_args = args[pos:]
        replacement = list(seq_rows) + list(tap_rows) + list(non_args)
        assert len(replacement) == n_in
        outs = clone_replace(s.inner_outputs[:s.n_rec + s.n_nit],
                             list(zip(s.inner_inputs, replacement)), strict=False)
        known = {}

        def seed(var, g):
            known[var] = known[var] + g if var in known else g

        for i in rec_float:
            seed(outs[i], g_rows[i] + states[i][-1])
        for j, o in enumerate(outs[s.n_rec:]):
            if _float(o):
                seed(o, go_rows[j])
        wrt_seq = [seq_rows[j] for j in seq_float]
        wrt_tap = [tap_rows[t] for t, (i, _) in enumerate(tap_positions) if i in states]
        wrt_non = [non_args[k] for k in non_float]
        wrt = wrt_seq + wrt_tap + wrt_non
        if known and wrt:
            grads = grad(None, wrt, known_grads=known, disconnected_inputs="ignore")
        else:
            grads = [zeros_like(w) for w in wrt]
        computed = _same_values(grads, [(o, y) for o, y in zip(outs, y_rows)
                                        if o.owner is not None and o.type == y.type])
        if computed:
            grads = clone_replace(grads, computed, strict=False)
        g_seq = grads[:len(wrt_seq)]
        g_tap = dict(zip([p for p in tap_positions if p[0] in states],
                         grads[len(wrt_seq):len(wrt_seq) + len(wrt_tap)]))
        g_non = grads[len(wrt_seq) + len(wrt_tap):]
        new_states = []
        for i in rec_float:
            lag, c = s.lags[i], states[i]
            for q in range(lag):
                new = c[q - 1] if q >= 1 else None
                g = g_tap.get((i, q - lag))
                if g is not None:
                    new = g if new is None else new + g
                new_states.append(new if new is not None else zeros_like(c[q]))
        new_accs = [a + g for a, g in zip(accs, g_non)]
        return list(g_seq) + new_states + new_accs

    results, _ = scan(step, sequences=rev, outputs_info=outputs_info,
                      non_sequences=list(nonseqs), return_list=True,
                      name=f"grad_of_{s.name}" if s.name else None)
    grads = [None] * len(inputs)
    pos = 0
    first = done - span           # the first forward step the reverse loop reached
    for j in seq_float:
        rows = results[pos][::-1]
        pos += 1
        empty = zeros_like(seqs[j])
        # No step ran: the stacked per-step gradient has no rows to place.
        grads[1 + j] = ifelse(eq(span, 0), empty, set_subtensor(empty[first:done], rows))
    for i in rec_float:
        lag = s.lags[i]
        finals = [_last_row(results[pos + q]) for q in range(lag)]
        pos += lag
        adjoints = stack(finals) if lag > 1 else finals[0].dimshuffle("x", *range(
            finals[0].ndim))
        if span is not done:
            # row first + q of the history is initial row q - first... when < lag
            adjoints = concatenate([zeros_like(adjoints)[:first],
                                    adjoints[:maximum(lag - first, 0)]])
        grads[1 + s.n_seqs + i] = g_bufs[i][:lag] + adjoints
    for k in non_float:
        grads[1 + s.n_seqs + s.n_rec + k] = _last_row(results[pos])
        pos += 1
    return [g if g is None or g.broadcastable == v.broadcastable
            else patternbroadcast(g, v.broadcastable) for g, v in zip(grads, inputs)]
