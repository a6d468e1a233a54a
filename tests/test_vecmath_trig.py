"""The inline trig family (tjit/codegen/vecmath/trig*.py) vs correctly rounded results.

Bounds: `ULPS` (2 for float64, 3 for float32) from the correctly rounded value,
measured three ways:
- mpmath (precision grown with the argument's exponent, so sin(1e308) is exact)
  on ~2500 chosen points: worst cases of the argument reduction (doubles and
  floats closest to multiples of pi/2, e.g. 6381956970095103 * 2**797), the
  whole exponent range, and the branch points of each algorithm;
- dense random sweeps (10**6 points per function and dtype) against NumPy's
  long double (x87, 64-bit mantissa: its result rounded is the correctly
  rounded double except in vanishingly rare ties);
- special values (signed zeros, denormals, infinities, NaN, out-of-domain)
  against NumPy, exactly: the same NaNs, zeros of the same sign, the same infs.
Kernels are compiled once per (function, dtype) and cached.
"""
from __future__ import annotations

import functools
import itertools
import math
import re

import mpmath
import numpy as np
import pytest

from helpers import host_vectors
from test_codegen import ulp_distance
from tjit.codegen import mathlib
from tjit.codegen import compile_kernel
from tjit.codegen.vecmath import trig_reduce
from tjit.ir import Buffer, Load, Op, elementwise_kernel

ULPS = {"float64": 2, "float32": 3}
DTYPES = ["float64", "float32"]
NAMES = ["sin", "cos", "tan", "arcsin", "arccos", "arctan", "arctan2"]
NUMPY = {"sin": np.sin, "cos": np.cos, "tan": np.tan, "arcsin": np.arcsin,
         "arccos": np.arccos, "arctan": np.arctan, "arctan2": np.arctan2}
MPMATH = {"sin": mpmath.sin, "cos": mpmath.cos, "tan": mpmath.tan, "arcsin": mpmath.asin,
          "arccos": mpmath.acos, "arctan": mpmath.atan, "arctan2": mpmath.atan2}
RNG = np.random.default_rng(20240611)


@functools.lru_cache(maxsize=None)
def kernel(name, dtype):
    arity = 2 if name == "arctan2" else 1
    ins = [Buffer(n, dtype, (False,)) for n in "yx"[:arity]]
    out = Buffer("out", dtype, (False,))
    expr = Op(name, tuple(Load(b, ()) for b in ins), dtype)
    return compile_kernel(elementwise_kernel("trig_%s_%s" % (name, dtype),
                                             [(b, (0,)) for b in ins], [out], [expr]))


def run(name, dtype, *args):
    args = [np.ascontiguousarray(a, dtype=dtype) for a in args]
    out = np.empty(args[0].shape, dtype)
    assert kernel(name, dtype)(*args, out) == 0
    return out


# ---- references ------------------------------------------------------------------------
def correctly_rounded(name, args, dtype):
    """`name`(*args) correctly rounded to `dtype` (arguments finite, in the domain)."""
    exponent = max(abs(math.frexp(float(a))[1]) for a in args)
    bits = 53 if dtype == "float64" else 24
    with mpmath.workprec(exponent + 200):
        value = MPMATH[name](*[mpmath.mpf(float(a)) for a in args])
    with mpmath.workprec(bits):
        value = +value                      # rounded once, to nearest
    return np.array(float(value), dtype=dtype)


def long_double_reference(name, args, dtype):
    with np.errstate(all="ignore"):
        return NUMPY[name](*[np.asarray(a).astype(np.longdouble) for a in args]).astype(dtype)


def log_uniform(n, low, high, signed=True):
    x = 2.0 ** RNG.uniform(low, high, n)
    return x * RNG.choice([-1.0, 1.0], n) if signed else x


def near_multiples_of_pio2(dtype, n):
    """Floats of `dtype` nearest k*pi/2 for k of every size, and their neighbours."""
    info = np.finfo(dtype)
    k_bits = RNG.uniform(0, math.log2(float(info.max)) - 1, n)
    values = []
    with mpmath.workprec(1300):
        for b in k_bits:
            k = mpmath.floor(mpmath.mpf(2) ** b)
            values.append(float(k * mpmath.pi / 2))
    x = np.array(values).astype(dtype)
    x = x[np.isfinite(x)]
    return np.concatenate([x, np.nextafter(x, np.zeros_like(x)),
                           np.nextafter(x, np.full_like(x, np.inf))])


