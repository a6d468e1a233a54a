"""Scalar operations: the per-element rules that `Elemwise` maps over tensors.

Each `ScalarOp` knows its dtype rule (Theano's), its NumPy implementation, its
gradient (as tensor expressions), how it prints, and the loop-IR op it lowers to
(`ir_name`, a key of `tjit.ir.nodes.SCALAR_OPS`). Gradient rules are written
against a namespace `T` of tensor functions that the caller passes in
(`Elemwise.grad` passes tjit.tensor.basic): this module does not import the tensor layer.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from .config import config
from . import special

BOOL = ("bool",)
INTS = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
FLOATS = ("float16", "float32", "float64")
COMPLEX = ("complex64", "complex128")
ALL_DTYPES = BOOL + INTS + FLOATS + COMPLEX
DISCRETE = BOOL + INTS


def upcast(*dtypes):
    """Theano's upcast under its default cast_policy ('custom'): NumPy promotion
    whatever floatX is (int32 + float32 is float64 even when floatX is float32;
    Python float constants are float32 there instead)."""
    return _upcast(config.floatX, dtypes)


@functools.lru_cache(maxsize=4096)
def _upcast(floatx, dtypes):
    keep32 = keep16 = False  # Theano's cast_policy='numpy+floatX' only
    z = np.zeros((), dtype=dtypes[0])
    for dt in dtypes[1:]:
        z = z + np.zeros((), dtype=dt)
    out = str(z.dtype)
    if out == "float64":
        if keep16:
            return "float16"
        if keep32:
            return "float32"
    return out


_TO_FLOAT = {"bool": "float32", "int8": "float32", "int16": "float32", "uint8": "float32",
             "uint16": "float32", "int32": "float64", "int64": "float64",
             "uint32": "float64", "uint64": "float64"}


def upgrade_to_float(dtype):
    """Theano's upgrade_to_float: small ints -> float32, others -> float64."""
    return _TO_FLOAT.get(dtype, dtype)


class ScalarOp:
    """One elementwise operation. `rule` names the dtype rule:

    upcast   out = upcast(inputs)
    float    out = upgrade_to_float(upcast(inputs))
    div      out = floatX when every input is discrete, else upcast
    cmp      inputs computed in upcast(inputs), out = bool
    bitwise  like upcast, but only bool and int inputs
    abs      like upcast, but complex -> float of the same precision
    pred     out = bool (isnan, isinf)

    `grad`, if given, is fn(T, inputs, output, gz) -> list (see `ScalarOp.grad`).
    """

    def __init__(self, name, nin, rule, impl, grad=None, symbol=None, prec=0,
                 assoc="left", complex_ok=True, float_only=False, ir_name=None):
        self.name, self.nin, self.rule, self._impl = name, nin, rule, impl
        self._grad, self.symbol, self.prec, self.assoc = grad, symbol, prec, assoc
        self.complex_ok, self.float_only = complex_ok, float_only
        self.ir_name = ir_name or name

    def __repr__(self):
        return self.name

    def __reduce__(self):
        return (_lookup, (self.name,))

    def compute_dtype(self, *dtypes):
        """dtype the inputs are cast to before the op runs."""
        if self.rule == "float":
            return upgrade_to_float(upcast(*dtypes))
        if self.rule == "div":
            return self.output_dtype(*dtypes)
        return upcast(*dtypes)

    def output_dtype(self, *dtypes):
        """The result dtype; TypeError if the op does not accept these dtypes."""
        if len(dtypes) != self.nin:
            raise TypeError(f"{self.name} takes {self.nin} inputs, got {len(dtypes)}")
        for dt in dtypes:
            if dt not in ALL_DTYPES:
                raise TypeError(f"{self.name}: unsupported dtype {dt}")
            if dt in COMPLEX and not self.complex_ok:
                raise TypeError(f"{self.name} is not defined for complex inputs ({dt})")
            if self.rule == "bitwise" and dt not in DISCRETE:
                raise TypeError(f"{self.name} needs bool or integer inputs, got {dt}")
            if self.float_only and dt not in FLOATS:
                raise TypeError(f"{self.name} is defined for float inputs only, got {dt}")
        rule = self.rule
        if rule in ("cmp", "pred"):
            return "bool"
        if rule == "float":
            return upgrade_to_float(upcast(*dtypes))
        if rule == "div":
            if all(dt in DISCRETE for dt in dtypes):
                return config.floatX
            return upcast(*dtypes)
        if rule == "abs":
            dt = upcast(*dtypes)
            return {"complex64": "float32", "complex128": "float64"}.get(dt, dt)
        return upcast(*dtypes)

    def impl(self, *arrays):
        """NumPy reference: arrays in, array of output_dtype out."""
        dtypes = [str(a.dtype) for a in arrays]
        cd = self.compute_dtype(*dtypes)
        args = [np.asarray(a, dtype=cd) if self.rule != "switch" else a for a in arrays]
        with np.errstate(all="ignore"):
            out = self._impl(*args)
        return np.asarray(out, dtype=self.output_dtype(*dtypes))

    def grad(self, inputs, output, gz, T):
        """Gradients (tensor expressions) w.r.t. each input, given d cost/d output;
        `T` is the namespace of tensor functions to build them with (tjit.tensor.basic)."""
        if self._grad is None:
            raise NotImplementedError(f"the gradient of {self.name} is not implemented")
        return self._grad(T, inputs, output, gz)


