"""Constants of tjit/codegen/vecmath/digamma.py, from mpmath (40 digits).

- the first negative root of psi, r = -0.50408..., as hi + lo (float64 and
  float32) and the Taylor coefficients of psi(r + d) = sum c_n d**n,
  c_n = (-1)**(n + 1) zeta(n + 1, r), with the truncation error at the window's
  edge |d| = NEG_ROOT_WINDOW relative to psi there;
- the relative error on [1, 2] of Boost's digamma_imp_1_2 rationals (their
  float64 coefficients, evaluated exactly: the fits' own error).

Run: python tools/fit_digamma.py (prints the constants and errors);
python tools/fit_digamma.py --sweep N [--cpu CPU]: tjit's psi (float64, and
float32 on the same points rounded) and SciPy's against mpmath on N random
points per region (docs/accuracy.md has the table).
"""
from __future__ import annotations

import argparse
import os
import sys

import mpmath
import numpy as np
import scipy.special as sp

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tjit.codegen.vecmath import digamma as dg  # noqa: E402

mpmath.mp.dps = 40


def negative_root():
    r = mpmath.findroot(mpmath.digamma, mpmath.mpf("-0.504"))
    hi64 = float(r)
    hi32 = float(np.float32(hi64))
    return r, (hi64, float(r - hi64)), (hi32, float(np.float32(float(r - hi32))))


def taylor(r, terms):
    return [float((-1) ** (n + 1) * mpmath.zeta(n + 1, r)) for n in range(1, terms + 1)]


def truncation(r, terms, window):
    edge = r + window
    tail = sum(abs((-1) ** (n + 1) * mpmath.zeta(n + 1, r)) * window ** n
               for n in range(terms + 1, terms + 40))
    return float(tail / abs(mpmath.digamma(edge)))


def rational_error(p):
    worst = 0.0
    for z in np.linspace(1.0, 2.0, 4001):
        t = mpmath.mpf(z) - 1
        g = t - sum(mpmath.mpf(part) for part in p.root) + 1
        value = g * dg.Y + g * mpmath.polyval(p.p[::-1], t) / mpmath.polyval(p.q[::-1], t)
        exact = mpmath.digamma(mpmath.mpf(z))
        worst = max(worst, float(abs((value - exact) / exact)))
    return worst


NEG_ROOT = -0.5040830082644554
REGIONS = {   # name: (low, high) of x, or a callable rng, n -> x
    "(0, 1)": (0.0, 1.0), "[1, 2]": (1.0, 2.0), "[2, 7]": (2.0, 7.0), "[7, 20]": (7.0, 20.0),
    "1e-300 .. 1e300": lambda rng, n: 10 ** rng.uniform(-300, 300, n),
    "(-20, 0)": (-20.0, 0.0),
    "-1e15 .. -20": lambda rng, n: -(10 ** rng.uniform(np.log10(20), 15, n)),
    "first negative root +-0.1": (NEG_ROOT - 0.1, NEG_ROOT + 0.1)}


def _reference(x):
    hi, lo = np.empty_like(x), np.empty_like(x)
    for i, v in enumerate(x):
        r = mpmath.digamma(mpmath.mpf(float(v)))
        hi[i] = float(r)
        lo[i] = float(r - hi[i])
    return hi, lo


def _errors(got, x, hi, lo, dtype):
    """(max ulp, max abs error in ulps of max(|psi(x)|, |psi(1 - x)|, |pi cot(pi x)|))."""
    with np.errstate(over="ignore"):
        keep = np.isfinite(hi.astype(dtype))          # psi(x) itself within range
    got, x, hi, lo = got[keep].astype(np.float64), x[keep], hi[keep], lo[keep]
    rounded = hi.astype(dtype)
    rel = np.abs(got - hi - lo) / np.spacing(np.abs(rounded)).astype(np.float64)
    with np.errstate(all="ignore"):
        cot = np.abs(np.pi / np.tan(np.pi * (x - np.rint(x))))
        other = np.where(x < 0, np.maximum(np.abs(sp.psi(1 - x)), cot), 0.0)
    scale = np.maximum(np.abs(hi), other)
    absolute = np.abs(got - hi - lo) / np.spacing(scale.astype(dtype)).astype(np.float64)
    return rel.max(), absolute.max()


def sweep(n, cpu):
    import tjit as theano
    import tjit.tensor as T
    x64, x32 = T.dvector(), T.fvector()
    with theano.config.change_flags(cpu=cpu, threads=1):
        f = theano.function([x64, x32], [T.psi(x64), T.psi(x32)])
    rng = np.random.default_rng(0)
    print("| region | tjit f64 ulp | SciPy f64 ulp | tjit f64 abs | SciPy f64 abs "
          "| tjit f32 ulp | tjit f32 abs |")
    print("|---|---|---|---|---|---|---|")
    for name, region in REGIONS.items():
        x = region(rng, n) if callable(region) else rng.uniform(*region, n)
        x = x[(x != 0) & ~((x < 0) & (x == np.rint(x)))]
        with np.errstate(over="ignore"):
            x32 = x.astype(np.float32)
        x32 = x32[np.isfinite(x32) & (x32 != 0) & ~((x32 < 0) & (x32 == np.rint(x32)))]
        got64, got32 = f(x, x32)
        hi, lo = _reference(x)
        hi32, lo32 = _reference(x32.astype(np.float64))
        t_rel, t_abs = _errors(got64, x, hi, lo, np.float64)
        s_rel, s_abs = _errors(sp.psi(x), x, hi, lo, np.float64)
        f_rel, f_abs = _errors(got32, x32.astype(np.float64), hi32, lo32, np.float32)
        print("| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |"
              % (name, t_rel, s_rel, t_abs, s_abs, f_rel, f_abs))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--sweep", type=int, default=0)
    ap.add_argument("--cpu", default="host")
    args = ap.parse_args()
    if args.sweep:
        sweep(args.sweep, args.cpu)
        raise SystemExit
    r, root64, root32 = negative_root()
    print("NEG_ROOT64 =", root64)
    print("NEG_ROOT32 =", root32)
    for name, p in (("float64", dg.FLOAT64), ("float32", dg.FLOAT32)):
        print(name, "window", p.neg_window, "terms", len(p.neg_taylor),
              "truncation (relative, at the edge) %.2e" % truncation(r, len(p.neg_taylor),
                                                                     p.neg_window))
        print(name, "rational on [1, 2], relative error %.2e" % rational_error(p))
    print("TAYLOR =", taylor(r, 20))
