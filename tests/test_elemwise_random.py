"""Random elementwise graphs against a NumPy reference evaluator.

Hypothesis builds expression trees over the elementwise ops of SPEC.md with leaves
of random dtype (prefixes b w i l f d, and c z for ops NumPy defines on complex)
and kind (scalar, vector, row, col, matrix, tensor3), so broadcasting happens,
plus Python-number constants (autocast as Theano). Each graph is compiled twice:

* with every internal node as an output (a multi-output fused kernel): each node's
  value is checked against the NumPy reference of its op applied to the values
  tjit computed for its children (so a last-ulp libm difference upstream is never
  amplified by a later floor/comparison/cancellation into a false alarm);
* with the root as the only output: its value must equal the multi-output one.

The dtype of every node must equal Theano's rule, computed here independently of
tjit (`expected_dtype`). Inputs are fed contiguous, strided, reversed (negative
strides), Fortran-ordered, and with empty dims.

Documented integer semantics (NumPy agrees): x // 0 == 0 and x % 0 == 0 for
integers; integer overflow wraps. Integer ** integer is only built with a
non-negative exponent (the graph clips it to [0, 7]): NumPy raises on negative
integer exponents. Float -> int casts are not generated (out-of-range conversion is
undefined in C and Theano alike; tests/test_elemwise_edges.py covers in-range ones).
"""
from __future__ import annotations

import numpy as np
import scipy.special as sp
from hypothesis import HealthCheck, given, settings, strategies as st

from helpers import apply_layout
import tjit as theano
import tjit.tensor as T

PREFIX = {"b": "int8", "w": "int16", "i": "int32", "l": "int64", "f": "float32",
          "d": "float64", "c": "complex64", "z": "complex128"}
KINDS = {"scalar": (), "vector": (False,), "row": (True, False), "col": (False, True),
         "matrix": (False, False), "tensor3": (False, False, False)}
INTS = ("int8", "int16", "int32", "int64")
FLOATS = ("float32", "float64")
COMPLEX = ("complex64", "complex128")
DISCRETE = ("bool",) + INTS


# ---- Theano's dtype rules, written independently of tjit ---------------------------
def upcast(*dtypes):
    return str(np.result_type(*[np.dtype(d) for d in dtypes]))


_TO_FLOAT = {"bool": "float32", "int8": "float32", "int16": "float32", "int32": "float64",
             "int64": "float64"}


def upgrade_to_float(*dtypes):
    return upcast(*[_TO_FLOAT.get(d, d) for d in dtypes])


def autocast(value):
    """Theano's autocasting of a Python number (floatX=float64)."""
    if isinstance(value, int):
        for dt in INTS:
            if np.iinfo(dt).min <= value <= np.iinfo(dt).max:
                return dt
    with np.errstate(over="ignore"):
        exact32 = float(np.float32(value)) == value
    if exact32:
        return "float32"
    return "float64"


# ---- the ops: name -> (arity, rule, tjit builder, numpy implementation) ----------------
def _np_intdiv(x, y):
    return np.floor_divide(x, y)  # NumPy: x // 0 == 0 for ints, like tjit


def _round_away(x):
    return np.where(x >= 0, np.floor(x + x.dtype.type(0.5)), np.ceil(x - x.dtype.type(0.5)))


def _gammaln(x):
    # SciPy returns inf for subnormal x; the exact value is -log|x| to double
    # precision there (lgamma(x) = -log|x| - 0.5772 x + O(x**2)), as C's lgamma gives
    out = np.asarray(sp.gammaln(x))
    sub = (x != 0) & (np.abs(x) < np.finfo(x.dtype).tiny)
    return np.where(sub, -np.log(np.abs(x)), out).astype(out.dtype)


def _softplus(x):
    return np.logaddexp(x.dtype.type(0), x)


