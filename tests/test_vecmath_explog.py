"""The exp/log/hyperbolic family of tjit.codegen.vecmath: accuracy and vectorization.

Errors are measured in ulps of the correctly rounded result, as real numbers
(|got - exact| / ulp), against:
- mpmath at 160 bits on a few thousand points per function and dtype (plus
  hypothesis-drawn float64 values): the bound that counts;
- dense sweeps (2e5 points): float64 against NumPy's long double functions
  (x86 80-bit: ~2**-63 relative, i.e. ~0.001 float64 ulp), float32 against
  float64 NumPy/SciPy. erf/erfc have no long double reference, so their float64
  sweep is the mpmath one.
Bounds: float64 <= 2 ulp, float32 <= 3 ulp (exp, exp2, expm1, log, log2, log10,
log1p, tanh, sinh, cosh, sigmoid, softplus compute natively in float32, within
~1.5 ulp, see test_vecmath_explog32.py; so do erf, erfc and pow, see
test_vecmath_f32_native.py).
Special values (NaN, +-inf, +-0, subnormals, overflow/underflow thresholds)
must match NumPy/C99 exactly, pow on a grid of special values against np.power.

`python tests/test_vecmath_explog.py` prints the measured table and writes it
to docs/accuracy.md (section "exp/log family").
"""
from __future__ import annotations

import functools
import os
import re
import zlib

import mpmath
import numpy as np
import pytest
import scipy.special as sp
import llvmlite.binding as llvm
from hypothesis import given, settings, strategies as st

from tjit.codegen import compile_kernel, target
from tjit.codegen.jit import build_object
from tjit.ir import Buffer, Load, Op, elementwise_kernel

LD = np.longdouble
FUNCS = ["exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "tanh", "sinh", "cosh",
         "sigmoid", "softplus", "erf", "erfc", "pow"]
BOUND = {"float64": 2.0, "float32": 3.0}
LIBM_NAMES = {"exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "tanh", "sinh",
              "cosh", "erf", "erfc", "pow"}


# ---- kernels --------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def loop_kernel(name, dtype, prefix="vm"):
    """The loop-IR kernel out = name(x[, y]) over vectors of `dtype`."""
    arity = 2 if name == "pow" else 1
    inputs = [Buffer(n, dtype, (False,)) for n in "xy"[:arity]]
    out = Buffer("out", dtype, (False,))
    expr = Op(name, tuple(Load(b, ()) for b in inputs), dtype)
    return elementwise_kernel("%s_%s_%s" % (prefix, name, dtype),
                              [(b, (0,)) for b in inputs], [out], [expr])


def kernel(name, dtype):
    return compile_kernel(loop_kernel(name, dtype))


def run(name, *args):
    args = [np.ascontiguousarray(a) for a in args]
    out = np.empty_like(args[0])
    assert kernel(name, args[0].dtype.name)(*args, out) == 0
    return out


# ---- references -----------------------------------------------------------------------
MP = {"exp": mpmath.exp, "exp2": lambda x: mpmath.mpf(2) ** x, "expm1": mpmath.expm1,
      "log": mpmath.log, "log2": lambda x: mpmath.log(x, 2), "log10": mpmath.log10,
      "log1p": mpmath.log1p, "tanh": mpmath.tanh, "sinh": mpmath.sinh, "cosh": mpmath.cosh,
      "sigmoid": lambda x: 1 / (1 + mpmath.exp(-x)),
      "softplus": lambda x: mpmath.log1p(mpmath.exp(x)),
      # mpmath's erf/erfc overflow internally for huge arguments; the limits are exact.
      "erf": lambda x: mpmath.erf(x) if abs(x) < 30 else mpmath.sign(x),
      "erfc": lambda x: mpmath.erfc(x) if abs(x) < 30 else 1 - mpmath.sign(x), "pow": lambda x, y: mpmath.power(x, y)}

NP_LD = {"exp": np.exp, "exp2": np.exp2, "expm1": np.expm1, "log": np.log, "log2": np.log2,
         "log10": np.log10, "log1p": np.log1p, "tanh": np.tanh, "sinh": np.sinh,
         "cosh": np.cosh, "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
         "softplus": lambda x: np.logaddexp(LD(0), x), "pow": np.power,
         "erf": sp.erf, "erfc": sp.erfc}     # scipy: float32 sweeps only


