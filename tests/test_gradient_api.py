"""theano.gradient's API as Theano 1.0 documents it: grad's options and errors,
Rop / Lop, verify_grad, the gradient-steering ops, NullType / DisconnectedType, and
the gradient names. Values are checked against NumPy and finite differences."""
import warnings

import numpy as np
import pytest

from helpers import numeric_grad as central_diff
import tjit as theano
import tjit.tensor as T
from tjit import gradient
from tjit.gradient import DisconnectedInputError, NullTypeGradError
from tjit.graph import Apply, Op
from tjit.ifelse import ifelse


def _kinds(f):
    return [type(n.op).__name__ for n in f.nodes]


# -- zero_grad, disconnected_grad, consider_constant, grad_clip, grad_scale ---------------
@pytest.mark.parametrize("mode", ["FAST_RUN", "FAST_COMPILE"])
def test_identity_ops_are_removed_from_compiled_functions(mode):
    x = T.dmatrix("x")
    y = (x * gradient.zero_grad(x) + gradient.disconnected_grad(x)
         + gradient.grad_clip(x, -1, 1) * gradient.grad_scale(x, 2.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = y + gradient.consider_constant(x)
    f = theano.function([x], y, mode=mode)
    assert not {"ZeroGrad", "DisconnectedGrad", "GradClip", "GradScale",
                "ConsiderConstant"} & set(_kinds(f))
    if mode == "FAST_RUN":
        assert len(f.nodes) == 1            # one fused kernel, nothing left around it
    a = np.arange(6.0).reshape(2, 3) - 2
    np.testing.assert_allclose(f(a), a * a + a + a * a + a)
    # without rewrites the ops run themselves (identity in value)
    g = theano.function([x], y, mode=theano.Mode(optimizer=None))
    np.testing.assert_allclose(g(a), a * a + a + a * a + a)


def test_zero_and_disconnected_grad_values_as_theano():
    x = T.dmatrix("x")
    a = np.random.default_rng(0).standard_normal((3, 4))
    cases = [(x * gradient.zero_grad(x), a), (x * gradient.zero_grad(T.exp(x)), np.exp(a)),
             (x ** 2 * gradient.zero_grad(x), 2 * a ** 2),
             (x * gradient.disconnected_grad(x), a),
             (x * gradient.disconnected_grad(T.exp(x)), np.exp(a)),
             (x ** 2 * gradient.disconnected_grad(x), 2 * a ** 2)]
    grads = [T.grad(expr.sum(), x) for expr, _ in cases]
    # zero_grad keeps x connected (zero gradient); disconnected_grad cuts it
    grads.append(T.grad(gradient.zero_grad(x).sum(), x))
    f = theano.function([x], grads)
    got = f(a)
    for g, (_, want) in zip(got, cases):
        np.testing.assert_allclose(g, want, rtol=1e-12)
    np.testing.assert_array_equal(got[-1], np.zeros_like(a))
    with pytest.raises(DisconnectedInputError):
        T.grad(gradient.disconnected_grad(x).sum(), x)
    b = T.dmatrix("b")
    with pytest.raises(DisconnectedInputError):
        T.grad((x + gradient.disconnected_grad(b)).sum(), b)
    T.grad((x + gradient.disconnected_grad(x)).sum(), x)       # connected: no error
    y = gradient.disconnected_grad(x)
    assert y.owner.op.connection_pattern(y.owner) == [[False]]


def test_consider_constant_function_warns_and_zeros_the_gradient():
    x = T.dvector("x")
    with pytest.warns(UserWarning, match="deprecated"):
        c = gradient.consider_constant(T.exp(x))
    f = theano.function([x], T.grad((x * c).sum(), x))
    v = np.array([0.5, -1.0])
    np.testing.assert_allclose(f(v), np.exp(v))


def test_grad_clip_and_grad_scale():
    x = T.dscalar("x")
    z = T.grad(gradient.grad_clip(x, -1, 1) ** 2, x)
    z2 = T.grad(x ** 2, x)
    fx = T.sin(x)
    rev = T.grad(gradient.grad_scale(fx, -1.0), x)
    f = theano.function([x], [z, z2, rev])
    assert "GradClip" not in _kinds(f)
    out = f(2.0)
    np.testing.assert_allclose(out[:2], [1.0, 4.0])        # Theano's documented example
    assert out[2] == pytest.approx(-np.cos(2.0))
    assert f(0.25)[0] == pytest.approx(0.5)                 # inside the bounds: unchanged
    with pytest.raises(ValueError, match="upper bound"):
        gradient.grad_clip(x, 1, -1)


# -- grad's arguments ---------------------------------------------------------------------
def test_return_disconnected_and_return_kinds():
    x, z = T.dvector("x"), T.dvector("z")
    cost = (x ** 2).sum()
    gx, gz = T.grad(cost, (x, z), disconnected_inputs="ignore")      # a tuple in, a tuple out
    assert isinstance(T.grad(cost, (x, z), disconnected_inputs="ignore"), tuple)
    assert isinstance(T.grad(cost, [x]), list)
    f = theano.function([x, z], [gx, gz])
    got_x, got_z = f(np.array([1.0, 2.0]), np.array([5.0, 6.0, 7.0]))
    np.testing.assert_allclose(got_x, [2.0, 4.0])
    np.testing.assert_array_equal(got_z, np.zeros(3))
    none = T.grad(cost, [x, z], disconnected_inputs="ignore", return_disconnected="None")
    assert none[1] is None
    disc = T.grad(cost, [x, z], disconnected_inputs="ignore", return_disconnected="Disconnected")
    assert isinstance(disc[1].type, gradient.DisconnectedType)
    with pytest.raises(DisconnectedInputError):      # raise wins over return_disconnected
        T.grad(cost, [x, z], return_disconnected="None")
    with pytest.raises(ValueError, match="return_disconnected"):
        T.grad(cost, x, return_disconnected="nothing")
    with pytest.raises(TypeError, match="set"):
        T.grad(cost, {x})
    with pytest.raises(AssertionError):
        T.grad(None, x)
    with pytest.raises(TypeError, match="consider_constant"):
        T.grad(cost, x, consider_constant=x.sum())
    with pytest.raises(TypeError, match="wrt"):
        T.grad(cost, np.ones(2))


def test_known_grads_as_theano():
    """Theano's test_known_grads: seeding any cut through the graph with the true
    gradients reproduces the gradients of the inputs."""
    full_range = T.arange(10)
    x, t = T.dscalar("x"), T.iscalar("t")
    ft = full_range[t]
    coeffs = T.dvector("c")
    ct = coeffs[t]
    p = x ** ft
    y = ct * p
    cost = T.sqr(y)
    inputs = [coeffs, t, x]
    values = [np.linspace(-1, 1, 10), np.int32(3), np.float64(0.7)]
    true = theano.function(inputs, T.grad(cost, inputs, disconnected_inputs="ignore"))(*values)
    want_c = np.zeros(10)
    want_c[3] = 2 * values[0][3] * 0.7 ** 6
    np.testing.assert_allclose(true[0], want_c, rtol=1e-12)
    assert true[2] == pytest.approx(6 * values[0][3] ** 2 * 0.7 ** 5)
    for layer in ([cost], [y], [ct, p], [ct, x, ft], [coeffs, t, full_range, x]):
        first = T.grad(cost, layer, disconnected_inputs="ignore")
        full = T.grad(None, inputs, known_grads=dict(zip(layer, first)),
                      disconnected_inputs="ignore")
        for a, b in zip(true, theano.function(inputs, full)(*values)):
            np.testing.assert_allclose(a, b, rtol=1e-12)


def test_integer_variables_as_theano():
    # d x / d x is 1 for an integer x (Theano's test_dxdx)
    i = T.iscalar("i")
    assert T.grad(i, i).eval({i: 12}) == 1.0
    # a known gradient on an integer is returned as given (test_known_grads_integers)
    g = T.dscalar("g")
    assert theano.function([g], T.grad(None, i, known_grads={i: g}))(0.6) == 0.6
    # the gradient with respect to an integer matrix through dot is the float one
    W, b = T.dmatrix("W"), T.dvector("b")

    def grad_fn(X):
        return theano.function([X, W, b], T.grad(T.nnet.sigmoid(T.dot(X, W) + b).sum(), X))
    rng = np.random.RandomState([2012, 9, 5])
    Xv = (rng.randn(5, 3) * 127).astype("int32")
    Wv, bv = rng.randn(3, 4), rng.randn(4)
    np.testing.assert_allclose(grad_fn(T.imatrix("X"))(Xv, Wv, bv),
                               grad_fn(T.dmatrix("X"))(Xv.astype("float64"), Wv, bv))
    # integer-valued outputs are piecewise constant: zero gradient, but connected
    x = T.dvector("x")
    n_pos = T.cast(x > 0, "float64").sum()
    gx = T.grad(n_pos, x)
    np.testing.assert_array_equal(theano.function([x], gx)(np.array([1.0, -1.0])), [0, 0])
    # an undefined or disconnected known gradient on an integer cost
    a, c = T.iscalars("a", "c")
    with pytest.raises(NullTypeGradError):
        T.grad(a + c, [a, c], known_grads={a + c: gradient.NullType()()})
    s = a + c
    with pytest.raises(DisconnectedInputError):
        T.grad(s, [a, c], known_grads={s: gradient.disconnected_type()})
    with pytest.raises(TypeError, match="continuous"):
        T.grad(None, x, known_grads={x: T.ivector()})
    with pytest.raises(TypeError, match="symbolic"):
        T.grad(None, x, known_grads={x: np.ones(2)})


def test_float32_gradients_stay_float32_and_constants_as_theano():
    x = T.fscalar("x")
    y = x * 2
    z = T.lscalar("z")
    c = y + z
    dx, dy, dz, dc = T.grad(c, [x, y, z, c])
    assert dx.dtype == "float32"
    assert {dy.dtype, dz.dtype, dc.dtype} <= {"float32", "float64"}
    # consider_constant on x equals the gradient with respect to a constant
    u, v = T.dscalars("u", "v")
    one = T.as_tensor_variable(1.0)
    g_u = T.grad(u + v, u, consider_constant=[u])
    g_one = T.grad(one + v, one)
    assert theano.function([u, v], [g_u, g_one])(1.0, 0.5) == [1.0, 1.0]


def test_index_and_ifelse_condition_gradients_as_theano():
    """Integer indices (basic, advanced, matrix) are disconnected; an ifelse's
    condition is connected with a zero gradient."""
    x, m = T.dvector("x"), T.dmatrix("m")
    i, iv, im = T.lscalar("i"), T.lvector("iv"), T.lmatrix("im")
    for cost, idx in ((x[i], i), (x[iv].sum(), iv), (m[im].sum(), im), (m[iv, i].sum(), i)):
        with pytest.raises(DisconnectedInputError):
            T.grad(cost, idx)
    gm, gim = T.grad(m[im].sum(), [m, im], disconnected_inputs="ignore")
    f = theano.function([m, im], [gm, gim])
    got_m, got_im = f(np.zeros((3, 2)), np.array([[0, 2], [2, 2]]))
    np.testing.assert_array_equal(got_m, [[1, 1], [0, 0], [3, 3]])
    assert got_im.dtype == theano.config.floatX and not got_im.any()

    a, b = T.dscalars("a", "b")
    out = ifelse(T.lt(a, b), x * 2, x * 3)
    gx, ga, gb = T.grad(out.sum(), [x, a, b])        # no DisconnectedInputError for a, b
    g = theano.function([x, a, b], [gx, ga, gb])
    v = np.array([1.0, 2.0])
    for av, want in ((0.0, 2.0), (5.0, 3.0)):
        got_x, got_a, got_b = g(v, av, 1.0)
        np.testing.assert_allclose(got_x, [want, want])
        assert got_a == 0.0 and got_b == 0.0


# -- names --------------------------------------------------------------------------------
def test_gradient_names_as_theano():
    A, x = T.dmatrix("A"), T.dvector("x")
    f = T.dot(x, T.dot(A, x))
    f.name = "f"
    assert T.grad(f, x).name == "(df/dx)"
    assert T.grad(f, x, add_names=False).name is None
    unnamed_cost = T.dot(x, T.dot(A, x))
    assert T.grad(unnamed_cost, x).name is None           # Theano names only when both are
    # a shared term gets distinct variables, one per name
    a, b = T.dscalars("a", "b")
    s = a + b
    s.name = "s"
    ga, gb = T.grad(s, [a, b])
    assert (ga.name, gb.name) == ("(ds/da)", "(ds/db)") and ga is not gb
    assert theano.function([a, b], [ga, gb])(1.0, 2.0) == [1.0, 1.0]
    # intermediate variables' gradients are named too
    h = T.tanh(x)
    h.name = "h"
    cost = (h * 3).sum()
    cost.name = "cost"
    gx = T.grad(cost, x)
    assert gx.name == "(dcost/dx)"
    names = {v.name for v in theano.graph.ancestors([gx])}
    assert "(dcost/dh)" in names


# -- NullType gradients -------------------------------------------------------------------
class _NoGrad(Op):
    """Identity whose gradient is a NullType made by `maker`."""

    def __init__(self, maker):
        self.maker = maker

    def make_node(self, x):
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs):
        return [inputs[0]]

    def grad(self, inputs, output_grads):
        return [self.maker(self, 0, inputs[0])]


def test_null_gradients():
    a = T.dvector("a")
    for maker in (gradient.grad_not_implemented, gradient.grad_undefined):
        b = maker(T.add, 0, a)
        assert isinstance(b.type, gradient.NullType)
        with pytest.raises(TypeError):
            theano.function([a], b, on_unused_input="ignore")
        s = T.dscalar("s")
        out = _NoGrad(maker)(s) * 2
        with pytest.raises(NullTypeGradError, match="input 0"):
            T.grad(out, s)
        assert isinstance(NullTypeGradError("x"), TypeError)
        ret = T.grad(out, s, null_gradients="return")
        assert isinstance(ret.type, gradient.NullType)
        # an undefined gradient on a path that no wrt needs is no error
        y = T.dscalar("y")
        gy = T.grad(out + y * 3, y)
        assert theano.function([s, y], gy)(1.0, 2.0) == 3.0
    with pytest.raises(ValueError, match="NaN cost"):
        T.grad(gradient.grad_undefined(T.add, 0, a), a)


def test_op_grad_protocol_errors():
    class WrongCount(Op):
        def make_node(self, x, y):
            return Apply(self, [x, y], [x.type()])

        def grad(self, inputs, output_grads):
            return [output_grads[0]]

    x, y = T.dscalars("x", "y")
    with pytest.raises(ValueError, match="1 gradient terms for 2 inputs"):
        T.grad(WrongCount()(x, y), x)


# -- Lop and Rop --------------------------------------------------------------------------
def test_lop_and_rop_tutorial_examples():
    W, V = T.dmatrices("W", "V")
    x, v = T.dvectors("x", "v")
    y = T.dot(x, W)
    JV = T.Rop(y, W, V)
    VJ = T.Lop(y, W, v)
    gy = T.grad(T.sum(x ** 2), x)
    Hv = T.Rop(gy, x, v)
    f = theano.function([W, V, x, v], [JV, VJ, Hv], on_unused_input="ignore")
    jv, vj, hv = f([[1, 1], [1, 1]], [[2, 2], [2, 2]], [0, 1], [2, 2])
    np.testing.assert_allclose(jv, [2.0, 2.0])
    np.testing.assert_allclose(vj, [[0.0, 0.0], [2.0, 2.0]])
    np.testing.assert_allclose(hv, [4.0, 4.0])
    assert theano.gradient.Rop is T.Rop and theano.gradient.Lop is T.Lop


def test_rop_matches_finite_differences_for_lists():
    A, x, b = T.dmatrix("A"), T.dvector("x"), T.dvector("b")
    vA, vx = T.dmatrix("vA"), T.dvector("vx")
    h = T.tanh(T.dot(A, x) + b)
    out1 = T.nnet.softmax(h.dimshuffle("x", 0))[0] * T.exp(x[0])
    out2 = (h ** 2).sum()
    r = T.Rop([out1, out2], [A, x], [vA, vx])
    assert isinstance(r, list) and isinstance(T.Rop((out1,), x, vx), tuple)
    f = theano.function([A, x, b, vA, vx], r)
    rng = np.random.default_rng(4)
    Av, xv, bv = rng.standard_normal((3, 2)), rng.standard_normal(2), rng.standard_normal(3)
    dA, dx = rng.standard_normal((3, 2)), rng.standard_normal(2)

    def fwd(t):
        hv = np.tanh((Av + t * dA) @ (xv + t * dx) + bv)
        e = np.exp(hv - hv.max())
        return e / e.sum() * np.exp(xv[0] + t * dx[0]), (hv ** 2).sum()
    eps = 1e-6
    want = [(p - m) / (2 * eps) for p, m in zip(fwd(eps), fwd(-eps))]
    got = f(Av, xv, bv, dA, dx)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-9)
    # the R-operator of a wrt itself is its eval point; only the inputs are needed
    assert T.Rop(x, x, vx) is vx


