"""Launch descriptions: how the runtime runs a lowered kernel for one graph node.

A lowering (see `tjit.ir.lowering`) turns a node into a `Launch`: the loop-IR
`kernel` plus what the runtime needs to call it, and nothing the runtime has to
know about the kind. The runtime's one native thunk does, per call:

    args, work, carry = launch.prepare(inputs, alloc)   # outputs allocated, params computed
    if args is not None:                                # None: nothing to run (e.g. empty)
        run kernel(*args, begin, end) over [0, launch.extent(args)), split across
        threads in multiples of `launch.grain` when `work` elements justify it
    if status != 0: raise launch.error(status, inputs)
    return launch.finish(carry, inputs)                 # combine partials, etc.

`args` are the kernel's arguments before (begin, end): its buffers' arrays in
order (inputs, then outputs), then its int64 params. Results never depend on the
split: kernels give every element the same code whatever range computes it, and
partial results are combined by `finish` in a fixed order.
"""
from __future__ import annotations


class Launch:
    """Base launch: one output per node output, shapes given by `shape_plan`."""

    grain = 1          # the split's ranges begin at multiples of this

    def __init__(self, node, kernel):
        self.node = node
        self.kernel = kernel

    @property
    def n_pools(self):
        """How many buffer pools `alloc` may be asked for (one per allocated output)."""
        return len(self.node.outputs)

    def prepare(self, inputs, alloc):
        raise NotImplementedError

    def extent(self, args):
        """The extent of the loop the runtime splits (called only when splitting)."""
        raise NotImplementedError

    def finish(self, carry, inputs):
        return carry

    def error(self, status, inputs):
        """The exception for a kernel's nonzero `status` (a failed Check's code).

        The op's own NumPy-level check (`check_shapes`) raises first when it can:
        its message names the inputs whose shapes disagree."""
        check = getattr(self.node.op, "check_shapes", None)
        if check is not None:
            check(self.node, inputs)
        info = self.kernel.meta.get("checks", {}).get(status, {})
        return ValueError(f"{self.node.op}: shape check {status} failed ({info}); input shapes "
                          f"{[getattr(a, 'shape', None) for a in inputs]}")


def shape_plan(node):
    """For each loop dim of a fused node (FusedElemwise, FusedReduce, FusedRows):
    the (input position, axis) whose run-time size it has, or (-1, 0) for size 1."""
    op = node.op
    plan = []
    for d, b in enumerate(op.broadcastable):
        src = (-1, 0)
        if not b:
            for i, (x, ax) in enumerate(zip(node.inputs, op.axes)):
                if ax[d] is not None and not x.broadcastable[ax[d]]:
                    src = (i, ax[d])
                    break
        plan.append(src)
    return tuple(plan)


def loop_shape(plan, inputs):
    """The loop shape `plan` (of `shape_plan`) reads off the input arrays."""
    return tuple([inputs[i].shape[a] if i >= 0 else 1 for i, a in plan])

