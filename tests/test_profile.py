"""Profiles: function(profile=True), config.profile, ProfileStats.summary()."""
import time

import numpy as np
import pytest

import tjit as theano
import tjit.tensor as T
from tjit.config import change_flags, config
from tjit.profiling import ProfileStats, machine_bandwidth, measure_bandwidth
from tjit.runtime.native_thunk import NativeThunk
from tjit.runtime.program import CompiledFunction
from tjit import profiling

CALLS = 7


@pytest.fixture(scope="module")
def elementwise():
    """exp(x) * y + 1 (one fused elementwise kernel), profiled over CALLS calls."""
    x, y = T.dvectors("x", "y")
    f = theano.function([x, y], T.exp(x) * y + 1.0, profile=True, name="elem")
    a, b = np.linspace(-1, 1, 1000), np.linspace(0, 2, 1000)
    t0 = time.perf_counter()
    outs = [f(a, b) for _ in range(CALLS)]
    wall = time.perf_counter() - t0
    return f, a, b, outs, wall


def test_results_are_the_unprofiled_results(elementwise):
    f, a, b, outs, _ = elementwise
    for o in outs:
        np.testing.assert_allclose(o, np.exp(a) * b + 1.0, rtol=1e-14)


def test_calls_and_bytes_are_exact(elementwise):
    f, a, b, outs, _ = elementwise
    p = f.profile
    assert isinstance(p, ProfileStats) and p.name == "elem"
    assert p.calls == CALLS
    (k,) = p.kernels
    assert k.kind == "elementwise" and k.native
    assert k.calls == CALLS
    assert k.bytes_read == CALLS * (a.nbytes + b.nbytes)
    assert k.bytes_written == CALLS * outs[0].nbytes
    # exp, mul, add per element
    assert k.flops == CALLS * 3 * a.size


def test_times_positive_and_within_the_wall_time(elementwise):
    f, _, _, _, wall = elementwise
    p = f.profile
    k = p.kernels[0]
    assert 0 < k.prepare_time < k.time <= p.run_time
    assert p.bind_time > 0 and p.commit_time > 0
    assert p.kernel_time <= p.run_time < p.call_time <= wall
    assert k.mean_time == pytest.approx(k.time / CALLS)
    assert k.gbs == pytest.approx((k.bytes_read + k.bytes_written) / k.time / 1e9)


def test_compile_stages_and_cache_counts(elementwise):
    p = elementwise[0].profile
    assert {"rewrites", "lowering", "LLVM"} <= set(p.compile_time)
    assert all(v > 0 for v in p.compile_time.values())
    assert sum(p.cache.values()) == 1     # one native kernel: from a cache or compiled


def test_blas_flops_and_update_commits():
    x = T.dmatrix("x")
    w = theano.shared(np.ones((30, 20)), name="w")
    out = T.dot(x, w)
    f = theano.function([x], out.sum(), updates=[(w, w * 0.5)], profile=True)
    a = np.random.RandomState(0).rand(40, 30)
    for _ in range(3):
        f(a)
    np.testing.assert_allclose(w.get_value(), np.full((30, 20), 0.125))
    dots = [k for k in f.profile.kernels if k.kind == "BLAS"]
    assert len(dots) == 1 and dots[0].calls == 3
    assert dots[0].flops == 3 * 2 * 40 * 30 * 20
    assert f.profile.calls == 3 and all(k.calls == 3 for k in f.profile.kernels)


def test_off_means_the_plain_classes():
    x = T.dvector("x")
    f = theano.function([x], T.exp(x))
    assert f.profile is None and type(f) is CompiledFunction
    assert all(type(t) is NativeThunk for t in f.thunks)


def test_config_profile_flag_profiles_and_prints_at_exit(capsys):
    x = T.dvector("x")
    with change_flags(profile=True):
        f = theano.function([x], T.tanh(x) * 2, name="flagged")
    assert f.profile is not None and f.profile in profiling._AT_EXIT
    f(np.ones(5))
    saved = profiling._AT_EXIT[:]
    profiling._AT_EXIT[:] = [f.profile]
    try:
        profiling._print_at_exit()
    finally:
        profiling._AT_EXIT[:] = [p for p in saved if p is not f.profile]
    err = capsys.readouterr().err
    assert "Function profile: flagged" in err and "calls: 1" in err


def test_flag_values():
    with change_flags(profile="True"):
        assert config.profile is True
    with change_flags(profile="0"):
        assert config.profile is False
    with pytest.raises(ValueError, match="profile"):
        config.profile = "maybe"


def test_summary_sorted_by_time_with_bandwidth_share():
    x, y = T.dmatrices("x", "y")
    f = theano.function([x, y], [T.exp(x) + y, T.dot(x, y).sum()], profile=True, name="two")
    a = np.random.RandomState(1).rand(200, 200)
    for _ in range(4):
        f(a, a)
    with change_flags(profile_bandwidth=10.0):
        assert machine_bandwidth() == 10.0
        text = f.profile.summary(file="str")
    assert text.startswith("Function profile: two\n  calls: 4 ")
    rows = [ln for ln in text.splitlines() if ln.strip().endswith(("}", "Dot")) and "%" in ln]
    shares = [float(r.split()[0].rstrip("%")) for r in rows]
    assert len(rows) == len(f.profile.kernels) and shares == sorted(shares, reverse=True)
    elem = next(k for k in f.profile.kernels if k.kind == "elementwise")
    row = next(r for r in rows if "FusedElemwise" in r)
    assert f"{100 * elem.gbs / 10.0:5.0f}%" in row
    assert "against the machine's copy bandwidth, 10.0 GB/s" in text


def test_measured_bandwidth_is_plausible():
    gbs = measure_bandwidth(megabytes=8, repeats=2)
    assert 0.1 < gbs < 10000


def test_a_range_draw_is_profiled_and_drawn_as_a_random_kernel():
    from tjit.printing_dot import _KIND
    from tjit.profiling import kernel_kind
    from tjit.random.ops import RandomDrawRange
    s = T.vector("s", dtype="uint32")
    node = RandomDrawRange("philox", "normal", "float64")(s, 10, 5, 0.0, 1.0).owner
    assert kernel_kind(node) == "random"
    assert _KIND[type(node.op).__name__] == "random draws"
