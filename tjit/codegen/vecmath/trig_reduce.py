"""Argument reduction for sin/cos/tan: x = n*(pi/2) + r, |r| <= pi/4, for ANY finite x.

A Payne–Hanek reduction done entirely with double arithmetic, branch free, so
it vectorizes (the only irregular access is a table load, which becomes a
gather). Every lane runs it: for |x| <= pi/4 a select keeps r = x, n = 0.

Why it is exact (float64). Write |x| = M * 2**E with M a 53-bit integer. Bits
of 2/pi worth 2**-i with i <= E - 2 contribute multiples of 4 to x * 2/pi, and
only x * 2/pi mod 4 matters (n mod 4 picks the quadrant). So a table indexed
by the exponent holds, scaled by 2**E, the next 4 * 52 bits of 2/pi as four
doubles C0..C3 (C0's bits weigh 2**1 .. 2**-50, C1's 2**-51 .. 2**-102, ...).
Then M*Cj is exact as a two_prod (hi + lo), all partial sums stay on grids
that keep them exact, and the integer parts are peeled off with rint as soon as
they appear, so the fraction f = x*2/pi - n is carried as a double-double whose
error is ~2**-150 absolute (the dropped tail is below M * 2**-206). The worst
case double lies ~2**-61 from a multiple of pi/2, so f keeps ~90 good bits.

float32 does the same in float64 with two 53-bit chunks (M has 24 bits, so
2**24 * 2**-104 truncation is far below float32's worst case ~2**-40).
"""
from __future__ import annotations

import functools
import math

from llvmlite import ir

from .common import F64, I32, I64

# floor(2**1280 * 2/pi): bit i of 2/pi (weight 2**-i) is bit 1280 - i of this.
# Checked against mpmath in tests/test_vecmath_trig.py.
_TWO_OVER_PI_BITS = 1280
_TWO_OVER_PI = int(
    "a2f9836e4e441529fc2757d1f534ddc0db6295993c439041fe5163abdebbc561"
    "b7246e3a424dd2e006492eea09d1921cfe1deb1cb129a73ee88235f52ebb4484"
    "e99c7026b45f7e413991d639835339f49c845f8bbdf9283b1ff897ffde05980f"
    "ef2f118b5a0a6d1f6d367ecf27cb09b74f463f669e5fea2d7527bac7ebe5f17b"
    "3d0739f78a5292ea6bfb5fb11f8d5d0856033046fc7b6babf0cfbc209af4361d", 16)

PIO2_HI = 1.5707963267948966              # pi/2 = PIO2_HI + PIO2_LO to ~2**-107
PIO2_LO = 6.123233995736766e-17
PIO4 = 0.7853981633974483
_MAGIC = 6755399441055744.0               # 1.5 * 2**52: x + _MAGIC holds rint(x) in its low bits


def two_over_pi_window(exponent, first_bit, width):
    """sum(b_i * 2**(exponent - i)) over bits first_bit <= i < first_bit + width of
    2/pi = sum(b_i * 2**-i) (bits with i <= 0 are 0), as an exact double."""
    last = first_bit + width - 1
    word = (_TWO_OVER_PI >> (_TWO_OVER_PI_BITS - last)) & ((1 << width) - 1)
    return math.ldexp(word, exponent - last)


# float64: one row per biased exponent 1022..2047 (|x| >= 0.5; 2047 = inf/NaN).
_F64_FIRST = 1022
# float32: biased exponents 126..255; chunks of 53 bits (M * Cj is exact via fma).
_F32_FIRST = 126


@functools.lru_cache(maxsize=None)
def _tables(dtype):
    # Built on first use (~3 ms): importing vecmath must stay cheap for kernels
    # that use no trigonometry.
    if dtype == "float64":
        return [[two_over_pi_window(be - 1075, be - 1075 - 1 + 52 * j, 52)
                 for be in range(_F64_FIRST, 2048)] for j in range(4)]
    return [[two_over_pi_window(be - 150, be - 150 - 1 + 53 * j, 53)
             for be in range(_F32_FIRST, 256)] for j in range(2)]


def load_table(em, name, values, index, elem=F64):
    """`values[index]` from an internal constant global array `name` (emitted once
    per module). `index` is an i64 the caller has clamped into range."""
    module = em.builder.module
    array_ty = ir.ArrayType(elem, len(values))
    table = module.globals.get(name)
    if table is None:
        table = ir.GlobalVariable(module, array_ty, name=name)
        table.linkage = "internal"
        table.global_constant = True
        table.initializer = ir.Constant(array_ty, [ir.Constant(elem, v) for v in values])
    address = em.builder.gep(table, [ir.Constant(I64, 0), index], inbounds=True,
                             source_etype=array_ty)
    return em.builder.load(address, typ=elem, align=8)


