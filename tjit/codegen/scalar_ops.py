"""Scalar code for LLVM: one small builder per `SCALAR_OPS` name, casts and constants.

Semantics are NumPy's (see `tjit.ir.nodes.SCALAR_OPS`), for bool, int8..int64,
uint8..uint64, float32 and float64. Nothing traps: integer division by zero
gives 0, INT_MIN // -1 wraps to INT_MIN, float->int casts saturate. No fast-math
flags are used, so float results match NumPy bit for bit where NumPy's result is
exactly defined. Bools are `i1` in registers (stored as `i8` 0/1 by the caller).

On bools, arithmetic is logical (add = or, mul = and, sub = xor, maximum = or,
minimum = and, x // y = x and y, x % y = False, x ** y = x or not y; neg, abs,
sgn and rounding are the identity); rounding ops are the identity on ints.
Float-only ops (true_div, exp, ...) applied to other dtypes raise TypeError at
emission: the graph stage casts first.
"""
from __future__ import annotations

import math

import numpy as np
from llvmlite import ir

from tjit.codegen import special_funcs

FLOAT_TYPES = {"float32": ir.FloatType(), "float64": ir.DoubleType()}
INT_BITS = {"int8": 8, "int16": 16, "int32": 32, "int64": 64,
            "uint8": 8, "uint16": 16, "uint32": 32, "uint64": 64}
DTYPES = ("bool",) + tuple(INT_BITS) + tuple(FLOAT_TYPES)
I1, I64 = ir.IntType(1), ir.IntType(64)


def kind(dtype):
    """'b' bool, 'i' signed int, 'u' unsigned int, 'f' float (NumPy's dtype.kind)."""
    try:
        return _KINDS[dtype]
    except KeyError:
        raise TypeError("tjit codegen does not support dtype %r" % (dtype,)) from None


_KINDS = {"bool": "b", **{d: "f" for d in FLOAT_TYPES},
          **{d: "u" if d.startswith("u") else "i" for d in INT_BITS}}


def value_type(dtype):
    """The LLVM type of a `dtype` value in registers (bool -> i1)."""
    if kind(dtype) == "b":
        return I1
    return FLOAT_TYPES.get(dtype) or ir.IntType(INT_BITS[dtype])


def storage_type(dtype):
    """The LLVM type of a `dtype` element in memory (bool -> i8)."""
    ty = _STORAGE.get(dtype)
    if ty is None:
        ty = _STORAGE[dtype] = ir.IntType(8) if dtype == "bool" else value_type(dtype)
    return ty


_STORAGE = {}


def _suffix(ty):
    if isinstance(ty, ir.FloatType):
        return "f32"
    if isinstance(ty, ir.DoubleType):
        return "f64"
    return "i%d" % ty.width


