"""One-off fit of float32 erfcinv's far-tail guess (erfinv32.FAR, docs/accuracy.md):
x as a degree-8 polynomial in sqrt(w) - 7, w = -log(t (2 - t)), t = erfc(x), over
w in [16, 105.2] (t from ~6e-8 down to 2**-149), least squares on 6000 points of x
with mpmath's erfc; prints the coefficients (lowest degree first, float32) and the
max relative error, exact and evaluated by float32 Horner.

    python tools/fit_erfcinv32_far.py
"""
from __future__ import annotations

import mpmath
import numpy as np


def main():
    mpmath.mp.dps = 50
    xs = np.linspace(3.7, 10.25, 6000)
    ts = [mpmath.erfc(mpmath.mpf(x)) for x in xs]
    ss = np.array([float(mpmath.sqrt(-mpmath.log(t * (2 - t)))) for t in ts])
    keep = (ss >= 3.94) & (ss <= 10.27)
    xs, ss = xs[keep], ss[keep]
    coef = np.polyfit(ss - 7.0, xs, 8).astype(np.float32)      # highest degree first
    exact = np.max(np.abs(np.polyval(coef.astype(np.float64), ss - 7.0) / xs - 1))
    z = (ss - 7.0).astype(np.float32)
    acc = np.full_like(z, coef[0])
    for c in coef[1:]:
        acc = (acc * z + c).astype(np.float32)
    print("FAR =", [float(c) for c in coef[::-1]])
    print(f"max rel. error: {exact:.3g} (float32 Horner: {np.max(np.abs(acc / xs - 1)):.3g})")


if __name__ == "__main__":
    main()
