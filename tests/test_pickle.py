"""Pickling: graphs, shared variables and compiled functions (graph, mode, input
defaults and state, updates; recompiled on load), identity of shared variables
within one pickle, Theano's loading-and-saving tutorial, function_dump.
"""
import copy
import os
import pickle
import subprocess
import sys

import numpy as np

import tjit as theano
import tjit.tensor as T
from tjit import In, function
from tjit.runtime.debug import DebugFunction

FC = 'FAST_COMPILE'


def roundtrip(obj):
    return pickle.loads(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


def test_graphs_and_shared_variables_pickle():
    x = T.dmatrix('x')
    w = theano.shared(np.array([1.0, -2.0, 0.5]), name='w')
    w.default_update = w * 2
    y = T.tanh(T.dot(x, w)).sum() + x[1:, ::2].max()
    y2, w2 = roundtrip((y, w))
    assert w2.name == 'w' and w2 is not w and w2.type == w.type
    np.testing.assert_array_equal(w2.get_value(), w.get_value())
    assert w2.default_update.owner.inputs[0] is w2       # the graph refers to the copy
    a = np.arange(6.0).reshape(2, 3)
    want = np.tanh(a @ w.get_value()).sum() + a[1:, ::2].max()
    x2 = y2.owner.inputs[0].owner.inputs[0].owner.inputs[0].owner.inputs[0]
    assert x2.name == 'x'
    np.testing.assert_allclose(y2.eval({x2: a}), want)
    w2.set_value(np.zeros(3))                            # independent storage
    assert w.get_value()[0] == 1.0


def test_function_pickles_graph_mode_defaults_state_and_updates():
    x = T.dvector('x')
    k, s = T.dscalars('k', 's')
    acc = theano.shared(np.zeros(3), name='acc')
    f = function([x, In(k, value=2.0), In(s, update=s + 1, value=10.0)],
                 {'out': x * k + s, 'acc': acc}, updates=[(acc, acc + x)], mode=FC,
                 name='f')
    a = np.array([1.0, 2.0, 3.0])
    f(a)
    g = roundtrip(f)
    assert g.mode.optimizer == 'fast_compile' and g.name == 'f'
    assert g['s'] == 11.0 and g['k'] == 2.0          # state and default kept
    out_f, out_g = f(a), g(a)
    assert sorted(out_g) == ['acc', 'out']
    np.testing.assert_allclose(out_g['out'], a * 2 + 11)
    np.testing.assert_allclose(out_g['out'], out_f['out'])
    np.testing.assert_allclose(out_g['acc'], a)
    assert g['s'] == 12.0 == f['s']
    g(a, k=0.0)
    assert g['k'] == 2.0 and f['s'] == 12.0 and g['s'] == 13.0
    # the loaded function updates its own copy of acc, not the original
    np.testing.assert_allclose(acc.get_value(), 2 * a)
    np.testing.assert_allclose(g(a)['acc'], 3 * a)


def test_shared_identity_within_one_pickle():
    s = theano.shared(np.arange(3.0), name='s')
    v = T.dvector('v')
    f = function([v], (s * v).sum(), updates={s: s + 1}, mode=FC)
    g = function([], s.sum(), mode=FC)
    f2, g2, s2 = roundtrip((f, g, s))
    assert f2(np.ones(3)) == 3.0
    np.testing.assert_array_equal(s2.get_value(), [1.0, 2.0, 3.0])
    assert g2() == 6.0                      # g2 reads the s that f2 updated
    np.testing.assert_array_equal(s.get_value(), [0.0, 1.0, 2.0])
    assert g() == 3.0
    # two pickles: two independent copies
    f3 = roundtrip(f)
    f3(np.ones(3))
    assert g2() == 6.0


def test_functions_sharing_an_input_container_stay_shared():
    x, s = T.dscalars('x', 's')
    inc = function([x, In(s, update=s + x, value=10.0)], [], mode=FC)
    dec = function([x, In(s, update=s - x, value=inc.container[s])], [], mode=FC)
    inc2, dec2 = roundtrip((inc, dec))
    dec2(3)
    assert inc2['s'] == 7.0 and inc[s] == 10.0   # (the loaded graph has its own s)
    inc2(5)
    assert dec2['s'] == 12.0


def test_copies_and_debug_mode_pickle():
    acc, acc2 = theano.shared(0.0, name='acc'), theano.shared(100.0, name='acc2')
    d = T.dscalar('d')
    f = function([d], acc, updates=[(acc, acc + d)], mode='DebugMode')
    g = f.copy(swap={acc: acc2})
    g2, acc2b = roundtrip((g, acc2))
    assert isinstance(g2, DebugFunction)
    assert g2(1.0) == 100.0 and acc2b.get_value() == 101.0
    assert acc2.get_value() == 100.0 and acc.get_value() == 0.0
    h = roundtrip(f.copy(delete_updates=True))
    assert h(5.0) == 0.0
    assert copy.deepcopy(f)(2.0) == 0.0 and acc.get_value() == 0.0


def test_control_flow_and_random_functions_pickle():
    from tjit.ifelse import ifelse
    from tjit.tensor.shared_randomstreams import RandomStreams
    x = T.dmatrix('x')
    out, _ = theano.scan(lambda row, prev: prev + row, sequences=x,
                         outputs_info=T.zeros_like(x[0]))
    f = function([x], [out[-1], ifelse(T.gt(x.sum(), 0), x.max(), x.min())], mode=FC)
    f2 = roundtrip(f)
    a = np.arange(6.0).reshape(3, 2) - 4
    for got, want in zip(f2(a), [a.sum(0), a.min()]):
        np.testing.assert_allclose(got, want)
    rng = RandomStreams(7)
    u = rng.uniform((4,))
    g = function([], u, mode=FC)
    g2 = roundtrip(g)                        # the stream's state travels with it
    first = g()
    np.testing.assert_array_equal(g2(), first)
    assert not np.array_equal(g2(), first)


# ---- Theano's loading-and-saving tutorial ---------------------------------------------
class LogisticRegression:
    """A model as a Theano user writes one: shared parameters, compiled
    functions, a training set that is not saved with it (__getstate__)."""

    def __init__(self, n_in, data):
        self.W = theano.shared(np.zeros(n_in), name='W')
        self.b = theano.shared(0.0, name='b')
        x, y = T.dmatrix('x'), T.dvector('y')
        p = T.nnet.sigmoid(T.dot(x, self.W) + self.b)
        cost = T.nnet.binary_crossentropy(p, y).mean()
        gw, gb = T.grad(cost, [self.W, self.b])
        self.train = function([x, y], cost, mode=FC,
                              updates=[(self.W, self.W - 0.5 * gw), (self.b, self.b - 0.5 * gb)])
        self.predict = function([x], p, mode=FC)
        self.training_set = data

    def __getstate__(self):
        state = dict(self.__dict__)
        del state['training_set']
        return state

    def __setstate__(self, d):
        self.__dict__.update(d)
        self.training_set = None


def _numpy_train_step(W, b, x, y):
    p = 1 / (1 + np.exp(-(x @ W + b)))
    return W - 0.5 * x.T @ (p - y) / len(y), b - 0.5 * np.mean(p - y)


def test_loading_and_saving_tutorial(tmp_path):
    rs = np.random.RandomState(0)
    x = rs.randn(20, 3)
    y = (x @ np.array([1.0, -1.0, 0.5]) > 0).astype(float)
    model = LogisticRegression(3, (x, y))
    for _ in range(3):
        model.train(x, y)
    path = tmp_path / 'obj.save'
    with open(path, 'wb') as f:                      # short-term: the whole model
        pickle.dump(model, f, protocol=pickle.HIGHEST_PROTOCOL)
    with open(path, 'rb') as f:
        loaded = pickle.load(f)
    assert loaded.training_set is None
    np.testing.assert_allclose(loaded.predict(x), model.predict(x))
    W, b = loaded.W.get_value(), loaded.b.get_value()
    loaded.train(x, y)                               # trains the loaded parameters
    W, b = _numpy_train_step(W, b, x, y)
    np.testing.assert_allclose(loaded.W.get_value(), W, rtol=1e-12)
    np.testing.assert_allclose(loaded.b.get_value(), b, rtol=1e-12)
    assert not np.allclose(model.W.get_value(), W)   # the original did not move
    # long-term: save only the parameters, as the tutorial recommends
    with open(tmp_path / 'params.save', 'wb') as f:
        pickle.dump((loaded.W, loaded.b), f, protocol=pickle.HIGHEST_PROTOCOL)
    with open(tmp_path / 'params.save', 'rb') as f:
        W2, b2 = pickle.load(f)
    np.testing.assert_array_equal(W2.get_value(), loaded.W.get_value())
    assert b2.get_value() == loaded.b.get_value()


def test_function_dump_and_load_in_a_new_process(tmp_path):
    x = T.dvector('x')
    s = theano.shared(np.array([1.0, 2.0]), name='s')
    dump = str(tmp_path / 'func_dump.bin')
    theano.function_dump(dump, [x], (x * s).sum(), updates=[(s, s * 2)], mode=FC)
    with open(dump, 'rb') as f:
        d = pickle.load(f)
    assert d['mode'] == FC and d['updates'][0][0].name == 's'
    g = theano.function(**d)
    assert g(np.ones(2)) == 3.0 and list(d['updates'][0][0].get_value()) == [2.0, 4.0]
    # a pickled function loads in another process (compiled again there)
    f = function([x], (x * s).sum(), updates=[(s, s + x)], mode=FC)
    with open(tmp_path / 'f.pkl', 'wb') as fh:
        pickle.dump((f, s), fh)
    script = ("import pickle, numpy as np, tjit\n"
              f"f, s = pickle.load(open({str(tmp_path / 'f.pkl')!r}, 'rb'))\n"
              "print(f(np.array([1.0, 10.0])), f(np.array([1.0, 10.0])), s.get_value().tolist())\n")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, '-c', script], cwd=root, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    # s = [1, 2]: 1 + 20, then s = [2, 12]: 2 + 120, then s = [3, 22]
    assert out.stdout.split() == ['21.0', '122.0', '[3.0,', '22.0]']


def test_an_unpickled_op_hashes_as_the_loading_process_hashes_it():
    # Op caches its hash; a str prop's hash is salted per process, so a cached hash
    # that travelled in the pickle would make equal ops miss in dicts (merge, caches).
    x = T.dvector("x")
    op = T.sum(x, axis=0).owner.op
    hash(op)
    data = pickle.dumps(op)
    assert b"_props_hash" not in data
    code = ("import pickle, sys, tjit.tensor as T\n"
            "mine = T.sum(T.dvector('x'), axis=0).owner.op\n"
            "theirs = pickle.loads(sys.stdin.buffer.read())\n"
            "print(theirs == mine, hash(theirs) == hash(mine), {mine: 1}.get(theirs))\n")
    out = subprocess.run([sys.executable, "-c", code], input=data, capture_output=True,
                         env=dict(os.environ, PYTHONHASHSEED="random"), check=True)
    assert out.stdout.split() == [b"True", b"True", b"1"]
