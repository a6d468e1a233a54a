"""Loop IR -> LLVM -> native code, checked against NumPy (and scipy.special).

Kernels are built directly from the IR. Tolerances: results NumPy defines
exactly (arithmetic, comparisons, casts, rounding, floor division, mod, sqrt)
must match bit for bit (NaN matches NaN; the sign of a zero result of
maximum/minimum/clip is not compared, NumPy's own SIMD and scalar loops
disagree on it). libm functions vs NumPy (which may use SVML) are within
`LIBM_ULPS`; erf/erfc/gamma/gammaln vs scipy within `SPECIAL_ULPS`; erfinv and
psi (our own IR) within `SPECIAL_ULPS` or, for psi near its roots where the
relative error is ill-conditioned, an absolute 1e-15 (float32: 4 eps) times its
largest term.
"""
from __future__ import annotations

import functools
import re

import mpmath
import numpy as np
import pytest
import scipy.special as sp
from hypothesis import given, settings, strategies as st

from helpers import host_vectors, loop_register
from tjit.codegen import compile_kernel, emit_kernel
from tjit.ir import (SCALAR_OPS, Buffer, Cast, Const, Guarded, Load, Op, elementwise_kernel,
                     format_kernel, outer_extent)

FLOATS = ["float32", "float64"]
SIGNED = ["int8", "int16", "int32", "int64"]
UNSIGNED = ["uint8", "uint16", "uint32", "uint64"]
ALL_DTYPES = ["bool"] + SIGNED + UNSIGNED + FLOATS
LIBM_ULPS = 4
SPECIAL_ULPS = 8
RNG = np.random.default_rng(1234)


# ---- comparison helpers -------------------------------------------------------------
def ulp_distance(got, want):
    """Units in the last place between two float arrays (NaN vs NaN and equal infs: 0)."""
    got, want = np.asarray(got), np.asarray(want)
    ints = {4: np.int32, 8: np.int64}[got.dtype.itemsize]

    def ordered(x):
        i = x.view(ints).astype(object)      # sign-magnitude -> a monotonic integer line
        return np.where(i < 0, -(i + (1 << (8 * x.dtype.itemsize - 1))), i)

    distance = np.abs(ordered(got) - ordered(want)).astype(float)
    both_nan = np.isnan(got) & np.isnan(want)
    distance[both_nan] = 0
    distance[np.isnan(got) != np.isnan(want)] = np.inf
    return distance


def assert_exact(got, want, what, signed_zero=True):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype, (what, got.dtype, want.dtype)
    if got.dtype.kind == "f":
        same = (got == want) | (np.isnan(got) & np.isnan(want))
        if signed_zero:
            same &= np.signbit(got) == np.signbit(want)
    else:
        same = got == want
    bad = np.flatnonzero(~same)
    assert bad.size == 0, "%s: %d mismatches, e.g. got %r want %r at %r" % (
        what, bad.size, got.flat[bad[0]], want.flat[bad[0]], bad[:5])


MPMATH = {"erf": mpmath.erf, "erfc": mpmath.erfc, "erfinv": mpmath.erfinv,
          "gamma": mpmath.gamma, "gammaln": lambda x: mpmath.log(abs(mpmath.gamma(x))),
          "psi": mpmath.digamma, "erfcinv": lambda x: _erfcinv(x),
          # the Bessel functions at +-inf: their limits (SciPy gives NaN)
          "j0": lambda x: 0 if mpmath.isinf(x) else mpmath.besselj(0, x),
          "j1": lambda x: 0 if mpmath.isinf(x) else mpmath.besselj(1, x),
          "i0": lambda x: mpmath.inf if mpmath.isinf(x) else mpmath.besseli(0, x),
          "i1": lambda x: x if mpmath.isinf(x) else mpmath.besseli(1, x)}


def _erfcinv(x):
    with mpmath.workdps(400):       # 1 - x keeps every digit of a subnormal x
        return mpmath.erfinv(1 - x)


def true_value(name, x, dtype):
    """`name`(x) correctly rounded to `dtype` (NaN at poles and outside the domain)."""
    with mpmath.workdps(40):
        try:
            value = float(MPMATH[name](mpmath.mpf(float(x))))
        except (ValueError, ZeroDivisionError, OverflowError):
            value = np.nan
    with np.errstate(over="ignore"):
        return np.array(value).astype(dtype)


