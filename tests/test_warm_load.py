"""Loading cached object code without LLVM (tjit/codegen/elf_loader.py): a kernel and
the math library code it calls, loaded by tjit's ELF loader, run as the same
objects loaded by MCJIT do, every address patched where the object says; an object
the loader does not handle leaves it unchanged and goes to MCJIT; a warm process
(its kernels and the sequence driver cached) initializes no LLVM target at all."""
import ctypes
import gc
import math
import struct
import weakref

import llvmlite.binding as llvm
import numpy as np
import pytest

import tjit as theano
import tjit.tensor as T
from helpers import cold_then_warm, only_native
from tjit.codegen import elf_loader, jit, mathlib, target


def _object(ir_text, jit_code_model=True):
    """Host object code of `ir_text`: for the JIT (the large code model, as
    kernels are built), or position-independent in the small code model."""
    with target.LLVM_LOCK:
        if jit_code_model:
            tm = target.target_machine(0)
        else:
            tm = llvm.Target.from_triple(llvm.get_process_triple()).create_target_machine(
                opt=0, reloc="pic", codemodel="small")
        module = llvm.parse_assembly(ir_text)
        module.triple = llvm.get_process_triple()
        return tm.emit_object(module)


class _MCJITEngine(jit.Engine):
    def __init__(self, tgt, mcjit=False):
        super().__init__(tgt, mcjit=True)


def test_a_kernel_and_its_library_variants_load_and_run_as_under_mcjit(fresh_engines,
                                                                       monkeypatch):
    x, y = T.dvectors("x", "y")
    out = T.tanh(T.exp(-x * x) * y) + abs(y - 0.5)
    v = np.linspace(-3, 3, 1003)               # a remainder after the vector loop
    w = np.linspace(2, 3, 2006)[::2]           # strided: the scalar general loop
    f = theano.function([x, y], out, mode="FAST_RUN")
    native = only_native(f)
    assert not native.engine.mcjit and isinstance(native.engine.ee, elf_loader.ObjectImages)
    called = mathlib.variants_called(native.llvm_ir)
    assert set(called) == {("exp", "float64"), ("tanh", "float64")}
    assert {e for e in native.engine.library if e[0] == "m"} == {
        ("m", name, dtype, n) for (name, dtype), ns in called.items() for n in ns}
    # the variants read from the object's undefined symbols are the calls in its IR
    assert mathlib.variants_named(elf_loader.ObjectFile(native.object_code).undefined()) \
        == called
    expected = np.tanh(np.exp(-v * v) * w) + abs(w - 0.5)
    results = [f(v, w), f(v[::-1], w[::-1])]
    np.testing.assert_allclose(results[0], expected, rtol=1e-14)

    # every patched address is the one the object names: a library function of
    # this engine (the variant called), or a constant of the object's own image
    images = native.engine.ee
    obj = elf_loader.ObjectFile(native.object_code)
    (_, _, entry_section, entry_value), = [s for s in obj.symbols if s[0] == native.kernel.name]
    base = native.address - obj.place[entry_section] - entry_value
    library = set()
    for at, sym, addend in obj.relocations:
        name, _, shndx, value = obj.symbols[sym]
        patched = struct.unpack("<Q", ctypes.string_at(base + at, 8))[0]
        if shndx == 0:
            assert patched == images.addresses[name] + addend
            library.add(name)
        else:
            assert patched == base + obj.place[shndx] + value + addend
    assert library == {(mathlib.symbol(name, dtype) + (f"_v{n}" if n else ""))
                       for (name, dtype), ns in called.items() for n in ns}

    # the same cached objects loaded by MCJIT give the same bits
    monkeypatch.setattr(jit, "_engines", {})
    monkeypatch.setattr(jit, "_cache", jit.KernelCache())
    monkeypatch.setattr(jit, "Engine", _MCJITEngine)
    g = theano.function([x, y], out, mode="FAST_RUN")
    assert only_native(g).engine.mcjit and only_native(g).from_disk_cache
    np.testing.assert_array_equal(g(v, w), results[0])
    np.testing.assert_array_equal(g(v[::-1], w[::-1]), results[1])


