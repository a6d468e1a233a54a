"""printing.Print (prints values as the function runs) and debugprint in Theano 1.0's
exact format. Expected strings marked "Theano" are copied from Theano 1.0's
theano/tests/test_printing.py (test_debugprint) and doc/library/printing.txt."""
import io

import numpy as np
import pytest

import tjit as theano
import tjit.tensor as T
from tjit import printing
from tjit.printing import debugprint
from tjit.tensor.basic import patternbroadcast


# ---- Print ---------------------------------------------------------------------
def test_print_doc_example(capsys):
    # doc/library/printing.txt: "hello world __str__ = [ 1.  2.  3.]" (NumPy's str)
    x = T.dvector()
    hello_world_op = printing.Print('hello world')
    f = theano.function([x], hello_world_op(x))
    r = f([1, 2, 3])
    assert capsys.readouterr().out == "hello world __str__ = %s\n" % np.array([1., 2., 3.])
    np.testing.assert_array_equal(r, [1.0, 2.0, 3.0])
    f([4, 5])  # prints at every call
    assert capsys.readouterr().out == "hello world __str__ = %s\n" % np.array([4., 5.])


def test_print_attrs_and_callables_inside_an_optimized_graph(capsys):
    y = T.dvector('y')
    shown = printing.Print('mid', attrs=('shape', 'sum'))(y * 2)
    out = T.exp(shown) + 1  # fusion would merge y*2, exp and +1 without the Print
    for mode in ('FAST_RUN', 'FAST_COMPILE'):
        f = theano.function([y], out, mode=mode)
        assert capsys.readouterr().out == ""  # nothing at compile time
        v = np.array([0.5, -1.0, 2.0])
        np.testing.assert_allclose(f(v), np.exp(v * 2) + 1, rtol=1e-15)
        assert capsys.readouterr().out == "mid shape = (3,)\nmid sum = 3.0\n"
        assert any(isinstance(n.op, printing.Print) for n in f.nodes)


def test_print_of_a_constant_prints_when_run_not_when_folded(capsys):
    c = printing.Print('const')(T.constant(np.arange(3.0)))
    f = theano.function([], c * 2)
    assert capsys.readouterr().out == ""
    np.testing.assert_array_equal(f(), [0.0, 2.0, 4.0])
    assert capsys.readouterr().out == "const __str__ = %s\n" % np.arange(3.0)


def test_print_gradient_passes_through(capsys):
    x = T.dvector('x')
    cost = (printing.Print('x')(x) ** 2).sum()
    g = theano.function([x], T.grad(cost, x))
    np.testing.assert_allclose(g([1.0, -3.0]), [2.0, -6.0])
    assert capsys.readouterr().out == "x __str__ = %s\n" % np.array([1.0, -3.0])


def test_print_output_is_a_copy_for_the_caller(capsys):
    x = T.dvector('x')
    s = theano.shared(np.zeros(2), name='s')
    f = theano.function([x], [printing.Print('x')(x), printing.Print('s')(s)])
    a = np.ones(2)
    rx, rs = f(a)
    rx[0] = rs[0] = 7.0
    np.testing.assert_array_equal(a, [1.0, 1.0])
    np.testing.assert_array_equal(s.get_value(), [0.0, 0.0])
    out = capsys.readouterr().out.splitlines()
    assert sorted(out) == ["s __str__ = [0. 0.]", "x __str__ = [1. 1.]"]


def test_print_inside_scan_prints_every_step(capsys):
    x = T.dvector('x')
    r, _ = theano.scan(lambda v, acc: acc + printing.Print('v')(v), sequences=x,
                       outputs_info=T.constant(0.0))
    f = theano.function([x], r)
    np.testing.assert_allclose(f([1.0, 2.0, 4.0]), [1.0, 3.0, 7.0])
    assert capsys.readouterr().out.splitlines() == [
        "v __str__ = 1.0", "v __str__ = 2.0", "v __str__ = 4.0"]


# ---- debugprint: Theano's exact strings ------------------------------------------
def _theano_test_graph():
    # theano/tests/test_printing.py, test_debugprint
    A = T.matrix(name='A')
    B = T.matrix(name='B')
    C = A + B
    C.name = 'C'
    D = T.matrix(name='D')
    E = T.matrix(name='E')
    F = D + E
    G = C + F
    return G


