"""The subsample start of large GLM fits (fewer full-data Newton steps) reaches the same optimum."""

import numpy as np
import pytest

import l2kit as l2
from l2kit.linear.glm import solver


@pytest.mark.parametrize("family", ["poisson", "nb", "logistic", "gamma"])
def test_subsample_start_reaches_the_same_optimum(family, monkeypatch):
    rng = np.random.default_rng(8)
    n = 8000
    X = rng.normal(size=(n, 4))
    eta = 0.4 + X @ [0.3, -0.2, 0.1, 0.25]
    mu = np.exp(eta)
    y = {"poisson": lambda: rng.poisson(mu), "nb": lambda: rng.negative_binomial(2.0, 2.0 / (2.0 + mu)),
         "logistic": lambda: rng.uniform(size=n) < 1 / (1 + np.exp(-eta)),
         "gamma": lambda: rng.gamma(2.0, mu / 2)}[family]().astype(float)
    w = rng.integers(1, 3, size=n).astype(float)
    plain = l2.fit(X, y, loss=family, weights=w)
    monkeypatch.setattr(solver, "SUBSAMPLE_ROWS", 1000)      # 8x: every 8th row starts the fit
    fast = l2.fit(X, y, loss=family, weights=w)
    assert fast.extra["start_model"] == "subsample" and plain.extra.get("start_model") != "subsample"
    assert fast.converged
    np.testing.assert_allclose(np.r_[fast.intercept, fast.coef], np.r_[plain.intercept, plain.coef], rtol=0,
                               atol=1e-10)
    np.testing.assert_allclose(fast.stderr, plain.stderr, rtol=1e-9)
    assert fast.loglike == pytest.approx(plain.loglike, rel=1e-13)