class ScalarEmitter:
    """Emits scalar code at `builder`'s position; declares callees in its module."""
    library_symbol = None   # (op name, dtype) -> the math library function to call

    def __init__(self, builder):
        self.builder = builder
        self.module = builder.module
        self._emitters = {}      # (op name, dtype) -> its emitting function

    # ---- declarations ---------------------------------------------------------
    def declare(self, name, ret, args, attrs=()):
        fn = self.module.globals.get(name)
        if fn is None:
            fn = ir.Function(self.module, ir.FunctionType(ret, args), name=name)
            for attr in attrs:
                fn.attributes.add(attr)
        return fn

    def intrinsic(self, base, *args, ret=None):
        """Call `llvm.<base>.<type of args[0]>`."""
        ty = args[0].type
        ret = ret or ty
        fn = self.declare("llvm.%s.%s" % (base, _suffix(ty)), ret, [a.type for a in args])
        return self.builder.call(fn, args)

    def libm(self, name, *args):
        """Call the C math function `name` (`name`f for float32)."""
        ty = args[0].type
        cname = name + "f" if isinstance(ty, ir.FloatType) else name
        fn = self.declare(cname, ty, [a.type for a in args], attrs=("nounwind", "readnone"))
        return self.builder.call(fn, args)

    def helper(self, name, ret, arg_types, build):
        """Call an internal helper function, emitting it first via `build(em, args)`."""
        fn = self.module.globals.get(name)
        if fn is None:
            fn = ir.Function(self.module, ir.FunctionType(ret, arg_types), name=name)
            fn.linkage = "internal"
            fn.attributes.add("nounwind")
            inner = ScalarEmitter(ir.IRBuilder(fn.append_basic_block("entry")))
            build(inner, fn.args)
        return fn

    def call_helper(self, name, build, *args):
        fn = self.helper(name, args[0].type, [a.type for a in args], build)
        return self.builder.call(fn, args)

    # ---- values ---------------------------------------------------------------
    def const(self, value, dtype):
        """An LLVM constant of `dtype` holding `value` (ints wrap to the width)."""
        ty = value_type(dtype)
        if kind(dtype) == "f":
            value = float(value)
            if dtype == "float32" and math.isfinite(value):
                value = float(np.float32(value))
            return ir.Constant(ty, value)
        bits = ty.width
        value = int(value) & ((1 << bits) - 1)
        if bits > 1 and value >= 1 << (bits - 1):
            value -= 1 << bits
        return ir.Constant(ty, value)

    def op(self, name, args, arg_dtype, dtype):
        """Emit `SCALAR_OPS[name]` on `args` whose dtype is `arg_dtype` (for
        `switch`, the dtype of the two branches); `dtype` is the result dtype."""
        emit = self._emitters.get((name, arg_dtype))
        if emit is None:
            emit = self._emitters[name, arg_dtype] = self._emitter(name, arg_dtype)
        return emit(*args)

    def _emitter(self, name, arg_dtype):
        """A function of the operands emitting op `name` on `arg_dtype`."""
        k = kind(arg_dtype)
        opcode = INSTRUCTIONS.get((name, k))
        if opcode is not None:
            return lambda a, b: self.binary(opcode, a, b)
        rule = OPS.get(name)
        if rule is None:
            raise NotImplementedError("no codegen rule for scalar op %r" % name)
        return lambda *args: rule(self, k, arg_dtype, *args)

    def binary(self, opcode, a, b):
        """The LLVM instruction `opcode` (a value of `INSTRUCTIONS`) on a and b."""
        return getattr(self.builder, _BUILDER_METHODS.get(opcode, opcode))(a, b)

    def cast(self, value, src, dst):
        """NumPy `astype` from `src` to `dst` (float->int saturates, never UB)."""
        if src == dst:
            return value
        b, ks, kd = self.builder, kind(src), kind(dst)
        ty = value_type(dst)
        if kd == "b":
            if ks == "f":
                return b.fcmp_unordered("!=", value, ir.Constant(value.type, 0.0))
            return b.icmp_unsigned("!=", value, ir.Constant(value.type, 0))
        if ks == "b":
            return b.uitofp(value, ty) if kd == "f" else b.zext(value, ty)
        if ks != "f" and kd != "f":
            if ty.width < value.type.width:
                return b.trunc(value, ty)
            if ty.width > value.type.width:
                return b.sext(value, ty) if ks == "i" else b.zext(value, ty)
            return value
        if kd == "f":
            if ks == "f":
                widen = isinstance(ty, ir.DoubleType)
                return b.fpext(value, ty) if widen else b.fptrunc(value, ty)
            return b.sitofp(value, ty) if ks == "i" else b.uitofp(value, ty)
        # float -> int: like C on x86, go through a 64-bit signed convert and
        # truncate, so e.g. -1.0 -> uint8 gives 255 as NumPy does.
        as_i64 = self.intrinsic("fptosi.sat", value, ret=I64)
        if ty.width < 64:
            return b.trunc(as_i64, ty)
        if kd == "i":
            return as_i64
        as_u64 = self.intrinsic("fptoui.sat", value, ret=I64)
        small = b.fcmp_ordered("<", value, ir.Constant(value.type, 2.0 ** 63))
        return b.select(small, as_i64, as_u64)


