"""Fits of the modified Bessel functions I0, I1 for tjit/codegen/vecmath/bessel_i.py.

Two pieces per function (x = |input|, S the switch point):
- x <= S: I0(x) = P0(q), I1(x) = x P1(q), q = x**2/4: polynomials in q (close
  to the power series, all coefficients positive);
- x > S: I0(x) = exp(x) sqrt(t) Q0(t), I1(x) = exp(x) sqrt(t) Q1(t), t = S/x, on
  t in [S/X_MAX, 1] (X_MAX past the overflow: nothing above is finite).
Each fit is a least-squares fit of the relative error on 4n Chebyshev points
(mpmath, 50 digits, Chebyshev basis), converted to monomials; the coefficients are
rounded to the target precision one at a time, lowest first, refitting the rest; the script prints the coefficients and each fit's max relative
error after rounding (on 2000 points, in units of the precision's 2**-53 / 2**-24)
and Horner's condition number (sum |c_k v**k| / |p(v)|).

    python tools/fit_bessel_i.py [--dtype float64|float32]
"""
from __future__ import annotations

import argparse
import struct

import mpmath as mp

mp.mp.dps = 50

PLANS = {   # dtype: (S, X_MAX, degree of P0, P1, Q0, Q1)
    "float64": (12.0, 714.5, 18, 18, 17, 17),
    "float32": (8.0, 92.0, 10, 10, 7, 7),
}


def rounded(value, dtype):
    value = float(value)
    if dtype == "float32":
        return struct.unpack("f", struct.pack("f", value))[0]
    return value


def target(kind, order, s):
    """The fitted function of v (q for 'P', t for 'Q')."""
    if kind == "P":
        def f(q):
            x = 2 * mp.sqrt(q)
            if q == 0:
                return mp.mpf(1) if order == 0 else mp.mpf(0.5)
            value = mp.besseli(order, x)
            return value if order == 0 else value / x
        return f

    def g(t):
        x = s / t
        return mp.besseli(order, x) * mp.exp(-x) / mp.sqrt(t)
    return g


def fit(f, lo, hi, degree, fixed=()):
    """Monomial coefficients (lowest first, mpf) minimizing sum ((p - f)/f)**2 on
    4 (degree + 1) Chebyshev points of [lo, hi], the first ones given (`fixed`)."""
    lo, hi = mp.mpf(lo), mp.mpf(hi)
    j = len(fixed)
    free = degree + 1 - j
    m = 4 * (degree + 1)
    nodes = [(lo + hi) / 2 + (hi - lo) / 2 * mp.cos(mp.pi * (k + mp.mpf(0.5)) / m) for k in range(m)]
    rows, rhs = [], []
    for v in nodes:
        y = f(v)
        u = (2 * v - lo - hi) / (hi - lo)
        row = [mp.mpf(1), u]
        while len(row) < free:
            row.append(2 * u * row[-1] - row[-2])
        rows.append([v ** j * c / y for c in row[:free]])
        rhs.append((y - sum(c * v ** i for i, c in enumerate(fixed))) / y)
    cheb, _ = mp.qr_solve(mp.matrix(rows), mp.matrix(rhs))
    # v**j T_k(u), u = alpha v + beta -> monomials in v
    alpha, beta = 2 / (hi - lo), -(lo + hi) / (hi - lo)
    polys = [[mp.mpf(1)], [beta, alpha]]
    while len(polys) < free:
        nxt = [mp.mpf(0)] * (len(polys[-1]) + 1)
        for i, c in enumerate(polys[-1]):
            nxt[i] += 2 * beta * c
            nxt[i + 1] += 2 * alpha * c
        for i, c in enumerate(polys[-2]):
            nxt[i] -= c
        polys.append(nxt)
    mono = [mp.mpf(c) for c in fixed] + [mp.mpf(0)] * free
    for k in range(free):
        for i, c in enumerate(polys[k]):
            mono[j + i] += cheb[k] * c
    return mono


def fit_rounded(f, lo, hi, degree, dtype):
    """Coefficients rounded to `dtype` one at a time, lowest first, each after a
    refit of the rest (so the low coefficients' rounding is compensated)."""
    fixed = []
    while len(fixed) <= degree:
        fixed.append(rounded(fit(f, lo, hi, degree, fixed)[len(fixed)], dtype))
    return fixed


def report(name, f, lo, hi, coefficients, dtype):
    unit = 2.0 ** -53 if dtype == "float64" else 2.0 ** -24
    worst = cond = 0
    for k in range(2001):
        v = mp.mpf(lo) + (mp.mpf(hi) - lo) * k / 2000
        p = mp.mpf(0)
        for c in reversed(coefficients):
            p = p * v + c
        y = f(v)
        worst = max(worst, abs((p - y) / y) / unit)
        cond = max(cond, sum(abs(c) * v ** i for i, c in enumerate(coefficients)) / abs(p))
    print("# %s: max rel. error %.3f units, Horner condition %.2f" % (name, worst, cond))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dtype", default="float64", choices=sorted(PLANS))
    dtype = ap.parse_args().dtype
    s, x_max, *degrees = PLANS[dtype]
    pieces = [("P0", "P", 0, 0, s * s / 4), ("P1", "P", 1, 0, s * s / 4),
              ("Q0", "Q", 0, s / x_max, 1), ("Q1", "Q", 1, s / x_max, 1)]
    print("# %s, S = %g, x up to %g" % (dtype, s, x_max))
    for (name, kind, order, lo, hi), degree in zip(pieces, degrees):
        f = target(kind, order, s)
        coefficients = fit_rounded(f, lo, hi, degree, dtype)
        report(name, f, lo, hi, [mp.mpf(c) for c in coefficients], dtype)
        print("%s = [%s]" % (name, ", ".join(repr(c) for c in coefficients)))


if __name__ == "__main__":
    main()
