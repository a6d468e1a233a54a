"""Reverse-mode differentiation: `grad(cost, wrt)`.

A topological walk from the cost back to `wrt`, applying each op's `grad`
(defined next to the op) and summing the contributions of every path.

tjit.tensor imports this module (T.grad, T.jacobian, T.hessian) once the tensor
modules it builds on are loaded.
"""
from __future__ import annotations

import warnings

import numpy as np

from .config import config
from .graph import Variable, ancestors, toposort
from . import scalar as ts
from .tensor.basic import cast, ones_like, patternbroadcast, zeros_like
from .tensor.elemwise import Elemwise
from .tensor.shape_ops import alloc, arange, eye
from .tensor.var import as_tensor_variable


class DisconnectedInputError(ValueError):
    """The cost does not depend on a variable whose gradient was asked for."""


class NullGradError(TypeError):
    """An op on the path has no gradient with respect to this input."""


def _depends_on(order, wrt_ids):
    """ids of variables that depend on any variable in `wrt_ids`."""
    dep = set(wrt_ids)
    for node in order:
        if any(id(v) in dep for v in node.inputs):
            dep.update(id(o) for o in node.outputs)
    return dep


def grad(cost, wrt, consider_constant=None, disconnected_inputs="raise",
         add_names=True, known_grads=None, return_disconnected="zero",
         null_gradients="raise"):
    """d cost / d wrt for a scalar `cost` and one variable or a list of variables.

    consider_constant: variables whose ancestors get no gradient through them.
    disconnected_inputs: 'raise' (DisconnectedInputError), 'warn' or 'ignore' when
    `cost` does not depend on a `wrt` variable (its gradient is then zeros).
    known_grads: {variable: gradient} seeds (cost may then be None).
    """
    if disconnected_inputs not in ("raise", "warn", "ignore"):
        raise ValueError(f"disconnected_inputs must be 'raise', 'warn' or 'ignore', "
                         f"got {disconnected_inputs!r}")
    single = not isinstance(wrt, (list, tuple))
    wrt_list = [wrt] if single else list(wrt)
    for w in wrt_list:
        if not isinstance(w, Variable):
            raise TypeError(f"grad: wrt must be symbolic variables, got {type(w).__name__}")
    seeds = {}
    roots = []
    if cost is not None:
        cost = as_tensor_variable(cost)
        if cost.ndim != 0:
            raise TypeError(f"grad: the cost must be a scalar, but {cost} has {cost.ndim} dims "
                            f"({cost.type}); sum or index it first")
        if cost.dtype in ts.COMPLEX:
            raise TypeError(f"grad: the cost {cost} is complex; take its real part or abs")
        one = ones_like(cost) if cost.dtype not in ts.DISCRETE else \
            ones_like(cast(cost, config.floatX))
        seeds[id(cost)] = one
        roots.append(cost)
    for v, g in (known_grads or {}).items():
        g = as_tensor_variable(g)
        seeds[id(v)] = g
        roots.append(v)
    if not roots:
        raise ValueError("grad: give a cost or known_grads")

    order = toposort(roots)
    dep = _depends_on(order, {id(w) for w in wrt_list})
    constant_ids = {id(v) for v in (consider_constant or [])}
    grads = dict(seeds)
    # Connection as Theano sees it: an op's grad returning None for an input (an
    # index, a shape source) disconnects it; integer values get zero gradients but
    # stay connected, and so do the variables they are computed from.
    connected_ints = []

    for node in reversed(order):
        if not any(id(o) in grads for o in node.outputs):
            continue
        if any(id(o) in constant_ids for o in node.outputs):
            continue
        if not any(id(v) in dep for v in node.inputs):
            continue
        out_grads = [grads.get(id(o)) for o in node.outputs]
        out_grads = [g if g is not None else zeros_like(o) for g, o in zip(out_grads, node.outputs)]
        try:
            in_grads = node.op.grad(node.inputs, out_grads)
        except NotImplementedError as e:
            if not any(id(v) in dep and v.dtype not in ts.DISCRETE for v in node.inputs):
                continue
            raise NullGradError(f"grad through {node.op} (computing {node.outputs[0]}): {e}") \
                from None
        for inp, g in zip(node.inputs, in_grads):
            if g is None or id(inp) not in dep:
                continue
            if inp.dtype in ts.DISCRETE:
                connected_ints.append(inp)
                continue  # integer values have zero gradient
            g = as_tensor_variable(g)
            if g.dtype != inp.dtype and inp.dtype not in ts.DISCRETE:
                g = cast(g, inp.dtype)
            prev = grads.get(id(inp))
            grads[id(inp)] = g if prev is None else prev + g

    results = []
    for w in wrt_list:
        g = grads.get(id(w))
        if g is None:
            if not _reaches(roots, w) or not (id(w) in {id(v) for v in connected_ints}
                                              or _reaches(connected_ints, w)):
                msg = (f"grad: the cost does not depend on {w} ({w.type}), or only through "
                       "indices or shapes, which have no gradient; pass "
                       "disconnected_inputs='ignore' to get zeros")
                if disconnected_inputs == "raise":
                    raise DisconnectedInputError(msg)
                if disconnected_inputs == "warn":
                    warnings.warn(msg, stacklevel=2)
            g = zeros_like(w) if w.dtype not in ts.DISCRETE else zeros_like(w, dtype=config.floatX)
        else:
            g = patternbroadcast(g, w.broadcastable) if g.broadcastable != w.broadcastable else g
            if add_names and w.name:
                g.name = f"(d{cost.name if cost is not None and cost.name else 'cost'}/d{w.name})"
        results.append(g)
    return results[0] if single else results


def _reaches(roots, w):
    """Whether `w` is an ancestor of any root."""
    return any(v is w for v in ancestors(roots))


# -- jacobian and hessian (Theano 1.0's signatures and semantics) ----------------------
def _format_as(using_list, using_tuple, values):
    if using_list:
        return list(values)
    if using_tuple:
        return tuple(values)
    return values[0]


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