# (M, e): M * 2**e are the doubles / floats closest to a multiple of pi/2 (within
# 2**-61.5 resp. 2**-29.9 of one, in units of pi/2), from a continued-fraction search of
# 2**e * 2/pi over all exponents (it finds Kahan and McDonald's 6381956970095103 * 2**797).
HARD64 = [(6381956970095103, 797), (6411027962775774, -47), (7763785107565477, -29),
          (5916243447979695, 79), (8444920710073313, 939), (5850965514341686, 525),
          (8160885118204141, 808), (8360820580228475, 628)]
HARD32 = [(16367173, 72), (10741887, 11), (16573937, -16), (10057457, 62), (11617958, 17),
          (9012376, 53), (14173733, 88)]


def mpmath_points(name, dtype):
    """Arguments (tuple of arrays) for the mpmath check of `name`."""
    top = math.log2(float(np.finfo(dtype).max))
    if name in ("sin", "cos", "tan"):
        worst = np.array([math.ldexp(m, e) for m, e in (HARD64 if dtype == "float64"
                                                         else HARD32)]).astype(dtype)
        worst = np.concatenate([worst, np.nextafter(worst, np.zeros_like(worst))])
        x = np.concatenate([worst, -worst, near_multiples_of_pio2(dtype, 60),
                            log_uniform(150, -30, top), RNG.uniform(-10, 10, 60)])
    elif name in ("arcsin", "arccos"):
        tail = 2.0 ** -RNG.uniform(1, 50, 60)
        x = np.concatenate([RNG.uniform(-1, 1, 150), 1 - tail, tail - 1,
                            0.5 + RNG.uniform(-1e-3, 1e-3, 30), -0.5 + RNG.uniform(-1e-3, 1e-3, 30),
                            log_uniform(30, -60, -1), [1.0, -1.0, 0.5, -0.5]])
    elif name == "arctan":
        edges = np.array([7, 11, 19, 39]) / 16
        near = (edges[:, None] * (1 + RNG.uniform(-1e-3, 1e-3, (4, 15)))).ravel()
        x = np.concatenate([log_uniform(200, -40, 120), near, -near, [1.0, -1.0]])
    else:
        y = np.concatenate([log_uniform(250, -60, 60), RNG.uniform(-2, 2, 100)])
        x = np.concatenate([log_uniform(250, -60, 60), RNG.uniform(-2, 2, 100)])
        return (y.astype(dtype), x.astype(dtype))
    return (np.asarray(x).astype(dtype),)


# ---- accuracy ---------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_against_mpmath(name, dtype):
    args = mpmath_points(name, dtype)
    got = run(name, dtype, *args)
    want = np.array([correctly_rounded(name, a, dtype) for a in zip(*args)])
    distance = ulp_distance(got, want)
    worst = int(np.argmax(distance))
    assert distance.max() <= ULPS[dtype], "%s[%s](%s) = %r, correctly rounded %r (%d ulp)" % (
        name, dtype, [a[worst] for a in args], got[worst], want[worst], distance[worst])


