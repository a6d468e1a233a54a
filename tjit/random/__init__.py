"""Counter-based random number generation (see `tjit.random.streams`).

- `philox`: Philox4x32-10 (Salmon et al., SC'11), NumPy reference and loop-IR
  expressions; behind `tjit.tensor.shared_randomstreams.RandomStreams`.
- `mrg`: MRG31k3p (L'Ecuyer & Touzin, WSC 2000), Theano's substream layout,
  NumPy reference and jump-ahead; `mrg_ops` its graph Ops (uniform draw,
  Box-Muller, choice), `mrg_streams` the streams class behind
  `tjit.sandbox.rng_mrg.MRG_RandomStreams` (Theano's numbers).
- `ops`: the graph Ops drawing numbers (NumPy `perform`; their native kernels are
  lowered in `tjit.ir.lower_random`).
- `streams`: the user-facing streams classes and their distributions.
"""
