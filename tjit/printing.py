"""Printing graphs: `pp` (infix math) and `debugprint` (tree with ids and types)."""
from __future__ import annotations

import sys

from .graph import Apply, Op, Variable
from .runtime.program import CompiledFunction
from .scalar import Cast
from .tensor.elemwise import DimShuffle, Elemwise
from .tensor.subtensor import Subtensor
from .tensor.var import as_tensor_variable


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


# -- Print: an identity that prints its value as the function runs ------------------
def _print_fn(op, value):
    for attr in op.attrs:
        shown = getattr(value, attr)
        print(op.message, attr, "=", shown() if callable(shown) else shown)


class Print(Op):
    """Identity op that prints `message` and the value's `attrs` each time the
    function computes it (Theano's `Print`): `Print('x')(x)` prints
    `x __str__ = [1. 2.]`; attrs=('shape',) prints `x shape = (2,)`. Attributes
    that are callable are called. The gradient passes through unchanged.

    Like Theano's, a Print between two ops blocks rewrites across it (fusion,
    stabilization), and it never runs at compile time (no constant folding).
    """

    __props__ = ("message", "attrs", "global_fn")
    view_map = {0: [0]}
    no_constant_folding = True

    def __init__(self, message="", attrs=("__str__",), global_fn=_print_fn):
        self.message = message
        self.attrs = tuple(attrs)
        self.global_fn = global_fn

    def make_node(self, x):
        x = x if isinstance(x, Variable) else as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs):
        self.global_fn(self, inputs[0])
        return [inputs[0]]

    def grad(self, inputs, output_grads):
        return list(output_grads)

    def R_op(self, inputs, eval_points):
        return list(eval_points)

    def __str__(self):
        return f"Print{{message={self.message!r}, attrs={self.attrs!r}}}"


# -- debugprint (Theano 1.0's format) ----------------------------------------------
def char_from_number(n):
    """Theano's debugprint ids: n written in base 26 with digits A..Z (0 -> A,
    25 -> Z, 26 -> BA)."""
    text = ""
    while True:
        text = chr(ord("A") + n % 26) + text
        n //= 26
        if n == 0:
            return text


# Elemwise ops that Theano builds with an explicit name (printed bare).
_NAMED_ELEMWISE = {"sigmoid": "sigmoid", "softplus": "softplus"}
_THEANO_SCALAR_NAMES = {"abs": "abs_", "and": "and_", "or": "or_"}
# Theano's accumulator dtypes for Sum/Prod (CAReduceDtype's defaults).
_ACC_DTYPES = {"bool": "int64", "int8": "int64", "int16": "int64", "int32": "int64",
               "uint8": "uint64", "uint16": "uint64", "uint32": "uint64",
               "float16": "float32", "float32": "float64", "complex64": "complex128"}


def op_name(node):
    """The op of `node` as Theano 1.0's debugprint shows it (e.g.
    `Elemwise{add,no_inplace}`, `Sum{axis=[0], acc_dtype=float64}`, `dot`,
    `for{cpu,scan_fn}`); ops Theano does not have print as themselves."""
    op = node.op
    if isinstance(op, Elemwise) and op.scalar_op is not None:
        s = op.scalar_op
        if isinstance(s, Cast):
            return f"Elemwise{{Cast{{{s.dtype}}}}}"
        if s.name in _NAMED_ELEMWISE:
            return _NAMED_ELEMWISE[s.name]
        return f"Elemwise{{{_THEANO_SCALAR_NAMES.get(s.name, s.name)},no_inplace}}"
    kind = type(op).__name__
    if kind == "Reduce" and op.kind in ("sum", "prod"):
        x = node.inputs[0]
        acc = op.acc_dtype or _ACC_DTYPES.get(x.dtype, x.dtype)
        axis = "" if len(op.axis) == x.ndim else f"axis={list(op.axis)}, "
        return f"{op.kind.capitalize()}{{{axis}acc_dtype={acc}}}"
    if kind == "Dot":
        return "dot"
    if kind == "ARange":
        return f"ARange{{dtype='{op.dtype}'}}"
    if kind == "Rebroadcast":  # Theano lists the changed axes: {?,0} sets axis 1
        before, after = node.inputs[0].broadcastable, node.outputs[0].broadcastable
        changed = [d for d in range(len(after)) if before[d] != after[d]]
        marks = ["?"] * (max(changed) + 1 if changed else 0)
        for d in changed:
            marks[d] = str(int(after[d]))
        return f"Rebroadcast{{{','.join(marks)}}}"
    if kind == "Scan":
        loop = "while" if op.spec.as_while else "for"
        return f"{loop}{{cpu,{op.spec.name or 'scan_fn'}}}"
    return str(op)


