"""Matrix products (issue 4): T.dot in every vector/matrix combination and higher
ranks, outer, tensordot, batched_dot, x.dot / @, T.nlinalg, the gemm rewrite and
the BLAS runtime, against NumPy; gradients against central finite differences;
errors for mismatched shapes and wrong ndims."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from helpers import numeric_grads as numeric_grad
import tjit as theano
import tjit.tensor as T
from tjit.runtime import blas as rblas
from tjit.tensor.blas import Dot, Gemm

RNG = np.random.default_rng(1234)


@pytest.fixture(autouse=True)
def blas_for_every_size(monkeypatch):
    """The test arrays are small: make even them take the direct BLAS path."""
    monkeypatch.setattr(rblas, "SMALL_WORK", 0)


def rand(shape, dtype="float64"):
    dt = np.dtype(dtype)
    if dt.kind in "iu":
        return RNG.integers(-5, 6, size=shape).astype(dt)
    if dt.kind == "c":
        return (RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)).astype(dt)
    return RNG.standard_normal(shape).astype(dt)


def tol(dtype):
    return dict(rtol=2e-5, atol=1e-4) if np.dtype(dtype) in (np.float32, np.complex64) \
        else dict(rtol=1e-12, atol=1e-12)


def sym(value, name):
    return T.TensorType(str(value.dtype), (False,) * value.ndim)(name)


def layouts(a):
    """`a` as C-contiguous, F-ordered, strided (every other element) and reversed."""
    out = {"C": a, "F": np.asfortranarray(a)}
    big = np.zeros(tuple(2 * n for n in a.shape), a.dtype)
    view = big[tuple(slice(None, None, 2) for _ in a.shape)]
    view[...] = a
    out["strided"] = view
    out["reversed"] = np.ascontiguousarray(a[tuple(slice(None, None, -1) for _ in a.shape)])[
        tuple(slice(None, None, -1) for _ in a.shape)]
    return out


SHAPES = {"vv": ((7,), (7,)), "mv": ((5, 7), (7,)), "vm": ((7,), (7, 4)),
          "mm": ((5, 7), (7, 4))}
DTYPES = [("float64", "float64"), ("float32", "float32"), ("int32", "int32"),
          ("complex128", "complex128"), ("int32", "float32"), ("float32", "float64")]


# -- values: every combination against np.dot -----------------------------------------
@pytest.mark.parametrize("kind", sorted(SHAPES))
@pytest.mark.parametrize("dtypes", DTYPES, ids=lambda d: "-".join(d))
def test_dot_combinations(kind, dtypes):
    sx, sy = SHAPES[kind]
    a, b = rand(sx, dtypes[0]), rand(sy, dtypes[1])
    x, y = sym(a, "x"), sym(b, "y")
    f = theano.function([x, y], T.dot(x, y))
    want = np.dot(a, b)
    for (la, va), (lb, vb) in itertools.product(layouts(a).items(), layouts(b).items()):
        got = f(va, vb)
        assert got.dtype == want.dtype, (la, lb)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, **tol(want.dtype), err_msg=f"{la} x {lb}")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_symbolic_transposes_and_methods(dtype):
    a, b, c = rand((6, 4), dtype), rand((6, 3), dtype), rand((4,), dtype)
    x, y, v = sym(a, "x"), sym(b, "y"), sym(c, "v")
    f = theano.function([x, y, v], [x.T.dot(y), T.dot(y.T, x), x @ v, v @ x.T, y.T.T.dot(y.T),
                                    x.__dot__(v), x.__rdot__(b.T)])
    want = [a.T @ b, b.T @ a, a @ c, c @ a.T, b @ b.T, a @ c, b.T @ a]
    for got, w in zip(f(a, b, c), want):
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_allclose(got, w, **tol(dtype))


@pytest.mark.parametrize("sx,sy", [((0, 3), (3, 4)), ((3, 0), (0, 4)), ((3, 4), (4, 0)),
                                   ((1, 1), (1, 1)), ((1, 5), (5, 1)), ((5, 1), (1, 5)),
                                   ((0,), (0,)), ((1,), (1,)), ((0, 3), (3,)), ((3, 0), (0,)),
                                   ((0,), (0, 2)), ((1,), (1, 3))])
@pytest.mark.parametrize("dtype", ["float64", "float32", "int64"])
def test_dot_empty_and_size_one(sx, sy, dtype):
    a, b = rand(sx, dtype), rand(sy, dtype)
    x, y = sym(a, "x"), sym(b, "y")
    got = theano.function([x, y], T.dot(x, y))(a, b)
    want = np.dot(a, b)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got, want, **tol(dtype))


def test_broadcastable_operands():
    r, c = T.drow("r"), T.dcol("c")
    out = T.dot(c, r)
    assert out.broadcastable == (False, False)
    assert T.dot(r, c).broadcastable == (True, True)
    a, b = rand((1, 4)), rand((4, 1))
    np.testing.assert_allclose(theano.function([r, c], T.dot(r, c))(a, b), a @ b)
    np.testing.assert_allclose(theano.function([r, c], T.dot(c, r))(a, b), b @ a)


@pytest.mark.parametrize("sx,sy", [((2, 3, 4), (4,)), ((2, 3, 4), (4, 5)), ((4,), (2, 4, 3)),
                                   ((3, 4), (2, 4, 5)), ((2, 3, 4), (5, 4, 6)), ((), (3, 2)),
                                   ((3,), ())])
def test_dot_higher_rank_and_scalars(sx, sy):
    a, b = rand(sx), rand(sy)
    x, y = sym(a, "x"), sym(b, "y")
    np.testing.assert_allclose(theano.function([x, y], T.dot(x, y))(a, b), np.dot(a, b),
                               rtol=1e-12)


def test_dtype_rules():
    assert T.dot(T.imatrix(), T.fmatrix()).dtype == "float64"  # Theano's upcast
    assert T.dot(T.fmatrix(), T.fvector()).dtype == "float32"
    assert T.dot(T.bmatrix(), T.bvector()).dtype == "int8"
    assert T.dot(T.zmatrix(), T.dvector()).dtype == "complex128"
    assert T.dot(T.dvector(), T.dvector()).ndim == 0
    a, b = rand((3, 4), "int8"), rand((4,), "int8")
    x, y = T.bmatrix("x"), T.bvector("y")
    got = theano.function([x, y], T.dot(x, y))(a, b)
    assert got.dtype == np.int8
    np.testing.assert_array_equal(got, np.dot(a, b))


def test_outer():
    a, b = rand((4,)), rand((2, 3), "float32")
    x, y = T.dvector("x"), T.fmatrix("y")
    out = T.outer(x, y)
    assert out.ndim == 2 and out.dtype == "float64"
    np.testing.assert_allclose(theano.function([x, y], out)(a, b), np.outer(a, b), rtol=1e-6)


@pytest.mark.parametrize("sa,sb,axes", [((2, 3, 4), (3, 4, 5), 2), ((2, 3, 4), (4, 5), 1),
                                        ((3, 4), (4, 3), 0), ((2, 3, 4), (4, 2, 6), [[0, 2], [1, 0]]),
                                        ((3, 4), (5, 3), [0, 1]), ((2, 3), (2, 3), [[1, 0], [1, 0]]),
                                        ((2, 3, 4), (3, 4, 2), [[-1, -2], [1, 0]]),
                                        ((0, 3), (3, 2), 1), ((2, 0), (0, 5), [[1], [0]])])
def test_tensordot(sa, sb, axes):
    a, b = rand(sa), rand(sb, "float32")
    x, y = sym(a, "a"), sym(b, "b")
    f = theano.function([x, y], T.tensordot(x, y, axes))
    want = np.tensordot(a, b.astype("float64"), axes)
    for va in layouts(a).values():
        got = f(va, b)
        assert got.dtype == np.float64 and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def _np_batched(a, b):
    if a.ndim == 1 or b.ndim == 1:
        ea = a.reshape(a.shape + (1,) * (b.ndim - a.ndim)) if a.ndim < b.ndim else a
        eb = b.reshape(b.shape + (1,) * (a.ndim - b.ndim)) if b.ndim < a.ndim else b
        return ea * eb
    return np.stack([np.dot(a[i], b[i]) for i in range(a.shape[0])]) if a.shape[0] else \
        np.zeros((0,) + np.dot(a[0:1].sum(0), b[0:1].sum(0)).shape)


@pytest.mark.parametrize("sa,sb", [((3, 4), (3, 4)), ((3, 2, 4), (3, 4)), ((3, 4), (3, 4, 5)),
                                   ((3, 2, 4), (3, 4, 5)), ((3,), (3, 4)), ((3, 4, 2), (3,)),
                                   ((2, 2, 3, 4), (2, 4, 5)), ((2, 3, 4), (2, 5, 4, 3)),
                                   ((1, 2, 3), (1, 3, 2))])
def test_batched_dot(sa, sb):
    a, b = rand(sa), rand(sb)
    x, y = sym(a, "a"), sym(b, "b")
    got = theano.function([x, y], T.batched_dot(x, y))(a, b)
    np.testing.assert_allclose(got, _np_batched(a, b), rtol=1e-12, atol=1e-12)


# -- nlinalg -----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float64", "float32", "int64"])
def test_matrix_inverse_and_det(dtype):
    a = (rand((4, 4)) + 4 * np.eye(4)).astype(dtype) if dtype != "int64" else \
        np.array([[2, 1], [1, 3]], "int64")
    x = sym(a, "x")
    inv, det = T.nlinalg.matrix_inverse(x), T.nlinalg.det(x)
    out_dtype = "float64" if dtype == "int64" else dtype
    assert inv.dtype == det.dtype == out_dtype and det.ndim == 0
    gi, gd = theano.function([x], [inv, det])(a)
    np.testing.assert_allclose(gi, np.linalg.inv(a), **tol(dtype))
    np.testing.assert_allclose(gd, np.linalg.det(a), **tol(dtype))


def test_nlinalg_errors():
    with pytest.raises(TypeError, match="matrix"):
        T.nlinalg.matrix_inverse(T.dvector("v"))
    with pytest.raises(TypeError, match="matrix"):
        T.nlinalg.det(T.dtensor3("t"))
    x = T.dmatrix("x")
    f = theano.function([x], T.nlinalg.det(x))
    with pytest.raises(ValueError, match=r"x of shape \(2, 3\) is not a square"):
        f(np.ones((2, 3)))
    g = theano.function([x], T.nlinalg.matrix_inverse(x))
    with pytest.raises(np.linalg.LinAlgError):
        g(np.ones((2, 2)))
    np.testing.assert_allclose(f(np.zeros((0, 0))), 1.0)


# -- errors --------------------------------------------------------------------------------
@pytest.mark.parametrize("sx,sy", [((3, 4), (5, 2)), ((3,), (4,)), ((3, 4), (3,)),
                                   ((4,), (3, 4))])
def test_dot_shape_mismatch_names_shapes(sx, sy):
    a, b = rand(sx), rand(sy)
    x, y = sym(a, "xx"), sym(b, "yy")
    for mode in ("FAST_RUN", "PY"):
        f = theano.function([x, y], T.dot(x, y), mode=mode)
        with pytest.raises(ValueError) as info:
            f(a, b)
        msg = str(info.value)
        assert f"xx of shape {sx}" in msg and f"yy of shape {sy}" in msg, msg


def test_other_shape_errors():
    a, b = T.dtensor3("a"), T.dmatrix("b")
    f = theano.function([a, b], T.tensordot(a, b, [[2], [0]]))
    with pytest.raises(ValueError, match=r"a of shape \(2, 3, 4\).*b of shape \(5, 6\)"):
        f(np.ones((2, 3, 4)), np.ones((5, 6)))
    c = T.dtensor3("c")
    g = theano.function([a, c], T.batched_dot(a, c))
    with pytest.raises(ValueError, match="batch sizes differ"):
        g(np.ones((2, 3, 4)), np.ones((3, 4, 3)))
    with pytest.raises(ValueError, match="not aligned"):
        g(np.ones((2, 3, 4)), np.ones((2, 3, 3)))
    x, y, z = T.dmatrices("x", "y", "z")
    h = theano.function([x, y, z], T.dot(x, y) + z)
    assert any(isinstance(n.op, Gemm) for n in h.nodes)
    with pytest.raises(ValueError, match=r"z of shape \(3, 3\)"):
        h(np.ones((2, 4)), np.ones((4, 3)), np.ones((3, 3)))


def test_wrong_ndims_raise_at_build_time():
    with pytest.raises(TypeError, match="t"):
        Dot()(T.dtensor3("t"), T.dmatrix("m"))
    with pytest.raises(TypeError, match="batch axis"):
        T.batched_dot(T.dscalar("s"), T.dmatrix("m"))
    with pytest.raises(TypeError, match="BatchedDot"):
        T.blas.BatchedDot()(T.dvector("v"), T.dmatrix("m"))
    with pytest.raises(TypeError, match="at least 3"):
        T.tensordot(T.dmatrix("m"), T.dtensor3("t"), 3)
    with pytest.raises(TypeError, match="out of range"):
        T.tensordot(T.dmatrix("m"), T.dmatrix("n"), [[2], [0]])
    with pytest.raises(ValueError, match="paired"):
        T.tensordot(T.dmatrix("m"), T.dmatrix("n"), [[0, 1], [0]])


# -- the gemm rewrite ------------------------------------------------------------------
def _ops(f):
    return [type(n.op).__name__ for n in f.nodes]


def test_gemm_rewrite_fires_and_matches():
    x, y, z = T.dmatrices("x", "y", "z")
    a, b = T.dscalars("a", "b")
    r = T.drow("r")
    A, B, Z, R = rand((5, 7)), rand((7, 3)), rand((5, 3)), rand((1, 3))
    cases = [
        (2 * T.dot(x, y) + 0.5 * z, 2 * A @ B + 0.5 * Z),
        (T.dot(x, y) + z, A @ B + Z),
        (z + T.dot(x, y), Z + A @ B),
        (z - T.dot(x, y), Z - A @ B),
        (T.dot(x, y) - z, A @ B - Z),
        (z * 3 - T.dot(x, y) * 2, Z * 3 - A @ B * 2),
        (a * T.dot(x, y) + b * z, 1.5 * A @ B - 0.25 * Z),
        (T.dot(x, y) * a - z, A @ B * 1.5 - Z),
        (-T.dot(x, y) + z, Z - A @ B),
        (T.dot(x, y) + r, A @ B + R),          # a bias row broadcasts into the product
        (T.dot(x, y) + 1, A @ B + 1),
        (T.dot(x.T.T, y) + T.dot(x, y).T.T, 2 * A @ B),
    ]
    Zc = Z.copy()
    for expr, want in cases:
        f = theano.function([x, y, z, a, b, r], expr, on_unused_input="ignore")
        assert "Gemm" in _ops(f) and _ops(f).count("Dot") <= 1, (expr, _ops(f))
        np.testing.assert_allclose(f(A, B, Z, 1.5, -0.25, R), want, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(Z, Zc)  # z is read, never written


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gemm_vector_forms_and_layouts(dtype):
    m, v, w = T.matrix("m", dtype=dtype), T.vector("v", dtype=dtype), T.vector("w", dtype=dtype)
    M, V, W = rand((6, 4), dtype), rand((4,), dtype), rand((6,), dtype)
    for excluding in ((), ("matvec",)):  # matrix-vector products: reductions, else gemv
        with theano.config.change_flags(optimizer_excluding=excluding):
            f = theano.function([m, v, w], 0.5 * T.dot(m, v) + w)
            g = theano.function([m, v, w], w - T.dot(v, m.T))
        kind = "Gemm" if excluding else "MatVec"
        assert kind in _ops(f) and kind in _ops(g), (_ops(f), _ops(g))
        for lm in layouts(M).values():
            np.testing.assert_allclose(f(lm, V, W), 0.5 * M @ V + W, **tol(dtype))
            np.testing.assert_allclose(g(lm, V, W), W - V @ M.T, **tol(dtype))
    x, z = T.matrix("x", dtype=dtype), T.matrix("z", dtype=dtype)
    h = theano.function([x, z], T.dot(x.T, x) * 2 + z)
    assert _ops(h) == ["DimShuffle", "Gemm"] or "Gemm" in _ops(h)
    X, Z = rand((5, 3), dtype), rand((3, 3), dtype)
    for lx, lz in itertools.product(layouts(X).values(), layouts(Z).values()):
        got = h(lx, lz)
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_allclose(got, X.T @ X * 2 + Z, **tol(dtype))


def test_gemm_rewrite_does_not_fire():
    x, y, z = T.dmatrices("x", "y", "z")
    r, c = T.drow("r"), T.dcol("c")
    A, B, Z = rand((4, 5)), rand((5, 3)), rand((4, 3))
    d = T.dot(x, y)
    f = theano.function([x, y, z], [d + z, d])  # the product is needed twice
    assert "Gemm" not in _ops(f)
    g = theano.function([r, y, z], T.dot(r, y) + z)  # the product would broadcast
    assert "Gemm" not in _ops(g)
    R = rand((1, 5))
    np.testing.assert_allclose(g(R, B, Z), R @ B + Z)
    zf = T.fmatrix("zf")
    h = theano.function([x, y, zf], T.dot(x, y) * 2.5 + zf)  # float64 product, float32 z
    assert "Gemm" in _ops(h)
    np.testing.assert_allclose(h(A, B, Z.astype("float32")), A @ B * 2.5 + Z.astype("float32"))
    i = theano.function([x, y, z], T.dot(x, y) + z, mode="FAST_COMPILE")
    assert "Gemm" not in _ops(i)
    p, q = T.imatrices("p", "q")
    k = theano.function([p, q], T.dot(p, q) + 1)  # BLAS has no integer gemm
    assert "Gemm" not in _ops(k)
    P = rand((2, 3), "int32")
    np.testing.assert_array_equal(k(P, P.T), P @ P.T + 1)
    j = theano.function([x, y, z], T.dot(x, y) + z, mode=theano.Mode().excluding("gemm"))
    assert "Gemm" not in _ops(j)
    np.testing.assert_allclose(j(A, B, Z), A @ B + Z)


def test_gemm_in_debug_mode_and_float32_promotion():
    x, y, z = T.fmatrices("x", "y", "z")
    X, Y, Z = rand((3, 4), "float32"), rand((4, 2), "float32"), rand((3, 2), "float32")
    f = theano.function([x, y, z], 0.5 * T.dot(x, y) + z, mode="DebugMode")
    got = f(X, Y, Z)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, 0.5 * X @ Y + Z, rtol=1e-5, atol=1e-6)
    # a float64 scale promotes the result: no float32 gemm may compute it
    g = theano.function([x, y, z], 0.1 * T.dot(x, y) + z)
    assert g(X, Y, Z).dtype == np.float64
    np.testing.assert_allclose(g(X, Y, Z), 0.1 * (X @ Y).astype("float64") + Z, rtol=1e-6)


# -- the BLAS runtime ----------------------------------------------------------------------
def test_blas_library_bound_and_fallback(monkeypatch):
    assert rblas.LIB is not None, "NumPy's OpenBLAS should be found"
    assert "cblas_dgemm" in rblas.describe()
    a, b = rand((5, 3)), rand((3, 4))
    blas_result = rblas.dot(a, b, "float64")
    monkeypatch.setattr(rblas, "LIB", None)
    assert "np.dot" in rblas.describe()
    np.testing.assert_allclose(rblas.dot(a, b, "float64"), blas_result, rtol=1e-12)
    np.testing.assert_allclose(rblas.gemm(np.ones((5, 4)), 2.0, a, b, 3.0, "float64"),
                               2 * a @ b + 3, rtol=1e-12)
    x, y = T.dmatrices("x", "y")
    r = T.drow("r")
    f = theano.function([x, y, r], T.dot(x, y) + r)
    assert "Gemm" in _ops(f)
    np.testing.assert_allclose(f(a, b, b[:1]), a @ b + b[:1], rtol=1e-12)


def test_gemm_zero_beta_keeps_nan_semantics():
    a, b = rand((3, 2)), rand((2, 4))
    z = np.full((3, 4), np.inf)
    with np.errstate(invalid="ignore"):
        got = rblas.gemm(z, 1.0, a, b, 0.0, "float64")
    assert np.isnan(got).all()  # as 0.0 * inf + a @ b


# -- gradients against central finite differences -----------------------------------------
def check_grad(build, values, rtol=1e-6, atol=1e-7):
    vars_ = [sym(v, f"i{k}") for k, v in enumerate(values)]
    out = build(*vars_)
    weights = rand(tuple(np.shape(out.eval({v: w for v, w in zip(vars_, values)}))))
    cost = (out * T.constant(weights)).sum() if out.ndim else out * 1.7
    f = theano.function(vars_, cost)
    g = theano.function(vars_, T.grad(cost, vars_))
    for got, want in zip(g(*values), numeric_grad(lambda *a: float(f(*a)), values)):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


@pytest.mark.parametrize("kind", sorted(SHAPES))
def test_grad_dot(kind):
    sx, sy = SHAPES[kind]
    check_grad(T.dot, [rand(sx), rand(sy)])


@pytest.mark.parametrize("build,shapes", [
    (lambda x, y, z: 2 * T.dot(x, y) - 0.5 * z, [(3, 4), (4, 2), (3, 2)]),
    (lambda x, y, z: T.dot(x, y) + z.sum(axis=0, keepdims=True), [(3, 4), (4, 2), (3, 2)]),
    (lambda x, y, z: z - T.dot(x, y), [(3, 4), (4,), (3,)]),
    (lambda x, y: T.outer(x, y), [(3,), (4,)]),
    (lambda x, y: T.tensordot(x, y, [[0, 2], [1, 0]]), [(2, 3, 4), (4, 2, 3)]),
    (lambda x, y: T.tensordot(x, y, 1), [(2, 3), (3, 4, 2)]),
    (lambda x, y: T.dot(x, y), [(2, 3, 4), (4, 2)]),
    (lambda x, y: T.batched_dot(x, y), [(3, 2, 4), (3, 4, 2)]),
    (lambda x, y: T.batched_dot(x, y), [(3, 4), (3, 4, 2)]),
    (lambda x, y: T.batched_dot(x, y), [(3, 2, 4), (3, 4)]),
    (lambda x, y: T.batched_dot(x, y), [(3, 4), (3, 4)]),
    (lambda x, y: T.batched_dot(x, y), [(2, 2, 3, 4), (2, 4, 3)]),
    (lambda x: T.nlinalg.matrix_inverse(x), [(3, 3)]),
    (lambda x: T.nlinalg.det(x), [(3, 3)]),
    (lambda x, y: T.nlinalg.det(T.dot(x, y)) + T.nlinalg.matrix_inverse(x.dot(y)).sum(),
     [(3, 4), (4, 3)]),
])
def test_grad_products(build, shapes):
    values = [rand(s) for s in shapes]
    if len(shapes) == 1:
        values[0] += 3 * np.eye(shapes[0][0])  # well conditioned
    check_grad(build, values, rtol=1e-5, atol=1e-6)


def test_grad_of_gemm_op_directly():
    from tjit.tensor.blas import gemm
    z, x, y = T.dmatrices("z", "x", "y")
    a, b = T.dscalars("a", "b")
    Z, X, Y = rand((3, 2)), rand((3, 4)), rand((4, 2))
    cost = (gemm(z, a, x, y, b) ** 2).sum()
    ref = ((b * z + a * T.dot(x, y)) ** 2).sum()
    f = theano.function([z, a, x, y, b], T.grad(cost, [z, a, x, y, b]) +
                        T.grad(ref, [z, a, x, y, b]), mode="PY")
    got = f(Z, 0.7, X, Y, -1.3)
    for g1, g2 in zip(got[:5], got[5:]):
        np.testing.assert_allclose(g1, g2, rtol=1e-12, atol=1e-12)


def test_blas_thunks_and_layouts_without_copies():
    x, y, z = T.dmatrices("x", "y", "z")
    f = theano.function([x, y, z], [T.dot(x, y), T.dot(x.T, z) * 2 + y.T.dot(x),
                                    T.tensordot(x, y, 1)])
    kinds = {type(n.op).__name__: type(t).__name__ for n, t in zip(f.nodes, f.thunks)}
    assert kinds["Dot"] == "DotThunk" and kinds["Gemm"] == "GemmThunk"
    assert kinds["TensorDot"] == "TensorDotThunk"
    a = rand((6, 5))
    for view, trans in ((a, rblas.NO_TRANS), (a.T, rblas.TRANS), (a[::2], rblas.NO_TRANS),
                        (a[::-1], None), (a[::2, ::2], None), (a[:, 1:4], rblas.NO_TRANS)):
        arr, t, ld = rblas._matrix(view)
        if trans is None:
            assert arr is not view and arr.flags.c_contiguous  # not BLAS-expressible: copied
        else:
            assert arr is view and t == trans and ld >= 1


@pytest.mark.parametrize("build,shapes", [
    (lambda x, y: T.dot(x, y), [(3, 4), (4, 2)]),
    (lambda x, y: T.dot(x.T, y), [(4, 3), (4,)]),
    (lambda x, y: 0.5 * T.dot(x, y) - T.dot(x, y.T.T), [(3, 4), (4, 2)]),
    (lambda x, y: T.tensordot(x, y, [[0, 1], [1, 2]]), [(2, 3, 4), (4, 2, 3)]),
    (lambda x, y: T.batched_dot(x, y), [(2, 3, 4), (2, 4, 5)]),
    (lambda x, y: T.nlinalg.det(T.dot(x, y)) * T.nlinalg.matrix_inverse(T.dot(x, y)),
     [(3, 4), (4, 3)]),
])
def test_debug_mode_agrees(build, shapes):
    values = [rand(s) for s in shapes]
    vars_ = [sym(v, f"i{k}") for k, v in enumerate(values)]
    out = build(*vars_)
    f = theano.function(vars_, out, mode="DebugMode")
    np.testing.assert_allclose(f(*values), theano.function(vars_, out, mode="PY")(*values),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", sorted(SHAPES))
def test_small_products_take_numpy_path(kind, monkeypatch):
    monkeypatch.setattr(rblas, "SMALL_WORK", 1 << 19)
    sx, sy = SHAPES[kind]
    a, b, c = rand(sx), rand(sy), rand(np.dot(rand(sx), rand(sy)).shape)
    x, y, z = sym(a, "x"), sym(b, "y"), sym(c, "z")
    outs = [T.dot(x, y)] + ([0.5 * T.dot(x, y) - z] if c.ndim else [])
    f = theano.function([x, y, z], outs, on_unused_input="ignore")
    want = [a.dot(b)] + ([0.5 * a.dot(b) - c] if c.ndim else [])
    for got, w in zip(f(a.T.copy().T, b, c), want):
        np.testing.assert_allclose(got, w, rtol=1e-12, atol=1e-12)


def test_output_buffers_are_not_reused_while_held():
    x, y, z = T.dmatrices("x", "y", "z")
    f = theano.function([x, y, z], [T.dot(x, y), T.dot(x, y.T) * 2 + z,
                                    T.tensordot(x, y, [[1], [1]])])
    a = rand((100, 100))
    first = f(a, a, a)
    kept = [r.copy() for r in first]
    for _ in range(3):
        again = f(a + 1, a, a)
        assert all(r is not s for r, s in zip(again, first))
    for r, k in zip(first, kept):
        np.testing.assert_array_equal(r, k)
    del first, again
    np.testing.assert_allclose(f(a, a, a)[0], a @ a, rtol=1e-12)
