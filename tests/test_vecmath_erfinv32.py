"""Native float32 erfinv and erfcinv (vecmath/erfinv32.py): accuracy on every
target, special values, the code they compile to.

For cpu = host, x86-64-v3 (AVX2 + FMA) and x86-64 (SSE2: emulated fma), one
function computes erfinv(x) and erfcinv(x) in float32 over every 32771st float32
bit pattern (131,000 inputs: all exponents, both signs, NaN, inf), 40,001 points
of [-2.5, 2.5] and the floats 1 - 2**-k; against SciPy in float64, errors in
float32 ulps of that value as a real number. Bound 2 ulp; measured <= 1.13
(docs/accuracy.md). Zeros, infinities and NaN as SciPy, except the sign of two
zeros, which follows tjit's float64 erfinv / erfcinv (odd erfinv: erfinv(-0) =
-0 where SciPy gives +0; erfcinv(1) = +0 where SciPy gives -0). float64: see
test_vecmath_erfinv64.py (native too, vecmath/erfinv64.py).
The library code: float32 arithmetic only, no calls; ymm with FMA on x86-64-v3.
"""
from __future__ import annotations

import functools

import llvmlite.binding as llvm
import numpy as np
import pytest
import scipy.special as sp

import tjit as theano
import tjit.tensor as T
from helpers import check_float32_library_code
from test_vecmath_explog import ulp_error
from tjit.codegen import mathlib_scalar, target

CPUS = ["host", "x86-64-v3", "x86-64"]
NAMES = ["erfinv", "erfcinv"]


@functools.lru_cache(maxsize=None)
def inputs():
    bits = np.arange(0, 1 << 32, 32771, dtype=np.uint64).astype(np.uint32)
    k = np.arange(1, 25)
    with np.errstate(invalid="ignore"):     # the NaN bit patterns' cast
        return np.concatenate([
            bits.view(np.float32), np.linspace(-2.5, 2.5, 40001),
            1 - 2.0 ** -k, -(1 - 2.0 ** -k), 1 + 2.0 ** -k[:23], 2.0 ** -k, 2 - 2.0 ** -k[:23],
            [0.0, -0.0, 1.0, -1.0, 2.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 1e-40,
             1.1754944e-38, 0.625, 0.375, 0.5, 1.5, 2.0000002]]).astype(np.float32)


@functools.lru_cache(maxsize=None)
def results(cpu):
    x = T.vector(dtype="float32")
    with theano.config.change_flags(cpu=cpu, threads=1):
        f = theano.function([x], [T.erfinv(x), T.erfcinv(x)], mode="FAST_RUN")
    with np.errstate(all="ignore"):
        return dict(zip(NAMES, f(inputs())))


@functools.lru_cache(maxsize=None)
def reference(name):
    """SciPy's float64 value (slow: ~2 us a point, so computed once)."""
    with np.errstate(all="ignore"):
        return getattr(sp, name)(inputs().astype(np.float64))


@pytest.mark.parametrize("cpu", CPUS)
def test_max_ulp_error_and_special_values_on_every_target(cpu):
    x = inputs()
    for name in NAMES:
        got = results(cpu)[name]
        assert got.dtype == np.float32
        want = reference(name)
        with np.errstate(all="ignore"):
            want32 = want.astype(np.float32)
        # tjit's float64 sign conventions for the two zeros (see the docstring)
        want32 = np.where((x == 0) & (name == "erfinv"), x, want32)
        want32 = np.where((x == 1) & (name == "erfcinv"), np.float32(0.0), want32)
        err = ulp_error(got, want, np.zeros_like(want))
        k = int(np.argmax(err))
        assert err[k] <= 2.0, (cpu, name, x[k], got[k], want[k], err[k])
        assert (err > 0.5).sum() > 10, (cpu, name)          # not vacuous
        same = ((got == want32) & (np.signbit(got) == np.signbit(want32))) | (
            np.isnan(got) & np.isnan(want32))
        exact = np.isinf(want32) | (want32 == 0) | np.isnan(want32)
        bad = np.flatnonzero(exact & ~same)
        assert bad.size == 0, (cpu, name, x[bad[:5]], got[bad[:5]], want32[bad[:5]])


def test_limits_and_far_tail():
    got = results("host")
    x = inputs()
    at = {float(v): i for i, v in reversed(list(enumerate(x)))}
    assert got["erfinv"][at[1.0]] == np.inf and got["erfinv"][at[-1.0]] == -np.inf
    assert got["erfcinv"][at[0.0]] == np.inf and got["erfcinv"][at[2.0]] == -np.inf
    assert np.isnan(got["erfcinv"][at[float(np.float32(2.0000002))]])
    # erfcinv of the smallest subnormal (2**-149): 10.0198 (the far fit's end)
    assert abs(got["erfcinv"][at[float(np.float32(1e-45))]] - 10.019834) < 2e-6
    assert np.isnan(got["erfcinv"][at[float(np.float32(-1e-45))]])


@pytest.mark.parametrize("cpu", ["x86-64-v3", "x86-64"])
def test_float32_code_is_float32_vector_code_without_calls(cpu):
    check_float32_library_code(cpu, NAMES)


def test_builds_for_aarch64():
    arm = target.Target("aarch64", "aarch64-unknown-linux-gnu", "generic", "+neon")
    with target.LLVM_LOCK, target.pinned(arm):
        module = llvm.parse_assembly(mathlib_scalar.library_module_ir(
            [(name, "float32") for name in NAMES]))
        module.verify()
        obj = target.target_machine(0).emit_object(module)
    assert obj[:4] == b"\x7fELF" and int.from_bytes(obj[18:20], "little") == 183
