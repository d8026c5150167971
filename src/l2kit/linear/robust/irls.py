r"""Robust regression by iteratively reweighted least squares (IRLS), driven by ``loss.weight``.

One loop serves every :class:`~l2kit.losses.ResidualLoss` (Huber, Tukey,
Cauchy, LogCosh, PseudoHuber, SmoothL1...): with residuals in units of the
scale :math:`s`, each step solves the weighted normal equations

.. math::
    \beta^{(t+1)} = \arg\min_\beta \sum_i c_i\,w\!\left(\frac{r_i^{(t)}}{s^{(t)}}\right)(y_i - x_i^\top\beta)^2

(:math:`c_i` the case weights, :math:`w = \psi(u)/u` the loss's IRLS weight),
then re-estimates :math:`s`. The iteration order, the scale estimators and the
default covariance ("H1") are those of ``statsmodels.RLM``, so results agree
with it; on top of that l2kit adds case weights, a robust start for
redescending losses, honest convergence reporting and a faster inner loop.

Speed: the weighted Gram matrix :math:`X^\top C W X` is updated only on rows
whose IRLS weight differs from the weight at 0 (for Huber, the ~10-25 % of rows
outside :math:`\pm\delta s`), from a precomputed :math:`X^\top C X`; each step
is then a ``k x k`` Cholesky solve. Columns are centred first so the normal
equations stay well conditioned. Newton steps (Huber...) go further: the
gradient is one pass over the data and the Hessian is corrected only on the rows
whose :math:`\psi'` changed since the last step; passes over ``X`` run in row
blocks (see ``_BLOCK_ELEMS``) and the MAD is selected near its previous value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..._errors import InputError
from ..._status import Status
from .._covariance import COV_KINDS, CovSpec, read_cov_options, sandwich
from .._design import Design
from .._linalg import hat_values, inverse, small_solve, uncentre
from .._options import check_common, iteration_options
from .._result import Estimates, Fit, build_design_fit
from .._scale import GAUSS_3_4, huber_scale, mad_scale
from ._problem import Problem, residual_training

__all__ = ["fit_irls"]


# ---------------------------------------------------------------------------
# the solver
# ---------------------------------------------------------------------------
_START_NAMES = {"ols": "an OLS start", "l1": "an L1 (median regression) start", "huber": "a Huber(1.345) start",
                "s": "an S-estimate start (50 % breakdown, robustbase's fast-S)", "given": "the given start"}
_OPTIONS = ("scale", "cov_type", "max_iter", "tol", "start", "update_scale", "huber_d", "groups", "maxlags",
            "small_sample", "convention", "seed")
#: the IRLS covariances: the shared vocabulary and Huber's model-based H1-H3 ("nonrobust" is H1)
_COV_TYPES = COV_KINDS[:1] + ("H1", "H2", "H3") + COV_KINDS[1:]
#: MASS's rlm divides the MAD by 0.6745, not by qnorm(0.75) = 0.67449
MASS_MAD = 0.6745


def fit_irls(design: Design, loss: Any, **options: Any) -> Fit:
    r"""M-estimation of a linear model by IRLS for any residual loss.

    Parameters
    ----------
    design : Design
        Validated ``X``, ``y`` and case weights.
    loss : ResidualLoss
        Supplies ``weight`` (IRLS), ``psi`` and ``psi_prime`` (standard
        errors). Tuning constants are in units of the scale.
    fit_intercept : bool, default True
    alpha : float, default 0.0
        Ridge penalty (``l1_ratio`` must be 0): minimises
        :math:`\frac{1}{\sum c}\sum_i c_i s^2\rho(r_i/s)/\rho''(0) + \frac{\alpha}{2}\|\beta\|^2`
        (intercept unpenalised), glmnet's :math:`\frac{1}{2n}\mathrm{RSS}` scaling near :math:`r=0`.
        At a fixed ``scale=s`` and ``Huber(delta=eps)`` this is scikit-learn's
        ``HuberRegressor(epsilon=eps, alpha=alpha * n / s)`` at its scale ``s``. A penalised fit has
        no standard errors.
    method : {"auto", "irls", "newton"}
        ``"irls"``: plain IRLS steps from ``loss.weight``. ``"newton"``:
        the same loop with safeguarded Newton steps (``psi_prime``), which
        reach the same fixed point in fewer iterations; ``"auto"`` uses Newton
        steps for convex monotone losses (Huber...) and IRLS otherwise.
    scale : {"mad", "huber"} or float, default "mad"
        ``"mad"``: normalised MAD of the residuals about 0, re-estimated every
        step (statsmodels RLM's default). ``"huber"``: Huber's proposal 2
        (statsmodels ``HuberScale``). A positive number: fixed scale.
    update_scale : bool, default True
        False keeps the initial scale estimate fixed during the iterations.
    cov_type : {"nonrobust", "H1", "H2", "H3", "HC0", "HC1", "HC2", "HC3", "cluster", "HAC"}
        "nonrobust" (the default) is Huber's H1, the model-based covariance
        for symmetric errors independent of :math:`X` (statsmodels RLM's
        default; MASS's ``summary.rlm`` with ``convention="MASS"``):
        :math:`\kappa^2\,\frac{s^2\sum c\,\psi^2/(n-k)}{m^2}(X^\top C X)^{-1}` with
        :math:`m` the mean of :math:`\psi'(r/s)` and
        :math:`\kappa = 1 + \frac{k}{n}\frac{\mathrm{var}\,\psi'}{m^2}`; H2 and H3
        are Huber's other two (statsmodels'). The sandwich kinds (see
        :mod:`l2kit.linear._covariance`) use the scores
        :math:`\psi(r_i/s)\,x_i` and the bread
        :math:`s\,(\sum c\,\psi'(r_i/s)\,x_i x_i^\top)^{-1}`, HC2/HC3 the leverage
        of the final IRLS weights: R's ``sandwich::vcovHC`` on an ``rlm``
        (which uses :math:`|\psi'|`: for a redescending loss l2kit keeps the sign
        and refuses a bread that is not positive definite).
    groups, maxlags, small_sample
        Options of "cluster" and "HAC".
    convention : {"statsmodels", "MASS"}, default "statsmodels"
        "MASS" reproduces ``MASS::rlm`` and ``summary.rlm``: the MAD divided
        by 0.6745 (instead of :math:`\Phi^{-1}(3/4) = 0.67449`) and
        :math:`\mathrm{var}\,\psi'` with the divisor :math:`n-1` (instead of
        :math:`n`) in H1's :math:`\kappa`.
    max_iter : int, default 100
    tol : float, default 1e-8
        Stop when the change of the fitted values (RMS, in units of the
        scale) and the relative change of the scale are both below ``tol``.
    start : {"auto", "ols", "huber", "l1", "s"} or array, default "auto"
        Starting coefficients (intercept first). ``"auto"``: OLS for
        monotone (convex) losses, whose optimum is unique; for redescending
        losses (Tukey, Cauchy) the exact L1 (median regression) fit, never
        OLS alone: OLS - and even a Huber fit - may sit in the basin of a bad
        local minimum when many outliers lie on one side (40 % one-sided
        outliers: both lead Tukey to a wrong fit, L1 does not; see the tests).
        ``"huber"`` starts from a converged Huber(1.345) fit. ``"s"``: the
        S-estimate of ``method="mm"`` (bisquare, 50 % breakdown, ``seed=``),
        the only start here that resists outliers at high leverage (L1 does
        not); with ``scale=`` that fit's S-scale, a Tukey fit from it is the
        MM-estimate. Case weights are refused with ``"s"``.
    seed : int, default 0
        The random subsamples of ``start="s"``.
    huber_d : float, default 2.5
        Tuning constant of Huber's proposal 2 scale.

    Returns
    -------
    Fit
        ``scale`` is the robust scale, ``stderr`` the sandwich standard
        errors, ``extra["weights"]`` the final IRLS weights,
        ``extra["sum_weights"]`` the total case weight.

    Examples
    --------
    >>> import numpy as np, l2kit as l2
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2)); y = 1 + X @ [2.0, -1.0] + rng.normal(size=200)
    >>> y[:10] += 50                                      # gross outliers
    >>> f = l2.fit(X, y, loss=l2.Huber(delta=1.345))
    >>> f.converged, np.round(f.coef, 1)
    (True, array([ 2., -1.]))
    """
    opts = check_common(options, "IRLS", _OPTIONS, penalty="l2")
    o = _read_options(opts)
    spec = read_cov_options(opts, solver="IRLS", supported=_COV_TYPES, default="nonrobust", n=design.y.shape[0])
    design.require_real("this loss")
    y, c = design.y, design.weights
    state = Problem(design.X, y, c, o.fit_intercept)
    # ridge: (1/sum c) sum c s^2 rho(r/s) / rho''(0) + alpha/2 |beta|^2, i.e. glmnet's 1/(2n) RSS near r = 0
    state.set_ridge(opts["alpha"] * state.sumw * float(np.asarray(loss._weight(_np_xp(), np.zeros(1)))[0]))
    if state.rank == 0:
        raise InputError("X", "at least one non-constant column or an intercept", "an all-zero design",
                         "add features or fit_intercept=True")
    newton = o.method == "newton" or (o.method == "auto" and loss.convex and not loss.redescending)
    beta, start_name = _start(state, loss, o.start, o.fit_intercept, opts.get("seed", 0))
    estimate_scale = _ScaleEstimator(o.scale, c, state, o.huber_d, GAUSS_3_4 / MASS_MAD if o.mass else 1.0)
    n_pre = 0
    if start_name == "huber":
        from ...losses import Huber

        pre = _iterate(state, Huber(delta=1.345), beta, estimate_scale(state.resid(beta)), estimate_scale,
                       o.update_scale, o.max_iter, max(o.tol, 1e-8), newton=True)
        beta, scale0, n_pre = pre[0], pre[1], pre[2]
    else:
        scale0 = estimate_scale(state.resid(beta))
    beta, scale, n_iter, status, message, r = _iterate(state, loss, beta, scale0, estimate_scale, o.update_scale,
                                                       o.max_iter, o.tol, newton=newton)
    if status is Status.SUCCESS:
        kind = "Newton-accelerated IRLS" if newton else "IRLS"
        message = (f"converged in {n_iter} {kind} iterations (fitted values and scale changed by less than "
                   f"tol={o.tol:g}), from {_START_NAMES[start_name]}"
                   + (f" ({n_pre} Huber iterations)" if n_pre else ""))
    # -- Huber's covariances (statsmodels RLM H1/H2/H3, with case weights); the sandwiches below --------
    model_based = spec.kind in ("nonrobust", "H1", "H2", "H3")
    cov = _huber_cov(loss, r, scale, state, spec.kind, o.mass) if state.full and model_based else None
    if opts["alpha"] > 0:
        cov = None
        message += f"; ridge penalty alpha={opts['alpha']:g}: no standard errors (the penalty biases the estimates)"
    elif not state.full:
        message += (f"; X is rank deficient (rank {state.rank} of {state.k} columns): minimum-norm coefficients, "
                    "no standard errors (drop the dependent columns)")
        if status is Status.SUCCESS:
            status = Status.RANK_DEFICIENT
    if o.fit_intercept and state.mean is not None:
        intercept, coef, cov = uncentre(beta, cov, state.mean, True)
        beta = np.concatenate([[intercept], coef])
    iw = loss._weight(_np_xp(), r / scale) if scale > 0 else np.ones_like(r)
    if not model_based and state.full and not opts["alpha"]:
        cov = _sandwich_cov(loss, r, scale, design.with_intercept(o.fit_intercept), state.cw, spec, iw)
        if cov is None:
            message += ("; standard errors undefined: sum c psi'(r/s) x x' is not positive definite at the "
                        "estimate (a redescending loss rejects too much)")
    return build_design_fit(Estimates(
        params=beta, cov=cov, status=status, message=message, method="irls", rank=state.rank, scale=float(scale),
        residuals=r, n_obs=int(y.size), df_resid=float(state.sumw - state.rank), n_iter=int(n_iter + n_pre),
        cov_type=spec.kind, dist="normal", df_model=float(state.rank - o.fit_intercept),
        undefined={"loglike": f"{type(loss).__name__} is not a likelihood: no log-likelihood, AIC or BIC"},
        training=residual_training(design.X, y, c, r),
        extra={"weights": iw, "sum_weights": float(state.sumw),
               "scale_estimator": o.scale if isinstance(o.scale, str) else "fixed", "start": start_name,
               "convention": "MASS" if o.mass else "statsmodels"}),
        design, loss, o.fit_intercept)


@dataclass(frozen=True)
class _Options:
    fit_intercept: bool
    method: str
    scale: Any
    mass: bool
    max_iter: int
    tol: float
    start: Any
    update_scale: bool
    huber_d: float


def _read_options(opts: dict) -> _Options:
    method = opts.get("method", "auto")
    if method not in ("auto", "irls", "newton"):
        raise InputError("method", "'auto', 'irls' or 'newton' for robust losses", repr(method),
                         "pass method='irls'")
    scale_opt = opts.get("scale", "mad")
    if isinstance(scale_opt, str):
        if scale_opt.lower() not in ("mad", "huber"):
            raise InputError("scale", "'mad', 'huber' or a positive number", repr(scale_opt),
                             "pass scale='mad' (default), scale='huber' (proposal 2) or a fixed value")
        scale_opt = scale_opt.lower()
    elif not (isinstance(scale_opt, (int, float, np.floating, np.integer)) and math.isfinite(scale_opt)
              and scale_opt > 0):
        raise InputError("scale", "'mad', 'huber' or a positive finite number", repr(scale_opt),
                         "pass e.g. scale=1.0 to fix the scale")
    convention = opts.get("convention", "statsmodels")
    if convention not in ("statsmodels", "MASS"):
        raise InputError("convention", "'statsmodels' or 'MASS'", repr(convention),
                         "pass convention='MASS' to reproduce MASS::rlm and summary.rlm")
    max_iter, tol = iteration_options(opts, max_iter=100, tol=1e-8)
    return _Options(bool(opts.get("fit_intercept", True)), method, scale_opt, convention == "MASS", max_iter, tol,
                    opts.get("start", "auto"), bool(opts.get("update_scale", True)), float(opts.get("huber_d", 2.5)))


def _start(state: Problem, loss: Any, start: Any, fit_intercept: bool, seed: Any = 0) -> tuple[np.ndarray, str]:
    """Starting coefficients (centred parametrisation) and the start's name."""
    if isinstance(start, str):
        start = start.lower()
        if start not in ("auto", "ols", "huber", "l1", "s"):
            raise InputError("start", "'auto', 'ols', 'huber', 'l1', 's' or an array of coefficients", repr(start),
                             "pass start='l1'")
        if start == "auto":
            start = "l1" if loss.redescending else "ols"
        if start == "s":
            return _s_start(state, loss, seed), start
        return (_l1_start(state) if start == "l1" else state.ols()), start
    b0 = np.asarray(start, dtype=float).reshape(-1)
    k = state.k
    if b0.shape != (k,):
        raise InputError("start", f"{k} coefficients (intercept first)" if fit_intercept else f"{k} coefficients",
                         f"{b0.size} values", "pass one value per parameter")
    beta = b0.copy()
    if state.mean is not None:
        beta[0] = b0[0] + state.mean @ b0[1:]   # to the centred parametrisation
    return beta, "given"


