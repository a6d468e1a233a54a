"""Native fused reductions (FusedReduce): values against NumPy for random graphs,
dtypes, layouts, NaNs and empty axes; float accuracy against math.fsum;
bit-identical results for any thread count; fusion structure; gradients."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from helpers import numeric_grad
import tjit as theano
import tjit.tensor as T
from tjit.config import change_flags
from tjit.ir.from_graph import lower_fused_reduce
from tjit.ir.printer import format_kernel
from tjit.ops.fused_elemwise import FusedElemwise
from tjit.ops.fused_reduce import FusedReduce

KINDS = ["sum", "prod", "max", "min", "argmax", "argmin", "all", "any", "mean", "ptp"]
DTYPES = ["float64", "float32", "int64", "int32", "int8", "uint8", "bool"]
NP = {"sum": np.sum, "prod": np.prod, "max": np.max, "min": np.min, "all": np.all,
      "any": np.any, "mean": np.mean, "ptp": np.ptp}


def reduce_nodes(f):
    return [n for n in f.nodes if isinstance(n.op, FusedReduce)]


def np_reduce(kind, a, axis, keepdims):
    """NumPy with Theano's dtype rules (ints sum in int64, float32 sums in float64)."""
    axes = tuple(range(a.ndim)) if axis is None else (axis if isinstance(axis, tuple) else (axis,))
    axes = tuple(sorted(d % max(a.ndim, 1) for d in axes))
    if kind in ("argmax", "argmin"):
        kept = [d for d in range(a.ndim) if d not in axes]
        t = np.transpose(a, kept + list(axes)).reshape([a.shape[d] for d in kept] + [math.prod(a.shape[d] for d in axes)])
        r = getattr(np, kind)(t, axis=-1)
        if keepdims:
            r = np.expand_dims(r, axes)
        return r.astype("int64")
    if kind in ("sum", "prod"):
        acc = "int64" if a.dtype.kind in "bi" else "uint64" if a.dtype.kind == "u" else "float64"
        out = acc if a.dtype.kind in "biu" else a.dtype
        return np.asarray(NP[kind](a, axis=axes, dtype=acc, keepdims=keepdims)).astype(out)
    if kind == "mean":
        out = "float32" if a.dtype == np.float32 else "float64"
        return np.asarray(np.mean(a, axis=axes, dtype="float64", keepdims=keepdims)).astype(out)
    if kind == "ptp":
        return np.asarray(np.max(a, axes, keepdims=keepdims) - np.min(a, axes, keepdims=keepdims))
    return np.asarray(NP[kind](a, axis=axes, keepdims=keepdims))


def t_reduce(kind, x, axis, keepdims):
    return getattr(T, kind)(x, axis=axis, keepdims=keepdims)


def check_close(got, want, dtype):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    if got.dtype.kind == "f":
        tol = 2e-5 if got.dtype == np.float32 else 1e-11
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, equal_nan=True)
    else:
        np.testing.assert_array_equal(got, want)


def values(dtype, shape, rng):
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if np.dtype(dtype).kind in "iu":
        lo = 0 if dtype.startswith("u") else -3
        return rng.integers(lo, 4, size=shape).astype(dtype)
    return rng.uniform(-2, 2, size=shape).astype(dtype)


