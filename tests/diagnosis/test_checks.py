"""The checks of a diagnosis: statsmodels' RESET, Breusch-Godfrey, Durbin-Watson and VIF to 1e-8; Holm;
the Monte Carlo null is exact (uniform p-values under Gaussian errors); the MM outlier bound."""

import numpy as np
import pytest
import statsmodels.api as sm
from statsmodels.stats.diagnostic import acorr_breusch_godfrey, linear_reset
from statsmodels.stats.outliers_influence import variance_inflation_factor
from statsmodels.stats.stattools import durbin_watson as sm_dw

from l2kit import datasets
from l2kit.diagnosis.checks import Check, NullSampler, holm, residual_shape, robust_outliers
from l2kit.diagnosis.tests import breusch_godfrey, collinearity, durbin_watson, reset


def _tables():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    y = X @ [1.0, -1.0, 0.5] + 0.3 * X[:, 0] ** 2 + rng.normal(size=80)
    Xs, ys, _ = datasets.load("stackloss")
    return [(X, y), (np.asarray(Xs, float), np.asarray(ys, float))]


@pytest.mark.parametrize("i", [0, 1])
def test_reset_bg_dw_vif_match_statsmodels(i):
    X, y = _tables()[i]
    res = sm.OLS(y, sm.add_constant(X)).fit()
    ours = reset(y, X)
    ref_f, ref_w = linear_reset(res, power=3, use_f=True), linear_reset(res, power=3, use_f=False)
    assert ours.fvalue == pytest.approx(float(ref_f.fvalue), rel=1e-8)
    assert ours.f_pvalue == pytest.approx(float(ref_f.pvalue), rel=1e-8)
    assert ours.chi2 == pytest.approx(float(ref_w.statistic), rel=1e-8)
    lm, lmp, fv, fp = acorr_breusch_godfrey(res, nlags=3, result_object=False)[:4]
    bg = breusch_godfrey(res.resid, X, nlags=3)
    assert (bg.chi2, bg.chi2_pvalue, bg.fvalue, bg.f_pvalue) == pytest.approx((lm, lmp, fv, fp), rel=1e-8)
    default = acorr_breusch_godfrey(res, result_object=False)
    assert breusch_godfrey(res.resid, X).chi2 == pytest.approx(default[0], rel=1e-8)
    assert durbin_watson(res.resid) == pytest.approx(sm_dw(res.resid), rel=1e-12)
    exog = sm.add_constant(X)
    ref_vif = [variance_inflation_factor(exog, j) for j in range(1, exog.shape[1])]
    np.testing.assert_allclose(collinearity(X).vif, ref_vif, rtol=1e-8)


@pytest.mark.parametrize("i", [0, 1])
def test_reset_bg_reuse_the_influence_basis(i):
    """Passing the OLS fit's orthonormal basis (one QR shared by the checks) gives statsmodels' values too."""
    from l2kit.diagnosis.influence import influence

    X, y = _tables()[i]
    res = sm.OLS(y, sm.add_constant(X)).fit()
    Q = influence(X, y).basis
    r = reset(y, X, basis=Q)
    assert r.fvalue == pytest.approx(float(linear_reset(res, power=3, use_f=True).fvalue), rel=1e-8)
    assert (r.df_num, r.df_denom) == (2, y.size - X.shape[1] - 3)
    fv = acorr_breusch_godfrey(res, nlags=3, result_object=False)[2]
    assert breusch_godfrey(res.resid, X, nlags=3, basis=Q).fvalue == pytest.approx(fv, rel=1e-8)


def test_reset_when_the_powers_add_nothing():
    """A binary feature: the squared and cubed fitted values lie in the span of [1, x], so RESET has no
    degrees of freedom and says so (NaN), as a pivoted QR of the augmented design does; with a second
    feature the powers add two columns."""
    rng = np.random.default_rng(3)
    x = (rng.random(50) < 0.5).astype(float)
    y = 2.0 * x + rng.normal(size=50)
    r = reset(y, x[:, None])
    assert r.df_num == 0 and np.isnan(r.fvalue)
    X = np.c_[x, rng.normal(size=50)]
    assert reset(y, X).df_num == 2


def test_vif_on_longley_and_a_duplicated_column():
    X, y, _ = datasets.load("longley")
    X = np.asarray(X, float)
    exog = sm.add_constant(X)
    ref = [variance_inflation_factor(exog, j) for j in range(1, exog.shape[1])]
    c = collinearity(X)
    np.testing.assert_allclose(c.vif, ref, rtol=1e-8)
    assert c.condition_number > 30 and c.vif.max() > 1000
    assert np.isinf(collinearity(np.c_[X[:, :2], X[:, 0]]).vif).sum() == 2


def test_holm_adjusts_only_the_family():
    c = {k: Check(k, 0.0, p, "pass", "") for k, p in (("a", 0.01), ("b", 0.04), ("c", 0.03))}
    c["d"] = Check("d", 0.0, float("nan"), "info", "")
    out = holm(c, 0.05)
    assert [out[k].p_adjusted for k in "acb"] == pytest.approx([0.03, 0.06, 0.06])
    assert [out[k].verdict for k in "abcd"] == ["reject", "pass", "pass", "info"]
    fam = holm(c, 0.05, family=("a", "b"))
    assert fam["b"].verdict == "reject" and fam["c"].verdict == "pass" and np.isnan(fam["c"].p_adjusted)


