"""Checking gradients by finite differences: `verify_grad`, `numeric_grad` and
`GradientError`, with Theano 1.0's signatures, tolerances and step sizes.

verify_grad projects the function's output onto a random array r (entries in
[0.5, 1.5), so no output is weighted near zero), and compares the gradient of
sum(r * fun(*inputs)) that `grad` builds with one-sided finite differences.
"""
from __future__ import annotations

import numpy as np

from .gradient import grad
from .shared import shared
from .tensor.reduction import sum as _sum
from .tensor.type import TensorType
from .tensor.var import as_tensor_variable

# relative and absolute tolerances by input dtype
_TYPE_TOL = {"float16": 5e-2, "float32": 1e-2, "float64": 1e-4}


class numeric_grad:
    """The gradient of the scalar function `f` at `pt` (an array, or a list/tuple
    of arrays) by one-sided finite differences of step `eps` (by default the
    largest of the inputs' dtypes' steps, `type_eps`), computed in the most precise
    of the inputs' dtypes. `gf` holds the result, shaped like `pt`."""

    type_eps = {"float64": 1e-7, "float32": 3e-4, "float16": 1e-1}

    def __init__(self, f, pt, eps=None, out_type=None):
        packed = not isinstance(pt, (list, tuple))
        arrays = [np.array(p) for p in ([pt] if packed else pt)]
        dtypes = [str(a.dtype) for a in arrays]
        for dt in dtypes:
            if dt not in self.type_eps:
                raise TypeError(f"numeric_grad needs float16/32/64 inputs, got {dt}")
        work = min(dtypes, key=lambda dt: self.type_eps[dt])
        if eps is None:
            eps = max(self.type_eps[dt] for dt in dtypes)
        out_dtype = out_type if out_type is not None and out_type.startswith("complex") \
            else work
        # every input is a view into one flat buffer, so one index walks them all
        sizes = [a.size for a in arrays]
        flat = np.concatenate([a.ravel().astype(work) for a in arrays]) if arrays \
            else np.zeros(0, work)
        views, start = [], 0
        for a, n in zip(arrays, sizes):
            views.append(flat[start:start + n].reshape(a.shape))
            start += n
        f_x = f(*[v.copy() for v in views])
        g = np.empty(flat.size, dtype=out_dtype)
        base = flat.copy()
        for i in range(flat.size):
            flat[:] = base
            flat[i] += eps
            g[i] = (f(*views) - f_x) / eps
        flat[:] = base
        gf, start = [], 0
        for a, n in zip(arrays, sizes):
            gf.append(g[start:start + n].reshape(a.shape))
            start += n
        self.gf = gf[0] if packed else gf

    @staticmethod
    def abs_rel_err(a, b):
        """(|a - b|, |a - b| / max(|a| + |b|, 1e-8)) as arrays."""
        abs_err = np.asarray(abs(a - b))
        return abs_err, np.asarray(abs_err / np.maximum(abs(a) + abs(b), 1e-8))

    def abs_rel_errors(self, g_pt):
        """abs_rel_err of each array of `g_pt` against `gf` (ValueError on a wrong
        count or shape)."""
        gf = self.gf if isinstance(self.gf, list) else [self.gf]
        if len(g_pt) != len(gf):
            raise ValueError("argument has wrong number of elements", len(g_pt))
        errs = []
        for i, (a, b) in enumerate(zip(g_pt, gf)):
            a = np.asarray(a)
            if a.shape != b.shape:
                raise ValueError(f"argument element {i} has wrong shape {(a.shape, b.shape)}")
            errs.append(self.abs_rel_err(a, b))
        return errs

    def max_err(self, g_pt, abs_tol, rel_tol):
        """(argument index, flat position, abs error, rel error) where
        min(abs_err / abs_tol, rel_err / rel_tol) is largest."""
        best = None
        for k, (abs_err, rel_err) in enumerate(self.abs_rel_errors(g_pt)):
            if not np.all(np.isfinite(abs_err)):
                raise ValueError("abs_err not finite", repr(abs_err))
            if not np.all(np.isfinite(rel_err)):
                raise ValueError("rel_err not finite", repr(rel_err))
            scaled = np.minimum(abs_err / abs_tol, rel_err / rel_tol).ravel()
            if scaled.size == 0:
                continue
            pos = int(scaled.argmax())
            if best is None or scaled[pos] > best[0]:
                best = (scaled[pos], k, pos, abs_err.ravel()[pos], rel_err.ravel()[pos])
        if best is None:
            return 0, 0, 0.0, 0.0
        return best[1:]