def test_debugprint_ids_int_char_and_empty_as_theano():
    G = _theano_test_graph()
    s = io.StringIO()
    debugprint(G, file=s, ids='int')
    # Theano: "The additional white space are needed!"
    assert s.getvalue() == '\n'.join([
        "Elemwise{add,no_inplace} [id 0] ''   ",
        " |Elemwise{add,no_inplace} [id 1] 'C'   ",
        " | |A [id 2]",
        " | |B [id 3]",
        " |Elemwise{add,no_inplace} [id 4] ''   ",
        "   |D [id 5]",
        "   |E [id 6]",
    ]) + '\n'
    assert debugprint(G, file='str', ids='CHAR') == '\n'.join([
        "Elemwise{add,no_inplace} [id A] ''   ",
        " |Elemwise{add,no_inplace} [id B] 'C'   ",
        " | |A [id C]",
        " | |B [id D]",
        " |Elemwise{add,no_inplace} [id E] ''   ",
        "   |D [id F]",
        "   |E [id G]",
    ]) + '\n'
    assert debugprint(G, file='str', ids='CHAR', stop_on_name=True) == '\n'.join([
        "Elemwise{add,no_inplace} [id A] ''   ",
        " |Elemwise{add,no_inplace} [id B] 'C'   ",
        " |Elemwise{add,no_inplace} [id C] ''   ",
        "   |D [id D]",
        "   |E [id E]",
    ]) + '\n'
    assert debugprint(G, file='str', ids='') == '\n'.join([
        "Elemwise{add,no_inplace}  ''   ",
        " |Elemwise{add,no_inplace}  'C'   ",
        " | |A ",
        " | |B ",
        " |Elemwise{add,no_inplace}  ''   ",
        "   |D ",
        "   |E ",
    ]) + '\n'
    # the default is ids='CHAR', no types, to stdout
    assert debugprint(G, file='str') == debugprint(G, file='str', ids='CHAR')
    ids = debugprint(G, file='str', ids='id')
    assert "[id %d]" % id(G.owner) in ids and "[id %d]" % id(G.owner.inputs[0].owner) in ids


def test_debugprint_doc_example_and_stdout(capsys):
    # doc/library/printing.txt (compared with NORMALIZE_WHITESPACE there)
    x = T.dscalar('x')
    debugprint(T.constant(2.0) * x)
    out = capsys.readouterr().out
    assert [line.rstrip() for line in out.splitlines()] == [
        "Elemwise{mul,no_inplace} [id A] ''",
        " |TensorConstant{2.0} [id B]",
        " |x [id C]"]


def test_debugprint_depth_counts_the_root_as_one():
    x = T.dscalar('x')
    gy = T.grad(x ** 2, x)
    full = debugprint(gy, file='str').splitlines()
    assert debugprint(gy, file='str', depth=1).splitlines() == full[:1]
    two = debugprint(gy, file='str', depth=2).splitlines()
    # as the doc's depth=2 example: the root and its two inputs, ids A, B, C
    assert [line.split(' [id ')[1][0] for line in two] == ['A', 'B', 'C']
    assert all(line.startswith(' |') for line in two[1:])
    assert len(full) > 3
    with pytest.raises(TypeError):
        debugprint(gy, file='str', depth='2')


def test_debugprint_bars_only_under_non_last_children():
    a, b, c = T.dvectors('a', 'b', 'c')
    text = debugprint(T.exp(a + b) * T.log(c), file='str')
    assert [line.rstrip() for line in text.splitlines()] == [
        "Elemwise{mul,no_inplace} [id A] ''",
        " |Elemwise{exp,no_inplace} [id B] ''",
        " | |Elemwise{add,no_inplace} [id C] ''",
        " |   |a [id D]",
        " |   |b [id E]",
        " |Elemwise{log,no_inplace} [id F] ''",
        "   |c [id G]"]


def test_debugprint_types_apply_list_and_done():
    x = T.dmatrix('x')
    y = T.exp(x)
    typed = debugprint(y, file='str', print_type=True)
    assert typed == ("Elemwise{exp,no_inplace} [id A] <TensorType(float64, matrix)> ''   \n"
                     " |x [id B] <TensorType(float64, matrix)>\n")
    assert debugprint(y.owner, file='str') == debugprint(y, file='str')
    both = debugprint([y, x.T], file='str').splitlines()
    assert both[-2:] == ["DimShuffle{1,0} [id C] ''   ", " |x [id B]"]
    # `done` shared between calls: ids continue, printed nodes are not expanded again
    done = {}
    first = debugprint(y, file='str', done=done)
    second = debugprint([y, T.log(x)], file='str', done=done)
    assert first.splitlines()[0].startswith("Elemwise{exp,no_inplace} [id A]")
    assert second.splitlines() == ["Elemwise{exp,no_inplace} [id A] ''   ",
                                   "Elemwise{log,no_inplace} [id C] ''   ",
                                   " |x [id B]"]
    with pytest.raises(TypeError, match="cannot print"):
        debugprint("blah")


def test_char_ids_as_theano():
    assert [printing.char_from_number(n) for n in (0, 1, 25, 26, 27, 51, 52, 676)] == \
        ['A', 'B', 'Z', 'BA', 'BB', 'BZ', 'CA', 'BAA']
    # the 27th printed variable gets id BA, as in Theano's scan debugprint tests
    xs = T.dscalars(*['v%d' % i for i in range(30)])
    total = xs[0]
    for v in xs[1:]:
        total = total + v
    lines = debugprint(total, file='str').splitlines()
    assert len(lines) == 59  # 29 additions, 30 inputs, each printed once
    assert [line.split('[id ')[1].split(']')[0] for line in lines] == \
        [printing.char_from_number(n) for n in range(59)]
    assert '[id BA]' in lines[26] and '[id CG]' in lines[58]


