"""theano.tensor.nnet.bn: batch normalization, built from tensor ops (so fusion turns
each into a few reduction and elementwise passes, and gradients come free).

`axes` is 'per-activation' (normalize over axis 0), 'spatial' (axes 0, 2, 3, ...)
or a tuple of axes. gamma, beta (and mean, var for the test form) have either the
input's ndim (broadcastable on `axes`) or one dim per axis not normalized over;
mean and invstd come back in the same form as gamma.
"""
from __future__ import annotations

from .basic import cast, sqrt
from .reduction import mean as _mean
from .var import as_tensor_variable, constant


def batch_normalization(inputs, gamma, beta, mean, std, mode="low_mem"):
    """(inputs - mean) * (gamma / std) + beta, elementwise with broadcasting
    (Theano's older interface; `mode` only chose its memory use)."""
    if mode not in ("low_mem", "high_mem"):
        raise ValueError(f'batch_normalization: mode must be "low_mem" or "high_mem", got '
                         f'{mode!r}')
    inputs, gamma, beta, mean, std = (as_tensor_variable(v)
                                      for v in (inputs, gamma, beta, mean, std))
    return (inputs - mean) * (gamma / std) + beta


def _axes(axes, ndim):
    if axes == "per-activation":
        axes = (0,)
    elif axes == "spatial":
        axes = (0,) + tuple(range(2, ndim))
    elif isinstance(axes, (tuple, list)):
        axes = tuple(int(a) for a in axes)
        if any(a < 0 or a >= ndim for a in axes) or len(set(axes)) != len(axes):
            raise ValueError(f"batch normalization: axes {axes} out of range for a "
                             f"{ndim}-d input")
    else:
        raise ValueError(f"batch normalization: axes must be 'per-activation', 'spatial' or a "
                         f"tuple of ints, got {axes!r}")
    return tuple(sorted(axes)), tuple(a for a in range(ndim) if a not in axes)


def _broadcast(params, ndim, kept, name):
    """params with the input's ndim (and their compact flag): compact ones are
    dimshuffled so their dims land on the `kept` axes."""
    out = []
    compact = params[0].ndim != ndim
    for p in params:
        if p.ndim == ndim and not compact:
            out.append(p)
        elif p.ndim == len(kept) and compact:
            pattern = ["x"] * ndim
            for i, axis in enumerate(kept):
                pattern[axis] = i
            out.append(p.dimshuffle(*pattern))
        else:
            raise ValueError(f"{name}: parameter {p} has {p.ndim} dims; expected {ndim} (the "
                             f"input's) or {len(kept)} (one per axis not normalized over)")
    return out, compact


def _check_epsilon(epsilon, name):
    if epsilon < 1e-5:
        raise ValueError(f"{name}: epsilon must be at least 1e-5, got {epsilon}")


def batch_normalization_train(inputs, gamma, beta, axes="per-activation", epsilon=1e-4,
                              running_average_factor=0.1, running_mean=None,
                              running_var=None):
    """(out, mean, invstd[, new running_mean][, new running_var]):
    out = (inputs - mean) * invstd * gamma + beta with the batch mean and
    invstd = 1 / sqrt(var + epsilon) (var biased) over `axes`; the running
    averages move by `running_average_factor` (the variance's unbiased)."""
    _check_epsilon(epsilon, "batch_normalization_train")
    inputs = as_tensor_variable(inputs)
    axes, kept = _axes(axes, inputs.ndim)
    (gamma_b, beta_b), compact = _broadcast([as_tensor_variable(gamma),
                                             as_tensor_variable(beta)], inputs.ndim, kept,
                                            "batch_normalization_train")
    mean = _mean(inputs, axis=axes, keepdims=True)
    centered = inputs - mean
    var = _mean(centered * centered, axis=axes, keepdims=True)
    dt = inputs.dtype       # constants in it: a float32 input keeps float32 statistics
    invstd = constant(1.0, dtype=dt) / sqrt(var + constant(epsilon, dtype=dt))
    out = centered * (invstd * gamma_b) + beta_b

    def shaped(v):      # the form gamma came in
        return v.dimshuffle(*kept) if compact else v
    results = [out, shaped(mean), shaped(invstd)]
    factor = constant(running_average_factor, dtype=dt)
    keep = constant(1.0 - running_average_factor, dtype=dt)
    if running_mean is not None:
        running_mean = as_tensor_variable(running_mean)
        results.append(running_mean * keep + shaped(mean) * factor)
    if running_var is not None:
        running_var = as_tensor_variable(running_var)
        m = 1
        for a in axes:
            m = m * inputs.shape[a]
        m = cast(m, inputs.dtype)           # a float32 input keeps float32 statistics
        unbiased = var * (m / (m - 1))
        results.append(running_var * keep + shaped(unbiased) * factor)
    return tuple(results)


def batch_normalization_test(inputs, gamma, beta, mean, var, axes="per-activation",
                             epsilon=1e-4):
    """(inputs - mean) * gamma / sqrt(var + epsilon) + beta with given statistics."""
    _check_epsilon(epsilon, "batch_normalization_test")
    inputs = as_tensor_variable(inputs)
    axes, kept = _axes(axes, inputs.ndim)
    (gamma, beta, mean, var), _ = _broadcast(
        [as_tensor_variable(v) for v in (gamma, beta, mean, var)], inputs.ndim, kept,
        "batch_normalization_test")
    eps = constant(epsilon, dtype=inputs.dtype)
    return (inputs - mean) * (gamma / sqrt(var + eps)) + beta