@st.composite
def reductions(draw):
    ndim = draw(st.integers(0, 3))
    shape = tuple(draw(st.integers(0, 5)) for _ in range(ndim))
    dtype = draw(st.sampled_from(DTYPES))
    kind = draw(st.sampled_from(KINDS))
    if dtype == "bool" and kind in ("mean", "ptp", "prod"):
        kind = "sum"
    how = draw(st.sampled_from(["none", "int", "tuple"])) if ndim else "none"
    if how == "none":
        axis = None
    elif how == "int":
        axis = draw(st.integers(-ndim, ndim - 1))
    else:
        picked = draw(st.lists(st.integers(0, ndim - 1), unique=True, min_size=1, max_size=ndim))
        axis = tuple(d - ndim if draw(st.booleans()) else d for d in picked)
    keepdims = draw(st.booleans())
    producer = draw(st.sampled_from(["id", "affine", "sq", "transpose"]))
    consumer = draw(st.booleans())
    return shape, dtype, kind, axis, keepdims, producer, consumer, draw(st.integers(0, 2**31))


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(reductions())
def test_random_reductions_match_numpy(case):
    shape, dtype, kind, axis, keepdims, producer, consumer, seed = case
    rng = np.random.default_rng(seed)
    a = values(dtype, shape, rng)
    x = T.TensorType(dtype, (False,) * len(shape))("x")
    e = x
    if producer == "affine" and dtype != "bool":
        e = x * 3 - 1
    elif producer == "sq" and dtype.startswith("float"):
        e = (x - 1.5) ** 2
    elif producer == "transpose" and len(shape) >= 2:
        e = x.T
    # the producer's values from an elementwise-only function (tested elsewhere)
    ref_in = np.asarray(theano.function([x], e * 1 if e is not x else x + 0 * x)(a)) \
        if dtype != "bool" else (a.T if e is not x else a)
    out = t_reduce(kind, e, axis, keepdims)
    empty = any(ref_in.shape[d] == 0 for d in
                (range(ref_in.ndim) if axis is None else
                 [axis % ref_in.ndim] if isinstance(axis, int) else [d % ref_in.ndim for d in axis]))
    if consumer:
        out = out + 1
    f = theano.function([x], out)
    if kind in ("max", "min", "argmax", "argmin", "ptp") and empty:
        with pytest.raises(ValueError):
            f(a)
        return
    with np.errstate(all="ignore"):
        want = np_reduce(kind, ref_in, axis, keepdims)
        if consumer:
            want = (np.asarray(want) + 1).astype(out.dtype)
        got = f(a)
    if kind == "mean" and ref_in.size == 0:
        # 0/0: Theano's mean of an empty axis is NaN (NumPy warns): NaN everywhere
        assert np.shape(got) == np.shape(want)
        assert np.isnan(np.asarray(got)).all()
        return
    check_close(got, want.astype(out.dtype), out.dtype)


@pytest.mark.parametrize("kind", ["sum", "prod", "max", "min", "argmax", "argmin", "all", "any"])
def test_noncontiguous_and_reversed_layouts(kind):
    rng = np.random.default_rng(1)
    base = rng.uniform(0.5, 1.5, size=(40, 60, 30))
    x = T.dtensor3("x")
    for axis in [0, 1, 2, (0, 2), (1, 2), None, -1]:
        f = theano.function([x], t_reduce(kind, x, axis, False))
        for a in (base[::-1, ::2, 1::3], base.transpose(2, 0, 1), base[:, ::-1, :]):
            check_close(f(a), np_reduce(kind, a, axis, False).astype(f(a).dtype), "float64")


def test_nan_propagation_and_first_nan_index():
    x = T.dmatrix("x")
    a = np.arange(24.0).reshape(4, 6)
    a[1, 2] = a[1, 4] = a[3, 0] = np.nan
    a[2, 5] = a[2, 1] = 100.0   # ties: the first index wins
    outs = [x.max(axis=1), x.min(axis=0), x.argmax(axis=1), x.argmin(axis=1), x.sum(axis=1),
            x.argmax(), x.max(), x.argmax(axis=0)]
    got = theano.function([x], outs)(a)
    want = [a.max(1), a.min(0), a.argmax(1), a.argmin(1), a.sum(1), a.argmax(), a.max(),
            a.argmax(0)]
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    assert got[2][2] == 1 and got[2][1] == 2 and got[5] == 8


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_nan_in_long_rows_vector_extremum_paths(dtype):
    # the vectorized max/min drop NaNs and keep a NaN flag beside: a NaN
    # anywhere in a long row (any block, any vector lane, the scalar tail) wins
    x = T.matrix("x", dtype=dtype)
    rng = np.random.default_rng(11)
    a = rng.standard_normal((10, 1203)).astype(dtype)
    for row, col in [(0, 0), (1, 1202), (2, 255), (3, 256), (4, 700), (5, 1199)]:
        a[row, col] = np.nan
    a[6, 300] = a[6, 900] = np.nan            # two NaNs: the first index
    a[7] = -np.inf
    a[8, 5] = np.inf
    a[9, 17], a[9, 1000] = -np.inf, np.inf     # its plain sum is NaN: the exact rescan
    outs = [x.max(axis=1), x.min(axis=1), x.argmax(axis=1), x.argmin(axis=1), x.max(), x.min(),
            x.argmax(), T.nnet.softmax(x)]
    got = theano.function([x], outs)(a)
    want = [a.max(1), a.min(1), a.argmax(1), a.argmin(1), a.max(), a.min(), a.argmax()]
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    with np.errstate(all="ignore"):
        e = np.exp(a - a.max(1, keepdims=True))
        np.testing.assert_allclose(got[-1], e / e.sum(1, keepdims=True), rtol=1e-5)


