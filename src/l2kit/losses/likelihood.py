r"""Likelihood losses: heteroscedastic Gaussian, Poisson, negative binomial and zero-inflated NB.

Each loss is a negative log-likelihood, elementwise, with the same call
signature as every other loss: ``loss(y_true, y_pred, *, weights=None,
reduction="mean", **call_kwargs)``. ``y_pred`` is the mean (``mu``) of the
distribution, or its logarithm for ``PoissonNLL(log_input=True)``.

The count losses are *exact* negative log-pmfs (they equal
``-scipy.stats.poisson.logpmf`` / ``-nbinom.logpmf``) and stay accurate where a
naive ``lgamma`` formula loses digits:

* the Poisson part uses Loader's saddle-point form
  :math:`-\log p(y;\mu) = \tfrac12\log(2\pi y) + \mathrm{stirlerr}(y) + \mathrm{bd0}(y, \mu)`
  (as R's ``dpois``), so counts up to 1e6 and means down to 1e-12 keep full
  relative accuracy;
* the negative binomial switches to a form built on
  :math:`\log\Gamma(y+\theta) - \log\Gamma(\theta) - y\log\theta` computed by
  Stirling series and ``log1p`` when :math:`\theta` is large, so
  :math:`\theta \to \infty` (tested up to 1e8) tends smoothly to the Poisson
  instead of cancelling two numbers near :math:`10^9`.

Kernels use only array-API calls plus ``lgamma`` (looked up per library), so
torch autograd and JAX transformations work.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .._array import InputError, is_traced, to_numpy
from ._base import Loss, positive_param
from ._registry import register

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)

__all__ = ["GaussianNLL", "NegativeBinomialNLL", "PoissonNLL", "ZINB"]


# ---------------------------------------------------------------------------
# special functions on any array namespace
# ---------------------------------------------------------------------------
def gammaln(xp, x):
    """``log Gamma(x)`` for an array of namespace ``xp`` (torch, JAX, CuPy, NumPy, others via NumPy)."""
    name = getattr(xp, "__name__", "")
    if "torch" in name:
        import torch

        return torch.special.gammaln(x)
    if "jax" in name:
        import jax.scipy.special as jss

        return jss.gammaln(x)
    if "cupy" in name:  # pragma: no cover - no GPU in CI
        import cupyx.scipy.special as cps

        return cps.gammaln(x)
    from scipy.special import gammaln as _g

    if isinstance(x, np.ndarray) or "numpy" in name:
        return _g(x)
    return xp.asarray(_g(to_numpy(x)), dtype=x.dtype)


def softplus(xp, x):
    """``log(1 + exp(x))`` without overflow: ``max(x, 0) + log1p(exp(-|x|))``."""
    return xp.maximum(x, xp.zeros_like(x)) + xp.log1p(xp.exp(-xp.abs(x)))


def sigmoid(xp, x):
    """Logistic function, overflow-free on both tails (no inf in either branch of ``where``)."""
    z = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + z), z / (1 + z))


def _lgamma_corr(xp, x):
    r"""Stirling remainder :math:`\log\Gamma(x) - (x-\tfrac12)\log x + x - \tfrac12\log 2\pi`, for x >= 10."""
    u = 1 / x
    u2 = u * u
    return u * (1 / 12 + u2 * (-1 / 360 + u2 * (1 / 1260 + u2 * (-1 / 1680 + u2 * (1 / 1188)))))


def _stirlerr(xp, y):
    r""":math:`\log\Gamma(y+1) - (y+\tfrac12)\log y + y - \tfrac12\log 2\pi` for y > 0 (Loader 2000)."""
    big = y >= 15
    ys = xp.where(big, y, xp.full_like(y, 15.0))
    series = _lgamma_corr(xp, ys)
    ysmall = xp.where(big, xp.ones_like(y), y)
    direct = gammaln(xp, ysmall + 1) - (ysmall + 0.5) * xp.log(ysmall) + ysmall - _HALF_LOG_2PI
    return xp.where(big, series, direct)


def _bd0(xp, y, mu, logmu):
    r"""Deviance term :math:`y\log(y/\mu) + \mu - y` for y > 0, without cancellation near y = mu."""
    d = (y - mu) / mu
    small = xp.abs(d) < 0.1
    ds = xp.where(small, d, xp.zeros_like(d))
    # (1+d)log1p(d) - d = sum_{k>=2} (-1)^k d^k / (k(k-1))
    s = xp.zeros_like(d)
    for k in range(17, 1, -1):   # Horner: s = sum_k c_k d^(k-1); one more factor d below
        s = ds * (s + (-1.0) ** k / (k * (k - 1)))
    series = mu * s * ds
    direct = y * (xp.log(y) - logmu) + mu - y
    return xp.where(small, series, direct)


def _poisson_nll(xp, y, mu, logmu):
    """Exact ``-log Poisson(y; mu)``: Loader's form for y > 0, ``mu`` at y = 0."""
    pos = y > 0
    ys = xp.where(pos, y, xp.ones_like(y))
    val = 0.5 * xp.log(ys) + _HALF_LOG_2PI + _stirlerr(xp, ys) + _bd0(xp, ys, mu, logmu)
    return xp.where(pos, val, mu)


