"""Matrix-vector products in a scan step: the native loop runs them as blocked
axpys (tjit/ir/scan_plan.py) instead of reductions."""
from __future__ import annotations

from ..ops.fused_reduce import FusedReduce


def matvec_kind(n):
    """'rows' for out[i] = sum_j M[i, j] v[j], 'cols' for out[j] = sum_i M[i, j] v[i]
    (dot(M, v) and dot(M.T, v) after the matvec rewrite), else None."""
    op = n.op
    if not (isinstance(op, FusedReduce) and op.kind == "sum" and len(n.inputs) == 2
            and len(op.steps) == 1 and op.steps[0].op.name == "mul"
            and tuple(op.steps[0].args) == (("in", 0), ("in", 1)) and op.value == ("step", 0)
            and all(v.dtype == n.outputs[0].dtype == op.acc_dtype for v in n.inputs)
            and op.dtype in ("float32", "float64")
            and not any(n.inputs[0].broadcastable) and not n.inputs[1].broadcastable[0]):
        return None
    if op.reduced == (1,) and op.axes == ((0, 1), (None, 0)):
        return "rows"
    if op.reduced == (0,) and op.axes == ((0, 1), (0, None)):
        return "cols"
    return None
