"""The warm compile path (issue 17): the source stamps' manifest (tjit/sources.py),
single-kernel call plans that call their kernel directly, and call stubs' code kept
by text (tjit/runtime/stub_code.py). Each must change what it keys when the thing
it stands for changes, rebuild what is damaged, and give the general path's results
and errors. Costs are counted, not timed."""
import os

import numpy as np
import pytest

import tjit
import tjit.tensor as T
from tjit import graph_cache, sources
# the native fast_compile mode (level-0 native code); 'FAST_COMPILE' is the py linker
NATIVE_FC = tjit.Mode(linker="native", optimizer="fast_compile")
from tjit.codegen import cache as object_cache
from tjit.runtime import call_plan, stub_code
from helpers import call_outcome as _outcome, cold_then_warm, general_path as _general



# ---- source stamps ---------------------------------------------------------------
@pytest.fixture
def fake_package(tmp_path, monkeypatch):
    """sources.py pointed at a small package tree of its own, with its own cache dir."""
    root = tmp_path / "pkg"
    (root / "codegen").mkdir(parents=True)
    (root / "passes").mkdir()
    (root / "__init__.py").write_text("x = 1\n")
    (root / "codegen" / "emit.py").write_text("def emit(): pass\n")
    (root / "passes" / "fuse.py").write_text("def fuse(): pass\n")
    monkeypatch.setattr(sources, "ROOT", str(root))
    _fresh()
    with tjit.config.change_flags(cache_dir=str(tmp_path / "cache")):
        yield root
    sources.forget()


def _fresh():
    """What a new process sees: nothing in memory, counts from zero."""
    sources.forget()
    for k in sources.COUNTS:
        sources.COUNTS[k] = 0


def _edit(path, text):
    """Rewrite `path` in place with a modification time of its own (a coarse clock
    could give the old one)."""
    st = os.stat(path)
    path.write_text(text)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))


def test_stamps_list_every_module_and_a_warm_sweep_lists_and_hashes_nothing(fake_package):
    everything, codegen = sources.digest(), sources.digest(("codegen",))
    assert [s[0] for s in sources.stamps()] == ["__init__.py", "codegen/emit.py",
                                                "passes/fuse.py"]
    assert sources.COUNTS["listed"] == 3 and everything != codegen
    _fresh()
    assert (sources.digest(), sources.digest(("codegen",))) == (everything, codegen)
    assert sources.COUNTS == {"listed": 0, "hashed": 0}     # the manifest's, checked by stat


def test_an_edit_in_place_changes_the_digests_of_its_folder_only(fake_package):
    everything, codegen = sources.digest(), sources.digest(("codegen",))
    _edit(fake_package / "passes" / "fuse.py", "def fuse(): return 1\n")
    _fresh()
    assert sources.digest() != everything and sources.digest(("codegen",)) == codegen
    assert sources.COUNTS["listed"] == 0        # the folder's listing did not change
    _edit(fake_package / "codegen" / "emit.py", "def emit(): return 2\n")
    _fresh()
    assert sources.digest(("codegen",)) != codegen


def test_a_new_or_removed_module_is_found(fake_package):
    everything = sources.digest()
    (fake_package / "passes" / "new_pass.py").write_text("\n")
    os.utime(fake_package / "passes", ns=(1, 10**18))   # a coarse clock: the folder changed
    _fresh()
    assert "passes/new_pass.py" in [s[0] for s in sources.stamps()]
    with_new = sources.digest()
    assert with_new != everything and sources.COUNTS["listed"] == 1
    (fake_package / "passes" / "new_pass.py").unlink()
    os.utime(fake_package / "passes", ns=(1, 2 * 10**18))
    _fresh()
    assert sources.digest() == everything


@pytest.mark.parametrize("damage", ["garbage", "checksum", "foreign"])
def test_a_bad_manifest_is_ignored_and_rewritten(fake_package, damage):
    everything = sources.digest()
    [manifest] = (fake_package.parent / "cache").glob("sources-*.bin")
    data = manifest.read_bytes()
    if damage == "garbage":
        manifest.write_bytes(b"\x00" * 10)
    elif damage == "checksum":
        manifest.write_bytes(data[:40] + bytes([data[40] ^ 1]) + data[41:])
    else:   # a valid manifest of another package, copied over: its digests are not ours
        import hashlib
        import marshal
        other = marshal.loads(data[32:])
        other["root"] = "/elsewhere"
        other["digests"] = {None: "0" * 64}
        body = marshal.dumps(other)
        manifest.write_bytes(hashlib.sha256(body).digest() + body)
    _fresh()
    assert sources.digest() == everything and sources.COUNTS["hashed"] == 1
    _fresh()
    assert sources.digest() == everything and sources.COUNTS["hashed"] == 0   # rewritten


