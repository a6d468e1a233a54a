"""The pass pipeline: its order, what modes select, which passes report a change,
the one graph `replace` the passes share, and `tjit dump --passes`."""
import ast
import io
import os
import pathlib
import subprocess
import sys
from contextlib import redirect_stdout

import numpy as np
import pytest

import tjit as theano
import tjit.tensor as T
from tjit import cli
from tjit.graph import clone_replace, replace, toposort
from tjit.passes import PIPELINE, optimize, pipeline

ORDER = [
    (0, "var_one_pass", {"fast_run"}),
    (100, "drop_zero_grad", {"fast_run", "fast_compile"}),
    (110, "stabilize_softplus", {"fast_run", "stabilize"}),
    (120, "stabilize_log1p", {"fast_run", "stabilize"}),
    (130, "stabilize_log_softmax", {"fast_run", "stabilize"}),
    (140, "stabilize_logsumexp", {"fast_run", "stabilize"}),
    (150, "stabilize_ratios", {"fast_run", "stabilize"}),
    (160, "stabilize_logistic", {"fast_run", "stabilize"}),
    (200, "pow_specialize", {"fast_run", "fast_compile"}),
    (210, "canonicalize", {"fast_run", "fast_compile"}),
    (220, "shape_lift", {"fast_run", "fast_compile"}),
    (230, "constant_folding", {"fast_run"}),
    (240, "merge", {"fast_run", "fast_compile", "merge"}),
    (300, "matvec", {"fast_run"}),
    (310, "gemm", {"fast_run"}),
    (400, "reduce_fusion", {"fast_run", "fusion"}),
    (410, "rowcol_fusion", {"fast_run", "fusion"}),
    (420, "elemwise_fusion", {"fast_run", "native_fast_compile", "fusion"}),
    (425, "corr2d_epilogue", {"fast_run", "fusion"}),
    (430, "rowwise_fusion", {"fast_run", "fusion"}),
    (500, "scan_last_only", {"fast_run"}),
]


def test_pipeline_lists_every_pass_in_order_with_positions_and_tags():
    assert [(p.position, p.name, set(p.tags)) for p in PIPELINE] == ORDER
    assert [p.name for p in pipeline()] == [name for _, name, _ in ORDER]


def test_modes_select_passes_by_tag_and_exclusion_by_name_or_tag():
    assert [p.name for p in pipeline(["fast_compile"])] == [
        "drop_zero_grad", "pow_specialize", "canonicalize", "shape_lift", "merge"]
    # the native fast_compile mode fuses too (one kernel instead of one per node)
    native = theano.Mode(linker="native", optimizer="fast_compile")
    assert [p.name for p in pipeline(native.tags())] == [
        "drop_zero_grad", "pow_specialize", "canonicalize", "shape_lift", "merge",
        "elemwise_fusion"]
    names = [p.name for p in pipeline(["fast_run"], excluding=["fusion", "gemm"])]
    assert "gemm" not in names and not any(n.endswith("fusion") for n in names)
    assert "matvec" in names
    assert [p.name for p in pipeline(["merge"])] == ["merge"]
    with pytest.raises(ValueError, match="unknown rewrites.*known: var_one_pass"):
        pipeline(["fast_run"], excluding=["no_such_rewrite"])


def test_rewrites_applied_lists_only_the_passes_that_changed_the_graph():
    v = T.dvector("v")
    assert theano.function([v], v * 2).rewrites_applied == ["elemwise_fusion"]
    assert theano.function([v], T.log(1 + v)).rewrites_applied == \
        ["stabilize_log1p", "elemwise_fusion"]
    assert theano.function([v], v ** 2, mode="FAST_COMPILE").rewrites_applied == \
        ["pow_specialize"]
    native_fast_compile = theano.Mode(linker="native", optimizer="fast_compile")
    assert theano.function([v], v ** 2, mode=native_fast_compile).rewrites_applied == \
        ["pow_specialize", "elemwise_fusion"]
    x, w = T.dmatrix("x"), T.dmatrix("w")
    assert theano.function([x, w], T.dot(x, w)).rewrites_applied == []
    assert theano.function([x, w], T.dot(x, w) + x).rewrites_applied == ["gemm"]


def test_merge_mode_runs_only_merge():
    v = T.dvector("v")
    f = theano.function([v], [T.exp(v) * 2, T.exp(v) * 2], mode=theano.Mode(optimizer="merge"))
    assert f.rewrites_applied == ["merge"]
    assert [type(n.op).__name__ for n in f.nodes] == ["Elemwise", "Elemwise"]
    a, b = f(np.arange(3.0))
    np.testing.assert_array_equal(a, np.exp(np.arange(3.0)) * 2)
    np.testing.assert_array_equal(a, b)


