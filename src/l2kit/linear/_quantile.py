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
from ._irls import gram_rank
from ._options import check_common
from ._result import Fit

__all__ = ["fit_quantile", "solve_quantile_lp"]

_OPTIONS = ("max_iter", "tol", "cov_type")
_GLOB_MIN_ROWS = 20000  # above this, "auto" solves the exact LP by Portnoy-Koenker preprocessing


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


def solve_quantile_globbed(Xa: np.ndarray, y: np.ndarray, c: np.ndarray | None, q: float, *,
                           solver: str = "highs-ipm", seed: int = 0, max_rounds: int = 20, band: float = 2.0,
                           m: int | None = None):
    r"""Exact quantile LP for large ``n`` by Portnoy & Koenker's (1997) preprocessing.

    1. Solve the LP on a random subsample of :math:`m \approx (kn)^{2/3}` rows.
    2. Keep the :math:`M \approx 2m` rows whose residuals are nearest the
       fitted quantile; the rows below/above are *globbed*: in the dual their
       :math:`\lambda_i` sit at the bounds :math:`-(1-q)c_i` / :math:`q c_i`,
       which only shifts the right-hand side of :math:`X^\top\lambda = 0`.
    3. Solve the reduced dual LP, then check every globbed row's residual
       sign. KKT for the full LP holds exactly when all signs agree (then the
       reduced optimum *is* the full optimum); otherwise the violators join
       the kept rows (and ``M`` doubles if there are many) and we repeat.

    Memory is one residual vector and a few index arrays besides ``X``.
    Returns ``(beta, result, n_rounds)``.
    """
    from scipy import sparse
    from scipy.optimize import linprog

    if c is not None:
        keep = c > 0
        if not keep.all():
            Xa, y, c = Xa[keep], y[keep], c[keep]
    n, k = Xa.shape
    cw = np.ones(n) if c is None else c
    rng = np.random.default_rng(seed)
    m = int(min(n, max(20 * k, (k * n) ** (2 / 3)) if m is None else m))
    sub = np.sort(rng.choice(n, m, replace=False))
    beta, res = solve_quantile_lp(Xa[sub], y[sub], cw[sub], q, solver=solver)
    if beta is None:
        return None, res, 0
    M = min(n, int(band * m))
    r = y - Xa @ beta
    # rank the residuals around the fitted q-quantile: keep a band of about M rows
    lo_q, hi_q = max(0.0, q - M / (2 * n)), min(1.0, q + M / (2 * n))
    lo, hi = np.quantile(r, [lo_q, hi_q]) if M < n else (-np.inf, np.inf)
    for rounds in range(1, max_rounds + 1):
        below, above = r < lo, r > hi
        mid = ~(below | above)
        b = (1.0 - q) * (cw[below] @ Xa[below]) - q * (cw[above] @ Xa[above])
        idx = np.flatnonzero(mid)
        bounds = np.empty((idx.size, 2))
        bounds[:, 0] = -(1.0 - q) * cw[idx]
        bounds[:, 1] = q * cw[idx]
        res = linprog(-y[idx], A_eq=sparse.csc_array(Xa[idx].T), b_eq=b, bounds=bounds, method=solver)
        if res.status == 2 and M < n:
            # infeasible: the band holds too few rows to balance the globs; double it around the same fit
            M = min(n, 2 * M)
            lo_q, hi_q = max(0.0, q - M / (2 * n)), min(1.0, q + M / (2 * n))
            lo, hi = np.quantile(r, [lo_q, hi_q]) if M < n else (-np.inf, np.inf)
            continue
        if res.status != 0:
            return None, res, rounds
        beta = -np.asarray(res.eqlin.marginals)
        r = y - Xa @ beta
        tol = 1e-9 * (1.0 + np.abs(y))
        bad = (below & (r > tol)) | (above & (r < -tol))
        nbad = int(np.count_nonzero(bad))
        if nbad == 0:
            return beta, res, rounds
        # widen the band to take in the violators (and double it if there are many)
        grow = 2.0 if nbad > 0.1 * idx.size else 1.0
        lo = min(lo * grow if lo < 0 else lo / grow, float(r[bad].min()) - 1e-12)
        hi = max(hi * grow if hi > 0 else hi / grow, float(r[bad].max()) + 1e-12)
    return None, res, max_rounds


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
    q = float(getattr(loss, "q", 0.5))
    factor = 2.0 if type(loss).__name__ == "Absolute" else 1.0   # |r| = 2 * pinball_0.5(r)
    X, y, c = design.X, design.y, design.weights
    if np.iscomplexobj(X) or np.iscomplexobj(y):
        raise InputError("X, y", "real data for quantile regression", "complex data", "pass real data")
    Xa = np.column_stack([np.ones(y.size), X]) if fit_intercept else X
    formulation = "primal" if method == "primal" else "dual"
    solver = method if method.startswith("highs") else "highs"
    time_limit = opts.get("max_iter")
    n_eff = int(y.size if c is None else np.count_nonzero(c))
    if method == "auto" and n_eff > _GLOB_MIN_ROWS:
        formulation, solver = "globbed dual", "highs-ipm"
        beta, res, rounds = solve_quantile_globbed(Xa, y, c, q)
        if beta is None:   # preprocessing gave up: solve the whole dual LP (exact, more memory)
            formulation = "dual"
            beta, res = solve_quantile_lp(Xa, y, c, q, solver="highs-ipm", time_limit=time_limit, tol=opts.get("tol"))
    else:
        beta, res = solve_quantile_lp(Xa, y, c, q, formulation=formulation, solver=solver, time_limit=time_limit,
                                      tol=opts.get("tol"))
    converged = res.status == 0 and beta is not None
    if beta is None:
        beta = np.full(Xa.shape[1], np.nan)
        status = f"not converged: HiGHS stopped with status {res.status} ({res.message})"
    else:
        status = f"optimal: HiGHS solved the {formulation} LP exactly ({res.message.rstrip('.')})"
        if formulation == "globbed dual":
            status += f"; every globbed row's residual sign verified (KKT), {rounds} round(s)"
    r = y - Xa @ beta
    rho = np.where(r < 0, (q - 1.0) * r, q * r) * factor
    cw = np.ones(y.size) if c is None else c
    obj = float(cw @ rho)
    XtX = Xa.T @ Xa if c is None else (Xa * cw[:, None]).T @ Xa
    rank = gram_rank(XtX)
    cov_type = str(opts.get("cov_type", "robust")).lower()
    if cov_type not in ("robust", "iid", "none"):
        raise InputError("cov_type", "'robust', 'iid' or 'none'", repr(cov_type), "pass cov_type='robust'")
    cov, sparsity = None, None
    if converged and cov_type != "none" and rank == Xa.shape[1]:
        cov, sparsity = _kernel_cov(Xa, y, r, cw, q, XtX, cov_type)
    se = None if cov is None else np.sqrt(np.clip(np.diag(cov), 0, None))
    return Fit(
        coef=beta[1:] if fit_intercept else beta, intercept=float(beta[0]) if fit_intercept else 0.0,
        stderr=None if se is None else (se[1:] if fit_intercept else se),
        intercept_stderr=float(se[0]) if (se is not None and fit_intercept) else None,
        cov_params=cov, rank=rank, scale=obj / float(cw.sum()),
        loglike=None, converged=bool(converged), n_iter=int(getattr(res, "nit", 0) or 0), status=status,
        residuals=r, n_obs=int(y.size), df_resid=float(cw.sum() - rank), loss=loss,
        method="linprog-" + formulation.replace(" ", "-") + ("" if solver == "highs" else f"-{solver}"),
        fit_intercept=fit_intercept,
        dist="normal", cov_type=cov_type, feature_names=design.feature_names, backend=design.backend,
        extra={"sparsity": sparsity, "objective": obj, "quantile": q,
               "n_zero_residuals": int(np.sum(np.abs(r) <= 1e-9 * (1 + np.abs(y)))), "sum_weights": float(cw.sum())},
        _like=design.backend_like,
    )


