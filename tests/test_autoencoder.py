"""LinearAutoencoder: closed form = PCA (SVD / scikit-learn); the tied gradient path reaches the same error."""

import numpy as np
import pytest

import l2kit as l2
from l2kit import InputError


@pytest.fixture
def data(rng):
    Z = rng.normal(size=(300, 3)) * np.array([5.0, 3.0, 2.0])
    A = np.linalg.qr(rng.normal(size=(8, 3)))[0].T
    return Z @ A + 0.3 * rng.normal(size=(300, 8)) + 4.0


def svd_optimum(X, k):
    Xc = X - X.mean(0)
    s = np.linalg.svd(Xc, compute_uv=False)
    return np.sum(s[k:] ** 2) / Xc.size


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_closed_form_is_pca(data, k):
    from sklearn.decomposition import PCA

    ae = l2.LinearAutoencoder(k).fit(data)
    pca = PCA(n_components=k, svd_solver="full").fit(data)
    np.testing.assert_allclose(ae.reconstruct(data), pca.inverse_transform(pca.transform(data)), atol=1e-10)
    np.testing.assert_allclose(np.abs(ae.components_), np.abs(pca.components_), atol=1e-10)
    np.testing.assert_allclose(np.abs(ae.transform(data)), np.abs(pca.transform(data)), atol=1e-9)
    assert ae.reconstruction_error_ == pytest.approx(svd_optimum(data, k), rel=1e-12)
    assert ae.score(data) == pytest.approx(ae.reconstruction_error_, rel=1e-12)


@pytest.mark.parametrize("k", [1, 3])
def test_tied_gradient_reaches_pca_optimum(data, k):
    ae = l2.LinearAutoencoder(k, method="gradient", random_state=0).fit(data)
    assert ae.converged_ and ae.n_iter_ < ae.max_iter
    assert ae.reconstruction_error_ == pytest.approx(svd_optimum(data, k), rel=1e-7)
    # same subspace as the SVD: principal angles ~ 0; W^T W = I at the optimum
    from scipy.linalg import subspace_angles

    V = np.linalg.svd(data - data.mean(0), full_matrices=False)[2][:k]
    assert np.max(subspace_angles(ae.components_.T, V.T)) < 1e-4
    np.testing.assert_allclose(ae.encoder_.T @ ae.encoder_, np.eye(k), atol=1e-4)
    assert all(b <= a + 1e-12 for a, b in zip(ae.loss_curve_, ae.loss_curve_[1:]))  # monotone descent


def test_untied_gradient_is_honest(data):
    ae = l2.LinearAutoencoder(2, tied=False, method="gradient", random_state=1, max_iter=300).fit(data)
    assert ae.reconstruction_error_ >= svd_optimum(data, 2) * (1 - 1e-12)
    if not ae.converged_:
        assert ae.status_ is l2.Status.MAX_ITER and "max_iter" in ae.message_


def test_gradient_matches_torch_autograd(data, rng):
    torch = pytest.importorskip("torch")
    Xc = data - data.mean(0)
    for tied in (True, False):
        ae = l2.LinearAutoencoder(2, tied=tied, method="gradient")
        params = [rng.normal(size=(8, 2))] if tied else [rng.normal(size=(8, 2)), rng.normal(size=(2, 8))]
        loss, grads = ae._loss_and_grad(Xc, params)
        tp = [torch.tensor(p, requires_grad=True) for p in params]
        X = torch.tensor(Xc)
        R = X @ tp[0] @ tp[0].T if tied else X @ tp[0] @ tp[1]
        ref = torch.nn.functional.mse_loss(R, X)
        ref.backward()
        assert loss == pytest.approx(ref.item(), rel=1e-12)
        for g, t in zip(grads, tp):
            np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-10, atol=1e-13)


def test_no_centering(rng):
    X = rng.normal(size=(50, 4))
    ae = l2.LinearAutoencoder(2, center=False).fit(X)
    s = np.linalg.svd(X, compute_uv=False)
    assert ae.reconstruction_error_ == pytest.approx(np.sum(s[2:] ** 2) / X.size)
    np.testing.assert_array_equal(ae.mean_, 0.0)


def test_validation(data):
    with pytest.raises(InputError):
        l2.LinearAutoencoder(0)
    with pytest.raises(InputError):
        l2.LinearAutoencoder(2, method="sgd")
    with pytest.raises(InputError, match="n_components"):
        l2.LinearAutoencoder(9).fit(data)
    with pytest.raises(InputError, match="fit"):
        l2.LinearAutoencoder(2).transform(data)
    ae = l2.LinearAutoencoder(2).fit(data)
    with pytest.raises(InputError, match="features"):
        ae.transform(data[:, :5])
    bad = data.copy()
    bad[3, 1] = np.nan
    with pytest.raises(InputError, match="row 3"):
        l2.LinearAutoencoder(2).fit(bad)
    assert "n_components=2" in repr(ae)
