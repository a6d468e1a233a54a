"""The matvec and shape_lift rewrites: products that read their matrix once become
fused reductions (values as NumPy's, in every memory layout, errors as Dot's);
shapes and fills come from the earliest variable having them."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from helpers import apply_layout
import tjit as theano
import tjit.tensor as T

LAYOUTS = ("contiguous", "strided", "reversed", "fortran")


def kinds(f):
    return [type(n.op).__name__ for n in f.nodes]


def laid_out(a, layout):
    """`a`'s shape in `layout` (strided: a view of a wider array)."""
    if layout == "strided" and a.ndim:
        a = np.repeat(a, 2, axis=-1)
    return apply_layout(a, layout, a.shape if layout != "strided" else a.shape[:-1] +
                        (a.shape[-1] // 2,))


FORMS = {  # name: (tjit builder, NumPy reference, shapes of (a, b) for sizes (n, m))
    "X.v": (lambda a, b: T.dot(a, b), lambda a, b: a @ b, lambda n, m: ((n, m), (m,))),
    "X.T.v": (lambda a, b: T.dot(a.T, b), lambda a, b: a.T @ b, lambda n, m: ((n, m), (n,))),
    "v.X": (lambda a, b: T.dot(b, a), lambda a, b: b @ a, lambda n, m: ((n, m), (n,))),
    "v.X.T": (lambda a, b: T.dot(b, a.T), lambda a, b: b @ a.T, lambda n, m: ((n, m), (m,))),
    "u.v": (lambda a, b: T.dot(a, b), lambda a, b: np.dot(a, b), lambda n, m: ((m,), (m,))),
    "outer": (lambda a, b: T.outer(a, b), lambda a, b: np.outer(a, b),
              lambda n, m: ((n,), (m,))),
}


@settings(max_examples=40, deadline=None)
@given(form=st.sampled_from(sorted(FORMS)), dtype=st.sampled_from(["float32", "float64"]),
       n=st.integers(0, 70), m=st.integers(0, 40),
       layouts=st.tuples(st.sampled_from(LAYOUTS), st.sampled_from(LAYOUTS)),
       seed=st.integers(0, 2**31))
def test_matrix_vector_products_become_reductions(form, dtype, n, m, layouts, seed):
    build, ref, shapes = FORMS[form]
    sa, sb = shapes(n, m)
    rng = np.random.default_rng(seed)
    a_val = rng.standard_normal(sa).astype(dtype)
    b_val = rng.standard_normal(sb).astype(dtype)
    a = T.TensorType(dtype, (False,) * len(sa))("a")
    b = T.TensorType(dtype, (False,) * len(sb))("b")
    f = theano.function([a, b], build(a, b))
    assert "Dot" not in kinds(f) and "Gemm" not in kinds(f), kinds(f)
    a_val, b_val = laid_out(a_val, layouts[0]), laid_out(b_val, layouts[1])
    got = f(a_val, b_val)
    want = ref(a_val.astype("float64"), b_val.astype("float64"))
    assert got.dtype == np.dtype(dtype) and got.shape == np.shape(want)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got, want, **tol)


def test_fused_with_elementwise_producers_and_consumers():
    """dot(exp(X), v) reads X once (exp is computed inside the reduction); the
    sigmoid of the product fuses into the kernels after it."""
    X, v = T.dmatrix("X"), T.dvector("v")
    out = T.nnet.sigmoid(T.dot(T.exp(X), v) + 1.0)
    f = theano.function([X, v], out)
    assert "Elemwise" not in kinds(f) and "Dot" not in kinds(f)
    reduce_nodes = [n for n in f.nodes if type(n.op).__name__ == "FusedReduce"]
    assert len(reduce_nodes) == 1 and reduce_nodes[0].inputs[0] is X
    rng = np.random.default_rng(0)
    Xv, vv = rng.standard_normal((300, 7)), rng.standard_normal(7)
    np.testing.assert_allclose(f(Xv, vv), 1 / (1 + np.exp(-(np.exp(Xv) @ vv + 1))), rtol=1e-12)


def test_matrix_matrix_products_stay_on_blas():
    x, y, z = T.dmatrices("x", "y", "z")
    f = theano.function([x, y, z], T.dot(x, y) + z)
    assert "Gemm" in kinds(f)
    g = theano.function([x, y], T.dot(x, y))
    assert "Dot" in kinds(g)
    i, j = T.imatrix("i"), T.ivector("j")   # integer products: not BLAS, not rewritten
    h = theano.function([i, j], T.dot(i, j))
    assert "Dot" in kinds(h)
    np.testing.assert_array_equal(h(np.ones((2, 3), "int32"), np.arange(3, dtype="int32")),
                                  [3, 3])


@pytest.mark.parametrize("form", ["X.v", "X.T.v", "v.X", "v.X.T", "u.v"])
def test_shape_errors_name_the_operands_as_dot_does(form):
    build, ref, shapes = FORMS[form]
    sa, sb = shapes(3, 4)
    a = T.TensorType("float64", (False,) * len(sa))("aa")
    b = T.TensorType("float64", (False,) * len(sb))("bb")
    f = theano.function([a, b], build(a, b))
    bad_b = np.ones(sb[0] + 2)
    with pytest.raises(ValueError, match=r"dot: shapes not aligned: .*aa.* of shape .*bb"
                       if form in ("X.v", "X.T.v", "u.v") else
                       r"dot: shapes not aligned: bb of shape .*aa"):
        f(np.ones(sa), bad_b)


def test_excluding_matvec_gives_blas_back():
    X, v, w = T.dmatrix("X"), T.dvector("v"), T.dvector("w")
    with theano.config.change_flags(optimizer_excluding=("matvec",)):
        f = theano.function([X, v, w], T.dot(X, v) + w)
    assert "Gemm" in kinds(f)
    np.testing.assert_allclose(f(np.ones((2, 3)), np.arange(3.0), np.ones(2)), [4.0, 4.0])


# -- shape_lift ----------------------------------------------------------------------
def test_mean_of_an_intermediate_takes_its_length_from_an_input():
    """mean(f(x, y)) divides by len(x): the intermediate f(x, y) is not stored for its
    shape, so the reduction is the only kernel reading x and y."""
    x, y = T.dvectors("x", "y")
    ce = y * T.nnet.softplus(-x) + (1 - y) * T.nnet.softplus(x)
    f = theano.function([x, y], ce.mean())
    shapes = [n for n in f.nodes if type(n.op).__name__ == "Shape"]
    assert all(n.inputs[0] in (x, y) for n in shapes), [str(n.inputs[0]) for n in shapes]
    assert kinds(f).count("FusedElemwise") <= 1 and "FusedReduce" in kinds(f)
    xv, yv = np.array([0.5, -2.0, 3.0]), np.array([1.0, 0.0, 1.0])
    want = np.mean(yv * np.logaddexp(0, -xv) + (1 - yv) * np.logaddexp(0, xv))
    assert float(f(xv, yv)) == pytest.approx(want, rel=1e-12)
    with pytest.raises(ValueError):   # mismatched lengths are still caught
        f(xv, yv[:2])


def test_gradient_fills_do_not_keep_intermediates_alive():
    """sum's gradient fills the shape of its (intermediate) input: the fill takes
    the shape from x, so the whole gradient is one elementwise kernel over x."""
    x = T.dvector("x")
    cost = T.tanh(T.exp(x) * 2).sum()
    f = theano.function([x], T.grad(cost, x))
    assert kinds(f) == ["FusedElemwise"], kinds(f)
    xv = np.array([0.1, -0.4, 1.0])
    e = np.exp(xv)
    np.testing.assert_allclose(f(xv), (1 - np.tanh(2 * e) ** 2) * 2 * e, rtol=1e-12)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_lifted_shapes_with_layouts_and_broadcasting(layout):
    x, r = T.dmatrix("x"), T.drow("r")
    inter = T.exp(x) + r                  # r broadcasts: x gives the shape
    out = inter.mean(axis=0) + T.zeros_like(inter).sum()
    f = theano.function([x, r], out)
    xv = np.arange(12.0).reshape(3, 4) / 10
    rv = np.arange(4.0).reshape(1, 4)
    xv = laid_out(xv, layout)   # (reversed: the values in reverse order)
    np.testing.assert_allclose(f(xv, rv), (np.exp(xv) + rv).mean(axis=0), rtol=1e-12)
    for a, b in itertools.product([(3, 4)], [(1, 5)]):
        with pytest.raises(ValueError):
            f(np.ones(a), np.ones(b))


# -- row-major products: the four-rows-at-a-time kernel -----------------------------
@pytest.mark.parametrize("n", [0, 1, 3, 4, 5, 7, 8, 9, 33, 20001])
def test_row_products_every_row_count_and_layout(n):
    from tjit.ir.lower_matvec import MatVecLaunch
    from tjit.ops import MatVec
    x, v = T.dmatrix("x"), T.dvector("v")
    f = theano.function([x, v], T.dot(x, v))
    products = [(n, t) for n, t in zip(f.nodes, f.thunks) if isinstance(n.op, MatVec)]
    assert len(products) == 1 and not products[0][0].op.transposed, kinds(f)
    assert isinstance(products[0][1].launch, MatVecLaunch)   # four rows at a time
    rng = np.random.default_rng(n)
    for m in (0, 1, 5, 100):
        X, w = rng.standard_normal((n, m)), rng.standard_normal(m)
        for layout in LAYOUTS:
            Xl = laid_out(X, layout)
            np.testing.assert_allclose(f(Xl, w), Xl @ w, rtol=1e-12, atol=1e-12)


def test_row_products_do_not_depend_on_the_thread_count():
    x, v = T.dmatrix("x"), T.dvector("v")
    rng = np.random.default_rng(5)
    X, w = rng.standard_normal((40001, 37)), rng.standard_normal(37)
    results = []
    for threads in (1, 2, 3):
        with theano.config.change_flags(threads=threads):
            f = theano.function([x, v], T.dot(x, v))
            results.append(f(X, w))
    assert all(np.array_equal(results[0], r) for r in results[1:])
    np.testing.assert_allclose(results[0], X @ w, rtol=1e-12, atol=1e-12)


def test_reductions_of_a_product_vector_read_it_where_it_is_stored():
    """g = sigmoid(z) - y feeds X.T.g (so it is stored) and sum(g): the sum reads
    the stored g instead of recomputing the sigmoid inside the reduction."""
    X, z, y = T.dmatrix("X"), T.dvector("z"), T.dvector("y")
    g = T.nnet.sigmoid(z) - y
    f = theano.function([X, z, y], [T.dot(X.T, g), g.sum(), g.max()])
    for node in f.nodes:
        if type(node.op).__name__ == "FusedReduce" and node.outputs[0].ndim == 0:
            assert len(node.op.program) == 0
            assert type(node.inputs[0].owner.op).__name__ == "DotShapes"
    rng = np.random.default_rng(2)
    Xv, zv, yv = rng.standard_normal((50, 4)), rng.standard_normal(50), rng.random(50)
    gv = 1 / (1 + np.exp(-zv)) - yv
    got = f(Xv, zv, yv)
    np.testing.assert_allclose(got[0], Xv.T @ gv, rtol=1e-12)
    assert float(got[1]) == pytest.approx(gv.sum(), rel=1e-12)
    assert float(got[2]) == gv.max()
