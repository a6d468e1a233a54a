"""The tensor API: elementwise functions, casts, fills, switch, and constructors."""
from __future__ import annotations

import numpy as np

from .. import scalar as ts
from .. import tensor as _tensor  # reduction builds on this module
from ..config import config
from .elemwise import DimShuffle, Elemwise
from .type import TensorType
from .var import TensorConstant, TensorVariable, as_tensor_variable, constant  # noqa: F401
from .shape_ops import (  # noqa: F401
    Alloc, ARange, Eye, Join, MakeVector, Rebroadcast, Reshape, Shape, alloc, arange,
    concatenate, eye, flatten, join, identity_like, make_vector, ones, patternbroadcast, prod_shape, reshape, shape,
    stack, zeros)
from .shape_ops import (  # noqa: F401  (Theano's T.shape_padleft, ...)
    SpecifyShape, addbroadcast, shape_padaxis, shape_padleft, shape_padright, specify_shape,
    unbroadcast)


def _elemwise(scalar_op, name, nary=False):
    op = Elemwise(scalar_op)

    def fn(*args):
        if nary and len(args) > 2:      # Theano's add and mul take any number of terms
            out = op(args[0], args[1])
            for a in args[2:]:
                out = op(out, a)
            return out
        return op(*args)
    fn.__name__ = name
    fn.__doc__ = f"Elementwise {scalar_op.name} (NumPy broadcasting, Theano dtype rules)."
    fn.op = op
    return fn


add = _elemwise(ts.add, "add", nary=True)
sub = _elemwise(ts.sub, "sub")
mul = _elemwise(ts.mul, "mul", nary=True)
true_div = _elemwise(ts.true_div, "true_div")
int_div = _elemwise(ts.int_div, "int_div")
floor_div = int_div
mod = _elemwise(ts.mod, "mod")
pow = _elemwise(ts.pow, "pow")
neg = _elemwise(ts.neg, "neg")
abs_ = _elemwise(ts.abs_, "abs_")
sgn = _elemwise(ts.sgn, "sgn")
sqr = _elemwise(ts.sqr, "sqr")
maximum = _elemwise(ts.maximum, "maximum")
minimum = _elemwise(ts.minimum, "minimum")
lt = _elemwise(ts.lt, "lt")
le = _elemwise(ts.le, "le")
gt = _elemwise(ts.gt, "gt")
ge = _elemwise(ts.ge, "ge")
eq = _elemwise(ts.eq, "eq")
neq = _elemwise(ts.neq, "neq")
and_ = _elemwise(ts.and_, "and_")
or_ = _elemwise(ts.or_, "or_")
xor = _elemwise(ts.xor, "xor")
invert = _elemwise(ts.invert, "invert")
bitwise_and, bitwise_or, bitwise_xor, bitwise_not = and_, or_, xor, invert
exp = _elemwise(ts.exp, "exp")
exp2 = _elemwise(ts.exp2, "exp2")
expm1 = _elemwise(ts.expm1, "expm1")
log = _elemwise(ts.log, "log")
log2 = _elemwise(ts.log2, "log2")
log10 = _elemwise(ts.log10, "log10")
log1p = _elemwise(ts.log1p, "log1p")
sqrt = _elemwise(ts.sqrt, "sqrt")
sin = _elemwise(ts.sin, "sin")
cos = _elemwise(ts.cos, "cos")
tan = _elemwise(ts.tan, "tan")
arcsin = _elemwise(ts.arcsin, "arcsin")
arccos = _elemwise(ts.arccos, "arccos")
arctan = _elemwise(ts.arctan, "arctan")
arctan2 = _elemwise(ts.arctan2, "arctan2")
sinh = _elemwise(ts.sinh, "sinh")
cosh = _elemwise(ts.cosh, "cosh")
tanh = _elemwise(ts.tanh, "tanh")
erf = _elemwise(ts.erf, "erf")
erfc = _elemwise(ts.erfc, "erfc")
erfinv = _elemwise(ts.erfinv, "erfinv")
gamma = _elemwise(ts.gamma, "gamma")
gammaln = _elemwise(ts.gammaln, "gammaln")
psi = _elemwise(ts.psi, "psi")
sigmoid = _elemwise(ts.sigmoid, "sigmoid")
softplus = _elemwise(ts.softplus, "softplus")
_floor = _elemwise(ts.floor, "floor")
_ceil = _elemwise(ts.ceil, "ceil")
_trunc = _elemwise(ts.trunc, "trunc")


