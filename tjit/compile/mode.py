"""Compilation modes (Theano's `theano.compile.mode`): which rewrites run and how
nodes run. `get_mode('FAST_RUN')`, `Mode(linker=..., optimizer=...)`.

The predefined modes, as Theano 1.0 documents them:
  'FAST_RUN'      every rewrite (fusion included), native code at LLVM O3
  'FAST_COMPILE'  a few rewrites (the 'fast_compile' passes: merge and a few
                  canonicalizations) and the Python linker: every node runs its
                  op's NumPy `perform`; no native code (but normal draws: their
                  level-0 kernel keeps FAST_RUN's bits), no graph cache
  'DebugMode'     FAST_RUN's native code, every node checked against `perform`
`Mode(linker="native", optimizer="fast_compile")` is the native mode compiled
cheaply: the fast_compile passes plus elementwise fusion, native code at LLVM
level 0 (no vectorizers, fast instruction selection), bit-identical to FAST_RUN.
Theano's 'cvm', 'vm' and 'c' linker names mean 'native'.
"""
from __future__ import annotations

from ..config import config
from ..link import NativeLinker, PyLinker


class Mode:
    """A compilation mode: which rewrites run (`optimizer`: 'fast_run',
    'fast_compile' or None) and how nodes run (`linker`: 'native' or 'py')."""

    def __init__(self, linker="native", optimizer="fast_run", excluding=(), check=False):
        if linker is None:
            linker = "native"
        if linker not in ("native", "py", "cvm", "c", "c|py", "vm", "cvm_nogc", "vm_nogc"):
            raise ValueError(f"unknown linker {linker!r}; use 'native' or 'py'")
        self.linker = "py" if linker == "py" else "native"
        if optimizer in (None, "None"):
            optimizer = None
        elif optimizer == "default":
            optimizer = "fast_run"
        elif optimizer not in ("fast_run", "fast_compile", "merge"):
            raise ValueError(f"unknown optimizer {optimizer!r}; use 'fast_run', "
                             "'fast_compile' or None")
        self.optimizer = optimizer
        self.excluding_names = tuple(excluding)
        self.check = check  # DebugMode: check every node against its NumPy reference
        # native fast_compile: a cheap LLVM pipeline (no vectorizers, fast
        # instruction selection); the py linker compiles nothing
        self.codegen_level = 0 if optimizer == "fast_compile" else 3

    def make_linker(self):
        """The linker turning this mode's rewritten nodes into thunks."""
        if self.linker == "py":
            return PyLinker(mode=self)
        return NativeLinker(self.codegen_level, mode=self)

    def excluding(self, *names):
        return Mode(self.linker, self.optimizer, self.excluding_names + names, self.check)

    def tags(self):
        """The pass tags this mode runs (tjit/passes/pipeline.py). Native
        fast_compile adds 'native_fast_compile' (elementwise fusion: one kernel
        instead of one per node is what makes native code cheap to compile); the
        py linker runs each node's perform, so fusion would only cost time."""
        if self.optimizer == "fast_compile" and self.linker == "native":
            return ("fast_compile", "native_fast_compile")
        return {None: (), "merge": ("merge",)}.get(self.optimizer, (self.optimizer,))

    def __eq__(self, other):
        return (type(other) is type(self) and other.linker == self.linker
                and other.optimizer == self.optimizer and other.check == self.check
                and other.excluding_names == self.excluding_names)

    def __hash__(self):
        return hash((self.linker, self.optimizer, self.check, self.excluding_names))

    def __repr__(self):
        return (f"Mode(linker={self.linker!r}, optimizer={self.optimizer!r}, "
                f"excluding={self.excluding_names}, check={self.check})")


class DebugMode(Mode):
    """Native code, every node checked against its NumPy reference (as the
    'DebugMode' mode string)."""

    def __init__(self, optimizer="fast_run", excluding=()):
        super().__init__("native", optimizer, excluding, check=True)

    def excluding(self, *names):
        return DebugMode(self.optimizer, self.excluding_names + names)


FAST_RUN = Mode("native", "fast_run")
FAST_COMPILE = Mode("py", "fast_compile")      # Theano's: few rewrites, Python code only
predefined_modes = {"FAST_RUN": FAST_RUN, "FAST_COMPILE": FAST_COMPILE,
                    "DebugMode": DebugMode(), "DEBUG_MODE": DebugMode(),
                    "PY": Mode("py", "fast_run")}


def get_mode(mode):
    """The Mode for `mode`: a Mode, one of `predefined_modes`' names, or None
    (`config.mode`); ValueError naming the known modes otherwise."""
    if mode is None:
        mode = config.mode
    if isinstance(mode, Mode):
        return mode
    if mode not in predefined_modes:
        raise ValueError(f"unknown mode {mode!r}; known modes: {', '.join(predefined_modes)}")
    return predefined_modes[mode]


def get_default_mode():
    """The mode `config.mode` names."""
    return get_mode(None)
