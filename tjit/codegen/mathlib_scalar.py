"""FAST_COMPILE's math library: the scalar functions only, without optimization.

FAST_COMPILE kernels are not vectorized, so they need no vector variants, and
building the full library (O3 plus three forced-vectorized wrappers per
function) would cost more than the kernel. The functions are compiled (the set a
kernel needs as one object, cached on disk) from the same IR as
`tjit.codegen.mathlib`'s scalar body, under its own symbol `tjit_s_<name>_<dtype>` so both libraries can live in
one engine. No fast-math flags are used anywhere, so the unoptimized code gives
the same bits as the optimized library.
"""
from __future__ import annotations

import llvmlite.binding as llvm
from llvmlite import ir

from . import cache as object_cache
from .mathlib import FLOATS, library_functions
from .scalar_ops import ScalarEmitter
from .target import LLVM_LOCK, target_machine
from ..ir.nodes import SCALAR_OPS

_loaded = set()     # (name, dtype) loaded into some engine (for tests and dumps)
_objects = {}       # cache key -> object code, reloaded into each new engine


def symbol(name, dtype):
    return f"tjit_s_{name}_{dtype}"


def library_module_ir(functions):
    """LLVM IR text of one object holding the scalar functions `functions`, a
    list of (name, dtype) (helpers and tables they share are emitted once)."""
    rules = library_functions()
    names = ",".join("%s_%s" % f for f in functions)
    module = ir.Module(name="tjit_s_" + names)
    tm = target_machine(0)
    with LLVM_LOCK:
        module.triple = tm.triple
        module.data_layout = str(tm.target_data)
    for name, dtype in functions:
        ty = FLOATS[dtype][1]
        fn = ir.Function(module, ir.FunctionType(ty, [ty] * SCALAR_OPS[name]),
                         symbol(name, dtype))
        fn.attributes.add("nounwind")
        em = ScalarEmitter(ir.IRBuilder(fn.append_basic_block("entry")))
        em.builder.ret(rules[name](em, "f", dtype, *fn.args))
    return str(module)


def ensure_loaded(engine, functions):
    """Load (compiling if not cached) the scalar objects for `functions`, a set of
    (name, dtype), into `engine` (a `tjit.codegen.jit.Engine`). Call with LLVM_LOCK held.

    The functions not loaded yet are built as one object (one parse and one
    code generation instead of one per function: the fixed cost of each is
    ~0.5 ms), cached under the key of that set; a process needing another
    set builds its own. An object is loaded only with functions not loaded
    before, so no symbol is ever defined twice in the engine."""
    missing = sorted(f for f in functions if ("s",) + f not in engine.library)
    if not missing:
        return
    names = " ".join("%s %s" % f for f in missing)
    key = object_cache.entry_key(f"scalar mathlib {names}", "tjit_s")

    def build():
        text = library_module_ir(missing)
        module = llvm.parse_assembly(text)
        module.verify()
        return target_machine(0).emit_object(module), text  # unoptimized: the text is its source

    obj = object_cache.cached_object(key, build, _objects)
    engine.add_object(obj)
    engine.library.update(("s",) + f for f in missing)
    _loaded.update(missing)