def assert_special(got, want, name, x):
    """Within SPECIAL_ULPS of scipy's `want`, or else of the true value."""
    distance = ulp_distance(got, want)
    if name == "psi":
        # near psi's negative roots the error is absolute, relative to its largest
        # term (pi cot(pi x) or psi(1 - x) ~ log|x|); native float32 in float32's
        tol = 1e-15 if got.dtype == np.float64 else 4 * float(np.finfo(np.float32).eps)
        with np.errstate(all="ignore"):
            scale = np.maximum(np.maximum(1, np.abs(1 / np.sin(np.pi * x.astype(float)))),
                               np.log1p(np.abs(x.astype(float))))
            distance[np.abs(got.astype(float) - want) <= tol * scale] = 0
    if name in ("j0", "j1"):
        # libm's (and SciPy's) J are accurate in absolute terms near their zeros
        distance[np.abs(got.astype(float) - want) <= 1e-16] = 0
    for k in np.flatnonzero(distance > SPECIAL_ULPS):
        exact = true_value(name, x[k], got.dtype)
        assert ulp_distance(got[k:k + 1], exact.reshape(1))[0] <= SPECIAL_ULPS or (
            name == "psi" and abs(float(got[k]) - float(exact)) <= tol * scale[k]), (
            "%s(%r) = %r; scipy %r, true value %r" % (name, x[k], got[k], want[k], exact))


def assert_ulps(got, want, ulps, what, inputs=()):
    distance = ulp_distance(got, want)
    bad = np.flatnonzero(distance > ulps)
    detail = [x.flat[bad[0]] for x in inputs] if bad.size else []
    assert bad.size == 0, "%s: %d values beyond %d ulp, e.g. got %r want %r (%r ulp) for %r" % (
        what, bad.size, ulps, got.flat[bad[0]] if bad.size else None,
        want.flat[bad[0]] if bad.size else None, distance.flat[bad[0]] if bad.size else 0, detail)


# ---- test values ----------------------------------------------------------------------
def edge_values(dtype):
    if dtype == "bool":
        return np.array([False, True])
    if dtype in FLOATS:
        info = np.finfo(dtype)
        values = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 3.0, -3.0, 7.0,
                  0.49999999999999994, 1e-10, 100.0, -100.0, 1e30, np.inf, -np.inf, np.nan,
                  info.max, -info.max, info.tiny, -info.tiny, info.smallest_subnormal,
                  -info.smallest_subnormal, 0.1, 1e300]
        with np.errstate(over="ignore"):
            return np.array(values).astype(dtype)
    info = np.iinfo(dtype)
    values = {0, 1, 2, 3, 7, 100, info.max, info.max - 1, info.min, info.min + 1}
    if info.min < 0:
        values |= {-1, -2, -3, -7, -100}
    return np.array(sorted(values), dtype=dtype)


def random_values(dtype, n):
    if dtype == "bool":
        return RNG.integers(0, 2, n).astype(bool)
    if dtype in FLOATS:
        return (RNG.standard_normal(n) * 10.0 ** RNG.integers(-3, 4, n)).astype(dtype)
    info = np.iinfo(dtype)
    return RNG.integers(info.min, info.max, n, dtype=dtype, endpoint=True)


@functools.lru_cache(maxsize=None)
def operands(dtype):
    """(a, b, c): every pair of edge values, then random values."""
    edges = edge_values(dtype)
    a, b = np.meshgrid(edges, edges)
    a = np.concatenate([a.ravel(), random_values(dtype, 500)])
    b = np.concatenate([b.ravel(), random_values(dtype, 500)])
    c = np.concatenate([edge_values(dtype)[::-1].repeat(len(edges)), random_values(dtype, 500)])
    return a, b, c


# ---- the ops under test, with NumPy references ---------------------------------------
def _np_pow_int(a, b):
    dtype = a.dtype
    bits = 8 * dtype.itemsize
    result = []
    for x, e in zip(a.tolist(), b.tolist()):
        if e < 0:
            r = 1 if x == 1 else ((-1 if e % 2 else 1) if x == -1 else 0)
        else:
            r = pow(x, e, 1 << bits)
        result.append(r)
    return np.array([r & ((1 << bits) - 1) for r in result], dtype=np.uint64).astype(dtype)


