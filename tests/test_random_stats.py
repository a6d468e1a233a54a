"""Random streams: the distributions, checked statistically with fixed seeds
(Kolmogorov-Smirnov and chi-square tests at a 1e-4 level, moments)."""
import numpy as np
import pytest
from scipy import stats

import tjit
import tjit.tensor as T
from tjit.sandbox.rng_mrg import MRG_RandomStreams
from tjit.tensor.shared_randomstreams import RandomStreams

STREAMS = [RandomStreams, MRG_RandomStreams]
ALPHA = 1e-4
N = 100_000


def _draw(*outs):
    return tjit.function([], list(outs))()


def _chisquare(counts, probs):
    expected = np.asarray(probs, dtype=float) * np.sum(counts)
    return stats.chisquare(counts, expected).pvalue


@pytest.mark.parametrize("make", STREAMS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_uniform(make, dtype):
    rs = make(101)
    u, v = _draw(rs.uniform((N,), dtype=dtype), rs.uniform((N,), low=-3, high=5, dtype=dtype))
    assert u.dtype == dtype and u.min() >= 0 and u.max() < 1
    assert v.min() >= -3 and v.max() < 5
    assert stats.kstest(u, "uniform").pvalue > ALPHA
    assert stats.kstest(v, "uniform", args=(-3, 8)).pvalue > ALPHA
    # neighbours are independent (words of one Philox block, substream steps)
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 4 / np.sqrt(N)


@pytest.mark.parametrize("make", STREAMS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_normal(make, dtype):
    rs = make(202)
    z, w = _draw(rs.normal((N,), dtype=dtype), rs.normal((N,), avg=2.0, std=3.0, dtype=dtype))
    assert z.dtype == dtype and np.isfinite(z).all()
    assert stats.kstest(z, "norm").pvalue > ALPHA
    assert stats.kstest(w, "norm", args=(2.0, 3.0)).pvalue > ALPHA
    assert abs(z.mean()) < 5 / np.sqrt(N) and abs(z.var() - 1) < 0.02
    assert abs(stats.skew(z)) < 0.05 and abs(stats.kurtosis(z)) < 0.1
    # the two members of a Box-Muller pair are uncorrelated
    assert abs(np.corrcoef(z[0::2], z[1::2])[0, 1]) < 5 / np.sqrt(N / 2)


@pytest.mark.parametrize("make", STREAMS)
def test_normal_with_tensor_params(make):
    rs = make(3)
    avg = T.dvector("avg")
    f = tjit.function([avg], rs.normal((20_000, 2), avg=avg, std=0.5))
    z = f([-10.0, 10.0])
    assert abs(z[:, 0].mean() + 10) < 0.05 and abs(z[:, 1].mean() - 10) < 0.05
    assert (abs(z.std(axis=0) - 0.5) < 0.02).all()


@pytest.mark.parametrize("make", STREAMS)
def test_binomial(make):
    rs = make(303)
    b1, b10 = _draw(rs.binomial((N,), p=0.3), rs.binomial((N,), n=10, p=0.35))
    assert set(np.unique(b1)) == {0, 1} and abs(b1.mean() - 0.3) < 0.006
    counts = np.bincount(b10, minlength=11)
    assert _chisquare(counts, stats.binom.pmf(np.arange(11), 10, 0.35)) > ALPHA
    n, p = T.lvector("n"), T.dscalar("p")
    f = tjit.function([n, p], rs.binomial((3, 2), n=n, p=p))
    got = f([0, 50], 1.0)
    np.testing.assert_array_equal(got, [[0, 50]] * 3)


@pytest.mark.parametrize("make", STREAMS)
def test_random_integers(make):
    rs = make(404)
    (k,) = _draw(rs.random_integers((N,), low=-2, high=4))
    assert k.min() == -2 and k.max() == 4
    assert _chisquare(np.bincount(k + 2), [1 / 7] * 7) > ALPHA


@pytest.mark.parametrize("make", STREAMS)
def test_choice(make):
    rs = make(505)
    p = [0.1, 0.2, 0.3, 0.4]
    plain, weighted = _draw(rs.choice((N,), a=5), rs.choice((N,), a=4, p=p))
    assert _chisquare(np.bincount(plain, minlength=5), [0.2] * 5) > ALPHA
    assert _chisquare(np.bincount(weighted, minlength=4), p) > ALPHA
    values = T.dvector("values")
    f = tjit.function([values], [rs.choice((3, 4), a=values, replace=False),
                                 rs.choice((6,), a=6, replace=False, p=p + [0.0, 0.0])])
    picked, no_zero = f(np.arange(100.0) * 2)
    assert picked.shape == (3, 4) and len(np.unique(picked)) == 12
    assert set(picked.ravel()) <= set(np.arange(100.0) * 2)
    # weighted without replacement: zero-weight members come last
    assert set(no_zero[:4]) == {0, 1, 2, 3}


@pytest.mark.parametrize("make", STREAMS)
def test_permutation(make):
    rs = make(606)
    (perms,) = _draw(rs.permutation((2000,), n=5))
    assert perms.shape == (2000, 5)
    np.testing.assert_array_equal(np.sort(perms, axis=1), np.tile(np.arange(5), (2000, 1)))
    first = np.bincount(perms[:, 0], minlength=5)
    assert _chisquare(first, [0.2] * 5) > ALPHA


@pytest.mark.parametrize("make", STREAMS)
def test_multinomial(make):
    rs = make(707)
    pvals = np.array([0.2, 0.5, 0.3])
    (counts,) = _draw(rs.multinomial((20_000,), n=7, pvals=pvals))
    assert counts.shape == (20_000, 3) and (counts.sum(axis=1) == 7).all()
    np.testing.assert_allclose(counts.mean(axis=0), 7 * pvals, atol=0.05)
    pm = T.dmatrix("pm")   # Theano MRG style: one row of pvals per sample
    f = tjit.function([pm], rs.multinomial(pvals=pm, n=1))
    one_hot = f(np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]]))
    assert one_hot.shape == (3, 2)
    np.testing.assert_array_equal(one_hot[:2], [[0, 1], [1, 0]])
    assert one_hot[2].sum() == 1


@pytest.mark.parametrize("make", STREAMS)
def test_poisson(make):
    rs = make(808)
    small, large = _draw(rs.poisson((N,), lam=3.5), rs.poisson((20_000,), lam=900.0))
    counts = np.bincount(small)
    top = 12     # pool the tail so that every cell expects enough draws
    probs = np.append(stats.poisson.pmf(np.arange(top), 3.5), stats.poisson.sf(top - 1, 3.5))
    cells = np.append(counts[:top], counts[top:].sum())
    assert _chisquare(cells, probs) > ALPHA
    assert abs(large.mean() - 900) < 6 * 30 / np.sqrt(20_000)
    assert abs(large.std() - 30) < 1


@pytest.mark.parametrize("make", STREAMS)
def test_shuffle_row_elements(make):
    rs = make(909)
    m = T.dmatrix("m")
    f = tjit.function([m], rs.shuffle_row_elements(m))
    x = np.arange(4000.0).reshape(1000, 4)
    got = f(x)
    np.testing.assert_array_equal(np.sort(got, axis=1), x)
    first = (got[:, 0] - x[:, 0]).astype(int)      # which column came first
    assert _chisquare(np.bincount(first, minlength=4), [0.25] * 4) > ALPHA
    assert not np.array_equal(f(x), got)
