"""Random streams: generators against published known answers, native draws against
the NumPy reference, reproducibility across threads and modes, state semantics."""
import re

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tjit
import tjit.tensor as T
from tjit.config import change_flags
from tjit.random import mrg, philox
from tjit.sandbox import rng_mrg
from tjit.sandbox.rng_mrg import MRG_RandomStreams
from tjit.tensor.shared_randomstreams import RandomStreams

STREAMS = [RandomStreams, MRG_RandomStreams]
MODES = ["FAST_RUN", "FAST_COMPILE", "DebugMode"]


def _hex(words):
    return " ".join("%08x" % int(w) for w in words)


# ---- Philox4x32-10: Random123's kat_vectors ---------------------------------------
@pytest.mark.parametrize("counter,key,expected", [
    ((0, 0, 0, 0), (0, 0), "6627e8d5 e169c58d bc57ac4c 9b00dbd8"),
    ((0xffffffff,) * 4, (0xffffffff, 0xffffffff), "408f276d 41c83b0e a20bc7c6 6d5451fd"),
    ((0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344), (0xa4093822, 0x299f31d0),
     "d16cfe09 94fdcceb 5001e420 24126ea1"),
])
def test_philox_known_answers(counter, key, expected):
    assert _hex(philox.philox4x32(counter, key)) == expected


def test_native_philox_block_is_the_known_answer():
    # Draw 0 of stream 0 under key 0: block 0 is counter (0, 0, 0, 0), KAT 1. Its
    # two float64 uniforms are elements 0 and K of the draw (tjit.random.philox).
    rs = RandomStreams(0)
    k = philox.BLOCKS_PER_CHUNK
    u = tjit.function([], rs.uniform((2 * k,), dtype="float64"))()
    w = [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
    expect = [((w[0] >> 5) * 2.0 ** 26 + (w[1] >> 6)) * 2.0 ** -53,
              ((w[2] >> 5) * 2.0 ** 26 + (w[3] >> 6)) * 2.0 ** -53]
    assert [u[0], u[k]] == expect


# ---- MRG31k3p: jump matrices and L'Ecuyer's published samples ---------------------
def test_mrg_jump_matrices_are_powers_of_the_step():
    assert mrg.mat_pow(mrg.A1P0, 2 ** 72, mrg.M1) == mrg.A1P72
    assert mrg.mat_pow(mrg.A2P0, 2 ** 72, mrg.M2) == mrg.A2P72
    assert mrg.mat_pow(mrg.A1P0, 2 ** 134, mrg.M1) == mrg.A1P134
    assert mrg.mat_pow(mrg.A2P0, 2 ** 134, mrg.M2) == mrg.A2P134


# Samples of L'Ecuyer's Java implementation, seed [12345] * 6 (Theano's
# samples_MRG31k3p_12_7_5.txt): stream 0 substream 0, substream 1; stream 1.
JAVA_S0_SUB0 = [0.7353244530968368, 0.6142074400559068, 0.11007806099951267,
                0.6487741703167558, 0.36619443260133266]
JAVA_S0_SUB1 = [0.2585685825906694, 0.9489980279468, 0.4309556516818702,
                0.12257590936496854, 0.9760319022461772]
JAVA_S1_SUB0 = [0.5180770065635443, 0.2319392478093505, 0.36197659047320485,
                0.11120751267299056, 0.5018561617471278]


def _mrg_outputs(state, count):
    x = [np.array([v]) for v in state]
    out = []
    for _ in range(count):
        x, z = mrg.step(x)
        out.append(mrg.to_unit(z, "float64")[0])
    return out


def test_mrg_reference_matches_published_samples():
    seed = mrg.seed_state(12345)
    np.testing.assert_allclose(_mrg_outputs(seed, 5), JAVA_S0_SUB0, rtol=1e-15)
    second = mrg.substream_starts(seed, 2)[1]
    np.testing.assert_array_equal(second, rng_mrg.ff_2p72(seed))
    np.testing.assert_allclose(_mrg_outputs(second, 5), JAVA_S0_SUB1, rtol=1e-15)
    np.testing.assert_allclose(_mrg_outputs(rng_mrg.ff_2p134(seed), 5), JAVA_S1_SUB0,
                               rtol=1e-15)
    # Theano's layout: value i is the next output of substream i % nstreams
    draw, after = mrg.uniform01(mrg.substream_starts(seed, 2), 10, "float64")
    np.testing.assert_array_equal(draw[0::2], _mrg_outputs(seed, 5))
    np.testing.assert_array_equal(draw[1::2], _mrg_outputs(second, 5))
    assert after.dtype == np.int32 and after.shape == (2, 6)


@pytest.mark.parametrize("mode", MODES)
def test_mrg_native_matches_published_samples(mode):
    # Value i of a draw is the next output of substream i % nstreams (Theano's).
    rs = MRG_RandomStreams(12345)
    g = 2
    u = rs.uniform((5 * g,), dtype="float64", nstreams=g)
    v = rs.uniform((5 * g,), dtype="float64", nstreams=g)   # the next variable: stream 1
    a, b = tjit.function([], [u, v], mode=mode)()
    np.testing.assert_allclose(a[0::g], JAVA_S0_SUB0, rtol=1e-15)
    np.testing.assert_allclose(a[1::g], JAVA_S0_SUB1, rtol=1e-15)
    np.testing.assert_allclose(b[0::g], JAVA_S1_SUB0, rtol=1e-15)


# ---- native draws == NumPy reference ----------------------------------------------
def _reference(op_out, state, n, dist, dtype, generator):
    if generator == "mrg":
        return mrg.uniform01(state, n, dtype)[0]
    if dist == "uniform":
        return philox.uniform01(state, n, dtype)
    return philox.standard_normal(state, n).astype(dtype)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2 ** 64 - 1), n=st.integers(0, 3000),
       dtype=st.sampled_from(["float32", "float64"]), dist=st.sampled_from(["uniform", "normal"]))
