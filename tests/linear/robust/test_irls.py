"""Robust regression by IRLS against statsmodels RLM, plus weights, scale options and honest convergence."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import l2kit as l2
from l2kit import InputError, Status

sm = pytest.importorskip("statsmodels.api")


@pytest.fixture(scope="module")
def stackloss():
    d = sm.datasets.stackloss.load_pandas()
    return d.exog.values.astype(float), d.endog.values.astype(float)


NORMS = [("huber", lambda: sm.robust.norms.HuberT(1.345), lambda: l2.Huber(delta=1.345)),
         ("tukey", lambda: sm.robust.norms.TukeyBiweight(4.685), lambda: l2.Tukey(c=4.685))]


@pytest.mark.parametrize("name,norm,loss", NORMS)
@pytest.mark.parametrize("scale", ["mad", "huber"])
def test_matches_statsmodels_rlm_on_stackloss(stackloss, name, norm, loss, scale):
    X, y = stackloss
    kw = {} if scale == "mad" else {"scale_est": sm.robust.scale.HuberScale(tol=1e-13, maxiter=1000)}
    ref = sm.RLM(y, sm.add_constant(X), M=norm()).fit(tol=1e-13, maxiter=1000, **kw)
    f = l2.fit(X, y, loss=loss(), scale=scale)
    assert f.converged and f.status is Status.SUCCESS and "converged" in f.message
    np.testing.assert_allclose(f.params, ref.params, atol=1e-5, rtol=0)
    np.testing.assert_allclose(f.bse, ref.bse, atol=1e-5, rtol=0)
    assert f.scale == pytest.approx(ref.scale, abs=1e-5)
    # statsmodels' default tolerance stops a little early; still equal to 1e-5
    ref_default = sm.RLM(y, sm.add_constant(X), M=norm()).fit(**kw)
    np.testing.assert_allclose(f.params, ref_default.params, atol=1e-5 * 10)


@pytest.mark.parametrize("cov_type", ["H1", "H2", "H3"])
def test_covariance_types_match_statsmodels(stackloss, cov_type):
    X, y = stackloss
    ref = sm.RLM(y, sm.add_constant(X), M=sm.robust.norms.HuberT()).fit(tol=1e-13, maxiter=1000, cov=cov_type)
    f = l2.fit(X, y, loss=l2.Huber(delta=1.345), cov_type=cov_type)
    np.testing.assert_allclose(f.bse, ref.bse, atol=1e-7)
    np.testing.assert_allclose(f.cov_params, ref.cov_params(), atol=1e-7)


def test_fixed_scale_and_update_scale(stackloss):
    X, y = stackloss
    ref = sm.RLM(y, sm.add_constant(X), M=sm.robust.norms.HuberT()).fit(
        tol=1e-13, maxiter=1000, start_scale=2.5, update_scale=False)
    f = l2.fit(X, y, loss=l2.Huber(delta=1.345), scale=2.5)
    np.testing.assert_allclose(f.params, ref.params, atol=1e-7)
    assert f.scale == 2.5 and f.extra["scale_estimator"] == "fixed"


def test_newton_and_irls_reach_the_same_fixed_point(stackloss):
    X, y = stackloss
    a = l2.fit(X, y, loss=l2.Huber(delta=1.345), method="irls")
    b = l2.fit(X, y, loss=l2.Huber(delta=1.345), method="newton")
    np.testing.assert_allclose(a.params, b.params, atol=1e-8)
    np.testing.assert_allclose(a.bse, b.bse, atol=1e-8)


def test_iteration_limit_is_reported(stackloss):
    X, y = stackloss
    f = l2.fit(X, y, loss=l2.Tukey(), max_iter=2, start="ols")
    assert not f.converged
    assert f.status is Status.MAX_ITER and "max_iter=2" in f.message and "not converged" in f.message
    assert f.n_iter == 2


def test_redescending_start_is_robust():
    """40 % one-sided outliers: from OLS (statsmodels' start) Tukey lands in a bad local minimum; l2kit does not."""
    rng = np.random.default_rng(0)
    n = 200
    X = rng.normal(size=(n, 1))
    y = 1 + 2 * X[:, 0] + rng.normal(size=n)
    y[:80] += rng.uniform(5, 40, 80)
    ref = sm.RLM(y, sm.add_constant(X), M=sm.robust.norms.TukeyBiweight()).fit()
    f = l2.fit(X, y, loss=l2.Tukey())
    assert f.extra["start"] == "l1"
    assert abs(ref.params[0] - 1) > 3                 # statsmodels: wrong basin
    assert abs(f.intercept - 1) < 0.5 and abs(f.coef[0] - 2) < 0.3
    assert l2.fit(X, y, loss=l2.Cauchy()).converged


def _data(seed, n=60, p=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    y = 0.5 + X @ np.arange(1, p + 1) + rng.standard_t(2, size=n)
    return X, y


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), loss_i=st.sampled_from([0, 1, 2]), scale=st.sampled_from(["mad", "huber"]))
def test_integer_weights_equal_repeated_rows(seed, loss_i, scale):
    X, y = _data(seed)
    w = np.random.default_rng(seed + 1).integers(0, 4, size=y.size)
    w[0] = 1
    loss = [l2.Huber(delta=1.345), l2.Tukey(), l2.Cauchy()][loss_i]
    rep = np.repeat(np.arange(y.size), w)
    a = l2.fit(X, y, loss=loss, weights=w.astype(float), scale=scale, tol=1e-12)
    b = l2.fit(X[rep], y[rep], loss=loss, scale=scale, tol=1e-12)
    np.testing.assert_allclose(a.params, b.params, atol=1e-7)
    np.testing.assert_allclose(a.bse, b.bse, atol=1e-7)
    assert a.scale == pytest.approx(b.scale, abs=1e-8)


