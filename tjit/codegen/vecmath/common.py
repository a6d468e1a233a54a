"""Building blocks for branch-free float math in LLVM IR.

`Fp` wraps a `ScalarEmitter` with the few operations every vecmath family
(exp/log, pow, erf, trig) is written in, for one float type (float64 by default,
or float32 with i32 bit views): IEEE arithmetic (never fast-math: every rounding
is the one written, and the error-free transforms two_sum/two_prod rely on LLVM
neither reassociating nor contracting fmul + fadd), fma (exact: one rounding)
and muladd (a polynomial step, where an extra rounding is harmless), fabs, copysign,
trunc, rint and sqrt intrinsics, compares and selects, bit casts to integers.
Everything is straight-line code on scalars; LLVM's loop vectorizer widens it
(selects become masked blends, i64 shifts and adds become vector integer ops),
which is the point: a libm call in the loop body would stop it.

The target decides how fma is spelled (`target_has`, read when the IR is
built; the library is built and cached per target): with FMA, both are the
`llvm.fma` instruction; without it (x86-64, x86-64-v2), where LLVM would call
libm's `fma` per lane, `muladd` is a multiply and an add and `fma` an error-free
emulation (Dekker's product plus Knuth's sum), so the code stays vectorized
and the exact steps stay exact.

Also here: `scale` (x * 2**k without premature underflow), `horner`, the
special-value patches shared by the float64 and float32 log families, and
`float_rule`, which turns a float64 builder (and optionally a native float32
one) into a `RULES` entry; without a float32 builder, float32 is evaluated in
float64 and rounded once (`in_float64`).
"""
from __future__ import annotations

import math

from llvmlite import ir

from .. import target as targets

F64 = ir.DoubleType()
F32 = ir.FloatType()
I64 = ir.IntType(64)
I32 = ir.IntType(32)
I1 = ir.IntType(1)


def target_has(feature, target=None):
    """Whether `target` (default: the one code is generated for now) has the x86
    `feature` ("fma", "sse4.1"). Other architectures (aarch64) are taken to have
    them: their base ISA has fused multiply-add and rounding instructions."""
    t = target or targets.current()
    if not t.triple.startswith(("x86_64", "i386", "i686")):
        return True
    if t.name == "host":
        return "+" + feature in t.features.split(",")
    return feature in targets.required_features(t)


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
        self.has_fma = target_has("fma")
        self.has_round = target_has("sse4.1")     # roundps/roundpd: rint, trunc

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
        """a * b + c with a single rounding: one instruction where the target has
        FMA, else emulated (exact where a * b + c is representable, else within
        an ulp: what the callers' exact steps need)."""
        if self.has_fma:
            return self.em.intrinsic("fma", a, b, c)
        p, e = self.two_prod(a, b)
        s, t = self.two_sum(p, c)
        tail = self.add(t, e)
        # a zero tail leaves s (keeping the sign of a zero s: -0 * 1 + -0 = -0);
        # so does a NaN one (s = +-inf or NaN is then the answer)
        return self.sel(self.ne(tail, self.c(0.0)), self.add(s, tail), s)

    def muladd(self, a, b, c):
        """a * b + c, fused where the target has FMA (then the same bits as `fma`),
        else a multiply and an add: for polynomial steps."""
        if self.has_fma:
            return self.em.intrinsic("fma", a, b, c)
        return self.add(self.mul(a, b), c)

    def abs(self, a):
        return self.em.intrinsic("fabs", a)

    def copysign(self, magnitude, sign):
        return self.em.intrinsic("copysign", magnitude, sign)

    def trunc(self, a):
        if self.has_round:
            return self.em.intrinsic("trunc", a)
        r = self.rint(self.abs(a))
        r = self.sel(self.gt(r, self.abs(a)), self.sub(r, self.c(1.0)), r)
        return self.copysign(r, a)

    def rint(self, a):
        """a rounded to an integer, ties to even. Without SSE4.1 (where LLVM
        would call libm) by adding and subtracting 2**52 (float32: 2**23) to |a|."""
        if self.has_round:
            return self.em.intrinsic("rint", a)
        big = self.c(2.0 ** self.mantissa_bits)
        r = self.copysign(self.sub(self.add(self.abs(a), big), big), a)
        return self.sel(self.lt(self.abs(a), big), r, a)     # NaN, inf, big: a

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
        """(p, e) with p = fl(a * b) and p + e = a * b exactly (barring underflow;
        without FMA also barring overflow of the split, |a|, |b| < 2**995 resp. 2**114)."""
        p = self.mul(a, b)
        if self.has_fma:
            return p, self.fma(a, b, self.neg(p))
        a_hi, a_lo = self.split(a)
        b_hi, b_lo = self.split(b)
        e = self.sub(self.mul(a_hi, b_hi), p)
        e = self.add(self.add(e, self.mul(a_hi, b_lo)), self.mul(a_lo, b_hi))
        e = self.add(e, self.mul(a_lo, b_lo))
        # p = +-inf, or a split overflowed: no finite error term (fma gives p)
        return p, self.sel(self.lt(self.abs(e), self.c(math.inf)), e, self.c(0.0))

    def split(self, a):
        """(hi, lo) with a = hi + lo exactly, each with at most half the mantissa
        bits (Veltkamp), so products of halves are exact."""
        t = self.mul(a, self.c(134217729.0 if self.ty == F64 else 4097.0))
        hi = self.sub(t, self.sub(t, a))
        return hi, self.sub(a, hi)

    # ---- polynomials and scaling ---------------------------------------------------
    def horner(self, x, coefficients):
        """c[0] + c[1] x + c[2] x**2 + ... by fma steps (throughput, not latency,
        bounds a vectorized loop, so Horner's op count is what matters)."""
        acc = self.c(coefficients[-1])
        for coefficient in reversed(coefficients[:-1]):
            acc = self.muladd(acc, x, self.c(coefficient))
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
            p_lo = self.muladd(lo, x, p_err)
            if x_lo is not None:
                p_lo = self.muladd(hi, x_lo, p_lo)
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
    float32, twice float64's lanes). Otherwise they are widened, computed in float64
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
