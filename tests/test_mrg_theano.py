"""MRG_RandomStreams gives Theano's numbers: known answers from Theano's published
sample file (tests/data/samples_MRG31k3p_12_7_5.txt, L'Ecuyer's Java code, seed
[12345] * 6: 12 streams x 7 substreams x 5 values), reproduced as Theano's
test_consistency_randomstreams does (12 graphs `uniform(size=(7,), nstreams=7)`,
each called 5 times), and the draws built on them (normal, binomial, multinomial,
choice) recomputed in NumPy by Theano's formulas from those numbers."""
import os

import numpy as np
import pytest

import tjit
import tjit.tensor as T
from tjit.config import change_flags
from tjit.random import mrg
from tjit.sandbox import rng_mrg
from tjit.sandbox.rng_mrg import MRG_RandomStreams, guess_n_streams

# JAVA[stream, substream, call]
JAVA = np.loadtxt(os.path.join(os.path.dirname(__file__), "data",
                               "samples_MRG31k3p_12_7_5.txt")).reshape(12, 7, 5)


@pytest.mark.parametrize("mode", ["FAST_RUN", "FAST_COMPILE"])
def test_twelve_graphs_five_calls_are_theanos_samples(mode):
    rng = MRG_RandomStreams(12345)
    fs = [tjit.function([], rng.uniform(size=(7,), nstreams=7, dtype="float64"), mode=mode)
          for _ in range(12)]
    got = np.array([[f() for _ in range(5)] for f in fs])       # (stream, call, substream)
    np.testing.assert_array_equal(got.transpose(0, 2, 1), JAVA)


def test_float32_samples_are_theanos_rounding():
    # Theano's C code: float(z) * 4.6566126e-10f, z the int32 output
    rng = MRG_RandomStreams(12345)
    f = tjit.function([], rng.uniform(size=(7,), nstreams=7, dtype="float32"))
    for call in range(5):
        got = f()
        z = np.rint(JAVA[0, :, call] * 2.0 ** 31).astype(np.int32)
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, z.astype(np.float32) * np.float32(4.6566126e-10))


def test_state_is_theanos_substream_matrix_and_advances_per_call():
    rng = MRG_RandomStreams(12345)
    u = rng.uniform(size=(7,), nstreams=7, dtype="float64")
    start = u.rstate.get_value()
    assert start.dtype == np.int32 and start.shape == (7, 6)
    np.testing.assert_array_equal(start[0], [12345] * 6)
    for s in range(1, 7):
        np.testing.assert_array_equal(start[s], rng_mrg.ff_2p72(start[s - 1]))
    v = rng.uniform(size=(3,), nstreams=2)             # variable 1: stream 1 (2^134 on)
    np.testing.assert_array_equal(v.rstate.get_value()[0], rng_mrg.ff_2p134(start[0]))
    f = tjit.function([], u)
    f()
    after = u.rstate.get_value()       # each substream one step on: the next call's values
    x = [after[:, j].astype(np.int64) for j in range(6)]
    _, z = mrg.step(x)
    np.testing.assert_array_equal(mrg.to_unit(z, "float64"), JAVA[0, :, 1])
    np.testing.assert_array_equal(f(), JAVA[0, :, 1])


def test_uneven_draw_advances_only_the_substreams_it_used():
    # 10 values from 7 substreams: substreams 0..2 give two, 3..6 one (i % nstreams)
    rng = MRG_RandomStreams(12345)
    f = tjit.function([], rng.uniform(size=(10,), nstreams=7, dtype="float64"))
    first, second = f(), f()
    np.testing.assert_array_equal(first, np.concatenate([JAVA[0, :, 0], JAVA[0, :3, 1]]))
    # the second call continues each substream where it stopped
    want = np.concatenate([JAVA[0, :3, 2], JAVA[0, 3:, 1], JAVA[0, :3, 3]])
    np.testing.assert_array_equal(second, want)


