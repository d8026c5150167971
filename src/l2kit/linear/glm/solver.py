r"""Log-link count regression: Poisson, negative binomial (NB2) and zero-inflated NB, by Newton's method.

The loss object decides the model (``fit_family = "glm"``):

* ``PoissonNLL()``: :math:`\log\mu = X\beta` (+ offset); Newton = IRLS for the
  canonical link, with step halving.
* ``NegativeBinomialNLL()``: the mean as above and the dispersion
  :math:`\theta` estimated *jointly* (Newton on :math:`(\beta, \log\theta)` with
  the exact observed Hessian, digamma/trigamma terms included). statsmodels'
  ``alpha`` is :math:`1/\theta`.
* ``ZINB()``: a logit-link inflation probability :math:`\pi = \sigma(Z\gamma)`,
  :math:`Z` a column of ones (intercept-only) or its own design
  ``inflation_X=``; Newton on :math:`(\beta, \gamma, \log\theta)` with the
  analytic gradient and Hessian (log-sum-exp form for the zeros), started
  from the NB fit.

The solver is generic: the loss declares the linear predictors of its model
(``glm_blocks``), their per-row derivatives (``glm_terms``), the simpler
model whose fit starts it (``glm_start``: Poisson for NB, NB for ZINB) and the
starting values of the blocks it adds (``glm_start_values``); see
:mod:`l2kit.losses.counts`. Each stage is fitted by :func:`.newton.newton`.

Every step is safeguarded (step halving on the log-likelihood, a Levenberg
shift when the Hessian is not negative definite). Convergence is declared
only when the Newton decrement :math:`g^\top(-H)^{-1}g` falls below ``tol``;
standard errors come from the inverse observed information.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..._array import to_numpy
from ..._errors import InputError
from ..._status import Status
from ...losses.links import get_link
from .._design import Design
from .._options import check_common, iteration_options
from .._result import Estimates, Fit, build_design_fit
from .newton import inverse_negative, newton

__all__ = ["fit_glm"]

_OPTIONS = ("max_iter", "tol", "offset", "inflation_X", "estimate_theta", "cov_type")


def fit_glm(design: Design, loss: Any, **options: Any) -> Fit:
    r"""Fit a log-link count model for ``PoissonNLL``, ``NegativeBinomialNLL`` or ``ZINB``.

    Parameters
    ----------
    design : Design
        ``y`` must hold non-negative counts (integers unless the loss has
        ``allow_fractional=True``).
    loss : PoissonNLL, NegativeBinomialNLL or ZINB
    fit_intercept : bool, default True
    method : {"auto", "newton"}
    offset : array of shape (n,), optional
        Added to the linear predictor (e.g. log exposure).
    inflation_X : array of shape (n, q), optional
        ZINB only: design of the inflation logit (an intercept is added when
        ``fit_intercept``). Default: intercept-only inflation.
    estimate_theta : bool, default True
        NB/ZINB: estimate theta jointly; False keeps ``loss.theta`` fixed.
    max_iter : int, default 100
    tol : float, default 1e-10
        Newton decrement :math:`g^\top(-H)^{-1}g` at which to stop.

    Returns
    -------
    Fit
        ``link="log"`` (``predict`` returns the count-model mean),
        ``loglike`` the exact log-likelihood, ``stderr`` from the inverse
        observed information, ``scale`` 1 (no extra dispersion factor).
        ``extra``: ``theta``, ``alpha`` (= 1/theta, statsmodels'),
        ``theta_stderr``; for ZINB ``inflation_coef`` (intercept first),
        ``inflation_stderr``, ``inflation_names``; for Poisson
        ``pearson_dispersion`` (Pearson chi^2 / df, >> 1 means
        overdispersion).

    Examples
    --------
    >>> import numpy as np, l2kit as l2
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 1)); y = rng.poisson(np.exp(0.5 + 0.3 * X[:, 0]))
    >>> f = l2.fit(X, y, loss=l2.PoissonNLL())
    >>> f.converged, bool(abs(f.coef[0] - 0.3) < 0.1)
    (True, True)
    """
    opts = check_common(options, "GLM", _OPTIONS)
    fit_intercept = bool(opts.get("fit_intercept", True))
    if opts.get("method", "auto") not in ("auto", "newton", "irls"):
        raise InputError("method", "'auto' or 'newton' for count models", repr(opts.get("method")),
                         "pass method='newton'")
    max_iter, tol = iteration_options(opts, max_iter=100, tol=1e-10)
    design.require_real("a count model")
    y, cw = design.y, design.case_weights
    _check_counts(y, loss)
    Xa = design.with_intercept(fit_intercept)
    k = Xa.shape[1]
    design.full_rank(Xa, "a count model")
    model = _Model(loss, y, cw, _offset(opts, y.size), _designs(loss, Xa, opts, fit_intercept),
                   {"dispersion": bool(opts.get("estimate_theta", True))})
    stages = [loss]
    while stages[0].glm_start() is not None:
        stages.insert(0, stages[0].glm_start())
    coefs = {"mean": model.mean_start(fit_intercept)}
    start_iterations = None
    for i, stage in enumerate(stages):
        coefs.update(model.start_values(stage, coefs))
        final = i == len(stages) - 1
        # a simpler model is only a start: a loose tolerance saves iterations (its fit refines the next)
        res = newton(model.fgh(stage), model.pack(stage, coefs), max_iter, tol if final or i else 1e-3)
        coefs.update(model.unpack(stage, res.x))
        if not final:
            start_iterations = (stage.name, res.n_iter)
    return build_design_fit(_estimates(model, loss, coefs, res, k, start_iterations), design, loss, fit_intercept)


def _check_counts(y: np.ndarray, loss: Any) -> None:
    kind = type(loss).__name__
    if (y < 0).any():
        i = int(np.flatnonzero(y < 0)[0])
        raise InputError("y", f"non-negative counts for {kind}", f"{int((y < 0).sum())} negative value(s), first at "
                         f"row {i} ({y[i]:g})", "counts cannot be negative; check the target column")
    if not loss.allow_fractional and (y != np.floor(y)).any():
        i = int(np.flatnonzero(y != np.floor(y))[0])
        raise InputError("y", f"integer counts for {kind}", f"{int((y != np.floor(y)).sum())} non-integer value(s), "
                         f"first at row {i} ({y[i]:g})", f"round the counts or pass {kind}(allow_fractional=True)")


def _offset(opts: dict, n: int) -> np.ndarray:
    offset = opts.get("offset")
    if offset is None:
        return np.zeros(n)
    offset = np.asarray(to_numpy(offset), dtype=float).reshape(-1)
    if offset.shape != (n,) or not np.all(np.isfinite(offset)):
        raise InputError("offset", f"{n} finite values", f"shape {offset.shape}", "pass one offset per row")
    return offset


def _designs(loss: Any, Xa: np.ndarray, opts: dict, fit_intercept: bool) -> dict:
    """The design of each block: ``(matrix, has a constant first column, column names)``."""
    n = Xa.shape[0]
    designs = {"mean": (Xa, fit_intercept, ()), "dispersion": (np.ones((n, 1)), True, ("log_theta",))}
    Zin = opts.get("inflation_X")
    if "inflation" not in loss.glm_blocks:
        if Zin is not None:
            raise InputError("inflation_X", f"None for {type(loss).__name__} (no zero-inflation part)",
                             "an inflation design", "use loss=l2kit.ZINB() for a zero-inflated model")
        return designs
    if Zin is None:
        designs["inflation"] = (np.ones((n, 1)), True, ("intercept",))
        return designs
    Zr = np.asarray(to_numpy(Zin), dtype=float)
    Zr = Zr.reshape(-1, 1) if Zr.ndim == 1 else Zr
    if Zr.ndim != 2 or Zr.shape[0] != n:
        raise InputError("inflation_X", f"a 2-D array with {n} rows", f"shape {Zr.shape}",
                         "pass one row per observation")
    if not np.all(np.isfinite(Zr)):
        raise InputError("inflation_X", "finite values", "NaN or inf", "drop or impute those rows")
    names = (("intercept",) if fit_intercept else ()) + tuple(f"z{j}" for j in range(Zr.shape[1]))
    designs["inflation"] = (np.column_stack([np.ones(n), Zr]) if fit_intercept else Zr, fit_intercept, names)
    return designs


class _Model:
    """The data of a GLM fit and the map between a stage's parameter vector and its blocks' coefficients."""

    def __init__(self, loss, y, cw, offset, designs, estimate):
        self.loss, self.y, self.cw, self.offset = loss, y, cw, offset
        self.designs, self.estimate = designs, estimate

    def blocks(self, stage) -> list[str]:
        """The estimated blocks of ``stage`` (a block held fixed, e.g. theta, is not a parameter)."""
        return [b for b in stage.glm_blocks if self.estimate.get(b, True)]

    def mean_start(self, fit_intercept: bool) -> np.ndarray:
        """The intercept-only start: the link of the weighted mean of ``y``, less the mean offset."""
        Xa = self.designs["mean"][0]
        b = np.zeros(Xa.shape[1])
        sw = float(self.cw.sum())
        ybar = float(self.cw @ self.y) / sw
        if ybar <= 0:
            raise InputError("y", "at least one positive count", "all zeros", "a log-link model needs some counts > 0")
        if fit_intercept:
            link = get_link(self.loss.default_link)
            b[0] = float(link.link(np, np.float64(ybar))) - float(self.cw @ self.offset) / sw
        return b

    def start_values(self, stage, coefs: dict) -> dict:
        """Coefficients for the blocks ``stage`` adds, from its constant starting linear predictors."""
        new = [b for b in self.blocks(stage) if b not in coefs]
        if not new:
            return {}
        values = stage.glm_start_values(self.y, self.cw, self.linear(stage, coefs), self.estimate)
        out = {}
        for b in new:
            D, constant, _ = self.designs[b]
            c = np.zeros(D.shape[1])
            if constant:
                c[0] = values[b]
            out[b] = c
        return out

    def linear(self, stage, coefs: dict) -> dict:
        """The linear predictors of ``stage``'s blocks (fixed blocks at the loss's value)."""
        lin = dict(stage.glm_fixed())
        for b, c in coefs.items():
            if b == "dispersion":
                lin[b] = float(c[0])
            elif b in stage.glm_blocks:
                lin[b] = self.designs[b][0] @ c + (self.offset if b == "mean" else 0.0)
        return lin

    def pack(self, stage, coefs: dict) -> np.ndarray:
        return np.concatenate([coefs[b] for b in self.blocks(stage)])

    def unpack(self, stage, x: np.ndarray) -> dict:
        out, i = {}, 0
        for b in self.blocks(stage):
            m = self.designs[b][0].shape[1]
            out[b] = x[i:i + m]
            i += m
        return out

    def fgh(self, stage):
        """``fgh(x, need, ll=None)`` for :func:`.newton.newton`: log-likelihood, gradient and Hessian of ``stage``."""
        blocks, cw = self.blocks(stage), self.cw
        order = stage.glm_blocks

        def fgh(x, need, ll=None):
            terms = stage.glm_terms(self.y, self.linear(stage, self.unpack(stage, x)), need=need, value=ll is None)
            if terms is None:
                return -np.inf, None, None
            rows, grads, hess = terms
            if ll is None:
                ll = float(cw @ rows)
            if not need:
                return ll, None, None
            D = [self.designs[b][0] for b in blocks]
            g = np.concatenate([Db.T @ (cw * grads[b]) for b, Db in zip(blocks, D)])
            H = np.block([[self._cross(D[i], D[j], hess, order, a, b) for j, b in enumerate(blocks)]
                          for i, a in enumerate(blocks)])
            return ll, g, H

        return fgh

    def _cross(self, Da, Db, hess, order, a, b):
        key = (a, b) if order.index(a) <= order.index(b) else (b, a)
        h = hess.get(key)
        if h is None:
            return np.zeros((Da.shape[1], Db.shape[1]))
        return (Da * (self.cw * h)[:, None]).T @ Db


def _estimates(model: _Model, loss: Any, coefs: dict, res, k: int, start_iterations) -> Estimates:
    """The final stage's fit as :class:`Estimates`: mean coefficients, their covariance and the extra blocks."""
    y, cw = model.y, model.cw
    sw = float(cw.sum())
    cov_full = inverse_negative(res.H)
    se_full = None if cov_full is None else np.sqrt(np.clip(np.diag(cov_full), 0, None))
    lin = model.linear(loss, coefs)
    mu = np.exp(lin["mean"])
    extra: dict[str, Any] = {"sum_weights": sw}
    blocks = model.blocks(loss)
    offsets = np.cumsum([0] + [model.designs[b][0].shape[1] for b in blocks])
    where = {b: slice(offsets[i], offsets[i + 1]) for i, b in enumerate(blocks)}
    if "dispersion" in loss.glm_blocks:
        th = math.exp(lin["dispersion"])
        est = "dispersion" in where
        theta_se = th * float(se_full[where["dispersion"]][0]) if (se_full is not None and est) else None
        extra.update({"theta": th, "alpha": 1 / th, "theta_stderr": theta_se,
                      "alpha_stderr": None if theta_se is None else theta_se / th ** 2, "theta_estimated": est})
    if "inflation" in loss.glm_blocks:
        extra.update({"inflation_coef": coefs["inflation"],
                      "inflation_stderr": None if se_full is None else se_full[where["inflation"]],
                      "inflation_names": model.designs["inflation"][2]})
    if loss.glm_blocks == ("mean",):
        extra["pearson_dispersion"] = float(cw @ ((y - mu) ** 2 / loss.variance(mu))) / max(sw - k, 1.0)
    if start_iterations is not None:
        extra["start_model"], extra["start_iterations"] = start_iterations
    message = (f"converged in {res.n_iter} Newton iterations (Newton decrement below tol)"
               if res.status is Status.SUCCESS else res.message)
    return Estimates(params=coefs["mean"], cov=None if cov_full is None else cov_full[:k, :k], status=res.status,
                     message=message, method="newton", rank=k, scale=1.0, loglike=float(res.f),
                     residuals=y - loss.glm_mean(lin), n_obs=int(y.size), df_resid=float(sw - k),
                     n_iter=int(res.n_iter), link=loss.default_link, extra=extra)
