r"""Count likelihoods: Poisson, negative binomial (NB2) and zero-inflated NB, with their GLM hooks.

Each loss is an exact negative log-pmf (see :mod:`._special`) with the same
call signature as every other loss; ``y_pred`` is the mean ``mu`` (or its
logarithm for ``PoissonNLL(log_input=True)``).

``l2kit.fit`` fits these losses as log-link GLMs by one generic Newton solver
(:mod:`l2kit.linear.glm`; the hooks are those of :class:`._glm.GLMLoss`). What the solver needs is
declared here:
``glm_blocks`` names the linear predictors of the model (``"mean"``, the
inflation logit ``"inflation"``, the log-dispersion ``"dispersion"``),
:meth:`glm_terms` gives the per-row log-likelihood and its first and second
derivatives with respect to each, ``glm_start`` the simpler model whose fit
starts this one, and :meth:`glm_start_values` the starting values of the
extra blocks from that fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .._errors import InputError
from ._glm import GLMLoss, xlogy_ratio
from ._registry import register
from ._special import nb_grad, nb_nll, poisson_nll
from ._validate import any_true, check_counts, check_positive_mean, param_array, positive_param
from .links import sigmoid, softplus

__all__ = ["CountGLM", "NegativeBinomialNLL", "PoissonNLL", "ZINB", "nb_log_terms"]


#: exp() of a larger linear predictor overflows: such a step is infeasible for the Newton solver
_MAX_ETA = 700.0
#: log-dispersions beyond this are treated as infeasible steps (theta ~ 2e17 or 4e-18)
_MAX_LOG_THETA = 40.0
#: a parameter this close to its boundary (NB: max mu / theta; ZINB: max pi) is on it (Status.BOUNDARY)
_BOUNDARY = 1e-7


def _np():
    import array_api_compat.numpy as xp

    return xp


#: the last (weak reference to y, log theta, terms): a Newton line search asks for the kernel at many
#: coefficients and one theta (always, when theta is fixed), and lgamma(y + theta) is its costliest part
_THETA_MEMO: list = [None]


def _theta_terms(y: np.ndarray, tau: float) -> np.ndarray:
    r"""The terms of the NB kernel free of :math:`\mu`: :math:`\theta\tau + \log\Gamma(y+\theta) - \log\Gamma(\theta)`.

    Kept for the last ``(y, tau)`` (``y`` by identity, held by a weak
    reference: an array freed cannot be mistaken for a new one at its address).
    """
    import weakref

    from scipy.special import gammaln

    last = _THETA_MEMO[0]   # one read: a tuple swapped whole is safe across threads
    if last is not None and last[0]() is y and last[1] == tau:
        return last[2]
    theta = math.exp(tau)
    terms = theta * tau + gammaln(y + theta) - math.lgamma(theta)
    _THETA_MEMO[0] = (weakref.ref(y), tau, terms)
    return terms


def nb_log_terms(y, mu, theta):
    r"""Per-row derivatives of the NB log-likelihood in :math:`\eta = \log\mu` and :math:`\tau = \log\theta`.

    Returns ``(g_eta, g_tau, h_eta_eta, h_eta_tau, h_tau_tau)`` (NumPy arrays),
    with :math:`\partial\ell/\partial\eta = \theta(y-\mu)/(\theta+\mu)` and
    the digamma/trigamma terms of :math:`\partial\ell/\partial\tau`. Shared by the
    NB fit and the positive counts of the ZINB fit.

    Examples
    --------
    >>> import numpy as np
    >>> g_e, g_t, h_ee, h_et, h_tt = nb_log_terms(np.array([3.0]), np.array([2.0]), 1.5)
    >>> float(g_e[0])   # theta (y - mu) / (theta + mu)
    0.42857142857142855
    """
    from scipy.special import digamma, polygamma

    tm = theta + mu
    d_th = digamma(y + theta) - digamma(theta) - np.log1p(mu / theta) + (mu - y) / tm
    g_eta = theta * (y - mu) / tm
    h_ee = -theta * mu * (theta + y) / tm ** 2
    h_et = theta * (y - mu) * mu / tm ** 2
    h_tt = (theta * theta * (polygamma(1, y + theta) - polygamma(1, theta) + 1 / theta - 1 / tm - (mu - y) / tm ** 2)
            + theta * d_th)
    return g_eta, theta * d_th, h_ee, h_et, h_tt


@dataclass(frozen=True)
class CountGLM(GLMLoss):
    r"""Base of the count likelihoods: log-link models of non-negative counts (see :mod:`._glm` for the hooks).

    A model has one linear predictor per block in ``glm_blocks``: ``"mean"``
    (:math:`\eta = \log\mu`, design ``X``), ``"inflation"`` (the logit of the
    zero-inflation probability, its own design) and ``"dispersion"``
    (:math:`\tau = \log\theta`, a single parameter).
    """

    fit_links: ClassVar[tuple[str, ...]] = ("log",)

    def glm_prepare(self, y, data):
        """Refuse negative or (unless ``allow_fractional``) non-integer counts, naming the first bad row."""
        kind = type(self).__name__
        if (y < 0).any():
            i = int(np.flatnonzero(y < 0)[0])
            raise InputError("y", f"non-negative counts for {kind}", f"{int((y < 0).sum())} negative value(s), "
                             f"first at row {i} ({y[i]:g})", "counts cannot be negative; check the target column")
        if not self.allow_fractional and (y != np.floor(y)).any():
            i = int(np.flatnonzero(y != np.floor(y))[0])
            raise InputError("y", f"integer counts for {kind}", f"{int((y != np.floor(y)).sum())} non-integer "
                             f"value(s), first at row {i} ({y[i]:g})",
                             f"round the counts or pass {kind}(allow_fractional=True)")
        return y, data


@register
@dataclass(frozen=True)
class PoissonNLL(CountGLM):
    r"""Poisson negative log-likelihood of counts ``y_true`` given the rate ``y_pred``.

    .. math::
        \ell = \mu - y\log\mu + \log\Gamma(y+1) = -\log \mathrm{Poisson}(y;\mu)

    The default is the *exact* negative log-pmf, equal to
    ``-scipy.stats.poisson.logpmf(y, mu)``; it is evaluated in Loader's
    saddle-point form (see the module docstring), accurate for counts up to
    1e6 and rates down to 1e-12.

    Parameters
    ----------
    log_input : bool, default False
        ``y_pred`` is the log-rate :math:`\eta = \log\mu` (torch's default
        convention, ``torch.nn.functional.poisson_nll_loss(log_input=True)``),
        instead of the rate. Log-rates may be any real; rates must be > 0.
    full : bool, default True
        Include :math:`\log\Gamma(y+1)`. ``full=False`` gives
        :math:`\mu - y\log\mu`, which equals torch's ``poisson_nll_loss`` with
        ``full=False`` (torch's ``full=True`` adds a Stirling *approximation*;
        l2kit's is exact). Torch also adds ``eps=1e-8`` to rates; l2kit refuses
        rates <= 0 instead.
    allow_fractional : bool, default False
        Accept non-integer non-negative targets (quasi-Poisson); the value is
        then the continuous extension with :math:`\Gamma`.

    ``grad`` is with respect to ``y_pred``: :math:`1 - y/\mu` for rates,
    :math:`\mu - y` for log-rates. ``l2kit.fit(X, y, loss=PoissonNLL())`` fits
    a log-link Poisson GLM (``fit_family = "glm"``).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import stats
    >>> y, mu = np.array([0, 3, 10]), np.array([0.5, 2.0, 12.0])
    >>> bool(np.allclose(PoissonNLL()(y, mu, reduction="none"), -stats.poisson.logpmf(y, mu)))
    True
    >>> bool(np.allclose(PoissonNLL(log_input=True)(y, np.log(mu), reduction="none"), -stats.poisson.logpmf(y, mu)))
    True
    """

    log_input: bool = False
    full: bool = True
    allow_fractional: bool = False

    name = "poisson_nll"
    aliases = ("poisson",)
    convex = True
    smooth = True

    def _check_domain(self, xp, y_true, y_pred):
        check_counts(xp, y_true, "PoissonNLL", self.allow_fractional)
        if not self.log_input:
            check_positive_mean(xp, y_pred, "PoissonNLL")

    def glm_terms(self, y, lin, need=True, value=True):
        eta = lin["mean"]
        if np.max(eta) > _MAX_ETA:
            return None
        mu = np.exp(eta)
        if value == "kernel":
            ll = y * eta - mu    # the log-likelihood less log(y!): all a line search needs
        else:
            ll = -poisson_nll(_np(), y, mu, eta) if value else None
        if not need:
            return ll, None, None
        return ll, {"mean": y - mu}, {("mean", "mean"): -mu}

    def glm_variance(self, mu, lin, **data):
        """The Poisson variance function, :math:`V(\\mu) = \\mu`."""
        return mu

    def glm_unit_deviance(self, y, mu, lin, **data):
        """:math:`2\\,[y\\log(y/\\mu) - (y - \\mu)]`."""
        return 2 * (xlogy_ratio(y, mu) - (y - mu))

    def _mu(self, xp, y_pred):
        if self.log_input:
            return xp.exp(y_pred), y_pred
        return y_pred, xp.log(y_pred)

    def _elementwise(self, xp, y_true, y_pred):
        mu, logmu = self._mu(xp, y_pred)
        if not self.full:
            return mu - y_true * logmu
        return poisson_nll(xp, y_true, mu, logmu)

    def _grad(self, xp, y_true, y_pred):
        mu, _ = self._mu(xp, y_pred)
        return mu - y_true if self.log_input else 1 - y_true / mu

    @classmethod
    def _example(cls, rng, n=7):
        return cls(), rng.poisson(3.0, size=n).astype(float), rng.uniform(0.5, 5.0, size=n), {}


@register
@dataclass(frozen=True)
class NegativeBinomialNLL(CountGLM):
    r"""Negative binomial (NB2) negative log-likelihood with mean ``y_pred`` = mu and dispersion ``theta``.

    .. math::
        -\ell = \log\Gamma(y+\theta) - \log\Gamma(\theta) - \log\Gamma(y+1)
        + \theta\log\frac{\theta}{\theta+\mu} + y\log\frac{\mu}{\theta+\mu}

    Variance :math:`\mu + \mu^2/\theta`; ``theta`` is the "size" of
    ``scipy.stats.nbinom(n=theta, p=theta/(theta+mu))`` (statsmodels'
    ``alpha`` is ``1/theta``). As :math:`\theta\to\infty` the loss tends to
    :func:`PoissonNLL`; the implementation switches to a Stirling/``log1p``
    form there, so ``theta=1e8`` matches the Poisson to ~1e-8 instead of
    losing every digit to ``lgamma(1e8)``.

    Parameters
    ----------
    theta : float, default 1.0
        Dispersion (> 0). A per-element array may be passed at call time as
        ``theta=`` (e.g. one per gene, as in scVI); it overrides this value.
    allow_fractional : bool, default False
        Accept non-integer non-negative targets.

    ``grad`` (with respect to mu) is :math:`(\theta+y)/(\theta+\mu) - y/\mu`.
    ``l2kit.fit(X, y, loss=NegativeBinomialNLL())`` fits a log-link NB GLM and
    estimates theta jointly by maximum likelihood.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import stats
    >>> y, mu, th = np.array([0, 3, 10]), np.array([0.5, 2.0, 12.0]), 2.5
    >>> ref = -stats.nbinom.logpmf(y, th, th / (th + mu))
    >>> bool(np.allclose(NegativeBinomialNLL(theta=th)(y, mu, reduction="none"), ref))
    True
    """

    theta: float = 1.0
    allow_fractional: bool = False

    name = "negative_binomial_nll"
    aliases = ("negative_binomial", "nb", "nb2", "negbin")
    convex = False
    smooth = True
    call_kwargs = ("theta",)

    glm_blocks: ClassVar[tuple[str, ...]] = ("mean", "dispersion")

    def glm_start(self):
        return PoissonNLL(allow_fractional=self.allow_fractional)

    def glm_fixed(self):
        return {"dispersion": math.log(self.theta)}

    def glm_start_values(self, y, w, lin, estimate):
        if not estimate["dispersion"]:
            return self.glm_fixed()
        # moment start from the Poisson fit: Var = mu + mu^2 / theta
        mu = np.exp(lin["mean"])
        excess = float(w @ ((y - mu) ** 2 - mu)) / float(w @ (mu ** 2))
        th0 = 1.0 / excess if excess > 1e-8 else 1e8
        return {"dispersion": math.log(min(max(th0, 1e-4), 1e8))}

    def glm_terms(self, y, lin, need=True, value=True):
        eta, tau = lin["mean"], lin["dispersion"]
        if abs(tau) > _MAX_LOG_THETA or np.max(eta) > _MAX_ETA:
            return None
        theta = math.exp(tau)
        mu = np.exp(eta)
        if value == "kernel":   # less log(y!), by scipy's lgamma (the exact form below avoids its cancellation)
            ll = y * eta - (y + theta) * np.log(theta + mu) + _theta_terms(y, tau)
        else:
            ll = -nb_nll(_np(), y, mu, np.full(y.shape, theta)) if value else None
        if not need:
            return ll, None, None
        if need is not True and "dispersion" not in need:   # theta held fixed: no digamma/trigamma terms
            tm = theta + mu
            return ll, {"mean": theta * (y - mu) / tm}, {("mean", "mean"): -theta * mu * (theta + y) / (tm * tm)}
        g_e, g_t, h_ee, h_et, h_tt = nb_log_terms(y, mu, theta)
        return ll, {"mean": g_e, "dispersion": g_t}, {("mean", "mean"): h_ee, ("mean", "dispersion"): h_et,
                                                       ("dispersion", "dispersion"): h_tt}

    def glm_variance(self, mu, lin, **data):
        """:math:`\\mu + \\mu^2/\\theta` at the current :math:`\\theta`."""
        return mu + mu * mu / math.exp(lin["dispersion"])

    def glm_unit_deviance(self, y, mu, lin, **data):
        """:math:`2[y\\log(y/\\mu) - (y+\\theta)\\log\\frac{y+\\theta}{\\mu+\\theta}]` (MASS's)."""
        th = math.exp(lin["dispersion"])
        return 2 * (xlogy_ratio(y, mu) - (y + th) * np.log((y + th) / (mu + th)))

    def glm_boundary(self, lin):
        """theta -> infinity: the variance mu + mu^2/theta is the Poisson one to 1e-6 in every row."""
        mu_max = float(np.max(np.exp(lin["mean"])))
        if mu_max / math.exp(lin["dispersion"]) < _BOUNDARY:
            return (f"theta went to infinity (theta = {math.exp(lin['dispersion']):.3g}): the data show no "
                    "overdispersion and the negative binomial is the Poisson model; use PoissonNLL")
        return None

    def __post_init__(self):
        positive_param("NegativeBinomialNLL", "theta", self.theta)

    def _check_domain(self, xp, y_true, y_pred):
        check_counts(xp, y_true, type(self).__name__, self.allow_fractional)
        check_positive_mean(xp, y_pred, type(self).__name__)

    def _prepare_kwargs(self, v, kwargs):
        return {"theta": param_array(v, kwargs.get("theta", self.theta), "theta", type(self).__name__,
                                      positive=True)}

    def _elementwise(self, xp, y_true, y_pred, theta):
        return nb_nll(xp, y_true, y_pred, theta)

    def _grad(self, xp, y_true, y_pred, theta):
        return nb_grad(xp, y_true, y_pred, theta)

    @classmethod
    def _example(cls, rng, n=7):
        return cls(theta=2.5), rng.poisson(3.0, size=n).astype(float), rng.uniform(0.5, 5.0, size=n), {}


@register
@dataclass(frozen=True)
class ZINB(CountGLM):
    r"""Zero-inflated negative binomial negative log-likelihood.

    With inflation probability :math:`\pi = \sigma(\text{pi\_logit})`:

    .. math::
        p(0) = \pi + (1-\pi)\,\mathrm{NB}(0;\mu,\theta), \qquad
        p(y) = (1-\pi)\,\mathrm{NB}(y;\mu,\theta)\ (y > 0),

    and :math:`\ell = -\log p(y)`, computed with ``softplus``/``logaddexp``
    forms so that logits of any size are safe.

    Parameters
    ----------
    theta : float, default 1.0
        NB dispersion (> 0); may be overridden per element at call time with
        ``theta=``.
    pi_logit : float, default 0.0
        Logit of the inflation probability; may be overridden per element at
        call time with ``pi_logit=`` (e.g. a network's second head).
    allow_fractional : bool, default False

    ``grad`` is with respect to mu. ``l2kit.fit(X, y, loss=ZINB())`` fits a
    log-link NB mean with a logit-link inflation part (intercept-only, or its
    own design via ``inflation_X=``), estimating theta too.

    Examples
    --------
    >>> import numpy as np
    >>> loss = ZINB(theta=2.0, pi_logit=-1.0)
    >>> p0 = 1 / (1 + np.exp(1.0))
    >>> ref = -np.log(p0 + (1 - p0) * (2.0 / 3.0) ** 2)   # NB(0; mu=1, theta=2) = (2/3)^2
    >>> bool(np.isclose(loss(np.array([0.0]), np.array([1.0])), ref))
    True
    """

    theta: float = 1.0
    pi_logit: float = 0.0
    allow_fractional: bool = False

    name = "zinb"
    aliases = ("zero_inflated_negative_binomial",)
    convex = False
    smooth = True
    call_kwargs = ("theta", "pi_logit")

    glm_blocks: ClassVar[tuple[str, ...]] = ("mean", "inflation", "dispersion")
    glm_exponential: ClassVar[bool] = False

    def glm_start(self):
        return NegativeBinomialNLL(theta=self.theta, allow_fractional=self.allow_fractional)

    def glm_fixed(self):
        return {"dispersion": math.log(self.theta)}

    def glm_start_values(self, y, w, lin, estimate):
        # the inflation probability from the zeros the NB fit leaves unexplained
        theta = math.exp(lin["dispersion"])
        p0 = np.exp(-theta * np.log1p(np.exp(lin["mean"]) / theta))
        pi0 = min(max((float(w @ (y == 0)) - float(w @ p0)) / float(w.sum()), 0.02), 0.9)
        return {"inflation": math.log(pi0 / (1 - pi0))}

    def glm_mean(self, lin):
        """The mixture mean :math:`(1-\\pi)\\mu`."""
        return sigmoid(np, -lin["inflation"]) * np.exp(lin["mean"])

    def glm_terms(self, y, lin, need=True, value=True):
        eta, zeta, tau = lin["mean"], lin["inflation"], lin["dispersion"]
        if abs(tau) > _MAX_LOG_THETA:
            return None
        th = math.exp(tau)
        mu = np.exp(eta)
        if not np.all(np.isfinite(mu)):
            return None
        zero = y == 0
        log_pi, log_1mpi = -softplus(np, -zeta), -softplus(np, zeta)
        log_p0 = -th * np.log1p(mu / th)
        log_mix0 = np.logaddexp(log_pi, log_1mpi + log_p0)
        ll = np.where(zero, log_mix0, log_1mpi - nb_nll(_np(), y, mu, np.full(y.shape, th))) if value else None
        if not need:
            return ll, None, None
        pi = sigmoid(np, zeta)
        tm = th + mu
        # y > 0: log(1 - pi) + the NB log-likelihood
        g_e, g_t, h_ee, h_et, h_tt = nb_log_terms(y, mu, th)
        # y == 0: log(pi + (1-pi) p0) = logaddexp(a, b), a = log pi, b = log(1-pi) + L, L = log p0
        s0 = np.exp(log_pi - log_mix0)              # inflation share of the zero
        r0 = np.exp(log_1mpi + log_p0 - log_mix0)   # NB share of the zero
        L_e = -th * mu / tm
        L_t = th * (-np.log1p(mu / th) + mu / tm)
        L_ee = -th * th * mu / tm ** 2
        L_et = -th * mu * mu / tm ** 2
        L_tt = th * th * (1 / th - 1 / tm - mu / tm ** 2) + L_t
        sr = s0 * r0
        grads = {"mean": np.where(zero, r0 * L_e, g_e), "inflation": np.where(zero, s0 * (1 - pi) - r0 * pi, -pi),
                 "dispersion": np.where(zero, r0 * L_t, g_t)}
        hess = {("mean", "mean"): np.where(zero, r0 * L_ee + sr * L_e * L_e, h_ee),
                ("mean", "inflation"): np.where(zero, -sr * L_e, 0.0),
                ("mean", "dispersion"): np.where(zero, r0 * L_et + sr * L_e * L_t, h_et),
                ("inflation", "inflation"): np.where(zero, -pi * (1 - pi) + sr, -pi * (1 - pi)),
                ("inflation", "dispersion"): np.where(zero, -sr * L_t, 0.0),
                ("dispersion", "dispersion"): np.where(zero, r0 * L_tt + sr * L_t * L_t, h_tt)}
        return ll, grads, hess

    def glm_variance(self, mu, lin, **data):
        """The mixture variance :math:`(1-\\pi)\\mu\\,(1 + \\mu(\\pi + 1/\\theta))` (pscl's Pearson residuals)."""
        pi, m = sigmoid(np, lin["inflation"]), np.exp(lin["mean"])   # mu here is the mixture mean (1 - pi) m
        return (1 - pi) * m * (1 + m * (pi + 1 / math.exp(lin["dispersion"])))

    def glm_boundary(self, lin):
        """pi -> 0 in every row: no zero inflation (the MLE is on the boundary, the NB model)."""
        pi_max = float(np.max(sigmoid(np, lin["inflation"])))
        if pi_max < _BOUNDARY:
            return (f"the zero-inflation probability went to 0 (largest pi = {pi_max:.2g}): the data have no "
                    "excess zeros and the inflation part is not identified; use NegativeBinomialNLL (the same "
                    "log-likelihood)")
        return None

    def __post_init__(self):
        positive_param("ZINB", "theta", self.theta)
        if not (isinstance(self.pi_logit, (int, float, np.floating, np.integer)) and math.isfinite(self.pi_logit)):
            raise InputError("ZINB(pi_logit=...)", "a finite real logit", repr(self.pi_logit),
                             "pass e.g. ZINB(pi_logit=-2.0)")

    def _check_domain(self, xp, y_true, y_pred):
        check_counts(xp, y_true, "ZINB", self.allow_fractional)
        check_positive_mean(xp, y_pred, "ZINB")

    def _prepare_kwargs(self, v, kwargs):
        theta = param_array(v, kwargs.get("theta", self.theta), "theta", "ZINB", positive=True)
        logit = param_array(v, kwargs.get("pi_logit", self.pi_logit), "pi_logit", "ZINB", positive=False)
        if any_true(v.xp, ~v.xp.isfinite(logit)):
            raise InputError("pi_logit", "finite logits", "NaN or inf", "clip the logits")
        return {"theta": theta, "pi_logit": logit}

    @staticmethod
    def _parts(xp, y_true, y_pred, theta, pi_logit):
        log_pi = -softplus(xp, -pi_logit)
        log_1mpi = -softplus(xp, pi_logit)
        log_nb0 = -theta * xp.log1p(y_pred / theta)
        a, b = log_pi, log_1mpi + log_nb0
        m = xp.maximum(a, b)
        log_p0 = m + xp.log1p(xp.exp(-xp.abs(a - b)))
        return log_1mpi, log_nb0, log_p0

    def _elementwise(self, xp, y_true, y_pred, theta, pi_logit):
        log_1mpi, _, log_p0 = self._parts(xp, y_true, y_pred, theta, pi_logit)
        zero = y_true == 0
        return xp.where(zero, -log_p0, nb_nll(xp, y_true, y_pred, theta) - log_1mpi)

    def _grad(self, xp, y_true, y_pred, theta, pi_logit):
        log_1mpi, log_nb0, log_p0 = self._parts(xp, y_true, y_pred, theta, pi_logit)
        g0 = xp.exp(log_1mpi + log_nb0 - log_p0) * theta / (theta + y_pred)
        return xp.where(y_true == 0, g0, nb_grad(xp, y_true, y_pred, theta))

    @classmethod
    def _example(cls, rng, n=7):
        y = rng.poisson(2.0, size=n).astype(float)
        y[::3] = 0.0
        return cls(theta=1.5, pi_logit=-0.5), y, rng.uniform(0.5, 5.0, size=n), {}
