"""The one native thunk: runs any lowered kernel through its `Launch`.

Every native kernel kind reaches machine code the same way (see
`tjit.ir.launch`): the launch allocates outputs and computes params, this thunk
calls the kernel (splitting the launch's loop across `tjit.config.threads`
threads when the work is large enough: ctypes releases the GIL during the call),
turns a nonzero status into the launch's exception, and lets the launch combine
partial results.
"""
from __future__ import annotations

from ..config import config
from .buffers import reuse_or_empty
from .threads import MIN_PARALLEL_ELEMENTS, POOL, split

END = 1 << 62  # "to the end" for a kernel's split range


# Tiered compilation (tjit.link.tiers) runs level-0 code until the O3 code is
# built, and sets `pending_tier_up` (its job: `ready` is set once `job.native`,
# the O3 kernel, is, or the build ended without it). A call this large waits for
# the O3 code and runs it: level-0 code is several times slower, so the wait
# (~0.1 s) costs less than running it.
TIER_WAIT_ELEMENTS = 1 << 20
TIER_WAIT_SECONDS = 10.0


class NativeThunk:
    """Runs `launch.kernel`, compiled as `native`, for `launch.node`."""

    pending_tier_up = None      # see TIER_WAIT_ELEMENTS

    def __init__(self, launch, native):
        self.launch = launch
        self.node = launch.node
        self.native = native
        self.cfunc = native.cfunc
        self.prepare = launch.prepare
        self.finish = launch.finish
        self.pools = [[] for _ in range(launch.n_pools)]
        self.alloc = self._alloc     # bound once: prepare gets it on every call

    def _alloc(self, k, shape, dtype):
        """An array for output pool `k` (reused when nobody holds the last one)."""
        return reuse_or_empty(self.pools[k], shape, dtype)

    def __call__(self, inputs):
        args, work, carry = self.prepare(inputs, self.alloc)
        if args is not None:
            # the size test first: most calls are small, and config reads cost ~1 us
            if work >= MIN_PARALLEL_ELEMENTS:
                cfunc = self.cfunc
                if work >= TIER_WAIT_ELEMENTS and self.pending_tier_up is not None:
                    cfunc = self._o3_cfunc()
                if config.threads > 1:
                    status = self.run_split(args, config.threads, cfunc)
                else:
                    status = cfunc(*args, 0, END)
            else:
                status = self.cfunc(*args, 0, END)
            if status:
                raise self.launch.error(status, inputs)
        return self.finish(carry, inputs)

    def _o3_cfunc(self):
        """The O3 code of a pending tier-up, once built (waiting for it; not for
        the switch, which needs the plan lock a caller may hold), else this
        thunk's level-0 code (the build failed or the process is exiting)."""
        job = self.pending_tier_up
        job.ready.wait(TIER_WAIT_SECONDS)
        native = job.native
        return self.cfunc if native is None else native.cfunc

    def run_split(self, args, threads, cfunc=None):
        cfunc = cfunc or self.cfunc
        ranges = split(self.launch.extent(args), threads, self.launch.grain)
        if len(ranges) == 1:
            return cfunc(*args, 0, END)
        statuses = POOL.run(cfunc, [(*args, b, e) for b, e in ranges])
        return next((s for s in statuses if s), 0)
