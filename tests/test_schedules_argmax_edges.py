"""argmax/argmin's vectorized schedules (tjit.ir.lower_reduce) against NumPy:
the first occurrence on ties, the first NaN, rows of the identity (-inf, the
dtype's minimum), lengths around the vector, unroll and block widths, strided
and transposed layouts, several reduced loops, on the AVX2 target and the SSE2
baseline."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tjit
import tjit.tensor as T
from tjit.ir.lower_reduce import ARG_BLOCK

VECTOR, UNROLLED = 4, 16   # float64 per AVX2 vector; per unrolled vector loop step

CPUS = ("x86-64-v3", "x86-64")
_FNS = {}
# (what is compiled for each dtype: a few kernels each keep the file fast)
ALL = ("argmax rows", "argmin rows", "argmax", "argmin")
KERNELS = {("x86-64-v3", "float64"): ALL, ("x86-64", "float64"): ALL[:2],
           ("x86-64-v3", "float32"): ALL[1:3], ("x86-64", "float32"): ALL[:1],
           ("x86-64-v3", "int8"): ALL[:2], ("x86-64", "int8"): ALL[1:2],
           ("x86-64-v3", "uint8"): ALL[:1], ("x86-64-v3", "bool"): ALL[:2]}


def _fns(cpu, dtype, ndim):
    """The functions of KERNELS (3-d: argmax over axes (1, 2)); one compile per key."""
    key = (cpu, dtype, ndim)
    if key not in _FNS:
        names = KERNELS[cpu, dtype] if ndim == 2 else ALL[:1]
        with tjit.config.change_flags(cpu=cpu):
            v = T.TensorType(dtype, (False,) * ndim)("v")
            last = ndim - 1 if ndim == 2 else (1, 2)
            outs = {"argmax rows": v.argmax(axis=last), "argmin rows": v.argmin(axis=last),
                    "argmax": v.argmax(), "argmin": v.argmin()}
            _FNS[key] = names, tjit.function([v], [outs[n] for n in names])
    return _FNS[key]


def _check(cpu, x):
    names, f = _fns(cpu, str(x.dtype), x.ndim)
    with tjit.config.change_flags(cpu=cpu):
        got = f(x)
    flat = x.reshape(x.shape[0], -1) if x.ndim == 3 else x
    want = {"argmax rows": flat.argmax(1), "argmin rows": flat.argmin(1), "argmax": x.argmax(),
            "argmin": x.argmin()}
    for g, name in zip(got, names):
        np.testing.assert_array_equal(g, want[name], err_msg="%s on %s, dtype %s, shape %s"
                                      % (name, cpu, x.dtype, x.shape))


# widths around the vector, unroll and block boundaries (and a few others)
WIDTHS = st.one_of(st.integers(1, 3 * ARG_BLOCK + 2 * UNROLLED),
                   st.sampled_from([VECTOR + 1, UNROLLED - 1, UNROLLED + 1,
                                    ARG_BLOCK - 1, ARG_BLOCK, ARG_BLOCK + 1, 2 * ARG_BLOCK + 3]))


@st.composite
def float_rows(draw):
    """Rows of few distinct values (many ties), some NaN, +-inf, -0.0, at
    random positions; some rows all one special value."""
    rows, width = draw(st.integers(1, 4)), draw(WIDTHS)
    seed = draw(st.integers(0, 2 ** 32 - 1))
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, (rows, width)).astype("float64")
    for value in (np.nan, np.inf, -np.inf, -0.0):
        if draw(st.booleans()):
            k = draw(st.integers(1, 3))
            x[rng.integers(0, rows, k), rng.integers(0, width, k)] = value
    if draw(st.booleans()):
        x[draw(st.integers(0, rows - 1))] = draw(st.sampled_from([np.nan, -np.inf, np.inf, 0.0]))
    return x


@settings(max_examples=60, deadline=None)
@given(x=float_rows(), cpu=st.sampled_from(CPUS), float32=st.booleans(),
       layout=st.sampled_from(["c", "transposed", "strided"]))
def test_float_rows_match_numpy(x, cpu, float32, layout):
    if float32:
        x = x.astype("float32")
    if layout == "transposed":      # rows of stride > 1: the loop's general version
        x = np.ascontiguousarray(x.T).T
    elif layout == "strided":
        x = np.repeat(x, 2, axis=1)[:, ::2]
    _check(cpu, x)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1), width=WIDTHS,
       target=st.sampled_from([("x86-64-v3", "int8"), ("x86-64-v3", "uint8"), ("x86-64", "int8")]))
def test_int_rows_match_numpy(seed, width, target):
    cpu, dtype = target
    rng = np.random.default_rng(seed)
    info = np.iinfo(dtype)
    # the dtype's extremes are the identities: rows of only those take the exact pass
    values = np.array([info.min, info.min + 1, 0, info.max - 1, info.max], dtype=dtype)
    x = values[rng.integers(0, len(values), (3, width))]
    x[1] = info.min
    x[2] = info.max
    _check(cpu, x)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1),
       shape=st.tuples(st.integers(1, 3), st.integers(1, 40), st.integers(1, 7)))
def test_several_reduced_loops_match_numpy(seed, shape):
    # a transposed 3-d view: axes (1, 2) do not collapse into one loop
    rng = np.random.default_rng(seed)
    base = rng.integers(-2, 3, (shape[0], shape[2], shape[1])).astype("float64")
    if seed % 3 == 0:
        base.flat[rng.integers(0, base.size, 2)] = np.nan
    if seed % 3 == 1:
        base[0] = -np.inf
    _check("x86-64-v3", base.transpose(0, 2, 1))


@pytest.mark.parametrize("cpu", CPUS)
def test_first_of_equal_maxima_in_different_vectors_and_blocks(cpu):
    width = 3 * ARG_BLOCK + 5
    x = np.zeros((5, width))
    x[0, [UNROLLED + 3, 2]] = 1.0             # vector lane 3 later, lane 2 first
    x[1, [ARG_BLOCK + 1, 2 * ARG_BLOCK - 1]] = 1.0   # one block, two vectors
    x[2, [width - 1, ARG_BLOCK + 7]] = 1.0        # the tail block and a whole one
    x[3, [0, width - 1]] = [-0.0, 0.0]            # -0.0 == 0.0: position 0
    x[4] = np.arange(width)[::-1] % 7             # a maximum in every group
    _check(cpu, x)
    _check(cpu, -x)


def test_bool_rows():
    x = np.zeros((4, 2 * ARG_BLOCK + 9), dtype=bool)
    x[0, [ARG_BLOCK + 2, 2 * ARG_BLOCK]] = True
    x[2] = True
    x[3, 5:] = True
    _check("x86-64-v3", x)


def test_empty_axis_raises():
    _, f = _fns("x86-64-v3", "float64", 2)
    with tjit.config.change_flags(cpu="x86-64-v3"), pytest.raises(ValueError, match="empty"):
        f(np.zeros((3, 0)))