OPS = {
    # rule 'upcast': out = upcast(inputs), no complex unless listed
    "add": (2, "upcast", lambda a, b: a + b, np.add),
    "sub": (2, "upcast", lambda a, b: a - b, np.subtract),
    "mul": (2, "upcast", lambda a, b: a * b, np.multiply),
    "maximum": (2, "upcast", T.maximum, np.maximum),
    "minimum": (2, "upcast", T.minimum, np.minimum),
    "int_div": (2, "upcast", lambda a, b: a // b, _np_intdiv),
    "mod": (2, "upcast", lambda a, b: a % b, np.mod),
    "pow": (2, "upcast", lambda a, b: a ** b, np.power),
    "neg": (1, "upcast", lambda a: -a, np.negative),
    "sqr": (1, "upcast", T.sqr, np.square),
    "sgn": (1, "upcast", T.sgn, np.sign),
    "floor": (1, "upcast", T.floor, np.floor),
    "ceil": (1, "upcast", T.ceil, np.ceil),
    "clip": (3, "upcast", T.clip, lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi)),
    "true_div": (2, "div", lambda a, b: a / b, np.true_divide),
    "abs": (1, "abs", T.abs_, np.abs),
    "round": (1, "float_only", T.round, np.round),
    "round_away": (1, "float_only", lambda a: T.round(a, mode="half_away_from_zero"),
                   _round_away),
    "lt": (2, "cmp", lambda a, b: a < b, np.less),
    "le": (2, "cmp", lambda a, b: a <= b, np.less_equal),
    "gt": (2, "cmp", lambda a, b: a > b, np.greater),
    "ge": (2, "cmp", lambda a, b: a >= b, np.greater_equal),
    "eq": (2, "cmp", T.eq, np.equal),
    "neq": (2, "cmp", T.neq, np.not_equal),
    "and": (2, "bitwise", lambda a, b: a & b, np.bitwise_and),
    "or": (2, "bitwise", lambda a, b: a | b, np.bitwise_or),
    "xor": (2, "bitwise", lambda a, b: a ^ b, np.bitwise_xor),
    "invert": (1, "bitwise", lambda a: ~a, np.invert),
    "switch": (3, "switch", T.switch, lambda c, a, b: np.where(c != 0, a, b)),
    "arctan2": (2, "float", T.arctan2, np.arctan2),
    "sigmoid": (1, "float", T.nnet.sigmoid, sp.expit),
    "softplus": (1, "float", T.nnet.softplus, _softplus),
}
for _name in ("exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "sin", "cos",
              "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh"):
    OPS[_name] = (1, "float", getattr(T, _name), getattr(np, _name))
for _name in ("erf", "erfc", "erfinv", "gamma", "psi"):
    OPS[_name] = (1, "float", getattr(T, _name), getattr(sp, _name))
OPS["gammaln"] = (1, "float", T.gammaln, _gammaln)

COMPLEX_OK = {"add", "sub", "mul", "neg", "sqr", "true_div", "abs", "eq", "neq", "switch",
              "exp", "log", "sqrt", "sin", "cos", "tanh"}
# ops computed exactly (bit for bit) by both sides
EXACT = {"add", "sub", "mul", "maximum", "minimum", "int_div", "mod", "neg", "sqr", "sgn",
         "floor", "ceil", "clip", "abs", "round", "round_away", "lt", "le", "gt", "ge", "eq",
         "neq", "and", "or", "xor", "invert", "switch", "cast"}
SPECIAL = {"erf", "erfc", "erfinv", "gamma", "gammaln", "psi", "sigmoid", "softplus"}


def applicable(name, dtypes):
    rule = OPS[name][1]
    if any(d in COMPLEX for d in dtypes) and name not in COMPLEX_OK:
        return False
    if name == "switch" and dtypes[0] in COMPLEX:
        return False
    if rule == "bitwise":
        return all(d in DISCRETE for d in dtypes)
    if rule == "float_only":
        return all(d in FLOATS for d in dtypes)
    # Theano's bool arithmetic is not NumPy's (bool - bool raises in NumPy): bools
    # reach arithmetic only through a cast (see `_debool`).
    if rule in ("upcast", "div", "abs", "float") and "bool" in dtypes:
        return False
    return True


def expected_dtype(name, dtypes):
    rule = OPS[name][1] if name != "cast" else "cast"
    if rule in ("upcast", "bitwise", "float_only"):
        return upcast(*dtypes)
    if rule == "float":
        return upgrade_to_float(*dtypes)
    if rule == "div":
        return "float64" if all(d in DISCRETE for d in dtypes) else upcast(*dtypes)
    if rule == "abs":
        return {"complex64": "float32", "complex128": "float64"}.get(dtypes[0], dtypes[0])
    if rule == "cmp":
        return "bool"
    if rule == "switch":
        return upcast(*dtypes[1:])
    raise AssertionError(rule)