class _Printer:
    """One debugprint call's state, as Theano's: `used` maps each node or variable
    referred to so far to its id (ids count them, in order), `done` the ones
    printed (expanded once); output lines; scan nodes met (their inner graphs are
    printed at the end); `clients` {id(var): [(node or 'output', i)]} when
    printing a compiled function with print_clients."""

    def __init__(self, done, ids, print_type, stop_on_name, order, clients):
        self.done = done
        self.used = dict(done)    # ids given in earlier calls sharing `done` stay
        self.ids = ids
        self.print_type = print_type
        self.stop_on_name = stop_on_name
        self.order = order        # {id(node): position} for compiled functions
        self.clients = clients
        self.lines = []
        self.scans = []

    def id_of(self, obj, printed=True):
        text = self.used.get(obj)
        if text is None:
            if isinstance(obj, str):  # the "output" client
                text = "output"
            elif self.ids == "CHAR":
                text = f"[id {char_from_number(len(self.used))}]"
            elif self.ids == "int":
                text = f"[id {len(self.used)}]"
            elif self.ids == "id":
                text = f"[id {id(obj)}]"
            elif self.ids == "":
                text = ""
            else:
                raise ValueError(f"debugprint: ids must be 'CHAR', 'int', 'id' or '', "
                                 f"got {self.ids!r}")
            self.used[obj] = text
        if printed:
            self.done[obj] = text
        return text

    def clients_of(self, v):
        users = self.clients.get(id(v), []) if self.clients else []
        if len(users) < 2:
            return ""
        shown = [(self.id_of(c, printed=False),
                  "" if isinstance(c, str) else self.order.get(id(c), "")) for c, _ in users]
        return f" clients:{shown}"

    def tree(self, v, depth, prefix="", child_prefix="", inner_map=None):
        if depth == 0:
            return
        typ = f" <{v.type}>" if self.print_type else ""
        node = v.owner
        if node is None:
            if inner_map is not None and id(v) in inner_map:
                outer = inner_map[id(v)]
                self.lines.append(f"{prefix}{v} {self.id_of(v)}{typ} -> "
                                  f"{self.id_of(outer.owner or outer)}")
            else:
                self.lines.append(f"{prefix}{v} {self.id_of(v)}{typ}")
            return
        printed = node in self.done
        if type(node.op).__name__ == "Scan" and not printed:
            self.scans.append(v)
        out_ix = f".{v.index}" if len(node.outputs) > 1 else ""
        pos = str(self.order[id(node)]) if self.order and id(node) in self.order else ""
        ident = self.id_of(node)
        self.lines.append(f"{prefix}{op_name(node)}{out_ix} {ident}{typ} "
                          f"'{v.name or ''}'   {pos}{self.clients_of(v)}")
        if printed or (self.stop_on_name and v.name is not None):
            return
        last = len(node.inputs) - 1
        for k, inp in enumerate(node.inputs):
            self.tree(inp, depth - 1, child_prefix + " |",
                      child_prefix + ("  " if k == last else " |"), inner_map)

    def scan_inner_graphs(self, depth):
        if not self.scans:
            return
        self.lines += ["", "Inner graphs of the scan ops:"]
        for v in self.scans:  # grows while printing: scans inside scans
            node = v.owner
            spec = node.op.spec
            outer = node.inputs[1:]
            inner_map = {}
            k = 0
            for j in range(spec.n_seqs):
                inner_map[id(spec.inner_inputs[k])] = outer[j]
                k += 1
            for i, taps in enumerate(spec.rec_taps):
                for _ in taps:
                    inner_map[id(spec.inner_inputs[k])] = outer[spec.n_seqs + i]
                    k += 1
            for j in range(spec.n_nonseqs):
                inner_map[id(spec.inner_inputs[k])] = outer[spec.n_seqs + spec.n_rec + j]
                k += 1
            self.lines.append("")
            self.tree(v, depth)
            for out in spec.inner_outputs:
                self.tree(out, depth, " >", " >", inner_map)


