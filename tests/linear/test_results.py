"""The results API: one covariance vocabulary refused honestly, serialisation, summaries, tests, residual kinds."""

import json
import math
import pickle

import numpy as np
import pytest

import l2kit as l2
from l2kit import InputError, Status


def _counts(seed=0, n=300):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    return X, rng.poisson(np.exp(0.3 + X @ [0.4, -0.2])).astype(float)


def test_poisson_no_longer_ignores_cov_type():
    """The issue's bug: Poisson/NB/ZINB accepted any cov_type and returned model-based errors labelled nonrobust."""
    X, y = _counts()
    base = l2.fit(X, y, loss=l2.PoissonNLL())
    hc0 = l2.fit(X, y, loss=l2.PoissonNLL(), cov_type="HC0")
    assert hc0.cov_type == "HC0" and not np.allclose(hc0.bse, base.bse)
    for loss in (l2.PoissonNLL(), l2.NegativeBinomialNLL(), l2.ZINB()):
        with pytest.raises(InputError, match="'nonrobust', 'HC0', 'HC1', 'HC2', 'HC3', 'cluster', 'HAC'"):
            l2.fit(X, y, loss=loss, cov_type="no-such-type")


@pytest.mark.parametrize("loss, ok", [(l2.Squared(), "HC3"), (l2.Huber(), "H2"), (l2.Quantile(0.5), "nid"),
                                      (l2.GaussianNLL(), "HC1")])
def test_every_solver_refuses_what_it_cannot_do_with_the_list(loss, ok):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 2)); y = X @ [1.0, 2.0] + rng.normal(size=80)
    kw = {"loss_kwargs": {"var": np.ones(80)}} if isinstance(loss, l2.GaussianNLL) else {}
    assert l2.fit(X, y, loss=loss, cov_type=ok, **kw).bse is not None
    with pytest.raises(InputError, match="cov_type: expected one the .* solver computes"):
        l2.fit(X, y, loss=loss, cov_type="HC9", **kw)
    with pytest.raises(InputError, match="groups"):
        l2.fit(X, y, loss=loss, groups=np.arange(80) % 4, **kw)   # groups without cov_type="cluster"
    if isinstance(loss, l2.Squared):
        with pytest.raises(InputError, match="maxlags"):
            l2.fit(X, y, cov_type="HAC")
        with pytest.raises(InputError, match="at least 2 distinct groups"):
            l2.fit(X, y, cov_type="cluster", groups=np.zeros(80))


def test_cluster_with_integer_weights_equals_repeated_rows_for_glms():
    X, y = _counts(2, n=120)
    g = np.arange(120) % 7
    w = np.random.default_rng(3).integers(1, 3, size=120)
    rep = np.repeat(np.arange(120), w)
    a = l2.fit(X, y, loss=l2.PoissonNLL(), weights=w.astype(float), cov_type="cluster", groups=g)
    b = l2.fit(X[rep], y[rep], loss=l2.PoissonNLL(), cov_type="cluster", groups=g[rep])
    np.testing.assert_allclose(a.cov_params, b.cov_params, rtol=1e-9)


def test_to_dict_is_strict_json_and_from_dict_predicts_identically():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(60, 3)); y = X @ [1.0, 0.0, -1.0] + rng.normal(size=60)
    fits = [l2.fit(X, y), l2.fit(X, y, alpha=0.1, l1_ratio=1.0), l2.fit(X, y, loss=l2.Huber()),
            l2.fit(X, (y > 0).astype(float), loss=l2.Binomial()), l2.fit(X, np.exp(y / 4), loss=l2.GammaNLL())]
    for f in fits:
        d = f.to_dict()
        text = json.dumps(d, allow_nan=False)      # NaN (lasso stderr, undefined statistics) written as null
        for key in ("link", "fit_intercept", "cov_params", "extra", "status", "message", "loss_name", "undefined"):
            assert key in d
        g = l2.Fit.from_dict(text)
        np.testing.assert_array_equal(g.predict(X), f.predict(X))
        assert g.status is f.status and g.link == f.link and g.cov_type == f.cov_type
        for k in ("aic", "bic", "deviance", "r2"):
            a, b = getattr(f, k), getattr(g, k)
            assert (math.isnan(a) and math.isnan(b)) or a == b
    lasso = json.loads(json.dumps(fits[1].to_dict(), allow_nan=False))
    assert lasso["stderr"] is None and lasso["r2"] is None and "r2" in lasso["undefined"]
    with pytest.raises(InputError, match="no training data|without them"):
        l2.Fit.from_dict(fits[0].to_dict()).residuals_of("pearson")
    assert pickle.loads(pickle.dumps(fits[0])).aic == fits[0].aic


