"""One-off accuracy sweep of arcsinh, arccosh, arctanh (docs/accuracy.md).

float32: every STRIDE-th float32 bit pattern (all exponents, both signs, NaN,
inf) against NumPy float64, errors in float32 ulps of the float64 value (real);
class mismatches (inf, zero with its sign, NaN) counted separately.
float64: POINTS random inputs per function over its domain (log-uniform
magnitudes over the whole range, uniform near the middle, the approaches to +-1)
against NumPy's long double functions (x86 80-bit), and 3000 of them against
mpmath at 160 bits; NumPy's own float64 (libm) error on the same points beside.

    python tools/sweep_hyperbolic_inverse.py [--cpu host] [--stride 257] [--points 10**6]
"""
from __future__ import annotations

import argparse
import os
import sys

import mpmath
import numpy as np

sys.path[:0] = [os.path.join(os.path.dirname(__file__), ".."),
                os.path.join(os.path.dirname(__file__), "..", "tests")]
import tjit as theano  # noqa: E402
import tjit.tensor as T  # noqa: E402
from test_vecmath_explog import ulp_error  # noqa: E402

NAMES = ["arcsinh", "arccosh", "arctanh"]
LD = np.longdouble


def mismatches(got, want64, dtype):
    with np.errstate(over="ignore"):
        want = want64.astype(dtype)
    exact = np.isinf(want) | (want == 0) | np.isnan(want)
    same = ((got == want) & (np.signbit(got) == np.signbit(want))) | (np.isnan(got) & np.isnan(want))
    return int((exact & ~same).sum())


def float64_points(name, n, rng):
    mag = 10.0 ** rng.uniform(-320, 308.2, n)
    if name == "arcsinh":
        x = np.concatenate([mag, rng.uniform(0, 4, n), 2.0 ** rng.uniform(-30, 30, n)])
        return x * rng.choice([-1.0, 1.0], x.size)
    if name == "arccosh":
        return np.concatenate([1 + mag[mag < 1e10], 1 + 10.0 ** rng.uniform(-16, 1, n),
                               2.0 ** rng.uniform(0, 32, n)])
    x = np.concatenate([10.0 ** rng.uniform(-320, 0, n), rng.uniform(0, 1, n),
                        1 - 10.0 ** rng.uniform(-16, 0, n)])
    return x * rng.choice([-1.0, 1.0], x.size)


def mp_reference(name, x):
    fn = {"arcsinh": mpmath.asinh, "arccosh": mpmath.acosh, "arctanh": mpmath.atanh}[name]
    hi, lo = [], []
    with mpmath.workprec(160):
        for v in x:
            r = fn(mpmath.mpf(float(v)))
            h = float(r)
            hi.append(h)
            lo.append(float(r - h))
    return np.array(hi), np.array(lo)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cpu", default="host")
    ap.add_argument("--stride", type=int, default=257)
    ap.add_argument("--points", type=int, default=10 ** 6)
    opts = ap.parse_args()
    fns = {}
    for dtype in ("float32", "float64"):
        x = T.vector(dtype=dtype)
        with theano.config.change_flags(cpu=opts.cpu, threads=1):
            fns[dtype] = theano.function([x], [getattr(T, n)(x) for n in NAMES])
    bits = np.arange(0, 1 << 32, opts.stride, dtype=np.uint64).astype(np.uint32)
    xs = bits.view(np.float32)
    with np.errstate(all="ignore"):
        outs = fns["float32"](xs)
    print(f"float32, cpu={opts.cpu}, every {opts.stride}th bit pattern ({xs.size} inputs)")
    print("| function | max ulp | at x | inputs > 1 ulp | inf/zero/NaN mismatches | NumPy float32 max ulp |")
    print("|---|---|---|---|---|---|")
    for name, got in zip(NAMES, outs):
        with np.errstate(all="ignore"):
            want = getattr(np, name)(xs.astype(np.float64))
            numpy32 = getattr(np, name)(xs)
        err = ulp_error(got, want, np.zeros_like(want))
        k = int(np.argmax(err))
        print("| %s | %.3f | %.7g | %d | %d | %.3f |" % (
            name, err[k], xs[k], int((err > 1).sum()), mismatches(got, want, np.float32),
            ulp_error(numpy32, want, np.zeros_like(want)).max()), flush=True)
    print(f"\nfloat64, cpu={opts.cpu}: {opts.points} x 3 random points (long double), 3000 (mpmath)")
    print("| function | max ulp (long double) | at x | max ulp (mpmath) | mismatches "
          "| NumPy float64 max ulp (long double / mpmath) |")
    print("|---|---|---|---|---|---|")
    rng = np.random.default_rng(5)
    for k, name in enumerate(NAMES):
        x = float64_points(name, opts.points, rng)
        with np.errstate(all="ignore"):
            got = fns["float64"](x)[k]
            exact = getattr(np, name)(x.astype(LD))
            libm = getattr(np, name)(x)
        hi = exact.astype(np.float64)
        lo = np.where(np.isfinite(hi), (exact - hi.astype(LD)).astype(np.float64), 0.0)
        err = ulp_error(got, hi, lo)
        i = int(np.argmax(err))
        sample = rng.choice(x.size, 3000, replace=False)
        mp_hi, mp_lo = mp_reference(name, x[sample])
        mp_err = ulp_error(got[sample], mp_hi, mp_lo)
        print("| %s | %.3f | %r | %.3f | %d | %.3f / %.3f |" % (
            name, err[i], float(x[i]), mp_err.max(), mismatches(got, hi, np.float64),
            ulp_error(libm, hi, lo).max(), ulp_error(libm[sample], mp_hi, mp_lo).max()), flush=True)


if __name__ == "__main__":
    main()
