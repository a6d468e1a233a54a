"""Matrix-vector products in a scan step: the native loop runs them as blocked
axpys (tjit/ir/scan_plan.py) instead of reductions."""
from __future__ import annotations

from ..ops.matvec import MatVec


def matvec_kind(n):
    """'rows' for out[i] = sum_j M[i, j] v[j], 'cols' for out[j] = sum_i M[i, j] v[i]
    (MatVec nodes accumulated in their own dtype), else None."""
    op = n.op
    if not (isinstance(op, MatVec) and op.acc_dtype == op.dtype):
        return None
    return "cols" if op.transposed else "rows"