def _same_out_nocomplex(fn, name):
    # Theano: floor/ceil/trunc keep the dtype of an integer (or bool) input,
    # whose value they do not change.
    def wrapped(a):
        a = as_tensor_variable(a)
        if a.dtype in ts.DISCRETE:
            return tensor_copy(a)
        return fn(a)
    wrapped.__name__ = name
    wrapped.__doc__ = fn.__doc__
    wrapped.op = fn.op
    return wrapped


floor = _same_out_nocomplex(_floor, "floor")
ceil = _same_out_nocomplex(_ceil, "ceil")
trunc = _same_out_nocomplex(_trunc, "trunc")
isnan = _elemwise(ts.isnan, "isnan")
isinf = _elemwise(ts.isinf, "isinf")
_switch = _elemwise(ts.switch, "switch")
_second = Elemwise(ts.second, name="second")
_clip = _elemwise(ts.clip, "clip")
round_half_to_even = _elemwise(ts.round_half_to_even, "round_half_to_even")
round_half_away_from_zero = _elemwise(ts.round_half_away_from_zero, "round_half_away_from_zero")


def switch(cond, ift, iff):
    """Elementwise `ift` where `cond` is non-zero, else `iff` (both always computed)."""
    return _switch(cond, ift, iff)


where = switch


def clip(x, min, max):
    """Elementwise min(max(x, min), max)."""
    return _clip(x, min, max)


def round(a, mode=None):
    """Round to nearest; `mode` 'half_to_even' (default, as NumPy) or 'half_away_from_zero'."""
    mode = mode or "half_to_even"
    a = as_tensor_variable(a)
    if a.dtype not in ts.FLOATS:
        # Theano: round_half_to_even / round_half_away_from_zero are float-only
        raise TypeError(f"round: {a} has dtype {a.dtype}; rounding is defined for floats only")
    if mode == "half_to_even":
        return round_half_to_even(a)
    if mode == "half_away_from_zero":
        return round_half_away_from_zero(a)
    raise ValueError(f"round: unknown mode {mode!r}")


def cast(x, dtype):
    """`x` converted to `dtype` ('floatX' allowed), as NumPy's astype."""
    x = as_tensor_variable(x)
    if dtype == "floatX":
        dtype = config.floatX
    dtype = str(np.dtype(dtype))
    if x.dtype == dtype:
        return x
    return Elemwise(ts.Cast(dtype))(x)


def tensor_copy(x):
    """A copy of `x` (a new buffer)."""
    return Elemwise(ts.identity)(x)


def second(model, value):
    """`value` broadcast to the shape of `model` (Theano's `fill`)."""
    return _second(model, value)


fill = second


def zeros_like(x, dtype=None):
    """Zeros with the shape (and dtype, unless given) of `x`."""
    x = as_tensor_variable(x)
    return fill(x, constant(0, dtype=dtype or x.dtype))


def ones_like(x, dtype=None):
    """Ones with the shape (and dtype, unless given) of `x`."""
    x = as_tensor_variable(x)
    return fill(x, constant(1, dtype=dtype or x.dtype))


def sum_to_broadcastable(g, x):
    """Sum `g` over the dims where `x` is broadcastable (gradient of broadcasting)."""
    g = as_tensor_variable(g)
    axes = [d for d in range(x.ndim) if x.broadcastable[d] and not g.broadcastable[d]]
    if axes:
        g = _tensor.reduction.sum(g, axis=axes, keepdims=True)
    if g.broadcastable != x.broadcastable:
        g = patternbroadcast(g, x.broadcastable)
    if g.dtype != x.dtype:
        g = cast(g, x.dtype)
    return g


