"""The llvmlite.ir renderer of the loop-IR walker (FAST_RUN: level 3).

Builds the module from llvmlite.ir objects: the ABI entry and, at level 3, the
noalias body function it calls (see `tjit.codegen.walker`). Math library
declarations get their vector variants (`mathlib.link_declarations`).
"""
from __future__ import annotations

from llvmlite import ir

from tjit.codegen import mathlib
from tjit.codegen.scalar_ops import ScalarEmitter, storage_type
from tjit.codegen.walker import I8P, I32, I64, Renderer


class IRRenderer(Renderer):
    emitter = ScalarEmitter
    _no_vectorize = None        # the loop metadata of loops not to vectorize

    def _open_entry(self, scalar_names):
        kernel = self.kernel
        self.module = ir.Module(name=kernel.name)
        self.module.triple, self.module.data_layout = self.triple, self.data_layout
        n_axes = sum(b.ndim for b in kernel.buffers)
        if self.level:        # declared first: it comes first in the module
            pointers = [storage_type(b.dtype).as_pointer() for b in kernel.buffers]
            fn_type = ir.FunctionType(I32, pointers + [I64] * (2 * n_axes + len(scalar_names)))
            self.body_fn = ir.Function(self.module, fn_type, name=self.symbol + ".body")
            self.body_fn.linkage = "internal"
            self.body_fn.attributes.add("nounwind")
        fn_type = ir.FunctionType(I32, [I8P] * len(kernel.buffers) + [I64] * len(scalar_names))
        entry = ir.Function(self.module, fn_type, name=self.symbol)
        objects, scalars = entry.args[:len(kernel.buffers)], entry.args[len(kernel.buffers):]
        for buffer, arg in zip(kernel.buffers, objects):
            arg.name = buffer.name + ".obj"
        for name, arg in zip(scalar_names, scalars):
            arg.name = name
        self.builder = ir.IRBuilder(entry.append_basic_block("entry"))
        self.entry_fn = entry
        return objects, list(scalars)

    def _open_body(self, values):
        if not self.level:
            return values
        data, dims, strides, scalars = values
        self.builder.ret(self.builder.call(self.body_fn, data + dims + strides + scalars))
        args = iter(self.body_fn.args)
        result = [[next(args) for _ in part] for part in values]
        for buffer, arg in zip(self.kernel.buffers, result[0]):
            arg.name = buffer.name
            arg.add_attribute("noalias")
        axes = [(b, axis) for b in self.kernel.buffers for axis in range(b.ndim)]
        for label, part in (("dim", result[1]), ("stride", result[2])):
            for (buffer, axis), arg in zip(axes, part):
                arg.name = "%s.%s%d" % (buffer.name, label, axis)
        for arg, named in zip(result[3], self.entry_fn.args[len(self.kernel.buffers):]):
            arg.name = named.name
        self.builder = ir.IRBuilder(self.body_fn.append_basic_block("entry"))
        return result

    def _alloca(self, ty, count, name):
        pointer = self.builder.alloca(ty, size=ir.Constant(I64, count), name=name)
        pointer.align = 64
        return pointer

    def _not_vectorized(self, latch):
        if self._no_vectorize is None:
            m = self.module
            self._no_vectorize = m.add_metadata([m.add_metadata(
                [ir.MetaDataString(m, "llvm.loop.vectorize.enable"), ir.Constant(ir.IntType(1), 0)])])
        latch.set_metadata("llvm.loop", self._no_vectorize)

    def _vectorized_at(self, latch, width):
        m = self.module
        hints = [m.add_metadata([ir.MetaDataString(m, "llvm.loop.vectorize.width"),
                                 ir.Constant(ir.IntType(32), width)]),
                 m.add_metadata([ir.MetaDataString(m, "llvm.loop.vectorize.enable"),
                                 ir.Constant(ir.IntType(1), 1)])]
        loop = m.add_metadata(hints + [ir.MetaDataString(m, "loop %d" % width)])
        loop.operands = (loop,) + tuple(hints)      # a loop ID refers to itself
        latch.set_metadata("llvm.loop", loop)

    def _interleaved(self, latch, count):
        m = self.module
        option = m.add_metadata([ir.MetaDataString(m, "llvm.loop.interleave.count"),
                                 ir.Constant(I32, count)])
        # a loop ID's first operand is itself: made unique, then pointed at itself
        loop_id = m.add_metadata([ir.MetaDataString(m, "tjit.loop.%d" % len(m.metadata)),
                                  option])
        loop_id.operands = (loop_id, option)
        latch.set_metadata("llvm.loop", loop_id)

    def _inline_math(self, name, args, dtype):
        """A call of the math library function `name` made to an internal
        alwaysinline copy of its body (the library's own IR rule), so the loop
        vectorizer sees its instructions: no call per vector and no spills of
        the live vector registers around it, and it can interleave them.
        Compiles slower (~20 ms per kernel): kernels ask for it (kernel.meta["inline_math"])
        only where the function is the hot loop's main cost (softmax's exp), and
        only the unit-stride copy of a loop gets it (the other calls the library)."""
        rule = mathlib.library_functions()[name]

        def build(em, params):
            em.builder.ret(rule(em, "f", dtype, *params))
        fn = self.scalar.helper(f"tjit_inline_{name}_{dtype}", args[0].type,
                                [a.type for a in args], build)
        fn.attributes.add("alwaysinline")
        return self.builder.call(fn, args)

    def _finish(self):
        text = str(self.module)
        if self.level == 0:
            return text
        if self._no_vectorize is not None:  # a loop ID names itself first (llvmlite cannot)
            name = self._no_vectorize.name
            text = text.replace(f"\n!{name} = !{{ ", f"\n!{name} = distinct !{{ !{name}, ", 1)
        return mathlib.link_declarations(text, self.library_functions)
