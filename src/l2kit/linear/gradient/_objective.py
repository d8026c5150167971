r"""The weighted mean loss of a linear predictor through a link, with its gradient and Hessian.

For parameters :math:`B` (``(q, d)``, intercept row first) and a design
``A`` (``(n, q)``), :math:`\eta = A B` and the objective is
:math:`\sum_i w_i\,\ell(y_i, g^{-1}(\eta_i)) / \sum_i w_i`. The gradient comes
from the loss's analytic ``_grad`` by the chain rule; the Hessian is
:math:`\sum_i w_i A_i A_i^\top \otimes h_i / \sum_i w_i` with the per-row
:math:`h_i = \partial^2\ell_i/\partial\eta_i^2` from central differences of
the analytic gradient (two gradient evaluations per output, whatever the
number of columns).

The ``sphere`` link (Geodesic fits) sees directions only, so the scale of
:math:`B` is pinned by the penalty :math:`(\overline{|\eta|^2} - 1)^2`, which
vanishes at the reported representative and leaves the minimising directions
unchanged.

A ridge penalty adds :math:`\tfrac12\sum_k \lambda_k\theta_k^2` over the flat
parameters ``theta`` (``ridge``: the per-parameter :math:`\lambda_k`, zero for
the intercept row), to the value, the gradient and the Hessian alike.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["NonFiniteObjective", "Objective"]


class NonFiniteObjective(Exception):
    """The loss or its gradient is not finite at a trial point."""


def _np():
    import array_api_compat.numpy as xp

    return xp


class Objective:
    """The objective of the generic gradient solver on design ``A`` (rows ``(n, q)``), targets ``Y`` ``(n, d)``."""

    def __init__(self, loss: Any, link: Any, A: np.ndarray, Y: np.ndarray, w: np.ndarray, kwargs: dict,
                 multi: bool, ridge: np.ndarray | None = None):
        self.loss, self.link, self.A, self.Y, self.w, self.kw, self.multi = loss, link, A, Y, w, kwargs, multi
        self.ridge = ridge
        self.sw = float(w.sum())
        self.q, self.d = A.shape[1], Y.shape[1]
        #: the loss receives the linear predictor itself (Focal(logits=True) under the logit link)
        self.eta_is_input = link.elementwise and link.name != "identity" and loss.takes_linear_predictor
        self.pinned = link.name == "sphere"

    @staticmethod
    def array_namespace():
        """The NumPy namespace the loss kernels receive."""
        return _np()

    def prediction(self, eta: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """What the loss receives for ``eta``, and its derivative (None: the identity)."""
        if not self.link.elementwise or self.link.name == "identity" or self.eta_is_input:
            return eta, None
        xp = _np()
        return self.link.inverse(xp, eta), self.link.mu_eta(xp, eta)

    def value_grad(self, eta: np.ndarray, need_grad: bool = True):
        """Per-row loss values and their derivatives with respect to ``eta``."""
        xp = _np()
        mu, dmu = self.prediction(eta)
        vals = np.asarray(self.loss._elementwise(xp, self.Y, mu, **self.kw))
        if vals.ndim == 2 and not self.multi:
            vals = vals[:, 0]
        if not need_grad:
            return vals, None
        g = np.asarray(self.loss._grad(xp, self.Y, mu, **self.kw))
        return vals, g if dmu is None else g * dmu

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Value and gradient at the flat parameters ``theta`` (for ``scipy.optimize.minimize(jac=True)``)."""
        A, w, sw = self.A, self.w, self.sw
        eta = A @ theta.reshape(self.q, self.d)
        vals, g = self.value_grad(eta)
        f = float(w @ vals) / sw
        if not (math.isfinite(f) and np.all(np.isfinite(g))):
            raise NonFiniteObjective(f)
        grad = A.T @ (w[:, None] * g) / sw
        if self.pinned:
            m = float(w @ np.sum(eta * eta, axis=1)) / sw
            f += (m - 1.0) ** 2
            grad = grad + 2 * (m - 1.0) * (2 * A.T @ (w[:, None] * eta) / sw)
        grad = grad.reshape(-1)
        if self.ridge is not None:
            f += 0.5 * float(theta @ (self.ridge * theta))
            grad = grad + self.ridge * theta
        return f, grad

    def row_hessian(self, eta: np.ndarray) -> np.ndarray:
        """(n, d, d): central differences of the analytic d loss / d eta, one output at a time."""
        n, d = eta.shape
        H = np.empty((n, d, d))
        step = np.cbrt(np.finfo(float).eps) * np.maximum(1.0, np.abs(eta))
        for j in range(d):
            e = np.zeros_like(eta)
            e[:, j] = step[:, j]
            H[:, :, j] = (self.value_grad(eta + e)[1] - self.value_grad(eta - e)[1]) / (2 * step[:, j:j + 1])
        return 0.5 * (H + np.swapaxes(H, 1, 2))

    def gram(self, A: np.ndarray, Hrow: np.ndarray, wt: np.ndarray) -> np.ndarray:
        """``sum_i wt_i A_i A_i^T (x) Hrow_i`` as a (q d, q d) matrix, parameter order (a, j) row-major."""
        q, d = A.shape[1], Hrow.shape[1]
        out = np.empty((q, d, q, d))
        for j in range(d):
            for m in range(d):
                out[:, j, :, m] = (A * (wt * Hrow[:, j, m])[:, None]).T @ A
        return out.reshape(q * d, q * d)

    def hessian(self, theta: np.ndarray) -> np.ndarray:
        """The Hessian at the flat parameters ``theta`` (the scale pin's included)."""
        A, w, sw, d = self.A, self.w, self.sw, self.d
        eta = A @ theta.reshape(self.q, d)
        H = self.gram(A, self.row_hessian(eta), w / sw)
        if self.pinned:
            m = float(w @ np.sum(eta * eta, axis=1)) / sw
            dm = (2 * A.T @ (w[:, None] * eta) / sw).reshape(-1)
            G = (A * (w / sw)[:, None]).T @ A
            H = H + 2 * np.outer(dm, dm) + 2 * (m - 1.0) * 2 * np.kron(G, np.eye(d))
        return H if self.ridge is None else H + np.diag(self.ridge)
