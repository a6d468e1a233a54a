"""Pictures of graphs: `pydotprint` (Theano's arguments) writes Graphviz DOT text,
made here (no pydot), and renders it with Graphviz's `dot` program when present.

A compiled function is drawn after rewriting: each fused kernel is a cluster
around the scalar ops it fused, labelled with its kind, loop shape and dtype;
inputs, shared variables, constants, outputs and updates are marked by colour
and label. Symbolic variables are drawn as built (before rewriting).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import warnings

from .config import config
from .graph import Constant, toposort
from .runtime.program import CompiledFunction
from .shared import SharedVariable

FORMATS = ("png", "svg", "pdf", "jpg", "gif", "ps", "dot")
_KIND = {"FusedElemwise": "fused elementwise", "FusedReduce": "reduction",
         "FusedRows": "row kernel", "FusedRowCol": "row + column pass",
         "MatVec": "matrix-vector", "RandomDraw": "random draws",
         "RandomDrawRange": "random draws"}
# Theano's colours: explicit inputs green, constants spring green, shared
# variables yellow green, outputs blue; updates are tjit's (orange).
_COLOURS = {"input": "green", "constant": "SpringGreen", "shared": "YellowGreen",
            "output": "dodgerblue", "update": "orange", "apply": "white",
            "kernel": "lightyellow"}
GRAPHVIZ_HINT = ("Graphviz's `dot` program is not on PATH. Install Graphviz "
                 "(Debian/Ubuntu: `sudo apt-get install graphviz`; Fedora: `sudo dnf "
                 "install graphviz`; macOS: `brew install graphviz`; conda: `conda install "
                 "-c conda-forge graphviz`), then render with `dot -T{fmt} {dot} -o {out}`.")


def _q(text):
    """A DOT double-quoted string."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _cut(text, size):
    text = str(text)
    return text if size is None or len(text) <= size else text[:size - 3] + "..."


def is_kernel(node):
    """Whether `node` is one fused native kernel drawn as a cluster."""
    return hasattr(node.op, "program") or type(node.op).__name__ in _KIND


def loop_shape(node):
    """The kernel's loop shape as a pattern over its output: 1 for a broadcast
    dim, n0, n1, ... for the others (the sizes come at call time)."""
    bc = getattr(node.op, "broadcastable", None)
    if bc is None:
        bc = max((v.type.broadcastable for v in node.inputs if hasattr(v.type, "ndim")),
                 key=len, default=())
    return "(" + ", ".join("1" if b else f"n{d}" for d, b in enumerate(bc)) + \
        ("," if len(bc) == 1 else "") + ")"


