"""One-off accuracy sweep of the native float64 erfinv and erfcinv (docs/accuracy.md):
random points of (-1, 1) and (0, 2), 1 - 10**-k toward +-1, 2**-k toward 0 (to the
smallest subnormal) and 2 - 2**-k. SciPy picks the suspects (its own error reaches
~3 ulp, far more at tiny y): the --check points farthest from SciPy and as many
random ones are measured against mpmath (tests/test_vecmath_erfinv64.mp_reference).

    python tools/sweep_erfinv64.py [--cpu host] [--n 1000000] [--check 2000]
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
from test_vecmath_erfinv64 import mp_reference  # noqa: E402
from test_vecmath_explog import ulp_error  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cpu", default="host")
    ap.add_argument("--n", type=int, default=1000000)
    ap.add_argument("--check", type=int, default=2000)
    opts = ap.parse_args()
    x = T.dvector()
    with theano.config.change_flags(cpu=opts.cpu, threads=1):
        f = theano.function([x], [T.erfinv(x), T.erfcinv(x)])
    rng = np.random.default_rng(3)
    n = opts.n
    near_one = 1 - np.logspace(-16.4, 0, n // 4)
    xs = np.concatenate([rng.uniform(-1, 1, n), near_one, -near_one, rng.uniform(0, 2, n),
                         2.0 ** -rng.uniform(0, 1074, n // 4), 2 - 2.0 ** -rng.uniform(0, 53, n // 4)])
    with np.errstate(all="ignore"):
        outs = f(xs)
    print(f"cpu={opts.cpu}, {xs.size} inputs, {opts.check} worst vs SciPy + {opts.check} random vs mpmath")
    print("| function | max ulp (mpmath) | at y | checked > 1 ulp | max ulp vs SciPy |")
    print("|---|---|---|---|---|")
    for name, got in zip(["erfinv", "erfcinv"], outs):
        with np.errstate(all="ignore"):
            want = getattr(sp, name)(xs)
        err = ulp_error(got, want, np.zeros_like(want))
        err[np.isnan(err)] = np.inf
        idx = np.union1d(np.argsort(-err)[:opts.check],
                         rng.choice(xs.size, opts.check, replace=False))
        hi, lo = mp_reference(name, xs[idx])
        e = ulp_error(got[idx], hi, lo)
        k = int(np.argmax(e))
        finite = np.isfinite(err) & (np.abs(xs) > 1e-300)
        print("| %s | %.3f | %.17g | %d | %.2f |" % (
            name, e[k], xs[idx][k], int((e > 1).sum()), err[finite].max()), flush=True)


if __name__ == "__main__":
    main()
