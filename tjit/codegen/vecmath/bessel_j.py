"""Bessel functions of the first kind J0 and J1, branch free, float64 and native
float32 (coefficients: tools/fit_bessel_j.py, Chebyshev interpolants of mpmath).

Both branches are computed and one is selected (so the code vectorizes):

- |x| <= 5: J_n = x**n (x - a1)(x + a1)(x - a2)(x + a2) R_n(t), t = x**2/16 - 1,
  a1, a2 the first two zeros of J_n (J0: 2.40, 5.52; J1: 3.83, 7.02) split as
  hi + lo, so x - hi is exact near a zero (Sterbenz) and the result keeps its
  relative accuracy at the first zero; factoring the second one too keeps R_n
  far from 0 on [0, 5], so Horner's rounding errors stay small.
- |x| > 5: Hankel's form J_n = sqrt(2/(pi x)) (P(t) cos(chi) - (Qx(t)/x) sin(chi)),
  chi = x - (2n + 1) pi/4, t = 2 (25/x**2) - 1. chi is reduced modulo pi/2 for
  every finite x: float64 with trig_reduce's Payne-Hanek (x = n pi/2 + r as a
  double-double, then r -+ pi/4 in double-double); float32 with integer
  arithmetic only (`_reduce32`: a 64-bit window of 2/pi's bits picked by
  selects, no table, so no gather and no float64). Near the zeros of J beyond
  the first, relative error is unbounded (as in any such method): the absolute
  error stays within a few ulp of the local amplitude sqrt(2/(pi x)).

Special values as glibc's j0/j1 (today's tjit): J0(+-0) = 1, J1(+-0) = +-0,
J0(+-inf) = +0, J1(+-inf) = +-0, NaN -> NaN. J0 is even, J1 odd.
"""
from __future__ import annotations

import math

from llvmlite import ir

from .common import F32, I32, I64, float_rule
from .trig import COS32, SIN32, _by_quadrant, _sin_cos_dd
from .trig_reduce import _TWO_OVER_PI, _TWO_OVER_PI_BITS, reduce_f64

SPLIT = 5.0                          # |x| above: Hankel's form
PIO4_HI = 0.7853981633974483         # pi/4 = PIO4_HI + PIO4_LO to ~2**-107
PIO4_LO = 3.061616997868383e-17
# 2/pi and pi/2 as (hi, lo) for either precision
TWO_OVER_PI = (0.6366197723675814, -3.935735335036497e-17)
TWO_OVER_PI_32 = (0.6366197466850281, 2.5682552973194106e-08)
PIO2_32 = (1.5707963705062866, -4.371138828673793e-08)

# the first two zeros of J0 and J1 as (hi, rest), hi with 53 resp. 24 bits
ZEROS = {(0, "float64"): [(2.404825557695773, -1.176691651530894e-16),
                          (5.520078110286311, 8.088597146146722e-17)],
         (0, "float32"): [(2.404825448989868, 1.0870590460455913e-07),
                          (5.520078182220459, -7.19341483347784e-08)],
         (1, "float64"): [(3.8317059702075125, -1.5269184090088067e-16),
                          (7.015586669815619, -9.414165653410389e-17)],
         (1, "float32"): [(3.8317060470581055, -7.685059315313556e-08),
                          (7.015586853027344, -1.8321172499646294e-07)]}

# ---- float64 fits (Chebyshev tails: R < 5e-22, P < 6e-18, Qx < 5.4e-17) ----------
R0_64 = [0.0026861635624847073, -0.00213010850412941, 0.0007061239500175509,
         -0.00013400386260642514, 1.6707144987386e-05, -1.4822807732395564e-06,
         9.86788928955736e-08, -5.120592517977055e-09, 2.131753197419975e-10,
         -7.283042692066047e-12, 2.0797110539978056e-13, -5.045588268337276e-15,
         1.050531500420825e-16]
