"""tjit.dask.random's blocks, in this process (no cluster): every way a block
lies in the draw (one run, dense runs, sparse runs) gives the single-machine
draw's values there, bit for bit."""
import dask
import numpy as np
import pytest

import tjit
import tjit.dask as tdk
from tjit.dask.random import block_runs
from tjit.random.streams import PhiloxStreams

SHAPE = (11, 6, 37)


@pytest.fixture(scope="module")
def single():
    s = PhiloxStreams(7)
    outs = [s.uniform(SHAPE, -1.0, 3.0, dtype="float32"), s.normal(SHAPE, 0.5, 2.0)]
    return tjit.function([], outs)()


def _blocks(chunks):
    d = PhiloxStreams(7)
    return dask.compute(tdk.random.uniform(d, SHAPE, chunks, -1.0, 3.0, dtype="float32"),
                        tdk.random.normal(d, SHAPE, chunks, 0.5, 2.0), scheduler="sync")


@pytest.mark.parametrize("call_cost", [4096, 0])   # dense runs drawn as one span; one call a run
def test_blocks_are_the_single_draw_at_their_positions(single, monkeypatch, call_cost):
    monkeypatch.setattr(tdk.random, "CALL_COST", call_cost)
    for chunks in [(4, 6, 37), (11, 2, 10), (3, 6, 5), (11, 6, 37)]:
        u, z = _blocks(chunks)
        assert u.dtype == np.float32 and z.dtype == np.float64
        assert np.array_equal(u, single[0]), chunks
        assert np.array_equal(z, single[1]), chunks


def test_block_runs():
    firsts, run, shape = block_runs((4, 5, 6), [(1, 3), (0, 5), (2, 4)])
    assert run == 2 and shape == (2, 5, 2)
    assert firsts.tolist() == [[30 + 6 * j + 2 for j in range(5)],
                               [60 + 6 * j + 2 for j in range(5)]]
    firsts, run, _ = block_runs((4, 5, 6), [(1, 3), (0, 5), (0, 6)])
    assert firsts.tolist() == 30 and run == 60
    assert block_runs((), [])[1] == 1


def test_only_philox_streams():
    from tjit.sandbox.rng_mrg import MRG_RandomStreams
    with pytest.raises(TypeError, match="needs Philox streams.*MRG_RandomStreams"):
        tdk.random.uniform(MRG_RandomStreams(1), (4,), 2)
