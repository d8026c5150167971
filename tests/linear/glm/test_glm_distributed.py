"""GLMs on chunks, Dask arrays and Dask DataFrames equal the in-memory fits (estimates and standard errors)."""

import numpy as np
import pytest

import l2kit as l2
from l2kit import InputError

N = 2400


def _data(family, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, 3))
    eta = 0.3 + X @ [0.2, -0.4, 0.1]
    mu = np.exp(eta)
    y = {"poisson": lambda: rng.poisson(mu), "nb": lambda: rng.negative_binomial(2.0, 2.0 / (2.0 + mu)),
         "logistic": lambda: rng.uniform(size=N) < 1 / (1 + np.exp(-eta)),
         "gamma": lambda: rng.gamma(2.0, mu / 2)}[family]().astype(float)
    return X, y, rng.integers(1, 4, size=N).astype(float)


class Chunks:
    """A re-iterable of (X, y[, w]) chunks of uneven sizes."""

    def __init__(self, X, y, w=None):
        self.X, self.y, self.w = X, y, w
        self.cuts = [0, 300, 1000, 1001, 1700, N]

    def __iter__(self):
        for a, b in zip(self.cuts[:-1], self.cuts[1:]):
            yield (self.X[a:b], self.y[a:b]) if self.w is None else (self.X[a:b], self.y[a:b], self.w[a:b])


def _same(a, b, tol_se=1e-8):
    pa, pb = np.r_[a.intercept, a.coef], np.r_[b.intercept, b.coef]
    np.testing.assert_allclose(pb, pa, rtol=0, atol=1e-8 * (1 + np.abs(pa).max()))
    sa, sb = np.r_[a.intercept_stderr, a.stderr], np.r_[b.intercept_stderr, b.stderr]
    np.testing.assert_allclose(sb, sa, rtol=tol_se)
    assert b.converged and a.converged
    assert b.scale == pytest.approx(a.scale, rel=1e-10)
    assert b.deviance == pytest.approx(a.deviance, rel=1e-10)
    assert b.null_deviance == pytest.approx(a.null_deviance, rel=1e-10)


@pytest.mark.parametrize("family", ["poisson", "nb", "logistic", "gamma"])
@pytest.mark.parametrize("weighted", [False, True])
def test_chunks_equal_in_memory(family, weighted):
    X, y, w = _data(family)
    w = w if weighted else None
    mem = l2.fit(X, y, loss=family, weights=w)
    got = l2.fit(Chunks(X, y, w), loss=family)
    _same(mem, got)
    if family == "nb":
        assert got.extra["theta"] == pytest.approx(mem.extra["theta"], rel=1e-8)
        assert got.extra["theta_stderr"] == pytest.approx(mem.extra["theta_stderr"], rel=1e-8)
    if family != "gamma":
        assert got.loglike == pytest.approx(mem.loglike, rel=1e-12)
    else:
        assert got.loglike is None and "loglike" in got.undefined


def test_nb_with_theta_fixed_on_chunks():
    X, y, _ = _data("nb", 3)
    loss = l2.NegativeBinomialNLL(theta=1.5)
    _same(l2.fit(X, y, loss=loss, estimate_theta=False), l2.fit(Chunks(X, y), loss=loss, estimate_theta=False))


def test_dask_array_and_dataframe_equal_in_memory():
    da = pytest.importorskip("dask.array")
    dd = pytest.importorskip("dask.dataframe")
    import dask
    import pandas as pd

    X, y, w = _data("poisson", 5)
    mem = l2.fit(X, y, loss="poisson", weights=w)
    with dask.config.set(scheduler="synchronous"):
        got = l2.fit(da.from_array(X, chunks=(500, 3)), da.from_array(y, chunks=500), loss="poisson",
                     weights=da.from_array(w, chunks=500))
        df = dd.from_pandas(pd.DataFrame(X, columns=["a", "b", "c"]), npartitions=4)
        ys = dd.from_pandas(pd.Series(y), npartitions=4)
        ws = dd.from_pandas(pd.Series(w), npartitions=4)
        got_df = l2.fit(df, ys, loss="poisson", weights=ws)
    _same(mem, got)
    _same(mem, got_df)
    assert got_df.feature_names == ("a", "b", "c")


def test_refusals_name_the_fix():
    X, y, _ = _data("poisson")
    with pytest.raises(InputError, match="re-iterable"):
        l2.fit(((X[i:i + 100], y[i:i + 100]) for i in range(0, N, 100)), loss="poisson")
    with pytest.raises(InputError, match="offset"):
        l2.fit(Chunks(X, y), loss="poisson", offset=np.zeros(N))
    with pytest.raises(InputError, match="exactly in memory only"):
        l2.fit(Chunks(X, y), loss=l2.Quantile(0.5))
    bad = y.copy()
    bad[1500] = np.nan
    with pytest.raises(InputError, match="row 1500"):
        l2.fit(Chunks(X, bad), loss="poisson")
    with pytest.raises(InputError, match="chunk"):
        l2.fit(Chunks(X, -y - 1), loss="poisson")


def test_quantile_on_dask_is_refused():
    da = pytest.importorskip("dask.array")
    X, y, _ = _data("poisson")
    with pytest.raises(InputError, match="no approximation"):
        l2.fit(da.from_array(X, chunks=(500, 3)), da.from_array(y, chunks=500), loss="quantile")
