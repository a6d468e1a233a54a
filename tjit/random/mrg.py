"""MRG31k3p: the generator, its jump-ahead and a NumPy reference (the loop-IR kernel
is in `tjit.ir.lower_random`).

MRG31k3p (P. L'Ecuyer and R. Touzin, "Fast combined multiple recursive generators
with multipliers of the form a = +-2^q +-2^r", WSC 2000) combines two order-3
recurrences, state (x10, x11, x12 | x20, x21, x22), newest first:

    x1_n = (2^22 x1_{n-2} + (2^7 + 1) x1_{n-3}) mod m1,  m1 = 2^31 - 1
    x2_n = (2^15 x2_{n-1} + (2^15 + 1) x2_{n-3}) mod m2, m2 = 2^31 - 21069
    z_n = (x1_n - x2_n) mod m1, output z_n / 2^31, or m1 / 2^31 when z_n == 0.

Each step is a linear map of the state, so jumping 2^72 steps ahead (to the next
substream, as L'Ecuyer's RngStreams and Theano's MRG do) is a 3x3 matrix product
mod m per component; `A1P72`/`A2P72` are the published matrices (Theano's
rng_mrg.py), and the tests check them against powers of the one-step matrices.

How tjit uses it (Theano's layout, `theano.sandbox.rng_mrg`): the state of one
random variable is an int32 (nstreams, 6) matrix, row s the current state of
substream s (substream s starts 2^72 * s steps after the variable's stream, reached
by jump-ahead). A draw of n values takes value i from substream i % nstreams (its
next output), so substream s advances by the number of values it gave, and the new
state matrix is the variable's update: each call continues where the last one
stopped, as in Theano. Variable k of `MRG_RandomStreams(seed)` starts at stream k
(2^134 steps apart) of the seed state. The native kernel steps up to LANES
substreams side by side (a vectorized loop; each of its rows is a contiguous
run of the draw); threads split the substreams, so no value depends on the
thread count."""
from __future__ import annotations

import numpy as np

M1, M2 = 2147483647, 2147462579
NORM = 4.656612873077392578125e-10          # 1 / 2^31
NORM32 = np.float32(4.6566126e-10)          # < 2^-31: keeps float32 outputs < 1 (Theano)
STATE_LEN = 6
LANES = 512                  # substreams stepped side by side by the native kernel
MAX_DRAW = M1                # Theano's limit: at most 2^31 - 1 values per draw
MAX_STREAMS = 2 ** 31 - 1    # the stream count must fit int32 (Theano's state shape)
DEFAULT_STREAMS = 60 * 256   # Theano's guess when the size is not all Python ints

A1P0 = ((0, 4194304, 129), (1, 0, 0), (0, 1, 0))
A2P0 = ((32768, 0, 32769), (1, 0, 0), (0, 1, 0))
A1P72 = ((1516919229, 758510237, 499121365),
         (1884998244, 1516919229, 335398200),
         (601897748, 1884998244, 358115744))
A2P72 = ((1228857673, 1496414766, 954677935),
         (1133297478, 1407477216, 1496414766),
         (2002613992, 1639496704, 1407477216))
A1P134 = ((1702500920, 1849582496, 1656874625),
          (828554832, 1702500920, 1512419905),
          (1143731069, 828554832, 102237247))
A2P134 = ((796789021, 1464208080, 607337906),
          (1241679051, 1431130166, 1464208080),
          (1401213391, 1178684362, 1431130166))


def mat_mul(a, b, m):
    return tuple(tuple(sum(a[i][k] * b[k][j] for k in range(3)) % m for j in range(3))
                 for i in range(3))


def mat_pow(a, e, m):
    """a^e mod m (Python ints, exact)."""
    result = ((1, 0, 0), (0, 1, 0), (0, 0, 1))
    while e:
        if e & 1:
            result = mat_mul(result, a, m)
        a = mat_mul(a, a, m)
        e >>= 1
    return result


def _squarings(a, m, count):
    out = [a]
    for _ in range(count - 1):
        out.append(mat_mul(out[-1], out[-1], m))
    return out


# JUMPS[k] = (A1, A2) jumping 2^k substreams (2^(72+k) steps), k < 31
JUMPS = list(zip(_squarings(A1P72, M1, 31), _squarings(A2P72, M2, 31)))
NEXT_STREAM = (A1P134, A2P134)


def apply(jump, states):
    """Jump `states` (int64 array (..., 6)) by the matrix pair `jump`."""
    states = np.asarray(states, dtype=np.int64)
    out = np.empty_like(states)
    for half, (a, m) in enumerate(zip(jump, (M1, M2))):
        s = states[..., 3 * half:3 * half + 3]
        for r in range(3):
            acc = np.zeros(s.shape[:-1], dtype=np.int64)
            for c in range(3):
                acc = (acc + (a[r][c] * s[..., c]) % m) % m
            out[..., 3 * half + r] = acc
    return out


