"""Shared-variable updates under concurrent calls: none is lost, no deadlock."""
from __future__ import annotations

import threading

import numpy as np

import tjit as theano
import tjit.tensor as T

THREADS = 8


def _hammer(calls):
    """Run each callable of `calls` on its own thread, all released at once."""
    start = threading.Barrier(len(calls))
    errors = []

    def run(fn):
        start.wait()
        try:
            fn()
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(fn,)) for fn in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a call deadlocked"
    assert not errors, errors


def test_no_update_is_lost_when_one_function_is_called_from_8_threads():
    c = theano.shared(np.int64(0))
    x = T.dvector("x")
    f = theano.function([x], x.sum(), updates=[(c, c + 1)])
    n = 2000
    ones = np.ones(4)

    def calls():
        for _ in range(n):
            assert f(ones) == 4.0

    _hammer([calls] * THREADS)
    assert c.get_value() == THREADS * n


def test_functions_updating_overlapping_variables_in_any_order_do_not_deadlock():
    a = theano.shared(np.float64(0), name="a")
    b = theano.shared(np.float64(0), name="b")
    f = theano.function([], [], updates=[(a, a + 1), (b, b + 2)])
    g = theano.function([], [], updates={b: b - 1, a: a + 3})
    h = theano.function([], [], updates=[(b, b + a * 0 + 5)])    # reads a, writes b
    n = 500

    def repeat(fn):
        return lambda: [fn() for _ in range(n)]

    _hammer([repeat(f), repeat(g), repeat(h), repeat(f), repeat(g), repeat(h)])
    assert a.get_value() == 2 * n * (1 + 3)
    assert b.get_value() == 2 * n * (2 - 1 + 5)


def test_functions_without_updates_take_no_lock():
    s = theano.shared(np.ones(3))
    x = T.dvector("x")
    assert theano.function([x], x * s).locks == []
    f = theano.function([x], x * s, updates=[(s, s * 2)])
    assert len(f.locks) == 1
