"""The vector math library: tjit's vectorizable math functions, compiled once.

Inlining exp or sin (tens of instructions, a Payne-Hanek reduction...) at every
use makes kernels slow to compile. Instead each function (name, dtype) is built
once per machine (cached on disk, loaded once per process):

    tjit_m_<name>_<dtype>(x)           scalar
    tjit_m_<name>_<dtype>_v<N>(<N x>)  vector variants, N lanes

The vector variants are made by LLVM itself: a loop over the N lanes calling the
inlined scalar body, forced to vectorize at width N (and kept from being fully
unrolled first: an 8-lane float32 loop was unrolled and then only partly
SLP-vectorized, half scalar code on AVX2). Kernels call the scalar
symbol; its declaration names the variants in the "vector-function-abi-variant"
attribute, so LLVM's loop vectorizer calls the variant of the width it picks.

Only the variants a kernel's optimized code calls are built and loaded
(`variants_called`): the vectorizer picks one width per loop, and each variant
costs as much compile time as the scalar function (typically the scalar one,
for loop remainders, and one width). What a kernel needs and its engine lacks
is built as one object; a later kernel calling a variant not loaded yet gets
an object of just the missing ones, so no symbol is defined twice in an engine.
"""
from __future__ import annotations

import re

import llvmlite.binding as llvm
from llvmlite import ir

from ..ir.nodes import SCALAR_OPS, Op
from . import cache as object_cache
from .scalar_ops import ScalarEmitter, in_library
from . import target as targets
from .target import LLVM_LOCK, optimize, target_machine

FLOATS = {"float64": ("double", ir.DoubleType()), "float32": ("float", ir.FloatType())}
WIDTHS = {"float64": (2, 4, 8), "float32": (4, 8, 16)}
_BITS = {"float64": 64, "float32": 32}
_loaded = set()     # (name, dtype) loaded into some engine (for tests and dumps)
_built = set()      # (name, dtype, variant) loaded into some engine (for tests)
_objects = {}       # cache key -> object code: one per function, variants and
                    # target, reloaded into each new engine without reading the disk again


def library_functions():
    """tjit.codegen.vecmath's RULES: op name -> the builder of its IR.

    Imported here, not at module level: vecmath (~1700 lines of IR builders)
    is needed only to build a library object, once per machine (the objects
    are cached on disk), so a process that finds them cached never imports it.
    """
    from .vecmath import RULES
    return RULES


def symbol(name, dtype):
    return f"tjit_m_{name}_{dtype}"


def vector_bits(target=None):
    """The widest vector register of `target` (default: the current one) in bits:
    512 with AVX-512, 256 with AVX, else 128 (SSE2, aarch64's NEON)."""
    t = target or targets.current()
    if not t.triple.startswith(("x86_64", "i386", "i686")):
        return 128
    if t.name == "host":
        features = {f[1:] for f in t.features.split(",") if f.startswith("+")}
    else:
        features = set(targets.required_features(t))
    return 512 if "avx512f" in features else 256 if "avx" in features else 128


def widths(dtype):
    """The vector variants built for the current target: up to two registers'
    worth of lanes (what the loop vectorizer may pick; wider ones would only
    cost compile time), e.g. float32 4 and 8 on SSE2, 4, 8 and 16 on AVX2."""
    most = 2 * vector_bits() // _BITS[dtype]
    return tuple(n for n in WIDTHS[dtype] if n <= most)


def vector_abi_variants(name, dtype):
    """The attribute value mapping the scalar symbol to its vector variants."""
    sym, params = symbol(name, dtype), "v" * SCALAR_OPS[name]
    return ",".join(f"_ZGV_LLVM_N{n}{params}_{sym}({sym}_v{n})" for n in widths(dtype))


def library_ir(name, dtype, variants=None):
    """LLVM IR text of an object holding `name` for `dtype`: the `variants`
    given (0: the scalar function, N: the N-lane one; default: the scalar one
    and every width of `widths`)."""
    return library_module_ir({(name, dtype): variants})


