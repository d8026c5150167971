"""Squared error on complex data: value |e|^2 and the conjugate-Wirtinger gradient of torch autograd."""

from __future__ import annotations

import numpy as np
import pytest

from l2kit.losses import Squared

torch = pytest.importorskip("torch")


def complex_pair(n=11, seed=0, dtype=np.complex128):
    rng = np.random.default_rng(seed)
    yt = (rng.normal(size=n) + 1j * rng.normal(size=n)).astype(dtype)
    yp = (rng.normal(size=n) + 1j * rng.normal(size=n)).astype(dtype)
    return yt, yp


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
def test_value_is_abs_error_squared_and_real(dtype):
    yt, yp = complex_pair(dtype=dtype)
    loss = Squared()
    none = loss(yt, yp, reduction="none")
    real = np.float64 if dtype == np.complex128 else np.float32
    assert none.dtype == real
    np.testing.assert_allclose(none, np.abs(yt - yp) ** 2, rtol=1e-6 if dtype == np.complex64 else 1e-14)
    np.testing.assert_allclose(loss(yt, yp), np.mean(np.abs(yt - yp) ** 2), rtol=1e-6 if dtype == np.complex64
                               else 1e-14)
    # torch (mse_loss has no complex kernel): mean of |e|^2 via torch.abs
    ref = (torch.tensor(yt) - torch.tensor(yp)).abs().pow(2).mean()
    np.testing.assert_allclose(float(loss(yt, yp)), ref.item(), rtol=1e-6 if dtype == np.complex64 else 1e-14)


def test_grad_is_torch_conjugate_wirtinger_gradient():
    yt, yp = complex_pair()
    p = torch.tensor(yp, requires_grad=True)
    out = (torch.abs(torch.tensor(yt) - p) ** 2).sum()
    out.backward()
    g = Squared().grad(yt, yp)
    assert g.dtype == np.complex128
    np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-13)
    # and it is d/dRe + i d/dIm of the real loss, checked by finite differences
    h = 1e-6
    re = (Squared()(yt, yp + h, reduction="none") - Squared()(yt, yp - h, reduction="none")) / (2 * h)
    im = (Squared()(yt, yp + 1j * h, reduction="none") - Squared()(yt, yp - 1j * h, reduction="none")) / (2 * h)
    np.testing.assert_allclose(g, re + 1j * im, rtol=1e-7)


def test_torch_complex_tensors_autograd_through_l2kit():
    yt, yp = complex_pair()
    p = torch.tensor(yp, requires_grad=True)
    out = Squared()(torch.tensor(yt), p, reduction="sum")
    assert isinstance(out, torch.Tensor) and not out.is_complex()
    out.backward()
    np.testing.assert_allclose(p.grad.numpy(), Squared().grad(yt, yp), rtol=1e-13)
    g = Squared().grad(torch.tensor(yt), torch.tensor(yp))
    assert g.is_complex()
    np.testing.assert_allclose(g.numpy(), p.grad.numpy(), rtol=1e-13)


def test_complex_with_real_weights():
    yt, yp = complex_pair()
    w = np.linspace(0.5, 2.0, yt.size)
    np.testing.assert_allclose(Squared()(yt, yp, weights=w), np.sum(w * np.abs(yt - yp) ** 2) / w.sum(), rtol=1e-14)
