"""One-off accuracy sweep of the native float32 erf, erfc and pow (docs/accuracy.md).

erf, erfc: every STRIDE-th float32 bit pattern (all exponents, both signs, NaN,
inf); pow: random pairs (x any positive float32 bit pattern with y making
|y log x| <= 110; x in [0, 4] with y in [-40, 40]; x near 1 with |y| up to 1e6;
negative x with integer y). Against SciPy / NumPy float64, errors in ulps of the
float64 value rounded to float32 (real-valued); class mismatches (inf, zero with
its sign, NaN) counted separately.

    python tools/sweep_f32_native.py [--cpu host] [--stride 257] [--pow-points 2**24]
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import scipy.special as sp

sys.path[:0] = [os.path.join(os.path.dirname(__file__), ".."),
                os.path.join(os.path.dirname(__file__), "..", "tests")]
import tjit as theano  # noqa: E402
import tjit.tensor as T  # noqa: E402
from test_vecmath_explog import ulp_error  # noqa: E402

TINY = np.finfo(np.float32).tiny


def report(name, got, want, args):
    err = ulp_error(got, want, np.zeros_like(want))
    normal = np.abs(want) >= TINY
    k = int(np.argmax(np.where(normal, err, -1)))
    with np.errstate(over="ignore"):
        want32 = want.astype(np.float32)
    exact = np.isinf(want32) | (want32 == 0) | np.isnan(want32)
    same = (got == want32) & (np.signbit(got) == np.signbit(want32))
    same |= np.isnan(got) & np.isnan(want32)
    same |= (want32 == 0) & (want != 0) & (np.abs(got) <= np.finfo(np.float32).smallest_subnormal)
    at = ", ".join("%.7g" % a[k] for a in args)
    print("| %s | %d | %.3f | %s | %.3f | %d | %d |" % (
        name, got.size, err[normal].max(), at, err[~normal & np.isfinite(err)].max(initial=0),
        int((err > 1).sum()), int((exact & ~same).sum())), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cpu", default="host")
    ap.add_argument("--stride", type=int, default=257)
    ap.add_argument("--pow-points", type=int, default=1 << 24)
    opts = ap.parse_args()
    x, u, v = (T.vector(dtype="float32") for _ in range(3))
    with theano.config.change_flags(cpu=opts.cpu):
        f = theano.function([x], [T.erf(x), T.erfc(x)])
        g = theano.function([u, v], T.pow(u, v))
    print("| function | inputs | max ulp (normal results) | at | max ulp (subnormal results) "
          "| inputs > 1 ulp | inf/zero/NaN mismatches |")
    print("|---|---|---|---|---|---|---|")
    bits = np.arange(0, 1 << 32, opts.stride, dtype=np.uint64).astype(np.uint32)
    xs = bits.view(np.float32)
    erf, erfc = f(xs)
    wide = xs.astype(np.float64)
    report("erf", erf, sp.erf(wide), (xs,))
    report("erfc", erfc, sp.erfc(wide), (xs,))
    del erf, erfc, wide
    rng = np.random.default_rng(0)
    n = opts.pow_points // 4
    a = rng.integers(1, 0x7F800000, n, dtype=np.uint32).view(np.float32).astype(np.float64)
    with np.errstate(divide="ignore"):
        b = rng.uniform(-110, 110, n) / np.log(a)
    b[~np.isfinite(b)] = 1.0
    parts = [(a, b), (rng.uniform(0, 4, n), rng.uniform(-40, 40, n)),
             (1 + rng.uniform(-1e-2, 1e-2, n), rng.uniform(-1e6, 1e6, n)),
             (-rng.uniform(0, 4, n), np.round(rng.uniform(-60, 60, n)))]
    with np.errstate(over="ignore"):
        px = np.concatenate([p[0] for p in parts]).astype(np.float32)
        py = np.concatenate([p[1] for p in parts]).astype(np.float32)
    with np.errstate(all="ignore"):
        report("pow", g(px, py), np.power(px.astype(np.float64), py.astype(np.float64)), (px, py))


if __name__ == "__main__":
    main()