def test_rop_errors_and_disconnected_outputs():
    x, v, z = T.dvector("x"), T.dvector("v"), T.dvector("z")
    with pytest.raises(ValueError, match="dimensionality"):
        T.Rop(x * 2, x, T.dmatrix())
    with pytest.raises(DisconnectedInputError, match="not part of"):
        T.Rop(z * 2, x, v)
    assert isinstance(DisconnectedInputError("m"), ValueError)   # Theano 0.9 raised ValueError
    assert T.Rop(z * 2, x, v, disconnected_outputs="ignore", return_disconnected="None") is None
    zero = T.Rop(z * 2, x, v, disconnected_outputs="ignore")
    np.testing.assert_array_equal(zero.eval({z: np.ones(3)}), np.zeros(3))
    with pytest.raises(ValueError):
        T.Rop(x * 2, [x, z], [v])


def test_rop_through_scan_ifelse_and_integer_outputs():
    x, v = T.dvectors("x", "v")
    a = T.dscalar("a")
    acc, _ = theano.scan(lambda xi, c: c * T.tanh(xi) + xi, sequences=x,
                         outputs_info=T.constant(1.0))
    branch = ifelse(a > 0, x ** 2, x * 3)
    steps = T.cast(x, "int32") * 2                 # integer-valued: piecewise constant
    f = theano.function([x, v, a], [T.Rop(acc, x, v), T.Rop(branch, x, v),
                                     T.Rop(steps, x, v)])
    xv, vv = np.array([0.1, 0.5, -0.3]), np.array([1.0, -2.0, 0.5])

    def scan_np(xs):
        c, out = 1.0, []
        for xi in xs:
            c = c * np.tanh(xi) + xi
            out.append(c)
        return np.array(out)
    eps = 1e-6
    r_acc, r_branch, r_steps = f(xv, vv, 1.0)
    np.testing.assert_allclose(r_acc, (scan_np(xv + eps * vv) - scan_np(xv - eps * vv))
                               / (2 * eps), rtol=1e-6)
    np.testing.assert_allclose(r_branch, 2 * xv * vv)
    np.testing.assert_allclose(f(xv, vv, -1.0)[1], 3 * vv)
    assert r_steps.dtype == theano.config.floatX and not r_steps.any()
    with pytest.raises(DisconnectedInputError):
        T.Rop(T.ivector() * 2, x, v)


