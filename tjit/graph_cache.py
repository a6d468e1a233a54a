"""The graph cache: a function's rewritten graph, and its nodes' launches (loop-IR
kernels), filed under the structure of the graph `tjit.function` was given.

A process compiling a graph it (or an earlier process) compiled before skips the
rewrites and the lowering: it takes the rewritten graph and the launches from
here, and only loads their kernels' object code (`tjit.codegen.jit`'s caches).

The key (`structure_key`) is a SHA-256 of: every node in topological order (its
op's pickled state, its inputs by position, its outputs' types, names and tags), the
leaves (the explicit inputs by position, the shared variables by first use,
constants by value), the mode's rewrite tags, exclusions and codegen level, the
config flags that change rewrites or code (all but paths, sizes and profiling),
the target, and a hash of tjit's sources (file names, sizes, modification times)
with the llvmlite, NumPy and Python versions. Anything that cannot be keyed
(an op that does not pickle) is compiled without this cache.

An entry is the rewritten graph pickled with its leaves and the given graph's
ops left out (each is named by its position and bound to the calling function's
own variables and op objects on load), the
names of the rewrites that changed it, and the launches of its nodes. Entries are
kept in memory (as bytes: each hit unpickles fresh nodes) and on disk under
`<cache_dir>/graphs/`, written as `tjit.codegen.cache` writes object code: a magic
word, a SHA-256 of the payload, the payload (the entry's own key first),
written to a temporary file and renamed. An entry that fails any check (checksum,
key, unpickling, the outputs' types) is deleted and the function compiled again.
"""
from __future__ import annotations

import collections
import hashlib
import io
import logging
import os
import pickle
import sys
import threading

import llvmlite
import numpy as np

from .codegen import cache as disk
from . import sources
from .codegen import target as targets
from .config import config
from .graph import Constant, Op, Variable, toposort
from .ir.nodes import Kernel
from .shared import Container, SharedVariable
from .tensor.type import TensorType

log = logging.getLogger("tjit.graph_cache")
MAGIC = b"TJITGRF1"
MEMORY_ENTRIES = 256        # entries kept in memory (pickled bytes, a few KB each)
DISK_LIMIT = 0.05           # the graphs may take this share of config.cache_size_mb
# Flags that change neither rewrites nor code (mode is resolved by the caller).
_NEUTRAL_FLAGS = {"cache_dir", "cache_size_mb", "kernel_cache_mb", "profile",
                  "profile_bandwidth", "mode", "on_opt_error", "tiered"}

# What happened to each lookup: "memory"/"disk" hits, "miss", "stored", "uncacheable",
# "discarded" (bad entries). Tests read these.
COUNTS = collections.Counter()
_memory = collections.OrderedDict()     # key -> payload bytes
_lock = threading.Lock()                # _memory's order (threads compile at once)
_state = {}
_fragments = {}     # op or type (or its id) -> (the object, its key bytes); objects kept alive


class Uncacheable(Exception):
    """The graph holds something the cache cannot key or store."""


# ---- keys ----------------------------------------------------------------------------
class _StatePickler(pickle.Pickler):
    """Pickles ops without their cached hash (`Op.__hash__` memoizes one that
    depends on the process: keys and stored ops must not carry it), and the
    variables in `positions` (id -> position) as references to the loading
    function's own (`_leaf`). Storage reached otherwise (a shared variable in an
    inner graph) is Uncacheable: a copy of it would not be the user's.
    (reducer_override sees only non-builtin objects: cheaper than persistent_id.)"""

    positions = {}
    keying = True       # pickling for a key (a payload keeps every attribute)

    def reducer_override(self, obj):
        position = self.positions.get(id(obj))
        if position is not None:
            return _leaf, (position,)
        if isinstance(obj, Op):
            if "_props_hash" in obj.__dict__:
                rv = obj.__reduce_ex__(pickle.HIGHEST_PROTOCOL)
                if len(rv) > 2 and isinstance(rv[2], dict):
                    state = {k: v for k, v in rv[2].items() if k != "_props_hash"}
                    return rv[:2] + (state,) + tuple(rv[3:])
        elif isinstance(obj, (SharedVariable, Container)):
            raise Uncacheable(f"{obj!r} is reached through an op")
        elif self.keying and isinstance(obj, Variable):
            # an inner graph's variable (scan, ifelse): its auto_name is a
            # process-wide counter and a constant's _signature a memo set by
            # the first merge that compared it, not structure
            rv = obj.__reduce_ex__(pickle.HIGHEST_PROTOCOL)
            if len(rv) > 2 and isinstance(rv[2], dict) and not _VARIABLE_MEMOS.isdisjoint(rv[2]):
                state = {k: v for k, v in rv[2].items() if k not in _VARIABLE_MEMOS}
                return rv[:2] + (state,) + tuple(rv[3:])
        return NotImplemented


