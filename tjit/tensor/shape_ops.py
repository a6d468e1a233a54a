"""Ops about shapes: shape, reshape, flatten, arange, alloc/zeros/ones, eye,
patternbroadcast, make_vector, join/stack."""
from __future__ import annotations

import math

import numpy as np

from ..config import config
from ..graph import Apply, Constant, Op, Variable
from .. import scalar as ts
from .. import tensor as _tensor  # basic, reduction, subtensor build on this module
from .type import TensorType
from .var import as_tensor_variable, constant

lvector = TensorType("int64", (False,))


def _int_scalar(v, what):
    v = as_tensor_variable(v)
    if v.ndim != 0 or v.dtype not in ts.DISCRETE:
        raise TypeError(f"{what} must be an integer scalar, got {v} ({v.type})")
    return v


def _const_value(v):
    """The value of `v` if it is known at graph-build time, else None."""
    if isinstance(v, Constant):
        return v.data
    if v.owner is not None and isinstance(v.owner.op, MakeVector):
        vals = [_const_value(i) for i in v.owner.inputs]
        if all(x is not None for x in vals):
            return np.array(vals, dtype="int64")
    if v.owner is not None and isinstance(v.owner.op, Rebroadcast):
        return _const_value(v.owner.inputs[0])
    return None


class Shape(Op):
    """The shape of a tensor, as an int64 vector."""

    def make_node(self, x):
        x = as_tensor_variable(x)
        return Apply(self, [x], [TensorType("int64", (False,))()])

    def perform(self, node, inputs):
        return [np.array(inputs[0].shape, dtype="int64")]

    def grad(self, inputs, output_grads):
        return [None]


_shape = Shape()


def shape(x):
    """Symbolic shape of `x` (an int64 vector); `x.shape[i]` is a scalar."""
    return _shape(x)


class MakeVector(Op):
    """A vector from scalars of one dtype."""

    __props__ = ("dtype",)

    def __init__(self, dtype="int64"):
        self.dtype = dtype

    def make_node(self, *inputs):
        inputs = [as_tensor_variable(i) for i in inputs]
        for i in inputs:
            if i.ndim != 0:
                raise TypeError(f"make_vector: {i} is not a scalar ({i.type})")
            if ts.upcast(i.dtype, self.dtype) != self.dtype and i.dtype != self.dtype:
                raise TypeError(f"make_vector: {i} ({i.dtype}) does not fit in {self.dtype}")
        # constants are converted now, so their values stay known at build time
        # (reshape((1, n)) has a broadcastable first dim, as in Theano)
        inputs = [constant(np.asarray(i.data, dtype=self.dtype)) if isinstance(i, Constant)
                  else _tensor.basic.cast(i, self.dtype) for i in inputs]
        return Apply(self, inputs, [TensorType(self.dtype, (len(inputs) == 1,))()])

    def perform(self, node, inputs):
        return [np.array([np.asarray(i).item() for i in inputs], dtype=self.dtype)]

    def grad(self, inputs, output_grads):
        return [output_grads[0][i] for i in range(len(inputs))]


def make_vector(*elems, dtype="int64"):
    return MakeVector(dtype)(*elems)


def _as_shape(s, what):
    """A shape given as an int, a tuple (of ints / int scalars) or an int vector."""
    if isinstance(s, (int, np.integer)):
        s = (s,)
    if isinstance(s, (list, tuple)):
        elems = [_int_scalar(e, what) for e in s]
        return make_vector(*elems) if elems else constant(np.zeros(0, "int64"))
    s = as_tensor_variable(s)
    if s.ndim != 1 or s.dtype not in ts.DISCRETE:
        raise TypeError(f"{what} must be an integer vector, got {s} ({s.type})")
    return s


class Reshape(Op):
    """x reshaped to the int vector `shape` (one entry may be -1), to `ndim` dims."""

    __props__ = ("ndim",)
    view_map = {0: [0]}

    def __init__(self, ndim):
        self.ndim = ndim

    def make_node(self, x, shp):
        x = as_tensor_variable(x)
        shp = _as_shape(shp, "reshape's shape")
        value = _const_value(shp)
        if value is not None:
            if len(value) != self.ndim:
                raise ValueError(f"reshape: shape {tuple(value)} has {len(value)} entries, "
                                 f"expected ndim={self.ndim}")
            if sum(v == -1 for v in value) > 1 or any(v < -1 for v in value):
                raise ValueError(f"reshape: invalid shape {tuple(value)}")
            bc = tuple(bool(v == 1) for v in value)
        else:
            bc = tuple(False for _ in range(self.ndim))
            if shp.owner is not None and isinstance(shp.owner.op, MakeVector):
                bc = tuple(_const_value(i) is not None and _const_value(i) == 1
                           for i in shp.owner.inputs)
        return Apply(self, [x, shp], [TensorType(x.dtype, bc)()])

    def perform(self, node, inputs):
        x, shp = inputs
        try:
            return [np.reshape(x, tuple(int(s) for s in shp))]
        except ValueError:
            raise ValueError(f"reshape: cannot reshape {node.inputs[0]} of shape {x.shape} "
                             f"into shape {tuple(int(s) for s in shp)}") from None

    def grad(self, inputs, output_grads):
        return [reshape(output_grads[0], shape(inputs[0]), ndim=inputs[0].ndim), None]