def test_lop_lists_and_dependent_outputs():
    x, u1, u2 = T.dvector("x"), T.dvector("u1"), T.dvector("u2")
    y1 = T.sin(x)
    y2 = y1 * x          # depends on y1: the Lop sums both paths
    gx = gradient.Lop([y1, y2], x, [u1, u2])
    g = theano.function([x, u1, u2], gx)
    xv, a, b = np.array([0.3, -1.0]), np.array([1.0, 2.0]), np.array([0.5, -1.5])
    want = a * np.cos(xv) + b * (np.cos(xv) * xv + np.sin(xv))
    np.testing.assert_allclose(g(xv, a, b), want, rtol=1e-12)
    assert isinstance(gradient.Lop(y1, [x], u1), list)


def test_subgraph_grad_matches_grad():
    """Theano's test_subgraph_grad: backpropagating one layer at a time."""
    x, t = T.dvector("x"), T.dvector("t")
    rng = np.random.default_rng(5)
    w1 = theano.shared(rng.standard_normal((3, 4)))
    w2 = theano.shared(rng.standard_normal((4, 2)))
    a1 = T.tanh(T.dot(x, w1))
    a2 = T.tanh(T.dot(a1, w2))
    cost2 = T.sqr(a2 - t).sum() + T.sqr(w2.sum())
    cost1 = T.sqr(w1.sum())
    true = T.grad(cost2 + cost1, [w2, w1])
    next_grad, param_grads = None, []
    for params, cost, ends in (([w2], cost2, [a1]), ([w1], cost1, [x])):
        pg, ng = theano.subgraph_grad(wrt=params, end=ends, start=next_grad, cost=cost)
        next_grad = dict(zip(ends, ng))
        param_grads.extend(pg)
    f = theano.function([t, x], true + param_grads)
    out = f(rng.standard_normal(2), rng.standard_normal(3))
    for a, b in zip(out[:2], out[2:]):
        np.testing.assert_allclose(a, b, rtol=1e-12)


