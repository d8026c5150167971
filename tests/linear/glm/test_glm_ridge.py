"""Ridge-penalised GLMs against scikit-learn: (1/sum c)(-loglike) + alpha/2 |beta|^2 is PoissonRegressor(alpha)."""

import numpy as np
import pytest

import l2kit as l2

sklm = pytest.importorskip("sklearn.linear_model")


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    mu = np.exp(0.3 + X @ [0.5, -0.3, 0.1])
    return X, mu, rng.uniform(0.5, 2.0, size=300), rng


@pytest.mark.parametrize("alpha", [0.1, 1.0])
def test_poisson_ridge_is_poisson_regressor(data, alpha):
    X, mu, w, rng = data
    y = rng.poisson(mu).astype(float)
    sk = sklm.PoissonRegressor(alpha=alpha, tol=1e-12, max_iter=1000).fit(X, y, sample_weight=w)
    f = l2.fit(X, y, loss=l2.PoissonNLL(), weights=w, alpha=alpha)
    assert f.converged and f.stderr is None and "ridge penalty" in f.message
    np.testing.assert_allclose(f.coef, sk.coef_, rtol=1e-7, atol=1e-9)
    assert f.intercept == pytest.approx(sk.intercept_, rel=1e-7)


def test_gamma_ridge_is_gamma_regressor(data):
    X, mu, w, rng = data
    y = rng.gamma(2.0, mu / 2.0)
    sk = sklm.GammaRegressor(alpha=0.1, tol=1e-12, max_iter=1000).fit(X, y, sample_weight=w)
    f = l2.fit(X, y, loss="gamma_nll", weights=w, alpha=0.1)
    np.testing.assert_allclose(f.coef, sk.coef_, rtol=1e-6, atol=1e-9)


def test_a_penalised_glm_fits_a_rank_deficient_design(data):
    X, mu, _, rng = data
    y = rng.poisson(mu).astype(float)
    Xd = np.column_stack([X, X[:, 0]])                    # a repeated column: refused without a penalty
    with pytest.raises(l2.InputError, match="full-rank"):
        l2.fit(Xd, y, loss=l2.PoissonNLL())
    f = l2.fit(Xd, y, loss=l2.PoissonNLL(), alpha=0.1)
    assert f.converged and f.coef[0] == pytest.approx(f.coef[3], rel=1e-8)   # the ridge splits it evenly