class GradientError(Exception):
    """The analytic and numeric gradients differ by more than both tolerances."""

    def __init__(self, arg, err_pos, abs_err, rel_err, abs_tol, rel_tol):
        super().__init__()
        self.arg, self.err_pos = arg, err_pos
        self.abs_err, self.rel_err = abs_err, rel_err
        self.abs_tol, self.rel_tol = abs_tol, rel_tol

    def __str__(self):
        extra = ", ".join(str(a) for a in self.args)
        return (f"GradientError: numeric gradient and analytic gradient exceed tolerance:\n"
                f"        At position {self.err_pos} of argument {self.arg},\n"
                f"            abs. error = {self.abs_err:f},  abs. tolerance = {self.abs_tol:f}\n"
                f"            rel. error = {self.rel_err:f},  rel. tolerance = {self.rel_tol:f}\n"
                f"Exception args: {extra}")


def verify_grad(fun, pt, n_tests=2, rng=None, eps=None, out_type=None, abs_tol=None,
                rel_tol=None, mode=None, cast_to_output_type=False, no_debug_ref=True):
    """Check the gradient of `fun` (tensor variables in, one tensor variable out:
    an Op or a Python function) at `pt` (a list of float arrays) against finite
    differences, `n_tests` times with fresh random projections drawn from `rng`
    (a numpy RandomState or Generator; required, as in Theano). Tolerances default
    by dtype (float64 1e-4, float32 1e-2, float16 5e-2); the check fails only where
    both the absolute and the relative error exceed theirs, raising
    `verify_grad.E_grad` (GradientError). `mode` compiles the functions (with
    no_debug_ref, a DebugMode is not used for the finite differences)."""
    # verify_grad compiles functions: tjit.function imports the pass pipeline,
    # which imports tjit.tensor, which imports this module
    from .function import Mode, function, get_mode
    if not isinstance(pt, (list, tuple)):
        raise TypeError("verify_grad: pt must be a list or tuple of arrays")
    pt = [np.array(p) for p in pt]
    for i, p in enumerate(pt):
        if str(p.dtype) not in _TYPE_TOL:
            raise TypeError(f"verify_grad can work only with floating point inputs, but "
                            f"input {i} has dtype \"{p.dtype}\".")
    if abs_tol is None:
        abs_tol = max(_TYPE_TOL[str(p.dtype)] for p in pt)
    if rel_tol is None:
        rel_tol = max(_TYPE_TOL[str(p.dtype)] for p in pt)
    if rng is None:
        raise TypeError("rng should be a valid instance of numpy.random.RandomState")

    def compile_(inputs, outputs, m=mode):
        return function(inputs, outputs, mode=m, allow_input_downcast=True,
                        on_unused_input="ignore")

    tensor_pt = [TensorType(str(p.dtype), as_tensor_variable(p).broadcastable)(
        name=f"input {i}") for i, p in enumerate(pt)]
    o_output = fun(*tensor_pt)
    if isinstance(o_output, list):
        raise NotImplementedError("cant (yet) autotest gradient of fun with multiple outputs")
    o_output = as_tensor_variable(o_output)
    o_value = compile_(tensor_pt, o_output)(*[p.copy() for p in pt])
    if isinstance(o_value, (list, tuple)):
        raise TypeError("verify_grad needs a function with a single (array-like) output")
    o_shape = np.shape(o_value)

    def random_projection():
        plain = (rng.rand(*o_shape) if hasattr(rng, "rand") else rng.random(o_shape)) + 0.5
        if cast_to_output_type and o_output.dtype == "float32":
            return np.asarray(plain, dtype="float32")
        return np.asarray(plain, dtype="float64")

    t_r = shared(random_projection())
    t_r.name = "random_projection"
    cost = _sum(t_r * o_output)
    cost_mode = mode
    if no_debug_ref:
        m = get_mode(mode)
        cost_mode = Mode(m.linker, m.optimizer, m.excluding_names) if m.check else mode
    cost_fn = compile_(tensor_pt, cost, cost_mode)
    grad_fn = compile_(tensor_pt, grad(cost, tensor_pt, disconnected_inputs="ignore"))
    for test_num in range(n_tests):
        try:
            num = numeric_grad(cost_fn, [p.copy() for p in pt], eps, out_type)
            analytic = grad_fn(*[p.copy() for p in pt])
            arg, pos, abs_err, rel_err = num.max_err(analytic, abs_tol, rel_tol)
            if abs_err > abs_tol and rel_err > rel_tol:
                raise verify_grad.E_grad(arg, pos, abs_err, rel_err, abs_tol, rel_tol)
            if test_num < n_tests - 1:
                t_r.set_value(random_projection(), borrow=True)
        except Exception as e:
            e.args += ("\nThe error happened with the following inputs:", pt,
                       "\nThe value of eps is:", eps, "\nThe out_type is:", out_type)
            raise


verify_grad.E_grad = GradientError
