"""scan: Theano's tutorial programs against NumPy loops, taps, until, shared
updates, strict, errors, nested scans and gradients (BPTT) vs finite differences."""
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from helpers import numeric_grad as _numeric
import tjit
import tjit.tensor as T
from tjit.scan_module import until

MODES = ["FAST_RUN", "PY"]


@pytest.mark.parametrize("mode", MODES)
def test_power_by_repeated_product(mode):
    k = T.iscalar("k")
    A = T.dvector("A")
    result, updates = tjit.scan(lambda prior, A: prior * A, outputs_info=T.ones_like(A),
                                non_sequences=A, n_steps=k)
    assert isinstance(updates, OrderedDict) and not updates
    power = tjit.function([A, k], result[-1], updates=updates, mode=mode)
    a = np.array([0.5, 1.0, 2.0, 3.0])
    for kv in (1, 2, 5):
        np.testing.assert_allclose(power(a, kv), a ** kv)
    full = tjit.function([A, k], result, mode=mode)(a, 3)
    np.testing.assert_allclose(full, np.stack([a ** (i + 1) for i in range(3)]))


@pytest.mark.parametrize("mode", MODES)
def test_polynomial_from_coefficients(mode):
    coefficients = T.dvector("coefficients")
    x = T.dscalar("x")
    components, _ = tjit.scan(lambda c, p, v: c * (v ** p), outputs_info=None,
                              sequences=[coefficients, T.arange(1000)], non_sequences=x)
    f = tjit.function([coefficients, x], components.sum(), mode=mode)
    coef = np.array([1.0, 0.0, 2.0, -1.5])
    assert f(coef, 3.0) == pytest.approx(sum(c * 3.0 ** i for i, c in enumerate(coef)))


@pytest.mark.parametrize("mode", MODES)
def test_fibonacci_with_two_taps(mode):
    init = T.as_tensor_variable(np.asarray([0, 1], dtype="int64"))
    n = T.lscalar("n")
    fib, _ = tjit.scan(lambda a, b: a + b, outputs_info=dict(initial=init, taps=[-2, -1]),
                       n_steps=n)
    f = tjit.function([n], fib, mode=mode)
    ref = [0, 1]
    for _ in range(12):
        ref.append(ref[-1] + ref[-2])
    np.testing.assert_array_equal(f(12), ref[2:])
    assert f(0).shape == (0,)


@pytest.mark.parametrize("mode", MODES)
def test_until_stops_early(mode):
    max_value = T.dscalar("max_value")
    values, _ = tjit.scan(lambda p, m: (p * 2, until(p * 2 > m)),
                          outputs_info=T.constant(1.0), non_sequences=max_value, n_steps=1024)
    f = tjit.function([max_value], values, mode=mode)
    np.testing.assert_array_equal(f(45.0), [2, 4, 8, 16, 32, 64])
    assert f(1e30).size == 100  # 2**100 > 1e30 > 2**99
    capped, _ = tjit.scan(lambda p, m: (p * 2, until(p * 2 > m)),
                          outputs_info=T.constant(1.0), non_sequences=max_value, n_steps=3)
    np.testing.assert_array_equal(tjit.function([max_value], capped, mode=mode)(45.0), [2, 4, 8])


def test_return_orders_accepted():
    x = T.dvector("x")
    s = tjit.shared(np.float64(0.0), name="s")
    forms = [
        lambda v: (v * 2, {s: s + v}),
        lambda v: ({s: s + v}, v * 2),
        lambda v: ([v * 2], [(s, s + v)]),
        lambda v: (v * 2, {s: s + v}, until(v > 100)),
        lambda v: (until(v > 100), {s: s + v}, [v * 2]),
        lambda v: [[v * 2], {s: s + v}],
    ]
    xv = np.arange(4.0)
    for form in forms:
        s.set_value(np.float64(0.0))
        out, upd = tjit.scan(form, sequences=x)
        f = tjit.function([x], out, updates=upd)
        np.testing.assert_allclose(f(xv), xv * 2)
        assert s.get_value() == xv.sum()