def reshape(x, newshape, ndim=None):
    """`x` with shape `newshape` (a tuple of ints/int scalars or an int vector)."""
    x = as_tensor_variable(x)
    shp = _as_shape(newshape, "reshape's shape")
    if ndim is None:
        if shp.broadcastable == (True,):
            ndim = 1
        elif shp.owner is not None and isinstance(shp.owner.op, MakeVector):
            ndim = len(shp.owner.inputs)
        else:
            try:
                ndim = get_vector_length(shp)
            except ValueError:
                raise ValueError(f"reshape: the length of the shape {shp} is not known "
                                 f"when the graph is built; pass ndim") from None
    return Reshape(ndim)(x, shp)


def flatten(x, ndim=1):
    """`x` with its trailing dims merged so that it has `ndim` dims."""
    x = as_tensor_variable(x)
    if ndim < 1 or ndim > max(x.ndim, 1):
        raise ValueError(f"flatten: ndim={ndim} out of range for {x} with {x.ndim} dims")
    if ndim == 1:
        return reshape(x, (-1,))
    dims = [shape(x)[i] for i in range(ndim - 1)]
    # the merged dim is the product of the trailing dims, not -1: with a zero-size
    # leading dim, -1 would be ambiguous (NumPy refuses (0, -1))
    rest = shape(x)[ndim - 1]
    for i in range(ndim, x.ndim):
        rest = rest * shape(x)[i]
    return reshape(x, tuple(dims) + (rest,))


def prod_shape(x):
    """Number of elements of `x` (int64 scalar)."""
    out = constant(np.int64(1))
    for i in range(x.ndim):
        out = out * shape(x)[i]
    return out


class ARange(Op):
    """np.arange(start, stop, step) with a fixed dtype."""

    __props__ = ("dtype",)

    def __init__(self, dtype):
        self.dtype = dtype

    def make_node(self, start, stop, step):
        ins = [as_tensor_variable(v) for v in (start, stop, step)]
        for v in ins:
            if v.ndim != 0:
                raise TypeError(f"arange: {v} is not a scalar")
        return Apply(self, ins, [TensorType(self.dtype, (False,))()])

    def perform(self, node, inputs):
        start, stop, step = (np.asarray(v).item() for v in inputs)
        if step == 0:
            raise ValueError("arange: step must not be zero")
        return [np.arange(start, stop, step, dtype=self.dtype)]

    def grad(self, inputs, output_grads):
        return [_tensor.basic.zeros_like(i) for i in inputs]


def arange(start, stop=None, step=1, dtype=None):
    """Symbolic np.arange; integer ranges are int64 (Theano: no byte-sized ranges)."""
    if stop is None:
        start, stop = 0, start
    start, stop, step = (as_tensor_variable(v) for v in (start, stop, step))
    if dtype is None:
        dtype = ts.upcast(start.dtype, stop.dtype, step.dtype)
        if dtype in ("int8", "int16", "int32", "bool"):
            dtype = "int64"
        elif dtype in ("uint8", "uint16", "uint32"):
            dtype = "uint64"
    return ARange(str(np.dtype(dtype)))(start, stop, step)


