"""Fits for tjit/codegen/vecmath/bessel_j.py (J0, J1 in float64 and float32).

Chebyshev interpolants of mpmath values (near-minimax for these entire / smooth
functions), converted to monomials in the interval variable t in [-1, 1]:

- |x| <= 5: R_n(t), t = x**2/16 - 1 (fitted on x**2 in [0, 32]), with J_n = x**n (x**2 - j_n1**2)(x**2 -
  j_n2**2) R_n (j_nk: the first two zeros of J_n, factored out exactly in the
  evaluation, so R_n is smooth and far from 0 on [0, 5]);
- |x| > 5: the Hankel forms J_n = sqrt(2/(pi x)) (P_n cos(chi) - (Qx_n/x) sin(chi)),
  chi = x - (2n + 1) pi/4, P_n and Qx_n = x Q_n as polynomials in t = 2 u - 1,
  u = 25/x**2.

Run: python tools/fit_bessel_j.py  (prints the tables; ~1 min)
"""
import mpmath as mp

mp.mp.dps = 50
X0 = 5
Z_SPAN = 32        # R_n is fitted on x**2 in [0, 32], so t = x**2/16 - 1 is exact to a two_prod
DEGREES = {"float64": {"R0": 12, "R1": 12, "P0": 18, "Q0": 18, "P1": 18, "Q1": 18},
           "float32": {"R0": 7, "R1": 7, "P0": 7, "Q0": 6, "P1": 7, "Q1": 6}}


def chebyshev(f, n):
    """Coefficients c_j of the degree n - 1 interpolant of f on [-1, 1]."""
    nodes = [mp.cos(mp.pi * (k + mp.mpf(1) / 2) / n) for k in range(n)]
    values = [f(t) for t in nodes]
    return [(2 if j else 1) * mp.fsum(v * mp.cos(mp.pi * j * (k + mp.mpf(1) / 2) / n)
                                      for k, v in enumerate(values)) / n for j in range(n)]


def to_monomials(c):
    basis = [[mp.mpf(1)], [mp.mpf(0), mp.mpf(1)]]
    while len(basis) < len(c):
        nxt = [mp.mpf(0)] + [2 * v for v in basis[-1]]
        for i, v in enumerate(basis[-2]):
            nxt[i] -= v
        basis.append(nxt)
    out = [mp.mpf(0)] * len(c)
    for ck, b in zip(c, basis):
        for i, v in enumerate(b):
            out[i] += ck * v
    return out


def hankel(nu, x):
    chi = x - (2 * nu + 1) * mp.pi / 4
    j, y = mp.besselj(nu, x), mp.bessely(nu, x)
    s = mp.sqrt(mp.pi * x / 2)
    return s * (j * mp.cos(chi) + y * mp.sin(chi)), x * s * (y * mp.cos(chi) - j * mp.sin(chi))


def small(nu):
    zeros = [mp.besseljzero(nu, k) for k in (1, 2)]

    def r(t):
        z = (t + 1) * Z_SPAN / 2
        x = mp.sqrt(z)
        v = mp.besselj(nu, x) / x if nu else mp.besselj(0, x)
        if nu and z == 0:
            v = mp.mpf(1) / 2
        for a in zeros:
            v /= z - a * a
        return v
    return r


def large(nu, which):
    def f(t):
        u = (t + 1) / 2
        if u == 0:
            return mp.mpf(1) if which == 0 else (4 * nu * nu - 1) / mp.mpf(8)
        return hankel(nu, X0 / mp.sqrt(u))[which]
    return f


def zero_split(nu, k, bits):
    """(hi, lo): the k-th zero of J_nu as a float with `bits` bits plus the rest."""
    a = mp.besseljzero(nu, k)
    with mp.workprec(bits):
        hi = +a
    return hi, a - hi


def main():
    functions = {"R0": small(0), "R1": small(1), "P0": large(0, 0), "Q0": large(0, 1),
                 "P1": large(1, 0), "Q1": large(1, 1)}
    for dtype, degrees in DEGREES.items():
        print("#", dtype)
        for name, f in functions.items():
            n = degrees[name] + 1
            c = chebyshev(f, n + 8)
            print("# %s: dropped Chebyshev tail %s" % (name, mp.nstr(mp.fsum(abs(v) for v in c[n:]), 3)))
            m = to_monomials(c[:n])
            print("%s_%s = [%s]" % (name, dtype[-2:], ", ".join(repr(float(v)) for v in m)))
    for nu, k in [(0, 1), (0, 2), (1, 1), (1, 2)]:
        for bits in (53, 24):
            hi, lo = zero_split(nu, k, bits)
            print("J%d zero %d (%d bits): %r, %r" % (nu, k, bits, float(hi), float(lo)))


if __name__ == "__main__":
    main()
