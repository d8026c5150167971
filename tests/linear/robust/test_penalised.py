"""Penalised robust fits against scikit-learn: ridge IRLS = HuberRegressor(alpha), L1 LP = QuantileRegressor(alpha)."""

import numpy as np
import pytest

import l2kit as l2
from l2kit import InputError

sklm = pytest.importorskip("sklearn.linear_model")


@pytest.fixture
def data():
    rng = np.random.default_rng(1)
    n = 150
    X = rng.normal(size=(n, 3)) * [1.0, 100.0, 0.01]          # badly scaled columns: the LP is rescaled
    y = 1 + X @ [2.0, -0.01, 50.0] + rng.standard_t(2, size=n)
    return X, y, rng.uniform(0.5, 2.0, size=n)


def _huber_objective(X, y, w, coef, intercept, sigma, eps, alpha):
    """scikit-learn's HuberRegressor objective at a fixed scale sigma."""
    z = np.abs(y - X @ coef - intercept) / sigma
    h = np.where(z < eps, z * z, 2 * eps * z - eps * eps)
    return float(w @ (sigma + sigma * h) + alpha * coef @ coef)


@pytest.mark.parametrize("alpha", [0.1, 3.0])
def test_ridge_huber_is_huber_regressor_at_its_scale(data, alpha):
    X, y, w = data
    X = X[:, :2] / [1.0, 100.0]
    hr = sklm.HuberRegressor(epsilon=1.35, alpha=alpha, tol=1e-12, max_iter=5000).fit(X, y, sample_weight=w)
    s = hr.scale_
    f = l2.fit(X, y, loss=l2.Huber(delta=1.35), weights=w, alpha=alpha * s / w.sum(), scale=s, tol=1e-12,
               max_iter=500)
    assert f.converged and f.stderr is None and "ridge penalty" in f.message
    # sklearn stops at L-BFGS's tolerance: the coefficients agree to it, and ours are at least as good
    np.testing.assert_allclose(f.coef, hr.coef_, rtol=2e-5, atol=2e-5)
    ours = _huber_objective(X, y, w, f.coef, f.intercept, s, 1.35, alpha)
    theirs = _huber_objective(X, y, w, hr.coef_, hr.intercept_, s, 1.35, alpha)
    assert ours <= theirs * (1 + 1e-12)
    # the penalty shrinks: larger alpha, smaller coefficients; alpha=0 is the unpenalised fit
    free = l2.fit(X, y, loss=l2.Huber(delta=1.35), weights=w, scale=s)
    assert np.linalg.norm(f.coef) < np.linalg.norm(free.coef)


def test_ridge_for_a_redescending_loss_shrinks_and_keeps_the_intercept_free(data):
    X, y, _ = data
    X = X[:, :2] / [1.0, 100.0]
    big = l2.fit(X, y, loss=l2.Tukey(), alpha=1e6)
    assert np.all(np.abs(big.coef) < 1e-4)
    assert abs(big.intercept - np.median(y)) < 1.0          # the intercept is not penalised


@pytest.mark.parametrize("alpha", [0.0, 0.05, 1.0])
@pytest.mark.parametrize("q", [0.3, 0.5])
def test_l1_quantile_is_quantile_regressor(data, alpha, q):
    X, y, w = data
    qr = sklm.QuantileRegressor(quantile=q, alpha=alpha, solver="highs").fit(X, y, sample_weight=w)
    f = l2.fit(X, y, loss=l2.Quantile(q=q), weights=w, alpha=alpha, l1_ratio=1.0)
    assert f.converged
    np.testing.assert_allclose(f.coef, qr.coef_, rtol=1e-7, atol=1e-9)
    assert f.intercept == pytest.approx(qr.intercept_, rel=1e-7, abs=1e-9)
    if q == 0.5:   # Absolute() is twice the pinball loss at 0.5
        a = l2.fit(X, y, loss=l2.Absolute(), weights=w, alpha=2 * alpha, l1_ratio=1.0)
        np.testing.assert_allclose(a.coef, qr.coef_, rtol=1e-7, atol=1e-9)


def test_penalties_the_solvers_cannot_take_are_refused_with_the_fix(data):
    X, y, _ = data
    with pytest.raises(InputError, match="l1_ratio=1"):
        l2.fit(X, y, loss=l2.Quantile(q=0.3), alpha=0.1)            # an L2 term would make the LP a QP
    with pytest.raises(InputError, match="l1_ratio=0"):
        l2.fit(X, y, loss=l2.Huber(), alpha=0.1, l1_ratio=0.5)
    with pytest.raises(InputError, match="non-negative"):
        l2.fit(X, y, loss=l2.Huber(), alpha=-1.0)
    with pytest.raises(InputError, match="alpha"):   # the generic gradient solver takes no penalty
        l2.fit(X, y, loss=l2.GaussianNLL(), alpha=0.1, loss_kwargs={"var": np.ones(y.size)})