def test_philox_native_matches_reference(seed, n, dtype, dist):
    rs = RandomStreams(seed)
    x = getattr(rs, dist)((n,), dtype=dtype)
    state = rs.state_updates[0][0].get_value()
    got = tjit.function([], x)()
    want = _reference(x, state, n, dist, dtype, "philox")
    assert got.dtype == dtype and got.shape == (n,)
    if dist == "uniform":
        np.testing.assert_array_equal(got, want)
    else:   # vector log/cos are within a few ulp of NumPy's
        np.testing.assert_allclose(got, want, rtol=1e-12 if dtype == "float64" else 1e-6,
                                   atol=1e-12)


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(1, mrg.M2 - 1), n=st.integers(1, 40000),
       dtype=st.sampled_from(["float32", "float64"]), nstreams=st.integers(1, 1500))
def test_mrg_native_matches_reference(seed, n, dtype, nstreams):
    rs = MRG_RandomStreams(seed)
    x = rs.uniform((n,), dtype=dtype, nstreams=nstreams)
    state = rs.state_updates[0][0].get_value()
    want, after = mrg.uniform01(state, n, dtype)
    np.testing.assert_array_equal(tjit.function([], x)(), want)
    np.testing.assert_array_equal(rs.state_updates[0][0].get_value(), after)


@settings(max_examples=10, deadline=None)
@given(shape=st.lists(st.integers(0, 40), min_size=0, max_size=3),
       make=st.sampled_from(STREAMS), mode=st.sampled_from(MODES))
def test_any_shape_is_the_flat_draw_reshaped(shape, make, mode):
    rs = make(77)
    sizes = [T.lscalar() for _ in shape]
    x = rs.uniform(tuple(sizes), dtype="float64")
    state = x.rng.get_value()
    got = tjit.function(sizes, x, mode=mode)(*shape)
    n = int(np.prod(shape))
    want = (mrg.uniform01(state, n, "float64")[0] if make is MRG_RandomStreams
            else philox.uniform01(state, n, "float64"))
    np.testing.assert_array_equal(got, want.reshape(shape))


def test_uniform_bounds_and_params_fold_into_the_draw():
    rs = RandomStreams(3)
    lo, hi = T.dscalar("lo"), T.dscalar("hi")
    x = rs.uniform((1000,), low=lo, high=hi, dtype="float64")
    state = rs.state_updates[0][0].get_value()
    got = tjit.function([lo, hi], x)(-2.0, 5.0)
    np.testing.assert_array_equal(got, -2.0 + 7.0 * philox.uniform01(state, 1000, "float64"))