@pytest.mark.parametrize("mode", MODES)
def test_accumulator_updating_a_shared_variable(mode):
    acc = tjit.shared(np.float64(1.0), name="acc")
    xs = T.dvector("xs")
    # each step sees the previous step's value of acc
    out, upd = tjit.scan(lambda xi: (acc * xi, {acc: acc + xi}), sequences=xs)
    assert list(upd) == [acc]
    f = tjit.function([xs], out, updates=upd, mode=mode)
    xv = np.array([1.0, 2.0, 3.0])
    expected, a = [], 1.0
    for v in xv:
        expected.append(a * v)
        a += v
    np.testing.assert_allclose(f(xv), expected)
    assert acc.get_value() == a
    np.testing.assert_allclose(f(xv)[0], a * 1.0)


def test_only_updates_returns_none():
    counter = tjit.shared(np.int64(0), name="counter")
    out, upd = tjit.scan(lambda: {counter: counter + 1}, n_steps=5)
    assert out is None
    tjit.function([], [], updates=upd)()
    assert counter.get_value() == 5


def test_sequence_taps_and_go_backwards():
    x = T.dvector("x")
    xv = np.arange(7.0) ** 2
    o, _ = tjit.scan(lambda a, b, c: a + 10 * b + 100 * c,
                     sequences=dict(input=x, taps=[-1, 0, 1]))
    np.testing.assert_allclose(tjit.function([x], o)(xv),
                               [xv[t - 1] + 10 * xv[t] + 100 * xv[t + 1] for t in range(1, 6)])
    o, _ = tjit.scan(lambda a: a, sequences=x, go_backwards=True)
    np.testing.assert_allclose(tjit.function([x], o)(xv), xv[::-1])
    # all taps negative: Theano 1.0 pretends tap 0 is used
    o, _ = tjit.scan(lambda a, b: a - b, sequences=dict(input=x, taps=[-2, -1]))
    np.testing.assert_allclose(tjit.function([x], o)(xv),
                               [xv[t - 2] - xv[t - 1] for t in range(2, 7)])


def test_n_steps_with_sequences_and_errors():
    x = T.dvector("x")
    n = T.lscalar("n")
    o, _ = tjit.scan(lambda a: a * 3, sequences=x, n_steps=n)
    f = tjit.function([x, n], o)
    np.testing.assert_allclose(f(np.arange(5.0), 2), [0, 3])
    with pytest.raises(ValueError, match="shorter than the 6 steps"):
        f(np.arange(5.0), 6)
    with pytest.raises(IndexError, match="negative number of steps"):
        f(np.arange(5.0), -1)
    with pytest.raises(ValueError, match="n_steps must be an integer"):
        tjit.scan(lambda a: a, sequences=x, n_steps=T.dscalar())
    with pytest.raises(ValueError, match="number of steps"):
        tjit.scan(lambda: T.constant(1.0))


def test_strict_requires_non_sequences():
    x = T.dvector("x")
    w = T.dscalar("w")
    sh = tjit.shared(np.float64(2.0), name="sh")
    with pytest.raises(ValueError, match="strict.*w"):
        tjit.scan(lambda a: a * w, sequences=x, strict=True)
    with pytest.raises(ValueError, match="strict.*sh"):
        tjit.scan(lambda a: a * sh, sequences=x, strict=True)
    o, _ = tjit.scan(lambda a, w, sh: a * w + sh, sequences=x, non_sequences=[w, sh],
                     strict=True)
    np.testing.assert_allclose(tjit.function([x, w], o)(np.arange(3.0), 3.0), [2, 5, 8])
    # not strict: free variables and shared variables are found automatically
    o, _ = tjit.scan(lambda a: a * w + sh, sequences=x)
    np.testing.assert_allclose(tjit.function([x, w], o)(np.arange(3.0), 3.0), [2, 5, 8])


