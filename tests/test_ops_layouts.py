"""Every op of SPEC.md's "Tensor ops" section and every reduction on empty, size-1,
non-contiguous (strided), reversed (negative strides) and Fortran-ordered inputs,
against NumPy with Theano 1.0's dtype rules; integer overflow as Theano/NumPy;
NaN propagation as NumPy; clear Python errors (never a crash) for out-of-range
indices and mismatched shapes.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import tjit as theano
import tjit.tensor as T

LAYOUTS = ("contiguous", "strided", "reversed", "fortran")


def layout(a, how):
    a = np.asarray(a)
    if how == "strided" and a.ndim:
        big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
        big[..., ::2] = a
        out = big[..., ::2]
    elif how == "reversed" and a.ndim:
        rev = (slice(None, None, -1),) * a.ndim
        out = np.array(a[rev])[rev]
    elif how == "fortran" and a.ndim:
        out = np.asfortranarray(a)
    else:
        out = np.array(a, order="C")  # (np.ascontiguousarray makes 0-d arrays 1-d)
    np.testing.assert_array_equal(out, a)
    return out


def values(dtype, shape, rng):
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if np.dtype(dtype).kind == "i":
        return rng.integers(-4, 5, size=shape).astype(dtype)
    return rng.uniform(-2, 2, size=shape).astype(dtype)


def var(dtype, ndim, name):
    return T.TensorType(dtype, (False,) * ndim)(name)


def np_sum_like(kind, a, axis, keepdims):
    acc = "int64" if a.dtype.kind in "bi" else "float64"
    out = "int64" if a.dtype.kind in "bi" else a.dtype
    return np.asarray(getattr(np, kind)(a, axis=axis, dtype=acc, keepdims=keepdims)).astype(out)


def np_mean(a, axis, keepdims):
    out = "float64" if a.dtype.kind in "bi" else a.dtype
    s = np_sum_like("sum", a, axis, keepdims).astype(out)
    n = a.size if axis is None else math.prod(
        a.shape[d] for d in (axis if isinstance(axis, tuple) else (axis,)))
    with np.errstate(all="ignore"):
        return np.asarray(s / np.asarray(n, out)).astype(out)


def np_var(a, axis, keepdims):
    out = "float64" if a.dtype.kind in "bi" else a.dtype
    x = a.astype(out)
    m = np_mean(x, axis, True)
    return np_mean(np.square(x - m), axis, keepdims)


def np_arg(kind, a, axis, keepdims):
    nd = a.ndim
    axes = tuple(range(nd)) if axis is None else tuple(
        sorted(d % nd for d in (axis if isinstance(axis, tuple) else (axis,))))
    kept = [d for d in range(nd) if d not in axes]
    t = np.transpose(a, kept + list(axes)).reshape(
        [a.shape[d] for d in kept] + [math.prod(a.shape[d] for d in axes)])
    r = getattr(np, kind)(t, axis=-1)
    if keepdims:
        r = np.expand_dims(r, axes)
    return np.asarray(r, "int64")


REDUCTIONS = {
    "sum": lambda a, ax, kd: np_sum_like("sum", a, ax, kd),
    "prod": lambda a, ax, kd: np_sum_like("prod", a, ax, kd),
    "mean": np_mean,
    "var": np_var,
    "std": lambda a, ax, kd: np.sqrt(np_var(a, ax, kd)),
    "max": lambda a, ax, kd: np.asarray(np.max(a, ax, keepdims=kd)),
    "min": lambda a, ax, kd: np.asarray(np.min(a, ax, keepdims=kd)),
    "argmax": lambda a, ax, kd: np_arg("argmax", a, ax, kd),
    "argmin": lambda a, ax, kd: np_arg("argmin", a, ax, kd),
    "ptp": lambda a, ax, kd: np.asarray(np.max(a, ax, keepdims=kd) - np.min(a, ax, keepdims=kd)),
    "all": lambda a, ax, kd: np.asarray(np.all(a, ax, keepdims=kd)),
    "any": lambda a, ax, kd: np.asarray(np.any(a, ax, keepdims=kd)),
}
RED_SHAPES = [(), (0,), (1,), (5,), (0, 3), (3, 0), (1, 1), (4, 1), (3, 5), (2, 0, 3),
              (2, 3, 4), (1, 3, 1)]


def red_axes(nd):
    out = [None]
    if nd:
        out += [0, -1, tuple(range(nd))]
    if nd >= 2:
        out += [(0, -1), (-1,), 1]
    if nd >= 3:
        out += [(2, 0), -2]
    return out


def check(got, want, what=""):
    got, want = np.asarray(got), np.asarray(want)
    assert isinstance(got, np.ndarray), what
    assert got.shape == want.shape, (what, got.shape, want.shape)
    assert got.dtype == want.dtype, (what, got.dtype, want.dtype)
    if got.dtype.kind in "fc":
        tol = 2e-5 if got.dtype in (np.float32, np.complex64) else 1e-11
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, equal_nan=True, err_msg=what)
    else:
        np.testing.assert_array_equal(got, want, err_msg=what)


# ---- every reduction, every axis form, every layout ------------------------------------
@pytest.mark.parametrize("kind", sorted(REDUCTIONS))
@pytest.mark.parametrize("dtype", ["float64", "float32", "int32", "bool"])
def test_reductions_on_shapes_and_layouts(kind, dtype):
    if dtype == "bool" and kind in ("var", "std", "ptp"):
        dtype = "int64"  # bool arithmetic (x - mean) is not defined as NumPy's
    rng = np.random.default_rng(hash((kind, dtype)) % 2 ** 32)
    for shape in RED_SHAPES:
        x = var(dtype, len(shape), "x")
        axes = red_axes(len(shape))
        outs, refs = [], []
        for axis in axes:
            for kd in (False, True):
                outs.append(getattr(T, kind)(x, axis=axis, keepdims=kd))
                refs.append((axis, kd))
        fns = [theano.function([x], o) for o in outs]
        for how in LAYOUTS:
            a = layout(values(dtype, shape, rng), how)
            for f, o, (axis, kd) in zip(fns, outs, refs):
                ax = axis if not isinstance(axis, int) else (axis,)
                reduced = range(len(shape)) if ax is None else [d % len(shape) for d in ax]
                empty = any(shape[d] == 0 for d in reduced)
                what = f"{kind}(axis={axis}, keepdims={kd}) of {dtype}{shape} [{how}]"
                if empty and kind in ("max", "min", "argmax", "argmin", "ptp"):
                    with pytest.raises(ValueError):
                        f(a)
                    continue
                want = REDUCTIONS[kind](a, axis, kd)
                got = f(a)
                assert o.dtype == str(want.dtype), what
                check(got, want, what)


def test_reduction_methods_equal_functions():
    x = T.dtensor3("x")
    a = layout(np.random.default_rng(0).standard_normal((2, 3, 4)), "reversed")
    for kind in REDUCTIONS:
        f = theano.function([x], [getattr(x, kind)(axis=(0, 2), keepdims=True),
                                  getattr(T, kind)(x, axis=(0, 2), keepdims=True)])
        m, g = f(a)
        check(m, g, kind)
        check(m, REDUCTIONS[kind](a, (0, 2), True), kind)


# ---- the "Tensor ops" table --------------------------------------------------------------
def _dot_ref(a, b):
    dt = np.result_type(a, b)
    return np.asarray(np.dot(a.astype(dt), b.astype(dt)))


def _tensordot(axes):
    def ref(a, b):
        dt = np.result_type(a, b)
        return np.asarray(np.tensordot(a.astype(dt), b.astype(dt), axes))
    return ref


def _batched_ref(a, b):
    return np.asarray(np.matmul(a[:, None, :] if a.ndim == 2 else a,
                                b[:, :, None] if b.ndim == 2 else b).reshape(
        (a.shape[0],) + a.shape[1:-1] + b.shape[2:]))


def _flat(nd):
    def ref(a):
        return a.reshape(a.shape[:nd - 1] + (math.prod(a.shape[nd - 1:]),))
    return ref


# name -> (builder, numpy reference, list of input shape tuples, dtypes)
OPS = {
    "dot_vv": (T.dot, _dot_ref, [((0,), (0,)), ((1,), (1,)), ((5,), (5,))]),
    "dot_mv": (T.dot, _dot_ref, [((0, 3), (3,)), ((3, 0), (0,)), ((1, 1), (1,)),
                                 ((4, 5), (5,))]),
    "dot_vm": (T.dot, _dot_ref, [((0,), (0, 3)), ((3,), (3, 0)), ((1,), (1, 1)),
                                 ((4,), (4, 5))]),
    "dot_mm": (T.dot, _dot_ref, [((0, 3), (3, 2)), ((2, 0), (0, 3)), ((2, 3), (3, 0)),
                                 ((1, 1), (1, 1)), ((1, 4), (4, 1)), ((4, 5), (5, 3))]),
    "batched_dot_3x3": (T.batched_dot, _batched_ref, [((0, 2, 3), (0, 3, 2)),
                                                      ((2, 0, 3), (2, 3, 4)),
                                                      ((1, 1, 1), (1, 1, 1)),
                                                      ((3, 2, 4), (3, 4, 5))]),
    "batched_dot_2x3": (T.batched_dot, _batched_ref, [((2, 3), (2, 3, 4)), ((1, 1), (1, 1, 1)),
                                                      ((0, 3), (0, 3, 2))]),
    "outer": (T.outer, lambda a, b: np.outer(a, b).astype(np.result_type(a, b)),
              [((0,), (3,)), ((1,), (1,)), ((4,), (5,))]),
    "tensordot_2": (lambda a, b: T.tensordot(a, b, 2), _tensordot(2),
                    [((2, 3, 4), (3, 4, 5)), ((0, 3, 4), (3, 4, 2)), ((1, 1, 1), (1, 1, 1)),
                     ((2, 3, 0), (3, 0, 2))]),
    "tensordot_axes": (lambda a, b: T.tensordot(a, b, [[0, 2], [2, 1]]),
                       _tensordot([[0, 2], [2, 1]]),
                       [((2, 3, 4), (5, 4, 2)), ((1, 0, 1), (3, 1, 1)), ((3, 1, 2), (0, 2, 3))]),
    "stack_0": (lambda a, b: T.stack([a, b]), lambda a, b: np.stack([a, b]).astype(
        np.result_type(a, b)), [((0, 3), (0, 3)), ((1,), (1,)), ((2, 3), (2, 3)), ((), ())]),
    "stack_last": (lambda a, b: T.stack([a, b], axis=-1), lambda a, b: np.stack(
        [a, b], axis=-1).astype(np.result_type(a, b)), [((0, 3), (0, 3)), ((2, 1), (2, 1))]),
    "concatenate_0": (lambda a, b: T.concatenate([a, b]),
                      lambda a, b: np.concatenate([a, b]).astype(np.result_type(a, b)),
                      [((0, 3), (2, 3)), ((0,), (0,)), ((1, 1), (1, 1)), ((3, 4), (1, 4))]),
    "concatenate_neg": (lambda a, b: T.concatenate([a, b, a], axis=-1),
                        lambda a, b: np.concatenate([a, b, a], axis=-1).astype(
                            np.result_type(a, b)),
                        [((3, 0), (3, 2)), ((2, 1), (2, 3)), ((0, 2), (0, 0))]),
    "join": (lambda a, b: T.join(1, a, b), lambda a, b: np.concatenate([a, b], 1).astype(
        np.result_type(a, b)), [((2, 0), (2, 3)), ((1, 1), (1, 1)), ((2, 3, 1), (2, 1, 1))]),
    "flatten_1": (T.flatten, lambda a: a.reshape(-1), [((0, 3),), ((1, 1),), ((2, 3, 4),), ((),)]),
    "flatten_2": (lambda a: T.flatten(a, 2), _flat(2), [((0, 3, 4),), ((2, 0, 4),), ((1, 1, 1),),
                                                        ((2, 3, 4),), ((3, 4),)]),
    "transpose": (lambda a: a.T, np.transpose, [((0, 3),), ((1, 1),), ((2, 3, 4),), ((5,),),
                                                ((),)]),
    "dimshuffle_x": (lambda a: a.dimshuffle(1, "x", 0), lambda a: np.transpose(a)[:, None, :],
                     [((0, 3),), ((1, 1),), ((3, 4),)]),
    "dimshuffle_perm3": (lambda a: a.dimshuffle(2, 0, 1, "x"),
                         lambda a: np.transpose(a, (2, 0, 1))[..., None],
                         [((0, 3, 2),), ((1, 1, 1),), ((2, 3, 4),)]),
    "reshape": (lambda a: a.reshape((-1, 2)), lambda a: a.reshape(-1, 2),
                [((0, 4),), ((1, 2),), ((3, 4),), ((2, 3, 2),)]),
    "reshape_3d": (lambda a: a.reshape((2, 1, a.shape[0] * a.shape[1] // 2)),
                   lambda a: a.reshape(2, 1, -1), [((2, 0),), ((1, 2),), ((4, 3),)]),
    "shape": (lambda a: T.shape(a), lambda a: np.array(a.shape, "int64"),
              [((0, 3),), ((1, 1),), ((2, 3, 4),), ((),)]),
    "shape_i": (lambda a: a.shape[-1] * 10 + a.shape[0],
                lambda a: np.asarray(a.shape[-1] * 10 + a.shape[0], "int64"),
                [((0, 3),), ((1, 1),), ((2, 3, 4),)]),
    "sort_last": (T.sort, lambda a: np.sort(a, -1), [((0,),), ((1,),), ((3, 5),), ((2, 0),),
                                                     ((2, 3, 4),)]),
    "sort_0": (lambda a: T.sort(a, axis=0), lambda a: np.sort(a, 0),
               [((0, 3),), ((1, 1),), ((4, 3),)]),
    "sort_none": (lambda a: T.sort(a, axis=None), lambda a: np.sort(a, None),
                  [((0, 3),), ((1, 1),), ((4, 3),)]),
    "argsort_last": (T.argsort, lambda a: np.argsort(a, -1, kind="stable").astype("int64"),
                     [((0,),), ((1,),), ((3, 5),), ((2, 0),), ((2, 3, 4),)]),
    "argsort_0": (lambda a: T.argsort(a, axis=0),
                  lambda a: np.argsort(a, 0, kind="stable").astype("int64"),
                  [((0, 3),), ((1, 1),), ((4, 3),)]),
    "cumsum_none": (T.cumsum, lambda a: np.cumsum(a, dtype=a.dtype),
                    [((0, 3),), ((1,),), ((3, 4),), ((),)]),
    "cumsum_0": (lambda a: T.cumsum(a, axis=0), lambda a: np.cumsum(a, 0, dtype=a.dtype),
                 [((0, 3),), ((1, 1),), ((3, 4),), ((2, 3, 4),)]),
    "cumsum_neg": (lambda a: T.cumsum(a, axis=-1), lambda a: np.cumsum(a, -1, dtype=a.dtype),
                   [((3, 0),), ((1, 1),), ((3, 4),)]),
    "cumprod_none": (T.cumprod, lambda a: np.cumprod(a, dtype=a.dtype),
                     [((0, 3),), ((1,),), ((3, 4),)]),
    "cumprod_1": (lambda a: T.cumprod(a, axis=1), lambda a: np.cumprod(a, 1, dtype=a.dtype),
                  [((0, 3),), ((1, 1),), ((3, 4),), ((2, 3, 4),)]),
    "diag_vec": (T.diag, np.diag, [((0,),), ((1,),), ((4,),)]),
    "diag_vec_k": (lambda a: T.diag(a, 2), lambda a: np.diag(a, 2), [((0,),), ((1,),), ((3,),)]),
    "diag_mat": (T.diag, lambda a: np.diagonal(a).copy(), [((0, 3),), ((1, 1),), ((3, 5),),
                                                           ((5, 3),)]),
    "diag_mat_k": (lambda a: T.diag(a, -1), lambda a: np.diagonal(a, -1).copy(),
                   [((0, 3),), ((1, 1),), ((4, 3),)]),
    "tile": (lambda a: T.tile(a, (2, 3)), lambda a: np.tile(a, (2, 3)),
             [((0, 3),), ((1, 1),), ((2, 3),)]),
    "tile_zero": (lambda a: T.tile(a, (0, 2)), lambda a: np.tile(a, (0, 2)),
                  [((1, 1),), ((2, 3),)]),
    "repeat_scalar": (lambda a: T.repeat(a, 3, axis=1), lambda a: np.repeat(a, 3, 1),
                      [((0, 3),), ((2, 0),), ((1, 1),), ((2, 3),)]),
    "repeat_vector": (lambda a: T.repeat(a, np.array([2, 0, 1], "int64"), axis=0),
                      lambda a: np.repeat(a, [2, 0, 1], 0), [((3, 0),), ((3, 1),), ((3, 4),)]),
    "repeat_none": (lambda a: T.repeat(a, 2), lambda a: np.repeat(a, 2),
                    [((0, 3),), ((1, 1),), ((2, 3),)]),
    "matrix_inverse": (T.nlinalg.matrix_inverse, np.linalg.inv, [((0, 0),), ((1, 1),), ((4, 4),)]),
    "det": (T.nlinalg.det, lambda a: np.asarray(np.linalg.det(a)),
            [((0, 0),), ((1, 1),), ((4, 4),)]),
}
OP_DTYPES = {"matrix_inverse": ["float64", "float32"], "det": ["float64", "float32"]}


@pytest.mark.parametrize("name", sorted(OPS))
def test_tensor_op_on_shapes_and_layouts(name):
    build, ref, cases = OPS[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    for dtype in OP_DTYPES.get(name, ["float64", "float32", "int32"]):
        for shapes in cases:
            xs = [var(dtype, len(s), f"x{i}") for i, s in enumerate(shapes)]
            out = build(*xs)
            f = theano.function(xs, out)
            for how in LAYOUTS:
                if name in ("matrix_inverse", "det"):
                    n = shapes[0][0]
                    args = [layout((rng.standard_normal((n, n)) + 3 * np.eye(n)).astype(dtype),
                                   how)]
                else:
                    args = [layout(values(dtype, s, rng), how) for s in shapes]
                snap = [a.copy() for a in args]
                want = np.asarray(ref(*args))
                if name in ("det", "matrix_inverse"):
                    want = want.astype(dtype)
                got = f(*args)
                what = f"{name} {dtype} {shapes} [{how}]"
                assert out.dtype == str(want.dtype), (what, out.dtype, want.dtype)
                if name.startswith("argsort"):  # ties: a valid (stable here) permutation
                    ax = 0 if name == "argsort_0" else -1
                    np.testing.assert_array_equal(np.take_along_axis(args[0], got, ax),
                                                  np.sort(args[0], ax), what)
                    assert got.dtype == np.int64
                    continue
                if name in ("det", "matrix_inverse") and dtype == "float32":
                    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5, err_msg=what)
                    assert got.dtype == want.dtype and got.shape == want.shape
                else:
                    check(got, want, what)
                for a, s in zip(args, snap):  # inputs untouched
                    np.testing.assert_array_equal(a, s)


def test_outputs_are_owned_by_the_caller():
    """View-producing ops (transpose, reshape, basic indexing) return arrays that do
    not alias the input nor each other across calls."""
    x = T.dmatrix("x")
    f = theano.function([x], [x.T, x.reshape((-1,)), x[::-1, 1:], T.flatten(x)])
    a = np.arange(12.0).reshape(3, 4)
    outs = f(a)
    for o in outs:
        o[...] = -1
    np.testing.assert_array_equal(a, np.arange(12.0).reshape(3, 4))
    again = f(a)
    np.testing.assert_array_equal(again[0], a.T)
    np.testing.assert_array_equal(again[2], a[::-1, 1:])


# ---- indexing on layouts ------------------------------------------------------------------
@pytest.mark.parametrize("how", LAYOUTS)
def test_indexing_on_layouts(how):
    x = T.dtensor3("x")
    idx = np.array([2, -1, 0, 0, -3], "int64")
    mask = np.random.default_rng(2).random((5, 4)) < 0.5
    exprs = [x[::-1, 1:, ::-2], x[1, ::2], x[:, idx], x[idx], x[..., 1], x[-1:-6:-2, ::-1, 0],
             T.set_subtensor(x[::-2, 0], 5.0), T.inc_subtensor(x[:, idx], 1.0),
             T.inc_subtensor(x[idx, 1:], 2.0), x[mask], T.set_subtensor(x[mask], -x[mask]),
             x[:, mask[0]]]
    f = theano.function([x], exprs)
    a = layout(np.random.default_rng(1).standard_normal((5, 4, 3)), how)
    s = a.copy()
    s[::-2, 0] = 5.0
    inc = a.copy()
    np.add.at(inc, (slice(None), idx), 1.0)
    inc2 = a.copy()
    np.add.at(inc2, (idx, slice(1, None)), 2.0)
    m = a.copy()
    m[mask] = -a[mask]
    wants = [a[::-1, 1:, ::-2], a[1, ::2], a[:, idx], a[idx], a[..., 1], a[-1:-6:-2, ::-1, 0],
             s, inc, inc2, a[mask], m, a[:, mask[0]]]
    for i, (g, w) in enumerate(zip(f(a), wants)):
        check(g, w, f"expr {i} [{how}]")
    # empty and size-1 tensors
    for shape in [(0, 4, 3), (1, 1, 1), (5, 0, 3)]:
        b = layout(np.random.default_rng(3).standard_normal(shape), how)
        g = theano.function([x], [x[::-1], x[:, ::-2], x[np.array([], "int64")], x[..., :1]])
        for got, want in zip(g(b), [b[::-1], b[:, ::-2], b[np.array([], "int64")], b[..., :1]]):
            check(got, want, f"{shape} [{how}]")


# ---- integer overflow -----------------------------------------------------------------------
def test_int32_sum_accumulates_in_int64():
    x = T.ivector("x")
    a = np.full(10, 2 ** 31 - 1, "int32")
    f = theano.function([x], [x.sum(), T.prod(x[:3]), x.mean(), T.cumsum(x), x.max() + x.max()])
    s, p, m, c, mm = f(a)
    assert s.dtype == np.int64 and s == 10 * (2 ** 31 - 1)
    assert p.dtype == np.int64 and p == np.prod(a[:3], dtype="int64")  # wraps in int64
    assert m.dtype == np.float64 and m == 2 ** 31 - 1
    # cumsum keeps int32 (Theano) and wraps as np.cumsum(dtype=int32)
    assert c.dtype == np.int32
    np.testing.assert_array_equal(c, np.cumsum(a, dtype="int32"))
    assert mm.dtype == np.int32 and mm == np.int32(-2)


def test_int8_cumsum_cumprod_keep_int8_and_wrap():
    x = T.bvector("x")
    f = theano.function([x], [T.cumsum(x), T.cumprod(x), x.sum(), x.prod(), T.ptp(x)])
    a = np.array([100, 100, 100, -128, 3], "int8")
    cs, cp, s, p, r = f(layout(a, "reversed"))
    assert cs.dtype == np.int8 and cp.dtype == np.int8
    np.testing.assert_array_equal(cs, np.cumsum(a, dtype="int8"))
    np.testing.assert_array_equal(cp, np.cumprod(a, dtype="int8"))
    assert s.dtype == np.int64 and s == 175
    assert p.dtype == np.int64 and p == np.prod(a, dtype="int64")
    # ptp keeps int8: 100 - (-128) wraps as NumPy's int8 subtraction
    assert r.dtype == np.int8 and r == np.int8(100) - np.int8(-128)


def test_int64_sum_wraps_and_mean_of_int64_uses_the_wrapped_sum():
    x = T.lvector("x")
    a = np.array([2 ** 62, 2 ** 62, 2 ** 62], "int64")
    s, m = theano.function([x], [x.sum(), x.mean()])(a)
    assert s == np.sum(a)  # wrapped
    assert m == np.float64(np.sum(a)) / 3


def test_bool_reductions():
    x = T.TensorType("bool", (False, False))("x")
    a = layout(np.array([[True, False, True], [True, True, True]]), "fortran")
    f = theano.function([x], [x.sum(axis=1), x.mean(), x.prod(axis=0), x.max(axis=0),
                              x.argmax(axis=1), x.all(axis=-1), x.any()])
    wants = [np.array([2, 3]), np.float64(5 / 6), np.array([1, 0, 1]),
             np.array([True, True, True]), np.array([0, 0]), np.array([False, True]),
             np.True_]
    for g, w in zip(f(a), wants):
        check(g, np.asarray(w))


# ---- NaN propagation ------------------------------------------------------------------------
def test_nan_propagation_as_numpy():
    x = T.dmatrix("x")
    a = np.array([[1.0, np.nan, 3.0, -1.0], [2.0, 0.5, np.nan, np.nan], [4.0, 1.0, -2.0, 0.0]])
    exprs = {
        "max0": (x.max(axis=0), np.max(a, 0)), "max1": (x.max(axis=1), np.max(a, 1)),
        "min1": (x.min(axis=1), np.min(a, 1)), "maxall": (x.max(), np.max(a)),
        "argmax1": (x.argmax(axis=1), np.argmax(a, 1)), "argmin0": (x.argmin(axis=0),
                                                                    np.argmin(a, 0)),
        "argmaxall": (x.argmax(), np.argmax(a)),
        "sort1": (T.sort(x, axis=1), np.sort(a, 1)), "sort0": (T.sort(x, axis=0), np.sort(a, 0)),
        "argsort1": (T.argsort(x, axis=1), np.argsort(a, 1, kind="stable")),
        "cumsum1": (T.cumsum(x, axis=1), np.cumsum(a, 1)),
        "cumprod0": (T.cumprod(x, axis=0), np.cumprod(a, 0)),
        "sum1": (x.sum(axis=1), np.sum(a, 1)), "mean0": (x.mean(axis=0), np.mean(a, 0)),
        "var1": (x.var(axis=1), np.var(a, 1)), "ptp1": (T.ptp(x, axis=1), np.ptp(a, 1)),
        "prod0": (x.prod(axis=0), np.prod(a, 0)),
        "dot": (T.dot(x, x.T), np.dot(a, a.T)),
        "any": (T.any(x, axis=1), np.any(a, 1)), "all": (T.all(x, axis=0), np.all(a, 0)),
        "maximum": (T.maximum(x, 0), np.maximum(a, 0)),
    }
    names = sorted(exprs)
    f = theano.function([x], [exprs[n][0] for n in names])
    for how in LAYOUTS:
        for n, got in zip(names, f(layout(a, how))):
            want = np.asarray(exprs[n][1])
            if want.dtype.kind == "i":
                want = want.astype("int64")
            check(got, want, f"{n} [{how}]")


def test_nan_in_float32_and_inf():
    x = T.fvector("x")
    a = np.array([np.inf, -np.inf, 1.0, np.nan], "float32")
    f = theano.function([x], [x.max(), x.min(), x.argmax(), x.argmin(), x[:3].sum(),
                              x[:2].max(), x[:2].argmin(), T.sort(x), x[:3].mean()])
    got = f(layout(a, "strided"))
    wants = [np.float32(np.nan), np.float32(np.nan), np.int64(3), np.int64(3),
             np.float32(np.nan), np.float32(np.inf), np.int64(1), np.sort(a),
             np.float32(np.nan)]
    for g, w in zip(got, wants):
        check(g, np.asarray(w))


# ---- clear errors, never a crash ----------------------------------------------------------------
def test_out_of_range_indices_raise_index_error():
    x = T.dmatrix("x")
    i = T.lscalar("i")
    v = T.lvector("v")
    fns = [theano.function([x, i], x[i]), theano.function([x, i], x[:, i]),
           theano.function([x, v], x[v]), theano.function([x, v], x[:, v]),
           theano.function([x, v], T.set_subtensor(x[v], 0.0)),
           theano.function([x, v], T.inc_subtensor(x[:, v], 1.0)),
           theano.function([x, i], T.inc_subtensor(x[i], 1.0))]
    a = np.zeros((3, 4))
    bad = [(a, 3), (a, -5), (a, np.array([0, 3])), (a, np.array([-5])),
           (a, np.array([3])), (a, np.array([4])), (a, -4)]
    for f, args in zip(fns, bad):
        with pytest.raises(IndexError):
            f(*args)
    for f, args in zip(fns, [(a, 2), (a, -4), (a, np.array([0, -3])), (a, np.array([-4, 3])),
                             (a, np.array([2])), (a, np.array([3])), (a, -3)]):
        assert f(*args).dtype == np.float64  # still works after the errors
    # a constant index out of range of an empty dim
    y = T.dvector("y")
    with pytest.raises(IndexError):
        theano.function([y], y[np.array([0])])(np.zeros(0))
    with pytest.raises(IndexError):
        theano.function([y], y[0])(np.zeros(0))


def test_mask_of_wrong_shape_raises_index_error():
    x = T.dmatrix("x")
    m = T.TensorType("bool", (False, False))("m")
    f = theano.function([x, m], x[m])
    with pytest.raises(IndexError):
        f(np.zeros((3, 4)), np.ones((3, 5), bool))
    check(f(np.ones((3, 4)), np.eye(3, 4, dtype=bool)), np.ones(3))


@pytest.mark.parametrize("case", [
    "dot_inner", "dot_mv", "tensordot", "batched_dot", "concatenate", "stack", "reshape",
    "elemwise", "set_subtensor", "repeat", "max_empty", "argmax_empty", "inverse_nonsquare",
    "det_nonsquare", "tile_reps"])
def test_mismatched_shapes_raise_value_error(case):
    m, n, v = T.dmatrix("m"), T.dmatrix("n"), T.dvector("v")
    t3, u3 = T.dtensor3("t3"), T.dtensor3("u3")
    r = T.lvector("r")
    a34, a54, v5 = np.zeros((3, 4)), np.zeros((5, 4)), np.zeros(5)
    table = {
        "dot_inner": ([m, n], T.dot(m, n), (a34, a34), (a34, a34.T)),
        "dot_mv": ([m, v], T.dot(m, v), (a34, v5), (a34, np.zeros(4))),
        "tensordot": ([t3, u3], T.tensordot(t3, u3, 2), (np.zeros((2, 3, 4)), np.zeros((3, 5, 2))),
                      (np.zeros((2, 3, 4)), np.zeros((3, 4, 2)))),
        "batched_dot": ([t3, u3], T.batched_dot(t3, u3), (np.zeros((2, 3, 4)),
                                                          np.zeros((3, 4, 2))),
                        (np.zeros((2, 3, 4)), np.zeros((2, 4, 2)))),
        "concatenate": ([m, n], T.concatenate([m, n], axis=0), (a34, np.zeros((3, 5))),
                        (a34, a54)),
        "stack": ([m, n], T.stack([m, n]), (a34, a54), (a34, a34)),
        "reshape": ([m], m.reshape((5, -1)), (a34,), (np.zeros((5, 2)),)),
        "elemwise": ([m, n], m + n, (a34, a54), (a34, a34)),
        "set_subtensor": ([m, v], T.set_subtensor(m[0], v), (a34, v5), (a34, np.zeros(4))),
        "repeat": ([m, r], T.repeat(m, r, axis=0), (a34, np.array([1, 2])),
                   (a34, np.array([1, 2, 0]))),
        "max_empty": ([m], m.max(axis=0), (np.zeros((0, 3)),), (a34,)),
        "argmax_empty": ([m], m.argmax(axis=1), (np.zeros((2, 0)),), (a34,)),
        "inverse_nonsquare": ([m], T.nlinalg.matrix_inverse(m), (a34,), (np.eye(3),)),
        "det_nonsquare": ([m], T.nlinalg.det(m), (a34,), (np.eye(3),)),
        "tile_reps": ([m, r], T.tile(m, r, ndim=2), (a34, np.array([1, 2, 3])),
                      (a34, np.array([2, 1]))),
    }
    inputs, out, bad, good = table[case]
    f = theano.function(inputs, out)
    with pytest.raises(ValueError):
        f(*bad)
    got = f(*good)  # the function still works after the error
    assert isinstance(got, np.ndarray) and got.dtype == out.dtype


def test_build_time_errors_are_type_errors():
    m, v = T.dmatrix("m"), T.dvector("v")
    t3 = T.dtensor3("t3")
    with pytest.raises(TypeError):
        T.nlinalg.det(v)
    with pytest.raises(TypeError):
        T.batched_dot(T.dscalar(), m)
    with pytest.raises(TypeError):
        T.concatenate([m, v])
    with pytest.raises(TypeError):
        m[0.5]
    with pytest.raises(IndexError):
        v[1, 2]
    with pytest.raises((ValueError, TypeError)):
        m.sum(axis=2)
    with pytest.raises((ValueError, TypeError)):
        T.sort(m, axis=3)
    with pytest.raises((ValueError, TypeError)):
        T.tensordot(t3, m, [[0, 1], [0]])