def _round_half_away(x):
    t = np.trunc(x)
    with np.errstate(invalid="ignore"):
        return np.where(np.abs(x - t) >= 0.5, t + np.sign(x), t).astype(x.dtype)


BOOL_REFERENCE = {
    "add": np.logical_or, "sub": np.logical_xor, "mul": np.logical_and,
    "int_div": np.logical_and, "mod": lambda a, b: np.zeros_like(a),
    "pow": lambda a, b: a | ~b, "maximum": np.logical_or, "minimum": np.logical_and,
    "clip": lambda x, lo, hi: (x | lo) & hi,
}

REFERENCE = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "true_div": np.true_divide,
    "int_div": np.floor_divide, "mod": np.remainder, "pow": np.power,
    "maximum": np.maximum, "minimum": np.minimum, "neg": np.negative, "abs": np.abs,
    "sgn": np.sign, "sqr": lambda x: x * x,
    "clip": lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi),
    "exp": np.exp, "exp2": np.exp2, "expm1": np.expm1, "log": np.log, "log2": np.log2,
    "log10": np.log10, "log1p": np.log1p, "sqrt": np.sqrt, "sin": np.sin, "cos": np.cos,
    "tan": np.tan, "arcsin": np.arcsin, "arccos": np.arccos, "arctan": np.arctan,
    "arctan2": np.arctan2, "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh,
    "erf": sp.erf, "erfc": sp.erfc, "erfinv": sp.erfinv, "gamma": sp.gamma,
    "gammaln": sp.gammaln, "psi": sp.psi, "arcsinh": np.arcsinh, "arccosh": np.arccosh,
    "arctanh": np.arctanh, "erfcinv": sp.erfcinv, "j0": sp.j0, "j1": sp.j1, "i0": sp.i0,
    "i1": sp.i1,
    # in float64, so float32's far tail is the true subnormal value, not 1/inf
    "sigmoid": lambda x: (1 / (1 + np.exp(-x.astype(np.float64)))).astype(x.dtype),
    "softplus": lambda x: np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x))),
    "floor": np.floor, "ceil": np.ceil, "trunc": np.trunc, "round_half_even": np.rint,
    "round_half_away": _round_half_away,
    "lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal,
    "eq": np.equal, "neq": np.not_equal, "isnan": np.isnan, "isinf": np.isinf,
    "and": np.bitwise_and, "or": np.bitwise_or, "xor": np.bitwise_xor, "invert": np.invert,
    "switch": lambda a, b, c: np.where(a > b, b, c),
}
EXACT_FLOAT = {"add", "sub", "mul", "true_div", "int_div", "mod", "maximum", "minimum",
               "neg", "abs", "sgn", "sqr", "clip", "sqrt", "floor", "ceil", "trunc",
               "round_half_even", "round_half_away", "lt", "le", "gt", "ge", "eq", "neq",
               "isnan", "isinf", "switch"}
SCIPY_OPS = {"erf", "erfc", "erfinv", "gamma", "gammaln", "psi", "erfcinv", "j0", "j1", "i0",
             "i1"}
BITWISE = {"and", "or", "xor", "invert"}
FLOAT_ONLY = (set(SCALAR_OPS) - EXACT_FLOAT - BITWISE) | {"true_div", "sqrt"}
BOOL_RESULT = {"lt", "le", "gt", "ge", "eq", "neq", "isnan", "isinf"}


def ops_for(dtype):
    ops = set(SCALAR_OPS)
    if dtype not in FLOATS:
        ops -= FLOAT_ONLY
    else:
        ops -= BITWISE
    return sorted(ops)


def op_expr(name, dtype, a, b, c):
    arity = SCALAR_OPS[name]
    if name == "switch":
        return Op("switch", (Op("gt", (a, b), "bool"), b, c), dtype)
    result = "bool" if name in BOOL_RESULT else dtype
    return Op(name, (a, b, c)[:arity], result)


