"""arcsinh, arccosh, arctanh in the vector math library (vecmath/hyperbolic_inverse.py):
accuracy on every target, special values, and the code they compile to.

For cpu = host, x86-64-v3 (AVX2 + FMA) and x86-64 (SSE2: emulated fma, no
roundps), one function per dtype computes the three over one input vector:
- float64: log-spaced magnitudes over the whole range (both signs), uniform
  [-3, 3], 1 + 10**[-16, 1], 1 - 10**[-16, 0], 2**[20, 32] (around the switch to
  log(2x)); against NumPy's long double functions (x86 80-bit: ~0.001 float64
  ulp), a pair (hi, lo). Bound 2 ulp; measured < 0.9 (docs/accuracy.md).
- float32: every 4099th float32 bit pattern (1M inputs: all exponents, both
  signs, NaNs, infinities; 4099 is odd, so the low mantissa bits all occur) and
  the float32 versions of the float64 points; against NumPy float64, errors in
  float32 ulps of that value as a real number. Bound 2 ulp; measured <= 1.02.
Zeros (with their sign), infinities and NaNs must match NumPy exactly on every
input, and so must the values at the domain edges (+-1, subnormals, the largest
finite). The library code is checked for what each target allows: on
x86-64-v3 full ymm registers with fused multiply-adds (float32 code holds no
float64 instruction), on x86-64 xmm; no calls (no libm) anywhere.
"""
from __future__ import annotations

import functools
import re

import numpy as np
import pytest

import tjit as theano
import tjit.tensor as T
from helpers import host_vectors
from test_vecmath_explog import ulp_error
from tjit.codegen import mathlib, target

CPUS = ["host", "x86-64-v3", "x86-64"]
NAMES = ["arcsinh", "arccosh", "arctanh"]
DTYPES = ["float64", "float32"]
BOUND = 2.0
LD = np.longdouble
F32 = np.finfo(np.float32)
F64 = np.finfo(np.float64)


@functools.lru_cache(maxsize=None)
def inputs(dtype):
    rng = np.random.default_rng(17)
    n = 20000
    signs = rng.choice([-1.0, 1.0], n)
    parts = [signs * 10.0 ** rng.uniform(-323.5, 308.25, n), rng.uniform(-3, 3, n),
             1 + 10.0 ** rng.uniform(-16, 1, n), 1 - 10.0 ** rng.uniform(-16, 0, n),
             signs * 2.0 ** rng.uniform(20, 32, n), signs * 2.0 ** rng.uniform(-30, -10, n),
             [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 0.5, -0.5, 2.0, F64.max,
              -F64.max, F64.tiny, -F64.tiny, F64.smallest_subnormal, -F64.smallest_subnormal,
              np.nextafter(1, 2), np.nextafter(1, 0), -np.nextafter(1, 0), 2.0 ** 28,
              2.0 ** 13, 2.0 ** -28, 2.0 ** -12, F32.max, F32.tiny, F32.smallest_subnormal]]
    with np.errstate(over="ignore"):
        x = np.concatenate(parts).astype(dtype)
    if dtype == "float32":
        bits = np.arange(0, 1 << 32, 4099, dtype=np.uint64).astype(np.uint32)
        x = np.concatenate([x, bits.view(np.float32)])
    return x


@functools.lru_cache(maxsize=None)
def compiled(cpu, dtype):
    x = T.vector(dtype=dtype)
    with theano.config.change_flags(cpu=cpu, threads=1):
        return theano.function([x], [getattr(T, n)(x) for n in NAMES], mode="FAST_RUN")


@functools.lru_cache(maxsize=None)
def results(cpu, dtype):
    x = inputs(dtype)
    with np.errstate(all="ignore"):
        return dict(zip(NAMES, compiled(cpu, dtype)(x)))


@functools.lru_cache(maxsize=None)
def reference(name, dtype):
    """(hi, lo): the exact value as a float64 pair (float32 inputs: float64's value)."""
    x = inputs(dtype)
    with np.errstate(all="ignore"):
        if dtype == "float64":
            exact = getattr(np, name)(x.astype(LD))
            hi = exact.astype(np.float64)
            lo = np.where(np.isfinite(hi), (exact - hi.astype(LD)).astype(np.float64), 0.0)
        else:
            hi = getattr(np, name)(x.astype(np.float64))
            lo = np.zeros_like(hi)
    return hi, lo


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cpu", CPUS)
def test_max_ulp_error_and_special_values_on_every_target(cpu, dtype):
    x = inputs(dtype)
    for name in NAMES:
        got = results(cpu, dtype)[name]
        assert got.dtype == dtype
        hi, lo = reference(name, dtype)
        err = ulp_error(got, hi, lo)
        k = int(np.argmax(err))
        assert err[k] <= BOUND, (cpu, dtype, name, x[k], got[k], hi[k], err[k])
        # not vacuous: the results are not all correctly rounded (nor all NaN)
        assert (err > 0.5).sum() > 10 and np.isfinite(got).mean() > 0.2, (cpu, name)
        # zeros (signed), infinities and NaNs exactly as NumPy
        with np.errstate(over="ignore"):
            want = hi.astype(dtype)
        same = ((got == want) & (np.signbit(got) == np.signbit(want))) | (
            np.isnan(got) & np.isnan(want))
        exact = np.isinf(want) | (want == 0) | np.isnan(want)
        bad = np.flatnonzero(exact & ~same)
        assert bad.size == 0, (cpu, dtype, name, x[bad[:5]], got[bad[:5]], want[bad[:5]])


