"""Accuracy sweep of tjit's j0/j1 (vecmath/bessel_j.py) against mpmath, beside
SciPy's and glibc's (today's libm j0/j1) errors on the same points.

Points (N = 3000 by default): uniform on [0, 5] and [5, 50], log-uniform on [50, 1e6] and [1e6, 1e300],
the first 30 zeros of J0 and J1 nudged by relative -1e-15 .. 1e-7, powers of 2
down to 2**-60. Errors: ulps of the exact value where |J| > amplitude/8
(amplitude = min(1, sqrt(2/(pi x)))), also for x <= 1000 only (SciPy
does not reduce huge x accurately), ulps at x <= 5 (the first zero
included), and everywhere the absolute error in ulps of the amplitude.

Run: PYTHONPATH=. python tools/sweep_bessel_j.py [N]   (N points per range; ~1 min)
"""
import ctypes
import ctypes.util
import os
import sys

import mpmath as mp
import numpy as np
import scipy.special as sp

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import tjit as theano  # noqa: E402
import tjit.tensor as T  # noqa: E402

mp.mp.dps = 40


def points(n, rng):
    zeros = [float(mp.besseljzero(nu, k)) for nu in (0, 1) for k in range(1, 31)]
    nudges = np.array([-1e-15, -1e-9, -1e-6, 0.0, 1e-12, 1e-7])
    return np.concatenate([rng.uniform(0, 5, n), rng.uniform(5, 50, n),
                           np.exp(rng.uniform(np.log(50), np.log(1e6), n // 2)),
                           10.0 ** rng.uniform(6, 300, n // 10),
                           (np.array(zeros)[:, None] * (1 + nudges)).ravel(),
                           2.0 ** -np.arange(1, 60)])


def reference(order, xs):
    hi = np.empty_like(xs)
    lo = np.empty_like(xs)
    for i, v in enumerate(xs):
        exact = mp.besselj(order, mp.mpf(float(v)))
        hi[i] = float(exact)
        lo[i] = float(exact - mp.mpf(hi[i]))
    return hi, lo


def errors(got, hi, lo, xs, dtype):
    """(max ulps where |J| > amplitude/8: all x, x <= 1000; max ulps at x <= 5; max
    |error|/ulp(amplitude))."""
    amp = np.minimum(1.0, np.sqrt(2 / np.pi / xs))
    with np.errstate(all="ignore"):
        err = np.abs((got.astype(np.float64) - hi) - lo)
        rel = err / np.spacing(np.abs(hi.astype(dtype))).astype(np.float64)
        absolute = err / np.spacing(amp.astype(dtype)).astype(np.float64)
    away = np.abs(hi) > amp / 8
    return rel[away].max(), rel[away & (xs <= 1000)].max(), rel[xs <= 5].max(), absolute.max()


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    xs64 = points(n, np.random.default_rng(5))
    libm = ctypes.CDLL(ctypes.util.find_library("m"))
    glibc = {}
    for name in ("j0", "j1"):
        fn = getattr(libm, name)
        fn.restype, fn.argtypes = ctypes.c_double, [ctypes.c_double]
        glibc[name] = np.vectorize(fn, otypes=[np.float64])
    for dtype in (np.float64, np.float32):
        with np.errstate(over="ignore"):
            xs = xs64.astype(dtype)
        xs = xs[np.isfinite(xs)]
        x = T.vector(dtype=np.dtype(dtype).name)
        f = theano.function([x], [T.j0(x), T.j1(x)])
        ours = f(xs)
        wide = xs.astype(np.float64)
        for order, name in enumerate(("j0", "j1")):
            hi, lo = reference(order, wide)
            rows = [("tjit", ours[order]), ("SciPy", getattr(sp, name)(wide).astype(dtype)),
                    ("glibc", glibc[name](wide).astype(dtype))]
            for who, got in rows:
                print("%-7s %-5s %-6s ulps (|J| > amp/8) %9.3g, x <= 1000: %9.3g   "
                      "ulps x <= 5 %9.3g   |err|/ulp(amp) %9.3g" % (np.dtype(dtype).name, name, who,
                                                 *errors(got, hi, lo, wide, dtype)))


if __name__ == "__main__":
    main()