def test_guess_n_streams_and_default_layout():
    assert guess_n_streams((5,)) == 5 and guess_n_streams((12,)) == 2
    assert guess_n_streams((3, 4, 1000)) == 2000 and guess_n_streams((10 ** 6,)) == 60 * 256
    assert guess_n_streams(T.lvector()) == 60 * 256
    assert guess_n_streams((np.int64(12),)) == 60 * 256       # not Python ints: Theano's rule
    rng = MRG_RandomStreams(12345)
    a = tjit.function([], rng.uniform(size=(12,), dtype="float64"))()       # 2 streams
    np.testing.assert_array_equal(a[:10], JAVA[0, :2, :].T.reshape(-1))
    assert rng.state_updates[0][0].get_value().shape == (2, 6)


def test_uniform_bounds_are_theanos_formula():
    rng = MRG_RandomStreams(12345)
    lo, hi = T.dscalar("lo"), T.dscalar("hi")
    f = tjit.function([lo, hi], rng.uniform((7,), low=lo, high=hi, nstreams=7,
                                            dtype="float64"))
    np.testing.assert_array_equal(f(-3.0, 5.0), JAVA[0, :, 0] * 8.0 + -3.0)
    g = tjit.function([], MRG_RandomStreams(12345).uniform(
        (7,), low=np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]), high=10.0, nstreams=7))
    np.testing.assert_allclose(g(), JAVA[0, :, 0] * (10.0 - np.arange(7.0)) + np.arange(7.0),
                               rtol=1e-15)


def _box_muller(u, n, avg=0.0, std=1.0):
    half = len(u) // 2
    r = np.sqrt(-2.0 * np.log(u[:half]))
    t = 2.0 * np.pi * u[half:]
    return np.concatenate([r * np.cos(t), r * np.sin(t)])[:n] * std + avg


@pytest.mark.parametrize("n", [13, 14])
def test_normal_is_theanos_box_muller_on_the_sample_streams(n):
    # Theano: one uniform draw of n rounded up to even (14 = two rows of 7
    # substreams), halves u1 = call 0, u2 = call 1; the next call: calls 2, 3.
    rng = MRG_RandomStreams(12345)
    x = rng.normal(size=(n,), avg=1.5, std=2.0, nstreams=7, dtype="float64")
    f = tjit.function([], x)
    for call in (0, 2):
        u = np.concatenate([JAVA[0, :, call], JAVA[0, :, call + 1]])
        np.testing.assert_allclose(f(), _box_muller(u, n, 1.5, 2.0), rtol=1e-13, atol=1e-13)


def test_normal_shapes_dtypes_and_default_streams():
    rng = MRG_RandomStreams(12345)
    z = rng.normal(size=(3, 5), dtype="float32")
    assert z.dtype == "float32" and z.ndim == 2
    state = rng.state_updates[0][0].get_value()
    assert state.shape == (60 * 256, 6)                 # Theano's default for a normal
    got = tjit.function([], z)()
    u = mrg.uniform01(state, 16, "float32")[0]
    np.testing.assert_allclose(got, _box_muller(u.astype(np.float64), 15).reshape(3, 5),
                               rtol=1e-6, atol=1e-6)
    std = T.dvector("std")
    w = MRG_RandomStreams(12345).normal(size=(7,), avg=1.0, std=std, nstreams=7,
                                        dtype="float64")
    u = np.concatenate([JAVA[0, :, 0], JAVA[0, :1, 1]])
    s = np.arange(1.0, 8.0)
    np.testing.assert_allclose(tjit.function([std], w)(s), _box_muller(u, 7) * s + 1.0,
                               rtol=1e-13)


def test_binomial_is_u_below_p():
    rng = MRG_RandomStreams(12345)
    f = tjit.function([], rng.binomial(size=(7,), p=0.5, nstreams=7))
    for call in range(3):
        got = f()
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, (JAVA[0, :, call] < 0.5).astype(np.int64))


