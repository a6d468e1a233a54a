"""A small thread pool that runs chunks of a kernel's outer loop.

ctypes releases the GIL during a foreign call, so chunks of one kernel run in
parallel on `tjit.config.threads` threads (the caller's thread takes the first
chunk). Chunks are contiguous ranges of the outermost loop; each element is
computed by the same code whatever the split, so results do not depend on the
thread count.
"""
from __future__ import annotations

import queue
import threading

MIN_PARALLEL_ELEMENTS = 1 << 16  # below this, waking a thread costs more than it saves


class _Task:
    __slots__ = ("fn", "args", "result", "error", "done")

    def __init__(self, fn, args):
        self.fn, self.args = fn, args
        self.result = self.error = None
        self.done = threading.Lock()
        self.done.acquire()


class ThreadPool:
    def __init__(self):
        self._queue = queue.SimpleQueue()
        self._workers = []
        self._lock = threading.Lock()

    def _ensure(self, n):
        with self._lock:
            while len(self._workers) < n:
                t = threading.Thread(target=self._work, name=f"tjit-worker-{len(self._workers)}",
                                     daemon=True)
                t.start()
                self._workers.append(t)

    def _work(self):
        while True:
            task = self._queue.get()
            try:
                task.result = task.fn(*task.args)
            except BaseException as e:  # handed back to the caller
                task.error = e
            task.done.release()

    def run(self, fn, arg_lists):
        """fn(*args) for each args in arg_lists, the first on this thread; returns
        the results in order (re-raising the first error)."""
        if len(arg_lists) == 1:
            return [fn(*arg_lists[0])]
        self._ensure(len(arg_lists) - 1)
        tasks = [_Task(fn, a) for a in arg_lists[1:]]
        for t in tasks:
            self._queue.put(t)
        first = fn(*arg_lists[0])
        results = [first]
        for t in tasks:
            t.done.acquire()
            if t.error is not None:
                raise t.error
            results.append(t.result)
        return results


POOL = ThreadPool()


def split(extent, parts, grain=1):
    """[begin, end) ranges splitting [0, extent) into at most `parts` near-equal
    chunks whose begins are multiples of `grain` (the last ends at extent)."""
    units = -(-extent // grain)
    parts = max(1, min(parts, units))
    step, extra = divmod(units, parts)
    ranges, begin = [], 0
    for k in range(parts):
        end = begin + step + (1 if k < extra else 0)
        ranges.append((begin * grain, min(end * grain, extent)))
        begin = end
    return ranges
