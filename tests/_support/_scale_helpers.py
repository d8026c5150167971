"""Shared helpers for the scale tests: independent references (statsmodels, numpy)."""

import numpy as np
import pytest


def sm_fit(X, y, w=None, fit_intercept=True):
    """statsmodels OLS/WLS on the rows with positive weight (reference).

    With an intercept, X and y are centred (by the weighted means) before statsmodels sees them and
    the intercept and its standard error are mapped back: the same model, but statsmodels' pinv on an
    uncentred design with a 1e3 offset is itself up to 2e-10 off (against mpmath), above the 1e-10
    the tests ask for. Returns params, bse, scale, llf, df_resid and fittedvalues.
    """
    from types import SimpleNamespace

    sm = pytest.importorskip("statsmodels.api")
    if w is not None:
        keep = w > 0
        X, y, w = X[keep], y[keep], w[keep]
    m = np.average(X, axis=0, weights=w) if fit_intercept else np.zeros(X.shape[1])
    my = float(np.average(y, weights=w)) if fit_intercept else 0.0
    A = sm.add_constant(X - m, has_constant="add") if fit_intercept else X
    res = (sm.WLS(y - my, A, weights=w) if w is not None else sm.OLS(y - my, A)).fit()
    params, bse = np.array(res.params, float), np.array(res.bse, float)
    if fit_intercept:
        cov = np.asarray(res.cov_params())
        params[0] += my - m @ params[1:]
        bse[0] = np.sqrt(cov[0, 0] + m @ cov[1:, 1:] @ m - 2.0 * m @ cov[1:, 0])
    return SimpleNamespace(params=params, bse=bse, scale=res.scale, llf=res.llf, df_resid=res.df_resid,
                           fittedvalues=res.fittedvalues + my)


def inmemory_fit(X, y, w=None, **kw):
    """l2kit's in-memory fit of the same rows."""
    import l2kit as l2

    return l2.fit(X, y, weights=w, **kw)


def assert_same_fit(f, ref_params, ref_bse, *, coef_tol=1e-10, se_tol=1e-8):
    """Coefficients to coef_tol and standard errors to se_tol, relative to the reference's scale."""
    p = np.asarray(ref_params, float)
    b = np.asarray(ref_bse, float)
    scale = max(1.0, np.abs(p).max())
    np.testing.assert_allclose(f.params, p, rtol=0, atol=coef_tol * scale)
    np.testing.assert_allclose(f.bse, b, rtol=se_tol, atol=se_tol * np.abs(b).max())


def make_data(rng, n=300, p=4, offset=0.0, weights=False, zero_weights=0):
    X = rng.normal(size=(n, p)) * rng.uniform(0.5, 3, p) + offset
    y = X @ rng.normal(size=p) + 2.0 + rng.normal(size=n)
    w = None
    if weights:
        w = rng.uniform(0.2, 3.0, n)
        w[:zero_weights] = 0.0
    return X, y, w