def _int_pow(x, y):
    # NumPy raises on negative integer exponents; native code defines them
    # (1 ** -n == 1, (-1) ** -n == +-1, else 0) so both agree.
    if x.dtype.kind in "iub" and y.dtype.kind in "iu" and np.any(y < 0):
        neg = y < 0
        safe = np.where(neg, 0, y)
        r = np.power(x, safe)
        one = np.ones_like(x)
        alt = np.where(np.abs(y) % 2 == 1, -one, one) if x.dtype.kind == "i" else one
        inv = np.where(x == 1, one, np.where(x == -1, alt, np.zeros_like(x))) if x.dtype.kind == "i" \
            else np.where(x == 1, one, np.zeros_like(x))
        return np.where(neg, inv, r)
    return np.power(x, y)


def _int_div(x, y):
    if x.dtype.kind in "iub":
        return np.floor_divide(x, np.where(y == 0, 1, y)) * (y != 0)
    return np.floor_divide(x, y)


def _mod(x, y):
    if x.dtype.kind in "iub":
        return np.mod(x, np.where(y == 0, 1, y)) * (y != 0)
    return np.mod(x, y)


def _sgn(x):
    if x.dtype.kind == "b":
        return x
    return np.sign(x)


def _round_away(x):
    return np.where(x >= 0, np.floor(x + np.asarray(0.5, x.dtype)),
                    np.ceil(x - np.asarray(0.5, x.dtype))) if x.dtype.kind == "f" else x


def _softplus(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _sigmoid(x):
    return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))


_LOG2, _LOG10 = math.log(2.0), math.log(10.0)


_OPS = {}


def _def(name, nin, rule, impl, grad=None, **kw):
    op = ScalarOp(name, nin, rule, impl, grad, **kw)
    _OPS[name] = op
    return op


def _lookup(name):
    return _OPS[name]


def _zeros(T, inputs, out, gz):
    return [T.zeros_like(i) for i in inputs]


add = _def("add", 2, "upcast", np.add, lambda T, i, o, g: [g, g], symbol="+", prec=-2)
sub = _def("sub", 2, "upcast", np.subtract, lambda T, i, o, g: [g, -g], symbol="-", prec=-2)
mul = _def("mul", 2, "upcast", np.multiply, lambda T, i, o, g: [g * i[1], g * i[0]],
           symbol="*", prec=-1)
true_div = _def("true_div", 2, "div", np.true_divide,
                lambda T, i, o, g: [g / i[1], -g * i[0] / (i[1] * i[1])], symbol="/", prec=-1)
int_div = _def("int_div", 2, "upcast", _int_div, _zeros, symbol="//", prec=-1, complex_ok=False)
mod = _def("mod", 2, "upcast", _mod, lambda T, i, o, g: [g, -g * T.floor(i[0] / i[1])],
           symbol="%", prec=-1, complex_ok=False)
pow = _def("pow", 2, "upcast", _int_pow,
           lambda T, i, o, g: [g * i[1] * i[0] ** (i[1] - 1), g * T.log(i[0]) * o],
           symbol="**", prec=1, assoc="right")
