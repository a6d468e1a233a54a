"""Program: an optimized graph laid out as storage slots and thunks, and the
CompiledFunction that users call.

Call path: check/convert the arguments, run the thunks over a flat storage list,
then commit the updates (all computed from the old values, nothing committed if
anything failed) and return outputs the caller owns.
"""
from __future__ import annotations

import numpy as np

from ..graph import Constant, toposort
from ..shared import SharedVariable

_MISSING = object()


class InputSpec:
    """How one explicit input is checked and converted."""

    def __init__(self, variable, name, default, has_default, allow_downcast):
        self.variable = variable
        self.name = name
        self.has_default = has_default
        self.allow_downcast = allow_downcast
        t = variable.type
        self.type = t
        self.dtype = np.dtype(t.dtype)
        self.ndim = t.ndim
        self.bc_axes = tuple(d for d, b in enumerate(t.broadcastable) if b)
        self.label = name or variable.name or None
        self.default = self.filter(default) if has_default else None

    def filter(self, v):
        """`v` as an aligned ndarray of this input's type, or TypeError/ValueError."""
        a = v if type(v) is np.ndarray else np.asarray(v) if not isinstance(v, (list, tuple)) \
            else None
        if a is not None and a.dtype == self.dtype and a.ndim == self.ndim:
            for d in self.bc_axes:
                if a.shape[d] != 1:
                    break
            else:
                return a if a.flags.aligned else a.copy()
        a = self.type.filter(v, allow_downcast=self.allow_downcast, name=self.label or
                             str(self.variable))
        return a if a.flags.aligned else a.copy()


