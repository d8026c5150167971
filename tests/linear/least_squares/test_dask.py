"""Least squares on row-chunked Dask arrays on the default scheduler (the cluster tests are in tests/integration)."""

import warnings

import numpy as np
import pytest
from _scale_helpers import assert_same_fit, inmemory_fit, make_data, sm_fit
from hypothesis import given, settings
from hypothesis import strategies as st

import l2kit as l2
from l2kit import InputError

da = pytest.importorskip("dask.array")


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("chunks", [(37, 4), (100, 2), (400, 4)])
def test_dask_equals_statsmodels(rng, weighted, chunks):
    X, y, w = make_data(rng, n=400, p=4, offset=50.0, weights=weighted, zero_weights=4 if weighted else 0)
    dX = da.from_array(X, chunks=chunks)
    dy = da.from_array(y, chunks=53)  # misaligned on purpose: realigned to X's row blocks
    dw = None if w is None else da.from_array(w, chunks=chunks[0])
    f = l2.fit(dX, dy, weights=dw)
    ref = sm_fit(X, y, w)
    assert_same_fit(f, ref.params, ref.bse)
    assert f.residuals is None and f.df_resid == ref.df_resid


@given(sizes=st.lists(st.integers(1, 80), min_size=1, max_size=6), seed=st.integers(0, 2**16),
       split_every=st.integers(2, 5))
@settings(max_examples=10)
def test_any_row_chunking_and_tree_shape(sizes, seed, split_every):
    from l2kit.linear.least_squares import fit_dask

    rng = np.random.default_rng(seed)
    n = sum(sizes)
    if n < 8:
        sizes = sizes + [8]
        n += 8
    X, y, w = make_data(rng, n=n, p=2, weights=True)
    dX = da.from_array(X, chunks=(tuple(sizes), 2))
    f = fit_dask(dX, da.from_array(y, chunks=(tuple(sizes),)), weights=w, split_every=split_every)
    ref = sm_fit(X, y, w)
    assert_same_fit(f, ref.params, ref.bse)


def test_dask_equals_inmemory(rng):
    X, y, w = make_data(rng, n=300, p=3, weights=True)
    ref = inmemory_fit(X, y, w)
    f = l2.fit(da.from_array(X, chunks=(64, 3)), da.from_array(y, chunks=64), weights=w)
    assert_same_fit(f, ref.params, ref.bse)


def test_numpy_y_and_per_row_variances(rng):
    X, y, w = make_data(rng, n=200, p=2, weights=True)
    var = 1.0 / w
    f = l2.fit(da.from_array(X, chunks=(50, 2)), y, cov=var)
    ref = sm_fit(X, y, w)
    assert_same_fit(f, ref.params, ref.bse)


def test_rank_deficient_where_dask_lstsq_fails(rng):
    X, y, _ = make_data(rng, n=240, p=3)
    X = np.column_stack([X, 2.0 * X[:, 1] - X[:, 2]])
    dX = da.from_array(X, chunks=(60, 4))
    with pytest.warns(UserWarning, match="rank deficient"):
        f = l2.fit(dX, da.from_array(y, chunks=60))
    Xc = X - X.mean(0)
    ref = np.linalg.lstsq(Xc, y - y.mean(), rcond=None)[0]
    np.testing.assert_allclose(f.coef, ref, atol=1e-10 * np.abs(ref).max())
    assert f.rank == 3
    # dask's own unpivoted TSQR gives no usable answer on the same (uncentred) problem
    A = da.from_array(np.column_stack([np.ones(240), X]), chunks=(60, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            bad = da.linalg.lstsq(A, da.from_array(y, chunks=60))[0].compute()
            assert not np.allclose(bad[1:], f.coef, atol=1e-6)
        except np.linalg.LinAlgError:
            pass


def test_nonfinite_rows_counted_and_named(rng):
    X, y, _ = make_data(rng, n=100, p=2)
    X[71, 0] = np.inf
    y[5] = np.nan
    with pytest.raises(InputError, match=r"2 row\(s\).*global row 5 "):
        l2.fit(da.from_array(X, chunks=(30, 2)), da.from_array(y, chunks=30))
    X, y, _ = make_data(rng, n=100, p=2)
    w = np.ones(100)
    w[40] = -2
    with pytest.raises(InputError, match="global row 40"):
        l2.fit(da.from_array(X, chunks=(30, 2)), da.from_array(y, chunks=30), weights=w)


def test_shape_mismatch_refused(rng):
    X, y, _ = make_data(rng, n=50, p=2)
    with pytest.raises(InputError, match="shape"):
        l2.fit(da.from_array(X, chunks=(10, 2)), da.from_array(y[:, None], chunks=(10, 1)))
    with pytest.raises(InputError, match="shape"):
        l2.fit(da.from_array(X, chunks=(10, 2)), y[:40])
