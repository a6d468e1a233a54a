"""The R-operator (Jacobian times a vector), `theano.gradient.Rop` / `T.Rop`.

tjit computes it from reverse mode by the double-L-operator trick: with u a dummy
variable of f's type, Lop(f, wrt, u) = u^T J is linear in u, so its gradient with
respect to u, dotted with the eval points, is J v. Every op with a gradient thus has
an R-operator, and no op needs an `R_op` of its own. The u left in the result's
shape computations is replaced by zeros of f's shape.
"""
from __future__ import annotations

import warnings

from . import scalar as ts
from .config import config
from .graph import Variable, clone_replace
from .gradient import DisconnectedInputError, _choice, _format_as, grad
from .gradient_ops import disconnected_type
from .tensor.basic import cast, zeros_like
from .tensor.reduction import sum as _sum
from .tensor.type import TensorType
from .tensor.var import as_tensor_variable


def Rop(f, wrt, eval_points, disconnected_outputs="raise", return_disconnected="zero"):
    """sum_j (d f / d wrt[j]) . eval_points[j] for f a variable or a list/tuple of
    them (the result comes back in kind); `wrt` and `eval_points` are a variable or
    lists of the same length, each eval point shaped like its wrt.

    disconnected_outputs  an output of f that depends on no wrt: 'raise'
                          (DisconnectedInputError, a ValueError), 'warn' or 'ignore'.
    return_disconnected   what such an output gets: 'zero', 'None' or 'Disconnected'.
    Raises ValueError when a wrt and its eval point differ in number of dims.
    """
    _choice("disconnected_outputs", disconnected_outputs, ("raise", "warn", "ignore"))
    _choice("return_disconnected", return_disconnected.lower() if isinstance(
        return_disconnected, str) else return_disconnected, ("zero", "none", "disconnected"))
    using_list, using_tuple = isinstance(f, list), isinstance(f, tuple)
    f_list = list(f) if using_list or using_tuple else [f]
    wrt_list = list(wrt) if isinstance(wrt, (list, tuple)) else [wrt]
    points = list(eval_points) if isinstance(eval_points, (list, tuple)) else [eval_points]
    if len(wrt_list) != len(points):
        raise ValueError(f"Rop: {len(wrt_list)} wrt variables but {len(points)} eval_points")
    wrt_list = [as_tensor_variable(w) for w in wrt_list]
    for i, (w, p) in enumerate(zip(wrt_list, points)):
        p = as_tensor_variable(p)
        if w.ndim != p.ndim:
            raise ValueError(f"Element {i} of wrt/eval_point have mismatched dimensionality: "
                             f"{w.ndim} versus {p.ndim}")
        points[i] = p if p.dtype == w.dtype else cast(p, w.dtype)
    results = [_rop_one(out, wrt_list, points, disconnected_outputs, return_disconnected)
               for out in f_list]
    return _format_as(using_list, using_tuple, results)


def _rop_one(out, wrt_list, points, disconnected_outputs, return_disconnected):
    if not isinstance(out, Variable):
        out = as_tensor_variable(out)
    for w, p in zip(wrt_list, points):
        if out is w:
            return p
    discrete = out.dtype not in ts.FLOATS
    u = TensorType(config.floatX, out.broadcastable)() if discrete else out.type()
    lops = grad(None, wrt_list, known_grads={out: u}, disconnected_inputs="ignore",
                return_disconnected="None")
    pairs = [(g, p) for g, p in zip(lops, points) if g is not None]
    if not pairs:
        msg = (f"Rop method was asked to compute the gradient with respect to a variable "
               f"that is not part of the computational graph of variables in wrt, or is used "
               f"only by a non-differentiable operator: {out}")
        if disconnected_outputs == "raise":
            raise DisconnectedInputError(msg)
        if disconnected_outputs == "warn":
            warnings.warn(msg, stacklevel=3)
        kind = return_disconnected.lower()
        return {"zero": zeros_like(out), "none": None}.get(kind) if kind != "disconnected" \
            else disconnected_type()
    if discrete:  # piecewise constant in wrt
        return zeros_like(out, dtype=config.floatX)
    inner = _sum(pairs[0][0] * pairs[0][1])
    for g, p in pairs[1:]:
        inner = inner + _sum(g * p)
    jv = grad(inner, u, disconnected_inputs="ignore", add_names=False)
    # J v does not depend on u's values, only (through fills) on its shape: f's
    return clone_replace(jv, {u: zeros_like(out)})