@functools.lru_cache(maxsize=None)
def op_results(dtype, level=3):
    """Run one kernel computing every op applicable to `dtype` on `operands(dtype)`,
    compiled at `level`."""
    names = ops_for(dtype)
    ins = [Buffer(n, dtype, (False,)) for n in "abc"]
    loads = [Load(buf, ()) for buf in ins]
    exprs = [op_expr(n, dtype, *loads) for n in names]
    outs = [Buffer("out_" + n, e.dtype, (False,)) for n, e in zip(names, exprs)]
    kernel = elementwise_kernel("ops_" + dtype, [(buf, (0,)) for buf in ins], outs, exprs)
    native = compile_kernel(kernel, level)
    arrays = operands(dtype)
    results = [np.empty(len(arrays[0]), dtype=o.dtype) for o in outs]
    assert native(*arrays, *results) == 0
    return dict(zip(names, results))


OP_CASES = [(name, dtype) for dtype in ALL_DTYPES for name in ops_for(dtype)]


@pytest.mark.parametrize("name,dtype", OP_CASES)
def test_scalar_op(name, dtype):
    got = op_results(dtype)[name]
    a, b, c = operands(dtype)
    args = (a, b, c)[:SCALAR_OPS[name]]
    if dtype == "bool" and name in BOOL_REFERENCE:
        want = BOOL_REFERENCE[name](*args)
    elif dtype != "bool" and name in {"floor", "ceil", "trunc", "round_half_even",
                                      "round_half_away"} and dtype not in FLOATS:
        want = a
    elif dtype == "bool" and name in {"neg", "abs", "sgn", "sqr", "floor", "ceil", "trunc",
                                      "round_half_even", "round_half_away"}:
        want = a
    elif name == "pow" and dtype not in FLOATS:
        want = _np_pow_int(a, b)
    else:
        with np.errstate(all="ignore"):
            want = np.asarray(REFERENCE[name](*args))
    if want.dtype != got.dtype and name not in BOOL_RESULT:
        want = want.astype(got.dtype)
    if dtype not in FLOATS or name in EXACT_FLOAT:
        assert_exact(got, want, "%s[%s]" % (name, dtype),
                     signed_zero=name not in {"maximum", "minimum", "clip"})
    elif name in SCIPY_OPS:
        assert_special(got, want.astype(got.dtype), name, a)
    else:
        assert_ulps(got, want.astype(got.dtype), LIBM_ULPS, "%s[%s]" % (name, dtype), args)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_level_0_ops_give_the_bits_of_level_3(dtype):
    # FAST_COMPILE's code (the text renderer, the scalar math library, no
    # optimization) computes every op exactly as FAST_RUN's (NaNs match as NaNs:
    # the two math libraries may give them other sign bits)
    for name, got in op_results(dtype, 0).items():
        want = op_results(dtype)[name]
        same = got.view("u%d" % got.itemsize) == want.view("u%d" % got.itemsize)
        if got.dtype.kind == "f":
            same |= np.isnan(got) & np.isnan(want)
        assert same.all(), "%s[%s]: %r vs %r" % (name, dtype, got[~same][:3], want[~same][:3])


def test_special_functions_on_wide_ranges():
    """erfinv near +-1 and psi/gamma over wide ranges, including negative psi args."""
    x = Buffer("x", "float64", (False,))
    names = ["erfinv", "psi", "gamma", "gammaln"]
    outs = [Buffer("o_" + n, "float64", (False,)) for n in names]
    kernel = elementwise_kernel("special_wide", [(x, (0,))], outs,
                                [Op(n, (Load(x, ()),), "float64") for n in names])
    native = compile_kernel(kernel)
    near_one = 1 - np.logspace(-16, -1, 300)
    cases = {
        "erfinv": np.concatenate([near_one, -near_one, np.linspace(-1, 1, 1001),
                                  np.logspace(-310, -1, 200)]),
        "psi": np.concatenate([np.linspace(-30, 30, 2001) + 1e-3, np.logspace(-300, 300, 300)]),
        "gamma": np.linspace(-20.5, 171, 1001),
        "gammaln": np.concatenate([np.linspace(-50.5, 50, 1001), np.logspace(-300, 300, 100)]),
    }
    for name, values in cases.items():
        results = [np.empty_like(values) for _ in names]
        assert native(values, *results) == 0
        got = results[names.index(name)]
        assert_special(got, getattr(sp, name)(values), name, values)


