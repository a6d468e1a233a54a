"""T.grad on random differentiable scalar graphs, against central finite differences.

Hypothesis draws a recipe: input shapes, input values, and a list of steps, each
applying one op to nodes built so far (elementwise functions on safe domains,
binary ops with broadcasting, reductions over random axes with or without
keepdims, dot in every vector/matrix form, transpose/reshape/dimshuffle, basic and
advanced indexing, set/inc_subtensor, switch, nnet ops). A step that does not fit
the operands' shapes is skipped, so every graph is valid. The scalar cost is a
weighted sum of the last nodes. The recipe is built in float64 and checked against
central differences of the compiled cost, then built again in float32, whose
gradients must match the float64 twin's.

Kinks (abs, relu, maximum, switch, clip, max/min reductions) are differentiable
almost everywhere; an example whose point lies within 1e-3 of a kink is rejected
(`assume`), as finite differences are meaningless there.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

import tjit as theano
import tjit.tensor as T

UNARY = {
    "tanh": T.tanh,
    "sin": T.sin,
    "cos": T.cos,
    "sigmoid": T.nnet.sigmoid,
    "softplus": T.nnet.softplus,
    "exp_tanh": lambda a: T.exp(T.tanh(a)),
    "sqrt_1p": lambda a: T.sqrt(a * a + 1),
    "log1p_sq": lambda a: T.log1p(a * a),
    "log_sigmoid": lambda a: T.log(T.nnet.sigmoid(a)),
    "log_logistic": lambda a: T.log(1 / (1 + T.exp(-a))),        # as Theano's tutorial
    "log_1m_logistic": lambda a: T.log(1 - 1 / (1 + T.exp(-a))),
    "arctan": T.arctan,
    "erf": T.erf,
    "expm1_tanh": lambda a: T.expm1(T.tanh(a)),
    "cube": lambda a: a ** 3,
    "ratio": lambda a: a / (1 + a * a),
    "neg": lambda a: -a,
}
KINKED_UNARY = {  # op, the variable whose zeros are its kinks
    "abs": (T.abs_, lambda a: [a]),
    "relu": (T.nnet.relu, lambda a: [a]),
    "clip": (lambda a: T.clip(a, -0.5, 0.75), lambda a: [a + 0.5, a - 0.75]),
}
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (1.5 + T.tanh(b)),
    "pow": lambda a, b: (1.5 + T.tanh(a)) ** T.tanh(b),
}
STEPS = (["unary"] * 4 + ["kinked"] + ["binary"] * 4 + ["maximum", "reduce", "reduce", "dot",
         "dot", "shape", "index", "index", "setinc", "switch", "nnet"])


class Node:
    def __init__(self, var, shape, dup=False):
        self.var, self.shape = var, tuple(shape)
        self.dup = dup  # may hold repeated values by construction (a max would tie)


class Builder:
    """Interprets a recipe into a tjit graph of the given dtype."""

    def __init__(self, recipe, dtype):
        self.dtype = dtype
        self.recipe = recipe
        r, c = recipe["shape"]
        self.inputs = [T.matrix("X", dtype=dtype), T.vector("v", dtype=dtype),
                       T.scalar("s", dtype=dtype)]
        self.nodes = [Node(self.inputs[0], (r, c)), Node(self.inputs[1], (c,)),
                      Node(self.inputs[2], ())]
        self.kinks = []      # variables whose zeros are kinks of the graph
        self.max_args = []   # (variable, axis) of max/min reductions: ties are kinks
        self.trace = []
        for step in recipe["steps"]:
            self.apply(*step)
        tail = self.nodes[-3:]
        cost = 0
        for k, node in enumerate(tail):
            w = self.constant(recipe["weights"][k], node.shape)
            cost = cost + (node.var * w).sum()
        self.cost = cost

    def constant(self, seed, shape):
        values = np.random.default_rng(seed).uniform(0.5, 1.5, size=shape)
        return T.constant(np.asarray(values, dtype=self.dtype))

    def pick(self, i):
        return self.nodes[i % len(self.nodes)]

    def push(self, name, var, shape, dup=False):
        assert var.ndim == len(shape), (name, var.type, shape)
        self.trace.append(name)
        self.nodes.append(Node(var, shape, dup))

    def apply(self, kind, i, j, k, choice):
        a, b, c = self.pick(i), self.pick(j), self.pick(k)
        getattr(self, "step_" + kind)(a, b, c, choice)

    # -- steps ---------------------------------------------------------------
    def step_unary(self, a, b, c, choice):
        name = sorted(UNARY)[choice % len(UNARY)]
        self.push(name, UNARY[name](a.var), a.shape, a.dup)

    def step_kinked(self, a, b, c, choice):
        name = sorted(KINKED_UNARY)[choice % len(KINKED_UNARY)]
        fn, kinks = KINKED_UNARY[name]
        self.kinks += kinks(a.var)
        self.push(name, fn(a.var), a.shape, True)

    def broadcast(self, *nodes):
        """The broadcast shape, by Theano's rule: a dim of size 1 stretches only
        when its type says it is broadcastable (missing leading dims are)."""
        try:
            shape = np.broadcast_shapes(*[n.shape for n in nodes])
        except ValueError:
            return None, True
        for n in nodes:
            pad = len(shape) - len(n.shape)
            for d, (size, bc) in enumerate(zip(n.shape, n.var.broadcastable)):
                if size != shape[pad + d] and not bc:
                    return None, True
        expands = any(n.shape != shape for n in nodes)
        return shape, expands or any(n.dup for n in nodes)

    def step_binary(self, a, b, c, choice):
        shape, dup = self.broadcast(a, b)
        if shape is None:
            return
        name = sorted(BINARY)[choice % len(BINARY)]
        self.push(name, BINARY[name](a.var, b.var), shape, dup)

    def step_maximum(self, a, b, c, choice):
        shape, dup = self.broadcast(a, b)
        if shape is None or a is b:
            return
        self.kinks.append(a.var - b.var)
        fn = T.maximum if choice % 2 else T.minimum
        self.push(fn.__name__, fn(a.var, b.var), shape, True)

    def step_reduce(self, a, b, c, choice):
        if not a.shape:
            return
        kinds = ["sum", "mean", "prod", "max", "min"]
        kind = kinds[choice % len(kinds)]
        axes = [None] + list(range(len(a.shape))) + [-1]
        axis = axes[(choice // 5) % len(axes)]
        keepdims = bool((choice // 50) % 2)
        if kind in ("max", "min"):
            if a.dup:
                return
            self.max_args.append((a.var, axis))
        var = getattr(a.var, kind)(axis=axis, keepdims=keepdims)
        shape = np.empty(a.shape)
        shape = getattr(np, "sum")(shape, axis=axis, keepdims=keepdims).shape
        self.push(f"{kind}(axis={axis}, keepdims={keepdims})", var, shape, a.dup)

    def step_dot(self, a, b, c, choice):
        if len(a.shape) not in (1, 2) or len(b.shape) not in (1, 2):
            return
        x, y, xs, ys = a.var, b.var, a.shape, b.shape
        if xs[-1] != ys[0]:
            if len(xs) == 2 and xs[0] == ys[0]:
                x, xs = x.T, xs[::-1]
            elif len(ys) == 2 and xs[-1] == ys[1]:
                y, ys = y.T, ys[::-1]
            else:
                return
        shape = xs[:-1] + ys[1:]
        self.push("dot", T.dot(x, y), shape, a.dup or b.dup)

    def step_shape(self, a, b, c, choice):
        n = len(a.shape)
        if n == 2:
            form = choice % 3
            if form == 0:
                self.push("T", a.var.T, a.shape[::-1], a.dup)
            elif form == 1:
                self.push("flatten", a.var.flatten(), (a.shape[0] * a.shape[1],), a.dup)
            else:
                self.push("reshape", a.var.reshape(a.shape[::-1]), a.shape[::-1], a.dup)
        elif n == 1:
            if choice % 2:
                self.push("col", a.var.dimshuffle(0, "x"), a.shape + (1,), a.dup)
            else:
                self.push("row", a.var.dimshuffle("x", 0), (1,) + a.shape, a.dup)
        else:
            self.push("to_vector", a.var.dimshuffle("x"), (1,), a.dup)

    def step_index(self, a, b, c, choice):
        if not a.shape or a.shape[0] < 2:
            return
        n = a.shape[0]
        form = choice % 5
        if form == 0:
            self.push("[1:]", a.var[1:], (n - 1,) + a.shape[1:], a.dup)
        elif form == 1:
            self.push("[::-1]", a.var[::-1], a.shape, a.dup)
        elif form == 2:
            idx = [0, n - 1, 0]  # a repeated index: its gradient accumulates
            self.push("[[0,-1,0]]", a.var[idx], (3,) + a.shape[1:], True)
        elif form == 3:
            self.push("[1]", a.var[1], a.shape[1:], a.dup)
        elif len(a.shape) == 2 and a.shape[1] >= 2:
            self.push("[:, ::2]", a.var[:, ::2], (n, (a.shape[1] + 1) // 2), a.dup)

    def step_setinc(self, a, b, c, choice):
        if not a.shape or a.shape[0] < 2:
            return
        form = choice % 3
        if form == 0:
            out = T.inc_subtensor(a.var[0], T.tanh(a.var[-1]))
        elif form == 1:
            out = T.set_subtensor(a.var[:1], T.sin(a.var[-1:]))
        else:
            out = T.inc_subtensor(a.var[[0, 0]], 1.5 * T.tanh(a.var[[1, 1]]))
        self.push(["inc", "set", "inc[[0,0]]"][form], out, a.shape, True)

    def step_switch(self, a, b, c, choice):
        shape, dup = self.broadcast(a, b, c)
        if shape is None:
            return
        self.kinks.append(c.var)
        self.push("switch", T.switch(c.var > 0, a.var, b.var), shape, True)

    def step_nnet(self, a, b, c, choice):
        form = choice % 4
        if len(a.shape) not in (1, 2) or (form == 2 and len(a.shape) != 2):
            return
        if form < 2 and len(a.shape) == 1:  # softmax takes rows: a vector is one row
            a = Node(a.var.dimshuffle("x", 0), (1,) + a.shape, a.dup)
        if form == 0:
            self.push("softmax", T.nnet.softmax(a.var), a.shape, a.dup)
        elif form == 1:
            self.push("log_softmax", T.nnet.log_softmax(a.var), a.shape, a.dup)
        elif form == 2:
            r, k = a.shape
            onehot = np.eye(k, dtype=self.dtype)[np.arange(r) % k]
            out = T.nnet.categorical_crossentropy(T.nnet.softmax(a.var), T.constant(onehot))
            self.push("crossentropy(softmax)", out, (r,), a.dup)
        else:
            t = self.constant(choice, a.shape) * 0.5  # targets in (0.25, 0.75)
            out = T.nnet.binary_crossentropy(T.nnet.sigmoid(a.var), t)
            self.push("binary_crossentropy(sigmoid)", out, a.shape, a.dup)


@st.composite
def recipes(draw):
    n_steps = draw(st.integers(2, 7))
    steps = [(draw(st.sampled_from(STEPS)), draw(st.integers(0, 50)), draw(st.integers(0, 50)),
              draw(st.integers(0, 50)), draw(st.integers(0, 99))) for _ in range(n_steps)]
    return dict(shape=(draw(st.integers(2, 3)), draw(st.integers(2, 4))), steps=steps,
                seed=draw(st.integers(0, 2**31)), weights=[draw(st.integers(0, 999))
                                                         for _ in range(3)])


def input_values(recipe):
    rng = np.random.default_rng(recipe["seed"])
    r, c = recipe["shape"]
    return [rng.uniform(-1.2, 1.2, size=s) for s in ((r, c), (c,), ())]


def kink_margin(builder, values):
    """The distance of the point to the nearest kink of the graph (inf if none)."""
    outs = builder.kinks + [v for v, _ in builder.max_args]
    if not outs:
        return np.inf
    got = theano.function(builder.inputs, outs, on_unused_input="ignore")(*values)
    margins = [np.min(np.abs(g), initial=np.inf) for g in got[:len(builder.kinks)]]
    for (_, axis), v in zip(builder.max_args, got[len(builder.kinks):]):
        v = np.asarray(v)
        flat = v.reshape(-1) if axis is None else np.moveaxis(v, axis, -1)
        flat = np.sort(flat, axis=-1)
        if flat.shape[-1] >= 2:
            margins.append(np.min(np.abs(flat[..., -1] - flat[..., -2])))
            margins.append(np.min(np.abs(flat[..., 1] - flat[..., 0])))
    return min(margins, default=np.inf)


def central_differences(f, values, eps=1e-6):
    grads = []
    for k, v in enumerate(values):
        v = np.asarray(v, dtype="float64")
        g = np.zeros_like(v)
        for i in range(v.size):
            args = [np.array(a, dtype="float64") for a in values]
            plus, minus = args[k].copy(), args[k].copy()
            plus.flat[i] += eps
            minus.flat[i] -= eps
            args[k] = plus
            hi = float(f(*args))
            args[k] = minus
            lo = float(f(*args))
            g.flat[i] = (hi - lo) / (2 * eps)
        grads.append(g)
    return grads


def compile_with_grads(builder):
    grads = T.grad(builder.cost, builder.inputs, disconnected_inputs="ignore")
    f = theano.function(builder.inputs, [builder.cost] + grads)
    return f, grads


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(recipes())
def test_random_graph_gradients_match_finite_differences(recipe):
    b = Builder(recipe, "float64")
    values = input_values(recipe)
    assume(kink_margin(b, values) > 1e-3)
    f, grads = compile_with_grads(b)
    cost, *got = f(*values)
    assume(np.isfinite(cost) and abs(cost) < 1e6)
    cost_only = theano.function(b.inputs, b.cost, on_unused_input="ignore")
    want = central_differences(cost_only, values)
    for name, g, w, v, gv in zip("Xvs", got, want, values, grads):
        assert gv.dtype == "float64" and np.shape(g) == np.shape(v), (name, gv.type)
        tol = 1e-6 * (1 + abs(cost)) + 1e-5 * np.max(np.abs(w), initial=0)
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=tol,
                                   err_msg=f"d cost/d {name}; steps {b.trace}")


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(recipes())
def test_float32_gradients_match_their_float64_twin(recipe):
    b64, b32 = Builder(recipe, "float64"), Builder(recipe, "float32")
    assert b64.trace == b32.trace
    values = input_values(recipe)
    assume(kink_margin(b64, values) > 1e-2)
    f64, _ = compile_with_grads(b64)
    f32, grads32 = compile_with_grads(b32)
    want = f64(*values)
    assume(np.isfinite(want[0]) and abs(want[0]) < 1e3)
    got = f32(*[np.asarray(v, dtype="float32") for v in values])
    assert b32.cost.dtype == "float32" and all(g.dtype == "float32" for g in grads32)
    scale = 1 + max(np.max(np.abs(w), initial=0) for w in want)
    for name, g, w in zip(["cost", "X", "v", "s"], got, want):
        assert np.asarray(g).dtype == np.float32, name
        np.testing.assert_allclose(g, w, rtol=2e-3, atol=2e-3 * scale,
                                   err_msg=f"{name}; steps {b32.trace}")


@pytest.mark.parametrize("step", [s for s in sorted(set(STEPS))])
def test_every_step_kind_builds_and_differentiates(step):
    """Each step kind on its own, applied to X and v: the gradient of a graph using
    it matches finite differences (a deterministic floor under the random tests)."""
    for choice in range(0, 100, 23):
        recipe = dict(shape=(3, 4), steps=[(step, 0, 1, 1, choice), ("unary", -1, 0, 0, 0)],
                      seed=choice, weights=[1, 2, 3])
        b = Builder(recipe, "float64")
        values = input_values(recipe)
        if kink_margin(b, values) <= 1e-3:
            continue
        f, _ = compile_with_grads(b)
        cost, *got = f(*values)
        cost_only = theano.function(b.inputs, b.cost, on_unused_input="ignore")
        want = central_differences(cost_only, values)
        for name, g, w in zip("Xvs", got, want):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6 * (1 + abs(cost)),
                                       err_msg=f"{name}; {b.trace}")


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(recipes())
def test_random_graph_hessians_match_finite_differences_of_the_gradient(recipe):
    """tjit.gradient.hessian with respect to the vector input v, against central
    differences of the compiled gradient; jacobian of the gradient is the same."""
    from tjit.gradient import hessian, jacobian
    b = Builder(recipe, "float64")
    values = input_values(recipe)
    assume(kink_margin(b, values) > 1e-2)
    X, v, s = b.inputs
    g = T.grad(b.cost, v, disconnected_inputs="ignore")
    h = hessian(b.cost, v, disconnected_inputs="ignore")
    j = jacobian(g, v, disconnected_inputs="ignore")
    f = theano.function(b.inputs, [b.cost, g, h, j], on_unused_input="ignore")
    cost, _, got, got_j = f(*values)
    assume(np.isfinite(cost) and abs(cost) < 1e6)
    n = values[1].size
    eps = 1e-5
    want = np.zeros((n, n))
    for k in range(n):
        plus, minus = values[1].copy(), values[1].copy()
        plus[k] += eps
        minus[k] -= eps
        want[:, k] = (f(values[0], plus, values[2])[1] - f(values[0], minus, values[2])[1]) \
            / (2 * eps)
    tol = 1e-5 * (1 + abs(cost) + np.max(np.abs(want), initial=0))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=tol, err_msg=f"steps {b.trace}")
    np.testing.assert_allclose(got_j, got, rtol=1e-12, atol=1e-12)
