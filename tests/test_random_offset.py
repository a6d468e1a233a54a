"""Philox draws from an offset (RandomDrawRange): the values a whole draw gives
at those positions, bit for bit, natively; and equal to the NumPy reference."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tjit
import tjit.tensor as T
from tjit.random import philox
from tjit.random.ops import RandomDrawRange
from tjit.random.streams import PhiloxStreams

N = 3 * 2 * philox.BLOCKS_PER_CHUNK * 4 + 37      # several chunks of every layout
CASES = [(d, t) for d in ("uniform", "normal") for t in ("float64", "float32")]
_FNS = {}


def _range_fn(dist, dtype):
    if (dist, dtype) not in _FNS:
        s = T.TensorType("uint32", (False,))("state")
        first, count = T.lscalar("first"), T.lscalar("count")
        a, b = T.scalar("a", dtype=dtype), T.scalar("b", dtype=dtype)
        out = RandomDrawRange("philox", dist, dtype)(s, first, count, a, b)
        _FNS[dist, dtype] = tjit.function([s, first, count, a, b], out)
    return _FNS[dist, dtype]


@pytest.fixture(scope="module")
def whole():
    """The single-machine draws of N values (a = 1, b = 2) and their states."""
    got = {}
    for dist, dtype in CASES:
        s = PhiloxStreams(99)
        x = getattr(s, dist)((N,), 1.0, 2.0, dtype=dtype)
        got[dist, dtype] = (s.state_updates[0][0].get_value(), tjit.function([], x)())
    return got


@pytest.mark.parametrize("dist,dtype", CASES)
def test_ranges_are_the_whole_draw_at_their_positions(whole, dist, dtype):
    state, full = whole[dist, dtype]
    f = _range_fn(dist, dtype)
    dt = np.dtype(dtype).type
    per = philox.parts(dist, dtype) * philox.BLOCKS_PER_CHUNK
    # chunk edges, odd starts, a single value (one half of a Box-Muller pair), empty
    for first, count in [(0, N), (1, 5), (per - 1, 2), (per, per), (N - 1, 1), (777, 0),
                         (per // 2 + 3, 2 * per + 11)]:
        got = f(state, first, count, dt(1.0), dt(2.0))
        assert got.dtype == dtype and got.shape == (count,)
        assert np.array_equal(got, full[first:first + count]), (first, count)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2 ** 64 - 1), first=st.integers(0, 2 ** 40),
       count=st.integers(0, 3000), case=st.sampled_from(CASES))
def test_native_range_equals_the_numpy_reference(seed, first, count, case):
    dist, dtype = case
    state = PhiloxStreams(seed)._initial_state(3)
    dt = np.dtype(dtype).type
    got = _range_fn(dist, dtype)(state, first, count, dt(0.5), dt(3.0))
    op = RandomDrawRange("philox", dist, dtype)
    args = [state, first, count, dt(0.5), dt(3.0)]
    ref = op.perform(op.make_node(*args), args)[0]   # the NumPy reference
    assert got.dtype == ref.dtype == dtype and got.shape == ref.shape == (count,)
    if dist == "uniform":
        assert np.array_equal(got, ref)
    else:  # vector log/cos are within a few ulp of NumPy's
        np.testing.assert_allclose(got, ref, rtol=1e-12 if dtype == "float64" else 1e-6,
                                   atol=1e-12)
    # the reference's own range agrees with its whole-draw layout
    if first < 10 ** 5:
        z = philox.draw(state, first + count, dist, dtype)[first:]
        assert np.array_equal(philox.draw(state, count, dist, dtype, first), z)


def test_bad_ranges_and_generators_are_clear_errors():
    f = _range_fn("uniform", "float64")
    state = np.array([1, 2, 3, 0], np.uint32)
    with pytest.raises(ValueError, match="first and count must be >= 0"):
        f(state, -1, 3, 0.0, 1.0)
    with pytest.raises(ValueError, match="counter-based generator"):
        RandomDrawRange("mrg", "uniform", "float64")
    with pytest.raises(TypeError, match="first must be an integer scalar"):
        RandomDrawRange("philox", "uniform", "float64")(state, 0.5, 3, 0.0, 1.0)
