"""Compiled call stubs' code, by their source text, in memory and on disk.

`compile()` of a stub's few dozen lines costs a fresh process more than the rest
of its first call; the stub's text depends only on its function's structure
(shapes, dtypes and addresses live in its environment), so a function compiled
again, in this process or a later one, finds the code object here. On disk
(`<cache_dir>/stubs/`) an entry is written as the other caches write theirs: a
magic word, a SHA-256 of the payload, the payload (the entry's own key, then the
marshalled code), through a temporary file and a rename. An entry that fails a
check is deleted and the stub compiled again.
"""
from __future__ import annotations

import hashlib
import logging
import marshal
import os
import sys
import types

from ..codegen import cache as disk
from ..config import config

log = logging.getLogger("tjit.runtime")
MAGIC = b"TJITSTB1"
MEMORY_ENTRIES = 256
DISK_LIMIT = 0.01           # the stubs may take this share of config.cache_size_mb
FILENAME = "<tjit call stub>"
COUNTS = {"memory": 0, "disk": 0, "compiled": 0, "discarded": 0}   # tests read these
_memory = {}                # source -> code object
_state = {}


def code(source):
    """The code object of the stub `source` (compiled once per machine)."""
    found = _memory.get(source)
    if found is not None:
        COUNTS["memory"] += 1
        return found
    key = hashlib.sha256(f"{source}\0{sys.version}\0{sys.implementation.cache_tag}"
                         .encode()).hexdigest()
    path = os.path.join(config.cache_dir, "stubs", key[:2], key + ".stub")
    found = _load(path, key)
    if found is None:
        found = compile(source, FILENAME, "exec")
        COUNTS["compiled"] += 1
        _store(path, key, found)
    else:
        COUNTS["disk"] += 1
    if len(_memory) >= MEMORY_ENTRIES:
        _memory.clear()
    _memory[source] = found
    return found


def clear_memory():
    _memory.clear()


def _load(path, key):
    payload = disk.read_entry(path, MAGIC, key, log, "call stub entry", COUNTS)
    if payload is None:
        return None
    try:
        found = marshal.loads(payload)
    except Exception:  # anything at all: compiled again
        found = None
    if type(found) is not types.CodeType or found.co_filename != FILENAME:
        return disk.discard(path, log, "call stub entry", "not a stub's code", COUNTS)
    return found


def _store(path, key, compiled):
    data = disk.entry_bytes(MAGIC, key, marshal.dumps(compiled))
    try:
        disk.write_atomic(path, data)
    except OSError as e:    # only costs a compile next time
        log.debug("call stubs: cannot write %s: %s", path, e)
        return
    # past DISK_LIMIT of the cache size, the least recently written go first
    root = os.path.dirname(os.path.dirname(path))
    if _state.get("size") is None or _state.get("dir") != root:
        _state["size"], _state["dir"] = sum(e[1] for e in disk.entries(root, ".stub")), root
    else:
        _state["size"] += len(data)
    limit = config.cache_size_mb * 1e6 * DISK_LIMIT
    if _state["size"] > limit:
        _state["size"] = disk.remove_oldest(disk.entries(root, ".stub"), 0.75 * limit)[0]
