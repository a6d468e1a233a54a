"""The loop-level IR: buffers, loop nests, strided loads and stores, scalar expressions.

A `Kernel` is a function over `Buffer` parameters (numpy arrays, read at run time
from their PyArrayObject: data pointer, dims, byte strides). Its body is a list of
statements: `Check`s on shapes, then loops. Nodes are frozen dataclasses, so they
hash and compare structurally (CSE and caching come free).

Scalar expression semantics are NumPy's for the operand dtypes (see `SCALAR_OPS`).
Every `Op` node carries its result dtype; operands already have the dtypes the op
computes in (the graph stage inserts `Cast`s), except where `SCALAR_OPS` says the
op is a comparison/logical op (bool result) or a mixed op.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# name -> arity. All elementwise; semantics as the NumPy ufunc of the same role.
SCALAR_OPS = {
    # arithmetic (operands and result share one dtype)
    "add": 2, "sub": 2, "mul": 2,
    "true_div": 2,     # floats only (graph casts ints to a float first)
    "int_div": 2,      # floor division, Python/NumPy semantics; x // 0 == 0 for ints
    "mod": 2,          # sign of divisor, Python/NumPy semantics; x % 0 == 0 for ints
    "pow": 2,          # floats: pow; ints: repeated squaring, negative exponent -> 0 (numpy raises; we never trap)
    "maximum": 2, "minimum": 2,  # NaN-propagating like np.maximum
    "neg": 1, "abs": 1, "sgn": 1, "sqr": 1,
    "clip": 3,         # clip(x, lo, hi) == minimum(maximum(x, lo), hi), NaN-propagating in x
    # float math (operands and result share one float dtype)
    "exp": 1, "exp2": 1, "expm1": 1, "log": 1, "log2": 1, "log10": 1, "log1p": 1,
    "sqrt": 1, "sin": 1, "cos": 1, "tan": 1, "arcsin": 1, "arccos": 1, "arctan": 1,
    "arctan2": 2, "sinh": 1, "cosh": 1, "tanh": 1, "erf": 1, "erfc": 1, "erfinv": 1,
    "gamma": 1, "gammaln": 1, "psi": 1, "sigmoid": 1, "softplus": 1,
    "arcsinh": 1, "arccosh": 1, "arctanh": 1, "erfcinv": 1, "j0": 1, "j1": 1, "i0": 1, "i1": 1,
    "floor": 1, "ceil": 1, "trunc": 1,
    "round_half_even": 1, "round_half_away": 1,
    # comparisons: operands share a dtype, result bool
    "lt": 2, "le": 2, "gt": 2, "ge": 2, "eq": 2, "neq": 2,
    "isnan": 1, "isinf": 1,
    # bitwise on ints, logical on bool (operands and result share one dtype)
    "and": 2, "or": 2, "xor": 2, "invert": 1,
    # switch(cond: bool, a, b): a and b share the result dtype
    "switch": 3,
}


@dataclass(frozen=True)
class Buffer:
    """A kernel parameter: an ndarray of `dtype` with `len(broadcastable)` dims.

    Dims flagged broadcastable have size 1; their stride is never used.
    """
    name: str
    dtype: str
    broadcastable: tuple

    @property
    def ndim(self):
        return len(self.broadcastable)


# ---- integer (index) expressions: int64 -------------------------------------
@dataclass(frozen=True)
class Dim:
    """Run-time size of `buffer`'s dimension `axis`."""
    buffer: Buffer
    axis: int


@dataclass(frozen=True)
class IntConst:
    value: int


@dataclass(frozen=True)
class Param:
    """The kernel's int64 scalar parameter `name` (one of `Kernel.params`), passed
    by the caller after the arrays: block sizes, counts, offsets."""
    name: str


@dataclass(frozen=True)
class IntOp:
    """An int64 expression: name in add, sub, mul, div (floor, operands >= 0), min, max."""
    name: str
    a: object
    b: object


@dataclass(frozen=True)
class Begin:
    """The kernel's `begin` argument (the runtime's chunk of the split loop)."""


@dataclass(frozen=True)
class End:
    """The kernel's `end` argument."""


@dataclass(frozen=True)
class Var:
    """A loop counter (int64)."""
    name: str


# ---- scalar value expressions ----------------------------------------------
@dataclass(frozen=True)
class Const:
    value: object
    dtype: str


@dataclass(frozen=True)
class Load:
    """buffer[...] at byte offset sum(var * stride(buffer, axis) for var, axis in index).

    Axes not named in `index` contribute nothing (broadcast dims, or dims merged
    into another term by dimension collapsing).
    """
    buffer: Buffer
    index: tuple  # of (Var, axis)

    @property
    def dtype(self):
        return self.buffer.dtype


@dataclass(frozen=True)
class Op:
    name: str       # a key of SCALAR_OPS
    args: tuple
    dtype: str      # result dtype


@dataclass(frozen=True)
class Cast:
    x: object
    dtype: str      # NumPy astype semantics (float->int truncates; out-of-range is UB-free but unspecified)


# ---- statements --------------------------------------------------------------
@dataclass(frozen=True)
class Store:
    buffer: Buffer
    index: tuple    # as Load.index
    value: object


@dataclass(frozen=True)
class Range:
    """for var = start; var < stop; var += step: body. The bounds are integer
    expressions evaluated once, before the first iteration. The loop the
    runtime splits names the kernel's begin/end arguments in its bounds
    (`split_range`); nothing is clamped implicitly."""
    var: Var
    start: object
    stop: object
    step: int
    body: tuple     # statements


