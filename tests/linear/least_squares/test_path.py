"""``l2.enet_path`` and ``l2.fit(alpha="cv")``: against glmnet (fixtures recorded by
tests/fixtures/glmnet_path.R), scikit-learn's ``enet_path`` / ``ElasticNetCV``, the KKT conditions and
single fits; weights, bad input and non-convergence."""

import json
import os
import warnings

import numpy as np
import pytest

import l2kit as l2
from l2kit import InputError, Status

HERE = os.path.dirname(__file__)
R = json.load(open(os.path.join(HERE, "..", "..", "fixtures", "glmnet_path.json")))
XR = np.array(R["X"])
TIGHT = {"tol": 1e-14, "max_iter": 100_000}
CASES = ["lasso", "enet", "ridge", "enet_weighted", "lasso_no_intercept"]


def _case(name):
    c = R[name]
    return np.array(c["y"]), (np.array(R["weights"]) if name.endswith("weighted") else None), c


@pytest.mark.parametrize("name", CASES)
def test_path_equals_glmnet(name):
    """Same grid (l2kit's default = glmnet's formula at eps=1e-3), coefficients within 1e-8 of glmnet's
    (thresh=1e-20), intercepts, dev.ratio and df; y has sd 1 so glmnet's lambda is l2kit's alpha."""
    y, w, c = _case(name)
    path = l2.enet_path(XR, y, l1_ratio=c["l1_ratio"], weights=w, fit_intercept=c["intercept_fitted"], **TIGHT)
    assert path.status == Status.SUCCESS and path.converged
    np.testing.assert_allclose(path.alphas, c["lambda"], rtol=1e-12)
    assert np.max(np.abs(path.coef - np.array(c["beta"]))) < 1e-8
    assert np.max(np.abs(path.intercept - np.array(c["a0"]))) < 1e-8
    np.testing.assert_allclose(path.dev_ratio, c["dev_ratio"], atol=1e-9)
    # glmnet's df counts a coefficient of 1e-16 at alpha_max (its lambda_max rounds just below ours)
    beta = np.array(c["beta"])
    assert np.array_equal(path.df, np.count_nonzero(np.abs(beta) > 1e-12, axis=1))
    assert path.predict(XR).shape == (XR.shape[0], 100)
    np.testing.assert_allclose(path.predict(XR[:3])[:, 50], XR[:3] @ path.coef[50] + path.intercept[50])