def test_a_pass_with_nothing_to_do_returns_its_argument():
    x, w = T.dmatrix("x"), T.dmatrix("w")
    outputs = [T.dot(x, w)]
    for p in PIPELINE:
        assert p(outputs) is outputs, p.name
    assert optimize(outputs, ["fast_run"]) == (outputs, [])


def test_optimize_reports_each_change_in_pipeline_order():
    v = T.dvector("v")
    outputs = [T.log(1 + v) + T.log(1 + v)]
    new, changed = optimize(outputs, ["fast_run"])
    assert changed == ["stabilize_log1p", "merge", "elemwise_fusion"]
    assert new[0] is not outputs[0] and [type(n.op).__name__ for n in toposort(new)] == \
        ["FusedElemwise"]
    new, changed = optimize(outputs, ["fast_run"], excluding=["merge"])
    assert changed == ["stabilize_log1p", "elemwise_fusion"]


# -- replace: the one graph rebuild ---------------------------------------------------
def test_replace_rebuilds_downstream_and_leaves_the_graph_alone():
    x, y = T.dvectors("x", "y")
    a = T.exp(x)
    a.name = "a"
    b = a + y
    c = T.log(x)
    out = [b, c]
    new = replace(out, {x: y})
    assert new is not out and new[0] is not b and new[1] is not c
    assert new[0].owner.inputs[0].name == "a"          # names carry over
    assert new[0].owner.inputs[0].owner.inputs[0] is y
    assert b.owner.inputs[0] is a and a.owner.inputs[0] is x  # unchanged original
    assert replace(out, {}) is out
    z = T.dvector("z")
    assert replace(out, {z: x}) is out                  # z is not in the graph
    same = replace(out, {y: z})
    assert same[1] is c                                  # c does not read y: reused


def test_replace_with_a_local_rewrite_sees_the_rewritten_graph():
    x = T.dvector("x")
    out = [T.exp(T.exp(x)) * 2]
    seen = []

    def local(node):
        seen.append(node.op.scalar_op.name)
        if node.op.scalar_op.name == "exp" and node.inputs[0] is x:
            return [T.log(x)]
        return None

    new = replace(out, local=local)
    assert seen == ["exp", "exp", "mul"]
    inner = new[0].owner.inputs[0].owner.inputs[0]
    assert inner.owner.op.scalar_op.name == "log"
    assert replace(out, local=lambda node: None) is out


def test_replace_keep_types_rebroadcasts_or_raises():
    x = T.dvector("x")
    row = T.TensorType("float64", (True,))("row")
    out = [T.exp(x)]
    new = replace(out, {x: row}, keep_types=True)
    assert new[0].type == out[0].type
    with pytest.raises(TypeError, match="changed the type"):
        replace(out, {x: T.fvector("f")}, keep_types=True)
    # without keep_types the change of type propagates (clone_replace(strict=False))
    assert replace(out, {x: T.fvector("f")})[0].dtype == "float32"


def test_clone_replace_keeps_its_semantics():
    x, y = T.dvectors("x", "y")
    out = x - y
    swapped = clone_replace(out, {x: y, y: x})           # values are taken as given
    assert swapped.owner.inputs[0] is y and swapped.owner.inputs[1] is x
    f = theano.function([x, y], swapped)
    np.testing.assert_array_equal(f([1.0], [3.0]), [2.0])
    with pytest.raises(TypeError):
        clone_replace(out, {x: T.dmatrix("m")})


def test_passes_import_at_module_level():
    """Imports inside functions in tjit/passes/ only for named cycles (none today)."""
    root = pathlib.Path(theano.__file__).parent / "passes"
    inner = []
    for path in sorted(root.glob("*.py")):
        tree = ast.parse(path.read_text())
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inner += [f"{path.name}:{n.lineno}" for n in ast.walk(fn)
                          if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert inner == []


# -- tjit dump --passes -----------------------------------------------------------------
def _expected_table():
    lines = [line.split() for line in theano.passes.format_pipeline().splitlines()]
    assert lines[0] == ["position", "name", "tags"]
    return lines[1:]


def test_dump_passes_prints_the_pipeline():
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert cli.main(["dump", "--passes"]) == 0
    rows = [line.split(None, 2) for line in buf.getvalue().splitlines()[1:]]
    assert [(int(r[0]), r[1], set(r[2].split(", "))) for r in rows] == ORDER


def test_python_m_tjit_dump_passes():
    env = dict(os.environ, PYTHONPATH=str(pathlib.Path(theano.__file__).parent.parent))
    out = subprocess.run([sys.executable, "-m", "tjit", "dump", "--passes"], env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert [line.split() for line in out.stdout.splitlines()[1:]] == _expected_table()
    assert "elemwise_fusion" in out.stdout and "420" in out.stdout
    none = subprocess.run([sys.executable, "-m", "tjit", "dump"], env=env,
                          capture_output=True, text=True)
    assert none.returncode == 2 and "--passes" in none.stderr
