"""Residual tests against statsmodels and scipy (reference values computed independently)."""

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.diagnostic import het_breuschpagan
from statsmodels.stats.stattools import jarque_bera as sm_jarque_bera

from l2kit.diagnosis.tests import breusch_pagan, heavy_tails, jarque_bera, overdispersion, qq, zero_inflation


def _stackloss_ols():
    d = sm.datasets.stackloss.load_pandas()
    X = d.exog.to_numpy(float)
    y = d.endog.to_numpy(float)
    return X, y, sm.OLS(y, sm.add_constant(X)).fit()


def _cases():
    rng = np.random.default_rng(7)
    X, y, res = _stackloss_ols()
    yield "stackloss", res.resid, X
    Xr = rng.normal(size=(300, 4))
    yield "student-t", rng.standard_t(3, size=300) * (1 + np.abs(Xr[:, 0])), Xr
    Xe = rng.uniform(size=(50, 2))
    yield "skewed", rng.exponential(size=50), Xe


@pytest.mark.parametrize("name,resid,X", list(_cases()), ids=lambda v: v if isinstance(v, str) else "")
def test_jarque_bera_matches_statsmodels(name, resid, X):
    ref = sm_jarque_bera(resid)
    got = jarque_bera(resid)
    np.testing.assert_allclose([got.statistic, got.pvalue, got.skew, got.kurtosis], np.asarray(ref, float),
                               rtol=1e-8, atol=1e-12)
    assert got.excess_kurtosis == pytest.approx(stats.kurtosis(resid), rel=1e-8)


@pytest.mark.parametrize("robust", [True, False])
@pytest.mark.parametrize("name,resid,X", list(_cases()), ids=lambda v: v if isinstance(v, str) else "")
def test_breusch_pagan_matches_statsmodels(name, resid, X, robust):
    lm, lm_p, f, f_p = het_breuschpagan(resid, sm.add_constant(X), robust=robust)
    got = breusch_pagan(resid, X, robust=robust)
    np.testing.assert_allclose([got.lm, got.lm_pvalue, got.fvalue, got.f_pvalue], [lm, lm_p, f, f_p],
                               rtol=1e-8, atol=1e-14)


def test_breusch_pagan_detects_heteroscedasticity():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 5, size=(400, 1))
    e = rng.normal(size=400) * (0.2 + x[:, 0])
    assert breusch_pagan(e, x).lm_pvalue < 1e-6
    assert breusch_pagan(rng.normal(size=400), x).lm_pvalue > 1e-3


def test_qq_against_scipy_probplot():
    rng = np.random.default_rng(1)
    r = rng.standard_t(4, size=150)
    got = qq(r)
    (osm, osr), (slope, icpt, rr) = stats.probplot(r, dist="norm")
    # scipy uses Filliben's plotting positions; the ordered sample must agree and the correlation be close
    np.testing.assert_allclose(got.sample, np.sort((r - r.mean()) / r.std(ddof=1)), rtol=1e-12)
    assert got.correlation == pytest.approx(rr, abs=2e-3)
    assert got.shapiro_pvalue == pytest.approx(stats.shapiro(r).pvalue, rel=1e-12)
    assert np.all(np.diff(got.theoretical) > 0)


def test_heavy_tails_counts_and_binomial_pvalue():
    rng = np.random.default_rng(3)
    r = rng.normal(size=500)
    r[:12] = 15.0
    t = heavy_tails(r)
    s = 1.482602218505602 * np.median(np.abs(r))
    k = int(np.sum(np.abs(r) > 2.5 * s))
    p_tail = 2 * stats.norm.sf(2.5)
    assert t.n_beyond == k >= 12
    assert t.expected == pytest.approx(500 * p_tail)
    assert t.pvalue == pytest.approx(stats.binomtest(k, 500, p_tail, alternative="greater").pvalue, rel=1e-9)
    assert t.heavy
    assert not heavy_tails(rng.normal(size=2000)).heavy


def _poisson_glm(y, X):
    return sm.GLM(y, sm.add_constant(X), family=sm.families.Poisson()).fit()


def test_overdispersion_matches_statsmodels_pearson_chi2():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(400, 2))
    mu = np.exp(0.5 + X @ [0.3, -0.2])
    y = rng.negative_binomial(2.0, 2.0 / (2.0 + mu))
    res = _poisson_glm(y, X)
    o = overdispersion(y, res.mu, df_resid=res.df_resid)
    assert o.pearson_chi2 == pytest.approx(res.pearson_chi2, rel=1e-10)
    assert o.ratio == pytest.approx(res.pearson_chi2 / res.df_resid, rel=1e-10)
    assert o.ratio > 1.3 and o.pvalue < 1e-6
    yp = rng.poisson(mu)
    resp = _poisson_glm(yp, X)
    assert overdispersion(yp, resp.mu, df_resid=resp.df_resid).ratio == pytest.approx(1.0, abs=0.2)


def test_zero_inflation_expected_zeros_match_scipy():
    rng = np.random.default_rng(5)
    mu = rng.uniform(0.5, 4.0, size=300)
    y = rng.poisson(mu)
    y[:60] = 0
    zp = zero_inflation(y, mu)
    assert zp.observed == int(np.sum(y == 0))
    assert zp.expected == pytest.approx(stats.poisson.pmf(0, mu).sum(), rel=1e-12)
    assert zp.pvalue < 1e-3 and zp.model == "poisson"
    znb = zero_inflation(y, mu, theta=1.5)
    assert znb.expected == pytest.approx(stats.nbinom.pmf(0, 1.5, 1.5 / (1.5 + mu)).sum(), rel=1e-12)
    assert znb.expected > zp.expected


def test_short_input_refused():
    from l2kit import InputError

    with pytest.raises(InputError, match="at least 3"):
        jarque_bera([1.0, 2.0])


@pytest.mark.parametrize("bad, match", [
    ([[1.0, 2.0], [3.0]], "ragged"),               # NumPy's "inhomogeneous shape" ValueError before
    (np.array(["a", "b", "c", "d"]), "real numbers"),   # "could not convert string to float"
    (np.array([1.0, np.nan, 2.0, 3.0]), "finite"),  # statistics of NaN, silently
    (np.array([1 + 1j, 2, 3, 4]), "real numbers"),  # the imaginary part was dropped with a warning
])
def test_residual_statistics_refuse_bad_input_with_the_library_error(bad, match):
    from l2kit import InputError

    for fn in (jarque_bera, qq, heavy_tails):
        with pytest.raises(InputError, match=match):
            fn(bad)
