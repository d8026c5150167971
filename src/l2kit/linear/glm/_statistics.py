r"""Inference and statistics of a GLM fit: covariance, dispersion, deviance, null deviance, log-likelihood.

Covariance (``cov_type``, see :mod:`l2kit.linear._covariance`):

* the *bread* is the inverse information: observed (the Newton Hessian over
  every estimated block, statsmodels' for NB and ZINB) or expected (Fisher's
  :math:`(X^\top W X)^{-1}`, :math:`W = c\,(d\mu/d\eta)^2/V(\mu)`, for the mean
  block with the other blocks fixed: R's ``glm`` and ``glm.nb``);
* "nonrobust" is the dispersion :math:`\phi` times the bread;
* the sandwiches use the per-row scores of the same blocks at unit
  dispersion, so :math:`\phi` cancels (as in R's ``sandwich``:
  ``estfun.glm`` is the working residual times the working weight).

The deviance is :math:`\sum_i c_i d(y_i, \mu_i)`; the null deviance that of
the intercept-only model with the same offset (fitted by Newton, the other
blocks held at their estimates: R's ``glm`` and ``glm.nb``), or of
:math:`\eta` = offset without an intercept. AIC counts the estimated
parameters of every block, plus one for an estimated dispersion (R's
``logLik.glm``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..._errors import InputError
from ..._status import Status
from ...losses.links import get_link
from .._covariance import sandwich
from .._design import Training
from .._linalg import hat_values, inverse
from .._result import Estimates
from .newton import inverse_negative, newton

__all__ = ["glm_estimates"]


def glm_estimates(model, loss, coefs: dict, res, k: int, *, spec, information, dispersion, fit_intercept: bool,
                  design, start_iterations) -> Estimates:
    """The final stage's fit as :class:`Estimates`: coefficients, covariance, statistics and the extra blocks."""
    y, cw, data = model.y, model.cw, model.data
    sw = float(cw.sum())
    df_resid = sw - k
    lin = model.linear(loss, coefs)
    mu = loss.glm_mean(lin)
    info = _information(loss, information)
    variance = loss.glm_variance(mu, lin, **data)
    hw = None   # the expected working weight of one copy of each row
    with np.errstate(divide="ignore", invalid="ignore"):   # a separated logistic fit has V = 0 rows (BOUNDARY)
        if loss.glm_exponential and variance is not None:
            hw = get_link(loss.default_link).mu_eta(np, lin["mean"]) ** 2 / variance
        pearson = None if variance is None else float(cw @ ((y - mu) ** 2 / variance))
    phi, phi_how = _dispersion(loss, dispersion, y, mu, cw, pearson, df_resid)
    blocks = model.blocks(loss) if info == "observed" else ["mean"]
    Xa = model.designs["mean"][0]
    bread = inverse_negative(res.H) if info == "observed" else inverse(Xa.gram(cw * hw), True)
    notes: list[str] = []
    cov_full = None
    if bread is None or not np.all(np.isfinite(bread)):
        notes.append("standard errors undefined: the information matrix at the estimate is not positive definite")
    elif spec.kind == "nonrobust":
        cov_full = phi * bread
    else:
        cov_full = _robust(model, loss, lin, blocks, bread, spec, hw, cw, sw)
    unit_dev = loss.glm_unit_deviance(y, mu, lin, **data)
    deviance = math.nan if unit_dev is None else float(cw @ unit_dev)
    undefined: dict[str, str] = {}
    null_dev = math.nan
    if unit_dev is None:
        undefined["deviance"] = undefined["null_deviance"] = f"{type(loss).__name__} has no deviance (a mixture)"
    else:
        null_dev = _null_deviance(model, loss, lin, fit_intercept)
    if loss.glm_dispersion == "estimated":
        loglike = loss.glm_loglike(y, mu, cw, deviance, **data)
        if loglike is None:
            undefined["loglike"] = f"{type(loss).__name__} has no closed-form density: no log-likelihood, AIC or BIC"
    else:
        # the Newton value was the kernel (up to a term free of the parameters): the exact one, once
        loglike = float(cw @ loss.glm_terms(y, lin, need=False, value=True, **data)[0])
    sizes = {b: model.designs[b][0].shape[1] for b in model.blocks(loss)}
    n_params = sum(sizes.values()) + (1 if loss.glm_dispersion == "estimated" else 0)
    status, message = _status(res, notes)
    extra = _extra(model, loss, lin, coefs, res, cov_full, info, sizes, sw, start_iterations)
    extra.update({"information": info, "dispersion_method": phi_how})
    if pearson is not None:
        extra.update({"pearson_chi2": pearson, "pearson_dispersion": pearson / max(df_resid, 1.0)})
    # R's rstudent.glm divides by the leave-one-out sigma unless the family is Poisson or binomial (one block,
    # dispersion 1); it does for the negative binomial, whose dispersion is also 1
    parts = _parts(loss, mu, lin, variance, unit_dev, hw, data, phi_how == "fixed" and loss.glm_blocks == ("mean",))
    return Estimates(
        params=coefs["mean"], cov=None if cov_full is None else cov_full[:k, :k], status=status, message=message,
        method="newton", rank=k, scale=phi, loglike=loglike, residuals=y - mu, n_obs=int(y.size),
        df_resid=float(df_resid), n_iter=int(res.n_iter), link=loss.default_link, cov_type=spec.kind,
        dist="t" if phi_how != "fixed" else "normal", extra=extra, deviance=deviance, null_deviance=null_dev,
        df_model=float(k - fit_intercept), n_params=float(n_params), n_ic=sw, undefined=undefined,
        offset_used=bool(np.any(model.offset != 0)),
        training=Training(design.X, y, design.weights, model.offset, parts))


