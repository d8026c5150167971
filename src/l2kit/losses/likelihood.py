r"""The heteroscedastic Gaussian negative log-likelihood (``GaussianNLL``), torch's ``gaussian_nll_loss``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .._errors import InputError
from ._base import Loss
from ._registry import register
from ._special import HALF_LOG_2PI
from ._validate import any_true, param_array, positive_param

__all__ = ["GaussianNLL"]


@register
@dataclass(frozen=True)
class GaussianNLL(Loss):
    r"""Heteroscedastic Gaussian negative log-likelihood; call with ``var=``.

    .. math::
        \ell = \tfrac12\left(\log v + \frac{(y - \hat y)^2}{v}\right)
        \;\left[+ \tfrac12\log 2\pi \text{ if full}\right], \qquad v = \max(\mathrm{var}, \varepsilon)

    This is exactly ``torch.nn.functional.gaussian_nll_loss(y_pred, y_true,
    var, full=full, eps=eps)``, including its clamping: variances below
    ``eps`` (default 1e-6) are raised to ``eps`` for numerical stability, and
    the constant :math:`\tfrac12\log 2\pi` is left out unless ``full=True``.
    Unlike torch, ``var`` must be a scalar or have exactly the shape of
    ``y_true`` (torch also broadcasts one fewer dimension; l2kit never
    broadcasts), and negative variances are refused (torch raises too).

    With a constant ``var`` this is ``Squared()/(2 var)`` plus a constant, the
    Gaussian story behind least squares. ``grad`` is with respect to
    ``y_pred``: :math:`-(y - \hat y)/v`.

    ``l2kit.fit(X, y, loss=GaussianNLL(), loss_kwargs={"var": v})`` fits the
    mean with *known* per-row variances by the generic gradient solver
    (``fit_family = "gradient"``): the estimate is weighted least squares with
    weights ``1/v``, the standard errors the inverse information (no
    estimated scale), and ``loglike`` is reported.

    Parameters
    ----------
    eps : float, default 1e-6
        Lower clamp of the variance (torch's ``eps``).
    full : bool, default False
        Include the constant :math:`\tfrac12\log 2\pi`.

    Examples
    --------
    >>> import numpy as np
    >>> loss = GaussianNLL()
    >>> float(loss(np.array([1.0, 2.0]), np.array([1.0, 0.0]), var=np.array([1.0, 4.0])))
    0.5965735902799727
    >>> float(GaussianNLL(full=True)(np.array([0.0]), np.array([0.0]), var=1.0))  # log(2 pi) / 2
    0.9189385332046727
    """

    eps: float = 1e-6
    full: bool = False

    name = "gaussian_nll"
    aliases = ("heteroscedastic",)
    convex = True
    smooth = True
    call_kwargs = ("var",)
    required_call_kwargs = ("var",)
    fit_family: ClassVar[str | None] = "gradient"

    def __post_init__(self):
        positive_param("GaussianNLL", "eps", self.eps)

    def likelihood_factor(self, y_true):
        """1: the loss is the Gaussian negative log-likelihood itself."""
        return 1.0

    @property
    def nll_constant(self) -> float:
        """:math:`\\tfrac12\\log 2\\pi` unless ``full=True`` already includes it."""
        return 0.0 if self.full else HALF_LOG_2PI

    def _prepare_kwargs(self, v, kwargs):
        if "var" not in kwargs:
            raise InputError("var", "the predicted variance (var=...)", "nothing", "call loss(y_true, y_pred, var=v)")
        var = param_array(v, kwargs["var"], "var", "GaussianNLL", positive=False)
        xp = v.xp
        if any_true(xp, var < 0):
            raise InputError("var", "non-negative variances", f"minimum {float(xp.min(var)):g}",
                             "predict the variance through softplus() or exp()")
        return {"var": xp.maximum(var, xp.full_like(var, self.eps))}

    def _elementwise(self, xp, y_true, y_pred, var):
        r = y_true - y_pred
        out = 0.5 * (xp.log(var) + r * r / var)
        return out + HALF_LOG_2PI if self.full else out

    def _grad(self, xp, y_true, y_pred, var):
        return (y_pred - y_true) / var

    @classmethod
    def _example(cls, rng, n=7):
        return cls(), rng.normal(size=n), rng.normal(size=n), {"var": rng.uniform(0.5, 2.0, size=n)}
