"""One-off accuracy sweep of the native float32 erfinv and erfcinv (docs/accuracy.md):
every STRIDE-th float32 bit pattern (all exponents, both signs, NaN, inf) plus a
dense sweep of [-2.5, 2.5], against SciPy in float64, errors in float32 ulps of the
float64 value (real); inf/zero/NaN mismatches counted (zeros' signs as tjit's
float64 functions: erfinv(-0) = -0, erfcinv(1) = +0).

    python tools/sweep_erfinv32.py [--cpu host] [--stride 257]
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cpu", default="host")
    ap.add_argument("--stride", type=int, default=257)
    opts = ap.parse_args()
    x = T.vector(dtype="float32")
    with theano.config.change_flags(cpu=opts.cpu, threads=1):
        f = theano.function([x], [T.erfinv(x), T.erfcinv(x)])
    bits = np.arange(0, 1 << 32, opts.stride, dtype=np.uint64).astype(np.uint32)
    xs = np.concatenate([bits.view(np.float32),
                         np.linspace(-2.5, 2.5, 4000001).astype(np.float32)])
    with np.errstate(all="ignore"):
        outs = f(xs)
    print(f"cpu={opts.cpu}, {xs.size} inputs")
    print("| function | max ulp | at x | inputs > 1 ulp | inf/zero/NaN mismatches |")
    print("|---|---|---|---|---|")
    for name, got in zip(["erfinv", "erfcinv"], outs):
        with np.errstate(all="ignore"):
            want = getattr(sp, name)(xs.astype(np.float64))
            want32 = want.astype(np.float32)
        if name == "erfinv":
            want32 = np.where(xs == 0, xs, want32)
        else:
            want32 = np.where(xs == 1, np.float32(0.0), want32)
        err = ulp_error(got, want, np.zeros_like(want))
        k = int(np.argmax(err))
        exact = np.isinf(want32) | (want32 == 0) | np.isnan(want32)
        same = ((got == want32) & (np.signbit(got) == np.signbit(want32))) | (
            np.isnan(got) & np.isnan(want32))
        print("| %s | %.3f | %.7g | %d | %d |" % (
            name, err[k], xs[k], int((err > 1).sum()), int((exact & ~same).sum())), flush=True)


if __name__ == "__main__":
    main()
