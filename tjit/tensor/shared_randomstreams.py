"""Theano's `theano.tensor.shared_randomstreams`: `RandomStreams(seed)`.

tjit's RandomStreams draws with Philox4x32-10, a counter-based generator: see
`tjit.random` (the numbering of draws is in `tjit.random.philox`).
"""
from ..random.streams import PhiloxStreams


class RandomStreams(PhiloxStreams):
    """Random streams over Philox4x32-10: `uniform`, `normal`, `binomial`,
    `random_integers`, `choice`, `permutation`, `multinomial`; `seed(s)`."""


__all__ = ["RandomStreams"]
