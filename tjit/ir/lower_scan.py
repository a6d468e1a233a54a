"""A whole scan loop as one Kernel: the step body's node kernels spliced into a Range
over the steps.

Each node of the (rewritten) inner graph is lowered on its own (elementwise and
reduction kernels); its buffers are then re-bound to the loop's buffers:
- a sequence row at step t: the outer sequence, with index term (t, 0) prepended
  and every axis shifted by one;
- a recurrent output's tap k: its history buffer at row t + lag + k (a loop
  variable bound by a one-iteration Range); the output itself: row t + lag;
- a per-step output: its stacked buffer at row t;
- non-sequences, constants and intermediates: whole buffers (intermediates are
  scratch arrays the runtime allocates, overwritten at every step).
The shape `Check`s of the node kernels depend only on dims, so they are hoisted
before the loop; a failing check returns its code before any step runs.
Kernel-local accumulators are renamed per node and declared once. The loop
kernel runs whole (the runtime passes begin=0, end=END): a node's `split_range`
becomes a plain range over its extent. Its meta asks codegen for "wide_math_loops"
(`tjit.codegen.walker`): a step's math-library loops (an RNN's tanh) are
vectorized at the widest variant, which overlaps more of each call's latency.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .nodes import (Accumulate, ArgAccumulate, Begin, Buffer, Cast, Check, Const, Contiguous,
                    Dim, End, Guarded, Improves, Index, IntConst, IntOp, Kernel, Load,
                    Local, Op, Param, Range, Store, Var, let, range_to, split_extent)
from .serialize import serialize


@dataclass(frozen=True)
class Binding:
    """Where a node kernel's buffer lives in the loop kernel: `buffer`, addressed
    with `prefix` index terms first and node-buffer axis a at loop-buffer axis
    `axes[a]` (default a + `shift`). `dims[a]`, when given, is the size of axis a
    as an integer expression (views smaller than the loop buffer)."""
    buffer: Buffer
    prefix: tuple = ()
    shift: int = 0
    axes: tuple = None
    dims: tuple = None

    def axis(self, a):
        return self.axes[a] if self.axes is not None else a + self.shift

    def dim(self, a):
        if self.dims is not None and self.dims[a] is not None:
            return self.dims[a]
        return Dim(self.buffer, self.axis(a))


class SpliceError(ValueError):
    """A node kernel holds something the splicer does not know how to re-bind."""


class Splicer:
    """Rewrites node-kernel statements onto loop buffers (see the module docstring)."""

    def __init__(self, bindings):
        self.bindings = bindings
        self.memo = {}

    def bind(self, buffer):
        try:
            return self.bindings[buffer]
        except KeyError:
            raise SpliceError(f"buffer {buffer.name} has no binding") from None

    def index(self, buffer, index):
        b = self.bind(buffer)
        return b.buffer, b.prefix + tuple((v, b.axis(a)) for v, a in index)

    def expr(self, e):
        key = id(e)
        hit = self.memo.get(key)
        if hit is not None:
            return hit[1]
        if isinstance(e, Load):
            buf, idx = self.index(e.buffer, e.index)
            out = Load(buf, idx)
        elif isinstance(e, Op):
            out = Op(e.name, tuple(self.expr(a) for a in e.args), e.dtype)
        elif isinstance(e, Cast):
            out = Cast(self.expr(e.x), e.dtype)
        elif isinstance(e, Index):
            out = Index(self.int(e.expr), e.dtype)
        elif isinstance(e, Const):
            out = e
        else:
            raise SpliceError(f"cannot splice expression {e!r}")
        self.memo[key] = (e, out)
        return out

    def int(self, e):
        if isinstance(e, Dim):
            return self.bind(e.buffer).dim(e.axis)
        if isinstance(e, IntOp):
            return IntOp(e.name, self.int(e.a), self.int(e.b))
        if isinstance(e, (IntConst, Var, Begin, End, Param)):
            return e
        raise SpliceError(f"cannot splice integer expression {e!r}")

    def cond(self, c):
        if isinstance(c, Contiguous):
            runs = []
            for buffer, axes in c.runs:
                b = self.bind(buffer)
                runs.append((b.buffer, tuple(b.axis(a) for a in axes)))
            return Contiguous(tuple(runs))
        if isinstance(c, Improves):
            values, index = self.index(c.values, c.index)
            positions, _ = self.index(c.positions, c.index)
            return Improves(values, positions, index, c.op, self.expr(c.value))
        return self.expr(c)          # a boolean expression

    def stmts(self, statements):
        return tuple(self.stmt(s) for s in statements)

    def stmt(self, s):
        if isinstance(s, Store):
            buf, idx = self.index(s.buffer, s.index)
            return Store(buf, idx, self.expr(s.value))
        if isinstance(s, Accumulate):
            buf, idx = self.index(s.buffer, s.index)
            return Accumulate(buf, idx, s.op, self.expr(s.value), s.reassoc)
        if isinstance(s, ArgAccumulate):
            values, idx = self.index(s.values, s.index)
            positions, _ = self.index(s.positions, s.index)
            return ArgAccumulate(values, positions, idx, s.op, self.expr(s.value),
                                 self.expr(s.position))
        if isinstance(s, Range):
            extent = split_extent(s)
            if extent is not None:   # the loop kernel runs whole: a node's split loop too
                return range_to(s.var, self.int(extent), self.stmts(s.body))
            return Range(s.var, self.int(s.start), self.int(s.stop), s.step, self.stmts(s.body))
        if isinstance(s, Guarded):
            return Guarded(self.cond(s.cond), self.stmts(s.then), self.stmts(s.otherwise))
        if isinstance(s, Check):
            return Check(self.int(s.a), self.int(s.b), s.code)
        raise SpliceError(f"cannot splice statement {s!r}")


def view_binding(base, pattern, ndim, offset_var):
    """The Binding of x[pattern] (constant slices of step 1 and integer indices,
    in range: the caller has evaluated it once) given x's Binding `base` and x's
    ndim. Offsets become index terms of variables bound by `offset_var(expr)`.
    Only the view's axis 0 may shrink (a Contiguous test of the loop buffer's
    dims then still describes the view); else None."""
    prefix, axes, dims = list(base.prefix), [], []
    pattern = list(pattern) + [("slice", None, None, None)] * (ndim - len(pattern))
    for a, entry in enumerate(pattern):
        n = base.dim(a)
        if entry[0] == "int":
            i = entry[1]
            prefix.append((offset_var(IntConst(i) if i >= 0 else IntOp("add", n, IntConst(i))),
                           base.axis(a)))
            continue
        if entry[0] != "slice" or entry[3] not in (None, 1):
            return None
        start, stop = entry[1], entry[2]
        if start in (None, 0) and stop is None:
            axes.append(base.axis(a))
            dims.append(base.dims[a] if base.dims is not None else None)
            continue
        if axes:
            return None
        lo = _clamped(start, n, IntConst(0))
        hi = _clamped(stop, n, n)
        if start not in (None, 0):
            prefix.append((offset_var(lo), base.axis(a)))
        axes.append(base.axis(a))
        dims.append(IntOp("max", IntOp("sub", hi, lo), IntConst(0)))
    return Binding(base.buffer, tuple(prefix), axes=tuple(axes), dims=tuple(dims))


def _clamped(bound, n, default):
    """A slice bound as Python clamps it into [0, n]."""
    if bound is None:
        return default
    if bound >= 0:
        return IntOp("min", IntConst(bound), n)
    return IntOp("max", IntOp("add", n, IntConst(bound)), IntConst(0))


def loop_kernel(inputs, outputs, node_kernels, step_var, n_steps, lets, locals_=(),
                prologue=(), epilogue=()):
    """The Kernel running every step.

    inputs, outputs: the loop's Buffers (arrays passed in that order).
    node_kernels: [(Kernel, {node-kernel Buffer: Binding})] in execution order.
    step_var: the step counter; n_steps: integer expression of the step count
    (a `Param` is the loop kernel's first param).
    lets: [(Var, integer expression of step_var)] bound before the step body.
    locals_: extra `Local`s; prologue: statements before the loop (after the
    checks); epilogue: statements ending every step (after the nodes').
    """
    checks, locals_, body = [], list(locals_), []
    params = [n_steps] if isinstance(n_steps, Param) else []
    for k, (kernel, bindings) in enumerate(node_kernels):
        params += [p for p in kernel.params if p not in params]   # passed by the caller
        bindings = dict(bindings)
        for s in kernel.body:
            if isinstance(s, Local):
                renamed = Buffer(f"n{k}_{s.buffer.name}", s.buffer.dtype, s.buffer.broadcastable)
                bindings[s.buffer] = Binding(renamed)
                locals_.append(Local(renamed, s.size))
        splicer = Splicer(bindings)
        for s in kernel.body:
            if isinstance(s, Local):
                continue
            if isinstance(s, Check):
                checks.append(splicer.stmt(s))
            else:
                body.append(splicer.stmt(s))
    checks = tuple(Check(c.a, c.b, code) for code, c in enumerate(checks, 1))
    step_body = tuple(body) + tuple(epilogue)
    for var, value in reversed(lets):
        step_body = let(var, value, step_body)
    loop = Range(step_var, IntConst(0), n_steps, 1, step_body)
    kernel_body = tuple(locals_) + checks + tuple(prologue) + (loop,)
    probe = Kernel("tjit_scan", tuple(inputs) + tuple(outputs), kernel_body,
                   n_inputs=len(inputs), params=tuple(params))
    key = hashlib.sha256(serialize(probe).encode()).hexdigest()
    return Kernel("tjit_scan_" + key[:16], probe.buffers, kernel_body, n_inputs=len(inputs),
                  meta={"n_checks": len(checks), "wide_math_loops": True}, params=probe.params)