@pytest.mark.parametrize("level", [3, 0])
@pytest.mark.parametrize("source", ALL_DTYPES)
def test_casts(source, level):
    """astype to every dtype; float->int compared where NumPy's result is defined."""
    x = Buffer("x", source, (False,))
    outs = [Buffer("to_" + d, d, (False,)) for d in ALL_DTYPES]
    kernel = elementwise_kernel("cast_" + source, [(x, (0,))], outs,
                                [Cast(Load(x, ()), d) for d in ALL_DTYPES])
    native = compile_kernel(kernel, level)
    values = np.concatenate([edge_values(source), random_values(source, 300)])
    if source in FLOATS:
        values = np.concatenate([values, np.linspace(-127.9, 127.9, 301).astype(source)])
    results = [np.empty(len(values), dtype=d) for d in ALL_DTYPES]
    assert native(values, *results) == 0
    for dtype, got in zip(ALL_DTYPES, results):
        with np.errstate(all="ignore"):
            want = values.astype(dtype)
        if source in FLOATS and dtype not in FLOATS and dtype != "bool":
            defined = np.isfinite(values) & (np.abs(values) < 128)
            got, want = got[defined], want[defined]
        assert_exact(got, want, "%s->%s" % (source, dtype))


def test_constants_and_cse():
    """Consts of every kind; a subexpression used twice is emitted once per loop copy."""
    x = Buffer("x", "float64", (False,))
    o1, o2 = Buffer("o1", "float64", (False,)), Buffer("o2", "int8", (False,))
    shared = Op("gamma", (Load(x, ()),), "float64")  # a math library call (not inlined)
    e1 = Op("add", (shared, Op("mul", (shared, Const(float("inf"), "float64")), "float64")),
            "float64")
    e2 = Op("add", (Cast(Op("gt", (shared, Const(1.0, "float64")), "bool"), "int8"),
                    Const(-1, "int8")), "int8")
    kernel = elementwise_kernel("cse", [(x, (0,))], [o1, o2], [e1, e2])
    text = emit_kernel(kernel)
    assert text.count('call double @"tjit_m_gamma_float64"') == 2
    assert "let t0 = gamma(x[i0])" in format_kernel(kernel)
    values = np.array([-np.inf, -1.0, 0.0, 2.0, np.nan])
    r1, r2 = np.empty(5), np.empty(5, np.int8)
    assert compile_kernel(kernel)(values, r1, r2) == 0
    with np.errstate(all="ignore"):
        g = sp.gamma(values)
        assert_exact(r1, g + g * np.inf, "o1")
    assert_exact(r2, (g > 1).astype(np.int8) - 1, "o2")


# ---- layouts: broadcasting, transposes, strides, empty ---------------------------------
def binary_kernel(name, x_axes, x_bcast, y_axes, y_bcast, out_bcast, op="sub"):
    x = Buffer("x", "float64", x_bcast)
    y = Buffer("y", "float64", y_bcast)
    out = Buffer("out", "float64", out_bcast)
    expr = Op(op, (Load(x, ()), Load(y, ())), "float64")
    return elementwise_kernel(name, [(x, x_axes), (y, y_axes)], [out], [expr])


def run(kernel, *inputs, out_shape, begin=0, end=2 ** 62):
    out = np.full(out_shape, -7.0)
    code = compile_kernel(kernel)(*inputs, out, begin=begin, end=end)
    return code, out


def test_broadcast_and_transpose():
    # out[i, j, k] = x[k, i] - y[j]   (x is transposed, y broadcast along dims 0 and 2)
    kernel = binary_kernel("bt", (1, None, 0), (False, False), (None, 0, None), (False,),
                           (False, False, False))
    x, y = RNG.standard_normal((5, 3)), RNG.standard_normal(4)
    code, out = run(kernel, x, y, out_shape=(3, 4, 5))
    assert code == 0
    assert_exact(out, x.T[:, None, :] - y[None, :, None], "bt")


