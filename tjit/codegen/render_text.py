"""The text renderer of the loop-IR walker (both levels: 0, FAST_COMPILE, and 3, FAST_RUN).

Building IR through llvmlite.ir objects and printing them costs several
microseconds per instruction in Python, more than LLVM's own parse and fast
instruction selection of the result. This renderer writes the LLVM IR text
directly: `TextBuilder` has the part of llvmlite's `IRBuilder` interface that
the walker and the scalar op rules (`tjit.codegen.scalar_ops`,
`special_funcs`) use, and appends one line per instruction. Operands are its
own values or llvmlite constants (formatted by llvmlite, so literals are
spelled as the other renderer spells them); types are llvmlite types. So both
renderers emit the same instructions from the same walk and the same op
rules: the same bits.

At level 0, external functions (the scalar math library, libm) are called
through pointers loaded at the top of the calling function: with the JIT's
large code model, fast instruction selection cannot lower a direct call to an
external symbol and hands the rest of the block to the slow selector. At level
3 calls are direct (the loop vectorizer maps a direct call to the vector math
library's variants), and the body is the noalias function the entry calls
(see `tjit.codegen.walker`), as `render_ir` spells it.
"""
from __future__ import annotations

import re

from llvmlite import ir

from tjit.codegen import mathlib
from tjit.codegen.scalar_ops import (INSTRUCTIONS, ScalarEmitter, kind, storage_type,
                                      value_type)
from tjit.codegen.walker import I1, Renderer

_IDENTIFIER = re.compile(r"[-a-zA-Z$._][-a-zA-Z$._0-9]*\Z")
_TYPE_NAMES = {}
_CMP = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq", "!=": "ne"}


def _type(ty):
    """The text of an llvmlite type (pointers are opaque `ptr`)."""
    name = _TYPE_NAMES.get(id(ty))  # int and float types are immortal singletons
    if name is None:
        if isinstance(ty, ir.PointerType):
            return "ptr"
        name = _TYPE_NAMES[id(ty)] = str(ty)
    return name


def _name(text):
    return text if _IDENTIFIER.match(text) else '"%s"' % text


class _Value:
    __slots__ = ("type", "ref")

    def __init__(self, ty, ref):
        self.type, self.ref = ty, ref

    def get_reference(self):
        return self.ref


class _Phi(_Value):
    """A phi whose incoming values are added later; printed when the text is."""
    __slots__ = ("incoming",)

    def __init__(self, ty, ref):
        super().__init__(ty, ref)
        self.incoming = []

    def add_incoming(self, value, block):
        self.incoming.append("[%s, %%%s]" % (value.get_reference(), block.name))

    def __str__(self):
        return "  %s = phi %s %s" % (self.ref, _type(self.type), ", ".join(self.incoming))


class _Block:
    __slots__ = ("name", "lines", "function")

    def __init__(self, name, function):
        self.name, self.lines, self.function = name, [], function


class _Function:
    """A function being written: its blocks, in order, hold instruction lines."""

    def __init__(self, module, name, return_type, arg_types, arg_names, linkage="",
                 noalias=0):
        self.module, self.name, self.return_type = module, name, return_type
        self.args = [_Value(ty, "%" + _name(n)) for ty, n in zip(arg_types, arg_names)]
        self.noalias = noalias          # the first `noalias` arguments are noalias pointers
        self.linkage, self.defined = linkage, True
        self.blocks, self.used, self.count = [], set(), 0
        self.callees = {}                # external symbol -> its pointer, loaded at entry

    def append_basic_block(self, name="bb"):
        base, k = name, 0
        while name in self.used:
            k += 1
            name = "%s.%d" % (base, k)
        self.used.add(name)
        block = _Block(_name(name), self)
        self.blocks.append(block)
        return block

    def tmp(self):
        self.count += 1
        return "%%.%d" % self.count

    def callee(self, fn):
        if fn.name.startswith("llvm.") or fn.defined or self.module.direct_calls:
            return '@"%s"' % fn.name
        pointer = self.callees.get(fn.name)
        if pointer is None:
            pointer = self.callees[fn.name] = '%%"fn.%s"' % fn.name
            self.module.external.add(fn.name)
        return pointer

    def text(self):
        params = ", ".join("%s%s %s" % (_type(a.type), " noalias" if k < self.noalias else "",
                                         a.ref) for k, a in enumerate(self.args))
        head = "define %s%s @\"%s\"(%s)%s {" % (
            self.linkage + " " if self.linkage else "", _type(self.return_type), self.name,
            params, " nounwind" if self.linkage else "")
        lines = [head]
        for k, block in enumerate(self.blocks):
            lines.append(block.name + ":")
            if k == 0:
                lines += ['  %s = load ptr, ptr @"%s.ptr", align 8' % (pointer, symbol)
                          for symbol, pointer in self.callees.items()]
            lines += [line if type(line) is str else str(line) for line in block.lines]
        lines.append("}")
        return "\n".join(lines)