def test_float32_baseline_kernels_load_the_variants_they_call(fresh_engines):
    a, b = T.fvectors("a", "b")
    with theano.config.change_flags(cpu="x86-64"):
        f = theano.function([a, b], a ** b + T.log(b), mode="FAST_RUN")
        native = only_native(f)
        called = mathlib.variants_called(native.llvm_ir)
        assert set(called) == {("pow", "float32"), ("log", "float32")}
        assert mathlib.variants_named(
            elf_loader.ObjectFile(native.object_code).undefined()) == called
        assert {e for e in native.engine.library if e[0] == "m"} == {
            ("m", name, dtype, n) for (name, dtype), ns in called.items() for n in ns}
        u = np.linspace(0.5, 3, 203).astype(np.float32)
        np.testing.assert_allclose(f(u, u[::-1]), u ** u[::-1] + np.log(u[::-1]), rtol=3e-6)


def test_fast_compile_kernels_load_with_the_scalar_library(fresh_engines):
    x = T.fvector("x")
    level0 = theano.Mode(linker="native", optimizer="fast_compile")
    f = theano.function([x], T.log1p(T.exp(x)) * 2, mode=level0)
    # level-0 objects carry unwind tables: left out, the rest loads
    assert b".eh_frame" in only_native(f).object_code and not only_native(f).engine.mcjit
    v = np.linspace(-4, 4, 101).astype(np.float32)
    np.testing.assert_allclose(f(v), np.log1p(np.exp(v)) * 2, rtol=2e-6)


def test_an_object_the_loader_does_not_handle_goes_to_mcjit(fresh_engines, monkeypatch):
    refused = []
    real = elf_loader.ObjectImages.add_object

    def refuse_kernels(self, data):
        if b"tjit_fused" in getattr(data, "data", data):
            refused.append(data)
            raise elf_loader.Unsupported("a test refuses kernels")
        return real(self, data)

    monkeypatch.setattr(elf_loader.ObjectImages, "add_object", refuse_kernels)
    x = T.dvector("x")
    f = theano.function([x], T.exp(x) + 1.0, mode="FAST_RUN")
    assert refused and only_native(f).engine.mcjit
    v = np.linspace(-2, 2, 33)
    np.testing.assert_allclose(f(v), np.exp(v) + 1.0, rtol=1e-15)


def test_the_loader_refuses_what_it_cannot_load_and_stays_unchanged():
    images = elf_loader.ObjectImages()
    ok = _object("define i64 @one() {\n  ret i64 1\n}")
    images.add_object(ok)
    one = ctypes.CFUNCTYPE(ctypes.c_int64)(images.get_function_address("one"))
    assert one() == 1 and images.get_function_address("nothing") == 0
    state = (dict(images.addresses), list(images.mappings))
    refused = [
        ok,                                     # "one" defined twice
        ok[:100],                               # truncated
        b"\x7fELF" + ok[4:18] + b"\xb7\x00" + ok[20:],     # another machine (aarch64)
        _object("declare i64 @no_such_symbol_anywhere()\ndefine i64 @two() {\n"
                "  %r = call i64 @no_such_symbol_anywhere()\n  ret i64 %r\n}"),
        # the small code model: pc-relative relocations
        _object("@g = internal constant [2 x double] [double 1.0, double 2.0]\n"
                "define double @three(i64 %i) {\n"
                "  %p = getelementptr [2 x double], ptr @g, i64 0, i64 %i\n"
                "  %v = load double, ptr %p\n  ret double %v\n}", jit_code_model=False),
        # writable data
        _object("@counter = global i64 0\ndefine i64 @four() {\n"
                "  %v = load i64, ptr @counter\n  ret i64 %v\n}"),
    ]
    for data in refused:
        with pytest.raises(elf_loader.Unsupported):
            images.add_object(data)
        assert (images.addresses, images.mappings) == state
    images.close()
    assert not images.mappings and images.get_function_address("one") == 0


