"""Native float32 erf, erfc and pow (vecmath/erf32.py, pow.build_pow32): accuracy
on every target and the code they compile to.

For cpu = host, x86-64-v3 (AVX2 + FMA) and x86-64 (SSE2: emulated fma, no
roundps), one function computes erf(x), erfc(x) and pow(u, v) in float32 on
dense sweeps, checked against SciPy / NumPy in float64 (rounded: the errors are
measured in ulps of the float64 value, as real numbers):
- erf, erfc: [-11, 11] (erfc's tail down to its underflow at 10.06),
  log-uniform magnitudes 1e-45 .. 3e38 of both signs; bound 2 ulp, measured
  <= 1.2 (docs/accuracy.md);
- pow: |y log x| up to 105 (results from overflow to underflow, subnormals
  included), x in [0, 4] with y in [-40, 40], x near 1 with huge y, negative x
  with integer y; bound 2 ulp, measured <= 1;
- special values exactly as SciPy / np.power (C99): signed zeros, +-inf, NaN,
  erfc's underflow, the pow grid of zeros, ones, infinities, NaN, subnormals.
The library code: float32 arithmetic only (no pd/sd: no float64 detour), no
calls, no gathers; on AVX2 full ymm registers with fused multiply-adds. Also for
arcsin and arctan2 (the two builders of the inverse trig family, native float32
too; their accuracy is test_vecmath_trig's and test_vecmath_targets').
"""
from __future__ import annotations

import functools
import re

import numpy as np
import pytest
import scipy.special as sp

import tjit as theano
import tjit.tensor as T
from helpers import host_vectors, library_variant
from test_vecmath_explog import ulp_error
from tjit.codegen import target

CPUS = ["host", "x86-64-v3", "x86-64"]
BOUND = {"erf": 2.0, "erfc": 2.0, "pow": 2.0}
F32 = np.finfo(np.float32)


@functools.lru_cache(maxsize=None)
def compiled(cpu):
    x, u, v = T.vector(dtype="float32"), T.vector(dtype="float32"), T.vector(dtype="float32")
    with theano.config.change_flags(cpu=cpu, threads=1):
        return theano.function([x, u, v], [T.erf(x), T.erfc(x), T.pow(u, v)], mode="FAST_RUN")


def erf_inputs():
    rng = np.random.default_rng(7)
    n = 60000
    with np.errstate(over="ignore"):
        return np.concatenate([
            np.linspace(-11, 11, 200001), rng.uniform(9, 10.1, n),
            np.exp(rng.uniform(-103, 88, n)) * rng.choice([-1, 1], n),
            [0.0, -0.0, np.inf, -np.inf, np.nan, F32.smallest_subnormal,
             -F32.smallest_subnormal, F32.tiny, F32.max, -F32.max, 1.0, -1.0,
             np.nextafter(1, 0), 3.92, 4.0, 10.05, 10.06, 10.5, 27.0, 0.25]]).astype(np.float32)


def pow_inputs():
    rng = np.random.default_rng(8)
    n = 60000
    x = np.exp(rng.uniform(-87, 88, n))
    y = rng.uniform(-105, 90, n) / np.log(x)
    x2, y2 = rng.uniform(0, 4, n), rng.uniform(-40, 40, n)
    x3, y3 = 1 + rng.uniform(-1e-3, 1e-3, n), rng.uniform(-8e4, 8e4, n)
    x4, y4 = -rng.uniform(0, 4, n), np.round(rng.uniform(-40, 40, n))
    special = np.array([0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 3.0, -3.0, 2.5, -2.5,
                        np.inf, -np.inf, np.nan, 1e30, -1e30, 1e-45, -1e-45, 1e-40,
                        2.0 ** 24, -(2.0 ** 24), 2.0 ** 24 + 2, 127.0, -150.0, 0.75])
    gx, gy = (a.ravel() for a in np.meshgrid(special, special))
    with np.errstate(over="ignore"):
        return (np.concatenate([x, x2, x3, x4, gx]).astype(np.float32),
                np.concatenate([y, y2, y3, y4, gy]).astype(np.float32))


@functools.lru_cache(maxsize=None)
def results(cpu):
    x = erf_inputs()
    u, v = pow_inputs()
    # the erf and pow inputs differ in length: pad the shorter with zeros
    size = max(x.size, u.size)
    pad = [np.zeros(size - a.size, np.float32) for a in (x, u)]
    erf, erfc, pw = compiled(cpu)(np.concatenate([x, pad[0]]), np.concatenate([u, pad[1]]),
                                  np.concatenate([v, pad[1]]))
    return {"erf": (erf[:x.size], (x,)), "erfc": (erfc[:x.size], (x,)),
            "pow": (pw[:u.size], (u, v))}


