"""Least-squares inference against statsmodels OLS/WLS/GLS on Longley and stackloss."""

import numpy as np
import pytest

import l2kit as l2

sm = pytest.importorskip("statsmodels.api")

COV_TYPES = ["nonrobust", "HC0", "HC1", "HC2", "HC3"]


def _data(name):
    d = getattr(sm.datasets, name).load_pandas()
    X, y = np.asarray(d.exog, float), np.asarray(d.endog, float)
    rng = np.random.default_rng(7)
    n = len(y)
    w = rng.uniform(0.5, 2.0, n)
    B = rng.normal(size=(n, n))
    S = B @ B.T / n + np.eye(n)
    return X, y, w, S


def _rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.abs(b)))


def _models(X, y, w, S):
    Z = sm.add_constant(X)
    return {
        "OLS": (sm.OLS(y, Z), {}),
        "WLS": (sm.WLS(y, Z, weights=w), {"weights": w}),
        "GLS": (sm.GLS(y, Z, sigma=S), {"cov": S}),
        "GLS-diag": (sm.GLS(y, Z, sigma=1 / w), {"cov": 1 / w}),
    }


@pytest.mark.parametrize("dataset", ["longley", "stackloss"])
@pytest.mark.parametrize("cov_type", COV_TYPES)
def test_matches_statsmodels(dataset, cov_type):
    X, y, w, S = _data(dataset)
    for name, (model, kw) in _models(X, y, w, S).items():
        ref = model.fit(cov_type=cov_type)
        f = l2.fit(X, y, cov_type=cov_type, **kw)
        tol = 1e-8
        if dataset == "longley" and cov_type in ("HC2", "HC3") and name in ("WLS", "GLS-diag"):
            # statsmodels' own leverage is off by ~1.2e-8 here (checked against mpmath below)
            tol = 3e-8
        assert _rel(f.params, ref.params) < tol, (name, "params")
        assert _rel(f.bse, ref.bse) < tol, (name, "bse")
        assert _rel(f.conf_int(0.9), ref.conf_int(0.1)) < tol, (name, "conf_int")
        assert _rel(f.pvalues, ref.pvalues) < 1e-6, (name, "pvalues")
        assert abs(f.loglike - ref.llf) < tol * abs(ref.llf), (name, "llf")
        assert abs(f.scale - ref.scale) < tol * ref.scale, (name, "scale")
        assert f.df_resid == ref.df_resid
        assert _rel(f.residuals, ref.resid) < 1e-6 or np.allclose(f.residuals, ref.resid, rtol=1e-8, atol=1e-8 *
                                                                    np.abs(y).max())
        assert _rel(f.cov_params, ref.cov_params()) < 1e-7 or np.allclose(
            f.cov_params, ref.cov_params(), rtol=1e-8, atol=1e-12 * np.abs(ref.cov_params()).max())


def test_hc3_against_mpmath_longley():
    """Exact HC3 (50 digits) for WLS on Longley: l2kit to 1e-10, statsmodels only to ~1e-8."""
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 50
    X, y, w, _ = _data("longley")
    Z = np.column_stack([np.ones(len(y)), X])
    n, k = Z.shape
    s = [mp.sqrt(mp.mpf(float(v))) for v in w]
    A = mp.matrix([[mp.mpf(float(Z[i, j])) * s[i] for j in range(k)] for i in range(n)])
    b = mp.matrix([mp.mpf(float(y[i])) * s[i] for i in range(n)])
    Gi = (A.T * A) ** -1
    r = b - A * (Gi * (A.T * b))
    H = A * Gi * A.T
    meat = mp.zeros(k)
    for i in range(n):
        meat += (r[i] ** 2 / (1 - H[i, i]) ** 2) * (A[i, :].T * A[i, :])
    C = Gi * meat * Gi
    exact = np.array([float(mp.sqrt(C[j, j])) for j in range(k)])
    f = l2.fit(X, y, weights=w, cov_type="HC3")
    assert _rel(f.bse, exact) < 1e-10


def test_summary_and_conf_int_levels():
    X, y, _, _ = _data("stackloss")
    f = l2.fit(X, y)
    ref = sm.OLS(y, sm.add_constant(X)).fit()
    text = f.summary()
    assert "intercept" in text and "std err" in text and "cholesky" in text
    assert _rel(f.conf_int(0.99), ref.conf_int(0.01)) < 1e-8
    assert _rel(f.tvalues, ref.tvalues) < 1e-8


def test_no_intercept_matches_statsmodels():
    X, y, _, _ = _data("stackloss")
    f = l2.fit(X, y, fit_intercept=False)
    ref = sm.OLS(y, X).fit()
    assert _rel(f.coef, ref.params) < 1e-10 and _rel(f.stderr, ref.bse) < 1e-10
    assert abs(f.loglike - ref.llf) < 1e-10 * abs(ref.llf)


def test_classical_cov_from_gram_matches_statsmodels():
    from l2kit.linear._inference import classical_cov, gaussian_loglike
    from l2kit.linear.least_squares import centred_gram, gram_inverse, solve_normal_equations

    X, y, _, _ = _data("stackloss")
    g = centred_gram(X, y)
    s = solve_normal_equations(g.G, g.Atb)
    rss = g.bss - float(s.coef @ g.Atb)
    n, k = len(y), s.rank + 1
    se = np.sqrt(np.diag(classical_cov(gram_inverse(g.G), rss / (n - k), mean=g.mean, sw=g.sw)))
    ref = sm.OLS(y, sm.add_constant(X)).fit()
    assert _rel(se[1:], ref.bse[1:]) < 1e-8
    assert abs(se[0] - ref.bse[0]) < 1e-8 * ref.bse[0]
    assert abs(gaussian_loglike(rss, n) - ref.llf) < 1e-8 * abs(ref.llf)
