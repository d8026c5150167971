"""Metrics on Dask arrays (default threaded scheduler) against the in-memory NumPy results."""

import warnings

import numpy as np
import pytest

import l2kit as l2
from l2kit import InputError

da = pytest.importorskip("dask.array")

NAMES = ["mse", "rmse", "mae", "r2", "explained_variance"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape,chunks", [((1000,), 130), ((600, 3), (97, 2))])
@pytest.mark.parametrize("weighted", [False, True])
def test_dask_matches_numpy(name, shape, chunks, weighted):
    rng = np.random.default_rng(11)
    y = 1e8 + rng.normal(size=shape)
    p = y + rng.normal(scale=0.4, size=shape)
    w = rng.uniform(size=shape[0]) if weighted else None
    f = getattr(l2, name)
    dy = da.from_array(y, chunks=chunks)
    dp = da.from_array(p, chunks=71 if len(shape) == 1 else (71, 3))  # different chunking on purpose
    dw = None if w is None else da.from_array(w, chunks=50)
    for mo in ("uniform_average", "raw_values"):
        got = f(dy, dp, weights=dw, multioutput=mo)
        assert isinstance(got, (np.floating, np.ndarray))
        np.testing.assert_allclose(got, f(y, p, weights=w, multioutput=mo), rtol=1e-10)
    if w is not None:  # NumPy weights with Dask data
        np.testing.assert_allclose(f(dy, dp, weights=w), f(y, p, weights=w), rtol=1e-10)


def test_dask_against_sklearn():
    skm = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(2)
    y = rng.normal(size=(400, 2))
    p = y + rng.normal(size=(400, 2))
    got = l2.r2(da.from_array(y, chunks=(64, 2)), da.from_array(p, chunks=(64, 2)), multioutput="variance_weighted")
    np.testing.assert_allclose(got, skm.r2_score(y, p, multioutput="variance_weighted"), rtol=1e-12)


def test_dask_nonfinite():
    y = np.arange(100.0)
    p = y + 1.0
    y[[5, 60]] = np.nan
    dy, dp = da.from_array(y, chunks=30), da.from_array(p, chunks=30)
    with pytest.raises(InputError, match="y_true holds 2 non-finite"):
        l2.mse(dy, dp)
    with pytest.warns(l2.metrics.NonFiniteOmitted) as rec:
        assert float(l2.mse(dy, dp, nonfinite="omit")) == 1.0
    assert rec[0].message.count == 2


def test_dask_bad_input():
    with pytest.raises(InputError, match="shape"):
        l2.mse(da.zeros(10, chunks=5), da.zeros((10, 1), chunks=5))
    with pytest.raises(InputError, match="Dask array like"):
        l2.mse(da.zeros(10, chunks=5), np.zeros(10))
    with pytest.raises(InputError, match="empty"):
        l2.mse(da.zeros(0, chunks=5), da.zeros(0, chunks=5))
    x = da.from_array(np.arange(10.0), chunks=3)
    x = x[x > 2]
    with pytest.raises(InputError, match="compute_chunk_sizes"):
        l2.mse(x, x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert float(l2.mae(da.ones(10, chunks=4), da.zeros(10, chunks=4))) == 1.0