def mp_exact(name, *args):
    """The exact value as a float64 pair (hi, lo), via mpmath at 160 bits."""
    hi, lo = [], []
    with mpmath.workprec(160):
        for values in zip(*args):
            try:
                v = MP[name](*[mpmath.mpf(float(a)) for a in values])
                if isinstance(v, mpmath.mpc):
                    v = mpmath.mpf("nan")
            except (ValueError, ZeroDivisionError):
                v = mpmath.mpf("nan")
            h = float(v) if abs(v) < 2 ** 1024 or not mpmath.isfinite(v) else \
                float(mpmath.sign(v)) * float("inf")
            hi.append(h)
            lo.append(float(v - h) if np.isfinite(h) else 0.0)
    return np.array(hi), np.array(lo)


def ulp_error(got, hi, lo):
    """|got - (hi + lo)| in ulps of the exact value rounded to got's dtype (0 where
    both are NaN or the same infinity; inf where the classes differ)."""
    with np.errstate(all="ignore"):
        rounded = hi.astype(got.dtype)
        ulp = np.spacing(np.abs(rounded)).astype(np.float64)
        err = np.abs((got.astype(np.float64) - hi) - lo) / ulp
        err = np.where(np.isinf(rounded) & np.isfinite(got),
                       np.abs(got.astype(np.float64) - hi) / np.spacing(np.finfo(got.dtype).max), err)
    same = (np.isnan(got) & np.isnan(rounded)) | (np.isinf(rounded) & (got == rounded))
    err[same] = 0.0
    err[np.isnan(got) != np.isnan(rounded)] = np.inf
    return err


# ---- domains ---------------------------------------------------------------------------
def points(name, dtype, n, rng):
    """Points covering `name`'s whole domain for `dtype`: uniform over the active
    range, log-uniform magnitudes over the whole float range, values near the
    edges (zero, -1 for log1p, over/underflow thresholds)."""
    f32 = dtype == "float32"
    big = 38.5 if f32 else 308.0
    tiny = -45.0 if f32 else -323.0
    active = {"exp": (-104, 89) if f32 else (-746, 710),
              "exp2": (-150, 128) if f32 else (-1075, 1024),
              "expm1": (-18, 89) if f32 else (-38, 710),
              "sinh": (-90, 90) if f32 else (-711, 711),
              "cosh": (-90, 90) if f32 else (-711, 711),
              "tanh": (-10, 10) if f32 else (-20, 20),
              "sigmoid": (-104, 20) if f32 else (-746, 40),
              "softplus": (-104, 20) if f32 else (-746, 40),
              "erf": (-4, 4) if f32 else (-6, 6),
              "erfc": (-4, 11) if f32 else (-6, 27.3)}.get(name, (0, 4))
    magnitude = 10.0 ** rng.uniform(tiny, big, n)
    parts = [rng.uniform(*active, n), rng.uniform(-3, 3, n),
             np.where(rng.random(n) < 0.5, -1, 1) * magnitude,
             np.where(rng.random(n) < 0.5, -1, 1) * 10.0 ** rng.uniform(tiny, 0, n)]
    if name.startswith("log"):
        parts += [magnitude, 1 + rng.uniform(-0.5, 0.5, n), 10.0 ** rng.uniform(-6, 0, n)]
    if name == "log1p":
        parts += [-1 + 10.0 ** rng.uniform(-16, 0, n)]
    if name in active:
        for edge in active[name]:
            parts.append(edge + rng.uniform(-1, 1, n))
    with np.errstate(over="ignore"):
        return np.concatenate(parts).astype(dtype)


def pow_points(dtype, n, rng):
    """(x, y) pairs: positive bases over the whole range with exponents keeping the
    result near the representable range, negative bases with integer exponents."""
    f32 = dtype == "float32"
    lim = 126.0 if f32 else 1020.0
    x = 2.0 ** rng.uniform(-lim, lim, n)
    y = rng.uniform(-1.1, 1.1, n) * lim / np.maximum(np.abs(np.log2(x)), 1e-3)
    x2 = rng.uniform(0, 4, n)
    y2 = rng.uniform(-40, 40, n)
    x3 = -rng.uniform(0.2, 5, n)
    y3 = rng.integers(-60, 60, n).astype(float)
    x4 = 1 + rng.uniform(-1e-6, 1e-6, n)
    y4 = rng.uniform(-1, 1, n) * (1e8 if f32 else 1e15)
    with np.errstate(over="ignore"):
        return (np.concatenate([x, x2, x3, x4]).astype(dtype),
                np.concatenate([y, y2, y3, y4]).astype(dtype))