_VARIABLE_MEMOS = frozenset({"auto_name", "_signature"})
_binding = threading.local()    # .leaves: the variables a payload being loaded binds to


def _leaf(position):
    """(Unpickling) the loading function's leaf variable at `position`."""
    return _binding.leaves[position]


def _dumps(obj):
    buf = io.BytesIO()
    _StatePickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buf.getvalue()


def _memo_key(obj):
    """What a fragment is memoized under: the object itself when equality says
    what it is (an op by its __props__, as the merge rewrite takes it; a type by
    its __eq__), else its identity."""
    cls = type(obj)
    kind = _memo_kinds.get(cls)
    if kind is None:
        if issubclass(cls, Op):
            kind = "op" if cls.__eq__ is Op.__eq__ and cls.__hash__ is Op.__hash__ else "id"
        else:
            kind = "eq" if cls.__eq__ is not object.__eq__ and cls.__hash__ is not None \
                else "id"
        _memo_kinds[cls] = kind
    if kind == "eq" or kind == "op" and (obj.__props__ or set(vars(obj)) <= {"_props_hash"}):
        return obj
    return ("id", id(obj))


_memo_kinds = {}    # class -> how its objects' fragments are memoized (_memo_key)
_by_id = {}         # id(op or type) -> (the object, its key bytes): the same object again


def _fragment(obj):
    """Key bytes of an op or type, memoized."""
    hit = _by_id.get(id(obj))
    if hit is not None and hit[0] is obj:
        return hit[1]
    if type(obj) is TensorType and len(obj.__dict__) == 3 \
            and (obj.name is None or type(obj.name) is str):
        # most types of a graph: one instance per variable, told apart by value
        # (these three attributes, a str, a tuple of bools and a str or None, are
        # all that pickles): keyed by their repr, without pickling
        k = (obj.dtype, obj.broadcastable, obj.name)
        frag = _tensor_types.get(k)
        if frag is None:
            if len(_tensor_types) > 4096:
                _tensor_types.clear()
            frag = _tensor_types[k] = b"TensorType=" + repr(k).encode()
        return frag
    return _pickled_fragment(obj)


_tensor_types = {}  # (dtype, broadcastable, name) -> key bytes of such a TensorType


def _pickled_fragment(obj):
    memo = _memo_key(obj)
    try:
        hit = _fragments.get(memo)
    except TypeError:           # an unhashable prop
        memo = ("id", id(obj))
        hit = _fragments.get(memo)
    if hit is not None and (hit[0] is obj or memo is obj):
        _remember_fragment(obj, hit[1])
        return hit[1]
    try:
        data = _dumps(obj)
    except Exception as e:  # lambdas, open handles...: not keyable
        raise Uncacheable(f"{obj!r} does not pickle: {e}") from None
    frag = type(obj).__qualname__.encode() + hashlib.sha256(data).digest()
    if len(_fragments) > 4096:
        _fragments.clear()
    _fragments[memo] = (obj, frag)
    _remember_fragment(obj, frag)
    return frag


