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

from .._array import InputError
from ._design import Design
from ._irls import check_common, gram_rank
from ._result import Fit

__all__ = ["fit_quantile", "solve_quantile_lp"]

_OPTIONS = ("max_iter", "tol")


def solve_quantile_lp(Xa: np.ndarray, y: np.ndarray, c: np.ndarray | None, q: float, *,
                      formulation: str = "dual", solver: str = "highs", time_limit: float | None = None,
                      tol: float | None = None):
    """Solve the weighted quantile LP; returns ``(beta, result)`` (scipy ``OptimizeResult``)."""
    from scipy import sparse
    from scipy.optimize import linprog

    if c is not None:
        keep = c > 0
        if not keep.all():   # zero-weight rows do not enter the objective; drop them from the LP
            Xa, y, c = Xa[keep], y[keep], c[keep]
    n, k = Xa.shape
    cw = np.ones(n) if c is None else c
    opts: dict[str, Any] = {}
    if time_limit is not None:
        opts["time_limit"] = float(time_limit)
    if tol is not None:
        opts["primal_feasibility_tolerance"] = opts["dual_feasibility_tolerance"] = float(tol)
    if formulation == "dual":
        bounds = np.empty((n, 2))
        bounds[:, 0] = -(1.0 - q) * cw
        bounds[:, 1] = q * cw
        res = linprog(-y, A_eq=sparse.csc_array(Xa.T), b_eq=np.zeros(k), bounds=bounds, method=solver,
                      options=opts)
        beta = -np.asarray(res.eqlin.marginals) if res.status == 0 else None
        return beta, res
    # primal: variables [beta (free), u >= 0, v >= 0]
    eye = sparse.eye_array(n, format="csc")
    A = sparse.hstack([sparse.csc_array(Xa), eye, -eye], format="csc")
    cost = np.concatenate([np.zeros(k), q * cw, (1.0 - q) * cw])
    bounds = [(None, None)] * k + [(0, None)] * (2 * n)
    res = linprog(cost, A_eq=A, b_eq=y, bounds=bounds, method=solver, options=opts)
    beta = np.asarray(res.x[:k]) if res.status == 0 else None
    return beta, res


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
        ``"auto"``/``"dual"``: HiGHS on the dual LP (``k`` equality rows, the
        bounded-memory choice for large ``n``). ``"primal"``: HiGHS on the
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
        the residuals at exactly 0 (at least ``rank`` at a vertex). Standard
        errors are not computed (``stderr`` is None).

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
    q = float(getattr(loss, "q", 0.5))
    factor = 2.0 if type(loss).__name__ == "Absolute" else 1.0   # |r| = 2 * pinball_0.5(r)
    X, y, c = design.X, design.y, design.weights
    if np.iscomplexobj(X) or np.iscomplexobj(y):
        raise InputError("X, y", "real data for quantile regression", "complex data", "pass real data")
    Xa = np.column_stack([np.ones(y.size), X]) if fit_intercept else X
    formulation = "primal" if method == "primal" else "dual"
    solver = method if method.startswith("highs") else "highs"
    time_limit = opts.get("max_iter")
    beta, res = solve_quantile_lp(Xa, y, c, q, formulation=formulation, solver=solver, time_limit=time_limit,
                                  tol=opts.get("tol"))
    converged = res.status == 0
    if beta is None:
        beta = np.full(Xa.shape[1], np.nan)
        status = f"not converged: HiGHS stopped with status {res.status} ({res.message})"
    else:
        status = f"optimal: HiGHS solved the {formulation} LP exactly ({res.message.rstrip('.')})"
    r = y - Xa @ beta
    rho = np.where(r < 0, (q - 1.0) * r, q * r) * factor
    cw = np.ones(y.size) if c is None else c
    obj = float(cw @ rho)
    G = (Xa * cw[:, None]).T @ Xa
    rank = gram_rank(G)
    return Fit(
        coef=beta[1:] if fit_intercept else beta, intercept=float(beta[0]) if fit_intercept else 0.0,
        stderr=None, intercept_stderr=None, cov_params=None, rank=rank, scale=obj / float(cw.sum()),
        loglike=None, converged=bool(converged), n_iter=int(getattr(res, "nit", 0) or 0), status=status,
        residuals=r, n_obs=int(y.size), df_resid=float(cw.sum() - rank), loss=loss,
        method=f"linprog-{formulation}" + ("" if solver == "highs" else f"-{solver}"), fit_intercept=fit_intercept,
        dist="normal", cov_type="none", feature_names=design.feature_names, backend=design.backend,
        extra={"objective": obj, "quantile": q, "n_zero_residuals": int(np.sum(np.abs(r) <= 1e-9 * (1 + np.abs(y)))),
               "sum_weights": float(cw.sum())},
        _like=design.backend_like,
    )