# ---- measurements ------------------------------------------------------------------------
MP_POINTS = 1500
DENSE_POINTS = 50000


@functools.lru_cache(maxsize=None)
def mp_errors(name, dtype):
    rng = np.random.default_rng(zlib.crc32(("%s/%s" % (name, dtype)).encode()))
    if name == "pow":
        args = [a[rng.permutation(len(a))[:MP_POINTS]] for a in pow_points(dtype, MP_POINTS, rng)]
        idx = rng.permutation(len(args[0]))
        args = [a[idx] for a in args]
    else:
        x = points(name, dtype, MP_POINTS // 4, rng)
        args = [x[rng.permutation(len(x))[:MP_POINTS]]]
    got = run(name, *args)
    return args, got, ulp_error(got, *mp_exact(name, *args))


@functools.lru_cache(maxsize=None)
def dense_errors(name, dtype):
    rng = np.random.default_rng(zlib.crc32(("%s/%s/dense" % (name, dtype)).encode()))
    args = pow_points(dtype, DENSE_POINTS, rng) if name == "pow" else \
        (points(name, dtype, DENSE_POINTS, rng),)
    got = run(name, *args)
    with np.errstate(all="ignore"):
        if dtype == "float64":
            ref = NP_LD[name](*[a.astype(LD) for a in args])
            hi = ref.astype(np.float64)
            lo = np.where(np.isfinite(hi), (ref - hi.astype(LD)).astype(np.float64), 0.0)
        else:
            hi = np.asarray(NP_LD[name](*[a.astype(np.float64) for a in args]), np.float64)
            lo = np.zeros_like(hi)
    return args, got, ulp_error(got, hi, lo)


def max_error(name, dtype):
    """(max ulp error over mpmath points, over the dense sweep or None)."""
    dense = None if (dtype == "float64" and name in ("erf", "erfc")) else \
        float(dense_errors(name, dtype)[2].max())
    return float(mp_errors(name, dtype)[2].max()), dense


def _worst(args, got, err):
    k = int(np.argmax(err))
    return "%.3f ulp at %s: got %r" % (err[k], [a[k] for a in args], got[k])


CASES = [(n, d) for n in FUNCS for d in ("float64", "float32")]


@pytest.mark.parametrize("name,dtype", CASES)
def test_accuracy_against_mpmath(name, dtype):
    args, got, err = mp_errors(name, dtype)
    assert err.max() <= BOUND[dtype], "%s[%s]: %s" % (name, dtype, _worst(args, got, err))


@pytest.mark.parametrize("name,dtype", [c for c in CASES
                                        if c != ("erf", "float64") and c != ("erfc", "float64")])
def test_accuracy_dense_sweep(name, dtype):
    # The dense references are themselves off by ~0.001 (long double) or ~2**-29
    # (float64 for float32) ulp: hence the small slack.
    args, got, err = dense_errors(name, dtype)
    assert err.max() <= BOUND[dtype] + 0.01, "%s[%s]: %s" % (name, dtype, _worst(args, got, err))


@settings(max_examples=150, deadline=None)
@given(st.sampled_from([f for f in FUNCS if f != "pow"]),
       st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=1,
                max_size=8))
def test_random_float64_values(name, values):
    x = np.array(values)
    got = run(name, x)
    err = ulp_error(got, *mp_exact(name, x))
    assert err.max() <= BOUND["float64"], "%s: %s" % (name, _worst((x,), got, err))


@settings(max_examples=100, deadline=None)
@given(st.floats(min_value=0, allow_infinity=True, width=64),
       st.floats(allow_nan=False, allow_infinity=True, width=64))
