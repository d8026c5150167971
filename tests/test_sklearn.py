"""``l2kit.sklearn.Regressor``: the full scikit-learn estimator checks, Pipeline and GridSearchCV."""

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

from l2kit.sklearn import Regressor  # noqa: E402


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