def test_shape_errors_name_the_scan_and_step():
    x = T.dvector("x")
    h0 = T.dvector("h0")
    o, _ = tjit.scan(lambda a, h: h[:2] + a, sequences=x, outputs_info=h0, name="shrink")
    with pytest.raises(ValueError, match="scan 'shrink', step 0: output 0 has shape"):
        tjit.function([x, h0], o)(np.arange(3.0), np.zeros(3))
    o, _ = tjit.scan(lambda a, h: h + T.ones((3,)) * a, sequences=x, outputs_info=h0,
                     name="mismatch")
    with pytest.raises(ValueError, match="scan 'mismatch', step 0"):
        tjit.function([x, h0], o)(np.arange(3.0), np.zeros(4))
    z = T.dvector("z")
    o, _ = tjit.scan(lambda a, z: z[:a.astype("int64")] * 1.0, sequences=x, non_sequences=z,
                     name="ragged")
    with pytest.raises(ValueError, match="scan 'ragged', step 1: output 0 has shape"):
        tjit.function([x, z], o)(np.arange(3.0), np.ones(5))


def test_type_errors():
    x = T.dvector("x")
    with pytest.raises(TypeError, match="output 0 of fn has type"):
        tjit.scan(lambda a, h: a + h, sequences=x, outputs_info=T.fscalar("h"))
    with pytest.raises(ValueError, match="outputs_info has 2"):
        tjit.scan(lambda a: a, sequences=x, outputs_info=[None, None])
    with pytest.raises(ValueError, match="taps must be negative"):
        tjit.scan(lambda a, h: a + h, sequences=x,
                  outputs_info=dict(initial=T.dvector(), taps=[0]))
    with pytest.raises(ValueError, match="cannot parse"):
        tjit.scan(lambda a: "nonsense", sequences=x)


def test_constant_initial_state_takes_the_output_dtype():
    x = T.dvector("x")
    s, _ = tjit.scan(lambda a, acc: acc + a, sequences=x, outputs_info=0)
    np.testing.assert_allclose(tjit.function([x], s)(np.arange(4.0)), np.cumsum(np.arange(4.0)))


def test_scan_inside_scan():
    M = T.dmatrix("M")

    def row_sum(row):
        s, _ = tjit.scan(lambda v, acc: acc + v, sequences=row, outputs_info=T.constant(0.0))
        return s[-1]

    sums, _ = tjit.scan(row_sum, sequences=M)
    m = np.arange(12.0).reshape(3, 4)
    np.testing.assert_allclose(tjit.function([M], sums)(m), m.sum(1))
    g = tjit.function([M], T.grad((sums ** 2).sum(), M))(m)
    np.testing.assert_allclose(g, 2 * m.sum(1)[:, None] * np.ones((3, 4)))


def test_map_reduce_foldl_foldr():
    from tjit.scan_module import foldl, foldr, map, reduce
    x = T.dvector("x")
    xv = np.array([1.0, 2.0, 4.0])
    sq, _ = map(lambda v: v ** 2, sequences=x)
    tot, _ = reduce(lambda v, acc: acc + v, sequences=x, outputs_info=T.constant(0.0))
    left, _ = foldl(lambda v, acc: acc * 2 + v, sequences=x, outputs_info=T.constant(0.0))
    right, _ = foldr(lambda v, acc: acc * 2 + v, sequences=x, outputs_info=T.constant(0.0))
    r = tjit.function([x], [sq, tot, left, right])(xv)
    np.testing.assert_allclose(r[0], xv ** 2)
    assert r[1] == 7.0 and r[2] == (1 * 2 + 2) * 2 + 4 and r[3] == (4 * 2 + 2) * 2 + 1


