"""bias_variance: against closed-form OLS bias and variance, and bias^2 + variance + noise = expected MSE."""

import numpy as np
import pytest

import l2kit as l2
from l2kit import InputError

SIGMA = 0.4
X_TRAIN = np.linspace(-1, 1, 25)
X_TEST = np.linspace(-1.2, 1.2, 15)


def truth(x):
    return 1.0 + 2.0 * x - 1.5 * x ** 2  # a line fit is biased


def sample(rng):
    return X_TRAIN, truth(X_TRAIN) + rng.normal(0, SIGMA, X_TRAIN.size)


def line_fit(x, y):
    A = np.column_stack([np.ones_like(x), x])
    beta = np.linalg.lstsq(A, y, rcond=None)[0]
    return lambda xt: beta[0] + beta[1] * xt


def analytic():
    """Fixed-design OLS: mean prediction H f, variance sigma^2 ||h||^2 (independent closed form)."""
    A = np.column_stack([np.ones_like(X_TRAIN), X_TRAIN])
    At = np.column_stack([np.ones_like(X_TEST), X_TEST])
    H = At @ np.linalg.solve(A.T @ A, A.T)
    bias2 = (H @ truth(X_TRAIN) - truth(X_TEST)) ** 2
    var = SIGMA ** 2 * np.sum(H ** 2, axis=1)
    return bias2.mean(), var.mean()


def sample_y(rng, x):
    return truth(x) + rng.normal(0, SIGMA, len(x))


def test_matches_closed_form_ols():
    bv = l2.bias_variance(line_fit, sample, X_TEST, n_rounds=2000, truth=truth, noise_var=SIGMA ** 2,
                          sample_y=sample_y, rng=1)
    b2, var = analytic()
    assert abs(bv.variance - var) < 4 * bv.variance_se
    assert abs(bv.bias2 - b2) < 4 * bv.bias2_se + 1e-3 * b2
    assert bv.noise == pytest.approx(SIGMA ** 2)
    # the decomposition sums to the directly measured expected squared error, within Monte Carlo error
    assert abs(bv.expected_mse - bv.mse) < 4 * bv.mse_se
    assert bv.expected_mse == pytest.approx(bv.bias2 + bv.variance + bv.noise)
    assert bv.predictions.shape == (2000, X_TEST.size)


def test_unbiased_model_has_no_bias():
    def quad_fit(x, y):
        return np.poly1d(np.polyfit(x, y, 2))

    bv = l2.bias_variance(quad_fit, sample, X_TEST, n_rounds=1000, truth=truth, noise_var=SIGMA ** 2, rng=2)
    assert abs(bv.bias2) < 4 * bv.variance / np.sqrt(1000)
    assert bv.mse is None


def test_estimated_truth_and_noise_from_sampler():
    bv = l2.bias_variance(line_fit, sample, X_TEST, n_rounds=1000, sample_y=sample_y, n_noise=2000, rng=3)
    b2, var = analytic()
    assert bv.noise == pytest.approx(SIGMA ** 2, rel=0.1)
    assert bv.bias2 == pytest.approx(b2, rel=0.1)
    assert bv.variance == pytest.approx(var, rel=0.1)
    assert abs(bv.expected_mse - bv.mse) < 4 * bv.mse_se + 0.02 * bv.mse


def test_works_with_l2_fit_and_sklearn_objects():
    pytest.importorskip("sklearn")
    from sklearn.linear_model import LinearRegression

    def sample2(rng):
        return X_TRAIN[:, None], truth(X_TRAIN) + rng.normal(0, SIGMA, X_TRAIN.size)

    bv = l2.bias_variance(lambda X, y: LinearRegression().fit(X, y), sample2, X_TEST[:, None], n_rounds=50,
                          truth=truth(X_TEST), noise_var=SIGMA ** 2, rng=4)
    b2, var = analytic()
    assert bv.bias2 == pytest.approx(b2, rel=0.2)


def test_validation():
    with pytest.raises(InputError, match="truth"):
        l2.bias_variance(line_fit, sample, X_TEST)
    with pytest.raises(InputError, match="n_rounds"):
        l2.bias_variance(line_fit, sample, X_TEST, n_rounds=1, truth=truth, noise_var=1.0)
    with pytest.raises(InputError, match="noise_var"):
        l2.bias_variance(line_fit, sample, X_TEST, truth=truth, noise_var=-1.0)
    with pytest.raises(InputError, match="truth"):
        l2.bias_variance(line_fit, sample, X_TEST, truth=np.ones(3), noise_var=1.0)
    with pytest.raises(InputError, match="fit"):
        l2.bias_variance(lambda x, y: 3, sample, X_TEST, truth=truth, noise_var=1.0)
