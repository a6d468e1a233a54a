"""DebugMode: run the native code and a NumPy reference of every node, and check.

Each call checks, and raises DebugModeError naming the node, its op, its inputs'
shapes and the largest difference, when:
- a node's native result differs from its op's NumPy `perform` beyond tolerance;
- a node modified one of its inputs;
- a node's result does not have its declared type (dtype, ndim, size-1 dims);
- the rewritten graph's outputs differ from those of the graph as built
  (evaluated node by node with NumPy, no rewrites).
"""
from __future__ import annotations

import numpy as np

from .program import CompiledFunction
from ..ops.fused_reduce import FusedReduce
from ..ops.fused_rowcol import FusedRowCol
from ..ops.fused_rows import FusedRows
from ..tensor.reduction import Reduce

# Relative tolerances: vector math is within a few ulp of NumPy's, and the
# rewritten graph may reassociate nothing but can differ in the last bits.
RTOL = {"float16": 1e-2, "float32": 1e-4, "float64": 1e-9,
        "complex64": 1e-4, "complex128": 1e-9}


class DebugModeError(AssertionError):
    """A check of DebugMode failed."""


def _rtol(variables):
    """The loosest tolerance among the dtypes a value was computed through: a
    float64 result of float32 math carries float32's error."""
    return max((RTOL.get(getattr(v, "dtype", ""), 0.0) for v in variables), default=0.0) or 1e-9


def _atol(nodes, values, rtol):
    """Absolute slack for reductions whose result cancels (a sum of terms of both
    signs, a variance of equal values): their rounding error scales with the
    terms, bounded by the largest value seen (its square for the squares a
    variance, an "m2" reduction, sums), not with the result. Elementwise work is
    compared element by element with no absolute slack: one huge element must
    not hide a wrong small one."""
    reductions = [n for n in nodes
                  if isinstance(n.op, (FusedReduce, Reduce, FusedRows, FusedRowCol))]
    if not reductions:
        return 0.0
    m = 0.0
    for a in values:
        if a is None:
            continue
        a = np.asarray(a)
        if a.dtype.kind in "fc" and a.size:
            with np.errstate(all="ignore"):
                finite = np.abs(a[np.isfinite(a)])
            if finite.size:
                m = max(m, float(finite.max()))
    if any(getattr(n.op, "kind", None) == "m2" for n in reductions):
        m = max(m, m * m)
    atol = rtol * m
    return atol if np.isfinite(atol) else 0.0   # squares that overflow: exact compare


def _differs(a, b, rtol=None, atol=0.0):
    """None if a and b agree (NaN positions too), else the largest difference."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return f"shape {a.shape} vs {b.shape}"
    if a.dtype.kind in "fc":
        nan_a, nan_b = np.isnan(a), np.isnan(b)
        if not np.array_equal(nan_a, nan_b):
            return "NaN in different places"
        rtol = max(rtol or 0.0, RTOL.get(str(a.dtype), 1e-9))
        tiny = max(np.finfo(a.dtype).tiny * 1e3, atol)
        with np.errstate(all="ignore"):
            ok = (a == b) | (np.abs(a - b) <= rtol * np.maximum(np.abs(a), np.abs(b)) + tiny)
        ok |= nan_a
        if ok.all():
            return None
        with np.errstate(all="ignore"):
            diff = np.where(ok, 0, np.abs(a.astype(complex if a.dtype.kind == "c" else float)
                                          - b))
        k = int(np.argmax(diff))
        return f"largest difference {diff.flat[k]!r} at flat index {k} ({a.flat[k]!r} vs {b.flat[k]!r})"
    if not np.array_equal(a, b):
        k = int(np.argmax(a != b))
        return f"first difference at flat index {k} ({a.flat[k]!r} vs {b.flat[k]!r})"
    return None


def _describe(node, inputs):
    shapes = ", ".join(f"{v} {a.shape} {a.dtype}" for v, a in zip(node.inputs, inputs))
    return f"node {node.op} (outputs {', '.join(map(str, node.outputs))}) on inputs [{shapes}]"


class DebugFunction(CompiledFunction):
    """A CompiledFunction whose every call is checked (see the module doc)."""

    def __init__(self, *args, reference=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.reference = reference  # the graph as built, evaluated with NumPy

    def _bind_storage(self):
        super()._bind_storage()
        if getattr(self, "reference", None) is not None:
            self.reference._bind_storage()

    def _copy_from(self, original, specs, swap, delete_updates):
        super()._copy_from(original, specs, swap, delete_updates)
        ref = object.__new__(type(original.reference))
        ref.__dict__.update(original.reference.__dict__)
        ref._copy_from(original.reference, specs, swap, delete_updates)
        self.reference = ref

    def _run_steps(self, storage):
        for (thunk, ins, outs), node in zip(self.steps, self.nodes):
            inputs = [storage[i] for i in ins]
            saved = [np.array(a, copy=True) for a in inputs]
            results = thunk(inputs)
            for v, a, before in zip(node.inputs, inputs, saved):
                if not np.array_equal(a, before, equal_nan=True):
                    raise DebugModeError(f"{_describe(node, saved)} modified its input {v}")
            for var, r in zip(node.outputs, results):
                t = var.type
                if (not isinstance(r, np.ndarray) or str(r.dtype) != t.dtype or r.ndim != t.ndim
                        or any(b and n != 1 for b, n in zip(t.broadcastable, r.shape))):
                    raise DebugModeError(f"{_describe(node, saved)}: output {var} is "
                                         f"{type(r).__name__} {getattr(r, 'dtype', '')} "
                                         f"{getattr(r, 'shape', '')}, declared {t}")
            expected = node.op.perform(node, [np.array(a, copy=True) for a in saved])
            rtol = _rtol(node.inputs + node.outputs)
            for var, got, want in zip(node.outputs, results, expected):
                problem = _differs(got, want, rtol, _atol([node], saved, rtol))
                if problem:
                    raise DebugModeError(f"{_describe(node, saved)}: output {var} differs from "
                                         f"the NumPy reference of {type(node.op).__name__}: "
                                         f"{problem}")
            for s, r in zip(outs, results):
                storage[s] = r

    def _call(self, args, kwargs):
        storage = self._bind(args, kwargs)
        ref_storage = self.reference._bind(args, kwargs)
        self._run_steps(storage)
        self.reference._run_steps(ref_storage)
        ours = self.output_slots + self.update_slots
        theirs = self.reference.output_slots + self.reference.update_slots
        rtol = _rtol(v for n in self.reference.nodes for v in n.inputs + n.outputs)
        atol = _atol(self.reference.nodes + self.nodes, list(ref_storage), rtol)
        for k, (a, b) in enumerate(zip(ours, theirs)):
            problem = _differs(storage[a], ref_storage[b], rtol, atol)
            if problem:
                what = (f"output {k}" if k < self.n_outputs
                        else f"the update of {self.shared_updates[k - self.n_outputs][0]}")
                raise DebugModeError(f"the rewritten graph changed {what}: {problem} "
                                     f"(rewrites applied: {', '.join(self.rewrites_applied)})")
        return super()._finish(storage)
