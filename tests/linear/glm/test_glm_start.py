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


@pytest.mark.parametrize("family", ["poisson", "gamma"])
def test_chord_steps_save_full_data_hessians(family, monkeypatch):
    """After the subsample start, chord steps with the subsample's Hessian replace all but one or two full-data
    Hessians (weighted Grams); the optimum is the plain fit's."""
    from l2kit.linear import _linalg

    rng = np.random.default_rng(10)
    n = 16000
    X = rng.normal(size=(n, 5))
    mu = np.exp(0.2 + X @ [0.3, -0.2, 0.1, 0.25, 0.0])
    y = (rng.poisson(mu) if family == "poisson" else rng.gamma(2.0, mu / 2)).astype(float)
    plain = l2.fit(X, y, loss=family)
    grams = []
    real = _linalg.weighted_gram

    def counting(X, w, out=None, *, ones=False):
        grams.append(X.shape[0])
        return real(X, w, out, ones=ones)

    monkeypatch.setattr(_linalg, "weighted_gram", counting)
    monkeypatch.setattr(solver, "SUBSAMPLE_ROWS", 1000)
    fast = l2.fit(X, y, loss=family)
    assert fast.extra["start_model"] == "subsample" and fast.converged
    # one or two Newton Hessians, and for the Gamma Fisher's information (its bread); 5-6 without chord steps
    assert 1 <= grams.count(n) <= (2 if family == "poisson" else 3)
    np.testing.assert_allclose(np.r_[fast.intercept, fast.coef], np.r_[plain.intercept, plain.coef], rtol=0,
                               atol=1e-10)
    np.testing.assert_allclose(fast.stderr, plain.stderr, rtol=1e-9)


def test_chord_with_a_poor_approximate_hessian_still_reaches_the_optimum():
    """newton's H0 off by a factor 5: the chord steps stop contracting fast, and Newton steps finish."""
    from l2kit.linear.glm.newton import newton

    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    b = np.array([1.0, -1.0])

    def fgh(x, need, f=None):   # a concave log-likelihood with an exp term: its Hessian changes with x
        e = np.exp(x[0])
        val = -0.5 * x @ A @ x + b @ x - e
        g = -A @ x + b - np.array([e, 0.0])
        H = -A - np.diag([e, 0.0])
        return val, (g if need else None), (H if need is True else None)

    plain = newton(fgh, np.zeros(2), 100, 1e-20)
    for scale in (1.0, 5.0, 0.3):
        res = newton(fgh, np.zeros(2), 100, 1e-20, H0=scale * plain.H)
        assert res.status.name == "SUCCESS"
        np.testing.assert_allclose(res.x, plain.x, rtol=0, atol=1e-12)