def _remember_fragment(obj, frag):
    if len(_by_id) > 4096:
        _by_id.clear()
    _by_id[id(obj)] = (obj, frag)


def _constant_fragment(c):
    data = c.data
    if isinstance(data, np.ndarray) or np.isscalar(data):
        a = np.asarray(data)
        return b"%s|%r|" % (a.dtype.str.encode(), a.shape) + a.tobytes()
    try:
        return _dumps(data)
    except Exception as e:
        raise Uncacheable(f"constant {c!r} does not pickle: {e}") from None


def _tag(v, ref):
    """Key bytes of what `v.tag` holds (rewrites read it: var's `one_pass`, the
    softmax a log reads through `softmax_of`), test values aside."""
    if len(v.tag) <= ("test_value" in v.tag):
        return b""
    parts = []
    for k in sorted(k for k in v.tag if k != "test_value"):
        value = v.tag[k]
        if isinstance(value, Variable):     # one of the graph's, by position
            if id(value) not in ref:
                raise Uncacheable(f"tag {k} of {v} names a variable outside the graph")
            parts.append(b"%s=%s" % (k.encode(), ref[id(value)]))
        else:
            try:
                parts.append(b"%s=%s" % (k.encode(), _dumps(value)))
            except Exception as e:
                raise Uncacheable(f"tag {k} of {v} does not pickle: {e}") from None
    return b"tag{" + b",".join(parts) + b"}"


def source_version():
    """A hash of tjit's sources (tjit.sources) and the libraries' versions."""
    digest = sources.digest()
    found = _state.get("version")
    if found is None or found[0] != digest:
        versions = f"{digest}\0{llvmlite.__version__}\0{np.__version__}\0{sys.version}"
        found = _state["version"] = (digest, hashlib.sha256(versions.encode()).hexdigest())
    return found[1]


def _setting_key(tags, excluding, linker):
    flags = sorted((k, repr(v)) for k, v in config._values.items() if k not in _NEUTRAL_FLAGS)
    target = ""
    if getattr(linker, "native", False):
        target = targets.current().description
    return repr((sorted(tags), tuple(excluding), type(linker).__name__,
                 getattr(linker, "level", None), flags, target, source_version()))


def structure_key(outputs, inputs, tags, excluding, linker):
    """(key, bindings): the cache key of rewriting `outputs` (whose explicit inputs
    are `inputs`, in order) with `tags` and `excluding` for `linker`, and what a
    stored graph names by position: the graph's non-constant leaves (explicit
    inputs first), then each node's op in topological order. Raises Uncacheable."""
    if config.compute_test_value != "off" or config.compute_test_value_opt != "off":
        raise Uncacheable("test values are on")   # rewrites read them: not in the key
    h = hashlib.sha256(_setting_key(tags, excluding, linker).encode())
    ref = {}
    leaves = []

    def leaf(v, kind):
        ref[id(v)] = b"v%d" % len(ref)
        if isinstance(v, Constant):
            h.update(b"c" + _fragment(v.type) + _constant_fragment(v) + b"\0")
        else:
            leaves.append(v)
            kind = b"s" if isinstance(v, SharedVariable) else kind
            h.update(kind + _fragment(v.type) + repr(v.name).encode() + _tag(v, ref) + b"\0")

    for v in inputs:
        if id(v) not in ref:
            leaf(v, b"i")
    ops = []
    fragment, get = _fragment, ref.get
    for node in toposort(outputs):
        ops.append(node.op)
        parts = [b"n", fragment(node.op)]
        for v in node.inputs:
            r = get(id(v))
            if r is None:
                if v.owner is not None:
                    raise Uncacheable("a node's input is computed after it")
                leaf(v, b"l")
                r = ref[id(v)]
            parts.append(r)
        for v in node.outputs:
            ref[id(v)] = b"v%d" % len(ref)
            name = v.name
            parts += [b"o", fragment(v.type), b"None" if name is None else repr(name).encode(),
                      _tag(v, ref) if v.tag else b""]
        parts.append(b"\0")
        h.update(b"|".join(parts))
    for v in outputs:
        if id(v) not in ref:
            leaf(v, b"l")
        h.update(b"out" + ref[id(v)] + b"\0")
    # the graph's ops are bound too, by node position: a node the rewrites kept
    # runs the caller's own op object (an op may count its calls, as in tests)
    return h.hexdigest(), leaves + ops