def _lgamma_diff_yplus1(xp, y, theta):
    r""":math:`\log\Gamma(y+\theta) - \log\Gamma(y+1)`, by Stirling when y >= 9 (no 1e7-sized cancellation)."""
    big = y >= 9
    yb = xp.where(big, y, xp.full_like(y, 9.0))
    tb = xp.where(big, theta, xp.ones_like(theta))
    stir = ((yb + 0.5) * xp.log1p((tb - 1) / (yb + 1)) + (tb - 1) * xp.log(yb + tb) - (tb - 1)
            + _lgamma_corr(xp, yb + tb) - _lgamma_corr(xp, yb + 1))
    direct = gammaln(xp, y + theta) - gammaln(xp, y + 1)
    return xp.where(big, stir, direct)


def _nb_nll(xp, y, mu, theta):
    r"""Exact ``-log NB(y; mean mu, size theta)``, accurate from theta ~ 1e-3 to theta ~ 1e8 (-> Poisson)."""
    big = (theta >= 10) & (theta >= y) & (theta >= mu)
    # form P (theta large): Poisson part + correction that vanishes as theta -> inf
    tb = xp.where(big, theta, xp.full_like(theta, 1e3))
    yb = xp.where(big, y, xp.zeros_like(y))
    mb = xp.where(big, mu, xp.ones_like(mu))
    a = ((tb + yb - 0.5) * xp.log1p(yb / tb) - yb
         + _lgamma_corr(xp, tb + yb) - _lgamma_corr(xp, tb))   # lgamma(y+t) - lgamma(t) - y log t
    corr = a + mb - (tb + yb) * xp.log1p(mb / tb)
    form_p = _poisson_nll(xp, yb, mb, xp.log(mb)) - corr
    # form D (general): -[lgamma(y+t) - lgamma(y+1) - lgamma(t) - t log1p(mu/t) - y log1p(t/mu)]
    ts = xp.where(big, xp.ones_like(theta), theta)
    form_d = -(_lgamma_diff_yplus1(xp, y, ts) - gammaln(xp, ts)
               - ts * xp.log1p(mu / ts) - y * xp.log1p(ts / mu))
    return xp.where(big, form_p, form_d)


def _nb_grad(xp, y, mu, theta):
    """d/dmu of the NB negative log-likelihood: (theta + y)/(theta + mu) - y/mu."""
    return (theta + y) / (theta + mu) - y / mu


# ---------------------------------------------------------------------------
# shared validation
# ---------------------------------------------------------------------------
def _any(xp, pred) -> bool:
    """``any(pred)`` for a value check; False under JAX tracing, where values cannot be inspected."""
    return not is_traced(pred) and bool(xp.any(pred))