# ---- the op tables ----------------------------------------------------------------
# Ops that are one LLVM instruction: (op name, dtype kind) -> opcode. On bools
# arithmetic is logical (add = or, sub = xor, mul = and).
INSTRUCTIONS = {("add", "f"): "fadd", ("sub", "f"): "fsub", ("mul", "f"): "fmul",
                ("true_div", "f"): "fdiv", ("add", "b"): "or", ("sub", "b"): "xor",
                ("mul", "b"): "and"}
for _k in "iu":
    INSTRUCTIONS.update({("add", _k): "add", ("sub", _k): "sub", ("mul", _k): "mul"})
for _k in "biu":
    INSTRUCTIONS.update({("and", _k): "and", ("or", _k): "or", ("xor", _k): "xor"})
_BUILDER_METHODS = {"and": "and_", "or": "or_"}      # IRBuilder's spelling of an opcode
# Every other op: name -> rule(em, kind, dtype, *args) building its code.
OPS = {}


def rule(*names):
    def register(fn):
        for name in names:
            OPS[name] = fn
        return fn
    return register


def _require(k, allowed, name):
    if k not in allowed:
        raise TypeError("scalar op %r is not defined for dtype kind %r" % (name, k))


def _zero(x):
    return ir.Constant(x.type, 0.0 if isinstance(x.type, (ir.FloatType, ir.DoubleType)) else 0)


def _one(x):
    return ir.Constant(x.type, 1.0 if isinstance(x.type, (ir.FloatType, ir.DoubleType)) else 1)


@rule("sqr")
def _sqr(em, k, dt, a):
    return em.binary(INSTRUCTIONS["mul", k], a, a)


@rule("fma")
def _fma(em, k, dt, a, b, c):
    """a * b + c rounded once (llvm.fma, floats only): the scan loop's
    matrix-vector kernels use it, as BLAS's do."""
    return em.intrinsic("fma", a, b, c)


@rule("true_div")
def _true_div(em, k, dt, a, b):
    _require(k, "f", "true_div")
    return em.builder.fdiv(a, b)


def _float_divmod(em, a, b):
    """NumPy's npy_divmod + npy_floor_divide/npy_remainder, step for step."""
    bd = em.builder
    zero, one = _zero(a), _one(a)
    fmod = bd.frem(a, b)
    quotient = bd.fdiv(a, b)
    div = bd.fdiv(bd.fsub(a, fmod), b)
    mod_nonzero = bd.fcmp_unordered("!=", fmod, zero)      # C `if (mod)`: NaN is true
    sign_differs = bd.xor(bd.fcmp_ordered("<", b, zero), bd.fcmp_ordered("<", fmod, zero))
    adjust = bd.and_(mod_nonzero, sign_differs)
    mod = bd.select(adjust, bd.fadd(fmod, b), fmod)
    div = bd.select(adjust, bd.fsub(div, one), div)
    mod = bd.select(mod_nonzero, mod, em.intrinsic("copysign", zero, b))
    floor = em.intrinsic("floor", div)
    half = ir.Constant(a.type, 0.5)
    floor = bd.select(bd.fcmp_ordered(">", bd.fsub(div, floor), half), bd.fadd(floor, one), floor)
    div_nonzero = bd.fcmp_unordered("!=", div, zero)
    floordiv = bd.select(div_nonzero, floor, em.intrinsic("copysign", zero, quotient))
    b_zero = bd.fcmp_ordered("==", b, zero)
    return bd.select(b_zero, quotient, floordiv), bd.select(b_zero, fmod, mod)


