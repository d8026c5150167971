r"""What the generic GLM solver (:mod:`l2kit.linear.glm`) needs from a likelihood loss, declared once.

A model has one linear predictor per block in ``glm_blocks``: ``"mean"``
(:math:`\eta = g(\mu)`, design ``X``), ``"inflation"`` (the logit of a
zero-inflation probability, its own design) and ``"dispersion"``
(:math:`\tau = \log\theta`, a single parameter). The solver passes the
current predictors as a dict ``lin`` to :meth:`GLMLoss.glm_terms`, together
with the per-row data the loss declares in ``glm_data`` (binomial:
``trials``).

Exponential-dispersion families whose dispersion :math:`\phi` is estimated
after the fit (``glm_dispersion = "estimated"``: Gamma, Tweedie) give
:meth:`~GLMLoss.glm_terms` at :math:`\phi = 1` (a quasi-likelihood: the
estimate does not depend on :math:`\phi`); the solver then estimates
:math:`\phi` (Pearson by default, as R's ``summary.glm``) and scales the
covariance by it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ._base import Loss
from .links import get_link

__all__ = ["GLMLoss", "xlogy_ratio"]


def xlogy_ratio(a, b):
    """:math:`a \\log(a/b)` with the limit 0 at :math:`a = 0` (the deviance terms), for NumPy arrays.

    Examples
    --------
    >>> [float(v) for v in xlogy_ratio(np.array([0.0, 2.0]), np.array([1.0, 1.0]))]
    [0.0, 1.3862943611198906]
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(a > 0, a * np.log(np.where(a > 0, a, 1.0) / b), 0.0)


@dataclass(frozen=True)
class GLMLoss(Loss):
    """Base of the losses fitted by the generic GLM solver: the hooks, with their defaults."""

    fit_family: ClassVar[str | None] = "glm"
    fit_links: ClassVar[tuple[str, ...]] = ("log",)
    glm_blocks: ClassVar[tuple[str, ...]] = ("mean",)
    #: per-row data ``l2kit.fit`` accepts for this model besides X and y (e.g. ``("trials",)``)
    glm_data: ClassVar[tuple[str, ...]] = ()
    #: "fixed" (dispersion 1: Poisson, binomial, NB, ZINB) or "estimated" after the fit (Gamma, Tweedie)
    glm_dispersion: ClassVar[str] = "fixed"
    #: the information behind the default covariance: "observed" (the Newton Hessian, statsmodels' for
    #: NB/ZINB) or "expected" (Fisher's, R's glm); equal for canonical links
    glm_information: ClassVar[str] = "observed"
    #: the mean block is an exponential-family GLM given the other blocks (variance function, working
    #: weights, leverage); False for a mixture (ZINB)
    glm_exponential: ClassVar[bool] = True

    def glm_terms(self, y, lin: dict, need: bool = True, value: bool = True, **data):  # pragma: no cover
        """Per-row log-likelihood, and per-row first and second derivatives by block.

        ``need`` is True, False, or the tuple of the estimated blocks (the
        derivatives of a block held fixed may be left out). ``value="kernel"``
        allows ``ll`` to be the log-likelihood less a term free of every parameter (what a line search compares; a loss
        whose exact value is costly gives its kernel, others the exact value).
        Returns ``(ll, grads, hess)`` with ``ll`` (None when ``value`` is
        False), ``grads[block]`` and ``hess[(block_a, block_b)]`` (``block_a``
        not after ``block_b`` in ``glm_blocks``) arrays of shape (n,);
        ``grads`` and ``hess`` are None when ``need`` is False. Returns None
        when ``lin`` is outside the model's numerical range (an infeasible step).
        """
        raise NotImplementedError

    def glm_prepare(self, y: np.ndarray, data: dict) -> tuple[np.ndarray, dict]:
        """Validate the target (and the per-row data) for a fit; return them as the model uses them."""
        return y, data

    def glm_mean_start(self, y: np.ndarray, w: np.ndarray, data: dict) -> float:
        """The mean of the intercept-only start (the weighted mean of ``y``)."""
        return float(w @ y) / float(w.sum())

    def glm_start(self) -> Loss | None:
        """The simpler model whose fit starts this one (None: start from the intercept-only mean)."""
        return None

    def glm_start_values(self, y, w, lin: dict, estimate: dict) -> dict:
        """Constant linear predictors for the blocks this model adds to :meth:`glm_start`'s fit.

        ``estimate[block]`` says whether a block is estimated (False: fixed at the loss's parameter).
        """
        return {}

    def glm_fixed(self) -> dict:
        """Values of the blocks that can be held fixed (``estimate_theta=False``)."""
        return {}

    def glm_mean(self, lin: dict):
        """The mean of ``y`` under the model (the response-scale prediction)."""
        return get_link(self.default_link).inverse(np, lin["mean"])

    def glm_variance(self, mu, lin: dict, **data):
        """The variance of ``y`` at unit dispersion given the other blocks, at ``mu`` = :meth:`glm_mean` (or None)."""
        return None

    def glm_unit_deviance(self, y, mu, lin: dict, **data):
        """Per-row deviance :math:`d(y, \\mu)` at unit dispersion (None: the model has no deviance)."""
        return None

    def glm_loglike(self, y, mu, w, deviance: float, **data) -> float | None:
        """The reported log-likelihood of an ``"estimated"``-dispersion family (None: no closed form)."""
        return None

    def glm_dispersion_ml(self, y, mu, w) -> float | None:
        """The maximum-likelihood dispersion given the means (None: not available for this family)."""
        return None

    def glm_boundary(self, lin: dict) -> str | None:
        """A sentence when a parameter sits on the boundary of its space (the simpler model to use), else None."""
        return None
