"""tjit.function: from symbolic inputs/outputs/updates to a compiled callable.

Pipeline: check the signature (inputs, updates, givens) -> rewrite the graph
(passes selected by the mode) -> lower and compile nodes -> CompiledFunction.
"""
from __future__ import annotations

import logging
import time
import warnings

from .config import config
from .graph import Constant, Variable, clone_replace, graph_inputs
from .link import NativeLinker, PyLinker
from .shared import SharedVariable, checked_update, shared
from .tensor.var import as_tensor_variable
from .passes import optimize
from .runtime import CompiledFunction, InputSpec
from .runtime.debug import DebugFunction

log = logging.getLogger("tjit.function")
_NO_VALUE = object()
COMPILE_HOOKS = []  # callables run on every CompiledFunction built (tjit dump uses it)


class MissingInputError(ValueError):
    """The outputs depend on a variable that is not an input of the function."""


class UnusedInputError(ValueError):
    """An explicit input is not used by the outputs or updates."""


class In:
    """An input with options: a keyword `name`, a default `value`, `borrow`."""

    def __init__(self, variable, name=None, value=_NO_VALUE, update=None, mutable=False,
                 borrow=False, strict=False, allow_downcast=None, implicit=False):
        if not isinstance(variable, Variable):
            raise TypeError(f"In() needs a symbolic variable, got {type(variable).__name__}")
        self.variable = variable
        self.name = name
        self.value = value
        self.has_default = value is not _NO_VALUE
        self.borrow = borrow
        self.allow_downcast = allow_downcast
        if update is not None or mutable or implicit:
            raise NotImplementedError("In(update=..., mutable=..., implicit=...) are not "
                                      "supported; use function(updates=...)")


class Out:
    """An output with options (`borrow`: returned arrays are never runtime buffers
    in tjit, so borrow only allows skipping a defensive copy)."""

    def __init__(self, variable, borrow=False):
        self.variable = variable
        self.borrow = borrow


class Mode:
    """A compilation mode: which rewrites run (`optimizer`: 'fast_run',
    'fast_compile' or None) and how nodes run (`linker`: 'native' or 'py')."""

    def __init__(self, linker="native", optimizer="fast_run", excluding=(), check=False):
        if linker not in ("native", "py", "cvm", "c", "c|py", "vm"):
            raise ValueError(f"unknown linker {linker!r}; use 'native' or 'py'")
        self.linker = "py" if linker == "py" else "native"
        if optimizer in (None, "None"):
            optimizer = None
        elif optimizer not in ("fast_run", "fast_compile", "merge"):
            raise ValueError(f"unknown optimizer {optimizer!r}; use 'fast_run', "
                             "'fast_compile' or None")
        self.optimizer = optimizer
        self.excluding_names = tuple(excluding)
        self.check = check  # DebugMode: check every node against its NumPy reference
        # FAST_COMPILE: a cheap LLVM pipeline (no vectorizers, fast instruction selection)
        self.codegen_level = 0 if optimizer == "fast_compile" else 3

    def make_linker(self):
        """The linker turning this mode's rewritten nodes into thunks."""
        if self.linker == "py":
            return PyLinker(mode=self)
        return NativeLinker(self.codegen_level, mode=self)

    def excluding(self, *names):
        return Mode(self.linker, self.optimizer, self.excluding_names + names, self.check)

    def tags(self):
        return {None: (), "merge": ("merge",)}.get(self.optimizer, (self.optimizer,))

    def __repr__(self):
        return (f"Mode(linker={self.linker!r}, optimizer={self.optimizer!r}, "
                f"excluding={self.excluding_names}, check={self.check})")


_MODES = {"FAST_RUN": ("native", "fast_run"), "FAST_COMPILE": ("native", "fast_compile"),
          "DebugMode": ("native", "fast_run", (), True),
          "DEBUG_MODE": ("native", "fast_run", (), True), "PY": ("py", "fast_run")}