def _information(loss, information) -> str:
    info = loss.glm_information if information is None else information
    if info not in ("observed", "expected"):
        raise InputError("information", "'observed' or 'expected'", repr(information),
                         "pass information='expected' for R's glm standard errors")
    if info == "expected" and not loss.glm_exponential:
        raise InputError("information", f"'observed' for {type(loss).__name__}", "'expected'",
                         "the expected information of a mixture is not the GLM one; use information='observed'")
    return info


def _dispersion(loss, dispersion, y, mu, cw, pearson, df_resid) -> tuple[float, str]:
    """The dispersion and how it was obtained ("fixed" when the model fixes it at 1)."""
    how = dispersion if dispersion is not None else ("pearson" if loss.glm_dispersion == "estimated" else None)
    if how is None:
        return 1.0, "fixed"
    single = loss.glm_blocks == ("mean",) and loss.glm_exponential
    if not single:
        raise InputError("dispersion", f"None for {type(loss).__name__} (its dispersion is a model parameter)",
                         repr(dispersion), "drop dispersion=")
    if isinstance(how, str) and how == "pearson":
        if not df_resid > 0:
            return math.nan, "pearson"
        return pearson / df_resid, "pearson"
    if isinstance(how, str) and how == "ml":
        phi = loss.glm_dispersion_ml(y, mu, cw)
        if phi is None:
            raise InputError("dispersion", f"'pearson' or a number for {type(loss).__name__}", "'ml'",
                             "the maximum-likelihood dispersion is available for GammaNLL")
        return phi, "ml"
    if isinstance(how, (int, float, np.floating, np.integer)) and not isinstance(how, bool) and \
            math.isfinite(how) and how > 0:
        return float(how), "given"
    raise InputError("dispersion", "'pearson', 'ml' or a positive number", repr(dispersion),
                     "pass dispersion='pearson' (R's summary.glm)")


def _scores(model, loss, lin, blocks) -> np.ndarray:
    """Per-row scores of the estimated blocks at the estimate (unit dispersion), one column per parameter."""
    _, grads, _ = loss.glm_terms(model.y, lin, need=True, value=False, **model.data)
    return np.column_stack([model.designs[b][0].scaled(grads[b]) for b in blocks])


def _robust(model, loss, lin, blocks, bread, spec, hw, cw, sw) -> np.ndarray:
    h = None
    if spec.kind in ("HC2", "HC3"):
        if hw is None:
            raise InputError("cov_type", f"one without leverage for {type(loss).__name__} ('HC0', 'HC1', "
                             "'cluster', 'HAC')", repr(spec.kind), "HC2/HC3 need the GLM leverage, undefined for "
                             "a mixture; use cov_type='HC1'")
        h = hat_values(model.designs["mean"][0].dense(), hw, cw)
    if spec.kind == "HAC" and not np.all(cw == 1):
        raise InputError("weights", "None for cov_type='HAC' with this solver", "case weights",
                         "a time series has one row per time; drop the weights or use cov_type='HC1'")
    return sandwich(bread, _scores(model, loss, lin, blocks), spec, freq=cw, leverage=h, n=sw)