def sweep_points(name, dtype, n=10 ** 6):
    top = math.log2(float(np.finfo(dtype).max))
    if name in ("arcsin", "arccos"):
        return (np.concatenate([RNG.uniform(-1, 1, n // 2), log_uniform(n // 2, -70, 0)]),)
    if name == "arctan2":
        return (log_uniform(n, -80, 80), log_uniform(n, -80, 80))
    if name == "arctan":
        return (log_uniform(n, -80, top),)
    # sin/cos/tan: half in [-100, 100], half over the whole exponent range
    return (np.concatenate([RNG.uniform(-100, 100, n // 2), log_uniform(n // 2, -30, top)]),)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_dense_sweep(name, dtype):
    with np.errstate(over="ignore"):
        args = tuple(a.astype(dtype) for a in sweep_points(name, dtype))
    args = tuple(np.where(np.isfinite(a), a, 1.0).astype(dtype) for a in args)
    got = run(name, dtype, *args)
    want = long_double_reference(name, args, dtype)
    distance = ulp_distance(got, want)
    worst = int(np.argmax(distance))
    assert distance.max() <= ULPS[dtype], "%s[%s](%s) = %r, reference %r" % (
        name, dtype, [a[worst] for a in args], got[worst], want[worst])


def special_values(dtype):
    info = np.finfo(dtype)
    values = [0.0, 1.0, 0.5, 2.0, 1.5, np.pi / 2, np.pi, 1e-300, 1e300, info.tiny,
              info.smallest_subnormal, 3 * float(info.smallest_subnormal), info.max,
              np.inf, 1 - info.epsneg, 1 + info.eps, 7 / 16, 39 / 16]
    with np.errstate(over="ignore", under="ignore"):
        values = np.array(values).astype(dtype)
    return np.concatenate([values, -values, [np.nan]]).astype(dtype)


def assert_same_specials(got, want, what):
    """NaN where NaN, the same zeros (sign included) and infinities; else within ULPS."""
    nan = np.isnan(want)
    assert (np.isnan(got) == nan).all(), (what, got[np.isnan(got) != nan])
    exact = (want == 0) | np.isinf(want)
    same = (got == want) & (np.signbit(got) == np.signbit(want))
    assert same[exact].all(), (what, got[exact & ~same], want[exact & ~same])
    assert (ulp_distance(got[~nan], want[~nan]) <= ULPS[got.dtype.name]).all(), what


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_special_values(name, dtype):
    values = special_values(dtype)
    if name == "arctan2":
        args = tuple(np.array(v, dtype) for v in zip(*itertools.product(values, values)))
    else:
        args = (values,)
    got = run(name, dtype, *args)
    with np.errstate(all="ignore"):
        want = NUMPY[name](*args).astype(dtype)
    assert_same_specials(got, want, "%s[%s]" % (name, dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_odd_functions_are_the_identity_on_denormals(dtype):
    info = np.finfo(dtype)
    x = np.concatenate([np.array([info.smallest_subnormal, info.tiny / 3, info.tiny * 0.999],
                                 dtype), (RNG.uniform(0, 1, 200) * info.tiny).astype(dtype)])
    x = np.concatenate([x, -x, np.array([0.0, -0.0], dtype)])
    for name in ("sin", "tan", "arcsin", "arctan"):
        got = run(name, dtype, x)
        assert (got.view(x.dtype.str.replace("f", "i")) ==
                x.view(x.dtype.str.replace("f", "i"))).all(), name


# ---- structure --------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_contiguous_float64_kernel_is_vectorized_without_libm(name):
    # The kernel calls a vector variant from the math library...
    ir_text = kernel(name, "float64").llvm_ir
    assert re.search(r"call [^\n]*@\"?tjit_m_%s_float64_v(2|4|8)\"?\(" % name, ir_text), name
    libm = r"(sin|cos|tan|asin|acos|atan|atan2)f?"
    assert not re.search(r"call [^\n]*@\"?%s\"?\(" % libm, ir_text), name
    # ...whose code is vectorized and calls no libm function either.
    # (on the target's widest registers: ymm/zmm with AVX, xmm on SSE2, where
    # fma and rint are emulated, never called)
    asm = mathlib.library_asm(name, "float64")
    register, _, _, avx = host_vectors()
    arithmetic = r"\bv(fmadd|fmsub|fnmadd|mul|add|sub)\w*pd" if avx else r"\b(mul|add|sub)pd"
    assert re.search(r"%s\s+[^\n]*%%%s" % (arithmetic, register), asm), name
    assert not re.search(r"call\w*\s+\*?\w*\b%s\b" % libm, asm), name
    start = asm.index("tjit_m_%s_float64_v2:" % name)
    assert not re.search(r"\tcall", asm[start:]), name


def test_two_over_pi_table():
    with mpmath.workprec(trig_reduce._TWO_OVER_PI_BITS + 64):
        exact = int(mpmath.floor(2 / mpmath.pi * mpmath.mpf(2) ** trig_reduce._TWO_OVER_PI_BITS))
    assert trig_reduce._TWO_OVER_PI == exact
