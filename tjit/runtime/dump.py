"""Text of each pipeline stage of a compiled function, for `tjit dump`."""
from __future__ import annotations

from ..passes import format_pipeline
from ..printing import debugprint
from ..ir.printer import format_kernel

STAGES = ("graph", "opt", "loop", "llvm", "asm")


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