def _clients(nodes, outputs):
    """{id(variable): [(node, input position) ..., ('output', output position) ...]}"""
    users = {}
    for node in nodes:
        for i, v in enumerate(node.inputs):
            users.setdefault(id(v), []).append((node, i))
    for i, v in enumerate(outputs):
        users.setdefault(id(v), []).append(("output", i))
    return users


def debugprint(obj, depth=-1, print_type=False, file=None, ids="CHAR", stop_on_name=False,
               done=None, print_clients=False):
    """Print the graph of a variable, an Apply node, a list of them, or a compiled
    function (its optimized graph: outputs, then updates) as Theano 1.0 does.

    Each line is a variable: an op's output as `op [id X] 'name'` (with its
    position in the execution order for a compiled function), an input as
    `name [id X]`; a node printed before shows its id only. Inputs are indented
    under their node with ` |` (the last input's subtree without the bar).
    depth: levels printed (the root is level 1; -1: all). print_type: add each
    variable's type. ids: 'CHAR' (A, B, ..), 'int', 'id' (Python ids) or ''.
    stop_on_name: do not print below named variables. done: a dict shared by
    several calls so that they share ids and print each node once. print_clients:
    for a compiled function, list the users of variables used more than once
    (`clients:[('[id B]', 1), ('output', '')]`: id and position of each using
    node, 'output' for a function output). file: None (stdout), 'str' (return
    the text) or a file object (returned).
    Scans' inner graphs follow, after "Inner graphs of the scan ops:".
    """
    if not isinstance(depth, int):
        raise TypeError(f"debugprint: depth must be an int, got {depth!r}")
    order, roots, labels, clients = None, [], [], None
    for item in (obj if isinstance(obj, (list, tuple)) else [obj]):
        if isinstance(item, CompiledFunction):
            n = item.n_outputs
            outs = item.maker_outputs
            order = {id(node): i for i, node in enumerate(item.nodes)}
            if print_clients:
                clients = _clients(item.nodes, outs)
            roots += list(outs[:n])
            labels += [""] * n
            for (shared, _), v in zip(item.shared_updates, outs[n:]):
                roots.append(v)
                labels.append(f"update of {shared}")
        elif isinstance(item, Apply):
            roots += item.outputs
            labels += [""] * len(item.outputs)
        elif isinstance(item, Variable):
            roots.append(item)
            labels.append("")
        elif hasattr(item, "variable") and isinstance(item.variable, Variable):  # In / Out
            roots.append(item.variable)
            labels.append("")
        else:
            raise TypeError(f"debugprint cannot print an object of type {type(item).__name__}")
    printer = _Printer({} if done is None else done, ids, print_type, stop_on_name, order,
                       clients)
    for root, label in zip(roots, labels):
        if label:  # tjit addition: which shared variable an update expression sets
            printer.lines.append(f"# {label}:")
        printer.tree(root, depth)
    printer.scan_inner_graphs(depth)
    text = "\n".join(printer.lines) + "\n"
    if file == "str":
        return text
    out = sys.stdout if file is None else file
    out.write(text)
    return file


def pprint(var):
    return pp(var)


from .printing_dot import pydotprint  # noqa: E402  (graph pictures: printing_dot.py)

__all__ = ["pp", "debugprint", "pprint", "Print", "char_from_number", "op_name", "pydotprint"]
