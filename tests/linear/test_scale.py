"""The robust scales of ``linear._scale`` against scipy and statsmodels (the module itself imports neither)."""

import numpy as np
import pytest

from l2kit.linear._scale import GAUSS_3_4, huber_scale, mad_scale


def test_gauss_3_4_is_scipys_normal_quantile_to_the_last_bit():
    stats = pytest.importorskip("scipy.stats")
    assert GAUSS_3_4 == float(stats.norm.ppf(0.75))


@pytest.mark.parametrize("n", [101, 5000])   # below and above the fast path's 4096 rows
def test_mad_scale_is_statsmodels_mad_about_zero(n):
    robust = pytest.importorskip("statsmodels.robust")
    r = np.random.default_rng(n).standard_t(3, size=n)
    assert mad_scale(r, None) == pytest.approx(float(robust.mad(r, center=0)), rel=1e-14)


def test_huber_scale_is_statsmodels_proposal_2():
    sm_norms = pytest.importorskip("statsmodels.robust.scale")
    rng = np.random.default_rng(3)
    r = rng.standard_t(3, size=400)
    # statsmodels' HuberScale on residuals of a fit with p = 2 parameters (df_resid = n - 2)
    ref = sm_norms.HuberScale(d=2.5, tol=1e-12, maxiter=500)(df_resid=r.size - 2, nobs=r.size, resid=r)
    assert huber_scale(r, None, df_resid=r.size - 2) == pytest.approx(float(ref), rel=1e-8)
