"""The RNN h_t = tanh(W h_{t-1} + x_t) as a native scan loop: its forward states and
its gradient (BPTT) against NumPy loops, for both dtypes, hidden sizes around the
register blocks of the loop's matrix-vector product (32 float64 outputs at a time)
and the vector widths, on an AVX2 target and on baseline x86-64 (no FMA)."""
import threading

import numpy as np
import pytest

import tjit
import tjit.tensor as T
from tjit.ir.printer import format_kernel
from tjit.scan_module.native import NativeScan, _aligned_empty

# (cpu, dtype, hidden sizes, tolerance): sizes around the blocks of 32 float64
# outputs and the 4- and 8-lane vectors; baseline x86-64 has no FMA instruction
CASES = {"x86-64-v3": [("float64", (1, 63, 64, 65), 1e-11), ("float32", (5,), 2e-4)],
         "x86-64": [("float64", (130, 5, 65), 1e-11)]}   # 130: the general (unspecialized) product
V3 = "x86-64-v3"


def _rnn_numpy(W, X, h0):
    hs, h = [], h0
    for x in X:
        h = np.tanh(W @ h + x)
        hs.append(h)
    return np.array(hs).reshape(len(X), len(h0))


def _bptt_numpy(W, X, h0):
    """d sum(h**2) / dW by a hand-written reverse loop."""
    hs = _rnn_numpy(W, X, h0)
    gW, carry = np.zeros_like(W), np.zeros_like(h0)
    for t in range(len(X) - 1, -1, -1):
        prev = hs[t - 1] if t else h0
        da = (2 * hs[t] + carry) * (1 - hs[t] ** 2)
        gW += np.outer(da, prev)
        carry = W.T @ da
    return gW


def _rnn_function(dtype):
    W, X, h0 = T.matrix("W", dtype=dtype), T.matrix("X", dtype=dtype), T.vector("h0", dtype=dtype)
    hs, _ = tjit.scan(lambda x, h, W: T.tanh(T.dot(W, h) + x), sequences=X, outputs_info=h0,
                      non_sequences=W)
    return tjit.function([W, X, h0], [hs, T.grad((hs ** 2).sum(), W)])


def _data(rng, d, steps, dtype):
    W = rng.normal(size=(d, d)) * (0.9 / np.sqrt(d))
    return [a.astype(dtype) for a in (W, rng.normal(size=(steps, d)), rng.normal(size=d))]


@pytest.mark.parametrize("cpu", sorted(CASES))
def test_rnn_and_its_gradient_match_numpy(cpu):
    rng = np.random.default_rng(17)
    with tjit.config.change_flags(cpu=cpu):
        for dtype, sizes, tol in CASES[cpu]:
            f = _rnn_function(dtype)
            for d in sizes:
                W, X, h0 = _data(rng, d, 12, dtype)
                hs, gW = f(W, X, h0)
                assert hs.dtype == gW.dtype == dtype
                W64, X64, h64 = (a.astype(np.float64) for a in (W, X, h0))
                np.testing.assert_allclose(hs, _rnn_numpy(W64, X64, h64), rtol=tol, atol=tol,
                                           err_msg=f"{cpu} {dtype} hidden {d}")
                ref = _bptt_numpy(W64, X64, h64)
                np.testing.assert_allclose(gW, ref, rtol=tol, atol=tol * np.abs(ref).max(),
                                           err_msg=f"{cpu} {dtype} hidden {d} (grad)")
            loops = [t.native for t in f.thunks if isinstance(t, NativeScan)]
            if dtype == "float64":                  # forward and backward run natively
                assert len(loops) == 2 and None not in loops
                _assert_blocked_and_wide(loops, d, cpu == V3)
                # the backward loop's dW accumulator is updated in place
                assert any(t.plan.in_place for t in f.thunks if isinstance(t, NativeScan))


def _assert_blocked_and_wide(loops, d, avx2):
    """The loops' matrix-vector products (last compiled for hidden size d) keep
    their partial sums in Locals, a block of 32 outputs at a time then the rest;
    on AVX2 the forward loop's tanh calls the 8-lane variant (two registers)."""
    for native in loops:
        text = format_kernel(native.kernel)
        assert f"mv_acc{d - d % 32}: float64[{d % 32}]" in text, text
        if d >= 32:
            assert "mv_acc0: float64[32]" in text, text
    forward = next(n for n in loops if "tanh(" in format_kernel(n.kernel))
    if avx2:
        assert "tjit_m_tanh_float64_v8(" in forward.llvm_ir


