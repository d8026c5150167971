r"""The GLM families beyond counts: binomial (logistic regression), Gamma and Tweedie, with their GLM hooks.

Each is a registry loss like the others (``loss(y_true, y_pred)``, ``grad``)
and ``l2kit.fit`` fits it by the generic Newton solver
(:mod:`l2kit.linear.glm`) through the hooks of :class:`._glm.GLMLoss`:

============ ======== =============================== ================= =====================================
loss         link     :math:`V(\mu)`                  dispersion        ``loglike`` reported
============ ======== =============================== ================= =====================================
``Binomial`` logit    :math:`\mu(1-\mu)/n`            1                 exact (with :math:`\log\binom{n}{s}`)
``GammaNLL`` log      :math:`\mu^2`                   estimated         R's: at :math:`\phi = D/n`
``Tweedie``  log      :math:`\mu^p`, :math:`1<p<2`    estimated         none (no closed-form density)
============ ======== =============================== ================= =====================================

For the estimated dispersions the fit solves the score equations (which do
not involve :math:`\phi`), then estimates :math:`\phi` by Pearson's
:math:`\sum_i w_i (y_i-\mu_i)^2/V(\mu_i)\,/\,(n-k)` (R's ``summary.glm``;
``dispersion="ml"`` gives the Gamma maximum-likelihood value of
``MASS::gamma.shape``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .._errors import InputError
from ._glm import GLMLoss, xlogy_ratio
from ._registry import register
from ._special import gammaln
from ._validate import any_true, check_unit, param_array, positive_param
from .links import sigmoid, softplus

__all__ = ["Binomial", "GammaNLL", "Tweedie"]

#: exp() of a larger linear predictor overflows: such a Newton step is infeasible
_MAX_ETA = 700.0
#: |eta| beyond this in a logistic fit means fitted probabilities of 0 or 1 (separation)
_SEPARATION_ETA = 30.0


def _np():
    import array_api_compat.numpy as xp

    return xp


def _first_bad(mask: np.ndarray, y: np.ndarray) -> str:
    i = int(np.flatnonzero(mask)[0])
    return f"{int(mask.sum())} value(s), first at row {i} ({y[i]:g})"


@register
@dataclass(frozen=True)
class Binomial(GLMLoss):
    r"""Binomial negative log-likelihood of ``y_true`` successes (or a 0/1 outcome) at probability ``y_pred``.

    .. math::
        \ell = -\log\binom{n}{s} - s\log p - (n - s)\log(1-p)

    with ``trials=`` :math:`n` (a call keyword, scalar or one per element)
    and :math:`s` = ``y_true``; without ``trials`` :math:`n = 1` and ``y_true``
    is a 0/1 outcome or a proportion in [0, 1]:
    :math:`\ell = -y\log p - (1-y)\log(1-p)` (binary cross-entropy). ``grad``
    (with respect to :math:`p`) is :math:`(np - s)/(p(1-p))`.

    ``l2kit.fit(X, y, loss=Binomial())`` is logistic regression (logit link,
    R's ``glm(family=binomial)``); with ``trials=n`` ``y`` holds the counts
    of successes (R's ``cbind(s, n - s)``). The residuals and the Pearson and
    deviance statistics are on the proportion scale :math:`s/n`, as R's.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import stats
    >>> s, n, p = np.array([0.0, 3.0, 10.0]), np.array([4.0, 5.0, 10.0]), np.array([0.2, 0.5, 0.9])
    >>> bool(np.allclose(Binomial()(s, p, trials=n, reduction="none"), -stats.binom.logpmf(s, n, p)))
    True
    >>> round(float(Binomial()(np.array([1.0, 0.0]), np.array([0.8, 0.3]))), 6)   # binary cross-entropy
    0.289909
    """

    name = "binomial"
    aliases = ("logistic", "binomial_nll", "bernoulli")
    convex = True
    smooth = True
    call_kwargs = ("trials",)

    fit_links: ClassVar[tuple[str, ...]] = ("logit",)
    glm_data: ClassVar[tuple[str, ...]] = ("trials",)

    # -- scoring -----------------------------------------------------------
    def _check_domain(self, xp, y_true, y_pred):
        if any_true(xp, ~((y_pred > 0) & (y_pred < 1))):
            raise InputError("y_pred", "probabilities in (0, 1) for Binomial", "values <= 0 or >= 1 (or NaN)",
                             "predict through a sigmoid, or clip to (eps, 1 - eps)")
        if any_true(xp, y_true < 0):
            raise InputError("y_true", "non-negative outcomes for Binomial", "negative values",
                             "pass 0/1 outcomes, proportions, or success counts with trials=")

    def _prepare_kwargs(self, v, kwargs):
        if kwargs.get("trials") is None:
            check_unit(v.xp, v.y_true, "y_true", "Binomial without trials",
                       "pass 0/1 outcomes or proportions, or success counts with trials=")
            return {"trials": None}
        n = param_array(v, kwargs["trials"], "trials", "Binomial", positive=True)
        if any_true(v.xp, v.y_true > n):
            raise InputError("y_true", "successes <= trials for Binomial", "more successes than trials",
                             "check that y_true counts successes out of trials")
        return {"trials": n}

    def _elementwise(self, xp, y_true, y_pred, trials):
        if trials is None:
            return -(y_true * xp.log(y_pred) + (1 - y_true) * xp.log1p(-y_pred))
        lchoose = gammaln(xp, trials + 1) - gammaln(xp, y_true + 1) - gammaln(xp, trials - y_true + 1)
        return -(lchoose + y_true * xp.log(y_pred) + (trials - y_true) * xp.log1p(-y_pred))

    def _grad(self, xp, y_true, y_pred, trials):
        n = 1.0 if trials is None else trials
        return (n * y_pred - y_true) / (y_pred * (1 - y_pred))

    @classmethod
    def _example(cls, rng, n=7):
        trials = rng.integers(1, 9, size=n).astype(float)
        return cls(), np.floor(trials * rng.uniform(size=n)), rng.uniform(0.1, 0.9, size=n), {"trials": trials}

    # -- the GLM -----------------------------------------------------------
    def glm_prepare(self, y, data):
        """0/1 outcomes or proportions; with ``trials`` integer successes in [0, trials], turned into proportions."""
        trials = data.get("trials")
        if trials is None:
            bad = (y < 0) | (y > 1)
            if bad.any():
                raise InputError("y", "0/1 outcomes or proportions in [0, 1] for Binomial", _first_bad(bad, y),
                                 "pass trials= with success counts in y, or rescale y to proportions")
            return y, {"trials": np.ones_like(y)}
        bad = ~((trials > 0) & (trials == np.floor(trials)))
        if bad.any():
            raise InputError("trials", "positive integer numbers of trials", _first_bad(bad, trials),
                             "drop the rows with no trials (they carry no information)")
        bad = (y < 0) | (y > trials) | (y != np.floor(y))
        if bad.any():
            raise InputError("y", "integer successes in [0, trials] for Binomial with trials=", _first_bad(bad, y),
                             "pass the counts of successes (R's cbind(successes, failures) is y=s, trials=s+f)")
        return y / trials, {"trials": trials}

    def glm_mean_start(self, y, w, data):
        wn = w * data["trials"]
        return (float(wn @ y) + 0.5) / (float(wn.sum()) + 1.0)   # R's binomial initialize, pooled

    def glm_terms(self, y, lin, need=True, value=True, trials=None):
        eta = lin["mean"]
        n = np.ones_like(y) if trials is None else trials
        ll = None
        if value:
            # log C(n, s), s = n y (n = 1: zero); then the Bernoulli kernel per trial
            lchoose = 0.0 if trials is None or value == "kernel" else (gammaln(np, n + 1) - gammaln(np, n * y + 1)
                                                   - gammaln(np, n - n * y + 1))
            ll = lchoose - n * (y * softplus(np, -eta) + (1 - y) * softplus(np, eta))
        if not need:
            return ll, None, None
        p = sigmoid(np, eta)
        return ll, {"mean": n * (y - p)}, {("mean", "mean"): -n * p * (1 - p)}

    def glm_variance(self, mu, lin, trials=None, **data):
        """:math:`\\mu(1-\\mu)/n` (the variance of a proportion of :math:`n` trials)."""
        return mu * (1 - mu) / (1.0 if trials is None else trials)

    def glm_unit_deviance(self, y, mu, lin, trials=None, **data):
        """:math:`2n\\,[y\\log(y/\\mu) + (1-y)\\log\\frac{1-y}{1-\\mu}]`."""
        n = 1.0 if trials is None else trials
        return 2 * n * (xlogy_ratio(y, mu) + xlogy_ratio(1 - y, 1 - mu))

    def glm_boundary(self, lin):
        """Separation: fitted probabilities numerically 0 or 1."""
        big = float(np.max(np.abs(lin["mean"])))
        if big > _SEPARATION_ETA:
            return (f"fitted probabilities are numerically 0 or 1 (|linear predictor| up to {big:.3g}): the outcome "
                    "is (quasi-)completely separated by the features, so the maximum-likelihood estimate does not "
                    "exist; drop or merge the separating columns, or fit a penalised model")
        return None


@dataclass(frozen=True)
class _EstimatedDispersion(GLMLoss):
    """Log-link families whose dispersion is estimated after the fit, with R's expected-information errors."""

    convex = False
    smooth = True

    fit_links: ClassVar[tuple[str, ...]] = ("log",)
    glm_dispersion: ClassVar[str] = "estimated"
    glm_information: ClassVar[str] = "expected"


@register
@dataclass(frozen=True)
class GammaNLL(_EstimatedDispersion):
    r"""Gamma negative log-likelihood with mean ``y_pred`` and dispersion :math:`\phi` (shape :math:`1/\phi`).

    .. math::
        \ell = -\log f(y) = -\nu\log\frac{\nu y}{\mu} + \frac{\nu y}{\mu} + \log y + \log\Gamma(\nu),
        \qquad \nu = 1/\phi

    (``-scipy.stats.gamma.logpdf(y, a=1/phi, scale=mu*phi)``); variance
    :math:`\phi\mu^2`. ``grad`` (with respect to :math:`\mu`) is
    :math:`\nu(\mu - y)/\mu^2`.

    ``l2kit.fit(X, y, loss=GammaNLL())`` fits the log-link Gamma GLM (R's
    ``glm(family=Gamma(link="log"))``); ``dispersion`` is then estimated
    (Pearson by default, ``dispersion="ml"`` for the maximum-likelihood
    value), whatever this parameter says.

    Parameters
    ----------
    dispersion : float, default 1.0
        :math:`\phi > 0` (1: the exponential distribution).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import stats
    >>> y, mu = np.array([0.5, 2.0, 7.0]), np.array([1.0, 1.5, 5.0])
    >>> bool(np.allclose(GammaNLL(dispersion=0.5)(y, mu, reduction="none"),
    ...                  -stats.gamma.logpdf(y, a=2.0, scale=mu * 0.5)))
    True
    """

    dispersion: float = 1.0

    name = "gamma_nll"
    aliases = ("gamma",)

    def __post_init__(self):
        positive_param("GammaNLL", "dispersion", self.dispersion)

    def _check_domain(self, xp, y_true, y_pred):
        if any_true(xp, ~(y_true > 0)):
            raise InputError("y_true", "positive values for GammaNLL", "values <= 0 (or NaN)",
                             "the Gamma model is for positive responses; use Tweedie for data with zeros")
        if any_true(xp, ~(y_pred > 0)):
            raise InputError("y_pred", "a positive mean for GammaNLL", "values <= 0 (or NaN)",
                             "predict the mean through exp()")

    def _elementwise(self, xp, y_true, y_pred):
        nu = 1.0 / self.dispersion
        ratio = y_true / y_pred
        return -nu * xp.log(nu * ratio) + nu * ratio + xp.log(y_true) + math.lgamma(nu)

    def _grad(self, xp, y_true, y_pred):
        return (y_pred - y_true) / (self.dispersion * y_pred * y_pred)

    @classmethod
    def _example(cls, rng, n=7):
        return cls(dispersion=0.7), rng.gamma(2.0, 1.5, size=n), rng.uniform(0.5, 5.0, size=n), {}

    def glm_prepare(self, y, data):
        if not (y > 0).all():
            raise InputError("y", "positive responses for GammaNLL", _first_bad(~(y > 0), y),
                             "the Gamma model is for positive values; use Tweedie for data with exact zeros")
        return y, data

    def glm_terms(self, y, lin, need=True, value=True):
        eta = lin["mean"]
        if np.max(eta) > _MAX_ETA:
            return None
        ratio = y * np.exp(-eta)            # y / mu
        ll = -(ratio + eta) if value else None   # the exponential (phi = 1) log-likelihood, less log y
        if not need:
            return ll, None, None
        return ll, {"mean": ratio - 1.0}, {("mean", "mean"): -ratio}

    def glm_variance(self, mu, lin, **data):
        """:math:`V(\\mu) = \\mu^2`."""
        return mu * mu

    def glm_unit_deviance(self, y, mu, lin, **data):
        """:math:`2\\,[-\\log(y/\\mu) + (y-\\mu)/\\mu]`."""
        return 2 * (-np.log(y / mu) + (y - mu) / mu)

    def glm_loglike(self, y, mu, w, deviance, **data):
        """R's ``logLik`` of a Gamma ``glm``: the Gamma log-density at the dispersion :math:`D/\\sum w`."""
        phi = deviance / float(w.sum())
        if not phi > 0:
            return None
        return -float(w @ GammaNLL(dispersion=phi)._elementwise(_np(), y, mu))

    def glm_dispersion_ml(self, y, mu, w):
        r"""The ML dispersion given the means: :math:`1/\hat\nu` with :math:`\log\nu - \psi(\nu) = \bar d/2`."""
        from scipy.special import digamma, polygamma

        dbar = float(w @ self.glm_unit_deviance(y, mu, None)) / float(w.sum())
        if not dbar > 0:
            return None
        nu = (6 + 2 * dbar) / (dbar * (6 + dbar))   # Greenwood and Durand's approximation as the start
        for _ in range(100):
            step = (math.log(nu) - float(digamma(nu)) - dbar / 2) / (1 / nu - float(polygamma(1, nu)))
            nu = max(nu - step, nu / 10)
            if abs(step) <= 1e-15 * nu:
                break
        return 1.0 / nu


@register
@dataclass(frozen=True)
class Tweedie(_EstimatedDispersion):
    r"""Tweedie unit deviance for power :math:`1 < p < 2` (compound Poisson-gamma: zeros and positive values).

    .. math::
        d(y, \mu) = 2\left(\frac{y^{2-p}}{(1-p)(2-p)} - \frac{y\,\mu^{1-p}}{1-p} + \frac{\mu^{2-p}}{2-p}\right)

    the convention of scikit-learn's ``mean_tweedie_deviance(power=p)``
    (twice the negative log-likelihood at unit dispersion, up to a term
    free of :math:`\mu`). ``grad`` (with respect to :math:`\mu`) is
    :math:`2\mu^{-p}(\mu - y)`. Poisson (:math:`p = 1`) and Gamma
    (:math:`p = 2`) have their own losses.

    ``l2kit.fit(X, y, loss=Tweedie(power=p))`` fits the log-link Tweedie GLM
    (R's ``glm(family=statmod::tweedie(var.power=p, link.power=0))``, glum's
    ``TweedieDistribution(p)``): variance :math:`\phi\mu^p`, :math:`\phi`
    estimated by Pearson's statistic. The density has no closed form, so no
    ``loglike`` (nor AIC) is reported.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.metrics import mean_tweedie_deviance
    >>> y, mu = np.array([0.0, 1.0, 4.0]), np.array([0.5, 1.2, 3.0])
    >>> bool(np.isclose(Tweedie(power=1.5)(y, mu), mean_tweedie_deviance(y, mu, power=1.5)))
    True
    """

    power: float = 1.5

    name = "tweedie"
    aliases = ("tweedie_deviance",)

    def __post_init__(self):
        p = self.power
        if not (isinstance(p, (int, float, np.floating, np.integer)) and not isinstance(p, bool) and 1 < p < 2):
            raise InputError("Tweedie(power=...)", "a power in (1, 2)", repr(p),
                             "use PoissonNLL for power 1 and GammaNLL for power 2; e.g. Tweedie(power=1.5)")
        object.__setattr__(self, "power", float(p))

    def _check_domain(self, xp, y_true, y_pred):
        if any_true(xp, ~(y_true >= 0)):
            raise InputError("y_true", "non-negative values for Tweedie", "negative values (or NaN)",
                             "the Tweedie model (1 < power < 2) is for zeros and positive values")
        if any_true(xp, ~(y_pred > 0)):
            raise InputError("y_pred", "a positive mean for Tweedie", "values <= 0 (or NaN)",
                             "predict the mean through exp()")

    def _elementwise(self, xp, y_true, y_pred):
        p = self.power
        return 2 * (y_true ** (2 - p) / ((1 - p) * (2 - p)) - y_true * y_pred ** (1 - p) / (1 - p)
                    + y_pred ** (2 - p) / (2 - p))

    def _grad(self, xp, y_true, y_pred):
        return 2 * y_pred ** (-self.power) * (y_pred - y_true)

    @classmethod
    def _example(cls, rng, n=7):
        y = rng.gamma(2.0, 1.0, size=n)
        y[::3] = 0.0
        return cls(power=1.4), y, rng.uniform(0.5, 4.0, size=n), {}

    def glm_prepare(self, y, data):
        if not (y >= 0).all():
            raise InputError("y", "non-negative responses for Tweedie", _first_bad(~(y >= 0), y),
                             "the Tweedie model (1 < power < 2) is for zeros and positive values")
        if not (y > 0).any():
            raise InputError("y", "some positive responses", "all zeros", "a log-link model needs some y > 0")
        return y, data

    def glm_terms(self, y, lin, need=True, value=True):
        eta = lin["mean"]
        if np.max(eta) > _MAX_ETA:
            return None
        p = self.power
        a = np.exp((1 - p) * eta)          # mu^(1-p)
        b = np.exp((2 - p) * eta)          # mu^(2-p)
        ll = y * a / (1 - p) - b / (2 - p) if value else None   # -d/2 less its term in y alone
        if not need:
            return ll, None, None
        return ll, {"mean": y * a - b}, {("mean", "mean"): (1 - p) * y * a - (2 - p) * b}

    def glm_variance(self, mu, lin, **data):
        """:math:`V(\\mu) = \\mu^p`."""
        return mu ** self.power

    def glm_unit_deviance(self, y, mu, lin, **data):
        """The unit deviance of the class docstring."""
        return np.asarray(self._elementwise(_np(), y, mu))
