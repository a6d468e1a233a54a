"""tjit.config.cpu: code for the host, the x86-64 psABI levels and named CPUs.

Every kernel kind and the whole math library are compiled for `x86-64` (the SSE2
baseline: laptops, CI runners, old servers) and `x86-64-v3` (AVX2 + FMA) and must
give the host's results, within each function's accuracy bound (docs/accuracy.md:
2 ulp float64, 3 ulp float32). Code the host cannot execute is refused with a clear
error (never SIGILL); objects built for one CPU are never loaded for another.
"""
from __future__ import annotations

import functools
import re

import numpy as np
import pytest

import tjit as theano
import tjit.tensor as T
from test_codegen import ulp_distance
from tjit.codegen import jit, mathlib, target
from tjit.codegen.scalar_ops import LIBRARY_OPS
from tjit.tensor.shared_randomstreams import RandomStreams

GENERIC = ("x86-64", "x86-64-v3")
# what each target's vector code is allowed / required to use
REGISTERS = {"x86-64": ({"xmm"}, "xmm"), "x86-64-v3": ({"xmm", "ymm"}, "ymm")}
BOUND = {"float64": 2, "float32": 3}


def _recording(monkeypatch):
    """Every kernel compiled from now on, as (target name, NativeKernel)."""
    compiled = []
    init = jit.NativeKernel.__init__

    def record(self, *args, **kwargs):
        init(self, *args, **kwargs)
        compiled.append(self)
    monkeypatch.setattr(jit.NativeKernel, "__init__", record)
    return compiled


def _kernel_kinds():
    """(inputs, outputs, updates) of graphs covering every kernel kind, and their
    arguments: elementwise (ints, bools, casts), reductions (float32 too), the
    row softmax, matrix-vector rows, the row+column pass (a logistic
    regression's gradient), scan, random draws."""
    rng = np.random.default_rng(11)
    m, v, i = T.dmatrix("m"), T.dvector("v"), T.ivector("i")
    fm = T.fmatrix("fm")
    X, y, w = T.dmatrix("X"), T.dvector("y"), T.dvector("w")
    cost = T.nnet.binary_crossentropy(T.nnet.sigmoid(T.dot(X, w)), y).mean()
    h, _ = theano.scan(lambda x, h: T.tanh(h * 0.5 + x), sequences=m, outputs_info=v)
    graphs = [
        ([m, v, i], [T.exp(m) * v + (i % 3) * (i // 2) - i ** 2, (m > 0.5) | (v < 0),
                     T.cast(m * 7, "int16") + i, T.maximum(m, v), T.sqrt(abs(m)) / 3.0]),
        ([m], [m.sum(axis=0), m.max(axis=1), T.argmax(m, axis=1), m.mean(), T.nnet.softmax(m),
               T.min(m, axis=0), T.var(m, axis=1)]),
        ([fm], [fm.sum(axis=1), T.argmin(fm, axis=0), T.var(fm, axis=0),
                T.nnet.softmax(fm), T.tanh(fm) * 2]),
        ([m, v], [T.dot(m, v)]),
        ([X, y, w], [cost, T.grad(cost, w)]),
        ([m, v], [h]),
        ([], [RandomStreams(3).uniform((5, 40)), RandomStreams(4).normal((3, 80))]),
    ]
    args = {m: rng.standard_normal((37, 36)), v: rng.standard_normal(36),
            i: rng.integers(-9, 9, 36).astype("int32"),
            fm: rng.standard_normal((39, 35)).astype("f4"),
            X: rng.standard_normal((300, 36)), y: (rng.random(300) > 0.5) * 1.0,
            w: rng.standard_normal(36) * 0.1}
    return graphs, args


def _run_kinds(cpu):
    """Results of every kernel-kind graph compiled for `cpu`, and its kernels."""
    graphs, args = _kernel_kinds()
    results = []
    with theano.config.change_flags(cpu=cpu, threads=1):
        for inputs, outputs in graphs:
            f = theano.function(inputs, outputs, mode="FAST_RUN")
            results.append(f(*[args[x] for x in inputs]))
    return results


@functools.lru_cache(maxsize=None)
def _host_kinds():
    return _run_kinds("host")


def _assert_close(got, want, what):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape, what
    if got.dtype.kind == "f":
        # the same operations; vector widths only change the order of partial sums
        tol = 1e-12 if got.dtype == np.float64 else 2e-6
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, err_msg=what)
    else:
        np.testing.assert_array_equal(got, want, err_msg=what)


