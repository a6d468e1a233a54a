"""One-off accuracy sweep of the native i0 and i1 (docs/accuracy.md), with SciPy's
own error on the same points.

float64: N points (uniform over [0, 12.5] and [0, 714], around the switch at 12,
log-uniform magnitudes from 1e-320 to 700, random signs) against mpmath at 30
digits. float32: every STRIDE-th float32 bit pattern plus a dense sweep of
[-95, 95], against SciPy in float64 (SciPy's float32 error: its float32 loop).
Errors in ulps of the true value rounded to the dtype.

    python tools/sweep_bessel_i.py [--cpu host] [--n 4000] [--stride 257]
"""
from __future__ import annotations

import argparse
import os
import sys

import mpmath
import numpy as np
import scipy.special as sp

sys.path[:0] = [os.path.join(os.path.dirname(__file__), ".."),
                os.path.join(os.path.dirname(__file__), "..", "tests")]
import tjit as theano  # noqa: E402
import tjit.tensor as T  # noqa: E402
from test_vecmath_explog import ulp_error  # noqa: E402


def compiled(cpu, dtype):
    x = T.vector(dtype=dtype)
    with theano.config.change_flags(cpu=cpu, threads=1, tiered=False):
        return theano.function([x], [T.i0(x), T.i1(x)])


def row(name, dtype, x, got, hi, lo, scipy_got):
    err = ulp_error(got, hi, lo)
    k = int(np.argmax(err))
    # SciPy's error where it does not overflow early (float64: inf from 709.78)
    early = np.isinf(scipy_got) & np.isfinite(hi.astype(got.dtype))
    serr = np.where(early, 0.0, ulp_error(scipy_got, hi, lo))
    j = int(np.argmax(serr))
    print(f"| {name} | {dtype} | {err[k]:.3f} | {x[k]:.9g} | {(err > 0.5).mean():.2%} "
          f"| {serr[j]:.3f} | {x[j]:.9g} | {early.sum()} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cpu", default="host")
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--stride", type=int, default=257)
    opts = ap.parse_args()
    rng = np.random.default_rng(5)
    m = opts.n // 4
    x64 = np.concatenate([rng.uniform(0, 12.5, m), rng.uniform(0, 714, m),
                          rng.uniform(11.5, 12.5, m), 10 ** rng.uniform(-320, 2.845, m)])
    x64 *= rng.choice([-1.0, 1.0], x64.size)
    bits = np.arange(0, 1 << 32, opts.stride, dtype=np.uint64).astype(np.uint32)
    with np.errstate(invalid="ignore"):
        x32 = np.concatenate([bits.view(np.float32), np.linspace(-95, 95, 4000001)]).astype(np.float32)
    x32 = x32[np.isfinite(x32)]          # SciPy: NaN at +-inf (tjit: +-inf)
    print(f"cpu={opts.cpu}: float64 {x64.size} mpmath points, float32 {x32.size} points")
    print("| function | dtype | tjit max ulp | at x | tjit > 0.5 ulp | SciPy max ulp | at x "
          "| SciPy inf, true finite |")
    print("|---|---|---|---|---|---|---|---|")
    got64, got32 = compiled(opts.cpu, "float64")(x64), compiled(opts.cpu, "float32")(x32)
    for order, name in enumerate(["i0", "i1"]):
        his, los = [], []
        with mpmath.workdps(30):
            for v in x64:
                exact = mpmath.besseli(order, mpmath.mpf(float(v)))
                his.append(float(exact))
                los.append(float(exact - his[-1]) if np.isfinite(his[-1]) else 0.0)
        with np.errstate(all="ignore"):
            row(name, "float64", x64, got64[order], np.array(his), np.array(los),
                getattr(sp, name)(x64))
            want = getattr(sp, name)(x32.astype(np.float64))
            row(name, "float32", x32, got32[order], want, np.zeros_like(want),
                getattr(sp, name)(x32))


if __name__ == "__main__":
    main()
