"""Reverse-mode differentiation, as Theano 1.0's theano.gradient: `grad`, `Lop`,
`subgraph_grad`, `jacobian`, `hessian`; `Rop` (tjit/rop.py), `verify_grad`
(tjit/gradient_check.py) and the gradient-steering ops (tjit/gradient_ops.py) are
imported into this namespace.

`grad` walks the graph from the cost back to `wrt` in reverse topological order,
applying each op's `grad` (defined next to the op) and summing the contributions of
every path. What an op's `grad` returns for an input:
  a float tensor      the gradient term (cast to the input's dtype if that is float;
                      kept as it is for an integer input, as Theano does)
  None, or a DisconnectedType variable
                      the input is not connected to the cost through this op
  a NullType variable (grad_undefined / grad_not_implemented)
                      undefined: grad raises NullTypeGradError if it reaches `wrt`
  an integer tensor   zero (an integer-valued gradient can only be zero)
Outputs of integer dtype are piecewise constant: gradients through them are zero
but connected (Theano's rule). Zeros are tracked symbolically (`_ZERO`), so a
switch's condition or an ifelse's adds no `+ 0` terms to the gradient graph.

tjit.tensor imports this module (T.grad, T.jacobian, T.hessian) once the tensor
modules it builds on are loaded.
"""
from __future__ import annotations

import warnings
from functools import reduce

import numpy as np

from .config import config
from .graph import Variable, toposort
from . import scalar as ts
from .gradient_ops import (DisconnectedType, NullType, consider_constant,  # noqa: F401
                           disconnected_grad, disconnected_type, grad_clip, grad_not_implemented,
                           grad_scale, grad_undefined, is_disconnected, is_null, null_type,
                           zero_grad)
from .tensor.basic import cast, ones_like, patternbroadcast, tensor_copy, zeros_like
from .tensor.elemwise import Elemwise
from .tensor.shape_ops import alloc, arange, eye
from .tensor.var import as_tensor_variable

__all__ = ["grad", "Lop", "Rop", "subgraph_grad", "jacobian", "hessian", "verify_grad",
           "numeric_grad", "GradientError", "DisconnectedInputError", "NullTypeGradError",
           "DisconnectedType", "NullType", "disconnected_type", "null_type", "grad_undefined",
           "grad_not_implemented", "zero_grad", "disconnected_grad", "consider_constant",
           "grad_clip", "grad_scale"]


class DisconnectedInputError(ValueError):
    """grad was asked for the gradient with respect to a variable the cost does not
    depend on (or only through indices, shapes or disconnected_grad), and
    disconnected_inputs='raise'."""


class NullTypeGradError(TypeError):
    """grad reached an undefined or unimplemented gradient (a NullType variable)."""


NullGradError = NullTypeGradError  # tjit's earlier name for it


class _KnownZero:
    """A gradient known to be zero that still counts as connected."""

    def __repr__(self):
        return "_ZERO"


_ZERO = _KnownZero()


def _choice(name, value, allowed):
    if value not in allowed:
        raise ValueError(f"Invalid value for keyword {name!r}: {value!r}; valid values are "
                         f"{', '.join(repr(a) for a in allowed)}")


def _constant_ids(consider_constant):
    if consider_constant is None:
        return set()
    try:
        items = list(consider_constant)
    except TypeError:
        raise TypeError(f"consider_constant must be an iterable collection, got "
                        f"{type(consider_constant).__name__}") from None
    for v in items:
        if not isinstance(v, Variable):
            raise TypeError(f"Elements of consider_constant must be variables, but got "
                            f"{type(v).__name__}")
    return {id(v) for v in items}


def _connection_pattern(node):
    """pattern[i][j]: whether output j depends on input i (all True unless the op says)."""
    cp = getattr(node.op, "connection_pattern", None)
    if cp is None:
        return None
    pattern = cp(node)
    if len(pattern) != len(node.inputs) or any(len(r) != len(node.outputs) for r in pattern):
        raise ValueError(f"{node.op}.connection_pattern must be a list of "
                         f"{len(node.inputs)} lists of {len(node.outputs)} bools")
    return pattern