class Alloc(Op):
    """`value` broadcast into a new array of the given shape."""

    def make_node(self, value, *shape):
        value = as_tensor_variable(value)
        dims = [_int_scalar(s, "alloc's shape") for s in shape]
        if len(dims) < value.ndim:
            raise ValueError(f"alloc: {value} has {value.ndim} dims, more than the shape {len(dims)}")
        bc = []
        for i, d in enumerate(dims):
            v = _const_value(d)
            bc.append(v is not None and int(v) == 1)
        return Apply(self, [value] + dims, [TensorType(value.dtype, tuple(bc))()])

    def perform(self, node, inputs):
        value, *dims = inputs
        shp = tuple(int(d) for d in dims)
        if any(d < 0 for d in shp):
            raise ValueError(f"alloc: negative dimension in shape {shp}")
        nbytes = math.prod(shp) * value.dtype.itemsize
        if nbytes >= 2 ** 63:
            raise _too_large(shp, value.dtype, nbytes)
        try:
            spread = np.broadcast_to(value, shp)
        except ValueError:
            raise ValueError(f"alloc: value of shape {value.shape} does not broadcast "
                             f"to shape {shp}") from None
        try:
            return [np.array(spread)]
        except (MemoryError, ValueError):
            raise _too_large(shp, value.dtype, nbytes) from None

    def grad(self, inputs, output_grads):
        g = output_grads[0]
        v = inputs[0]
        extra = g.ndim - v.ndim
        if extra:
            g = _tensor.reduction.sum(g, axis=list(range(extra)))
        return [_tensor.basic.sum_to_broadcastable(g, v)] + [None] * (len(inputs) - 1)


_alloc = Alloc()


def alloc(value, *shape):
    """A new array of `shape` filled with (broadcast) `value`."""
    return _alloc(value, *shape)


def _shape_entries(shape):
    """`shape` as a list of dims: a tuple/list, one int, or an int vector whose length
    is known when the graph is built (`x.shape`, as Theano unpacks it)."""
    if isinstance(shape, (list, tuple)):
        return list(shape)
    if isinstance(shape, Variable) and shape.ndim == 1:
        return list(shape)
    return [shape]


def zeros(shape, dtype=None):
    """Zeros of `shape` (tuple, int or int vector) and `dtype` (floatX by default)."""
    return alloc(constant(0, dtype=dtype or config.floatX), *_shape_entries(shape))


def ones(shape, dtype=None):
    """Ones of `shape` (tuple, int or int vector) and `dtype` (floatX by default)."""
    return alloc(constant(1, dtype=dtype or config.floatX), *_shape_entries(shape))


class Eye(Op):
    """n x m matrix with ones on diagonal k."""

    __props__ = ("dtype",)

    def __init__(self, dtype):
        self.dtype = dtype

    def make_node(self, n, m, k):
        ins = [_int_scalar(v, "eye's arguments") for v in (n, m, k)]
        return Apply(self, ins, [TensorType(self.dtype, (False, False))()])

    def perform(self, node, inputs):
        n, m, k = (int(v) for v in inputs)
        return [np.eye(n, m, k, dtype=self.dtype)]

    def grad(self, inputs, output_grads):
        return [None, None, None]


def eye(n, m=None, k=0, dtype=None):
    return Eye(str(np.dtype(dtype or config.floatX)))(n, n if m is None else m, k)


def identity_like(x):
    """An identity matrix with the shape and dtype of the matrix `x`."""
    x = as_tensor_variable(x)
    if x.ndim != 2:
        raise TypeError(f"identity_like: {x} is not a matrix ({x.type})")
    return eye(shape(x)[0], shape(x)[1], 0, dtype=x.dtype)


class Rebroadcast(Op):
    """`x` with another broadcast pattern; dims made broadcastable are checked to
    have size 1 at run time."""

    __props__ = ("broadcastable",)
    view_map = {0: [0]}

    def __init__(self, broadcastable):
        self.broadcastable = tuple(broadcastable)

    def make_node(self, x):
        x = as_tensor_variable(x)
        if x.ndim != len(self.broadcastable):
            raise TypeError(f"patternbroadcast: {x} has {x.ndim} dims, pattern has "
                            f"{len(self.broadcastable)}")
        return Apply(self, [x], [TensorType(x.dtype, self.broadcastable)()])

    def perform(self, node, inputs):
        x = inputs[0]
        for d, b in enumerate(self.broadcastable):
            if b and x.shape[d] != 1:
                raise ValueError(f"patternbroadcast: dimension {d} of {node.inputs[0]} must be "
                                 f"1, got shape {x.shape}")
        return [x]

    def grad(self, inputs, output_grads):
        return [patternbroadcast(output_grads[0], inputs[0].broadcastable)]


def patternbroadcast(x, broadcastable):
    x = as_tensor_variable(x)
    if x.broadcastable == tuple(broadcastable):
        return x
    return Rebroadcast(broadcastable)(x)