@pytest.mark.parametrize("cpu", GENERIC)
def test_every_kernel_kind_compiles_for_the_target_and_matches_the_host(cpu, monkeypatch):
    want = _host_kinds()
    compiled = _recording(monkeypatch)
    got = _run_kinds(cpu)
    for k, (outs, refs) in enumerate(zip(got, want)):
        for j, (a, b) in enumerate(zip(outs, refs)):
            _assert_close(a, b, f"{cpu}: graph {k}, output {j}")
    # each kind was really compiled (not found in the host's cache) for the target
    names = {n.kernel.name.split("_")[1] for n in compiled}
    schedules = {n.kernel.meta.get("schedule") for n in compiled}
    assert {"fused", "reduce", "rows", "scan", "philox"} <= names, names
    assert {"rowcol", "matvec_rows"} <= schedules, schedules
    assert {n.engine.target.name for n in compiled} == {cpu}
    # the generated code uses the target's registers only, and the widest of them
    allowed, widest = REGISTERS[cpu]
    registers = set()
    for native in compiled:
        used = set(re.findall(r"%([xyz]mm)\d+", native.asm))
        assert used <= allowed, (cpu, native.kernel.name, used - allowed)
        registers |= used
    assert widest in registers
    if cpu == "x86-64":     # SSE2 code: no VEX-encoded (AVX) instruction anywhere
        assert not any(re.search(r"^\s+v[a-z]+\s", n.asm, re.M) for n in compiled)


def _library_outputs(x, y):
    """One output per math library function (LIBRARY_OPS)."""
    nnet = T.nnet
    unary = {"exp": T.exp, "exp2": T.exp2, "expm1": T.expm1, "log": T.log, "log2": T.log2,
             "log10": T.log10, "log1p": T.log1p, "tanh": T.tanh, "sinh": T.sinh,
             "cosh": T.cosh, "sigmoid": nnet.sigmoid, "softplus": nnet.softplus,
             "erf": T.erf, "erfc": T.erfc, "sin": T.sin, "cos": T.cos, "tan": T.tan,
             "arcsin": T.arcsin, "arccos": T.arccos, "arctan": T.arctan,
             "arcsinh": T.arcsinh, "arccosh": T.arccosh, "arctanh": T.arctanh}
    outs = {name: fn(x) for name, fn in unary.items()}
    outs["arctan2"] = T.arctan2(x, y)
    outs["pow"] = abs(y) ** x
    assert set(outs) == set(LIBRARY_OPS)
    return sorted(outs), [outs[k] for k in sorted(outs)]


def _library_inputs(dtype):
    rng = np.random.default_rng(3)
    x = np.concatenate([np.linspace(-12, 12, 2003), rng.uniform(-1, 1, 1000),
                        np.exp(rng.uniform(-30, 6, 1000)) * rng.choice([-1, 1], 1000),
                        [0.0, -0.0, np.inf, -np.inf, np.nan, 700.0, -745.0, 1e-310]])
    y = rng.permutation(x)
    with np.errstate(all="ignore"):
        return x.astype(dtype), y.astype(dtype)


def _library_results(cpu, dtype):
    x, y = T.vector(dtype=dtype), T.vector(dtype=dtype)
    names, outs = _library_outputs(x, y)
    with theano.config.change_flags(cpu=cpu, threads=1):
        f = theano.function([x, y], outs, mode="FAST_RUN")
    a, b = _library_inputs(dtype)
    with np.errstate(all="ignore"):
        return dict(zip(names, f(a, b))), f


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("cpu", GENERIC)
def test_math_library_on_the_target_is_within_its_bound_of_the_host(cpu, dtype):
    got, f = _library_results(cpu, dtype)
    want, _ = _library_results("host", dtype)
    for name in sorted(LIBRARY_OPS):
        a, b = got[name], want[name]
        assert a.dtype == dtype
        assert (np.isnan(a) == np.isnan(b)).all() and (np.isinf(a) == np.isinf(b)).all(), name
        distance = ulp_distance(a, b)
        k = int(np.argmax(distance))
        assert distance[k] <= BOUND[dtype], (cpu, dtype, name, k, a[k], b[k], distance[k])
    # the kernel calls the library's vector variants, built for the target
    (thunk,) = [t for t in f.thunks if getattr(t, "native", None)]
    assert thunk.native.engine.target.name == cpu
    asm = mathlib_asm(cpu, "exp", dtype)
    allowed, widest = REGISTERS[cpu]
    assert set(re.findall(r"%([xyz]mm)\d+", asm)) == allowed