def reference(name, values, out_dtype, cast_to=None):
    """NumPy value of op `name` on `values` (arrays of the children's dtypes)."""
    with np.errstate(all="ignore"):
        if name == "cast":
            return values[0].astype(cast_to)
        rule = OPS[name][1]
        fn = OPS[name][3]
        if rule == "cmp":
            dt = upcast(*[str(v.dtype) for v in values])
            return fn(*[v.astype(dt) for v in values])
        if rule == "switch":
            c, a, b = values
            return fn(c, a.astype(out_dtype), b.astype(out_dtype))
        if rule == "abs":
            return np.abs(values[0]).astype(out_dtype)
        if name in ("floor", "ceil") and out_dtype in DISCRETE:
            return values[0].astype(out_dtype)
        args = [v.astype(out_dtype) for v in values]
        return np.asarray(fn(*args)).astype(out_dtype)


# ---- graphs -----------------------------------------------------------------------
class Node:
    def __init__(self, name, children, var, dtype, cast_to=None):
        self.name, self.children, self.var, self.dtype = name, children, var, dtype
        self.cast_to = cast_to


class Leaf:
    def __init__(self, index, var, dtype, const=None):
        self.index, self.var, self.dtype, self.const = index, var, dtype, const
        self.children = ()
        self.name = "leaf"


LEAF_DTYPES = st.sampled_from(list(PREFIX))
CONSTANTS = st.sampled_from([2, -3, 0, 300, 70000, 0.5, 0.1, -2.25, 1e10])


def _debool(node, draw):
    """A bool node used in arithmetic goes through a cast (Theano-compatible)."""
    if node.dtype != "bool":
        return node
    dt = draw(st.sampled_from(["int8", "int32", "float32", "float64"]))
    return Node("cast", [node], T.cast(node.var, dt), dt, cast_to=dt)


@st.composite
def graphs(draw):
    n_leaves = draw(st.integers(1, 3))
    complex_ok = draw(st.booleans()) and draw(st.booleans())  # complex in ~1/4 graphs
    prefixes = [draw(st.sampled_from(list(PREFIX) if complex_ok else list(PREFIX)[:6]))
                for _ in range(n_leaves)]
    kinds = [draw(st.sampled_from(list(KINDS))) for _ in range(n_leaves)]
    leaves = []
    for i, (p, k) in enumerate(zip(prefixes, kinds)):
        var = getattr(T, p + k)(f"x{i}")
        leaves.append(Leaf(i, var, PREFIX[p]))

    def leaf():
        if draw(st.integers(0, 5)) == 0:
            value = draw(CONSTANTS)
            return Leaf(None, T.constant(value), autocast(value), const=value)
        return draw(st.sampled_from(leaves))

    def build(depth):
        if depth == 0 or draw(st.integers(0, 3)) == 0:
            return leaf()
        arity = draw(st.sampled_from([1, 1, 2, 2, 2, 3]))
        children = [build(depth - 1) for _ in range(arity)]
        if arity == 1 and draw(st.integers(0, 6)) == 0:
            child = children[0]
            if child.dtype in FLOATS:
                targets = ["float32", "float64"]
            elif child.dtype in COMPLEX:
                targets = ["complex64", "complex128"]
            else:
                targets = ["int8", "int16", "int32", "int64", "float32", "float64"]
            dt = draw(st.sampled_from(targets))
            return Node("cast", [child], T.cast(child.var, dt), dt, cast_to=dt)
        names = [n for n, spec in OPS.items() if spec[0] == arity]
        name = draw(st.sampled_from(sorted(names)))
        rule = OPS[name][1]
        if rule not in ("bitwise", "cmp") and name != "switch":
            children = [_debool(c, draw) for c in children]
        elif name == "switch":
            children = children[:1] + [_debool(c, draw) for c in children[1:]]
        dtypes = [c.dtype for c in children]
        if not applicable(name, dtypes):
            name = {1: "neg", 2: "add", 3: "switch"}[arity]
            if not applicable(name, dtypes):
                name = "eq" if arity == 2 else None
            if name is None or not applicable(name, dtypes):
                return children[0]
        if name == "pow" and all(d in DISCRETE for d in dtypes):
            e = children[1]
            clipped = T.clip(e.var, 0, 7)
            children[1] = Node("clip", [e, Leaf(None, T.constant(0), "int8", 0),
                                        Leaf(None, T.constant(7), "int8", 7)],
                               clipped, upcast(e.dtype, "int8"))
            dtypes = [c.dtype for c in children]
        var = OPS[name][2](*[c.var for c in children])
        return Node(name, children, var, expected_dtype(name, dtypes))

    root = build(draw(st.integers(1, 4)))
    if isinstance(root, Leaf):
        root = Node("neg" if root.dtype != "bool" else "invert", [root], -root.var
                    if root.dtype != "bool" else ~root.var, root.dtype)
    return leaves, root


