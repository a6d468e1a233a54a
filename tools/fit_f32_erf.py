"""Fit the float32 erf/erfc polynomials of tjit/codegen/vecmath/erf32.py.

Least squares on Chebyshev nodes in mpmath (50 digits), then the coefficients
are rounded to float32 one at a time, lowest degree first, refitting the rest
after each rounding (so the rounding of one is absorbed by the others). Prints
each fit's max error after rounding, evaluated in float64.

    python tools/fit_f32_erf.py
"""
from __future__ import annotations

import mpmath as mp
import numpy as np

mp.mp.dps = 50


def f32(v):
    return float(np.float32(float(v)))


def nodes(lo, hi, n):
    return [mp.mpf(lo) + (mp.mpf(hi) - lo) * (1 - mp.cos(mp.pi * (k + mp.mpf(1) / 2) / n)) / 2
            for k in range(n)]


def lsq(ts, ys, ws, degree, fixed):
    """Coefficients c[0..degree] minimizing sum w (sum c t**k - y)**2, the
    first len(fixed) given."""
    free = list(range(len(fixed), degree + 1))
    A = mp.matrix(len(ts), len(free))
    b = mp.matrix(len(ts), 1)
    for i, (t, y, w) in enumerate(zip(ts, ys, ws)):
        r = y - sum(c * t ** k for k, c in enumerate(fixed))
        b[i] = r * w
        for j, k in enumerate(free):
            A[i, j] = t ** k * w
    sol, _ = mp.qr_solve(A, b)
    return list(fixed) + [sol[j] for j in range(len(free))]


def fit(fn, lo, hi, degree, relative=False, fixed=(), n=160):
    ts = nodes(lo, hi, n)
    ys = [fn(t) for t in ts]
    ws = [1 / abs(y) if relative else mp.mpf(1) for y in ys]
    coeffs = list(fixed)      # exact: not rounded
    while len(coeffs) <= degree:
        c = lsq(ts, ys, ws, degree, [mp.mpf(x) for x in coeffs])
        coeffs.append(f32(c[len(coeffs)]))
    # the rounded coefficients' error (evaluated in float64: the float32
    # evaluation's own roundings are measured on the library itself)
    grid = np.linspace(lo, hi, 4001)
    acc = np.full(grid.shape, coeffs[-1])
    for c in reversed(coeffs[:-1]):
        acc = acc * grid + c
    want = np.array([float(fn(mp.mpf(float(t)))) for t in grid])
    err = np.abs(acc - want) / (np.abs(want) if relative else 1.0)
    return coeffs, float(err.max())


def erf_over_x(u):            # erf(x)/x, u = x**2
    if u == 0:
        return 2 / mp.sqrt(mp.pi)
    x = mp.sqrt(u)
    return mp.erf(x) / x


def log_erfcx(a):              # log(erfc(a) exp(a**2)) = V1(a), a in [0, 1]
    return mp.log(mp.erfc(a)) + a * a


def log_a_erfcx(w):            # log(a erfc(a) exp(a**2)), w = 1/a
    a = 1 / w
    return mp.log(a * mp.erfc(a)) + a * a


# V2's variable: s = ALPHA w + BETA maps w = 1/a in [1/A_MAX, 1] onto [-1, 1]
A_MAX = 10.5
ALPHA = f32(2 / (1 - 1 / A_MAX))
BETA = f32(-1 - ALPHA / A_MAX)


def v2_of_s(s):
    return log_a_erfcx((s - BETA) / ALPHA)


def pairs(coeffs):
    """Print the leading (exact) coefficients as float32 (hi, lo) pairs."""
    return [(f32(c), f32(c - f32(c))) if isinstance(c, mp.mpf) else c for c in coeffs]


if __name__ == "__main__":
    import sys
    which = sys.argv[1:] or ["E", "V1", "V2"]
    if "E" in which:
        for d in range(5, 9):
            c, e = fit(erf_over_x, 0, 1, d, relative=True, fixed=(2 / mp.sqrt(mp.pi),))
            print("E deg", d, "rel err 2**%.2f" % np.log2(e), pairs(c))
    if "V1" in which:
        for d in range(8, 13):
            c, e = fit(log_erfcx, 0, 1, d, fixed=(mp.mpf(0), -2 / mp.sqrt(mp.pi)))
            print("V1 deg", d, "abs err 2**%.2f" % np.log2(e), pairs(c))
    if "V2" in which:
        print("ALPHA, BETA =", ALPHA, BETA)
        lo = BETA + ALPHA / A_MAX
        for d in range(9, 14):
            ts = nodes(lo, 1, 160)
            exact = lsq(ts, [v2_of_s(t) for t in ts], [1] * len(ts), d, [])
            c, e = fit(v2_of_s, lo, 1, d, fixed=exact[:2])
            print("V2 deg", d, "abs err 2**%.2f" % np.log2(e), pairs(c))
