"""Text of each pipeline stage of a compiled function, for `tjit dump`."""
from __future__ import annotations

import os
import shutil

from ..passes import format_pipeline
from ..printing import debugprint
from ..printing_dot import pydotprint
from ..ir.printer import format_kernel

STAGES = ("graph", "opt", "loop", "llvm", "asm")
PICTURE_STAGES = ("graph", "opt")


def dump_function(fn, stage="opt"):
    """The `stage` of compiled function `fn` as text:

    graph  the graph as built (outputs, then update values)
    opt    the rewritten graph, after the rewrites that changed it, in order
    loop   the loop-level IR of every native kernel
    llvm   the optimized LLVM IR of every native kernel
    asm    the machine code of every native kernel
    """
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")
    if stage == "graph":
        return debugprint(fn.original_outputs, file="str", print_type=True)
    if stage == "opt":
        return ("# rewrites applied: " + ", ".join(fn.rewrites_applied) + "\n"
                + debugprint(fn, file="str", print_type=True))
    parts = []
    for thunk in fn.thunks:
        native = getattr(thunk, "native", None)
        if native is None:
            continue
        if stage == "loop":
            parts.append(format_kernel(native.kernel))
        elif stage == "llvm":
            parts.append(native.llvm_ir)
        else:
            parts.append(native.asm)
    if not parts:
        return "# no native kernels in this function\n"
    return "\n".join(parts)


def dump_passes():
    """The graph-rewrite pipeline as text: position, name and tags of every pass,
    in the order they run (`tjit dump --passes`)."""
    return format_pipeline()


def dump_picture(fn, stage, format, outfile):
    """Draw `stage` ('graph': as built, 'opt': rewritten, kernels as clusters) of
    compiled function `fn` to `outfile` in `format` (see tjit.printing.pydotprint);
    returns the path written (a .dot file when Graphviz is missing)."""
    if stage not in PICTURE_STAGES:
        raise ValueError(f"pictures are drawn of the stages {PICTURE_STAGES}, not {stage!r}")
    target = fn if stage == "opt" else fn.original_outputs
    pydotprint(target, outfile=outfile, format=format, print_output_file=False)
    if format != "dot" and shutil.which("dot") is None:
        return os.path.splitext(outfile)[0] + ".dot"
    return outfile