def internal_nodes(root):
    out, seen = [], set()

    def walk(n):
        if isinstance(n, Leaf) or id(n) in seen:
            return
        seen.add(id(n))
        for c in n.children:
            walk(c)
        out.append(n)
    walk(root)
    return out


# ---- values -----------------------------------------------------------------------
SPECIALS = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 0.5, 1e300, -1e-310])


def make_value(rng, dtype, shape, layout):
    full = list(shape)
    if layout == "strided" and full:
        full[-1] = 2 * full[-1]
    full = tuple(full)
    if dtype in INTS:
        if rng.random() < 0.25:
            info = np.iinfo(dtype)
            a = np.array(rng.integers(info.min, info.max, size=full, dtype=dtype,
                                      endpoint=True), dtype=dtype)
        else:
            a = np.array(rng.integers(-20, 21, size=full), dtype=dtype)
    else:
        real = dtype if dtype in FLOATS else {"complex64": "float32",
                                              "complex128": "float64"}[dtype]
        a = np.array(rng.standard_normal(full) * rng.choice([0.5, 3.0, 30.0]), dtype=real)
        if a.size and rng.random() < 0.5:
            mask = rng.random(full) < 0.2
            with np.errstate(all="ignore"):
                a[mask] = rng.choice(SPECIALS, size=int(mask.sum())).astype(real)
        if dtype in COMPLEX:
            a = np.array(a + 1j * rng.standard_normal(full).astype(real), dtype=dtype)
    return apply_layout(a, layout, shape)


def leaf_shape(bc, base):
    dims = base[3 - len(bc):] if bc else ()
    return tuple(1 if b else n for b, n in zip(bc, dims))


# ---- comparison ---------------------------------------------------------------------
def tolerance(name, dtype):
    real = {"complex64": "float32", "complex128": "float64"}.get(dtype, dtype)
    if real == "float32":
        return (2e-5, 1e-6) if name in SPECIAL or name not in EXACT else (1e-6, 1e-30)
    return (1e-12, 1e-15) if name in SPECIAL or name not in EXACT else (4e-16, 1e-300)


def assert_close(got, want, name, dtype, what):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, (what, got.shape, want.shape)
    if dtype in DISCRETE:
        np.testing.assert_array_equal(got, want, err_msg=what)
        return
    rtol, atol = tolerance(name, dtype)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)


_MULTI_CACHE = {}