def range_to(var, stop, body, step=1):
    """for var in [0, stop) by `step`: body."""
    return Range(var, IntConst(0), stop, step, tuple(body))


def split_range(var, extent, body):
    """for var in [max(begin, 0), min(end, extent)): body. The loop over
    [0, extent) whose chunks [begin, end) the runtime hands to threads."""
    return Range(var, IntOp("max", Begin(), IntConst(0)), IntOp("min", End(), extent), 1,
                 tuple(body))


def split_extent(stmt):
    """`extent` if `stmt` is a `split_range(var, extent, ...)`, else None."""
    if (isinstance(stmt, Range) and stmt.step == 1
            and stmt.start == IntOp("max", Begin(), IntConst(0))
            and isinstance(stmt.stop, IntOp) and stmt.stop.name == "min"
            and stmt.stop.a == End()):
        return stmt.stop.b
    return None


def let(var, value, body):
    """`body` with `var` bound to the integer expression `value` (a one-iteration
    Range)."""
    return (Range(var, value, IntOp("add", value, IntConst(1)), 1, tuple(body)),)


@dataclass(frozen=True)
class Check:
    """If the integer expressions differ, return `code` (a positive int) at once."""
    a: object
    b: object
    code: int


@dataclass(frozen=True)
class Contiguous:
    """Run-time condition: each `(buffer, axes)` run in `runs` can be addressed as one
    dim: for each consecutive pair a < b in `axes`, stride[a] == stride[b] * dim[b].

    Axes skipped between a and b must be broadcastable (size 1). When it holds,
    `sum(i_k * stride[axes[k]])` equals `flat * stride[axes[-1]]` for the row-major
    flat index over the run, so a `Load` of the merged dim names only `axes[-1]`.
    """
    runs: tuple     # of (Buffer, axes), axes a tuple of ascending ints


@dataclass(frozen=True)
class Guarded:
    """if cond: then else: otherwise (both are statement tuples)."""
    cond: object
    then: tuple
    otherwise: tuple


@dataclass(frozen=True)
class Kernel:
    """A native function
    `i32 name(PyObject* buf0, ..., PyObject* bufN, i64 param0, ..., i64 paramK, i64 begin, i64 end)`.

    `buffers` are ndarrays, inputs first then outputs; `params` are the `Param`s
    the body reads (int64 scalars, in argument order). Returns 0 on success or
    the `code` of the first failed `Check`.
    """
    name: str
    buffers: tuple          # array parameters, inputs first then outputs
    body: tuple
    n_inputs: int = 0
    meta: dict = field(default_factory=dict, compare=False, hash=False)
    params: tuple = ()      # of Param: int64 scalar parameters, after the arrays


# ---- reductions: kernel-local accumulators -------------------------------------
@dataclass(frozen=True)
class Index:
    """The int64 value of an integer expression (e.g. a position for argmax)."""
    expr: object
    dtype: str = "int64"


@dataclass(frozen=True)
class Local:
    """Declares `buffer` as kernel-local storage (per call, so per thread): a
    scalar when buffer.ndim == 0, else a 1-d array of `size` elements (unit
    stride). Accessed with the ordinary `Load` / `Store` / `Accumulate`."""
    buffer: Buffer
    size: int = 1


@dataclass(frozen=True)
class Accumulate:
    """buffer[index] = op(buffer[index], value), op a binary `SCALAR_OPS` name
    (add, mul, maximum, minimum, and, or). `reassoc` lets codegen reassociate a
    float add/mul across iterations of the enclosing innermost loop (vector partial
    sums); lowering sets it only on loops of a fixed block length, so the result
    never depends on how the runtime splits work."""
    buffer: Buffer
    index: tuple
    op: str
    value: object
    reassoc: bool = False


@dataclass(frozen=True)
class ArgAccumulate:
    """NumPy's argmax/argmin step over (value, position) pairs held in `values[index]`
    and `positions[index]` (int64, -1 = nothing seen yet): take (value, position)
    when nothing was seen, when value is strictly greater (argmax) / smaller
    (argmin), or when value is NaN and the held value is not. So the first
    extremum wins, and the first NaN beats everything."""
    values: Buffer
    positions: Buffer
    index: tuple
    op: str          # "argmax" | "argmin"
    value: object
    position: object  # int64 value expression


@dataclass(frozen=True)
class Improves:
    """Guard condition: whether `ArgAccumulate` of `value` into (values[index],
    positions[index]) would take it (used to rescan only blocks that hold a new
    extremum)."""
    values: Buffer
    positions: Buffer
    index: tuple
    op: str
    value: object


def _cached_hash(self):
    # Expressions are DAGs with heavy sharing: the generated dataclass hash would
    # rehash shared subtrees once per path (exponential in depth). Cache it.
    try:
        return self.__dict__["_hash"]
    except KeyError:
        h = hash(tuple(getattr(self, f) for f in self.__dataclass_fields__
                       if self.__dataclass_fields__[f].hash is not False
                       and self.__dataclass_fields__[f].compare))
        object.__setattr__(self, "_hash", h)
        return h


for _cls in list(globals().values()):
    if isinstance(_cls, type) and hasattr(_cls, "__dataclass_fields__"):
        _cls.__hash__ = _cached_hash
