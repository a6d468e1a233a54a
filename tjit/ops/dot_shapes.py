"""DotShapes: dot's inner-size check, kept when a product becomes a reduction."""
from __future__ import annotations

from ..graph import Apply, Op


class DotShapes(Op):
    """dot(a, b)'s inner-size check, kept when the product becomes a reduction.

    Inputs are dot's operands in order, except that a transposed matrix comes
    untransposed (`transposed`: so the transpose need not run); returns operand
    `which` (a view) or raises Dot's ValueError naming both operands."""

    __props__ = ("which", "transposed")

    def __init__(self, which, transposed=False):
        self.which, self.transposed = which, transposed
        self.view_map = {0: [which]}

    def make_node(self, a, b):
        return Apply(self, [a, b], [(a, b)[self.which].type()])

    def perform(self, node, inputs):
        names = [str(v) for v in node.inputs]
        a, b = inputs
        if self.transposed:
            names[1 - self.which] += ".T"
            a, b = (a.T, b) if self.which == 1 else (a, b.T)
        if a.shape[-1] != b.shape[0]:
            raise ValueError(f"dot: shapes not aligned: {names[0]} of shape {a.shape} and "
                             f"{names[1]} of shape {b.shape} (dim {a.ndim - 1} of the first is "
                             f"{a.shape[-1]}, dim 0 of the second is {b.shape[0]})")
        return [inputs[self.which]]  # the vector, never transposed

    def grad(self, inputs, output_grads):
        raise NotImplementedError("DotShapes only appears in compiled graphs")
