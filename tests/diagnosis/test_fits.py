"""Candidate construction and reading count-model parameters off a Fit."""

import numpy as np
import pytest

import l2kit as l2
from l2kit.diagnosis._fits import build_candidates, count_parts, kind_of
from l2kit.linear import Fit, Status


def _fit(loss, coef, intercept, extra=None, link="log"):
    coef = np.asarray(coef, float)
    return Fit(coef=coef, intercept=intercept, stderr=None, intercept_stderr=None, cov_params=None, rank=coef.size,
               scale=1.0, loglike=None, status=Status.SUCCESS, message="test", n_iter=1, residuals=None, n_obs=10,
               df_resid=8.0, loss=loss, method="test", link=link, extra=extra or {})


def test_candidates_are_registry_losses():
    losses = build_candidates("continuous")
    assert list(losses) == ["squared", "huber", "tukey", "absolute"]
    assert list(build_candidates("positive"))[-1] == "gamma" and list(build_candidates("binary"))[-1] == "binomial"
    assert losses["huber"] == l2.get_loss("huber", delta=1.345)
    assert losses["tukey"] == l2.get_loss("tukey", c=4.685)
    losses = build_candidates("counts")
    assert list(losses)[-3:] == ["poisson", "negative_binomial", "zinb"]
    assert kind_of(_fit(losses["zinb"], [0.0], 0.0)) == "zinb"


def test_count_parts_poisson_nb_zinb():
    X = np.array([[0.0], [1.0], [2.0]])
    mu = np.exp(0.5 + 0.25 * X[:, 0])
    f = _fit(l2.PoissonNLL(), [0.25], 0.5)
    got_mu, theta, pi = count_parts(f, X)
    np.testing.assert_allclose(got_mu, mu, rtol=1e-14)
    assert theta is None and pi is None
    f = _fit(l2.NegativeBinomialNLL(), [0.25], 0.5, extra={"theta": 2.5})
    assert count_parts(f, X)[1] == 2.5
    f = _fit(l2.NegativeBinomialNLL(theta=3.0), [0.25], 0.5)   # theta carried by the fitted loss
    assert count_parts(f, X)[1] == 3.0
    f = _fit(l2.ZINB(theta=2.0, pi_logit=-1.0), [0.25], 0.5)
    _, theta, pi = count_parts(f, X)
    assert theta == 2.0 and pi == pytest.approx(1 / (1 + np.e))
    assert count_parts(_fit(l2.Squared(), [0.25], 0.5, link="identity"), X) is None


def test_count_parts_reads_the_estimated_inflation_not_the_loss_default():
    X = np.array([[0.0], [1.0]])
    f = _fit(l2.ZINB(), [0.1], 0.2, extra={"theta": 1.5, "inflation_coef": np.array([-1.2]),
                                          "inflation_names": ("intercept",)})
    mu, theta, pi = count_parts(f, X)
    assert theta == 1.5 and pi == pytest.approx(1 / (1 + np.exp(1.2)))
    from l2kit.diagnosis._fits import point_prediction

    np.testing.assert_allclose(point_prediction(f, X), (1 - pi) * np.exp(0.2 + 0.1 * X[:, 0]))
    f = _fit(l2.ZINB(), [0.1], 0.2, extra={"theta": 1.5, "inflation_coef": np.array([-1.2, 0.3])})
    assert count_parts(f, X) is None   # per-row inflation needs a design diagnose does not have


def test_zinb_fit_by_l2kit_round_trips_through_count_parts():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(800, 1))
    mu = np.exp(1.0 + 0.4 * X[:, 0])
    y = rng.negative_binomial(2.0, 2.0 / (2.0 + mu)).astype(float)
    y[rng.uniform(size=800) < 0.3] = 0
    f = l2.fit(X, y, loss=l2.ZINB())
    _, theta, pi = count_parts(f, X)
    gamma = float(np.asarray(f.extra["inflation_coef"])[0])
    assert pi == pytest.approx(1 / (1 + np.exp(-gamma)))
    assert 0.15 < pi < 0.45 and 1.0 < theta < 4.0