def library_module_ir(functions):
    """LLVM IR text of one object holding several functions: {(name, dtype):
    variants} as in `library_ir` (declarations and tables they share once).
    The scalar function is compiled in full even beside a vector variant: as
    that variant on a splat it would cost half the compile time, but kernels
    on strided arrays (their general loops call it per element) ran ~20% slower."""
    module = ir.Module(name="tjit_m")
    tm = target_machine()
    with LLVM_LOCK:
        module.triple = tm.triple
        module.data_layout = str(tm.target_data)
    wrappers = []
    for (name, dtype), variants in sorted(functions.items()):
        variants = (0,) + widths(dtype) if variants is None else tuple(sorted(variants))
        arity = SCALAR_OPS[name]
        tname, ty = FLOATS[dtype]
        sym = symbol(name, dtype)
        fnty = ir.FunctionType(ty, [ty] * arity)
        body = ir.Function(module, fnty, sym + "_body")
        body.linkage = "internal"
        body.attributes.add("alwaysinline")
        body.attributes.add("nounwind")
        em = ScalarEmitter(ir.IRBuilder(body.append_basic_block("entry")))
        em.builder.ret(library_functions()[name](em, "f", dtype, *body.args))
        if 0 in variants:
            scalar = ir.Function(module, fnty, sym)
            scalar.attributes.add("nounwind")
            b = ir.IRBuilder(scalar.append_basic_block("entry"))
            b.ret(b.call(body, scalar.args))
        for n in variants:
            if n:       # each loop's metadata: five nodes of its own
                wrappers.append(_vector_wrapper(sym, tname, arity, n, 9000 + 5 * len(wrappers)))
    return "\n".join([str(module)] + wrappers)


def _vector_wrapper(sym, t, arity, n, md):
    """<n x t> sym_v<n>(...): a lane loop over the scalar body, forced to vectorize
    at width n, not unrolled, not interleaved: one vector body."""
    if n == 2:
        return _pair_wrapper(sym, t, arity)
    vt = f"<{n} x {t}>"
    params = ", ".join(f"{vt} %a{i}" for i in range(arity))
    lines = [f"define {vt} @{sym}_v{n}({params}) nounwind {{", "entry:"]
    for i in range(arity):
        lines += [f"  %in{i} = alloca [{n} x {t}], align 64",
                  f"  store {vt} %a{i}, ptr %in{i}, align 64"]
    lines += [f"  %out = alloca [{n} x {t}], align 64", "  br label %loop", "loop:",
              "  %i = phi i64 [0, %entry], [%next, %loop]"]
    args = []
    for i in range(arity):
        lines += [f"  %p{i} = getelementptr inbounds {t}, ptr %in{i}, i64 %i",
                  f"  %x{i} = load {t}, ptr %p{i}"]
        args.append(f"{t} %x{i}")
    lines += [f"  %r = call {t} @{sym}_body({', '.join(args)})",
              f"  %q = getelementptr inbounds {t}, ptr %out, i64 %i",
              f"  store {t} %r, ptr %q",
              "  %next = add nuw nsw i64 %i, 1",
              f"  %more = icmp ult i64 %next, {n}",
              f"  br i1 %more, label %loop, label %done, !llvm.loop !{md}",
              "done:", f"  %res = load {vt}, ptr %out, align 64", f"  ret {vt} %res", "}",
              f"!{md} = distinct !{{!{md}, !{md + 1}, !{md + 2}, !{md + 3}, !{md + 4}}}",
              f"!{md + 1} = !{{!\"llvm.loop.vectorize.width\", i32 {n}}}",
              f"!{md + 2} = !{{!\"llvm.loop.vectorize.enable\", i1 true}}",
              f"!{md + 3} = !{{!\"llvm.loop.unroll.disable\"}}",
              f"!{md + 4} = !{{!\"llvm.loop.interleave.count\", i32 1}}"]
    return "\n".join(lines)


def _pair_wrapper(sym, t, arity):
    """<2 x t> sym_v2(...): both lanes inline, left to the SLP vectorizer. (The loop
    vectorizer, forced to width 2, gives up on some bodies such as pow's, and LLVM
    then prints a warning on stderr.)"""
    vt = f"<2 x {t}>"
    params = ", ".join(f"{vt} %a{i}" for i in range(arity))
    lines = [f"define {vt} @{sym}_v2({params}) nounwind {{", "entry:"]
    acc = "poison"
    for lane in range(2):
        args = []
        for i in range(arity):
            lines.append(f"  %x{i}_{lane} = extractelement {vt} %a{i}, i64 {lane}")
            args.append(f"{t} %x{i}_{lane}")
        lines += [f"  %r{lane} = call {t} @{sym}_body({', '.join(args)})",
                  f"  %v{lane} = insertelement {vt} {acc}, {t} %r{lane}, i64 {lane}"]
        acc = f"%v{lane}"
    lines += [f"  ret {vt} {acc}", "}"]
    return "\n".join(lines)


def library_asm(name, dtype):
    """Assembly of the optimized library object for `name` (for tests and dumps)."""
    with LLVM_LOCK:
        module = llvm.parse_assembly(library_ir(name, dtype))
        module.verify()
        optimize(module)
        return target_machine().emit_assembly(module)


