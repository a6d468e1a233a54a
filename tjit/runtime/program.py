"""Program: an optimized graph laid out as storage slots and thunks, and the
CompiledFunction that users call.

Call path: check/convert the arguments, run the thunks over a flat storage list,
then commit the updates (all computed from the old values, nothing committed if
anything failed) and return outputs the caller owns.
"""
from __future__ import annotations

import threading

import numpy as np

from ..graph import Constant, toposort
from ..shared import Container, SharedVariable
from . import call_plan
from .inputs import ContainerView, InputFinder, ValueView

_MISSING = object()


class CompiledFunction:
    """A compiled tjit function: call it with positional or keyword arguments.

    `f[x]` / `f[x] = v` read and set the value an input holds between calls (x: a
    position, variable or name; see `value` and `container`); `f.copy(...)` is a
    function with storage of its own; pickling keeps the graph and mode (see
    tjit/function.py), not machine code."""

    output_keys = None  # outputs given as a dict: its sorted keys (calls return a dict)
    name = None
    _source = None      # how tjit.function built it (pickling); set by tjit.function
    profile = None      # a tjit.profiling.ProfileStats when compiled with profiling
    on_copy = None      # called with each copy (tjit.link.tiers follows copies)

    def __init__(self, inputs, outputs, updates, unpack_single, optimized_outputs, mode,
                 rewrites_applied, original_outputs, linker):
        self.input_specs = inputs
        self.mode = mode
        self.rewrites_applied = rewrites_applied
        self.original_outputs = original_outputs
        self.unpack_single = unpack_single
        self.n_outputs = len(outputs)
        self.shared_updates = updates  # (shared variable or stateful InputSpec, value)
        self.swapped = {}   # id(shared variable) -> the shared variable read instead (copy)
        self.maker_outputs = optimized_outputs  # outputs then update values
        self.linker = linker    # makes each node's thunk (tjit.link)
        self._layout(optimized_outputs)
        self._index_inputs()

    def _index_inputs(self):
        self.finder = InputFinder(self.input_specs)
        self.refeed_specs = [s for s in self.input_specs if s.refeed]
        # one output, returned as computed: _finish has nothing else to do
        self._plain_finish = (self.unpack_single and self.n_outputs == 1
                              and not self.copy_output[0] and not self.update_slots
                              and not self.refeed_specs)
        # every input given by position: (slot, spec, dtype, ndim, no broadcastable
        # dim, float64 scalar) for _call's inline checks; None: an implicit input
        specs = self.input_specs
        self._positional = None if any(s.implicit for s in specs) else [
            (slot, s, s.dtype, s.ndim, not s.bc_axes,
             s.dtype == np.float64 and s.ndim == 0)
            for slot, s in zip(self.input_slots, specs)]

    # -- layout -----------------------------------------------------------------
    def _container_of(self, target):
        """The storage a shared variable or stateful input reads and updates."""
        if isinstance(target, SharedVariable):
            target = self.swapped.get(id(target), target)
        return target.container

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
        self.shared_inputs = []  # (slot, shared variable of the graph)
        shared_ids = set()
        for v in _inputs_of(self.nodes, all_outputs):
            if isinstance(v, SharedVariable):
                self.shared_inputs.append((slot_of(v), v))
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
        self._bind_storage()
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
        self._plain_finish = False

    def _bind_storage(self):
        """Find the containers the shared variables and inputs read and update
        (after a copy swapped some), and the locks a call takes."""
        self.update_containers = [self._container_of(s) for s, _ in self.shared_updates]
        self.shared_slots = [(s, self._container_of(v)) for s, v in self.shared_inputs]
        touched = {c.order: c for _, c in self.shared_slots}
        touched.update((c.order, c) for c in self.update_containers)
        touched.update((s.container.order, s.container) for s in self.input_specs
                       if s.shares_storage)
        self.locks = [touched[k].lock for k in sorted(touched)] if self.update_containers \
            else []
        # call plans (tjit.runtime.call_plan), by the shapes of the inputs that have any
        self._plan_lock = threading.Lock()
        self._stub = None
        try:
            call_plan.check_plannable(self)
            self._plans = {}
        except call_plan.Unplannable:
            self._plans = None
        self._key_slots = [s for s, spec in zip(self.input_slots, self.input_specs)
                           if spec.ndim] + [s for s, c in self.shared_slots
                                            if getattr(c.value, "ndim", 1)]

    def drop_plans(self):
        """Forget the call plans and the stub (the next calls make them again):
        the kernels of some thunks were replaced (tjit.link.tiers). Waits for a
        call running a plan; a call already in the stub keeps its kernels (the
        stub holds them)."""
        with self._plan_lock:
            self._stub = None
            if self._plans is not None:
                self._plans.clear()

    def adopt_storage(self, containers):
        """Read and update `containers` (one per input, None: keep the input's
        own) instead of the inputs' own storage (unpickling)."""
        for spec, c in zip(self.input_specs, containers):
            if c is not None and not spec.shares_storage:
                c.spec = spec
                spec.container = c
        self._bind_storage()

    # -- calling ----------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        stub = self._stub
        if stub is not None and not kwargs:
            return stub(args)       # a plan's call written out (call_stub)
        if "output_subset" in kwargs:
            return self._subset_call(args, kwargs)
        if not self.locks:
            return self._call(args, kwargs)
        return self._locked_call(args, kwargs)

    def _subset_call(self, args, kwargs):
        """Theano's `f(..., output_subset=[...])`: only the outputs at those indices
        (or keys, for outputs given as a dict), as a list (a dict); updates run."""
        kwargs = dict(kwargs)
        subset = kwargs.pop("output_subset")
        if subset is None:
            return self(*args, **kwargs)
        keys, n = self.output_keys, len(self.output_slots)
        picks = []
        for item in subset:
            if keys is not None:
                if item not in keys:
                    raise KeyError(f"output_subset: {item!r} is not one of the function's "
                                   f"output keys {keys}")
                picks.append(keys.index(item))
            elif isinstance(item, (int, np.integer)) and not isinstance(item, bool) \
                    and 0 <= item < n:
                picks.append(int(item))
            else:
                raise IndexError(f"output_subset: {item!r} is not an output index of a "
                                 f"function with {n} output(s)")
        out = self(*args, **kwargs)
        if keys is not None:
            return {keys[i]: out[keys[i]] for i in picks}
        outs = [out] if self.unpack_single else out
        return [outs[i] for i in picks]

    def _locked_call(self, args, kwargs):
        # A function that updates shared state runs under the locks of every
        # shared variable it reads or writes, so concurrent calls see each
        # other's commits whole: no update is lost (functions without updates
        # take no lock and stay concurrent; kernels release the GIL).
        locks = self.locks
        for lock in locks:
            lock.acquire()
        try:
            return self._call(args, kwargs)
        finally:
            for lock in reversed(locks):
                lock.release()

    def _call(self, args, kwargs):
        positional = self._positional
        if positional is not None and not kwargs and len(args) == len(positional):
            # every input by position: each checked inline when it already is an
            # aligned array of its exact dtype and ndim (or a float for a float64
            # scalar), else by its spec's filter: the same values as `_bind`
            storage = self.storage_template[:]
            for (s, spec, dtype, ndim, plain, f64), v in zip(positional, args):
                if type(v) is np.ndarray and v.dtype is dtype and v.ndim == ndim and plain \
                        and v.flags.aligned:
                    storage[s] = v
                elif f64 and type(v) is float:
                    storage[s] = np.asarray(v)
                else:
                    storage[s] = spec.filter(v)
            for s, container in self.shared_slots:
                storage[s] = container.value
        else:
            storage = self._bind(args, kwargs)
        plans = self._plans
        if plans is not None and self._plan_lock.acquire(False):
            # one call at a time runs a plan (its arrays are its own); the others,
            # any failure and any error take the general path below, which raises
            # what a function without plans raises
            try:
                keys = self._key_slots
                plan = plans.get(tuple([storage[s].shape for s in keys]) if keys else ())
                if type(plan) is call_plan.CallPlan:
                    ran = plan.run(storage)
                    if plan.stub is not None:
                        self._stub = plan.stub      # the next call's first try
                else:
                    ran = self._new_plan(storage)
            except Exception:
                ran = False
            finally:
                self._plan_lock.release()
            if ran:
                return self._finish(storage)
        self._run_steps(storage)
        return self._finish(storage)

    def _new_plan(self, storage):
        """Plan the call for these input shapes, unless known unplannable
        (False: the general path runs it)."""
        key = tuple([storage[s].shape for s in self._key_slots])
        plans = self._plans
        if key in plans:
            return False
        if len(plans) >= call_plan.MAX_PLANS:
            plans.clear()
        plan, ran = call_plan.build(self, storage, key)
        plans[key] = plan
        if plan is not None and plan.stub is not None:
            self._stub = plan.stub
        return ran

    def _finish(self, storage):
        """Commit the updates; the outputs, as arrays the caller owns."""
        if self._plain_finish:
            return storage[self.output_slots[0]]
        outputs = [storage[s].copy() if c else storage[s]
                   for s, c in zip(self.output_slots, self.copy_output)]
        if self.update_slots:
            new_values = [storage[s].copy() if c else storage[s]
                          for s, c in zip(self.update_slots, self.copy_update)]
            for container, v in zip(self.update_containers, new_values):
                container.value = v
        for spec in self.refeed_specs:
            Container.value.__set__(spec.container, spec.default)
        if self.unpack_single:
            return outputs[0]
        if self.output_keys is not None:
            return dict(zip(self.output_keys, outputs))
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
            pos = self.finder.by_name.get(k)
            if not isinstance(pos, int):
                self.finder.position(k)  # raises: unknown or ambiguous name
            if values[pos] is not _MISSING:
                raise TypeError(f"input {k!r} given both by position and by keyword")
            values[pos] = v
        storage = list(self.storage_template)
        for spec, s, v in zip(specs, self.input_slots, values):
            if v is _MISSING:
                if not spec.has_default:
                    raise TypeError(f"Missing required input: {spec.label or spec.variable}")
                storage[s] = spec.container.value
            elif spec.implicit:
                raise TypeError(f"Tried to provide value for implicit input: {spec.variable}")
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

    # -- inputs' values between calls (Theano's Function interface) -------------
    @property
    def value(self):
        """`f.value[x]`: the value input x (position, variable or name) holds."""
        return ValueView(self.finder)

    @property
    def container(self):
        """`f.container[x]`: the storage of input x, to share with another function."""
        return ContainerView(self.finder)

    @property
    def input_storage(self):
        return [s.container for s in self.input_specs]

    def __getitem__(self, key):
        return self.value[key]

    def __setitem__(self, key, value):
        self.value[key] = value

    def __contains__(self, key):
        return key in self.finder

    def get_shared(self):
        """The shared variables this function reads or updates."""
        seen = {id(c) for _, c in self.shared_slots}
        return [self.swapped.get(id(v), v) for v in _inputs_of(self.nodes, self.maker_outputs)
                if isinstance(v, SharedVariable) and id(self._container_of(v)) in seen]

    @property
    def maker(self):
        """Theano's `f.maker`: `fgraph` (the rewritten graph: toposort(), inputs,
        outputs, apply_nodes), `mode`, `inputs` (the input specs)."""
        return FunctionMaker(self)

    # -- copies -----------------------------------------------------------------
    def copy(self, share_memory=False, swap=None, delete_updates=False, name=None,
             profile=None):
        """A function computing the same outputs with storage of its own (Theano's
        Function.copy). Inputs' values are copied (storage shared with another
        function stays shared); `swap` {old shared variable: new one of the same
        type} makes the copy read and update the new ones; `delete_updates` drops
        every update. `share_memory` and `profile` are accepted: tjit keeps no
        intermediate storage between calls. The copy's name is `name` or this
        function's name + ' copy'."""
        swap = dict(swap or {})
        used = {id(v) for v in self.get_shared()}
        for old, new in swap.items():
            if not isinstance(old, SharedVariable) or id(old) not in used:
                raise ValueError(f"swap: {old} is not a shared variable of this function")
            if not isinstance(new, SharedVariable):
                raise TypeError(f"swap: {old} can only be replaced by a shared variable, "
                                f"got {new!r}")
            if new.type != old.type:
                raise TypeError(f"swap: {new} has type {new.type}, {old} has type {old.type}")
        specs = {id(s): s.copy() for s in self.input_specs}
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new._copy_from(self, specs, swap, delete_updates)
        new.name = name or (self.name + " copy" if self.name else None)
        if self._source is not None:
            new._source = self._source.copied(swap, delete_updates)
        if new.on_copy is not None:
            new.on_copy(new)
        return new

    __copy__ = copy

    def _copy_from(self, original, specs, swap, delete_updates):
        """Give this shallow copy of `original` the input storage `specs`
        (id(original spec) -> its copy), the swapped shared variables and
        (unless deleted) the updates."""
        self.input_specs = [specs[id(s)] for s in original.input_specs]
        self.swapped = dict(original.swapped)
        by_id = {id(old): new for old, new in swap.items()}
        for v in _inputs_of(original.nodes, original.maker_outputs):
            now = original.swapped.get(id(v), v)
            if isinstance(v, SharedVariable) and id(now) in by_id:
                self.swapped[id(v)] = by_id[id(now)]
        if delete_updates:
            self.shared_updates = []
            self.maker_outputs = original.maker_outputs[:original.n_outputs]
            self._layout(self.maker_outputs)
        else:
            self.shared_updates = [(specs.get(id(t), t), v) for t, v in original.shared_updates]
            self._bind_storage()
        self._index_inputs()

    def __reduce__(self):
        # Rebuilt from the graph and mode (tjit.function's FunctionSource), with
        # the inputs' storage: values, and identity within one pickle.
        if self._source is None:
            raise TypeError("this compiled function was not built by tjit.function and "
                            "cannot be pickled")
        return (_rebuild, (self._source, [None if s.shares_storage else s.container
                                          for s in self.input_specs]))


def _rebuild(source, containers):
    """Unpickling (and deepcopy): `source` compiles the function again."""
    return source.build(containers)


class FunctionMaker:
    """Read-only view of how a function was made (Theano's Function.maker)."""

    def __init__(self, fn):
        self.fgraph = FunctionGraph(fn)
        self.mode = fn.mode
        self.inputs = fn.input_specs
        self.outputs = fn.maker_outputs[:fn.n_outputs]


class FunctionGraph:
    """The rewritten graph of a function (Theano's f.maker.fgraph), read only:
    `outputs` are the outputs then the update values, as in Theano."""

    def __init__(self, fn):
        self.outputs = list(fn.maker_outputs)
        self.inputs = [s.variable for s in fn.input_specs] + [v for _, v in fn.shared_inputs]
        self._nodes = list(fn.nodes)
        self.apply_nodes = set(self._nodes)

    def toposort(self):
        return list(self._nodes)


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
