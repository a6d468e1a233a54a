"""The linker a Mode carries: node -> thunk, at the mode's codegen level."""
from __future__ import annotations

from functools import singledispatch

from .. import ir  # noqa: F401  (imports every kernel kind's lowering: they register)
from ..codegen import compile_kernel
from ..config import config
from ..ir.lowering import lower
from ..runtime.native_thunk import NativeThunk
from ..runtime.perform_thunk import PerformThunk
from ..runtime import elemwise_thunk
from . import tiers


@singledispatch
def extern(op, node, linker):
    """The thunk of an op that runs outside tjit's kernels (BLAS, an inner
    compiled function, ...), or None. Modules register per op class."""
    return None


class NativeLinker:
    """Native code for every node that lowers, at codegen `level` (3: O3, 0: the
    FAST_COMPILE pipeline); inner functions (ifelse, scan) inherit `mode`."""

    native = True

    def __init__(self, level=3, mode=None):
        self.level = level
        self.mode = mode
        # node -> Launch (or None): given by the graph cache, else filled in here
        # for it to store (tjit.function); None: not recorded
        self.launches = None

    def thunk(self, node):
        op = node.op
        known = self.launches
        if known is not None and node in known:
            launch = known[node]
        else:
            launch = lower(op, node, self.level)
            if known is not None:
                known[node] = launch
        if launch is not None:
            if self.level == 3 and config.tiered and not getattr(self.mode, "check", False):
                return NativeThunk(launch, tiers.compile_fast_run(launch))   # maybe level 0 first
            return NativeThunk(launch, compile_kernel(launch.kernel, self.level))
        thunk = extern(op, node, self)
        return thunk if thunk is not None else PerformThunk(node)

    def __repr__(self):
        return f"NativeLinker(level={self.level})"


@singledispatch
def py_extern(op, node, linker):
    """Under a py-linker mode (FAST_COMPILE): the thunk of an op whose inner
    functions compile in that mode (ifelse, scan), or None. Modules register."""
    return None


class PyLinker:
    """Every node runs its op's NumPy reference (`perform`; a plain Elemwise's
    with its dtypes worked out once: runtime/elemwise_thunk.py). In a py-linker
    mode (`mode.linker == 'py'`), ifelse branches and scan steps compile in that
    mode too, and ops with `same_bits_natively` (normal draws) run their level-0
    native code; otherwise (DebugMode's reference) `perform` throughout."""

    native = False
    level = None

    def __init__(self, mode=None):
        self.mode = mode
        self._native = None

    def thunk(self, node):
        if elemwise_thunk.fits(node):
            return elemwise_thunk.ElemwiseThunk(node)
        mode = self.mode
        if mode is not None and mode.linker == "py":
            if getattr(node.op, "same_bits_natively", False):
                # a bit-for-bit contract only native code keeps (normal draws):
                # that node alone is compiled, at level 0
                if self._native is None:
                    self._native = NativeLinker(0, mode)
                return self._native.thunk(node)
            thunk = py_extern(node.op, node, self)
            if thunk is not None:
                return thunk
        return PerformThunk(node)

    def __repr__(self):
        return "PyLinker()"
