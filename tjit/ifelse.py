"""Lazy conditional: `ifelse(cond, then, else)` computes only the taken branch.

Design: the IfElse op holds each branch as an inner graph over placeholders for
the branch's free variables (graph inputs other than constants, shared variables
included). The node's inputs are the condition and those free variables; each
branch is compiled (tjit.function) the first time it runs, in the mode of the
function holding the IfElse (the linker passes it down: tjit/link/control.py),
so the untaken branch's sub-graph never executes. `T.switch` stays elementwise
and eager.
"""
from __future__ import annotations

import numpy as np

from .graph import Apply, Constant, Op, clone_replace, graph_inputs
from .tensor.var import as_tensor_variable
from .gradient import grad
from . import scalar as ts
from .tensor.basic import patternbroadcast, zeros_like


# The mode `perform` (the NumPy reference) runs inner functions in.
PERFORM_MODE = "PY"


class InnerFunction:
    """An inner graph (inputs -> outputs) compiled on first use, once per mode."""

    def __init__(self, inputs, outputs, what):
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.what = what
        self._compiled = {}

    def __getstate__(self):
        # pickles as the graph; compiled again in the loading process
        return dict(self.__dict__, _compiled={})

    def get(self, mode):
        """The graph compiled in `mode` (a Mode, or a mode name such as "PY");
        modes that compile alike share one function."""
        key = mode if isinstance(mode, str) else (
            mode.linker, mode.optimizer, mode.excluding_names, mode.check)
        fn = self._compiled.get(key)
        if fn is None:
            # function() compiles graphs holding this op (and links it, tjit/link):
            # a true import cycle.
            from .function import function
            fn = function(self.inputs, self.outputs, mode=mode, on_unused_input="ignore",
                          name=self.what)
            self._compiled[key] = fn
        return fn


def free_variables(outputs):
    """The non-constant graph inputs of `outputs` (shared variables included)."""
    return [v for v in graph_inputs(outputs) if not isinstance(v, Constant)]


class IfElse(Op):
    """cond, *free variables -> the outputs of the branch `cond` selects."""

    def __init__(self, inner_inputs, then_outs, else_outs, name=None):
        self.inner_inputs = list(inner_inputs)
        self.then_fn = InnerFunction(inner_inputs, then_outs, f"{name or 'ifelse'}.then")
        self.else_fn = InnerFunction(inner_inputs, else_outs, f"{name or 'ifelse'}.else")
        self.out_types = [o.type for o in then_outs]
        self.name = name

    # Two IfElse ops are equal only if they are the same object: the branches
    # are part of the op, so merging must not identify different conditionals.
    def __eq__(self, other):
        return self is other

    def __hash__(self):
        return id(self)

    def __str__(self):
        return f"IfElse{{{self.name}}}" if self.name else "IfElse"

    def make_node(self, cond, *inputs):
        cond = as_tensor_variable(cond)
        if cond.ndim != 0:
            raise TypeError(f"ifelse: the condition must be a scalar (0 means False), got "
                            f"{cond} of type {cond.type}")
        if len(inputs) != len(self.inner_inputs):
            raise TypeError(f"{self}: expected {len(self.inner_inputs)} inputs, got {len(inputs)}")
        ins = []
        for i, (v, inner) in enumerate(zip(inputs, self.inner_inputs)):
            ins.append(inner.type.convert_or_raise(as_tensor_variable(v), f"{self}: input {i}"))
        return Apply(self, [cond, *ins], [t() for t in self.out_types])

    def run(self, inputs, mode):
        """The outputs of the branch `inputs[0]` selects, compiled in `mode`."""
        cond, rest = inputs[0], inputs[1:]
        fn = self.then_fn if np.asarray(cond).item() else self.else_fn
        outs = fn.get(mode)(*rest)
        return list(outs) if isinstance(outs, (list, tuple)) else [outs]

    def perform(self, node, inputs):
        return self.run(inputs, PERFORM_MODE)

    def grad(self, inputs, output_grads):
        cond, outer = inputs[0], inputs[1:]
        pairs = list(zip(self.inner_inputs, outer))
        wrt = [v for v in outer if v.dtype not in ts.DISCRETE]
        # As Theano: the condition is connected, with a zero gradient (the branch
        # taken at cond is taken at cond + eps); grad reads an integer zero as zero
        cond_grad = zeros_like(cond)
        if not wrt:
            return [cond_grad] + [None] * len(outer)

        def branch_grads(fn):
            outs = clone_replace(fn.outputs, pairs, strict=False)
            known = {}
            for o, g in zip(outs, output_grads):
                if o.dtype in ts.DISCRETE:
                    continue
                known[o] = known[o] + g if o in known else g
            if not known:
                return [zeros_like(w) for w in wrt]
            return grad(None, wrt, known_grads=known, disconnected_inputs="ignore")

        g_then = branch_grads(self.then_fn)
        g_else = branch_grads(self.else_fn)
        picked = ifelse(cond, g_then, g_else, name=f"grad_{self.name or 'ifelse'}")
        picked = picked if isinstance(picked, list) else [picked]
        by_id = {id(w): g for w, g in zip(wrt, picked)}
        return [cond_grad] + [by_id.get(id(v)) for v in outer]


def ifelse(condition, then_branch, else_branch, name=None):
    """`then_branch` if the scalar `condition` is nonzero, else `else_branch`; only
    the selected branch is computed. Branches may be lists (one output per pair);
    the types of each pair must match (dtype and number of dims)."""
    single = not isinstance(then_branch, (list, tuple))
    thens = [then_branch] if single else list(then_branch)
    elses = [else_branch] if not isinstance(else_branch, (list, tuple)) else list(else_branch)
    if len(thens) != len(elses):
        raise ValueError(f"ifelse: then_branch has {len(thens)} outputs but else_branch has "
                         f"{len(elses)}")
    if not thens:
        raise ValueError("ifelse: the branches are empty")
    thens = [as_tensor_variable(t) for t in thens]
    elses = [as_tensor_variable(e) for e in elses]
    for k, (t, e) in enumerate(zip(thens, elses)):
        if t.dtype != e.dtype or t.ndim != e.ndim:
            raise TypeError(f"ifelse{' ' + name if name else ''}: output {k} has type {t.type} "
                            f"in the then branch but {e.type} in the else branch; the types "
                            "must match (cast one branch)")
        if t.broadcastable != e.broadcastable:
            bc = tuple(a and b for a, b in zip(t.broadcastable, e.broadcastable))
            thens[k], elses[k] = patternbroadcast(t, bc), patternbroadcast(e, bc)
    free = free_variables(thens + elses)
    inner = [v.type() for v in free]
    for v, i in zip(free, inner):
        i.name = v.name
    pairs = list(zip(free, inner))
    then_inner = clone_replace(thens, pairs, strict=False)
    else_inner = clone_replace(elses, pairs, strict=False)
    op = IfElse(inner, then_inner, else_inner, name=name)
    outs = op.make_node(condition, *free).outputs
    return outs[0] if single else list(outs)


__all__ = ["ifelse", "IfElse"]