def test_all_infinite_and_extreme_ints():
    x = T.dvector("x")
    a = np.full(5, -np.inf)
    assert theano.function([x], x.argmax())(a) == 0
    assert theano.function([x], x.max())(a) == -np.inf
    i = T.lvector("i")
    big = np.array([2 ** 62, 2 ** 62, 2 ** 62, -5], dtype="int64")
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(theano.function([i], i.sum())(big), big.sum())
        np.testing.assert_array_equal(theano.function([i], i.prod())(big), big.prod())
    lo = np.array([np.iinfo("int64").min, 3], dtype="int64")
    assert theano.function([i], i.argmin())(lo) == 0
    assert theano.function([i], i.max())(lo) == 3
    b = T.TensorType("bool", (False,))("b")
    bits = np.random.default_rng(0).random(1000) < 0.3
    s = theano.function([b], b.sum())(bits)
    assert s.dtype == np.int64 and s == bits.sum()


def test_empty_reductions():
    x = T.dmatrix("x")
    a = np.zeros((0, 3))
    np.testing.assert_array_equal(theano.function([x], x.sum(axis=0))(a), np.zeros(3))
    np.testing.assert_array_equal(theano.function([x], x.prod())(a), 1.0)
    assert theano.function([x], x.max(axis=1))(a).shape == (0,)
    for e in (x.max(axis=0), x.argmax(), x.min(), x.argmin(axis=0)):
        with pytest.raises(ValueError, match="empty"):
            theano.function([x], e)(a)


def test_shape_mismatch_is_a_clear_error():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    f = theano.function([x, y], (x * y).sum(axis=0))
    with pytest.raises(ValueError, match="shape"):
        f(np.ones((3, 4)), np.ones((3, 5)))


