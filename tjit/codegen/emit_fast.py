"""FAST_COMPILE's LLVM IR for plain elementwise kernels, written as text.

Building IR through llvmlite.ir objects and printing them costs ~8 us per
instruction in Python, more than LLVM's own parse and fast instruction
selection of the result. At level 0 the common kernel (shape checks, a loop
nest, stores of float expressions of loads and constants) is spelled here
directly, with the instructions `tjit.codegen.emit` would give at level 0 (the
same float operations on the same operands in the same order, so the same
bits). `emit_elementwise` returns None for anything else (casts, integer or
bool dtypes, reductions, ranged loops, guards other than dimension
collapsing's, ops without a rule below), and the caller takes the general
emitter.
"""
from __future__ import annotations

import math
import struct

import numpy as np

from tjit.codegen import array_abi
from tjit.ir.nodes import (Begin, Check, Const, Contiguous, Dim, End, Guarded, IntConst, IntOp,
                           Load, Op, Param, Range, Store)

_TYPES = {"float64": "double", "float32": "float"}
_BINARY = {"add": "fadd", "sub": "fsub", "mul": "fmul", "true_div": "fdiv"}
_ABS_MASK = {"float64": ("i64", (1 << 63) - 1), "float32": ("i32", (1 << 31) - 1)}
_ITEMSHIFT = {"float64": 3, "float32": 2}
_INT_OPS = {"add": "add", "sub": "sub", "mul": "mul", "div": "sdiv"}


class _Unsupported(Exception):
    pass


def emit_elementwise(kernel, symbol, triple, data_layout):
    """LLVM IR text of `kernel` at level 0 (one function named `symbol`, math
    functions from `tjit.codegen.mathlib_scalar`), or None when the kernel is
    not of the plain elementwise kind handled here."""
    if any(b.dtype not in _TYPES for b in kernel.buffers):
        return None
    try:
        writer = _Writer(kernel, symbol)
        text = writer.module(triple, data_layout)
    except _Unsupported:
        return None
    kernel.meta["library functions"] = writer.library_functions   # for compile_kernel
    return text


def _float_literal(value, dtype):
    value = float(value)
    if dtype == "float32":
        if not math.isfinite(value):
            raise _Unsupported   # keep llvmlite's spelling of float NaN payloads
        value = float(np.float32(value))
    return "0x%016x" % struct.unpack("<Q", struct.pack("<d", value))[0]


