"""Output buffers: reuse of arrays a thunk returned before and nobody kept."""
from __future__ import annotations

import sys

import numpy as np

POOL_SIZE = 2          # double-buffering covers a value kept by a shared variable
MIN_POOLED_BYTES = 1 << 16


def reuse_or_empty(pool, shape, dtype):
    """A buffer for an output: one this thunk returned earlier that nobody else
    references any more (so reusing it is unobservable), or a new one. Reuse
    saves the page faults of fresh large allocations."""
    for arr in pool:
        # References: the pool, the loop variable and getrefcount's argument.
        # Views of arr and exported buffers hold references too: they block reuse.
        if sys.getrefcount(arr) == 3 and arr.shape == shape:
            return arr
    arr = np.empty(shape, dtype)
    if arr.nbytes >= MIN_POOLED_BYTES:
        if len(pool) >= POOL_SIZE:
            pool.pop(0)
        pool.append(arr)
    return arr