def test_multinomial_is_theanos_running_sums():
    pvals = np.array([[0.2, 0.3, 0.5], [0.6, 0.2, 0.2], [0.1, 0.1, 0.8], [1 / 3] * 3,
                      [0.5, 0.25, 0.25], [0.05, 0.9, 0.05], [0.3, 0.3, 0.4]])
    rng = MRG_RandomStreams(12345)
    m = rng.multinomial(pvals=pvals, n=2, nstreams=7)
    got = tjit.function([], m)()
    assert got.shape == (7, 3) and got.dtype == np.int64
    want = np.zeros((7, 3), dtype=np.int64)
    for draw in range(2):              # draw c of row r: uniform c * 7 + r
        for r in range(7):
            want[r, np.argmax(np.cumsum(pvals[r]) > JAVA[0, r, draw])] += 1
    np.testing.assert_array_equal(got, want)


def test_choice_without_replacement_is_theanos():
    p = np.array([[0.1, 0.2, 0.3, 0.4]] * 3 + [[0.7, 0.1, 0.1, 0.1]] * 4)
    rng = MRG_RandomStreams(12345)
    c = rng.choice(size=2, p=p, replace=False, nstreams=7)
    got = tjit.function([], c)()
    assert got.shape == (7, 2)
    for r in range(7):
        left = p[r].copy()
        for draw in range(2):
            m = np.argmax(np.cumsum(left) > JAVA[0, r, draw])
            assert got[r, draw] == m
            left[m] = 0.0
            left /= left.sum()
    with pytest.warns(DeprecationWarning):
        w = MRG_RandomStreams(12345).multinomial_wo_replacement(pvals=p, n=2, nstreams=7)
    np.testing.assert_array_equal(tjit.function([], w)(), got)
    with pytest.raises(NotImplementedError):
        rng.choice(size=2, p=p)                 # Theano: replace=True not implemented
    with pytest.raises(ValueError, match="without replacement"):
        tjit.function([], rng.choice(size=5, p=p, replace=False))()


def test_theanos_rejections():
    rng = MRG_RandomStreams(234)
    for size in [(0, 100), (-1, 100), (1, 0)]:
        for method in (rng.uniform, rng.binomial, rng.normal):
            with pytest.raises(ValueError, match="<= 0"):
                method(size)
    with pytest.raises(ValueError, match="int32"):
        rng.uniform((10,), nstreams=2 ** 31)
    with pytest.raises(ValueError, match="nstreams"):
        rng.uniform((10,), nstreams=0)
    with pytest.raises(ValueError, match="ndim"):
        rng.multinomial(pvals=np.ones((2, 2)) / 2, ndim=1)
    # draws of 2^31 values or more (Theano's limit), found before any allocation
    n = T.lscalar("n")
    f = tjit.function([n], rng.uniform((n, 2 ** 16), nstreams=4))
    with pytest.raises(ValueError, match="2\\*\\*31 - 1"):
        f(2 ** 15)
    assert f(2).shape == (2, 2 ** 16)


def test_same_numbers_for_every_thread_count_and_seed_replays():
    results = []
    for threads in (1, 2, 3):
        with change_flags(threads=threads):
            rng = MRG_RandomStreams(77)
            f = tjit.function([], [rng.uniform((300_001,)), rng.normal((200_001,)),
                                   rng.uniform((50_000,), nstreams=1001, dtype="float32")])
            results.append([f(), f()])
    for other in results[1:]:
        for a, b in zip(results[0], other):
            for x, y in zip(a, b):
                np.testing.assert_array_equal(x, y)
    rng.seed(77)
    for x, y in zip(f(), results[0][0]):
        np.testing.assert_array_equal(x, y)


def test_large_state_setup_is_fast():
    # 2^18 substreams: jump-ahead by doubling, not one Python step per substream
    import time
    t0 = time.perf_counter()
    u = MRG_RandomStreams(5).uniform((2 ** 19,), nstreams=2 ** 18, dtype="float32")
    assert time.perf_counter() - t0 < 5.0
    state = u.rstate.get_value()
    np.testing.assert_array_equal(state[-1], rng_mrg.ff_2p72(state[-2]))
    got = tjit.function([], u)()
    np.testing.assert_array_equal(got, mrg.uniform01(state, 2 ** 19, "float32")[0])
