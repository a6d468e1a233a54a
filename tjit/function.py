"""tjit.function: from symbolic inputs/outputs/updates to a compiled callable.

Pipeline: check the signature (inputs, updates, givens) -> rewrite the graph
(passes selected by the mode) -> lower and compile nodes -> CompiledFunction.
"""
from __future__ import annotations

import copy
import logging
import pickle
import time
import warnings

from .config import config
from .graph import Constant, Variable, clone_replace, graph_inputs
from .link import PyLinker
from .compile.io import In, Out, convert_function_input  # noqa: F401 (tjit.function.In)
from .compile.mode import Mode, get_mode  # noqa: F401
from .shared import SharedVariable, checked_update, shared
from .tensor.var import TensorConstant, as_tensor_variable
from .passes import optimize
from . import graph_cache
from .runtime import CompiledFunction, InputSpec
from .runtime.debug import DebugFunction
from .runtime.profile_thunk import ProfiledFunction
from .link.profiling import ProfilingLinker
from .link import tiers
from .profiling import ProfileStats

log = logging.getLogger("tjit.function")
COMPILE_HOOKS = []  # callables run on every CompiledFunction built (tjit dump uses it)


class MissingInputError(ValueError):
    """The outputs depend on a variable that is not an input of the function."""


class UnusedInputError(ValueError):
    """An explicit input is not used by the outputs or updates."""


def _as_in(x):
    spec = copy.copy(convert_function_input(x))  # function() may cut the graph at it
    spec.key = v = spec.variable
    if isinstance(v, SharedVariable):
        raise TypeError(f"cannot use the shared variable {v} as an explicit input; "
                        "use givens or updates instead")
    if isinstance(v, Constant):
        raise TypeError(f"cannot use the constant {v} as an input")
    return spec


def _pairs(mapping, what):
    if mapping is None:
        return []
    if isinstance(mapping, dict):
        return list(mapping.items())
    try:
        pairs = [tuple(p) for p in mapping]
    except TypeError:
        raise TypeError(f"{what} must be a dict or a list of pairs") from None
    if any(len(p) != 2 for p in pairs):
        raise TypeError(f"{what} must be a list of (variable, expression) pairs")
    return pairs


def _as_output(o, k):
    try:
        return as_tensor_variable(o.variable if isinstance(o, Out) else o)
    except (TypeError, ValueError) as e:
        raise TypeError(f"function outputs must be symbolic variables (or Out); output {k} is "
                        f"{o!r} of type {type(o).__name__}: {e}") from None