def check_state(state, who):
    x1, x2 = state[:3], state[3:]
    if (x1 < 0).any() or (x1 >= M1).any() or (x2 < 0).any() or (x2 >= M2).any() \
            or not x1.any() or not x2.any():
        raise ValueError(f"{who}: invalid MRG31k3p state {state.tolist()}: the first three "
                         f"numbers must be in [0, {M1}), the last three in [0, {M2}), and "
                         "neither triple all zero")


def seed_state(seed):
    """The MRG31k3p state of an integer seed ([seed] * 6, as Theano) or a 6-sequence."""
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        if not 0 < int(seed) < M2:
            raise ValueError(f"MRG seed must be in (0, {M2}), got {seed}")
        state = np.full(6, int(seed), dtype=np.int64)
    else:
        state = np.asarray(seed, dtype=np.int64).reshape(-1)
        if state.shape != (6,):
            raise ValueError(f"MRG seed must be an int or 6 ints, got {seed!r}")
    check_state(state, "MRG seed")
    return state


def guess_n_streams(size):
    """Theano's default stream count: for a size of Python ints, (product // 6 when
    the product exceeds 6) capped at 60 * 256; for any other size 60 * 256."""
    if isinstance(size, (tuple, list)) and all(
            isinstance(e, int) and not isinstance(e, bool) for e in size):
        r = 1
        for e in size:
            r *= e
        if r > 6:
            r //= 6
        return min(r, DEFAULT_STREAMS)
    return DEFAULT_STREAMS


def substream_starts(state, count):
    """int32 (count, 6): the starts of substreams 0..count-1 from `state` (Theano's
    get_substream_rstates: row s is row s-1 jumped 2^72 steps; computed here by
    doubling, exact modular arithmetic, so the same rows)."""
    if not 0 < count <= MAX_STREAMS:
        raise ValueError(f"MRG stream count must be in [1, {MAX_STREAMS}] (int32), "
                         f"got {count}")
    starts = np.empty((count, 6), dtype=np.int64)
    starts[0] = state
    size, k = 1, 0
    while size < count:
        take = min(size, count - size)
        starts[size:size + take] = apply(JUMPS[k], starts[:take])
        size += take
        k += 1
    return starts.astype(np.int32)


def step(x):
    """One MRG31k3p step of int64 state columns x (list of 6 arrays); returns the
    new columns and z in [1, m1] (z == m1 stands for 0)."""
    x10, x11, x12, x20, x21, x22 = (np.asarray(v, dtype=np.int64) for v in x)
    y1 = (4194304 * x11 + 129 * x12) % M1
    y2 = (32768 * x20 + 32769 * x22) % M2
    z = y1 - y2
    z = np.where(z <= 0, z + M1, z)
    return [y1, x10, x11, y2, x20, x21], z


def to_unit(z, dtype):
    # as Theano's C code: the int converted to the dtype, times NORM of the dtype
    if dtype == "float32":
        return z.astype(np.float32) * NORM32
    return z.astype(np.float64) * NORM


def check_draw(rstates, n, who):
    """Theano's limits on a draw: a state matrix of valid rows, n < 2^31."""
    if rstates.ndim != 2 or rstates.shape[1] != 6 or rstates.shape[0] < 1:
        raise ValueError(f"{who}: an MRG state must be an int32 (nstreams, 6) matrix, "
                         f"got shape {rstates.shape}")
    if n > MAX_DRAW:
        raise ValueError(f"{who}: an MRG draw holds at most 2**31 - 1 values "
                         f"(Theano's limit), asked for {n}")


def uniform01(rstates, n, dtype):
    """NumPy reference: (the n standard uniforms (0, 1) of `dtype` of the draw from
    the state matrix `rstates`, the state matrix after the draw)."""
    rstates = np.asarray(rstates)
    check_draw(rstates, n, "MRG draw")
    streams = len(rstates)
    full, rem = divmod(n, streams)
    x = [rstates[:, j].astype(np.int64) for j in range(6)]
    out = np.empty((full + (rem > 0), streams), dtype=dtype)
    for t in range(full):
        x, z = step(x)
        out[t] = to_unit(z, dtype)
    if rem:
        y, z = step(x)
        out[full] = to_unit(z, dtype)
        used = np.arange(streams) < rem
        x = [np.where(used, a, b) for a, b in zip(y, x)]
    return out.reshape(-1)[:n], np.stack(x, axis=1).astype(np.int32)