class _ScaleEstimator:
    """The robust scale of residuals: the MAD (found near its previous value), Huber's proposal 2, or fixed."""

    def __init__(self, kind: Any, c: np.ndarray | None, state: Problem, huber_d: float, mad_factor: float = 1.0):
        self.kind, self.c, self.state, self.huber_d, self.mad_factor = kind, c, state, huber_d, mad_factor
        self.last_mad = None   # the previous MAD: the next one is found near it (same value, less work)
        self.work = np.empty(state.y.shape) if c is None else None

    def __call__(self, r: np.ndarray) -> float:
        if not isinstance(self.kind, str):
            return float(self.kind)
        if self.kind == "mad":
            self.last_mad = mad_scale(r, self.c, guess=self.last_mad, work=self.work)
            return self.last_mad * self.mad_factor
        return huber_scale(r, self.c, self.state.sumw - self.state.rank, d=self.huber_d)


def _np_xp():
    import array_api_compat.numpy as xp

    return xp


def _iterate(state, loss, beta, scale, estimate_scale, update_scale, max_iter, tol, newton=False):
    r"""statsmodels RLM order: weights from the current scale, a WLS (or Newton) step, then a new scale.

    With ``newton=True`` (convex, monotone losses) the step is a safeguarded
    Newton step on :math:`\sum c\,\rho(r/s)` for the current scale, built from
    cheap updates: gradient :math:`X^\top C\,W r` (one pass over the data) and Hessian
    :math:`X^\top C\,\psi'(r/s)\,X`, corrected from the previous step's on the rows where
    :math:`\psi'` changed. Its fixed point is the IRLS fixed point
    (:math:`\sum c\,\psi(r/s)x = 0` with the scale equation), reached in fewer
    steps; a step that does not lower the objective falls back to IRLS.
    """
    xp = _np_xp()
    zero = np.zeros(1)
    w0 = float(np.asarray(loss._weight(xp, zero))[0])
    d0 = float(np.asarray(loss._psi_prime(xp, zero))[0])
    r = state.resid(beta)
    spare = np.empty_like(r)   # residual buffers alternate between steps (no fresh n-vector per step)
    vbuf = np.empty_like(r)
    cw = None if state.c is None else state.cw
    dfit = math.inf
    hess = None   # (H, psi' it was built from, incremental updates since a full one)
    for it in range(1, max_iter + 1):
        if not scale > 0:
            return beta, 0.0, it - 1, Status.STALLED, (
                "stopped: the robust scale is 0 (more than half of the residuals are exactly 0, a perfect fit "
                "of the bulk of the data); pass a fixed scale= to continue"), r
        u = r / scale
        wt = np.asarray(loss._weight(xp, u), dtype=float)
        if not np.any(wt > 0 if cw is None else wt * cw > 0):
            return beta, scale, it - 1, Status.STALLED, ("stopped: every IRLS weight is 0 (all residuals beyond the "
                                                "loss's rejection point); use a larger tuning constant or "
                                                "a Huber start"), r
        new = None
        if newton:
            dp = np.asarray(loss._psi_prime(xp, u), dtype=float)
            H, n_inc = state.hessian(dp, d0, hess)
            hess = (H, dp, n_inc)
            # gradient X' C W r (= b_w - G_w beta) in one pass over X, without forming G_w
            v = np.multiply(wt, r, out=vbuf)
            if cw is not None:
                v *= cw
            grad = state._rhs(state.X, v)
            step = small_solve(state.penalised(H), state.penalised(grad, beta), state.full) \
                if np.all(np.isfinite(H)) else None
            big_step = step is not None and (
                math.sqrt(max(float(step @ state.G0 @ step), 0.0) / state.sumw) > 0.05 * scale)
            if step is not None and np.all(np.isfinite(step)) and not big_step:
                # a small step (a twentieth of the scale in RMS fitted change): the quadratic model is
                # accurate there, so skip the objective check (two passes over the data)
                new = beta + step
                r_new = state.resid(new, out=spare)
            elif step is not None and np.all(np.isfinite(step)):
                f0 = state.csum(np.asarray(loss._rho(xp, u))) + state.penalty(beta, scale)
                t = 1.0
                for _ in range(20):
                    cand = beta + t * step
                    rc = state.resid(cand, out=spare)
                    f1 = state.csum(np.asarray(loss._rho(xp, rc / scale))) + state.penalty(cand, scale)
                    if f1 <= f0 + 1e-12 * abs(f0):
                        new, r_new = cand, rc
                        break
                    t *= 0.5
        if new is None:                 # an IRLS step (also the fallback of a Newton step that did not descend)
            (Gw,), idx, Xs = state.grams([wt], [w0])
            new = small_solve(state.penalised(Gw), state.rhs(wt, w0, idx, Xs), state.full)
            r_new = state.resid(new, out=spare)
        dlt = new - beta
        beta, r, spare = new, r_new, r
        new_scale = estimate_scale(r) if update_scale else scale
        # RMS change of the fitted values, in units of the scale (G0 / sum(c) is the design's second moment)
        dfit = math.sqrt(max(float(dlt @ state.G0 @ dlt), 0.0) / state.sumw)
        ds = abs(new_scale - scale)
        scale = new_scale
        if dfit <= tol * max(scale, 1e-300) and ds <= tol * max(scale, 1e-300):
            return beta, scale, it, Status.SUCCESS, "", r
    return beta, scale, max_iter, Status.MAX_ITER, (
        f"not converged: stopped at the iteration limit max_iter={max_iter}; the last step still changed the "
        f"fitted values by {dfit / max(scale, 1e-300):.3g} scale units (tol={tol:g}); raise max_iter"), r


