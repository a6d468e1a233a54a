"""The graph cache (tjit/graph_cache.py): a graph compiled before skips the rewrites
and the lowering, in the same process and in a new one, with the same results;
anything else (another graph, mode or flag) misses; a bad entry is rebuilt."""
import glob
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import tjit
import tjit.tensor as T
from tjit import graph_cache
# the native fast_compile mode (level-0 native code); 'FAST_COMPILE' is the py linker
NATIVE_FC = tjit.Mode(linker="native", optimizer="fast_compile")
from tjit.compile.mode import Mode
from tjit.passes.pipeline import RUNS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def chain(x, y, c):
    e = x
    for i in range(12):
        e = T.exp(-e * e) + y if i % 3 == 0 else (T.tanh(e) - x * c if i % 3 == 1
                                                   else abs(e) * y)
    return e


def chain_np(x, y, c):
    e = x
    for i in range(12):
        e = np.exp(-e * e) + y if i % 3 == 0 else (np.tanh(e) - x * c if i % 3 == 1
                                                    else abs(e) * y)
    return e


@pytest.fixture
def cache_dir(tmp_path):
    graph_cache.clear_memory()
    with tjit.config.change_flags(cache_dir=str(tmp_path)):
        yield tmp_path
    graph_cache.clear_memory()


def compile_chain(c=0.5, mode=NATIVE_FC):
    x, y = T.dvectors("x", "y")
    return tjit.function([x, y], chain(x, y, c), mode=mode)


def counts():
    return dict(graph_cache.COUNTS), RUNS["pipelines"]


def delta(before):
    (c0, r0), (c1, r1) = before, counts()
    return {k: c1.get(k, 0) - c0.get(k, 0) for k in c1 if c1.get(k, 0) != c0.get(k, 0)}, r1 - r0


V = np.linspace(-1.5, 1.5, 37)
W = np.cos(V)


def test_same_structure_in_process_skips_rewrites_and_lowering(cache_dir, monkeypatch):
    f1 = compile_chain()
    lowered = []
    import tjit.link.linker as linker
    real = linker.lower
    monkeypatch.setattr(linker, "lower", lambda *a: lowered.append(a) or real(*a))
    before = counts()
    f2 = compile_chain()    # new variables, same structure
    assert delta(before) == ({"memory": 1}, 0)
    assert lowered == []
    assert f2.rewrites_applied == f1.rewrites_applied and "elemwise_fusion" in f2.rewrites_applied
    np.testing.assert_allclose(f2(V, W), chain_np(V, W, 0.5), rtol=1e-12)
    assert np.array_equal(f1(V, W), f2(V, W))
    # the inputs are f2's own variables: keywords by name, values by position
    np.testing.assert_array_equal(f2(y=W, x=V), f2(V, W))


def test_another_graph_mode_or_flag_misses(cache_dir):
    compile_chain(0.5)
    before = counts()
    f = compile_chain(0.25)                       # another constant
    assert delta(before) == ({"miss": 1, "stored": 1}, 1)
    np.testing.assert_allclose(f(V, W), chain_np(V, W, 0.25), rtol=1e-12)
    fast_run_py = Mode(linker="py", optimizer="fast_run")    # FAST_RUN's rewrites, no LLVM
    before = counts()
    compile_chain(0.5, mode=fast_run_py)          # another mode
    assert delta(before) == ({"miss": 1, "stored": 1}, 1)
    before = counts()
    with tjit.config.change_flags(optimizer_excluding=("fusion",)):   # a rewrite flag
        f = compile_chain(0.5, mode=fast_run_py)
    assert delta(before) == ({"miss": 1, "stored": 1}, 1)
    assert "elemwise_fusion" not in f.rewrites_applied
    np.testing.assert_allclose(f(V, W), chain_np(V, W, 0.5), rtol=1e-12)
    before = counts()
    with tjit.config.change_flags(cpu="x86-64"):  # a codegen flag
        f = compile_chain(0.5)
    assert delta(before) == ({"miss": 1, "stored": 1}, 1)
    np.testing.assert_allclose(f(V, W), chain_np(V, W, 0.5), rtol=1e-12)
    # another dtype, broadcast pattern or output list is another structure
    x, y = T.fvectors("x", "y")
    before = counts()
    tjit.function([x, y], chain(x, y, 0.5), mode=NATIVE_FC)
    x, y = T.dvectors("x", "y")
    tjit.function([x, y], [chain(x, y, 0.5), x + y], mode=NATIVE_FC)
    assert delta(before) == ({"miss": 2, "stored": 2}, 2)


