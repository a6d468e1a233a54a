"""`tjit dump`, `tjit.dump`, configuration flags and TJIT_FLAGS."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tjit as theano
import tjit.tensor as T

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCRIPT = textwrap.dedent("""
    import numpy as np, tjit as theano, tjit.tensor as T
    x, y = T.dvectors('x', 'y')
    f = theano.function([x, y], T.exp(-x * x) * y + 1.0, name='gauss')
    g = theano.function([x], T.tanh(x).sum() if hasattr(x, 'sum') else x, name='other')
    print('result', f(np.array([0.0, 1.0]), np.array([2.0, 3.0]))[0])
""")


def _dump(tmp_path, *args, script=SCRIPT):
    path = tmp_path / "prog.py"
    path.write_text(script)
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-m", "tjit", "dump", str(path), *args], env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("stage,expect", [
    ("graph", ["Elemwise{exp,no_inplace}", "x [id", "TensorType(float64, vector)"]),
    ("opt", ["rewrites applied: ", "elemwise_fusion", "FusedElemwise"]),
    ("loop", ["kernel tjit_fused_", "for i0 in", "exp("]),
    ("llvm", ["define ", "@tjit_m_exp_float64", "vector.body"]),
    ("asm", ["mm", "ret"]),
])
def test_dump_stages(tmp_path, stage, expect):
    out = _dump(tmp_path, "--stage", stage, "--function", "gauss")
    assert out.returncode == 0, out.stderr
    assert "=== gauss (%s) ===" % stage in out.stdout
    assert "=== other" not in out.stdout          # --function filters
    assert "result 3.0" in out.stdout             # the script itself ran
    for text in expect:
        assert text in out.stdout, (stage, text)


def test_dump_every_function_by_default(tmp_path):
    out = _dump(tmp_path)
    assert out.returncode == 0, out.stderr
    assert "=== gauss (opt) ===" in out.stdout and "=== other (opt) ===" in out.stdout


def test_dump_script_error_is_the_scripts_traceback(tmp_path):
    out = _dump(tmp_path, script="import tjit\n\ndef g():\n    raise KeyError('boom')\n\ng()\n")
    assert out.returncode != 0
    assert "KeyError: 'boom'" in out.stderr
    assert 'prog.py", line 4' in out.stderr
    assert "cli.py" not in out.stderr             # no tjit internals on top


def test_dump_missing_file_is_one_line(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-m", "tjit", "dump", str(tmp_path / "nope.py")],
                         env=env, capture_output=True, text=True)
    assert out.returncode != 0
    assert out.stderr.strip().count("\n") == 0 and "no such file" in out.stderr


def test_dump_help_documents_stages():
    env = dict(os.environ, PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-m", "tjit", "dump", "--help"], env=env,
                         capture_output=True, text=True, check=True)
    for word in ("graph", "opt", "loop", "llvm", "asm", "--function"):
        assert word in out.stdout


def test_dump_function_api_matches_stages():
    x = T.dvector("x")
    f = theano.function([x], T.sin(x) * 2)
    assert "Elemwise{sin,no_inplace}" in theano.dump(f, "graph")
    assert "FusedElemwise" in theano.dump(f, "opt")
    assert "sin(" in theano.dump(f, "loop")
    with pytest.raises(ValueError, match="stages"):
        theano.dump(f, "nonsense")


# ---- configuration ---------------------------------------------------------------
def test_flags_round_trip_and_change_flags():
    old = theano.config.threads
    with theano.config.change_flags(threads=1, floatX="float32"):
        assert theano.config.threads == 1 and theano.config.floatX == "float32"
        assert T.vector().dtype == "float32"
    assert theano.config.threads == old and theano.config.floatX == "float64"


def test_unknown_flag_lists_known_ones():
    with pytest.raises(AttributeError, match="known flags: .*floatX"):
        theano.config.no_such_flag = 1
    with pytest.raises(ValueError, match="floatX"):
        theano.config.floatX = "int7"


def _flags_process(flags, code):
    env = dict(os.environ, PYTHONPATH=ROOT, TJIT_FLAGS=flags)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)


def test_tjit_flags_read_at_import():
    out = _flags_process("floatX=float32,mode=FAST_COMPILE,threads=1",
                         "import tjit, tjit.tensor as T; "
                         "print(tjit.config.floatX, tjit.config.mode, tjit.config.threads, "
                         "T.matrix().dtype)")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["float32", "FAST_COMPILE", "1", "float32"]


def test_tjit_flags_unknown_flag_fails_at_import():
    out = _flags_process("floatx=float32", "import tjit")
    assert out.returncode != 0 and "known flags" in out.stderr


def test_optimizer_excluding_flag_turns_a_rewrite_off():
    x = T.dvector("x")
    with theano.config.change_flags(optimizer_excluding="elemwise_fusion"):
        f = theano.function([x], T.exp(x) * 2 + 1)
    assert "elemwise_fusion" not in f.rewrites_applied
    np.testing.assert_allclose(f(np.arange(3.0)), np.exp(np.arange(3.0)) * 2 + 1)
    with pytest.raises(ValueError, match="unknown rewrites"):
        with theano.config.change_flags(optimizer_excluding="no_such_rewrite"):
            theano.function([x], x * 2)