maximum = _def("maximum", 2, "upcast", np.maximum,
               lambda T, i, o, g: [g * T.eq(o, i[0]), g * T.eq(o, i[1])], complex_ok=False)
minimum = _def("minimum", 2, "upcast", np.minimum,
               lambda T, i, o, g: [g * T.eq(o, i[0]), g * T.eq(o, i[1])], complex_ok=False)
neg = _def("neg", 1, "upcast", np.negative, lambda T, i, o, g: [-g], symbol="-", prec=0)
abs_ = _def("abs", 1, "abs", np.abs, lambda T, i, o, g: [g * T.sgn(i[0])])
sgn = _def("sgn", 1, "upcast", _sgn, _zeros, complex_ok=False)
sqr = _def("sqr", 1, "upcast", np.square, lambda T, i, o, g: [g * 2 * i[0]])
clip = _def("clip", 3, "upcast", lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi),
            lambda T, i, o, g: [g * T.and_(T.ge(i[0], i[1]), T.le(i[0], i[2])),
                                g * T.lt(i[0], i[1]), g * T.gt(i[0], i[2])], complex_ok=False)

exp = _def("exp", 1, "float", np.exp, lambda T, i, o, g: [g * o])
exp2 = _def("exp2", 1, "float", np.exp2, lambda T, i, o, g: [g * o * _LOG2])
expm1 = _def("expm1", 1, "float", np.expm1, lambda T, i, o, g: [g * (o + 1)])
log = _def("log", 1, "float", np.log, lambda T, i, o, g: [g / i[0]])
log2 = _def("log2", 1, "float", np.log2, lambda T, i, o, g: [g / (i[0] * _LOG2)])
log10 = _def("log10", 1, "float", np.log10, lambda T, i, o, g: [g / (i[0] * _LOG10)])
log1p = _def("log1p", 1, "float", np.log1p, lambda T, i, o, g: [g / (1 + i[0])])
sqrt = _def("sqrt", 1, "float", np.sqrt, lambda T, i, o, g: [g * 0.5 / o])
sin = _def("sin", 1, "float", np.sin, lambda T, i, o, g: [g * T.cos(i[0])])
cos = _def("cos", 1, "float", np.cos, lambda T, i, o, g: [-g * T.sin(i[0])])
tan = _def("tan", 1, "float", np.tan, lambda T, i, o, g: [g * (1 + o * o)])
arcsin = _def("arcsin", 1, "float", np.arcsin,
              lambda T, i, o, g: [g / T.sqrt(1 - i[0] * i[0])])
arccos = _def("arccos", 1, "float", np.arccos,
              lambda T, i, o, g: [-g / T.sqrt(1 - i[0] * i[0])])
arctan = _def("arctan", 1, "float", np.arctan, lambda T, i, o, g: [g / (1 + i[0] * i[0])])
arctan2 = _def("arctan2", 2, "float", np.arctan2,
               lambda T, i, o, g: [g * i[1] / (i[0] * i[0] + i[1] * i[1]),
                                   -g * i[0] / (i[0] * i[0] + i[1] * i[1])], complex_ok=False)
sinh = _def("sinh", 1, "float", np.sinh, lambda T, i, o, g: [g * T.cosh(i[0])])
cosh = _def("cosh", 1, "float", np.cosh, lambda T, i, o, g: [g * T.sinh(i[0])])
tanh = _def("tanh", 1, "float", np.tanh, lambda T, i, o, g: [g * (1 - o * o)])
erf = _def("erf", 1, "float", special.erf,
           lambda T, i, o, g: [g * (2 / math.sqrt(math.pi)) * T.exp(-i[0] * i[0])],
           complex_ok=False)
erfc = _def("erfc", 1, "float", special.erfc,
            lambda T, i, o, g: [-g * (2 / math.sqrt(math.pi)) * T.exp(-i[0] * i[0])],
            complex_ok=False)
erfinv = _def("erfinv", 1, "float", special.erfinv,
              lambda T, i, o, g: [g * (math.sqrt(math.pi) / 2) * T.exp(o * o)],
              complex_ok=False)
gamma = _def("gamma", 1, "float", special.gamma,
             lambda T, i, o, g: [g * o * T.psi(i[0])], complex_ok=False)
