"""pp (Theano's infix printer) and debugprint (trees with ids and types)."""
from __future__ import annotations

import io

import numpy as np

import tjit as theano
import tjit.tensor as T


def test_pp_issue_example():
    x = T.dvector('x')
    y = T.dscalar('y')
    assert theano.pp(x + T.exp(y)) == '(x + exp(y))'
    assert theano.printing.pp(x + T.exp(y)) == '(x + exp(y))'


def test_pp_binary_operators_fully_parenthesised():
    x, y, z = T.dscalars('x', 'y', 'z')
    assert theano.pp((x * y) + z) == '((x * y) + z)'
    assert theano.pp(x * (y + z)) == '(x * (y + z))'
    assert theano.pp(x - y - z) == '((x - y) - z)'
    assert theano.pp(x - (y - z)) == '(x - (y - z))'
    assert theano.pp(x / y) == '(x / y)'
    assert theano.pp(x // y) == '(x // y)'
    assert theano.pp(x % y) == '(x % y)'
    assert theano.pp(x ** y) == '(x ** y)'
    assert theano.pp(x ** y ** z) == '(x ** (y ** z))'


def test_pp_unary_and_functions():
    x, y = T.dscalars('x', 'y')
    assert theano.pp(-x) == '(-x)'
    assert theano.pp(T.exp(-x)) == 'exp((-x))'
    assert theano.pp(abs(x)) == '|x|'
    assert theano.pp(T.tanh(T.log1p(x))) == 'tanh(log1p(x))'
    assert theano.pp(T.sqr(x)) == 'sqr(x)'
    assert theano.pp(T.maximum(x, y)) == 'maximum(x, y)'
    assert theano.pp(T.arctan2(x, y)) == 'arctan2(x, y)'
    assert theano.pp(T.switch(x, y, x)) == 'switch(x, y, x)'
    assert theano.pp(T.nnet.sigmoid(x)) == 'sigmoid(x)'
    # Theano prints comparisons and bitwise ops as the function names
    assert theano.pp(x < y) == 'lt(x, y)'
    assert theano.pp(T.gt(x, 0.5)) == 'gt(x, TensorConstant{0.5})'
    assert theano.pp(T.eq(x, y)) == 'eq(x, y)'
    b = T.bscalar('b')
    assert theano.pp(b & b) == 'and_(b, b)'
    assert theano.pp(b | b) == 'or_(b, b)'
    assert theano.pp(b ^ b) == 'xor(b, b)'
    assert theano.pp(~b) == 'invert(b)'


def test_pp_constants():
    x = T.dscalar('x')
    assert theano.pp(x + 1) == '(x + TensorConstant{1})'
    assert theano.pp(x * 2.5) == '(x * TensorConstant{2.5})'
    assert theano.pp(2 ** x) == '(TensorConstant{2} ** x)'
    # Theano's tutorial: the logistic function
    s = 1 / (1 + T.exp(-x))
    assert theano.pp(s) == '(TensorConstant{1} / (TensorConstant{1} + exp((-x))))'


def test_pp_broadcasting_is_invisible_and_transpose():
    m = T.dmatrix('m')
    v = T.dvector('v')
    assert theano.pp(m + v) == '(m + v)'
    assert theano.pp(m.T) == 'm.T'


def test_pp_of_unnamed_variables_and_lists():
    x = T.dvector('x')
    y = T.dvector()
    text = theano.pp(x + y)
    assert text.startswith('(x + ') and text.endswith(')')
    assert theano.pp([x + 1, T.exp(x)]) == '(x + TensorConstant{1})\nexp(x)'


def test_debugprint_variable():
    # Theano 1.0's format: op names with ",no_inplace", no types unless print_type
    x = T.dvector('x')
    y = T.dscalar('y')
    text = theano.printing.debugprint(x + T.exp(y), file='str')
    assert text.split('\n')[0] == "Elemwise{add,no_inplace} [id A] ''   "
    assert ' |x [id B]' in text.split('\n')
    assert 'TensorType' not in text
    typed = theano.printing.debugprint(x + T.exp(y), file='str', print_type=True)
    assert ' |x [id B] <TensorType(float64, vector)>' in typed.split('\n')
    assert any('Elemwise{exp,no_inplace}' in line and '<TensorType(float64, scalar)>' in line
               for line in typed.split('\n'))
    # each id is printed for exactly one node
    lines = text.strip().split('\n')
    ids = [line.split('[id ')[1].split(']')[0] for line in lines]
    assert ids == sorted(set(ids), key=ids.index)


def test_debugprint_repeated_subgraph_printed_once():
    x = T.dvector('x')
    e = T.exp(x)
    text = theano.printing.debugprint(e * e, file='str')
    lines = text.rstrip('\n').split('\n')
    exp_lines = [line for line in lines if 'Elemwise{exp,no_inplace}' in line]
    assert len(exp_lines) == 2
    assert exp_lines[0].split('[id ')[1] == exp_lines[1].split('[id ')[1]  # same id
    assert sum('|x [id' in line for line in lines) == 1  # children not repeated


def test_debugprint_without_types_and_to_file():
    x = T.dvector('x')
    text = theano.printing.debugprint(x * 2, file='str', print_type=False)
    assert 'TensorType' not in text and '[id A]' in text
    buf = io.StringIO()
    assert theano.printing.debugprint(x * 2, file=buf) is buf
    assert buf.getvalue() == theano.printing.debugprint(x * 2, file='str')


def test_debugprint_compiled_function_shows_fused_nodes_and_updates():
    x = T.dvector('x')
    y = T.dscalar('y')
    s = theano.shared(np.zeros(3), name='s')
    f = theano.function([x, theano.In(y, value=2.0, name='y_by_name')],
                        [x + T.exp(y), x * y], updates=[(s, s + x)])
    text = theano.printing.debugprint(f, file='str', print_type=True)
    assert 'FusedElemwise' in text
    assert '[id A]' in text
    assert '# update of s' in text
    assert 'TensorType(float64, vector)' in text
    assert 'x [id' in text and 'y [id' in text and 's [id' in text
    # the optimized graph of the function, not the user's graph; each node line
    # ends with its position in the execution order, as Theano prints it
    assert 'Elemwise{add' not in text
    assert text.split('\n')[0].endswith("''   %d" % next(
        i for i, n in enumerate(f.nodes) if n is f.maker_outputs[0].owner))
    buf = io.StringIO()
    theano.printing.debugprint(f, file=buf, print_type=True)
    assert buf.getvalue() == text
    # still prints values correctly afterwards
    r = f([1.0, 2.0, 3.0])
    np.testing.assert_allclose(r[0], np.array([1.0, 2.0, 3.0]) + np.exp(2.0))


def test_pp_dot_and_parameterised_ops_as_theano():
    # Theano prints dot with its middle-dot operator and other ops as str(op)(args).
    x, y = T.dmatrices("x", "y")
    v = T.dvector("v")
    assert theano.pp(T.dot(x, y)) == r"(x \dot y)"
    assert theano.pp(T.dot(x, v) + 1) == r"((x \dot v) + TensorConstant{1})"
    assert theano.pp(x.sum(axis=0)) == "Sum{axis=[0]}(x)"
    assert theano.pp(T.max(x)) == "Max{axis=[0, 1]}(x)"
