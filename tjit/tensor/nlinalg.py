"""T.nlinalg: matrix_inverse and det (LAPACK through NumPy).

Both take one matrix (TypeError at build time for another rank). Float and
complex dtypes are kept; integer and bool matrices give float64 (as
np.linalg). A matrix that is not square raises ValueError naming it and its
shape; a singular matrix raises numpy.linalg.LinAlgError (a ValueError).
"""
from __future__ import annotations

import numpy as np

from ..graph import Apply, Op
from .. import scalar as ts
from .. import tensor as _tensor  # blas (dot) imports this module for T.nlinalg
from .type import TensorType
from .var import as_tensor_variable


def _matrix_input(op, x):
    x = as_tensor_variable(x)
    if x.ndim != 2:
        raise TypeError(f"{op} takes a matrix, got {x} with {x.ndim} dims ({x.type})")
    return x


def _out_dtype(x):
    return "float64" if x.dtype in ts.DISCRETE else x.dtype


def _check_square(op, var, a):
    if a.shape[0] != a.shape[1]:
        raise ValueError(f"{op}: {var} of shape {a.shape} is not a square matrix")


class MatrixInverse(Op):
    """inv(x) for a square matrix x; gradient -inv(x).T gz inv(x).T."""

    def make_node(self, x):
        x = _matrix_input("matrix_inverse", x)
        return Apply(self, [x], [TensorType(_out_dtype(x), x.broadcastable)()])

    def perform(self, node, inputs):
        (x,) = inputs
        _check_square("matrix_inverse", node.inputs[0], x)
        return [np.linalg.inv(x).astype(node.outputs[0].dtype, copy=False)]

    def grad(self, inputs, output_grads):
        (x,), (gz,) = inputs, output_grads
        xi_t = self(x).T
        dot = _tensor.blas.dot
        return [-dot(dot(xi_t, gz), xi_t)]


matrix_inverse = MatrixInverse()


class Det(Op):
    """det(x) for a square matrix x (a scalar); gradient gz * det(x) * inv(x).T."""

    def make_node(self, x):
        x = _matrix_input("det", x)
        return Apply(self, [x], [TensorType(_out_dtype(x), ())()])

    def perform(self, node, inputs):
        (x,) = inputs
        _check_square("det", node.inputs[0], x)
        return [np.asarray(np.linalg.det(x), dtype=node.outputs[0].dtype)]

    def grad(self, inputs, output_grads):
        (x,), (gz,) = inputs, output_grads
        return [gz * self(x) * matrix_inverse(x).T]


det = Det()

__all__ = ["MatrixInverse", "Det", "matrix_inverse", "det"]
