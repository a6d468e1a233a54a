"""Softmax's row kernel (FusedRows): one exp per element (stored while the row
is summed, scaled in place), a row's e / sum made e * (1 / sum) only when 1/sum
is a normal float32, the exp inlined and interleaved. Values against a float64
NumPy softmax on the host and on x86-64-v3 code, for special rows and layouts."""
import dataclasses

import numpy as np
import pytest

import tjit as theano
import tjit.tensor as T
import tjit.codegen.jit as jit
from tjit.config import change_flags
from tjit.ir.lower_rowwise import RECIPROCAL_RANGE, lower_fused_rows
from tjit.ir.nodes import Op
from tjit.ir.printer import format_kernel
from tjit.ops.fused_rows import FusedRows

TARGETS = ("host", "x86-64-v3")
# float32: exp's ~1.5 ulp, the sum's and the scaling's roundings; float64: a few ulp
RTOL = {"float32": 8 * 2.0 ** -23, "float64": 16 * 2.0 ** -52}


def softmax64(x):
    """The softmax of the rows of x in float64 after x - max in x's dtype (that
    rounding, up to |x - max| ulp of exp's argument, is the formula's, not the
    kernel's), NaN rows where NumPy gives NaN."""
    with np.errstate(invalid="ignore", over="ignore"):
        shifted = (x - x.max(axis=-1, keepdims=True)).astype("float64")
        e = np.exp(shifted)
        return e / e.sum(axis=-1, keepdims=True)


def assert_softmax(got, x, dtype):
    want = softmax64(x)
    assert got.dtype == dtype and got.shape == want.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    # relative to the value, with an absolute floor at the dtype's smallest normal
    tiny = np.finfo(dtype).tiny
    err = np.abs(got[ok] - want[ok]) / np.maximum(np.abs(want[ok]), tiny)
    assert err.max(initial=0) <= RTOL[dtype], err.max()


_FUNCTIONS = {}


def softmax_fn(dtype, cpu):
    """T.nnet.softmax of a matrix, compiled once per (dtype, target)."""
    key = (dtype, cpu)
    if key not in _FUNCTIONS:
        x = T.TensorType(dtype, (False, False))("x")
        with change_flags(cpu=cpu):
            _FUNCTIONS[key] = theano.function([x], T.nnet.softmax(x))
    return _FUNCTIONS[key]


def rows_kernel(f):
    (node,) = [n for n in f.nodes if isinstance(n.op, FusedRows)]
    return lower_fused_rows(node)


def count_ops(kernel, name):
    """Occurrences of op `name` in the kernel's statements (shared subtrees once)."""
    seen, count = set(), 0

    def visit(node):
        nonlocal count
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, Op) and node.name == name:
            count += 1
        if isinstance(node, tuple):
            for x in node:
                visit(x)
        elif hasattr(node, "__dataclass_fields__"):
            for field in node.__dataclass_fields__:
                if field != "meta":
                    visit(getattr(node, field))

    visit(kernel.body)
    return count


