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


def test_python_kernels_equal_compiled(rng, monkeypatch):
    """The plain-Python / NumPy kernels (no numba, or L2KIT_DISABLE_NUMBA) give the compiled fit."""
    from l2kit.linear import _enet

    X, y = _problem(rng, 300, 80)
    ref = l2.fit(X, y, alpha=0.01, l1_ratio=0.5)
    monkeypatch.setenv("L2KIT_DISABLE_NUMBA", "1")
    monkeypatch.setattr(_enet, "_NATIVE", {})
    f = l2.fit(X, y, alpha=0.01, l1_ratio=0.5)
    assert _enet._kernel() is _enet._cd_gram
    assert _enet._NATIVE[_enet._row_pass] is _enet._row_pass_numpy
    assert f.converged and f.n_iter == ref.n_iter
    np.testing.assert_allclose(f.coef, ref.coef, rtol=0, atol=1e-12)


def _kkt_violation(X, y, f, alpha, l1_ratio):
    """Largest violation of the elastic-net optimality conditions, relative to alpha * l1_ratio."""
    l1, l2p = alpha * l1_ratio, alpha * (1 - l1_ratio)
    Xc = X - X.mean(0)
    g = Xc.T @ (y - y.mean() - Xc @ f.coef) / len(y) - l2p * f.coef
    on = f.coef != 0
    return max(np.abs(g[on] - l1 * np.sign(f.coef[on])).max(initial=0.0),
               np.maximum(np.abs(g[~on]) - l1, 0.0).max(initial=0.0)) / l1


def _gram_dtypes(monkeypatch):
    """Record the dtype of every Gram matrix the solver forms."""
    from l2kit.linear import _enet

    seen, real = [], _enet._Centred.gram

    def spy(self, cols, start, dtype):
        seen.append(np.dtype(dtype).name)
        return real(self, cols, start, dtype)

    monkeypatch.setattr(_enet._Centred, "gram", spy)
    return seen


def test_float32_gram_is_refined_to_the_float64_optimum(rng, monkeypatch):
    """A large working set uses a float32 Gram; exact-gradient rounds still reach the float64 optimum."""
    seen = _gram_dtypes(monkeypatch)
    X, y = _problem(rng, n=3000, p=120)
    f = l2.fit(X, y, alpha=0.002, l1_ratio=0.5)
    r = sklm.ElasticNet(alpha=0.002, l1_ratio=0.5, tol=1e-14, max_iter=200000).fit(X, y)
    assert "float32" in seen and "float64" not in seen
    assert f.converged and np.abs(f.coef - r.coef_).max() < 1e-9
    assert _kkt_violation(X, y, f, 0.002, 0.5) < 1e-6


def test_ill_conditioned_design_falls_back_to_a_float64_gram(rng, monkeypatch):
    """Near-duplicate columns defeat float32 (the Gram loses definiteness): it is rebuilt in float64."""
    seen = _gram_dtypes(monkeypatch)
    X, y = _problem(rng, n=2000, p=100)
    X[:, 1] = X[:, 0] + 1e-7 * rng.normal(size=2000)
    f = l2.fit(X, y, alpha=0.01, l1_ratio=1.0)
    r = sklm.Lasso(alpha=0.01, tol=1e-14, max_iter=200000).fit(X, y)
    assert seen[0] == "float32" and "float64" in seen
    assert f.converged and f.extra["duality_gap"] <= 1e-10 * np.var(y)
    assert _kkt_violation(X, y, f, 0.01, 1.0) < 1e-6
    assert abs(f.coef[0] + f.coef[1] - r.coef_[0] - r.coef_[1]) < 1e-6
    np.testing.assert_allclose(f.coef[2:], r.coef_[2:], atol=1e-6)


def test_float32_overflow_redone_in_float64(rng):
    """Columns whose squares overflow float32 get a float64 Gram, not inf."""
    from l2kit.linear import _enet

    A = rng.normal(size=(500, 6)) * np.array([1e25, 1.0, 1e-30, 1.0, 2.0, 3.0])
    b = rng.normal(size=500)
    X = _enet._Centred(A, b, 1.0, 500)
    G = X.gram(np.arange(6), 0, np.float32)
    Ac = A - A.mean(0)
    np.testing.assert_allclose(G, Ac.T @ Ac / 500, rtol=1e-12, atol=0)


@pytest.mark.parametrize("n, p", [(60, 300), (80, 2500)])
def test_wide_design_matches_sklearn(rng, n, p):
    X = rng.normal(size=(n, p))
    y = X[:, :5] @ [3.0, -2.0, 1.5, 1.0, -1.0] + 0.1 * rng.normal(size=n)
    f = l2.fit(X, y, alpha=0.05, l1_ratio=0.9)
    r = sklm.ElasticNet(alpha=0.05, l1_ratio=0.9, tol=1e-14, max_iter=200000).fit(X, y)
    assert f.converged and np.abs(f.coef - r.coef_).max() < 1e-7
    if p > 2000:                     # very wide: only a working set's Gram is ever formed
        assert f.extra["working_set_size"] < p


def test_column_major_design_gives_the_same_fit(rng):
    """F-ordered X takes the column-wise block copy and the BLAS row passes: same fit."""
    X, y = _problem(rng, n=1500, p=90)
    ref = l2.fit(X, y, alpha=0.01, l1_ratio=0.5)
    f = l2.fit(np.asfortranarray(X), y, alpha=0.01, l1_ratio=0.5)
    np.testing.assert_allclose(f.coef, ref.coef, rtol=0, atol=1e-12)


def test_nan_in_x_is_reported_not_fitted(rng):
    X, y = _problem(rng)
    X[17, 3] = np.nan
    with pytest.raises(l2.InputError, match="first at row 17"):
        l2.fit(X, y, alpha=0.1, l1_ratio=0.5)


def test_options_checked(rng):
    X, y = _problem(rng)
    with pytest.raises(l2.InputError, match="max_iter"):
        l2.fit(X, y, alpha=0.1, l1_ratio=0.5, max_iter=0)
    with pytest.raises(l2.InputError, match="nonrobust"):
        l2.fit(X, y, alpha=0.1, l1_ratio=0.5, cov_type="HC3")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        l2.fit(X, y, alpha=0.0, l1_ratio=1.0)   # no penalty: plain least squares
