"""tjit on Dask vs dask.array with NumPy, on one LocalCluster.

    python bench/dask.py [--scale 1.0] [--values 2e9] [--rows 1e7] [--block-mb 64]
                         [--workers 2] [--repeats 2] [--cpus host,x86-64-v3]

Defaults are the issue's sizes; --scale multiplies --values and --rows (e.g.
--scale 0.01 for a smoke run). The cluster: `--workers` processes x 1 thread
(tjit's kernels use tjit.config.threads threads inside a task, NumPy one).

(a) a fused elementwise + reduction graph, sum(exp(-x*x)/2 + log1p(|x|) - tanh(x))
    and the mean of squares, over `--values` float64 normals generated block by
    block with tjit's Philox streams (tjit.dask.random, native draws: never
    materialised whole). The same draws feed both engines; "generation only"
    times the draw alone (x.sum()). The speed-up is of the totals (draw + graph);
    "graph" is (total - generation) of each. A last row runs the NumPy graph on
    NumPy's own normals (da.random.default_rng: what a dask.array user would
    draw), its speed-up column also saying how much faster tjit's total is.
(b) one logistic-regression gradient step (cost and gradient) over `--rows` x 100
    row chunks persisted in the workers' memory (a training set): tjit on Dask,
    dask.array + NumPy, and tjit on one machine (the same numbers drawn in this
    process after the cluster is closed; the time of the step alone).

"peak MB/worker" is the largest worker's peak resident memory during the run
(sampled every 10 ms; for (b) it includes the persisted data). The tjit rows are
repeated for every --cpus target (the workers get TJIT_FLAGS=cpu=...; a cluster
per target); NumPy rows run on the host cluster. Prints one table (medians).
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
import _harness as H  # noqa: E402
sys.path.remove(HERE)

H.import_tjit()
import dask.array as da  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

import tjit  # noqa: E402
import tjit.dask as tdk  # noqa: E402
import tjit.tensor as T  # noqa: E402
from tjit.random.streams import PhiloxStreams  # noqa: E402

COLS_A, D_B = 1000, 100


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


def _worker_cpu():
    import tjit
    return tjit.config.cpu


def _compute_here(arrays):
    dask.compute(*arrays, scheduler="sync")


def warm(client, arrays):
    """Compute `arrays` in every worker process (compiles their kernels there)."""
    client.run(_compute_here, arrays)


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


def engine(name, cpu):
    return f"{name} @{cpu}" if cpu else name


# ---- (a) ---------------------------------------------------------------------------
def fused_tjit():
    X = T.dmatrix("X")
    y = T.exp(-X * X) * 0.5 + T.log1p(T.abs_(X)) - T.tanh(X)
    return tdk.function([X], [T.sum(y), T.mean(X * X)], name="fused")


def fused_numpy(x):
    return [da.sum(da.exp(-x * x) * 0.5 + da.log1p(abs(x)) - da.tanh(x)), da.mean(x * x)]


def fused_graph(values, block_rows, repeats, client, cpu, results):
    rows = int(values) // COLS_A

    def draw():
        return tdk.random.normal(PhiloxStreams(2026), (rows, COLS_A), (block_rows, COLS_A))

    f = fused_tjit()
    tiny = tdk.random.normal(PhiloxStreams(1), (8, COLS_A), (2, COLS_A))
    warm(client, f(tiny))  # the draw and the chunk kernels compiled on each worker
    gen = measure(client, lambda: [draw().sum()], repeats)
    tj = measure(client, lambda: f(draw()), repeats)
    results[("a", "gen", cpu)] = gen
    results[("a", "tjit", cpu)] = tj
    if not cpu:
        results[("a", "numpy", "")] = measure(client, lambda: fused_numpy(draw()), repeats)
        rng = lambda: da.random.default_rng(2026).standard_normal(  # noqa: E731
            (rows, COLS_A), chunks=(block_rows, COLS_A))
        results[("a", "numpy-rng", "")] = measure(client, lambda: fused_numpy(rng()), repeats)


def fused_rows(values, cpus, results):
    label = f"(a) fused graph, {int(values) // COLS_A * COLS_A:.2g} values"
    npy = results[("a", "numpy", "")]
    npy_gen = results[("a", "gen", "")][0]
    out = []
    for cpu in cpus:
        gen, tj = results[("a", "gen", cpu)], results[("a", "tjit", cpu)]
        ok = np.allclose(tj[2], npy[2], rtol=1e-9)
        out.append([label, engine("generation only (tjit draws)", cpu), f"{gen[0]:.2f}", "",
                    f"{gen[1]:.0f}", ""])
        out.append([label, engine("tjit on Dask", cpu), f"{tj[0]:.2f}",
                    f"{tj[0] - gen[0]:.2f}", f"{tj[1]:.0f}",
                    f"{npy[0] / tj[0]:.1f}x (graph {(npy[0] - npy_gen) / max(tj[0] - gen[0], 1e-3):.1f}x)"
                    + ("" if ok else " WRONG")])
    out.append([label, "dask.array + NumPy (tjit draws)", f"{npy[0]:.2f}",
                f"{npy[0] - npy_gen:.2f}", f"{npy[1]:.0f}", "1.0x"])
    rng = results[("a", "numpy-rng", "")]
    tj = results[("a", "tjit", "")]
    out.append([label, "dask.array + NumPy (NumPy's normals)", f"{rng[0]:.2f}", "",
                f"{rng[1]:.0f}", f"{npy[0] / rng[0]:.1f}x (tjit {rng[0] / tj[0]:.1f}x faster)"])
    return out


# ---- (b) ---------------------------------------------------------------------------
W0 = np.linspace(-0.05, 0.05, D_B)


def training_set(rows, chunks):
    """(X, y) as dask arrays: X normal (Philox seed 7), y = X[:, 0] > 0."""
    X = tdk.random.normal(PhiloxStreams(7), (rows, D_B), chunks)
    return X, (X[:, 0] > 0).astype("float64")


def logistic_graph():
    w = tjit.shared(W0, name="w")
    Xs, ys = T.dmatrix("X"), T.dvector("y")
    p = T.nnet.sigmoid(T.dot(Xs, w))
    cost = T.mean(-ys * T.log(p) - (1 - ys) * T.log(1 - p))
    return [Xs, ys], [cost, T.grad(cost, w)]


def logistic_numpy(X, y, rows):
    q = 1 / (1 + da.exp(-(X @ W0)))
    c = da.mean(-y * da.log(q) - (1 - y) * da.log(1 - q))
    return [c, X.T @ (q - y) / rows]


def logistic(rows, block_rows, repeats, client, cpu, results):
    ins, outs = logistic_graph()
    f = tdk.function(ins, outs, name="logreg")
    X, y = client.persist(list(training_set(rows, (block_rows, D_B))))
    dask.compute(X.sum(), y.sum())
    dask.compute(*f(X, y))  # warm-up: the kernels (shape constants in them) compiled
    results[("b", "tjit", cpu)] = measure(client, lambda: f(X, y), repeats)
    if not cpu:
        results[("b", "numpy", "")] = measure(client, lambda: logistic_numpy(X, y, rows),
                                              repeats)


def logistic_one_machine(rows, repeats, cpus, results):
    """The same step with tjit on one machine: X drawn here (the numbers the
    workers drew), the time of the compiled step alone."""
    s = PhiloxStreams(7)
    Xn = tjit.function([], s.normal((rows, D_B)))()
    yn = (Xn[:, 0] > 0).astype("float64")
    for cpu in cpus:
        with H.on_cpu(tjit, cpu):
            ins, outs = logistic_graph()
            one = tjit.function(ins, outs)
            got = one(Xn, yn)
            t = H.median_time(lambda: one(Xn, yn), repeats=max(repeats, 3), warmup=0)
        results[("b", "one", cpu)] = (t, None, got)


def logistic_rows(rows, cpus, results):
    label = f"(b) logistic step, {rows:.2g} x {D_B}"
    npy = results[("b", "numpy", "")]
    out = []
    for cpu in cpus:
        for kind, name in (("tjit", "tjit on Dask"), ("one", "tjit, one machine (in memory)")):
            r = results.get(("b", kind, cpu))
            if r is None:
                continue
            ok = np.allclose(r[2][1], npy[2][1], rtol=1e-8, atol=1e-12) and \
                np.allclose(r[2][0], npy[2][0], rtol=1e-10)
            out.append([label, engine(name, cpu), f"{r[0]:.2f}", "",
                        "" if r[1] is None else f"{r[1]:.0f}",
                        f"{npy[0] / r[0]:.1f}x" + ("" if ok else " WRONG")])
    out.append([label, "dask.array + NumPy", f"{npy[0]:.2f}", "", f"{npy[1]:.0f}", "1.0x"])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies --values and --rows")
    ap.add_argument("--values", type=float, default=2e9, help="(a): values drawn and reduced")
    ap.add_argument("--rows", type=float, default=1e7, help="(b): rows of 100 float64")
    ap.add_argument("--block-mb", type=float, default=64, help="MB of float64 per block")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--parts", default="a,b", help="which of (a), (b) to run")
    ap.add_argument("--no-one-machine", action="store_true",
                    help="(b): skip tjit on one machine (it holds the whole data set)")
    H.add_cpus_argument(ap)
    a = ap.parse_args()
    values, rows = int(a.values * a.scale), int(a.rows * a.scale)
    parts = set(a.parts.split(","))
    cpus = [""] + H.other_cpus(tjit, a.cpus)
    results = {}
    for cpu in cpus:
        # in the environment the worker processes start with (they import this
        # script, so tjit, as they start); this process's tjit read it long ago
        old = os.environ.get("TJIT_FLAGS")
        os.environ["TJIT_FLAGS"] = ",".join(f for f in (old, f"cpu={cpu or 'host'}") if f)
        try:
            cluster = LocalCluster(processes=True, n_workers=a.workers, threads_per_worker=1,
                                   host="127.0.0.1", dashboard_address=None)
        finally:
            if old is None:
                del os.environ["TJIT_FLAGS"]
            else:
                os.environ["TJIT_FLAGS"] = old
        client = Client(cluster)
        try:
            got = set(client.run(_worker_cpu).values())
            assert got == {cpu or "host"}, f"the workers compile for {got}, not {cpu or 'host'}"
            if "a" in parts:
                fused_graph(values, max(1, int(a.block_mb * 2 ** 20 / 8 / COLS_A)),
                            a.repeats, client, cpu, results)
            if "b" in parts:
                logistic(rows, max(1, int(a.block_mb * 2 ** 20 / 8 / D_B)), a.repeats,
                         client, cpu, results)
        finally:
            client.close()
            cluster.close()
    if "b" in parts and not a.no_one_machine:
        logistic_one_machine(rows, a.repeats, cpus, results)
    table = []
    if "a" in parts:
        table += fused_rows(values, cpus, results)
    if "b" in parts:
        table += logistic_rows(rows, cpus, results)
    print(f"{a.workers} worker processes x 1 thread (tjit.config.threads={tjit.config.threads} "
          f"inside a task), blocks of {a.block_mb:g} MB, medians of {a.repeats}")
    H.print_table(["graph", "engine", "seconds", "graph s", "peak MB/worker", "speed-up"], table)


if __name__ == "__main__":
    main()