def _null_deviance(model, loss, lin: dict, fit_intercept: bool) -> float:
    """Deviance of the intercept-only model with the offset (other blocks fixed), or of eta = offset."""
    y, cw, data, off = model.y, model.cw, model.data, model.offset
    fixed = {b: v for b, v in lin.items() if b != "mean"}

    def deviance(eta):
        lv = {**fixed, "mean": eta}
        return float(cw @ loss.glm_unit_deviance(y, loss.glm_mean(lv), lv, **data))

    if not fit_intercept:
        return deviance(off)
    if not np.any(off):   # the intercept-only MLE is the prior-weighted mean (its score is sum c p (y - mu) = 0)
        prior = data.get("trials", 1.0) * cw
        return deviance(np.full(y.shape, float(get_link(loss.default_link).link(np, np.float64(
            float(prior @ y) / float(np.sum(prior)))))))

    def fgh(x, need, ll=None):
        terms = loss.glm_terms(y, {**fixed, "mean": off + x[0]}, need=need, value=ll is None, **data)
        if terms is None:
            return -np.inf, None, None
        rows, grads, hess = terms
        ll = float(cw @ rows) if ll is None else ll
        if not need:
            return ll, None, None
        return ll, np.array([cw @ grads["mean"]]), np.array([[cw @ hess[("mean", "mean")]]])

    link = get_link(loss.default_link)
    b0 = float(link.link(np, np.float64(loss.glm_mean_start(y, cw, data)))) - float(cw @ off) / float(cw.sum())
    res = newton(fgh, np.array([b0]), 100, 1e-12)
    return deviance(off + res.x[0]) if res.status is Status.SUCCESS else math.nan


def _status(res, notes: list[str]) -> tuple[Status, str]:
    if res.status is Status.SUCCESS:
        message = (f"converged in {res.n_iter} Newton iterations (Newton decrement and step below their "
                   "tolerances)")
    elif res.status is Status.BOUNDARY:
        message = f"boundary after {res.n_iter} Newton iterations: {res.message}"
    else:
        message = res.message
    return res.status, "; ".join([message] + notes)


def _extra(model, loss, lin, coefs, res, cov_full, info, sizes, sw, start_iterations) -> dict[str, Any]:
    """theta, the inflation coefficients and their standard errors, for the models that have them."""
    extra: dict[str, Any] = {"sum_weights": sw}
    se_full = None if cov_full is None else np.sqrt(np.clip(np.diag(cov_full), 0, None))
    blocks = model.blocks(loss) if info == "observed" else ["mean"]
    offsets = np.cumsum([0] + [sizes[b] for b in blocks])
    where = {b: slice(offsets[i], offsets[i + 1]) for i, b in enumerate(blocks)}
    if "dispersion" in loss.glm_blocks:
        th = math.exp(lin["dispersion"])
        est = "dispersion" in sizes
        theta_se = None
        if est and se_full is not None and "dispersion" in where:
            theta_se = th * float(se_full[where["dispersion"]][0])
        elif est:   # expected information: theta's own observed information, the mean held fixed (glm.nb)
            i = sizes["mean"]
            h_tt = float(res.H[i, i])
            theta_se = th / math.sqrt(-h_tt) if h_tt < 0 else None
        extra.update({"theta": th, "alpha": 1 / th, "theta_stderr": theta_se,
                      "alpha_stderr": None if theta_se is None else theta_se / th ** 2, "theta_estimated": est})
    if "inflation" in loss.glm_blocks:
        extra.update({"inflation_coef": coefs["inflation"],
                      "inflation_stderr": None if se_full is None or "inflation" not in where
                      else se_full[where["inflation"]],
                      "inflation_names": model.designs["inflation"][2]})
    if start_iterations is not None:
        extra["start_model"], extra["start_iterations"] = start_iterations
    return extra


def _parts(loss, mu, lin, variance, unit_dev, hw, data, sigma_free: bool):
    """The per-row pieces of the residual kinds (computed already: references, no copies)."""
    def parts() -> dict:
        return {"fitted": mu, "eta": lin["mean"], "variance": variance, "unit_deviance": unit_dev,
                "hat_weights": hw, "prior": data.get("trials"), "dispersion_fixed": sigma_free}
    return parts
