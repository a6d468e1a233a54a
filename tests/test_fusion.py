"""The elementwise fusion pass (plus constant folding and merge), inspected
through `f.nodes` of compiled functions, and the values they compute."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tjit as theano
import tjit.tensor as T
from tjit.ops.fused_elemwise import FusedElemwise


def fused_nodes(f):
    return [n for n in f.nodes if isinstance(n.op, FusedElemwise)]


def step_names(node):
    return node.op.program.op_names


def test_readme_chain_is_one_kernel_reading_x_and_a_once():
    x = T.dvector('x')
    a = T.dscalar('a')
    y = T.exp(-x * x) * a + T.log1p(abs(x)) * 0.5 - T.tanh(x)
    f = theano.function([x, a], y)
    assert len(f.nodes) == 1
    (node,) = fused_nodes(f)
    assert len(node.inputs) == 2
    assert {v.name for v in node.inputs} == {'x', 'a'}
    assert len(node.outputs) == 1
    assert sorted(step_names(node)) == sorted(['neg', 'mul', 'exp', 'mul', 'abs', 'log1p',
                                               'mul', 'add', 'tanh', 'sub'])
    v = np.linspace(-3, 3, 1001)
    np.testing.assert_allclose(f(v, 2.0), np.exp(-v * v) * 2.0 + np.log1p(np.abs(v)) * 0.5
                               - np.tanh(v), rtol=1e-14, atol=1e-15)


def test_sibling_groups_merge_the_same_way_every_time():
    """Independent groups over one loop shape merge in the order of their inputs,
    not in the (address) order of a set: the kernels, hence the cache keys, are
    the same in every run."""
    from tjit.passes import optimize
    seen = set()
    for _ in range(30):
        a, b, x = T.dvectors("a", "b", "x")
        outs, _ = optimize([a + b, a + x, b * 2], ["fast_run"])
        seen.add(tuple(tuple(step_names(v.owner)) for v in outs))
    assert seen == {(("add", "add"), ("add", "add"), ("mul",))}


def test_shared_intermediate_gives_one_multi_output_kernel():
    x = T.dvector('x')
    e = T.exp(x)
    f = theano.function([x], [e * 2, e + 1])
    nodes = fused_nodes(f)
    assert len(f.nodes) == 1 and len(nodes) == 1, f.nodes
    assert len(nodes[0].outputs) == 2 and len(nodes[0].inputs) == 1
    assert step_names(nodes[0]).count('exp') == 1
    v = np.array([-1.0, 0.0, 2.0])
    a, b = f(v)
    np.testing.assert_allclose(a, np.exp(v) * 2, rtol=1e-15)
    np.testing.assert_allclose(b, np.exp(v) + 1, rtol=1e-15)


def test_intermediate_that_is_also_an_output():
    x = T.dvector('x')
    e = T.exp(x)
    f = theano.function([x], [e, T.log(e) * 3])
    assert len(f.nodes) == 1
    (node,) = fused_nodes(f)
    assert len(node.outputs) == 2
    v = np.array([0.5, 1.0])
    a, b = f(v)
    np.testing.assert_allclose(a, np.exp(v), rtol=1e-15)
    np.testing.assert_allclose(b, np.log(np.exp(v)) * 3, rtol=1e-15)
    assert not np.shares_memory(a, b)


def test_dimshuffles_of_inputs_are_absorbed():
    m = T.dmatrix('m')
    v = T.dvector('v')
    c = T.dcol('c')
    cases = [(m + v.dimshuffle('x', 0), lambda mv, vv, cv: mv + vv[None, :]),
             (m * v, lambda mv, vv, cv: mv * vv),
             (T.exp(m.T) + v.dimshuffle(0, 'x')[:3] * 0 + c.T,
              lambda mv, vv, cv: np.exp(mv.T) + cv.T)]
    mv = np.arange(12.0).reshape(4, 3) / 10
    vv = np.array([1.0, 2.0, 3.0])
    cv = np.arange(4.0).reshape(4, 1)
    for expr, ref in cases[:2]:
        f = theano.function([m, v], expr)
        assert len(f.nodes) == 1 and len(fused_nodes(f)) == 1, f.nodes
        np.testing.assert_array_equal(f(mv, vv), ref(mv, vv, cv))
    g = theano.function([m, c], T.exp(m.T) + c.T)
    assert len(g.nodes) == 1 and len(fused_nodes(g)) == 1, g.nodes
    np.testing.assert_allclose(g(mv, cv), np.exp(mv.T) + cv.T, rtol=1e-15)


def test_merge_computes_common_subexpressions_once():
    x = T.dvector('x')
    f = theano.function([x], T.exp(x) + T.exp(x))
    (node,) = fused_nodes(f)
    assert step_names(node).count('exp') == 1
    g = theano.function([x], T.tanh(x * 2) * T.tanh(x * 2) - T.tanh(x * 2))
    (node,) = fused_nodes(g)
    assert step_names(node).count('tanh') == 1 and step_names(node).count('mul') == 2
    v = np.array([0.3, -1.2])
    np.testing.assert_allclose(f(v), 2 * np.exp(v), rtol=1e-15)
    np.testing.assert_allclose(g(v), np.tanh(2 * v) ** 2 - np.tanh(2 * v), rtol=1e-15)


def test_constant_folding():
    x = T.dvector('x')
    c = T.exp(T.constant(1.0)) * 2 + T.log(T.constant(3.0))
    f = theano.function([x], x + c)
    (node,) = fused_nodes(f)
    assert step_names(node) == ['add']
    np.testing.assert_allclose(f(np.array([1.0])), [1 + np.exp(np.float32(1.0)) * 2
                                                     + np.log(np.float32(3.0))], rtol=1e-6)
    k = theano.function([], T.constant(np.arange(4.0)) * 2 + 1)
    assert not fused_nodes(k)
    np.testing.assert_array_equal(k(), np.arange(4.0) * 2 + 1)


@pytest.mark.parametrize("how", ["mode", "flag"])
def test_fusion_can_be_turned_off_with_same_values(how):
    x = T.dmatrix('x')
    a = T.dscalar('a')
    outs = [T.exp(-x * x) * a + T.log1p(abs(x)) * 0.5 - T.tanh(x), (x > a) * x]
    fused = theano.function([x, a], outs)
    if how == "mode":
        plain = theano.function([x, a], outs, mode=theano.Mode().excluding('elemwise_fusion'))
    else:
        with theano.config.change_flags(optimizer_excluding='elemwise_fusion'):
            plain = theano.function([x, a], outs)
    assert not fused_nodes(plain)
    assert len(plain.nodes) > 5
    assert len(fused_nodes(fused)) >= 1
    v = np.random.default_rng(0).standard_normal((5, 4))
    for p, q in zip(fused(v, 0.7), plain(v, 0.7)):
        assert p.dtype == q.dtype
        np.testing.assert_allclose(p, q, rtol=1e-14, atol=1e-15)
    with pytest.raises(ValueError):
        theano.function([x, a], outs, mode=theano.Mode().excluding('no_such_rewrite'))


def test_fused_kernel_on_noncontiguous_and_broadcast_inputs():
    m = T.dmatrix('m')
    r = T.drow('r')
    s = T.dscalar('s')
    f = theano.function([m, r, s], T.sqrt(abs(m)) * r - s * m)
    assert len(fused_nodes(f)) == 1
    big = np.arange(60.0).reshape(6, 10) - 30
    rv = np.arange(5.0).reshape(1, 5)
    for mv in (big[::2, ::2], big[::-2, 1::2], np.asfortranarray(big[:, :5]),
               big[:, :5].T.copy().T):
        np.testing.assert_allclose(f(mv, rv, 1.5), np.sqrt(np.abs(mv)) * rv - 1.5 * mv,
                                   rtol=1e-15)


def test_multiple_outputs_with_updates_share_one_kernel():
    x = T.dvector('x')
    s = theano.shared(np.zeros(4), name='s')
    f = theano.function([x], [T.exp(x), x * 2], updates=[(s, s + T.exp(x))])
    assert len(fused_nodes(f)) == 1
    v = np.array([0.0, 1.0, 2.0, 3.0])
    e, d = f(v)
    np.testing.assert_allclose(e, np.exp(v), rtol=1e-15)
    np.testing.assert_array_equal(d, v * 2)
    np.testing.assert_allclose(s.get_value(), np.exp(v), rtol=1e-15)
    e[:] = 0
    np.testing.assert_allclose(s.get_value(), np.exp(v), rtol=1e-15)


@settings(max_examples=25, deadline=None)
@given(n_ops=st.integers(2, 12), seed=st.integers(0, 1000))
def test_long_chains_fuse_into_one_kernel(n_ops, seed):
    rng = np.random.default_rng(seed)
    x = T.dvector('x')
    y = T.dvector('y')
    expr, ref = x, lambda xv, yv: xv
    unary = [(T.tanh, np.tanh), (T.sin, np.sin), (T.arctan, np.arctan), (abs, np.abs)]
    binary = [(lambda a, b: a + b, np.add), (lambda a, b: a * b, np.multiply),
              (lambda a, b: a - b, np.subtract), (T.maximum, np.maximum)]
    for _ in range(n_ops):
        if rng.random() < 0.5:
            t, n = unary[rng.integers(len(unary))]
            expr, ref = t(expr), (lambda r, n: lambda xv, yv: n(r(xv, yv)))(ref, n)
        else:
            t, n = binary[rng.integers(len(binary))]
            expr, ref = t(expr, y), (lambda r, n: lambda xv, yv: n(r(xv, yv), yv))(ref, n)
    f = theano.function([x, y], expr, on_unused_input='ignore')
    assert len(f.nodes) == 1 and len(fused_nodes(f)) == 1
    assert len(fused_nodes(f)[0].inputs) <= 2
    xv, yv = rng.standard_normal(7), rng.standard_normal(7)
    np.testing.assert_allclose(f(xv, yv), ref(xv, yv), rtol=1e-13, atol=1e-15)
