r"""Quantile and least-absolute-deviations regression as an exact linear program (HiGHS).

For the pinball loss :math:`\rho_q(r) = r\,(q - [r<0])` and case weights
:math:`c_i`, the fit solves

.. math::
    \min_{\beta,\,u,\,v \ge 0} \sum_i c_i\,\bigl(q\,u_i + (1-q)\,v_i\bigr)
    \quad\text{s.t.}\quad X\beta + u - v = y

(the *primal*, "standard" formulation: ``2n + k`` variables, a sparse
``n x (2n + k)`` constraint matrix ``[X, I, -I]``), or its *dual*

.. math::
    \max_\lambda\ y^\top\lambda \quad\text{s.t.}\quad X^\top\lambda = 0,\quad
    -(1-q)\,c_i \le \lambda_i \le q\,c_i

with ``n`` bounded variables and only ``k`` equality rows (Koenker's
formulation behind ``quantreg::rq``); :math:`\beta` is read off the equality
constraints' marginals. The dual needs no identity blocks, so its memory is
about one copy of ``X`` (``8 n k`` bytes) plus HiGHS's work arrays, and 1e6
rows fit comfortably; scikit-learn's ``QuantileRegressor`` builds the primal
with ``[X, -X, I, -I]``. Both reach the exact LP optimum (a vertex: at least
``rank`` residuals are exactly 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._errors import InputError
from ..._status import Status
from .._design import Design
from .._linalg import gram_rank, pinvh
from .._options import check_common
from .._result import Estimates, Fit, build_design_fit
from .._scale import weighted_quantile
from ._lp import GLOB_MIN_ROWS, lp_scaling, solve_quantile_globbed, solve_quantile_lp

__all__ = ["fit_quantile"]

_OPTIONS = ("max_iter", "tol", "cov_type")


def fit_quantile(design: Design, loss: Any, **options: Any) -> Fit:
    r"""Exact quantile (``Quantile(q)``) or L1 (``Absolute()``) regression by linear programming.

    Parameters
    ----------
    design : Design
    loss : Quantile or Absolute
        ``Absolute()`` is the median regression, ``Quantile(0.5)`` with twice
        the objective.
    fit_intercept : bool, default True
    method : {"auto", "dual", "primal", "highs-ipm", "highs-ds"}
        ``"dual"``: HiGHS on the dual LP (``k`` equality rows, about one
        copy of ``X`` in memory). ``"auto"``: the dual for up to 20000 rows;
        beyond, the same exact LP after Portnoy-Koenker preprocessing
        (:func:`solve_quantile_globbed`: a subsample fit, a band of rows
        kept, the rest fixed at their bounds and verified), which solves 1e6
        rows in seconds. ``"primal"``: HiGHS on the
        standard sparse primal formulation. ``"highs-ipm"`` / ``"highs-ds"``:
        the dual LP with that HiGHS algorithm (interior point with crossover,
        or dual simplex).
    max_iter : float, optional
        Time limit in seconds passed to HiGHS (``time_limit``); hitting it is
        reported as not converged.
    tol : float, optional
        HiGHS primal/dual feasibility tolerance.

    Returns
    -------
    Fit
        ``scale`` is the weighted mean pinball loss at the optimum,
        ``extra["objective"]`` the weighted sum, ``extra["n_zero_residuals"]``
        the residuals at exactly 0 (at least ``rank`` at a vertex),
        ``extra["sparsity"]`` the estimated :math:`1/f(0)`.
    cov_type : {"robust", "iid", "none"}, default "robust"
        Standard errors as statsmodels ``QuantReg`` (its defaults): the
        sparsity :math:`1/f(0)` of the residual density is estimated with an
        Epanechnikov kernel and the Hall-Sheather bandwidth (as Stata 12);
        "robust" is the sandwich :math:`(X^\top X)^{-1} X^\top D X (X^\top X)^{-1}`
        with :math:`D_i = (q\text{ or }1-q)^2/f(0)^2` by residual sign (the
        exactly-zero residuals of the LP basis get :math:`q(1-q)/f(0)^2`), "iid"
        :math:`q(1-q)/f(0)^2\,(X^\top X)^{-1}`. With case weights the
        percentiles and sums are weighted.

    Examples
    --------
    >>> import numpy as np, l2kit as l2
    >>> X = np.arange(10.0).reshape(-1, 1); y = 2 * X[:, 0] + np.array([0, 1, 0, 5, 0, -3, 0, 1, 0, 0.0])
    >>> f = l2.fit(X, y, loss=l2.Absolute())
    >>> f.converged, round(f.intercept, 6), np.round(f.coef, 6)
    (True, 0.0, array([2.]))
    """
    opts = check_common(options, "quantile LP", _OPTIONS)
    fit_intercept = bool(opts.get("fit_intercept", True))
    method = opts.get("method", "auto")
    if method not in ("auto", "dual", "primal", "highs-ipm", "highs-ds"):
        raise InputError("method", "'auto', 'dual', 'primal', 'highs-ipm' or 'highs-ds'", repr(method),
                         "pass method='auto'")
    q, factor = float(loss.q), float(loss.pinball_factor)   # the LP minimises factor x pinball_q
    design.require_real("quantile regression")
    y, c = design.y, design.weights
    Xa = design.with_intercept(fit_intercept)
    beta, res, formulation, solver, rounds = _solve(Xa, y, c, q, method, opts)
    if beta is None:
        beta = np.full(Xa.shape[1], np.nan)
        status = Status.MAX_ITER if res.status == 1 else Status.FAILED
        message = f"not converged: HiGHS stopped with status {res.status} ({res.message})"
    else:
        status = Status.SUCCESS
        message = f"optimal: HiGHS solved the {formulation} LP exactly ({res.message.rstrip('.')})"
        if formulation == "globbed dual":
            message += f"; every globbed row's residual sign verified (KKT), {rounds} round(s)"
    r = y - Xa @ beta
    rho = np.where(r < 0, (q - 1.0) * r, q * r) * factor
    cw = design.case_weights
    obj = float(cw @ rho)
    XtX = Xa.T @ Xa if c is None else (Xa * cw[:, None]).T @ Xa
    rank = gram_rank(XtX)
    if status is Status.SUCCESS and rank < Xa.shape[1]:
        status = Status.RANK_DEFICIENT
    cov_type = str(opts.get("cov_type", "robust")).lower()
    if cov_type not in ("robust", "iid", "none"):
        raise InputError("cov_type", "'robust', 'iid' or 'none'", repr(cov_type), "pass cov_type='robust'")
    cov, sparsity = None, None
    if status is Status.SUCCESS and cov_type != "none":
        cov, sparsity = _kernel_cov(Xa, y, r, cw, q, XtX, cov_type)
    return build_design_fit(Estimates(
        params=beta, cov=cov, status=status, message=message, rank=rank, scale=obj / float(cw.sum()),
        n_iter=int(getattr(res, "nit", 0) or 0), residuals=r, n_obs=int(y.size), df_resid=float(cw.sum() - rank),
        method="linprog-" + formulation.replace(" ", "-") + ("" if solver == "highs" else f"-{solver}"),
        cov_type=cov_type,
        extra={"sparsity": sparsity, "objective": obj, "quantile": q,
               "n_zero_residuals": int(np.sum(np.abs(r) <= 1e-9 * (1 + np.abs(y)))), "sum_weights": float(cw.sum())}),
        design, loss, fit_intercept)


def _solve(Xa, y, c, q, method, opts):
    """The LP by the requested formulation; returns ``beta`` (None on failure), the result and what was solved.

    The LP is solved on columns, target and weights scaled by powers of two (:func:`lp_scaling`: exact) and
    the coefficients mapped back, so a column of values near 1e-10 or 1e150 is fitted like any other.
    """
    Xa, y, c, scaling = lp_scaling(Xa, y, c)
    beta, res, formulation, solver, rounds = _solve_scaled(Xa, y, c, q, method, opts)
    return (None if beta is None else scaling.coef(beta)), res, formulation, solver, rounds


def _solve_scaled(Xa, y, c, q, method, opts):
    """:func:`_solve` on the scaled LP."""
    formulation = "primal" if method == "primal" else "dual"
    solver = method if method.startswith("highs") else "highs"
    time_limit = opts.get("max_iter")
    n_eff = int(y.size if c is None else np.count_nonzero(c))
    rounds = 0
    if method == "auto" and n_eff > GLOB_MIN_ROWS:
        formulation, solver = "globbed dual", "highs-ipm"
        beta, res, rounds = solve_quantile_globbed(Xa, y, c, q)
        if beta is None:   # preprocessing gave up: solve the whole dual LP (exact, more memory)
            formulation = "dual"
            beta, res = solve_quantile_lp(Xa, y, c, q, solver="highs-ipm", time_limit=time_limit, tol=opts.get("tol"))
    else:
        beta, res = solve_quantile_lp(Xa, y, c, q, formulation=formulation, solver=solver, time_limit=time_limit,
                                      tol=opts.get("tol"))
    return beta, res, formulation, solver, rounds


def _kernel_cov(Xa, y, r, cw, q, XtX, cov_type):
    """statsmodels QuantReg covariance: Epanechnikov kernel sparsity, Hall-Sheather bandwidth."""
    from scipy.stats import norm

    n = float(cw.sum())
    alpha = 0.05
    z = norm.ppf(q)
    hs = n ** (-1 / 3) * norm.ppf(1 - alpha / 2) ** (2 / 3) * (1.5 * norm.pdf(z) ** 2 / (2 * z ** 2 + 1)) ** (1 / 3)
    iqre = weighted_quantile(r, cw, 0.75) - weighted_quantile(r, cw, 0.25)
    ybar = float(cw @ y) / n
    sd = float(np.sqrt(cw @ (y - ybar) ** 2 / n))
    lo, hi = q - hs, q + hs
    if not (0 < lo and hi < 1):
        return None, None
    h = min(sd, iqre / 1.34) * (norm.ppf(hi) - norm.ppf(lo))
    if not h > 0:
        return None, None
    u = r / h
    kern = 0.75 * (1 - u * u) * (np.abs(u) <= 1)
    fhat0 = float(cw @ kern) / (n * h)
    if not fhat0 > 0:
        return None, None
    xtxi = pinvh(XtX)
    if cov_type == "iid":
        return q * (1 - q) / fhat0 ** 2 * xtxi, 1 / fhat0
    # psi(r)^2 = q^2 or (1-q)^2 by residual sign; the LP puts >= k residuals exactly at 0 (the basis), whose
    # sign is arbitrary: give them the expectation q(1-q) rather than one side (statsmodels' IRLS never hits 0)
    zero = np.abs(r) <= 1e-9 * (1 + np.abs(y))
    d = np.where(zero, q * (1 - q), np.where(r > 0, q * q, (1 - q) ** 2)) / fhat0 ** 2 * cw
    return xtxi @ ((Xa * d[:, None]).T @ Xa) @ xtxi, 1 / fhat0