# ---- entries -------------------------------------------------------------------------
class _LeafPickler(_StatePickler):
    keying = False

    def __init__(self, f, leaves):
        super().__init__(f, protocol=pickle.HIGHEST_PROTOCOL)
        self.positions = {}
        for k, v in enumerate(leaves):
            self.positions.setdefault(id(v), k)

    def reducer_override(self, obj):
        if type(obj) is Kernel:     # its loop body as bytes, unpickled on first use
            return _lazy_kernel, (obj.name, obj.buffers, obj.n_inputs, obj.meta, obj.params,
                                  _body_bytes(obj))
        return super().reducer_override(obj)


class _LazyKernel(Kernel):
    """A stored launch's kernel, its `body` unpickled on first use (a process that
    finds the kernel's object code on disk never needs it); then a plain Kernel."""

    def __getattr__(self, name):
        if name != "body":
            raise AttributeError(name)
        stored = self.__dict__.get("_body")
        if stored is None:      # another thread loaded it meanwhile
            return self.__dict__["body"]
        body = _BodyUnpickler(io.BytesIO(stored), tuple(self.buffers) + tuple(self.params)).load()
        self.__dict__["body"] = body
        self.__dict__.pop("_body", None)
        object.__setattr__(self, "__class__", Kernel)
        return body

    def __eq__(self, other):
        return self.body is not None and self == other     # (now a Kernel)

    def __hash__(self):
        return self.body is not None and hash(self)

    def __reduce__(self):
        self.body
        return self.__reduce_ex__(pickle.HIGHEST_PROTOCOL)


def _lazy_kernel(name, buffers, n_inputs, meta, params, body):
    kernel = object.__new__(_LazyKernel)
    kernel.__dict__.update(name=name, buffers=buffers, n_inputs=n_inputs, meta=meta,
                           params=params, _body=body)
    return kernel


class _BodyPickler(pickle.Pickler):
    """A kernel's body, naming the kernel's own buffers and params by position
    (the loaded body holds the loaded kernel's objects, as the stored one did)."""

    def __init__(self, f, refs):
        super().__init__(f, protocol=pickle.HIGHEST_PROTOCOL)
        self.refs = {id(r): k for k, r in enumerate(refs)}

    def persistent_id(self, obj):
        return self.refs.get(id(obj))


class _BodyUnpickler(pickle.Unpickler):
    def __init__(self, f, refs):
        super().__init__(f)
        self.refs = refs

    def persistent_load(self, pid):
        return self.refs[pid]


def _body_bytes(kernel):
    buf = io.BytesIO()
    _BodyPickler(buf, tuple(kernel.buffers) + tuple(kernel.params)).dump(kernel.body)
    return buf.getvalue()


def _loads(payload, leaves):
    _binding.leaves = leaves
    try:
        return pickle.loads(payload)
    finally:
        _binding.leaves = None


def _payload(leaves, optimized, applied, launches):
    """The entry's bytes, or None if the rewritten graph reads a variable that is
    not one of `leaves` (nothing to bind it to in another function)."""
    known = {id(v) for v in leaves}
    for node in toposort(optimized):
        for v in node.inputs:
            if v.owner is None and not isinstance(v, Constant) and id(v) not in known:
                return None
    for v in optimized:
        if v.owner is None and not isinstance(v, Constant) and id(v) not in known:
            return None
    for entry in ((optimized, applied, launches), (optimized, applied, None)):
        buf = io.BytesIO()
        try:
            _LeafPickler(buf, leaves).dump(entry)
            return buf.getvalue()
        except Exception as e:   # a launch holding a closure: keep the graph only
            log.debug("graph cache: cannot pickle %s: %s", "launches" if entry[2] else
                      "the graph", e)
    return None


