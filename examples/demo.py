"""tjit demo: a Theano program compiled to native code through LLVM.

    python examples/demo.py

1. The basics: a function with a default input (In), a shared variable updated on
   every call, and pp's infix printing of a graph.
2. A fused elementwise program, W1 = exp(-x*x)*a + log1p(abs(x))*0.5 - tanh(x) on
   float64 vectors of 10**6 elements, checked against NumPy and timed against it.
Exits non-zero if tjit's result differs from NumPy's.
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


def main():
    ok = basics()
    ok = w1() and ok
    if not ok:
        print("demo FAILED: results differ from NumPy", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
