"""Stamps of tjit's own sources, for the caches' keys.

One sweep per process reads every `.py` file's path, size and modification time
under the package (what Python's bytecode cache checks a module by); the graph
cache hashes all of them, the object cache those of the code generator and the
loop IR (`digest(folders)`), so editing any module invalidates what it could
change. The sweep is the only per-file cost, and it is paid once for both.
"""
from __future__ import annotations

import hashlib
import os

ROOT = os.path.dirname(os.path.abspath(__file__))
_state = {}


def stamps():
    """[(path relative to the package, size, mtime in ns)] of tjit's .py files,
    sorted by path; read once per process (`forget` reads them again)."""
    found = _state.get("stamps")
    if found is None:
        found = []
        stack = [(ROOT, "")]
        while stack:
            folder, rel = stack.pop()
            with os.scandir(folder) as it:
                for e in it:
                    name = e.name
                    if name.endswith(".py"):
                        st = e.stat()
                        found.append((rel + name, st.st_size, st.st_mtime_ns))
                    elif name[0] not in "._" and e.is_dir():
                        stack.append((e.path, rel + name + "/"))
        found.sort()
        _state["stamps"] = found
    return found


def digest(folders=None):
    """A SHA-256 (hex) of the stamps of the files in `folders` (package-relative,
    e.g. "codegen"; only the files directly inside each), or of every file."""
    key = ("digest", folders)
    h = _state.get(key)
    if h is None:
        if folders is None:
            picked = stamps()
        else:
            wanted = {f.rstrip("/") + "/" if f else "" for f in folders}
            picked = [s for s in stamps() if s[0][:s[0].rfind("/") + 1] in wanted]
        h = _state[key] = hashlib.sha256(repr(picked).encode()).hexdigest()
    return h


def forget():
    """Read the sources' stamps again on next use (tests edit a module)."""
    _state.clear()