def _weighted_percentile(a, w, pct):
    """Percentile with linear interpolation (``scipy.stats.scoreatpercentile``); weighted: lower quantile."""
    if np.all(w == 1):
        return float(np.percentile(a, pct))
    order = np.argsort(a)
    cum = np.cumsum(w[order])
    return float(a[order][min(int(np.searchsorted(cum, pct / 100 * cum[-1])), a.size - 1)])


def _kernel_cov(Xa, y, r, cw, q, XtX, cov_type):
    """statsmodels QuantReg covariance: Epanechnikov kernel sparsity, Hall-Sheather bandwidth."""
    from scipy.stats import norm

    n = float(cw.sum())
    alpha = 0.05
    z = norm.ppf(q)
    hs = n ** (-1 / 3) * norm.ppf(1 - alpha / 2) ** (2 / 3) * (1.5 * norm.pdf(z) ** 2 / (2 * z ** 2 + 1)) ** (1 / 3)
    iqre = _weighted_percentile(r, cw, 75) - _weighted_percentile(r, cw, 25)
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
    from ._irls import pinvh

    xtxi = pinvh(XtX)
    if cov_type == "iid":
        return q * (1 - q) / fhat0 ** 2 * xtxi, 1 / fhat0
    # psi(r)^2 = q^2 or (1-q)^2 by residual sign; the LP puts >= k residuals exactly at 0 (the basis), whose
    # sign is arbitrary: give them the expectation q(1-q) rather than one side (statsmodels' IRLS never hits 0)
    zero = np.abs(r) <= 1e-9 * (1 + np.abs(y))
    d = np.where(zero, q * (1 - q), np.where(r > 0, q * q, (1 - q) ** 2)) / fhat0 ** 2 * cw
    return xtxi @ ((Xa * d[:, None]).T @ Xa) @ xtxi, 1 / fhat0
