"""tjit.function: inputs, defaults, keywords, outputs, updates, givens, aliasing,
eval, input checking and errors, shared variables, modes."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tjit as theano
import tjit.tensor as T
from tjit.function import MissingInputError, UnusedInputError


def test_issue_example():
    x = T.dvector('x')
    y = T.dscalar('y')
    s = theano.shared(np.zeros(3), name='s')
    f = theano.function([x, theano.In(y, value=2.0, name='y_by_name')],
                        [x + T.exp(y), x * y], updates=[(s, s + x)])
    out = f([1, 2, 3], y_by_name=4.0)
    assert isinstance(out, list) and len(out) == 2
    np.testing.assert_allclose(out[0], np.array([1, 2, 3]) + np.exp(4.0), rtol=1e-15)
    np.testing.assert_array_equal(out[1], [4.0, 8.0, 12.0])
    assert out[0].dtype == out[1].dtype == np.float64
    np.testing.assert_array_equal(s.get_value(), [1.0, 2.0, 3.0])
    assert theano.pp(x + T.exp(y)) == '(x + exp(y))'
    text = theano.printing.debugprint(f, file='str')
    assert '[id A]' in text and 'update of s' in text
    np.testing.assert_array_equal(T.arange(9).reshape((3, 3)).eval(),
                                  np.arange(9).reshape(3, 3))
    # the default of y is used when it is not given, and s keeps accumulating
    a, b = f([1, 1, 1])
    np.testing.assert_allclose(a, 1 + np.exp(2.0), rtol=1e-15)
    np.testing.assert_array_equal(b, [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(s.get_value(), [2.0, 3.0, 4.0])


# ---- inputs: defaults, names, positional + keyword ------------------------------------
def test_defaults_keywords_and_positional():
    x, y, z = T.dscalars('x', 'y', 'z')
    f = theano.function([x, theano.In(y, value=10.0), theano.In(z, value=100.0, name='zz')],
                        x + 2 * y + 3 * z)
    assert f(1) == 1 + 20 + 300
    assert f(1, 2) == 1 + 4 + 300
    assert f(1, 2, 3) == 1 + 4 + 9
    assert f(1, zz=3) == 1 + 20 + 9
    assert f(x=1, y=2) == 1 + 4 + 300           # variable names work as keywords
    assert f(1, y=2, zz=3) == 1 + 4 + 9
    assert f(zz=0, x=5) == 5 + 20
    out = f(1)
    assert isinstance(out, np.ndarray) and out.shape == () and out.dtype == np.float64


def test_single_output_vs_list_of_one():
    x = T.dvector('x')
    f1 = theano.function([x], x * 2)
    f2 = theano.function([x], [x * 2])
    f0 = theano.function([], [], updates=[])
    v = np.array([1.0, 2.0])
    r1, r2 = f1(v), f2(v)
    assert isinstance(r1, np.ndarray)
    assert isinstance(r2, list) and len(r2) == 1
    np.testing.assert_array_equal(r1, [2.0, 4.0])
    np.testing.assert_array_equal(r2[0], [2.0, 4.0])
    assert f0() == []


# ---- updates -----------------------------------------------------------------------
def test_updates_list_and_dict_are_equivalent():
    a = theano.shared(np.array([1.0, 2.0]), name='a')
    b = theano.shared(np.array([10.0, 20.0]), name='b')
    x = T.dvector('x')
    f = theano.function([x], a + b, updates=[(a, a + x), (b, b * 2)])
    a2 = theano.shared(np.array([1.0, 2.0]), name='a2')
    b2 = theano.shared(np.array([10.0, 20.0]), name='b2')
    g = theano.function([x], a2 + b2, updates={a2: a2 + x, b2: b2 * 2})
    for _ in range(3):
        np.testing.assert_array_equal(f([1.0, 1.0]), g([1.0, 1.0]))
    np.testing.assert_array_equal(a.get_value(), a2.get_value())
    np.testing.assert_array_equal(b.get_value(), b2.get_value())
    np.testing.assert_array_equal(a.get_value(), [4.0, 5.0])
    np.testing.assert_array_equal(b.get_value(), [80.0, 160.0])


def test_updates_are_atomic_swap():
    a = theano.shared(np.array([1.0, 2.0, 3.0]), name='a')
    b = theano.shared(np.array([4.0, 5.0, 6.0]), name='b')
    f = theano.function([], [a, b], updates=[(a, b), (b, a)])
    out_a, out_b = f()
    np.testing.assert_array_equal(out_a, [1.0, 2.0, 3.0])  # outputs see the old values
    np.testing.assert_array_equal(out_b, [4.0, 5.0, 6.0])
    np.testing.assert_array_equal(a.get_value(), [4.0, 5.0, 6.0])
    np.testing.assert_array_equal(b.get_value(), [1.0, 2.0, 3.0])
    f()
    np.testing.assert_array_equal(a.get_value(), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(b.get_value(), [4.0, 5.0, 6.0])
    # mutating a returned output does not reach the shared values
    out_a, _ = f()
    out_a[:] = -1
    np.testing.assert_array_equal(b.get_value(), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(a.get_value(), [4.0, 5.0, 6.0])


def test_update_chain_uses_old_values():
    a = theano.shared(1.0, name='a')
    b = theano.shared(2.0, name='b')
    c = theano.shared(3.0, name='c')
    f = theano.function([], [], updates=[(a, b + c), (b, a + c), (c, a + b)])
    f()
    assert (a.get_value(), b.get_value(), c.get_value()) == (5.0, 4.0, 3.0)


@pytest.mark.parametrize("bad", [
    lambda s: s.sum(),                         # wrong ndim
    lambda s: T.cast(s, 'float32'),            # wrong dtype
    lambda s: T.cast(s, 'int64'),
    lambda s: s.dimshuffle('x', 0),            # 2 dims
])
def test_update_type_mismatch_raises_at_function_time(bad):
    s = theano.shared(np.zeros(3), name='s')
    x = T.dvector('x')
    with pytest.raises(TypeError):
        theano.function([x], x, updates=[(s, bad(s))])
    with pytest.raises(TypeError):
        theano.function([x], x, updates={s: bad(s)})


def test_update_target_must_be_shared():
    x = T.dvector('x')
    with pytest.raises(TypeError):
        theano.function([x], x, updates=[(x, x + 1)])


def test_float32_shared_update_with_float64_expression_raises():
    s = theano.shared(np.zeros(3, dtype='float32'), name='s')
    with pytest.raises(TypeError):
        theano.function([], [], updates=[(s, s + np.float64(1.5) * T.ones_like(s, 'float64'))])
    f = theano.function([], [], updates=[(s, s + np.float32(1.5))])
    f()
    assert s.get_value().dtype == np.float32
    np.testing.assert_array_equal(s.get_value(), np.full(3, 1.5, 'float32'))


# ---- givens ------------------------------------------------------------------------
def test_givens_leave_original_graph_alone():
    x = T.dvector('x')
    y = T.dvector('y')
    z = T.exp(x) * 2 + x
    before = theano.pp(z)
    f_plain = theano.function([x], z)
    f_given = theano.function([y], z, givens=[(x, y * 3)])
    f_given_dict = theano.function([y], z, givens={x: y * 3})
    v = np.array([0.1, -0.2, 0.3])
    np.testing.assert_allclose(f_plain(v), np.exp(v) * 2 + v, rtol=1e-15)
    np.testing.assert_allclose(f_given(v), np.exp(3 * v) * 2 + 3 * v, rtol=1e-15)
    np.testing.assert_allclose(f_given_dict(v), np.exp(3 * v) * 2 + 3 * v, rtol=1e-15)
    assert theano.pp(z) == before
    f_again = theano.function([x], z)
    np.testing.assert_allclose(f_again(v), np.exp(v) * 2 + v, rtol=1e-15)


def test_givens_with_shared_variable():
    data = theano.shared(np.arange(10.0), name='data')
    i = T.lscalar('i')
    x = T.dvector('x')
    f = theano.function([i], x.sum() * 1.0, givens={x: data[i:i + 3]})
    assert f(0) == 0 + 1 + 2
    assert f(5) == 5 + 6 + 7


# ---- aliasing ----------------------------------------------------------------------
def test_outputs_not_aliased_between_calls():
    x = T.dvector('x')
    f = theano.function([x], x * 2)
    big = np.arange(100000.0)
    r1 = f(big)
    r1[:] = -7.0
    r2 = f(big)
    np.testing.assert_array_equal(r2, big * 2)
    assert not np.shares_memory(r1, r2)
    r3 = f(big)
    assert not np.shares_memory(r2, r3)
    np.testing.assert_array_equal(r2, big * 2)


def test_output_of_input_or_shared_is_a_copy():
    x = T.dvector('x')
    s = theano.shared(np.arange(4.0), name='s')
    f = theano.function([x], [x, s, x.T, s[1:]])
    v = np.arange(4.0) + 10
    out = f(v)
    for o in out:
        o[...] = 0
    np.testing.assert_array_equal(v, np.arange(4.0) + 10)
    np.testing.assert_array_equal(s.get_value(), np.arange(4.0))


def test_same_variable_twice_gives_distinct_arrays():
    x = T.dvector('x')
    y = T.exp(x)
    f = theano.function([x], [y, y])
    a, b = f(np.zeros(3))
    assert not np.shares_memory(a, b)
    a[:] = 5
    np.testing.assert_array_equal(b, [1.0, 1.0, 1.0])


def test_output_equal_to_update_is_not_aliased():
    s = theano.shared(np.zeros(3), name='s')
    f = theano.function([], s + 1, updates=[(s, s + 1)])
    r = f()
    r[:] = 100
    np.testing.assert_array_equal(s.get_value(), [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(f(), [2.0, 2.0, 2.0])


# ---- eval ----------------------------------------------------------------------------
def test_eval_with_and_without_inputs_is_cached():
    x, y = T.dscalars('x', 'y')
    z = x * y + 1
    assert z.eval({x: 3, y: 4}) == 13.0
    assert z.eval({x: 2.5, y: 2}) == 6.0
    c = T.constant(np.arange(4.0)) * 2
    np.testing.assert_array_equal(c.eval(), [0.0, 2.0, 4.0, 6.0])
    # cached: the same compiled function is used for the same inputs
    cache = z.__dict__.get('_eval_cache')
    assert cache is not None and len(cache) == 1
    z.eval({x: 1, y: 1})
    assert len(cache) == 1
    with pytest.raises(MissingInputError):
        z.eval({x: 1})


# ---- missing / unused inputs ------------------------------------------------------------
def test_missing_input_error_names_the_variable():
    x, y = T.dvectors('x', 'y_missing')
    with pytest.raises(MissingInputError, match='y_missing'):
        theano.function([x], x + y)


def test_on_unused_input_policies():
    x, y = T.dvectors('x', 'unused_y')
    with pytest.raises(UnusedInputError, match='unused_y'):
        theano.function([x, y], x * 2)
    with pytest.raises(UnusedInputError):
        theano.function([x, y], x * 2, on_unused_input='raise')
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        f = theano.function([x, y], x * 2, on_unused_input='warn')
    assert any('unused_y' in str(m.message) for m in w)
    np.testing.assert_array_equal(f([1.0], [5.0]), [2.0])
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        g = theano.function([x, y], x * 2, on_unused_input='ignore')
    np.testing.assert_array_equal(g([1.0], [5.0]), [2.0])


# ---- bad input at call time -------------------------------------------------------------
@pytest.fixture
def fn_and_state():
    x = T.dmatrix('xin')
    y = T.fvector('yin')
    s = theano.shared(np.array([1.0, 2.0]), name='state')
    f = theano.function([x, theano.In(y, name='ykw')], x + y, updates=[(s, s * 2)])
    return f, s


def _call_raises(f, s, exc, name, *args, **kwargs):
    before = s.get_value()
    with pytest.raises(exc) as info:
        f(*args, **kwargs)
    if name is not None:
        assert name in str(info.value), str(info.value)
    np.testing.assert_array_equal(s.get_value(), before)  # shared state untouched


def test_wrong_ndim_names_input(fn_and_state):
    f, s = fn_and_state
    _call_raises(f, s, TypeError, 'xin', np.zeros(2), np.zeros(2, 'float32'))
    _call_raises(f, s, TypeError, 'ykw', np.zeros((2, 2)), np.zeros((2, 2), 'float32'))


def test_precision_losing_dtype_raises_unless_downcast_allowed(fn_and_state):
    f, s = fn_and_state
    _call_raises(f, s, TypeError, 'ykw', np.zeros((2, 2)), np.zeros(2, 'float64'))
    _call_raises(f, s, TypeError, 'xin', np.zeros((2, 2), 'complex128'),
                 np.zeros(2, 'float32'))
    _call_raises(f, s, TypeError, 'ykw', np.zeros((2, 2)), np.zeros(2, 'int32'))
    # lossless conversions are accepted
    out = f(np.zeros((2, 2), 'int32'), np.array([1, 2], 'int8'))
    np.testing.assert_array_equal(out, [[1.0, 2.0], [1.0, 2.0]])
    x = T.fvector('x')
    g = theano.function([x], x * 2, allow_input_downcast=True)
    r = g(np.array([1.1, 2.2], 'float64'))
    assert r.dtype == np.float32
    np.testing.assert_array_equal(r, np.array([1.1, 2.2], 'float32') * 2)
    h = theano.function([theano.In(x, allow_downcast=True)], x * 2)
    assert h(np.array([0.5])).dtype == np.float32


def test_python_floats_into_float32_input():
    """Python numbers carry no dtype: a float32 input accepts those representable
    (Theano accepts Python floats for floatX inputs; here floatX is float64)."""
    x = T.fvector('x')
    g = theano.function([x], x * 2)
    np.testing.assert_array_equal(g([0.5, 1.5]), np.array([1.0, 3.0], 'float32'))


def test_non_broadcasting_shapes_raise_value_error(fn_and_state):
    f, s = fn_and_state
    _call_raises(f, s, ValueError, None, np.zeros((2, 3)), np.zeros(2, 'float32'))
    x, y = T.dvector('left'), T.dvector('right')
    g = theano.function([x, y], x * y + 1)
    with pytest.raises(ValueError) as info:
        g(np.zeros(3), np.zeros(4))
    assert 'left' in str(info.value) or 'right' in str(info.value)


def test_broadcastable_dim_must_be_one():
    r = T.drow('r')
    f = theano.function([r], r * 2)
    with pytest.raises(ValueError, match='r'):
        f(np.zeros((2, 3)))
    np.testing.assert_array_equal(f(np.ones((1, 3))), np.full((1, 3), 2.0))


def test_missing_unknown_and_too_many_arguments(fn_and_state):
    f, s = fn_and_state
    _call_raises(f, s, TypeError, 'ykw', np.zeros((2, 2)))
    _call_raises(f, s, TypeError, 'nope', np.zeros((2, 2)), np.zeros(2, 'float32'), nope=1)
    _call_raises(f, s, TypeError, None, np.zeros((2, 2)), np.zeros(2, 'float32'), 3)
    _call_raises(f, s, TypeError, 'ykw', np.zeros((2, 2)), np.zeros(2, 'float32'),
                 ykw=np.zeros(2, 'float32'))
    _call_raises(f, s, TypeError, 'xin', 'not an array', np.zeros(2, 'float32'))
    _call_raises(f, s, TypeError, 'xin', [[1.0], [2.0, 3.0]], np.zeros(2, 'float32'))
    # still works after all the failures
    out = f(np.ones((2, 2)), ykw=np.ones(2, 'float32'))
    np.testing.assert_array_equal(out, np.full((2, 2), 2.0))
    np.testing.assert_array_equal(s.get_value(), [2.0, 4.0])


def test_runtime_error_inside_graph_leaves_shared_state_alone():
    s = theano.shared(np.arange(3.0), name='acc')
    x = T.dvector('x')
    i = T.lscalar('i')
    f = theano.function([x, i], x[i], updates=[(s, s + x)])
    with pytest.raises(IndexError):
        f(np.ones(3), 10)
    np.testing.assert_array_equal(s.get_value(), np.arange(3.0))
    with pytest.raises(ValueError):
        f(np.ones(4), 0)  # s + x does not broadcast
    np.testing.assert_array_equal(s.get_value(), np.arange(3.0))
    assert f(np.ones(3), -1) == 1.0
    np.testing.assert_array_equal(s.get_value(), np.arange(3.0) + 1)


# ---- shared variables -------------------------------------------------------------------
def test_shared_copy_semantics():
    v = np.arange(3.0)
    s = theano.shared(v, name='s')
    v[0] = 100.0
    assert s.get_value()[0] == 0.0            # copied at construction
    g = s.get_value()
    g[1] = 100.0
    assert s.get_value()[1] == 1.0            # get_value returns a copy
    w = np.array([7.0, 8.0, 9.0])
    s.set_value(w)
    w[0] = -1
    np.testing.assert_array_equal(s.get_value(), [7.0, 8.0, 9.0])  # set_value copies
    inner = s.get_value(borrow=True)
    assert inner is s.get_value(borrow=True)
    b = np.array([1.0, 2.0, 3.0])
    s.set_value(b, borrow=True)
    f = theano.function([], s * 1)
    np.testing.assert_array_equal(f(), b)


def test_shared_dtypes_and_types():
    assert theano.shared(np.zeros(3, 'float32')).dtype == 'float32'
    assert theano.shared(np.zeros((2, 2), 'int8')).type.broadcastable == (False, False)
    assert theano.shared(1.5).dtype == 'float64'
    assert theano.shared(3).dtype == 'int64'
    s = theano.shared(np.zeros((1, 3)))
    assert s.broadcastable == (False, False)


def test_set_value_wrong_ndim_or_dtype_raises():
    s = theano.shared(np.zeros(3), name='s')
    with pytest.raises(TypeError):
        s.set_value(np.zeros((3, 1)))
    with pytest.raises(TypeError):
        s.set_value(np.zeros(3, 'complex128'))
    np.testing.assert_array_equal(s.get_value(), np.zeros(3))
    f32 = theano.shared(np.zeros(2, 'float32'), name='f32')
    with pytest.raises(TypeError):
        f32.set_value(np.zeros(2, 'float64'))
    f32.set_value(np.ones(2, 'int8'))  # lossless: accepted as float32
    assert f32.get_value().dtype == np.float32
    i = theano.shared(np.zeros(2, 'int32'), name='i')
    with pytest.raises(TypeError):
        i.set_value(np.array([1.5, 2.5]))
    s.set_value(np.arange(5.0))  # a new length is fine
    np.testing.assert_array_equal(theano.function([], s * 2)(), np.arange(5.0) * 2)


# ---- modes -------------------------------------------------------------------------------
def _mode_graph():
    x = T.dmatrix('x')
    v = T.dvector('v')
    s = theano.shared(np.zeros(3), name='s_mode')
    out = [T.exp(-x * x) * v + T.log1p(abs(x)) * 0.5 - T.tanh(x), (x > 0.3).astype('int8'),
           x[::-1, 1:].T * 2, T.switch(x < v, x, v) ** 2]
    return x, v, s, out


@pytest.mark.parametrize("mode", ['FAST_RUN', 'FAST_COMPILE', 'DebugMode',
                                  theano.Mode(linker='py'), theano.Mode(optimizer=None)])
def test_modes_give_identical_results(mode):
    x, v, s, out = _mode_graph()
    ref = theano.function([x, v], out, updates=[(s, s + v)], mode=theano.Mode(linker='py'))
    f = theano.function([x, v], out, updates=[(s, s + v)], mode=mode)
    rng = np.random.default_rng(3)
    xv, vv = rng.standard_normal((4, 3)), rng.standard_normal(3)
    want = [np.exp(-xv * xv) * vv + np.log1p(np.abs(xv)) * 0.5 - np.tanh(xv),
            (xv > 0.3).astype('int8'), xv[::-1, 1:].T * 2, np.where(xv < vv, xv, vv) ** 2]
    for got, r, w in zip(f(xv, vv), ref(xv, vv), want):
        assert got.dtype == r.dtype == w.dtype
        np.testing.assert_allclose(got, w, rtol=1e-14)
        np.testing.assert_allclose(got, r, rtol=1e-14)
    np.testing.assert_array_equal(s.get_value(), 2 * vv)  # both functions updated s


def test_unknown_mode_raises():
    x = T.dvector('x')
    with pytest.raises(ValueError):
        theano.function([x], x * 2, mode='NOT_A_MODE')


# ---- hypothesis: calling convention ------------------------------------------------------
_F = {}


def _kw_fn():
    if 'f' not in _F:
        a, b, c = T.dscalars('a', 'b', 'c')
        _F['f'] = theano.function([a, theano.In(b, value=2.0), theano.In(c, value=3.0,
                                                                        name='cc')],
                                  a * 100 + b * 10 + c)
    return _F['f']


@settings(max_examples=60, deadline=None)
@given(vals=st.lists(st.integers(-5, 5), min_size=3, max_size=3),
       n_pos=st.integers(1, 3), use_kw=st.lists(st.booleans(), min_size=3, max_size=3))
def test_any_mix_of_positional_and_keyword(vals, n_pos, use_kw):
    f = _kw_fn()
    names = ['a', 'b', 'cc']
    args = vals[:n_pos]
    kwargs = {names[i]: vals[i] for i in range(n_pos, 3) if use_kw[i]}
    full = [vals[0] if n_pos > 0 else None,
            vals[1] if n_pos > 1 or 'b' in kwargs else 2,
            vals[2] if n_pos > 2 or 'cc' in kwargs else 3]
    assert f(*args, **kwargs) == full[0] * 100 + full[1] * 10 + full[2]


def test_debug_mode_checks_native_against_reference():
    """SPEC: DebugMode runs the native code AND a NumPy reference of every node and
    raises on any difference, naming the node. A wrong NumPy reference for exp must
    therefore be caught in DebugMode (and go unnoticed in FAST_RUN)."""
    from tjit import scalar as ts
    x = T.dvector('x')
    expr = T.exp(x) * 2
    fast = theano.function([x], expr, mode='FAST_RUN')
    debug = theano.function([x], expr, mode='DebugMode')
    v = np.array([0.0, 1.0])
    np.testing.assert_allclose(debug(v), np.exp(v) * 2, rtol=1e-15)
    good = ts.exp._impl
    ts.exp._impl = lambda a: np.exp(a) + 1.0
    try:
        np.testing.assert_allclose(fast(v), np.exp(v) * 2, rtol=1e-15)
        with pytest.raises(Exception, match='exp|Fused'):
            debug(v)
    finally:
        ts.exp._impl = good


def test_debug_mode_slack_is_for_cancelling_reductions_only():
    # A variance of equal values cancels to ~0 in one summation order and exactly 0
    # in another: DebugMode accepts it. A wrong elementwise result next to a huge
    # element is still caught (no absolute slack scaled by the largest value).
    from tjit import scalar as ts
    x = T.dvector('x')
    f = theano.function([x], [T.repeat(x.var(keepdims=True), 3, axis=0).var(), x * 2],
                        mode='DebugMode')
    v = np.array([3.0, -7.0, 1e-3, 11.0, 5.5])
    var, double = f(v)
    assert abs(var) < 1e-25
    np.testing.assert_array_equal(double, v * 2)
    debug = theano.function([x], T.sqrt(x) * 2, mode='DebugMode')
    big = np.array([1e300, 4.0])
    np.testing.assert_allclose(debug(big), np.sqrt(big) * 2, rtol=1e-15)
    good = ts.sqrt._impl
    ts.sqrt._impl = lambda a: np.sqrt(a) + (a < 10)   # wrong only on the small element
    try:
        with pytest.raises(Exception, match='sqrt|Fused'):
            debug(big)
    finally:
        ts.sqrt._impl = good
