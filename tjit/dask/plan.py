"""How a graph splits over Dask blocks.

Every variable gets an `Info`: its stage (None: no chunked data; 0: computed from
the chunked inputs block by block; 1: computed from the results of reductions
over split axes), its axis map (for each dim, the global axis it runs along, or
None when the dim is whole in every block), and its sizes. A reduction or a dot
that sums over a split axis is a `Big` node: a tree of tjit kernels computes it
(kernels.py); what reads its result is stage 1, run block by block again.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..graph import Constant, Variable, graph_inputs
from ..shared import SharedVariable
from ..tensor.blas import Dot
from ..tensor.elemwise import DimShuffle, Elemwise
from ..tensor.reduction import Reduce
from ..tensor.shape_ops import Shape
from ..tensor.var import TensorConstant


class SplitAxisError(ValueError):
    """Work that needs a whole axis meets that axis split across chunks."""


@dataclass
class Info:
    stage: int | None
    amap: tuple
    sizes: tuple


@dataclass
class Big:
    kind: str            # a Reduce kind, "var" or "dot"
    out: Variable        # the graph variable it computes (no keepdims dims)
    fresh: Variable      # the variable that stands for its result in stage 1
    inputs: list         # stage-0 expressions it reads
    axes: tuple = ()     # reduced dims of inputs[0]
    split: tuple = ()    # global axes summed across blocks
    amap: tuple = ()     # the result's axis map
    sizes: tuple = ()
    ddof: int = 0
    keep_shape: tuple = field(default=None)  # var with keepdims: the tagged output's shape
    rest: tuple = ((), ())                   # (amap, sizes) of the dims a chunk keeps
    in_info: tuple = ()                      # the reduced input's (amap, sizes)


class Planner:
    """Walks the outputs once; `replace` collects the substitutions the block
    kernels need (shapes as constants, fill-of-a-scalar as its value, Big results)."""

    def __init__(self, dask_inputs, amaps, global_shape, split_axes, union=None):
        self.shape = global_shape
        self.split = set(split_axes)
        self.union = union  # discovery: dims that meet are merged into one axis
        self.info = {}
        self.replace = {}   # id(var) -> (var, replacement)
        self.bigs = []
        self.inputs = {id(v): (v.name or str(v), tuple(a)) for v, a in zip(dask_inputs, amaps)}
        for v, amap in zip(dask_inputs, amaps):
            self.info[id(v)] = Info(0, tuple(amap), tuple(global_shape[a] for a in amap))

    def visit(self, v):
        if id(v) in self.info:
            return self.info[id(v)]
        info = self._visit(v)
        self.info[id(v)] = info
        return info

    def _visit(self, v):
        if v.owner is None:
            if isinstance(v, SharedVariable):
                return Info(None, (None,) * v.ndim, tuple(np.shape(v.get_value(borrow=True))))
            if isinstance(v, Constant):
                return Info(None, (None,) * v.ndim, tuple(np.shape(v.data)))
            raise ValueError(f"tjit.dask: {v} is neither a dask input, a shared variable "
                             "nor a constant")
        one_pass = v.tag.get("one_pass") if hasattr(v.tag, "get") else None
        if one_pass and one_pass[0] == "var":
            got = self._var(v, one_pass)
            if got is not None:
                return got
        node = v.owner
        op = node.op
        if isinstance(op, Elemwise) and str(op.scalar_op) == "second" and \
                node.inputs[0].ndim == 0 and node.inputs[1].ndim == v.ndim:
            # fill(scalar, b) (grad's seed): only the scalar's shape matters
            self.replace[id(v)] = (v, node.inputs[1] if node.inputs[1].dtype == v.dtype else
                                  node.inputs[1].astype(v.dtype))
            return self.visit(node.inputs[1])
        ins = [self.visit(i) for i in node.inputs]
        stages = {i.stage for i in ins} - {None}
        if isinstance(op, Shape) and ins[0].stage is not None:
            value = np.array(ins[0].sizes, dtype=v.dtype)
            self.replace[id(v)] = (v, TensorConstant(v.type, value))
            return Info(None, (None,), (len(value),))
        if not stages:
            return Info(None, (None,) * v.ndim, self._const_sizes(v))
        if len(stages) > 1:
            big = next(b for b in reversed(self.bigs)
                       if any(self.info.get(id(i)) and self.info[id(i)].stage == 1
                              for i in node.inputs)) if self.bigs else None
            wheres = [self._where(g) for g in big.split] if big else [("an input", "?")]
            name = wheres[0][0]
            dims = [str(d) for n, d in wheres if n == name]
            raise SplitAxisError(
                f"tjit.dask: {node.op} mixes chunked data with a {big.kind if big else ''} "
                f"over dim {', '.join(dims)} of {name}, which {'is' if len(dims) == 1 else 'are'}"
                " split across chunks (softmax, x - x.mean(axis), ... need a second pass over "
                "the split data, which is not planned); rechunk it: "
                f"{name}.rechunk({{{', '.join(d + ': -1' for d in dims)}}}), "
                "or compute the reduction first and pass it in")
        stage = stages.pop()
        if isinstance(op, Elemwise):
            amap, sizes = [], []
            for d in range(v.ndim):
                axes = set()
                size = 1
                for i, inp in zip(ins, node.inputs):
                    k = d - (v.ndim - inp.ndim)
                    if k < 0:
                        continue
                    if i.amap[k] is not None:
                        axes.add(i.amap[k])
                    size = max(size, i.sizes[k] if i.sizes[k] is not None else 1)
                if len(axes) > 1:
                    if self.union is None:
                        raise NotImplementedError(f"tjit.dask: {node.op} aligns axes "
                                                  f"{sorted(axes)} with each other")
                    first = min(axes)
                    for a in axes:
                        self.union.merge(first, a)
                    axes = {first}
                g = axes.pop() if axes else None
                if g in self.split:
                    self._whole_meets_split(node, d, g, v.ndim)
                amap.append(g)
                sizes.append(size)
            return Info(stage, tuple(amap), tuple(sizes))
        if isinstance(op, DimShuffle):
            i = ins[0]
            amap = tuple(None if e == "x" else i.amap[e] for e in op.new_order)
            sizes = tuple(1 if e == "x" else i.sizes[e] for e in op.new_order)
            return Info(stage, amap, sizes)
        if isinstance(op, Reduce):
            return self._reduce(v, node, ins[0], stage)
        if isinstance(op, Dot):
            return self._dot(v, node, ins, stage)
        raise NotImplementedError(f"tjit.dask: {node.op} on chunked data is not supported "
                                  "(elementwise ops, reductions, dot and softmax are)")

    def _whole_meets_split(self, node, d, g, ndim):
        """A dim that is whole in every block (a shared variable's) cannot line up
        with a split axis: each block holds only part of that axis."""
        for inp in node.inputs:
            k = d - (ndim - inp.ndim)
            if k >= 0 and self.info[id(inp)].amap[k] is None and \
                    not inp.type.broadcastable[k]:
                raise SplitAxisError(self._whole_msg(inp, g))

    def _whole_msg(self, whole, g):
        name, dim = self._where(g)
        leaves = [v for v in graph_inputs([whole]) if isinstance(v, SharedVariable)]
        whole = leaves[0] if leaves else whole
        return (f"tjit.dask: {whole} is whole in every block but lines up with dim {dim} of "
                f"{name}, which is split across chunks; rechunk it: "
                f"{name}.rechunk({{{dim}: -1}}), or pass {whole} as a dask array")

    def _where(self, g):
        """(name, dim) of a dask input's dim along global axis g."""
        for key, info in self.inputs.items():
            if g in info[1]:
                return info[0], info[1].index(g)
        return "an input", "?"

    def _const_sizes(self, v):
        bc = v.type.broadcastable
        return tuple(1 if b else None for b in bc)

    def _reduce(self, v, node, i, stage):
        op = node.op
        keep = tuple(d for d in range(len(i.amap)) if d not in op.axis)
        amap = tuple(i.amap[d] for d in keep)
        sizes = tuple(i.sizes[d] for d in keep)
        split = tuple(i.amap[d] for d in op.axis if i.amap[d] in self.split)
        if not split:
            return Info(stage, amap, sizes)
        if stage == 1:
            raise SplitAxisError(f"tjit.dask: {op} needs a second pass over split axes; "
                                 "compute the first reduction, then the second")
        return self._big(Big(op.kind, v, None, [node.inputs[0]], op.axis, split, amap, sizes,
                             rest=(amap, sizes)))

    def _dot(self, v, node, ins, stage):
        a, b = ins
        ka = a.amap[-1]
        kb = b.amap[0] if len(b.amap) == 1 else b.amap[-2]
        amap = a.amap[:-1] + (b.amap[:-2] + b.amap[-1:] if len(b.amap) > 1 else ())
        sizes = a.sizes[:-1] + (b.sizes[:-2] + b.sizes[-1:] if len(b.sizes) > 1 else ())
        if ka is not None and kb is not None and ka != kb:
            if self.union is None:
                raise NotImplementedError(f"tjit.dask: dot contracts axis {ka} with axis {kb}")
            self.union.merge(ka, kb)
        k = ka if ka is not None else kb
        if k in self.split and (ka is None or kb is None):
            whole = node.inputs[0] if ka is None else node.inputs[1]
            raise SplitAxisError(self._whole_msg(whole, k))
        if k not in self.split:
            return Info(stage, amap, sizes)
        if stage == 1:
            raise SplitAxisError("tjit.dask: dot over a split axis of a reduction's result")
        return self._big(Big("dot", v, None, list(node.inputs), (), (k,), amap, sizes,
                             rest=(amap, sizes)))

    def _var(self, v, one_pass):
        _, axes, ddof, keepdims = one_pass
        try:
            s = v.owner.inputs[0]
            if isinstance(s.owner.op, DimShuffle):
                s = s.owner.inputs[0]
            x = s.owner.inputs[0].owner.inputs[0].owner.inputs[0]
        except AttributeError:
            return None
        i = self.visit(x)
        split = tuple(i.amap[d] for d in axes if i.amap[d] in self.split)
        if i.stage != 0 or not split:
            return None
        keep = tuple(d for d in range(x.ndim) if d not in axes)
        big = Big("var", v, None, [x], tuple(axes), split, tuple(i.amap[d] for d in keep),
                  tuple(i.sizes[d] for d in keep), ddof)
        big.rest = (big.amap, big.sizes)
        if keepdims:
            big.keep_shape = tuple(1 if d in axes else None for d in range(x.ndim))
            big.amap = tuple(None if d in axes else i.amap[d] for d in range(x.ndim))
            big.sizes = tuple(1 if d in axes else i.sizes[d] for d in range(x.ndim))
        return self._big(big)

    def _big(self, big):
        if big.kind != "dot":
            i = self.info[id(big.inputs[0])]
            big.in_info = (i.amap, i.sizes)
        big.fresh = big.out.type(f"{big.kind}_result")
        self.bigs.append(big)
        self.replace[id(big.out)] = (big.out, big.fresh)
        info = Info(1, big.amap, big.sizes)
        self.info[id(big.fresh)] = info
        return info


class Union:
    """Union-find over axis ids: which dims of the dask inputs run along one axis."""

    def __init__(self):
        self.parent = {}

    def find(self, a):
        while self.parent.get(a, a) != a:
            a = self.parent[a]
        return a

    def merge(self, a, b):
        a, b = self.find(a), self.find(b)
        if a != b:
            self.parent[max(a, b)] = min(a, b)


def discover_axes(dask_inputs, outputs, shapes):
    """Each dask input's dims as global axes (the dims the graph lines up
    elementwise or contracts in a dot are one axis): (amaps, number of axes)."""
    ids, k = [], 0
    for v in dask_inputs:
        ids.append(tuple(range(k, k + v.ndim)))
        k += v.ndim
    sizes = {i: s for amap, shp in zip(ids, shapes) for i, s in zip(amap, shp)}
    union = Union()
    p = Planner(dask_inputs, ids, sizes, (), union)
    for o in outputs:
        p.visit(o)
    roots = sorted({union.find(i) for i in range(k)})
    number = {r: n for n, r in enumerate(roots)}
    return [tuple(number[union.find(i)] for i in amap) for amap in ids], len(roots)