class _Writer:
    def __init__(self, kernel, symbol):
        from tjit.codegen.mathlib import LIBRARY_OPS
        from tjit.codegen.mathlib_scalar import symbol as library_symbol
        self.kernel, self.symbol = kernel, symbol
        self.library_ops, self.library_symbol = LIBRARY_OPS, library_symbol
        self.lines, self.declared = [], {}
        self.library_functions = set()      # (name, dtype), as mathlib.functions_used
        self.count = 0
        self.block = "entry"

    def tmp(self):
        self.count += 1
        return "%%t%d" % self.count

    def emit(self, text):
        name = self.tmp()
        self.lines.append("  %s = %s" % (name, text))
        return name

    def label(self, name):
        self.lines.append(name + ":")
        self.block = name

    # ---- the module --------------------------------------------------------------
    def module(self, triple, data_layout):
        kernel = self.kernel
        params = ", ".join(["ptr %%a%d" % k for k in range(len(kernel.buffers))]
                           + ['i64 %%"p.%s"' % p.name for p in kernel.params]
                           + ["i64 %begin", "i64 %end"])
        self.label("entry")
        # the math functions' addresses go first: instruction selection works
        # bottom up, a block's instructions above one it misses take the slow path
        pointers_at = len(self.lines)
        self.data, self.dims, self.strides = {}, {}, {}
        for k, buffer in enumerate(kernel.buffers):
            # the PyArrayObject fields, as emit._emit_entry reads them
            obj = "%%a%d" % k
            self.data[buffer] = self._field(obj, array_abi.DATA_OFFSET, "ptr")
            dims_ptr = self._field(obj, array_abi.DIMS_OFFSET, "ptr")
            strides_ptr = self._field(obj, array_abi.STRIDES_OFFSET, "ptr")
            for axis in range(buffer.ndim):
                self.dims[buffer, axis] = self._field(dims_ptr, 8 * axis, "i64")
                stride = self._field(strides_ptr, 8 * axis, "i64")
                self.strides[buffer, axis] = self.emit(
                    "ashr i64 %s, %d" % (stride, _ITEMSHIFT[buffer.dtype]))
        self.cache = {}
        self._block(kernel.body, {})
        self.lines.append("  ret i32 0")
        # Math functions are called through pointers loaded once at entry:
        # with the JIT's large code model, fast instruction selection cannot
        # lower a direct call to an external symbol and hands every call to
        # the slow selector (only these few loads take that path).
        self.lines[pointers_at:pointers_at] = [
            '  %%"p.%s" = load ptr, ptr @"%s.ptr", align 8' % (sym, sym) for sym in self.declared]
        head = ['target triple = "%s"' % triple, 'target datalayout = "%s"' % data_layout, "",
                'define i32 @"%s"(%s) {' % (self.symbol, params)]
        tail = ["}", ""] + list(self.declared.values()) + [
            '@"%s.ptr" = internal constant ptr @"%s"' % (sym, sym) for sym in self.declared]
        return "\n".join(head + self.lines + tail) + "\n"

    def _field(self, pointer, offset, typ):
        address = self.emit("getelementptr inbounds i8, ptr %s, i64 %d" % (pointer, offset))
        return self.emit("load %s, ptr %s, align 8" % (typ, address))

    # ---- statements --------------------------------------------------------------
    def _int(self, expr):
        if isinstance(expr, Dim):
            return self.dims[expr.buffer, expr.axis]
        if isinstance(expr, IntConst):
            return str(int(expr.value))
        if isinstance(expr, Param):
            return '%%"p.%s"' % expr.name
        if isinstance(expr, Begin):
            return "%begin"
        if isinstance(expr, End):
            return "%end"
        if isinstance(expr, IntOp):
            a, b = self._int(expr.a), self._int(expr.b)
            if expr.name in ("min", "max"):     # as emit's level 0: compare and select
                less = self.emit("icmp %s i64 %s, %s" % ("slt" if expr.name == "min" else "sgt",
                                                         a, b))
                return self.emit("select i1 %s, i64 %s, i64 %s" % (less, a, b))
            return self.emit("%s i64 %s, %s" % (_INT_OPS[expr.name], a, b))
        raise _Unsupported

    def _block(self, statements, env):
        for stmt in statements:
            if isinstance(stmt, Check):
                self._check(stmt)
            elif isinstance(stmt, Range):
                self._range(stmt, env)
                self.cache = {}          # the loop body's values do not dominate its exit
            elif isinstance(stmt, Store):
                self._store(stmt, env)
            elif isinstance(stmt, Guarded):
                self._guarded(stmt, env)
            else:
                raise _Unsupported

    def _guarded(self, stmt, env):
        """Dimension collapsing's two versions, as emit._guarded/_condition."""
        if not isinstance(stmt.cond, Contiguous):
            raise _Unsupported
        cond = "true"
        for buffer, axes in stmt.cond.runs:
            for outer, inner in zip(axes, axes[1:]):
                spanned = self.emit("mul i64 %s, %s" % (self.strides[buffer, inner],
                                                        self.dims[buffer, inner]))
                same = self.emit("icmp eq i64 %s, %s" % (self.strides[buffer, outer], spanned))
                cond = self.emit("and i1 %s, %s" % (cond, same))
        self.count += 1
        then, otherwise, merge = ("g%d.%s" % (self.count, part)
                                  for part in ("then", "else", "merge"))
        self.lines.append("  br i1 %s, label %%%s, label %%%s" % (cond, then, otherwise))
        for label, body in ((then, stmt.then), (otherwise, stmt.otherwise)):
            self.label(label)
            self.cache = {}
            self._block(body, env)
            self.lines.append("  br label %%%s" % merge)
        self.label(merge)
        self.cache = {}

    def _check(self, stmt):
        differ = self.emit("icmp ne i64 %s, %s" % (self._int(stmt.a), self._int(stmt.b)))
        self.count += 1         # labels stay unique even if two checks share a code
        fail, ok = "check%d.%d.fail" % (stmt.code, self.count), "check%d.%d.ok" % (stmt.code,
                                                                             self.count)
        self.lines.append("  br i1 %s, label %%%s, label %%%s" % (differ, fail, ok))
        self.label(fail)
        self.lines.append("  ret i32 %d" % stmt.code)
        self.label(ok)

    def _range(self, stmt, env):
        start, stop = self._int(stmt.start), self._int(stmt.stop)
        self.count += 1
        tag = "l%d" % self.count
        header, body, done = tag + ".header", tag + ".body", tag + ".done"
        preheader = self.block
        counter = "%%%s.i" % tag
        self.lines.append("  br label %%%s" % header)
        self.label(header)
        phi_at = len(self.lines)
        self.lines.append(None)                 # the phi, once the latch block is known
        go = self.emit("icmp slt i64 %s, %s" % (counter, stop))
        self.lines.append("  br i1 %s, label %%%s, label %%%s" % (go, body, done))
        self.label(body)
        self.cache = {}
        self._block(stmt.body, {**env, stmt.var: counter})
        step = self.emit("add i64 %s, %d" % (counter, stmt.step))
        self.lines[phi_at] = "  %s = phi i64 [%s, %%%s], [%s, %%%s]" % (
            counter, start, preheader, step, self.block)
        self.lines.append("  br label %%%s" % header)
        self.label(done)

    def _address(self, buffer, index, env):
        offset = None
        for var, axis in index:
            term = self.emit("mul i64 %s, %s" % (env[var], self.strides[buffer, axis]))
            offset = term if offset is None else self.emit("add i64 %s, %s" % (offset, term))
        if offset is None:
            return self.data[buffer]
        return self.emit("getelementptr inbounds %s, ptr %s, i64 %s"
                         % (_TYPES[buffer.dtype], self.data[buffer], offset))

    def _store(self, stmt, env):
        value = self._value(stmt.value, env)
        ty = _TYPES[stmt.buffer.dtype]
        if stmt.value.dtype != stmt.buffer.dtype:
            raise _Unsupported
        address = self._address(stmt.buffer, stmt.index, env)
        self.lines.append("  store %s %s, ptr %s, align %d"
                          % (ty, value, address, 1 << _ITEMSHIFT[stmt.buffer.dtype]))

    # ---- expressions -------------------------------------------------------------
    def _value(self, expr, env):
        cached = self.cache.get(expr)
        if cached is not None:
            return cached
        if isinstance(expr, Const):
            if expr.dtype not in _TYPES:
                raise _Unsupported
            result = _float_literal(expr.value, expr.dtype)
        elif isinstance(expr, Load):
            dtype = expr.buffer.dtype
            address = self._address(expr.buffer, expr.index, env)
            result = self.emit("load %s, ptr %s, align %d"
                               % (_TYPES[dtype], address, 1 << _ITEMSHIFT[dtype]))
        elif isinstance(expr, Op):
            result = self._op(expr, env)
        else:
            raise _Unsupported
        self.cache[expr] = result
        return result

    def _op(self, expr, env):
        dtype, name = expr.dtype, expr.name
        if dtype not in _TYPES or any(getattr(a, "dtype", None) != dtype for a in expr.args):
            raise _Unsupported
        ty = _TYPES[dtype]
        if name in _BINARY or name == "sqr":
            a = self._value(expr.args[0], env)
            b = a if name == "sqr" else self._value(expr.args[1], env)
            return self.emit("%s %s %s, %s" % (_BINARY.get(name, "fmul"), ty, a, b))
        if name == "neg":
            return self.emit("fneg %s %s" % (ty, self._value(expr.args[0], env)))
        if name == "abs":
            # as emit's level 0 spells llvm.fabs: clear the sign bit
            bits, mask = _ABS_MASK[dtype]
            x = self.emit("bitcast %s %s to %s" % (ty, self._value(expr.args[0], env), bits))
            return self.emit("bitcast %s %s to %s"
                             % (bits, self.emit("and %s %s, %d" % (bits, x, mask)), ty))
        if name in self.library_ops:
            args = [self._value(a, env) for a in expr.args]
            sym = self.library_symbol(name, dtype)
            self.library_functions.add((name, dtype))
            self.declared[sym] = 'declare %s @"%s"(%s)' % (ty, sym, ", ".join([ty] * len(args)))
            return self.emit('call %s %%"p.%s"(%s)' % (ty, sym, ", ".join(
                "%s %s" % (ty, a) for a in args)))
        raise _Unsupported
