"""Constants of tjit/codegen/vecmath/digamma.py, from mpmath (40 digits).

- the first negative root of psi, r = -0.50408..., as hi + lo (float64 and
  float32) and the Taylor coefficients of psi(r + d) = sum c_n d**n,
  c_n = (-1)**(n + 1) zeta(n + 1, r), with the truncation error at the window's
  edge |d| = NEG_ROOT_WINDOW relative to psi there;
- the relative error on [1, 2] of Boost's digamma_imp_1_2 rationals (their
  float64 coefficients, evaluated exactly: the fits' own error).

Run: python tools/fit_digamma.py (prints the constants and errors).
"""
from __future__ import annotations

import mpmath
import numpy as np

from tjit.codegen.vecmath import digamma as dg

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


if __name__ == "__main__":
    r, root64, root32 = negative_root()
    print("NEG_ROOT64 =", root64)
    print("NEG_ROOT32 =", root32)
    for name, p in (("float64", dg.FLOAT64), ("float32", dg.FLOAT32)):
        print(name, "window", p.neg_window, "terms", len(p.neg_taylor),
              "truncation (relative, at the edge) %.2e" % truncation(r, len(p.neg_taylor),
                                                                     p.neg_window))
        print(name, "rational on [1, 2], relative error %.2e" % rational_error(p))
    print("TAYLOR =", taylor(r, 20))
