"""stabilize_ratios: cancel factors that underflow in products, as gradients build them.

T.grad of log(sigmoid(x)) is (g / sigmoid(x)) * sigmoid(x) * (1 - sigmoid(x)),
which is 0/0 = NaN where sigmoid(x) underflows (x = -800), though the value is
g * (1 - sigmoid(x)). A product of mul / true_div / neg nodes (through fills and
DimShuffles) is flattened into numerator and denominator factors, and

  * a factor in both is cancelled when it is positive by definition (exp, sigmoid,
    1 - sigmoid, softplus, and sums of these), so only rounding made it 0 or inf;
  * exp(x) / (1 + exp(x)) (the gradient of log(1 + exp(x))) becomes sigmoid(x);
  * exp(x) / sum(exp(x), axes) (the gradient of logsumexp) becomes
    exp(x - m) / sum(exp(x - m), axes), m = max(x, axes);
  * a sum factor (a + b) * c is distributed when that lets a factor cancel
    (the gradient of log(softmax) and of binary_crossentropy(sigmoid(z), t)).

Nothing changes when nothing cancels.
"""
from __future__ import annotations

from ..graph import toposort
from ..tensor.basic import constant, exp, isinf, neg, sigmoid, switch
from ..tensor.elemwise import DimShuffle, Elemwise
from ..tensor.reduction import Reduce
from .patterns import (elemwise, finish, is_const, is_row_shifted, keepdims_order,
                       reduce_of, same, strip)
from .walk import replace

_PRODUCT = ("mul", "true_div", "neg", "second")
MAX_NODES = 48  # nodes flattened into one product


class _Product:
    def __init__(self):
        self.num, self.den, self.negative, self.donors, self.budget = [], [], False, [], MAX_NODES

    def copy(self):
        p = _Product()
        p.num, p.den, p.negative, p.donors = list(self.num), list(self.den), self.negative, \
            list(self.donors)
        return p


def _compose(inner, order):
    """The order of DimShuffle(order) applied after DimShuffle(inner)."""
    return inner if order is None else tuple("x" if e == "x" else inner[e] for e in order)


def _view(v, order):
    """v seen through `order`, with DimShuffle chains collapsed into one (a canonical
    form, so that equal views compare equal)."""
    while v.owner is not None and isinstance(v.owner.op, DimShuffle):
        order = _compose(v.owner.op.new_order, order)
        v = v.owner.inputs[0]
    return v if order is None or order == tuple(range(v.ndim)) else v.dimshuffle(*order)


def _collect(v, prod, inverted=False, order=None):
    """Add v's factors (seen through `order`, a pending DimShuffle) to prod."""
    node = v.owner
    if prod.budget > 0 and elemwise(v, *_PRODUCT) is not None:
        prod.budget -= 1
        name = node.op.scalar_op.name
        if name == "mul":
            _collect(node.inputs[0], prod, inverted, order)
            _collect(node.inputs[1], prod, inverted, order)
        elif name == "true_div":
            _collect(node.inputs[0], prod, inverted, order)
            _collect(node.inputs[1], prod, not inverted, order)
        elif name == "neg":
            prod.negative = not prod.negative
            _collect(node.inputs[0], prod, inverted, order)
        else:  # second(model, value): the value, with the model's shape
            prod.donors.append(_view(node.inputs[0], order))
            _collect(node.inputs[1], prod, inverted, order)
        return
    if node is not None and isinstance(node.op, DimShuffle):
        composed, base = _compose(node.op.new_order, order), node.inputs[0]
        while base.owner is not None and isinstance(base.owner.op, DimShuffle):
            composed, base = _compose(base.owner.op.new_order, composed), base.owner.inputs[0]
        if elemwise(base, *_PRODUCT) is not None:
            _collect(base, prod, inverted, composed)
            return
    (prod.den if inverted else prod.num).append(_view(v, order))


