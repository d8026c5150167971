r"""Residual kinds and prediction intervals of a :class:`~l2kit.linear.Fit` (R's definitions).

With fitted means :math:`\mu_i`, linear predictor :math:`\eta_i`, variance
function :math:`V` (at unit dispersion, prior weights such as binomial trials
included), unit deviance :math:`d_i`, dispersion :math:`\phi` and leverage
:math:`h_i`:

=============== ===============================================================================
kind            residual
=============== ===============================================================================
"response"      :math:`y_i - \mu_i`
"working"       :math:`(y_i - \mu_i)\,/\,(d\mu/d\eta)_i`
"pearson"       :math:`(y_i - \mu_i)/\sqrt{V(\mu_i)}`
"deviance"      :math:`\mathrm{sign}(y_i - \mu_i)\sqrt{d_i}`
"standardized"  :math:`r^D_i/\sqrt{\phi(1-h_i)}` (R's ``rstandard``)
"studentized"   :math:`\mathrm{sign}(r^D_i)\sqrt{(r^D_i)^2 + h_i (r^P_i)^2/(1-h_i)}\,/\,\hat\sigma_{(i)}` (R's
                ``rstudent``); :math:`\hat\sigma_{(i)}^2 = (\sum_j (r^D_j)^2 - (r^D_i)^2/(1-h_i))/(n-k-1)`,
                and 1 for Poisson and binomial (R's rule: the negative binomial, whose dispersion is
                also 1, is divided by it)
=============== ===============================================================================

Least squares is the Gaussian case: :math:`V = 1/w`, :math:`d_i = w_i r_i^2`,
:math:`\phi = \hat\sigma^2`, so "pearson" and "deviance" are R's weighted
residuals and "studentized" is :math:`r_i/(\hat\sigma_{(i)}\sqrt{1-h_i})`.
A kind the fit cannot give is refused with the reason.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .._errors import InputError

__all__ = ["KINDS", "Prediction", "interval", "residuals_of"]

KINDS = ("response", "working", "pearson", "deviance", "standardized", "studentized")


class Prediction(NamedTuple):
    """``Fit.predict(X, interval=...)``: the mean, the interval's bounds and the standard error of the mean."""

    mean: Any
    lower: Any
    upper: Any
    se: Any


def _refuse(kind: str, why: str):
    return InputError("kind", f"a residual kind this fit defines ({why})", repr(kind),
                      "use kind='response' (always defined)")


def residuals_of(fit, kind: str) -> np.ndarray:
    """The residuals of ``fit`` of the given kind (see the module docstring)."""
    from ..losses.links import get_link
    from ._linalg import hat_values

    if kind not in KINDS:
        raise InputError("kind", "one of " + ", ".join(map(repr, KINDS)), repr(kind), "pass e.g. kind='pearson'")
    t = fit._training
    if t is None:
        if kind == "response" and fit.residuals is not None:
            return np.array(fit.residuals)
        raise InputError("fit", "a fit that holds its training data", "a fit without them (unpickled, rebuilt by "
                         "Fit.from_dict, or streamed)", "refit in memory to get residual kinds")
    parts = t.parts()
    r = t.y - parts["fitted"]
    if kind == "response":
        return r
    if kind == "working":
        link = get_link(fit.link)
        if not link.elementwise:
            raise _refuse(kind, f"the {fit.link} link is not elementwise")
        return r / link.mu_eta(np, parts["eta"])
    var, dev = parts["variance"], parts["unit_deviance"]
    if var is None:
        raise _refuse(kind, f"{type(fit.loss).__name__} fits by {fit.method} have no variance function")
    rp = r / np.sqrt(var)
    rd = rp if dev is None else np.sign(r) * np.sqrt(np.clip(dev, 0, None))
    if kind == "pearson":
        return rp
    if kind == "deviance":
        if dev is None:
            raise _refuse(kind, f"{type(fit.loss).__name__} has no deviance")
        return rd
    hw = parts["hat_weights"]
    if hw is None or dev is None:
        raise _refuse(kind, "the leverage of this fit is undefined")
    Xa = np.column_stack([np.ones(t.X.shape[0]), t.X]) if fit.fit_intercept else t.X
    h = hat_values(Xa, hw, t.weights)
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "standardized":
            return np.where(h < 1, rd / np.sqrt(fit.scale * (1 - h)), np.nan)
        out = np.sign(rd) * np.sqrt(rd ** 2 + h * rp ** 2 / (1 - h))
        if not parts["dispersion_fixed"]:
            cw = t.case_weights
            sigma_i = np.sqrt((float(cw @ rd ** 2) - rd ** 2 / (1 - h)) / (fit.df_resid - 1))
            out = out / sigma_i
        return np.where(h < 1, out, np.nan)


def interval(fit, Xn: np.ndarray, eta: np.ndarray, kind: str, level: float) -> Prediction:
    """Confidence or prediction intervals at new rows (``Xn`` without the intercept column, ``eta`` their predictor)."""
    from scipy import stats

    from ..losses.links import get_link

    if kind not in ("confidence", "prediction"):
        raise InputError("interval", "None, 'confidence' or 'prediction'", repr(kind), "pass interval='confidence'")
    if not 0 < level < 1:
        raise InputError("level", "a number in (0, 1)", repr(level), "pass e.g. level=0.95")
    link = get_link(fit.link)
    if fit.cov_params is None or np.ndim(fit.coef) != 1 or not link.elementwise:
        raise InputError("interval", "a single-output fit with a covariance", f"a {fit.method} fit without one",
                         "intervals need standard errors (refit without the L1 penalty or on a full-rank design)")
    Xa = np.column_stack([np.ones(Xn.shape[0]), Xn]) if fit.fit_intercept else Xn
    V = np.real(np.asarray(fit.cov_params))
    var = np.einsum("ij,jk,ik->i", Xa, V, Xa)
    if kind == "prediction":
        if fit.prediction_scale is None or link.name != "identity":
            raise InputError("interval", f"'confidence' for {type(fit.loss).__name__} fits", "'prediction'",
                             "prediction intervals need a Gaussian noise model (least squares); for a GLM "
                             "simulate from the fitted distribution")
        var = var + fit.prediction_scale
    df = fit.df_resid
    q = stats.t.ppf(0.5 + level / 2, df) if fit.dist == "t" and df > 0 else stats.norm.ppf(0.5 + level / 2)
    se = np.sqrt(np.clip(var, 0, None))
    mean = link.inverse(np, eta)
    se_mean = se * np.abs(link.mu_eta(np, eta))   # the delta method: predict.glm(type="response", se.fit=TRUE)
    return Prediction(mean, link.inverse(np, eta - q * se), link.inverse(np, eta + q * se),
                      se_mean if kind == "confidence" else se)
