"""The one walk over a loop-IR `Kernel` that both LLVM renderers share.

`Renderer` turns a kernel into LLVM IR through a builder with llvmlite's
`IRBuilder` interface and scalar code through `ScalarEmitter` (the op table of
`tjit.codegen.scalar_ops`). It owns every decision about what code a kernel
gets: the ABI entry and its PyArrayObject field reads, shape checks, guards,
contiguity and unit-stride conditions, loops and their multiversioning,
addresses, reductions. A subclass only says how the code is spelled and
collected into a module (`tjit.codegen.render_ir`: llvmlite.ir objects;
`tjit.codegen.render_text`: LLVM IR text written directly).

The function (see `tjit.ir.nodes.Kernel`):
`i32 name(PyObject* a0, ..., PyObject* aN, i64 p0, ..., i64 pK, i64 begin, i64 end)`.
It reads each array's data pointer, dims and byte strides (offsets in
`array_abi`), turns strides into element strides, then runs the body. At
level 3 the body is a second, internal function
`body(data pointers..., dims..., element strides..., params..., begin, end)`
whose data pointers are `noalias`: the runtime guarantees outputs are fresh
and never alias inputs (inputs are only read, so inputs aliasing each other is
fine). That lets LLVM hoist broadcast loads and vectorize without run-time
overlap checks. At level 0 (FAST_COMPILE) nothing vectorizes, so the body is
inline: one function (a body taking more than six arguments would push LLVM's
fast instruction selection onto its slow fallback path).

The caller must guarantee: every array has its buffer's dtype and ndim and is
aligned (byte strides are multiples of the itemsize).

Innermost loops are multiversioned: when every buffer the loop variable strides
has element stride 1 there, a copy with constant unit strides runs (it vectorizes).
Not at level 0: nothing vectorizes there, one version is enough.

Reductions: `Local` buffers are allocas in the entry block (SROA turns scalar
ones into registers); `Accumulate` with `reassoc` puts the `reassoc` fast-math
flag on its fadd/fmul only, which lets LLVM keep vector partial sums in that
one loop. On a float maximum/minimum, `reassoc` means "NaNs may be dropped and
ties of zeros resolved either way" (the lowering keeps a NaN flag beside it):
maxnum/minnum with nnan nsz, a plain vector max. A float `acc += a * b` is a
fused multiply-add.
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir

from tjit.codegen import array_abi, mathlib, mathlib_scalar
from tjit.codegen.scalar_ops import in_library, storage_type
from tjit.codegen.target import LLVM_LOCK, current as current_target, target_machine
from tjit.ir.nodes import (Accumulate, ArgAccumulate, Begin, Cast, Check, Const, Contiguous, Dim,
                           End, Guarded, Improves, Index, IntConst, IntOp, Load, Local, Op, Param,
                           Range, Store, Var)

I8P = ir.IntType(8).as_pointer()
I64, I32, I8, I1 = ir.IntType(64), ir.IntType(32), ir.IntType(8), ir.IntType(1)
FLOATS = ("float32", "float64")
INT_OPS = {"add": "add", "sub": "sub", "mul": "mul", "div": "sdiv"}   # IntOp -> builder method


def _itemsize(dtype):
    size = _ITEMSIZES.get(dtype)
    if size is None:
        size = _ITEMSIZES[dtype] = np.dtype(dtype).itemsize
    return size


_ITEMSIZES = {}


def _const(ty, value):
    """A shared llvmlite constant of int type `ty` (its text is formatted once)."""
    key = (id(ty), value)           # int types are immortal singletons
    constant = _CONSTANTS.get(key)
    if constant is None:
        constant = _CONSTANTS[key] = ir.Constant(ty, value)
    return constant


_CONSTANTS = {}


def _target(level):
    """(triple, data layout) of the target machine compiling code of `level` for
    the current target (`tjit.config.cpu`)."""
    key = (current_target(), level)
    found = _TARGETS.get(key)
    if found is None:
        tm = target_machine(3 if level else 0, key[0])
        with LLVM_LOCK:
            found = _TARGETS[key] = (tm.triple, str(tm.target_data))
    return found


_TARGETS = {}


class Renderer:
    """Walks `kernel` once and returns its LLVM IR text from `render()`.

    Subclasses set `emitter` (the ScalarEmitter class for their builder) and
    implement `_open_entry`, `_open_body`, `_alloca` and `_finish`.
    """
    emitter = None

    def __init__(self, kernel, symbol, level=3):
        self.kernel, self.symbol, self.level = kernel, symbol, level
        self.triple, self.data_layout = _target(level)
        self.library_functions = set()            # (name, dtype) of math library calls
        self.builder = None

    # ---- what a renderer provides ----------------------------------------------------
    def _open_entry(self, scalar_names):
        """Start the module and the ABI entry function, `self.builder` at its entry
        block; returns (PyObject* args, i64 args: params then begin, end)."""
        raise NotImplementedError

    def _open_body(self, values):
        """Given the entry's field reads and scalars (data, dims, strides, scalars:
        lists), continue in the function that runs the body (at level 3 a noalias
        internal function the entry calls); returns the same lists as seen there."""
        raise NotImplementedError

    def _not_vectorized(self, latch):
        """Keep LLVM from vectorizing the loop whose back edge is `latch`."""

    def _vectorized_at(self, latch, width):
        """Have LLVM vectorize the loop whose back edge is `latch` at `width` lanes."""

    def _interleaved(self, latch, count):
        """Ask the vectorizer to interleave `count` vector iterations of the loop
        whose back edge is `latch`: independent copies of a long latency chain
        (an inlined exp) side by side keep more of the core's FP pipes busy."""
        raise NotImplementedError   # only render_ir spells it (emit_kernel picks it)

    def _inline_math(self, name, args, dtype):
        """A call of math library function `name` inlined (kernel.meta["inline_math"])."""
        raise NotImplementedError   # only render_ir spells it (emit_kernel picks it)

    def _alloca(self, ty, count, name):
        """A 64-byte aligned stack array of `count` `ty` in the entry block."""
        raise NotImplementedError

    def _finish(self):
        """The module's LLVM IR text."""
        raise NotImplementedError

    # ---- the walk -------------------------------------------------------------------
    def render(self):
        """The kernel's LLVM IR text (unoptimized)."""
        kernel = self.kernel
        names = ["p." + p.name for p in kernel.params] + ["begin", "end"]
        objects, scalars = self._open_entry(names)
        data, dims, strides = self._read_arrays(objects)
        data, dims, strides, scalars = self._open_body([data, dims, strides, scalars])
        axes = [(buffer, axis) for buffer in kernel.buffers for axis in range(buffer.ndim)]
        self.data = dict(zip(kernel.buffers, data))
        self.dims, self.strides = dict(zip(axes, dims)), dict(zip(axes, strides))
        self.params = dict(zip(kernel.params, scalars))
        self.begin, self.end = scalars[-2:]
        self.scalar = self.emitter(self.builder)
        library_symbol = mathlib_scalar.symbol if self.level == 0 else mathlib.symbol

        def symbol(name, dtype):            # records what compile_kernel must load
            self.library_functions.add((name, dtype))
            return library_symbol(name, dtype)
        self.scalar.library_symbol = symbol
        # math functions the kernel asks to have inlined (kernel.meta, see _inline_math)
        self.inline_math = frozenset(kernel.meta.get("inline_math", ())) if self.level else ()
        # {loop var name: interleave count} for the loop vectorizer (kernel.meta)
        self.interleave = kernel.meta.get("interleave", {}) if self.level else {}
        if self.level == 0:
            self.scalar.intrinsic = self._fast_isel_intrinsic(self.scalar.intrinsic)
        self.locals = set()
        for stmt in kernel.body:
            if isinstance(stmt, Local):
                self._local(stmt)
        self.unit_strides = frozenset()
        self._block(kernel.body, env={})
        self.builder.ret(_const(I32, 0))
        return self._finish()

    def _read_arrays(self, objects):
        """(data pointers, dims, element strides) read from the PyArrayObjects."""
        b = self.builder

        def field(pointer, offset, typ):
            address = b.gep(pointer, [_const(I64, offset)], inbounds=True, source_etype=I8)
            return b.load(address, typ=typ, align=8)

        data, dims, strides = [], [], []
        for buffer, obj in zip(self.kernel.buffers, objects):
            pointer = field(obj, array_abi.DATA_OFFSET, I8P)
            data.append(b.bitcast(pointer, storage_type(buffer.dtype).as_pointer()))
            dims_ptr = field(obj, array_abi.DIMS_OFFSET, I8P)
            strides_ptr = field(obj, array_abi.STRIDES_OFFSET, I8P)
            shift = _const(I64, _itemsize(buffer.dtype).bit_length() - 1)
            for axis in range(buffer.ndim):
                dims.append(field(dims_ptr, 8 * axis, I64))
                # Byte strides are exact multiples of a power-of-two itemsize.
                strides.append(b.ashr(field(strides_ptr, 8 * axis, I64), shift))
        return data, dims, strides

    def _block(self, statements, env):
        self.cache = {}                  # CSE of scalar values within one straight-line body
        for stmt in statements:
            if isinstance(stmt, Store):
                self._store_elem(stmt.buffer, stmt.index, self._value(stmt.value, env), env)
                if stmt.buffer in self.locals:
                    self.cache = {}
            elif isinstance(stmt, Range):
                self._range(stmt, env)
            elif isinstance(stmt, Check):
                self._check(stmt, env)
            elif isinstance(stmt, Guarded):
                self._branch(self._condition(stmt.cond, env),
                             lambda: self._block(stmt.then, env),
                             lambda: self._block(stmt.otherwise, env))
            elif isinstance(stmt, Accumulate):
                self._accumulate(stmt, env)
            elif isinstance(stmt, ArgAccumulate):
                self._arg_accumulate(stmt, env)
            elif not isinstance(stmt, Local):    # Locals are allocated at entry (_local)
                raise TypeError("cannot emit statement %r" % (stmt,))

    # ---- control flow -------------------------------------------------------------
    def _check(self, stmt, env):
        b = self.builder
        differ = b.icmp_signed("!=", self._int(stmt.a, env), self._int(stmt.b, env))
        fail = b.append_basic_block("check%d.fail" % stmt.code)
        ok = b.append_basic_block("check%d.ok" % stmt.code)
        b.cbranch(differ, fail, ok)
        b.position_at_end(fail)
        b.ret(_const(I32, stmt.code))
        b.position_at_end(ok)

    def _branch(self, cond, emit_then, emit_otherwise):
        b = self.builder
        then, otherwise = b.append_basic_block("then"), b.append_basic_block("else")
        merge = b.append_basic_block("merge")
        b.cbranch(cond, then, otherwise)
        b.position_at_end(then)
        emit_then()
        b.branch(merge)
        b.position_at_end(otherwise)
        emit_otherwise()
        b.branch(merge)
        b.position_at_end(merge)
        self.cache = {}

    def _condition(self, cond, env):
        if isinstance(cond, Improves):
            return self._takes(cond, env)[0]
        if getattr(cond, "dtype", None) == "bool":      # a scalar expression
            return self._value(cond, env)
        if not isinstance(cond, Contiguous):
            raise TypeError("cannot emit condition %r" % (cond,))
        b = self.builder
        result = _const(I1, 1)
        for buffer, axes in cond.runs:
            for outer, inner in zip(axes, axes[1:]):
                spanned = b.mul(self.strides[buffer, inner], self.dims[buffer, inner])
                result = b.and_(result, b.icmp_signed("==", self.strides[buffer, outer], spanned))
        return result

    def _range(self, stmt, env):
        """A Range loop; innermost ones are multiversioned on unit strides."""
        start, stop = self._int(stmt.start, env), self._int(stmt.stop, env)
        strided = ()
        if stmt.step == 1 and self.level != 0 \
                and not any(isinstance(s, (Guarded, Range)) for s in stmt.body):
            strided = {k for k in _strided_by(stmt.var, stmt.body) if k[0] not in self.locals}
        if not strided:
            self._counted_loop(stmt, start, stop, env)
            return
        # Two copies of the loop: one with constant unit strides (it vectorizes),
        # run when every buffer `stmt.var` strides has element stride 1, and the
        # general one.
        b = self.builder
        unit = _const(I1, 1)
        for key in sorted(strided, key=lambda k: (k[0].name, k[1])):
            unit = b.and_(unit, b.icmp_signed("==", self.strides[key], _const(I64, 1)))

        def fast():
            self.unit_strides = frozenset(strided)
            self._counted_loop(stmt, start, stop, env, self._math_loop_width(stmt))
            self.unit_strides = frozenset()

        # The general copy is not vectorized: LLVM would only version it again
        # on the same unit strides (twice the code to optimize and compile).
        self._branch(unit, fast,
                     lambda: self._counted_loop(stmt, start, stop, env, vectorize=False))

    def _counted_loop(self, stmt, start, stop, env, vector_width=None, vectorize=True):
        b = self.builder
        preheader = b.block
        name = stmt.var.name
        header = b.append_basic_block(name + ".header")
        body = b.append_basic_block(name + ".body")
        done = b.append_basic_block(name + ".done")
        b.branch(header)
        b.position_at_end(header)
        counter = b.phi(I64, name)
        counter.add_incoming(start, preheader)
        b.cbranch(b.icmp_signed("<", counter, stop), body, done)
        b.position_at_end(body)
        self._block(stmt.body, {**env, stmt.var: counter})
        counter.add_incoming(b.add(counter, _const(I64, stmt.step)), b.block)
        latch = b.branch(header)
        if not vectorize:
            self._not_vectorized(latch)
        elif vector_width:
            self._vectorized_at(latch, vector_width)
        elif name in self.interleave and self.unit_strides:
            self._interleaved(latch, self.interleave[name])
        b.position_at_end(done)
        self.cache = {}                  # values of the loop body do not dominate its exit

    def _math_loop_width(self, stmt):
        """For kernels whose meta asks for "wide_math_loops" (a scan's step loop):
        the vector width to force on innermost loop `stmt` when it calls the math
        library, the widest variant built (two registers' worth of lanes). At
        LLVM's own choice (one register) every variant call re-materializes the
        function's ~30 constants; at twice the width the two halves share them,
        and a call's ~130-cycle dependency chain covers twice the lanes."""
        if not self.kernel.meta.get("wide_math_loops"):
            return None
        dtypes = _library_dtypes(stmt.body)
        return max(mathlib.widths(min(dtypes))) if dtypes else None

    # ---- memory --------------------------------------------------------------------
    def _local(self, stmt):
        buffer = stmt.buffer
        self.data[buffer] = self._alloca(storage_type(buffer.dtype), stmt.size, buffer.name)
        self.locals.add(buffer)
        for axis in range(buffer.ndim):
            self.dims[buffer, axis] = _const(I64, stmt.size)
            self.strides[buffer, axis] = _const(I64, 1)

    def _address(self, buffer, index, env):
        b = self.builder
        offset = None
        for var, axis in index:
            term = env[var]
            if (buffer, axis) not in self.unit_strides:
                term = b.mul(term, self.strides[buffer, axis])
            offset = term if offset is None else b.add(offset, term)
        if offset is None:
            return self.data[buffer]
        return b.gep(self.data[buffer], [offset], inbounds=True,
                     source_etype=storage_type(buffer.dtype))

    def _load_elem(self, buffer, index, env):
        dtype = buffer.dtype
        value = self.builder.load(self._address(buffer, index, env), typ=storage_type(dtype),
                                  align=_itemsize(dtype))
        return self.builder.trunc(value, I1) if dtype == "bool" else value

    def _store_elem(self, buffer, index, value, env):
        if buffer.dtype == "bool":
            value = self.builder.zext(value, I8)
        self.builder.store(value, self._address(buffer, index, env),
                           align=_itemsize(buffer.dtype))

    # ---- reductions -----------------------------------------------------------------
    def _accumulate(self, stmt, env):
        b, dtype = self.builder, stmt.buffer.dtype
        if dtype in FLOATS and stmt.op == "add" \
                and isinstance(stmt.value, Op) and stmt.value.name == "mul":
            # acc += a * b: a fused multiply-add (var's sum of squares: one
            # instruction, one rounding; the same for every split of the work)
            factors = [self._value(arg, env) for arg in stmt.value.args]
            old = self._load_elem(stmt.buffer, stmt.index, env)
            fn = self.scalar.declare("llvm.fmuladd." + ("f32" if dtype == "float32" else "f64"),
                                     old.type, [old.type] * 3)
            flags = ("reassoc", "contract") if stmt.reassoc else ("contract",)
            new = b.call(fn, factors + [old], fastmath=flags)
        else:
            value = self._value(stmt.value, env)
            old = self._load_elem(stmt.buffer, stmt.index, env)
            if stmt.reassoc and dtype in FLOATS and stmt.op in ("add", "mul"):
                emit = b.fadd if stmt.op == "add" else b.fmul
                new = emit(old, value, flags=("reassoc",))
            elif stmt.reassoc and dtype in FLOATS and stmt.op in ("maximum", "minimum"):
                # NaN-dropping, zero-sign-agnostic max/min (the lowering tracks NaNs
                # apart): one vector max per step where NaN-propagating maximum
                # takes a blend chain; LLVM vectorizes it as a reduction
                name = "llvm.%s.%s" % ("maxnum" if stmt.op == "maximum" else "minnum",
                                       "f32" if dtype == "float32" else "f64")
                fn = self.scalar.declare(name, old.type, [old.type, old.type])
                new = b.call(fn, [old, value], fastmath=("nnan", "nsz"))
            else:
                new = self.scalar.op(stmt.op, [old, value], dtype, dtype)
        self._store_elem(stmt.buffer, stmt.index, new, env)
        self.cache = {}

    def _arg_accumulate(self, stmt, env):
        b = self.builder
        take, value, old, old_pos = self._takes(stmt, env)
        position = self._value(stmt.position, env)
        self._store_elem(stmt.values, stmt.index, b.select(take, value, old), env)
        self._store_elem(stmt.positions, stmt.index, b.select(take, position, old_pos), env)
        self.cache = {}

    def _takes(self, stmt, env):
        """(take?, value, held value, held position) of an ArgAccumulate/Improves."""
        b, dtype = self.builder, stmt.values.dtype
        value = self._value(stmt.value, env)
        old = self._load_elem(stmt.values, stmt.index, env)
        old_pos = self._load_elem(stmt.positions, stmt.index, env)
        take = b.icmp_signed("<", old_pos, _const(I64, 0))
        symbol = ">" if stmt.op == "argmax" else "<"
        if dtype in FLOATS:
            better = b.fcmp_ordered(symbol, value, old)
            new_nan = b.and_(b.fcmp_unordered("uno", value, value),
                             b.fcmp_ordered("ord", old, old))
            take = b.or_(take, b.or_(better, new_nan))
        elif dtype == "bool" or dtype.startswith("uint"):
            take = b.or_(take, b.icmp_unsigned(symbol, value, old))
        else:
            take = b.or_(take, b.icmp_signed(symbol, value, old))
        return take, value, old, old_pos

    # ---- expressions ----------------------------------------------------------------
    def _int(self, expr, env):
        if isinstance(expr, Var):
            return env[expr]
        if isinstance(expr, Dim):
            return self.dims[expr.buffer, expr.axis]
        if isinstance(expr, IntConst):
            return _const(I64, expr.value)
        if isinstance(expr, IntOp):
            a, c = self._int(expr.a, env), self._int(expr.b, env)
            method = INT_OPS.get(expr.name)
            if method is not None:
                return getattr(self.builder, method)(a, c)
            return self._int_extremum(expr.name, a, c)
        if isinstance(expr, Param):
            return self.params[expr]
        if isinstance(expr, Begin):
            return self.begin
        if isinstance(expr, End):
            return self.end
        raise TypeError("cannot emit integer expression %r" % (expr,))

    def _int_extremum(self, name, a, c):
        """min/max of int64s: the intrinsic, or at level 0 compare and select
        (fast instruction selection handles those, not the intrinsic)."""
        if self.level == 0:
            b = self.builder
            return b.select(b.icmp_signed("<" if name == "min" else ">", a, c), a, c)
        return self.scalar.intrinsic("smin" if name == "min" else "smax", a, c)

    def _fast_isel_intrinsic(self, intrinsic):
        """At level 0, intrinsics that fast instruction selection cannot lower
        (each sends the rest of its block to the slow selector) spelled in
        plain instructions with the same result bits."""
        def emit(base, *args, ret=None):
            x = args[0]
            if base == "fabs" and isinstance(x.type, (ir.FloatType, ir.DoubleType)):
                bits = ir.IntType(32 if isinstance(x.type, ir.FloatType) else 64)
                b = self.builder
                mask = _const(bits, (1 << (bits.width - 1)) - 1)
                return b.bitcast(b.and_(b.bitcast(x, bits), mask), x.type)
            if base in ("smin", "smax") and isinstance(x.type, ir.IntType):
                return self._int_extremum(base[1:], *args)
            return intrinsic(base, *args, ret=ret)
        return emit

    def _value(self, expr, env):
        cached = self.cache.get(expr)
        if cached is not None:
            return cached
        if type(expr) is Op:            # the common case first (compile time)
            operands = expr.args
            if len(operands) == 2:      # (no comprehension: it costs a frame)
                args = (self._value(operands[0], env), self._value(operands[1], env))
            else:
                args = tuple(map(self._value, operands, (env,) * len(operands)))
            operand = operands[1] if expr.name == "switch" else operands[0]
            if expr.name in self.inline_math and self.unit_strides and expr.dtype in FLOATS:
                result = self._inline_math(expr.name, args, expr.dtype)
            else:
                result = self.scalar.op(expr.name, args, operand.dtype, expr.dtype)
        else:
            result = _VALUE[type(expr)](self, expr, env)
        self.cache[expr] = result
        return result


