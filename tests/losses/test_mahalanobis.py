"""Mahalanobis loss and whitening against scipy, torch autograd and linear-algebra identities."""

from __future__ import annotations

import numpy as np
import pytest

import l2kit as l2
from l2kit import InputError
from l2kit.losses import Mahalanobis, Squared, whiten


def spd(d=4, seed=0, cond=10.0):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return (q * np.geomspace(1.0, cond, d)) @ q.T


def data(n=25, d=4, seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(size=(n, d))


def test_matches_scipy_mahalanobis_squared():
    from scipy.spatial.distance import mahalanobis

    cov = spd()
    yt, yp = data()
    vi = np.linalg.inv(cov)  # the reference may invert; l2kit must not
    expected = np.array([mahalanobis(u, v, vi) ** 2 for u, v in zip(yt, yp)])
    loss = Mahalanobis(cov=cov)
    np.testing.assert_allclose(loss(yt, yp, reduction="none"), expected, rtol=1e-12)
    np.testing.assert_allclose(loss(yt, yp), expected.mean(), rtol=1e-12)
    np.testing.assert_allclose(Mahalanobis(precision=vi)(yt, yp, reduction="none"), expected, rtol=1e-12)


def test_grad_matches_torch_autograd_for_cov_and_precision():
    torch = pytest.importorskip("torch")
    cov = spd(3, seed=5)
    yt, yp = data(9, 3)
    for loss, mat in ((Mahalanobis(cov=cov), np.linalg.inv(cov)), (Mahalanobis(precision=cov), cov)):
        p = torch.tensor(yp, requires_grad=True)
        r = torch.tensor(yt) - p
        (r @ torch.tensor(mat) * r).sum().backward()
        np.testing.assert_allclose(loss.grad(yt, yp), p.grad.numpy(), rtol=1e-11)


def test_identity_cov_is_row_sum_of_squared():
    yt, yp = data(6, 3)
    np.testing.assert_allclose(Mahalanobis(cov=np.eye(3))(yt, yp, reduction="none"),
                               Squared()(yt, yp, reduction="none").sum(axis=1), rtol=1e-14)


def test_leading_batch_axes_and_single_vector():
    cov = spd(3)
    rng = np.random.default_rng(2)
    yt, yp = rng.normal(size=(2, 5, 3)), rng.normal(size=(2, 5, 3))
    loss = Mahalanobis(cov=cov)
    out = loss(yt, yp, reduction="none")
    assert out.shape == (2, 5)
    np.testing.assert_allclose(out.reshape(-1), loss(yt.reshape(-1, 3), yp.reshape(-1, 3), reduction="none"))
    assert loss.grad(yt, yp).shape == (2, 5, 3)
    single = loss(yt[0, 0], yp[0, 0], reduction="none")
    assert single.shape == () and float(single) == pytest.approx(float(out[0, 0]), rel=1e-14)


def test_per_row_weights():
    cov = spd(3)
    yt, yp = data(8, 3)
    w = np.arange(8.0)
    loss = Mahalanobis(cov=cov)
    vals = loss(yt, yp, reduction="none")
    assert float(loss(yt, yp, weights=w)) == pytest.approx(float((w * vals).sum() / w.sum()), rel=1e-14)
    with pytest.raises(InputError, match="weights"):
        loss(yt, yp, weights=np.ones((8, 3)))


def test_no_explicit_inverse_is_formed(monkeypatch):
    import scipy.linalg

    def forbidden(*a, **k):
        raise AssertionError("explicit inverse")

    monkeypatch.setattr(np.linalg, "inv", forbidden)
    monkeypatch.setattr(np.linalg, "pinv", forbidden)
    monkeypatch.setattr(scipy.linalg, "inv", forbidden)
    cov = spd(4)
    yt, yp = data()
    loss = Mahalanobis(cov=cov)
    loss(yt, yp)
    loss.grad(yt, yp)
    whiten(cov, kind="cholesky")
    whiten(cov, kind="symmetric")


def test_ill_conditioned_but_valid_cov_is_accurate():
    # cond 1e10: Cholesky solves keep the relative accuracy a naive inverse loses
    import mpmath

    cov = spd(3, seed=7, cond=1e10)
    r = np.random.default_rng(3).normal(size=(1, 3))
    with mpmath.workdps(60):
        exact = float((mpmath.matrix(r) * mpmath.inverse(mpmath.matrix(cov)) * mpmath.matrix(r).T)[0])
    assert float(Mahalanobis(cov=cov)(r, np.zeros_like(r))) == pytest.approx(exact, rel=1e-5)


# ----------------------------------------------------------------- whiten
@pytest.mark.parametrize("kind", ["symmetric", "cholesky"])
def test_whiten_identity(kind):
    cov = spd(5, seed=3, cond=100.0)
    w = whiten(cov, kind=kind)
    np.testing.assert_allclose(w.T @ w, np.linalg.inv(cov), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(w @ cov @ w.T, np.eye(5), atol=1e-12)
    r = np.random.default_rng(0).normal(size=(7, 5))
    np.testing.assert_allclose(((r @ w.T) ** 2).sum(axis=1), Mahalanobis(cov=cov)(r, np.zeros_like(r),
                                                                                   reduction="none"), rtol=1e-11)
    if kind == "symmetric":
        np.testing.assert_allclose(w, w.T, atol=1e-14)
        import scipy.linalg

        np.testing.assert_allclose(w, np.real(scipy.linalg.fractional_matrix_power(cov, -0.5)), rtol=1e-10)
    else:
        np.testing.assert_array_equal(w, np.tril(w))


def test_whiten_keeps_dtype_and_library():
    cov = spd(3)
    assert whiten(cov.astype(np.float32)).dtype == np.float32
    assert whiten(np.eye(3, dtype=int)).dtype == np.float64
    np.testing.assert_allclose(whiten([[4.0, 0.0], [0.0, 1.0]]), [[0.5, 0.0], [0.0, 1.0]])
    assert l2.whiten is whiten


def test_whiten_torch_and_autograd():
    torch = pytest.importorskip("torch")
    cov_np = spd(3, seed=4)
    cov = torch.tensor(cov_np, requires_grad=True)
    for kind in ("symmetric", "cholesky"):
        w = whiten(cov, kind=kind)
        assert isinstance(w, torch.Tensor) and w.dtype == torch.float64
        np.testing.assert_allclose(w.detach().numpy(), whiten(cov_np, kind=kind), rtol=1e-10, atol=1e-12)
    # autograd flows to cov: d/dcov of trace(W^T W) = d trace(cov^-1) = -cov^-2
    w = whiten(cov, kind="cholesky")
    (w.T @ w).trace().backward()
    inv = np.linalg.inv(cov_np)
    np.testing.assert_allclose(cov.grad.numpy(), -(inv @ inv), rtol=1e-8)
    assert whiten(torch.tensor(cov_np, dtype=torch.float32)).dtype == torch.float32


def test_whiten_bad_input():
    with pytest.raises(InputError, match="kind"):
        whiten(np.eye(2), kind="zca")
    with pytest.raises(InputError, match="positive-definite"):
        whiten(np.array([[1.0, 2.0], [2.0, 1.0]]))


# -------------------------------------------------------------- bad input
@pytest.mark.parametrize(("matrix", "match"), [
    (np.ones(3), "square"),
    (np.ones((2, 3)), "square"),
    (np.zeros((0, 0)), "square"),
    (np.array([[1.0, 0.5], [0.2, 1.0]]), r"symmetric.*\(cov \+ cov\.T\) / 2"),
    (np.array([[1.0, 2.0], [2.0, 1.0]]), "positive-definite.*smallest eigenvalue is -1.*jitter"),
    (np.array([[1.0, 1.0], [1.0, 1.0]]), "positive-definite.*jitter"),
    (np.array([[1.0, 0.0], [0.0, 1e-30]]), "numerically positive-definite.*condition number"),
    (np.array([[1.0, np.nan], [np.nan, 1.0]]), "finite"),
    (np.array([[1 + 1j, 0], [0, 1]]), "real"),
    (np.array([["a", "b"], ["c", "d"]]), "real"),
])
def test_bad_covariance_is_refused(matrix, match):
    with pytest.raises(InputError, match=match) as info:
        Mahalanobis(cov=matrix)
    assert str(info.value).startswith("cov:")


def test_bad_precision_names_precision():
    with pytest.raises(InputError, match="^precision: expected a positive-definite"):
        Mahalanobis(precision=-np.eye(2))


def test_exactly_one_matrix():
    with pytest.raises(InputError, match="exactly one of cov or precision.*neither"):
        Mahalanobis()
    with pytest.raises(InputError, match="both"):
        Mahalanobis(cov=np.eye(2), precision=np.eye(2))
    with pytest.raises(InputError, match="exactly one"):
        l2.get_loss("mahalanobis")


def test_last_axis_must_match_the_matrix():
    loss = Mahalanobis(cov=np.eye(3))
    with pytest.raises(InputError, match="last axis has length 3") as info:
        loss(np.zeros((5, 2)), np.zeros((5, 2)))
    assert "shape (5, 2)" in str(info.value)
    with pytest.raises(InputError, match="last axis"):
        loss(np.float64(1.0), np.float64(2.0))
    with pytest.raises(InputError, match="y_pred"):
        loss(np.zeros((5, 3)), np.zeros((4, 3)))


def test_value_semantics_and_immutability():
    cov = spd(3)
    a, b = Mahalanobis(cov=cov), Mahalanobis(cov=cov.copy())
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != Mahalanobis(precision=cov) and a != Mahalanobis(cov=2 * cov)
    cov[0, 0] = 99.0  # the loss holds its own read-only copy
    assert a == b and a.cov[0, 0] != 99.0
    with pytest.raises(ValueError):
        a.cov[0, 0] = 1.0
    assert repr(Mahalanobis(cov=np.diag([4.0, 1.0]))) == "Mahalanobis(cov=[[4.0, 0.0], [0.0, 1.0]])"
    assert "..." in repr(Mahalanobis(cov=np.eye(20)))  # large matrices are summarised
    assert l2.get_loss("mahalanobis", **a.params) == a
    assert a.dim == 3


# --------------------------------------------------------------- backends
def test_torch_tensors_in_tensors_out_with_autograd():
    torch = pytest.importorskip("torch")
    cov = spd(3)
    yt, yp = data(6, 3)
    loss = Mahalanobis(cov=cov)
    p = torch.tensor(yp, requires_grad=True)
    out = loss(torch.tensor(yt), p)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float64
    out.backward()
    np.testing.assert_allclose(p.grad.numpy(), loss.grad(yt, yp) / 6, rtol=1e-12)
    np.testing.assert_allclose(out.item(), loss(yt, yp), rtol=1e-13)
    f32 = loss(torch.tensor(yt, dtype=torch.float32), torch.tensor(yp, dtype=torch.float32), reduction="none")
    assert f32.dtype == torch.float32
    np.testing.assert_allclose(f32.numpy(), loss(yt, yp, reduction="none"), rtol=1e-5)
    # torch covariance is accepted (stored as a constant)
    assert Mahalanobis(cov=torch.tensor(cov)) == loss


def test_jax_jit_and_grad():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    cov = spd(3)
    yt, yp = data(6, 3)
    loss = Mahalanobis(cov=cov)
    with jax.enable_x64(True):  # scoped: no global config change for other tests
        f = jax.jit(lambda a, b: loss(a, b, reduction="sum"))
        value = f(jnp.asarray(yt), jnp.asarray(yp))
        g = jax.grad(lambda b: loss(jnp.asarray(yt), b, reduction="sum"))(jnp.asarray(yp))
    assert value.dtype == jnp.float64
    np.testing.assert_allclose(float(value), loss(yt, yp, reduction="sum"), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(g), loss.grad(yt, yp), rtol=1e-12)


def test_array_api_strict():
    xps = pytest.importorskip("array_api_strict")
    cov = spd(3)
    yt, yp = data(6, 3)
    loss = Mahalanobis(cov=cov)
    out = loss(xps.asarray(yt), xps.asarray(yp), reduction="none")
    assert type(out).__module__.startswith("array_api_strict")
    np.testing.assert_allclose(np.asarray(out._array), loss(yt, yp, reduction="none"), rtol=1e-12)
    g = loss.grad(xps.asarray(yt), xps.asarray(yp))
    np.testing.assert_allclose(np.asarray(g._array), loss.grad(yt, yp), rtol=1e-12)
    w = whiten(xps.asarray(cov), kind="cholesky")
    np.testing.assert_allclose(np.asarray(w._array), whiten(cov, kind="cholesky"), rtol=1e-12, atol=1e-14)


def test_last_axis_is_checked_under_jax_jit():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    loss = Mahalanobis(cov=np.eye(3))
    with pytest.raises(InputError, match="last axis has length 3"):
        jax.jit(lambda a, b: loss(a, b))(jnp.zeros((4, 2)), jnp.zeros((4, 2)))