def function(inputs, outputs=None, mode=None, updates=None, givens=None,
             no_default_updates=False, accept_inplace=False, name=None,
             rebuild_strict=True, allow_input_downcast=None, profile=None,
             on_unused_input=None):
    """Compile a function computing `outputs` from `inputs` (contract: docs/functions.md)."""
    t0 = time.perf_counter()
    source = FunctionSource(inputs, outputs, mode, updates, givens, no_default_updates, name,
                            rebuild_strict, allow_input_downcast, on_unused_input)
    if not isinstance(inputs, (list, tuple)):
        raise TypeError("function inputs must be a list of variables")
    specs = [_as_in(x) for x in inputs]
    seen = set()
    for s in specs:
        if id(s.variable) in seen:
            raise ValueError(f"input {s.variable} given twice")
        seen.add(id(s.variable))

    unpack_single, output_keys = False, None
    if isinstance(outputs, dict):
        output_keys, outputs = _dict_outputs(outputs)
    if outputs is None:
        outs = []
    elif isinstance(outputs, (list, tuple)):
        outs = list(outputs)
    else:
        outs, unpack_single = [outputs], True
    outs = [_as_output(o, k) for k, o in enumerate(outs)]
    n_outs = len(outs)
    # In(x, update=...) values ride along with the outputs until the graph is final
    stateful = [s for s in specs if s.update is not None]
    outs += [_input_update(s) for s in stateful]

    update_pairs = []
    for s, v in _pairs(updates, "updates"):
        update_pairs.append((s, checked_update(s, _number_as_update(s, v))))
    targets = [id(s) for s, _ in update_pairs]
    if len(set(targets)) != len(targets):
        dup = [s for s, _ in update_pairs if targets.count(id(s)) > 1][0]
        raise ValueError(f"shared variable {dup} is updated twice")

    outs, update_pairs = _cut_at_inputs(specs, outs, update_pairs)
    given_pairs = _pairs(givens, "givens")
    for k, _ in given_pairs:
        if not isinstance(k, Variable):
            raise TypeError(f"givens keys must be variables, got {k!r}")
    # as Theano: a value (array, number) given for a variable becomes a shared variable
    given_pairs = [(k, v if isinstance(v, Variable) else shared(v)) for k, v in given_pairs]
    if given_pairs:
        replaced = clone_replace(outs + [v for _, v in update_pairs], given_pairs,
                                 strict=rebuild_strict)
        outs, rest = replaced[:len(outs)], replaced[len(outs):]
        update_pairs = [(s, v) for (s, _), v in zip(update_pairs, rest)]

    used = _add_default_updates(outs, update_pairs, no_default_updates, given_pairs,
                                rebuild_strict)
    outs, update_pairs = outs[:n_outs], list(zip(stateful, outs[n_outs:])) + update_pairs

    all_outputs = outs + [v for _, v in update_pairs]
    if used is None:
        used = graph_inputs(all_outputs)
    explicit = {id(s.variable) for s in specs}
    for v in used:
        if id(v) not in explicit and not isinstance(v, (Constant, SharedVariable)):
            raise MissingInputError(
                f"the outputs depend on {v} ({v.type}), which is not an input of the function;"
                f" inputs are {[str(s.variable) for s in specs]}")
    used_ids = {id(v) for v in used}
    policy = on_unused_input or "raise"
    for s in specs:
        if id(s.variable) not in used_ids and s.update is None:
            msg = (f"input {s.name or s.variable} is not used by the outputs or updates; "
                   "pass on_unused_input='ignore' or 'warn' to allow it")
            if policy == "raise":
                raise UnusedInputError(msg)
            if policy == "warn":
                warnings.warn(msg, stacklevel=2)

    m = get_mode(mode)
    excluding = tuple(config.optimizer_excluding) + m.excluding_names
    stats = _profile_stats(profile, name)
    input_specs = [_input_spec(s, allow_input_downcast) for s in specs]
    by_in = {id(s): spec for s, spec in zip(specs, input_specs)}
    update_pairs = [(by_in.get(id(s), s), v) for s, v in update_pairs]
    args = (input_specs, outs, update_pairs, unpack_single)
    if m.check:
        optimized, applied = optimize(all_outputs, m.tags(), excluding)
        reference = CompiledFunction(*args, all_outputs, m, [], all_outputs, PyLinker(m))
        fn = DebugFunction(*args, optimized, m, applied, all_outputs, m.make_linker(),
                           reference=reference)
    elif stats is not None:
        t_rewrite = time.perf_counter()
        optimized, applied = optimize(all_outputs, m.tags(), excluding)
        stats.add_compile("rewrites", time.perf_counter() - t_rewrite)
        fn = ProfiledFunction(*args, optimized, m, applied, all_outputs,
                              ProfilingLinker(m.make_linker(), stats))
        fn.profile = stats
    else:
        with tiers.foreground():    # background O3 builds wait for it
            fn = _compile_cached(args, all_outputs, [s.variable for s in specs], m, excluding)
    fn.name = name
    fn.output_keys = output_keys
    fn._source = source.compiled(m)
    tiers.attach(fn)        # switched to O3 kernels built in the background
    for hook in list(COMPILE_HOOKS):
        hook(fn)
    log.debug("compiled function %s in %.1f ms", name or "", 1e3 * (time.perf_counter() - t0))
    return fn