def special_rows(dtype, n):
    """Rows NumPy's float64 softmax handles in a known way: ordinary, -inf
    entries, all -inf (NaN), a NaN, +inf (NaN), huge, tiny and equal values."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((10, n)).astype(dtype) * 4
    big = np.finfo(dtype).max
    x[1, ::3] = -np.inf
    x[2] = -np.inf
    x[3, n // 2] = np.nan
    x[4, 0] = np.inf
    x[5] = (big * np.linspace(0.5, 1, n)).astype(dtype)      # x - max without overflow
    x[6] = (big * np.linspace(-1, -0.5, n)).astype(dtype)
    x[7] = 0.0
    x[8] = np.finfo(dtype).tiny * np.arange(n)
    x[9, :] = rng.standard_normal(n).astype(dtype) * 100   # many exps underflow to 0
    return x


@pytest.mark.parametrize("cpu", TARGETS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_matches_numpy_on_special_rows_and_layouts(dtype, cpu):
    f = softmax_fn(dtype, cpu)
    for n in (1, 7, 64, 1000, 1031):         # one column, remainders, beyond a block of 1024
        x = special_rows(dtype, n)
        with np.errstate(invalid="ignore"):
            assert_softmax(f(x), x, dtype)
    rng = np.random.default_rng(1)
    base = rng.standard_normal((24, 70)).astype(dtype) * 10
    for x in (base[:, ::2], base[::3], base.T, base[::-1, ::-1], np.asfortranarray(base)):
        assert_softmax(f(x), x, dtype)
    # a strided row's exps are the library's calls, a contiguous row's the
    # inlined copy of the same code: the same bits
    strided = base[:, ::2]
    np.testing.assert_array_equal(f(strided), f(np.ascontiguousarray(strided)))
    empty_rows = np.zeros((0, 5), dtype)
    assert f(empty_rows).shape == (0, 5)


def test_one_exp_per_element_and_one_scaling_pass():
    f = softmax_fn("float32", "host")
    kernel = rows_kernel(f)
    assert count_ops(kernel, "exp") == 1, format_kernel(kernel)
    text = format_kernel(kernel)
    # the exp is stored by its own loop (vectorized 8 wide, interleaved) and the
    # row scaled in place by the reciprocal, the division kept for extreme sums
    assert kernel.meta["inline_math"] == ("exp",)
    assert kernel.meta["interleave"]
    assert "* inv_res1" in text and "/ res1" in text, text
    # the same kernel at level 0 (text renderer, the scalar library's exp, no
    # hints): the same bits as the inlined, interleaved FAST_RUN code
    level0 = jit.compile_kernel(dataclasses.replace(kernel, name=kernel.name + "_l0", meta={}), 0)
    x = np.random.default_rng(2).standard_normal((5, 77)).astype("float32") * 30
    out = np.empty_like(x)
    assert level0.cfunc(x, out, 0, len(x)) == 0
    np.testing.assert_array_equal(out, f(x))


@pytest.mark.parametrize("cpu", TARGETS)
def test_row_division_by_a_sum_is_within_one_ulp_and_exact_at_the_extremes(cpu):
    """x / x.sum(1): rows whose float32 sum r has a normal 1/r are scaled by it
    (<= 1 ulp from x / r); the others (zero, subnormal, huge, inf, NaN sums) divide."""
    x = T.fmatrix("x")
    with change_flags(cpu=cpu):
        f = theano.function([x], x / x.sum(axis=1, keepdims=True))
    assert [type(n.op) for n in f.nodes].count(FusedRows) == 1
    lo, hi = RECIPROCAL_RANGE
    rng = np.random.default_rng(3)
    xv = rng.uniform(0.5, 2.0, (8, 33)).astype("float32")
    xv[1] *= np.float32(lo / 64)            # sum below 2**-126: 1/r would not be normal
    xv[2] *= np.float32(hi / 8)             # sum above 2**126
    xv[3] = 0.0                             # 0 / 0
    xv[4, 5] = np.inf                       # inf / inf, x / inf
    xv[5, 0] = np.nan
    xv[6] = np.finfo("float32").max          # the float32 sum overflows to inf
    xv[7] *= np.float32(lo * 4)             # just inside the range: scaled
    with np.errstate(all="ignore"):
        r = xv.astype("float64").sum(axis=1, keepdims=True).astype("float32")
        exact = xv / r
        got = f(xv)
    for row in (1, 2, 3, 4, 5, 6):          # the division, bit for bit
        np.testing.assert_array_equal(got[row], exact[row])
    for row in (0, 7):
        ulps = np.abs(got[row].view("int32") - exact[row].view("int32"))
        assert ulps.max() <= 1, ulps


@pytest.mark.parametrize("cpu", TARGETS)
def test_log_softmax_and_softmax_gradient(cpu):
    rng = np.random.default_rng(5)
    xv = (rng.standard_normal((6, 300)) * 5).astype("float32")
    dy = rng.standard_normal((6, 300)).astype("float32")
    x, g = T.fmatrix("x"), T.fmatrix("g")
    with change_flags(cpu=cpu):
        f = theano.function([x, g], [T.nnet.logsoftmax(x),
                                     T.grad((T.nnet.softmax(x) * g).sum(), x)])
    logsm, grad = f(xv, dy)
    sm = softmax64(xv)
    np.testing.assert_allclose(logsm, np.log(sm), rtol=1e-6, atol=1e-5)
    want = sm * (dy - (dy * sm).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(grad, want, rtol=1e-5, atol=1e-6)