R1_64 = [0.0003771068558446821, -0.00023785181696395335, 6.520377499024306e-05,
         -1.0525319357221891e-05, 1.1401397589798144e-06, -8.934690764303145e-08,
         5.323155064280466e-09, -2.498637414383265e-10, 9.493038984113676e-12,
         -2.981970145252319e-13, 7.879051413263389e-15, -1.7781800049954685e-16,
         3.4611092397878155e-18]
P0_64 = [0.9986347659091991, -0.0013274931272004003, 3.4917305812543486e-05,
         -2.459963321484891e-06, 2.975900547471219e-07, -5.0864323083835845e-08,
         1.1058787126478343e-08, -2.870543614946181e-09, 8.537333900582336e-10,
         -2.8517945789485296e-10, 1.0446084003469811e-10, -3.5386629379531745e-11,
         1.258800323609864e-11, -1.3637307749556059e-11, 8.357590619234787e-12,
         3.4153114469516908e-12, -2.8395782313937997e-12, -2.2353911321157167e-12,
         1.4342143500675438e-12]
Q0_64 = [-0.12361496352611864, 0.0013142139729107809, -6.33871544273933e-05,
         6.239113138836723e-06, -9.409874566962148e-07, 1.8870349477884413e-07,
         -4.6398774185672406e-08, 1.3292702752443954e-08, -4.28935431723498e-09,
         1.5435318894514267e-09, -6.042938231059543e-10, 2.0066666665255962e-10,
         -6.857059615751713e-11, 1.0408006804796177e-10, -6.841578453241851e-11,
         -3.245145412926964e-11, 2.6853625487146488e-11, 1.885974600916912e-11,
         -1.250807519438913e-11]
P1_64 = [1.0022906462560661, 0.002241463213917191, -4.5782806531265707e-05,
         2.9786211051441743e-06, -3.466718651415407e-07, 5.7916678422136463e-08,
         -1.240321521910875e-08, 3.184957758697752e-09, -9.395751415379581e-10,
         3.117737073294679e-10, -1.1357643159446592e-10, 3.845189334079503e-11,
         -1.3682029396195572e-11, 1.455159268203634e-11, -8.878742332785175e-12,
         -3.5906737407846646e-12, 2.9881364340317838e-12, 2.3685225045138e-12,
         -1.516811750366775e-12]
Q1_64 = [0.3730474331740802, -0.0018648496218418749, 7.89809417818545e-05,
         -7.369927915299277e-06, 1.079885314279636e-06, -2.1266795418151847e-07,
         5.1642445892994794e-08, -1.4660145323905753e-08, 4.69749170903608e-09,
         -1.6802660846211842e-09, 6.545020736720153e-10, -2.1767827064289164e-10,
         7.462089370921765e-11, -1.1069083426265496e-10, 7.247533757337637e-11,
         3.411824364168925e-11, -2.823888579793306e-11, -1.9946832001118564e-11,
         1.3206141769972755e-11]

# ---- float32 fits (tails: R < 1.7e-12, P < 1.3e-11, Qx < 3.8e-10) -------------------
R0_32 = [0.0026861635608156163, -0.002130108503872932, 0.0007061240034211343,
         -0.00013400386602577147, 1.6706878030465496e-05, -1.4822684657608038e-06,
         9.910582881491174e-08, -5.136996708243876e-09]
R1_32 = [0.0003771068557703792, -0.0002378518169534546, 6.520377736766044e-05,
         -1.0525319497192756e-05, 1.1401278742034035e-06, -8.934640382432005e-08,
         5.3421633139783555e-09, -2.5053529597038494e-10]
P0_32 = [0.9986347659001138, -0.0013274931123517977, 3.491759082230399e-05,
         -2.4601563082878223e-06, 2.962104644066751e-07, -5.019784893559468e-08,
         1.3130388373883387e-08, -3.690078503550906e-09]
Q0_32 = [-0.12361496347828378, 0.0013142158421943831, -6.338865061224923e-05,
         6.224576626996168e-06, -9.337795359275051e-07, 2.1620852420870973e-07,
         -5.7122428956552293e-08]
