"""Robust IRLS on chunks and Dask equals the in-memory fit: estimates, scale (an exact MAD) and standard errors."""

import numpy as np
import pytest

import l2kit as l2
from l2kit import InputError

N = 3000


def _data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, 3))
    y = 1 + X @ [2.0, -1.0, 0.5] + rng.standard_t(2, size=N)
    y[:150] += 25.0                                      # one-sided gross outliers
    return X, y, rng.integers(1, 4, size=N).astype(float)


class Chunks:
    def __init__(self, X, y, w=None):
        self.X, self.y, self.w = X, y, w

    def __iter__(self):
        for a in range(0, N, 700):
            sl = slice(a, a + 700)
            yield (self.X[sl], self.y[sl]) if self.w is None else (self.X[sl], self.y[sl], self.w[sl])


def _same(a, b):
    pa, pb = np.r_[a.intercept, a.coef], np.r_[b.intercept, b.coef]
    np.testing.assert_allclose(pb, pa, rtol=0, atol=1e-8)
    np.testing.assert_allclose(np.r_[b.intercept_stderr, b.stderr], np.r_[a.intercept_stderr, a.stderr], rtol=1e-8)
    assert b.scale == pytest.approx(a.scale, rel=1e-8)
    assert a.converged and b.converged


@pytest.mark.parametrize("loss", [l2.Huber(1.345), l2.Tukey(), l2.Cauchy()], ids=repr)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("cov_type", ["nonrobust", "H3"])
def test_chunks_equal_in_memory(loss, weighted, cov_type):
    X, y, w = _data()
    w = w if weighted else None
    start = {"start": "huber"} if loss.redescending else {}    # the distributed start of redescending losses
    mem = l2.fit(X, y, loss=loss, weights=w, tol=1e-11, cov_type=cov_type, **start)
    got = l2.fit(Chunks(X, y, w), loss=loss, tol=1e-11, cov_type=cov_type)
    _same(mem, got)


def test_mass_convention_and_fixed_scale():
    X, y, _ = _data(1)
    for kw in ({"convention": "MASS"}, {"scale": 2.0}):
        _same(l2.fit(X, y, loss="huber", tol=1e-11, **kw), l2.fit(Chunks(X, y), loss="huber", tol=1e-11, **kw))


def test_dask_equals_in_memory():
    da = pytest.importorskip("dask.array")
    import dask

    X, y, w = _data(2)
    mem = l2.fit(X, y, loss=l2.Tukey(), weights=w, tol=1e-11, start="huber")
    with dask.config.set(scheduler="synchronous"):
        got = l2.fit(da.from_array(X, chunks=(400, 3)), da.from_array(y, chunks=400), loss=l2.Tukey(),
                     weights=da.from_array(w, chunks=400), tol=1e-11)
    _same(mem, got)


def test_refusals():
    X, y, _ = _data()
    with pytest.raises(InputError, match="proposal 2"):
        l2.fit(Chunks(X, y), loss="huber", scale="huber")
    with pytest.raises(InputError, match="sandwich"):
        l2.fit(Chunks(X, y), loss="huber", cov_type="HC1")
    with pytest.raises(InputError, match="L1 start"):
        l2.fit(Chunks(X, y), loss="tukey", start="l1")
    with pytest.raises(InputError, match="full-rank"):
        l2.fit(Chunks(np.column_stack([X, X[:, 0]]), y), loss="huber")