gammaln = _def("gammaln", 1, "float", special.gammaln,
               lambda T, i, o, g: [g * T.psi(i[0])], complex_ok=False)
psi = _def("psi", 1, "float", special.psi, None, complex_ok=False)

# -- inverse hyperbolic functions, erfcinv and Bessel functions (Theano 1.0's names)
arcsinh = _def("arcsinh", 1, "float", np.arcsinh,
               lambda T, i, o, g: [g / T.sqrt(i[0] * i[0] + 1)])
arccosh = _def("arccosh", 1, "float", np.arccosh,
               lambda T, i, o, g: [g / T.sqrt(i[0] * i[0] - 1)])
arctanh = _def("arctanh", 1, "float", np.arctanh,
               lambda T, i, o, g: [g / (1 - i[0] * i[0])])
erfcinv = _def("erfcinv", 1, "float", special.erfcinv,
               lambda T, i, o, g: [-g * (math.sqrt(math.pi) / 2) * T.exp(o * o)],
               complex_ok=False)


def _order1_grad(order0):
    # J1' = J0 - J1/x and I1' = I0 - I1/x (Theano: (J0 - J2)/2 and (I0 + I2)/2, the
    # same by the recurrences, but without the real-order function); both are 1/2 at 0.
    def grad(T, i, o, g):
        x = i[0]
        return [g * T.switch(T.eq(x, 0), 0.5, getattr(T, order0)(x) - o / x)]
    return grad


j0 = _def("j0", 1, "float", special.j0, lambda T, i, o, g: [-g * T.j1(i[0])],
          complex_ok=False)
j1 = _def("j1", 1, "float", special.j1, _order1_grad("j0"), complex_ok=False)
i0 = _def("i0", 1, "float", special.i0, lambda T, i, o, g: [g * T.i1(i[0])],
          complex_ok=False)
i1 = _def("i1", 1, "float", special.i1, _order1_grad("i0"), complex_ok=False)


def _scipy_impl(name):
    def impl(v, x):
        return special.scipy_special(name)(v, x)
    return impl


# jv and iv of real order have no native form: their loop-IR name is not a
# SCALAR_OPS key, so Elemwise runs them through perform (SciPy). Their gradient
# with respect to the order is not implemented (as Theano: grad raises
# NullTypeGradError if asked for it).
def _order_grad_not_implemented(name, i):
    from .gradient_ops import grad_not_implemented
    return grad_not_implemented(name, 0, i[0])


jv = _def("jv", 2, "float", _scipy_impl("jv"),
          lambda T, i, o, g: [_order_grad_not_implemented("jv", i),
                              g * (T.jv(i[0] - 1, i[1]) - T.jv(i[0] + 1, i[1])) / 2],
          complex_ok=False, ir_name="scipy.special.jv")
iv = _def("iv", 2, "float", _scipy_impl("iv"),
          lambda T, i, o, g: [_order_grad_not_implemented("iv", i),
                              g * (T.iv(i[0] - 1, i[1]) + T.iv(i[0] + 1, i[1])) / 2],
          complex_ok=False, ir_name="scipy.special.iv")
sigmoid = _def("sigmoid", 1, "float", _sigmoid, lambda T, i, o, g: [g * o * (1 - o)],
               complex_ok=False)
softplus = _def("softplus", 1, "float", _softplus,
                lambda T, i, o, g: [g * T.sigmoid(i[0])], complex_ok=False)
floor = _def("floor", 1, "float", np.floor, _zeros, complex_ok=False)
ceil = _def("ceil", 1, "float", np.ceil, _zeros, complex_ok=False)
trunc = _def("trunc", 1, "float", np.trunc, _zeros, complex_ok=False)
round_half_to_even = _def("round_half_to_even", 1, "float", np.round, _zeros,
                          complex_ok=False, float_only=True, ir_name="round_half_even")
round_half_away_from_zero = _def("round_half_away_from_zero", 1, "float", _round_away,
                                 _zeros, complex_ok=False, float_only=True,
                                 ir_name="round_half_away")

