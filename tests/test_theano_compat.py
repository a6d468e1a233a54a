"""Theano 1.0 API details real programs rely on (issue: real Theano programs)."""
from __future__ import annotations

import numpy as np
import pytest

import tjit as theano
import tjit.tensor as T


def test_variables_are_true_but_comparisons_have_no_truth_value():
    x = T.dvector("x")
    W = theano.shared(np.zeros(3), name="W")
    assert bool(x) and bool(W) and bool(x * 2)      # `if not W:` tests for None
    with pytest.raises(TypeError, match="comparison"):
        bool(x < 1)
    with pytest.raises(TypeError, match="comparison"):
        x < x < x        # noqa: B015  (Python's (x < x) and (x < x))


def test_tag_items_are_attributes_too():
    x = T.dmatrix("x")
    x.tag.test_value = np.ones((2, 2))
    assert x.tag["test_value"] is x.tag.test_value
    assert x.clone().tag.test_value is x.tag.test_value
    with pytest.raises(AttributeError):
        x.tag.missing
    del x.tag.test_value
    assert "test_value" not in x.tag


def test_plural_constructors_follow_theano():
    x, y, z = T.dscalars("xyz")
    assert [v.name for v in (x, y, z)] == ["x", "y", "z"]
    a = T.fvectors("a")
    assert a.name == "a" and a.dtype == "float32" and a.ndim == 1
    assert [v.name for v in T.matrices("m", "n")] == ["m", "n"]
    assert [v.name for v in T.lvectors(["i", "j"])] == ["i", "j"]
    assert len(T.dmatrices(3)) == 3


def test_add_and_mul_take_any_number_of_terms():
    a, b, c = T.dvectors("a", "b", "c")
    f = theano.function([a, b, c], [T.add(a, b, c), T.mul(a, b, c, 2.0)])
    av, bv, cv = np.array([1.0, 2.0]), np.array([3.0, -1.0]), np.array([0.5, 4.0])
    s, p = f(av, bv, cv)
    np.testing.assert_array_equal(s, av + bv + cv)
    np.testing.assert_array_equal(p, av * bv * cv * 2.0)


def test_stack_of_separate_arguments_and_fill():
    a, b = T.dvectors("a", "b")
    av, bv = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    f = theano.function([a, b], [T.stack(a, b), T.stack([a, b], 1), T.stack([a, b], axis=1),
                                 a.fill(7.5)])
    s0, s1, s2, filled = f(av, bv)
    np.testing.assert_array_equal(s0, np.stack([av, bv]))
    np.testing.assert_array_equal(s1, np.stack([av, bv], 1))
    np.testing.assert_array_equal(s2, np.stack([av, bv], 1))
    np.testing.assert_array_equal(filled, np.full(2, 7.5))
