"""Shared test utilities."""
import numpy as np

LAYOUTS = ("contiguous", "strided", "reversed", "fortran")


def apply_layout(a, layout, shape):
    """`a` (whose last dim is doubled for 'strided') viewed or copied in `layout`,
    with the logical `shape`: every kernel must read any memory order correctly."""
    if layout == "strided" and shape:
        a = a[..., ::2]
    elif layout == "reversed" and a.ndim:
        a = np.array(a)[(slice(None, None, -1),) * a.ndim]
    elif layout == "fortran" and a.ndim:
        a = np.asfortranarray(a)
    assert a.shape == tuple(shape)
    return a
