"""Graph rewrites, one per module, each registered under a name and tags.

A rewrite is a pure function from a list of output variables to a new list; the
input graph is never mutated (nodes are rebuilt). `optimize` runs the rewrites a
mode selects, in registration order, skipping names in `excluding`.
"""
from .registry import REWRITES, Rewrite, optimize, register  # noqa: F401
from . import var_one_pass  # noqa: F401  (first: it matches var's graph as var built it)
from . import drop_zero_grad, stabilize_softplus, stabilize_log1p  # noqa: F401  (nnet)
from . import stabilize_log_softmax, stabilize_logsumexp, stabilize_ratios  # noqa: F401  (nnet)
from . import stabilize_logistic  # noqa: F401  (after stabilize_ratios: logs left by it)
from . import pow_specialize  # noqa: F401
from . import canonicalize, shape_lift, constant_folding, merge, matvec, gemm, reduce_fusion  # noqa: F401  (register)
from . import rowcol_fusion  # noqa: F401  (after reduce_fusion, before fusion: it pairs FusedReduces of one X)
from . import fusion  # noqa: F401  (register)
from . import rowwise_fusion  # noqa: F401  (after fusion: it groups fused nodes)