def get_mode(mode):
    if mode is None:
        mode = config.mode
    if isinstance(mode, Mode):
        return mode
    if mode not in _MODES:
        raise ValueError(f"unknown mode {mode!r}; known modes: {', '.join(_MODES)}")
    return Mode(*_MODES[mode])


def _as_in(x):
    spec = x if isinstance(x, In) else In(x) if isinstance(x, Variable) else None
    if spec is None:
        raise TypeError(f"function inputs must be symbolic variables or In(...), got "
                        f"{type(x).__name__}: {x!r}")
    v = spec.variable
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
    if not isinstance(inputs, (list, tuple)):
        raise TypeError("function inputs must be a list of variables")
    specs = [_as_in(x) for x in inputs]
    seen = set()
    for s in specs:
        if id(s.variable) in seen:
            raise ValueError(f"input {s.variable} given twice")
        seen.add(id(s.variable))

    unpack_single = False
    if outputs is None:
        outs = []
    elif isinstance(outputs, (list, tuple)):
        outs = list(outputs)
    else:
        outs, unpack_single = [outputs], True
    outs = [_as_output(o, k) for k, o in enumerate(outs)]

    update_pairs = []
    for s, v in _pairs(updates, "updates"):
        update_pairs.append((s, checked_update(s, v)))
    targets = [id(s) for s, _ in update_pairs]
    if len(set(targets)) != len(targets):
        dup = [s for s, _ in update_pairs if targets.count(id(s)) > 1][0]
        raise ValueError(f"shared variable {dup} is updated twice")

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

    _add_default_updates(outs, update_pairs, no_default_updates, given_pairs, rebuild_strict)

    all_outputs = outs + [v for _, v in update_pairs]
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
        if id(s.variable) not in used_ids:
            msg = (f"input {s.name or s.variable} is not used by the outputs or updates; "
                   "pass on_unused_input='ignore' or 'warn' to allow it")
            if policy == "raise":
                raise UnusedInputError(msg)
            if policy == "warn":
                warnings.warn(msg, stacklevel=2)

    m = get_mode(mode)
    excluding = tuple(config.optimizer_excluding) + m.excluding_names
    optimized, applied = optimize(all_outputs, m.tags(), excluding)
    input_specs = [InputSpec(s.variable, s.name, s.value, s.has_default,
                             s.allow_downcast if s.allow_downcast is not None
                             else allow_input_downcast) for s in specs]
    args = (input_specs, outs, update_pairs, unpack_single)
    if m.check:
        reference = CompiledFunction(*args, all_outputs, m, [], all_outputs, PyLinker(m))
        fn = DebugFunction(*args, optimized, m, applied, all_outputs, m.make_linker(),
                           reference=reference)
    else:
        fn = CompiledFunction(*args, optimized, m, applied, all_outputs, m.make_linker())
    fn.name = name
    for hook in list(COMPILE_HOOKS):
        hook(fn)
    log.debug("compiled function %s in %.1f ms", name or "", 1e3 * (time.perf_counter() - t0))
    return fn


def _add_default_updates(outs, update_pairs, no_default_updates, given_pairs=(),
                         strict=True):
    """Append (v, v.default_update) for each shared variable v the function reads that
    has a default update and no explicit one (as Theano's pfunc): those the outputs
    and updates read, then, in turn, those the added default updates read (a random
    draw's state update reads the draw's size). The givens apply to the default
    updates as to the outputs."""
    if no_default_updates is True:
        return
    skip = {id(v) for v in (no_default_updates or [])}
    have = {id(s) for s, _ in update_pairs}
    frontier = outs + [u for _, u in update_pairs]
    while frontier:
        found = [v for v in graph_inputs(frontier)
                 if isinstance(v, SharedVariable) and v.default_update is not None
                 and id(v) not in have and id(v) not in skip]
        found = list({id(v): v for v in found}.values())
        news = [v.default_update for v in found]
        if given_pairs and news:
            news = clone_replace(news, given_pairs, strict=strict)
        for v, new in zip(found, news):
            update_pairs.append((v, checked_update(v, new)))
            have.add(id(v))
        frontier = news
