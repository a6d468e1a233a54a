"""A readable pseudo-code form of a loop-IR `Kernel` (what `tjit dump --stage loop` shows).

Loads print as `x[i1, i0]`: the loop variable at each buffer axis it strides,
`.` for an axis that contributes nothing (broadcast, or merged into a later
axis's term under a `contiguous(...)` guard). A subexpression used more than
once in a loop body is printed once, as a `let` temporary.
"""
from __future__ import annotations

from collections import Counter

from tjit.ir.nodes import (Accumulate, ArgAccumulate, Begin, Cast, Check, Const, Contiguous, Dim,
                           End, Guarded, Index, IntConst, IntOp, Kernel, Load, Local, Op, Param,
                           Range, Store, Var, split_extent)

INFIX = {"add": "+", "sub": "-", "mul": "*", "true_div": "/", "int_div": "//", "mod": "%",
         "lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "==", "neq": "!=",
         "and": "&", "or": "|", "xor": "^"}
PREFIX = {"neg": "-", "invert": "~"}
INDENT = "    "


def format_kernel(kernel: Kernel) -> str:
    """Pseudo-code for `kernel`: signature, checks, guards, loops and stores."""
    params = ", ".join(["%s: %s%s" % (b.name, b.dtype, _shape(b)) for b in kernel.buffers]
                       + ["%s: int64" % p.name for p in kernel.params])
    outputs = ", ".join(b.name for b in kernel.buffers[kernel.n_inputs:])
    lines = ["kernel %s(%s) -> %s:" % (kernel.name, params, outputs or "()")]
    _statements(kernel.body, 1, lines)
    return "\n".join(lines) + "\n"


def _shape(buffer):
    return "[%s]" % ", ".join("1" if b else ":" for b in buffer.broadcastable)


def _statements(body, depth, lines):
    pad = INDENT * depth
    stores = [s for s in body if isinstance(s, (Store, Accumulate, ArgAccumulate))]
    names = _let_names(stores)
    for expr, name in names.items():
        lines.append("%slet %s = %s" % (pad, name, _expr(expr, names, top=True, skip=expr)))
    for stmt in body:
        if isinstance(stmt, Check):
            lines.append("%scheck %s == %s else return %d"
                         % (pad, _int(stmt.a), _int(stmt.b), stmt.code))
        elif isinstance(stmt, Store):
            lines.append("%s%s = %s" % (pad, _access(stmt.buffer, stmt.index),
                                        _expr(stmt.value, names, top=True)))
        elif isinstance(stmt, Local):
            size = "" if stmt.buffer.ndim == 0 else "[%d]" % stmt.size
            lines.append("%slocal %s: %s%s" % (pad, stmt.buffer.name, stmt.buffer.dtype, size))
        elif isinstance(stmt, Range):
            lines.append("%sfor %s in %s:" % (pad, stmt.var.name, _span(stmt)))
            _statements(stmt.body, depth + 1, lines)
        elif isinstance(stmt, Accumulate):
            fast = "  # reassoc" if stmt.reassoc else ""
            lines.append("%s%s = %s(%s, %s)%s" % (
                pad, _access(stmt.buffer, stmt.index), stmt.op, _access(stmt.buffer, stmt.index),
                _expr(stmt.value, names, top=True), fast))
        elif isinstance(stmt, ArgAccumulate):
            lines.append("%s(%s, %s) = %s((%s, %s), %s, at %s)" % (
                pad, _access(stmt.values, stmt.index), _access(stmt.positions, stmt.index),
                stmt.op, _access(stmt.values, stmt.index), _access(stmt.positions, stmt.index),
                _expr(stmt.value, names, top=True), _expr(stmt.position, names, top=True)))
        elif isinstance(stmt, Guarded):
            lines.append("%sif %s:" % (pad, _condition(stmt.cond)))
            _statements(stmt.then, depth + 1, lines)
            if stmt.otherwise:
                lines.append("%selse:" % pad)
                _statements(stmt.otherwise, depth + 1, lines)
        else:
            lines.append("%s<%r>" % (pad, stmt))


