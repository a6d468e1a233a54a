"""tjit.dask on a two-process LocalCluster: results equal single-machine tjit."""
import os
import pickle
import subprocess
import sys

import cloudpickle
import dask
import dask.array as da
import numpy as np
import pytest
from distributed import Client, LocalCluster

import tjit
import tjit.dask as tdk
import tjit.tensor as T
from tjit.random.streams import PhiloxStreams

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KINDS = ["sum", "prod", "mean", "var", "std", "max", "min", "argmax", "argmin", "all", "any"]
AXES = [None, 0, 1, (0, 1)]


@pytest.fixture(scope="module")
def client():
    cluster = LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                           host="127.0.0.1", dashboard_address=None)
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(42)
    return dict(x=rng.standard_normal((23, 7)), b=rng.standard_normal(7),
                y=(rng.random(23) > 0.5).astype("float64"), w=rng.standard_normal(7) * 0.1)


def test_elementwise_with_broadcasting(client, data):
    X, b = T.dmatrix("X"), T.dvector("b")
    out = T.exp(-X * X) * b + T.log1p(T.abs_(X)) * 0.5 - T.tanh(b)
    ref = tjit.function([X, b], out)(data["x"], data["b"])
    f = tdk.function([X, b], out, name="bell")
    got = f(da.from_array(data["x"], chunks=(5, 3)), da.from_array(data["b"], chunks=3))
    assert isinstance(got, da.Array) and got.name.startswith("tjit-bell-")
    np.testing.assert_allclose(got.compute(), ref, rtol=1e-13, atol=1e-15)


