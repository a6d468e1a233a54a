"""The on-disk cache of compiled object code.

Entries live under `<cache_dir>/objects/` (tjit.config.cache_dir; TJIT_CACHE_DIR
overrides), one file per kernel, named by a SHA-256 of the kernel's canonical
text, its symbol, the host (triple, CPU, features), the llvmlite version and
the source of tjit's code generator. A file holds a magic word, a SHA-256 of
its payload and the payload (the entry's own key, then object code + optimized
LLVM IR), written to a temporary file and renamed into place, so concurrent
processes never see a partial entry. An entry that fails its checksum, or whose
key is not the one it is filed under (a valid entry copied or renamed over
another: linking it would load the wrong symbols), is deleted and rebuilt.

The directory is kept under `tjit.config.cache_size_mb`: past it, the entries
least recently used (a load refreshes an entry's modification time) are deleted
until it holds 3/4 of the limit.
"""
from __future__ import annotations

import hashlib
import logging
import os
import struct
import tempfile
import warnings

import llvmlite

from .. import sources
from ..config import config
from .target import host_description

log = logging.getLogger("tjit.cache")
MAGIC = b"TJITOBJ2"   # 2: the key inside the checksummed payload
_state = {}


def _codegen_version():
    """A hash naming this package's and the loop IR's sources (file names, sizes
    and modification times, as Python's own bytecode cache does): editing the
    code generator invalidates the cache."""
    return sources.digest(("codegen", "codegen/vecmath", "ir"))


def cache_dir():
    return os.path.join(config.cache_dir, "objects")


def entry_key(kernel_text, symbol):
    h = hashlib.sha256()
    for part in (kernel_text, symbol, host_description(), llvmlite.__version__,
                 _codegen_version()):
        h.update(part.encode() + b"\0")
    return h.hexdigest()


def _path(key):
    return os.path.join(cache_dir(), key[:2], key + ".o")


entry_path = _path     # where `key`'s entry is (or would be) filed


def load(key):
    """(object code, llvm ir text) of a valid entry, or None."""
    path = _path(key)
    payload = read_entry(path, MAGIC, key, log, "cache entry")
    if payload is None:
        return None
    if len(payload) < 8:
        return discard(path, log, "cache entry", "truncated")
    try:
        os.utime(path)      # recently used: evicted last
    except OSError:
        pass
    (n,) = struct.unpack("<Q", payload[:8])
    obj, text = payload[8:8 + n], payload[8 + n:]
    if len(obj) != n:
        return discard(path, log, "cache entry", "truncated")
    return obj, text.decode()


_KEY_BYTES = 64     # a SHA-256 in hex


def read_entry(path, magic, key, logger, what, counts=None):
    """The payload of the checksummed entry at `path` filed under `key`, or None.

    An entry is `magic`, the SHA-256 of the rest, the key (hex) and the payload
    (`entry_bytes`): the kernel cache, the graph cache and the call stubs' code
    share it. A corrupt entry, or one filed under another key, is removed
    (`discard`, counted in counts["discarded"]) and gives None."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    head = len(magic) + 32
    payload = data[head:]
    if data[:len(magic)] != magic or hashlib.sha256(payload).digest() != data[len(magic):head]:
        return discard(path, logger, what, "corrupt", counts)
    if payload[:_KEY_BYTES] != key.encode():
        return discard(path, logger, what, "filed under another key", counts)
    return payload[_KEY_BYTES:]


def entry_bytes(magic, key, payload):
    """What `read_entry` reads back: `payload` filed under `key`."""
    body = key.encode() + payload
    return magic + hashlib.sha256(body).digest() + body


def discard(path, logger, what, why, counts=None):
    """Remove the bad entry at `path` (a `what`), saying why; None."""
    if counts is not None:
        counts["discarded"] += 1
    try:
        os.unlink(path)
    except FileNotFoundError:
        return None         # already gone: nothing to say
    except OSError:
        pass
    logger.warning("discarding %s %s (%s); it will be rebuilt", what, path, why)
    return None


def cached_object(key, build, memo, limit=256):
    """The object code filed under `key`: from `memo` (this process's dict, cleared
    past `limit` entries), else from the disk cache, else `build()` -> (object
    code, its LLVM IR text), which is stored."""
    obj = memo.get(key)
    if obj is None:
        entry = load(key)
        if entry is None:
            obj, text = build()
            store(key, obj, text)
        else:
            obj = entry[0]
        if len(memo) > limit:
            memo.clear()
        memo[key] = obj
    return obj


def store(key, object_code, llvm_ir):
    """Write an entry atomically; a failure to write only costs a recompile later."""
    data = entry_bytes(MAGIC, key, struct.pack("<Q", len(object_code)) + object_code
                       + llvm_ir.encode())
    try:
        write_atomic(_path(key), data)
        _grew(len(data))
    except OSError as e:
        if not _state.get("warned"):
            _state["warned"] = True
            warnings.warn(f"tjit: cannot write the compile cache in {cache_dir()}: {e}; "
                          "compiled code is not cached on disk", stacklevel=3)


def write_atomic(path, data):
    """Write `data` to `path` through a temporary file and a rename, so readers in
    other processes see the old entry or the whole new one; raises OSError."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def entries(root, suffix):
    """(mtime_ns, bytes, path) of every file named *`suffix` under `root`, oldest first."""
    found = []
    for folder, _, files in os.walk(root):
        for name in files:
            if name.endswith(suffix):
                path = os.path.join(folder, name)
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                found.append((st.st_mtime_ns, st.st_size, path))
    return sorted(found)


def remove_oldest(found, target_bytes):
    """Delete entries of `found` (oldest first) until the rest hold at most
    `target_bytes`; returns (bytes left, entries removed)."""
    size, removed = sum(e[1] for e in found), 0
    for _, nbytes, path in found:
        if size <= target_bytes:
            break
        try:
            os.unlink(path)
        except OSError:
            continue
        size -= nbytes
        removed += 1
    return size, removed


def _grew(nbytes):
    """Count a stored entry; past the size limit, evict. The directory is walked
    once per process (and after each eviction), not at every store."""
    if _state.get("size") is None or _state.get("size dir") != cache_dir():
        _state["size"], _state["size dir"] = info()[1], cache_dir()
    _state["size"] += nbytes
    if _state["size"] > config.cache_size_mb * 1e6:
        evict(config.cache_size_mb * 1e6 * 0.75)


def evict(target_bytes):
    """Delete the least recently used entries until the cache holds at most
    `target_bytes`; returns how many were deleted. Entries another process is
    writing or reading at the time are only files: it rebuilds or keeps its copy."""
    size, removed = remove_oldest(entries(cache_dir(), ".o"), target_bytes)
    _state["size"], _state["size dir"] = size, cache_dir()
    if removed:
        log.info("compile cache over %.0f MB: removed %d least recently used entries",
                 config.cache_size_mb, removed)
    return removed


def info():
    """(number of entries, total bytes, directory)."""
    root, count, size = cache_dir(), 0, 0
    for folder, _, files in os.walk(root):
        for name in files:
            if name.endswith(".o"):
                count += 1
                size += os.path.getsize(os.path.join(folder, name))
    return count, size, root


def clear():
    """Delete every entry; returns how many were deleted."""
    root, count = cache_dir(), 0
    for folder, _, files in os.walk(root):
        for name in files:
            if name.endswith(".o") or name.startswith(".tmp-"):
                try:
                    os.unlink(os.path.join(folder, name))
                    count += 1
                except OSError:
                    pass
    _state["size"] = None
    return count
