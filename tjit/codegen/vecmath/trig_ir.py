"""IR building blocks for the trig family: float arithmetic, bit casts, error-free sums.

`FloatIR(em, ty)` emits straight-line code at `em.builder` for one float type
(`ir.DoubleType()` or `ir.FloatType()`). Every helper is branch free and uses
only operations LLVM's loop vectorizer widens (fma, fabs, copysign, rint and
sqrt intrinsics, selects, integer ops on bit casts, loads from constant tables
that become gathers).

No fast-math flags anywhere: the error-free transformations below (`two_sum`,
`two_prod`) rely on LLVM neither reassociating nor contracting fmul + fadd.
"""
from __future__ import annotations

from llvmlite import ir

I32, I64 = ir.IntType(32), ir.IntType(64)
F64 = ir.DoubleType()


class FloatIR:
    """Arithmetic on values of float type `ty`, emitted through ScalarEmitter `em`."""

    def __init__(self, em, ty):
        self.em, self.b, self.ty = em, em.builder, ty
        self.int_ty = I64 if isinstance(ty, ir.DoubleType) else I32

    # ---- constants, casts, bits -----------------------------------------------------
    def c(self, value):
        return ir.Constant(self.ty, float(value))

    def i(self, value):
        return ir.Constant(self.int_ty, value)

    def bits(self, x):
        return self.b.bitcast(x, self.int_ty)

    def from_bits(self, n):
        return self.b.bitcast(n, self.ty)

    def xor_sign(self, x, sign_source):
        """x with its sign flipped where `sign_source` has its sign bit set."""
        sign = self.b.and_(self.bits(sign_source), self.i(1 << (self.int_ty.width - 1)))
        return self.from_bits(self.b.xor(self.bits(x), sign))

    # ---- arithmetic -------------------------------------------------------------------
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
        return self.em.intrinsic("fma", a, b, c)

    def abs(self, a):
        return self.em.intrinsic("fabs", a)

    def copysign(self, magnitude, sign):
        return self.em.intrinsic("copysign", magnitude, sign)

    def rint(self, a):
        return self.em.intrinsic("rint", a)

    def sqrt(self, a):
        return self.em.intrinsic("sqrt", a)

    def horner(self, z, coeffs):
        """coeffs[0] + z*coeffs[1] + ... (fma Horner scheme)."""
        acc = self.c(coeffs[-1])
        for coefficient in reversed(coeffs[:-1]):
            acc = self.fma(acc, z, self.c(coefficient))
        return acc

    # ---- comparisons and selects (ordered: false when NaN is involved) --------------
    def lt(self, a, b):
        return self.b.fcmp_ordered("<", a, b)

    def le(self, a, b):
        return self.b.fcmp_ordered("<=", a, b)

    def eq(self, a, b):
        return self.b.fcmp_ordered("==", a, b)

    def is_nan(self, a):
        return self.b.fcmp_unordered("uno", a, a)

    def sel(self, cond, a, b):
        return self.b.select(cond, a, b)

    def pick(self, cases, default):
        """The value of the first (cond, value) in `cases` whose cond holds, else default."""
        result = default
        for cond, value in reversed(cases):
            result = self.sel(cond, value, result)
        return result

    # ---- error-free transformations (exact: hi + lo == the real result) --------------
    def two_sum(self, a, b):
        s = self.add(a, b)
        bb = self.sub(s, a)
        err = self.add(self.sub(a, self.sub(s, bb)), self.sub(b, bb))
        return s, err

    def fast_two_sum(self, a, b):
        """Requires |a| >= |b| (or a == 0)."""
        s = self.add(a, b)
        return s, self.sub(b, self.sub(s, a))

    def two_prod(self, a, b):
        p = self.mul(a, b)
        return p, self.fma(a, b, self.neg(p))


def load_table(em, name, values, index, elem=F64):
    """`values[index]` from an internal constant global array `name` (emitted once
    per module). `index` is an i64 the caller has clamped into range."""
    module = em.builder.module
    array_ty = ir.ArrayType(elem, len(values))
    table = module.globals.get(name)
    if table is None:
        table = ir.GlobalVariable(module, array_ty, name=name)
        table.linkage = "internal"
        table.global_constant = True
        table.initializer = ir.Constant(array_ty, [ir.Constant(elem, v) for v in values])
    address = em.builder.gep(table, [ir.Constant(I64, 0), index], inbounds=True,
                             source_etype=array_ty)
    return em.builder.load(address, typ=elem, align=8)


def float_rule(build64, build32):
    """An OPS rule: float-only, `build64(em, *args)` for float64 and `build32` (which
    receives the float32 args) for float32."""
    def emit(em, k, dtype, *args):
        if k != "f":
            raise TypeError("trig functions are defined for floats only, got kind %r" % k)
        return (build64 if dtype == "float64" else build32)(em, *args)
    return emit