class _Declaration:
    __slots__ = ("name", "return_type", "text", "defined")

    def __init__(self, name, return_type, arg_types, attrs):
        self.name, self.return_type, self.defined = name, return_type, False
        self.text = 'declare %s @"%s"(%s)%s' % (
            _type(return_type), name, ", ".join(_type(t) for t in arg_types),
            "".join(" " + a for a in attrs))


class _Module:
    def __init__(self, direct_calls=False):
        self.globals, self.functions, self.external = {}, [], set()
        self.direct_calls = direct_calls

    def declare(self, name, ret, args, attrs=()):
        fn = self.globals.get(name)
        if fn is None:
            fn = self.globals[name] = _Declaration(name, ret, args, attrs)
        return fn

    def define(self, name, ret, arg_types, arg_names, linkage="", noalias=0):
        fn = self.globals[name] = _Function(self, name, ret, arg_types, arg_names, linkage,
                                            noalias)
        self.functions.append(fn)
        return fn

    def text(self, triple, data_layout):
        parts = ['target triple = "%s"' % triple, 'target datalayout = "%s"' % data_layout, ""]
        parts += [fn.text() for fn in self.functions]
        parts += [fn.text for fn in self.globals.values() if not fn.defined]
        parts += ['@"%s.ptr" = internal constant ptr @"%s"' % (symbol, symbol)
                  for symbol in sorted(self.external)]
        return "\n".join(parts) + "\n"


