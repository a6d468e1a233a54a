"""Stamps of tjit's own sources, for the caches' keys.

One sweep per process reads every `.py` file's path, size and modification time
under the package (what Python's bytecode cache checks a module by); the graph
cache hashes all of them, the object cache those of the code generator and the
loop IR (`digest(folders)`), so editing any module invalidates what it could
change.

The sweep stats every file (an edit in place changes only the file), but lists a
folder again only when the folder changed (a file added, removed or renamed
changes its folder's modification time, as Python's own import cache assumes):
the listings, the stamps and their digests are kept in `<cache_dir>/sources-*.bin`
(a SHA-256 of the marshalled manifest, then the manifest). When the stamps are the
ones stored, the digests are too; any other file is ignored and rewritten.
"""
from __future__ import annotations

import hashlib
import marshal
import os
import tempfile

from .config import config

ROOT = os.path.dirname(os.path.abspath(__file__))
_VERSION = 1
_state = {}
COUNTS = {"listed": 0, "hashed": 0}     # folders listed, digests computed (tests read them)


def stamps():
    """[(path relative to the package, size, mtime in ns)] of tjit's .py files,
    sorted by path; read once per process (`forget` reads them again)."""
    found = _state.get("stamps")
    if found is None:
        manifest = _load_manifest()
        found, folders = _sweep(manifest.get("folders", {}))
        digests = manifest.get("digests", {}) if manifest.get("stamps") == found else {}
        _state.update(stamps=found, folders=folders, digests=digests,
                      changed=manifest.get("stamps") != found or manifest.get("folders") != folders)
    return found


def digest(folders=None):
    """A SHA-256 (hex) of the stamps of the files in `folders` (a tuple of
    package-relative folders, e.g. ("codegen",); only the files directly inside
    each), or of every file."""
    found = stamps()
    digests = _state["digests"]
    h = digests.get(folders)
    if h is None:
        if folders is None:
            picked = found
        else:
            wanted = {f.rstrip("/") + "/" if f else "" for f in folders}
            picked = [s for s in found if s[0][:s[0].rfind("/") + 1] in wanted]
        h = digests[folders] = hashlib.sha256(repr(picked).encode()).hexdigest()
        COUNTS["hashed"] += 1
        _state["changed"] = True
    if _state["changed"]:
        _state["changed"] = False
        _store_manifest()
    return h


def forget():
    """Read the sources' stamps again on next use (tests edit a module)."""
    _state.clear()


def _sweep(known):
    """(stamps, {folder: (mtime_ns, .py names, subfolder names)}): a folder whose
    modification time is the one in `known` is not listed again."""
    found, folders = [], {}
    stack = [(ROOT, "")]
    stat = os.stat
    while stack:
        path, rel = stack.pop()
        mtime = stat(path).st_mtime_ns
        entry = known.get(rel)
        if entry is None or entry[0] != mtime:
            entry = (mtime,) + _list(path)
        folders[rel] = entry
        for name in entry[1]:
            try:
                st = stat(path + "/" + name)
            except OSError:         # removed since: its folder is listed again next time
                folders[rel] = (-1,) + entry[1:]
                continue
            found.append((rel + name, st.st_size, st.st_mtime_ns))
        for name in entry[2]:
            stack.append((path + "/" + name, rel + name + "/"))
    found.sort()
    return found, folders


def _list(path):
    COUNTS["listed"] += 1
    files, subfolders = [], []
    with os.scandir(path) as it:
        for e in it:
            name = e.name
            if name.endswith(".py"):
                files.append(name)
            elif name[0] not in "._" and e.is_dir():
                subfolders.append(name)
    return sorted(files), sorted(subfolders)


def _manifest_path():
    tag = hashlib.sha256(ROOT.encode()).hexdigest()[:16]
    return os.path.join(config.cache_dir, f"sources-{tag}.bin")


def _load_manifest():
    """The stored manifest of this package, or {} (none, unreadable or foreign)."""
    try:
        with open(_manifest_path(), "rb") as f:
            data = f.read()
        if hashlib.sha256(data[32:]).digest() != data[:32]:
            return {}
        manifest = marshal.loads(data[32:])
    except Exception:  # missing, corrupt, another Python's: swept again
        return {}
    if type(manifest) is not dict or manifest.get("root") != ROOT \
            or manifest.get("version") != _VERSION:
        return {}
    return manifest


def _store_manifest():
    manifest = {"root": ROOT, "version": _VERSION, "stamps": _state["stamps"],
                "folders": _state["folders"], "digests": _state["digests"]}
    body = marshal.dumps(manifest)
    path = _manifest_path()
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(hashlib.sha256(body).digest() + body)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:     # only costs a sweep with listings next time
        pass
