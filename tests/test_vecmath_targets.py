"""The math library on every vector width: accuracy per target, aarch64 objects.

- Max ulp error of every library function, per dtype, on ~4000 points, for
  cpu = x86-64 (SSE2: no FMA, no SSE4.1 rounding: the emulated exact steps),
  x86-64-v3 (AVX2 + FMA) and the host, against accurate references (NumPy long
  double; mpmath for float64 erf/erfc), checked against the bounds
  docs/accuracy.md states. The functions are test_cpu_targets' (same graph,
  same inputs), so their kernels and library objects are built once.
- aarch64 (NEON): every kernel kind and the whole math library compile to an
  object for an aarch64 triple (they can't run here).
"""
from __future__ import annotations

import os
import re

import mpmath
import numpy as np
import pytest
import scipy.special as sp

import llvmlite.binding as llvm
import tjit as theano
from test_cpu_targets import _kernel_kinds, _library_results, _recording
from test_vecmath_explog import ulp_error
from tjit.codegen import jit, mathlib, mathlib_scalar, target
from tjit.codegen.scalar_ops import LIBRARY_OPS

DOCS = os.path.join(os.path.dirname(__file__), "..", "docs", "accuracy.md")
LD = np.longdouble


def documented_bounds():
    """{dtype: ulp bound} from docs/accuracy.md's 'Bounds asserted' sentence."""
    with open(DOCS) as f:
        text = f.read()
    m = re.search(r"Bounds asserted: (\d+) ulp \(float64\), (\d+) ulp \(float32\)", text)
    assert m, "docs/accuracy.md no longer states its bounds"
    return {"float64": float(m.group(1)), "float32": float(m.group(2))}


def _erf_mp(fn):
    def ref(x):
        return np.array([float(fn(mpmath.mpf(float(v)))) if np.isfinite(v) else np.nan
                         for v in x], LD)
    return ref


# the inputs of test_cpu_targets._library_outputs: unary f(x), arctan2(x, y), |y| ** x
REFERENCE = {"exp": np.exp, "exp2": np.exp2, "expm1": np.expm1, "log": np.log,
             "log2": np.log2, "log10": np.log10, "log1p": np.log1p, "tanh": np.tanh,
             "sinh": np.sinh, "cosh": np.cosh, "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
             "softplus": lambda x: np.logaddexp(LD(0), x), "sin": np.sin, "cos": np.cos,
             "tan": np.tan, "arcsin": np.arcsin, "arccos": np.arccos, "arctan": np.arctan,
             "arcsinh": np.arcsinh, "arccosh": np.arccosh, "arctanh": np.arctanh}


def reference(name, x, y):
    """(hi, lo) float64 pair of the exact value (float32 inputs: float64 suffices)."""
    wide = x.dtype == np.float64
    xl, yl = (x.astype(LD), y.astype(LD)) if wide else (x.astype(np.float64), y.astype(np.float64))
    with np.errstate(all="ignore"):
        if name == "arctan2":
            exact = np.arctan2(xl, yl)
        elif name == "pow":
            exact = np.power(np.abs(yl), xl)
        elif name in ("erf", "erfc"):
            if wide:
                mp = _erf_mp(mpmath.erf if name == "erf" else mpmath.erfc)(x)
                exact = np.where(np.isnan(x), np.nan, np.where(np.isinf(x), getattr(
                    sp, name)(x), mp)).astype(LD)
            else:
                exact = getattr(sp, name)(xl)
        else:
            exact = REFERENCE[name](xl)
        hi = np.asarray(exact, np.float64)
        lo = np.asarray(exact - hi, np.float64) if wide else np.zeros_like(hi)
    lo[~np.isfinite(lo)] = 0.0
    return hi, lo


def max_errors(cpu, dtype):
    """{name: (max ulp error, at x, at y)} of the library compiled for `cpu`."""
    from test_cpu_targets import _library_inputs
    got, _ = _library_results(cpu, dtype)
    x, y = _library_inputs(dtype)
    out = {}
    for name in sorted(LIBRARY_OPS):
        hi, lo = reference(name, x, y)
        err = ulp_error(got[name], hi, lo)
        k = int(np.argmax(err))
        out[name] = (float(err[k]), x[k], y[k])
    return out


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("cpu", ["x86-64", "x86-64-v3", "host"])
def test_max_ulp_error_per_function_holds_the_documented_bound(cpu, dtype):
    bound = documented_bounds()[dtype]
    errors = max_errors(cpu, dtype)
    bad = {n: e for n, e in errors.items() if not e[0] <= bound}
    assert not bad, (cpu, dtype, bound, bad)
    # the sweep is not vacuous: most functions are not exact everywhere
    assert sum(e[0] > 0.25 for e in errors.values()) >= len(errors) // 2, errors


