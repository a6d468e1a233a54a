"""Building blocks for branch-free float math in LLVM IR.

`Fp` wraps a `ScalarEmitter` with the few operations every vecmath family
(exp/log, pow, erf, trig) is written in, for one float type (float64 by default,
or float32 with i32 bit views): IEEE arithmetic (never fast-math: every rounding
is the one written, and the error-free transforms two_sum/two_prod rely on LLVM
neither reassociating nor contracting fmul + fadd), the fma, fabs, copysign,
trunc, rint and sqrt intrinsics, compares and selects, bit casts to integers.
Everything is straight-line code on scalars; LLVM's loop vectorizer widens it
(selects become masked blends, i64 shifts and adds become vector integer ops),
which is the point: a libm call in the loop body would stop it.

Also here: `scale` (x * 2**k without premature underflow), `horner`, the
special-value patches shared by the float64 and float32 log families, and
`float_rule`, which turns a float64 builder (and optionally a native float32
one) into a `RULES` entry; without a float32 builder, float32 is evaluated in
float64 and rounded once (`in_float64`).
"""
from __future__ import annotations

import math

from llvmlite import ir

F64 = ir.DoubleType()
F32 = ir.FloatType()
I64 = ir.IntType(64)
I32 = ir.IntType(32)
I1 = ir.IntType(1)


class Fp:
    """Arithmetic on float type `ty` (F64 or F32) emitted at `em.builder` (see the
    module docstring). Integer views (`bits`, `i`, shifts) are i64 resp. i32."""

    def __init__(self, em, ty=F64):
        self.em = em
        self.b = em.builder
        self.ty = ty
        wide = ty == F64
        self.ity = I64 if wide else I32
        self.mantissa_bits = 52 if wide else 23
        self.bias = 1023 if wide else 127

    # ---- constants and arithmetic -------------------------------------------
    def c(self, value):
        """A constant of the float type (float32: `value` rounded to nearest)."""
        return ir.Constant(self.ty, float(value))

    def i(self, value):
        """An integer constant of the bit-view width (two's complement wrap)."""
        width = self.ity.width
        value = int(value) & ((1 << width) - 1)
        return ir.Constant(self.ity, value - (1 << width) if value >> (width - 1) else value)

    def add(self, a, b):
        return self.b.fadd(a, b)

    def sub(self, a, b):
        return self.b.fsub(a, b)

    def mul(self, a, b):
        return self.b.fmul(a, b)

    def div(self, a, b):
        return self.b.fdiv(a, b)

    def neg(self, a):
        return self.b.fneg(a)

    def fma(self, a, b, c):
        """a * b + c with a single rounding (the host has FMA, so one instruction)."""
        return self.em.intrinsic("fma", a, b, c)

    def abs(self, a):
        return self.em.intrinsic("fabs", a)

    def copysign(self, magnitude, sign):
        return self.em.intrinsic("copysign", magnitude, sign)

    def trunc(self, a):
        return self.em.intrinsic("trunc", a)

    def rint(self, a):
        return self.em.intrinsic("rint", a)

    def sqrt(self, a):
        return self.em.intrinsic("sqrt", a)

    # ---- comparisons (ordered: false on NaN) and selects ----------------------
    def lt(self, a, b):
        return self.b.fcmp_ordered("<", a, b)

    def le(self, a, b):
        return self.b.fcmp_ordered("<=", a, b)

    def gt(self, a, b):
        return self.b.fcmp_ordered(">", a, b)

    def ge(self, a, b):
        return self.b.fcmp_ordered(">=", a, b)

    def eq(self, a, b):
        return self.b.fcmp_ordered("==", a, b)

    def ne(self, a, b):
        """Ordered not-equal: false if either is NaN."""
        return self.b.fcmp_ordered("!=", a, b)

    def isnan(self, a):
        return self.b.fcmp_unordered("uno", a, a)

    def and_(self, a, b):
        return self.b.and_(a, b)

    def or_(self, a, b):
        return self.b.or_(a, b)

    def not_(self, a):
        return self.b.not_(a)

    def sel(self, cond, a, b):
        return self.b.select(cond, a, b)

    def pick(self, cases, default):
        """The value of the first (cond, value) in `cases` whose cond holds, else default."""
        result = default
        for cond, value in reversed(cases):
            result = self.sel(cond, value, result)
        return result

    def clamp(self, x, lo, hi):
        """x limited to [lo, hi]; NaN stays NaN (unlike minnum/maxnum)."""
        x = self.sel(self.lt(x, self.c(lo)), self.c(lo), x)
        return self.sel(self.gt(x, self.c(hi)), self.c(hi), x)

    def signbit(self, x):
        return self.b.icmp_signed("<", self.bits(x), self.i(0))

    # ---- integer view ---------------------------------------------------------
    def bits(self, x):
        return self.b.bitcast(x, self.ity)

    def from_bits(self, n):
        return self.b.bitcast(n, self.ty)

    def xor_sign(self, x, sign_source):
        """x with its sign flipped where `sign_source` has its sign bit set."""
        sign = self.iand(self.bits(sign_source), 1 << (self.ity.width - 1))
        return self.from_bits(self.b.xor(self.bits(x), sign))

    def iadd(self, a, b):
        return self.b.add(a, b)

    def isub(self, a, b):
        return self.b.sub(a, b)

    def shl(self, a, n):
        return self.b.shl(a, self.i(n))

    def ashr(self, a, n):
        return self.b.ashr(a, self.i(n))

    def iand(self, a, mask):
        return self.b.and_(a, self.i(mask))

    def to_float(self, n):
        return self.b.sitofp(n, self.ty)

    # ---- error-free transforms --------------------------------------------------
    def two_sum(self, a, b):
        """(s, e) with s = fl(a + b) and s + e = a + b exactly (Knuth)."""
        s = self.add(a, b)
        bb = self.sub(s, a)
        e = self.add(self.sub(a, self.sub(s, bb)), self.sub(b, bb))
        return s, e

    def fast_two_sum(self, a, b, b_minus_delta=False):
        """Like two_sum, valid when exponent(a) >= exponent(b) or a == 0 (Dekker).

        The error is (a - s) + b, or with `b_minus_delta` b - (s - a), the form the
        trig family was validated with. Under the precondition both are exact and
        equal, except that a zero error may differ in sign (b = -0)."""
        s = self.add(a, b)
        if b_minus_delta:
            return s, self.sub(b, self.sub(s, a))
        return s, self.add(self.sub(a, s), b)

    def two_prod(self, a, b):
        """(p, e) with p = fl(a * b) and p + e = a * b exactly (barring underflow)."""
        p = self.mul(a, b)
        return p, self.fma(a, b, self.neg(p))

    # ---- polynomials and scaling ---------------------------------------------------
    def horner(self, x, coefficients):
        """c[0] + c[1] x + c[2] x**2 + ... by fma steps (throughput, not latency,
        bounds a vectorized loop, so Horner's op count is what matters)."""
        acc = self.c(coefficients[-1])
        for coefficient in reversed(coefficients[:-1]):
            acc = self.fma(acc, x, self.c(coefficient))
        return acc

    def horner_dd(self, x, coefficients, steps, x_lo=None):
        """Like `horner`, but the last `steps` steps run in double-double, giving
        (hi, lo) with the rounding errors of the leading terms kept; `x_lo`, the tail
        of x, enters those steps too (first order). Those leading coefficients may
        be (hi, lo) pairs, for fits whose rounding to double would show."""
        acc = self.horner(x, coefficients[steps:])
        hi, lo = acc, self.c(0.0)
        for coefficient in reversed(coefficients[:steps]):
            p_hi, p_err = self.two_prod(hi, x)
            p_lo = self.fma(lo, x, p_err)
            if x_lo is not None:
                p_lo = self.fma(hi, x_lo, p_lo)
            c_hi, c_lo = coefficient if isinstance(coefficient, tuple) else (coefficient, 0.0)
            hi, err = self.two_sum(self.c(c_hi), p_hi)
            lo = self.add(err, self.add(p_lo, self.c(c_lo)))
        return hi, lo

    def pow2(self, k):
        """2.0**k for an integer k in [1 - bias, bias] (built in the exponent field;
        float64: [-1022, 1023], float32: [-126, 127])."""
        return self.from_bits(self.shl(self.iadd(k, self.i(self.bias)), self.mantissa_bits))

    def scale(self, x, k):
        """x * 2**k for integer k in [-2044, 2046] (float32: [-252, 254]), rounded once.

        Two multiplications by normal powers of two: the first is exact, so a
        result in the subnormal range is rounded only once (gradual underflow),
        and a result past the top overflows to inf as it should."""
        half = self.ashr(k, 1)
        return self.mul(self.mul(x, self.pow2(half)), self.pow2(self.isub(k, half)))