@pytest.mark.parametrize("dtype", DTYPES)
def test_edges_exactly_as_numpy(dtype):
    """Domain edges and tiny inputs: +-0, +-1, subnormals (returned unchanged by
    arcsinh and arctanh), the largest finite (finite arcsinh: 2x is never formed),
    just inside and outside [-1, 1], below 1 for arccosh."""
    fi = np.finfo(dtype)
    x = np.array([0.0, -0.0, 1.0, -1.0, fi.smallest_subnormal, -fi.smallest_subnormal,
                  fi.tiny, -fi.tiny, fi.max, -fi.max, np.inf, -np.inf, np.nan,
                  np.nextafter(1, 0, dtype=dtype), np.nextafter(1, 2, dtype=dtype),
                  -np.nextafter(1, 2, dtype=dtype), np.nextafter(1, 0, dtype=dtype) * -1,
                  0.5, 1e-5, -1e-5], dtype)
    got = dict(zip(NAMES, compiled("host", dtype)(x)))
    with np.errstate(all="ignore"):
        for name in NAMES:
            want = getattr(np, name)(x.astype(np.float64 if dtype == "float32" else LD))
            want = want.astype(dtype)
            ok = np.isnan(want) & np.isnan(got[name])
            ok |= np.isclose(got[name], want, rtol=2 * fi.eps, atol=0) & (
                np.signbit(got[name]) == np.signbit(want))
            assert ok.all(), (name, x[~ok], got[name][~ok], want[~ok])
    tiny = np.abs(x) < 1e-30
    assert np.array_equal(got["arcsinh"][tiny].view(f"u{x.itemsize}"),
                          x[tiny].view(f"u{x.itemsize}"))
    assert np.array_equal(got["arctanh"][tiny].view(f"u{x.itemsize}"),
                          x[tiny].view(f"u{x.itemsize}"))
    assert np.isfinite(got["arcsinh"][8]) and got["arcsinh"][9] == -got["arcsinh"][8]
    assert got["arccosh"][2] == 0 and not np.signbit(got["arccosh"][2])


def test_level0_code_gives_the_same_bits():
    """Level-0 native code (tiered FAST_RUN's first calls, the native
    fast_compile mode) links the unoptimized scalar library (mathlib_scalar): no
    fast-math anywhere, so the bits are the vector library's."""
    for dtype in DTYPES:
        x = T.vector(dtype=dtype)
        f = theano.function([x], [getattr(T, n)(x) for n in NAMES],
                            mode=theano.Mode(linker="native", optimizer="fast_compile"))
        xs = inputs(dtype)[:150000]
        with np.errstate(all="ignore"):
            for name, got in zip(NAMES, f(xs)):
                want = results("host", dtype)[name][:150000]
                assert np.array_equal(got, want, equal_nan=True), (dtype, name)


# (register, lanes per dtype, an arithmetic instruction of the dtype on that register)
CODE = {"x86-64-v3": ("ymm", {"float32": 8, "float64": 4},
                      {"float32": r"vfn?m(add|sub)\d*ps", "float64": r"vfn?m(add|sub)\d*pd"}),
        "x86-64": ("xmm", {"float32": 4, "float64": 2},
                   {"float32": r"mulps", "float64": r"mulpd"})}


@pytest.mark.parametrize("cpu", CPUS)
def test_library_code_is_full_width_vector_code_without_calls(cpu):
    if cpu == "host":
        register, lanes32, fma, _ = host_vectors()
        lanes = {"float32": lanes32, "float64": lanes32 // 2}
        arithmetic = {d: (r"vfn?m(add|sub)\d*" if fma else r"v?mul") + s
                      for d, s in (("float32", "ps"), ("float64", "pd"))}
    else:
        register, lanes, arithmetic = CODE[cpu]
    with target.LLVM_LOCK, target.pinned(target.resolve(cpu)):
        for name in NAMES:
            for dtype in DTYPES:
                asm = mathlib.library_asm(name, dtype)
                start = asm.index("tjit_m_%s_%s_v%d:" % (name, dtype, lanes[dtype]))
                body = asm[start:asm.index(".Lfunc_end", start)]
                ops = [line.split()[0] for line in body.splitlines()
                       if line.startswith("\t") and not line.startswith("\t.")]
                assert re.search(r"\b%s\s+[^\n]*%%%s" % (arithmetic[dtype], register), body), (
                    cpu, name, dtype)
                assert not [op for op in ops if op.startswith("call") or "gather" in op], (
                    cpu, name, dtype)
                if dtype == "float32":      # native: no float64 step
                    double = [op for op in ops
                              if not op.startswith(("p", "vp")) and op.endswith(("pd", "sd"))]
                    assert not double, (cpu, name, double)


def test_kernels_call_the_ymm_variants_on_x86_64_v3():
    """The loop vectorizer maps the kernel's calls to the vector variants
    (8 float32 / 4 float64 lanes per ymm, or two registers' worth)."""
    for dtype in DTYPES:
        f = compiled("x86-64-v3", dtype)
        (thunk,) = [t for t in f.thunks if getattr(t, "native", None)]
        assert thunk.native.engine.target.name == "x86-64-v3"
        called = mathlib.variants_called(thunk.native.llvm_ir)
        ymm = 8 if dtype == "float32" else 4
        for name in NAMES:
            assert max(called[name, dtype]) in (ymm, 2 * ymm), (dtype, name, called)