def mathlib_asm(cpu, name, dtype):
    with target.LLVM_LOCK, target.pinned(target.resolve(cpu)):
        return mathlib.library_asm(name, dtype)


# ---- naming and refusing targets ---------------------------------------------------
@theano.config.change_flags(cpu="host")   # whatever TJIT_FLAGS says for the suite
def test_unknown_cpu_names_raise_where_they_are_set():
    for bad in ("x86-64-v5", "pentium-9000", ""):
        with pytest.raises(ValueError, match="cpu"):
            theano.config.cpu = bad
    assert theano.config.cpu == "host"
    with theano.config.change_flags(cpu="haswell"):
        assert theano.config.cpu == "haswell"
        assert target.current().cpu == "haswell"
    assert target.current().name == "host"


def test_level_features_are_cumulative():
    levels = [set(target.LEVEL_FEATURES[n]) for n in ("x86-64", "x86-64-v2", "x86-64-v3",
                                                      "x86-64-v4")]
    assert {"sse2"} <= levels[0] and not {"sse3", "avx"} & levels[0]
    assert {"sse4.2", "popcnt"} <= levels[1] and "avx" not in levels[1]
    assert {"avx2", "fma", "bmi2"} <= levels[2] and "avx512f" not in levels[2]
    assert {"avx512f", "avx512vl"} <= levels[3]
    assert levels[0] < levels[1] < levels[2] < levels[3]
    assert target.resolve("x86-64-v3").features == ",".join("+" + f for f in
                                                            sorted(levels[2]))


def test_a_named_cpu_implies_its_features():
    # no API reports a named CPU's features: they are read from its code
    assert set(target.required_features(target.resolve("haswell"))) == {
        "avx2", "avx", "fma", "sse4.1"}
    assert target.required_features(target.resolve("core2")) == ()
    assert "avx512f" in target.required_features(target.resolve("skylake-avx512"))


def _fake_host_without(monkeypatch, *missing):
    features = dict(target.host_features())
    features.update({f: False for f in missing})
    monkeypatch.setattr(target, "host_features", lambda: features)


def test_code_the_host_cannot_run_is_refused_not_executed(monkeypatch):
    # a host without AVX2 (faked): x86-64-v3 and haswell code is built, never run
    _fake_host_without(monkeypatch, "avx2", "avx512f")
    x = T.dvector("x")
    for cpu in ("x86-64-v3", "haswell", "x86-64-v4"):
        with theano.config.change_flags(cpu=cpu):
            with pytest.raises(RuntimeError, match=r"avx2.*does not have.*illegal instruction"):
                theano.function([x], T.exp(x) * 3.0)
    with theano.config.change_flags(cpu="x86-64-v2"):      # SSE4.2 is there: it runs
        f = theano.function([x], T.exp(x) * 3.0)
        np.testing.assert_allclose(f(np.arange(5.0)), np.exp(np.arange(5.0)) * 3.0, rtol=1e-15)


def test_x86_64_v4_runs_only_on_avx512_hosts_but_always_builds():
    x = T.fvector("x")
    with theano.config.change_flags(cpu="host"):
        kernel = theano.function([x], x * 2.0 + 1.0).thunks[0].native.kernel
    obj, ir = jit.build_object(kernel, 3, target.resolve("x86-64-v4"))
    assert obj[:4] == b"\x7fELF" and re.search(r"<(8|16) x float>", ir)    # AVX-wide vectors
    assert obj != jit.build_object(kernel, 3, target.resolve("x86-64"))[0]
    with theano.config.change_flags(cpu="x86-64-v4"):
        if target.host_features().get("avx512f"):
            f = theano.function([x], x * 2.0 + 1.0)
            np.testing.assert_array_equal(f(np.arange(40, dtype="f4")),
                                          np.arange(40, dtype="f4") * 2 + 1)
        else:
            with pytest.raises(RuntimeError, match="avx512"):
                theano.function([x], x * 2.0 + 1.0)