def test_shared_variables_and_updates_bind_to_each_function(cache_dir):
    def build():
        s = tjit.shared(np.arange(4.0), name="s")
        x = T.dvector("x")
        f = tjit.function([x], T.exp(s) * x, updates=[(s, s * 2 + x)], mode=NATIVE_FC)
        return s, f

    s1, f1 = build()
    before = counts()
    s2, f2 = build()
    assert delta(before) == ({"memory": 1}, 0)
    x = np.array([1.0, -1.0, 0.5, 2.0])
    np.testing.assert_allclose(f2(x), np.exp(np.arange(4.0)) * x, rtol=1e-12)
    np.testing.assert_array_equal(s2.get_value(), np.arange(4.0) * 2 + x)
    np.testing.assert_array_equal(s1.get_value(), np.arange(4.0))     # f1's own, untouched
    f1(x)
    np.testing.assert_array_equal(s1.get_value(), np.arange(4.0) * 2 + x)


def entry_files(cache_dir):
    return sorted(glob.glob(os.path.join(str(cache_dir), "graphs", "*", "*.g")))


@pytest.mark.parametrize("damage", ["truncate", "flip", "foreign", "bad pickle"])
def test_a_bad_disk_entry_is_rebuilt(cache_dir, damage):
    compile_chain(0.5)
    compile_chain(0.25)
    first, second = entry_files(cache_dir)
    data = open(first, "rb").read()
    if damage == "truncate":
        data = data[:len(data) // 2]
    elif damage == "flip":
        data = data[:-5] + bytes([data[-5] ^ 0xFF]) + data[-4:]
    elif damage == "foreign":
        data = open(second, "rb").read()        # a valid entry under another key
    else:   # checksum and key right, payload not a graph
        import hashlib
        key = os.path.basename(first)[:-2].encode()
        body = key + b"\x80\x05not a pickle"
        data = graph_cache.MAGIC + hashlib.sha256(body).digest() + body
    open(first, "wb").write(data)
    graph_cache.clear_memory()
    before = counts()
    f1, f2 = compile_chain(0.5), compile_chain(0.25)
    got, pipelines = delta(before)
    assert got.get("disk") == 1 and got.get("discarded") == 1 and got.get("miss") == 1
    assert pipelines == 1                           # only the bad one rewritten again
    np.testing.assert_allclose(f1(V, W), chain_np(V, W, 0.5), rtol=1e-12)
    np.testing.assert_allclose(f2(V, W), chain_np(V, W, 0.25), rtol=1e-12)
    assert len(entry_files(cache_dir)) == 2         # rewritten in place


WARM = r"""
import json, sys, numpy as np
import tjit, tjit.tensor as T
from tjit import graph_cache
from tjit.compile.mode import Mode
from tjit.passes.pipeline import RUNS
import tjit.link.linker as linker
lowered = []
real = linker.lower
linker.lower = lambda *a: lowered.append(a) or real(*a)
sys.path.insert(0, sys.argv[1])
from test_compile_cache import chain, V, W
x, y = T.dvectors("x", "y")
out = {}
for c in (0.5, 0.25):
    f = tjit.function([x, y], chain(x, y, c), mode=Mode("native", "fast_compile"))
    out[str(c)] = f(V, W).tolist()
print(json.dumps(dict(out=out, pipelines=RUNS["pipelines"], lowered=len(lowered),
                      counts=dict(graph_cache.COUNTS), applied=f.rewrites_applied)))
"""


def test_a_new_process_reuses_the_rewritten_graph(tmp_path):
    env = dict(os.environ, TJIT_CACHE_DIR=str(tmp_path),
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("PYTHONDONTWRITEBYTECODE", None)    # each process would compile tjit's sources
    runs = []
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", WARM, os.path.join(ROOT, "tests")],
                              env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
        assert done.returncode == 0, done.stderr
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    cold, warm = runs
    assert cold["pipelines"] == 2 and cold["counts"] == {"miss": 2, "stored": 2}
    assert warm["pipelines"] == 0 and warm["lowered"] == 0
    assert warm["counts"] == {"disk": 2}
    assert warm["applied"] == cold["applied"]
    for c in (0.5, 0.25):
        assert warm["out"][str(c)] == cold["out"][str(c)]     # bit for bit
        np.testing.assert_allclose(warm["out"][str(c)], chain_np(V, W, c), rtol=1e-12)


def test_clear_empties_memory_and_disk(cache_dir):
    compile_chain(0.5)
    assert len(entry_files(cache_dir)) == 1
    assert graph_cache.clear() == 1 and entry_files(cache_dir) == []
    before = counts()
    f = compile_chain(0.5)
    assert delta(before) == ({"miss": 1, "stored": 1}, 1)
    np.testing.assert_allclose(f(V, W), chain_np(V, W, 0.5), rtol=1e-12)


def test_tags_rewrites_read_are_part_of_the_structure(cache_dir):
    # var() tags its composite for the var_one_pass rewrite; the same composite
    # without the tag is another graph to the rewrites, so another entry
    def var_fn(tagged):
        m = T.dmatrix("m")
        v = T.var(m, axis=0)
        if not tagged:
            v.tag.pop("one_pass")
        # the rewrites of FAST_RUN, NumPy's perform for each node (no LLVM: quick)
        return tjit.function([m], v, mode=Mode(linker="py", optimizer="fast_run"))

    a = np.arange(12.0).reshape(4, 3) ** 1.5
    f = var_fn(True)
    before = counts()
    g = var_fn(False)
    assert delta(before) == ({"miss": 1, "stored": 1}, 1)
    assert "var_one_pass" in f.rewrites_applied and "var_one_pass" not in g.rewrites_applied
    before = counts()
    h = var_fn(True)
    assert delta(before) == ({"memory": 1}, 0) and h.rewrites_applied == f.rewrites_applied
    for fn in (f, g, h):
        np.testing.assert_allclose(fn(a), np.var(a, axis=0), rtol=1e-12)


def test_an_entry_that_does_not_build_is_rebuilt(cache_dir, monkeypatch):
    compile_chain(0.5)
    real = graph_cache._unpack

    def broken(*args):      # unpickles, but its launches are not launches
        optimized, applied, launches = real(*args)
        return optimized, applied, {node: object() for node in launches}

    monkeypatch.setattr(graph_cache, "_unpack", broken)
    before = counts()
    f = compile_chain(0.5)
    got, pipelines = delta(before)
    assert got.get("memory") == 1 and got.get("discarded") == 1 and pipelines == 1
    np.testing.assert_allclose(f(V, W), chain_np(V, W, 0.5), rtol=1e-12)
    monkeypatch.setattr(graph_cache, "_unpack", real)
    before = counts()
    compile_chain(0.5)      # stored again by the rebuild
    assert delta(before) == ({"memory": 1}, 0)


def test_a_scan_and_its_step_are_found_again(cache_dir):
    # the scan op pickles its inner graph: variables' process-wide auto names
    # are not structure
    def build():
        x, n = T.dvector("x"), T.iscalar("n")
        out, _ = tjit.scan(lambda prev: T.tanh(prev) * 0.5 + x, outputs_info=[x], n_steps=n)
        return tjit.function([x, n], out[-1], mode=NATIVE_FC)

    f = build()
    before = counts()
    g = build()
    assert delta(before) == ({"memory": 2}, 0)      # the outer graph and the step's
    want = V.copy()
    for _ in range(4):
        want = np.tanh(want) * 0.5 + V
    np.testing.assert_allclose(g(V, 4), want, rtol=1e-12)
    np.testing.assert_array_equal(f(V, 4), g(V, 4))


def test_a_constant_in_a_step_keys_the_same_after_a_merge_compared_it(cache_dir):
    # the first compile memoizes the constant's signature on it (the merge
    # rewrite; Python scalars become shared constants); the scan op pickles its
    # step with that constant: the memo is not structure
    x, n = T.dvector("x"), T.iscalar("n")

    def build():
        out, _ = tjit.scan(lambda prev: T.tanh(prev) * 0.4375 + x, outputs_info=[x], n_steps=n)
        return tjit.function([x, n], out[-1], mode=Mode("native", "fast_compile"))

    f = build()
    before = counts()
    g = build()
    assert delta(before) == ({"memory": 2}, 0)
    want = V
    for _ in range(3):
        want = np.tanh(want) * 0.4375 + V
    np.testing.assert_allclose(g(V, 3), want, rtol=1e-12)
    np.testing.assert_array_equal(f(V, 3), g(V, 3))


def test_a_hit_runs_the_callers_own_ops(cache_dir):
    from test_ifelse import CountingOp      # x -> 2x, counting its calls

    def build():
        x = T.dvector("x")
        op = CountingOp()
        return op, tjit.function([x], op(x * 3).sum(), mode=NATIVE_FC)

    op1, f1 = build()
    before = counts()
    op2, f2 = build()
    assert delta(before) == ({"memory": 1}, 0)
    assert f2(V) == pytest.approx(6 * V.sum())
    assert (op1.calls, op2.calls) == (0, 1)
    f1(V)
    assert (op1.calls, op2.calls) == (1, 1)
