"""tjit demo: a Theano program compiled to native code through LLVM.

    python examples/demo.py

1. The basics: a function with a default input (In), a shared variable updated on
   every call, and pp's infix printing of a graph.
2. A fused elementwise program, W1 = exp(-x*x)*a + log1p(abs(x))*0.5 - tanh(x) on
   float64 vectors of 10**6 elements, checked against NumPy and timed against it.
3. Logistic regression trained by gradient descent (T.grad, shared weights,
   updates) on 100,000 rows of 100 features, compared step by step with a NumPy
   implementation of the same math, then the time of one training step against
   NumPy and, when installed, JAX, PyTensor and a hand-written Numba loop
   (bench/training.py's versions; none of them is a dependency of tjit).
Exits non-zero if tjit's results differ from NumPy's.
"""
import os
import statistics
import sys
import time

import numpy as np

try:
    import tjit as theano
except ImportError:  # run from a checkout that is not pip-installed
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import tjit as theano
import tjit.tensor as T


def basics():
    print("== basics ==")
    x = T.dvector("x")
    a = T.dscalar("a")
    calls = theano.shared(0.0, name="calls")
    y = T.exp(-x * x) * a + T.log1p(T.abs_(x)) * 0.5 - T.tanh(x)

    # `a` defaults to 2.0 and may be given by name; each call adds 1 to `calls`.
    f = theano.function([x, theano.In(a, value=2.0)], y, updates=[(calls, calls + 1)])
    xs = np.array([-1.0, 0.0, 0.5, 2.0])
    print("f(xs)       =", f(xs))
    print("f(xs, a=3)  =", f(xs, a=3.0))
    print("calls       =", calls.get_value())
    print("pp(y)       =", theano.pp(y))

    ok = np.allclose(f(xs), np.exp(-xs * xs) * 2.0 + np.log1p(np.abs(xs)) * 0.5 - np.tanh(xs))
    ok = ok and float(calls.get_value()) == 3.0
    print()
    return ok


def median_ms(fn, repeats=7):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def w1(n=10**6):
    print(f"== W1: exp(-x*x)*a + log1p(abs(x))*0.5 - tanh(x), float64, n = {n} ==")
    x = T.dvector("x")
    a = T.dvector("a")
    y = T.exp(-x * x) * a + T.log1p(T.abs_(x)) * 0.5 - T.tanh(x)

    t0 = time.perf_counter()
    f = theano.function([x, a], y)
    rng = np.random.default_rng(0)
    xv = rng.standard_normal(n)
    av = rng.standard_normal(n)
    got = f(xv, av)
    compile_ms = (time.perf_counter() - t0) * 1e3

    def numpy_w1():
        return np.exp(-xv * xv) * av + np.log1p(np.abs(xv)) * 0.5 - np.tanh(xv)

    expected = numpy_w1()
    ok = got.shape == expected.shape and np.allclose(got, expected)
    if not ok:
        print("WRONG: tjit's result differs from NumPy's; max abs difference",
              np.max(np.abs(np.asarray(got, dtype=np.float64) - expected)))
        return False

    t_numpy = median_ms(numpy_w1)
    t_tjit = median_ms(lambda: f(xv, av))
    print(f"{'impl':<6} {'ms':>9} {'speed-up':>9}")
    print(f"{'numpy':<6} {t_numpy:>9.2f} {1.0:>8.2f}x")
    print(f"{'tjit':<6} {t_tjit:>9.2f} {t_numpy / t_tjit:>8.2f}x")
    print(f"(median of 7 runs after a warm-up; tjit compile + first call: {compile_ms:.0f} ms)")
    return True


def peer_steps(data, labels, w0):
    """{name: (step, check)} for the peers installed next to tjit (JAX, PyTensor,
    Numba), built by bench/training.py when this is a checkout; {} otherwise."""
    bench = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")
    if not os.path.exists(os.path.join(bench, "training.py")):
        return {}
    sys.path.insert(0, bench)
    try:
        import training as W5
        import _harness
    except ImportError:
        return {}
    finally:
        sys.path.remove(bench)
    peers = _harness.installed_peers()
    names = [p for p in ("jax", "pytensor") if p in peers]
    if "numba" in peers:
        names += ["numba 1 thread", "numba 2 threads"]
    return {name: W5.MAKERS[name] for name in names}, W5