P1_32 = [1.0022906462660277, 0.002241463197744503, -4.578311909966795e-05,
         2.978831352463908e-06, -3.451583034972167e-07, 5.719030961728446e-08,
         -1.467767672683381e-08, 4.078821735655309e-09]
Q1_32 = [0.37304743312189476, -0.0018648516765811137, 7.898257443301346e-05,
         -7.353943383450887e-06, 1.0720169400965951e-06, -2.429343783132628e-07,
         6.335751233123997e-08]

FITS = {(0, "float64"): (R0_64, P0_64, Q0_64), (1, "float64"): (R1_64, P1_64, Q1_64),
        (0, "float32"): (R0_32, P0_32, Q0_32), (1, "float32"): (R1_32, P1_32, Q1_32)}


def _poly(fp, t, coefficients):
    """c[0] + c[1] t + ... by Estrin's scheme: log-depth, not Horner's serial fma chain
    (a loop iteration here is too long for out-of-order execution to overlap
    iterations, so latency, not the op count, sets the speed). The terms decrease
    fast on |t| <= 1, so the rounding errors stay those of Horner's scheme."""
    terms = [fp.muladd(fp.c(coefficients[i + 1]), t, fp.c(coefficients[i]))
             if i + 1 < len(coefficients) else fp.c(coefficients[i])
             for i in range(0, len(coefficients), 2)]
    power = fp.mul(t, t)
    while len(terms) > 1:
        terms = [fp.muladd(terms[i + 1], power, terms[i]) if i + 1 < len(terms) else terms[i]
                 for i in range(0, len(terms), 2)]
        if len(terms) > 1:
            power = fp.mul(power, power)
    return terms[0]


def _mul_dd(fp, a_hi, a_lo, b_hi, b_lo):
    """(a_hi + a_lo)(b_hi + b_lo) as a double-double (first order in the tails)."""
    hi, err = fp.two_prod(a_hi, b_hi)
    return hi, fp.add(err, fp.muladd(a_hi, b_lo, fp.mul(a_lo, b_hi)))


def _small(fp, order, ax, r_coefficients):
    """J_order(ax) for 0 <= ax <= 5: R and the factors x - a, x + a (a = hi + lo
    exactly, to the type's precision squared) in double-double, rounded once, so
    only R's own rounding (~1/2 ulp) and the last one remain."""
    dtype = "float64" if fp.ty != F32 else "float32"
    # t = x**2/16 - 1 as a double-double: R' t_lo is up to ~2 ulp of R near x = 5
    p, p_err = fp.two_prod(ax, fp.mul(ax, fp.c(1 / 16)))
    t, t_err = fp.two_sum(p, fp.c(-1.0))
    hi, lo = fp.horner_dd(t, r_coefficients, 2, x_lo=fp.add(t_err, p_err))
    for a_hi, a_lo in ZEROS[order, dtype]:
        d_hi, d_err = fp.two_sum(ax, fp.c(-a_hi))          # exact near the zero
        s_hi, s_err = fp.two_sum(ax, fp.c(a_hi))
        f_hi, f_lo = _mul_dd(fp, d_hi, fp.sub(d_err, fp.c(a_lo)), s_hi, fp.add(s_err, fp.c(a_lo)))
        hi, lo = _mul_dd(fp, hi, lo, f_hi, f_lo)
    if order == 1:
        hi, lo = _mul_dd(fp, hi, lo, ax, fp.c(0.0))
    return fp.add(hi, lo)


