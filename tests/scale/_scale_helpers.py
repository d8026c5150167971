"""Shared helpers for the scale tests: independent references (statsmodels, numpy)."""

import numpy as np
import pytest


def sm_fit(X, y, w=None, fit_intercept=True):
    """statsmodels OLS/WLS on the rows with positive weight (reference)."""
    sm = pytest.importorskip("statsmodels.api")
    if w is not None:
        keep = w > 0
        X, y, w = X[keep], y[keep], w[keep]
    A = sm.add_constant(X, has_constant="add") if fit_intercept else X
    res = (sm.WLS(y, A, weights=w) if w is not None else sm.OLS(y, A)).fit()
    return res


def inmemory_fit(X, y, w=None, **kw):
    """l2kit's in-memory fit, skipped while the least-squares solver is not there yet."""
    import importlib.util

    if importlib.util.find_spec("l2kit.linear._least_squares") is None:
        pytest.skip("in-memory least-squares solver not available yet")
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