def test_random_pow_values(x, y):
    a, b = np.array([x, -x]), np.array([y, np.trunc(y)])
    got = run("pow", a, b)
    with np.errstate(all="ignore"):
        want = np.power(a, b)
    special = ~np.isfinite(want) | (want == 0) | ~np.isfinite(a) | (a == 0) | ~np.isfinite(b)
    assert np.array_equal(np.signbit(got[special]), np.signbit(want[special]))
    err = ulp_error(got, *mp_exact("pow", a, b))
    err[special] = ulp_error(got[special], want[special], np.zeros(special.sum()))
    assert err.max() <= BOUND["float64"], _worst((a, b), got, err)


# ---- special values -----------------------------------------------------------------------
def special_inputs(dtype):
    info = np.finfo(dtype)
    values = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 0.5, -0.5, 2.0, info.max,
              -info.max, info.tiny, -info.tiny, info.smallest_subnormal,
              -info.smallest_subnormal, 1e-30, -1e-30, 100.0, -100.0, 1000.0, -1000.0,
              709.78, 709.79, -745.1, -745.2, 88.72, 88.73, -103.9, -104.0, 27.2, 27.3, 9.2]
    with np.errstate(over="ignore"):
        return np.array(values).astype(dtype)


NUMPY = {"exp": np.exp, "exp2": np.exp2, "expm1": np.expm1, "log": np.log, "log2": np.log2,
         "log10": np.log10, "log1p": np.log1p, "tanh": np.tanh, "sinh": np.sinh,
         "cosh": np.cosh, "erf": sp.erf, "erfc": sp.erfc,
         "sigmoid": lambda x: (1 / (1 + np.exp(-x.astype(np.float64)))).astype(x.dtype),
         "softplus": lambda x: (np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x))))}


@pytest.mark.parametrize("name,dtype", [c for c in CASES if c[0] != "pow"])
def test_special_values(name, dtype):
    """NaN/inf/zero results and the sign of zero as NumPy; finite results close."""
    x = special_inputs(dtype)
    got = run(name, x)
    with np.errstate(all="ignore"):
        want = np.asarray(NUMPY[name](x)).astype(dtype)
    # Where NumPy underflows to zero a tail computed with gradual underflow may be a
    # subnormal (sigmoid near -745 / -104 for float32): compare against mpmath there.
    err = ulp_error(got, *mp_exact(name, x))
    exact_class = np.isnan(want) | np.isinf(want) | (want == 0)
    for k in np.flatnonzero(exact_class):
        if want[k] == 0 and err[k] <= 1:
            continue
        assert (np.isnan(got[k]) and np.isnan(want[k])) or (
            got[k] == want[k] and np.signbit(got[k]) == np.signbit(want[k])), (
            "%s[%s](%r) = %r, want %r" % (name, dtype, x[k], got[k], want[k]))
    assert err.max() <= BOUND[dtype], _worst((x,), got, err)


def test_signed_zeros_and_limits():
    for dtype in ("float64", "float32"):
        z = np.array([-0.0, 0.0], dtype)
        for name in ("expm1", "log1p", "tanh", "sinh", "erf"):
            assert np.array_equal(np.signbit(run(name, z)), [True, False]), name
        inf = np.array([-np.inf, np.inf], dtype)
        assert list(run("sigmoid", inf)) == [0.0, 1.0]
        assert list(run("tanh", inf)) == [-1.0, 1.0]
        assert list(run("softplus", inf)) == [0.0, np.inf]
        assert list(run("erfc", inf)) == [2.0, 0.0]
    # gradual underflow: exp(-745.1) is the smallest subnormal, not 0
    assert run("exp", np.array([-745.1, -745.2]))[0] == 5e-324
    assert run("exp", np.array([-745.2]))[0] == 0.0
    assert run("erfc", np.array([27.2]))[0] > 0.0
    assert np.isinf(run("exp", np.array([709.79])))[0]
    assert np.isfinite(run("exp", np.array([709.78])))[0]