def test_op_names_as_theano():
    x = T.dmatrix('x')
    f32 = T.fmatrix('f')
    v = T.dvector('v')

    def name(var):
        return debugprint(var, file='str', depth=1).split(' [id')[0]

    assert name(x.sum()) == 'Sum{acc_dtype=float64}'
    assert name(x.sum(axis=0)) == 'Sum{axis=[0], acc_dtype=float64}'
    assert name(f32.sum(axis=1)) == 'Sum{axis=[1], acc_dtype=float64}'
    assert name(x.prod()) == 'Prod{acc_dtype=float64}'
    assert name(T.dot(x, v)) == 'dot'
    assert name(v.dimshuffle('x', 0)) == 'DimShuffle{x,0}'
    assert name(T.arange(5)) == "ARange{dtype='int64'}"
    assert name(T.cast(x, 'int32')) == 'Elemwise{Cast{int32}}'
    assert name(T.nnet.sigmoid(x)) == 'sigmoid'
    assert name(abs(x)) == 'Elemwise{abs_,no_inplace}'
    assert name(T.ones_like(x)) == 'Elemwise{second,no_inplace}'
    row = v.dimshuffle('x', 0)
    assert name(patternbroadcast(row, (False, False))) == 'Rebroadcast{0}'
    assert name(patternbroadcast(T.dtensor3('t'), (False, True, False))) == 'Rebroadcast{?,1}'


def test_debugprint_scan_and_its_inner_graph():
    # the graph of Theano's test_scan_debugprint1 (its outer graph differs: tjit's
    # scan keeps no IncSubtensor/AllocEmpty buffers), printed the same way
    k = T.iscalar("k")
    A = T.dvector("A")
    result, _ = theano.scan(fn=lambda prior_result, A: prior_result * A,
                            outputs_info=T.ones_like(A), non_sequences=A, n_steps=k)
    lines = debugprint(result[-1], file='str').splitlines()
    scan_line = next(line for line in lines if 'for{cpu,scan_fn}' in line)
    scan_id = scan_line.split('[id ')[1].split(']')[0]
    a_id = next(line for line in lines if line.strip().startswith('|A [id')).split(
        '[id ')[1].split(']')[0]
    tail = lines[lines.index('Inner graphs of the scan ops:') - 1:]
    assert tail[0] == '' and tail[2] == ''
    assert tail[3].strip() == "for{cpu,scan_fn} [id %s] ''" % scan_id
    assert tail[4].startswith(" >Elemwise{mul,no_inplace} [id ")
    assert tail[5].startswith(" > |<TensorType(float64, vector)> [id ")
    assert tail[6].startswith(" > |A [id ") and tail[6].endswith("-> [id %s]" % a_id)
    # a named scan prints its name, a while loop as `while`
    r, _ = theano.scan(lambda a: (a * 2, theano.scan_module.until(a > 3)), sequences=A,
                       name='doubler')
    assert debugprint(r, file='str').splitlines()[0].startswith("while{cpu,doubler} [id A]")


def test_debugprint_compiled_function_positions():
    A, B, D = T.dmatrices('A', 'B', 'D')
    f = theano.function([A, B, D], [A + B, A + B - D], mode='FAST_COMPILE')
    text = debugprint(f, file='str')
    pos = {id(n): i for i, n in enumerate(f.nodes)}
    for line, out in zip([ln for ln in text.splitlines() if not ln.startswith(' ')],
                         f.maker_outputs):
        assert line.endswith("''   %d" % pos[id(out.owner)])
    assert debugprint(f, file='str') == text  # same ids on every call


def test_debugprint_print_clients_as_theano():
    # theano/tests/test_printing.py, test_debugprint ("test clients"); Theano's
    # FAST_COMPILE merges the two A + B, as the merge-only mode here
    A = T.matrix(name='A')
    B = T.matrix(name='B')
    D = T.matrix(name='D')
    f = theano.function([A, B, D], [A + B, A + B - D], mode=theano.Mode(optimizer='merge'))
    s = io.StringIO()
    debugprint(f, file=s, print_clients=True)
    assert s.getvalue() == '\n'.join([
        "Elemwise{add,no_inplace} [id A] ''   0 clients:[('[id B]', 1), ('output', '')]",
        " |A [id D]",
        " |B [id E]",
        "Elemwise{sub,no_inplace} [id B] ''   1",
        " |Elemwise{add,no_inplace} [id A] ''   0 clients:[('[id B]', 1), ('output', '')]",
        " |D [id F]",
    ]) + '\n'
    a, b = f(np.ones((1, 2)), np.full((1, 2), 2.0), np.full((1, 2), 5.0))
    np.testing.assert_array_equal(a, [[3.0, 3.0]])
    np.testing.assert_array_equal(b, [[-2.0, -2.0]])