_VALUE = {   # scalar expression kind (but Op) -> how the walker emits it
    Load: lambda self, e, env: self._load_elem(e.buffer, e.index, env),
    Const: lambda self, e, env: self.scalar.const(e.value, e.dtype),
    Cast: lambda self, e, env: self.scalar.cast(self._value(e.x, env), e.x.dtype, e.dtype),
    Index: lambda self, e, env: self._int(e.expr, env),
}


def _subexpressions(statements):
    """Every scalar expression in the values `statements` store or accumulate
    (Loads, Ops, Casts, ...), each once."""
    seen = set()
    stack = [s.value for s in statements if isinstance(s, (Store, Accumulate, ArgAccumulate))]
    while stack:
        expr = stack.pop()
        if id(expr) in seen:
            continue
        seen.add(id(expr))
        yield expr
        if isinstance(expr, Op):
            stack.extend(expr.args)
        elif isinstance(expr, Cast):
            stack.append(expr.x)


def _strided_by(var, statements):
    """{(buffer, axis)} of every access in `statements` whose index uses `var`."""
    found = set()
    for stmt in statements:
        if isinstance(stmt, (Store, Accumulate)):
            found.update((stmt.buffer, axis) for v, axis in stmt.index if v == var)
        elif isinstance(stmt, ArgAccumulate):
            found.update((b, axis) for b in (stmt.values, stmt.positions)
                         for v, axis in stmt.index if v == var)
    for expr in _subexpressions(statements):
        if isinstance(expr, Load):
            found.update((expr.buffer, axis) for v, axis in expr.index if v == var)
    return found


def _library_dtypes(statements):
    """The float dtypes of the math library calls in `statements` (innermost loop body)."""
    return {e.dtype for e in _subexpressions(statements)
            if isinstance(e, Op) and in_library(e.name, e.dtype)}
