"""Elemwise (a ScalarOp mapped over broadcast tensors) and DimShuffle (views that
transpose dims and insert/drop broadcastable ones)."""
from __future__ import annotations

import numpy as np

from ..graph import Apply, Constant, Op
from .. import scalar as ts
from .. import tensor as _tensor  # basic (used by gradients) builds on this module
from .shape_ops import patternbroadcast
from .type import TensorType
from .var import as_tensor_variable, constant


class DimShuffle(Op):
    """Reorder dims by `new_order`: entries are input axes or 'x' (a new
    broadcastable dim); input axes left out must be broadcastable (dropped).
    The output is a view of the input."""

    __props__ = ("input_broadcastable", "new_order")
    view_map = {0: [0]}

    def __init__(self, input_broadcastable, new_order):
        self.input_broadcastable = tuple(input_broadcastable)
        order = []
        for e in new_order:
            if e == "x":
                order.append("x")
            elif isinstance(e, (int, np.integer)) and 0 <= int(e) < len(input_broadcastable):
                order.append(int(e))
            else:
                raise ValueError(f"dimshuffle: invalid entry {e!r} in {tuple(new_order)} for an "
                                 f"input with {len(input_broadcastable)} dims")
        self.new_order = tuple(order)
        used = [e for e in order if e != "x"]
        if len(set(used)) != len(used):
            raise ValueError(f"dimshuffle: repeated axis in {self.new_order}")
        for axis, b in enumerate(self.input_broadcastable):
            if axis not in used and not b:
                raise ValueError(f"dimshuffle {self.new_order}: cannot drop axis {axis}, "
                                 "which is not broadcastable")
        self.drop = tuple(a for a in range(len(input_broadcastable)) if a not in used)
        self.shuffle = tuple(used)

    def make_node(self, x):
        x = as_tensor_variable(x)
        if x.type.broadcastable != self.input_broadcastable:
            if x.ndim != len(self.input_broadcastable):
                raise TypeError(f"dimshuffle{self.new_order}: expected {len(self.input_broadcastable)}"
                                f" dims, got {x} with {x.ndim}")
        bc = tuple(True if e == "x" else x.type.broadcastable[e] for e in self.new_order)
        return Apply(self, [x], [TensorType(x.dtype, bc)()])

    def perform(self, node, inputs):
        x = inputs[0]
        shape = [1 if e == "x" else x.shape[e] for e in self.new_order]
        return [np.transpose(x, self.shuffle + self.drop).reshape(shape)]

    def grad(self, inputs, output_grads):
        (x,), (gz,) = inputs, output_grads
        gz = patternbroadcast(gz, self(x).broadcastable)
        kept = [e for e in self.new_order if e != "x"]
        squeezed = gz.dimshuffle(*[i for i, e in enumerate(self.new_order) if e != "x"])
        inverse = [kept.index(a) if a in kept else "x" for a in range(x.ndim)]
        return [squeezed.dimshuffle(*inverse)]

    def __str__(self):
        return f"DimShuffle{{{','.join(str(e) for e in self.new_order)}}}"


class Elemwise(Op):
    """Apply `scalar_op` elementwise with broadcasting. Inputs with fewer dims get
    leading broadcastable dims (as NumPy); a dim is broadcastable in the output
    iff it is in every input. Non-broadcastable dims must agree at run time."""

    __props__ = ("scalar_op",)

    def __init__(self, scalar_op, name=None):
        self.scalar_op = scalar_op
        self.name = name

    def make_node(self, *inputs):
        inputs = [as_tensor_variable(i) for i in inputs]
        if len(inputs) != self.scalar_op.nin:
            raise TypeError(f"{self.scalar_op} takes {self.scalar_op.nin} inputs, got {len(inputs)}")
        ndim = max(i.ndim for i in inputs)
        padded = []
        for i in inputs:
            if i.ndim < ndim:
                if isinstance(i, Constant) and i.name is None:
                    # a padded constant rather than a DimShuffle node to fold later
                    i = constant(np.asarray(i.data).reshape((1,) * (ndim - i.ndim) + i.data.shape))
                else:
                    i = i.dimshuffle(*(["x"] * (ndim - i.ndim) + list(range(i.ndim))))
            padded.append(i)
        try:
            dtype = self.scalar_op.output_dtype(*[i.dtype for i in padded])
        except TypeError as e:
            names = ", ".join(f"{i} ({i.dtype})" for i in inputs)
            raise TypeError(f"{self.scalar_op}({names}): {e}") from None
        bc = tuple(all(i.broadcastable[d] for i in padded) for d in range(ndim))
        return Apply(self, padded, [TensorType(dtype, bc)()])

    def perform(self, node, inputs):
        check_shapes(node, inputs)
        out = self.scalar_op.impl(*inputs)
        shape = output_shape(node, inputs)
        if out.shape != shape:
            out = np.broadcast_to(out, shape).copy()
        return [out]

    def grad(self, inputs, output_grads):
        from ..gradient_ops import is_null  # it builds on tensor.basic
        T = _tensor.basic
        node = self.make_node(*inputs)
        gz = output_grads[0]
        grads = self.scalar_op.grad(node.inputs, node.outputs[0], gz, T)
        result = []
        for x, g in zip(inputs, grads):
            if g is None or is_null(g):
                result.append(g)
                continue
            g = as_tensor_variable(g)
            if x.dtype in ts.DISCRETE:
                result.append(T.zeros_like(x))
                continue
            result.append(T.sum_to_broadcastable(g, x))
        return result

    def __str__(self):
        return self.name or f"Elemwise{{{self.scalar_op}}}"


def output_shape(node, arrays):
    """The run-time output shape of an Elemwise-like node (Theano's rule)."""
    out_bc = node.outputs[0].broadcastable
    shape = []
    for d, b in enumerate(out_bc):
        if b:
            shape.append(1)
            continue
        n = 1
        for var, a in zip(node.inputs, arrays):
            if not var.broadcastable[d]:
                n = a.shape[d]
                break
        shape.append(n)
    return tuple(shape)


def check_shapes(node, arrays):
    """ValueError naming the input whose shape does not match the others."""
    ref = {}
    for pos, (var, a) in enumerate(zip(node.inputs, arrays)):
        for d, b in enumerate(var.broadcastable):
            if b:
                continue
            if d in ref and ref[d][0] != a.shape[d]:
                other = ref[d][1]
                raise ValueError(
                    f"{node.op}: input {pos} ({var}) has shape {a.shape}, which does not "
                    f"match input {other[0]} ({other[1]}) of shape {other[2]} in dimension {d} "
                    "(only dimensions declared broadcastable may differ)")
            ref.setdefault(d, (a.shape[d], (pos, var, a.shape)))