# -- verify_grad --------------------------------------------------------------------------
def test_verify_grad_passes_on_correct_gradients():
    rng = np.random.RandomState(42)
    gradient.verify_grad(T.tanh, (np.asarray([[2, 3, 4], [-1, 3.3, 9.9]]),), rng=rng)
    T.verify_grad(lambda a, b: T.dot(a, T.exp(b)).sum(axis=0),
                  [rng.randn(2, 3), rng.randn(3, 2) * 0.3], rng=rng, n_tests=1)
    gradient.verify_grad(lambda a: a ** 2, [rng.rand(3).astype("float32")], rng=rng,
                         mode="FAST_COMPILE")


def test_verify_grad_raises_gradient_error_on_a_wrong_gradient():
    rng = np.random.RandomState(0)

    def wrong(a):   # value tanh(a), gradient doubled
        return gradient.grad_scale(T.tanh(a), 2.0)
    with pytest.raises(gradient.verify_grad.E_grad) as info:
        gradient.verify_grad(wrong, [np.array([0.1, -0.4, 0.7])], rng=rng, n_tests=1)
    e = info.value
    assert isinstance(e, gradient.GradientError)
    assert e.arg == 0 and 0 <= e.err_pos < 3 and e.abs_tol == 1e-4
    assert e.abs_err > 0.1 and e.rel_err > 0.1
    assert "numeric gradient and analytic gradient exceed tolerance" in str(e)
    # loose enough tolerances accept it
    gradient.verify_grad(wrong, [np.array([0.1])], rng=rng, abs_tol=10, rel_tol=10)