def _positive(f):
    """Whether f is positive by definition (only rounding makes it 0 or inf)."""
    f = strip(f)
    if elemwise(f, "exp", "sigmoid", "softplus") is not None:
        return True
    node = elemwise(f, "sub")
    if node is not None and is_const(node.inputs[0], 1) \
            and elemwise(node.inputs[1], "sigmoid") is not None:
        return True
    red, _ = reduce_of(f, "sum")
    return red is not None and _positive(red.inputs[0])


def _cancel(prod):
    """Cancel what can be cancelled in place; whether anything was."""
    changed = False
    for f in list(prod.num):
        g = next((g for g in prod.den if _positive(f) and same(f, g)), None)
        if g is not None:
            prod.num.remove(f)
            prod.den.remove(g)
            prod.donors.append(f)
            changed = True
    for i, f in enumerate(prod.num):
        for j, g in enumerate(prod.den):
            if _is_one_plus(g, f):  # exp(x) / (1 + exp(x))
                prod.num[i], prod.den[j] = sigmoid(f.owner.inputs[0]), None
                changed = True
                break  # f is used up: it must not cancel a second (1 + exp(x))
            shifted = _shift_ratio(f, g)
            if shifted is not None:
                prod.num[i], prod.den[j] = shifted
                changed = True
                break
        prod.den = [g for g in prod.den if g is not None]
    return changed


def _is_one_plus(g, f):
    """Whether g is 1 + f (or f + 1) for f = exp(x)."""
    node = elemwise(g, "add")
    if node is None or g is None or elemwise(f, "exp") is None:
        return False
    a, b = node.inputs
    return (is_const(a, 1) and same(b, f)) or (is_const(b, 1) and same(a, f))


def _shift_ratio(f, g):
    """(exp(x - m), sum(exp(x - m))) for f = exp(x), g = sum(exp(x)) kept dims, else None."""
    red, order = reduce_of(g, "sum")
    if red is None or order is None or elemwise(f, "exp") is None \
            or not same(red.inputs[0], f):
        return None
    x = f.owner.inputs[0]
    axes = red.op.axis
    if is_row_shifted(x, axes):
        return None
    m = Reduce("max", axes)(x)
    m = switch(isinf(m), 0, m).dimshuffle(*keepdims_order(x.ndim, axes))
    e = exp(x - m)
    return e, red.op(e).dimshuffle(*order)


def _build(prod, dtype):
    out = None
    for f in prod.num:
        out = f if out is None else out * f
    if out is None:
        out = constant(1, dtype=dtype)
    for g in prod.den:
        out = out / g
    return neg(out) if prod.negative else out


def _simplify(prod, dtype, depth=0):
    """The simplified product as a variable, or None if nothing cancels."""
    if _cancel(prod):
        return _build(prod, dtype)
    if depth >= 2:
        return None
    for f in prod.num:
        node = elemwise(f, "add", "sub")
        if node is None:
            continue
        terms = []
        for k, t in enumerate(node.inputs):
            p = prod.copy()
            p.num.remove(f)
            p.negative ^= (k == 1 and node.op.scalar_op.name == "sub")
            p.donors.append(f)
            _collect(t, p)
            terms.append((p, _simplify(p, dtype, depth + 1)))
        if all(r is None for _, r in terms):
            continue
        out = None
        for p, r in terms:
            r = _build(p, dtype) if r is None else r
            out = r if out is None else out + r
        return out
    return None


def _local(node):
    out = node.outputs[0]
    if not isinstance(node.op, Elemwise) or node.op.scalar_op.name not in _PRODUCT[:3]:
        return None
    prod = _Product()
    _collect(out, prod)
    if len(prod.num) + len(prod.den) < 2:
        return None
    new = _simplify(prod, out.dtype)
    if new is None:
        return None
    new = finish(new, out, prod.donors + prod.num + prod.den)
    return None if new is None else [new]


def stabilize_ratios(outputs):
    # Only a true_div puts factors in a denominator, and nothing cancels without
    # one: a graph with no division is left as it is without flattening every
    # product (which, on long chains of products, costs most of FAST_RUN's rewrites).
    if not any(isinstance(n.op, Elemwise) and n.op.scalar_op.name == "true_div"
               for n in toposort(outputs)):
        return outputs
    return replace(outputs, local=_local)
