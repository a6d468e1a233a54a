"""Lowering of an elementwise computation into a loop-IR `Kernel`.

The kernel body is: shape `Check`s, then the loop nest over output 0's
non-broadcastable dims (rank 0: just the stores). When adjacent loop dims are
treated alike by every buffer, the nest is wrapped in
`Guarded(Contiguous(runs), collapsed_nest, full_nest)` so contiguous arrays run
as fewer, longer loops (a contiguous (4000, 2500) add is one loop of 10**7).

`kernel.meta` written here (runtime-facing contract):
- `checks`: {code: dict(kind='input'|'broadcastable'|'output', position=i,
  axis=a, loop_dim=d)}: a failed `Check` returns `code`; `position` indexes the
  `inputs` list (kind input/broadcastable) or the `outputs` list (kind output);
  `loop_dim` is None for a broadcastable input axis that no loop dim iterates.
- `outer_dims`: output-0 dims that the outermost loop of the full nest covers
  (one dim, or () when there is no loop).
- `collapsed_outer_dims`: output-0 dims merged into the outermost loop of the
  collapsed nest, or None when the kernel has no collapsed nest.
- `contiguous_runs`: ((buffer position in `kernel.buffers`, axes), ...): the
  condition under which the collapsed nest runs (see `Contiguous`).
The kernel's `begin`/`end` arguments index the outermost loop of whichever nest
runs; `outer_extent(kernel, arrays)` returns its extent for given arrays.
"""
from __future__ import annotations

import math

from tjit.ir.nodes import (Cast, Check, Const, Contiguous, Dim, Guarded, IntConst, IntOp, Kernel,
                           Load, Op, Store, Var, range_to, split_range)


def elementwise_kernel(name, inputs, outputs, exprs) -> Kernel:
    """Build the kernel computing `outputs[k] = exprs[k]` at every point.

    inputs: [(Buffer, axes)], axes[d] = the buffer axis iterated by loop dim d, or
        None; every non-broadcastable buffer axis must appear exactly once. Input
        buffers must be distinct (pass an array twice under two names to read it
        through two axes maps).
    outputs: [Buffer], all with one ndim N and one broadcastable pattern.
    exprs: one scalar expression per output; `Load(buffer, ())` stands for "input
        `buffer` at the current point".
    Raises ValueError on inconsistent arguments.
    """
    _validate(inputs, outputs, exprs)
    out0 = outputs[0]
    rank = out0.ndim
    active = [d for d in range(rank) if not out0.broadcastable[d]]
    effective = [_effective_axes(buffer, axes) for buffer, axes in inputs]
    checks, check_meta = _checks(inputs, outputs)

    def nest(groups, var_prefix):
        """Loops over `groups` (tuples of loop dims merged into one loop)."""
        loop_vars = [Var("%s%d" % (var_prefix, g[0] if var_prefix == "i" else k))
                     for k, g in enumerate(groups)]
        index = {}
        for (buffer, _), eff in zip(inputs, effective):
            index[buffer] = tuple((var, eff[g[-1]]) for var, g in zip(loop_vars, groups)
                                  if eff[g[-1]] is not None)
        for out in outputs:
            index[out] = tuple((var, g[-1]) for var, g in zip(loop_vars, groups))
        body = tuple(Store(out, index[out], _place_loads(expr, index))
                     for out, expr in zip(outputs, exprs))
        for k, (var, group) in reversed(list(enumerate(zip(loop_vars, groups)))):
            loop = split_range if k == 0 else range_to    # the runtime splits the outermost
            body = (loop(var, _product(Dim(out0, d) for d in group), body),)
        return body

    full = nest([(d,) for d in active], "i")
    groups = _collapsible_groups(active, effective)
    meta = dict(checks=check_meta, outer_dims=tuple(active[:1]),
                collapsed_outer_dims=None, contiguous_runs=())
    if all(len(g) == 1 for g in groups):
        body = checks + full
    else:
        runs = _contiguous_runs(groups, inputs, effective, outputs)
        body = checks + (Guarded(Contiguous(runs), nest(groups, "c"), full),)
        positions = {buffer: k for k, buffer in enumerate(_buffers(inputs, outputs))}
        meta.update(collapsed_outer_dims=groups[0],
                    contiguous_runs=tuple((positions[b], axes) for b, axes in runs))
    return Kernel(name, _buffers(inputs, outputs), body, n_inputs=len(inputs), meta=meta)


def outer_extent(kernel, arrays):
    """The extent of the outermost loop that `kernel` runs on `arrays` (all its
    buffers' arrays, in order): split [0, extent) to divide the work."""
    meta = kernel.meta
    dims = meta["outer_dims"]
    if meta.get("collapsed_outer_dims") is not None and all(
            _is_contiguous(arrays[position], axes) for position, axes in meta["contiguous_runs"]):
        dims = meta["collapsed_outer_dims"]
    out0 = arrays[kernel.n_inputs]
    return math.prod(out0.shape[d] for d in dims)


def _is_contiguous(array, axes):
    return all(array.strides[a] == array.strides[b] * array.shape[b]
               for a, b in zip(axes, axes[1:]))


# ---- helpers ----------------------------------------------------------------------
def _buffers(inputs, outputs):
    return tuple(b for b, _ in inputs) + tuple(outputs)


