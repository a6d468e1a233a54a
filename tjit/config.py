"""Configuration flags: `tjit.config.floatX`, read from TJIT_FLAGS at import.

TJIT_FLAGS="floatX=float32,mode=FAST_COMPILE" sets flags; unknown flags raise.
`change_flags(**kw)` is a context manager (and decorator) for temporary changes.
"""
from __future__ import annotations

import contextlib
import os


def _default_cache_dir():
    if os.environ.get("TJIT_CACHE_DIR"):
        return os.environ["TJIT_CACHE_DIR"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "tjit")


def _choice(*allowed):
    def check(v):
        if v not in allowed:
            raise ValueError(f"must be one of {allowed}, got {v!r}")
        return v
    return check


def _positive_int(v):
    v = int(v)
    if v < 1:
        raise ValueError(f"must be >= 1, got {v}")
    return v


def _bool(v):
    if isinstance(v, str):
        if v.lower() in ("true", "1", "yes", "on"):
            return True
        if v.lower() in ("false", "0", "no", "off"):
            return False
        raise ValueError(f"must be True or False, got {v!r}")
    return bool(v)


def _names(v):
    if isinstance(v, str):
        return tuple(n for n in v.replace(":", " ").split() if n)
    return tuple(v)


def _cpu_name(v):
    # resolved now, so an unknown name fails where it is set (LLVM itself would
    # only warn, then abort the process when generating code)
    from .codegen.target import resolve
    return resolve(str(v).strip()).name


def _size_mb(v):
    v = float(v)
    if not v > 0:
        raise ValueError(f"must be > 0 (megabytes), got {v}")
    return v


_FLAGS = {
    # name: (default, converter, doc)
    # Theano's casting of Python numbers in graphs: 'custom' (the smallest dtype
    # that holds the number exactly, floats as float32 when exact and floatX is
    # float32) is the one tjit implements.
    "cast_policy": ("custom", _choice("custom"),
                    "how Python numbers in graphs get a dtype (only Theano's 'custom')"),
    "floatX": ("float64", _choice("float64", "float32", "float16"),
               "dtype of T.scalar/T.vector/... and of python floats that need a float"),
    "mode": ("FAST_RUN", _choice("FAST_RUN", "FAST_COMPILE", "DebugMode", "DEBUG_MODE"),
             "default compilation mode of tjit.function: FAST_RUN (every rewrite, native "
             "code), FAST_COMPILE (few rewrites, NumPy code only), DebugMode"),
    "threads": (os.cpu_count() or 1, _positive_int, "threads used by large kernels"),
    "cache_dir": (_default_cache_dir(), str, "directory of the compiled-object cache"),
    "optimizer_excluding": ((), _names, "rewrite names to skip (':'-separated in TJIT_FLAGS)"),
    "on_opt_error": ("raise", _choice("raise", "warn", "ignore"), "what a failing rewrite does"),
    # -- test values (Theano's compute_test_value; graph.py computes them) --
    "compute_test_value": ("off", _choice("off", "ignore", "warn", "raise"),
                           "compute each node's value from its inputs' tag.test_value as "
                           "the graph is built (off, or what a missing test value does: "
                           "ignore, warn, raise)"),
    "compute_test_value_opt": ("off", _choice("off", "ignore", "warn", "raise"),
                               "accepted for Theano compatibility; tjit's rewrites do not "
                               "compute test values"),
    # -- target and cache bounds (tjit.codegen) --
    "cpu": ("host", _cpu_name, "CPU code is generated for: host, x86-64, x86-64-v2, "
            "x86-64-v3, x86-64-v4 or an LLVM CPU name (code the host cannot run is refused)"),
    "cache_size_mb": (500.0, _size_mb, "size limit of the on-disk compile cache (oldest "
                      "entries are removed past it)"),
    "kernel_cache_mb": (64.0, _size_mb, "size limit of the in-process cache of compiled "
                        "kernels (least recently used ones are dropped; their machine "
                        "code is freed once no function uses it)"),
    "tiered": (True, _bool, "FAST_RUN kernels not in the compile cache first run level-0 "
               "code while their O3 code is built on a background thread (only kernels "
               "whose results are bit-identical at both levels; tjit/link/tiers.py)"),
    # -- profiles (tjit/profiling.py) --
    "profile": (False, _bool, "profile every compiled function and print the profiles at exit"),
    "profile_bandwidth": (0.0, float, "the machine's memory bandwidth in GB/s for profiles "
                          "(0: measure it once and cache it)"),
}


class Config:
    def __init__(self):
        object.__setattr__(self, "_values", {k: v[0] for k, v in _FLAGS.items()})

    def __getattr__(self, name):
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(_unknown(name)) from None

    def __setattr__(self, name, value):
        if name not in _FLAGS:
            raise AttributeError(_unknown(name))
        try:
            self._values[name] = _FLAGS[name][1](value)
        except ValueError as e:
            raise ValueError(f"tjit.config.{name}: {e}") from None

    def change_flags(self, **kwargs):
        """Context manager setting flags temporarily (see module `change_flags`)."""
        return change_flags(**kwargs)

    def __dir__(self):
        return sorted(_FLAGS)

    def __str__(self):
        return "\n".join(f"{k} = {self._values[k]!r}    # {_FLAGS[k][2]}" for k in sorted(_FLAGS))


def _unknown(name):
    return f"unknown tjit flag {name!r}; known flags: {', '.join(sorted(_FLAGS))}"


config = Config()


class change_flags(contextlib.ContextDecorator):
    """Set flags temporarily, as a context manager (`with change_flags(floatX=
    'float32'): ...`) or a decorator (`@change_flags(floatX='float32')`); the old
    values come back on exit, also when the body raises. A dict may be passed
    positionally (`change_flags({'floatX': 'float32'})`), as Theano allows."""

    def __init__(self, args=(), **kwargs):
        self.flags = dict(args, **kwargs)
        for k in self.flags:
            if k not in _FLAGS:
                raise AttributeError(_unknown(k))
        self._saved = []

    def __enter__(self):
        old = {k: getattr(config, k) for k in self.flags}
        self._saved.append(old)
        try:
            for k, v in self.flags.items():
                setattr(config, k, v)
        except Exception:
            self._restore()
            raise
        return self

    def __exit__(self, *exc):
        self._restore()
        return False

    def _restore(self):
        for k, v in self._saved.pop().items():
            config._values[k] = v


def parse_flags(text):
    """'a=1,b=2' -> {'a': '1', 'b': '2'}; raises ValueError on a malformed entry."""
    result = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        if "=" not in item:
            raise ValueError(f"TJIT_FLAGS entry {item!r} is not name=value")
        k, v = item.split("=", 1)
        result[k.strip()] = v.strip()
    return result


for _k, _v in parse_flags(os.environ.get("TJIT_FLAGS", "")).items():
    setattr(config, _k, _v)