def _check_counts(xp, y, owner: str, allow_fractional: bool) -> None:
    if bool(xp.any(y < 0)):
        n = int(xp.sum(xp.astype(y < 0, xp.int64)))
        raise InputError("y_true", f"non-negative counts for {owner}", f"{n} negative value(s), minimum "
                         f"{float(xp.min(y)):g}", "counts cannot be negative; check the target column")
    if not allow_fractional and bool(xp.any(y != xp.floor(y))):
        n = int(xp.sum(xp.astype(y != xp.floor(y), xp.int64)))
        raise InputError("y_true", f"integer counts for {owner}", f"{n} non-integer value(s)",
                         f"round the counts, or pass {owner}(allow_fractional=True) for a quasi-likelihood")


def _check_positive_mean(xp, mu, owner: str, name: str = "y_pred") -> None:
    if bool(xp.any(~(mu > 0))):
        bad = ~(mu > 0)
        n = int(xp.sum(xp.astype(bad, xp.int64)))
        raise InputError(name, f"a positive mean mu > 0 for {owner}", f"{n} value(s) <= 0 or NaN, minimum "
                         f"{float(xp.min(mu)):g}", "predict the mean through exp(), or pass log-means with "
                         "log_input=True" if owner == "PoissonNLL" else "predict the mean through exp() or softplus()")


def _param_array(v, value, name: str, owner: str, *, positive: bool):
    """Convert a call keyword (scalar, or array of y_true's shape) to the compute dtype; never broadcast."""
    xp = v.xp
    dtype = v.y_true.dtype
    if hasattr(value, "shape") and tuple(value.shape) not in ((), tuple(v.y_true.shape)):
        raise InputError(name, f"a scalar or an array of shape {tuple(v.y_true.shape)} like y_true",
                         f"shape {tuple(value.shape)}", f"pass one {name} per element (l2kit never broadcasts)")
    if not hasattr(value, "shape"):
        if isinstance(value, (list, tuple)):
            value = xp.asarray(value, dtype=dtype)
            if tuple(value.shape) != tuple(v.y_true.shape):
                raise InputError(name, f"a scalar or shape {tuple(v.y_true.shape)}", f"shape {tuple(value.shape)}",
                                 f"pass one {name} per element")
        else:
            value = xp.full(v.y_true.shape, float(value), dtype=dtype)
    else:
        from .._array import array_namespace

        array_namespace(v.y_true, value)  # refuses mixing libraries
        value = xp.astype(value, dtype) if value.dtype != dtype else value
        if tuple(value.shape) == ():
            value = xp.full(v.y_true.shape, float(value), dtype=dtype)
    if positive and _any(xp, ~(value > 0)):
        raise InputError(name, f"positive values for {owner}", f"minimum {float(xp.min(value)):g}",
                         f"{name} must be > 0; pass e.g. {name}=1.0")
    return value


# ---------------------------------------------------------------------------
# losses
# ---------------------------------------------------------------------------
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
    fit_family: ClassVar[str | None] = "gradient"

    def __post_init__(self):
        positive_param("GaussianNLL", "eps", self.eps)

    def _prepare_kwargs(self, v, kwargs):
        if "var" not in kwargs:
            raise InputError("var", "the predicted variance (var=...)", "nothing", "call loss(y_true, y_pred, var=v)")
        var = _param_array(v, kwargs["var"], "var", "GaussianNLL", positive=False)
        xp = v.xp
        if _any(xp, var < 0):
            raise InputError("var", "non-negative variances", f"minimum {float(xp.min(var)):g}",
                             "predict the variance through softplus() or exp()")
        return {"var": xp.maximum(var, xp.full_like(var, self.eps))}

    def _elementwise(self, xp, y_true, y_pred, var):
        r = y_true - y_pred
        out = 0.5 * (xp.log(var) + r * r / var)
        return out + _HALF_LOG_2PI if self.full else out

    def _grad(self, xp, y_true, y_pred, var):
        return (y_pred - y_true) / var

    @classmethod
    def _example(cls, rng, n=7):
        return cls(), rng.normal(size=n), rng.normal(size=n), {"var": rng.uniform(0.5, 2.0, size=n)}