def _int_divmod(em, k, a, b):
    """Floor division and modulo with x // 0 == x % 0 == 0 and MIN // -1 == MIN."""
    bd = em.builder
    zero, one = _zero(a), _one(a)
    b_zero = bd.icmp_unsigned("==", b, zero)
    if k == "u":
        safe = bd.select(b_zero, one, b)
        q, r = bd.udiv(a, safe), bd.urem(a, safe)
    else:
        int_min = ir.Constant(a.type, -(1 << (a.type.width - 1)))
        overflow = bd.and_(bd.icmp_signed("==", a, int_min),
                           bd.icmp_signed("==", b, ir.Constant(a.type, -1)))
        # b = 1 stands in for -1 there: MIN / 1 == MIN (the wrapped result), MIN % 1 == 0.
        safe = bd.select(bd.or_(b_zero, overflow), one, b)
        q, r = bd.sdiv(a, safe), bd.srem(a, safe)
        adjust = bd.and_(bd.icmp_signed("!=", r, zero),
                         bd.icmp_signed("<", bd.xor(r, b), zero))
        q = bd.select(adjust, bd.sub(q, one), q)
        r = bd.select(adjust, bd.add(r, b), r)
    return bd.select(b_zero, zero, q), bd.select(b_zero, zero, r)


@rule("int_div")
def _int_div(em, k, dt, a, b):
    if k == "f":
        return _float_divmod(em, a, b)[0]
    if k == "b":
        return em.builder.and_(a, b)
    return _int_divmod(em, k, a, b)[0]


@rule("mod")
def _mod(em, k, dt, a, b):
    if k == "f":
        return _float_divmod(em, a, b)[1]
    if k == "b":
        return ir.Constant(I1, 0)
    return _int_divmod(em, k, a, b)[1]


@rule("pow")
def _pow(em, k, dt, a, b):
    if k == "f":
        return em.libm("pow", a, b)
    if k == "b":
        return em.builder.or_(a, em.builder.not_(b))
    build = special_funcs.build_ipow_signed if k == "i" else special_funcs.build_ipow_unsigned
    return em.call_helper("tjit.ipow.%s" % dt, build, a, b)


def _extremum(name, signed_name, unsigned_name):
    def emit(em, k, dt, a, b):
        if k == "f":
            return em.intrinsic(name, a, b)      # IEEE maximum/minimum: NaN-propagating
        return em.intrinsic(signed_name if k == "i" else unsigned_name, a, b)
    return emit


OPS["maximum"] = _extremum("maximum", "smax", "umax")
OPS["minimum"] = _extremum("minimum", "smin", "umin")


@rule("clip")
def _clip(em, k, dt, x, lo, hi):
    return OPS["minimum"](em, k, dt, OPS["maximum"](em, k, dt, x, lo), hi)


@rule("neg")
def _neg(em, k, dt, a):
    if k == "f":
        return em.builder.fneg(a)
    return a if k == "b" else em.builder.neg(a)


@rule("abs")
def _abs(em, k, dt, a):
    if k == "f":
        return em.intrinsic("fabs", a)
    if k == "i":
        return em.builder.select(em.builder.icmp_signed("<", a, _zero(a)), em.builder.neg(a), a)
    return a


@rule("sgn")
def _sgn(em, k, dt, a):
    bd = em.builder
    if k == "f":
        zero, one = _zero(a), _one(a)
        result = bd.select(bd.fcmp_ordered("==", a, zero), zero, a)       # keeps NaN
        result = bd.select(bd.fcmp_ordered("<", a, zero), bd.fneg(one), result)
        return bd.select(bd.fcmp_ordered(">", a, zero), one, result)
    if k == "i":
        return bd.sub(bd.zext(bd.icmp_signed(">", a, _zero(a)), a.type),
                      bd.zext(bd.icmp_signed("<", a, _zero(a)), a.type))
    if k == "u":
        return bd.zext(bd.icmp_unsigned("!=", a, _zero(a)), a.type)
    return a


def _libm_rule(name, cname):
    def emit(em, k, dt, *args):
        _require(k, "f", name)
        return em.libm(cname, *args)
    OPS[name] = emit