class CompiledFunction:
    """A compiled tjit function: call it with positional or keyword arguments."""

    def __init__(self, inputs, outputs, updates, unpack_single, optimized_outputs, mode,
                 rewrites_applied, original_outputs, linker):
        self.input_specs = inputs
        self.mode = mode
        self.rewrites_applied = rewrites_applied
        self.original_outputs = original_outputs
        self.unpack_single = unpack_single
        self.n_outputs = len(outputs)
        self.update_containers = [s.container for s, _ in updates]
        self.shared_updates = updates
        self.maker_outputs = optimized_outputs  # outputs then update values
        self.linker = linker    # makes each node's thunk (tjit.link)
        self._layout(optimized_outputs)
        self.name_to_pos = {}
        for pos, spec in enumerate(inputs):
            if spec.name is not None:
                self.name_to_pos[spec.name] = pos
            if spec.variable.name is not None:
                self.name_to_pos.setdefault(spec.variable.name, pos)

    # -- layout -----------------------------------------------------------------
    def _layout(self, all_outputs):
        slot = {}
        storage = []

        def slot_of(v):
            if id(v) not in slot:
                slot[id(v)] = len(storage)
                storage.append(v.data if isinstance(v, Constant) else None)
            return slot[id(v)]

        self.input_slots = [slot_of(s.variable) for s in self.input_specs]
        self.nodes = toposort(all_outputs)
        self.shared_slots = []
        shared_ids = set()
        for v in _inputs_of(self.nodes, all_outputs):
            if isinstance(v, SharedVariable):
                self.shared_slots.append((slot_of(v), v.container))
                shared_ids.add(id(v))
        self.steps = []
        self.thunks = []
        for node in self.nodes:
            ins = [slot_of(v) for v in node.inputs]
            outs = [slot_of(v) for v in node.outputs]
            thunk = self.linker.thunk(node)
            self.thunks.append(thunk)
            self.steps.append((thunk, ins, outs))
        out_slots = [slot_of(v) for v in all_outputs]
        self.output_slots = out_slots[:self.n_outputs]
        self.update_slots = out_slots[self.n_outputs:]
        self.storage_template = storage
        touched = {c.order: c for _, c in self.shared_slots}
        touched.update((c.order, c) for c in self.update_containers)
        self.locks = [touched[k].lock for k in sorted(touched)] if self.update_containers \
            else []
        # Outputs the caller must own: views of inputs/shared/constants, duplicates,
        # and values that also become a shared variable's new value.
        roots = _view_roots(self.nodes, all_outputs)
        seen = set(self.update_slots)
        self.copy_output = []
        for v, s in zip(all_outputs[:self.n_outputs], self.output_slots):
            self.copy_output.append(bool(roots.get(id(v))) or s in seen)
            seen.add(s)
        self.copy_update = [bool(roots.get(id(v), set()) - shared_ids)
                            for v in all_outputs[self.n_outputs:]]

    # -- calling ----------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        locks = self.locks
        if not locks:
            return self._call(args, kwargs)
        # A function that updates shared state runs under the locks of every
        # shared variable it reads or writes, so concurrent calls see each
        # other's commits whole: no update is lost (functions without updates
        # take no lock and stay concurrent; kernels release the GIL).
        for lock in locks:
            lock.acquire()
        try:
            return self._call(args, kwargs)
        finally:
            for lock in reversed(locks):
                lock.release()

    def _call(self, args, kwargs):
        storage = self._bind(args, kwargs)
        self._run_steps(storage)
        return self._finish(storage)

    def _finish(self, storage):
        """Commit the updates; the outputs, as arrays the caller owns."""
        outputs = [storage[s].copy() if c else storage[s]
                   for s, c in zip(self.output_slots, self.copy_output)]
        if self.update_slots:
            new_values = [storage[s].copy() if c else storage[s]
                          for s, c in zip(self.update_slots, self.copy_update)]
            for container, v in zip(self.update_containers, new_values):
                container.value = v
        if self.unpack_single:
            return outputs[0]
        return outputs

    def _bind(self, args, kwargs):
        """A fresh storage list holding the checked arguments and shared values."""
        specs = self.input_specs
        if len(args) > len(specs):
            raise TypeError(f"function takes at most {len(specs)} arguments, got {len(args)}")
        values = list(args)
        if len(values) < len(specs):
            values.extend([_MISSING] * (len(specs) - len(values)))
        for k, v in kwargs.items():
            pos = self.name_to_pos.get(k)
            if pos is None:
                raise TypeError(f"unknown keyword argument {k!r}; inputs are named "
                                f"{sorted(self.name_to_pos) or 'nothing'}")
            if values[pos] is not _MISSING:
                raise TypeError(f"input {k!r} given both by position and by keyword")
            values[pos] = v
        storage = list(self.storage_template)
        for spec, s, v in zip(specs, self.input_slots, values):
            if v is _MISSING:
                if not spec.has_default:
                    raise TypeError(f"missing argument for input {spec.label or spec.variable}")
                storage[s] = spec.default
            else:
                storage[s] = spec.filter(v)
        for s, container in self.shared_slots:
            storage[s] = container.value
        return storage

    def _run_steps(self, storage):
        for thunk, ins, outs in self.steps:
            results = thunk([storage[i] for i in ins])
            for s, r in zip(outs, results):
                storage[s] = r

    def free(self):
        """Drop cached intermediate storage (none is kept between calls)."""


def _inputs_of(nodes, outputs):
    seen, result = set(), []
    for v in [i for n in nodes for i in n.inputs] + list(outputs):
        if v.owner is None and id(v) not in seen:
            seen.add(id(v))
            result.append(v)
    return result


def _view_roots(nodes, outputs):
    """id(var) -> ids of graph inputs whose memory `var` may share (view_map chains)."""
    roots = {}
    for v in _inputs_of(nodes, outputs):
        roots[id(v)] = {id(v)}
    for node in nodes:
        vm = getattr(node.op, "view_map", {})
        for k, out in enumerate(node.outputs):
            r = set()
            for i in vm.get(k, []):
                r |= roots.get(id(node.inputs[i]), set())
            roots[id(out)] = r
    return roots