def test_zero_and_one_steps():
    with tjit.config.change_flags(cpu=V3):       # the kernels of the test above
        f = _rnn_function("float64")
        rng = np.random.default_rng(3)
        W, X, h0 = _data(rng, 65, 1, "float64")
        hs, gW = f(W, X, h0)
        np.testing.assert_allclose(hs, _rnn_numpy(W, X, h0), rtol=1e-12)
        np.testing.assert_allclose(gW, _bptt_numpy(W, X, h0), rtol=1e-11, atol=1e-13)
        hs, gW = f(W, X[:0], h0)
    assert hs.shape == (0, 65)
    np.testing.assert_array_equal(gW, np.zeros((65, 65)))


def test_buffers_are_cache_line_aligned():
    for shape in [(64, 64), (3,), (1000, 65), (0, 4)]:
        a = _aligned_empty(shape, np.float64)
        assert a.shape == shape and a.dtype == np.float64 and a.flags.c_contiguous
        if a.size:
            assert a.__array_interface__["data"][0] % 64 == 0


def test_concurrent_calls_do_not_share_scratch():
    with tjit.config.change_flags(cpu=V3):
        f = _rnn_function("float64")
        rng = np.random.default_rng(11)
        cases = [_data(rng, 64, 200, "float64") for _ in range(4)]
        f(*cases[0])
    results = [None] * len(cases)

    def run(k):
        for _ in range(5):
            results[k] = f(*cases[k])[0].copy()

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(cases))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k, (W, X, h0) in enumerate(cases):
        np.testing.assert_allclose(results[k], _rnn_numpy(W, X, h0), rtol=1e-11, atol=1e-13)


def test_last_only_outputs_update_in_place_only_when_their_own_update_reads_them():
    """acc_t = acc_{t-1} + outer(x_t, x_t) and c (their old values read by their
    own elementwise update only) keep one buffer; b's old value is also read by
    c's update, so b keeps its ring of two rows. All three only through [-1]."""
    X, A0, B0 = T.dmatrix("X"), T.dmatrix("A0"), T.dvector("B0")

    def step(x, acc, b, c):
        return [acc + x.dimshuffle(0, "x") * x.dimshuffle("x", 0), b * 0.5 + x, c + b.sum()]

    (acc, b, c), _ = tjit.scan(step, sequences=X, outputs_info=[A0, B0, T.constant(0.0)])
    f = tjit.function([X, A0, B0], [acc[-1], b[-1], c[-1]])
    rng = np.random.default_rng(2)
    Xv, A0v, B0v = rng.normal(size=(9, 6)), rng.normal(size=(6, 6)), rng.normal(size=6)
    got = f(Xv, A0v, B0v)
    acc_ref, b_ref, c_ref = A0v.copy(), B0v.copy(), 0.0
    for x in Xv:
        acc_ref, b_ref, c_ref = acc_ref + np.outer(x, x), b_ref * 0.5 + x, c_ref + b_ref.sum()
    for g, ref in zip(got, (acc_ref, b_ref, c_ref)):
        np.testing.assert_allclose(g, ref, rtol=1e-12, atol=1e-12)
    scan = next(t for t in f.thunks if isinstance(t, NativeScan))
    assert scan.native is not None and scan.op.last_only == {0, 1, 2}
    assert scan.plan.in_place == {0, 2}      # c too: read by its own update only


def test_a_transposed_read_of_the_old_value_keeps_the_ring():
    X, A0 = T.dmatrix("X"), T.dmatrix("A0")
    acc, _ = tjit.scan(lambda x, acc: acc.T * 0.5 + x.dimshuffle(0, "x") * x.dimshuffle("x", 0),
                       sequences=X, outputs_info=[A0])
    f = tjit.function([X, A0], acc[-1])
    rng = np.random.default_rng(4)
    Xv, ref = rng.normal(size=(9, 6)), rng.normal(size=(6, 6))
    got = f(Xv, ref)
    for x in Xv:
        ref = ref.T * 0.5 + np.outer(x, x)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
    scan = next(t for t in f.thunks if isinstance(t, NativeScan))
    assert scan.native is not None and scan.plan.in_place == frozenset()


def test_a_result_kept_by_the_caller_is_not_overwritten_by_the_next_call():
    """The histories are pooled (aligned views of a larger allocation): a result
    the caller still holds, as the view the function returns, is never reused."""
    with tjit.config.change_flags(cpu=V3):
        f = _rnn_function("float64")
        rng = np.random.default_rng(8)
        W, X, h0 = _data(rng, 64, 300, "float64")    # a pooled (64 KB+) history
        first = f(W, X, h0)[0]
        kept = first.copy()
        second = f(W, X * 2, h0)[0]
        third = f(W, X * 3, h0)[0]
    np.testing.assert_array_equal(first, kept)
    np.testing.assert_allclose(second, _rnn_numpy(W, X * 2, h0), rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(third, _rnn_numpy(W, X * 3, h0), rtol=1e-11, atol=1e-13)
