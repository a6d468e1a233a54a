"""Theano's `theano.sandbox.rng_mrg`: `MRG_RandomStreams(seed)` over MRG31k3p.

The generator and how tjit lays draws out over its substreams (Theano's approach:
substreams 2^72 steps apart reached by jump-ahead matrices, here one per block of
1024 consecutive values so that value i depends on (state, i) alone) are
documented in `tjit.random.mrg`.
"""
from ..random.mrg import A1P72, A1P134, A2P72, A2P134, apply
from ..random.streams import MRGStreams


class MRG_RandomStreams(MRGStreams):
    """Random streams over MRG31k3p, with RandomStreams' interface. `seed` is an
    int in (0, 2147462579) (the state [seed] * 6, as Theano) or 6 ints."""

    def __init__(self, seed=12345, use_cuda=None):
        super().__init__(seed)


def ff_2p72(rstate):
    """`rstate` (6 ints) jumped 2^72 steps ahead: the next substream."""
    return apply((A1P72, A2P72), rstate)


def ff_2p134(rstate):
    """`rstate` (6 ints) jumped 2^134 steps ahead: the next stream."""
    return apply((A1P134, A2P134), rstate)


__all__ = ["MRG_RandomStreams", "ff_2p72", "ff_2p134"]