def test_every_reduction_over_every_axis(client, data):
    X = T.dmatrix("X")
    e = T.sin(X) + 0.25  # reduced through an elementwise graph: one fused chunk kernel
    outs, refs = [], []
    for kind in KINDS:
        for ax in AXES:
            if kind in ("all", "any"):
                outs.append(getattr(T, kind)(T.gt(e, 0), axis=ax))
                refs.append(getattr(np, kind)(np.sin(data["x"]) + 0.25 > 0, axis=ax))
            else:
                outs.append(getattr(T, kind)(e, axis=ax))
                ne = np.sin(data["x"]) + 0.25
                refs.append(getattr(np, kind)(ne, axis=None if ax == (0, 1) and
                                              kind.startswith("arg") else ax))
    single = tjit.function([X], outs, mode="FAST_COMPILE")(data["x"])
    f = tdk.function([X], outs, mode="FAST_COMPILE")
    for chunks in [(4, 3)]:  # rows and columns split (test_keepdims_...: rows only)
        got = dask.compute(*f(da.from_array(data["x"], chunks=chunks)))
        for k, (g, r, s) in enumerate(zip(got, refs, single)):
            what = (KINDS[k // len(AXES)], AXES[k % len(AXES)], chunks)
            assert g.shape == np.shape(r) and g.dtype == s.dtype, what
            np.testing.assert_allclose(g, s, rtol=1e-12, atol=1e-14, err_msg=str(what))
            np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-14, err_msg=str(what))


def test_keepdims_var_and_argmax_ties(client):
    X = T.dmatrix("X")
    xn = np.array([[1.0, 5, 5], [5, 0, 2], [5, 1, 1], [0, 0, 9]])
    f = tdk.function([X], [T.var(X, axis=0, keepdims=True), T.argmax(X, axis=0),
                           T.argmax(X), T.argmin(X, axis=1)])
    got = dask.compute(*f(da.from_array(xn, chunks=(1, 2))))
    np.testing.assert_allclose(got[0], xn.var(axis=0, keepdims=True), rtol=1e-13)
    assert got[1].tolist() == xn.argmax(axis=0).tolist()  # first of the tied maxima
    assert int(got[2]) == xn.argmax() and got[3].tolist() == xn.argmin(axis=1).tolist()


def test_softmax_per_block_and_split_axis_error(client, data):
    X = T.dmatrix("X")
    f = tdk.function([X], [T.nnet.softmax(X), T.nnet.logsoftmax(X)])
    xn = data["x"]
    e = np.exp(xn - xn.max(axis=1, keepdims=True))
    sm, lsm = dask.compute(*f(da.from_array(xn, chunks=(4, 7))))
    np.testing.assert_allclose(sm, e / e.sum(axis=1, keepdims=True), rtol=1e-13)
    np.testing.assert_allclose(lsm, np.log(e / e.sum(axis=1, keepdims=True)), rtol=1e-12)
    with pytest.raises(tdk.SplitAxisError, match=r"dim 1 of X, which is split.*X.rechunk\(\{1: -1\}\)"):
        f(da.from_array(xn, chunks=(4, 3)))


def test_matrix_vector_products(client, data):
    X, v, M = T.dmatrix("X"), T.dvector("v"), T.dmatrix("M")
    f = tdk.function([X, v], T.dot(X, v), name="mv")
    got = f(da.from_array(data["x"], chunks=(5, 3)), da.from_array(data["b"], chunks=3))
    np.testing.assert_allclose(got.compute(), data["x"] @ data["b"], rtol=1e-13)
    g = tdk.function([v, M], T.dot(v, M))  # the contraction runs along the split rows
    vn = data["y"]
    got = g(da.from_array(vn, chunks=6), da.from_array(data["x"], chunks=(6, 4)))
    np.testing.assert_allclose(got.compute(), vn @ data["x"], rtol=1e-13)


def _logistic(w):
    X, y = T.dmatrix("X"), T.dvector("y")
    p = T.nnet.sigmoid(T.dot(X, w))
    cost = T.mean(-y * T.log(p) - (1 - y) * T.log(1 - p))
    return X, y, cost, T.grad(cost, w)


def test_logistic_regression_gradient_and_training_loop(client, data):
    xn, yn = data["x"], data["y"]
    w1 = tjit.shared(data["w"].copy(), name="w")
    X, y, cost, g = _logistic(w1)
    step = tjit.function([X, y], cost, updates=[(w1, w1 - 0.5 * g)])
    w2 = tjit.shared(data["w"].copy(), name="w")
    X2, y2, cost2, g2 = _logistic(w2)
    f = tdk.function([X2, y2], [cost2, g2], name="logreg")
    Xd, yd = da.from_array(xn, chunks=(5, 7)), da.from_array(yn, chunks=5)
    for _ in range(3):  # the training loop: compute on Dask, commit after compute()
        c, grad = dask.compute(*f(Xd, yd))
        p = 1 / (1 + np.exp(-xn @ w2.get_value()))
        np.testing.assert_allclose(grad, xn.T @ (p - yn) / len(yn), rtol=1e-12)
        np.testing.assert_allclose(c, step(xn, yn), rtol=1e-12)
        w2.set_value(w2.get_value() - 0.5 * grad)
        np.testing.assert_allclose(w2.get_value(), w1.get_value(), rtol=1e-12)


def test_updates_refused_with_the_way_out(data):
    w = tjit.shared(np.zeros(7), name="w")
    X = T.dmatrix("X")
    with pytest.raises(ValueError, match="updates= is refused.*set_value"):
        tdk.function([X], T.dot(X, w), updates=[(w, w + 1)])


def test_random_draws_equal_for_two_chunkings(client):
    # natively drawn per block on the workers: bit for bit the single-machine draw
    for dtype in ("float64", "float32"):
        s = PhiloxStreams(2026)
        u, z = tjit.function([], [s.uniform((29, 13), dtype=dtype),
                                  s.normal((29, 13), 1.0, 2.0, dtype=dtype)])()
        for chunks in [(10, 13), (7, 4)]:
            d = PhiloxStreams(2026)
            du = tdk.random.uniform(d, (29, 13), chunks, dtype=dtype)
            dz = tdk.random.normal(d, (29, 13), chunks, 1.0, 2.0, dtype=dtype)
            gu, gz = dask.compute(du, dz)
            assert gu.dtype == gz.dtype == dtype
            assert np.array_equal(gu, u) and np.array_equal(gz, z), (dtype, chunks)


def test_each_worker_compiles_each_kernel_at_most_once(client, data):
    X = T.dmatrix("X")
    f = tdk.function([X], [T.sum(T.exp(X), axis=0), T.cosh(X)], name="once")
    xd = da.from_array(data["x"], chunks=(3, 7))  # 8 blocks over 2 workers
    before = client.run(tdk.stats)
    for _ in range(3):
        dask.compute(*f(xd))
    after = client.run(tdk.stats)
    new = {w: after[w]["compiles"] - before[w]["compiles"] for w in after}
    assert sum(new.values()) >= 3  # the chunk, combine and elementwise kernels ran
    for w in after:
        assert max(after[w]["per_kernel"].values()) == 1, after[w]
        assert new[w] <= 3


def test_pickles_as_a_small_graph_and_loads_in_a_fresh_process(tmp_path, data):
    X = T.dmatrix("X")
    f = tdk.function([X], T.std(T.exp(X), axis=0), name="fresh")
    blob = pickle.dumps(f)
    assert len(blob) < 64_000  # kilobytes: graphs, no machine code
    assert dask.base.tokenize(f) == dask.base.tokenize(pickle.loads(blob))
    assert dask.base.tokenize(f) == dask.base.tokenize(cloudpickle.loads(cloudpickle.dumps(f)))
    keys = f(da.from_array(data["x"], chunks=(4, 7))).__dask_graph__().keys()
    names = {k[0] if isinstance(k, tuple) else k for k in keys}
    assert any(n.startswith("tjit-fresh-var-chunk-") for n in names), names
    (tmp_path / "f.pkl").write_bytes(blob)
    np.save(tmp_path / "x.npy", data["x"])
    code = ("import pickle, numpy as np, dask, dask.array as da\n"
            f"f = pickle.load(open({str(tmp_path / 'f.pkl')!r}, 'rb'))\n"
            f"x = da.from_array(np.load({str(tmp_path / 'x.npy')!r}), chunks=(4, 7))\n"
            "print(repr(f(x).compute(scheduler='synchronous').tolist()))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    np.testing.assert_allclose(eval(out.stdout), np.exp(data["x"]).std(axis=0), rtol=1e-12)


def test_bad_input_gets_a_clear_error(data):
    X, v = T.dmatrix("X"), T.dvector("v")
    f = tdk.function([X, v], X * v)
    with pytest.raises(TypeError, match="argument 1 .*must be a dask array.*ndarray"):
        f(da.from_array(data["x"]), data["b"])
    with pytest.raises(ValueError, match="dim 0 of input v has length 5.*length 7"):
        f(da.from_array(data["x"]), da.from_array(np.ones(5)))
    with pytest.raises(TypeError, match="must have 2 dims"):
        f(da.from_array(data["b"]), da.from_array(data["b"]))
    w = tjit.shared(data["b"], name="w")  # whole in every block: its axis must be too
    for out in (T.dot(X, w), X * w):
        with pytest.raises(tdk.SplitAxisError, match=r"w is whole.*X.rechunk\(\{1: -1\}\)"):
            tdk.function([X], out)(da.from_array(data["x"], chunks=(5, 3)))


def test_importing_tjit_never_imports_dask():
    code = "import sys, tjit, tjit.tensor; print(sorted(m for m in sys.modules if 'dask' in m))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr


def test_argmax_argmin_across_chunks_first_nan_wins(client):
    X = T.dmatrix("X")
    nan = np.nan
    # NaNs in two chunks of a column (the first must win), a column without NaN
    xn = np.array([[1.0, 5, 5], [5, nan, 2], [nan, 1, 2], [0, 0, 9], [nan, nan, 1]])
    outs = [T.argmax(X, axis=0), T.argmin(X, axis=0), T.argmin(X), T.argmax(X, axis=1)]
    refs = [xn.argmax(0), xn.argmin(0), xn.argmin(), xn.argmax(1)]
    assert refs[0].tolist() == [2, 1, 3] and refs[2] == 4  # NumPy: the first NaN wins
    f = tdk.function([X], outs, name="nanarg")
    for chunks in [(2, 2), (1, 3)]:
        got = dask.compute(*f(da.from_array(xn, chunks=chunks)))
        for k, (g, r) in enumerate(zip(got, refs)):
            assert np.asarray(g).tolist() == r.tolist(), (k, chunks)


def test_second_pass_over_a_split_axis_names_the_dims_and_the_rechunk():
    X = T.dmatrix("X")
    xd = da.from_array(np.arange(24.0).reshape(6, 4), chunks=(2, 4))
    for out in (X - X.mean(axis=0), T.sum(T.sqr(X - X.mean(axis=0)), axis=0)):
        with pytest.raises(tdk.SplitAxisError, match=r"sum over dim 0 of X, which is split.*"
                                                    r"X.rechunk\(\{0: -1\}\)"):
            tdk.function([X], out)(xd)
    with pytest.raises(tdk.SplitAxisError, match=r"dim 0, 1 of X, which are split.*"
                                                r"X.rechunk\(\{0: -1, 1: -1\}\)"):
        tdk.function([X], X / X.sum())(xd.rechunk((2, 2)))
    # rechunked as the message says, it runs (the axis is whole in each block)
    got = tdk.function([X], X - X.mean(axis=0))(xd.rechunk({0: -1})).compute(scheduler="sync")
    np.testing.assert_allclose(got, xd.compute() - xd.compute().mean(axis=0), rtol=1e-14)