def _sin_cos_pair(fp, r_hi, r_lo, sin_coefficients, cos_coefficients):
    """(sin_hi, sin_lo, cos_hi, cos_lo) of r = r_hi + r_lo, |r| <= pi/4: trig's
    double-double kernel with the coefficients of either precision."""
    z = fp.mul(r_hi, r_hi)
    tail = fp.muladd(fp.mul(r_hi, z), fp.horner(z, sin_coefficients),
                     fp.muladd(r_lo, fp.mul(z, fp.c(-0.5)), r_lo))
    sin_hi, sin_lo = fp.fast_two_sum(r_hi, tail, b_minus_delta=True)
    dz = fp.fma(r_hi, r_hi, fp.neg(z))
    half_z = fp.mul(z, fp.c(0.5))
    w = fp.sub(fp.c(1.0), half_z)
    tail = fp.add(fp.sub(fp.sub(fp.c(1.0), w), half_z),
                  fp.sub(fp.mul(fp.mul(z, z), fp.horner(z, cos_coefficients)),
                         fp.muladd(dz, fp.c(0.5), fp.mul(r_hi, r_lo))))
    cos_hi, cos_lo = fp.fast_two_sum(w, tail, b_minus_delta=True)
    return sin_hi, sin_lo, cos_hi, cos_lo


def _hankel(fp, ax, p_coefficients, q_coefficients, sin_pair, cos_pair):
    """amplitude (P cos(chi) - (Qx/x) sin(chi)) for ax > 5 (other ax > 0: finite
    garbage or inf), from (sin, cos)(chi) as (hi, lo) pairs. The amplitude, P and
    the products are carried as double-doubles and rounded once: near the zeros
    P cos - Q sin cancels exactly (two_sum) and only tails remain."""
    # one division: 1/xs, xs = x 2**-64 (>= 2**-62: 1/xs never overflows nor is
    # subnormal); 1/x = 2**-64/xs underflows only where Qx/x is negligible
    xs = fp.mul(ax, fp.c(2.0 ** -64))
    inv_xs = fp.div(fp.c(1.0), xs)
    rx = fp.mul(inv_xs, fp.c(2.0 ** -64))
    t = fp.muladd(fp.mul(rx, fp.c(SPLIT * SPLIT * 2.0)), rx, fp.c(-1.0))
    # P = c0 + t (c1 + ...) with the last step exact (P ~ 1, its rest ~1e-3)
    p_hi, p_err = fp.two_prod(t, _poly(fp, t, p_coefficients[1:]))
    p_hi, p_sum_err = fp.two_sum(fp.c(p_coefficients[0]), p_hi)
    p_lo = fp.add(p_err, p_sum_err)
    q = fp.mul(_poly(fp, t, q_coefficients), rx)
    # sqrt(2/(pi x)) = sqrt(y) 2**-32, y = C/xs (no subnormal (2/pi)/x near the top
    # of the range), y and sqrt(y) corrected by their residuals (1/y = xs/C)
    c_hi, c_lo = TWO_OVER_PI_32 if fp.ty == F32 else TWO_OVER_PI
    y = fp.mul(fp.c(c_hi), inv_xs)
    y_lo = fp.mul(fp.add(fp.fma(fp.neg(y), xs, fp.c(c_hi)), fp.c(c_lo)), fp.mul(y, fp.c(1 / c_hi)))
    a = fp.sqrt(y)
    a_lo = fp.mul(fp.add(fp.fma(fp.neg(a), a, y), y_lo), fp.mul(fp.mul(a, xs), fp.c(0.5 / c_hi)))
    amp_hi, amp_lo = fp.mul(a, fp.c(2.0 ** -32)), fp.mul(a_lo, fp.c(2.0 ** -32))
    # A = amplitude P and B = amplitude Q/x first (off the reduction's critical path)
    a_hi, a_err = fp.two_prod(amp_hi, p_hi)
    a_lo = fp.add(a_err, fp.muladd(amp_hi, p_lo, fp.mul(amp_lo, p_hi)))
    b = fp.mul(amp_hi, q)
    (sin_hi, _), (cos_hi, cos_lo) = sin_pair, cos_pair
    v_hi, v_err = fp.two_prod(a_hi, cos_hi)
    w = fp.mul(b, sin_hi)
    v_hi, sum_err = fp.two_sum(v_hi, fp.neg(w))
    v_lo = fp.add(fp.add(v_err, fp.muladd(a_hi, cos_lo, fp.mul(a_lo, cos_hi))),
                  fp.sub(sum_err, fp.fma(b, sin_hi, fp.neg(w))))
    return fp.add(v_hi, v_lo)


