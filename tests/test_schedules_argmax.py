"""argmax/argmin's blocked schedule: a vector max per block of ARG_BLOCK, one
rescan of the first block holding the final extremum (tjit.ir.lower_reduce)."""
import numpy as np
import pytest

import tjit
import tjit.tensor as T
from tjit.ir.lower_reduce import ARG_BLOCK


@pytest.fixture(scope="module")
def arg_fns():
    v = T.dmatrix("v")
    return tjit.function([v], [v.argmax(axis=1), v.argmin(axis=1), v.argmax(), v.argmin(),
                               v.max(axis=1)], mode="FAST_RUN")


def _check(fns, x):
    got = fns(x)
    for g, e in zip(got[:4], [x.argmax(1), x.argmin(1), x.argmax(), x.argmin()]):
        np.testing.assert_array_equal(g, e)
    np.testing.assert_array_equal(got[4], x.max(1))


@pytest.mark.parametrize("width", [1, 3, ARG_BLOCK - 1, ARG_BLOCK, ARG_BLOCK + 1,
                                   3 * ARG_BLOCK + 7])
def test_random_rows_every_block_boundary(arg_fns, width):
    x = np.random.default_rng(width).standard_normal((9, width))
    _check(arg_fns, x)


def test_sorted_rows_improve_in_every_block(arg_fns):
    x = np.sort(np.random.default_rng(1).standard_normal((5, 4 * ARG_BLOCK + 3)), axis=1)
    _check(arg_fns, x)
    _check(arg_fns, x[:, ::-1].copy())


def test_ties_take_the_first_position_across_blocks(arg_fns):
    x = np.zeros((4, 3 * ARG_BLOCK))
    x[0, [5, ARG_BLOCK + 5, 2 * ARG_BLOCK]] = 2.0      # max in three blocks
    x[1, [ARG_BLOCK + 1, ARG_BLOCK + 2]] = -3.0         # min twice in one block
    x[2] = 1.0                                          # all equal
    x[3, -1] = 7.0                                      # in the last element
    _check(arg_fns, x)


def test_nan_wins_and_the_first_nan_is_taken(arg_fns):
    x = np.random.default_rng(2).standard_normal((6, 3 * ARG_BLOCK + 11))
    x[0, 2 * ARG_BLOCK + 3] = np.nan
    x[1, [ARG_BLOCK + 9, 7]] = np.nan                   # two NaNs: the first
    x[2, :] = np.nan
    x[3, -1] = np.nan
    x[4, [10, ARG_BLOCK + 2]] = [np.inf, -np.inf]       # inf meets -inf: no NaN
    x[5, [3, 2 * ARG_BLOCK]] = [-np.inf, np.inf]
    got = arg_fns(x)
    np.testing.assert_array_equal(got[0], x.argmax(1))
    np.testing.assert_array_equal(got[1], x.argmin(1))
    assert got[2] == x.argmax() and got[3] == x.argmin()


def test_infinities_and_all_minus_inf(arg_fns):
    x = np.full((3, 2 * ARG_BLOCK + 1), -np.inf)
    x[1, ARG_BLOCK + 4] = np.inf
    x[2, [0, 2 * ARG_BLOCK]] = [np.inf, np.inf]
    _check(arg_fns, x)


def test_several_reduced_loops_and_float32():
    # a transposed 3-d view: the reduced dims do not collapse into one loop
    v = T.tensor3("v", dtype="float32")
    f = tjit.function([v], [v.argmax(axis=(1, 2)), v.argmin(axis=(1, 2))])
    x = np.random.default_rng(3).standard_normal((3, 2 * ARG_BLOCK + 5, 4)).astype("float32")
    x[1, 300, 2] = np.nan
    xt = x.transpose(0, 2, 1)
    flat = xt.reshape(3, -1)
    got = f(xt)
    np.testing.assert_array_equal(got[0], flat.argmax(1))
    np.testing.assert_array_equal(got[1], flat.argmin(1))


def test_same_result_for_any_thread_count():
    v = T.dmatrix("v")
    f = tjit.function([v], [v.argmax(axis=1), v.argmax()])
    x = np.random.default_rng(4).integers(0, 5, (300, 2 * ARG_BLOCK + 1)).astype("float64")
    want = [x.argmax(1), x.argmax()]
    for threads in (1, 2, 3):
        with tjit.config.change_flags(threads=threads):
            got = f(x)
        np.testing.assert_array_equal(got[0], want[0])
        assert got[1] == want[1]


def test_argmax_inside_a_native_scan_step():
    m = T.dmatrix("m")
    out, _ = tjit.scan(lambda r: [T.argmax(r), T.argmin(r * 2.0)], sequences=m)
    f = tjit.function([m], out)
    x = np.random.default_rng(5).standard_normal((4, 2 * ARG_BLOCK + 9))
    x[2, ARG_BLOCK + 1] = np.nan
    got = f(x)
    np.testing.assert_array_equal(got[0], x.argmax(1))
    np.testing.assert_array_equal(got[1], (x * 2.0).argmin(1))
