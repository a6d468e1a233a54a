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
    near_zeros = rng.choice([1.0, 2.0], n // 20) + rng.choice([-1, 1], n // 20) * 10.0 ** rng.uniform(
        -12, -0.5, n // 20)
    return np.concatenate([
        rng.uniform(-185, 172, n // 2), rng.uniform(-10, 10, n // 5),
        rng.choice([-1, 1], n // 10) * 10.0 ** rng.uniform(-20, 2.25, n // 10), near_poles,
        rng.uniform(0, 35.1, n // 10), near_zeros,
        rng.choice([-1, 1], n // 20) * 10.0 ** rng.uniform(2.25, 305, n // 20)])


def mp_reference(name, xs):
    out = []
    for x in xs:
        x = mpmath.mpf(float(x))
        if not mpmath.isfinite(x) or (x <= 0 and x == int(x)):
            out.append(mpmath.mpf("nan"))      # poles: checked by the tests, not here
        elif name == "gamma":
            out.append(mpmath.gamma(x) if x > -1e4 else mpmath.mpf(0))
        else:
            out.append(mpmath.re(mpmath.loggamma(x)))
    return out


def errors(got, want, dtype):
    """(ulps, absolute): |got - want| in ulps of want rounded to dtype (subnormals:
    ulps of the subnormal spacing), and absolute."""
    info = np.finfo(dtype)
    errs, absolute = np.zeros(len(got)), np.zeros(len(got))
    for i, (a, w) in enumerate(zip(got, want)):
        if mpmath.isnan(w):
            continue
        r = np.array(float(w)).astype(dtype)
        if np.isinf(r):
            errs[i] = absolute[i] = 0.0 if a == r else np.inf
            continue
        u = max(float(np.spacing(np.abs(r))), float(info.tiny) * float(info.eps))
        absolute[i] = float(abs(mpmath.mpf(float(a)) - w))
        errs[i] = absolute[i] / u
    return errs, absolute


RANGES = {"gamma": [(-200, -171.6), (-171.6, 0), (0, 0.5), (0.5, 8), (8, 172)],
          "gammaln": [(-1e306, -10), (-10, 0), (0, 0.5), (0.5, 3), (3, 1e306)]}


def sweep(n, cpu):
    rng = np.random.default_rng(3)
    x64 = sample(n, rng)
    x32 = x64.astype(np.float32)
    with theano.config.change_flags(cpu=cpu, threads=1):
        v = T.dvector()
        w = T.fvector()
        f = theano.function([v, w], [T.gamma(v), T.gamma(w), T.gammaln(v), T.gammaln(w)])
    with np.errstate(all="ignore"):
        outs = f(x64, x32)
    for j, (name, dtype) in enumerate([("gamma", np.float64), ("gamma", np.float32),
                                       ("gammaln", np.float64), ("gammaln", np.float32)]):
        x = x64 if dtype == np.float64 else x32
        got = outs[j]
        with np.errstate(all="ignore"):
            ref = getattr(sp, name)(x)
        want = mp_reference(name, x)
        e, a = errors(got, want, dtype)
        es, as_ = errors(ref, want, dtype)
        # near the zeros of log|gamma| at negative x: absolute errors (as Cephes)
        relative = np.ones(len(x), bool)
        if name == "gammaln":
            relative = ~((x < 0) & (np.abs(np.array([float(w) for w in want])) < 0.5))
        k, ks = int(np.argmax(np.where(relative, e, 0))), int(np.argmax(np.where(relative, es, 0)))
        print("%s %s tjit (%s): max %.2f ulp at x = %r; SciPy: max %.2f ulp at x = %r"
              % (name, np.dtype(dtype).name, cpu, e[k], float(x[k]), es[ks], float(x[ks])))
        for lo, hi in RANGES[name]:
            sel = (x >= lo) & (x < hi) & relative
            if sel.any():
                print("   x in [%g, %g): tjit max %.2f ulp, SciPy max %.2f ulp (%d points)"
                      % (lo, hi, e[sel].max(), es[sel].max(), sel.sum()))
        if not relative.all():
            print("   x < 0 and |log|gamma|| < 0.5: tjit max abs %.2e, SciPy max abs %.2e (%d points)"
                  % (a[~relative].max(), as_[~relative].max(), (~relative).sum()))


if __name__ == "__main__":
    check_constants()
    sweep(int(sys.argv[1]) if len(sys.argv) > 1 else 20000,
          sys.argv[2] if len(sys.argv) > 2 else "host")
