"""The whole loop as one native function (see lower_scan); None when it does not lower."""
from __future__ import annotations


def native_thunk(op, node):
    return None