for _name, _cname in [("exp", "exp"), ("exp2", "exp2"), ("expm1", "expm1"), ("log", "log"),
                      ("log2", "log2"), ("log10", "log10"), ("log1p", "log1p"),
                      ("sin", "sin"), ("cos", "cos"), ("tan", "tan"), ("arcsin", "asin"),
                      ("arccos", "acos"), ("arctan", "atan"), ("arctan2", "atan2"),
                      ("sinh", "sinh"), ("cosh", "cosh"), ("tanh", "tanh"), ("erf", "erf"),
                      ("erfc", "erfc"), ("gamma", "tgamma")]:
    _libm_rule(_name, _cname)


@rule("gammaln")
def _gammaln(em, k, dt, a):
    _require(k, "f", "gammaln")
    # scipy.special.gammaln(-inf) is -inf where C's lgamma gives +inf.
    minus_inf = ir.Constant(a.type, -math.inf)
    is_minus_inf = em.builder.fcmp_ordered("==", a, minus_inf)
    return em.builder.select(is_minus_inf, minus_inf, em.libm("lgamma", a))


def _via_float64(build, name):
    """A float64 helper, used for float32 too (computed in float64, then rounded)."""
    def emit(em, k, dt, a):
        _require(k, "f", name)
        f64 = ir.DoubleType()
        wide = a if a.type == f64 else em.builder.fpext(a, f64)
        result = em.call_helper("tjit.%s.f64" % name, build, wide)
        return result if a.type == f64 else em.builder.fptrunc(result, a.type)
    OPS[name] = emit


_via_float64(special_funcs.build_erfinv, "erfinv")
_via_float64(special_funcs.build_digamma, "psi")


@rule("sqrt")
def _sqrt(em, k, dt, a):
    _require(k, "f", "sqrt")
    return em.intrinsic("sqrt", a)


@rule("sigmoid")
def _sigmoid(em, k, dt, a):
    _require(k, "f", "sigmoid")
    bd = em.builder
    return bd.fdiv(_one(a), bd.fadd(_one(a), em.libm("exp", bd.fneg(a))))


@rule("softplus")
def _softplus(em, k, dt, a):
    _require(k, "f", "softplus")
    # max(x, 0) + log1p(exp(-|x|)): never overflows, exact 0 at -inf, NaN stays NaN.
    bd = em.builder
    tail = em.libm("log1p", em.libm("exp", bd.fneg(em.intrinsic("fabs", a))))
    return bd.fadd(em.intrinsic("maximum", a, _zero(a)), tail)


def _rounding_rule(name, intrinsic):
    def emit(em, k, dt, a):
        return em.intrinsic(intrinsic, a) if k == "f" else a     # ints are already integral
    OPS[name] = emit


for _name, _intrinsic in [("floor", "floor"), ("ceil", "ceil"), ("trunc", "trunc"),
                          ("round_half_even", "roundeven"), ("round_half_away", "round")]:
    _rounding_rule(_name, _intrinsic)


def _comparison_rule(name, symbol):
    def emit(em, k, dt, a, b):
        bd = em.builder
        if k == "f":
            # Ordered except !=: every comparison with NaN is False, NaN != x is True.
            if symbol == "!=":
                return bd.fcmp_unordered(symbol, a, b)
            return bd.fcmp_ordered(symbol, a, b)
        if k == "i":
            return bd.icmp_signed(symbol, a, b)
        return bd.icmp_unsigned(symbol, a, b)
    OPS[name] = emit


for _name, _symbol in [("lt", "<"), ("le", "<="), ("gt", ">"), ("ge", ">="),
                       ("eq", "=="), ("neq", "!=")]:
    _comparison_rule(_name, _symbol)


@rule("isnan")
def _isnan(em, k, dt, a):
    if k != "f":
        return ir.Constant(I1, 0)
    return em.builder.fcmp_unordered("uno", a, a)


