"""Theano's Function interface: In(update/value/implicit/strict), the tuple input
forms, f[x] / f.value / f.container, outputs as a dict, inputs that cut the graph,
updates with numbers, Theano's input-conversion rules, f.copy, import paths,
change_flags. Examples follow Theano's doc/library/compile/function.txt and io.txt.
"""
import numpy as np
import pytest

import tjit as theano
import tjit.tensor as T
from tjit import In, function

FC = 'FAST_COMPILE'


# ---- In(update=..., value=...): Theano's io.txt examples ---------------------------------
def test_in_with_value_and_update_as_io_docs():
    u, x, s = T.scalars('u', 'x', 's')
    inc = function([u, In(x, value=3), In(s, update=(s + x * u), value=10.0)], [], mode=FC)
    assert inc(5) == []
    assert inc[s] == 25.0
    inc(3, 4)                       # x = 4 for this call only
    assert inc[s] == 37.0 and inc[x] == 3.0
    inc(3, 4, 7)                    # s given: 7 + 3 * 4
    assert inc[s] == 19.0
    inc[s] = 10
    assert isinstance(inc[s], np.ndarray) and inc[s].dtype == s.dtype and inc[s] == 10.0
    inc(1)
    assert inc['s'] == 13.0 and inc.value[2] == 13.0


def test_in_value_container_shares_storage_and_is_implicit():
    x, s = T.scalars('xs')
    inc = function([x, In(s, update=(s + x), value=10.0)], [], mode=FC)
    dec = function([x, In(s, update=(s - x), value=inc.container[s])], [], mode=FC)
    dec(3)
    assert inc[s] == 7.0
    inc(2)
    assert dec[s] == 9.0
    with pytest.raises(TypeError, match="implicit input: s"):
        dec(1, 0)
    assert inc[s] == 9.0            # the refused call changed nothing
    dec = function([x, In(s, update=(s - x), value=inc.container[s], implicit=False)], [],
                   mode=FC)
    inc[s] = 2
    assert dec[s] == 2.0
    dec(1)
    assert inc[s] == 1.0
    dec(1, 0)                       # overrides the shared value: 0 - 1
    assert inc[s] == -1.0 and dec[s] == -1.0


def test_tuple_inputs_and_access_by_position_variable_name():
    a, b, c = T.scalars('xys')      # c is named 's'
    fn = function([a, b, ((c, c + a + b), 10.0)], [], mode=FC)
    assert fn['s'] is fn.value[c] and fn['s'] is fn.container[c].value
    assert fn['s'] == 10.0
    fn(1, 2)
    assert fn['s'] == 13.0
    fn['s'] = 99.0
    fn(1, 0)
    assert fn['s'] == 100.0
    fn.value[c] = 99.0
    fn(1, 0)
    assert fn['s'] == 100.0 == fn.container[c].value
    assert 's' in fn and c in fn and 2 in fn and 'nope' not in fn
    with pytest.raises(TypeError, match="Unknown input or state: nope"):
        fn['nope']


def test_input_shortcuts_and_keywords_as_docs():
    x = T.scalar()
    y, z, w = T.scalar('y'), T.scalar('z'), T.scalar('w')
    fn = function([x, y, In(z, value=42), ((w, w + x), 0)], x + y + z, mode=FC)
    with pytest.raises(TypeError, match="Missing required input: y"):
        fn(1)
    assert fn(1, 2) == 45.0 and fn['w'] == 1.0
    assert fn(1, y=2) == 45.0 and fn['w'] == 2.0
    with pytest.raises(TypeError, match="Unknown input or state: x.*3 named inputs "
                                        r"\(y, z, w\), and 1 unnamed input"):
        fn(x=1, y=2)
    assert fn(1, 2, 3) == 6.0 and fn['w'] == 3.0
    assert fn(1, z=3, y=2) == 6.0 and fn['w'] == 4.0
    assert fn(1, 2, w=400) == 45.0 and fn['w'] == 401.0
    assert fn(1, 2) == 45.0 and fn['w'] == 402.0
    # (name, variable) and (name, variable, value) forms
    p, q = T.dscalars('p', 'q')
    g = function([('first', p), ('second', q, 5.0)], p * q, mode=FC)
    assert g(first=2.0) == 10.0 and g(2.0, second=3.0) == 6.0


def test_refeed_default_set_by_item_lasts_one_call():
    x, y = T.dscalars('x', 'y')
    f = function([x, In(y, value=2.0)], x * y, mode=FC)
    f['y'] = 10.0
    assert f(3.0) == 30.0
    assert f(3.0) == 6.0            # the default is back