def ensure_loaded(engine, functions):
    """Load (compiling if not cached) the library code for `functions` into
    `engine` (a `tjit.codegen.jit.Engine`), for the current target: a dict
    {(name, dtype): variants (0: scalar, N: N lanes)}, e.g. `variants_called`'s,
    or a set of (name, dtype): every variant. Call with LLVM_LOCK held.

    The variants not loaded yet are built as one object (one parse, pipeline
    and code generation instead of one per function: ~2 ms each), cached
    under the key of that set; a process needing another set builds its own."""
    if not isinstance(functions, dict):
        functions = {f: (0,) + widths(f[1]) for f in functions}
    missing = {}
    for (name, dtype), variants in functions.items():
        todo = tuple(sorted(n for n in variants if ("m", name, dtype, n) not in engine.library))
        if todo:
            missing[name, dtype] = todo
    if not missing:
        return
    # The key names the functions and variants; the cache's code version
    # covers the sources (so a hit does not even build the IR).
    spelled = ", ".join(f"{name} {dtype} {' '.join(map(str, todo))}"
                        for (name, dtype), todo in sorted(missing.items()))
    key = object_cache.entry_key(f"mathlib {spelled}", "tjit_m")

    def build():
        module = llvm.parse_assembly(library_module_ir(missing))
        module.verify()
        optimize(module)
        return target_machine().emit_object(module), str(module)

    obj = object_cache.cached_object(key, build, _objects)
    engine.add_object(obj)
    for (name, dtype), todo in missing.items():
        engine.library.update(("m", name, dtype, n) for n in todo)
        _loaded.add((name, dtype))
        _built.update((name, dtype, n) for n in todo)


# A library symbol followed by an argument list with values: a call. (A
# declaration lists bare types, "(double)" or "(<4 x double>, ...)".)
_CALL = re.compile(r'@"?tjit_m_(\w+?)_(float32|float64)(?:_v(\d+))?"?\((?!(?:<\d+ x \w+>|\w+)[,)])')


def variants_called(llvm_ir):
    """{(name, dtype): variants} the optimized kernel IR text `llvm_ir` calls (0:
    the scalar function, N: the N-lane variant); declarations nobody calls
    (the variants the vectorizer did not pick) are left out."""
    found = {}
    for name, dtype, lanes in _CALL.findall(llvm_ir):
        found.setdefault((name, dtype), set()).add(int(lanes or 0))
    return found


_SYMBOL = re.compile(r"tjit_m_(\w+?)_(float32|float64)(?:_v(\d+))?")


def variants_named(symbols):
    """{(name, dtype): variants} of the library symbols among `symbols` (an
    object's undefined symbols: those its code calls)."""
    found = {}
    for s in symbols:
        m = _SYMBOL.fullmatch(s)
        if m:
            name, dtype, lanes = m.groups()
            found.setdefault((name, dtype), set()).add(int(lanes or 0))
    return found


def functions_used(kernel):
    """(name, dtype) of every library function the kernel calls."""
    found, seen = set(), set()

    def visit(node):
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, Op) and in_library(node.name, node.dtype):
            found.add((node.name, node.dtype))
        if isinstance(node, tuple):
            for x in node:
                visit(x)
        elif hasattr(node, "__dataclass_fields__"):
            for f in node.__dataclass_fields__:
                if f != "meta":
                    visit(getattr(node, f))

    visit(kernel.body)
    return found


def link_declarations(text, used):
    """Patch kernel IR `text`: give each library declaration its vector variants
    (llvmlite cannot spell string attributes) and keep the variant declarations
    alive until the loop vectorizer has run (llvm.compiler.used)."""
    extra, used_syms = [], []
    for k, (name, dtype) in enumerate(sorted(used)):
        sym, group = symbol(name, dtype), 9100 + k
        tname = FLOATS[dtype][0]
        pattern = re.compile(r'^(declare [^\n]*@"?' + re.escape(sym) + r'"?\([^\n]*)$', re.M)
        text, count = pattern.subn(lambda m: m.group(1) + f" #{group}", text)
        if not count:
            continue
        arity = SCALAR_OPS[name]
        extra.append(f'attributes #{group} = {{ nounwind willreturn nofree nosync memory(none) '
                     f'"vector-function-abi-variant"="{vector_abi_variants(name, dtype)}" }}')
        for n in widths(dtype):
            vt = f"<{n} x {tname}>"
            extra.append(f"declare {vt} @{sym}_v{n}({', '.join([vt] * arity)}) nounwind "
                         "willreturn nofree nosync memory(none)")
            used_syms.append(f"ptr @{sym}_v{n}")
    if used_syms:
        extra.append(f"@llvm.compiler.used = appending global [{len(used_syms)} x ptr] "
                     f"[{', '.join(used_syms)}], section \"llvm.metadata\"")
    return text + "\n" + "\n".join(extra) + "\n"
