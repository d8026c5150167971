r"""Special functions for the likelihood losses, on any array namespace.

The count kernels are *exact* negative log-pmfs (they equal
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

import numpy as np

from .._array import to_numpy

HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def gammaln(xp, x):
    """``log Gamma(x)`` for an array of namespace ``xp`` (torch, JAX, CuPy, NumPy, others via NumPy)."""
    name = getattr(xp, "__name__", "")
    if name == "l2kit.keras.ops":  # the keras.ops namespace of l2kit.keras (TensorFlow backend)
        return xp.lgamma(x)
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
    direct = gammaln(xp, ysmall + 1) - (ysmall + 0.5) * xp.log(ysmall) + ysmall - HALF_LOG_2PI
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


def poisson_nll(xp, y, mu, logmu):
    """Exact ``-log Poisson(y; mu)``: Loader's form for y > 0, ``mu`` at y = 0."""
    pos = y > 0
    ys = xp.where(pos, y, xp.ones_like(y))
    val = 0.5 * xp.log(ys) + HALF_LOG_2PI + _stirlerr(xp, ys) + _bd0(xp, ys, mu, logmu)
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


def nb_nll(xp, y, mu, theta):
    r"""Exact ``-log NB(y; mean mu, size theta)``, accurate from theta ~ 1e-3 to theta ~ 1e8 (-> Poisson)."""
    big = (theta >= 10) & (theta >= y) & (theta >= mu)
    # form P (theta large): Poisson part + correction that vanishes as theta -> inf
    tb = xp.where(big, theta, xp.full_like(theta, 1e3))
    yb = xp.where(big, y, xp.zeros_like(y))
    mb = xp.where(big, mu, xp.ones_like(mu))
    a = ((tb + yb - 0.5) * xp.log1p(yb / tb) - yb
         + _lgamma_corr(xp, tb + yb) - _lgamma_corr(xp, tb))   # lgamma(y+t) - lgamma(t) - y log t
    corr = a + mb - (tb + yb) * xp.log1p(mb / tb)
    form_p = poisson_nll(xp, yb, mb, xp.log(mb)) - corr
    # form D (general): -[lgamma(y+t) - lgamma(y+1) - lgamma(t) - t log1p(mu/t) - y log1p(t/mu)]
    ts = xp.where(big, xp.ones_like(theta), theta)
    form_d = -(_lgamma_diff_yplus1(xp, y, ts) - gammaln(xp, ts)
               - ts * xp.log1p(mu / ts) - y * xp.log1p(ts / mu))
    return xp.where(big, form_p, form_d)


def nb_grad(xp, y, mu, theta):
    """d/dmu of the NB negative log-likelihood: (theta + y)/(theta + mu) - y/mu."""
    return (theta + y) / (theta + mu) - y / mu