class Join(Op):
    """Concatenation of tensors along `axis` (a Python int)."""

    __props__ = ("axis",)

    def __init__(self, axis):
        self.axis = axis

    def make_node(self, *tensors):
        tensors = [as_tensor_variable(t) for t in tensors]
        if not tensors:
            raise ValueError("join: nothing to join")
        ndim = tensors[0].ndim
        if any(t.ndim != ndim for t in tensors):
            raise TypeError("join: all inputs need the same number of dims, got "
                            + ", ".join(f"{t} ({t.ndim})" for t in tensors))
        if not -ndim <= self.axis < ndim:
            raise ValueError(f"join: axis {self.axis} out of range for {ndim} dims")
        axis = self.axis % ndim
        dtype = ts.upcast(*[t.dtype for t in tensors])
        tensors = [_tensor.basic.cast(t, dtype) for t in tensors]
        bc = [all(t.broadcastable[d] for t in tensors) for d in range(ndim)]
        bc[axis] = len(tensors) == 1 and tensors[0].broadcastable[axis]
        return Apply(self, tensors, [TensorType(dtype, tuple(bc))()])

    def perform(self, node, inputs):
        try:
            return [np.concatenate(inputs, axis=self.axis)]
        except ValueError as e:
            shapes = ", ".join(str(a.shape) for a in inputs)
            raise ValueError(f"join along axis {self.axis}: shapes {shapes} do not fit: {e}") \
                from None

    def grad(self, inputs, output_grads):
        g, out, start = output_grads[0], [], 0
        axis = self.axis % inputs[0].ndim
        for t in inputs:
            n = shape(t)[axis]
            idx = [slice(None)] * axis + [slice(start, start + n)]
            out.append(patternbroadcast(_tensor.subtensor.getitem(g, tuple(idx)), t.broadcastable))
            start = start + n
        return out


def concatenate(tensors, axis=0):
    return Join(axis)(*tensors)


def join(axis, *tensors):
    return Join(axis)(*tensors)


def stack(tensors, *more, axis=0):
    """Tensors of one shape stacked along a new dim `axis`: `stack([a, b], axis)`,
    or Theano's older form `stack(a, b, ...)`."""
    if more or isinstance(tensors, Variable):
        if more and not isinstance(tensors, Variable) and isinstance(tensors, (list, tuple)):
            axis, more = more[0], more[1:]      # stack([a, b], 1): axis given by position
        else:
            tensors = [tensors, *more]
            more = ()
        if more:
            raise TypeError("stack: give the tensors as a list, or as separate arguments")
    tensors = [as_tensor_variable(t) for t in tensors]
    if all(t.ndim == 0 for t in tensors) and axis == 0:
        return MakeVector(ts.upcast(*[t.dtype for t in tensors]))(*tensors)
    ndim = tensors[0].ndim
    axis = axis % (ndim + 1)
    expanded = [t.dimshuffle(*(list(range(axis)) + ["x"] + list(range(axis, t.ndim))))
                for t in tensors]
    return Join(axis)(*expanded)


def _too_large(shape, dtype, nbytes):
    return MemoryError(f"alloc: an array of shape {shape} and dtype {dtype} "
                       f"({nbytes / 2**30:.3g} GiB) is too large to allocate")


# -- padding and broadcast patterns (Theano's shape_padleft, addbroadcast, ...) --------------
def shape_padleft(t, n_ones=1):
    """`t` with `n_ones` broadcastable dims added on the left (a view)."""
    t = as_tensor_variable(t)
    return t.dimshuffle(*(["x"] * n_ones + list(range(t.ndim))))


def shape_padright(t, n_ones=1):
    """`t` with `n_ones` broadcastable dims added on the right (a view)."""
    t = as_tensor_variable(t)
    return t.dimshuffle(*(list(range(t.ndim)) + ["x"] * n_ones))


def shape_padaxis(t, axis):
    """`t` with a broadcastable dim inserted at `axis` (negative counts from the
    end of the result, as np.expand_dims); IndexError when out of range (as Theano)."""
    t = as_tensor_variable(t)
    ndim = t.ndim + 1
    if not -ndim <= axis < ndim:
        raise IndexError(f"shape_padaxis: axis {axis} is out of bounds [-{ndim}, {ndim}) "
                         f"for {t} with {t.ndim} dims")
    pattern = list(range(t.ndim))
    pattern.insert(axis % ndim, "x")
    return t.dimshuffle(*pattern)


def _rebroadcast_axes(x, axes, flag, who):
    x = as_tensor_variable(x)
    bc = list(x.broadcastable)
    for a in axes:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"{who}: axes must be ints, got {a!r}")
        if not -x.ndim <= a < x.ndim:
            raise ValueError(f"{who}: trying to rebroadcast non-existent dimension {a} of "
                             f"{x} with {x.ndim} dims")
        bc[int(a) % x.ndim] = flag
    return patternbroadcast(x, bc)


