"""Count regression (Poisson, NB with theta, ZINB) against statsmodels on randhie and simulated data."""

import warnings

import numpy as np
import pytest

import l2kit as l2
from l2kit import InputError, Status

sm = pytest.importorskip("statsmodels.api")


@pytest.fixture(scope="module")
def randhie():
    d = sm.datasets.randhie.load_pandas()
    return d.exog.values.astype(float), d.endog.values.astype(float)


def test_poisson_matches_statsmodels(randhie):
    X, y = randhie
    ref = sm.GLM(y, sm.add_constant(X), family=sm.families.Poisson()).fit(tol=1e-12)
    f = l2.fit(X, y, loss=l2.PoissonNLL())
    assert f.converged and f.link == "log"
    assert f.loglike == pytest.approx(ref.llf, abs=1e-6)
    np.testing.assert_allclose(f.params, ref.params, atol=1e-7)
    np.testing.assert_allclose(f.bse, ref.bse, rtol=1e-6)
    assert f.extra["pearson_dispersion"] == pytest.approx(ref.pearson_chi2 / ref.df_resid, rel=1e-6)


def test_negative_binomial_reaches_statsmodels_converged_optimum(randhie):
    X, y = randhie
    model = sm.NegativeBinomial(y, sm.add_constant(X))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        default = model.fit(disp=0)                       # statsmodels' defaults stop early here
        ref = model.fit(method="newton", maxiter=300, disp=0)
    assert not default.mle_retvals["converged"] and ref.mle_retvals["converged"]
    f = l2.fit(X, y, loss=l2.NegativeBinomialNLL())
    assert f.converged
    assert f.loglike == pytest.approx(ref.llf, abs=1e-5)
    assert f.loglike >= default.llf
    np.testing.assert_allclose(f.params, ref.params[:-1], atol=1e-6)
    np.testing.assert_allclose(f.bse, ref.bse[:-1], rtol=1e-5)
    assert f.extra["alpha"] == pytest.approx(ref.params[-1], rel=1e-6)
    assert f.extra["alpha_stderr"] == pytest.approx(ref.bse[-1], rel=1e-5)
    assert f.extra["theta"] == pytest.approx(1 / ref.params[-1], rel=1e-6)
    # the reported loglike is the loss itself, summed
    mu = f.predict(X)
    assert -float(l2.NegativeBinomialNLL(theta=f.extra["theta"])(y, mu, reduction="sum")) == pytest.approx(f.loglike)


def test_zinb_on_randhie_reaches_the_boundary(randhie):
    """On randhie the ZINB MLE has no zero inflation (pi -> 0): its loglike equals the NB optimum."""
    X, y = randhie
    with pytest.warns(l2.BoundaryWarning, match="NegativeBinomialNLL"):
        f = l2.fit(X, y, loss=l2.ZINB())
    nb = l2.fit(X, y, loss=l2.NegativeBinomialNLL())
    assert f.status is Status.BOUNDARY and not f.converged
    assert "zero-inflation probability went to 0" in f.message and "NegativeBinomialNLL" in f.message
    assert f.loglike == pytest.approx(nb.loglike, abs=1e-5)
    assert f.extra["inflation_coef"][0] < -15
    m = sm.ZeroInflatedNegativeBinomialP(y, sm.add_constant(X), exog_infl=np.ones((y.size, 1)), p=2)
    # statsmodels' own log-likelihood at our estimate agrees (an independent evaluation of the value)
    params = np.concatenate([f.extra["inflation_coef"], f.params, [f.extra["alpha"]]])
    assert m.loglike(params) == pytest.approx(f.loglike, abs=1e-6)


def _zinb_data(seed=1, n=3000):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    mu = np.exp(0.5 + X @ [0.4, -0.3])
    y = rng.negative_binomial(2.0, 2.0 / (2.0 + mu)).astype(float)
    Z = rng.normal(size=(n, 1))
    y[rng.uniform(size=n) < 1 / (1 + np.exp(-(-1.0 + 0.8 * Z[:, 0])))] = 0
    return X, y, Z