def _validate(inputs, outputs, exprs):
    if not outputs or len(outputs) != len(exprs):
        raise ValueError("need one expression per output (got %d outputs, %d exprs)"
                         % (len(outputs), len(exprs)))
    out0 = outputs[0]
    rank = out0.ndim
    for out, expr in zip(outputs, exprs):
        if out.broadcastable != out0.broadcastable:
            raise ValueError("output %s: broadcastable %s differs from %s's %s"
                             % (out.name, out.broadcastable, out0.name, out0.broadcastable))
        if expr.dtype != out.dtype:
            raise ValueError("output %s has dtype %s but its expression has %s"
                             % (out.name, out.dtype, expr.dtype))
    names = [b.name for b, _ in inputs] + [o.name for o in outputs]
    if len(set(names)) != len(names):
        raise ValueError("buffer names must be distinct: %s" % names)
    for buffer, axes in inputs:
        if len(axes) != rank:
            raise ValueError("input %s: axes map %s must have length %d"
                             % (buffer.name, axes, rank))
        used = [a for a in axes if a is not None]
        if len(set(used)) != len(used) or any(not 0 <= a < buffer.ndim for a in used):
            raise ValueError("input %s: bad axes map %s" % (buffer.name, axes))
        for a in range(buffer.ndim):
            if a not in used and not buffer.broadcastable[a]:
                raise ValueError("input %s: non-broadcastable axis %d is not iterated"
                                 % (buffer.name, a))
        for d, a in enumerate(axes):
            if out0.broadcastable[d] and a is not None and not buffer.broadcastable[a]:
                raise ValueError("input %s axis %d varies along loop dim %d, which the "
                                 "outputs declare broadcastable" % (buffer.name, a, d))


def _effective_axes(buffer, axes):
    """axes with broadcastable (size-1) buffer axes replaced by None: never strided."""
    return tuple(None if a is None or buffer.broadcastable[a] else a for a in axes)


class CheckList:
    """Shape `Check`s numbered 1, 2, ... with the meta the runtime uses to name the
    culprit (`kernel.meta['checks']`). Shared by every lowering."""

    def __init__(self):
        self.checks, self.meta = [], {}

    def add(self, a, b, **info):
        if a == b:
            return  # trivially true
        code = len(self.checks) + 1
        self.checks.append(Check(a, b, code))
        self.meta[code] = info

    def inputs(self, inputs, extent):
        """Each input axis: size 1 if broadcastable, else `extent(loop_dim)`."""
        for position, (buffer, axes) in enumerate(inputs):
            for axis in range(buffer.ndim):
                loop_dim = axes.index(axis) if axis in axes else None
                if buffer.broadcastable[axis]:
                    self.add(Dim(buffer, axis), IntConst(1), kind="broadcastable",
                             position=position, axis=axis, loop_dim=loop_dim)
                else:
                    self.add(Dim(buffer, axis), extent(loop_dim), kind="input",
                             position=position, axis=axis, loop_dim=loop_dim)

    def result(self):
        return tuple(self.checks), self.meta


def _checks(inputs, outputs):
    out0 = outputs[0]
    checks = CheckList()
    checks.inputs(inputs, lambda d: Dim(out0, d))
    for position, out in enumerate(outputs):
        for d in range(out.ndim):
            if out.broadcastable[d]:
                checks.add(Dim(out, d), IntConst(1), kind="output", position=position,
                           axis=d, loop_dim=d)
            elif position > 0:
                checks.add(Dim(out, d), Dim(out0, d), kind="output", position=position,
                           axis=d, loop_dim=d)
    return checks.result()


def _collapsible_groups(active, effective):
    """Maximal runs of adjacent active loop dims that every input treats alike:
    absent along both, or present along both with buffer axes a < b where every
    axis strictly between is broadcastable (size 1)."""
    groups = []
    for d in active:
        if groups and all(_mergeable(eff, groups[-1][-1], d) for eff in effective):
            groups[-1] = groups[-1] + (d,)
        else:
            groups.append((d,))
    return groups


def _mergeable(eff, d, e):
    a, b = eff[d], eff[e]
    if a is None and b is None:
        return True
    if a is None or b is None or b <= a:
        return False
    # The axes between a and b must be broadcastable: they are None in eff and
    # do not occur in it (their size is 1, so they contribute nothing).
    return all(k not in eff for k in range(a + 1, b))


def _contiguous_runs(groups, inputs, effective, outputs):
    runs = []
    for group in groups:
        if len(group) < 2:
            continue
        for (buffer, _), eff in zip(inputs, effective):
            if eff[group[0]] is not None:
                runs.append((buffer, tuple(eff[d] for d in group)))
        for out in outputs:
            runs.append((out, tuple(group)))
    return tuple(runs)


def _product(factors):
    factors = list(factors)
    result = factors[0]
    for f in factors[1:]:
        result = IntOp("mul", result, f)
    return result


def _place_loads(expr, index, memo=None):
    """Rewrite placeholder `Load(buffer, ())` into loads indexed at the current point.

    `memo` maps id(expr) -> result so shared subexpressions are visited once."""
    if memo is None:
        memo = {}
    done = memo.get(id(expr))
    if done is not None:
        return done[1]
    result = _place_loads_uncached(expr, index, memo)
    memo[id(expr)] = (expr, result)  # keep expr alive so its id stays unique
    return result


def _place_loads_uncached(expr, index, memo):
    if isinstance(expr, Load):
        if expr.index:
            return expr
        if expr.buffer not in index:
            raise ValueError("expression reads %s, which is not an input" % expr.buffer.name)
        return Load(expr.buffer, index[expr.buffer])
    if isinstance(expr, Op):
        return Op(expr.name, tuple(_place_loads(a, index, memo) for a in expr.args), expr.dtype)
    if isinstance(expr, Cast):
        return Cast(_place_loads(expr.x, index, memo), expr.dtype)
    if isinstance(expr, Const):
        return expr
    raise ValueError("unexpected node in an elementwise expression: %r" % (expr,))