def reference(name, args):
    wide = [a.astype(np.float64) for a in args]
    with np.errstate(all="ignore"):
        return np.power(*wide) if name == "pow" else getattr(sp, name)(*wide)


@pytest.mark.parametrize("cpu", CPUS)
@pytest.mark.parametrize("name", ["erf", "erfc", "pow"])
def test_max_ulp_error_on_every_target(cpu, name):
    got, args = results(cpu)[name]
    assert got.dtype == np.float32
    want = reference(name, args)
    err = ulp_error(got, want, np.zeros_like(want))
    k = int(np.argmax(err))
    assert err[k] <= BOUND[name], (cpu, name, [a[k] for a in args], got[k], want[k], err[k])
    # the sweep is not vacuous: most results are not exactly the float64 ones
    assert (err > 0.25).mean() > 0.1, (cpu, name)
    # zeros (signed), infinities and NaNs exactly as SciPy / NumPy; a result
    # NumPy rounds to 0 may be the smallest subnormal (a tie in gradual underflow)
    with np.errstate(over="ignore"):
        want32 = want.astype(np.float32)
    same = (got == want32) & (np.signbit(got) == np.signbit(want32))
    same |= np.isnan(got) & np.isnan(want32)
    same |= (want32 == 0) & (want != 0) & (np.abs(got) <= F32.smallest_subnormal)
    exact = np.isinf(want32) | (want32 == 0) | np.isnan(want32)
    bad = np.flatnonzero(exact & ~same)
    assert bad.size == 0, (cpu, name, [a[bad[0]] for a in args], got[bad[0]], want32[bad[0]])


def test_erf_erfc_and_pow_limits():
    erf, erfc, pw = compiled("host")(
        np.array([-0.0, 0.0, -np.inf, np.inf, np.nan, 10.06, 1e-45], np.float32),
        np.array([-0.0, 0.0, -1.0, -8.0, 1.0, np.nan, 2.0], np.float32),
        np.array([-1.0, -3.0, np.inf, 1 / 3, np.nan, 0.0, -150.0], np.float32))
    assert list(np.signbit(erf[:2])) == [True, False] and list(erf[2:4]) == [-1.0, 1.0]
    assert erf[6] == np.float32(1e-45)       # 1.13 * 2**-149 rounds to 2**-149
    assert list(erfc[:4]) == [1.0, 1.0, 2.0, 0.0] and np.isnan(erf[4]) and np.isnan(erfc[4])
    assert erfc[5] == 0.0                    # erfc(10.06) = 1.3e-45 rounds to 0
    # 0 ** -1 = -inf (odd: keeps -0's sign), 0 ** -3 = inf, (-1) ** inf = 1,
    # (-8) ** (1/3) = NaN, 1 ** NaN = 1, NaN ** 0 = 1, 2 ** -150 = 0 (a tie: to even)
    assert pw[0] == -np.inf and pw[1] == np.inf and pw[2] == 1.0
    assert np.isnan(pw[3]) and pw[4] == 1.0 and pw[5] == 1.0 and pw[6] == 0.0


# (register, float32 lanes, float32 arithmetic) of the full-width variant
CODE = {"x86-64-v3": ("ymm", 8, r"vfn?m(add|sub)\d*ps"), "x86-64": ("xmm", 4, r"mulps")}


@pytest.mark.parametrize("cpu", CPUS)
def test_float32_code_is_float32_on_full_registers(cpu):
    if cpu == "host":
        register, lanes, fma, _ = host_vectors()
        arithmetic = r"vfn?m(add|sub)\d*ps" if fma else r"v?mulps"
    else:
        register, lanes, arithmetic = CODE[cpu]
    with target.LLVM_LOCK, target.pinned(target.resolve(cpu)):
        for name in ("erf", "erfc", "pow", "arcsin", "arctan2"):
            body, ops = library_variant(name, "float32", lanes)
            assert re.search(r"\b%s\s+[^\n]*%%%s" % (arithmetic, register), body), (cpu, name)
            double = [op for op in ops if not op.startswith(("p", "vp")) and op.endswith(("pd", "sd"))]
            assert not double, (cpu, name, double)
            assert not [op for op in ops if op.startswith("call") or "gather" in op], (cpu, name)
