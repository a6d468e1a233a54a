"""The pass pipeline: every graph rewrite tjit has, in the order it runs.

A pass is a function `rewrite(outputs) -> outputs` over a list of output
variables. It never mutates the graph it is given (nodes are rebuilt, see
`tjit.graph.replace`), and it returns its argument itself when it changed
nothing: that is how it reports whether it changed the graph.

`PIPELINE` lists the passes by position. Each has a name (what
`config.optimizer_excluding`, `Mode.excluding` and `tjit dump --passes` use) and
tags: a mode runs the passes having one of its tags ('fast_run', 'fast_compile',
'merge'; the native fast_compile mode adds 'native_fast_compile': see Mode.tags),
and 'stabilize' and 'fusion' name groups that can be excluded together. To add
a pass, write its module and give it a line here, at the position it needs.
"""
from __future__ import annotations

import collections
import logging
import time
from dataclasses import dataclass, field

from ..config import config
from ..graph import test_value_policy

from .canonicalize import canonicalize
from .corr2d_epilogue import corr2d_epilogue
from .constant_folding import constant_folding
from .drop_zero_grad import drop_zero_grad
from .elemwise_fusion import elemwise_fusion
from .gemm import gemm_rewrite
from .matvec import matvec
from .merge import merge
from .pow_specialize import pow_specialize
from .reduce_fusion import reduce_fusion
from .rowcol_fusion import rowcol_fusion
from .rowwise_fusion import rowwise_fusion
from .scan_last_only import scan_last_only
from .shape_lift import shape_lift
from .stabilize_log1p import stabilize_log1p
from .stabilize_log_softmax import stabilize_log_softmax
from .stabilize_logistic import stabilize_logistic
from .stabilize_logsumexp import stabilize_logsumexp
from .stabilize_ratios import stabilize_ratios
from .stabilize_softplus import stabilize_softplus
from .var_one_pass import var_one_pass

log = logging.getLogger("tjit.passes")
# optimize() calls ("pipelines") and each pass run, by name (tests count them:
# a graph found in tjit.graph_cache runs none)
RUNS = collections.Counter()


@dataclass(frozen=True)
class Pass:
    """One graph rewrite at its place in the pipeline."""

    position: int        # passes run in increasing position
    name: str
    tags: frozenset
    rewrite: object = field(compare=False, repr=False)  # fn(outputs) -> outputs

    def __call__(self, outputs):
        return self.rewrite(outputs)


RUN = frozenset({"fast_run"})
BOTH = frozenset({"fast_run", "fast_compile"})
STABILIZE = frozenset({"fast_run", "stabilize"})
FUSION = frozenset({"fast_run", "fusion"})

PIPELINE = (
    # On the graph as the user's code built it: var's composite, before anything reshapes it.
    Pass(0, "var_one_pass", RUN, var_one_pass),
    # Numerical stability, on the patterns T.grad and the nnet helpers build.
    Pass(100, "drop_zero_grad", BOTH, drop_zero_grad),
    Pass(110, "stabilize_softplus", STABILIZE, stabilize_softplus),
    Pass(120, "stabilize_log1p", STABILIZE, stabilize_log1p),
    Pass(130, "stabilize_log_softmax", STABILIZE, stabilize_log_softmax),
    Pass(140, "stabilize_logsumexp", STABILIZE, stabilize_logsumexp),  # log_softmax's sums
    Pass(150, "stabilize_ratios", STABILIZE, stabilize_ratios),
    Pass(160, "stabilize_logistic", STABILIZE, stabilize_logistic),  # the logs ratios leaves
    # Simplification.
    Pass(200, "pow_specialize", BOTH, pow_specialize),
    Pass(210, "canonicalize", BOTH, canonicalize),
    Pass(220, "shape_lift", BOTH, shape_lift),
    Pass(230, "constant_folding", RUN, constant_folding),
    Pass(240, "merge", BOTH | {"merge"}, merge),  # alone in Mode(optimizer="merge")
    # Products: matrix-vector ones become reductions, before gemm claims them.
    Pass(300, "matvec", RUN, matvec),
    Pass(310, "gemm", RUN, gemm_rewrite),
    # Fusion into native kernels, each kind on the nodes the previous one left.
    Pass(400, "reduce_fusion", FUSION, reduce_fusion),
    Pass(410, "rowcol_fusion", FUSION, rowcol_fusion),  # pairs FusedReduces of one X
    # (and in Mode(linker="native", optimizer="fast_compile"): see Mode.tags)
    Pass(420, "elemwise_fusion", FUSION | {"native_fast_compile"}, elemwise_fusion),
    Pass(425, "corr2d_epilogue", FUSION, corr2d_epilogue),  # bias + activation into conv
    Pass(430, "rowwise_fusion", FUSION, rowwise_fusion),  # groups elemwise_fusion's nodes
    # Loops.
    Pass(500, "scan_last_only", RUN, scan_last_only),
)

assert [p.position for p in PIPELINE] == sorted({p.position for p in PIPELINE}), \
    "PIPELINE must be listed by strictly increasing position"
assert len({p.name for p in PIPELINE}) == len(PIPELINE), "pass names must be unique"


def pipeline(tags=None, excluding=()):
    """The passes, in order, having one of `tags` (every pass if None), except
    those named in `excluding` or having a tag in it. An unknown name in
    `excluding` is a ValueError listing the known ones."""
    excluding = set(excluding)
    unknown = excluding - {p.name for p in PIPELINE} - {t for p in PIPELINE for t in p.tags}
    if unknown:
        raise ValueError(f"optimizer_excluding names unknown rewrites {sorted(unknown)}; "
                         f"known: {', '.join(p.name for p in PIPELINE)}")
    tags = None if tags is None else set(tags)
    return [p for p in PIPELINE
            if (tags is None or p.tags & tags) and p.name not in excluding
            and not p.tags & excluding]


def optimize(outputs, tags, excluding=()):
    """Run `pipeline(tags, excluding)` on `outputs`.

    Returns (new outputs, the names of the passes that changed the graph, in order).
    """
    with test_value_policy(config.compute_test_value_opt):  # as Theano's optimizer
        return _optimize(list(outputs), tags, excluding)


def _optimize(outputs, tags, excluding):
    changed = []
    RUNS["pipelines"] += 1
    for p in pipeline(tags, excluding):
        RUNS[p.name] += 1
        t0 = time.perf_counter()
        new = p(outputs)
        log.debug("rewrite %s took %.2f ms", p.name, 1e3 * (time.perf_counter() - t0))
        if new is not outputs and any(a is not b for a, b in zip(new, outputs)):
            changed.append(p.name)
            outputs = list(new)
    return outputs, changed


def format_pipeline(passes=PIPELINE):
    """`passes` as a table: position, name, tags (what `tjit dump --passes` prints)."""
    width = max(len(p.name) for p in passes)
    lines = [f"{'position':>8}  {'name':<{width}}  tags"]
    lines += [f"{p.position:>8}  {p.name:<{width}}  {', '.join(sorted(p.tags))}" for p in passes]
    return "\n".join(lines) + "\n"