def _depends_on(order, wrt_ids, constant_ids):
    """ids of the variables whose value depends on a variable in `wrt_ids`, along
    the connections ops declare; a consider_constant variable depends on nothing."""
    dep = set(wrt_ids)
    for node in order:
        if not any(id(v) in dep for v in node.inputs):
            continue
        pattern = _connection_pattern(node)
        for j, o in enumerate(node.outputs):
            if id(o) in constant_ids:
                continue
            if pattern is None or any(pattern[i][j] and id(v) in dep
                                      for i, v in enumerate(node.inputs)):
                dep.add(id(o))
    return dep


def _float_zeros_like(v):
    return zeros_like(v) if v.dtype in ts.FLOATS else zeros_like(v, dtype=config.floatX)


def _float_ones_like(v):
    return ones_like(v) if v.dtype in ts.FLOATS else ones_like(v, dtype=config.floatX)


def _format_as(using_list, using_tuple, values):
    if using_list:
        return list(values)
    if using_tuple:
        return tuple(values)
    return values[0]


def grad(cost, wrt, consider_constant=None, disconnected_inputs="raise",
         add_names=True, known_grads=None, return_disconnected="zero",
         null_gradients="raise"):
    """d cost / d wrt for a scalar `cost` and a variable (returns a variable) or a
    list or tuple of them (returns a list or tuple).

    consider_constant    variables not to backpropagate through.
    disconnected_inputs  when the cost does not depend on a wrt variable: 'raise'
                         (DisconnectedInputError), 'warn' or 'ignore'.
    add_names            name each gradient (d<cost name>/d<variable name>) when
                         both are named.
    known_grads          {variable: its gradient}: seeds of the backward pass (the
                         cost may then be None); what reaches a seeded variable
                         from the other seeds adds to its seed.
    return_disconnected  what a disconnected wrt gets: 'zero' (zeros of its shape,
                         floatX for integers), 'None', or 'Disconnected' (a
                         DisconnectedType variable).
    null_gradients       'raise' (NullTypeGradError) or 'return' the NullType
                         variable when a gradient is undefined.
    Bad arguments raise TypeError (a non-scalar cost, a non-variable wrt, a set)
    or ValueError (an unknown option, a NullType cost).
    """
    _choice("disconnected_inputs", disconnected_inputs, ("raise", "warn", "ignore"))
    _choice("return_disconnected", return_disconnected, ("zero", "None", "Disconnected"))
    _choice("null_gradients", null_gradients, ("raise", "return"))
    if cost is None and known_grads is None:
        raise AssertionError("cost and known_grads can't both be None.")
    if isinstance(wrt, (set, frozenset)):
        raise TypeError("wrt must not be a set: sets have no defined iteration order, so "
                        "the gradients could not be returned in a matching order")
    using_list, using_tuple = isinstance(wrt, list), isinstance(wrt, tuple)
    wrt_list = list(wrt) if using_list or using_tuple else [wrt]
    for w in wrt_list:
        if not isinstance(w, Variable):
            raise TypeError(f"grad: wrt must be symbolic variables, got {w!r} of type "
                            f"{type(w).__name__}")
    constant_ids = _constant_ids(consider_constant)

    seeds, roots = {}, []
    if cost is not None:
        if is_null(cost):
            raise ValueError(f"Can't differentiate a NaN cost. cost is NaN because "
                             f"{cost.type.why_null}")
        cost = as_tensor_variable(cost)
        if cost.ndim != 0:
            raise TypeError(f"grad: the cost must be a scalar, but {cost} has {cost.ndim} dims "
                            f"({cost.type}); sum or index it first")
        if cost.dtype in ts.COMPLEX:
            raise TypeError(f"grad: the cost {cost} is complex; take its real part or abs")
        seeds[id(cost)] = _float_ones_like(cost)
        roots.append(cost)
    for v, g in (known_grads or {}).items():
        if not isinstance(g, Variable):
            raise TypeError(f"known_grads values must be symbolic variables; the gradient "
                            f"given for {v} is {type(g).__name__}")
        if not (is_null(g) or is_disconnected(g)) and g.dtype not in ts.FLOATS:
            raise TypeError(f"Gradients must always be NullType, DisconnectedType, or "
                            f"continuous, but grad was given a known_grad of type {g.type} "
                            f"for {v}")
        seeds[id(v)] = g
        if all(r is not v for r in roots):
            roots.append(v)

    cost_name = cost.name if add_names and cost is not None else None
    grads = _backward(roots, seeds, wrt_list, constant_ids, cost_name)

    results = []
    for w in wrt_list:
        g = grads(w)
        if is_null(g):
            if null_gradients == "raise":
                raise NullTypeGradError(f"tensor.grad encountered a NaN. {g.type.why_null}")
        elif g is None:
            msg = (f"grad: the cost does not depend on {w} ({w.type}), or only through "
                   "indices, shapes or disconnected_grad, which have no gradient; pass "
                   "disconnected_inputs='ignore' to get zeros")
            if disconnected_inputs == "raise":
                raise DisconnectedInputError(msg)
            if disconnected_inputs == "warn":
                warnings.warn(msg, stacklevel=2)
            g = {"zero": _float_zeros_like(w), "None": None,
                 "Disconnected": disconnected_type()}[return_disconnected]
        else:
            if g is _ZERO:
                g = _float_zeros_like(w)
            elif g.broadcastable != w.broadcastable:
                g = patternbroadcast(g, w.broadcastable)
            if cost_name is not None and w.name is not None:
                g = _named(g, f"(d{cost_name}/d{w.name})", seeds, results)
        results.append(g)
    return _format_as(using_list, using_tuple, results)


