"""The generic gradient solver (linear/_gradient.py): every registered loss can be passed to ``l2.fit``.

References: statsmodels WLS / Logit / OLS (HC0), scipy.stats.norm, and the loss's own public ``__call__``.
"""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import l2kit as l2
from l2kit import InputError, Status
from l2kit.losses import loss_classes

sm = pytest.importorskip("statsmodels.api")

CLASSES = loss_classes()


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _regression(cls, seed=0, n=60):
    """A regression built from the class's ``_example``: its loss object, targets valid for it, a design."""
    rng = np.random.default_rng(seed)
    loss, yt, _, kw = cls._example(rng, n)
    yt = np.asarray(yt, dtype=float)
    if cls.__name__ == "HeatmapMSE":
        yt = yt.reshape(-1)   # one row per pixel; case weights replace the per-keypoint target_weight
        kw = {}
    X = rng.normal(size=(yt.shape[0], 2))
    if cls.__name__ == "Geodesic":
        # directions that depend on X (random ones push a predicted direction through 0, where it is undefined)
        yt = X @ rng.normal(size=(2, yt.shape[1])) + 2.0 + 0.3 * yt
        yt /= np.linalg.norm(yt, axis=1, keepdims=True)
    return loss, X, yt, kw


def _loss_input(fit, X):
    """What the loss receives for the fitted linear predictor (its y_pred)."""
    eta = X @ fit.coef + fit.intercept
    if fit.link == "log":
        return np.exp(eta)
    if fit.link == "logit" and not getattr(fit.loss, "logits", False):
        return _sigmoid(eta)
    return eta   # identity, logits, and Geodesic (the loss normalises the direction itself)


@pytest.mark.parametrize("cls", CLASSES, ids=[c.name for c in CLASSES])
def test_every_registered_loss_can_be_passed_to_fit(cls):
    loss, X, y, kw = _regression(cls)
    extra = {"loss_kwargs": kw} if kw and cls.fit_family == "gradient" else {}
    if cls.fit_family == "glm":
        extra = dict(kw)   # the GLM solver takes per-row data (binomial trials=) as fit options
    assert cls.fit_family is not None
    f = l2.fit(X, y, loss=loss, **extra)
    d = () if y.ndim == 1 else (y.shape[1],)
    assert f.coef.shape == (2,) + d and np.all(np.isfinite(f.coef))
    assert np.asarray(f.predict(X[:5])).shape == (5,) + d
    assert isinstance(f.status, Status) and f.message
    if cls.fit_family == "gradient":
        assert f.converged, f.message
    text = f.summary()
    assert "intercept" in text and str(f.n_iter) in text
    json.dumps(f.to_dict())
    if f.bse is not None:
        assert f.conf_int().shape == f.params.shape + (2,)
    if cls.fit_family != "gradient":
        return
    # optimality, judged by the loss's own public __call__: no small move of any parameter lowers the mean loss
    kwargs = {} if not kw else kw

    def mean_loss(coef, intercept):
        g = type("F", (), {"coef": coef, "intercept": intercept, "link": f.link, "loss": f.loss})
        # the plain mean of the elementwise loss (HeatmapFocal's "mean" divides by the positives instead)
        return float(np.mean(loss(y, _loss_input(g, X), reduction="none", **kwargs)))

    best = mean_loss(f.coef, f.intercept)
    assert abs(best - f.extra["objective"]) <= 1e-9 * max(1.0, abs(best))
    rng = np.random.default_rng(1)
    for _ in range(6):
        dc = 1e-3 * rng.normal(size=f.coef.shape)
        di = 1e-3 * rng.normal(size=np.shape(f.intercept))
        assert mean_loss(f.coef + dc, f.intercept + di) >= best - 1e-12


# ------------------------------------------------------------------ GaussianNLL = WLS with known variances
def _hetero(seed=0, n=250):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    var = rng.uniform(0.2, 3.0, size=n)
    y = 0.5 + X @ [1.0, -2.0, 0.3] + rng.normal(size=n) * np.sqrt(var)
    return X, y, var


def test_gaussian_nll_equals_wls_with_known_variances():
    X, y, var = _hetero()
    f = l2.fit(X, y, loss=l2.GaussianNLL(), loss_kwargs={"var": var})
    ref = sm.WLS(y, sm.add_constant(X), weights=1 / var).fit()
    np.testing.assert_allclose(f.params, ref.params, rtol=1e-9, atol=1e-11)
    # known variances: no estimated scale, i.e. WLS's covariance divided by its scale
    np.testing.assert_allclose(f.cov_params, ref.cov_params() / ref.scale, rtol=1e-6)
    assert f.cov_type == "nonrobust" and f.dist == "normal"
    ll = stats.norm.logpdf(y, f.predict(X), np.sqrt(var)).sum()
    np.testing.assert_allclose(f.loglike, ll, rtol=1e-12)
    # the sandwich is WLS's HC0
    g = l2.fit(X, y, loss=l2.GaussianNLL(), loss_kwargs={"var": var}, cov_type="HC0")
    hc0 = sm.WLS(y, sm.add_constant(X), weights=1 / var).fit(cov_type="HC0")
    np.testing.assert_allclose(g.bse, hc0.bse, rtol=1e-6)