def _psi_parts(loss, u):
    """:math:`\\psi(u)` and :math:`\\psi'(u)` of the scaled residuals, as float arrays."""
    xp = _np_xp()
    return np.asarray(loss._psi(xp, u), dtype=float), np.asarray(loss._psi_prime(xp, u), dtype=float)


def _huber_cov(loss, r, scale, state, cov_type, mass: bool):
    """Huber's H1 ("nonrobust"), H2 and H3 (statsmodels RLM; ``mass``: MASS's n - 1 in var psi')."""
    if not scale > 0:
        return None
    psi, dpsi = _psi_parts(loss, r / scale)
    cw = state.cw
    n = state.sumw
    m = state.csum(dpsi) / n
    if not m > 0 or state.sumw - state.rank <= 0:
        return None
    var_dpsi = state.csum((dpsi - m) ** 2) / (n - 1 if mass else n)
    kfac = 1 + state.rank / n * var_dpsi / m ** 2
    df_resid = n - state.rank
    ss_psi = state.csum(psi * psi)
    if cov_type in ("H1", "nonrobust"):
        return kfac ** 2 * (ss_psi / df_resid * scale ** 2) / m ** 2 * inverse(state.G0, state.full)
    W = state._gram(state.X, cw * dpsi)
    Winv = inverse(W, state.full)
    if cov_type == "H2":
        return kfac * ss_psi / df_resid * scale ** 2 / m * Winv
    return ss_psi / df_resid * scale ** 2 / kfac * (Winv @ state.G0 @ Winv)


