"""rowcol_fusion: X.v, per-row work on it, and X^T of the result, in one pass over X.

    z = X.v                    (a MatVec: the matvec rewrite's dot(X, v))
    g = elementwise(z, row vectors, scalars)
    col = X^T.g                (a MatVec: the matvec rewrite's dot(X.T, g))

become one FusedRowCol node with outputs z, g and col (every client of z and g
reads them there), so X is read from memory once instead of twice: logistic
regression's training step (W5) is this shape.

Fires only when it is exact: the same variable X in both reductions, float
dtypes throughout with sums accumulated in that dtype, and g computed from z,
row vectors and scalars that do not themselves depend on z or col. Runs after
reduce_fusion (which builds the MatVec nodes) and before elemwise_fusion
(g's chain is still plain Elemwise nodes).
"""
from __future__ import annotations

from ..graph import toposort
from ..ops.fused_rowcol import FusedRowCol
from ..ops.matvec import MatVec
from ..ops.dot_shapes import DotShapes
from .reduce_fusion import _program
from .walk import replace


def _is_col_matvec(node):
    """Whether `node` is X^T.g (a MatVec) with g behind DotShapes(X, g)."""
    op = node.op
    if not (isinstance(op, MatVec) and op.transposed):
        return False
    X, gv = node.inputs
    shapes = gv.owner
    return (shapes is not None and isinstance(shapes.op, DotShapes) and shapes.op.which == 1
            and shapes.op.transposed and shapes.inputs[0] is X)


def _is_row_matvec(node, acc_dtype):
    """Whether `node` is X.v (a MatVec) accumulated in `acc_dtype`."""
    op = node.op
    return isinstance(op, MatVec) and not op.transposed and op.acc_dtype == acc_dtype


def _depends_on(var, targets):
    ids = {id(t) for t in targets}
    return any(id(o) in ids for n in toposort([var]) for o in n.outputs)


def _match(node):
    """{old variable: new variable} fusing column reduction `node`, or None."""
    X = node.inputs[0]
    g = node.inputs[1].owner.inputs[1]
    if g.dtype != X.dtype or g.ndim != 1:
        return None
    program, ext = _program(g)
    if program.outputs[0][0] == "const":
        return None
    zpos = next((k for k, (var, axes) in enumerate(ext)
                 if axes == (0,) and var.owner is not None
                 and var.owner.inputs[0] is X
                 and _is_row_matvec(var.owner, node.op.acc_dtype)), None)
    if zpos is None:
        return None
    z = ext[zpos][0]
    others, axes_all = [], []
    for k, (var, axes) in enumerate(ext):
        if var.ndim == 0:
            axes = (None,)
        elif not (var.ndim == 1 and axes == (0,) and not var.broadcastable[0]):
            return None
        axes_all.append(axes)
        if k != zpos:
            if _depends_on(var, [z, node.outputs[0]]):
                return None   # not per-row: e.g. a mean of z
            others.append(var)
    op = FusedRowCol(program, zpos, axes_all, node.op.acc_dtype)
    try:
        fused = op.make_node(X, z.owner.inputs[1], *others)
    except TypeError:
        return None
    zn, gn, coln = fused.outputs
    return {z: zn, g: gn, node.outputs[0]: coln}


def rowcol_fusion(outputs):
    done = {}  # id -> node tried (held, so that its id is not reused)
    while True:
        for node in toposort(outputs):
            if id(node) not in done and _is_col_matvec(node):
                done[id(node)] = node
                repl = _match(node)
                if repl is not None:
                    outputs = replace(outputs, repl)
                    break
        else:
            return outputs