# -- constructors: T.dvector('x'), T.fmatrices(2), ... -----------------------
def tensor(dtype=None, broadcastable=(), name=None):
    """A tensor variable of `dtype` (floatX by default) and broadcast pattern."""
    return TensorType(dtype or config.floatX, broadcastable)(name)


_KINDS = {"scalar": (), "vector": (False,), "row": (True, False), "col": (False, True),
          "matrix": (False, False), "tensor3": (False,) * 3, "tensor4": (False,) * 4,
          "tensor5": (False,) * 5, "tensor6": (False,) * 6, "tensor7": (False,) * 7}
_PREFIX = {"": None, "b": "int8", "w": "int16", "i": "int32", "l": "int64",
           "f": "float32", "d": "float64", "c": "complex64", "z": "complex128"}
_PLURALS = {"scalar": "scalars", "vector": "vectors", "row": "rows", "col": "cols",
            "matrix": "matrices", "tensor3": "tensor3s", "tensor4": "tensor4s",
            "tensor5": "tensor5s", "tensor6": "tensor6s", "tensor7": "tensor7s"}


def _floatx_constructor(bc, kind):
    # Theano: the unprefixed constructors are functions (name, dtype=floatX)
    def make(name=None, dtype=None):
        return TensorType(dtype or config.floatX, bc)(name)
    make.__name__ = kind
    make.__doc__ = f"A symbolic {kind} (floatX unless `dtype` is given, broadcastable {bc})."
    return make


def _plural(single):
    def make(*names, dtype=None):
        """As Theano: `(2)` -> two unnamed variables; `('a', 'b')` or `(['a', 'b'])`
        -> a list; one name of one character -> that variable; one longer string
        -> one variable per character (`scalars('xyz')` -> x, y, z)."""
        def one(n=None):
            if dtype is not None:
                return single(n, dtype=dtype)
            return single(n)
        if len(names) == 1 and isinstance(names[0], int):
            return [one() for _ in range(names[0])]
        if len(names) == 1:
            names = names[0]
        if isinstance(names, str) and len(names) == 1:
            return one(names)
        return [one(n) for n in names]
    return make


# T.dmatrix, T.fvector, ... are TensorType instances (as Theano): calling one makes
# a variable (`T.dmatrix('x')`), and `x.type == T.dmatrix`. The floatX ones
# (T.matrix, ...) are functions, since floatX is read when they are called.
for _p, _dt in _PREFIX.items():
    for _kind, _bc in _KINDS.items():
        _single = TensorType(_dt, _bc) if _dt else _floatx_constructor(_bc, _kind)
        globals()[_p + _kind] = _single
        globals()[_p + _PLURALS[_kind]] = _plural(_single)


# -- dtype lists, as theano.tensor's ----------------------------------------------
# tjit supports every dtype Theano 1.0 names (bool, (u)int8-64, float16-64, complex64/128).
int_dtypes = ["int8", "int16", "int32", "int64"]
uint_dtypes = ["uint8", "uint16", "uint32", "uint64"]
integer_dtypes = int_dtypes + uint_dtypes
discrete_dtypes = ["bool"] + integer_dtypes
float_dtypes = list(ts.FLOATS)
complex_dtypes = list(ts.COMPLEX)
continuous_dtypes = float_dtypes + complex_dtypes
all_dtypes = discrete_dtypes + continuous_dtypes


# -- small Theano functions defined by composition ------------------------------------
def power(x, y):
    """x ** y, elementwise (Theano's T.power)."""
    return pow(x, y)


def inv(a):
    """1 / a, elementwise; integers are first upgraded to float as Theano's inv
    (int8/int16 -> float32, int32/int64 -> float64)."""
    a = as_tensor_variable(a)
    a = cast(a, ts.upgrade_to_float(a.dtype))
    return true_div(constant(1, dtype=a.dtype), a)