def _finish(fp, order, x, ax, small, large):
    value = fp.sel(fp.le(ax, fp.c(SPLIT)), small, large)
    value = fp.sel(fp.eq(ax, fp.c(math.inf)), fp.c(0.0), value)
    if order == 0:
        value = fp.sel(fp.lt(ax, fp.c(2.0 ** -27)), fp.c(1.0), value)    # 1 - x**2/4
    else:
        value = fp.xor_sign(value, x)
    return fp.sel(fp.isnan(x), x, value)


# ---- float64 -------------------------------------------------------------------------
def _chi_dd(f, order, ax):
    """(n, c_hi, c_lo): chi = x - (2 order + 1) pi/4 = n pi/2 + c_hi + c_lo, |c| <= pi/4
    (1 + 2**-40), n an i64 (only n mod 4 matters)."""
    n, r_hi, r_lo = reduce_f64(f, ax)
    # r - pi/4 lies in [-pi/2, 0]: below -pi/4 (r < 0) add pi/2 back and take n - 1
    below = f.lt(r_hi, f.c(0.0))
    hi, err = f.two_sum(r_hi, f.sel(below, f.c(PIO4_HI), f.c(-PIO4_HI)))
    lo = f.add(err, f.add(r_lo, f.sel(below, f.c(PIO4_LO), f.c(-PIO4_LO))))
    n = f.isub(n, f.iadd(f.b.zext(below, I64), f.i(order)))
    return n, hi, lo            # |lo| <= ulp(hi) + 2**-100: no renormalization needed


def _bessel_j64(f, order, x):
    r_coefficients, p_coefficients, q_coefficients = FITS[order, "float64"]
    ax = f.abs(x)
    small = _small(f, order, ax, r_coefficients)
    n, c_hi, c_lo = _chi_dd(f, order, ax)
    sin_hi, sin_lo, cos_hi, cos_lo = _sin_cos_dd(f, c_hi, c_lo)
    cos_chi = [_by_quadrant(f, n, c, s, 1) for c, s in ((cos_hi, sin_hi), (cos_lo, sin_lo))]
    sin_chi = [_by_quadrant(f, n, s, c, 0) for c, s in ((cos_hi, sin_hi), (cos_lo, sin_lo))]
    large = _hankel(f, ax, p_coefficients, q_coefficients, sin_chi, cos_chi)
    return _finish(f, order, x, ax, small, large)


# ---- float32 -------------------------------------------------------------------------
_K_BITS = 192                        # 2/pi to 2**-192, as three 64-bit words (low first)
_K = _TWO_OVER_PI >> (_TWO_OVER_PI_BITS - _K_BITS)
_K_WORDS = [(_K >> (64 * j)) & ((1 << 64) - 1) for j in range(3)] + [0]


def _i64(value):
    value &= (1 << 64) - 1
    return ir.Constant(I64, value - (1 << 64) if value >> 63 else value)