def test_in_options():
    x, s = T.dscalar('x'), T.dscalar('s')
    f = function([In(x, strict=True)], x * 2, mode=FC)
    assert f(np.float64(3)) == 6.0
    with pytest.raises(TypeError):
        f(3)                        # strict: no conversion
    with pytest.raises(TypeError, match="implicit input must be given a value"):
        In(x, implicit=True)
    with pytest.raises(ValueError, match="mutable=True needs borrow=True"):
        In(x, mutable=True, borrow=False)
    # the shared variable's storage as a default: implicit, updated in place
    acc = theano.shared(1.0, name='acc')
    g = function([x, In(s, value=acc, update=s + x)], s * 10, mode=FC)
    assert g(2.0) == 10.0 and acc.get_value() == 3.0
    acc.set_value(5.0)
    assert g(1.0) == 50.0 and acc.get_value() == 6.0
    with pytest.raises(TypeError, match="shared variable acc given as value has type"):
        vec = T.dvector('vec')
        function([In(vec, value=acc)], vec * 2)
    # In(value=None) is a required input, as Theano
    h = function([x, In(s, value=None)], x + s, mode=FC)
    with pytest.raises(TypeError, match="Missing required input: s"):
        h(1.0)
    # an update of the wrong type names the input
    v = T.dvector('v')
    with pytest.raises(TypeError, match="update of input v"):
        function([In(v, value=np.zeros(2), update=v.sum())], v)