@pytest.mark.parametrize("name", ["lasso", "enet", "ridge", "enet_weighted"])
def test_cv_equals_cv_glmnet_given_its_folds(name):
    """Same lambda.min and lambda.1se as cv.glmnet with the same foldid. The lasso's curve is glmnet's to
    1e-8; for the elastic net and ridge glmnet rescales each fold's y by that fold's sd (not 1), so its fold
    fits solve a slightly different problem: the curves agree to 1%, the choices exactly."""
    y, w, c = _case(name)
    f = l2.fit(XR, y, l1_ratio=c["l1_ratio"], weights=w, alpha="cv", folds=np.array(R["foldid"]), **TIGHT)
    cv = f.extra["cv"]
    assert cv["alpha_min"] == pytest.approx(c["cv"]["lambda_min"], rel=1e-12)
    assert cv["alpha_1se"] == pytest.approx(c["cv"]["lambda_1se"], rel=1e-12)
    assert f.alpha == cv["alpha_min"] and cv["n_folds"] == 10
    rtol = 1e-8 if c["l1_ratio"] == 1 else 1e-2
    np.testing.assert_allclose(cv["cv_mean"], c["cv"]["cvm"], rtol=rtol)
    np.testing.assert_allclose(cv["cv_se"], c["cv"]["cvsd"], rtol=10 * rtol)
    # the fit at alpha_min is the path's point there
    k = int(np.flatnonzero(cv["alphas"] == cv["alpha_min"])[0])
    assert np.max(np.abs(f.coef - np.array(c["beta"])[k])) < 1e-8
    f1 = l2.fit(XR, y, l1_ratio=c["l1_ratio"], weights=w, alpha="cv", folds=np.array(R["foldid"]),
                cv_select="1se", **TIGHT)
    assert f1.alpha == cv["alpha_1se"]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(21)
    n, p = 240, 30
    X = rng.normal(size=(n, p)) @ np.linalg.cholesky(0.7 ** np.abs(np.subtract.outer(np.arange(p), np.arange(p)))).T
    X += rng.uniform(-3, 3, p)
    beta = np.where(rng.uniform(size=p) < 0.3, rng.normal(size=p) * 2, 0.0)
    return X, X @ beta + 1.0 + rng.normal(size=n)


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5, 0.1])
def test_path_equals_sklearn_enet_path(data, l1_ratio):
    from sklearn.linear_model import enet_path

    X, y = data
    path = l2.enet_path(X, y, l1_ratio=l1_ratio, n_alphas=60, **TIGHT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        alphas, coefs, _ = enet_path(X - X.mean(0), y - y.mean(), l1_ratio=l1_ratio, n_alphas=60, tol=1e-14,
                                     max_iter=200_000)
    np.testing.assert_allclose(path.alphas, alphas, rtol=1e-10)
    assert np.max(np.abs(path.coef - coefs.T)) < 1e-7


def test_path_wide_design_equals_sklearn(rng):
    """More columns than rows (the Gram matrix is singular; the l2 part and the l1 part keep it unique)."""
    from sklearn.linear_model import enet_path

    X = rng.normal(size=(40, 100))
    y = X[:, :3] @ [1.0, -2.0, 3.0] + 0.1 * rng.normal(size=40)
    path = l2.enet_path(X, y, l1_ratio=0.7, n_alphas=30, eps=1e-2, **TIGHT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, coefs, _ = enet_path(X - X.mean(0), y - y.mean(), l1_ratio=0.7, alphas=path.alphas, tol=1e-14,
                                max_iter=200_000)
    assert np.max(np.abs(path.coef - coefs.T)) < 1e-7


def test_every_point_satisfies_kkt_and_equals_a_single_fit(data):
    """The KKT conditions at every penalty, from exact residuals (an independent check of the strong rule
    and warm starts), and three points against l2.fit's working-set solver."""
    X, y = data
    a = 0.6
    path = l2.enet_path(X, y, l1_ratio=a, **TIGHT)
    Xc = X - X.mean(0)
    for k, alpha in enumerate(path.alphas):
        r = y - path.intercept[k] - X @ path.coef[k]
        assert abs(r.mean()) < 1e-10                      # the intercept is the unpenalised mean
        g = Xc.T @ r / X.shape[0] - alpha * (1 - a) * path.coef[k]
        nz = path.coef[k] != 0
        np.testing.assert_allclose(g[nz], alpha * a * np.sign(path.coef[k][nz]), atol=1e-8)
        assert np.all(np.abs(g[~nz]) <= alpha * a + 1e-8)
    for k in (5, 50, 99):
        f = l2.fit(X, y, alpha=path.alphas[k], l1_ratio=a, tol=1e-14, max_iter=100_000)
        assert np.max(np.abs(f.coef - path.coef[k])) < 1e-8


def test_cv_equals_sklearn_elasticnetcv(data):
    from sklearn.linear_model import ElasticNetCV
    from sklearn.model_selection import PredefinedSplit

    X, y = data
    folds = np.arange(X.shape[0]) % 6                 # equal folds: glmnet's weighted mean = sklearn's mean
    f = l2.fit(X, y, alpha="cv", l1_ratio=0.5, folds=folds, n_alphas=40, **TIGHT)
    cv = f.extra["cv"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = ElasticNetCV(l1_ratio=0.5, alphas=40, cv=PredefinedSplit(folds), tol=1e-14, max_iter=200_000
                           ).fit(X, y)
    np.testing.assert_allclose(cv["alphas"], ref.alphas_, rtol=1e-10)
    np.testing.assert_allclose(cv["cv_mean"], ref.mse_path_.mean(axis=1), rtol=1e-8)
    assert f.alpha == pytest.approx(ref.alpha_, rel=1e-12)
    assert np.max(np.abs(f.coef - ref.coef_)) < 1e-8
    assert f.intercept == pytest.approx(ref.intercept_, abs=1e-8)


def test_integer_weights_equal_repeated_rows_and_zero_weights_remove_rows(data, rng):
    X, y = data
    w = rng.integers(0, 3, size=X.shape[0]).astype(float)
    rep = np.repeat(np.arange(X.shape[0]), w.astype(int))
    pw = l2.enet_path(X, y, l1_ratio=0.5, weights=w, n_alphas=20, **TIGHT)
    pr = l2.enet_path(X[rep], y[rep], l1_ratio=0.5, n_alphas=20, **TIGHT)
    np.testing.assert_allclose(pw.alphas, pr.alphas, rtol=1e-12)
    assert np.max(np.abs(pw.coef - pr.coef)) < 1e-9
    # CV: zero-weight rows are ignored, whatever their fold label
    folds = np.arange(X.shape[0]) % 5
    keep = w > 0
    w01 = keep.astype(float)
    fw = l2.fit(X, y, weights=w01, alpha="cv", l1_ratio=0.5, folds=folds, n_alphas=20, **TIGHT)
    fk = l2.fit(X[keep], y[keep], alpha="cv", l1_ratio=0.5, folds=folds[keep], n_alphas=20, **TIGHT)
    np.testing.assert_allclose(fw.extra["cv"]["cv_mean"], fk.extra["cv"]["cv_mean"], rtol=1e-10)
    assert fw.alpha == fk.alpha


def test_wide_route_equals_gram_route(data, monkeypatch):
    """Above _GRAM_MAX_P columns the path is one working-set fit per penalty: same numbers."""
    from l2kit.linear.least_squares import path as mod

    X, y = data
    ref = l2.enet_path(X, y, l1_ratio=0.5, n_alphas=15, **TIGHT)
    monkeypatch.setattr(mod, "_GRAM_MAX_P", 10)
    wide = l2.enet_path(X, y, l1_ratio=0.5, n_alphas=15, **TIGHT)
    np.testing.assert_allclose(wide.alphas, ref.alphas, rtol=1e-12)
    assert np.max(np.abs(wide.coef - ref.coef)) < 1e-8
    np.testing.assert_allclose(wide.dev_ratio, ref.dev_ratio, atol=1e-9)


def test_random_folds_are_balanced_and_reproducible(data):
    X, y = data
    f1 = l2.fit(X, y, alpha="cv", l1_ratio=1.0, folds=7, seed=3, n_alphas=10)
    f2 = l2.fit(X, y, alpha="cv", l1_ratio=1.0, folds=7, seed=3, n_alphas=10)
    counts = np.bincount(f1.extra["cv"]["folds"])
    assert counts.size == 7 and counts.max() - counts.min() <= 1
    assert np.array_equal(f1.extra["cv"]["folds"], f2.extra["cv"]["folds"]) and f1.alpha == f2.alpha


def test_unconverged_path_says_so(data):
    X, y = data
    with pytest.warns(RuntimeWarning, match="did NOT converge"):
        path = l2.enet_path(X, y, l1_ratio=0.5, n_alphas=10, max_iter=1, tol=1e-14)
    assert path.status == Status.MAX_ITER and not path.converged


@pytest.mark.parametrize("kwargs, what", [
    ({"alphas": [1.0, -1.0]}, "alphas"),
    ({"alphas": [[1.0]]}, "alphas"),
    ({"n_alphas": 0}, "n_alphas"),
    ({"eps": 2.0}, "eps"),
    ({"l1_ratio": 1.5}, "l1_ratio"),
    ({"tol": 0.0}, "tol"),
])
def test_path_refuses_bad_input(data, kwargs, what):
    X, y = data
    with pytest.raises(InputError, match=what):
        l2.enet_path(X, y, **kwargs)


def test_path_refuses_nan_and_mismatched_shapes(data):
    X, y = data
    Xn = X.copy()
    Xn[3, 2] = np.nan
    with pytest.raises(InputError, match="NaN|finite"):
        l2.enet_path(Xn, y)
    with pytest.raises(InputError):
        l2.enet_path(X, y[:-1])


@pytest.mark.parametrize("kwargs, what", [
    ({"alpha": "cv", "folds": np.zeros(5)}, "folds"),
    ({"alpha": "cv", "folds": 1}, "folds"),
    ({"alpha": "cv", "cv_select": "max"}, "cv_select"),
    ({"alpha": 0.1, "folds": 5}, "folds"),
    ({"alpha": "cross"}, "alpha"),
])
def test_cv_refuses_bad_options(data, kwargs, what):
    X, y = data
    with pytest.raises(InputError, match=what):
        l2.fit(X, y, l1_ratio=0.5, **kwargs)


def test_cv_refuses_a_full_covariance(data):
    X, y = data
    with pytest.raises(InputError, match="cov"):
        l2.fit(X[:20], y[:20], l1_ratio=0.5, alpha="cv", cov=np.eye(20), folds=4)