def test_monte_carlo_null_is_exact_at_small_n_and_large_p():
    # n = 15, k = 6: every p-value is uniform under Gaussian errors (KS test over 300 datasets)
    from scipy import stats

    rng = np.random.default_rng(1)
    X = np.c_[np.ones(15), rng.normal(size=(15, 5))]
    Q = np.linalg.qr(X)[0]
    h = np.sum(Q ** 2, axis=1)
    ps = {k: [] for k in ("p_jb", "p_kurtosis", "p_outlying", "p_skew")}
    for s in range(300):
        e = rng.normal(size=15)
        e = e - Q @ (Q.T @ e)
        r = residual_shape(e, h, NullSampler(Q, seed=s, B=199))
        for k in ps:
            ps[k].append(r[k])
    for k, v in ps.items():
        assert stats.kstest(v, "uniform").pvalue > 0.001, k
        assert np.mean(np.asarray(v) < 0.05) < 0.05 + 3 * np.sqrt(0.05 * 0.95 / 300), k


def test_mc_p_values_are_deterministic_and_have_power():
    rng = np.random.default_rng(2)
    X = np.c_[np.ones(60), rng.normal(size=(60, 2))]
    Q = np.linalg.qr(X)[0]
    h = np.sum(Q ** 2, axis=1)
    e = rng.standard_t(2, size=60)
    e[7] += 30
    e = e - Q @ (Q.T @ e)
    a = residual_shape(e, h, NullSampler(Q, seed=3))
    b = residual_shape(e, h, NullSampler(Q, seed=3))
    assert a["p_outlying"] == b["p_outlying"] and a["p_outlying"] < 0.01 and a["p_kurtosis"] < 0.01


def test_robust_outlier_bound_uses_df_and_leverage():
    r = np.r_[np.linspace(-1.5, 1.5, 29), 8.0]
    rows, cut, p = robust_outliers(r, 1.0, np.full(30, 0.1))
    assert rows.tolist() == [29] and p < 0.05
    from scipy import stats

    assert cut == pytest.approx(stats.t.isf(0.05 / 60, 9))
    # a residual the robust fit leaves alone varies as a prediction error, sigma^2 (1 + h): the same residual at
    # leverage 0.9 is less surprising (z = 8 / sqrt(1.9) instead of 8 / sqrt(1.1))
    h = np.full(30, 0.1)
    h[29] = 0.9
    p_high = robust_outliers(r, 1.0, h)[2]
    k = h.sum()   # the rank the scale correction sqrt(n / (n - 1.5 k)) uses
    z = 8.0 / np.sqrt(1.9) / np.sqrt(30 / (30 - 1.5 * k))
    assert p < p_high == pytest.approx(min(1.0, 60 * stats.t.sf(z, (30 - k) / 3)))


def test_heteroscedastic_null_is_exact_given_the_standard_deviations():
    # errors with known SDs: the standardised residuals' p-values against the heteroscedastic null are uniform,
    # while the homoscedastic null rejects heavy tails far above the level (the scale mixture)
    from scipy import stats

    rng = np.random.default_rng(4)
    n = 40
    x = rng.uniform(0.0, 3.0, size=n)
    X = np.c_[np.ones(n), x]
    Q = np.linalg.qr(X)[0]
    h = np.sum(Q ** 2, axis=1)
    sd = np.exp(x)
    het, hom = [], []
    for s in range(300):
        e = sd * rng.normal(size=n)
        e = e - Q @ (Q.T @ e)
        het.append(residual_shape(e / sd, h, NullSampler(Q, seed=s, B=199, sd=sd))["p_kurtosis"])
        hom.append(residual_shape(e, h, NullSampler(Q, seed=s, B=199))["p_kurtosis"])
    assert stats.kstest(het, "uniform").pvalue > 0.001
    assert np.mean(np.asarray(hom) < 0.05) > 0.3


def test_heteroscedastic_draws_are_the_standardised_ols_residuals():
    rng = np.random.default_rng(5)
    Q = np.linalg.qr(np.c_[np.ones(12), rng.normal(size=12)])[0]
    sd = rng.uniform(0.5, 2.0, size=12)
    z = np.random.default_rng([7, 17]).standard_normal((12, 5))
    want = (sd[:, None] * z - Q @ (Q.T @ (sd[:, None] * z))) / sd[:, None]
    got = next(iter(NullSampler(Q, seed=7, B=5, sd=sd).draws()))
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_variance_function_recovers_a_log_linear_variance():
    from l2kit.diagnosis.assess import variance_sd

    rng = np.random.default_rng(6)
    x = rng.uniform(0.0, 2.0, size=(4000, 1))
    sd = variance_sd(1.5 * np.exp(0.8 * x[:, 0]) * rng.normal(size=4000), x)
    slope = np.polyfit(x[:, 0], np.log(sd), 1)[0]
    assert abs(slope - 0.8) < 0.08          # standard error of the Gamma-GLM slope here is ~0.04
    assert variance_sd(np.zeros(10), x[:10]) is None


def test_outlier_check_rows_from_the_ols_side_and_none_when_the_mad_is_zero():
    from types import SimpleNamespace

    from l2kit.diagnosis.assess import outlier_check

    h = np.full(8, 0.25)
    shape = {"p_outlying": 0.01, "outlying": 9.0, "null_outlying": np.linspace(1.0, 3.0, 101)}

    def flagged(resid):
        inf = SimpleNamespace(resid=resid, leverage=h, leverage_cutoff=0.5)
        return outlier_check(inf, shape, None, 0.05).detail

    d = flagged(np.array([0.1, -0.2, 0.15, -0.1, 0.2, -0.15, 0.1, 5.0]))
    assert d["rows"].tolist() == [7] and np.isfinite(d["z_ols"]).all()
    # most residuals exactly zero (a perfect fit but one row): the MAD is 0, and no row is flagged by OLS
    d = flagged(np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 5.0]))
    assert d["rows"].size == 0 and np.array_equal(d["z_ols"], np.zeros(8))
