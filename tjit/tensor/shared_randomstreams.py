"""Theano's `theano.tensor.shared_randomstreams`: `RandomStreams(seed)`.

tjit's RandomStreams draws with Philox4x32-10, a counter-based generator: see
`tjit.random` (the numbering of draws is in `tjit.random.philox`).
"""
from ..random.streams import PhiloxStreams


class RandomStreams(PhiloxStreams):
    """Random streams over Philox4x32-10: `uniform`, `normal`, `binomial`,
    `poisson`, `random_integers`, `choice`, `permutation`, `multinomial`,
    `shuffle_row_elements`; `seed(s)`, `updates()`. Each random variable's
    state is `var.rng`, a shared variable."""


__all__ = ["RandomStreams"]
