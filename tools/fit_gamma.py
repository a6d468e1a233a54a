"""Fits and checks the constants of tjit/codegen/vecmath/gamma.py, measures its error.

    python tools/fit_gamma.py [N] [CPU]

1. Stirling's correction S(y) = log gamma(y) - ((y - 1/2) log y - y + log(2 pi)/2)
   for y >= T: y S(y) as a polynomial Q in t = 1/y**2, fitted by least squares at
   60 Chebyshev nodes of [0, 1/T**2] against mpmath (60 digits); prints the fit
   and its max absolute error in S (what adds to the relative error of gamma),
   and checks the stored coefficients are these. sin(pi r)/r: Taylor coefficients,
   checked; the truncation error at r = 1/2 is printed.
2. A sweep: N random float64 points (default 20000) spread over the whole domain
   (uniform in [-185, 172], log-uniform magnitudes, points near the poles), and
   the float32 values of the same points, computed by tjit (for CPU, default host)
   and by SciPy, errors in ulps against mpmath (subnormal results in ulps of the
   subnormal spacing). Prints the max errors and where they occur.
"""
from __future__ import annotations

import sys

import mpmath
import numpy as np
import scipy.special as sp

sys.path.insert(0, ".")
import tjit as theano                                   # noqa: E402
import tjit.tensor as T                                 # noqa: E402
from tjit.codegen.vecmath import gamma as g             # noqa: E402

mpmath.mp.dps = 60


def stirling_q(t):
    """y S(y) at t = 1/y**2."""
    y = 1 / mpmath.sqrt(t)
    s = mpmath.loggamma(y) - ((y - 0.5) * mpmath.log(y) - y + mpmath.log(2 * mpmath.pi) / 2)
    return s * y


def fit_stirling(threshold, degree, nodes=60):
    top = mpmath.mpf(1) / threshold ** 2
    ts = [top / 2 * (1 - mpmath.cos(mpmath.pi * (i + 0.5) / nodes)) for i in range(nodes)]
    a = mpmath.matrix([[t ** j for j in range(degree + 1)] for t in ts])
    c = mpmath.lu_solve(a.T * a, a.T * mpmath.matrix([stirling_q(t) for t in ts]))
    coefficients = [float(c[j]) for j in range(degree + 1)]
    grid = [top * i / 400 for i in range(1, 401)]
    err = max(abs(sum(mpmath.mpf(cj) * t ** j for j, cj in enumerate(coefficients))
                  - stirling_q(t)) * mpmath.sqrt(t) for t in grid)
    return coefficients, err


def check_constants():
    for p, name, dtype in [(g.GAMMA64, "float64", np.float64), (g.GAMMA32, "float32", np.float32)]:
        coefficients, err = fit_stirling(p.threshold, len(p.stirling) - 1)
        print("%s: Q %r\n   |S error| <= %.2e (2**%.1f) for y >= %g"
              % (name, coefficients, err, mpmath.log(err, 2), p.threshold))
        assert list(p.stirling) == coefficients, name
        j = p.sinpi_terms
        sin_omitted = mpmath.pi ** (2 * j + 1) / mpmath.factorial(2 * j + 1) / 2 ** (2 * j + 1)
        print("   sin(pi r): %d Taylor terms, truncation < %.2e at r = 1/2" % (j, sin_omitted))
    for j, c in enumerate(g.SINPI):
        assert c == float((-1) ** j * mpmath.pi ** (2 * j + 1) / mpmath.factorial(2 * j + 1)), j


def sample(n, rng):
    poles = -np.arange(1, 180)[rng.integers(0, 179, n // 10)]
    near_poles = poles + rng.choice([-1, 1], poles.size) * 10.0 ** rng.uniform(-15, -1, poles.size)
    return np.concatenate([
        rng.uniform(-185, 172, n // 2), rng.uniform(-10, 10, n // 5),
        rng.choice([-1, 1], n // 10) * 10.0 ** rng.uniform(-20, 2.25, n // 10), near_poles,
        rng.uniform(0, 35.1, n // 10)])


def mp_gamma(xs):
    out = []
    for x in xs:
        try:
            out.append(mpmath.gamma(mpmath.mpf(float(x))))
        except (ValueError, ZeroDivisionError):
            out.append(mpmath.mpf("nan"))
    return out


def ulps(got, want, dtype):
    """|got - want| in ulps of want rounded to dtype (subnormals: the smallest
    normal's ulp)."""
    info = np.finfo(dtype)
    errs = np.empty(len(got))
    for i, (a, w) in enumerate(zip(got, want)):
        if mpmath.isnan(w):
            errs[i] = 0.0 if np.isnan(a) else np.inf
            continue
        r = np.array(float(w)).astype(dtype)
        if np.isinf(r):
            errs[i] = 0.0 if a == r else np.inf
            continue
        u = max(float(np.spacing(np.abs(r))), float(info.tiny) * float(info.eps))
        errs[i] = float(abs(mpmath.mpf(float(a)) - w)) / u
    return errs


def sweep(n, cpu):
    rng = np.random.default_rng(3)
    x64 = sample(n, rng)
    x32 = x64.astype(np.float32)
    with theano.config.change_flags(cpu=cpu, threads=1):
        v = T.dvector()
        w = T.fvector()
        f = theano.function([v, w], [T.gamma(v), T.gamma(w)])
    with np.errstate(all="ignore"):
        got64, got32 = f(x64, x32)
        sp64, sp32 = sp.gamma(x64), sp.gamma(x32)
    for name, x, got, ref, dtype in [("float64", x64, got64, sp64, np.float64),
                                     ("float32", x32, got32, sp32, np.float32)]:
        want = mp_gamma(x)
        e = ulps(got, want, dtype)
        es = ulps(ref, want, dtype)
        k, ks = int(np.argmax(e)), int(np.argmax(es))
        print("%s tjit (%s): max %.2f ulp at x = %r (mean %.3f); SciPy: max %.2f ulp at x = %r"
              % (name, cpu, e[k], float(x[k]), float(np.mean(e)), es[ks], float(x[ks])))
        for lo, hi in [(-200, 0), (0, 1e-300), (1e-300, 0.5), (0.5, 8), (8, 200)]:
            sel = (x >= lo) & (x < hi)
            if sel.any():
                print("   x in [%g, %g): tjit max %.2f, SciPy max %.2f (%d points)"
                      % (lo, hi, e[sel].max(), es[sel].max(), sel.sum()))


if __name__ == "__main__":
    check_constants()
    sweep(int(sys.argv[1]) if len(sys.argv) > 1 else 20000,
          sys.argv[2] if len(sys.argv) > 2 else "host")
