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


def _piecewise(xp, cond, if_true, if_false, args, fills):
    r"""``where(cond, if_true(xp, *args), if_false(xp, *args))``, each branch at rows where it is finite.

    ``fills`` gives, per branch, a stand-in value for each argument (None: the
    argument as is) at the rows the branch does not own, so that array-API
    libraries (torch autograd, JAX) evaluate both branches on every row without
    overflow. NumPy arrays of one shape take the fast route instead: each
    branch runs on its own rows only (the same values, at about half the work
    when both branches are long series).
    """
    if isinstance(cond, np.ndarray) and all(isinstance(a, np.ndarray) and a.shape == cond.shape for a in args):
        out = np.empty(cond.shape, dtype=np.result_type(*args))
        for rows, branch in ((cond, if_true), (~cond, if_false)):
            if rows.any():
                out[rows] = branch(xp, *(a[rows] for a in args))
        return out
    a_true = [a if v is None else xp.where(cond, a, xp.full_like(a, v)) for a, v in zip(args, fills[0])]
    a_false = [a if v is None else xp.where(cond, xp.full_like(a, v), a) for a, v in zip(args, fills[1])]
    return xp.where(cond, if_true(xp, *a_true), if_false(xp, *a_false))


def _stirlerr_direct(xp, y):
    return gammaln(xp, y + 1) - (y + 0.5) * xp.log(y) + y - HALF_LOG_2PI


def _stirlerr(xp, y):
    r""":math:`\log\Gamma(y+1) - (y+\tfrac12)\log y + y - \tfrac12\log 2\pi` for y > 0 (Loader 2000)."""
    return _piecewise(xp, y >= 15, _lgamma_corr, _stirlerr_direct, (y,), ((15.0,), (1.0,)))


def _bd0_series(xp, y, mu, logmu, d):
    # (1+d)log1p(d) - d = sum_{k>=2} (-1)^k d^k / (k(k-1))
    s = xp.zeros_like(d)
    for k in range(17, 1, -1):   # Horner: s = sum_k c_k d^(k-1); one more factor d below
        s = d * (s + (-1.0) ** k / (k * (k - 1)))
    return mu * s * d


def _bd0_direct(xp, y, mu, logmu, d):
    return y * (xp.log(y) - logmu) + mu - y


def _bd0(xp, y, mu, logmu):
    r"""Deviance term :math:`y\log(y/\mu) + \mu - y` for y > 0, without cancellation near y = mu."""
    d = (y - mu) / mu
    return _piecewise(xp, xp.abs(d) < 0.1, _bd0_series, _bd0_direct, (y, mu, logmu, d),
                      ((None, None, None, 0.0), (None, None, None, None)))


def _poisson_pos(xp, y, mu, logmu):
    return 0.5 * xp.log(y) + HALF_LOG_2PI + _stirlerr(xp, y) + _bd0(xp, y, mu, logmu)


def _poisson_zero(xp, y, mu, logmu):
    return mu


def poisson_nll(xp, y, mu, logmu):
    """Exact ``-log Poisson(y; mu)``: Loader's form for y > 0, ``mu`` at y = 0."""
    return _piecewise(xp, y > 0, _poisson_pos, _poisson_zero, (y, mu, logmu), ((1.0, None, None), (None, None, None)))


def _lgamma_diff_stirling(xp, y, theta):
    return ((y + 0.5) * xp.log1p((theta - 1) / (y + 1)) + (theta - 1) * xp.log(y + theta) - (theta - 1)
            + _lgamma_corr(xp, y + theta) - _lgamma_corr(xp, y + 1))


def _lgamma_diff_direct(xp, y, theta):
    return gammaln(xp, y + theta) - gammaln(xp, y + 1)


def _lgamma_diff_yplus1(xp, y, theta):
    r""":math:`\log\Gamma(y+\theta) - \log\Gamma(y+1)`, by Stirling when y >= 9 (no 1e7-sized cancellation)."""
    return _piecewise(xp, y >= 9, _lgamma_diff_stirling, _lgamma_diff_direct, (y, theta), ((9.0, 1.0), (None, None)))


def _nb_form_p(xp, y, mu, theta):
    # theta large: the Poisson part and a correction that vanishes as theta -> inf
    a = ((theta + y - 0.5) * xp.log1p(y / theta) - y
         + _lgamma_corr(xp, theta + y) - _lgamma_corr(xp, theta))   # lgamma(y+t) - lgamma(t) - y log t
    corr = a + mu - (theta + y) * xp.log1p(mu / theta)
    return poisson_nll(xp, y, mu, xp.log(mu)) - corr


def _nb_form_d(xp, y, mu, theta):
    # general: -[lgamma(y+t) - lgamma(y+1) - lgamma(t) - t log1p(mu/t) - y log1p(t/mu)]
    return -(_lgamma_diff_yplus1(xp, y, theta) - gammaln(xp, theta)
             - theta * xp.log1p(mu / theta) - y * xp.log1p(theta / mu))


def nb_nll(xp, y, mu, theta):
    r"""Exact ``-log NB(y; mean mu, size theta)``, accurate from theta ~ 1e-3 to theta ~ 1e8 (-> Poisson)."""
    big = (theta >= 10) & (theta >= y) & (theta >= mu)
    return _piecewise(xp, big, _nb_form_p, _nb_form_d, (y, mu, theta), ((0.0, 1.0, 1e3), (None, None, 1.0)))


def nb_grad(xp, y, mu, theta):
    """d/dmu of the NB negative log-likelihood: (theta + y)/(theta + mu) - y/mu."""
    return (theta + y) / (theta + mu) - y / mu