# -- gradients ------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_rnn_loss_gradient_vs_finite_differences(mode):
    W = T.dmatrix("W")
    X = T.dmatrix("X")
    h0 = T.dvector("h0")
    h, _ = tjit.scan(lambda x, h, W: T.tanh(T.dot(W, h) + x), sequences=X, outputs_info=h0,
                     non_sequences=W)
    cost = (h ** 2).sum() + h[-1].sum()
    grads = T.grad(cost, [W, X, h0])
    fg = tjit.function([W, X, h0], grads, mode=mode)
    fc = tjit.function([W, X, h0], cost, mode=mode)
    rng = np.random.default_rng(0)
    Wv, Xv, hv = rng.normal(size=(3, 3)) * 0.5, rng.normal(size=(6, 3)), rng.normal(size=3)
    gW, gX, gh = fg(Wv, Xv, hv)
    np.testing.assert_allclose(gW, _numeric(lambda w: fc(w, Xv, hv), Wv), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(gX, _numeric(lambda x: fc(Wv, x, hv), Xv), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(gh, _numeric(lambda v: fc(Wv, Xv, v), hv), rtol=1e-5, atol=1e-8)


def test_truncated_gradient():
    X = T.dvector("X")
    h0 = T.dscalar("h0")
    full, _ = tjit.scan(lambda x, h: h * 0.5 + x, sequences=X, outputs_info=h0)
    cut, _ = tjit.scan(lambda x, h: h * 0.5 + x, sequences=X, outputs_info=h0,
                       truncate_gradient=2)
    gf = tjit.function([X, h0], T.grad(full[-1], [X, h0]))(np.ones(5), 1.0)
    gc = tjit.function([X, h0], T.grad(cut[-1], [X, h0]))(np.ones(5), 1.0)
    np.testing.assert_allclose(gf[0], 0.5 ** np.arange(4, -1, -1))
    assert gf[1] == 0.5 ** 5
    np.testing.assert_allclose(gc[0], [0, 0, 0, 0.5, 1.0])
    assert gc[1] == 0.0


def test_gradient_through_taps_until_and_shared_state():
    x = T.dvector("x")
    init = T.dvector("init")
    fib, _ = tjit.scan(lambda a, b, s: a * s + b, sequences=x,
                       outputs_info=dict(initial=init, taps=[-2, -1]))
    cost = (fib ** 2).sum()
    g = tjit.function([x, init], T.grad(cost, [x, init]))
    fc = tjit.function([x, init], cost)
    xv, iv = np.array([0.3, -0.2, 0.9, 0.4]), np.array([0.5, -1.0])
    gx, gi = g(xv, iv)
    np.testing.assert_allclose(gx, _numeric(lambda v: fc(v, iv), xv), rtol=1e-6)
    np.testing.assert_allclose(gi, _numeric(lambda v: fc(xv, v), iv), rtol=1e-6)
    # until: only the steps run get gradients
    y0 = T.dscalar("y0")
    ys, _ = tjit.scan(lambda y: (y * 1.5, until(y * 1.5 > 10)), outputs_info=y0, n_steps=50)
    gy = tjit.function([y0], T.grad(ys.sum(), y0))(1.0)
    n = int(np.ceil(np.log(10) / np.log(1.5)))
    n = n if 1.5 ** n > 10 else n + 1
    assert gy == pytest.approx(sum(1.5 ** (i + 1) for i in range(n)))


# -- random inner graphs and taps vs a Python reference loop --------------------
UNARY = {"tanh": (T.tanh, np.tanh), "sin": (T.sin, np.sin), "half": (lambda v: v * 0.5,
                                                                     lambda v: v * 0.5)}


@settings(max_examples=20, deadline=None)
@given(seq_taps=st.lists(st.integers(-2, 2), min_size=1, max_size=3, unique=True),
       out_taps=st.lists(st.integers(-3, -1), min_size=1, max_size=2, unique=True),
       op=st.sampled_from(sorted(UNARY)), n_extra=st.integers(0, 2),
       backwards=st.booleans(), seed=st.integers(0, 1000))
def test_random_taps_against_python_loop(seq_taps, out_taps, op, n_extra, backwards, seed):
    rng = np.random.default_rng(seed)
    length = 8 + n_extra
    xv = rng.normal(size=(length, 2))
    lag = -min(out_taps)
    iv = rng.normal(size=(lag + 1, 2))
    wv = rng.normal(size=2)
    sym, ref = UNARY[op]
    x, init, w = T.dmatrix("x"), T.dmatrix("init"), T.dvector("w")

    def step(*args):
        seq_vals, rest = args[:len(seq_taps)], args[len(seq_taps):]
        out_vals, wt = rest[:len(out_taps)], rest[-1]
        total = sum((k + 1) * v for k, v in enumerate(seq_vals))
        total = total + sum(0.3 * (k + 1) * sym(v) for k, v in enumerate(out_vals))
        return total * wt

    out, _ = tjit.scan(step, sequences=dict(input=x, taps=seq_taps),
                       # taps == [-1]: the initial state has the shape of one step (Theano)
                       outputs_info=dict(initial=init if out_taps != [-1] else init[0],
                                         taps=out_taps), non_sequences=w,
                       go_backwards=backwards)
    got = tjit.function([x, init, w], out)(xv, iv, wv)
    # reference loop (Theano 1.0 slicing rules)
    hi, lo = max(max(seq_taps), 0), min(min(seq_taps), 0)
    n = length - (hi - lo)
    slices = []
    for k in seq_taps:
        s = xv[k - lo:length - (hi - k)]
        slices.append(s[::-1] if backwards else s)
    hist = list(iv[:lag])
    for t in range(n):
        total = sum((j + 1) * s[t] for j, s in enumerate(slices))
        total = total + sum(0.3 * (j + 1) * ref(hist[lag + t + k])
                            for j, k in enumerate(out_taps))
        hist.append(total * wv)
    np.testing.assert_allclose(got, np.array(hist[lag:]), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", ["DebugMode", "FAST_COMPILE", "PY", "FAST_RUN"])
def test_modes_agree_and_outputs_are_arrays(mode):
    from tjit.ifelse import ifelse
    x = T.dvector("x")
    s, _ = tjit.scan(lambda a, acc: acc + a, sequences=x, outputs_info=np.float64(0))
    f = tjit.function([x], [s, s[-1], ifelse(T.gt(x.sum(), 0), s[-1], x[0])], mode=mode)
    xv = np.array([0.5, 1.0, 2.0])
    r = f(xv)
    assert all(type(v) is np.ndarray for v in r)
    np.testing.assert_allclose(r[0], np.cumsum(xv))
    assert r[1] == r[2] == 3.5


def test_jacobian_and_hessian_by_scan():
    x = T.dvector("x")
    y = x ** 2 + T.sin(x)
    J, _ = tjit.scan(lambda i, y, x: T.grad(y[i], x), sequences=T.arange(y.shape[0]),
                     non_sequences=[y, x])
    g = T.grad((x ** 3).sum() + x[0] * x[1], x)
    H, _ = tjit.scan(lambda i, g, x: T.grad(g[i], x), sequences=T.arange(g.shape[0]),
                     non_sequences=[g, x])
    f = tjit.function([x], [J, H])
    xv = np.array([0.5, 1.0, 2.0])
    jv, hv = f(xv)
    np.testing.assert_allclose(jv, np.diag(2 * xv + np.cos(xv)))
    expected = np.diag(6 * xv)
    expected[0, 1] = expected[1, 0] = 1.0
    np.testing.assert_allclose(hv, expected)


@pytest.mark.parametrize("mode", MODES)
def test_random_streams_advance_at_every_step(mode):
    """A random variable used by fn draws anew at each step: its state's default
    update becomes loop state and a returned update (as Theano)."""
    from tjit.tensor.shared_randomstreams import RandomStreams
    rng = RandomStreams(42)
    u = rng.uniform((3,))
    x = T.dvector("x")
    out, upd = tjit.scan(lambda a: a + u, sequences=x)
    assert len(upd) == 1
    f = tjit.function([x], out, updates=upd, mode=mode)
    rng.seed(7)
    plain = tjit.function([], u, mode=mode)
    draws = [plain() for _ in range(5)]
    rng.seed(7)
    np.testing.assert_allclose(f(np.zeros(4)), draws[:4])
    np.testing.assert_allclose(f(np.ones(1)), [draws[4] + 1])


@pytest.mark.parametrize("mode", MODES)
def test_zero_steps_give_empty_outputs_of_the_right_shape(mode):
    x, W, h0 = T.dmatrix("x"), T.dmatrix("W"), T.dvector("h0")
    (hs, ys), _ = tjit.scan(lambda r, h, W: [h + r.sum(), T.dot(W, r)], sequences=x,
                            outputs_info=[h0, None], non_sequences=W)
    f = tjit.function([x, h0, W], [hs, ys], mode=mode)
    got = f(np.zeros((0, 3)), np.ones(2), np.ones((5, 3)))
    assert got[0].shape == (0, 2) and got[1].shape == (0, 5)
    got = f(np.ones((2, 3)), np.ones(2), np.ones((5, 3)))
    np.testing.assert_allclose(got[0], [[4, 4], [7, 7]])
    np.testing.assert_allclose(got[1], np.full((2, 5), 3.0))


def test_bad_updates_from_fn_raise_naming_the_scan():
    acc = tjit.shared(np.float64(0.0), name="acc")
    x = T.dvector("x")
    with pytest.raises(TypeError, match=r"scan 'myloop': update of shared variable acc has type "
                                         r".*int8.*expected .*float64"):
        tjit.scan(lambda v: {acc: T.cast(v, "int8")}, sequences=x, name="myloop")
    with pytest.raises(TypeError, match="scan 'myloop': update target .* is not a shared variable"):
        tjit.scan(lambda v: {T.dscalar("s"): v}, sequences=x, name="myloop")


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(fn=3, sequences=[]), TypeError, "fn must be callable"),
    (dict(sequences=[dict(taps=[0])]), ValueError, "sequences\\[0\\] is a dict without 'input'"),
    (dict(sequences=[T.dscalar("s")]), ValueError, "sequence 0 .* is a scalar"),
    (dict(n_steps=T.dvector("n")), ValueError, "n_steps must be an integer"),
    (dict(n_steps=T.lvector("n")), ValueError, "n_steps must be a scalar"),
    (dict(n_steps=2.5), ValueError, "n_steps must be an integer"),
    (dict(outputs_info=[dict(taps=[-1])], n_steps=3), ValueError, "taps \\[-1\\] but no initial"),
    (dict(outputs_info=[dict(initial=T.dvector("h"), taps=[0])], n_steps=3), ValueError,
     "output taps must be negative"),
    (dict(outputs_info=[dict(initial=T.dscalar("h"), taps=[-2, -1])], n_steps=3), ValueError,
     "needs one more dimension"),
    (dict(outputs_info=[dict(initial=T.dscalar("h"), return_steps=2)], n_steps=3), ValueError,
     "return_steps"),
])
def test_bad_scan_arguments_raise_clear_errors(kwargs, error, message):
    fn = kwargs.pop("fn", lambda *args: args[0] if args else T.constant(1.0))
    with pytest.raises(error, match=message):
        tjit.scan(fn, **kwargs)


def test_initial_state_shorter_than_its_taps_raises():
    h = T.dvector("h")
    out, _ = tjit.scan(lambda a, b: a + b, outputs_info=[dict(initial=h, taps=[-3, -1])],
                       n_steps=4)
    f = tjit.function([h], out)
    np.testing.assert_allclose(f(np.array([1.0, 2.0, 3.0])), [4.0, 6.0, 9.0, 13.0])
    with pytest.raises(ValueError, match="initial"):
        f(np.array([1.0, 2.0]))
