"""The suite tests O3 code deterministically: tiered compilation (level-0 code
first, O3 built in the background: tjit/link/tiers.py) is off, here and in the
processes tests start, unless TJIT_FLAGS names it (`TJIT_FLAGS=tiered=True`
runs the suite tiered); tests/test_tiered_compile.py turns it on where it is
the point."""
import os

import pytest

_flags = os.environ.get("TJIT_FLAGS", "")
if "tiered=" not in _flags:     # read when tjit is imported, after this file
    os.environ["TJIT_FLAGS"] = (_flags + "," if _flags else "") + "tiered=False"


@pytest.fixture
def fresh_engines(monkeypatch, tmp_path):
    """New engines (so their `library` shows what one compile loaded), an empty
    kernel cache, nothing kept in memory, the compile cache in tmp_path."""
    from tjit import config
    from tjit.codegen import jit
    monkeypatch.setattr(jit, "_engines", {})
    monkeypatch.setattr(jit, "_cache", jit.KernelCache())
    with config.change_flags(cache_dir=str(tmp_path)):
        yield