def test_gaussian_nll_full_changes_only_the_loglike_constant():
    X, y, var = _hetero(1)
    a = l2.fit(X, y, loss=l2.GaussianNLL(), loss_kwargs={"var": var})
    b = l2.fit(X, y, loss=l2.GaussianNLL(full=True), loss_kwargs={"var": var})
    np.testing.assert_allclose(a.params, b.params, rtol=1e-10)
    np.testing.assert_allclose(a.loglike, b.loglike, rtol=1e-12)


def test_gaussian_nll_var_is_validated():
    X, y, var = _hetero()
    with pytest.raises(InputError, match="one value per row"):
        l2.fit(X, y, loss=l2.GaussianNLL(), loss_kwargs={"var": var[:-1]})
    with pytest.raises(InputError, match="var"):
        l2.fit(X, y, loss=l2.GaussianNLL())
    with pytest.raises(InputError, match="var"):
        l2.fit(X, y, loss=l2.GaussianNLL(), loss_kwargs={"var": -var})
    with pytest.raises(InputError, match="loss_kwargs"):
        l2.fit(X, y, loss=l2.GaussianNLL(), loss_kwargs={"var": var, "theta": 1.0})


# ------------------------------------------------------------------ Focal(gamma=0) = logistic regression
def _binary(seed=0, n=400):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = (rng.uniform(size=n) < _sigmoid(-0.4 + X @ [1.2, -0.7, 0.2])).astype(float)
    return X, y


@pytest.mark.parametrize("loss", [l2.Focal(gamma=0.0, alpha=None), l2.Focal(gamma=0.0, alpha=None, logits=False),
                                  l2.Focal(gamma=0.0, alpha=0.5)], ids=["logits", "probs", "alpha0.5"])
@pytest.mark.parametrize("method", ["auto", "lbfgs"])
def test_focal_gamma0_is_logistic_regression(loss, method):
    X, y = _binary()
    f = l2.fit(X, y, loss=loss, method=method, tol=1e-10)
    ref = sm.Logit(y, sm.add_constant(X)).fit(disp=0, tol=1e-12)
    assert f.converged and f.link == "logit"
    np.testing.assert_allclose(f.params, ref.params, atol=1e-6)
    np.testing.assert_allclose(f.bse, ref.bse, rtol=1e-5)
    np.testing.assert_allclose(f.loglike, ref.llf, rtol=1e-9)
    np.testing.assert_allclose(f.predict(X), ref.predict(sm.add_constant(X)), atol=1e-6)


def test_focal_gamma0_matches_sklearn_unpenalised_logistic():
    lm = pytest.importorskip("sklearn.linear_model")
    X, y = _binary(3)
    f = l2.fit(X, y, loss=l2.Focal(gamma=0.0, alpha=None))
    try:
        ref = lm.LogisticRegression(C=np.inf, tol=1e-12, max_iter=10000).fit(X, y)
    except (TypeError, ValueError):  # pragma: no cover - older sklearn spelling
        ref = lm.LogisticRegression(penalty=None, tol=1e-12, max_iter=10000).fit(X, y)
    np.testing.assert_allclose(f.coef, ref.coef_[0], atol=1e-5)
    np.testing.assert_allclose(f.intercept, ref.intercept_[0], atol=1e-5)


def test_focal_gamma2_has_sandwich_errors_and_no_loglike():
    X, y = _binary(2)
    f = l2.fit(X, y, loss=l2.Focal())
    assert f.converged and f.loglike is None and f.cov_type == "HC0"
    assert np.all(np.isfinite(f.bse)) and np.all(f.bse > 0)
    with pytest.raises(InputError, match="sandwich"):
        l2.fit(X, y, loss=l2.Focal(), cov_type="nonrobust")