class TextBuilder:
    """llvmlite's IRBuilder interface (the part tjit uses), writing text lines."""

    def __init__(self, block):
        self.block = block
        self.function = block.function
        self.module = self.function.module

    def _emit(self, ty, text):
        function = self.function
        function.count += 1
        ref = "%%.%d" % function.count
        self.block.lines.append("  " + ref + " = " + text)
        return _Value(ty, ref)

    # ---- blocks and control flow ------------------------------------------------------
    def append_basic_block(self, name=""):
        return self.function.append_basic_block(name or "bb")

    def position_at_end(self, block):
        self.block = block

    def branch(self, target):
        self.block.lines.append("  br label %%%s" % target.name)

    def cbranch(self, cond, then, otherwise):
        self.block.lines.append("  br i1 %s, label %%%s, label %%%s"
                                % (cond.get_reference(), then.name, otherwise.name))

    def ret(self, value):
        self.block.lines.append("  ret %s %s" % (_type(value.type), value.get_reference()))

    def phi(self, typ, name=""):
        phi = _Phi(typ, self.function.tmp())
        self.block.lines.append(phi)
        return phi

    def call(self, fn, args, name="", cconv=None, tail=False, fastmath=(), attrs=(),
             arg_attrs=None):
        flags = "".join(f + " " for f in fastmath)
        operands = ", ".join("%s %s" % (_type(a.type), a.get_reference()) for a in args)
        return self._emit(fn.return_type, "call %s%s %s(%s)" % (
            flags, _type(fn.return_type), self.function.callee(fn), operands))

    # ---- values -------------------------------------------------------------------
    def select(self, cond, lhs, rhs, name="", flags=()):
        ty = _type(lhs.type)
        return self._emit(lhs.type, "select i1 %s, %s %s, %s %s" % (
            cond.get_reference(), ty, lhs.get_reference(), ty, rhs.get_reference()))

    def icmp_signed(self, cmpop, lhs, rhs, name=""):
        op = _CMP[cmpop]
        return self._compare("icmp " + (op if op in ("eq", "ne") else "s" + op), lhs, rhs)

    def icmp_unsigned(self, cmpop, lhs, rhs, name=""):
        op = _CMP[cmpop]
        return self._compare("icmp " + (op if op in ("eq", "ne") else "u" + op), lhs, rhs)

    def fcmp_ordered(self, cmpop, lhs, rhs, name="", flags=()):
        return self._compare("fcmp " + ("o" + _CMP[cmpop] if cmpop in _CMP else cmpop), lhs, rhs)

    def fcmp_unordered(self, cmpop, lhs, rhs, name="", flags=()):
        return self._compare("fcmp " + ("u" + _CMP[cmpop] if cmpop in _CMP else cmpop), lhs, rhs)

    def _compare(self, op, lhs, rhs):
        return self._emit(I1, "%s %s %s, %s" % (op, _type(lhs.type), lhs.get_reference(),
                                               rhs.get_reference()))

    def neg(self, value, name=""):
        return self.sub(ir.Constant(value.type, 0), value)

    def not_(self, value, name=""):
        return self.xor(value, ir.Constant(value.type, -1))

    def fneg(self, value, name="", flags=()):
        return self._emit(value.type, "fneg %s %s" % (_type(value.type), value.get_reference()))

    def bitcast(self, value, typ, name=""):
        if isinstance(typ, ir.PointerType):          # pointers are opaque: nothing to do
            return _Value(typ, value.get_reference())
        return self._convert("bitcast", value, typ)

    def _convert(self, op, value, typ):
        return self._emit(typ, "%s %s %s to %s" % (op, _type(value.type), value.get_reference(),
                                                   _type(typ)))

    # ---- memory -------------------------------------------------------------------
    def gep(self, ptr, indices, inbounds=False, name="", source_etype=None):
        operands = "".join(", %s %s" % (_type(i.type), i.get_reference()) for i in indices)
        return self._emit(ptr.type, "getelementptr %s%s, ptr %s%s" % (
            "inbounds " if inbounds else "", _type(source_etype), ptr.get_reference(), operands))

    def load(self, ptr, name="", align=None, typ=None):
        return self._emit(typ, "load %s, ptr %s%s" % (_type(typ), ptr.get_reference(),
                                                     ", align %d" % align if align else ""))

    def store(self, value, ptr, align=None):
        self.block.lines.append("  store %s %s, ptr %s%s" % (
            _type(value.type), value.get_reference(), ptr.get_reference(),
            ", align %d" % align if align else ""))


def _binary(op):
    def emit(self, lhs, rhs, name="", flags=()):
        head = op + "".join(" " + f for f in flags) if flags else op
        return self._emit(lhs.type, "%s %s %s, %s" % (head, _type(lhs.type), lhs.get_reference(),
                                                      rhs.get_reference()))
    return emit


def _conversion(op):
    def emit(self, value, typ, name=""):
        return self._convert(op, value, typ)
    return emit


for _op in ("add", "sub", "mul", "sdiv", "udiv", "srem", "urem", "shl", "lshr", "ashr",
            "fadd", "fsub", "fmul", "fdiv", "frem"):
    setattr(TextBuilder, _op, _binary(_op))
for _method, _op in (("and_", "and"), ("or_", "or"), ("xor", "xor")):
    setattr(TextBuilder, _method, _binary(_op))
for _op in ("trunc", "zext", "sext", "fpext", "fptrunc", "sitofp", "uitofp", "fptosi",
            "fptoui"):
    setattr(TextBuilder, _op, _conversion(_op))


