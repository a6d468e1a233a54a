"""Printing graphs: `pp` (infix math) and `debugprint` (tree with ids and types)."""
from __future__ import annotations

import string
import sys

from .graph import Constant, Variable
from .runtime.program import CompiledFunction
from .scalar import Cast
from .tensor.elemwise import DimShuffle, Elemwise
from .tensor.subtensor import Subtensor


_OPERATORS = ("add", "sub", "mul", "true_div", "int_div", "mod", "pow")


# -- pp ------------------------------------------------------------------------------
def pp(var):
    """Infix form of an expression, e.g. `(x + exp(y))`."""
    if isinstance(var, (list, tuple)):
        return "\n".join(pp(v) for v in var)
    return _pp(var)


def _pp(v):
    if v.owner is None:
        return str(v)
    node = v.owner
    op = node.op
    args = node.inputs
    if isinstance(op, Elemwise):
        s = op.scalar_op
        # As Theano: only + - * / // % ** and unary - print as (parenthesised)
        # operators; |x| for abs; every other op as its tensor function's name.
        if s.name in _OPERATORS and len(args) == 2:
            return f"({_pp(args[0])} {s.symbol} {_pp(args[1])})"
        if s.name == "neg":
            return f"(-{_pp(args[0])})"
        if s.name == "abs":
            return f"|{_pp(args[0])}|"
        if isinstance(s, Cast):
            return f"cast({_pp(args[0])}, {s.dtype})"
        name = {"second": "fill", "and": "and_", "or": "or_"}.get(s.name, s.name)
        return f"{name}({', '.join(_pp(a) for a in args)})"
    if isinstance(op, DimShuffle):
        order = op.new_order
        inner = _pp(args[0])
        kept = [e for e in order if e != "x"]
        if kept == list(range(args[0].ndim)):
            return inner  # only broadcast dims added: invisible in math
        if kept == list(reversed(range(args[0].ndim))) and len(kept) == len(order):
            return f"{inner}.T"
        return f"{inner}.dimshuffle({', '.join(repr(e) for e in order)})"
    if isinstance(op, Subtensor):
        text = str(op)[len("Subtensor"):].strip("{}")
        for i, sym in enumerate(args[1:]):
            text = text.replace(f"i{i}", _pp(sym))
        return f"{_pp(args[0])}[{text}]"
    if type(op).__name__ == "Dot":
        return f"({_pp(args[0])} \\dot {_pp(args[1])})"  # Theano's middle-dot operator
    # Theano's default: the op's own str (with its parameters), then the arguments.
    out = f"{op}({', '.join(_pp(a) for a in args)})"
    if len(node.outputs) > 1:
        out += f"[{v.index}]"
    return out


# -- debugprint -------------------------------------------------------------------
def _ids():
    letters = string.ascii_uppercase
    n = 0
    while True:
        q, s = n, ""
        while True:
            s = letters[q % 26] + s
            q = q // 26 - 1
            if q < 0:
                break
        yield s
        n += 1


def debugprint(obj, file=None, print_type=True, depth=-1, ids="CHAR"):
    """Print the graph of a variable, a list of variables, or a compiled function
    (its optimized graph, with updates) as an indented tree. Each node shows its
    op, an id ([id A]; repeated nodes are printed once), its name and its type.

    With file='str' the text is returned instead of printed.
    """
    lines = []
    if isinstance(obj, CompiledFunction):
        n = obj.n_outputs
        outs = obj.maker_outputs
        order = {id(node): i for i, node in enumerate(obj.nodes)}
        roots = list(outs[:n])
        labels = [""] * n
        for (shared, _), v in zip(obj.shared_updates, outs[n:]):
            roots.append(v)
            labels.append(f"update of {shared}")
    else:
        roots = list(obj) if isinstance(obj, (list, tuple)) else [obj]
        labels = [""] * len(roots)
        order = None
    done, names = {}, _ids()
    for root, label in zip(roots, labels):
        if label:
            lines.append(f"# {label}:")
        _tree(root, "", lines, done, names, print_type, depth, order)
    text = "\n".join(lines) + "\n"
    if file == "str":
        return text
    (file or sys.stdout).write(text)
    return file


def _tree(v, indent, lines, done, names, print_type, depth, order):
    node = v.owner
    typ = f" {v.type}" if print_type else ""
    name = f" '{v.name}'" if v.name else " ''" if node is not None else ""
    if node is None:
        label = str(v) if not isinstance(v, Constant) else str(v)
        key = id(v)
        if key not in done:
            done[key] = next(names)
        lines.append(f"{indent}{label} [id {done[key]}]{typ}")
        return
    key = id(node)
    out_ix = f".{v.index}" if len(node.outputs) > 1 else ""
    pos = f" {order[key]}" if order is not None and key in order else ""
    if key in done:
        lines.append(f"{indent}{node.op}{out_ix} [id {done[key]}]{name}{typ}{pos}")
        return
    done[key] = next(names)
    lines.append(f"{indent}{node.op}{out_ix} [id {done[key]}]{name}{typ}{pos}")
    if depth == 0:
        return
    child = indent.replace("|", " ") if indent else ""
    for inp in node.inputs:
        _tree(inp, child + " |", lines, done, names, print_type, depth - 1, order)


def pprint(var):
    return pp(var)


__all__ = ["pp", "debugprint", "pprint", "Variable"]
