"""Extern calls: control flow. IfElse branches and Scan steps are inner compiled
functions; they inherit the outer function's mode (rewrites, codegen level,
DebugMode checks) from the linker. A scan whose step lowers runs as one native
loop (tjit/ir/scan_plan.py builds it, compiled at the linker's level).

`perform` (the NumPy reference, and every node under the py linker) runs inner
functions with the py linker instead.
"""
from __future__ import annotations

from ..codegen import compile_kernel
from ..ifelse import IfElse
from ..ir.lower_scan import SpliceError
from ..ir.scan_plan import plan_scan
from ..scan_module.native import NativeScan
from ..scan_module.op import Scan
from .linker import extern


def inner_mode(linker):
    """The mode inner functions compile in: the outer function's (for a linker
    made without one, FAST_COMPILE at level 0, else FAST_RUN)."""
    if linker.mode is not None:
        return linker.mode
    return "FAST_COMPILE" if linker.level == 0 else "FAST_RUN"


class IfElseThunk:
    """Runs the branch the condition selects, compiled on first use in `mode`."""

    def __init__(self, op, mode):
        self.op, self.mode = op, mode

    def __call__(self, inputs):
        return self.op.run(inputs, self.mode)


class ScanThunk:
    """Runs a scan step by step, the step compiled in `mode`."""

    def __init__(self, op, node, mode):
        self.op, self.node, self.mode = op, node, mode

    def __call__(self, inputs):
        return self.op.run(self.node, inputs, self.mode)


@extern.register(IfElse)
def _(op, node, linker):
    return IfElseThunk(op, inner_mode(linker))


@extern.register(Scan)
def _(op, node, linker):
    mode = inner_mode(linker)
    if not op.spec.as_while:
        fn = op.inner.get(mode)
        plan = plan_scan(fn, op.spec, node, op.last_only, linker.level)
        if plan is not None:
            level = linker.level

            def build(shapes):
                try:
                    kernel = plan.loop_kernel(shapes)
                except SpliceError:      # ScanUnsupported included
                    return None
                return compile_kernel(kernel, level)
            return NativeScan(op, node, fn, plan, build, mode)
    return ScanThunk(op, node, mode)
