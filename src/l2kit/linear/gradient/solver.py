r"""Generic M-estimation for any smooth loss, by quasi-Newton or trust-region minimisation.

This is the solver family ``"gradient"``: losses without a specialised solver
(:class:`~l2kit.losses.GaussianNLL`, :class:`~l2kit.losses.Focal`,
:class:`~l2kit.losses.HeatmapFocal`, :class:`~l2kit.losses.HeatmapMSE`, and
the multi-output :class:`~l2kit.losses.Mahalanobis` and
:class:`~l2kit.losses.Geodesic`) are fitted by minimising the weighted mean
of the loss's own elementwise kernel over a linear predictor,

.. math::
    \hat\beta = \arg\min_\beta \frac{1}{\sum_i w_i}\sum_i w_i\,
    \ell\bigl(y_i,\ g^{-1}(\beta_0 + x_i^\top\beta)\bigr),

with the gradient from the loss's analytic ``_grad`` by the chain rule,
:math:`\nabla_\beta = X^\top (w \odot \partial\ell/\partial\eta) / \sum w`.
The Hessian is :math:`X^\top \mathrm{diag}(w\,h) X / \sum w` with
:math:`h_i = \partial^2\ell_i/\partial\eta_i^2` obtained by central finite
differences of the analytic gradient *per row* (two extra gradient
evaluations, whatever the number of columns; a ``k x k`` block per row for
multi-output losses).

Standard errors: the sandwich :math:`H^{-1} S H^{-1}` with
:math:`H = \sum_i w_i h_i x_i x_i^\top` and
:math:`S = \sum_i w_i g_i^2 x_i x_i^\top` (case weights: integer weights give
the same result as repeated rows), or, for a true likelihood
(``GaussianNLL`` with known variances, ``Focal(gamma=0)`` on 0/1 labels, i.e.
logistic regression), the inverse observed information :math:`H^{-1}` by
default (``cov_type="nonrobust"``), with ``loglike`` reported.

A ridge penalty ``alpha`` adds :math:`\tfrac{\alpha}{2}\|\beta\|^2` (intercept
free) to :math:`c` times the mean loss, with :math:`c` chosen so that ``alpha``
means what it means for the penalised GLM and IRLS fits (see
:func:`fit_gradient`).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
from scipy import optimize

from ..._array import to_numpy
from ..._errors import InputError
from ..._status import Status
from ...losses.links import get_link
from .._covariance import read_cov_options, sandwich
from .._design import Design
from .._linalg import gram_rank, pinvh
from .._options import GRADIENT_METHODS, check_common, iteration_options
from .._result import Estimates, Fit, build_design_fit
from ._objective import NonFiniteObjective, Objective

__all__ = ["fit_gradient"]

_OPTIONS = ("max_iter", "tol", "link", "loss_kwargs", "start", "cov_type", "groups", "maxlags", "small_sample")
#: "auto": the inverse information for a likelihood, HC0 otherwise; HC2/HC3 need a leverage this solver lacks
_COV_TYPES = ("auto", "nonrobust", "HC0", "HC1", "cluster", "HAC")


def fit_gradient(design: Design, loss: Any, **options: Any) -> Fit:
    r"""Fit a linear model for any smooth loss by minimising its weighted mean.

    Parameters
    ----------
    design : Design
        ``y`` of shape (n,), or (n, d) for a loss over the last axis
        (:class:`~l2kit.losses.Mahalanobis`; unit vectors for
        :class:`~l2kit.losses.Geodesic`).
    loss : Loss
        Any smooth loss with an analytic ``_grad``.
    fit_intercept : bool, default True
    alpha : float, default 0.0
        Ridge penalty (``l1_ratio`` must be 0): minimises

        .. math::
            c\,\frac{1}{\sum_i w_i}\sum_i w_i\,\ell\bigl(y_i, g^{-1}(\beta_0 + x_i^\top\beta)\bigr)
            + \frac{\alpha}{2}\|\beta\|_2^2

        (the intercept :math:`\beta_0` unpenalised; for several outputs every slope of every output).
        :math:`c` is the likelihood factor for a likelihood (``GaussianNLL``, ``Focal(gamma=0)`` on 0/1
        labels): the mean negative log-likelihood, as the penalised GLM, so ``Focal(gamma=0, alpha=None)``
        is scikit-learn's ``LogisticRegression(C=1/(alpha * sum(w)))``. Otherwise, for one output whose
        loss receives the prediction, :math:`c = 1/\ell''` at a perfect prediction of the weighted mean
        target, so the loss is :math:`r^2/2` near :math:`r = 0` as in the IRLS ridge at scale 1
        (``HeatmapMSE``: :math:`c = 1/2`, glmnet's ``1/(2n) RSS`` scaling, i.e. ``Ridge(alpha * sum(w))``;
        ``LogCosh``, ``Cauchy``: :math:`c = 1`); else :math:`c = 1` (``Mahalanobis``, ``Focal`` with
        ``gamma > 0``). Refused for the ``"sphere"`` link, whose scale is not identified. A penalised fit
        has no standard errors and needs no full-rank design; ``alpha=0`` is the unpenalised fit exactly.
    method : {"auto", "gradient", "trust", "lbfgs"}
        ``"trust"``: trust-region Newton (``scipy.optimize.minimize(method=
        "trust-exact")``) with the finite-difference Hessian described in the
        module docstring; ``"lbfgs"``: L-BFGS-B with the analytic gradient.
        ``"auto"``/``"gradient"``: trust-region up to 400 parameters, else
        L-BFGS-B.
    link : {"identity", "log", "logit", "sphere"}, optional
        Maps the linear predictor :math:`\eta` to the loss's prediction. The
        default is the natural one for the loss (``loss.fit_links[0]``):
        ``"logit"`` (:math:`\sigma(\eta)`, predictions in (0, 1)) for
        ``Focal`` (whose logits mode then receives :math:`\eta` itself, the
        stable form) and ``HeatmapFocal``; ``"sphere"`` for ``Geodesic``
        (the prediction is the direction :math:`\eta/\|\eta\|`, the
        projection onto the unit sphere; since the loss sees directions only,
        the scale of the coefficients is fixed by the weighted mean of
        :math:`\|\eta_i\|^2` being 1, and the covariance is that of this
        normalised estimator, singular along the coefficients themselves);
        ``"log"`` for the count losses (forced here with ``method="gradient"``);
        ``"identity"`` otherwise (``HeatmapMSE`` also accepts ``"logit"``).
        Links that would let predictions leave the loss's domain are refused.
    loss_kwargs : dict, optional
        The loss's call keywords, e.g. ``{"var": v}`` for ``GaussianNLL``
        (required there): scalars or one value per row, validated by the loss.
    start : array, optional
        Starting parameters, intercept first (shape (p+1,) or (p+1, d)).
        Default: least squares for the identity link, the intercept-only
        logit of the weighted mean otherwise.
    max_iter : int, default 200
    tol : float, default 1e-9
        Gradient tolerance of the optimiser (on standardised columns).
    cov_type : {"auto", "nonrobust", "HC0", "HC1", "cluster", "HAC"}
        ``"auto"``: "nonrobust" (the inverse information) for likelihood
        losses, "HC0" (the sandwich :math:`H^{-1} S H^{-1}`) otherwise; see
        :mod:`l2kit.linear._covariance` for the others (scores
        :math:`g_i x_i`, one block per output).
    groups, maxlags, small_sample
        Options of "cluster" and "HAC".

    Returns
    -------
    Fit
        ``converged``, ``n_iter`` and ``status`` come from the optimiser (an
        iteration limit is never ``converged``); ``scale`` is 1 (no
        dispersion is estimated); ``loglike`` for likelihood losses; ``dist``
        is ``"normal"``. ``extra``: ``objective`` (the weighted mean loss at
        the optimum), ``grad_norm``, ``sum_weights``.

    Examples
    --------
    >>> import numpy as np, l2kit as l2
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 1)); var = rng.uniform(0.5, 2.0, 200)
    >>> y = 1.0 + 2.0 * X[:, 0] + rng.normal(size=200) * np.sqrt(var)
    >>> f = l2.fit(X, y, loss=l2.GaussianNLL(), loss_kwargs={"var": var})
    >>> f.converged, f.method, bool(abs(f.coef[0] - 2.0) < 0.2)
    (True, 'trust', True)

    A ridge penalty on a squared-error loss is the least-squares ridge (scikit-learn's ``Ridge(alpha * n)``):

    >>> r = l2.fit(X, y, loss=l2.HeatmapMSE(), alpha=0.5, tol=1e-12)
    >>> r.method, r.stderr is None, bool(np.allclose(r.coef, l2.fit(X, y, alpha=0.5).coef, rtol=1e-8))
    ('trust', True, True)
    """
    opts = check_common(options, "gradient", _OPTIONS, penalty="l2")
    alpha = opts["alpha"]
    spec = read_cov_options(opts, solver="gradient", supported=_COV_TYPES, default="auto", n=design.y.shape[0])
    fit_intercept = bool(opts.get("fit_intercept", True))
    method = opts.get("method", "auto")
    if method not in ("auto",) + GRADIENT_METHODS:
        raise InputError("method", "'auto', 'gradient', 'trust' or 'lbfgs' for the generic solver", repr(method),
                         "pass method='trust' or method='lbfgs'")
    max_iter, tol = iteration_options(opts, max_iter=200, tol=1e-9)
    if not loss.smooth:
        raise InputError("loss", "a smooth loss for the gradient solver", repr(loss),
                         "use its own solver (method='auto'): e.g. linear programming for Absolute/Quantile")
    design.require_real("the gradient solver")
    X, y, w = design.X, design.y, design.case_weights
    multi = y.ndim == 2
    if multi != bool(loss.reduces_last_axis):
        raise InputError("y", "shape (n, d) (d variables on the last axis)" if loss.reduces_last_axis
                         else "shape (n,)", f"shape {y.shape}", "reshape the target for this loss")
    link = _link(loss, opts.get("link"))
    if alpha > 0 and link.name == "sphere":
        raise InputError("alpha", "0 for the sphere link (Geodesic)", repr(alpha),
                         "the loss sees directions only, so a ridge penalty would only shrink an arbitrary scale; "
                         "drop alpha")
    Y = y if multi else y[:, None]
    kw = _loss_kwargs(loss, y, _in_domain(link, loss, y), opts.get("loss_kwargs"))
    kw = {k: (np.asarray(v)[:, None] if (not multi and np.ndim(v) == 1) else v) for k, v in kw.items()}
    Xa = design.with_intercept(fit_intercept)
    if Xa.shape[1] == 0:
        raise InputError("X", "at least one column or fit_intercept=True", "no parameters", "add a column")
    # a ridge penalty makes the Hessian positive definite at any rank (as for the penalised GLM and IRLS)
    rank = design.full_rank(Xa, type(loss).__name__) if not alpha > 0 else gram_rank((Xa * w[:, None]).T @ Xa)
    std = _Standardised(X, w, fit_intercept)
    ridge = _ridge(std, alpha / _data_scale(loss, link, y, Y, w, kw, multi), Y.shape[1]) if alpha > 0 else None
    objective = Objective(loss, link, std.design(), Y, w, kw, multi, ridge)
    B0 = _start(opts.get("start"), link, Xa, Y, w, kw, fit_intercept)
    res, use = _minimise(objective, std.to_std(B0).reshape(-1), method, max_iter, tol)
    B = std.from_std(res.x.reshape(objective.q, objective.d))
    status, message, gnorm = _status(objective, res, use, max_iter)
    if objective.pinned:
        # the loss sees directions only: the scale of B is not identified. Report the representative with
        # weighted mean |eta_i|^2 = 1 (predictions on average on the sphere); inference below is for it
        B = B / math.sqrt(float(w @ np.sum((Xa @ B) ** 2, axis=1)) / float(w.sum()))
        status, message = _check_directions(Xa @ B, w, status, message)
    est = _estimates(objective, loss, Xa, B, y, spec, status, message, gnorm, res, use, rank)
    if alpha > 0:
        est = replace(est, cov=None, alpha=alpha, message=est.message + f"; ridge penalty alpha={alpha:g}: no "
                      "standard errors (the penalty biases the estimates)")
    return build_design_fit(est, design, loss, fit_intercept)


def _data_scale(loss, link, y, Y, w, kw, multi: bool) -> float:
    r"""``c``: the penalised objective is :math:`c\,\overline{\ell} + \tfrac{\alpha}{2}\|\beta\|^2`.

    The likelihood factor for a likelihood (the mean negative log-likelihood, as the penalised GLM);
    else, for one output whose loss receives the prediction, :math:`1/\ell''` at a perfect prediction of the
    weighted mean target (the loss is then :math:`r^2/2` near :math:`r = 0`, as the IRLS ridge); else 1.
    """
    factor = loss.likelihood_factor(y)
    if factor is not None:
        return float(factor)
    if multi or (link.elementwise and link.name != "identity" and loss.takes_linear_predictor):
        return 1.0
    ybar = np.full((1, 1), float(w @ Y[:, 0]) / float(w.sum()))
    kw0 = {k: (v[:1] if np.ndim(v) else v) for k, v in kw.items()}
    h = np.cbrt(np.finfo(float).eps) * max(1.0, abs(float(ybar[0, 0])))
    xp = Objective.array_namespace()
    g = [float(np.asarray(loss._grad(xp, ybar, ybar + s, **kw0)).reshape(-1)[0]) for s in (h, -h)]
    curvature = (g[0] - g[1]) / (2 * h)
    return 1.0 / curvature if math.isfinite(curvature) and curvature > 0 else 1.0


def _ridge(std: _Standardised, lam: float, d: int) -> np.ndarray:
    """Per-parameter ridge weights in the optimiser's standardised coordinates (slopes ``beta_j s_j``), row-major
    (q, d); the intercept row is free, and centring the columns leaves the slopes and so the penalty unchanged."""
    rows = np.concatenate([[0.0] if std.fit_intercept else [], lam / std.spread ** 2])
    return np.repeat(rows, d)


def _link(loss: Any, name: Any):
    """The link to fit through: the loss's default, or one of the links it allows."""
    allowed = tuple(loss.fit_links)
    name = loss.default_link if name is None else name
    if name not in allowed:
        raise InputError("link", f"one of {allowed} for {type(loss).__name__}", repr(name),
                         "a link outside these would let predictions leave the loss's domain"
                         if name in ("identity", "logit", "log") else f"pass link={allowed[0]!r}")
    return get_link(name)


def _in_domain(link, loss, y: np.ndarray) -> np.ndarray:
    """A prediction inside the loss's domain, to validate ``y`` and the call keywords with the loss's checks."""
    if link.elementwise and link.name != "identity":
        eta = np.zeros(y.shape)
        return eta if loss.takes_linear_predictor else np.asarray(link.inverse(np, eta))
    return np.array(y, copy=True)


def _loss_kwargs(loss, y, pred0, raw: Any) -> dict:
    """Validate call keywords (``var=``...) with the loss's own checks; per-row arrays must have n rows."""
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise InputError("loss_kwargs", "a dict of the loss's call keywords", type(raw).__name__,
                         "pass e.g. loss_kwargs={'var': v}")
    unknown = set(raw) - set(loss.call_kwargs)
    if unknown:
        accepted = ", ".join(loss.call_kwargs) or "none"
        raise InputError("loss_kwargs", f"call keywords of {type(loss).__name__} ({accepted})",
                         ", ".join(sorted(unknown)), "remove the unknown keywords")
    kw = {}
    for k, v in raw.items():
        if hasattr(v, "shape") or isinstance(v, (list, tuple)):
            a = np.asarray(to_numpy(v) if hasattr(v, "shape") else v, dtype=float)
            if a.ndim > 0:
                if a.shape != y.shape:
                    raise InputError(f"loss_kwargs[{k!r}]", f"a scalar or one value per row, shape {y.shape}",
                                     f"shape {a.shape}", "pass one value per row of X (l2kit never broadcasts)")
                if not np.all(np.isfinite(a)):
                    raise InputError(f"loss_kwargs[{k!r}]", "finite values", "NaN/inf",
                                     "drop or impute those rows before fitting")
            v = a
        kw[k] = v
    missing = [k for k in loss.required_call_kwargs if k not in kw]
    if missing:
        raise InputError("loss_kwargs", f"{type(loss).__name__}'s required keyword {missing[0]!r}", "nothing",
                         f"pass e.g. loss_kwargs={{{missing[0]!r}: v}} with one value per row")
    # the loss's own validation: domain of y (and of a valid prediction), and the keywords themselves
    v = loss._validate(y, pred0, None, kw)
    return loss._prepare_kwargs(v, kw) if kw or loss.call_kwargs else {}


class _Standardised:
    """Standardised coordinates for the optimiser, ``Z = [1, (X - m) / s]``, and the map of parameters."""

    def __init__(self, X: np.ndarray, w: np.ndarray, fit_intercept: bool):
        sw = float(w.sum())
        p = X.shape[1]
        self.fit_intercept = fit_intercept
        self.mean = (w @ X) / sw if fit_intercept else np.zeros(p)
        spread = np.sqrt(w @ (X - self.mean) ** 2 / sw) if p else np.zeros(0)
        self.spread = np.where(spread > 0, spread, 1.0)
        self.X = X

    def design(self) -> np.ndarray:
        Z = (self.X - self.mean) / self.spread
        return np.column_stack([np.ones(Z.shape[0]), Z]) if self.fit_intercept else Z

    def to_std(self, B: np.ndarray) -> np.ndarray:
        Bz = B.copy()
        off = int(self.fit_intercept)
        Bz[off:] = B[off:] * self.spread[:, None]
        if self.fit_intercept:
            Bz[0] = B[0] + self.mean @ B[1:]
        return Bz

    def from_std(self, Bz: np.ndarray) -> np.ndarray:
        B = Bz.copy()
        off = int(self.fit_intercept)
        B[off:] = Bz[off:] / self.spread[:, None]
        if self.fit_intercept:
            B[0] = Bz[0] - self.mean @ B[1:]
        return B


def _start(start, link, Xa, Y, w, kw, fit_intercept: bool) -> np.ndarray:
    """Starting parameters (q, d): given, least squares (identity and sphere links) or the link of the mean."""
    q, d = Xa.shape[1], Y.shape[1]
    if start is not None:
        B0 = np.asarray(to_numpy(start), dtype=float).reshape(-1)
        if B0.size != q * d or not np.all(np.isfinite(B0)):
            raise InputError("start", f"{q * d} finite values (intercept first)", f"{B0.size} values",
                             "pass one starting value per parameter")
        B0 = B0.reshape(q, d)
    elif not link.elementwise or link.name == "identity":
        sq = np.sqrt(w)[:, None]
        if "var" in kw:   # known variances: weighted least squares with weights 1 / var is the exact answer
            sq = sq / np.sqrt(np.broadcast_to(kw["var"], Y.shape)[:, :1])
        B0 = np.linalg.lstsq(Xa * sq, Y * sq, rcond=None)[0]
    else:
        B0 = np.zeros((q, d))
        if fit_intercept:
            lo, hi = link.mean_range
            ybar = np.clip((w @ Y) / float(w.sum()), lo + 1e-3 if math.isfinite(lo) else -np.inf,
                           hi - 1e-3 if math.isfinite(hi) else np.inf)
            B0[0] = link.link(np, ybar)
    if link.name == "sphere":
        B0 = B0 / math.sqrt(max(float(w @ np.sum((Xa @ B0) ** 2, axis=1)) / float(w.sum()), 1e-300))
    return B0


def _minimise(objective: Objective, theta0: np.ndarray, method: str, max_iter: int, tol: float):
    """scipy's trust-region Newton (up to 400 parameters, or asked for) or L-BFGS-B."""
    size = objective.q * objective.d
    use = method if method in ("trust", "lbfgs") else ("trust" if size <= 400 else "lbfgs")
    try:
        if use == "trust":
            res = optimize.minimize(objective, theta0, jac=True, hess=objective.hessian, method="trust-exact",
                                    options={"maxiter": int(max_iter), "gtol": float(tol)})
        else:
            res = optimize.minimize(objective, theta0, jac=True, method="L-BFGS-B",
                                    options={"maxiter": int(max_iter), "gtol": float(tol), "ftol": 0.0,
                                             "maxcor": 20})
    except NonFiniteObjective:
        raise InputError("X, y", f"data on which {type(objective.loss).__name__} stays finite",
                         "a NaN/inf loss or gradient during the fit",
                         "scale the columns of X, check the targets are in the loss's domain, or pass start=") from None
    return res, use


def _status(objective: Objective, res, use: str, max_iter: int) -> tuple[Status, str, float]:
    """The Status of the optimiser's run, its message and the final max |gradient|."""
    f_opt, g_opt = objective(res.x)
    gnorm = float(np.max(np.abs(g_opt)))
    msg = str(res.message if not isinstance(res.message, bytes) else res.message.decode()).strip()
    # scipy reports success=False at its iteration limit for both optimisers: never converged there
    converged = bool(res.success) and math.isfinite(f_opt)
    if use == "lbfgs" and "PROJECTED GRADIENT" not in msg.upper():
        converged = False   # L-BFGS-B also "succeeds" when f stops decreasing: judged by the decrement below
    if converged:
        return Status.SUCCESS, f"converged: the {use} optimiser met its gradient tolerance ({msg})", gnorm
    if int(res.nit) >= int(max_iter) or "iteration" in msg.lower():
        return Status.MAX_ITER, (f"not converged: stopped at the iteration limit max_iter={max_iter} with max "
                                 f"|gradient| {gnorm:.3g}; raise max_iter or pass start="), gnorm
    if math.isfinite(f_opt):
        # stopped because f cannot decrease in floating point: accept only when the Newton decrement
        # g' H^-1 g (twice the predicted remaining decrease) is at the rounding level of f
        Hs = objective.hessian(res.x)
        try:
            dec = float(g_opt @ np.linalg.solve(Hs, g_opt))
            if 0 <= dec <= 16 * np.finfo(float).eps * max(1.0, abs(f_opt)) and np.all(np.linalg.eigvalsh(Hs) > 0):
                return Status.SUCCESS, (f"converged: the {use} optimiser stopped at the rounding level of the "
                                        f"objective (Newton decrement {dec:.2g}; {msg})"), gnorm
        except np.linalg.LinAlgError:
            pass
    return Status.STALLED, f"not converged: {msg} (max |gradient| {gnorm:.3g})", gnorm


def _check_directions(eta: np.ndarray, w: np.ndarray, status: Status, message: str) -> tuple[Status, str]:
    """Geodesic fits: a row whose predicted direction is nearly undefined (|eta_i| ~ 0) voids convergence."""
    norms = np.linalg.norm(eta, axis=1)
    if norms.min() >= 1e-3 * math.sqrt(max(float(w @ norms ** 2) / float(w.sum()), 1e-300)):
        return status, message
    why = (f"a predicted direction is nearly undefined (|eta_i| ~ 0 at row {int(np.argmin(norms))}), "
           "where Geodesic is not smooth; the directions are not linear in X: see "
           "examples/sphere_geometry.py for Riemannian fitting")
    if status.converged:
        return Status.SINGULAR, "not converged: " + why
    return status, message + "; " + why


def _estimates(objective: Objective, loss, Xa, B, y, spec, status, message, gnorm, res, use, rank):
    """Inference in the original coordinates: the sandwich, or the inverse information for a likelihood."""
    w, sw, q, d = objective.w, objective.sw, objective.q, objective.d
    eta = Xa @ B
    vals, g = objective.value_grad(eta)
    f_opt = float(w @ vals) / sw   # the loss alone (without the sphere link's scale pin)
    A = objective.gram(Xa, objective.row_hessian(eta), w)
    S = objective.gram(Xa, g[:, :, None] * g[:, None, :], w)
    factor = loss.likelihood_factor(y)
    cov_type = spec.kind
    if cov_type == "auto":
        cov_type = "nonrobust" if factor is not None else "HC0"
    if cov_type == "nonrobust" and factor is None:
        raise InputError("cov_type", "a sandwich ('HC0', 'HC1', 'cluster', 'HAC') for a loss that is not a "
                         "likelihood", "'nonrobust'",
                         "the inverse Hessian is a covariance only for a negative log-likelihood")
    null = None
    if objective.pinned:
        # A vec(B) = 0 (scaling B changes nothing): invert on the complement of that direction, i.e. the
        # covariance of the scale-normalised estimator
        null = B.reshape(-1) / np.linalg.norm(B)
        A = A + np.outer(null, null) * np.trace(A) / A.shape[0]
    ev = np.linalg.eigvalsh(A)
    cov = None
    if ev.min() > ev.max() * 1e-12 * A.shape[0]:
        Ainv = pinvh(A)
        if null is not None:
            proj = np.eye(A.shape[0]) - np.outer(null, null)
            Ainv = proj @ Ainv @ proj
        if cov_type == "nonrobust":
            cov = 0.5 * (Ainv + Ainv.T) / factor
        elif cov_type == "HC0":
            cov = Ainv @ S @ Ainv
            cov = 0.5 * (cov + cov.T)
        else:
            if cov_type == "HAC" and not np.all(w == 1):
                raise InputError("weights", "None for cov_type='HAC'", "case weights",
                                 "a time series has one row per time; drop the weights or use cov_type='HC1'")
            scores = (Xa[:, :, None] * g[:, None, :]).reshape(Xa.shape[0], q * d)
            cov = sandwich(Ainv, scores, spec, freq=w, n=sw)
    else:
        message += "; standard errors undefined: the Hessian at the estimate is not positive definite"
    loglike = None if factor is None else -float(w @ (factor * vals + loss.nll_constant))
    fitted = objective.link.inverse(np, eta)   # the response scale, as Fit.predict
    resid = objective.Y - fitted
    extra = {"objective": f_opt, "grad_norm": gnorm, "sum_weights": sw, "optimizer_message": str(
        res.message if not isinstance(res.message, bytes) else res.message.decode()).strip(), "n_outputs": d}
    return Estimates(
        params=B if objective.multi else B[:, 0], cov=cov, status=status, message=message, method=use, rank=rank,
        scale=1.0, loglike=loglike, residuals=resid if objective.multi else resid[:, 0], n_obs=int(y.shape[0]),
        df_resid=float(sw - q * d + (1 if objective.pinned else 0)), n_iter=int(res.nit),
        link=objective.link.name, cov_type=cov_type, extra=extra, n_params=float(q * d), n_ic=sw)
