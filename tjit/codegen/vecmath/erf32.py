"""erf and erfc natively in float32 (8 lanes per ymm), within ~1.5 ulp.

|x| < 1 (erf only): erf(x) = x (c0 + u E(u)), u = x**2, c0 = 2/sqrt(pi) as a
float32 pair, so x c0 is rounded once (one fma) and the rounding of u counts
only through u E(u) (< 1/4 of the result).

erfc(a), a = |x|, in the exponent: erfc(a) = exp(-a**2 + V) m with
  a < 1:  V = log(erfc(a) exp(a**2)), a polynomial in t = a (V(0) = 0), m = 1;
  a >= 1: V = log(a erfc(a) exp(a**2)), a polynomial in t = s = ALPHA w + BETA,
          w = 1/a in [1/10.5, 1] mapped onto [-1, 1], m = w.
Both are one Horner evaluation of degree 12 whose coefficients are selected per
lane (V1's top ones are 0); the last two steps run in float32 pairs, so V is
~2**-29 absolute and a**2 enters as an exact pair, joined to V by an exact
two-sum: exp then sees an argument right to ~2**-29 in its low part
(`exp_parts`' tail). w's rounding is recovered from its remainder (w + w_lo),
so the factor m costs one rounding. V changes slowly with s (|dV/ds| < 0.16),
so s's own rounding is harmless: unlike a fit of erfc's value itself (as in
float64's erf.py), no variable needs to be a pair. Past a = 10.5 erfc is 0 in
float32 (it underflows at 10.06).

erf(x) = sign(x) (1 - erfc|x|) for 1 <= |x| (erf = +-1 from 3.92); erfc(x) =
2 - erfc|x| for x < 0.

Coefficients: tools/fit_f32_erf.py (mpmath least squares on Chebyshev nodes,
rounded to float32 one at a time, the others refitted). Fit errors after
rounding: E 2**-29.3 (relative), V1 2**-38.5, V2 2**-29.3 (absolute).
"""
from __future__ import annotations

from .explog32 import exp_parts

# erf(x)/x = c0 + u E(u), u = x**2 in [0, 1]
ERF_C0 = (1.128379225730896, -5.8635382771399236e-08)
ERF_E = [-0.3761262893676758, 0.1128360703587532, -0.0268544964492321,
         0.005189391318708658, -0.0008018241496756673, 7.877519965404645e-05]
# a in [0, 1]: V1(a) = log erfcx(a); the two leading coefficients as pairs
V1 = [(0.0, 0.0), (-1.128379225730896, 5.8635382771399236e-08), 0.36338022351264954,
      -0.10277248919010162, 0.01912722922861576, 0.00021603658387903124,
      -0.0017190946964547038, 0.0006383121362887323, -9.070536907529458e-05,
      -1.015058205666719e-05, 4.295540293242084e-06, 0.0, 0.0]
# a in [1, 10.5]: V2(s) = log(a erfcx(a)), s = ALPHA/a + BETA in [-1, 1]
A_MAX = 10.5
ALPHA, BETA = 2.21052622795105, -1.2105263471603394
V2 = [(-0.6876460313796997, -1.6338184138930956e-08),
      (-0.1529085636138916, -3.9799088469294475e-09), -0.020266976207494736,
      0.015779398381710052, -0.005709577817469835, 0.001154797850176692,
      0.00018267880659550428, -0.00032038515200838447, 0.00020353549916762859,
      -0.00011092238128185272, 2.4886390747269616e-05, 2.7806803700514138e-05,
      -1.6157546269823797e-05]
ERF_ONE = 4.0          # erf(x) rounds to +-1 from |x| = 3.92


def erf_small(fp, x):
    """erf(x) for |x| <= 1 (sign of zero kept, subnormals rounded once)."""
    u = fp.mul(x, x)
    inner = fp.muladd(u, fp.horner(u, ERF_E), fp.c(ERF_C0[1]))
    # copysign: erf(-0) = -0 (the tail x * inner is +0 there)
    return fp.copysign(fp.fma(x, fp.c(ERF_C0[0]), fp.mul(x, inner)), x)