def test_ones_equal_no_weights_and_scale_invariance():
    X, y = _data(3)
    a = l2.fit(X, y, loss=l2.Huber(delta=1.345), weights=np.ones(y.size))
    b = l2.fit(X, y, loss=l2.Huber(delta=1.345))
    c = l2.fit(X, y, loss=l2.Huber(delta=1.345), weights=np.full(y.size, 3.7))
    np.testing.assert_allclose(a.params, b.params, atol=1e-10)
    np.testing.assert_allclose(c.params, b.params, atol=1e-9)
    d = l2.fit(X, 10 * y, loss=l2.Huber(delta=1.345))        # equivariance in y
    np.testing.assert_allclose(d.params, 10 * b.params, rtol=1e-8, atol=1e-8)


def test_large_means_are_centred():
    X, y = _data(5)
    a = l2.fit(X, y, loss=l2.Huber(delta=1.345))
    b = l2.fit(X + 1e6, y, loss=l2.Huber(delta=1.345))
    np.testing.assert_allclose(b.coef, a.coef, atol=1e-7)
    np.testing.assert_allclose(b.stderr, a.stderr, rtol=1e-6)


def test_bad_options(stackloss):
    X, y = stackloss
    with pytest.raises(InputError, match="scale"):
        l2.fit(X, y, loss=l2.Huber(), scale=-1.0)
    with pytest.raises(InputError, match="scale"):
        l2.fit(X, y, loss=l2.Huber(), scale="iqr")
    with pytest.raises(InputError, match="nonsense"):
        l2.fit(X, y, loss=l2.Huber(), nonsense=1)
    with pytest.raises(InputError, match="l1_ratio"):   # a ridge penalty only (issue 20)
        l2.fit(X, y, loss=l2.Huber(), alpha=0.1, l1_ratio=1.0)
    with pytest.raises(InputError, match="cov_type"):
        l2.fit(X, y, loss=l2.Huber(), cov_type="HC9")
    with pytest.raises(InputError, match="start"):
        l2.fit(X, y, loss=l2.Huber(), start=np.zeros(2))


def test_summary_and_predict(stackloss):
    X, y = stackloss
    f = l2.fit(X, y, loss="huber")
    assert "irls" in f.summary()
    np.testing.assert_allclose(f.predict(X), y - f.residuals)
    assert f.extra["weights"].shape == y.shape


def test_rank_deficient_design_is_reported():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 2))
    X = np.column_stack([X, X[:, 0]])
    y = X[:, 0] + rng.normal(size=100)
    f = l2.fit(X, y, loss=l2.Huber(delta=1.345))
    assert f.rank == 3 and f.stderr is None and f.status is Status.RANK_DEFICIENT and "rank deficient" in f.message
    ref = l2.fit(X[:, :2], y, loss=l2.Huber(delta=1.345))
    np.testing.assert_allclose(f.predict(X), ref.predict(X[:, :2]), atol=1e-6)
