"""scan_last_only: a recurrent scan output used only through `out[-1]` keeps no
history (the Scan op returns the final value; natively a ring of lag + 1 rows).

scan() returns a recurrent output as `buffer[lag:]`; the rewrite looks for
buffers whose every use is that slice, and whose slice's every use is `[-1]`,
or whose every use is `buffer[-1]` (reverse-scan gradients read their states so).
"""
from __future__ import annotations

from ..graph import toposort
from ..scan_module.op import Scan
from ..tensor.subtensor import Subtensor
from .walk import replace


def _pattern_uses(var, clients, pattern):
    """The output variables of every use of `var`, if each is a Subtensor with
    `pattern` and no symbolic index; else None."""
    uses = clients.get(id(var), [])
    if not uses:
        return None
    outs = []
    for node in uses:
        if not isinstance(node.op, Subtensor) or node.op.pattern != pattern \
                or len(node.inputs) != 1:
            return None
        outs.append(node.outputs[0])
    return outs


def scan_last_only(outputs):
    nodes = toposort(outputs)
    clients = {}
    for node in nodes:
        for v in node.inputs:
            clients.setdefault(id(v), []).append(node)
    protected = {id(v) for v in outputs}
    mapping = {}
    for node in nodes:
        op = node.op
        if not isinstance(op, Scan) or op.last_only:
            continue
        s = op.spec
        finals, lenient = {}, set()
        for i in range(s.n_rec):
            buf = node.outputs[i]
            if id(buf) in protected:
                continue
            if not clients.get(id(buf)):
                finals[i] = []           # unused: no history either
                lenient.add(i)
                continue
            direct = _pattern_uses(buf, clients, (("int", -1),))
            if direct:
                finals[i] = direct       # buffer[-1]: the initial state if no step ran
                lenient.add(i)
                continue
            slices = _pattern_uses(buf, clients, (("slice", s.lags[i], None, None),))
            if not slices or any(id(v) in protected for v in slices):
                continue
            lasts = [_pattern_uses(v, clients, (("int", -1),)) for v in slices]
            if any(u is None for u in lasts):
                continue
            finals[i] = [v for u in lasts for v in u]
        if not finals:
            continue
        new = Scan(s, last_only=frozenset(finals), inner=op.inner,
                   lenient=frozenset(lenient)).make_node(*node.inputs)
        for k, (old, out) in enumerate(zip(node.outputs, new.outputs)):
            if k in finals:
                for v in finals[k]:
                    mapping[v] = out
            else:
                mapping[old] = out
    return replace(outputs, mapping) if mapping else outputs