def test_the_keys_follow_the_source_digests(monkeypatch):
    """The graph cache's key and the object cache's entry key hash the digests:
    editing a module (here: its digest) changes them."""
    x = T.dvector("x")
    out = T.exp(x) * 2
    mode = NATIVE_FC

    def keys():
        key, _ = graph_cache.structure_key([out], [x], mode.tags(), (), mode.make_linker())
        return key, object_cache.entry_key("kernel text", "k")

    before = keys()
    assert keys() == before
    real = sources.digest
    monkeypatch.setattr(sources, "digest",
                        lambda folders=None: real(folders) if folders else "edited")
    graph, kernel = keys()
    assert graph != before[0] and kernel == before[1]      # no code generator file changed
    monkeypatch.setattr(sources, "digest", lambda folders=None: "edited " + str(folders))
    assert keys()[1] != before[1]


# ---- single-kernel plans and stub code ---------------------------------------------
def test_a_single_kernel_plan_calls_its_kernel_without_the_driver(monkeypatch):
    def no_driver(*a, **k):
        raise AssertionError("the sequence driver was loaded")
    monkeypatch.setattr(call_plan, "sequence_driver", no_driver)
    x, y = T.dvectors("x", "y")
    s = T.dscalar("s")
    f = tjit.function([x, y, s], T.exp(-x * x) * y + s, mode=NATIVE_FC)
    g = _general(f)
    rng = np.random.default_rng(0)
    # tiny work holds the GIL, larger releases it: both direct
    for n in (1, 7, call_plan.HOLD_GIL_WORK + 5):
        a, b = rng.standard_normal(n), rng.standard_normal(n)
        want = np.exp(-a * a) * b + 0.5
        first, second = f(a, b, 0.5), f(a, b, 0.5)
        np.testing.assert_allclose(first, want, rtol=1e-13, atol=1e-15)
        assert np.array_equal(first, second) and not np.shares_memory(first, second)
        assert np.array_equal(first, g(a, b, 0.5))
        plan = f._plans[((n,), (n,))]
        assert plan.direct is not None and f._stub is plan.stub is not None
    # wrong shapes, dtypes and arity: the general path's errors, from the stub too
    for args in [(np.ones(3), np.ones(4), 1.0), (np.ones(7), np.ones(7), "s"),
                 (np.ones(7), np.ones(7)), (np.ones((7, 1)), np.ones(7), 1.0)]:
        fast, slow = _outcome(f, args), _outcome(g, args)
        assert fast[0] == slow[0] == "error" and fast[1] == slow[1]
    # the plan keeps no caller's array between calls
    a = np.ones(7)
    out = f(a, a, 0.0)
    assert all(v is not a and v is not out for v in f._plans[((7,), (7,))].direct[1])


def test_a_single_kernel_with_updates_or_a_reduction_matches_the_general_path():
    x = T.dvector("x")
    w = tjit.shared(np.zeros(5), "w")
    f = tjit.function([x], x * w, updates=[(w, w + x)], mode="FAST_RUN")    # two outputs
    w_general = tjit.shared(np.zeros(5), "w2")
    g = _general(f).copy(swap={w: w_general})
    g._positional, g._plans = None, None
    total = tjit.function([x], (x * 2).sum(), mode="FAST_RUN")   # its output: a view
    for k in range(3):
        v = np.arange(5.0) + k
        old = w.get_value()
        got = f(v)
        np.testing.assert_array_equal(got, g(v))
        np.testing.assert_array_equal(got, v * old)
        np.testing.assert_array_equal(w.get_value(), w_general.get_value())
        assert not np.shares_memory(got, w.get_value(borrow=True))
        s = total(v)
        assert s == 2 * v.sum() and s.shape == () and type(s) is np.ndarray
    np.testing.assert_array_equal(w.get_value(), 3 * np.arange(5.0) + 3)
    for fn in (f, total):
        [plan] = fn._plans.values()
        assert plan.direct is not None and fn._stub is plan.stub is not None
    assert total._plans[((5,),)].views


