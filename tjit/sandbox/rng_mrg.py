"""Theano's `theano.sandbox.rng_mrg`: `MRG_RandomStreams(seed)` over MRG31k3p,
giving Theano's numbers for the same seed, sizes and `nstreams` (Theano's
substream layout and per-call state advance; see `tjit.random.mrg` and
`tjit.random.mrg_streams`)."""
from ..random.mrg import A1P72, A1P134, A2P72, A2P134, apply, guess_n_streams as _guess
from ..random.mrg_streams import MRGStreams


class MRG_RandomStreams(MRGStreams):
    """Random streams over MRG31k3p, with Theano's interface. `seed` is an int in
    (0, 2147462579) (the state [seed] * 6, as Theano) or 6 ints."""

    def __init__(self, seed=12345, use_cuda=None):
        super().__init__(seed)


def guess_n_streams(size, warn=False):
    """Theano's default stream count for `size` (see tjit.random.mrg)."""
    return _guess(size)


def ff_2p72(rstate):
    """`rstate` (6 ints) jumped 2^72 steps ahead: the next substream."""
    return apply((A1P72, A2P72), rstate).astype("int32")


def ff_2p134(rstate):
    """`rstate` (6 ints) jumped 2^134 steps ahead: the next stream."""
    return apply((A1P134, A2P134), rstate).astype("int32")


__all__ = ["MRG_RandomStreams", "ff_2p72", "ff_2p134", "guess_n_streams"]
