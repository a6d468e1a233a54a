"""corr2d_epilogue: a convolution followed by elementwise work on its output, e.g.
tanh(conv2d(x, w) + b.dimshuffle('x', 0, 'x', 'x')), becomes one Corr2dEpilogue
node: the convolution's kernels apply the FusedElemwise's program to each output
plane as they finish it (direct loops) or as they copy the product into the
output's layout (im2col + BLAS), instead of a second pass over the output.

Fires on a single-output FusedElemwise (elemwise_fusion has grouped the bias add
and the activation) one of whose inputs is a Corr2d output (possibly behind
conv2d's ShapeCheck, which then moves after the fused node) used by nothing
else, when the group keeps the convolution's dtype and broadcast pattern (the
output is the convolution's shape). Its other inputs (a bias, a residual, any
broadcast) become the node's extra inputs. Runs after elemwise_fusion, before
rowwise_fusion regroups the FusedElemwise nodes. Gradients are taken before
rewrites run; Corr2dEpilogue's own gradient (its unfused graph's) is for graphs
differentiated after compilation's rewrites, e.g. in tests.
"""
from __future__ import annotations

from ..graph import toposort
from ..ops.fused_elemwise import FusedElemwise
from ..tensor.nnet_conv import Corr2d, Corr2dEpilogue, ShapeCheck
from .elemwise_fusion import _clients
from .walk import replace


def _only_client(var, clients, node):
    users = clients.get(id(var), [])
    return len(users) == 1 and users[0] is node


def _conv_input(node, clients):
    """(input index, Corr2d node, ShapeCheck node or None) of FusedElemwise `node`'s
    fusable convolution input, or None."""
    found = None
    for i, v in enumerate(node.inputs):
        check = None
        owner = v.owner
        if owner is not None and isinstance(owner.op, ShapeCheck):
            check, v0 = owner, owner.inputs[0]
            if not _only_client(v, clients, node):
                continue
            owner = v0.owner
            v = v0
            node_using = check
        else:
            node_using = node
        if owner is None or type(owner.op) is not Corr2d:
            continue
        if not _only_client(v, clients, node_using) or node.op.axes[i] != (0, 1, 2, 3):
            continue
        if found is not None:
            return None                  # two convolutions: leave the group alone
        found = (i, owner, check)
    if found is None:
        return None
    i, conv, _ = found
    if sum(v is node.inputs[i] for v in node.inputs) != 1:
        return None
    out = conv.outputs[0]
    if (len(node.outputs) != 1 or node.outputs[0].dtype != out.dtype
            or node.outputs[0].broadcastable != out.broadcastable):
        return None
    return found


def _fuse_one(outputs):
    order = toposort(outputs)
    clients = _clients(order, outputs)
    for node in order:
        if not isinstance(node.op, FusedElemwise):
            continue
        found = _conv_input(node, clients)
        if found is None:
            continue
        i, conv, check = found
        op = Corr2dEpilogue(conv.op.subsample, conv.op.dilation, node.op.program, node.op.axes, i)
        extras = [v for k, v in enumerate(node.inputs) if k != i]
        new = op(*conv.inputs, *extras)
        if check is not None:
            new = check.op(new, *check.inputs[1:])
        return replace(outputs, {node.outputs[0]: new})
    return outputs


def corr2d_epilogue(outputs):
    while True:
        new = _fuse_one(outputs)
        if new is outputs:
            return outputs
        outputs = new
