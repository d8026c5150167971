"""Squared error, the L2 loss."""

from __future__ import annotations

from dataclasses import dataclass

from ._base import ResidualLoss
from ._registry import register


@register
@dataclass(frozen=True)
class Squared(ResidualLoss):
    r"""Squared error, :math:`\rho(r) = r^2` (complex input: :math:`|r|^2`).

    The MSE convention of ``torch.nn.functional.mse_loss`` and
    ``sklearn.metrics.mean_squared_error``: no factor 1/2. Hence
    :math:`\psi(r) = 2r`, :math:`\psi'(r) = 2`, and the IRLS weight is the
    constant 2 (only relative weights matter). It is the Gaussian negative
    log-likelihood up to constants, and its minimiser is the (weighted) mean.

    For complex residuals the gradient with respect to ``y_pred`` is the
    conjugate-Wirtinger gradient torch autograd returns, :math:`-2r`.

    Examples
    --------
    >>> import numpy as np
    >>> loss = Squared()
    >>> float(loss(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0])))
    1.3333333333333333
    >>> float(loss(np.array([1j]), np.array([0.0])))
    1.0
    >>> loss.grad(np.array([1.0]), np.array([0.5]))
    array([-1.])
    """

    name = "squared"
    aliases = ("l2", "mse", "ols", "gaussian")
    convex = True
    smooth = True
    allow_complex = True
    fit_family = "least_squares"
    torch_kernel = ("mse_loss", {})   # real tensors only (complex input takes |r|^2 below)

    def _rho(self, xp, r):
        if xp.isdtype(r.dtype, "complex floating"):
            re, im = xp.real(r), xp.imag(r)
            return re * re + im * im
        return r * r

    def _psi(self, xp, r):
        return 2 * r

    def _psi_prime(self, xp, r):
        return xp.full_like(r, 2) if not xp.isdtype(r.dtype, "complex floating") else xp.full(r.shape, 2.0)

    def _weight(self, xp, r):
        return xp.full_like(r, 2) if not xp.isdtype(r.dtype, "complex floating") else xp.full(r.shape, 2.0)

    @classmethod
    def _example(cls, rng, n=7):
        return cls(), rng.normal(size=n), rng.normal(size=n), {}