def _named(g, name, seeds, results):
    """`g` named `name`; a copy (an identity, which canonicalize removes) if `g`
    is a seed, carries another name, or is already the gradient of another input."""
    if g.name != name:
        shared = any(g is s for s in seeds.values()) or any(g is r for r in results)
        if g.name is not None or shared:
            g = tensor_copy(g)
        g.name = name
    return g


def _backward(roots, seeds, wrt_list, constant_ids, cost_name):
    """The reverse walk; returns `total(v)`: v's gradient (a variable, _ZERO, or
    None when disconnected)."""
    order = toposort(roots)
    dep = _depends_on(order, {id(w) for w in wrt_list}, constant_ids)
    terms = {}   # id(variable) -> its gradient terms from the nodes using it
    totals = {}  # id(variable) -> its summed gradient

    def total(v):
        key = id(v)
        if key in totals:
            return totals[key]
        # A seed adds to what reaches the variable from the other seeds (so Lop of
        # outputs that depend on each other sums every path).
        ts_ = ([seeds[key]] if key in seeds and not is_disconnected(seeds[key]) else []) \
            + terms.get(key, [])
        nulls = [t for t in ts_ if is_null(t)]
        real = [t for t in ts_ if t is not _ZERO and not is_null(t)]
        if nulls:
            result = nulls[0]
        elif real:
            result = reduce(lambda a, b: a + b, real)
            # Theano names intermediate gradients too; a term shared with
            # another variable's gradient keeps the first name it got
            if cost_name is not None and v.name is not None and result.name is None \
                    and not any(result is s for s in seeds.values()):
                result.name = f"(d{cost_name}/d{v.name})"
        else:
            result = _ZERO if ts_ else None
        totals[key] = result
        return result

    for node in reversed(order):
        ins = [i for i, v in enumerate(node.inputs) if id(v) in dep]
        if not ins:
            continue
        out_grads = [None if id(o) in constant_ids else total(o) for o in node.outputs]
        if all(g is None for g in out_grads):
            continue
        for i, term in _node_terms(node, out_grads, ins):
            terms.setdefault(id(node.inputs[i]), []).append(term)
    return total