def test_verify_grad_argument_errors():
    rng = np.random.RandomState(0)
    with pytest.raises(TypeError, match="rng"):
        gradient.verify_grad(T.tanh, [np.ones(2)])
    with pytest.raises(TypeError, match="floating point"):
        gradient.verify_grad(T.tanh, [np.ones(2, dtype="int32")], rng=rng)
    with pytest.raises(NotImplementedError, match="multiple outputs"):
        gradient.verify_grad(lambda a: [a, a], [np.ones(2)], rng=rng)


def test_numeric_grad_is_one_sided_in_the_inputs_precision():
    def f(a, b):
        return float((np.sin(a) * b).sum())
    av, bv = np.array([0.2, 1.0]), np.array([[3.0], [4.0]])
    ng = gradient.numeric_grad(f, [av, bv])
    np.testing.assert_allclose(ng.gf[0], central_diff(lambda a: f(a, bv), av), atol=1e-5)
    np.testing.assert_allclose(ng.gf[1], central_diff(lambda b: f(av, b), bv), atol=1e-5)
    single = gradient.numeric_grad(lambda a: float((a ** 2).sum()), np.array([1.0, 2.0]))
    np.testing.assert_allclose(single.gf, [2.0, 4.0], atol=1e-5)
    arg, pos, abs_err, rel_err = ng.max_err([ng.gf[0], ng.gf[1] + 1.0], 1e-4, 1e-4)
    assert arg == 1 and abs_err == pytest.approx(1.0)


def test_public_names_exist():
    for name in ("grad", "Rop", "Lop", "verify_grad", "numeric_grad", "jacobian", "hessian",
                 "zero_grad", "disconnected_grad", "grad_clip", "grad_scale",
                 "consider_constant", "grad_undefined", "grad_not_implemented",
                 "NullTypeGradError", "DisconnectedInputError", "DisconnectedType",
                 "NullType", "GradientError", "subgraph_grad"):
        assert hasattr(gradient, name), name
    for name in ("Rop", "Lop", "verify_grad", "numeric_grad", "jacobian", "hessian", "grad"):
        assert getattr(T, name) is getattr(gradient, name), name
    assert issubclass(DisconnectedInputError, ValueError)
    assert issubclass(NullTypeGradError, TypeError)