class _Dot:
    def __init__(self, compact, with_ids, high_contrast, var_with_name_simple,
                 max_label_size):
        self.compact = compact
        self.with_ids = with_ids
        self.high_contrast = high_contrast
        self.simple = var_with_name_simple
        self.size = max_label_size
        self.lines = []
        self.ids = {}       # id(obj) -> DOT id
        self.drawn = set()  # ids of variables drawn as nodes

    def vid(self, v, prefix="v"):
        if id(v) not in self.ids:
            self.ids[id(v)] = f"{prefix}{len(self.ids)}"
        return self.ids[id(v)]

    def var_label(self, v, role):
        name = v.name
        if isinstance(v, Constant):
            text = f"constant {_cut(repr(v.data.tolist()) if hasattr(v.data, 'tolist') else v.data, 20)}"
        elif name and self.simple:
            text = name
        else:
            text = f"{name + '  ' if name else ''}{v.type}"
        if role == "shared":
            text = f"shared {text}"
        if self.with_ids:
            text = f"id {self.vid(v)}  {text}"
        return _cut(text, self.size)

    def draw_var(self, v, role, extra=""):
        node_id = self.vid(v)
        if node_id in self.drawn:
            return node_id
        self.drawn.add(node_id)
        colour = _COLOURS[role]
        style = "filled" if self.high_contrast else ""
        attrs = f"label={_q(extra + self.var_label(v, role))}, shape=box, color={colour}"
        if style:
            attrs += f", style={style}, fillcolor={colour}"
        self.lines.append(f"  {node_id} [{attrs}];")
        return node_id

    def edge(self, a, b, label="", style=""):
        attrs = [f"label={_q(label)}"] if label else []
        if style:
            attrs.append(f"style={style}")
        self.lines.append(f"  {a} -> {b}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";")


def graph_to_dot(obj, compact=True, with_ids=False, high_contrast=True,
                 var_with_name_simple=False, max_label_size=70):
    """The DOT text of a compiled function (rewritten graph, kernels as clusters) or
    of symbolic variables (a variable or list of them: the graph as built)."""
    d = _Dot(compact, with_ids, high_contrast, var_with_name_simple, max_label_size)
    if isinstance(obj, CompiledFunction):
        nodes = list(obj.nodes)
        outputs = list(obj.maker_outputs[:obj.n_outputs])
        updates = [(getattr(t, "variable", t), v) for (t, _), v in
                   zip(obj.shared_updates, obj.maker_outputs[obj.n_outputs:])]
        inputs = [s.variable for s in obj.input_specs]
        title = obj.name or "compiled function"
        fused = True
    else:
        outputs = list(obj) if isinstance(obj, (list, tuple)) else [obj]
        if hasattr(obj, "outputs") and hasattr(obj, "toposort"):   # f.maker.fgraph
            outputs = list(obj.outputs)
        nodes = toposort(outputs)
        updates, inputs, title, fused = [], [], "graph", False
    d.lines.append(f"digraph {_q(title)} {{")
    d.lines.append(f"  graph [label={_q(title)}, labelloc=t, compound=true];")
    explicit = {id(v) for v in inputs}
    for v in inputs:
        d.draw_var(v, "input")
    out_ids = {id(v) for v in outputs}
    out_pos = {id(v): k for k, v in reversed(list(enumerate(outputs)))}
    upd_ids = {id(v) for _, v in updates}
    upd_names = {id(v): t.name or str(t) for t, v in updates}
    producer = {}   # id(variable) -> (DOT id it comes out of)
    for k, node in enumerate(nodes):
        if fused and is_kernel(node):
            ins, outs = _draw_kernel(d, k, node)
        else:
            nid = f"n{k}"
            label = _cut(("id " + nid + "  " if with_ids else "") + str(node.op),
                         max_label_size)
            colour = _COLOURS["apply"]
            d.lines.append(f"  {nid} [label={_q(label)}, shape=ellipse, style=filled, "
                           f"fillcolor={colour}];")
            ins = [[nid]] * len(node.inputs)
            outs = [nid] * len(node.outputs)
        for i, v in enumerate(node.inputs):
            src = _source(d, v, producer, explicit, out_ids | upd_ids)
            for dst in ins[i]:
                # input positions matter on an op's node, not on a kernel's scalar ops
                d.edge(src, dst, str(i) if len(node.inputs) > 1 and dst == f"n{k}" else "")
        for j, v in enumerate(node.outputs):
            producer[id(v)] = outs[j]
            if not d.compact or v.name or id(v) in out_ids or id(v) in upd_ids:
                role = "output" if id(v) in out_ids else "update" if id(v) in upd_ids \
                    else "apply"
                extra = f"output {out_pos[id(v)]}\n" if role == "output" else \
                    f"new value of {upd_names[id(v)]}\n" if role == "update" else ""
                vnode = d.draw_var(v, role, extra) if role != "apply" else _plain_var(d, v)
                d.edge(outs[j], vnode)
                producer[id(v)] = vnode
    for k, v in enumerate(outputs):
        src = _source(d, v, producer, explicit, out_ids)
        if v.owner is None:   # an input returned as is
            out = f"out{k}"
            d.lines.append(f"  {out} [label={_q(f'output {k}')}, shape=box, style=filled, "
                           f"fillcolor={_COLOURS['output']}];")
            d.edge(src, out)
    for target, v in updates:
        src = _source(d, v, producer, explicit, upd_ids)
        dst = d.draw_var(target, "shared")
        d.edge(src, dst, f"update {target.name or ''}".strip(), style="dashed")
    d.lines.append("}")
    return "\n".join(d.lines) + "\n"


def _plain_var(d, v):
    node_id = d.vid(v)
    if node_id not in d.drawn:
        d.drawn.add(node_id)
        d.lines.append(f"  {node_id} [label={_q(d.var_label(v, 'apply'))}, shape=box];")
    return node_id


def _source(d, v, producer, explicit, marked):
    """The DOT id an edge reading variable `v` starts from."""
    if id(v) in producer:
        return producer[id(v)]
    if isinstance(v, Constant):
        return d.draw_var(v, "constant")
    if isinstance(v, SharedVariable):
        return d.draw_var(v, "shared")
    return d.draw_var(v, "input")


def _draw_kernel(d, k, node):
    """A fused kernel as a cluster of its scalar ops; returns, per node input, the
    DOT ids reading it and, per node output, the DOT id producing it."""
    op = node.op
    name = type(op).__name__
    kind = _KIND.get(name, name)
    dtypes = ",".join(sorted({v.type.dtype for v in node.outputs}))
    anchor = f"n{k}"
    label = f"{kind}: {name}\nloop {loop_shape(node)}  {dtypes}"
    d.lines.append(f"  subgraph cluster_{k}_{name} {{")
    d.lines.append(f"    label={_q(label)}; "
                   f"style=filled; fillcolor={_COLOURS['kernel']}; color=black;")
    program = getattr(op, "program", None)
    steps = program.steps if program is not None else ()
    step_ids = [f"n{k}s{j}" for j in range(len(steps))]
    for sid, step in zip(step_ids, steps):
        d.lines.append(f"    {sid} [label={_q(getattr(step.op, 'name', step.op))}, "
                       f"shape=ellipse, style=filled, fillcolor=white];")
    elementwise = name == "FusedElemwise"
    wired = name in ("FusedElemwise", "FusedReduce")   # program inputs = node inputs
    # the kernel's own node: what it reduces or does beyond the scalar program
    need_anchor = not elementwise or not steps
    if need_anchor:
        what = getattr(op, "kind", None) or ",".join(
            r.kind for r in getattr(op, "reductions", ())) or str(op)
        d.lines.append(f"    {anchor} [label={_q(_cut(what, d.size))}, shape=box, "
                       f"style=filled, fillcolor=white];")
    d.lines.append("  }")
    ins = [[] for _ in node.inputs]
    for j, step in enumerate(steps):
        for ref in step.args:
            if ref[0] == "step":
                d.edge(step_ids[ref[1]], step_ids[j])
            elif ref[0] == "in" and wired and ref[1] < len(ins):
                if step_ids[j] not in ins[ref[1]]:
                    ins[ref[1]].append(step_ids[j])
    for i in range(len(ins)):
        if not ins[i]:
            ins[i] = [anchor if need_anchor else step_ids[0]]
    if elementwise and steps:
        outs = []
        for ref in program.outputs:
            outs.append(step_ids[ref[1]] if ref[0] == "step" else step_ids[-1])
        return ins, outs
    for ref in (program.outputs if program is not None else ()):
        if ref[0] == "step":
            d.edge(step_ids[ref[1]], anchor)
    return ins, [anchor] * len(node.outputs)


def pydotprint(fct, outfile=None, compact=True, format="png", with_ids=False,
               high_contrast=True, cond_highlight=None, colorCodes=None, max_label_size=70,
               scan_graphs=False, var_with_name_simple=False, print_output_file=True,
               return_image=False):
    """Draw `fct` (a compiled function, its `maker.fgraph`, a variable or a list of
    variables) to `outfile` in `format` (png, svg, pdf, ... or 'dot' for the DOT
    text), as Theano's pydotprint. Rendering needs Graphviz's `dot` program: when
    it is missing the DOT text is written to `outfile` with a .dot suffix and a
    warning says how to get Graphviz. `return_image=True` returns the rendered
    bytes (or the DOT text for format='dot') instead of writing a file.

    `cond_highlight`, `colorCodes` and `scan_graphs` are accepted for Theano
    compatibility and ignored (tjit draws a scan as one node)."""
    if format not in FORMATS:
        raise ValueError(f"pydotprint: unknown format {format!r}; formats: {', '.join(FORMATS)}")
    if isinstance(fct, CompiledFunction) or hasattr(fct, "owner") or \
            isinstance(fct, (list, tuple)) or hasattr(fct, "toposort"):
        text = graph_to_dot(fct, compact, with_ids, high_contrast, var_with_name_simple,
                            max_label_size)
    else:
        raise TypeError(f"pydotprint: expected a compiled function, a variable or a list of "
                        f"variables, got {type(fct).__name__}")
    if return_image and format == "dot":
        return text
    if outfile is None:
        outfile = os.path.join(config.cache_dir, "tjit.pydotprint." + format)
    dot = shutil.which("dot")
    if format != "dot" and dot is None:
        base = os.path.splitext(outfile)[0] + ".dot"
        _write(base, text)
        hint = GRAPHVIZ_HINT.format(fmt=format, dot=base, out=outfile)
        if return_image:
            raise RuntimeError(f"pydotprint: cannot render {format}: {hint} (the DOT text "
                               f"is in {base})")
        warnings.warn(f"pydotprint: wrote the DOT text to {base}, not a {format}: {hint}",
                      stacklevel=2)
        if print_output_file:
            print("The output file is available at", base)
        return None
    if format == "dot":
        _write(outfile, text)
    else:
        image = render(text, format, dot)
        if return_image:
            return image
        parent = os.path.dirname(os.path.abspath(outfile))
        os.makedirs(parent, exist_ok=True)
        with open(outfile, "wb") as f:
            f.write(image)
    if print_output_file:
        print("The output file is available at", outfile)
    return None


def render(text, format="svg", dot=None):
    """`text` (DOT) rendered by Graphviz's `dot` as `format` bytes."""
    dot = dot or shutil.which("dot")
    if dot is None:
        raise RuntimeError(GRAPHVIZ_HINT.format(fmt=format, dot="graph.dot",
                                                out=f"graph.{format}"))
    done = subprocess.run([dot, f"-T{format}"], input=text.encode(), capture_output=True,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"dot -T{format} failed: {done.stderr.decode(errors='replace')}")
    return done.stdout


def _write(path, text):
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


__all__ = ["pydotprint", "graph_to_dot", "render", "GRAPHVIZ_HINT"]