class TextScalarEmitter(ScalarEmitter):
    """The scalar op rules over a TextBuilder: declarations and helper functions
    go to the text module."""

    def declare(self, name, ret, args, attrs=()):
        return self.module.declare(name, ret, args, attrs)

    def binary(self, opcode, a, b):
        ty = a.type
        return self.builder._emit(ty, "%s %s %s, %s" % (opcode, _type(ty), a.get_reference(),
                                                        b.get_reference()))

    def _emitter(self, name, arg_dtype):
        opcode = INSTRUCTIONS.get((name, kind(arg_dtype)))
        if opcode is None:
            return super()._emitter(name, arg_dtype)
        ty = value_type(arg_dtype)
        head = "%s %s " % (opcode, _type(ty))      # the instruction's text, once per op

        def emit(a, b):
            return self.builder._emit(ty, head + a.get_reference() + ", " + b.get_reference())
        return emit

    def helper(self, name, ret, arg_types, build):
        fn = self.module.globals.get(name)
        if fn is None:
            fn = self.module.define(name, ret, arg_types,
                                    ["arg%d" % k for k in range(len(arg_types))], "internal")
            build(TextScalarEmitter(TextBuilder(fn.append_basic_block("entry"))), fn.args)
        return fn


class TextRenderer(Renderer):
    """Level 0: one function, the body inline. Level 3: the entry calls the
    noalias body function; math library declarations get their vector variants."""
    emitter = TextScalarEmitter
    _NO_VECTORIZE = 8000        # metadata number of the "do not vectorize" loop ID

    def _open_entry(self, scalar_names):
        kernel = self.kernel
        self.module = _Module(direct_calls=self.level != 0)
        self.no_vectorize = False
        self.width_loops = []       # (metadata number, lanes) of loops given a width
        i8p, i64, i32 = ir.IntType(8).as_pointer(), ir.IntType(64), ir.IntType(32)
        if self.level:        # defined first: it comes first in the module
            axes = [(b.name, axis) for b in kernel.buffers for axis in range(b.ndim)]
            self.body_fn = self.module.define(
                self.symbol + ".body", i32,
                [storage_type(b.dtype).as_pointer() for b in kernel.buffers]
                + [i64] * (2 * len(axes) + len(scalar_names)),
                [b.name for b in kernel.buffers] + ["%s.dim%d" % a for a in axes]
                + ["%s.stride%d" % a for a in axes] + scalar_names,
                "internal", noalias=len(kernel.buffers))
        fn = self.module.define(self.symbol, i32,
                                [i8p] * len(kernel.buffers) + [i64] * len(scalar_names),
                                [b.name + ".obj" for b in kernel.buffers] + scalar_names)
        self.builder = TextBuilder(fn.append_basic_block("entry"))
        return fn.args[:len(kernel.buffers)], fn.args[len(kernel.buffers):]

    def _open_body(self, values):
        if not self.level:
            return values
        self.builder.ret(self.builder.call(self.body_fn, [v for part in values for v in part]))
        args = iter(self.body_fn.args)
        result = [[next(args) for _ in part] for part in values]
        self.builder = TextBuilder(self.body_fn.append_basic_block("entry"))
        return result

    def _not_vectorized(self, latch):
        self.builder.block.lines[-1] += ", !llvm.loop !%d" % self._NO_VECTORIZE
        self.no_vectorize = True

    def _vectorized_at(self, latch, width):
        n = self._NO_VECTORIZE + 2 + 3 * len(self.width_loops)   # a distinct loop ID each
        self.builder.block.lines[-1] += ", !llvm.loop !%d" % n
        self.width_loops.append((n, width))

    def _alloca(self, ty, count, name):
        return self.builder._emit(ty.as_pointer(), "alloca %s, i64 %d, align 64"
                                  % (_type(ty), count))

    def _finish(self):
        text = self.module.text(self.triple, self.data_layout)
        for n, width in self.width_loops:
            text += (f"!{n} = distinct !{{!{n}, !{n + 1}, !{n + 2}}}\n"
                     f"!{n + 1} = !{{!\"llvm.loop.vectorize.width\", i32 {width}}}\n"
                     f"!{n + 2} = !{{!\"llvm.loop.vectorize.enable\", i1 true}}\n")
        if self.level == 0:
            return text
        if self.no_vectorize:
            n = self._NO_VECTORIZE
            text += (f"!{n} = distinct !{{!{n}, !{n + 1}}}\n"
                     f"!{n + 1} = !{{!\"llvm.loop.vectorize.enable\", i1 false}}\n")
        return mathlib.link_declarations(text, self.library_functions)