# ---- reproducibility: threads, modes ----------------------------------------------
@pytest.mark.parametrize("make", STREAMS)
def test_same_numbers_for_every_thread_count(make):
    results = []
    for threads in (1, 2, 3, 4):
        with change_flags(threads=threads):
            rs = make(7)
            f = tjit.function([], [rs.uniform((150_001,)), rs.normal((70_003,))])
            results.append(f())
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("make", STREAMS)
def test_same_numbers_in_every_mode(make):
    results = []
    for mode in MODES:
        rs = make(11)
        outs = [rs.uniform((2, 300)), rs.normal((301,)), rs.binomial((50,), p=0.3),
                rs.random_integers((40,), 3, 9), rs.permutation((2,), n=6)]
        results.append(tjit.function([], outs, mode=mode)())
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("make", STREAMS)
def test_fast_compile_builds_random_kernels_at_level_0(make):
    """The native fast_compile mode compiles the draws unvectorized with the scalar math library
    (FAST_RUN vectorizes them: Philox's loop, MRG's lanes of substreams), and
    they give FAST_RUN's numbers, split or not."""
    def vector_code(native):
        return re.search(r"<\d+ x ", native.llvm_ir) is not None

    def draws(mode):
        rs = make(13)
        outs = [rs.uniform((3, 70_001)), rs.uniform((1001,), dtype="float32")]
        if make is RandomStreams:
            outs += [rs.normal((70_003,)), rs.normal((999,), dtype="float32")]
        f = tjit.function([], outs, mode=mode)
        natives = [t.native for n, t in zip(f.nodes, f.thunks)
                   if type(n.op).__name__ in ("RandomDraw", "MRGUniform")]
        assert len(natives) == len(outs)
        return f, natives

    fast, fast_natives = draws("FAST_RUN")
    cheap, cheap_natives = draws(tjit.Mode(linker="native", optimizer="fast_compile"))
    assert all(vector_code(k) for k in fast_natives)
    assert not any(vector_code(k) for k in cheap_natives)
    if make is RandomStreams:       # normals call log: the scalar library at level 0
        assert all("tjit_s_log_float64" in k.llvm_ir and "tjit_m_log" not in k.llvm_ir
                   for k in cheap_natives if k.kernel.name.startswith("tjit_philox_normal"))
    for threads in (1, 2):
        with change_flags(threads=threads):
            for a, b in zip(fast(), cheap()):
                np.testing.assert_array_equal(a, b)


# ---- state semantics ---------------------------------------------------------------
@pytest.mark.parametrize("make", STREAMS)
def test_every_call_draws_new_numbers_reproducibly(make):
    f = tjit.function([], make(5).uniform((20,)))
    g = tjit.function([], make(5).uniform((20,)))
    a1, a2 = f(), f()
    assert not np.array_equal(a1, a2)
    np.testing.assert_array_equal(g(), a1)
    np.testing.assert_array_equal(g(), a2)


@pytest.mark.parametrize("make", STREAMS)
def test_no_default_updates(make):
    rs = make(5)
    u, v = rs.uniform((10,)), rs.normal((10,))
    fixed = tjit.function([], u, no_default_updates=True)
    np.testing.assert_array_equal(fixed(), fixed())
    some = tjit.function([], [u, v], no_default_updates=[u.rng])
    (u1, v1), (u2, v2) = some(), some()
    np.testing.assert_array_equal(u1, u2)
    assert not np.array_equal(v1, v2)


@pytest.mark.parametrize("make", STREAMS)
def test_two_draws_in_one_function_differ(make):
    rs = make(9)
    f = tjit.function([], [rs.uniform((50,)), rs.uniform((50,))])
    a, b = f()
    assert not np.array_equal(a, b)
    assert np.abs(np.corrcoef(a, b)[0, 1]) < 0.5


@pytest.mark.parametrize("make", STREAMS)
def test_seed_reseeds_every_stream(make):
    rs = make(21)
    f = tjit.function([], [rs.uniform((8,)), rs.normal((8,))])
    first = f()
    f()
    rs.seed(21)
    for a, b in zip(f(), first):
        np.testing.assert_array_equal(a, b)
    rs.seed(22)
    assert not np.array_equal(f()[0], first[0])
    rs.seed()                       # the seed the streams were made with
    np.testing.assert_array_equal(f()[0], first[0])


@pytest.mark.parametrize("make", STREAMS)
def test_get_and_set_value_of_the_state(make):
    rs = make(4)
    u = rs.uniform((6,))
    f = tjit.function([], u)
    saved = u.rng.get_value()
    a = f()
    assert not np.array_equal(u.rng.get_value(), saved)
    u.rng.set_value(saved)
    np.testing.assert_array_equal(f(), a)


@pytest.mark.parametrize("make", STREAMS)
def test_failed_call_keeps_the_state(make):
    rs = make(4)
    x = T.dvector("x")
    u = rs.uniform((3,))
    f = tjit.function([x], u + x)
    before = u.rng.get_value()
    with pytest.raises(ValueError):
        f(np.zeros(4))
    np.testing.assert_array_equal(u.rng.get_value(), before)


@pytest.mark.parametrize("make,bad", [(RandomStreams, np.zeros(3, np.uint32)),
                                      (MRG_RandomStreams, np.zeros((0, 6), np.int32))])
def test_bad_state_is_a_clear_error(make, bad):
    u = make(4).uniform((3,))
    f = tjit.function([], u)
    u.rng.set_value(bad)
    with pytest.raises(ValueError, match="state"):
        f()