@rule("isinf")
def _isinf(em, k, dt, a):
    if k != "f":
        return ir.Constant(I1, 0)
    return em.builder.fcmp_ordered("==", em.intrinsic("fabs", a), ir.Constant(a.type, math.inf))


def _bitwise_rule(name, method):
    def emit(em, k, dt, a, b):
        _require(k, "biu", name)
        return getattr(em.builder, method)(a, b)
    OPS[name] = emit


for _name, _method in [("and", "and_"), ("or", "or_"), ("xor", "xor")]:
    _bitwise_rule(_name, _method)


@rule("invert")
def _invert(em, k, dt, a):
    _require(k, "biu", "invert")
    return em.builder.not_(a)


@rule("switch")
def _switch(em, k, dt, cond, a, b):
    return em.builder.select(cond, a, b)


# The math library's functions (tjit.codegen.vecmath's RULES, built once per
# machine by tjit.codegen.mathlib) override the libm calls above: on floats these
# ops are calls to `em.library_symbol(name, dtype)` (the vector library at
# level 3, which LLVM's loop vectorizer maps to vector variants; the scalar one
# at level 0). Integer pow stays exact, inline; the other ops are float-only.
LIBRARY_OPS = frozenset((
    "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2", "arctanh", "cos", "cosh",
    "erf", "erfc", "exp", "exp2", "expm1", "log", "log10", "log1p", "log2", "pow", "sigmoid",
    "sin", "sinh", "softplus", "tan", "tanh"))


def _library_rule(name):
    def emit(em, k, dt, *args):
        if k != "f":
            _require(k, "biu" if name == "pow" else "f", name)
            return _pow(em, k, dt, *args)
        ty = args[0].type
        fn = em.declare(em.library_symbol(name, dt), ty, [a.type for a in args])
        return em.builder.call(fn, args)
    return emit


for _name in LIBRARY_OPS:
    OPS[_name] = _library_rule(_name)


# ---- erfcinv, Bessel functions -----------------------------------------------------
_via_float64(special_funcs.build_erfcinv, "erfcinv")
_via_float64(special_funcs.bessel_i_builder(0), "i0")
_via_float64(special_funcs.bessel_i_builder(1), "i1")


def _libm_float64_rule(name, cname):
    """The C library's double function, used for float32 too (glibc's j0f and j1f are
    less accurate than rounding the double result)."""
    def build(em, args):
        em.builder.ret(em.libm(cname, *args))
    _via_float64(build, name)


_libm_float64_rule("j0", "j0")
_libm_float64_rule("j1", "j1")


# Special functions that are math library functions for some float dtypes (their
# vecmath modules: erfinv64.py, erfinv32.py, bessel_i.py, bessel_j.py, gamma.py,
# digamma.py): {name: dtypes}; other dtypes keep the rules above. gammaln's
# native float64 runs ~1.3x slower than libm's lgamma, so float64 keeps lgamma.
_FLOATS = ("float32", "float64")
LIBRARY_OPS_BY_DTYPE = {
    "erfinv": _FLOATS, "erfcinv": _FLOATS, "i0": _FLOATS, "i1": _FLOATS, "j0": _FLOATS,
    "j1": _FLOATS, "gamma": _FLOATS, "psi": _FLOATS, "gammaln": ("float32",)}


def _float_library_rule(name, dtypes, other):
    def emit(em, k, dt, a):
        if k == "f" and dt in dtypes:
            fn = em.declare(em.library_symbol(name, dt), a.type, [a.type])
            return em.builder.call(fn, [a])
        return other(em, k, dt, a)
    return emit


for _name, _dtypes in LIBRARY_OPS_BY_DTYPE.items():
    OPS[_name] = _float_library_rule(_name, _dtypes, OPS[_name])


def in_library(name, dtype):
    """Whether op `name` on `dtype` is a math library call."""
    if name in LIBRARY_OPS:
        return dtype in _FLOATS
    return dtype in LIBRARY_OPS_BY_DTYPE.get(name, ())
