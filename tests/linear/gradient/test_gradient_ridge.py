r"""The ridge penalty of the generic gradient solver, against independent references.

The penalised objective is :math:`c\,\frac{1}{\sum w}\sum_i w_i\ell_i + \frac{\alpha}{2}\|\beta\|^2` (intercept
free) with :math:`c` the likelihood factor (GaussianNLL, Focal(gamma=0): the mean NLL, as the penalised GLM) or
:math:`1/\ell''` at a perfect prediction (HeatmapMSE: 1/2, so glmnet's ridge; LogCosh, Cauchy: 1, as the IRLS
ridge at scale 1); references: scikit-learn's Ridge and LogisticRegression, and scipy.optimize.minimize of the
objective written out here with its own gradient.
"""

import numpy as np
import pytest
from scipy import optimize

import l2kit as l2
from l2kit import InputError

sklearn = pytest.importorskip("sklearn.linear_model")


def _data(seed, n=120, p=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * np.array([1.0, 4.0, 0.3])[:p]
    w = rng.uniform(0.3, 2.5, n)
    return rng, X, w


@pytest.mark.parametrize("method", ["trust", "lbfgs"])
@pytest.mark.parametrize("seed", [0, 1])
def test_heatmap_mse_ridge_is_sklearn_ridge(seed, method):
    # (y - yhat)^2 = 2 (r^2 / 2): c = 1/2, so alpha is glmnet's (Ridge(alpha * sum w) with sample weights)
    rng, X, w = _data(seed)
    y = 1.0 + X @ [0.5, -0.2, 2.0] + rng.standard_t(3, size=X.shape[0])
    for alpha in (0.01, 0.5):
        f = l2.fit(X, y, loss="heatmap_mse", alpha=alpha, weights=w, method=method, tol=1e-12, max_iter=2000)
        ref = sklearn.Ridge(alpha=alpha * w.sum(), tol=1e-14).fit(X, y, sample_weight=w)
        assert f.converged and f.alpha == alpha
        np.testing.assert_allclose(f.coef, ref.coef_, rtol=1e-7, atol=1e-9)
        assert f.intercept == pytest.approx(ref.intercept_, rel=1e-7, abs=1e-9)
        # the same penalty as the least-squares ridge of l2kit itself
        np.testing.assert_allclose(f.coef, l2.fit(X, y, alpha=alpha, weights=w).coef, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("seed", [0, 1])
def test_focal_gamma0_ridge_is_sklearn_logistic_regression(seed):
    # Focal(gamma=0, alpha=None) on 0/1 labels is the Bernoulli NLL (factor 1): the mean NLL + alpha/2 |beta|^2
    # is LogisticRegression(C = 1 / (alpha sum w)) with sample weights
    rng, X, w = _data(seed)
    y = (rng.uniform(size=X.shape[0]) < 1 / (1 + np.exp(-(0.3 + X @ [1.0, 0.3, -1.0])))).astype(float)
    f = l2.fit(X, y, loss=l2.Focal(gamma=0.0, alpha=None), alpha=0.05, weights=w, tol=1e-12)
    ref = sklearn.LogisticRegression(C=1 / (0.05 * w.sum()), tol=1e-13, max_iter=100_000).fit(X, y, sample_weight=w)
    assert f.converged
    np.testing.assert_allclose(f.coef, ref.coef_[0], rtol=1e-6, atol=1e-8)
    assert f.intercept == pytest.approx(ref.intercept_[0], rel=1e-6, abs=1e-8)


def _logcosh(r):
    return np.logaddexp(r, -r) - np.log(2.0), np.tanh(r)


def _cauchy(r, c=2.3849):
    return 0.5 * c * c * np.log1p((r / c) ** 2), r / (1 + (r / c) ** 2)


def _minimise_reference(X, y, w, alpha, kernel):
    """argmin mean_w(loss) + alpha/2 |slopes|^2 by scipy's BFGS on the raw coefficients (intercept first)."""
    Xa = np.column_stack([np.ones(len(y)), X])

    def f(b):
        v, dv = kernel(y - Xa @ b)
        pen = np.r_[0.0, b[1:]]
        return w @ v / w.sum() + 0.5 * alpha * pen @ pen, -Xa.T @ (w * dv) / w.sum() + alpha * pen

    b0 = np.linalg.lstsq(Xa, y, rcond=None)[0]
    res = optimize.minimize(f, b0, jac=True, method="BFGS", options={"gtol": 1e-12, "maxiter": 10_000})
    assert np.max(np.abs(res.jac)) < 1e-9
    return res.x


@pytest.mark.parametrize(("loss", "kernel", "method"), [("log_cosh", _logcosh, "trust"),
                                                        ("log_cosh", _logcosh, "lbfgs"),
                                                        ("cauchy", _cauchy, "trust")])
def test_robust_loss_ridge_equals_scipy_minimize(loss, kernel, method):
    rng, X, w = _data(3)
    y = 1.0 + X @ [0.5, -0.2, 2.0] + rng.standard_t(2, size=X.shape[0])
    for alpha in (0.02, 0.7):
        f = l2.fit(X, y, loss=loss, alpha=alpha, weights=w, method=method, tol=1e-12, max_iter=5000)
        ref = _minimise_reference(X, y, w, alpha, kernel)
        assert f.converged and f.stderr is None and "no standard errors" in f.message
        np.testing.assert_allclose(np.r_[f.intercept, f.coef], ref, rtol=1e-6, atol=1e-8)


def test_logcosh_ridge_equals_the_irls_ridge_at_unit_scale():
    # the IRLS ridge (1/sum c) sum c s^2 rho(r/s)/rho''(0) + alpha/2 |beta|^2 at a fixed scale s = 1
    rng, X, w = _data(4)
    y = X @ [1.0, 0.1, -1.0] + rng.normal(size=X.shape[0])
    g = l2.fit(X, y, loss="log_cosh", alpha=0.3, weights=w, method="trust", tol=1e-12)
    r = l2.fit(X, y, loss="log_cosh", alpha=0.3, weights=w, scale=1.0, tol=1e-12)
    np.testing.assert_allclose(g.coef, r.coef, rtol=1e-6)


def test_gaussian_nll_and_mahalanobis_ridge_equal_scipy_minimize():
    rng, X, w = _data(5)
    n = X.shape[0]
    var = rng.uniform(0.5, 3.0, n)
    y = 0.5 + X @ [1.0, -0.5, 0.2] + rng.normal(size=n) * np.sqrt(var)
    Xa = np.column_stack([np.ones(n), X])
    alpha = 0.2

    def nll(b):   # the mean Gaussian NLL (factor 1) with known variances + the ridge
        r = y - Xa @ b
        pen = np.r_[0.0, b[1:]]
        return (w @ (0.5 * r * r / var) / w.sum() + 0.5 * alpha * pen @ pen,
                -Xa.T @ (w * r / var) / w.sum() + alpha * pen)

    ref = optimize.minimize(nll, np.zeros(4), jac=True, method="BFGS", options={"gtol": 1e-13}).x
    f = l2.fit(X, y, loss="gaussian_nll", loss_kwargs={"var": var}, alpha=alpha, weights=w, tol=1e-12)
    np.testing.assert_allclose(np.r_[f.intercept, f.coef], ref, rtol=1e-6, atol=1e-8)

    # Mahalanobis (two outputs, c = 1): every slope of every output is penalised, the intercept row is free
    P = np.array([[2.0, 0.6], [0.6, 1.0]])
    Y = np.column_stack([y, 1.0 - X @ [0.3, 0.0, 1.0] + rng.normal(size=n)])

    def maha(b):
        B = b.reshape(4, 2)
        R = Y - Xa @ B
        pen = B.copy()
        pen[0] = 0.0
        val = w @ np.einsum("ij,jk,ik->i", R, P, R) / w.sum() + 0.5 * alpha * np.sum(pen * pen)
        return val, (-2 * Xa.T @ (w[:, None] * (R @ P)) / w.sum() + alpha * pen).reshape(-1)

    ref = optimize.minimize(maha, np.zeros(8), jac=True, method="BFGS", options={"gtol": 1e-13}).x.reshape(4, 2)
    f = l2.fit(X, Y, loss=l2.Mahalanobis(precision=P), alpha=alpha, weights=w, tol=1e-12)
    np.testing.assert_allclose(np.vstack([f.intercept, f.coef]), ref, rtol=1e-6, atol=1e-8)


def test_large_penalty_shrinks_slopes_and_leaves_the_intercept_free():
    rng, X, w = _data(6)
    y = 3.0 + X @ [1.0, 0.5, -2.0] + rng.normal(size=X.shape[0])
    f = l2.fit(X, y, loss="log_cosh", method="trust", alpha=1e6, weights=w)
    assert np.max(np.abs(f.coef)) < 1e-4
    # the intercept minimises the weighted mean log-cosh of y - b0 alone
    b0 = optimize.minimize_scalar(lambda b: w @ _logcosh(y - b)[0], bounds=(0, 6), method="bounded",
                                  options={"xatol": 1e-10}).x
    assert f.intercept == pytest.approx(b0, abs=1e-3)


def test_penalty_fits_rank_deficient_designs():
    rng, X, w = _data(7, n=5, p=3)
    X = np.column_stack([X, X[:, 0], X[:, 1] - X[:, 2], rng.normal(size=(5, 3))])   # 8 columns, 5 rows
    y = rng.normal(size=5)
    with pytest.raises(InputError, match="full-rank"):
        l2.fit(X, y, loss="heatmap_mse")
    f = l2.fit(X, y, loss="heatmap_mse", alpha=0.1, tol=1e-12)
    ref = sklearn.Ridge(alpha=0.1 * 5, tol=1e-14).fit(X, y)
    assert f.converged
    np.testing.assert_allclose(f.coef, ref.coef_, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(("loss", "kw"), [("log_cosh", {"method": "trust"}), ("heatmap_mse", {}),
                                          ("gaussian_nll", {"loss_kwargs": {"var": 2.0}}),
                                          (l2.Focal(gamma=2.0), {})])
def test_zero_penalty_is_the_unpenalised_fit_bit_for_bit(loss, kw):
    rng, X, w = _data(8)
    y = X @ [0.3, 0.1, -1.0] + rng.normal(size=X.shape[0])
    if not isinstance(loss, str):
        y = (y > 0).astype(float)
    a = l2.fit(X, y, loss=loss, weights=w, **kw)
    for zero in (0, 0.0, np.float64(0.0)):
        b = l2.fit(X, y, loss=loss, weights=w, alpha=zero, **kw)
        assert np.array_equal(a.params, b.params) and np.array_equal(a.cov_params, b.cov_params)
        assert a.message == b.message and a.n_iter == b.n_iter and b.stderr is not None


@pytest.mark.parametrize(("alpha", "l1_ratio", "match"), [
    (-0.1, 0.0, "non-negative"), (np.nan, 0.0, "non-negative"), (np.inf, 0.0, "non-negative"),
    ("0.1", 0.0, "non-negative"), (True, 0.0, "non-negative"), (0.1, 0.5, "l1_ratio=0"),
])
def test_bad_alpha_is_refused(alpha, l1_ratio, match):
    rng, X, w = _data(9)
    y = rng.normal(size=X.shape[0])
    with pytest.raises(InputError, match=match) as e:
        l2.fit(X, y, loss="heatmap_mse", alpha=alpha, l1_ratio=l1_ratio)
    assert "gradient" in str(e.value)


def test_penalty_is_refused_on_the_sphere_link():
    rng = np.random.default_rng(10)
    X = rng.normal(size=(50, 2))
    Y = np.column_stack([np.ones(50), X[:, 0]])
    Y /= np.linalg.norm(Y, axis=1, keepdims=True)
    with pytest.raises(InputError, match="directions only"):
        l2.fit(X, Y, loss="geodesic", alpha=0.1)


def test_focal_gamma2_ridge_equals_scipy_minimize_with_torch_gradients():
    # not a likelihood: c = 1, the raw mean focal loss (torchvision's sigmoid_focal_loss) + alpha/2 |beta|^2
    torch = pytest.importorskip("torch")
    rng, X, w = _data(11)
    y = (rng.uniform(size=X.shape[0]) < 1 / (1 + np.exp(-(X @ [1.5, 0.2, -2.0])))).astype(float)
    Xa, yt, wt = (torch.as_tensor(a, dtype=torch.float64) for a in (np.column_stack([np.ones(len(y)), X]), y, w))
    alpha = 0.05

    def f(b):
        bt = torch.as_tensor(b, dtype=torch.float64).requires_grad_(True)
        eta = Xa @ bt
        p = torch.sigmoid(eta)
        ce = torch.nn.functional.binary_cross_entropy_with_logits(eta, yt, reduction="none")
        q = yt * (1 - p) + (1 - yt) * p
        loss = (0.25 * yt + 0.75 * (1 - yt)) * q ** 2 * ce
        val = (wt @ loss) / wt.sum() + 0.5 * alpha * (bt[1:] @ bt[1:])
        val.backward()
        return float(val.detach()), bt.grad.numpy().copy()

    ref = optimize.minimize(f, np.zeros(4), jac=True, method="BFGS", options={"gtol": 1e-13}).x
    fit = l2.fit(X, y, loss=l2.Focal(gamma=2.0), alpha=alpha, weights=w, tol=1e-12)
    assert fit.converged
    np.testing.assert_allclose(np.r_[fit.intercept, fit.coef], ref, rtol=1e-6, atol=1e-8)