def log_specials(fp, x, result):
    """Patch log results: x = +inf -> inf, x = 0 -> -inf, x < 0 -> NaN, NaN -> NaN."""
    result = fp.sel(fp.eq(x, fp.c(math.inf)), fp.c(math.inf), result)
    result = fp.sel(fp.eq(x, fp.c(0.0)), fp.c(-math.inf), result)
    result = fp.sel(fp.lt(x, fp.c(0.0)), fp.c(math.nan), result)
    return fp.sel(fp.isnan(x), x, result)


def log1p_specials(fp, x, result, tiny):
    """Patch log1p results: |x| < tiny -> x (log1p(x) = x - x**2/2 rounds to x;
    keeps log1p(-0) = -0), +inf -> inf, -1 -> -inf, below -1 -> NaN, NaN -> NaN."""
    result = fp.sel(fp.lt(fp.abs(x), fp.c(tiny)), x, result)
    result = fp.sel(fp.eq(x, fp.c(math.inf)), fp.c(math.inf), result)
    result = fp.sel(fp.eq(x, fp.c(-1.0)), fp.c(-math.inf), result)
    result = fp.sel(fp.lt(x, fp.c(-1.0)), fp.c(math.nan), result)
    return fp.sel(fp.isnan(x), x, result)


def in_float64(build):
    """A float32 builder from a float64 one: the float32 arguments are widened,
    `build(Fp(em), *args)` runs in float64 and its result is rounded once."""
    def build32(fp32, *args):
        wide = [fp32.b.fpext(a, F64) for a in args]
        return fp32.b.fptrunc(build(Fp(fp32.em), *wide), F32)
    return build32


def float_rule(build, name, build32=None):
    """A `RULES` entry from `build(fp, *float64 args) -> float64 value`.

    float32 arguments go to `build32(fp32, *float32 args)` if given (native
    float32, 16 lanes per zmm). Otherwise they are widened, computed in float64
    and rounded once at the end: the float64 result is within ~1 float64 ulp, so
    the float32 result is the correctly rounded one or its neighbour, and float32
    overflow, underflow and subnormals fall out of that final rounding. Raises
    TypeError for non-float dtypes, as scalar_ops does for float-only ops."""
    narrow_build = build32 if build32 is not None else in_float64(build)

    def emit(em, k, dtype, *args):
        if k != "f":
            raise TypeError("scalar op %r is not defined for dtype kind %r" % (name, k))
        if args[0].type == F32:
            return narrow_build(Fp(em, F32), *args)
        return build(Fp(em), *args)
    emit.__name__ = "emit_" + name
    return emit
