"""GLMs and robust IRLS on a real dask.distributed LocalCluster (127.0.0.1, two worker processes); a killed worker."""

import numpy as np
import pytest
from test_dask_cluster import _cluster, _kill_one_worker_during, _slow

import l2kit as l2

da = pytest.importorskip("dask.array")
N = 2000


def _data(seed=11):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, 3))
    mu = np.exp(0.4 + X @ [0.3, -0.2, 0.1])
    y_nb = rng.negative_binomial(2.0, 2.0 / (2.0 + mu)).astype(float)
    y_lin = 1 + X @ [1.0, -2.0, 0.5] + rng.standard_t(2, size=N)
    return X, y_nb, y_lin, rng.integers(1, 3, size=N).astype(float)


def _same(mem, got):
    np.testing.assert_allclose(np.r_[got.intercept, got.coef], np.r_[mem.intercept, mem.coef], rtol=0, atol=1e-8)
    np.testing.assert_allclose(np.r_[got.intercept_stderr, got.stderr], np.r_[mem.intercept_stderr, mem.stderr],
                               rtol=1e-8)
    assert got.converged


@pytest.mark.cluster
@pytest.mark.timeout(300)
def test_glm_and_robust_fits_on_two_worker_processes():
    X, y_nb, y_lin, w = _data()
    cluster, client = _cluster()
    try:
        assert len(client.scheduler_info()["workers"]) == 2
        dX, dw = da.from_array(X, chunks=(250, 3)), da.from_array(w, chunks=250)
        dnb, dlin = da.from_array(y_nb, chunks=250), da.from_array(y_lin, chunks=250)
        dX, dw, dnb, dlin = client.persist([dX, dw, dnb, dlin])
        got = {"nb": l2.fit(dX, dnb, loss="nb", weights=dw),
               "logistic": l2.fit(dX, (dnb > 1).astype(float), loss="logistic"),
               "huber": l2.fit(dX, dlin, loss=l2.Huber(1.345), weights=dw, tol=1e-11),
               "tukey": l2.fit(dX, dlin, loss=l2.Tukey(), tol=1e-11)}
    finally:
        client.close()
        cluster.close()
    _same(l2.fit(X, y_nb, loss="nb", weights=w), got["nb"])
    _same(l2.fit(X, (y_nb > 1).astype(float), loss="logistic"), got["logistic"])
    _same(l2.fit(X, y_lin, loss=l2.Huber(1.345), weights=w, tol=1e-11), got["huber"])
    _same(l2.fit(X, y_lin, loss=l2.Tukey(), tol=1e-11, start="huber"), got["tukey"])


@pytest.mark.cluster
@pytest.mark.timeout(300)
def test_killed_worker_leaves_the_nb_fit_unchanged():
    X, y_nb, _, w = _data(12)
    dX = da.from_array(X, chunks=(250, 3)).map_blocks(_slow, dtype=float)
    got = _kill_one_worker_during(lambda: l2.fit(dX, da.from_array(y_nb, chunks=250), loss="nb",
                                                 weights=da.from_array(w, chunks=250)))
    _same(l2.fit(X, y_nb, loss="nb", weights=w), got)


@pytest.mark.cluster
@pytest.mark.timeout(300)
def test_killed_worker_leaves_the_huber_fit_unchanged():
    X, _, y_lin, _ = _data(13)
    dX = da.from_array(X, chunks=(500, 3)).map_blocks(_slow, dtype=float)
    got = _kill_one_worker_during(lambda: l2.fit(dX, da.from_array(y_lin, chunks=500), loss=l2.Huber(1.345),
                                                 tol=1e-11))
    _same(l2.fit(X, y_lin, loss=l2.Huber(1.345), tol=1e-11), got)
