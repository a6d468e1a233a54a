"""Extern calls: control flow. IfElse branches and Scan steps are inner compiled
functions; they inherit the outer function's mode (rewrites, codegen level,
DebugMode checks) from the linker. A scan whose step lowers runs as one native
loop (tjit/ir/scan_plan.py builds it, compiled at the linker's level).

`perform` (the NumPy reference: DebugMode's) runs inner functions in 'PY' mode;
under a py-linker mode (FAST_COMPILE) they compile in that mode (`py_extern`).
"""
from __future__ import annotations

from ..codegen import compile_kernel
from ..ifelse import IfElse
from ..ir.lower_scan import SpliceError
from ..ir.scan_plan import plan_scan
from ..scan_module.native import NativeScan
from ..scan_module.op import Scan
from .linker import extern, py_extern


def inner_mode(linker):
    """The mode inner functions compile in: the outer function's (for a linker
    made without one, the native fast_compile mode at level 0, else FAST_RUN)."""
    if linker.mode is not None:
        return linker.mode
    if linker.level == 0:
        # compile.mode imports the linkers: a true import cycle
        from ..compile.mode import Mode
        return Mode("native", "fast_compile")
    return "FAST_RUN"


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


def _perform_mode(mode):
    """Whether `mode` is ifelse.PERFORM_MODE ('PY': the py linker, every rewrite),
    which `perform` already runs inner functions in."""
    return (mode.linker, mode.optimizer, mode.excluding_names, mode.check) == (
        "py", "fast_run", (), False)


@py_extern.register(IfElse)
def _(op, node, linker):
    return None if _perform_mode(linker.mode) else IfElseThunk(op, linker.mode)


@py_extern.register(Scan)
def _(op, node, linker):
    return None if _perform_mode(linker.mode) else ScanThunk(op, node, linker.mode)
