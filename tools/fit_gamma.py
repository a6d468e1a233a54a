"""Checks the constants of tjit/codegen/vecmath/gamma.py and measures its error.

    python tools/fit_gamma.py [N] [CPU]

1. The coefficients (no fit: Stirling's series has Bernoulli-number coefficients
   and sin(pi r) its Taylor ones, both known exactly): prints the truncation error
   of each at the end of its interval, with mpmath at 60 digits, and checks that the
   stored constants are the correctly rounded values.
2. A sweep: N random float64 points (default 20000) spread over the whole domain
   (uniform in [-185, 172], log-uniform magnitudes, points near the poles), and
   the float32 values of the same points, computed by tjit (for CPU, default host)
   and by SciPy, errors in ulps against mpmath (denormal results in ulps of the
   smallest normal's spacing). Prints the max errors and where they occur.
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


def check_constants():
    for k, c in enumerate(g.STIRLING, 1):
        assert c == float(mpmath.bernoulli(2 * k) / (2 * k * (2 * k - 1))), k
    for j, c in enumerate(g.SINPI):
        assert c == float((-1) ** j * mpmath.pi ** (2 * j + 1) / mpmath.factorial(2 * j + 1)), j
    for p, name in [(g.GAMMA64, "float64"), (g.GAMMA32, "float32")]:
        y = mpmath.mpf(p.threshold)
        k = p.stirling_terms + 1
        omitted = abs(mpmath.bernoulli(2 * k) / (2 * k * (2 * k - 1) * y ** (2 * k - 1)))
        j = p.sinpi_terms
        sin_omitted = mpmath.pi ** (2 * j + 1) / mpmath.factorial(2 * j + 1) / 2 ** (2 * j + 1)
        print("%s: Stirling %d terms from y = %g: truncation < %.2e (2**%.1f); "
              "sin(pi r) %d terms: < %.2e at r = 1/2"
              % (name, p.stirling_terms, p.threshold, omitted, mpmath.log(omitted, 2), j,
                 sin_omitted))


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