def addbroadcast(x, *axes):
    """`x` with dims `axes` made broadcastable; each must have size 1 at run time
    (ValueError naming the dim otherwise)."""
    return _rebroadcast_axes(x, axes, True, "addbroadcast")


def unbroadcast(x, *axes):
    """`x` with dims `axes` no longer broadcastable."""
    return _rebroadcast_axes(x, axes, False, "unbroadcast")


class SpecifyShape(Op):
    """`x` itself (a view), checked at run time to have the shape `shape` (an int
    vector with one entry per dim): AssertionError otherwise, as Theano. The
    gradient passes through unchanged."""

    view_map = {0: [0]}

    def make_node(self, x, shp):
        x = as_tensor_variable(x)
        shp = _as_shape(shp, "specify_shape's shape")
        known = _const_value(shp)
        if known is not None and len(known) != x.ndim:
            raise TypeError(f"specify_shape: shape {tuple(int(v) for v in known)} has "
                            f"{len(known)} entries for {x} with {x.ndim} dims")
        bc = x.broadcastable
        if known is not None:
            for d, (b, v) in enumerate(zip(bc, known)):
                if b and int(v) != 1:
                    raise ValueError(f"specify_shape: dim {d} of {x} is broadcastable "
                                     f"(size 1), the shape says {int(v)}")
        return Apply(self, [x, shp], [x.type()])

    def perform(self, node, inputs):
        x, shp = inputs
        want = tuple(int(v) for v in shp)
        if x.shape != want:
            raise AssertionError(f"specify_shape: {node.inputs[0]} has shape {x.shape}, "
                                 f"expected {want}")
        return [x]

    def grad(self, inputs, output_grads):
        return [output_grads[0], None]


_specify_shape = SpecifyShape()


def specify_shape(x, shape):
    """`x`, stated to have `shape` (a tuple of ints / int scalars, or an int
    vector); checked when the function runs."""
    return _specify_shape(x, shape)
# ---- get_vector_length: a symbolic vector's length, when the graph says it ------------
def _constant_int(v):
    """A slice bound given in a Subtensor pattern (None, an int, or a symbolic
    input that is a constant) as a Python int or None; else raise ValueError."""
    if v is None or isinstance(v, int):
        return v
    if isinstance(v, Constant) and np.ndim(v.data) == 0:
        return int(v.data)
    raise ValueError("not a constant")


def get_vector_length(v):
    """The length of the vector `v` when it is known while the graph is built (as
    Theano): constants, `shape(x)`, `stack`/`make_vector` of scalars, `join` of
    vectors of known lengths, constant slices of those, casts of those, and
    vectors of broadcastable length 1.

    Raises TypeError if `v` is not a vector, ValueError("length not known: ...")
    when no rule applies.
    """
    v = as_tensor_variable(v)
    if v.ndim != 1:
        raise TypeError(f"argument must be symbolic vector, got '{v}' ({v.type})")
    if v.broadcastable[0]:
        return 1
    if isinstance(v, Constant):
        return len(v.data)
    op = v.owner.op if v.owner is not None else None
    if isinstance(op, MakeVector):
        return len(v.owner.inputs)
    if isinstance(op, Shape):
        return v.owner.inputs[0].ndim
    if isinstance(op, Join):
        try:
            return sum(get_vector_length(t) for t in v.owner.inputs)
        except ValueError:
            pass
    if isinstance(op, Rebroadcast) or (isinstance(op, _tensor.elemwise.Elemwise)
                                       and isinstance(op.scalar_op, ts.Cast)):
        return get_vector_length(v.owner.inputs[0])
    if isinstance(op, _tensor.subtensor.Subtensor) and v.owner.inputs[0].ndim == 1:
        # x[start:stop:step] of a vector of known length, with constant bounds
        if all(p[0] == "slice" for p in op.pattern):
            try:
                bounds = [None, None, None]
                if op.pattern:
                    sym = v.owner.inputs[1:]
                    bounds = [_constant_int(sym[b[1]] if isinstance(b, tuple) else b)
                              for b in op.pattern[0][1:]]
                n = get_vector_length(v.owner.inputs[0])
                return len(range(*slice(*bounds).indices(n)))
            except ValueError:
                pass
    made_by = f" (computed by {op})" if op is not None else ""
    raise ValueError(f"length not known: {v}{made_by}")