def test_stub_code_is_kept_by_text_in_memory_and_on_disk(tmp_path):
    x, y = T.dvectors("x", "y")
    with tjit.config.change_flags(cache_dir=str(tmp_path)):
        stub_code.clear_memory()
        before = dict(stub_code.COUNTS)
        f = tjit.function([x, y], x * y + 1.5, mode=NATIVE_FC)
        f(np.ones(3), np.ones(3))
        [entry] = tmp_path.glob("stubs/*/*.stub")
        stub_code.clear_memory()
        g = tjit.function([x, y], x * y + 2.5, mode=NATIVE_FC)     # same structure
        np.testing.assert_array_equal(g(np.ones(4), np.full(4, 2.0)), np.full(4, 4.5))
        after = {k: stub_code.COUNTS[k] - before[k] for k in before}
        assert after == {"memory": 0, "disk": 1, "compiled": 1, "discarded": 0}
        # a damaged entry, then another key's entry copied over it: compiled again
        for data in (entry.read_bytes()[:-3] + b"xyz", None):
            if data is None:
                body = entry.read_bytes()[len(stub_code.MAGIC) + 32:]
                import hashlib
                body = b"0" * 64 + body[64:]
                data = stub_code.MAGIC + hashlib.sha256(body).digest() + body
            entry.write_bytes(data)
            stub_code.clear_memory()
            before = dict(stub_code.COUNTS)
            h = tjit.function([x, y], x * y - 1.0, mode=NATIVE_FC)
            np.testing.assert_array_equal(h(np.ones(2), np.ones(2)), np.zeros(2))
            assert stub_code.COUNTS["discarded"] == before["discarded"] + 1
            assert stub_code.COUNTS["compiled"] == before["compiled"] + 1


WARM = """
import json, sys, numpy as np
import tjit, tjit.tensor as T
from tjit import graph_cache, sources
from tjit.runtime import stub_code
x, y, z = T.dvectors('x', 'y', 'z')
f = tjit.function([x, y, z], T.tanh(x * y) + abs(z - 0.5))
v = np.linspace(-1, 1, 11)
out = f(v, v, v)
print(json.dumps({"graph": dict(graph_cache.COUNTS), "sources": sources.COUNTS,
                  "stubs": stub_code.COUNTS, "out": out.tolist()}))
"""


def test_a_warm_process_lists_hashes_and_compiles_nothing(tmp_path):
    cold, warm = cold_then_warm(WARM, tmp_path)
    assert cold["stubs"]["compiled"] == 1 and cold["sources"]["hashed"] == 2
    assert warm["graph"] == {"disk": 1}
    assert warm["sources"] == {"listed": 0, "hashed": 0}
    assert warm["stubs"] == {"memory": 0, "disk": 1, "compiled": 0, "discarded": 0}
    v = np.linspace(-1, 1, 11)
    assert warm["out"] == cold["out"]
    np.testing.assert_allclose(warm["out"], np.tanh(v * v) + abs(v - 0.5), rtol=1e-14)


# ---- a stored kernel's body, read on first use -------------------------------------
def _buffers_in(node, found):
    """Every Buffer reachable from loop-IR `node`."""
    import dataclasses
    from tjit.ir.nodes import Buffer
    if isinstance(node, Buffer):
        found.append(node)
    elif isinstance(node, (tuple, list)):
        for n in node:
            _buffers_in(n, found)
    elif dataclasses.is_dataclass(node):
        for f in dataclasses.fields(node):
            _buffers_in(getattr(node, f.name), found)
    return found


def test_a_stored_kernel_body_is_read_on_first_use(tmp_path):
    import pickle
    import shutil
    from tjit.codegen import jit
    from tjit.ir.nodes import Kernel

    def build():
        x, y = T.dvectors("x", "y")
        return tjit.function([x, y], T.exp(x) * y - 1.0, mode=NATIVE_FC)

    v, w = np.linspace(-1, 1, 9), np.linspace(2, 3, 9)
    with tjit.config.change_flags(cache_dir=str(tmp_path / "a")):
        graph_cache.clear_memory()
        original = build().thunks[0].launch.kernel
        hit = build().thunks[0].launch.kernel       # a memory hit, its code in memory too
        assert type(hit) is graph_cache._LazyKernel and "body" not in vars(hit)
        again = pickle.loads(pickle.dumps(build().thunks[0].launch.kernel))
        assert type(again) is Kernel and again == original
        assert hit == original and type(hit) is Kernel      # read on use, then plain
        inner = _buffers_in(hit.body, [])
        assert inner and all(any(b is k for k in hit.buffers) for b in inner)
    # another cache holding the graph but not the object code: built from the body
    shutil.copytree(tmp_path / "a" / "graphs", tmp_path / "b" / "graphs")
    with tjit.config.change_flags(cache_dir=str(tmp_path / "b")):
        graph_cache.clear_memory()
        jit._cache.clear()
        built = jit.CACHE_COUNTS["built"]
        f = build()
        assert jit.CACHE_COUNTS["built"] == built + 1 and graph_cache.COUNTS["disk"] >= 1
        np.testing.assert_allclose(f(v, w), np.exp(v) * w - 1.0, rtol=1e-14)
    graph_cache.clear_memory()
