"""Reverse-mode differentiation: `grad(cost, wrt)`.

A topological walk from the cost back to `wrt`, applying each op's `grad`
(defined next to the op) and summing the contributions of every path.
"""
from __future__ import annotations

import warnings

from .graph import Variable, toposort
from . import scalar as ts


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
    from .config import config
    from .tensor.basic import cast, ones_like, patternbroadcast, zeros_like
    from .tensor.var import as_tensor_variable
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
    from .graph import ancestors
    return any(v is w for v in ancestors(roots))