@pytest.mark.parametrize("own_design", [False, True])
def test_zinb_matches_statsmodels(own_design):
    X, y, Z = _zinb_data()
    Zi = sm.add_constant(Z) if own_design else np.ones((y.size, 1))
    m = sm.ZeroInflatedNegativeBinomialP(y, sm.add_constant(X), exog_infl=Zi, p=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = m.fit(method="bfgs", maxiter=2000, disp=0)
        ref = m.fit(start_params=r.params, method="newton", maxiter=100, disp=0)
    assert ref.mle_retvals["converged"]
    f = l2.fit(X, y, loss=l2.ZINB(), **({"inflation_X": Z} if own_design else {}))
    q = Zi.shape[1]
    assert f.converged
    assert f.loglike == pytest.approx(ref.llf, abs=1e-6)
    np.testing.assert_allclose(f.params, ref.params[q:-1], atol=1e-6)
    np.testing.assert_allclose(f.bse, ref.bse[q:-1], rtol=1e-5)
    np.testing.assert_allclose(f.extra["inflation_coef"], ref.params[:q], atol=1e-6)
    np.testing.assert_allclose(f.extra["inflation_stderr"], ref.bse[:q], rtol=1e-5)
    assert f.extra["alpha"] == pytest.approx(ref.params[-1], rel=1e-6)


def test_integer_weights_equal_repeated_rows_and_offset():
    X, y, _ = _zinb_data(2, n=400)
    w = np.random.default_rng(3).integers(0, 3, size=y.size)
    rep = np.repeat(np.arange(y.size), w)
    for loss in (l2.PoissonNLL(), l2.NegativeBinomialNLL(), l2.ZINB()):
        a = l2.fit(X, y, loss=loss, weights=w.astype(float))
        b = l2.fit(X[rep], y[rep], loss=loss)
        np.testing.assert_allclose(a.params, b.params, atol=1e-6)
        np.testing.assert_allclose(a.bse, b.bse, rtol=1e-5)
        assert a.loglike == pytest.approx(b.loglike, abs=1e-6)
    off = np.log(np.random.default_rng(4).uniform(0.5, 2, size=y.size))
    f = l2.fit(X, y, loss=l2.PoissonNLL(), offset=off)
    ref = sm.GLM(y, sm.add_constant(X), family=sm.families.Poisson(), offset=off).fit(tol=1e-12)
    np.testing.assert_allclose(f.params, ref.params, atol=1e-7)


def test_fixed_theta_and_iteration_limit():
    X, y, _ = _zinb_data(5, n=500)
    f = l2.fit(X, y, loss=l2.NegativeBinomialNLL(theta=3.0), estimate_theta=False)
    ref = sm.GLM(y, sm.add_constant(X), family=sm.families.NegativeBinomial(alpha=1 / 3.0)).fit(tol=1e-12)
    np.testing.assert_allclose(f.params, ref.params, atol=1e-7)
    assert f.loglike == pytest.approx(ref.llf, abs=1e-6)
    g = l2.fit(X, y, loss=l2.NegativeBinomialNLL(), max_iter=1)
    assert g.status is Status.MAX_ITER and not g.converged and "max_iter=1" in g.message


def test_bad_counts():
    X = np.arange(6.0).reshape(-1, 1)
    with pytest.raises(InputError, match="non-negative counts"):
        l2.fit(X, np.array([1.0, 2, -1, 0, 3, 1]), loss=l2.PoissonNLL())
    with pytest.raises(InputError, match="integer counts"):
        l2.fit(X, np.array([1.0, 2, 1.5, 0, 3, 1]), loss=l2.NegativeBinomialNLL())
    assert l2.fit(X, np.array([1.0, 2, 1.5, 0, 3, 1]), loss=l2.PoissonNLL(allow_fractional=True)).converged
    with pytest.raises(InputError, match="offset"):
        l2.fit(X, np.arange(6.0), loss=l2.PoissonNLL(), offset=np.zeros(3))
    with pytest.raises(InputError, match="inflation_X"):
        l2.fit(X, np.arange(6.0), loss=l2.ZINB(), inflation_X=np.zeros((3, 1)))


def test_torch_input_round_trips():
    torch = pytest.importorskip("torch")
    X, y, _ = _zinb_data(6, n=300)
    f = l2.fit(torch.tensor(X), torch.tensor(y), loss=l2.PoissonNLL())
    g = l2.fit(X, y, loss=l2.PoissonNLL())
    np.testing.assert_allclose(f.params, g.params)
    pred = f.predict(torch.tensor(X))
    assert isinstance(pred, torch.Tensor)
    np.testing.assert_allclose(pred.numpy(), np.exp(g.intercept + X @ g.coef))