@settings(max_examples=250, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(graph=graphs(), base=st.tuples(st.sampled_from([0, 1, 2, 3]),
                                      st.sampled_from([1, 2, 3, 5]),
                                      st.sampled_from([0, 1, 2, 4, 7])),
       seed=st.integers(0, 2 ** 32 - 1))
def test_random_elementwise_graph(graph, base, seed):
    leaves, root = graph
    nodes = internal_nodes(root)
    used = [lf for lf in leaves if any(lf is c for n in nodes for c in n.children)]
    inputs = [lf.var for lf in used]
    for n in nodes:
        assert n.var.dtype == n.dtype, (n.name, [c.dtype for c in n.children],
                                        n.var.dtype, n.dtype)
    f_all = theano.function(inputs, [n.var for n in nodes], on_unused_input="ignore")
    f_root = theano.function(inputs, root.var, on_unused_input="ignore")
    rng = np.random.default_rng(seed)
    for layout in ("contiguous", "strided", "reversed", "fortran"):
        values = {id(lf): make_value(rng, lf.dtype, leaf_shape(lf.var.broadcastable, base),
                                     layout) for lf in used}
        snapshot = {k: v.copy() for k, v in values.items()}
        args = [values[id(lf)] for lf in used]
        outs = f_all(*args)
        got = {id(n): o for n, o in zip(nodes, outs)}

        def value_of(c):
            if isinstance(c, Leaf):
                if c.const is not None:
                    return np.asarray(c.const, dtype=c.dtype)
                return values[id(c)]
            return got[id(c)]

        for n in nodes:
            out = got[id(n)]
            assert isinstance(out, np.ndarray)
            assert str(out.dtype) == n.dtype, (n.name, out.dtype, n.dtype)
            child_values = [value_of(c) for c in n.children]
            want = reference(n.name, child_values, n.dtype, n.cast_to)
            want = np.broadcast_to(want, np.broadcast_shapes(*[v.shape for v in child_values]))
            what = (f"{n.name}({', '.join(c.dtype for c in n.children)}) in "
                    f"{theano.pp(root.var)} [{layout}, base {base}]")
            assert_close(out, want, n.name, n.dtype, what)
        single = f_root(*args)
        assert str(single.dtype) == root.dtype
        assert_close(single, got[id(root)], root.name, root.dtype,
                     f"single-output {theano.pp(root.var)} vs multi-output [{layout}]")
        for lf in used:  # inputs are never written
            np.testing.assert_array_equal(values[id(lf)], snapshot[id(lf)])


# ---- targeted cases the random search may rarely hit -------------------------------
def test_dtype_rules_every_pair_of_leaf_dtypes():
    """Every op's output dtype for every pair of leaf dtypes is Theano's rule."""
    for pa in PREFIX:
        for pb in PREFIX:
            a, b = getattr(T, pa + "vector")(), getattr(T, pb + "matrix")()
            for name, (arity, rule, build, _) in OPS.items():
                dts = [a.dtype, b.dtype, a.dtype][:arity]
                args = [a, b, a][:arity]
                if not applicable(name, dts):
                    continue
                if name == "switch":
                    args[0] = T.cast(args[0], "int8") if a.dtype in COMPLEX else args[0]
                    dts[0] = args[0].dtype
                out = build(*args)
                assert out.dtype == expected_dtype(name, dts), (name, dts, out.dtype)


def test_broadcasting_all_kind_pairs_and_layouts():
    """x + 2*y over every pair of kinds, fed every layout, float64 and int32."""
    rng = np.random.default_rng(0)
    base = (2, 3, 4)
    for ka in KINDS:
        for kb in KINDS:
            for p in ("d", "i"):
                a, b = getattr(T, p + ka)("a"), getattr(T, p + kb)("b")
                f = theano.function([a, b], [a + 2 * b, T.maximum(a, b) - a * b])
                for layout in ("contiguous", "strided", "reversed", "fortran"):
                    va = make_value(rng, a.dtype, leaf_shape(a.broadcastable, base), layout)
                    vb = make_value(rng, b.dtype, leaf_shape(b.broadcastable, base), layout)
                    r1, r2 = f(va, vb)
                    with np.errstate(all="ignore"):
                        w1 = va + np.asarray(2, "int8") * vb
                        w2 = np.maximum(va, vb) - va * vb
                    assert r1.dtype == w1.dtype and r2.dtype == w2.dtype
                    np.testing.assert_array_equal(r1, w1)
                    np.testing.assert_array_equal(r2, w2)


def test_empty_inputs_give_empty_outputs():
    x, y = T.dmatrix("x"), T.dvector("y")
    f = theano.function([x, y], [T.exp(x) * y + 1, (x < y).astype("int8")])
    for xs, ys in [((0, 3), (3,)), ((4, 0), (0,)), ((0, 0), (0,))]:
        a, b = f(np.zeros(xs), np.zeros(ys))
        assert a.shape == xs and a.dtype == np.float64
        assert b.shape == xs and b.dtype == np.int8


def test_integer_division_by_zero_is_zero():
    """tjit (and NumPy) define x // 0 == 0 and x % 0 == 0 for integers."""
    x, y = T.ivector("x"), T.ivector("y")
    f = theano.function([x, y], [x // y, x % y])
    a = np.array([7, -7, 0, 2 ** 31 - 1, -2 ** 31], "int32")
    q, r = f(a, np.zeros(5, "int32"))
    np.testing.assert_array_equal(q, np.zeros(5, "int32"))
    np.testing.assert_array_equal(r, np.zeros(5, "int32"))
    assert q.dtype == np.int32 and r.dtype == np.int32
