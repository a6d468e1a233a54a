"""Counter-based random number generation (see `tjit.random.streams`).

- `philox`: Philox4x32-10 (Salmon et al., SC'11), NumPy reference and loop-IR
  expressions; behind `tjit.tensor.shared_randomstreams.RandomStreams`.
- `mrg`: MRG31k3p (L'Ecuyer & Touzin, WSC 2000), NumPy reference and
  jump-ahead; behind `tjit.sandbox.rng_mrg.MRG_RandomStreams`.
- `ops`: the graph Ops drawing numbers (NumPy `perform`; their native kernels are
  lowered in `tjit.ir.lower_random`).
- `streams`: the user-facing streams classes and their distributions.
"""
