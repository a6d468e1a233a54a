"""x ** 2, x ** 0.5, x ** 1, x ** -1 become sqr, sqrt, x, 1/x: NumPy's own fast
paths, so the values match NumPy bit for bit (signed zeros and infinities too)."""
import numpy as np
import pytest

import tjit as theano
import tjit.tensor as T

SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-310, -1e-310, 1e300, -3.5, 0.25]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("c, op", [(2, "sqr"), (0.5, "sqrt"), (-1, "true_div"), (2.0, "sqr")])
def test_float_pow_constants_match_numpy_bitwise(dtype, c, op):
    x = T.vector("x", dtype=dtype)
    f = theano.function([x], x ** c)
    kinds = [str(n.op) for n in f.nodes]
    assert any(op in k for k in kinds) and not any("pow" in k for k in kinds), kinds
    rng = np.random.default_rng(0)
    v = np.concatenate([np.array(SPECIAL), rng.standard_normal(997) * 10]).astype(dtype)
    with np.errstate(all="ignore"):
        want = v ** np.asarray(c, dtype=dtype)
    got = f(v)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    assert np.array_equal(np.signbit(got), np.signbit(want))


def test_integer_square_and_untouched_cases():
    xi = T.lvector("xi")
    f = theano.function([xi], [xi ** 2, xi ** 0.5, xi ** 3])
    v = np.array([-5, 0, 3, 2 ** 31 + 7], dtype="int64")
    sq, root, cube = f(v)
    np.testing.assert_array_equal(sq, v ** 2)            # wraps as NumPy's
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(root, v ** 0.5)     # float result: pow kept
    np.testing.assert_array_equal(cube, v ** 3)
    # a constant that broadcasts x up (the shape comes from the constant) keeps pow
    y = T.dvector("y")
    g = theano.function([y], y ** np.full((2, 1), 2.0))
    yv = np.array([1.5, -2.0, 3.0])
    np.testing.assert_array_equal(g(yv), yv ** np.full((2, 1), 2.0))


def test_gradient_of_square_unchanged():
    x = T.dvector("x")
    f = theano.function([x], T.grad((x ** 2).sum(), x))
    v = np.array([1.0, -2.5, 0.0])
    np.testing.assert_allclose(f(v), 2 * v)