# ---- caches never mix CPUs -------------------------------------------------------------
def test_objects_built_for_one_cpu_are_never_loaded_for_another(monkeypatch, tmp_path):
    """A host faked as another CPU (a baseline x86-64 machine): the same graph gets
    another disk entry and another in-memory kernel, built for that CPU; back on
    the real host, the first entry is loaded again."""
    x, y = T.dvectors("x", "y")
    expr = T.sqrt(abs(x * 3.0 + y)) - y * y / 7.0
    v = np.linspace(-2, 2, 101)
    want = np.sqrt(abs(v * 3.0 + v[::-1])) - v[::-1] * v[::-1] / 7.0

    def compile_and_check():
        f = theano.function([x, y], expr)
        np.testing.assert_allclose(f(v, v[::-1]), want, rtol=1e-14)
        return f.thunks[0].native

    def entries():
        return sorted(p.name for p in tmp_path.rglob("*.o"))

    with theano.config.change_flags(cache_dir=str(tmp_path), cpu="host"):
        real = compile_and_check()
        assert len(entries()) == 1
        host = target._host()
        baseline = target.resolve("x86-64")
        monkeypatch.setattr(target, "_host", lambda: (host[0], "x86-64", baseline.features))
        faked = compile_and_check()
        assert faked is not real and not faked.from_disk_cache
        assert faked.engine.target.description != real.engine.target.description
        assert len(entries()) == 2
        assert "ymm" not in faked.asm and "zmm" not in faked.asm
        monkeypatch.undo()
        monkeypatch.setattr(jit, "_cache", jit.KernelCache())     # a fresh process
        again = compile_and_check()
        assert again.from_disk_cache and again.object_code == real.object_code
        assert len(entries()) == 2


def test_cache_keys_name_the_target():
    from tjit.codegen import cache
    keys = set()
    for cpu in ("host", "x86-64", "x86-64-v3", "haswell"):
        with target.LLVM_LOCK, target.pinned(target.resolve(cpu)):
            keys.add(cache.entry_key("some kernel", "k"))
    assert len(keys) == 4


# ---- another architecture ----------------------------------------------------------------
def test_a_kernel_builds_for_aarch64():
    """LLVM is asked for an aarch64 target machine; one kernel (with a math
    library call) is built for it (not run: this is not an aarch64 host)."""
    x, y = T.dvectors("x", "y")
    with theano.config.change_flags(cpu="host"):
        kernel = theano.function([x, y], T.exp(x) * y + 1.0).thunks[0].native.kernel
    arm = target.Target("aarch64", "aarch64-unknown-linux-gnu", "generic", "")
    obj, ir = jit.build_object(kernel, 3, arm)
    assert obj[:4] == b"\x7fELF" and int.from_bytes(obj[18:20], "little") == 183   # EM_AARCH64
    assert 'target triple = "aarch64-unknown-linux-gnu"' in ir
    with pytest.raises(RuntimeError, match="aarch64.*built, not run"):
        target.check_runnable(arm)


def test_host_query_is_stored_by_the_cpus_fingerprint(tmp_path, monkeypatch):
    """A process asks LLVM about the host once per CPU: later ones read the answer
    from the cache dir, under a name made of /proc/cpuinfo's identifying lines
    (another CPU, VM or flag set: another file) and llvmlite's version."""
    llvm_answer = target._query_host()
    asked = []

    def query():
        asked.append(1)
        return llvm_answer

    monkeypatch.setattr(target, "_query_host", query)
    with theano.config.change_flags(cache_dir=str(tmp_path)):
        first = target._stored_host()
        if target._cpu_fingerprint() is None:       # no /proc/cpuinfo: always asked
            assert first == llvm_answer and target._stored_host() == llvm_answer
            assert len(asked) == 2
            return
        assert first == llvm_answer and len(asked) == 1
        stored = list(tmp_path.glob("host-*.bin"))
        assert len(stored) == 1
        assert target._stored_host() == llvm_answer and len(asked) == 1   # read back
        stored[0].write_bytes(b"\x00garbage")                 # corrupt: asked again
        assert target._stored_host() == llvm_answer and len(asked) == 2
        real = target._cpu_fingerprint()
        monkeypatch.setattr(target, "_cpu_fingerprint", lambda: real + b"\nflags : avx512f")
        assert target._stored_host() == llvm_answer and len(asked) == 3
        assert len(list(tmp_path.glob("host-*.bin"))) == 2
