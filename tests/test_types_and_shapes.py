"""Types, constructors, constants, dtype rules, build-time errors, shape ops,
basic indexing, set/inc_subtensor, complex dtypes and floatX, against NumPy."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tjit as theano
import tjit.tensor as T

PREFIXES = {"": "float64", "b": "int8", "w": "int16", "i": "int32", "l": "int64",
            "f": "float32", "d": "float64", "c": "complex64", "z": "complex128"}
KINDS = {"scalar": (), "vector": (False,), "row": (True, False), "col": (False, True),
         "matrix": (False, False), "tensor3": (False,) * 3, "tensor4": (False,) * 4,
         "tensor5": (False,) * 5, "tensor6": (False,) * 6, "tensor7": (False,) * 7}
PLURALS = {"scalar": "scalars", "vector": "vectors", "row": "rows", "col": "cols",
           "matrix": "matrices", "tensor5": "tensor5s", "tensor7": "tensor7s"}


# ---- constructors ----------------------------------------------------------------------
@pytest.mark.parametrize("prefix", list(PREFIXES))
@pytest.mark.parametrize("kind", list(KINDS))
def test_constructor(prefix, kind):
    v = getattr(T, prefix + kind)("v")
    assert v.dtype == PREFIXES[prefix]
    assert v.broadcastable == KINDS[kind]
    assert v.ndim == len(KINDS[kind])
    assert v.name == "v"
    assert getattr(T, prefix + kind)().name is None


@pytest.mark.parametrize("prefix", list(PREFIXES))
@pytest.mark.parametrize("kind", list(PLURALS))
def test_plural_constructors(prefix, kind):
    make = getattr(T, prefix + PLURALS[kind])
    a, b = make(2)
    assert a is not b
    for v in (a, b):
        assert v.dtype == PREFIXES[prefix] and v.broadcastable == KINDS[kind]
    c, d, e = make("c", "d", "e")
    assert [v.name for v in (c, d, e)] == ["c", "d", "e"]
    assert all(v.dtype == PREFIXES[prefix] for v in (c, d, e))


def test_plural_example_from_spec():
    a, b = T.dvectors(2)
    f = theano.function([a, b], a * b)
    np.testing.assert_array_equal(f([1, 2], [3, 4]), [3.0, 8.0])
    x, y = T.dvectors("x", "y")
    assert (x.name, y.name) == ("x", "y")


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", "uint8", "float32",
                                   "float64", "complex64", "complex128", "bool"])
def test_tensor_type_call(dtype):
    bc = (False, True, False)
    v = T.TensorType(dtype, bc)("t")
    assert v.dtype == dtype and v.broadcastable == bc and v.name == "t"
    assert T.TensorType(dtype, bc) == T.TensorType(dtype, bc)
    assert T.TensorType(dtype, bc) != T.TensorType(dtype, (False, False, False))
    f = theano.function([v], v * 1 if dtype != "bool" else ~v)
    val = np.ones((2, 1, 3), dtype=dtype)
    np.testing.assert_array_equal(f(val), val * 1 if dtype != "bool" else ~val)


def test_as_tensor_variable():
    x = T.dvector("x")
    assert T.as_tensor_variable(x) is x
    c = T.as_tensor_variable(np.arange(6, dtype="int16").reshape(2, 3), name="c")
    assert c.dtype == "int16" and c.broadcastable == (False, False) and c.name == "c"
    np.testing.assert_array_equal(c.eval(), np.arange(6).reshape(2, 3))
    r = T.as_tensor_variable([[1.5, 2.5, 3.5]])
    assert r.broadcastable == (True, False) and r.dtype == "float64"
    s = T.as_tensor_variable(3, ndim=2)
    assert s.ndim == 2 and s.broadcastable == (True, True)
    with pytest.raises((ValueError, TypeError)):
        T.as_tensor_variable(T.dmatrix(), ndim=1)
    stacked = T.as_tensor_variable([x[0], x[1], 2.0])
    assert stacked.ndim == 1
    np.testing.assert_array_equal(stacked.eval({x: np.array([5.0, 6.0])}), [5.0, 6.0, 2.0])
    with pytest.raises(TypeError):
        T.as_tensor_variable("a string")


# ---- constants and autocasting ----------------------------------------------------------
@pytest.mark.parametrize("value, dtype", [
    (0, "int8"), (127, "int8"), (-128, "int8"), (128, "int16"), (-129, "int16"),
    (32767, "int16"), (32768, "int32"), (2 ** 31 - 1, "int32"), (2 ** 31, "int64"),
    (-2 ** 63, "int64"), (1.5, "float32"), (0.5, "float32"), (0.1, "float64"),
    (1e10, "float32"), (1e39, "float64"), (3.4e38, "float64"), (float("inf"), "float32"),
    (float("nan"), "float64"), (1 / 3, "float64"), (-0.0, "float32"), (True, "bool"),
])
def test_constant_autocasting(value, dtype):
    """Theano: a Python int becomes the smallest of int8..int64 holding it; a float
    becomes float32 if float32 holds it exactly, else float64 (floatX=float64)."""
    c = T.constant(value)
    assert c.dtype == dtype, (value, c.dtype)
    assert c.broadcastable == ()
    got = c.eval()
    np.testing.assert_array_equal(got, np.asarray(value, dtype=dtype))


def test_constant_printing_and_ndarray_constants():
    c = T.constant(np.array([[1, 2], [3, 4]], dtype="int32"))
    assert c.dtype == "int32" and c.broadcastable == (False, False)
    assert "TensorConstant" in str(T.constant(2.5))
    assert T.constant(1, dtype="float32").dtype == "float32"


# ---- dtype upcasting --------------------------------------------------------------------
UPCAST = [
    ("int32", "float32", "add", "float64"), ("int8", "float32", "add", "float32"),
    ("int16", "float32", "mul", "float32"), ("int64", "float32", "sub", "float64"),
    ("int8", "int16", "add", "int16"), ("int32", "int64", "mul", "int64"),
    ("float32", "float64", "add", "float64"), ("float32", "complex64", "add", "complex64"),
    ("float64", "complex64", "mul", "complex128"), ("int8", "int8", "true_div", "float64"),
    ("int32", "int64", "true_div", "float64"), ("int8", "float32", "true_div", "float32"),
    ("int32", "float32", "true_div", "float64"), ("int8", "int8", "int_div", "int8"),
    ("int8", "int32", "lt", "bool"), ("float32", "float64", "eq", "bool"),
    ("int16", "int8", "and", "int16"), ("int32", "int32", "pow", "int32"),
    ("float32", "int8", "pow", "float32"), ("bool", "bool", "and", "bool"),
]
OPF = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
       "true_div": lambda a, b: a / b, "int_div": lambda a, b: a // b,
       "lt": lambda a, b: a < b, "eq": T.eq, "and": lambda a, b: a & b,
       "pow": lambda a, b: a ** b}


@pytest.mark.parametrize("da, db, op, want", UPCAST)
def test_upcast_table(da, db, op, want):
    a, b = T.vector("a", dtype=da), T.vector("b", dtype=db)
    out = OPF[op](a, b)
    assert out.dtype == want
    f = theano.function([a, b], out)
    va = np.array([1, 2, 3], dtype=da)
    vb = np.array([2, 1, 3], dtype=db)
    got = f(va, vb)
    assert got.dtype == want
    ref = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "true_div": np.true_divide,
           "int_div": np.floor_divide, "lt": np.less, "eq": np.equal, "and": np.bitwise_and,
           "pow": np.power}[op]
    np.testing.assert_allclose(got, ref(va.astype(want) if want not in ("bool",) else va,
                                        vb.astype(want) if want not in ("bool",) else vb)
                               .astype(want), rtol=1e-6)


@pytest.mark.parametrize("dtype, want", [("int8", "float32"), ("int16", "float32"),
                                         ("int32", "float64"), ("int64", "float64"),
                                         ("float32", "float32"), ("float64", "float64"),
                                         ("uint8", "float32"), ("bool", "float32")])
def test_float_functions_of_ints(dtype, want):
    x = T.vector("x", dtype=dtype)
    for fn in (T.exp, T.sqrt, T.sin, T.log1p, T.tanh, T.nnet.sigmoid):
        assert fn(x).dtype == want
    f = theano.function([x], T.exp(x))
    v = np.array([0, 1, 1], dtype=dtype)
    got = f(v)
    assert got.dtype == want
    np.testing.assert_allclose(got, np.exp(v.astype(want)), rtol=1e-6)


def test_comparisons_are_bool_and_mixed_python_scalars():
    x = T.bvector("x")
    assert (x < 3).dtype == "bool"
    assert (x + 3).dtype == "int8"        # 3 autocasts to int8
    assert (x + 300).dtype == "int16"     # 300 needs int16
    assert (x * 1.5).dtype == "float32"   # 1.5 is float32; int8 * float32 -> float32
    assert (x * 0.1).dtype == "float64"   # 0.1 is float64
    assert (T.ivector() * 1.5).dtype == "float64"   # int32 * float32 -> float64
    v = np.array([1, 2, 100], "int8")
    np.testing.assert_array_equal(theano.function([x], x + 300)(v), v.astype("int16") + 300)


# ---- build-time type errors ---------------------------------------------------------------
def test_build_time_type_errors():
    x, m = T.dvector("x"), T.dmatrix("m")
    with pytest.raises(ValueError):
        x.dimshuffle(0, 1)                   # axis 1 does not exist
    with pytest.raises(ValueError):
        m.dimshuffle(0)                      # dropping a non-broadcastable axis
    with pytest.raises(TypeError):
        x & x                                # bitwise op on floats
    with pytest.raises(TypeError):
        ~x
    with pytest.raises(TypeError):
        T.arange(0, 10, T.dvector())         # step must be a scalar
    with pytest.raises(TypeError):
        m[1.5]                               # float index
    with pytest.raises(TypeError):
        m[T.dscalar()]                       # float symbolic index
    with pytest.raises(TypeError):
        m[T.iscalar():T.dscalar()]           # float slice bound
    with pytest.raises(TypeError):
        m.reshape((2, T.dscalar()))          # float in a shape
    with pytest.raises(TypeError):
        T.zeros((2, 1.5))
    with pytest.raises(TypeError):
        T.erf(T.zvector())                   # erf of complex
    with pytest.raises(TypeError):
        T.cast(T.zvector(), "float64")       # complex -> real is ambiguous
    with pytest.raises(IndexError):
        m[0, 0, 0]                           # too many indices
    with pytest.raises(TypeError):
        T.TensorType("str", ())


def test_non_broadcastable_dims_differing_raise_at_run_time_naming_inputs():
    a, b = T.dvector("a"), T.dvector("b")
    f = theano.function([a, b], a + b)
    with pytest.raises(ValueError):
        f(np.zeros(2), np.zeros(3))


# ---- dimshuffle, transpose, reshape ---------------------------------------------------------
def test_dimshuffle_and_transpose():
    t = T.dtensor3("t")
    v = np.arange(24.0).reshape(2, 3, 4)
    cases = [((2, 0, 1), v.transpose(2, 0, 1)), (("x", 0, 1, 2), v[None]),
             ((0, "x", 2, 1), v.transpose(0, 2, 1)[:, None]), ((2, 1, 0), v.T)]
    outs = [t.dimshuffle(*p) for p, _ in cases] + [t.T, t.transpose(1, 0, 2)]
    assert outs[1].broadcastable == (True, False, False, False)
    f = theano.function([t], outs)
    got = f(v)
    for g, (_, w) in zip(got, cases):
        np.testing.assert_array_equal(g, w)
    np.testing.assert_array_equal(got[4], v.T)
    np.testing.assert_array_equal(got[5], v.transpose(1, 0, 2))
    r = T.drow("r")
    assert r.dimshuffle(1).broadcastable == (False,)
    np.testing.assert_array_equal(r.dimshuffle(1).eval({r: np.array([[1.0, 2.0]])}), [1, 2])


def test_reshape_variants():
    x = T.dmatrix("x")
    n = T.lscalar("n")
    v = np.arange(12.0).reshape(3, 4)
    outs = [x.reshape((4, 3)), x.reshape((-1,)), x.reshape((2, -1)),
            x.reshape((x.shape[0], -1)), x.reshape((x.shape[1], x.shape[0])),
            x.reshape((n, -1)), x.reshape((1, 12)), x.flatten()]
    assert outs[3].ndim == 2 and outs[1].ndim == 1
    assert outs[6].broadcastable == (True, False)
    f = theano.function([x, n], outs)
    got = f(v, 6)
    wants = [v.reshape(4, 3), v.reshape(-1), v.reshape(2, -1), v.reshape(3, -1), v.reshape(4, 3),
             v.reshape(6, -1), v.reshape(1, 12), v.flatten()]
    for g, w in zip(got, wants):
        assert g.shape == w.shape
        np.testing.assert_array_equal(g, w)
    with pytest.raises(ValueError):
        f(v, 5)
    np.testing.assert_array_equal(T.arange(9).reshape((3, 3)).eval(), np.arange(9).reshape(3, 3))


# ---- arange, zeros, ones, eye, alloc, *_like, fill ------------------------------------------
def test_arange_variants():
    assert T.arange(5).dtype == "int64"
    assert T.arange(T.bscalar()).dtype == "int64"
    assert T.arange(2.5).dtype == "float32"            # 2.5 autocasts to float32
    assert T.arange(0.1).dtype == "float64"
    np.testing.assert_array_equal(T.arange(5).eval(), np.arange(5))
    np.testing.assert_array_equal(T.arange(2, 9).eval(), np.arange(2, 9))
    np.testing.assert_array_equal(T.arange(10, 1, -3).eval(), np.arange(10, 1, -3))
    np.testing.assert_array_equal(T.arange(5, 0).eval(), np.arange(5, 0))
    np.testing.assert_allclose(T.arange(0, 1, 0.25).eval(), np.arange(0, 1, 0.25))
    np.testing.assert_array_equal(T.arange(4, dtype="float32").eval(),
                                  np.arange(4, dtype="float32"))
    n = T.lscalar("n")
    f = theano.function([n], T.arange(n) * 2)
    np.testing.assert_array_equal(f(4), np.arange(4) * 2)
    assert f(0).shape == (0,)


def test_alloc_family():
    x = T.dmatrix("x")
    v = np.arange(6.0).reshape(2, 3)
    outs = [T.zeros_like(x), T.ones_like(x), T.identity_like(x), T.fill(x, 7.0),
            T.zeros_like(x, dtype="int32")]
    f = theano.function([x], outs)
    got = f(v)
    np.testing.assert_array_equal(got[0], np.zeros_like(v))
    np.testing.assert_array_equal(got[1], np.ones_like(v))
    np.testing.assert_array_equal(got[2], np.eye(2, 3))
    np.testing.assert_array_equal(got[3], np.full_like(v, 7.0))
    assert got[4].dtype == np.int32 and got[4].shape == (2, 3)
    assert T.zeros((2, 3)).eval().dtype == np.float64
    np.testing.assert_array_equal(T.zeros((2, 3)).eval(), np.zeros((2, 3)))
    np.testing.assert_array_equal(T.ones(4, dtype="int8").eval(), np.ones(4, "int8"))
    np.testing.assert_array_equal(T.eye(3).eval(), np.eye(3))
    np.testing.assert_array_equal(T.eye(2, 4, 1).eval(), np.eye(2, 4, 1))
    np.testing.assert_array_equal(T.alloc(2.0, 2, 3).eval(), np.full((2, 3), 2.0))
    n = T.lscalar("n")
    a = theano.function([n], T.alloc(T.constant(np.array([1.0, 2.0])), n, 2))
    np.testing.assert_array_equal(a(3), np.tile([1.0, 2.0], (3, 1)))


def test_switch_and_cast():
    c, a, b = T.bvector("c"), T.dvector("a"), T.fvector("b")
    out = T.switch(c, a, b)
    assert out.dtype == "float64"
    cv = np.array([0, 1, -3, 0], "int8")
    av = np.arange(4.0)
    bv = -np.arange(4, dtype="float32")
    np.testing.assert_array_equal(theano.function([c, a, b], out)(cv, av, bv),
                                  np.where(cv != 0, av, bv))
    k = T.dscalar("k")
    s = T.switch(k > 0, a, 0)   # a scalar condition broadcasts
    np.testing.assert_array_equal(s.eval({k: 1.0, a: av}), av)
    np.testing.assert_array_equal(s.eval({k: -1.0, a: av}), np.zeros(4))
    for dt in ["int8", "int32", "float32", "bool", "complex128"]:
        assert T.cast(a, dt).dtype == dt
        np.testing.assert_array_equal(T.cast(a, dt).eval({a: av}), av.astype(dt))
    assert T.cast(a, "float64") is a
    assert T.cast(a, "floatX").dtype == "float64"
    assert a.astype("int16").dtype == "int16"


# ---- basic indexing ---------------------------------------------------------------------------
def test_basic_slicing_against_numpy():
    x = T.dtensor3("x")
    v = np.arange(60.0).reshape(3, 4, 5)
    keys = [(0,), (-1,), (slice(1, None),), (slice(None, None, 2),), (slice(None, None, -1),),
            (slice(3, 0, -2),), (1, slice(None), 2), (None,), (slice(None), None, 1),
            (Ellipsis, 1), (1, Ellipsis), (slice(-2, None), slice(None, -1), slice(1, 4, 2)),
            (slice(10, 20),), (slice(None, None, -3), -1, slice(None, None, -1))]
    outs = [x[k] for k in keys]
    f = theano.function([x], outs)
    for k, g in zip(keys, f(v)):
        w = v[k]
        assert g.shape == w.shape, k
        np.testing.assert_array_equal(g, w)
    assert x[None].broadcastable == (True, False, False, False)


def test_symbolic_indices_and_shape():
    x = T.dmatrix("x")
    i, j, k = T.lscalars("i", "j", "k")
    outs = [x[i], x[:, j], x[i:j], x[i:j:k], x[::k], x[x.shape[0] - 1], x.shape[1],
            x[i, j], x[-i]]
    f = theano.function([x, i, j, k], outs)
    v = np.arange(20.0).reshape(4, 5)
    for iv, jv, kv in [(1, 3, 1), (0, 4, 2), (3, 1, -1), (2, 2, -2)]:
        got = f(v, iv, jv, kv)
        wants = [v[iv], v[:, jv], v[iv:jv], v[iv:jv:kv], v[::kv], v[v.shape[0] - 1], 5,
                 v[iv, jv], v[-iv]]
        for g, w in zip(got, wants):
            np.testing.assert_array_equal(g, w)
    assert T.shape(x).dtype == "int64"
    np.testing.assert_array_equal(T.shape(x).eval({x: v}), [4, 5])


def test_out_of_range_index_raises_index_error():
    x = T.dvector("x")
    i = T.lscalar("i")
    f = theano.function([x, i], x[i] * 2)
    assert f(np.arange(3.0), 2) == 4.0
    assert f(np.arange(3.0), -3) == 0.0
    with pytest.raises(IndexError):
        f(np.arange(3.0), 3)
    with pytest.raises(IndexError):
        f(np.arange(3.0), -4)
    g = theano.function([x], x[5])
    with pytest.raises(IndexError):
        g(np.arange(3.0))


@settings(max_examples=60, deadline=None)
@given(start=st.one_of(st.none(), st.integers(-7, 7)), stop=st.one_of(st.none(),
                                                                      st.integers(-7, 7)),
       step=st.one_of(st.none(), st.integers(-3, 3).filter(lambda s: s != 0)),
       n=st.integers(0, 6))
def test_symbolic_slices_hypothesis(start, stop, step, n):
    f = _slice_fn()
    v = np.arange(float(n))
    got = f(v, -99 if start is None else start, -99 if stop is None else stop,
            -99 if step is None else step, start is None, stop is None, step is None)
    np.testing.assert_array_equal(got, v[start:stop:step])


_SLICE = {}


def _slice_fn():
    """One compiled function per (has start, has stop, has step) pattern."""
    if "f" not in _SLICE:
        x = T.dvector("x")
        a, b, c = T.lscalars("a", "b", "c")
        fns = {}
        for ns in (False, True):
            for ne in (False, True):
                for nc in (False, True):
                    key = slice(None if ns else a, None if ne else b, None if nc else c)
                    fns[(ns, ne, nc)] = theano.function([x, a, b, c], x[key],
                                                        on_unused_input="ignore")

        def call(v, av, bv, cv, ns, ne, nc):
            return fns[(ns, ne, nc)](v, av, bv, cv)
        _SLICE["f"] = call
    return _SLICE["f"]


def test_set_and_inc_subtensor():
    x = T.dmatrix("x")
    y = T.dvector("y")
    i = T.lscalar("i")
    outs = [T.set_subtensor(x[1:, ::2], 5.0), T.inc_subtensor(x[:, 1], y),
            T.set_subtensor(x[i, 1:], y), T.inc_subtensor(x[::-1, -1], 1.0),
            T.inc_subtensor(x[i, 1:3], T.constant(np.array([10.0, 20.0])))]
    f = theano.function([x, y, i], outs)
    v = np.arange(12.0).reshape(3, 4)
    yv = np.array([1.0, 2.0, 3.0, 4.0])[:3]
    y4 = np.array([1.0, 2.0, 3.0, 4.0])
    got = f(v, yv, 2)
    w = [v.copy() for _ in range(5)]
    w[0][1:, ::2] = 5.0
    w[1][:, 1] += yv
    w[2][2, 1:] = yv
    w[3][::-1, -1] += 1.0
    w[4][2, 1:3] += [10.0, 20.0]
    for g, ww in zip(got, w):
        np.testing.assert_array_equal(g, ww)
    np.testing.assert_array_equal(v, np.arange(12.0).reshape(3, 4))  # input untouched
    g2 = theano.function([x, y, i], T.set_subtensor(x[i], y))(v, y4, 0)
    w2 = v.copy()
    w2[0] = y4
    np.testing.assert_array_equal(g2, w2)
    with pytest.raises(TypeError):
        T.set_subtensor(x, 1.0)               # not an indexed tensor
    with pytest.raises(TypeError):
        T.set_subtensor(T.imatrix()[0], T.dvector())  # float into int: loses precision


# ---- complex ------------------------------------------------------------------------------
@pytest.mark.parametrize("prefix", ["c", "z"])
def test_complex_arithmetic_and_functions(prefix):
    a, b = getattr(T, prefix + "vector")("a"), getattr(T, prefix + "vector")("b")
    dt = a.dtype
    real = {"complex64": "float32", "complex128": "float64"}[dt]
    outs = [a + b, a - b, a * b, a / b, T.exp(a), T.log(a), T.sqrt(a), T.abs_(a), -a,
            T.eq(a, b)]
    assert outs[7].dtype == real
    assert [o.dtype for o in outs[:7]] == [dt] * 7
    f = theano.function([a, b], outs)
    rng = np.random.default_rng(7)
    av = (rng.standard_normal(6) + 1j * rng.standard_normal(6)).astype(dt)
    bv = (rng.standard_normal(6) + 1j * rng.standard_normal(6)).astype(dt)
    bv[0] = av[0]
    wants = [av + bv, av - bv, av * bv, av / bv, np.exp(av), np.log(av), np.sqrt(av),
             np.abs(av), -av, av == bv]
    rtol = 1e-5 if dt == "complex64" else 1e-13
    for g, w in zip(f(av, bv), wants):
        assert g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=rtol)
    mixed = a * T.dvector("d")
    assert mixed.dtype == "complex128"


# ---- floatX -------------------------------------------------------------------------------
def test_floatx_float32():
    with theano.config.change_flags(floatX="float32"):
        v = T.vector("v")
        assert v.dtype == "float32"
        assert T.matrix().dtype == "float32" and T.scalar().dtype == "float32"
        assert T.constant(0.1).dtype == "float32"       # Python floats become floatX
        assert (v * 0.1).dtype == "float32"
        assert (T.ivector() / T.ivector()).dtype == "float32"   # int / int -> floatX
        assert T.zeros((2,)).dtype == "float32"
        assert (T.ivector() + v).dtype == "float64"     # Theano: int32 + float32 -> float64
        f = theano.function([v], v * 0.1)
        got = f(np.array([1.0, 2.0], "float32"))
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, np.array([1.0, 2.0], "float32") * np.float32(0.1))
    assert T.vector().dtype == "float64"
    assert (T.ivector() / T.ivector()).dtype == "float64"


def test_tensor5_graph_matches_numpy():
    x = T.dtensor5("x")
    f = theano.function([x], (x * 2).sum(axis=(1, 3)) * x.max(axis=(1, 3, 4))[:, :, None])
    a = np.random.default_rng(0).random((2, 3, 4, 5, 6))
    np.testing.assert_allclose(f(a), (a * 2).sum(axis=(1, 3)) * a.max(axis=(1, 3, 4))[:, :, None])