def _reduce32(fp, ax, half_quadrants):
    """(n, c_hi, c_lo): ax - half_quadrants pi/4 = n pi/2 + c_hi + c_lo, |c| <= pi/4,
    n an i32 (mod 4), c to ~2**-38 absolute, for finite ax >= 4 (other lanes: any
    value, no trap). Integer only: ax = M 2**E (M < 2**24) and W = the bits of
    2**(E + 62) 2/pi modulo 2**64 make M W mod 2**64 = (ax 2/pi mod 4) 2**62, to
    M * 2**-62 (< 2**-38 quadrants); W is a shifted window of 2/pi's first 192 bits,
    its two words picked by selects (E <= 104 needs 104 + 62 bits)."""
    b = fp.b
    bits = fp.bits(ax)
    e = b.lshr(bits, fp.i(23))
    e = fp.sel(b.icmp_signed("<", e, fp.i(129)), fp.i(129), e)          # ax < 4
    e = fp.sel(b.icmp_signed(">", e, fp.i(254)), fp.i(254), e)          # inf, NaN
    shift = b.zext(fp.isub(fp.i(_K_BITS + 150 - 62), e), I64)          # 26 .. 151
    word = b.lshr(shift, _i64(6))
    bit = b.and_(shift, _i64(63))

    def pick(offset):
        value = _i64(_K_WORDS[2 + offset])
        for j in (1, 0):
            value = b.select(b.icmp_unsigned("==", word, _i64(j)), _i64(_K_WORDS[j + offset]), value)
        return value
    low, high = pick(0), pick(1)
    # high << (64 - bit) without a shift by 64 (poison) when bit = 0
    window = b.or_(b.lshr(low, bit), b.shl(b.shl(high, _i64(1)), b.sub(_i64(63), bit)))
    mantissa = b.zext(b.or_(fp.iand(bits, 0x7FFFFF), fp.i(1 << 23)), I64)
    fixed = b.mul(mantissa, window)                      # quadrants * 2**62, mod 4
    fixed = b.add(fixed, _i64((1 - half_quadrants) << 61))   # - chi's offset, + 1/2 to round
    n = b.trunc(b.lshr(fixed, _i64(62)), I32)
    fraction = b.sub(b.and_(fixed, _i64((1 << 62) - 1)), _i64(1 << 61))
    # fraction 2**-62 quadrants = u_hi + u_lo: its top 16 bits and the next 24, each
    # converted exactly; then c = u pi/2 as a float32 pair
    u_hi = fp.mul(b.sitofp(b.trunc(b.ashr(fraction, _i64(46)), I32), F32), fp.c(2.0 ** -16))
    u_lo = b.trunc(b.and_(b.ashr(fraction, _i64(22)), _i64((1 << 24) - 1)), I32)
    u_lo = fp.mul(b.sitofp(u_lo, F32), fp.c(2.0 ** -40))
    c_hi, c_err = fp.two_prod(u_hi, fp.c(PIO2_32[0]))
    c_lo = fp.add(c_err, fp.muladd(u_hi, fp.c(PIO2_32[1]), fp.mul(u_lo, fp.c(PIO2_32[0]))))
    c_hi, c_lo = fp.fast_two_sum(c_hi, c_lo)
    return n, c_hi, c_lo


def _by_quadrant32(fp, n, even, odd, negate_when):
    """even if n is even else odd, negated where (n + negate_when) & 2 (i32 n)."""
    is_odd = fp.b.icmp_unsigned("!=", fp.iand(n, 1), fp.i(0))
    value = fp.sel(is_odd, odd, even)
    flip = fp.shl(fp.iand(fp.iadd(n, fp.i(negate_when)), 2), 30)
    return fp.from_bits(fp.b.xor(fp.bits(value), flip))


def _bessel_j32(fp, order, x):
    r_coefficients, p_coefficients, q_coefficients = FITS[order, "float32"]
    ax = fp.abs(x)
    small = _small(fp, order, ax, r_coefficients)
    n, c_hi, c_lo = _reduce32(fp, ax, 2 * order + 1)
    sin_hi, sin_lo, cos_hi, cos_lo = _sin_cos_pair(fp, c_hi, c_lo, SIN32, COS32)
    cos_chi = [_by_quadrant32(fp, n, c, s, 1) for c, s in ((cos_hi, sin_hi), (cos_lo, sin_lo))]
    sin_chi = [_by_quadrant32(fp, n, s, c, 0) for c, s in ((cos_hi, sin_hi), (cos_lo, sin_lo))]
    large = _hankel(fp, ax, p_coefficients, q_coefficients, sin_chi, cos_chi)
    return _finish(fp, order, x, ax, small, large)


def build_j0_64(f, x):
    return _bessel_j64(f, 0, x)


def build_j1_64(f, x):
    return _bessel_j64(f, 1, x)


def build_j0_32(fp, x):
    return _bessel_j32(fp, 0, x)


def build_j1_32(fp, x):
    return _bessel_j32(fp, 1, x)


RULES = {"j0": float_rule(build_j0_64, "j0", build_j0_32),
         "j1": float_rule(build_j1_64, "j1", build_j1_32)}
