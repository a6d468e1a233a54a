"""rowcol_fusion: X.v, per-row work on it, and X^T of the result, in one pass over X.

    z = sum(X * v[None, :], axis=1)        (the matvec rewrite's dot(X, v))
    g = elementwise(z, row vectors, scalars)
    col = sum(X * g[:, None], axis=0)      (the matvec rewrite's dot(X.T, g))

become one FusedRowCol node with outputs z, g and col (every client of z and g
reads them there), so X is read from memory once instead of twice: logistic
regression's training step (W5) is this shape.

Fires only when it is exact: the same variable X in both reductions, float
dtypes throughout with sums accumulated in that dtype, and g computed from z,
row vectors and scalars that do not themselves depend on z or col. Runs after
reduce_fusion (which builds the FusedReduce nodes) and before elemwise_fusion
(g's chain is still plain Elemwise nodes).
"""
from __future__ import annotations

from ..graph import toposort
from ..ops.fused_reduce import FusedReduce
from ..ops.fused_rowcol import FusedRowCol
from ..ops.dot_shapes import DotShapes
from .reduce_fusion import _program
from .walk import replace

FLOATS = ("float32", "float64")


def _is_col_matvec(node):
    """Whether FusedReduce `node` is sum_i X[i, j] * g[i] with g behind DotShapes(X, g)."""
    op = node.op
    if not (op.kind == "sum" and len(node.inputs) == 2 and len(op.steps) == 1
            and op.steps[0].op.name == "mul"
            and tuple(op.steps[0].args) == (("in", 0), ("in", 1)) and op.value == ("step", 0)
            and op.reduced == (0,) and op.axes == ((0, 1), (0, None))
            and op.dtype in FLOATS and op.acc_dtype in FLOATS
            and all(v.dtype == op.dtype for v in node.inputs)):
        return False
    X, gv = node.inputs
    shapes = gv.owner
    return (not any(X.broadcastable) and shapes is not None
            and isinstance(shapes.op, DotShapes) and shapes.op.which == 1
            and shapes.op.transposed and shapes.inputs[0] is X)


def _is_row_matvec(node, acc_dtype):
    """Whether FusedReduce `node` is sum_j X[i, j] * v[j] accumulated in `acc_dtype`."""
    op = node.op
    return (op.kind == "sum" and len(node.inputs) == 2 and len(op.steps) == 1
            and op.steps[0].op.name == "mul"
            and tuple(op.steps[0].args) == (("in", 0), ("in", 1)) and op.value == ("step", 0)
            and op.reduced == (1,) and op.axes == ((0, 1), (None, 0))
            and op.dtype == node.inputs[0].dtype and op.acc_dtype == acc_dtype
            and all(v.dtype == op.dtype for v in node.inputs)
            and not any(node.inputs[0].broadcastable) and not node.inputs[1].broadcastable[0])


def _depends_on(var, targets):
    ids = {id(t) for t in targets}
    return any(id(o) in ids for n in toposort([var]) for o in n.outputs)


def _match(node):
    """{old variable: new variable} fusing column reduction `node`, or None."""
    X = node.inputs[0]
    g = node.inputs[1].owner.inputs[1]
    if g.dtype != X.dtype or g.ndim != 1:
        return None
    steps, value, ext = _program(g)
    if value[0] == "const":
        return None
    zpos = next((k for k, (var, axes) in enumerate(ext)
                 if axes == (0,) and var.owner is not None
                 and isinstance(var.owner.op, FusedReduce) and var.owner.inputs[0] is X
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
    op = FusedRowCol(steps, value, zpos, axes_all, node.op.acc_dtype)
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
            if (isinstance(node.op, FusedReduce) and id(node) not in done
                    and _is_col_matvec(node)):
                done[id(node)] = node
                repl = _match(node)
                if repl is not None:
                    outputs = replace(outputs, repl)
                    break
        else:
            return outputs
