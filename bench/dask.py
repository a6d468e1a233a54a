"""tjit on Dask vs dask.array with NumPy, on one LocalCluster.

    python bench/dask.py [--values 2e9] [--rows 1e7] [--workers 2] [--repeats 2]

(a) a fused elementwise + reduction graph, sum(exp(-x*x)/2 + log1p(|x|) - tanh(x))
    and the same graph's mean of squares, over `--values` float64 normals generated
    block by block with tjit's Philox streams (tjit.dask.random: never
    materialised whole). The same dask array feeds both paths; "generation only"
    times the draw alone (x.sum()), so graph time = total - generation.
(b) one logistic-regression gradient step (cost and gradient) over `--rows` x 100
    row chunks persisted in the workers' memory (a training set): tjit on Dask,
    dask.array + NumPy, and tjit on one machine (the data materialised in this
    process, skipped above 2e7 rows).

"peak MB/worker" is the largest worker's peak resident memory during the run
(sampled every 10 ms; for (b) it includes the persisted data). Prints one table
(medians).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

# this file is named dask.py: its folder must not be on sys.path when dask is
# imported (here and in the worker processes, which inherit sys.path)
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
import dask  # noqa: E402
sys.path.insert(0, HERE)
from _harness import import_tjit, print_table  # noqa: E402
sys.path.remove(HERE)

import_tjit()
import dask.array as da  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

import tjit  # noqa: E402
import tjit.dask as tdk  # noqa: E402
import tjit.tensor as T  # noqa: E402
from tjit.random.streams import PhiloxStreams  # noqa: E402


def _start_peak(dask_worker):
    """On a worker: sample this process's resident memory every 10 ms from now
    (the state lives on the worker object: this function is shipped by value)."""
    import threading
    import psutil
    proc = psutil.Process()
    state = dask_worker._tjit_bench_peak = {"peak": proc.memory_info().rss,
                                            "stop": threading.Event()}

    def loop():
        while not state["stop"].wait(0.01):
            state["peak"] = max(state["peak"], proc.memory_info().rss)
    threading.Thread(target=loop, daemon=True).start()


def _stop_peak(dask_worker):
    state = dask_worker._tjit_bench_peak
    state["stop"].set()
    return state["peak"] / 2 ** 20


def measure(client, build, repeats):
    """(median seconds, peak MB of the largest worker, result) of computing build()."""
    times, peaks, result = [], [], None
    for _ in range(repeats):
        arrays = build()
        client.run(_start_peak)
        t0 = time.perf_counter()
        result = dask.compute(*arrays)
        times.append(time.perf_counter() - t0)
        peaks.append(max(client.run(_stop_peak).values()))
    return float(np.median(times)), max(peaks), result


def fused_graph(values, rows_per_block, repeats, client):
    cols = 1000
    rows = int(values) // cols
    chunks = (rows_per_block, cols)

    def draw():
        return tdk.random.normal(PhiloxStreams(2026), (rows, cols), chunks)

    X = T.dmatrix("X")
    y = T.exp(-X * X) * 0.5 + T.log1p(T.abs_(X)) - T.tanh(X)
    f = tdk.function([X], [T.sum(y), T.mean(X * X)], name="fused")

    def numpy_graph(x):
        return [da.sum(da.exp(-x * x) * 0.5 + da.log1p(abs(x)) - da.tanh(x)), da.mean(x * x)]

    gen = measure(client, lambda: [draw().sum()], repeats)
    tj = measure(client, lambda: f(draw()), repeats)
    npy = measure(client, lambda: numpy_graph(draw()), repeats)
    ok = np.allclose(tj[2], npy[2], rtol=1e-9)
    label = f"(a) fused graph, {rows * cols:.2g} values"
    return [
        [label, "generation only", f"{gen[0]:.2f}", f"{gen[1]:.0f}", ""],
        [label, "tjit on Dask", f"{tj[0]:.2f}", f"{tj[1]:.0f}",
         f"{(npy[0] - gen[0]) / max(tj[0] - gen[0], 1e-9):.1f}x graph" + ("" if ok else " WRONG")],
        [label, "dask.array + NumPy", f"{npy[0]:.2f}", f"{npy[1]:.0f}", "1.0x"],
    ]


def logistic(rows, rows_per_block, repeats, client):
    d = 100
    chunks = (rows_per_block, d)
    w0 = np.linspace(-0.05, 0.05, d)

    def data():
        s = PhiloxStreams(7)
        X = tdk.random.normal(s, (rows, d), chunks)
        y = (X[:, 0] > 0).astype("float64")
        return X, y

    w = tjit.shared(w0, name="w")
    Xs, ys = T.dmatrix("X"), T.dvector("y")
    p = T.nnet.sigmoid(T.dot(Xs, w))
    cost = T.mean(-ys * T.log(p) - (1 - ys) * T.log(1 - p))
    g = T.grad(cost, w)
    f = tdk.function([Xs, ys], [cost, g], name="logreg")

    def numpy_step(X, y):
        q = 1 / (1 + da.exp(-(X @ w0)))
        c = da.mean(-y * da.log(q) - (1 - y) * da.log(1 - q))
        return [c, X.T @ (q - y) / rows]

    X, y = client.persist(list(data()))  # a training set kept in the workers' memory
    dask.compute(X.sum(), y.sum())
    tj = measure(client, lambda: f(X, y), repeats)
    npy = measure(client, lambda: numpy_step(X, y), repeats)
    ok = np.allclose(tj[2][1], npy[2][1], rtol=1e-8, atol=1e-12)
    label = f"(b) logistic step, {rows:.2g} x {d}"
    out = [[label, "tjit on Dask", f"{tj[0]:.2f}", f"{tj[1]:.0f}",
            f"{npy[0] / tj[0]:.1f}x" + ("" if ok else " WRONG")],
           [label, "dask.array + NumPy", f"{npy[0]:.2f}", f"{npy[1]:.0f}", "1.0x"]]
    if rows <= 2e7:
        Xn, yn = (np.asarray(a) for a in dask.compute(X, y))
        one = tjit.function([Xs, ys], [cost, g])
        one(Xn, yn)
        t0 = time.perf_counter()
        for _ in range(repeats):
            one(Xn, yn)
        t = (time.perf_counter() - t0) / repeats
        out.append([label, "tjit, one machine (data in memory)", f"{t:.2f}", "", ""])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--values", type=float, default=2e9)
    ap.add_argument("--rows", type=float, default=1e7)
    ap.add_argument("--block-mb", type=float, default=64, help="MB of float64 per block")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    a = ap.parse_args()
    cluster = LocalCluster(processes=True, n_workers=a.workers, threads_per_worker=1,
                           host="127.0.0.1", dashboard_address=None)
    client = Client(cluster)
    try:
        block_rows = max(1, int(a.block_mb * 2 ** 20 / 8 / 1000))
        rows = fused_graph(a.values, block_rows, a.repeats, client)
        rows += logistic(int(a.rows), max(1, int(a.block_mb * 2 ** 20 / 8 / 100)),
                         a.repeats, client)
    finally:
        client.close()
        cluster.close()
    print(f"{a.workers} worker processes x 1 thread, blocks of {a.block_mb:g} MB")
    print_table(["graph", "engine", "seconds", "peak MB/worker", "speed-up"], rows)


if __name__ == "__main__":
    main()