def test_pow_special_grid():
    """Every pair from a grid of special values, exactly as np.power (C99 F.9.4.4)."""
    for dtype in ("float64", "float32"):
        v = np.array([0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 3.0, -3.0, 2.5, -2.5,
                      np.inf, -np.inf, np.nan, 1e300, -1e300, 5e-324, -5e-324, 1e-300,
                      2.0 ** 53, -(2.0 ** 53), 2.0 ** 53 + 2, 1023.0, -1075.0],
                     dtype=np.float64).astype(dtype)
        x, y = (a.ravel() for a in np.meshgrid(v, v))
        got = run("pow", x, y)
        with np.errstate(all="ignore"):
            want = np.power(x, y)
        special = np.isnan(want) | np.isinf(want) | (want == 0) | (want == 1) | (want == -1)
        bad = special & ~((np.isnan(got) & np.isnan(want)) |
                          ((got == want) & (np.signbit(got) == np.signbit(want))))
        k = np.flatnonzero(bad)
        assert k.size == 0, "pow[%s](%r, %r) = %r, want %r" % (
            dtype, x[k[0]], y[k[0]], got[k[0]], want[k[0]])
        err = ulp_error(got[~special], *mp_exact("pow", x[~special], y[~special]))
        assert err.max() <= BOUND[dtype]


def test_integer_pow_still_exact():
    a = np.array([3, -2, 7, 0], np.int64)
    b = np.array([4, 3, 0, 5], np.int64)
    assert list(run("pow", a, b)) == [81, -8, 1, 0]


# ---- vectorization ------------------------------------------------------------------------
# The widest registers each target's code must use: stated per target (built, not
# run, so the expectation holds on any host, AVX-512 ones included, where LLVM's
# tuning may prefer 256-bit vectors).
TARGET_REGISTER = {"x86-64-v3": "ymm", "x86-64": "xmm"}


def target_asm(name, dtype, cpu):
    """Assembly of `kernel(name, dtype)`'s code for `cpu`, built for it but not loaded."""
    tgt = target.resolve(cpu)
    _, llvm_ir = build_object(loop_kernel(name, dtype, "vt"), 3, tgt)
    with target.LLVM_LOCK:
        return target.target_machine(3, tgt).emit_assembly(llvm.parse_assembly(llvm_ir))


@pytest.mark.parametrize("cpu", sorted(TARGET_REGISTER))
@pytest.mark.parametrize("name", FUNCS)
def test_vectorized_without_libm_calls(name, cpu):
    asm = target_asm(name, "float64", cpu)
    register = TARGET_REGISTER[cpu]
    assert "%" + register in asm, (name, cpu, register)
    called = set(re.findall(r"call\w*\s+\*?([\w.@]+)", asm))
    libm = {c for c in called if c.split("@")[0].rstrip("f") in LIBM_NAMES | {"tgamma"}}
    assert not libm, (name, cpu, libm)


# ---- the table -----------------------------------------------------------------------------
DOMAIN_TEXT = {
    "exp": "[-746, 710] (f32: [-104, 89]), +-1e-323..1e308, +-inf, NaN",
    "exp2": "[-1075, 1024] (f32: [-150, 128]), +-1e-323..1e308",
    "expm1": "[-38, 710] (f32: [-18, 89]), +-1e-323..1e308",
    "log": "(0, 1e308], subnormals, [0.5, 1.5], negatives", "log2": "as log",
    "log10": "as log", "log1p": "(-1, 1e308], -1 + 1e-16..1, subnormals",
    "tanh": "[-20, 20] (f32: [-10, 10]), +-1e-323..1e308",
    "sinh": "[-711, 711] (f32: [-90, 90]), +-1e-323..1e308", "cosh": "as sinh",
    "sigmoid": "[-746, 40] (f32: [-104, 20]), +-1e-323..1e308", "softplus": "as sigmoid",
    "erf": "[-6, 6] (f32: [-4, 4]), +-1e-323..1e308",
    "erfc": "[-6, 27.3] (f32: [-4, 11]), +-1e-323..1e308",
    "pow": "x in 2**[-1020, 1020] with y keeping x**y near range; x in [0, 4], "
           "y in [-40, 40]; x < 0 with integer y; x = 1 +- 1e-6 with |y| <= 1e15",
}


def accuracy_table():
    lines = ["| function | dtype | max ulp (mpmath, %d pts) | max ulp (dense sweep, %d pts) "
             "| domain swept |" % (MP_POINTS, DENSE_POINTS * 4),
             "|---|---|---|---|---|"]
    for name in FUNCS:
        for dtype in ("float64", "float32"):
            mp_err, dense = max_error(name, dtype)
            lines.append("| %s | %s | %.3f | %s | %s |" % (
                name, dtype, mp_err, "-" if dense is None else "%.3f" % dense,
                DOMAIN_TEXT[name]))
    return "\n".join(lines)