def test_static_broadcastable_axes_and_broadcast_output_dim():
    # x: (1, n) row mapped to both loop dims, y: col (m, 1); out (m, n)
    kernel = binary_kernel("row_col", (0, 1), (True, False), (0, 1), (False, True),
                           (False, False))
    x, y = RNG.standard_normal((1, 6)), RNG.standard_normal((4, 1))
    code, out = run(kernel, x, y, out_shape=(4, 6))
    assert code == 0
    assert_exact(out, x - y, "row_col")
    # an output with a broadcastable dim: out (1, n)
    kernel = binary_kernel("bcast_out", (0, 1), (True, False), (0, 1), (True, False),
                           (True, False))
    code, out = run(kernel, x, x[:, ::-1], out_shape=(1, 6))
    assert code == 0
    assert_exact(out, x - x[:, ::-1], "bcast_out")


def test_noncontiguous_negative_stride_and_empty():
    kernel = binary_kernel("strided", (0, 1), (False, False), (0, 1), (False, False),
                           (False, False))
    base = RNG.standard_normal((9, 12))
    for x, y in [(base[::2, ::3], base[::-2, ::-3]), (base[::-1, :4].T[:, :3], base[:4, :3]),
                 (base[:0, :5], base[2:2, 5:10]), (base[:3, :0], base[:3, 12:])]:
        code, out = run(kernel, x, y, out_shape=x.shape)
        assert code == 0
        assert_exact(out, x - y, "strided %s" % (x.shape,))


def test_collapsed_and_full_nests_agree():
    kernel = binary_kernel("collapse", (0, 1, 2), (False,) * 3, (0, 1, 2), (False,) * 3,
                           (False,) * 3, op="mul")
    guard = [s for s in kernel.body if isinstance(s, Guarded)]
    assert len(guard) == 1 and kernel.meta["collapsed_outer_dims"] == (0, 1, 2)
    base = RNG.standard_normal((4, 5, 6))
    contiguous = base.copy()
    sliced = base[:, :, ::-1]       # not collapsible: full nest
    for x in (contiguous, sliced, np.asfortranarray(base)):
        code, out = run(kernel, x, base, out_shape=base.shape)
        assert code == 0
        assert_exact(out, x * base, "collapse")
    out = np.empty_like(base)
    assert outer_extent(kernel, (contiguous, base, out)) == 120
    assert outer_extent(kernel, (sliced, base, out)) == 4


def test_partial_collapse_with_transposed_input():
    # out[i, j, k] = x[i, j, k] - y[k, i, j]: dims 0, 1 merge (y axes 1, 2), dim 2 does not.
    kernel = binary_kernel("partial", (0, 1, 2), (False,) * 3, (1, 2, 0), (False,) * 3,
                           (False,) * 3)
    assert kernel.meta["collapsed_outer_dims"] == (0, 1)
    x, y = RNG.standard_normal((3, 4, 5)), RNG.standard_normal((5, 3, 4))
    code, out = run(kernel, x, y, out_shape=(3, 4, 5))
    assert code == 0
    assert_exact(out, x - y.transpose(1, 2, 0), "partial")


def test_check_codes_and_meta():
    kernel = binary_kernel("checks", (0, 1), (False, False), (0, 1), (True, False),
                           (False, False))
    meta = kernel.meta["checks"]
    x = np.zeros((3, 4))
    code, _ = run(kernel, x, np.zeros((1, 5)), out_shape=(3, 4))
    assert meta[code] == dict(kind="input", position=1, axis=1, loop_dim=1)
    code, _ = run(kernel, x, np.zeros((2, 4)), out_shape=(3, 4))
    assert meta[code] == dict(kind="broadcastable", position=1, axis=0, loop_dim=0)
    code, _ = run(kernel, np.zeros((2, 4)), np.zeros((1, 4)), out_shape=(3, 4))
    assert meta[code] == dict(kind="input", position=0, axis=0, loop_dim=0)
    # a second output whose shape differs from output 0
    xb, o1, o2 = (Buffer(n, "float64", (False,)) for n in ("x", "o1", "o2"))
    two = elementwise_kernel("two_out", [(xb, (0,))], [o1, o2], [Load(xb, ()), Load(xb, ())])
    code = compile_kernel(two)(np.zeros(3), np.zeros(3), np.zeros(4))
    assert two.meta["checks"][code] == dict(kind="output", position=1, axis=0, loop_dim=0)
    assert "check dim(x,0) == dim(o1,0) else return 1" in format_kernel(two)


