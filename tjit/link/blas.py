"""Extern calls: matrix products run as direct BLAS calls (tjit/runtime/blas.py).

BatchedDot has no BLAS thunk: it runs its NumPy `perform` (one np.matmul).
"""
from __future__ import annotations

from ..runtime.blas import DotThunk, GemmThunk, TensorDotThunk
from ..tensor.blas import Dot, Gemm, TensorDot
from .linker import extern


@extern.register(Dot)
def _(op, node, linker):
    return DotThunk(node)


@extern.register(Gemm)
def _(op, node, linker):
    return GemmThunk(node)


@extern.register(TensorDot)
def _(op, node, linker):
    return TensorDotThunk(node)