def _compile_cached(args, all_outputs, inputs, m, excluding):
    """The CompiledFunction of `all_outputs`, its rewritten graph and launches
    taken from the graph cache when it has this graph's structure (the rewrites
    and lowering skipped), else computed and stored there (not for the py
    linker with few rewrites: FAST_COMPILE)."""
    linker = m.make_linker()
    tags = m.tags()
    if not linker.native and m.optimizer != "fast_run":
        # FAST_COMPILE: no native code to keep, and its few rewrites cost less
        # than the key and lookup
        optimized, applied = optimize(all_outputs, tags, excluding)
        return CompiledFunction(*args, optimized, m, applied, all_outputs, linker)
    try:
        key, leaves = graph_cache.structure_key(all_outputs, inputs, tags, excluding, linker)
    except graph_cache.Uncacheable as e:
        log.debug("graph cache not used: %s", e)
        key = None
    found = graph_cache.lookup(key, leaves, all_outputs) if key is not None else None
    if found is not None:
        optimized, applied, launches = found
        if hasattr(linker, "launches"):
            linker.launches = launches
        try:
            return CompiledFunction(*args, optimized, m, applied, all_outputs, linker)
        except Exception as e:  # an entry that does not build: compiled again
            log.warning("graph cache entry %s does not build (%s); compiling again", key, e)
            graph_cache.discard(key)
            linker = m.make_linker()
        finally:
            if hasattr(linker, "launches"):
                linker.launches = None
    optimized, applied = optimize(all_outputs, tags, excluding)
    if key is not None and hasattr(linker, "launches"):
        linker.launches = {}
    try:
        fn = CompiledFunction(*args, optimized, m, applied, all_outputs, linker)
    finally:
        launches = getattr(linker, "launches", None)
        if launches is not None:
            linker.launches = None
    if key is not None:
        graph_cache.store(key, leaves, optimized, applied, launches)
    return fn


def _profile_stats(profile, name):
    """The ProfileStats a function records into (profile=True or a ProfileStats,
    or config.profile), or None: not profiled."""
    if isinstance(profile, ProfileStats):
        return profile
    if profile is None or profile is False:
        return ProfileStats(name) if config.profile else None
    return ProfileStats(profile if isinstance(profile, str) else name)


def _dict_outputs(outputs):
    """A dict of outputs as Theano takes it: (sorted keys, outputs in that order)."""
    for k in outputs:
        if not isinstance(k, str):
            raise TypeError(f"the keys of a dict of outputs must be strings, got {k!r}")
    keys = sorted(outputs)
    return keys, [outputs[k] for k in keys]


def _as_constant_of(t, value, what):
    """A number or array `value` as a constant of type `t` (converted as an input
    value is: exactly, or floats to floatX); TypeError naming `what` otherwise."""
    try:
        return TensorConstant(t, t.filter(value))
    except (TypeError, ValueError) as e:
        raise TypeError(f"{what}: {t} cannot store {value!r} exactly; give a value of "
                        f"dtype {t.dtype} and {t.ndim} dims") from e


def _number_as_update(target, value):
    """`updates={s: 3}`: a value becomes a constant of the shared variable's type."""
    if isinstance(target, SharedVariable) and not isinstance(value, Variable):
        return _as_constant_of(target.type, value, f"update of shared variable {target}")
    return value


def _input_update(spec):
    """The update of In(x, update=...), of x's type."""
    t = spec.variable.type
    u = spec.update
    u = _as_constant_of(t, u, f"update of input {spec.variable}") if not isinstance(
        u, Variable) else as_tensor_variable(u)
    return t.convert_or_raise(u, f"update of input {spec.name or spec.variable}",
                              ": dtype and number of dims must match")


def _cut_at_inputs(specs, outs, update_pairs):
    """Inputs that are intermediate results (they have an owner) cut the graph
    there, as Theano does: a fresh variable takes their place and their owner is
    not computed. The In objects (function()'s copies) get the fresh variable."""
    cut = [(s.variable, s.variable.type(s.variable.name)) for s in specs
           if s.variable.owner is not None]
    if not cut:
        return outs, update_pairs
    fresh = {id(old): new for old, new in cut}
    for s in specs:
        s.variable = fresh.get(id(s.variable), s.variable)
    replaced = clone_replace(outs + [v for _, v in update_pairs], cut)
    return replaced[:len(outs)], [(s, v) for (s, _), v in zip(update_pairs,
                                                              replaced[len(outs):])]


def _input_spec(spec, allow_input_downcast):
    """The runtime's InputSpec of an In."""
    value = spec.value
    if isinstance(value, SharedVariable):
        if value.type != spec.variable.type:
            raise TypeError(f"In({spec.variable}): the shared variable {value} given as value "
                            f"has type {value.type}, the input {spec.variable.type}")
        value = value.container
    if isinstance(value, Variable):
        raise TypeError(f"In({spec.variable}): a default value must be a value or a "
                        f"shared variable, got the symbolic {value}")
    downcast = spec.allow_downcast if spec.allow_downcast is not None else allow_input_downcast
    return InputSpec(spec.variable, spec.name, value, downcast, spec.strict, spec.implicit,
                     spec.update is not None, spec.key)