def test_begin_end_split_matches_single_call():
    kernel = binary_kernel("split", (0, 1), (False, False), (0, 1), (False, False),
                           (False, False), op="add")
    base = RNG.standard_normal((10, 8))
    for x in (base, base[:, ::-1]):          # collapsed (extent 80) and full (extent 10)
        out_whole = np.empty_like(base)
        native = compile_kernel(kernel)
        assert native(x, base, out_whole) == 0
        extent = outer_extent(kernel, (x, base, out_whole))
        out = np.full_like(base, np.nan)
        cuts = [0, 3, extent // 2, extent - 1, extent]
        for begin, end in zip(cuts, cuts[1:]):
            assert native.cfunc(x, base, out, begin, end) == 0
        assert_exact(out, out_whole, "split")
        partial = np.full_like(base, np.nan)
        native.cfunc(x, base, partial, -5, 0)        # empty range: nothing written
        assert np.isnan(partial).all()


def test_rank_zero_kernel():
    x, out = Buffer("x", "int32", ()), Buffer("out", "int32", ())
    kernel = elementwise_kernel("scalar", [(x, ())], [out],
                                [Op("pow", (Load(x, ()), Const(3, "int32")), "int32")])
    result = np.zeros((), np.int32)
    assert compile_kernel(kernel)(np.array(-5, np.int32), result) == 0
    assert result == -125


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_random_layouts(data):
    """Random rank, broadcasting, permutation and slicing vs NumPy."""
    rank = data.draw(st.integers(1, 3))
    shape = tuple(data.draw(st.lists(st.integers(1, 5), min_size=rank, max_size=rank)))
    inputs, arrays, views = [], [], []
    for name in "xy":
        present = data.draw(st.lists(st.booleans(), min_size=rank, max_size=rank))
        dims = [d for d in range(rank) if present[d]]
        bcast = tuple(data.draw(st.booleans()) for _ in dims)
        order = data.draw(st.permutations(range(len(dims))))
        # buffer axis order[k] holds loop dim dims[k]
        axes = [None] * rank
        buf_shape = [0] * len(dims)
        for k, d in enumerate(dims):
            axes[d] = order[k]
            buf_shape[order[k]] = 1 if bcast[k] else shape[d]
        buf_bcast = [False] * len(dims)
        for k in range(len(dims)):
            buf_bcast[order[k]] = bcast[k]
        steps = [data.draw(st.sampled_from([1, 2, -1])) for _ in dims]
        big = RNG.standard_normal([n * abs(s) for n, s in zip(buf_shape, steps)])
        array = np.asarray(big[tuple(slice(None, None, s) for s in steps)])
        inputs.append((Buffer(name, "float64", tuple(buf_bcast)), tuple(axes)))
        arrays.append(array)
        # NumPy view of the array aligned with the loop dims
        view = array.transpose([axes[d] for d in dims]) if dims else array
        views.append(view.reshape([view.shape[dims.index(d)] if d in dims else 1
                                   for d in range(rank)]))
    out_bcast = tuple(all(ax[d] is None or b.broadcastable[ax[d]] for b, ax in inputs)
                      for d in range(rank))
    out_shape = tuple(1 if out_bcast[d] else shape[d] for d in range(rank))
    out = Buffer("out", "float64", out_bcast)
    expr = Op("sub", (Op("mul", (Load(inputs[0][0], ()), Const(3.0, "float64")), "float64"),
                      Load(inputs[1][0], ())), "float64")
    kernel = elementwise_kernel("rand", inputs, [out], [expr])
    result = np.full(out_shape, np.nan)
    assert compile_kernel(kernel)(*arrays, result) == 0
    assert_exact(result, np.broadcast_to(views[0] * 3.0 - views[1], out_shape), "random layout")


def test_contiguous_float64_loop_is_vectorized():
    kernel = binary_kernel("vec", (0, 1), (False, False), (0, 1), (False, False),
                           (False, False), op="mul")
    asm = compile_kernel(kernel).asm
    avx = host_vectors()[3]
    register = loop_register()      # zmm (or ymm) on AVX-512, ymm on AVX2, xmm on SSE2
    assert re.search(r"\b%smulpd\s+[^\n]*%%%s" % ("v" if avx else "", register), asm), register


def test_same_ir_compiles_once_and_same_name_kernels_coexist():
    k1 = binary_kernel("same", (0,), (False,), (0,), (False,), (False,), op="add")
    k2 = binary_kernel("same", (0,), (False,), (0,), (False,), (False,), op="sub")
    assert compile_kernel(k1) is compile_kernel(k1)
    n1, n2 = compile_kernel(k1), compile_kernel(k2)
    x, y = np.arange(3.0), np.ones(3)
    o1, o2 = np.empty(3), np.empty(3)
    assert n1(x, y, o1) == 0 and n2(x, y, o2) == 0
    assert_exact(o1, x + y, "add")
    assert_exact(o2, x - y, "sub")
    assert n1.compile_seconds > 0 and isinstance(n1.object_code, bytes)
    assert "fadd" in n1.llvm_ir


def test_printer_shows_guard_loops_and_begin_end():
    kernel = binary_kernel("show", (0, 1), (False, False), (None, 0), (False,),
                           (False, False), op="add")
    text = format_kernel(kernel)
    assert "if contiguous(x(0,1), out(0,1)):" not in text      # y is absent on dim 0
    assert "for i0 in 0..dim(out,0) within begin..end:" in text
    assert "out[i0, i1] = x[i0, i1] + y[i1]" in text


def _param_kernel(name="params"):
    """out[i] = x[i + off] + float(i * block) for i < min(block, len(out)); the rest
    of out untouched: a Param in a loop bound, in an index (through a let) and
    in a value."""
    from tjit.ir.nodes import Dim, Index, IntOp, Kernel, Param, Store, Var, let, split_range
    x, out = Buffer("x", "float64", (False,)), Buffer("out", "float64", (False,))
    block, off = Param("block"), Param("off")
    i, j = Var("i"), Var("j")
    value = Op("add", (Load(x, ((j, 0),)), Cast(Index(IntOp("mul", i, block)), "float64")),
               "float64")
    body = (split_range(i, IntOp("min", block, Dim(out, 0)),
                        let(j, IntOp("add", i, off), (Store(out, ((i, 0),), value),))),)
    return Kernel(name, (x, out), body, n_inputs=1, params=(block, off))


@pytest.mark.parametrize("level", [3, 0])
def test_int64_params_in_bounds_indices_and_values(level):
    kernel = _param_kernel()
    native = compile_kernel(kernel, level)
    x = RNG.standard_normal(40)
    for block, off, n in ((7, 3, 20), (30, 10, 20), (0, 0, 5), (5, 35, 5)):
        out = np.full(n, -7.0)
        assert native(x, out, block, off) == 0
        want = np.full(n, -7.0)
        m = min(block, n)
        want[:m] = x[off:off + m] + np.arange(m) * float(block)
        assert_exact(out, want, "params %d %d" % (block, off))
    out = np.full(20, -7.0)                      # begin/end still split the loop
    assert native(x, out, 12, 1, begin=4, end=9) == 0
    want = np.full(20, -7.0)
    want[4:9] = x[5:10] + np.arange(4, 9) * 12.0
    assert_exact(out, want, "params split")
    with pytest.raises(TypeError):
        native(x, out, 12)                      # a param missing
    with pytest.raises(TypeError):
        native(x, out, 1.5, 2)
    with pytest.raises(ValueError):
        native(x, out, 2 ** 63, 2)


def test_params_are_printed_serialized_and_part_of_the_cache_key():
    from tjit.ir.nodes import Param
    from tjit.ir.serialize import serialize
    kernel = _param_kernel("params_key")
    text = format_kernel(kernel)
    assert "kernel params_key(x: float64[:], out: float64[:], block: int64, off: int64)" in text
    assert "for i in 0..min(block, dim(out,0)) within begin..end:" in text
    assert "(i + off)" in text
    swapped = kernel.__class__(kernel.name, kernel.buffers, kernel.body, n_inputs=1,
                               params=(Param("off"), Param("block")))
    assert serialize(swapped) != serialize(kernel)
    a, b = compile_kernel(kernel), compile_kernel(swapped)
    assert a is not b
    x, out = RNG.standard_normal(40), np.zeros(20)
    assert b(x, out, 3, 4) == 0                 # off=3, block=4
    assert_exact(out[:4], x[3:7] + np.arange(4) * 4.0, "swapped params")