def swapaxes(y, axis1, axis2):
    """`y` with dims `axis1` and `axis2` exchanged (a view; negative axes count
    from the end)."""
    y = as_tensor_variable(y)
    order = list(range(y.ndim))
    for a in (axis1, axis2):
        if not -y.ndim <= a < y.ndim:
            raise IndexError(f"swapaxes: axis {a} is out of range for {y} with {y.ndim} dims")
    order[axis1], order[axis2] = order[axis2], order[axis1]
    return y.dimshuffle(*order)


def stacklists(arg):
    """A tensor from nested lists of scalars or tensors of one shape
    (`stacklists([[a, b], [c, d]])` is a 2x2 matrix when a..d are scalars)."""
    if isinstance(arg, (tuple, list)):
        return stack([stacklists(a) for a in arg])
    return arg


class _NdGrid:
    """`mgrid[0:3, 0:4]` / `ogrid[...]`: like NumPy's, but a list of tensors (one
    per slice), as Theano returns. mgrid's are full grids, ogrid's broadcastable."""

    def __init__(self, sparse):
        self.sparse = sparse

    def __getitem__(self, key):
        slices = key if isinstance(key, tuple) else (key,)
        for sl in slices:
            if not isinstance(sl, slice):
                raise TypeError(f"{'ogrid' if self.sparse else 'mgrid'}: index with slices "
                                f"(start:stop:step), got {sl!r}")
            if isinstance(sl.step, complex):
                raise NotImplementedError("mgrid/ogrid: slices with a complex step (a "
                                          "number of points) are not implemented, as in Theano")
        ndim = len(slices)
        ranges = [arange(sl.start or 0, sl.stop, sl.step or 1) for sl in slices]
        ranges = [r.dimshuffle(*(["x"] * j + [0] + ["x"] * (ndim - 1 - j)))
                  for j, r in enumerate(ranges)]
        if self.sparse:
            return ranges
        grids = []
        for i in range(ndim):
            grid = ranges[i]
            for j in range(ndim):
                if j != i:
                    grid = grid * ones_like(ranges[j])
            grids.append(grid)
        return grids


mgrid = _NdGrid(sparse=False)
ogrid = _NdGrid(sparse=True)


# -- constant values known at graph-build time ----------------------------------------
class NotScalarConstantError(Exception):
    """get_scalar_constant_value: the variable is not a constant scalar."""


class EmptyConstantError(NotScalarConstantError):
    """get_scalar_constant_value: the constant is empty."""


def _scalar_of(data):
    data = np.asarray(data)
    if data.size == 0:
        raise EmptyConstantError(f"the constant {data!r} is empty")
    if data.dtype.kind not in "biufc" or (data.size != 1 and not (data == data.flat[0]).all()):
        raise NotScalarConstantError(f"{_short(data)} is non-numeric, non-scalar, or has more "
                                     "than one unique value")
    return np.array(data.flat[0], dtype=data.dtype)


def _short(data):
    return np.array2string(np.asarray(data), threshold=6)