class FunctionSource:
    """What tjit.function was given (its arguments, the mode resolved), and the
    copies made since: a pickled CompiledFunction is rebuilt from this."""

    def __init__(self, inputs, outputs, mode, updates, givens, no_default_updates, name,
                 rebuild_strict, allow_input_downcast, on_unused_input):
        self.kwargs = dict(
            inputs=list(inputs) if isinstance(inputs, (list, tuple)) else inputs,
            outputs=dict(outputs) if isinstance(outputs, dict) else
            list(outputs) if isinstance(outputs, list) else outputs,
            mode=mode, updates=_pairs(updates, "updates"), givens=_pairs(givens, "givens"),
            no_default_updates=no_default_updates, name=name, rebuild_strict=rebuild_strict,
            allow_input_downcast=allow_input_downcast, on_unused_input=on_unused_input)
        self.copies = []  # (swap, delete_updates) of each Function.copy since

    def compiled(self, mode):
        self.kwargs["mode"] = mode
        return self

    def copied(self, swap, delete_updates):
        new = FunctionSource.__new__(FunctionSource)
        new.kwargs = self.kwargs
        new.copies = self.copies + [(swap, delete_updates)]
        return new

    def build(self, containers=None):
        """The function compiled again (the disk cache makes it fast), reading
        and updating `containers` (see CompiledFunction.adopt_storage)."""
        fn = function(**self.kwargs)
        name = fn.name
        for swap, delete_updates in self.copies:
            fn = fn.copy(swap=swap, delete_updates=delete_updates, name=name)
        if containers is not None:
            fn.adopt_storage(containers)
        return fn


def pfunc(params, outputs=None, mode=None, updates=None, givens=None,
          no_default_updates=False, accept_inplace=False, name=None, rebuild_strict=True,
          allow_input_downcast=None, profile=None, on_unused_input=None):
    """Theano's pfunc: `function` with the inputs called `params`."""
    return function(params, outputs, mode, updates, givens, no_default_updates,
                    accept_inplace, name, rebuild_strict, allow_input_downcast, profile,
                    on_unused_input)


def function_dump(filename, inputs, outputs=None, mode=None, updates=None, givens=None,
                  no_default_updates=False, accept_inplace=False, name=None,
                  rebuild_strict=True, allow_input_downcast=None, profile=None,
                  on_unused_input=None, extra_tag_to_remove=None):
    """Pickle function()'s arguments to `filename` (as Theano), to reproduce a
    compilation elsewhere: `tjit.function(**pickle.load(open(filename, 'rb')))`.
    Shared variables are saved with their values."""
    if not isinstance(filename, str):
        raise TypeError(f"function_dump: filename must be a string, got {filename!r}")
    d = dict(inputs=inputs, outputs=outputs, mode=mode, updates=updates, givens=givens,
             no_default_updates=no_default_updates, accept_inplace=accept_inplace, name=name,
             rebuild_strict=rebuild_strict, allow_input_downcast=allow_input_downcast,
             profile=profile, on_unused_input=on_unused_input)
    with open(filename, "wb") as f:
        pickle.dump(d, f, protocol=pickle.HIGHEST_PROTOCOL)


def _add_default_updates(outs, update_pairs, no_default_updates, given_pairs=(),
                         strict=True):
    """Append (v, v.default_update) for each shared variable v the function reads that
    has a default update and no explicit one (as Theano's pfunc): those the outputs
    and updates read, then, in turn, those the added default updates read (a random
    draw's state update reads the draw's size). The givens apply to the default
    updates as to the outputs. Returns graph_inputs(outs + the update values) when
    no update was added (the caller needs it next), else None."""
    if no_default_updates is True:
        return None
    skip = {id(v) for v in (no_default_updates or [])}
    have = {id(s) for s, _ in update_pairs}
    frontier = outs + [u for _, u in update_pairs]
    first = True
    while frontier:
        inputs = graph_inputs(frontier)
        found = [v for v in inputs
                 if isinstance(v, SharedVariable) and v.default_update is not None
                 and id(v) not in have and id(v) not in skip]
        if first and not found:
            return inputs
        first = False
        found = list({id(v): v for v in found}.values())
        news = [v.default_update for v in found]
        if given_pairs and news:
            news = clone_replace(news, given_pairs, strict=strict)
        for v, new in zip(found, news):
            update_pairs.append((v, checked_update(v, new)))
            have.add(id(v))
        frontier = news