def _span(stmt):
    """`0..n within begin..end` for the loop the runtime splits, else `start..stop`."""
    extent = split_extent(stmt)
    if extent is not None:
        return "0..%s within begin..end" % _int(extent)
    step = "" if stmt.step == 1 else " step %d" % stmt.step
    return "%s..%s%s" % (_int(stmt.start), _int(stmt.stop), step)


def _condition(cond):
    if type(cond).__name__ == "Improves":
        return "%s improves (%s, %s)" % (_expr(cond.value, {}), _access(cond.values, cond.index),
                                         _access(cond.positions, cond.index))
    if isinstance(cond, Contiguous):
        runs = ", ".join("%s(%s)" % (b.name, ",".join(map(str, axes))) for b, axes in cond.runs)
        return "contiguous(%s)" % runs
    if getattr(cond, "dtype", None) == "bool":     # a scalar condition
        return _expr(cond, {})
    return repr(cond)


def _int(expr):
    if isinstance(expr, Dim):
        return "dim(%s,%d)" % (expr.buffer.name, expr.axis)
    if isinstance(expr, IntConst):
        return str(expr.value)
    if isinstance(expr, (Var, Param)):
        return expr.name
    if isinstance(expr, Begin):
        return "begin"
    if isinstance(expr, End):
        return "end"
    if isinstance(expr, IntOp):
        if expr.name in ("min", "max"):
            return "%s(%s, %s)" % (expr.name, _int(expr.a), _int(expr.b))
        if expr.name == "mul":
            return "%s*%s" % (_int(expr.a), _int(expr.b))
        symbol = {"add": "+", "sub": "-", "div": "/"}[expr.name]
        return "(%s %s %s)" % (_int(expr.a), symbol, _int(expr.b))
    return repr(expr)


def _access(buffer, index):
    slots = ["."] * buffer.ndim
    for var, axis in index:
        slots[axis] = var.name if slots[axis] == "." else slots[axis] + "+" + var.name
    return "%s[%s]" % (buffer.name, ", ".join(slots)) if slots else buffer.name


def _let_names(stores):
    """Name every Op/Cast subexpression that occurs more than once (CSE'd by codegen)."""
    counts = Counter()

    def visit(expr):
        if isinstance(expr, (Op, Cast)):
            counts[expr] += 1
            if counts[expr] > 1:
                return          # its children were counted the first time
        for child in _children(expr):
            visit(child)

    for store in stores:
        visit(store.value)
    shared = []

    def order(expr):           # post-order: a temporary is defined before its users
        for child in _children(expr):
            order(child)
        if counts[expr] > 1 and expr not in shared:
            shared.append(expr)

    for store in stores:
        order(store.value)
    return {expr: "t%d" % k for k, expr in enumerate(shared)}


def _children(expr):
    if isinstance(expr, Op):
        return expr.args
    if isinstance(expr, Cast):
        return (expr.x,)
    return ()


def _expr(expr, names, top=False, skip=None):
    if expr in names and expr is not skip:
        return names[expr]
    if isinstance(expr, Const):
        return repr(expr.value) if expr.dtype != "bool" else str(bool(expr.value))
    if isinstance(expr, Load):
        return _access(expr.buffer, expr.index)
    if isinstance(expr, Index):
        return _int(expr.expr)
    if isinstance(expr, Cast):
        return "%s(%s)" % (expr.dtype, _expr(expr.x, names, top=True))
    if isinstance(expr, Op):
        args = [_expr(a, names) for a in expr.args]
        if expr.name in INFIX:
            text = "%s %s %s" % (args[0], INFIX[expr.name], args[1])
            return text if top else "(%s)" % text
        if expr.name in PREFIX:
            return PREFIX[expr.name] + args[0]
        return "%s(%s)" % (expr.name, ", ".join(_expr(a, names, top=True) for a in expr.args))
    return repr(expr)
