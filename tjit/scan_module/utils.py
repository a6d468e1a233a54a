"""Parsing what a scan step function returns: outputs, updates and `until`."""
from __future__ import annotations

from collections import OrderedDict

from ..graph import Variable
from ..tensor.var import as_tensor_variable
from ..shared import SharedVariable
import numpy as np


class until:
    """Returned by a scan step function to stop the loop once `condition` (a scalar)
    is true; the step that makes it true is kept."""

    def __init__(self, condition):
        c = as_tensor_variable(condition)
        if c.ndim != 0:
            raise TypeError(f"until: the condition must be a scalar, got {c} ({c.type})")
        self.condition = c


def _is_updates(x):
    if isinstance(x, dict):
        return True
    if isinstance(x, (list, tuple)) and x and all(
            isinstance(p, (list, tuple)) and len(p) == 2 and isinstance(p[0], Variable)
            and not isinstance(p[1], (list, tuple, dict)) for p in x):
        return all(isinstance(p[0], SharedVariable) for p in x)
    return False


def _is_outputs(x):
    if isinstance(x, Variable):
        return True
    if isinstance(x, (list, tuple)):
        return all(not isinstance(e, (list, tuple, dict, until)) for e in x)
    return _is_number(x)


def _is_number(x):
    return isinstance(x, (int, float, np.number, np.ndarray)) and not isinstance(x, bool)


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def get_updates_and_outputs(ret):
    """(condition or None, [outputs], OrderedDict updates) from a step function's
    return value: outputs, updates (a dict or list of pairs) and until(cond), each
    optional, in any order (as Theano accepts)."""
    def fail():
        raise ValueError(
            "scan: cannot parse the value returned by the step function; return outputs "
            "(a variable or a list of them), an updates dict (or list of (shared, value) "
            "pairs) and/or until(condition), e.g. (outputs, updates, until(c)); got "
            f"{ret!r}")

    parts = [ret]
    if isinstance(ret, (tuple, list)) and 1 < len(ret) <= 3 and any(
            isinstance(e, (dict, until)) or _is_updates(e) or isinstance(e, (list, tuple))
            for e in ret):
        parts = list(ret)
    cond, outputs, updates = None, None, None
    for p in parts:
        if isinstance(p, until):
            if cond is not None:
                fail()
            cond = p.condition
        elif _is_updates(p) and updates is None:
            updates = OrderedDict(p.items() if isinstance(p, dict) else p)
        elif _is_outputs(p) and outputs is None:
            outputs = _as_list(p)
        elif isinstance(p, (list, tuple)) and not p and outputs is None:
            outputs = []
        elif isinstance(p, (list, tuple)) and not p and updates is None:
            updates = OrderedDict()  # (outputs, []): no updates, as Theano reads it
        else:
            fail()
    return cond, outputs or [], updates or OrderedDict()