def test_print_accuracy_table(capsys):
    table = accuracy_table()
    with capsys.disabled():
        print("\n" + table)


# Measured once with a one-off script (the committed test, test_vecmath_explog32.py,
# sweeps every 4099th bit pattern) against NumPy float64 rounded to float32;
# real-valued error in ulps of that reference.
FLOAT32_EXHAUSTIVE = """\
### Native float32: sweep over the bit patterns

Every 257th float32 bit pattern (16.7 million inputs per function, all exponents, both
signs, NaNs and infinities included; 257 is odd, so the low mantissa bits all occur), tjit
vs NumPy float64 rounded to float32. A full sweep of all 2**32 inputs was run for exp
(max 0.959 ulp at 15.596834, no input above 1 ulp, no class mismatch); for the others it
takes ~6 minutes each on this host and was not repeated. "inputs > 1 ulp" counts inputs
of the sweep whose error exceeds 1 ulp; inf, zero (with its sign) and NaN results matched
NumPy exactly (a result NumPy rounds to 0 may be the smallest subnormal, from gradual
underflow near a tie).

| function | max ulp | at x | inputs > 1 ulp | inf/zero/NaN mismatches |
|---|---|---|---|---|
| exp | 0.908 | 15.59946 | 0 | 0 |
| exp2 | 0.898 | 0.5047525 | 0 | 0 |
| expm1 | 1.252 | 0.349514 | 491 | 0 |
| log | 0.770 | 1.401763 | 0 | 0 |
| log2 | 0.940 | 0.7175096 | 0 | 0 |
| log10 | 0.900 | 1.50314 | 0 | 0 |
| log1p | 0.875 | -0.296991 | 0 | 0 |
| tanh | 1.360 | -0.5683621 | 503 | 0 |
| sinh | 1.577 | 1.411506 | 2572 | 0 |
| cosh | 1.340 | 3.815613 | 1530 | 0 |
| sigmoid | 1.452 | -4.850875 | 1101 | 0 |
| softplus | 1.188 | 0.3015827 | 526 | 0 |
"""


def write_docs(path=os.path.join(os.path.dirname(__file__), "..", "docs", "accuracy.md")):
    section = ("## exp/log family\n\n"
               "Measured by tests/test_vecmath_explog.py: max error in ulps of the "
               "correctly rounded result, vs mpmath (160 bits) on random points and vs "
               "NumPy long double (float64) / float64 (float32) on dense sweeps. "
               "float32 exp, exp2, expm1, log, log2, log10, log1p, tanh, sinh, cosh, "
               "sigmoid and softplus are computed natively in float32 (twice float64's "
               "lanes: 4 per xmm, 8 per ymm, 16 per zmm; tjit/codegen/vecmath/explog32.py), "
               "and so are erf, erfc (erf32.py) and pow (pow.py); see \"Native float32 "
               "erf, erfc and pow\" below. Bounds asserted: 2 ulp (float64), "
               "3 ulp (float32).\n\n"
               + accuracy_table() + "\n\n"
               "Notes: plain float64 exp rounds its reduced argument once (no pair), so it "
               "reaches ~1.01 ulp on normal results (mpmath, x = -0.985); the other "
               "float64 dense-sweep maxima of 1.0 (exp2, sigmoid, pow) "
               "are all subnormal results (the scaled result is rounded a second time onto "
               "the subnormal grid); softplus's ~1.0 is the final rounded add of x and its "
               "rounded log1p tail. A denser mpmath check of erfc on [0.25, 27.2] "
               "(10,500 points) found at most 1.55 ulp, near x = 0.5.\n\n"
               + FLOAT32_EXHAUSTIVE)
    text = open(path).read() if os.path.exists(path) else "# Accuracy of tjit's vector math\n\n"
    pattern = re.compile(r"## exp/log family\n.*?(?=\n## |\Z)", re.S)
    text = pattern.sub(lambda m: section, text) if pattern.search(text) else \
        text.rstrip("\n") + "\n\n" + section
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    print(accuracy_table())
    write_docs()
