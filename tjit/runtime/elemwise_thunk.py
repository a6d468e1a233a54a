"""The py linker's thunk of a plain Elemwise node: the op's NumPy `perform`
with the dtype rule worked out once, when the thunk is made.

`ScalarOp.impl` re-derives the compute and output dtypes from the arrays on every
call (~20 us a node); under the py linker the inputs always have their
variables' dtypes (inputs are checked, every thunk's results conformed), so the
dtypes are known up front and the call is the ufunc and two no-op conversions.
The values are exactly `Elemwise.perform`'s (same casts, same ufunc).
"""
from __future__ import annotations

import numpy as np

from ..config import config
from ..scalar import ScalarOp
from ..tensor.elemwise import Elemwise, check_shapes, output_shape


def fits(node):
    """Whether `node` runs as an ElemwiseThunk: a plain Elemwise whose scalar op
    uses ScalarOp's own impl (subclasses with their own impl keep `perform`)."""
    op = node.op
    return type(op) is Elemwise and type(op.scalar_op).impl is ScalarOp.impl


class ElemwiseThunk:
    """Runs `node` (see `fits`): cast to the compute dtype, apply the ufunc with
    floating-point errors ignored, cast to the output dtype, broadcast."""

    def __init__(self, node):
        self.node = node
        scalar_op = node.op.scalar_op
        self.compute, self.out = _dtypes(scalar_op, tuple([v.type.dtype for v in node.inputs]))
        self.impl = scalar_op._impl
        self.ndim = node.outputs[0].type.ndim
        # every input is computed in its own dtype: no conversion to make
        self.exact = all(np.dtype(v.type.dtype) is self.compute for v in node.inputs)

    def __call__(self, inputs):
        shape = inputs[0].shape
        for a in inputs:
            if a.shape != shape:
                return [self._broadcast(inputs)]
        if len(shape) != self.ndim:
            return [self._broadcast(inputs)]
        if not self.exact:
            return [self._apply(inputs)]
        with np.errstate(all="ignore"):
            out = self.impl(*inputs)
        if type(out) is np.ndarray and out.dtype is self.out:
            return [out]
        return [np.asarray(out, dtype=self.out)]

    def _apply(self, inputs):
        cd = self.compute
        args = [a if type(a) is np.ndarray and a.dtype is cd else np.asarray(a, dtype=cd)
                for a in inputs]
        with np.errstate(all="ignore"):
            out = self.impl(*args)
        if type(out) is np.ndarray and out.dtype is self.out:
            return out
        return np.asarray(out, dtype=self.out)   # a 0-d result comes back a NumPy scalar

    def _broadcast(self, inputs):
        # inputs of different shapes: Elemwise.perform's checks and broadcast
        node = self.node
        check_shapes(node, inputs)
        out = self._apply(inputs)
        shape = output_shape(node, inputs)
        if out.shape != shape:
            out = np.broadcast_to(out, shape).copy()
        if not out.flags.aligned:
            out = out.copy()
        return out


_DTYPES = {}    # (scalar op, input dtypes, floatX) -> (compute dtype, output dtype)


def _dtypes(scalar_op, dtypes):
    key = (scalar_op, dtypes, config.floatX)   # the 'div' rule reads floatX
    found = _DTYPES.get(key)
    if found is None:
        found = _DTYPES[key] = (np.dtype(scalar_op.compute_dtype(*dtypes)),
                                np.dtype(scalar_op.output_dtype(*dtypes)))
    return found
