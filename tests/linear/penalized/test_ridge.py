"""Ridge: glmnet scaling against scikit-learn, LOO/GCV selection from one SVD."""

import numpy as np
import pytest

import l2kit as l2

sklm = pytest.importorskip("sklearn.linear_model")


def _problem(rng, n=120, p=8):
    X = rng.normal(size=(n, p)) * rng.uniform(0.5, 3, p) + 2
    y = X @ rng.normal(size=p) + 3 + rng.normal(size=n)
    return X, y


@pytest.mark.parametrize("method", ["auto", "cholesky", "qr", "svd"])
def test_alpha_scaling_matches_sklearn_ridge(rng, method):
    X, y = _problem(rng)
    n = len(y)
    f = l2.fit(X, y, alpha=0.7, method=method)
    r = sklm.Ridge(alpha=0.7 * n).fit(X, y)
    np.testing.assert_allclose(f.coef, r.coef_, rtol=1e-10)
    assert f.intercept == pytest.approx(r.intercept_, rel=1e-10)


def test_weighted_ridge_matches_sklearn(rng):
    X, y = _problem(rng)
    w = rng.uniform(0.2, 3, len(y))
    f = l2.fit(X, y, alpha=0.2, weights=w)
    r = sklm.Ridge(alpha=0.2 * w.sum()).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(f.coef, r.coef_, rtol=1e-10)


def test_ridge_matches_sklearn_elasticnet_l1_ratio_zero_objective(rng):
    """alpha follows ElasticNet's objective: check the gradient of 1/(2n)RSS + alpha/2 |b|^2 vanishes."""
    X, y = _problem(rng)
    f = l2.fit(X, y, alpha=0.3)
    Xc, r = X - X.mean(0), f.residuals
    grad = -Xc.T @ r / len(y) + 0.3 * f.coef
    assert np.abs(grad).max() < 1e-10 * np.abs(Xc.T @ y / len(y)).max()


def test_loo_curve_and_choice_match_ridgecv(rng):
    X, y = _problem(rng)
    n = len(y)
    alphas = np.logspace(-4, 1, 25)
    f = l2.fit(X, y, alpha=alphas)
    r = sklm.RidgeCV(alphas=alphas * n, store_cv_results=True).fit(X, y)
    np.testing.assert_allclose(f.extra["cv_loo_mse"], r.cv_results_.mean(axis=0), rtol=1e-9)
    assert f.alpha == pytest.approx(r.alpha_ / n, rel=1e-12)
    np.testing.assert_allclose(f.coef, r.coef_, rtol=1e-9)
    assert f.extra["cv_criterion"] == "loo" and f.extra["alphas"].shape == (25,)


def test_loo_equals_brute_force(rng):
    X, y = _problem(rng, 30, 3)
    alphas = np.array([0.01, 0.3])
    f = l2.fit(X, y, alpha=alphas)
    for k, a in enumerate(alphas):
        errs = []
        for i in range(30):
            m = np.arange(30) != i
            g = l2.fit(X[m], y[m], alpha=a * 30 / 29)   # same absolute penalty lambda = n * alpha
            errs.append((y[i] - g.predict(X[i:i + 1])[0]) ** 2)
        assert f.extra["cv_loo_mse"][k] == pytest.approx(np.mean(errs), rel=1e-10)


def test_gcv_formula(rng):
    X, y = _problem(rng, 50, 4)
    alphas = np.array([0.05, 0.5])
    f = l2.fit(X, y, alpha=alphas, criterion="gcv")
    for k, a in enumerate(alphas):
        Xc = X - X.mean(0)
        H = Xc @ np.linalg.solve(Xc.T @ Xc + 50 * a * np.eye(4), Xc.T) + 1 / 50
        r = y - y.mean() - (H - 1 / 50) @ (y - y.mean())
        gcv = np.mean(r**2) / (1 - np.trace(H) / 50) ** 2
        assert f.extra["cv_gcv"][k] == pytest.approx(gcv, rel=1e-10)
    assert f.extra["cv_criterion"] == "gcv"


@pytest.mark.parametrize("crit", ["loo", "gcv"])
def test_default_grid_selection(rng, crit):
    X, y = _problem(rng)
    f = l2.fit(X, y, alpha=crit)
    assert f.extra["alphas"].size == 100 and f.alpha > 0
    assert f.alpha == f.extra["alphas"][f.extra["cv_best_index"]]
    assert f.stderr is not None and np.all(f.stderr > 0)


def test_ridge_covariance_sandwich(rng):
    X, y = _problem(rng, 80, 3)
    f = l2.fit(X, y, alpha=0.5)
    Xc = X - X.mean(0)
    A = Xc.T @ Xc + 80 * 0.5 * np.eye(3)
    Ai = np.linalg.inv(A)
    edf = np.trace(Xc @ Ai @ Xc.T)
    s2 = np.sum(f.residuals**2) / (80 - 1 - edf)
    np.testing.assert_allclose(f.stderr, np.sqrt(np.diag(s2 * Ai @ Xc.T @ Xc @ Ai)), rtol=1e-9)


def test_bad_grids(rng):
    X, y = _problem(rng)
    with pytest.raises(l2.InputError, match="positive"):
        l2.fit(X, y, alpha=[0.1, -1.0])
    with pytest.raises(l2.InputError, match="alpha"):
        l2.fit(X, y, alpha="kfold")
    with pytest.raises(l2.InputError, match="alpha='cv'"):       # LOO/GCV are ridge's; K-fold CV covers the rest
        l2.fit(X, y, alpha="gcv", l1_ratio=0.5)
