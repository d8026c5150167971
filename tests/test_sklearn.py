"""``l2kit.sklearn.Regressor``: the full scikit-learn estimator checks, Pipeline and GridSearchCV."""

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

from l2kit.sklearn import Regressor, RegressorCV  # noqa: E402


@pytest.mark.parametrize("est", [Regressor(), Regressor(alpha=0.1), Regressor(alpha=0.05, l1_ratio=0.5)],
                         ids=["ols", "ridge", "enet"])
def test_check_estimator(est):
    results = check_estimator(est, on_fail=None)
    failed = [(r["check_name"], str(r["exception"])[:200]) for r in results if r["status"] == "failed"]
    assert not failed
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    assert skipped <= {"check_array_api_input"}   # needs SCIPY_ARRAY_API=1 set before scipy is imported


def test_pipeline_and_grid_search(rng):
    X = rng.normal(size=(200, 5)) * [1, 10, 100, 0.1, 1]
    y = X @ [1.0, 0.1, 0.01, 10.0, 0.0] + rng.normal(size=200)
    pipe = make_pipeline(StandardScaler(), Regressor())
    gs = GridSearchCV(pipe, {"regressor__alpha": [0.0, 0.01, 1.0]}, cv=3).fit(X, y)
    assert gs.best_params_["regressor__alpha"] in (0.0, 0.01)
    from sklearn.linear_model import LinearRegression

    ref = make_pipeline(StandardScaler(), LinearRegression()).fit(X, y)
    assert gs.score(X, y) == pytest.approx(ref.score(X, y), abs=0.02)
    np.testing.assert_allclose(pipe.set_params(regressor__alpha=0.0).fit(X, y).predict(X), ref.predict(X),
                               rtol=1e-10)


def test_matches_linear_regression_and_weights(rng):
    from sklearn.linear_model import LinearRegression

    X, y = rng.normal(size=(50, 3)), rng.normal(size=50)
    w = rng.uniform(0.5, 2, 50)
    a = Regressor().fit(X, y, sample_weight=w)
    b = LinearRegression().fit(X, y, sample_weight=w)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-10)
    assert a.fit_.n_obs == 50 and a.fit_.stderr is not None


@pytest.mark.parametrize("est", [RegressorCV(), RegressorCV(l1_ratio=1.0, select="1se", n_alphas=20),
                                 RegressorCV(l1_ratio=0.0, cv=3)], ids=["enet", "lasso-1se", "ridge"])
def test_check_estimator_cv(est):
    # random folds split repeated rows (as for ElasticNetCV); the equivalence with consistent folds is tested below
    xfail = {"check_sample_weight_equivalence_on_dense_data": "random folds split repeated rows"}
    results = check_estimator(est, on_fail=None, expected_failed_checks=xfail)
    failed = [(r["check_name"], str(r["exception"])[:200]) for r in results if r["status"] == "failed"]
    assert not failed
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    assert skipped <= {"check_array_api_input"}


def test_regressor_cv_equals_elasticnetcv_and_weights(rng):
    from sklearn.linear_model import ElasticNetCV
    from sklearn.model_selection import PredefinedSplit

    X = rng.normal(size=(150, 8))
    y = X @ [1.0, 0, 0, -2.0, 0, 0.5, 0, 0] + rng.normal(size=150)
    folds = np.arange(150) % 5
    reg = RegressorCV(l1_ratio=0.8, cv=folds, n_alphas=30, tol=1e-14, max_iter=100_000).fit(X, y)
    ref = ElasticNetCV(l1_ratio=0.8, alphas=30, cv=PredefinedSplit(folds), tol=1e-14, max_iter=100_000).fit(X, y)
    assert reg.alpha_ == pytest.approx(ref.alpha_, rel=1e-12)
    np.testing.assert_allclose(reg.mse_path_, ref.mse_path_, rtol=1e-8)
    np.testing.assert_allclose(reg.coef_, ref.coef_, atol=1e-8)
    # integer sample weights = repeated rows (same folds for the copies)
    w = rng.integers(1, 3, size=150)
    rep = np.repeat(np.arange(150), w)
    a = RegressorCV(cv=folds, n_alphas=15, tol=1e-14).fit(X, y, sample_weight=w.astype(float))
    b = RegressorCV(cv=folds[rep], n_alphas=15, tol=1e-14).fit(X[rep], y[rep])
    assert a.alpha_ == pytest.approx(b.alpha_, rel=1e-12)
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-9)