def logistic_regression(n=100_000, features=100, steps=60, lr=0.1):
    print(f"== logistic regression: {n} rows, {features} features, float64, {steps} steps ==")
    rng = np.random.default_rng(1)
    true_w = rng.standard_normal(features)
    data = rng.standard_normal((n, features))
    labels = (data @ true_w + 0.5 * rng.standard_normal(n) > 0).astype(np.float64)

    X, y = T.dmatrix("X"), T.dvector("y")
    w = theano.shared(0.01 * rng.standard_normal(features), name="w")
    b = theano.shared(0.0, name="b")
    w0 = w.get_value()
    p = T.nnet.sigmoid(T.dot(X, w) + b)
    cost = T.nnet.binary_crossentropy(p, y).mean() + 0.01 * (w ** 2).sum()
    gw, gb = T.grad(cost, [w, b])
    t0 = time.perf_counter()
    train = theano.function([X, y], cost, updates=[(w, w - lr * gw), (b, b - lr * gb)])
    predict = theano.function([X], p > 0.5)
    compile_ms = (time.perf_counter() - t0) * 1e3

    state = {"w": w0.copy(), "b": 0.0}

    def numpy_step():
        z = data @ state["w"] + state["b"]
        q = 1 / (1 + np.exp(-z))
        c = -np.mean(labels * np.log(q) + (1 - labels) * np.log1p(-q)) \
            + 0.01 * np.sum(state["w"] ** 2)
        g = (q - labels) / n
        state["w"] = state["w"] - lr * (data.T @ g + 0.02 * state["w"])
        state["b"] = state["b"] - lr * g.sum()
        return c

    ok = True
    for step in range(steps):
        c_tjit = float(train(data, labels))
        c_numpy = numpy_step()
        ok = ok and np.isclose(c_tjit, c_numpy, rtol=1e-9)
        if step in (0, steps // 2, steps - 1):
            print(f"step {step:4d}  cost tjit {c_tjit:.6f}  numpy {c_numpy:.6f}")
    ok = ok and np.allclose(w.get_value(), state["w"], rtol=1e-8, atol=1e-12)
    accuracy = np.mean(predict(data) == (labels > 0.5))
    # timed in blocks, one implementation at a time: BLAS's worker threads keep
    # spinning for a while after a call and would slow whatever runs right after
    times = {"tjit": median_ms(lambda: train(data, labels), repeats=9) / 1e3,
             "numpy": median_ms(numpy_step, repeats=9) / 1e3}

    # peers (when installed): each first checked against NumPy on one step from w0
    found = peer_steps(data, labels, w0)
    if found:
        makers, W5 = found
        z = data @ w0
        q = 1 / (1 + np.exp(-z))
        g = (q - labels) / n
        expected = (float(np.mean(np.logaddexp(0, z) - labels * z) + 0.01 * np.sum(w0 ** 2)),
                    w0 - W5.LR * (data.T @ g + 0.02 * w0), -W5.LR * g.sum())
        for name, maker in makers.items():
            try:
                if not W5.check(maker, data, labels, w0, 0.0, expected):
                    times[name] = "WRONG"
                    continue
                step_fn, _ = maker(data, labels, w0, 0.0)
                times[name] = median_ms(step_fn, repeats=7) / 1e3
            except Exception as exc:  # a peer that fails is reported, not fatal
                times[name] = f"failed: {type(exc).__name__}: {str(exc)[:60]}"

    print(f"{'impl':<16} {'ms/step':>8} {'vs numpy':>9}")
    for name, t in times.items():
        if isinstance(t, float):
            print(f"{name:<16} {t * 1e3:>8.2f} {times['numpy'] / t:>8.2f}x")
        else:
            print(f"{name:<16} {t:>8}")
    print(f"training accuracy {accuracy:.3f}; weights match NumPy's: {ok}; "
          f"tjit compile {compile_ms:.0f} ms")
    return ok


def main():
    ok = basics()
    ok = w1() and ok
    print()
    ok = logistic_regression() and ok
    if not ok:
        print("demo FAILED: results differ from NumPy", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
