"""sin, cos, tan (and, from trig_inverse, arcsin, arccos, arctan, arctan2) as inline IR.

sin/cos/tan: reduce x = n*pi/2 + r (`trig_reduce`, exact for every finite x),
then evaluate sin(r) and cos(r) on |r| <= pi/4 and pick/negate by n mod 4.
float64 carries r as a double-double and builds sin(r), cos(r) as
double-doubles, so the final rounding dominates (< 1 ulp; tan divides the
double-doubles with one Newton correction). float32 works in float64 with
shorter polynomials and rounds once.

Coefficients: near-minimax fits (weighted least squares + Lawson iterations in
mpmath at 256 bits) of P(z) = (sin(r)/r - 1)/z and Q(z) = (cos(r) - 1 + z/2)/z**2,
z = r**2 on [0, (pi/4)**2]; weighted errors 2**-57 (sin), 2**-60 (cos) for
float64, 2**-37 / 2**-43 for float32.

Signs and special values: odd functions are computed on |x| and get x's sign
back by xor, so sin(-0.0) = -0.0 and tiny/denormal x give x. Inf and NaN give
NaN.
"""
from __future__ import annotations

import math

from . import trig_inverse
from .common import F32, Fp, float_rule
from .trig_reduce import reduce_f32, reduce_f64

SIN64 = [-0.16666666666666632, 0.008333333333322422, -0.00019841269829814503,
         2.755731369426292e-06, -2.505075848709668e-08, 1.5896817501236057e-10]
COS64 = [0.0416666666666666, -0.001388888888887413, 2.4801587289485535e-05,
         -2.755731435348158e-07, 2.087572345146202e-09, -1.1359658065542538e-11]
SIN32 = [-0.16666666641616493, 0.008333329384726355, -0.00019839334460068986,
         2.7183078866377475e-06]
COS32 = [0.041666666622807, -0.0013888883751625766, 2.479951954634734e-05,
         -2.7210200109237626e-07]


def _sin_cos_dd(f, r_hi, r_lo):
    """(sin_hi, sin_lo, cos_hi, cos_lo) of r = r_hi + r_lo, |r| <= pi/4."""
    z = f.mul(r_hi, r_hi)
    # sin(r_hi + r_lo) ~ r_hi + r_hi*z*P(z) + r_lo*(1 - z/2)
    tail = f.muladd(f.mul(r_hi, z), f.horner(z, SIN64), f.muladd(r_lo, f.mul(z, f.c(-0.5)), r_lo))
    sin_hi, sin_lo = f.fast_two_sum(r_hi, tail, b_minus_delta=True)
    # cos = 1 - (r_hi + r_lo)**2/2 + z**2*Q(z); r_hi**2 = z + dz exactly.
    dz = f.fma(r_hi, r_hi, f.neg(z))
    half_z = f.mul(z, f.c(0.5))
    w = f.sub(f.c(1.0), half_z)                            # >= 0.69: 1 - w is exact
    tail = f.add(f.sub(f.sub(f.c(1.0), w), half_z),
                 f.sub(f.mul(f.mul(z, z), f.horner(z, COS64)),
                       f.muladd(dz, f.c(0.5), f.mul(r_hi, r_lo))))
    cos_hi, cos_lo = f.fast_two_sum(w, tail, b_minus_delta=True)
    return sin_hi, sin_lo, cos_hi, cos_lo


def _sin_cos_f32(f, r):
    """(sin r, cos r) in float64 to ~2**-36 relative, |r| <= pi/4."""
    z = f.mul(r, r)
    sin = f.muladd(f.mul(r, z), f.horner(z, SIN32), r)
    cos = f.muladd(f.mul(z, z), f.horner(z, COS32), f.muladd(z, f.c(-0.5), f.c(1.0)))
    return sin, cos


