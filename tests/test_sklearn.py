"""``l2kit.sklearn.Regressor``: the full scikit-learn estimator checks, Pipeline and GridSearchCV."""

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

import l2kit as l2  # noqa: E402
from l2kit.sklearn import Regressor, RegressorCV  # noqa: E402

# sklearn's sample-weight check fits 15 rows x 10 features with y in {1, 2}: the robust scale (a MAD) of a
# near-perfect fit is ~0 and the redescending/IRLS fits stop at different points for weights and repeats
# an unpenalised GLM needs a full-rank design: sklearn fits 1 sample x 10 features, and 31 columns on 15 rows
_GLM_RANK = {"check_sample_weight_equivalence_on_dense_data": "a GLM refuses a rank-deficient design",
             "check_fit2d_1sample": "a GLM refuses a rank-deficient design (its message says so)"}
_WEIGHT_CHECK = {"check_sample_weight_equivalence_on_dense_data": "the MAD scale of a 15 x 10 fit is ~0"}


@pytest.mark.parametrize(("est", "expected"), [
    (Regressor(), {}), (Regressor(alpha=0.1), {}), (Regressor(alpha=0.05, l1_ratio=0.5), {}),
    (Regressor(loss="huber"), {}), (Regressor(loss="huber", alpha=0.1), {}),
    (Regressor(loss="quantile", l1_ratio=1.0), {}), (Regressor(loss="absolute", l1_ratio=1.0, alpha=0.1), {}),
    (Regressor(loss="tukey"), _WEIGHT_CHECK),
    (Regressor(loss=l2.PoissonNLL(allow_fractional=True), alpha=0.1), {}),
    (Regressor(loss="gamma_nll"), _GLM_RANK),
], ids=["ols", "ridge", "enet", "huber", "huber-ridge", "quantile-l1", "absolute-l1", "tukey", "poisson-ridge",
        "gamma"])
def test_check_estimator(est, expected):
    results = check_estimator(est, on_fail=None, expected_failed_checks=expected)
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


# -- issue 20: feature names, sample_weight in scorers, tunable loss parameters ------------------------
def _frame(rng, n=80):
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(rng.normal(size=(n, 3)), columns=["age", "dose", "bmi"])
    return X, 2.0 * X["dose"] - X["bmi"] + rng.normal(size=n)


def test_dataframe_names_label_the_summary_and_predict_checks_them(rng):
    X, y = _frame(rng)
    reg = Regressor().fit(X, y)
    assert list(reg.feature_names_in_) == ["age", "dose", "bmi"]
    assert reg.fit_.feature_names == ("age", "dose", "bmi")
    row = {line.split()[0]: float(line.split()[1]) for line in reg.fit_.summary().splitlines()
           if line.split() and line.split()[0] in ("age", "dose", "bmi")}
    np.testing.assert_allclose([row["dose"], row["bmi"]], reg.coef_[1:], rtol=1e-5)   # "dose" is x2's coefficient
    with pytest.raises(ValueError, match="feature names"):
        reg.predict(X[["dose", "age", "bmi"]])


def test_metrics_take_sample_weight_and_route_it_through_make_scorer(rng):
    import sklearn
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import make_scorer, mean_squared_error
    from sklearn.model_selection import cross_validate

    import l2kit as l2
    from l2kit import InputError

    X, y = rng.normal(size=(90, 2)), rng.normal(size=90)
    w = rng.uniform(0.1, 3.0, size=90)
    p = y + rng.normal(size=90)
    for name in ("mse", "rmse", "mae", "r2", "explained_variance"):
        f = getattr(l2, name)
        assert float(f(y, p, sample_weight=w)) == float(f(y, p, weights=w))
    assert float(l2.mse(y, p, sample_weight=w)) == pytest.approx(mean_squared_error(y, p, sample_weight=w), rel=1e-12)
    with pytest.raises(InputError, match="both"):
        l2.mse(y, p, weights=w, sample_weight=w)
    with sklearn.config_context(enable_metadata_routing=True):
        ours = make_scorer(l2.mse, greater_is_better=False).set_score_request(sample_weight=True)
        theirs = make_scorer(mean_squared_error, greater_is_better=False).set_score_request(sample_weight=True)
        est = LinearRegression().set_fit_request(sample_weight=True)
        a = cross_validate(est, X, y, scoring=ours, params={"sample_weight": w}, cv=3)["test_score"]
        b = cross_validate(est, X, y, scoring=theirs, params={"sample_weight": w}, cv=3)["test_score"]
    assert np.all(np.isfinite(a))
    np.testing.assert_allclose(a, b, rtol=1e-12)


def test_loss_parameters_are_tunable_in_grid_search(rng):
    import l2kit as l2
    from l2kit import InputError

    X, y = _frame(rng)
    y = y.to_numpy().copy()
    y[:6] += 25.0                                       # outliers: the smaller delta should win
    reg = Regressor(loss=l2.Huber())
    assert reg.get_params(deep=True)["loss__delta"] == 1.0
    grid = GridSearchCV(reg, {"loss__delta": [0.5, 50.0]}, cv=3, scoring="neg_median_absolute_error").fit(X, y)
    assert grid.best_estimator_.loss == l2.Huber(delta=grid.best_params_["loss__delta"])
    assert reg.loss == l2.Huber()                       # the original estimator's loss is untouched
    assert Regressor(loss="tukey").set_params(loss__c=3.0).loss == l2.Tukey(c=3.0)
    with pytest.raises(InputError, match="delta"):
        Regressor(loss="huber").set_params(loss__gamma=1.0)