def _pair(fp, cond, c1, c2):
    """Coefficient c1 where cond holds, else c2 (None: c2 everywhere); floats
    or (hi, lo) pairs."""
    if cond is None:
        return tuple(fp.c(v) for v in c2) if isinstance(c2, tuple) else fp.c(c2)
    if isinstance(c1, tuple):
        return tuple(fp.sel(cond, fp.c(p), fp.c(q)) for p, q in zip(c1, c2))
    if c1 == c2:
        return fp.c(c1)
    return fp.sel(cond, fp.c(c1), fp.c(c2))


def _log_part(fp, t, small):
    """(hi, lo) of V1(t) where `small` holds, else V2(t) (small None: V2)."""
    cs = [_pair(fp, small, p, q) for p, q in zip(V1, V2)]
    acc = cs[-1]
    for c in reversed(cs[2:-1]):
        acc = fp.muladd(acc, t, c)
    hi, lo = acc, fp.c(0.0)
    for c_hi, c_lo in reversed(cs[:2]):
        p_hi, p_err = fp.two_prod(hi, t)
        p_lo = fp.muladd(lo, t, p_err)
        hi, err = fp.fast_two_sum(c_hi, p_hi)      # |c| > |p| in both fits, or c = 0
        lo = fp.add(err, fp.add(p_lo, c_lo))
    return hi, lo


def erfc_positive(fp, a, top=A_MAX, small_branch=True):
    """erfc(a) for a >= 0 (+inf: 0, NaN: NaN); a >= 1 only if not small_branch
    (then a is clamped to [1, top])."""
    k, mant, _, _ = erfc_parts(fp, a, top, small_branch)
    return fp.scale(mant, k)


def erfc_parts(fp, a, top=A_MAX, small_branch=True):
    """(k, mant, v, m) with erfc(a) = mant 2**k (k an i32, mant ~[0.35, 1.42]) and
    erfc(a) exp(a**2) ~ exp(v) m (v, m rounded: for derivatives), as `erfc_positive`."""
    big = fp.clamp(a, 1.0, top)
    w = fp.div(fp.c(1.0), big)
    w_lo = fp.mul(fp.fma(fp.neg(w), big, fp.c(1.0)), w)
    s = fp.muladd(w_lo, fp.c(ALPHA), fp.muladd(w, fp.c(ALPHA), fp.c(BETA)))
    if small_branch:
        small = fp.lt(a, fp.c(1.0))
        t = fp.sel(small, a, s)
        x = fp.sel(small, a, big)
        m_hi = fp.sel(small, fp.c(1.0), w)
        m_lo = fp.sel(small, fp.c(0.0), w_lo)
    else:
        small, t, x, m_hi, m_lo = None, s, big, w, w_lo
    v_hi, v_lo = _log_part(fp, t, small)
    sq_hi, sq_lo = fp.two_prod(x, x)
    z_hi, z_err = fp.two_sum(fp.neg(sq_hi), v_hi)
    z_lo = fp.add(z_err, fp.sub(v_lo, sq_lo))
    k, (e_hi, e_lo) = exp_parts(fp, z_hi, keep_tail=True, x_lo=z_lo)
    mant = fp.fma(e_hi, m_hi, fp.muladd(e_hi, m_lo, fp.mul(e_lo, m_hi)))
    return k, mant, v_hi, m_hi


def build_erf32(fp, x):
    a = fp.abs(x)
    large = fp.sub(fp.c(1.0), erfc_positive(fp, a, ERF_ONE, small_branch=False))
    large = fp.sel(fp.isnan(x), x, large)
    return fp.sel(fp.lt(a, fp.c(1.0)), erf_small(fp, x), fp.copysign(large, x))


def build_erfc32(fp, x):
    tail = erfc_positive(fp, fp.abs(x))
    return fp.sel(fp.lt(x, fp.c(0.0)), fp.sub(fp.c(2.0), tail), tail)