def _quadrant(f, q):
    """The integer-valued double q (|q| < 2**51) mod 4 as an i64."""
    return f.iand(f.bits(f.add(q, f.c(_MAGIC))), 3)


def _row(b, biased_exponent, first, ty):
    """Table row index: biased_exponent - first, clamped at 0 (small |x| is not used)."""
    below = b.icmp_signed("<", biased_exponent, ir.Constant(ty, first))
    row = b.select(below, ir.Constant(ty, 0), b.sub(biased_exponent, ir.Constant(ty, first)))
    return row if ty == I64 else b.zext(row, I64)


def reduce_f64(f, ax):
    """(n, r_hi, r_lo) for ax = |x| (float64, `f` an Fp for float64): ax = n*pi/2 +
    r_hi + r_lo (mod 2*pi), n an i64 in 0..3, |r| <= pi/4 (1 + 2**-40). Inf/NaN give
    garbage: callers select."""
    b = f.b
    bits = f.bits(ax)
    row = _row(b, b.lshr(bits, f.i(52)), _F64_FIRST, I64)
    # M = ax * 2**-E as an integer-valued double in [2**52, 2**53)
    m = f.from_bits(b.or_(b.and_(bits, f.i((1 << 52) - 1)), f.i(1075 << 52)))
    c0, c1, c2, c3 = (load_table(f.em, "tjit.trig.2_over_pi.f64.%d" % j, table, row)
                      for j, table in enumerate(_tables("float64")))
    p0, e0 = f.two_prod(m, c0)                     # p0 < 2**55, on the grid 2**-50
    a = f.fma(f.c(-4.0), f.rint(f.mul(p0, f.c(0.25))), p0)    # p0 mod 4 in [-2, 2], exact
    big = f.add(a, e0)                             # |big| <= 6 on the grid 2**-50: exact
    q0 = f.rint(big)
    f0 = f.sub(big, q0)
    p1, e1 = f.two_prod(m, c1)                     # p1 < 8, e1 <= 2**-50
    s, t = f.two_sum(f0, p1)
    q1 = f.rint(s)
    s1 = f.sub(s, q1)
    # t and e1 are both on the grid 2**-102 and below 2**-50: their sum is exact.
    h, l1 = f.two_sum(s1, f.add(t, e1))
    p2, e2 = f.two_prod(m, c2)
    h, l2 = f.two_sum(h, p2)
    low = f.add(f.add(l1, l2), f.add(e2, f.mul(m, c3)))
    frac_hi, frac_lo = f.fast_two_sum(h, low, b_minus_delta=True)
    # r = f * pi/2 as a double-double
    r_hi = f.mul(frac_hi, f.c(PIO2_HI))
    r_lo = f.add(f.fma(frac_hi, f.c(PIO2_HI), f.neg(r_hi)),
                 f.fma(frac_hi, f.c(PIO2_LO), f.mul(frac_lo, f.c(PIO2_HI))))
    n = _quadrant(f, f.add(q0, q1))
    small = f.le(ax, f.c(PIO4))
    return f.sel(small, f.i(0), n), f.sel(small, ax, r_hi), f.sel(small, f.c(0.0), r_lo)


def reduce_f32(f, ax32):
    """(n, r) for ax32 = |x| (float32, `f` an Fp for float64): r a float64 with
    ax32 = n*pi/2 + r (mod 2*pi), relative error ~2**-52, |r| <= pi/4 (1 + 2**-24),
    n an i64 in 0..3."""
    b = f.b
    bits = b.bitcast(ax32, I32)
    row = _row(b, b.lshr(bits, ir.Constant(I32, 23)), _F32_FIRST, I32)
    mantissa = b.or_(b.and_(bits, ir.Constant(I32, (1 << 23) - 1)), ir.Constant(I32, 1 << 23))
    m = b.sitofp(mantissa, F64)                    # ax32 = m * 2**E, m < 2**24
    c0, c1 = (load_table(f.em, "tjit.trig.2_over_pi.f32.%d" % j, table, row)
              for j, table in enumerate(_tables("float32")))
    p0, e0 = f.two_prod(m, c0)                     # p0 < 2**26 on the grid 2**-51
    rounded = f.add(p0, f.c(_MAGIC))               # rint(p0) in the low bits
    q = f.sub(rounded, f.c(_MAGIC))
    f0 = f.add(f.sub(p0, q), e0)                   # |f0| <= 0.5 + 2**-27, grid 2**-51: exact
    frac = f.fma(m, c1, f0)                        # + M*C1 < 2**-26; the tail is < 2**-80
    r = f.mul(frac, f.c(PIO2_HI))
    n = f.iand(f.bits(rounded), 3)
    ax = b.fpext(ax32, F64)
    small = f.le(ax, f.c(PIO4))
    return f.sel(small, f.i(0), n), f.sel(small, ax, r)
