"""ScalarProgram: dtypes, the NumPy evaluation, keys, value semantics."""
import dataclasses

import numpy as np
import pytest

from tjit import scalar as ts
from tjit.ops import FusedElemwise, ScalarProgram, Step


def program(outputs=(("step", 2),)):
    # (in0 * in1) + 1.5, then exp of that, cast to float32
    return ScalarProgram([Step(ts.mul, (("in", 0), ("in", 1))),
                          Step(ts.add, (("step", 0), ("const", 1.5, "float64"))),
                          Step(ts.Cast("float32"), (("step", 1),))], outputs)


def test_dtypes():
    p = program((("step", 0), ("step", 2), ("in", 1), ("const", 2, "int8")))
    assert p.dtypes(["int32", "float64"]) == ["float64", "float32", "float64", "int8"]
    assert p.dtypes(["int8", "int8"])[0] == "int8"
    assert p.dtype_of(("step", 1), ["float32", "float32"]) == "float64"
    assert p.dtype_of(("in", 0), ["int16", "float32"]) == "int16"


def test_evaluate_matches_numpy():
    a = np.arange(6.0).reshape(2, 3)
    b = np.array([0.5, -1.0, 2.0])
    p = program((("step", 1), ("step", 2), ("in", 0)))
    s1, s2, x = p.evaluate([a, b])
    np.testing.assert_array_equal(s1, a * b + np.float64(1.5))
    assert s2.dtype == np.float32
    np.testing.assert_array_equal(s2, (a * b + 1.5).astype(np.float32))
    assert x is a


def test_run_visits_steps_in_order():
    calls = []
    out = program().run(lambda i: f"x{i}", lambda v, dt: f"{v}:{dt}",
                        lambda op, args: calls.append((op.name, args)) or len(calls) - 1)
    assert out == [2]
    assert calls[0] == ("mul", ["x0", "x1"])
    assert calls[1] == ("add", [0, "1.5:float64"])


def test_key_equality_and_hash():
    p, q = program(), program()
    assert p == q and hash(p) == hash(q) and p.key() == q.key()
    r = program((("step", 1),))
    assert r != p and r.key() != p.key() and r.steps_key() == p.steps_key()
    # the key names casts' dtype and constants' dtype
    c = ScalarProgram([Step(ts.Cast("float64"), (("in", 0),))], (("step", 0),))
    assert "float64" in c.key() and "'float64'" in program().steps_key()
    assert c.key() != ScalarProgram([Step(ts.Cast("float32"), (("in", 0),))],
                                    (("step", 0),)).key()
    # stable text (no ids or addresses): what the compile cache keys embed
    assert program().steps_key() == (
        "[('mul', None, (('in', 0), ('in', 1))), "
        "('add', None, (('step', 0), ('const', 1.5, 'float64'))), "
        "('convert_to_float32', 'float32', (('step', 1),))]")


def test_immutable_and_checked():
    p = program()
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.steps = ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.steps[0].args = ()
    with pytest.raises(ValueError):
        ScalarProgram([Step(ts.exp, (("step", 0),))], (("step", 0),))   # forward ref
    with pytest.raises(ValueError):
        ScalarProgram([], (("step", 0),))


def test_with_inputs_renumbers():
    p = program().with_inputs(lambda i: i + 3)
    assert p.steps[0].args == (("in", 3), ("in", 4))
    assert p.outputs == (("step", 2),)


def test_fused_ops_compare_by_program():
    a = FusedElemwise([(0,), (0,)], program(), (False,))
    b = FusedElemwise([(0,), (0,)], program(), (False,))
    c = FusedElemwise([(0,), (0,)], program((("step", 1),)), (False,))
    assert a == b and hash(a) == hash(b) and a != c


def test_fused_elemwise_outputs_are_steps():
    with pytest.raises(TypeError):
        FusedElemwise([(0,), (0,)], program((("in", 0),)), (False,))
