"""Native float32 exp/log family (tjit/codegen/vecmath/explog32.py): accuracy and code.

These functions compute in float32 (as many lanes as the host's vectors hold), not in float64 and
rounded once, so their errors are larger than the float64-evaluated ones; the
bound is 3 ulp. Checked here:
- a strided sweep over all 2**32 float32 bit patterns (every 4099th, so every
  exponent and both signs, ~1e6 points), against NumPy float64 rounded to float32;
  the one-off exhaustive sweep (all 2**32 inputs) is in docs/accuracy.md;
- special values exactly as NumPy/C99 (NaN, +-inf, signed zeros, subnormal
  results, overflow/underflow thresholds);
- the library object: the full-width variant is straight `ps` code, no calls,
  no gathers, no stack spills.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

from test_vecmath_explog import run, ulp_error
from helpers import host_vectors, library_variant
from tjit.codegen import target

NAMES = ["exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "tanh", "sinh", "cosh",
         "sigmoid", "softplus"]
REFERENCE = {"exp": np.exp, "exp2": np.exp2, "expm1": np.expm1, "log": np.log,
             "log2": np.log2, "log10": np.log10, "log1p": np.log1p, "tanh": np.tanh,
             "sinh": np.sinh, "cosh": np.cosh,
             "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
             "softplus": lambda x: np.logaddexp(0.0, x)}
BOUND = 3.0
STRIDE = 4099


def strided_inputs():
    bits = np.arange(0, 1 << 32, STRIDE, dtype=np.uint64).astype(np.uint32)
    return bits.view(np.float32)


def reference(name, x):
    with np.errstate(all="ignore"):
        return np.asarray(REFERENCE[name](x.astype(np.float64)), np.float64)


@pytest.mark.parametrize("name", NAMES)
def test_strided_sweep_over_all_float32(name):
    x = strided_inputs()
    got = run(name, x)
    want = reference(name, x)
    err = ulp_error(got, want, np.zeros_like(want))
    k = int(np.argmax(err))
    assert err[k] <= BOUND, "%s(%r) = %r, want %r (%.2f ulp)" % (name, x[k], got[k], want[k], err[k])
    # inf, zero (with its sign) and NaN results exactly; a result that NumPy
    # rounds to 0 may be the smallest subnormal (gradual underflow near a tie).
    with np.errstate(over="ignore"):
        want32 = want.astype(np.float32)
    exact = np.isinf(want32) | (want32 == 0)
    same = (got == want32) & (np.signbit(got) == np.signbit(want32))
    same |= (want32 == 0) & (want != 0) & (np.abs(got) <= np.finfo(np.float32).smallest_subnormal)
    bad = np.flatnonzero(exact & ~same)
    assert bad.size == 0, "%s(%r) = %r, want %r" % (name, x[bad[0]], got[bad[0]], want32[bad[0]])


def special_values():
    info = np.finfo(np.float32)
    values = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0,
              info.max, -info.max, info.tiny, -info.tiny, info.smallest_subnormal,
              -info.smallest_subnormal, 3e-39, -3e-39, 88.72, 88.73, 89.0, -87.3, -103.9,
              -104.0, -150.0, 128.0, 127.99, -149.0, 9.0, 9.1, -9.1, 0.5625, 0.5624,
              -0.5625, 1e-7, -1e-7, 2.0 ** -24, -(2.0 ** -24), 0.34657, -0.34657,
              -0.99999994, 16777216.0, 3.4e38]
    with np.errstate(over="ignore"):
        return np.array(values, np.float64).astype(np.float32)


@pytest.mark.parametrize("name", NAMES)
def test_special_values(name):
    x = special_values()
    got = run(name, x)
    want = reference(name, x)
    with np.errstate(over="ignore"):
        want32 = want.astype(np.float32)
    assert np.array_equal(np.isnan(got), np.isnan(want32)), (name, x[np.isnan(got) != np.isnan(want32)])
    exact = np.isinf(want32) | (want32 == 0)
    for k in np.flatnonzero(exact):
        assert got[k] == want32[k] and np.signbit(got[k]) == np.signbit(want32[k]), (
            "%s(%r) = %r, want %r" % (name, x[k], got[k], want32[k]))
    err = ulp_error(got, want, np.zeros_like(want))
    assert err.max() <= BOUND, (name, x[int(np.argmax(err))], err.max())


def test_signed_zeros_and_limits():
    z = np.array([-0.0, 0.0], np.float32)
    for name in ("expm1", "log1p", "tanh", "sinh"):
        assert np.array_equal(np.signbit(run(name, z)), [True, False]), name
    inf = np.array([-np.inf, np.inf], np.float32)
    assert list(run("sigmoid", inf)) == [0.0, 1.0]
    assert list(run("tanh", inf)) == [-1.0, 1.0]
    assert list(run("softplus", inf)) == [0.0, np.inf]
    assert list(run("exp", inf)) == [0.0, np.inf]
    # gradual underflow: exp(-103.2) is a subnormal, not 0
    assert 0 < run("exp", np.array([-103.2], np.float32))[0] < np.finfo(np.float32).tiny
    assert run("log", np.array([np.finfo(np.float32).smallest_subnormal], np.float32))[0] == \
        np.float32(np.log(np.float64(np.finfo(np.float32).smallest_subnormal)))


# What the widest variant looks like per target: (register, float32 lanes, the
# float32 arithmetic that must appear). SSE2 and SSE4.2 have no FMA (a multiply and
# an add, or the exact steps emulated: never a libm fma call), AVX2 has it.
EXPECTED = {"x86-64": ("xmm", 4, r"mulps"), "x86-64-v2": ("xmm", 4, r"mulps"),
            "x86-64-v3": ("ymm", 8, r"vfn?m(add|sub)\d*ps"),
            "x86-64-v4": ("zmm", 16, r"vfn?m(add|sub)\d*ps")}


def expected_code():
    """EXPECTED for the target of tjit.config.cpu, or for the host: what its
    features say (zmm/16 with AVX-512, ymm/8 with AVX2, else xmm/4)."""
    level = target.current().name
    if level in EXPECTED:
        return EXPECTED[level]
    register, lanes, fma, avx = host_vectors()
    return register, lanes, r"vfn?m(add|sub)\d*ps" if fma else r"v?mulps"


@pytest.mark.parametrize("name", ["exp", "log1p", "tanh", "log", "expm1", "sigmoid",
                                  "softplus"])
def test_float32_library_is_full_width_float32_code(name):
    """The variant as wide as the target's vectors computes in float32 on full
    registers (zmm on AVX-512, ymm on AVX2, xmm on SSE2): `ps` arithmetic (fused
    multiply-adds where the target has FMA), no pd (no float64 detour), no calls
    (no libm fma or rint per lane), no gathers, no stack traffic."""
    register, lanes, arithmetic = expected_code()
    body, ops = library_variant(name, "float32", lanes)
    assert re.search(r"\b%s\s+[^\n]*%%%s" % (arithmetic, register), body), (name, register)
    # integer ops (p..., vp...: pminsd is a packed int32 min) may end in "sd"
    double = [op for op in ops if not op.startswith(("p", "vp")) and op.endswith(("pd", "sd"))]
    assert not double, (name, double)
    assert not [op for op in ops if op.startswith("call") or "gather" in op], name
    assert "rsp" not in body, name
