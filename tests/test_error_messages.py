"""Errors that name what went wrong (issue: reliability, errors)."""
from __future__ import annotations

import numpy as np
import pytest

import tjit as theano
import tjit.tensor as T


def test_a_non_variable_output_names_the_outputs_argument():
    x = T.dvector("x")
    with pytest.raises(TypeError, match=r"function outputs .* output 1 is 'abc' of type str"):
        theano.function([x], [x * 2, "abc"])


def test_givens_values_that_are_arrays_or_numbers_become_shared_variables():
    x, a = T.dvector("x"), T.dscalar("a")
    f = theano.function([], x * a, givens={x: np.array([1.0, 2.0]), a: 3.0})
    np.testing.assert_array_equal(f(), [3.0, 6.0])
    with pytest.raises(TypeError, match="cannot replace x"):
        theano.function([], x * 2, givens={x: np.ones((2, 2))})


@pytest.mark.parametrize("shape", [(2 ** 32, 2 ** 32), (2 ** 22, 2 ** 22)])
def test_alloc_of_an_impossible_size_says_it_is_too_large(shape):
    n, m = T.lscalars("n", "m")
    f = theano.function([n, m], T.alloc(np.float64(1.0), n, m))
    with pytest.raises(MemoryError, match=r"too large to allocate"):
        f(*shape)
    np.testing.assert_array_equal(f(2, 3), np.ones((2, 3)))


def test_alloc_that_does_not_broadcast_still_says_so():
    with pytest.raises(ValueError, match="does not broadcast"):
        T.alloc(np.ones(3), 3, 2).eval()
