"""Elastic net / lasso by coordinate descent on the Gram matrix, against scikit-learn."""

import warnings

import numpy as np
import pytest

import l2kit as l2

sklm = pytest.importorskip("sklearn.linear_model")


def _problem(rng, n=400, p=30):
    X = rng.normal(size=(n, p)) + rng.uniform(-2, 2, p)
    beta = np.where(rng.uniform(size=p) < 0.4, rng.normal(size=p) * 3, 0.0)
    y = X @ beta + 1.5 + rng.normal(size=n)
    return X, y


@pytest.mark.parametrize("l1_ratio", [0.1, 0.5, 1.0])
@pytest.mark.parametrize("alpha", [0.01, 0.2])
def test_matches_sklearn_elasticnet(rng, alpha, l1_ratio):
    X, y = _problem(rng)
    f = l2.fit(X, y, alpha=alpha, l1_ratio=l1_ratio)
    r = sklm.ElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=1e-13, max_iter=200000).fit(X, y)
    assert f.converged and f.method == "cd"
    assert np.abs(f.coef - r.coef_).max() < 1e-6
    assert abs(f.intercept - r.intercept_) < 1e-6
    assert np.array_equal(f.coef == 0, r.coef_ == 0) or np.abs(f.coef - r.coef_).max() < 1e-9


def test_weighted_matches_sklearn(rng):
    X, y = _problem(rng)
    w = rng.uniform(0.1, 3, len(y))
    f = l2.fit(X, y, alpha=0.05, l1_ratio=0.7, weights=w)
    r = sklm.ElasticNet(alpha=0.05, l1_ratio=0.7, tol=1e-13, max_iter=200000).fit(X, y, sample_weight=w)
    assert np.abs(f.coef - r.coef_).max() < 1e-6


def test_lasso_kkt_conditions(rng):
    X, y = _problem(rng)
    a = 0.1
    f = l2.fit(X, y, alpha=a, l1_ratio=1.0)
    Xc = X - X.mean(0)
    g = Xc.T @ f.residuals / len(y)           # = alpha * sign(b) on the support, |g| <= alpha off it
    on = f.coef != 0
    np.testing.assert_allclose(g[on], a * np.sign(f.coef[on]), atol=1e-7)
    assert np.all(np.abs(g[~on]) <= a + 1e-7)
    assert f.stderr is None and f.extra["duality_gap"] >= 0


def test_no_false_convergence(rng):
    X, y = _problem(rng)
    with pytest.warns(RuntimeWarning, match="did NOT converge"):
        f = l2.fit(X, y, alpha=1e-4, l1_ratio=0.5, max_iter=2, tol=1e-14)
    assert not f.converged and f.n_iter == 2 and "max_iter" in f.status


def test_no_intercept(rng):
    X, y = _problem(rng)
    f = l2.fit(X, y, alpha=0.05, l1_ratio=0.5, fit_intercept=False)
    r = sklm.ElasticNet(alpha=0.05, l1_ratio=0.5, fit_intercept=False, tol=1e-13, max_iter=200000).fit(X, y)
    assert np.abs(f.coef - r.coef_).max() < 1e-6 and f.intercept == 0.0


def test_python_kernel_equals_compiled(rng):
    from l2kit.linear import _enet

    X, y = _problem(rng, 100, 8)
    Xc, yc = X - X.mean(0), y - y.mean()
    a = _enet.enet_gram(Xc.T @ Xc, Xc.T @ yc, yc @ yc, 100, 0.1, 0.5)
    saved = _enet._KERNEL
    try:
        _enet._KERNEL = _enet._cd_gram
        b = _enet.enet_gram(Xc.T @ Xc, Xc.T @ yc, yc @ yc, 100, 0.1, 0.5)
    finally:
        _enet._KERNEL = saved
    np.testing.assert_allclose(a[0], b[0], rtol=1e-12, atol=1e-14)


def test_options_checked(rng):
    X, y = _problem(rng)
    with pytest.raises(l2.InputError, match="max_iter"):
        l2.fit(X, y, alpha=0.1, l1_ratio=0.5, max_iter=0)
    with pytest.raises(l2.InputError, match="nonrobust"):
        l2.fit(X, y, alpha=0.1, l1_ratio=0.5, cov_type="HC3")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        l2.fit(X, y, alpha=0.0, l1_ratio=1.0)   # no penalty: plain least squares
