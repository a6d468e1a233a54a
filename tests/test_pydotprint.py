"""pydotprint: DOT text of compiled functions and symbolic graphs, rendering, and
`tjit dump --format`."""
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import tjit as theano
import tjit.tensor as T
from tjit import cli, printing_dot
from tjit.printing import pydotprint
from tjit.printing_dot import graph_to_dot


@pytest.fixture(scope="module")
def program():
    x = T.dvector("x")
    s = theano.shared(np.zeros(3), name="s")
    out = T.exp(x) * 2.0 + x
    f = theano.function([x], [out, x.sum()], updates=[(s, s + x)], name="prog")
    return x, s, out, f


def test_compiled_function_draws_kernels_as_clusters(program):
    x, s, out, f = program
    np.testing.assert_allclose(f(np.ones(3))[0], np.exp(1.0) * 2 + 1)
    text = graph_to_dot(f)
    assert text.startswith('digraph "prog" {') and text.rstrip().endswith("}")
    kernels = [n for n in f.nodes if type(n.op).__name__ in ("FusedElemwise", "FusedReduce")]
    for k, node in enumerate(f.nodes):
        if node in kernels:
            assert f"subgraph cluster_{k}_{type(node.op).__name__} {{" in text
    elem = next(k for k, n in enumerate(f.nodes) if type(n.op).__name__ == "FusedElemwise"
                and "exp" in n.op.program.op_names)
    assert 'label="fused elementwise: FusedElemwise\\nloop (n0,)  float64"' in text
    for j, name in enumerate(f.nodes[elem].op.program.op_names):
        assert f'n{elem}s{j} [label="{name}"' in text
    assert 'label="reduction: FusedReduce\\nloop (n0,)  float64"' in text


def test_inputs_shared_outputs_and_updates_are_marked(program):
    _, _, _, f = program
    text = graph_to_dot(f)
    assert '[label="x  TensorType(float64, vector)", shape=box, color=green' in text
    assert 'label="shared s  TensorType(float64, vector)", shape=box, color=YellowGreen' in text
    assert 'label="output 0\\nTensorType(float64, vector)"' in text
    assert 'label="output 1\\nTensorType(float64, scalar)"' in text
    assert 'label="new value of s\\nTensorType(float64, vector)", shape=box, color=orange' \
        in text
    assert '[label="update s", style=dashed];' in text


def test_symbolic_variables_are_the_graph_before_rewriting(program):
    x, _, out, _ = program
    text = graph_to_dot(out, with_ids=True, var_with_name_simple=True)
    assert "cluster" not in text
    assert 'n0 [label="id n0  Elemwise{exp}", shape=ellipse' in text
    assert 'v0 [label="id v0  x", shape=box, color=green' in text
    assert "v0 -> n0;\n" in text and 'n1 -> n2 [label="0"];' in text and 'v0 -> n2 [label="1"];' in text
    assert 'label="id v1  constant [2.0]", shape=box, color=SpringGreen' in text


def test_dot_format_writes_the_text(program, tmp_path, capsys):
    f = program[3]
    path = tmp_path / "g.dot"
    assert pydotprint(f, outfile=str(path), format="dot") is None
    assert path.read_text() == graph_to_dot(f)
    assert f"The output file is available at {path}" in capsys.readouterr().out
    assert pydotprint(f, format="dot", return_image=True) == graph_to_dot(f)


def test_svg_rendered_by_graphviz_or_a_clear_error(program, tmp_path):
    f = program[3]
    if shutil.which("dot"):
        path = tmp_path / "g.svg"
        pydotprint(f, outfile=str(path), format="svg", print_output_file=False)
        root = ET.parse(path).getroot()
        titles = {e.text for e in root.iter("{http://www.w3.org/2000/svg}title")}
        texts = {e.text for e in root.iter("{http://www.w3.org/2000/svg}text")}
        assert any(t.startswith("cluster_") and t.endswith("_FusedElemwise") for t in titles)
        assert {"exp", "mul", "add", "fused elementwise: FusedElemwise", "update s"} <= texts
    else:
        with pytest.raises(RuntimeError, match="apt-get install graphviz"):
            pydotprint(f, format="svg", return_image=True)


def test_without_graphviz_the_dot_file_and_how_to_get_it(program, tmp_path, monkeypatch):
    f = program[3]
    monkeypatch.setattr(printing_dot.shutil, "which", lambda name: None)
    with pytest.warns(UserWarning, match=r"apt-get install graphviz.*dot -Tpng"):
        pydotprint(f, outfile=str(tmp_path / "pic.png"), print_output_file=False)
    assert (tmp_path / "pic.dot").read_text() == graph_to_dot(f)
    assert not (tmp_path / "pic.png").exists()


def test_bad_arguments(program):
    with pytest.raises(ValueError, match="unknown format 'bmp'"):
        pydotprint(program[3], format="bmp")
    with pytest.raises(TypeError, match="expected a compiled function"):
        pydotprint(42)


def test_cli_dump_writes_a_picture_per_function(tmp_path, capsys):
    script = tmp_path / "prog.py"
    script.write_text("import tjit as theano, tjit.tensor as T\n"
                      "x = T.dvector('x')\n"
                      "f = theano.function([x], T.exp(x) * 2.0, name='first')\n"
                      "g = theano.function([x], T.tanh(x).sum(), name='second')\n")
    out_dir = tmp_path / "pics"
    assert cli.main(["dump", str(script), "--stage", "opt", "--format", "dot",
                     "--outdir", str(out_dir)]) == 0
    first, second = sorted(out_dir.iterdir())
    assert first.name == "01-first.opt.dot" and second.name == "02-second.opt.dot"
    assert "subgraph cluster_0_FusedElemwise" in first.read_text()
    assert "subgraph cluster_0_FusedReduce" in second.read_text()
    assert cli.main(["dump", str(script), "--stage", "graph", "--format", "dot",
                     "--outdir", str(out_dir), "--function", "first"]) == 0
    graph = (out_dir / "01-first.graph.dot").read_text()
    assert "cluster" not in graph and "Elemwise{exp" in graph
    assert cli.main(["dump", str(script), "--stage", "loop", "--format", "svg"]) == 2
    assert "draws the stages graph, opt" in capsys.readouterr().err