# ------------------------------------------------------------------ the generic path on Squared
@pytest.mark.parametrize("method", ["gradient", "trust", "lbfgs"])
def test_gradient_path_on_squared_equals_least_squares(method):
    X, y, _ = _hetero(4)
    f = l2.fit(X, y, method=method, tol=1e-11)
    ref = sm.OLS(y, sm.add_constant(X)).fit(cov_type="HC0")
    assert f.converged and f.method in ("trust", "lbfgs")
    np.testing.assert_allclose(f.params, ref.params, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(f.bse, ref.bse, rtol=1e-5)  # sandwich = HC0


def test_non_smooth_loss_is_refused_on_the_gradient_path():
    X, y, _ = _hetero()
    with pytest.raises(InputError, match="smooth"):
        l2.fit(X, y, loss=l2.Absolute(), method="gradient")


# ------------------------------------------------------------------ honest convergence
@pytest.mark.parametrize("method", ["trust", "lbfgs"])
def test_iteration_limit_is_not_converged(method):
    X, y = _binary()
    f = l2.fit(X, y, loss=l2.Focal(), method=method, max_iter=2, start=[3.0, 3.0, -3.0, 3.0])
    assert not f.converged
    assert f.n_iter <= 2 and f.status is Status.MAX_ITER and "iteration limit" in f.message
    g = l2.fit(X, y, loss=l2.Focal(), method=method, start=[3.0, 3.0, -3.0, 3.0])
    assert g.converged and g.status is Status.SUCCESS and "converged" in g.message
    with pytest.raises(InputError, match="max_iter"):
        l2.fit(X, y, loss=l2.Focal(), max_iter=0)


# ------------------------------------------------------------------ links and domains
def test_links_are_checked_and_predict_applies_the_inverse_link():
    X, y = _binary()
    with pytest.raises(InputError, match="link"):
        l2.fit(X, y, loss=l2.Focal(), link="identity")
    with pytest.raises(InputError, match="link"):
        l2.fit(X, y, loss=l2.HeatmapFocal(), link="log")
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        l2.fit(X, y + 1.0, loss=l2.HeatmapFocal())
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        l2.fit(X, 2 * y - 1, loss=l2.Focal())
    rng = np.random.default_rng(0)
    heat = rng.uniform(size=y.size) ** 3
    heat[:5] = 1.0
    f = l2.fit(X, heat, loss=l2.HeatmapFocal())
    p = f.predict(X)
    assert f.link == "logit" and np.all((p > 0) & (p < 1))
    np.testing.assert_allclose(p, _sigmoid(X @ f.coef + f.intercept), rtol=1e-12)
    g = l2.fit(X, heat, loss=l2.HeatmapMSE(), link="logit")
    assert g.converged and np.all((g.predict(X) > 0) & (g.predict(X) < 1))
    h = l2.fit(X, heat, loss=l2.HeatmapMSE())   # identity: least squares
    np.testing.assert_allclose(h.params, sm.OLS(heat, sm.add_constant(X)).fit().params, rtol=1e-8, atol=1e-10)


# ------------------------------------------------------------------ multi-output: Mahalanobis
def test_mahalanobis_multi_output_fit():
    rng = np.random.default_rng(5)
    n = 200
    X = rng.normal(size=(n, 2))
    S = np.array([[1.0, 0.6, 0.0], [0.6, 2.0, 0.3], [0.0, 0.3, 0.5]])
    E = rng.multivariate_normal(np.zeros(3), S, size=n)
    B = np.array([[1.0, -1.0, 0.5], [0.0, 2.0, -0.3]])
    Y = np.array([0.1, 0.2, 0.3]) + X @ B + E
    f = l2.fit(X, Y, loss=l2.Mahalanobis(cov=S))
    assert f.converged and f.coef.shape == (2, 3) and np.shape(f.intercept) == (3,)
    for j in range(3):   # common design: the estimate is column-wise OLS and the sandwich its HC0
        ref = sm.OLS(Y[:, j], sm.add_constant(X)).fit(cov_type="HC0")
        np.testing.assert_allclose(f.params[:, j], ref.params, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(f.bse[:, j], ref.bse, rtol=1e-5)
    assert f.predict(X[:4]).shape == (4, 3)
    assert f.conf_int().shape == (3, 3, 2)
    assert "x1[2]" in f.summary()
    assert np.asarray(json.loads(json.dumps(f.to_dict()))["coef"]).shape == (2, 3)
    with pytest.raises(InputError, match="last axis|shape"):
        l2.fit(X, Y[:, :2], loss=l2.Mahalanobis(cov=S))
    with pytest.raises(InputError, match=r"\(n_samples, d\)"):
        l2.fit(X, Y[:, 0], loss=l2.Mahalanobis(cov=S))


# ------------------------------------------------------------------ multi-output: Geodesic (directions)
def test_geodesic_fit_of_directions():
    from scipy import optimize

    rng = np.random.default_rng(0)
    n = 150
    X = rng.normal(size=(n, 2))
    E = np.array([0.5, 0.2, 1.0]) + X @ np.array([[1.0, -0.5, 0.3], [0.2, 1.0, -0.4]]) + 0.3 * rng.normal(size=(n, 3))
    Y = E / np.linalg.norm(E, axis=1, keepdims=True)
    loss = l2.Geodesic()
    f = l2.fit(X, Y, loss=loss)
    assert f.converged and f.link == "sphere" and f.coef.shape == (2, 3)
    P = f.predict(X)
    np.testing.assert_allclose(np.linalg.norm(P, axis=1), 1.0, rtol=1e-12)
    # the reported scale: mean |eta|^2 = 1
    eta = X @ f.coef + f.intercept
    np.testing.assert_allclose(np.mean(np.sum(eta ** 2, axis=1)), 1.0, rtol=1e-10)
    # independent reference: BFGS on the loss's public __call__ from another start, same normalisation
    res = optimize.minimize(lambda t: float(loss(Y, t[:3] + X @ t[3:].reshape(2, 3))), np.full(9, 0.3),
                            method="BFGS", options={"gtol": 1e-10})
    R = res.x.reshape(3, 3)
    R /= np.sqrt(np.mean(np.sum((R[0] + X @ R[1:]) ** 2, axis=1)))
    np.testing.assert_allclose(f.params, R, atol=1e-6)
    np.testing.assert_allclose(f.extra["objective"], res.fun, rtol=1e-9)
    # the covariance is that of the normalised estimator: singular along the coefficients themselves
    b = f.params.reshape(-1)
    assert np.linalg.norm(f.cov_params @ b) <= 1e-8 * np.linalg.norm(f.cov_params) * np.linalg.norm(b)
    assert np.all(f.bse > 0)
    with pytest.raises(InputError, match="link"):
        l2.fit(X, Y, loss=loss, link="identity")
    with pytest.raises(InputError, match="zero vector"):
        l2.fit(X, np.vstack([np.zeros((1, 3)), Y[1:]]), loss=loss)


# ------------------------------------------------------------------ case weights
LOSSES_W = [(l2.Focal(gamma=2.0, alpha=0.25), "binary"), (l2.GaussianNLL(), "gauss")]


def _weighted_case(seed, which, n=40):
    """A weighted-fit property case: ``loss, rng, X, y, fit kwargs``."""
    loss, kind = LOSSES_W[which]
    rng = np.random.default_rng(seed)
    return (loss, rng, *_data(kind, rng, n))


def _data(kind, rng, n):
    X = rng.normal(size=(n, 2))
    if kind == "binary":
        y = (rng.uniform(size=n) < _sigmoid(0.3 + X @ [1.0, -1.0])).astype(float)
        y[:2] = [0.0, 1.0]
        return X, y, {}
    var = rng.uniform(0.5, 2.0, size=n)
    return X, 1.0 + X @ [1.0, -1.0] + rng.normal(size=n) * np.sqrt(var), {"loss_kwargs": {"var": var}}


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), which=st.integers(0, 1))
def test_weights_ones_equal_none(seed, which):
    loss, _, X, y, kw = _weighted_case(seed, which)
    a = l2.fit(X, y, loss=loss, **kw)
    b = l2.fit(X, y, loss=loss, weights=np.ones(40), **kw)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(a.bse, b.bse, rtol=1e-6)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), which=st.integers(0, 1))
def test_integer_weights_equal_repeated_rows(seed, which):
    loss, rng, X, y, kw = _weighted_case(seed, which)
    w = rng.integers(0, 4, size=40)
    w[:2] = 1   # keep both classes
    a = l2.fit(X, y, loss=loss, weights=w, tol=1e-11, **kw)
    rep = np.repeat(np.arange(40), w)
    kw_rep = {"loss_kwargs": {"var": kw["loss_kwargs"]["var"][rep]}} if kw else {}
    b = l2.fit(X[rep], y[rep], loss=loss, tol=1e-11, **kw_rep)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(a.bse, b.bse, rtol=1e-5)
    if a.loglike is not None:
        np.testing.assert_allclose(a.loglike, b.loglike, rtol=1e-9)


def test_geodesic_on_directions_unrelated_to_x_is_not_converged():
    # the best linear fit drives a predicted direction through 0, where the loss is not smooth
    rng = np.random.default_rng(0)
    loss, t, _, _ = l2.Geodesic._example(rng, 60)
    X = rng.normal(size=(60, 2))
    f = l2.fit(X, t, loss=loss, method="lbfgs", max_iter=1000)
    assert not f.converged and f.status in (Status.STALLED, Status.SINGULAR) and "nearly undefined" in f.message
