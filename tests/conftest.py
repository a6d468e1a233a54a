"""The suite tests O3 code deterministically: tiered compilation (level-0 code
first, O3 built in the background: tjit/link/tiers.py) is off, here and in the
processes tests start, unless TJIT_FLAGS names it (`TJIT_FLAGS=tiered=True`
runs the suite tiered); tests/test_tiered_compile.py turns it on where it is
the point."""
import os

_flags = os.environ.get("TJIT_FLAGS", "")
if "tiered=" not in _flags:     # read when tjit is imported, after this file
    os.environ["TJIT_FLAGS"] = (_flags + "," if _flags else "") + "tiered=False"