def test_libm_calls_resolve_and_later_objects_call_earlier_ones():
    images = elf_loader.ObjectImages()
    images.add_object(_object("declare double @cos(double)\n"
                              "define double @my_cos(double %x) {\n"
                              "  %r = call double @cos(double %x)\n  ret double %r\n}"))
    images.add_object(_object("declare double @my_cos(double)\n"
                              "define double @twice_cos(double %x) {\n"
                              "  %r = call double @my_cos(double %x)\n"
                              "  %s = fmul double %r, 2.0\n  ret double %s\n}"))
    twice_cos = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double)(
        images.get_function_address("twice_cos"))
    assert twice_cos(0.7) == 2 * math.cos(0.7)
    images.close()


def test_a_dropped_engine_unmaps_its_objects(fresh_engines):
    x = T.dvector("x")
    f = theano.function([x], T.exp(x) * 3.0, mode="FAST_RUN")
    engine = only_native(f).engine
    images = engine.ee
    assert images.mappings
    ref = weakref.ref(engine)
    del f, engine
    jit._cache.clear()
    jit._engines.clear()
    gc.collect()
    assert ref() is None
    jit.free_released()
    assert not images.mappings


WARM = """
import json, numpy as np
import tjit, tjit.tensor as T
from tjit.codegen import jit, target
x, y = T.dvectors('x', 'y')
out = T.tanh(x * y) + T.exp(-abs(y))
v = np.linspace(-1, 1, 37)
result = {}
for cpu in ("host", "x86-64"):
    with tjit.config.change_flags(cpu=cpu):
        f = tjit.function([x, y], out)
        native = f.thunks[0].native
        result[cpu] = {"out": f(v, v[::-1]).tolist(), "mcjit": native.engine.mcjit}
# two kernels: their first call loads the sequence driver
g = tjit.function([x, y], [T.exp(x) * y, (x * x).sum()])
first, total = g(v, v[::-1])
from tjit.codegen import sequence
result["two kernels"] = {"out": first.tolist() + [float(total)], "kernels": len(g.thunks),
                         "driver": type(sequence._STATE["driver"].engine).__name__}
result["counts"] = dict(jit.CACHE_COUNTS)
result["llvm target initialized"] = bool(target._state.get("initialized"))
print(json.dumps(result))
"""


def test_a_warm_process_initializes_no_llvm_target(tmp_path):
    cold, warm = cold_then_warm(WARM, tmp_path)
    assert cold["counts"]["built"] == 4 and cold["llvm target initialized"]
    assert warm["counts"] == {"memory": 0, "disk": 4, "built": 0}
    assert not warm["llvm target initialized"]
    v = np.linspace(-1, 1, 37)
    assert warm["two kernels"]["kernels"] == 2 and warm["two kernels"]["driver"] == "ObjectImages"
    assert warm["two kernels"]["out"] == cold["two kernels"]["out"]
    np.testing.assert_allclose(warm["two kernels"]["out"],
                               list(np.exp(v) * v[::-1]) + [np.sum(v * v)], rtol=1e-14)
    for cpu in ("host", "x86-64"):
        assert not warm[cpu]["mcjit"]
        assert warm[cpu]["out"] == cold[cpu]["out"]
        np.testing.assert_allclose(warm[cpu]["out"], np.tanh(v * v[::-1]) + np.exp(-abs(v[::-1])),
                                   rtol=1e-14)


def test_tensor_types_key_by_dtype_broadcast_pattern_and_name():
    from tjit import graph_cache
    from tjit.tensor.type import TensorType
    mode = theano.compile.mode.get_mode("FAST_RUN")
    linker = mode.make_linker()

    def key(t):
        x = t("x")
        return graph_cache.structure_key([T.exp(x)], [x], mode.tags(), (), linker)[0]

    types = [TensorType("float64", (False,)), TensorType("float32", (False,)),
             TensorType("float64", (True,)), TensorType("float64", (False, False)),
             TensorType("float64", (False,), name="t")]
    keys = [key(t) for t in types]
    assert len(set(keys)) == len(types)
    assert key(TensorType("float64", (False,))) == keys[0]