def _node_terms(node, out_grads, ins):
    """(input index, gradient term) for the inputs `ins` of `node`, given its
    outputs' gradients (variables, _ZERO or None)."""
    pattern = _connection_pattern(node)
    connected = [j for j, g in enumerate(out_grads) if g is not None]

    def linked(i):
        return pattern is None or any(pattern[i][j] for j in connected)

    nulls = [g for g in out_grads if is_null(g)]
    if nulls:
        return [(i, nulls[0]) for i in ins if linked(i)]
    # Integer outputs are piecewise constant: zero gradient, but connected.
    zero = all(g is _ZERO or node.outputs[j].dtype in ts.DISCRETE for j, g in
               ((j, out_grads[j]) for j in connected))
    feed = []
    for o, g in zip(node.outputs, out_grads):
        if g is None or g is _ZERO or (o.dtype in ts.DISCRETE and g.dtype != o.dtype):
            g = zeros_like(o)
        elif o.dtype in ts.FLOATS and g.dtype != o.dtype:
            g = cast(g, o.dtype)
        feed.append(g)
    try:
        in_grads = _call_grad(node, feed)
    except NotImplementedError as e:
        if zero:
            return [(i, _ZERO) for i in ins if linked(i)]
        return [(i, grad_not_implemented(node.op, i, node.inputs[i], str(e)))
                for i in ins if linked(i)]
    except Exception:
        if zero:  # only asked which inputs are connected; the op did not like zeros
            return [(i, _ZERO) for i in ins if linked(i)]
        raise
    result = []
    for i in ins:
        g = in_grads[i]
        if g is None or is_disconnected(g):
            continue
        if is_null(g):
            result.append((i, _ZERO if zero else g))
            continue
        g = as_tensor_variable(g)
        if zero or g.dtype in ts.DISCRETE:
            result.append((i, _ZERO))
            continue
        inp = node.inputs[i]
        if inp.dtype not in ts.DISCRETE and g.dtype != inp.dtype:
            g = cast(g, inp.dtype)
        result.append((i, g))
    return result


def _call_grad(node, output_grads):
    """The op's gradient terms: `L_op(inputs, outputs, output_grads)` if the op
    defines it (Theano 1.0's protocol), else `grad(inputs, output_grads)`."""
    op = node.op
    if hasattr(op, "L_op"):
        in_grads = op.L_op(node.inputs, node.outputs, output_grads)
    else:
        in_grads = op.grad(node.inputs, output_grads)
    if in_grads is None:
        raise TypeError(f"{op}.grad returned None, expected a list of gradients")
    in_grads = list(in_grads)
    if len(in_grads) != len(node.inputs):
        raise ValueError(f"{op}.grad returned {len(in_grads)} gradient terms for "
                         f"{len(node.inputs)} inputs")
    return in_grads


def Lop(f, wrt, eval_points, consider_constant=None, disconnected_inputs="raise"):
    """The vector-Jacobian product: sum_i eval_points[i] * d f[i] / d wrt, for each
    wrt (a variable, or a list/tuple returned in kind). `f` and `eval_points` are a
    variable or lists of the same length."""
    if not isinstance(eval_points, (list, tuple)):
        eval_points = [eval_points]
    using_list, using_tuple = isinstance(wrt, list), isinstance(wrt, tuple)
    f = list(f) if isinstance(f, (list, tuple)) else [f]
    if len(f) != len(eval_points):
        raise ValueError(f"Lop: {len(f)} outputs but {len(eval_points)} eval_points")
    known = dict(zip(f, eval_points))
    wrt_list = list(wrt) if using_list or using_tuple else [wrt]
    ret = grad(None, wrt_list, consider_constant=consider_constant,
               disconnected_inputs=disconnected_inputs, known_grads=known)
    return _format_as(using_list, using_tuple, ret)