def test_float_sums_are_accurate_against_fsum():
    rng = np.random.default_rng(7)
    a64 = rng.standard_normal(3_000_000) * 10.0 ** rng.integers(-3, 4, size=3_000_000)
    x = T.dvector("x")
    got = theano.function([x], x.sum())(a64)
    exact = math.fsum(a64)
    assert abs(got - exact) <= 1e-14 * math.fsum(np.abs(a64))
    a32 = rng.uniform(0, 1, size=2_000_000).astype("float32")
    f32 = T.fvector("f")
    got32 = theano.function([f32], f32.sum())(a32)          # accumulates in float64
    assert got32.dtype == np.float32
    assert abs(float(got32) - math.fsum(a32.astype("float64"))) <= 1e-6 * float(got32)
    # float32 accumulation: blocked, so far better than a naive running sum
    narrow = theano.function([f32], T.sum(f32, acc_dtype="float32"))(a32)
    assert abs(float(narrow) - math.fsum(a32.astype("float64"))) <= 2e-6 * float(narrow)
    rows = a32.reshape(1000, 2000)
    fm = T.fmatrix("m")
    got_rows = theano.function([fm], T.sum(fm, axis=1, acc_dtype="float32"))(rows)
    exact_rows = np.array([math.fsum(r) for r in rows.astype("float64")])
    np.testing.assert_allclose(got_rows, exact_rows, rtol=2e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
def test_bit_identical_for_any_thread_count(dtype):
    rng = np.random.default_rng(3)
    a = values(dtype, (700, 400), rng) if dtype == "int32" else \
        rng.standard_normal((700, 400)).astype(dtype)
    x = T.TensorType(dtype, (False, False))("x")
    outs = [x.sum(axis=0), x.sum(axis=1), x.sum(), x.max(axis=1), x.argmax(), x.argmin(axis=0),
            x.prod(axis=1), (x * 2).min(), x.mean(axis=0), x.T.sum(axis=1), x.var(axis=0),
            x.var(axis=1), x.std(), x.argmax(axis=1), x.max(axis=0),
            x.reshape((70, 10, 400)).sum(axis=1), x.reshape((70, 10, 400)).sum(axis=(0, 1))]
    if dtype != "int32":
        outs += [T.sum(T.exp(x), axis=1, acc_dtype=dtype), T.sum(x, acc_dtype=dtype)]
    results = {}
    for threads in (1, 2, 3):
        with change_flags(threads=threads):
            f = theano.function([x], outs)
            results[threads] = f(a)
    for threads in (2, 3):
        for r1, rk in zip(results[1], results[threads]):
            assert r1.dtype == rk.dtype and r1.tobytes() == rk.tobytes()


def test_producers_fuse_into_one_kernel_reading_x_once():
    x = T.dmatrix("x")
    for e, ref in [(((x - 1.5) ** 2).sum(axis=0), lambda a: ((a - 1.5) ** 2).sum(0)),
                   (T.exp(x).sum(axis=1), lambda a: np.exp(a).sum(1)),
                   (abs(x).max(), lambda a: np.abs(a).max())]:
        f = theano.function([x], e)
        assert len(f.nodes) == 1
        (node,) = reduce_nodes(f)
        assert [v.name for v in node.inputs] == ["x"]
        a = np.random.default_rng(0).standard_normal((50, 30))
        np.testing.assert_allclose(f(a), ref(a), rtol=1e-12)


def test_softmax_composite_materializes_nothing_but_the_output():
    x = T.fmatrix("x")
    e = T.exp(x - x.max(axis=1, keepdims=True))
    f = theano.function([x], e / e.sum(axis=1, keepdims=True))
    # one row-wise kernel: max, sum of exp(x - max) and the stores, row by row
    assert [type(n.op).__name__ for n in f.nodes] == ["FusedRows"]
    assert [r.kind for r in f.nodes[0].op.reductions] == ["max", "sum"]
    a = np.random.default_rng(0).standard_normal((64, 33)).astype("float32")
    want = np.exp(a - a.max(1, keepdims=True))
    np.testing.assert_allclose(f(a), want / want.sum(1, keepdims=True), rtol=1e-5)


def test_schedules_and_printed_kernels():
    x, x3 = T.dmatrix("x"), T.dtensor3("x3")
    expect = [(x, 0, "outer_partials"), (x, 1, "reduce_inner"), (x, None, "partials"),
              (x3, 1, "reduce_outer"), (x3, (0, 1), "outer_partials")]
    for v, axis, schedule in expect:
        f = theano.function([v], v.sum(axis=axis))
        kernel = lower_fused_reduce(reduce_nodes(f)[0])
        assert kernel.meta["schedule"] == schedule
        text = format_kernel(kernel)
        assert "local acc" in text
        assert ("# reassoc" in text) == (schedule in ("reduce_inner", "partials"))


def test_every_schedule_and_matvec_compiles_at_the_linkers_level():
    """A NativeLinker at level 0 (FAST_COMPILE's) compiles every reduction
    schedule and both matrix-vector products at level 0, and they compute what
    NumPy does."""
    from tjit.codegen import compile_kernel
    from tjit.ir.lower_matvec import MatVecLaunch
    from tjit.link import NativeLinker
    from tjit.ops import MatVec
    x, x3, v, w = T.dmatrix("x"), T.dtensor3("x3"), T.dvector("v"), T.dvector("w")
    outs = [x.sum(axis=0), (x * 2).sum(axis=1), x.max(), x3.sum(axis=1), x.argmax(axis=1),
            x.var(axis=0), T.dot(x, v), T.dot(x.T, w)]
    f = theano.function([x, x3, v, w], outs)
    rng = np.random.default_rng(4)
    vals = [rng.standard_normal((70, 5)), rng.standard_normal((3, 40, 6)),
            rng.standard_normal(5), rng.standard_normal(70)]
    schedules, launches = set(), set()
    for node in reduce_nodes(f):
        thunk = NativeLinker(level=0).thunk(node)
        assert thunk.native is compile_kernel(thunk.launch.kernel, 0)
        assert thunk.native is not compile_kernel(thunk.launch.kernel, 3)
        schedules.add(thunk.launch.kernel.meta["schedule"])
        launches.add((type(node.op), type(thunk.launch)))
        ins = theano.function([x, x3, v, w], node.inputs, on_unused_input="ignore")(*vals)
        np.testing.assert_allclose(thunk(ins)[0], node.op.perform(node, ins)[0], rtol=1e-12)
    assert schedules == {"reduce_inner", "reduce_outer", "partials", "outer_partials",
                         "matvec_rows"}, schedules
    assert (MatVec, MatVecLaunch) in launches


def test_debug_mode_checks_native_against_reference():
    x = T.fmatrix("x")
    outs = [T.exp(x).sum(axis=1), x.argmax(axis=0), x.var(axis=0), (x > 0).any()]
    f = theano.function([x], outs, mode="DebugMode")
    a = np.random.default_rng(2).standard_normal((20, 9)).astype("float32")
    for g, w in zip(f(a), [np.exp(a).sum(1), a.argmax(0), a.var(0), (a > 0).any()]):
        np.testing.assert_allclose(g, w, rtol=1e-5)


@pytest.mark.parametrize("name", ["sum", "prod", "max", "min", "mean", "var", "std", "ptp",
                                  "prod_one_zero", "prod_two_zeros", "sq_sum"])
def test_gradients_against_finite_differences(name):
    x = T.dmatrix("x")
    a = np.random.default_rng(5).uniform(0.5, 2.0, size=(3, 4))
    kind = name.split("_")[0]
    if name == "prod_one_zero":
        a[1, 2] = 0.0
    if name == "prod_two_zeros":
        a[1, 2] = a[1, 0] = 0.0
    if name == "sq_sum":
        cost = ((x - 1.5) ** 2).sum(axis=0).sum()
    else:
        cost = (getattr(T, kind)(x, axis=1) * np.arange(1.0, 4.0)).sum()
    f = theano.function([x], cost)
    g = theano.function([x], T.grad(cost, x))(a)
    np.testing.assert_allclose(g, numeric_grad(lambda v: float(f(v)), a), rtol=1e-6, atol=1e-8)


def test_argmax_gradient_is_zero_and_max_ties_share():
    x = T.dvector("x")
    a = np.array([1.0, 3.0, 3.0, 2.0])
    g = theano.function([x], T.grad(x.max(), x))(a)
    np.testing.assert_array_equal(g, [0, 1, 1, 0])          # Theano 1.0: every tie
    g2 = theano.function([x], T.grad(T.cast(x.argmax(), "float64") + x.sum(), x))(a)
    np.testing.assert_array_equal(g2, np.ones(4))


def test_max_and_argmax_and_methods():
    x = T.dmatrix("x")
    m, i = T.max_and_argmax(x, axis=1)
    a = np.random.default_rng(4).standard_normal((5, 7))
    got = theano.function([x], [m, i, x.argmin(axis=-1, keepdims=True), x.ptp(axis=0)])(a)
    np.testing.assert_array_equal(got[0], a.max(1))
    np.testing.assert_array_equal(got[1], a.argmax(1))
    np.testing.assert_array_equal(got[2], a.argmin(-1)[:, None])
    np.testing.assert_array_equal(got[3], np.ptp(a, 0))
    assert x.argmax(axis=(0, 1)).dtype == "int64"


def test_outer_partials_bit_identical_over_chunks_and_tiles():
    # several row chunks and column tiles (TILE = 4096 columns); threads split tasks
    rng = np.random.default_rng(8)
    x = T.fmatrix("x")
    a = rng.standard_normal((300, 9000)).astype("float32")
    outs = [x.sum(axis=0), T.sum(x, axis=0, acc_dtype="float32"), x.var(axis=0),
            x.argmax(axis=0), x.min(axis=0)]
    results = {}
    for threads in (1, 2, 3):
        with change_flags(threads=threads):
            results[threads] = theano.function([x], outs)(a)
    for threads in (2, 3):
        for r1, rk in zip(results[1], results[threads]):
            assert r1.tobytes() == rk.tobytes()
    got = results[2]
    np.testing.assert_allclose(got[0], a.astype("float64").sum(0), rtol=1e-6)
    np.testing.assert_allclose(got[2], a.astype("float64").var(0), rtol=1e-5)
    np.testing.assert_array_equal(got[3], a.argmax(0))
    np.testing.assert_array_equal(got[4], a.min(0))


def test_var_rows_around_the_unrolled_pass():
    # row-wise var adds ROWS_M2 rows per pass over its accumulator rows, then the
    # rest one by one: every row count around that, over axis 0 (outer_partials)
    # and over the middle axis of a 3-d array (reduce_outer), with a large mean
    from tjit.ir.lower_reduce import ROWS_M2
    rng = np.random.default_rng(12)
    x, y = T.dmatrix("x"), T.dtensor3("y")
    f = theano.function([x, y], [x.var(axis=0), y.std(axis=1)])
    for n in sorted({1, 2, ROWS_M2 - 1, ROWS_M2, ROWS_M2 + 1, 2 * ROWS_M2 + 5, 97}):
        a = 1e6 + rng.standard_normal((n, 37))
        b = -3e5 + rng.standard_normal((3, n, 29))
        var, std = f(a, b)
        np.testing.assert_allclose(var, np.var(a, axis=0), rtol=1e-7, atol=1e-12)
        np.testing.assert_allclose(std, np.std(b, axis=1), rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_one_pass_var_is_accurate_with_a_large_mean(dtype):
    rng = np.random.default_rng(9)
    a = (1e8 + rng.standard_normal((500, 70))).astype(dtype)
    exact = a.astype("float64")
    x = T.TensorType(dtype, (False, False))("x")
    tol = 1e-9 if dtype == "float64" else 1e-5
    for axis in (0, 1, None):
        for ddof in (0, 1):
            f = theano.function([x], [x.var(axis=axis, ddof=ddof), x.std(axis=axis, keepdims=True)])
            assert [n.op.kind for n in reduce_nodes(f)] == ["m2", "m2"] or \
                [n.op.kind for n in reduce_nodes(f)] == ["m2"]
            var, std = f(a)
            assert var.dtype == dtype and std.dtype == dtype
            np.testing.assert_allclose(var, np.var(exact, axis=axis, ddof=ddof), rtol=tol)
            np.testing.assert_allclose(std, np.std(exact, axis=axis, keepdims=True), rtol=tol)


def test_one_pass_var_fuses_producers_and_reads_x_once():
    x = T.dmatrix("x")
    f = theano.function([x], T.var(T.exp(x) * 2 + 1, axis=0))
    (node,) = reduce_nodes(f)
    assert node.op.kind == "m2" and [v.name for v in node.inputs] == ["x"]
    assert not any(isinstance(n.op, FusedElemwise) and n.outputs[0].ndim == 2 for n in f.nodes)
    a = np.random.default_rng(1).standard_normal((80, 30))
    np.testing.assert_allclose(f(a), np.var(np.exp(a) * 2 + 1, axis=0), rtol=1e-12)


def test_var_one_pass_rewrite_can_be_excluded_by_name():
    x = T.dmatrix("x")
    a = np.random.default_rng(2).standard_normal((40, 30)) + 5
    on = theano.function([x], x.var(axis=1, ddof=1))
    off = theano.function([x], x.var(axis=1, ddof=1),
                          mode=theano.Mode().excluding("var_one_pass"))
    assert [n.op.kind for n in reduce_nodes(on)] == ["m2"]
    assert sorted(n.op.kind for n in reduce_nodes(off)) == ["sum", "sum"]
    np.testing.assert_allclose(on(a), off(a), rtol=1e-12)
    np.testing.assert_allclose(on(a), np.var(a, axis=1, ddof=1), rtol=1e-12)


def test_var_of_ints_empty_axes_and_its_gradient():
    i = T.imatrix("i")
    a = np.arange(12, dtype="int32").reshape(3, 4) ** 2
    got = theano.function([i], i.var(axis=0))(a)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, a.var(axis=0), rtol=1e-12)
    x = T.dmatrix("x")
    f = theano.function([x], [x.var(axis=0), x.var(axis=1, ddof=1)])
    v0, v1 = f(np.zeros((0, 3)))
    assert v0.shape == (3,) and np.isnan(v0).all() and v1.shape == (0,)
    b = np.random.default_rng(3).uniform(0.5, 2.0, size=(3, 4))
    cost = (T.var(x, axis=0) * np.arange(1.0, 5.0)).sum()
    g = theano.function([x], T.grad(cost, x))(b)
    fc = theano.function([x], cost)
    np.testing.assert_allclose(g, numeric_grad(lambda v: float(fc(v)), b), rtol=1e-6, atol=1e-8)


def test_reducing_only_broadcast_dims_and_var_at_extremes():
    v = T.dvector("v")
    f = theano.function([v], [v[None, :].sum(axis=0), v[None, :].var(axis=0),
                              v[None, :].argmax(axis=0)])
    for a in (np.zeros(0), np.arange(3.0)):
        got = f(a)
        np.testing.assert_array_equal(got[0], a)
        np.testing.assert_array_equal(got[1], np.zeros_like(a))
        np.testing.assert_array_equal(got[2], np.zeros(a.shape, "int64"))
    # the one-pass sums overflow (or meet inf/NaN): results follow the two-pass reference
    x = T.dmatrix("x")
    g = theano.function([x], [x.var(axis=0), x.var(axis=1), x.var()])
    a = np.array([[1e154, -1e154, 3.0], [np.inf, 1.0, 2.0], [np.nan, 0.0, 1.0]]).T
    with np.errstate(all="ignore"):
        for got, axis in zip(g(a), (0, 1, None)):
            np.testing.assert_array_equal(got, np.var(a, axis=axis))


def test_float_prod_keeps_order_for_overflow_and_nan():
    """inf * 0 must give NaN where NumPy's sequential product does (no reassociation)."""
    x = T.dvector("x")
    f = theano.function([x], x.prod())
    for values in ([1e300, 1e300, 0.0, 2.0], [0.0, 1e300, 1e300, 2.0], [1e200] * 3 + [1e-300] * 5):
        a = np.array(values)
        with np.errstate(all="ignore"):
            np.testing.assert_array_equal(f(a), np.prod(a))


@pytest.mark.parametrize("mode", ["FAST_RUN", "FAST_COMPILE"])
@pytest.mark.parametrize("reduce_", [T.sum, T.prod, T.max, T.min])
def test_keepdims_reduction_of_a_broadcastable_input_used_again_outside_it(reduce_, mode):
    # `a` (size 1) is read inside the reduction over x and outside it with y: it
    # says nothing of the row's length, so the row kernel must not join them.
    a = T.TensorType("float64", (True,))("a")
    x, y = T.dvector("x"), T.dvector("y")
    f = theano.function([a, x, y], reduce_(a * x, keepdims=True) * a + y, mode=mode)
    av, xv, yv = np.array([2.0]), np.array([1.0, 3.0]), np.array([1.0, -1.0, 0.5])
    ref = {T.sum: np.sum, T.prod: np.prod, T.max: np.max, T.min: np.min}[reduce_]
    np.testing.assert_allclose(f(av, xv, yv), ref(av * xv, keepdims=True) * av + yv)
