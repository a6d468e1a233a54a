"""The rewrite registry: names, tags, and the pipeline a mode runs."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

log = logging.getLogger("tjit.passes")


@dataclass(frozen=True)
class Rewrite:
    name: str
    tags: frozenset
    fn: object = field(compare=False)

    def __call__(self, outputs):
        return self.fn(outputs)


REWRITES: list = []


def register(name, *tags):
    """Decorator: register `fn(outputs) -> outputs` as rewrite `name` with `tags`."""
    def deco(fn):
        if any(r.name == name for r in REWRITES):
            raise ValueError(f"rewrite {name!r} registered twice")
        REWRITES.append(Rewrite(name, frozenset(tags), fn))
        return fn
    return deco


def optimize(outputs, tags, excluding=()):
    """Run every registered rewrite having one of `tags`, except `excluding`.

    Returns (new outputs, names of the rewrites that ran, in order).
    """
    excluding = set(excluding)
    unknown = excluding - {r.name for r in REWRITES} - {t for r in REWRITES for t in r.tags}
    if unknown:
        raise ValueError(f"optimizer_excluding names unknown rewrites {sorted(unknown)}; "
                         f"known: {', '.join(r.name for r in REWRITES)}")
    ran = []
    for rw in REWRITES:
        if not (rw.tags & set(tags)) or rw.name in excluding or (rw.tags & excluding):
            continue
        t0 = time.perf_counter()
        outputs = rw(list(outputs))
        log.debug("rewrite %s took %.2f ms", rw.name, 1e3 * (time.perf_counter() - t0))
        ran.append(rw.name)
    return outputs, ran