def subgraph_grad(wrt, end, start=None, cost=None, details=False):
    """Gradients of `cost` and/or the `start` seeds ({variable: gradient}) with
    respect to the lists `wrt` and `end`, backpropagating no further than `end`
    (which are held constant). Returns (wrt grads, end grads), plus the start and
    cost parts (lists over wrt + end) when `details`. Disconnected inputs get zeros."""
    if cost is None and start is None:
        raise AssertionError("subgraph_grad: give a cost or start")
    if not isinstance(end, list) or not isinstance(wrt, list):
        raise TypeError("subgraph_grad: wrt and end must be lists")
    if start is not None and not isinstance(start, dict):
        raise TypeError("subgraph_grad: start must be a dict {variable: gradient}")
    params = list({id(v): v for v in wrt + end}.values())
    start_grads = cost_grads = None
    if start is not None:
        start_grads = grad(None, params, known_grads=start, consider_constant=end,
                           disconnected_inputs="ignore")
    if cost is not None:
        cost_grads = grad(cost, params, consider_constant=end, disconnected_inputs="ignore")
    if start_grads is None:
        grads = cost_grads
    elif cost_grads is None:
        grads = start_grads
    else:
        grads = [a + b for a, b in zip(start_grads, cost_grads)]
    by_id = {id(p): g for p, g in zip(params, grads)}
    wrt_grads, end_grads = [by_id[id(v)] for v in wrt], [by_id[id(v)] for v in end]
    if details:
        return wrt_grads, end_grads, start_grads, cost_grads
    return wrt_grads, end_grads


# -- jacobian and hessian (Theano 1.0's signatures and semantics) ----------------------
def _as_list(wrt):
    using_list, using_tuple = isinstance(wrt, list), isinstance(wrt, tuple)
    wrt_list = list(wrt) if using_list or using_tuple else [wrt]
    for w in wrt_list:
        if not isinstance(w, Variable):
            raise TypeError(f"wrt must be symbolic variables, got {type(w).__name__}")
    return using_list, using_tuple, wrt_list


def _dependence(expression, w, consider_constant):
    """How the values of `expression` depend on those of w: 'none', 'elementwise'
    (vectors, element i a function of w[i] only: every variable between them is
    the output of an Elemwise whose inputs depending on w have its own unbroadcast
    shape) or 'general'. Fills read only their model's shape and integers are
    piecewise constant: no derivative flows through either."""
    vectors = w.ndim == 1 and expression.ndim == 1 and w.broadcastable == (False,) \
        and expression.broadcastable == (False,)
    constant_ids = {id(v) for v in (consider_constant or [])}
    dep, mixed = {id(w)}, set()  # elementwise in w; depending on w otherwise
    for node in toposort([expression]):
        inputs = node.inputs[1:] if getattr(node.op, "scalar_op", None) is ts.second \
            else node.inputs
        inputs = [v for v in inputs if id(v) not in constant_ids and v.dtype not in ts.DISCRETE]
        if any(id(v) in mixed for v in inputs):
            mixed.update(id(o) for o in node.outputs)
        elif any(id(v) in dep for v in inputs):
            ok = vectors and isinstance(node.op, Elemwise) and all(
                o.broadcastable == (False,) for o in node.outputs) and all(
                v.broadcastable == (False,) for v in inputs if id(v) in dep)
            (dep if ok else mixed).update(id(o) for o in node.outputs)
    if id(expression) in constant_ids or not ({id(expression)} & (dep | mixed)):
        return "none"
    return "elementwise" if id(expression) in dep and vectors else "general"