def _sandwich_cov(loss, r, scale, Xa, cw, spec: CovSpec, iw):
    """The sandwich kinds: scores psi(r/s) x, bread s (sum c psi'(r/s) x x')^-1, HC2/HC3 leverage from the IRLS
    weights (R's sandwich on rlm)."""
    if not scale > 0:
        return None
    psi, dpsi = _psi_parts(loss, r / scale)
    A = (Xa * (cw * dpsi)[:, None]).T @ Xa
    try:
        np.linalg.cholesky(A)
    except np.linalg.LinAlgError:
        return None
    bread = scale * inverse(A, True)
    if spec.kind == "HAC" and not np.all(cw == 1):
        raise InputError("weights", "None for cov_type='HAC'", "case weights",
                         "a time series has one row per time; drop the weights or use cov_type='HC1'")
    h = hat_values(Xa, np.asarray(iw, dtype=float), cw) if spec.kind in ("HC2", "HC3") else None
    return sandwich(bread, Xa * psi[:, None], spec, freq=cw, leverage=h, n=float(cw.sum()))


def _s_start(state: Problem, loss: Any, seed: Any) -> np.ndarray:
    """The S-estimate (lmrob's fast-S, bisquare chi at 50 % breakdown) in the centred parametrisation."""
    from ._sest import s_estimate

    if state.c is not None:
        raise InputError("weights", "None with start='s'", "case weights",
                         "the S-estimate has no case weights: repeat rows for frequency weights, or pass start='l1'")
    Xa = np.column_stack([np.ones(state.y.size), state.X]) if state.intercept else state.X
    return s_estimate(Xa, state.y, loss, seed).beta


def _l1_start(state):
    """Least absolute deviations start (exact LP), for redescending losses on request."""
    from ._lp import GLOB_MIN_ROWS, solve_quantile_globbed, solve_quantile_lp

    Xa = np.column_stack([np.ones(state.y.size), state.X]) if state.intercept else state.X
    if state.y.size > GLOB_MIN_ROWS:
        beta = solve_quantile_globbed(Xa, state.y, state.c, 0.5)[0]
    else:
        beta = solve_quantile_lp(Xa, state.y, state.c, 0.5)[0]
    if beta is None:   # LP failure: fall back to OLS (the Huber pre-fit is then the safeguard)
        return state.ols()
    return beta