# ---- sizes and dtypes ---------------------------------------------------------------
@pytest.mark.parametrize("make", STREAMS)
def test_symbolic_sizes(make):
    rs = make(1)
    n, m = T.lscalar("n"), T.lscalar("m")
    shape = T.lvector("shape")
    f = tjit.function([n, m, shape], [rs.uniform((n, 3, m)), rs.normal(shape, ndim=2),
                                      rs.binomial((n,), p=0.5)])
    a, b, c = f(4, 2, [5, 7])
    assert a.shape == (4, 3, 2) and b.shape == (5, 7) and c.shape == (4,)
    a, b, c = f(0, 1, [1, 3])
    assert a.shape == (0, 3, 1) and b.shape == (1, 3)
    with pytest.raises(ValueError, match="negative"):
        f(-1, 1, [1, 1])


def test_size_errors():
    rs = RandomStreams(1)
    with pytest.raises(ValueError, match="ndim"):
        rs.uniform(T.lvector())
    with pytest.raises(ValueError, match="ndim"):
        rs.uniform((2, 3), ndim=3)
    with pytest.raises(ValueError, match="non-negative"):
        rs.uniform((2, -3))
    with pytest.raises(TypeError):
        rs.uniform((2.5j,))
    with pytest.raises(TypeError, match="dtype"):
        rs.normal((2,), dtype="int32")
    with pytest.raises(ValueError, match="seed"):
        MRG_RandomStreams(0)
    with pytest.raises(ValueError, match="without replacement"):
        rs.choice((5,), a=3, replace=False)
    with pytest.raises(ValueError, match="greater than"):
        rs.random_integers((2,), low=5, high=1)
    with pytest.raises(ValueError, match="constant"):
        rs.multinomial((2,), n=T.lscalar(), pvals=[0.5, 0.5])


def test_mrg_accepts_theano_nstreams():
    rs = MRG_RandomStreams(12345)
    u = rs.uniform((15,), nstreams=3, dtype="float64")
    a = tjit.function([], u)()
    np.testing.assert_allclose(a[0::3], JAVA_S0_SUB0, rtol=1e-15)
    np.testing.assert_allclose(a[1::3], JAVA_S0_SUB1, rtol=1e-15)


@pytest.mark.parametrize("make", STREAMS)
def test_default_dtypes_follow_floatx(make):
    with change_flags(floatX="float32"):
        rs = make(1)
        assert rs.uniform((2,)).dtype == "float32" and rs.normal((2,)).dtype == "float32"
        assert rs.uniform((2,), low=T.dscalar()).dtype == "float64"
    rs = make(1)
    assert rs.uniform((2,)).dtype == "float64"
    assert rs.binomial((2,)).dtype == "int64" and rs.random_integers((2,)).dtype == "int64"


@pytest.mark.parametrize("make", STREAMS)
def test_size_none_broadcasts_the_params(make):
    rs = make(2)
    low = T.dvector("low")
    f = tjit.function([low], rs.uniform(low=low, high=low + 1.0))
    lows = np.array([0.0, 10.0, -5.0])
    got = f(lows)
    assert got.shape == (3,) and ((got >= lows) & (got < lows + 1)).all()
    assert tjit.function([], rs.normal())().shape == ()


@pytest.mark.parametrize("make", STREAMS)
def test_draws_inside_scan_with_the_state_update(make):
    from tjit.scan_module.scan import scan
    rs = make(5)
    u = rs.uniform((3,), dtype="float64")
    out, updates = scan(lambda: (u, {u.rng: u.update[1]}), n_steps=4)
    f = tjit.function([], out, updates=updates)
    got = f()
    # step k draws what the k-th call of a plain function of u would
    rs.seed(5)
    plain = tjit.function([], u)
    np.testing.assert_array_equal(got, [plain() for _ in range(4)])


@pytest.mark.parametrize("make", STREAMS)
def test_array_params_broadcast_against_size(make):
    rs = make(6)
    u = rs.uniform((400, 2), low=np.array([0.0, 10.0]), high=np.array([1.0, 12.0]))
    z = rs.normal((400, 2), avg=np.array([0.0, 100.0]), std=np.array([1.0, 0.0]))
    a, b = tjit.function([], [u, z])()
    assert ((a[:, 0] >= 0) & (a[:, 0] < 1)).all() and ((a[:, 1] >= 10) & (a[:, 1] < 12)).all()
    assert a[:, 1].max() > 11.5
    np.testing.assert_array_equal(b[:, 1], 100.0)
    assert 0.5 < b[:, 0].std() < 1.5
