"""Backpropagation through time: ScanGrad, a loop over the steps in reverse.

For step t (from the last step run back to the first, or only the last
`truncate_gradient` steps), the vector-Jacobian product of the step function is
evaluated with the cotangents of the step's outputs; its results are added to the
gradients of the sequence rows read at step t, of the buffer rows read through
the taps (earlier steps pick those up as their outputs' cotangents) and of the
non-sequences. The gradient of an initial state is that of its buffer rows.
"""
from __future__ import annotations

import numpy as np

from ..graph import Apply, Op
from .op import StepRunner, _check_sequences, _n_steps, step_error


class ScanGrad(Op):
    """Inputs: [n_steps, *scan inputs, *scan outputs, *output gradients];
    outputs: the gradients of the scan inputs (sequences, initial states,
    non-sequences), each of its input's type."""

    def __init__(self, spec):
        from .. import scalar as ts
        from ..gradient import grad
        from ..ifelse import InnerFunction
        from ..tensor.basic import zeros_like
        self.spec = spec
        ins = spec.inner_inputs
        outs = spec.inner_outputs[:spec.n_rec + spec.n_nit]
        cots = [o.type() for o in outs]
        known = {}
        for o, c in zip(outs, cots):
            if o.dtype in ts.DISCRETE:
                continue
            known[o] = known[o] + c if o in known else c
        self.wrt_pos = [k for k, v in enumerate(ins) if v.dtype not in ts.DISCRETE]
        wrt = [ins[k] for k in self.wrt_pos]
        if known and wrt:
            grads = grad(None, wrt, known_grads=known, disconnected_inputs="ignore")
        else:
            grads = [zeros_like(w) for w in wrt]
        self.vjp = InnerFunction(ins + cots, grads, f"{spec.label} gradient")
        self._runners = {}

    def __eq__(self, other):
        return self is other

    def __hash__(self):
        return id(self)

    def __str__(self):
        return f"ScanGrad{{{self.spec.name}}}" if self.spec.name else "ScanGrad"

    def make_node(self, *inputs):
        s = self.spec
        n_in = 1 + s.n_seqs + s.n_rec + s.n_nonseqs
        outer = inputs[1:n_in]
        return Apply(self, list(inputs), [v.type() for v in outer])

    def perform(self, node, inputs):
        return self.run(inputs, native=False)

    def make_thunk(self, node):
        return lambda inputs: self.run(inputs, native=True)

    def run(self, inputs, native):
        s = self.spec
        n_in = 1 + s.n_seqs + s.n_rec + s.n_nonseqs
        n_out = s.n_rec + s.n_nit
        n = _n_steps(inputs[0], s.label)
        seqs = inputs[1:1 + s.n_seqs]
        nonseqs = list(inputs[1 + s.n_seqs + s.n_rec:n_in])
        outs = inputs[n_in:n_in + n_out]
        gouts = inputs[n_in + n_out:]
        _check_sequences(seqs, n, s.label)
        bufs = outs[:s.n_rec]
        if s.n_rec:
            done = bufs[0].shape[0] - s.lags[0]
        elif s.n_nit:
            done = outs[s.n_rec].shape[0]
        else:
            done = n
        dseqs = [np.zeros_like(x) for x in seqs]
        dbufs = [np.array(g, dtype=b.dtype, copy=True) for g, b in zip(gouts[:s.n_rec], bufs)]
        for g, b in zip(dbufs, bufs):
            if g.shape != b.shape:
                raise ValueError(f"{s.label} gradient: output gradient of shape {g.shape} for "
                                 f"an output of shape {b.shape}")
        gnits = gouts[s.n_rec:]
        dnon = [np.zeros_like(np.asarray(v)) for v in nonseqs]
        start = 0 if s.truncate_gradient in (-1, None) else max(0, done - s.truncate_gradient)
        run = self._runner(native)
        # inner input position -> where its gradient goes
        targets = []
        for j in range(s.n_seqs):
            targets.append(("seq", j, 0))
        for i, taps in enumerate(s.rec_taps):
            for k in taps:
                targets.append(("rec", i, k))
        for k in range(s.n_nonseqs):
            targets.append(("non", k, 0))
        for t in range(done - 1, start - 1, -1):
            args = [x[t, ...] for x in seqs]
            for buf, lag, taps in zip(bufs, s.lags, s.rec_taps):
                args.extend([buf[lag + t + k, ...] for k in taps])
            args.extend(nonseqs)
            args.extend([dbuf[lag + t, ...] for dbuf, lag in zip(dbufs, s.lags)])
            args.extend([g[t, ...] for g in gnits])
            try:
                grads = run(args)
            except Exception as e:
                raise step_error(e, s.label + " gradient", t) from e
            for pos, g in zip(self.wrt_pos, grads):
                kind, i, k = targets[pos]
                if kind == "seq":
                    dseqs[i][t] += g
                elif kind == "rec":
                    dbufs[i][s.lags[i] + t + k] += g
                else:
                    dnon[i] += g
        dinits = [d[:lag] for d, lag in zip(dbufs, s.lags)]
        return dseqs + dinits + dnon

    def _runner(self, native):
        r = self._runners.get(native)
        if r is None:
            r = self._runners[native] = StepRunner(self.vjp.get(native))
        return r

    def grad(self, inputs, output_grads):
        raise NotImplementedError("second derivatives through scan are not supported")