@pytest.mark.parametrize("fmt, marker", [("text", "====="), ("markdown", "|---|"), ("html", "<table>"),
                                         ("latex", r"\begin{tabular}")])
def test_summary_formats(fmt, marker):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 2)); y = X @ [1.0, 2.0] + rng.normal(size=40)
    f = l2.fit(X, y, feature_names=["a_1", "b&c"])
    s = f.summary(format=fmt)
    assert marker in s and f"{f.params[1]:.6g}" in s and "aic=" in s
    if fmt == "latex":
        assert r"a\_1" in s and r"b\&c" in s
    if fmt == "html":
        assert "b&amp;c" in s
    with pytest.raises(InputError, match="format"):
        f.summary(format="pdf")


def test_statistics_undefined_are_nan_with_a_reason_and_intervals_refused_honestly():
    X, y = _counts(6)
    h = l2.fit(X, y, loss=l2.Huber())
    assert math.isnan(h.aic) and "not a likelihood" in h.undefined["aic"] and math.isnan(h.r2) and h.undefined["r2"]
    with pytest.raises(InputError, match="variance function"):
        h.residuals_of("pearson")
    p = l2.fit(X, y, loss=l2.PoissonNLL())
    with pytest.raises(InputError, match="prediction intervals need a Gaussian noise model"):
        p.predict(X[:3], interval="prediction")
    ci = p.predict(X[:3], interval="confidence", level=0.9)
    assert np.all(ci.lower < ci.mean) and np.all(ci.mean < ci.upper)
    lasso = l2.fit(X, y, alpha=0.5, l1_ratio=1.0)
    with pytest.raises(InputError, match="intervals need standard errors"):
        lasso.predict(X[:3], interval="confidence")
    with pytest.raises(InputError, match="kind"):
        p.residuals_of("partial")


def test_constraint_strings_and_bad_constraints():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(100, 3)); y = X @ [1.0, 1.0, 0.0] + rng.normal(size=100)
    f = l2.fit(X, y, feature_names=["x1", "x10", "z"])
    R = np.array([[0, 1.0, -1.0, 0], [0, 0, 0, 1.0]])
    a = f.f_test("x1 = x10, z")
    b = f.f_test(R)
    assert a.statistic == pytest.approx(b.statistic, rel=1e-12) and a.df == 2 and a.kind == "F"
    assert f.wald_test("intercept + 2*x1 - x10 = 1").df == 1
    for bad in ("x2 = 0", "x1 = = x10", "x1 +", "x1 = x1"):
        with pytest.raises(InputError):
            f.wald_test(bad)


def test_boundaries_get_status_warning_and_the_simpler_model():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(200, 1))
    y = (X[:, 0] > 0).astype(float)                     # complete separation
    with pytest.warns(l2.BoundaryWarning, match="separated"):
        f = l2.fit(X, y, loss=l2.Binomial())
    assert f.status is Status.BOUNDARY and not f.converged and "penalised" in f.message
    y = rng.binomial(10, 0.3, size=200).astype(float)   # underdispersed counts: theta -> infinity
    with pytest.warns(l2.BoundaryWarning, match="PoissonNLL"):
        g = l2.fit(X, y, loss=l2.NegativeBinomialNLL())
    assert g.status is Status.BOUNDARY


def test_binomial_trials_equal_expanded_bernoulli_rows():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(40, 2)); n = rng.integers(1, 6, size=40).astype(float)
    s = rng.binomial(n.astype(int), 1 / (1 + np.exp(-(X @ [0.5, -1.0])))).astype(float)
    f = l2.fit(X, s, loss=l2.Binomial(), trials=n)
    rows = np.repeat(np.arange(40), n.astype(int))
    outcome = np.concatenate([[1.0] * int(k) + [0.0] * int(m - k) for k, m in zip(s, n)])
    g = l2.fit(X[rows], outcome, loss=l2.Binomial())
    np.testing.assert_allclose(f.params, g.params, rtol=1e-10)
    np.testing.assert_allclose(f.bse, g.bse, rtol=1e-9)
    with pytest.raises(InputError, match="successes"):
        l2.fit(X, n + 1, loss=l2.Binomial(), trials=n)
    with pytest.raises(InputError, match="trials"):
        l2.fit(X, s, loss=l2.PoissonNLL(), trials=n)