# ---- aarch64 ----------------------------------------------------------------------
ARM = target.Target("aarch64", "aarch64-unknown-linux-gnu", "generic", "+neon")
EM_AARCH64 = 183


def _is_aarch64_object(obj):
    return obj[:4] == b"\x7fELF" and int.from_bytes(obj[18:20], "little") == EM_AARCH64


def test_every_kernel_kind_builds_for_aarch64(monkeypatch):
    compiled = _recording(monkeypatch)
    monkeypatch.setattr(jit, "_cache", jit.KernelCache())   # record every kernel, cached or not
    graphs, args = _kernel_kinds()
    with theano.config.change_flags(cpu="host", threads=1):
        for inputs, outputs in graphs:
            # called: scan builds its loop kernel for the shapes of the first call
            theano.function(inputs, outputs, mode="FAST_RUN")(*[args[x] for x in inputs])
    kernels = {n.kernel.name: n.kernel for n in compiled}
    names = {k.split("_")[1] for k in kernels}
    schedules = {k.meta.get("schedule") for k in kernels.values()}
    assert {"fused", "reduce", "rows", "scan", "philox"} <= names, names
    assert {"rowcol", "matvec_rows"} <= schedules, schedules
    # one kernel of each kind and schedule (building all takes seconds): FAST_RUN's
    # renderer and pipeline for each, FAST_COMPILE's for the first
    one_each = {}
    for name, kernel in sorted(kernels.items()):
        one_each.setdefault((name.split("_")[1], kernel.meta.get("schedule")), (name, kernel))
    assert len(one_each) >= 7, sorted(one_each)
    for k, (name, kernel) in enumerate(sorted(one_each.values(), key=lambda nk: nk[0])):
        for level in (3, 0) if k == 0 else (3,):
            obj, ir = jit.build_object(kernel, level, ARM)
            assert _is_aarch64_object(obj), name
            assert 'target triple = "aarch64-unknown-linux-gnu"' in ir


def test_the_math_library_builds_for_aarch64():
    """Every function (scalar, as FAST_COMPILE links it) in one object; the
    vectorized objects of two (NEON: 4 float32 or 2 float64 lanes, fused
    multiply-adds; no calls)."""
    functions = [(n, d) for n in sorted(LIBRARY_OPS) for d in ("float64", "float32")]
    with target.LLVM_LOCK, target.pinned(ARM):
        module = llvm.parse_assembly(mathlib_scalar.library_module_ir(functions))
        module.verify()
        obj = target.target_machine(0).emit_object(module)
        assert _is_aarch64_object(obj)
        for name, dtype, lanes in (("exp", "float32", "4s"), ("sin", "float64", "2d")):
            module = llvm.parse_assembly(mathlib.library_ir(name, dtype))
            module.verify()
            target.optimize(module)
            tm = target.target_machine()
            assert _is_aarch64_object(tm.emit_object(module))
            asm = tm.emit_assembly(module)
            n = 4 if dtype == "float32" else 2
            start = asm.index(f"tjit_m_{name}_{dtype}_v{n}:")
            body = asm[start:asm.index(".Lfunc_end", start)]
            assert re.search(r"\tfml[as]\tv\d+\.%s" % lanes, body), (name, dtype)
            assert not re.search(r"\tbl\t", body), (name, dtype)


def test_rule_families_name_exactly_their_modules_rules():
    """vecmath.RULES imports a family's module on first use of one of its ops, by
    vecmath.FAMILIES: that table must be the modules' own RULES, and cover every
    op the code generator sends to the library."""
    import importlib

    from tjit.codegen import vecmath
    from tjit.codegen.scalar_ops import LIBRARY_OPS_BY_DTYPE
    defined = set()
    for family, names in vecmath.FAMILIES.items():
        module = importlib.import_module("tjit.codegen.vecmath." + family)
        assert sorted(module.RULES) == sorted(names), family
        defined.update(names)
    assert set(LIBRARY_OPS) | set(LIBRARY_OPS_BY_DTYPE) <= defined
    for name in sorted(defined):
        assert callable(vecmath.RULES[name]), name
    with pytest.raises(KeyError):
        vecmath.RULES["no such op"]