def _unpack(payload, leaves, outputs):
    """(optimized, applied, launches) of `payload` bound to `leaves`, or None."""
    try:
        optimized, applied, launches = _loads(payload, leaves)
        if len(optimized) != len(outputs) or any(
                a.type != b.type for a, b in zip(optimized, outputs)):
            return None
        if launches is not None and not isinstance(launches, dict):
            return None
        return list(optimized), list(applied), launches
    except Exception as e:      # anything at all: the entry is rebuilt
        log.warning("graph cache: unreadable entry (%s); compiling again", e)
        return None


def lookup(key, leaves, outputs):
    """(optimized outputs, rewrites applied, launches by node or None) or None."""
    payload = _memory.get(key)
    where = "memory"
    if payload is None:
        payload, where = _load(key), "disk"
    if payload is None:
        COUNTS["miss"] += 1
        return None
    found = _unpack(payload, leaves, outputs)
    if found is None:
        COUNTS["discarded"] += 1
        with _lock:
            _memory.pop(key, None)
        _discard(_path(key), "does not match the graph")
        COUNTS["miss"] += 1
        return None
    _remember(key, payload)
    COUNTS[where] += 1
    return found


def store(key, leaves, optimized, applied, launches):
    payload = _payload(leaves, optimized, applied, launches)
    if payload is None:
        COUNTS["uncacheable"] += 1
        return
    _remember(key, payload)
    _write(key, payload)
    COUNTS["stored"] += 1


def discard(key):
    """Drop the entry `key` (in memory and on disk): it did not build."""
    COUNTS["discarded"] += 1
    with _lock:
        _memory.pop(key, None)
    _discard(_path(key), "does not build")


def _remember(key, payload):
    with _lock:
        _memory[key] = payload
        _memory.move_to_end(key)
        while len(_memory) > MEMORY_ENTRIES:
            _memory.popitem(last=False)


def clear_memory():
    """Forget the in-memory entries (the disk ones stay)."""
    _memory.clear()


def clear():
    """Delete every entry, in memory and on disk; returns how many files were deleted."""
    _memory.clear()
    count = 0
    for _, _, path in disk.entries(cache_dir(), ".g"):
        try:
            os.unlink(path)
            count += 1
        except OSError:
            pass
    _state["size"] = None
    return count


# ---- disk ----------------------------------------------------------------------------
def cache_dir():
    return os.path.join(config.cache_dir, "graphs")


def _path(key):
    return os.path.join(cache_dir(), key[:2], key + ".g")


def _load(key):
    payload = disk.read_entry(_path(key), MAGIC, key, log, "graph cache entry", COUNTS)
    if payload is not None:
        try:
            os.utime(_path(key))    # recently used: evicted last
        except OSError:
            pass
    return payload


def _discard(path, why):
    return disk.discard(path, log, "graph cache entry", why)


def _write(key, payload):
    data = disk.entry_bytes(MAGIC, key, payload)
    path = _path(key)
    try:
        disk.write_atomic(path, data)
    except OSError as e:    # only costs the rewrites next time
        log.debug("graph cache: cannot write %s: %s", path, e)
        return
    _grew(len(data))


def _grew(nbytes):
    """Past DISK_LIMIT of the cache size, delete the least recently used entries
    (walking the directory once per process and after each eviction)."""
    if _state.get("size") is None or _state.get("size dir") != cache_dir():
        _state["size"] = sum(e[1] for e in disk.entries(cache_dir(), ".g"))
        _state["size dir"] = cache_dir()
    _state["size"] += nbytes
    limit = config.cache_size_mb * 1e6 * DISK_LIMIT
    if _state["size"] > limit:
        _state["size"] = disk.remove_oldest(disk.entries(cache_dir(), ".g"), 0.75 * limit)[0]
