"""LLVM IR for a loop-IR `Kernel`.

The module holds two functions:
- `@<name>(i8* a0, ..., i8* aN, i64 p0, ..., i64 pK, i64 begin, i64 end) -> i32`,
  the ABI entry: each `a_k` is the `PyObject*` of an ndarray, each `p_k` the
  value of the kernel's `Param` k; it reads data pointer, dims and byte strides
  from the PyArrayObject (offsets in `array_abi`), turns strides into element
  strides, and calls
- `@<name>.body(data pointers..., dims..., element strides..., params..., begin, end)`, an
  internal function whose data pointers are `noalias`: the runtime guarantees
  outputs are fresh and never alias inputs (inputs are only read, so inputs
  aliasing each other is fine). That lets LLVM hoist broadcast loads and
  vectorize without run-time overlap checks.

The caller must guarantee: every array has its buffer's dtype and ndim and is
aligned (byte strides are multiples of the itemsize).

Innermost loops are multiversioned: when every buffer the loop variable strides
has element stride 1 there, a copy with constant unit strides runs (it vectorizes).
Not at level 0 (FAST_COMPILE): nothing vectorizes there, one version is enough.

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

from tjit.codegen import array_abi
from tjit.codegen.scalar_ops import ScalarEmitter, storage_type
from tjit.codegen.target import LLVM_LOCK, target_machine
from tjit.ir.nodes import (Accumulate, ArgAccumulate, Begin, Cast, Check, Const, Contiguous, Dim,
                           End, Guarded, Improves, Index, IntConst, IntOp, Load, Local, Op, Param,
                           Range, Store, Var)

I8P = ir.IntType(8).as_pointer()
I64, I32, I8 = ir.IntType(64), ir.IntType(32), ir.IntType(8)


def emit_kernel(kernel, symbol=None, level=3, text_first=True) -> str:
    """LLVM IR text (unoptimized) for `kernel`, with the host triple and data layout.

    The entry function is named `symbol` (default: `kernel.name`). At `level` 0
    (FAST_COMPILE: nothing vectorizes) loops have one version only and math
    functions come from the scalar library (`tjit.codegen.mathlib_scalar`), and
    plain elementwise kernels are written directly as text (`emit_fast`) unless
    `text_first` is False (the caller already tried)."""
    from tjit.codegen.mathlib import functions_used, link_declarations
    if level == 0 and text_first:
        from tjit.codegen.emit_fast import emit_elementwise
        tm = target_machine(0)
        with LLVM_LOCK:
            triple, layout = tm.triple, str(tm.target_data)
        text = emit_elementwise(kernel, symbol or kernel.name, triple, layout)
        if text is not None:
            return text
    text = str(_KernelEmitter(kernel, symbol or kernel.name, level).module)
    if level == 0:
        return text
    used = kernel.meta["library functions"] = functions_used(kernel)   # for compile_kernel
    return link_declarations(text, used)


def _itemsize(dtype):
    return np.dtype(dtype).itemsize


class _KernelEmitter:
    def __init__(self, kernel, symbol, level=3):
        self.kernel = kernel
        self.symbol = symbol
        self.level = level
        self.module = ir.Module(name=kernel.name)
        tm = target_machine(3 if level else 0)    # the one the caller uses (same layout)
        with LLVM_LOCK:
            self.module.triple = tm.triple
            self.module.data_layout = str(tm.target_data)
        if level == 0:
            # One function: no noalias body to call (nothing vectorizes), and a
            # body taking more than six arguments would push LLVM's fast
            # instruction selection onto its slow fallback path.
            self.body_fn, builder = self._emit_entry(single=True)
            self._emit_body(builder)
        else:
            self.body_fn = self._declare_body()
            self._emit_entry()
            self._emit_body()

    # ---- the ABI entry: read PyArrayObject fields --------------------------------
    def _emit_entry(self, single=False):
        """The ABI entry; `single`: it is the whole kernel (returns it and the
        builder at the end of its field loads, for the body)."""
        kernel = self.kernel
        n_scalars = len(kernel.params) + 2
        fn_type = ir.FunctionType(I32, [I8P] * len(kernel.buffers) + [I64] * n_scalars)
        entry = ir.Function(self.module, fn_type, name=self.symbol)
        for buffer, arg in zip(kernel.buffers, entry.args):
            arg.name = buffer.name + ".obj"
        scalars = entry.args[len(kernel.buffers):]
        for param, arg in zip(kernel.params, scalars):
            arg.name = "p." + param.name
        scalars[-2].name, scalars[-1].name = "begin", "end"
        b = ir.IRBuilder(entry.append_basic_block("entry"))

        def field(pointer, offset, typ):
            address = b.gep(pointer, [ir.Constant(I64, offset)], inbounds=True, source_etype=I8)
            return b.load(address, typ=typ, align=8)

        data, dims, strides = [], [], []
        for buffer, obj in zip(kernel.buffers, entry.args):
            pointer = field(obj, array_abi.DATA_OFFSET, I8P)
            data.append(b.bitcast(pointer, storage_type(buffer.dtype).as_pointer()))
            dims_ptr = field(obj, array_abi.DIMS_OFFSET, I8P)
            strides_ptr = field(obj, array_abi.STRIDES_OFFSET, I8P)
            shift = ir.Constant(I64, _itemsize(buffer.dtype).bit_length() - 1)
            for axis in range(buffer.ndim):
                dims.append(field(dims_ptr, 8 * axis, I64))
                # Byte strides are exact multiples of a power-of-two itemsize.
                strides.append(b.ashr(field(strides_ptr, 8 * axis, I64), shift))
        if single:
            axes = [(buffer, axis) for buffer in kernel.buffers for axis in range(buffer.ndim)]
            self.data = dict(zip(kernel.buffers, data))
            self.dims, self.strides = dict(zip(axes, dims)), dict(zip(axes, strides))
            self.params = dict(zip(kernel.params, scalars))
            self.begin, self.end = entry.args[-2], entry.args[-1]
            return entry, b
        b.ret(b.call(self.body_fn, data + dims + strides + list(scalars)))

    def _declare_body(self):
        kernel = self.kernel
        axes = [(buffer, axis) for buffer in kernel.buffers for axis in range(buffer.ndim)]
        pointers = [storage_type(b.dtype).as_pointer() for b in kernel.buffers]
        fn_type = ir.FunctionType(I32, pointers + [I64] * (2 * len(axes) + len(kernel.params) + 2))
        fn = ir.Function(self.module, fn_type, name=self.symbol + ".body")
        fn.linkage = "internal"
        fn.attributes.add("nounwind")
        args = iter(fn.args)
        self.data = {}
        for buffer in kernel.buffers:
            arg = next(args)
            arg.name = buffer.name
            arg.add_attribute("noalias")
            self.data[buffer] = arg
        self.dims, self.strides = {}, {}
        for table, label in ((self.dims, "dim"), (self.strides, "stride")):
            for buffer, axis in axes:
                arg = next(args)
                arg.name = "%s.%s%d" % (buffer.name, label, axis)
                table[buffer, axis] = arg
        self.params = {}
        for param in kernel.params:
            arg = next(args)
            arg.name = "p." + param.name
            self.params[param] = arg
        self.begin, self.end = next(args), next(args)
        self.begin.name, self.end.name = "begin", "end"
        return fn

    # ---- statements ------------------------------------------------------------------
    def _emit_body(self, builder=None):
        self.builder = builder or ir.IRBuilder(self.body_fn.append_basic_block("entry"))
        self.scalar = ScalarEmitter(self.builder)
        if self.level == 0:
            from tjit.codegen import mathlib_scalar
            self.scalar.library_symbol = mathlib_scalar.symbol
            self.scalar.intrinsic = self._fast_isel_intrinsic(self.scalar.intrinsic)
        self.locals = set()
        for stmt in self.kernel.body:
            if isinstance(stmt, Local):
                self._local(stmt)
        self.unit_strides = frozenset()
        self._block(self.kernel.body, env={})
        self.builder.ret(ir.Constant(I32, 0))

    def _block(self, statements, env):
        self.cache = {}                  # CSE of scalar values within one straight-line body
        for stmt in statements:
            if isinstance(stmt, Check):
                self._check(stmt, env)
            elif isinstance(stmt, Guarded):
                self._guarded(stmt, env)
            elif isinstance(stmt, Store):
                self._store(stmt, env)
                if stmt.buffer in self.locals:
                    self.cache = {}
            elif isinstance(stmt, Range):
                self._range(stmt, env)
            elif isinstance(stmt, Accumulate):
                self._accumulate(stmt, env)
            elif isinstance(stmt, ArgAccumulate):
                self._arg_accumulate(stmt, env)
            elif isinstance(stmt, Local):
                pass                     # allocated at entry (_local)
            else:
                raise TypeError("cannot emit statement %r" % (stmt,))

    # ---- reductions -------------------------------------------------------------------
    def _local(self, stmt):
        buffer = stmt.buffer
        ty = storage_type(buffer.dtype)
        count = ir.Constant(I64, stmt.size)
        pointer = self.builder.alloca(ty, size=count, name=buffer.name)
        pointer.align = 64
        self.data[buffer] = pointer
        self.locals.add(buffer)
        for axis in range(buffer.ndim):
            self.dims[buffer, axis] = ir.Constant(I64, stmt.size)
            self.strides[buffer, axis] = ir.Constant(I64, 1)

    def _load_elem(self, buffer, index, env):
        dtype = buffer.dtype
        value = self.builder.load(self._address(buffer, index, env), typ=storage_type(dtype),
                                  align=_itemsize(dtype))
        return self.builder.trunc(value, ir.IntType(1)) if dtype == "bool" else value

    def _store_elem(self, buffer, index, value, env):
        if buffer.dtype == "bool":
            value = self.builder.zext(value, I8)
        self.builder.store(value, self._address(buffer, index, env),
                           align=_itemsize(buffer.dtype))

    def _accumulate(self, stmt, env):
        b, dtype = self.builder, stmt.buffer.dtype
        if dtype in ("float32", "float64") and stmt.op == "add" \
                and isinstance(stmt.value, Op) and stmt.value.name == "mul":
            # acc += a * b: a fused multiply-add (var's sum of squares: one
            # instruction, one rounding; the same for every split of the work)
            factors = [self._value(arg, env) for arg in stmt.value.args]
            old = self._load_elem(stmt.buffer, stmt.index, env)
            fn = self.scalar.declare("llvm.fmuladd." + ("f32" if dtype == "float32" else "f64"),
                                     old.type, [old.type] * 3)
            flags = ("reassoc", "contract") if stmt.reassoc else ("contract",)
            new = b.call(fn, factors + [old], fastmath=flags)
            self._store_elem(stmt.buffer, stmt.index, new, env)
            self.cache = {}
            return
        value = self._value(stmt.value, env)
        old = self._load_elem(stmt.buffer, stmt.index, env)
        if stmt.reassoc and dtype in ("float32", "float64") and stmt.op in ("add", "mul"):
            emit = b.fadd if stmt.op == "add" else b.fmul
            new = emit(old, value, flags=("reassoc",))
        elif stmt.reassoc and dtype in ("float32", "float64") and stmt.op in ("maximum",
                                                                                "minimum"):
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
        take = b.icmp_signed("<", old_pos, ir.Constant(I64, 0))
        symbol = ">" if stmt.op == "argmax" else "<"
        if dtype in ("float32", "float64"):
            better = b.fcmp_ordered(symbol, value, old)
            new_nan = b.and_(b.fcmp_unordered("uno", value, value),
                             b.fcmp_ordered("ord", old, old))
            take = b.or_(take, b.or_(better, new_nan))
        elif dtype == "bool" or dtype.startswith("uint"):
            take = b.or_(take, b.icmp_unsigned(symbol, value, old))
        else:
            take = b.or_(take, b.icmp_signed(symbol, value, old))
        return take, value, old, old_pos

    def _range(self, stmt, env):
        """A Range loop; innermost ones are multiversioned on unit strides."""
        start, stop = self._int(stmt.start, env), self._int(stmt.stop, env)
        nested = any(isinstance(s, (Guarded, Range)) for s in stmt.body)
        if nested or stmt.step != 1 or self.level == 0:
            self._counted_loop(stmt, start, stop, env, stmt.step)
            return
        strided = {k for k in _strided_by(stmt.var, stmt.body) if k[0] not in self.locals}
        if not strided:
            self._counted_loop(stmt, start, stop, env, stmt.step)
            return
        self._unit_stride_versions(stmt, start, stop, env, strided)

    def _check(self, stmt, env):
        b = self.builder
        differ = b.icmp_signed("!=", self._int(stmt.a, env), self._int(stmt.b, env))
        fail = b.append_basic_block("check%d.fail" % stmt.code)
        ok = b.append_basic_block("check%d.ok" % stmt.code)
        b.cbranch(differ, fail, ok)
        b.position_at_end(fail)
        b.ret(ir.Constant(I32, stmt.code))
        b.position_at_end(ok)

    def _guarded(self, stmt, env):
        self._branch(self._condition(stmt.cond, env),
                     lambda: self._block(stmt.then, env),
                     lambda: self._block(stmt.otherwise, env))

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
        result = ir.Constant(ir.IntType(1), 1)
        for buffer, axes in cond.runs:
            for outer, inner in zip(axes, axes[1:]):
                spanned = b.mul(self.strides[buffer, inner], self.dims[buffer, inner])
                result = b.and_(result, b.icmp_signed("==", self.strides[buffer, outer], spanned))
        return result

    def _unit_stride_versions(self, stmt, start, stop, env, strided):
        """Two copies of the loop: one with constant unit strides (it vectorizes),
        run when every buffer `stmt.var` strides has element stride 1, and the
        general one."""
        b = self.builder
        unit = ir.Constant(ir.IntType(1), 1)
        for key in sorted(strided, key=lambda k: (k[0].name, k[1])):
            unit = b.and_(unit, b.icmp_signed("==", self.strides[key], ir.Constant(I64, 1)))

        def fast():
            self.unit_strides = frozenset(strided)
            self._counted_loop(stmt, start, stop, env)
            self.unit_strides = frozenset()

        self._branch(unit, fast, lambda: self._counted_loop(stmt, start, stop, env))

    def _counted_loop(self, stmt, start, stop, env, step=1):
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
        counter.add_incoming(b.add(counter, ir.Constant(I64, step)), b.block)
        b.branch(header)
        b.position_at_end(done)
        self.cache = {}                  # values of the loop body do not dominate its exit

    def _store(self, stmt, env):
        value = self._value(stmt.value, env)
        if stmt.buffer.dtype == "bool":
            value = self.builder.zext(value, I8)
        self.builder.store(value, self._address(stmt.buffer, stmt.index, env),
                           align=_itemsize(stmt.buffer.dtype))

    # ---- expressions ----------------------------------------------------------------
    def _int(self, expr, env):
        if isinstance(expr, Dim):
            return self.dims[expr.buffer, expr.axis]
        if isinstance(expr, IntConst):
            return ir.Constant(I64, expr.value)
        if isinstance(expr, Var):
            return env[expr]
        if isinstance(expr, Param):
            return self.params[expr]
        if isinstance(expr, Begin):
            return self.begin
        if isinstance(expr, End):
            return self.end
        if isinstance(expr, IntOp):
            a, c = self._int(expr.a, env), self._int(expr.b, env)
            if expr.name == "add":
                return self.builder.add(a, c)
            if expr.name == "sub":
                return self.builder.sub(a, c)
            if expr.name == "mul":
                return self.builder.mul(a, c)
            if expr.name == "div":
                return self.builder.sdiv(a, c)
            return self._int_extremum(expr.name, a, c)
        raise TypeError("cannot emit integer expression %r" % (expr,))

    def _fast_isel_intrinsic(self, intrinsic):
        """At level 0, intrinsics that fast instruction selection cannot lower
        (each sends the rest of its block to the slow selector) spelled in
        plain instructions with the same result bits."""
        def emit(base, *args, ret=None):
            x = args[0]
            if base == "fabs" and isinstance(x.type, (ir.FloatType, ir.DoubleType)):
                bits = ir.IntType(32 if isinstance(x.type, ir.FloatType) else 64)
                b = self.builder
                mask = ir.Constant(bits, (1 << (bits.width - 1)) - 1)
                return b.bitcast(b.and_(b.bitcast(x, bits), mask), x.type)
            if base in ("smin", "smax") and isinstance(x.type, ir.IntType):
                return self._int_extremum(base[1:], *args)
            return intrinsic(base, *args, ret=ret)
        return emit

    def _int_extremum(self, name, a, c):
        """min/max of int64s: the intrinsic, or at level 0 compare and select
        (fast instruction selection handles those, not the intrinsic)."""
        if self.level == 0:
            b = self.builder
            return b.select(b.icmp_signed("<" if name == "min" else ">", a, c), a, c)
        return self.scalar.intrinsic("smin" if name == "min" else "smax", a, c)

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

    def _value(self, expr, env):
        cached = self.cache.get(expr)
        if cached is not None:
            return cached
        b = self.builder
        if isinstance(expr, Const):
            result = self.scalar.const(expr.value, expr.dtype)
        elif isinstance(expr, Load):
            dtype = expr.buffer.dtype
            result = b.load(self._address(expr.buffer, expr.index, env),
                            typ=storage_type(dtype), align=_itemsize(dtype))
            if dtype == "bool":
                result = b.trunc(result, ir.IntType(1))
        elif isinstance(expr, Cast):
            result = self.scalar.cast(self._value(expr.x, env), expr.x.dtype, expr.dtype)
        elif isinstance(expr, Index):
            result = self._int(expr.expr, env)
        elif isinstance(expr, Op):
            args = [self._value(a, env) for a in expr.args]
            operand = expr.args[1] if expr.name == "switch" else expr.args[0]
            result = self.scalar.op(expr.name, args, operand.dtype, expr.dtype)
        else:
            raise TypeError("cannot emit scalar expression %r" % (expr,))
        self.cache[expr] = result
        return result


def _strided_by(var, statements):
    """{(buffer, axis)} of every access in `statements` whose index uses `var`."""
    found, seen = set(), set()

    def visit(expr):
        if id(expr) in seen:
            return
        seen.add(id(expr))
        if isinstance(expr, Load):
            found.update((expr.buffer, axis) for v, axis in expr.index if v == var)
        elif isinstance(expr, Op):
            for arg in expr.args:
                visit(arg)
        elif isinstance(expr, Cast):
            visit(expr.x)

    for stmt in statements:
        if isinstance(stmt, (Store, Accumulate)):
            found.update((stmt.buffer, axis) for v, axis in stmt.index if v == var)
            visit(stmt.value)
        elif isinstance(stmt, ArgAccumulate):
            found.update((b, axis) for b in (stmt.values, stmt.positions)
                         for v, axis in stmt.index if v == var)
            visit(stmt.value)
    return found
