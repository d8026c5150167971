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


def test_rank_check_on_the_subsample_refuses_collinear_and_keeps_rare_columns(monkeypatch):
    """A subsample of full rank proves X's; a rank-deficient one defers to the full-data check: a collinear X is
    still refused, and a column nonzero only in rows the subsample skips still fits."""
    rng = np.random.default_rng(9)
    n = 8000
    X = rng.normal(size=(n, 3))
    y = rng.poisson(np.exp(0.3 + X @ [0.2, -0.1, 0.3])).astype(float)
    monkeypatch.setattr(solver, "SUBSAMPLE_ROWS", 1000)      # every 8th row
    with pytest.raises(l2.InputError, match="full-rank"):
        l2.fit(np.column_stack([X, X[:, 0] - 2 * X[:, 1]]), y, loss="poisson")
    rare = np.zeros(n)
    rare[1::8] = rng.normal(size=n // 8)                       # zero on every row of the subsample
    f = l2.fit(np.column_stack([X, rare]), y, loss="poisson")
    ref = l2.fit(np.column_stack([X, rare]), y, loss="poisson", method="gradient")
    assert f.converged
    np.testing.assert_allclose(f.coef, ref.coef, atol=1e-6)