def _is_odd(f, n):
    """n & 1 != 0 for the i64 quadrant n (`f` an Fp for float64)."""
    return f.b.icmp_unsigned("!=", f.iand(n, 1), f.i(0))


def _by_quadrant(f, n, even, odd, negate_when):
    """even if n is even else odd, negated where (n + negate_when) & 2."""
    value = f.sel(_is_odd(f, n), odd, even)
    flip = f.shl(f.iand(f.iadd(n, f.i(negate_when)), 2), 62)
    return f.from_bits(f.b.xor(f.bits(value), flip))


def _finish(f, x, value):
    """NaN for inf/NaN x, else value."""
    finite = f.lt(f.abs(x), f.c(math.inf))
    return f.sel(finite, value, f.sub(x, x))


def _divide_dd(f, num_hi, num_lo, den_hi, den_lo):
    """(num_hi + num_lo) / (den_hi + den_lo) rounded, ~0.5 ulp: one division and a
    Newton correction with the exact remainder."""
    inv = f.div(f.c(1.0), den_hi)
    q = f.mul(num_hi, inv)
    rem = f.add(f.fma(f.neg(q), den_hi, num_hi), f.fma(f.neg(q), den_lo, num_lo))
    return f.muladd(rem, inv, q)


# ---- float64 ---------------------------------------------------------------------
def _sin64(f, x):
    n, r_hi, r_lo = reduce_f64(f, f.abs(x))
    s, _, c, _ = _sin_cos_dd(f, r_hi, r_lo)
    return _finish(f, x, f.xor_sign(_by_quadrant(f, n, s, c, 0), x))


def _cos64(f, x):
    n, r_hi, r_lo = reduce_f64(f, f.abs(x))
    s, _, c, _ = _sin_cos_dd(f, r_hi, r_lo)
    return _finish(f, x, _by_quadrant(f, n, c, s, 1))


def _tan64(f, x):
    n, r_hi, r_lo = reduce_f64(f, f.abs(x))
    s_hi, s_lo, c_hi, c_lo = _sin_cos_dd(f, r_hi, r_lo)
    odd = _is_odd(f, n)
    # tan = s/c in even quadrants, -c/s in odd ones (s != 0 there: no double is k*pi/2).
    num_hi, num_lo = f.sel(odd, c_hi, s_hi), f.sel(odd, c_lo, s_lo)
    den_hi, den_lo = f.sel(odd, s_hi, c_hi), f.sel(odd, s_lo, c_lo)
    value = _divide_dd(f, num_hi, num_lo, den_hi, den_lo)
    value = f.sel(odd, f.neg(value), value)
    return _finish(f, x, f.xor_sign(value, x))


# ---- float32 (computed in float64, rounded once) ---------------------------------
def _f32(f32, x, pick):
    """`pick(f, n, sin r, cos r)` (f an Fp for float64) rounded to float32, NaN for
    inf/NaN x; `f32` is the Fp for float32."""
    f = Fp(f32.em)
    n, r = reduce_f32(f, f32.abs(x))
    s, c = _sin_cos_f32(f, r)
    value = f.b.fptrunc(pick(f, n, s, c), F32)
    return _finish(f32, x, value)


def _sin32(f32, x):
    return f32.xor_sign(_f32(f32, x, lambda f, n, s, c: _by_quadrant(f, n, s, c, 0)), x)


def _cos32(f32, x):
    return _f32(f32, x, lambda f, n, s, c: _by_quadrant(f, n, c, s, 1))


def _tan32(f32, x):
    def pick(f, n, s, c):
        return f.sel(_is_odd(f, n), f.neg(f.div(c, s)), f.div(s, c))
    return f32.xor_sign(_f32(f32, x, pick), x)


RULES = {
    "sin": float_rule(_sin64, "sin", _sin32),
    "cos": float_rule(_cos64, "cos", _cos32),
    "tan": float_rule(_tan64, "tan", _tan32),
    **trig_inverse.RULES,
}