def get_scalar_constant_value(orig_v, elemwise=True, only_process_constants=False,
                              max_recur=10):
    """The value (a 0-d ndarray) of `orig_v` when it is a scalar known at graph-build
    time: a constant, or (unless only_process_constants) that seen through casts,
    dimshuffles, rebroadcasts, allocs, elementwise ops of constants (if elemwise),
    `x.shape[i]` of a broadcastable dim, and constant indexing of make_vector.
    Raises NotScalarConstantError otherwise (EmptyConstantError for an empty one)."""
    v = orig_v
    if isinstance(v, (bool, int, float, complex, np.number, np.bool_)):
        return np.asarray(v)
    if isinstance(v, np.ndarray):
        return _scalar_of(v)
    if isinstance(v, TensorConstant):
        return _scalar_of(v.data)
    if only_process_constants or getattr(v, "owner", None) is None or max_recur <= 0:
        raise NotScalarConstantError(f"{v} is not a constant")
    op, ins = v.owner.op, v.owner.inputs

    def recur(u):
        return get_scalar_constant_value(u, elemwise, only_process_constants, max_recur - 1)
    if isinstance(op, (DimShuffle, Rebroadcast, Alloc, SpecifyShape)):
        return np.asarray(recur(ins[0]), dtype=v.dtype)
    if isinstance(op, Elemwise) and elemwise and op.scalar_op is ts.second:
        return np.asarray(recur(ins[1]), dtype=v.dtype)     # the shape need not be known
    if isinstance(op, Elemwise) and elemwise:
        values = [np.asarray(recur(i), dtype=i.dtype) for i in ins]
        return np.asarray(op.scalar_op.impl(*values), dtype=v.dtype).reshape(())
    if isinstance(op, _tensor.subtensor.Subtensor) and v.ndim == 0:
        idx = [p[1] for p in op.pattern]
        if len(idx) == 1 and all(p[0] == "int" for p in op.pattern) and isinstance(idx[0], int):
            base, i = ins[0], idx[0]
            if base.owner is not None and isinstance(base.owner.op, Shape):
                x = base.owner.inputs[0]
                if -x.ndim <= i < x.ndim and x.broadcastable[i]:
                    return np.asarray(1, dtype=v.dtype)
            if base.owner is not None and isinstance(base.owner.op, MakeVector):
                if -len(base.owner.inputs) <= i < len(base.owner.inputs):
                    return np.asarray(recur(base.owner.inputs[i]), dtype=v.dtype)
            if isinstance(base, TensorConstant) and base.ndim == 1 and \
                    -len(base.data) <= i < len(base.data):
                return np.asarray(base.data[i], dtype=v.dtype)
    raise NotScalarConstantError(f"{orig_v} is not a constant scalar")


# -- small helpers used by gradients --------------------------------------------
def _drop_dims(x, dims):
    keep = [d for d in range(x.ndim) if d not in dims]
    return patternbroadcast(x, tuple(True if d in dims else b for d, b in
                                     enumerate(x.broadcastable))).dimshuffle(*keep)


def smallest(*args):
    out = args[0]
    for a in args[1:]:
        out = minimum(out, a)
    return out


def largest(*args):
    out = args[0]
    for a in args[1:]:
        out = maximum(out, a)
    return out


__all__ = [n for n in dir() if not n.startswith("_") and n not in ("builtins", "np")]


# -- special functions (Theano 1.0: arcsinh ... iv) --------------------------------
arcsinh = _elemwise(ts.arcsinh, "arcsinh")
arccosh = _elemwise(ts.arccosh, "arccosh")
arctanh = _elemwise(ts.arctanh, "arctanh")
erfcinv = _elemwise(ts.erfcinv, "erfcinv")
j0 = _elemwise(ts.j0, "j0")
j1 = _elemwise(ts.j1, "j1")
i0 = _elemwise(ts.i0, "i0")
i1 = _elemwise(ts.i1, "i1")
_jv = _elemwise(ts.jv, "jv")
_iv = _elemwise(ts.iv, "iv")


def jv(v, x):
    """Bessel function of the first kind of real order `v`, elementwise. No native
    form: computed by scipy.special.jv (ImportError here if SciPy is missing).
    The gradient with respect to `v` is not defined."""
    ts.special.scipy_special("jv")
    return _jv(v, x)


def iv(v, x):
    """Modified Bessel function of the first kind of real order `v`, elementwise. No
    native form: computed by scipy.special.iv (ImportError here if SciPy is missing).
    The gradient with respect to `v` is not defined."""
    ts.special.scipy_special("iv")
    return _iv(v, x)


jv.op, iv.op = _jv.op, _iv.op
__all__ += ["arcsinh", "arccosh", "arctanh", "erfcinv", "j0", "j1", "i0", "i1", "jv", "iv"]