def _jacobian_of_vector(expression, w, consider_constant, disconnected_inputs):
    """d expression[i] / d w for a vector expression: shape (n,) + w's shape."""
    # scan compiles its inner function through tjit.function, which imports the
    # whole pipeline, and that imports tjit.tensor, which imports this module
    from .scan_module import scan
    try:
        grad(expression.sum(), w, consider_constant=consider_constant)
        kind = _dependence(expression, w, consider_constant)
    except DisconnectedInputError as e:
        if disconnected_inputs == "raise":
            raise DisconnectedInputError(f"jacobian: {e}") from None
        if disconnected_inputs == "warn":
            warnings.warn(f"jacobian: {e}", stacklevel=3)
        kind = "none"
    if kind == "none":  # a zero Jacobian needs no loop
        dtype = w.dtype if w.dtype not in ts.DISCRETE else config.floatX
        shape = [expression.shape[0]] + [w.shape[d] for d in range(w.ndim)]
        return alloc(np.asarray(0, dtype=dtype), *shape)
    if kind == "elementwise":
        # the Jacobian is diagonal: one backward pass gives it, no loop
        g = grad(expression.sum(), w, consider_constant=consider_constant,
                 disconnected_inputs=disconnected_inputs)
        return eye(g.shape[0], dtype=g.dtype) * g.dimshuffle("x", 0)

    def row(i, expr, x):
        return grad(expr[i], x, consider_constant=consider_constant,
                    disconnected_inputs=disconnected_inputs)

    rows, updates = scan(row, sequences=arange(expression.shape[0]),
                         non_sequences=[expression, w])
    if updates:
        raise AssertionError("jacobian: scan returned updates; gradients draw no random numbers")
    return rows


def jacobian(expression, wrt, consider_constant=None, disconnected_inputs="raise"):
    """The Jacobian of the vector `expression` with respect to `wrt` (a variable or
    a list/tuple of them, returned in kind): for each w, a variable of shape
    (len(expression),) + w's shape. A scalar expression gives its gradient.

    An elementwise function of a vector w has a diagonal Jacobian, built from one
    gradient; otherwise the rows are computed by one scan over the elements."""
    expression = as_tensor_variable(expression)
    if expression.ndim > 1:
        raise TypeError(f"jacobian: the expression must be a scalar or a vector, but "
                        f"{expression} has {expression.ndim} dims; flatten it first")
    using_list, using_tuple, wrt_list = _as_list(wrt)
    if expression.ndim == 0:
        return _format_as(using_list, using_tuple,
                          grad(expression, wrt_list, consider_constant=consider_constant,
                               disconnected_inputs=disconnected_inputs))
    return _format_as(using_list, using_tuple,
                      [_jacobian_of_vector(expression, w, consider_constant, disconnected_inputs)
                       for w in wrt_list])


def hessian(cost, wrt, consider_constant=None, disconnected_inputs="raise"):
    """The Hessian of the scalar `cost` with respect to the vector `wrt` (or each
    vector of a list/tuple, returned in kind): a (n, n) matrix per vector.

    Where the gradient is an elementwise function of w (cost = sum(f(w)), say),
    the Hessian is diagonal and needs no loop; otherwise one scan."""
    cost = as_tensor_variable(cost)
    if cost.ndim != 0:
        raise TypeError(f"hessian: the cost must be a scalar, but {cost} has {cost.ndim} dims")
    using_list, using_tuple, wrt_list = _as_list(wrt)
    hessians = []
    for w in wrt_list:
        if w.ndim != 1:
            raise TypeError(f"hessian: wrt must be vectors, but {w} has {w.ndim} dims "
                            f"({w.type})")
        g = grad(cost, w, consider_constant=consider_constant,
                 disconnected_inputs=disconnected_inputs)
        # w may be connected to the cost but not to its gradient (a linear cost):
        # that is a zero Hessian, not an error
        hessians.append(_jacobian_of_vector(g, w, consider_constant, "ignore"))
    return _format_as(using_list, using_tuple, hessians)


# Rop and verify_grad build on grad: imported last, once this module's names exist.
from .rop import Rop  # noqa: E402,F401
from .gradient_check import GradientError, numeric_grad, verify_grad  # noqa: E402,F401