def test_input_state_updates_are_atomic_across_threads():
    import threading
    s, z = T.dscalars('s', 'z')
    total = theano.shared(0.0, name='total')
    k = function([s, In(z, update=z + 1, value=0.0)], [], updates={total: total + s}, mode=FC)
    threads = [threading.Thread(target=lambda: [k(1.0) for _ in range(100)])
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert k['z'] == 400.0 and total.get_value() == 400.0


# ---- outputs as a dict; inputs that cut the graph ----------------------------------------
def test_dict_outputs_and_intermediate_inputs():
    x, y = T.dvectors('x', 'y')
    a = np.array([0.5, 1.0, 2.0])
    f = function([x], {'sum': x.sum(), 'double': x * 2}, mode=FC)
    out = f(a)
    assert sorted(out) == ['double', 'sum']
    np.testing.assert_allclose(out['double'], a * 2)
    np.testing.assert_allclose(out['sum'], a.sum())
    with pytest.raises(TypeError, match="keys of a dict of outputs must be strings"):
        function([x], {1: x})
    # h is an intermediate: given as input, its owner (exp) is not computed
    h = T.exp(x) + 1
    g = function([h, y], h * y, mode=FC)
    np.testing.assert_allclose(g(a, a + 1), a * (a + 1))
    assert h in g and not any('exp' in str(n.op) for n in g.maker.fgraph.toposort())
    # the original graph is untouched
    full = function([x, y], h * y, mode=FC)
    np.testing.assert_allclose(full(a, a), (np.exp(a) + 1) * a)
    assert any('exp' in str(n.op) for n in full.maker.fgraph.toposort())


# ---- updates with Python numbers ------------------------------------------------------------
def test_updates_with_numbers():
    s = theano.shared(1.5, name='s')
    si = theano.shared(np.int32(1), name='si')
    v = theano.shared(np.zeros(2), name='v')
    f = function([], [s, si], updates={s: 3, si: 7.0}, mode=FC)
    assert f() == [1.5, 1]
    assert s.get_value() == 3.0 and si.get_value() == 7 and si.get_value().dtype == np.int32
    with pytest.raises(TypeError, match="update of shared variable si.*3.5"):
        function([], si, updates={si: 3.5})
    with pytest.raises(TypeError, match="update of shared variable v"):
        function([], v, updates={v: 1.0})        # a scalar for a vector


# ---- Theano's rules for values given to inputs ----------------------------------------------
def test_input_conversion_rules_as_theano():
    x32, i32 = T.fscalar('x32'), T.iscalar('i32')
    iv = T.ivector('iv')
    f = function([x32, i32, iv], [x32 * 2, i32 + 1, iv.sum()], mode=FC)
    out = f(0.5, 3.0, [1.0, 2.0])              # exact conversions are fine
    assert out[0].dtype == np.float32 and out[0] == 1.0 and out[1] == 4 and out[2] == 3
    assert f(np.float64(0.25), np.int64(2), np.array([1, 2], np.int16))[0] == 0.5
    for bad in [(0.1, 1, [1]),                    # Python float to float32, floatX=float64
                (np.float64(0.1), 1, [1]),        # NumPy scalar, not exact
                (np.array(0.5), 1, [1]),          # arrays never lose dtype width
                (1.0, 3.5, [1]), (1.0, 1, [1.5]), (1.0, 2 ** 40, [1])]:
        with pytest.raises(TypeError):
            f(*bad)
    g = function([x32], x32 * 2, allow_input_downcast=True, mode=FC)
    np.testing.assert_allclose(g(0.1), np.float32(0.1) * 2)
    with theano.change_flags(floatX='float32'):
        assert f(0.1, 1, [1])[0] == np.float32(0.1) * 2   # Python float to floatX
        with pytest.raises(TypeError):
            f(np.float64(0.1), 1, [1])                # a NumPy scalar is not a Python float
        h = function([In(x32, allow_downcast=False)], x32, mode=FC)
        assert h(0.5) == 0.5
        with pytest.raises(TypeError):
            h(0.1)                                  # allow_downcast=False: exact only
    v32 = T.fvector('v32')
    with theano.change_flags(floatX='float32'):
        with pytest.raises(TypeError):
            function([v32], v32, mode=FC)([0.1, 0.2])   # lists are not Python floats


# ---- copies -------------------------------------------------------------------------------
def test_copy_swap_delete_updates_and_own_storage():
    acc = theano.shared(0.0, name='acc')
    acc2 = theano.shared(100.0, name='acc2')
    inc = T.dscalar('inc')
    fa = function([inc], acc * 2, updates=[(acc, acc + inc)], name='fa', mode=FC)
    fb = fa.copy(swap={acc: acc2})
    assert fb.name == 'fa copy'
    assert fa(1.0) == 0.0 and fb(5.0) == 200.0
    assert acc.get_value() == 1.0 and acc2.get_value() == 105.0
    assert fb.get_shared() == [acc2]
    fc = fa.copy(delete_updates=True, name='peek')
    assert fc(7.0) == 2.0 and acc.get_value() == 1.0 and fc.name == 'peek'
    fd = fb.copy(swap={acc2: acc})          # a copy of a copy swaps back
    assert fd(10.0) == 2.0 and acc.get_value() == 11.0 and acc2.get_value() == 105.0
    with pytest.raises(ValueError, match="not a shared variable of this function"):
        fa.copy(swap={theano.shared(0.0): acc2})
    with pytest.raises(TypeError, match="has type"):
        fa.copy(swap={acc: theano.shared(np.zeros(2))})
    # stateful inputs: the copy has its own state, starting from the current value
    x, s = T.dscalars('x', 's')
    f = function([x, In(s, update=s + x, value=0.0)], s, mode=FC)
    f(5.0)
    g = f.copy()
    g(1.0)
    assert f[s] == 5.0 and g[s] == 6.0
    import copy
    h = copy.copy(f)
    h(2.0)
    assert h[s] == 7.0 and f[s] == 5.0


def test_copy_in_debug_mode_checks_too():
    acc = theano.shared(np.arange(3.0), name='acc')
    x = T.dvector('x')
    f = function([x], (acc * x).sum(), updates=[(acc, acc + x)], mode='DebugMode')
    g = f.copy(delete_updates=True)
    assert g(np.ones(3)) == 3.0 and list(acc.get_value()) == [0.0, 1.0, 2.0]
    assert f(np.ones(3)) == 3.0 and list(acc.get_value()) == [1.0, 2.0, 3.0]


# ---- import paths, flags ------------------------------------------------------------------
def test_theano_import_paths():
    from tjit.compile import (In as In2, Mode, Out, SharedVariable, function as f2,
                              get_default_mode, mode, pfunc, shared)
    from tjit.compile.function_module import Function
    from tjit.compile.io import In as In3
    from tjit.compile.sharedvalue import SharedVariable as SV2
    assert SV2 is SharedVariable
    assert theano.dot is T.dot and In2 is In3 is In and f2 is function
    assert isinstance(get_default_mode(), Mode)
    assert mode.get_mode('FAST_COMPILE').optimizer == 'fast_compile'
    assert mode.FAST_RUN.optimizer == 'fast_run'
    s = shared(np.float64(2.0))
    assert isinstance(s, SharedVariable)
    x = T.dvector('x')
    f = pfunc([x], Out(x * s, borrow=True), mode=FC)
    assert isinstance(f, Function)
    np.testing.assert_allclose(f(np.array([1.0, 2.0])), [2.0, 4.0])
    np.testing.assert_allclose(theano.dot(np.eye(2), x).eval({x: np.array([3.0, 4.0])}),
                               [3.0, 4.0])


def test_change_flags_decorator_and_context_restore():
    assert theano.config.floatX == 'float64' and theano.config.cast_policy == 'custom'

    @theano.change_flags(floatX='float32')
    def make():
        return T.scalar().dtype

    assert make() == 'float32' and theano.config.floatX == 'float64'
    with pytest.raises(RuntimeError):
        with theano.change_flags({'floatX': 'float32'}):
            assert theano.config.floatX == 'float32'
            raise RuntimeError
    assert theano.config.floatX == 'float64'
    with pytest.raises(AttributeError, match="unknown tjit flag"):
        theano.change_flags(no_such_flag=1)
    with pytest.raises(ValueError, match="cast_policy"):
        theano.config.cast_policy = 'numpy+floatX'