@register
@dataclass(frozen=True)
class PoissonNLL(Loss):
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
    fit_family: ClassVar[str | None] = "glm"

    def _check_domain(self, xp, y_true, y_pred):
        _check_counts(xp, y_true, "PoissonNLL", self.allow_fractional)
        if not self.log_input:
            _check_positive_mean(xp, y_pred, "PoissonNLL")

    def _mu(self, xp, y_pred):
        if self.log_input:
            return xp.exp(y_pred), y_pred
        return y_pred, xp.log(y_pred)

    def _elementwise(self, xp, y_true, y_pred):
        mu, logmu = self._mu(xp, y_pred)
        if not self.full:
            return mu - y_true * logmu
        return _poisson_nll(xp, y_true, mu, logmu)

    def _grad(self, xp, y_true, y_pred):
        mu, _ = self._mu(xp, y_pred)
        return mu - y_true if self.log_input else 1 - y_true / mu

    @classmethod
    def _example(cls, rng, n=7):
        return cls(), rng.poisson(3.0, size=n).astype(float), rng.uniform(0.5, 5.0, size=n), {}


@register
@dataclass(frozen=True)
class NegativeBinomialNLL(Loss):
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
    fit_family: ClassVar[str | None] = "glm"

    def __post_init__(self):
        positive_param("NegativeBinomialNLL", "theta", self.theta)

    def _check_domain(self, xp, y_true, y_pred):
        _check_counts(xp, y_true, type(self).__name__, self.allow_fractional)
        _check_positive_mean(xp, y_pred, type(self).__name__)

    def _prepare_kwargs(self, v, kwargs):
        return {"theta": _param_array(v, kwargs.get("theta", self.theta), "theta", type(self).__name__,
                                      positive=True)}

    def _elementwise(self, xp, y_true, y_pred, theta):
        return _nb_nll(xp, y_true, y_pred, theta)

    def _grad(self, xp, y_true, y_pred, theta):
        return _nb_grad(xp, y_true, y_pred, theta)

    @classmethod
    def _example(cls, rng, n=7):
        return cls(theta=2.5), rng.poisson(3.0, size=n).astype(float), rng.uniform(0.5, 5.0, size=n), {}


@register
@dataclass(frozen=True)
class ZINB(Loss):
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
    fit_family: ClassVar[str | None] = "glm"

    def __post_init__(self):
        positive_param("ZINB", "theta", self.theta)
        if not (isinstance(self.pi_logit, (int, float, np.floating, np.integer)) and math.isfinite(self.pi_logit)):
            raise InputError("ZINB(pi_logit=...)", "a finite real logit", repr(self.pi_logit),
                             "pass e.g. ZINB(pi_logit=-2.0)")

    def _check_domain(self, xp, y_true, y_pred):
        _check_counts(xp, y_true, "ZINB", self.allow_fractional)
        _check_positive_mean(xp, y_pred, "ZINB")

    def _prepare_kwargs(self, v, kwargs):
        theta = _param_array(v, kwargs.get("theta", self.theta), "theta", "ZINB", positive=True)
        logit = _param_array(v, kwargs.get("pi_logit", self.pi_logit), "pi_logit", "ZINB", positive=False)
        if _any(v.xp, ~v.xp.isfinite(logit)):
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
        return xp.where(zero, -log_p0, _nb_nll(xp, y_true, y_pred, theta) - log_1mpi)

    def _grad(self, xp, y_true, y_pred, theta, pi_logit):
        log_1mpi, log_nb0, log_p0 = self._parts(xp, y_true, y_pred, theta, pi_logit)
        g0 = xp.exp(log_1mpi + log_nb0 - log_p0) * theta / (theta + y_pred)
        return xp.where(y_true == 0, g0, _nb_grad(xp, y_true, y_pred, theta))

    @classmethod
    def _example(cls, rng, n=7):
        y = rng.poisson(2.0, size=n).astype(float)
        y[::3] = 0.0
        return cls(theta=1.5, pi_logit=-0.5), y, rng.uniform(0.5, 5.0, size=n), {}