lt = _def("lt", 2, "cmp", np.less, _zeros, symbol="<", prec=-5, complex_ok=False)
le = _def("le", 2, "cmp", np.less_equal, _zeros, symbol="<=", prec=-5, complex_ok=False)
gt = _def("gt", 2, "cmp", np.greater, _zeros, symbol=">", prec=-5, complex_ok=False)
ge = _def("ge", 2, "cmp", np.greater_equal, _zeros, symbol=">=", prec=-5, complex_ok=False)
eq = _def("eq", 2, "cmp", np.equal, _zeros)
neq = _def("neq", 2, "cmp", np.not_equal, _zeros)
isnan = _def("isnan", 1, "pred", lambda x: np.isnan(x) if x.dtype.kind in "fc" else
             np.zeros(x.shape, bool), None)
isinf = _def("isinf", 1, "pred", lambda x: np.isinf(x) if x.dtype.kind in "fc" else
             np.zeros(x.shape, bool), None)
and_ = _def("and", 2, "bitwise", np.bitwise_and, None, symbol="&", prec=-6)
or_ = _def("or", 2, "bitwise", np.bitwise_or, None, symbol="|", prec=-8)
xor = _def("xor", 2, "bitwise", np.bitwise_xor, None, symbol="^", prec=-7)
invert = _def("invert", 1, "bitwise", np.invert, None, symbol="~", prec=0)


class _Switch(ScalarOp):
    """switch(cond, a, b): cond is tested for non-zero; a and b are upcast."""

    def __init__(self):
        super().__init__("switch", 3, "switch", None, complex_ok=True)
        _OPS["switch"] = self

    def compute_dtype(self, *dtypes):
        return upcast(*dtypes[1:])

    def output_dtype(self, *dtypes):
        if len(dtypes) != 3:
            raise TypeError(f"switch takes 3 inputs, got {len(dtypes)}")
        if dtypes[0] in COMPLEX:
            raise TypeError("switch: the condition cannot be complex")
        return upcast(*dtypes[1:])

    def impl(self, cond, a, b):
        out = self.output_dtype(str(cond.dtype), str(a.dtype), str(b.dtype))
        return np.where(cond != 0, a.astype(out), b.astype(out))

    def grad(self, inputs, output, gz, T):
        c = T.neq(inputs[0], 0)
        zero = T.zeros_like(gz)
        return [T.zeros_like(inputs[0]), T.switch(c, gz, zero), T.switch(c, zero, gz)]


switch = _Switch()


class Cast(ScalarOp):
    """Conversion to `dtype` with NumPy's astype semantics."""

    def __init__(self, dtype):
        super().__init__(f"convert_to_{dtype}", 1, "cast", None)
        self.dtype = dtype

    def __reduce__(self):
        return (Cast, (self.dtype,))

    def __eq__(self, other):
        return isinstance(other, Cast) and other.dtype == self.dtype

    def __hash__(self):
        return hash(("Cast", self.dtype))

    def compute_dtype(self, *dtypes):
        return dtypes[0]

    def output_dtype(self, *dtypes):
        if dtypes[0] in COMPLEX and self.dtype not in COMPLEX:
            raise TypeError(f"cannot cast complex ({dtypes[0]}) to {self.dtype}; "
                            "take the real part or abs first")
        return self.dtype

    def impl(self, x):
        with np.errstate(all="ignore"):
            return np.asarray(x).astype(self.dtype)

    def grad(self, inputs, output, gz, T):
        if self.dtype in DISCRETE or inputs[0].dtype in DISCRETE:
            return [T.zeros_like(inputs[0])]
        return [T.cast(gz, inputs[0].dtype)]


class _Second(ScalarOp):
    """second(a, b): b, broadcast to the shape of a (Theano's `fill`)."""

    def __init__(self):
        super().__init__("second", 2, "second", None, ir_name=None)
        _OPS["second"] = self

    def compute_dtype(self, *dtypes):
        return dtypes[1]

    def output_dtype(self, *dtypes):
        if len(dtypes) != 2:
            raise TypeError(f"second takes 2 inputs, got {len(dtypes)}")
        return dtypes[1]

    def impl(self, a, b):
        return np.array(np.broadcast_to(b, np.broadcast_shapes(a.shape, b.shape)))

    def grad(self, inputs, output, gz, T):
        return [T.zeros_like(inputs[0]), gz]


second = _Second()
identity = _def("identity", 1, "upcast", np.copy, lambda T, i, o, g: [g])


def by_name(name):
    """The ScalarOp registered under `name`."""
    return _OPS[name]
