r"""Least squares for ``Squared()``: OLS, WLS, GLS, ridge (with LOO/GCV selection) and elastic net.

``fit_least_squares`` reduces every variant to one whitened problem

.. math::
    \min_{\beta_0,\beta}\ \|b - c\,\beta_0 - A\beta\|^2 + \text{penalty}

* OLS: ``A = X``, ``b = y``, ``c = 1``;
* WLS (case weights ``w``): rows scaled by :math:`\sqrt{w}`, ``c`` = :math:`\sqrt{w}`;
  zero-weight rows are removed (and counted), so "weight 0 = row removed" holds exactly;
* GLS with a full covariance :math:`\Sigma = LL^\top`: ``A = L^{-1}X``, ``b = L^{-1}y``,
  ``c = L^{-1}1`` by triangular solves (no inverse is formed); per-row
  variances are WLS with ``w = 1/var``;

then solves it with :func:`l2kit.linear._direct.lstsq` (direct paths),
:mod:`._ridge` (penalty selection from one SVD) or :mod:`._enet` (coordinate
descent). Inference follows statsmodels: ``df_resid = n - rank - 1``,
``scale = RSS / df_resid`` on the whitened scale, HC0-HC3 from the whitened
design and residuals.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np

from .._array import InputError
from ._design import Design, check_finite_design
from ._direct import CollinearityWarning, NonFiniteInput, lstsq, warn_collinear
from ._inference import COV_TYPES, classical_cov, gaussian_loglike, robust_cov
from ._result import Fit

METHODS = ("auto", "cholesky", "qr", "svd")
_OPTIONS = ("cov_type", "criterion", "tol", "max_iter")

__all__ = ["fit_least_squares", "CollinearityWarning", "METHODS"]


def _check_options(options: dict) -> None:
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise InputError(", ".join(unknown), "options of the least-squares solver (" + ", ".join(_OPTIONS) + ")",
                         "unknown keyword(s)", "check the spelling; see help(l2kit.fit)")


def _whiten(design: Design, cov: Any, fit_intercept: bool):
    """Return A, b, c, keep (row mask or None), n_obs, logdet_cov, n_pen, kind."""
    X, y, w = design.X, design.y, design.weights
    n = X.shape[0]
    if cov is not None:
        from .._array import to_numpy

        C = np.asarray(to_numpy(cov) if not isinstance(cov, (list, tuple)) else cov)
        if not np.issubdtype(C.dtype, np.number) or np.iscomplexobj(C):
            raise InputError("cov", "a real covariance matrix (n, n) or variances (n,)", f"dtype {C.dtype}",
                             "pass real numbers")
        C = C.astype(np.float64)
        if C.shape == (n,):
            if not np.all(np.isfinite(C)) or (C <= 0).any():
                bad = np.flatnonzero(~(np.isfinite(C) & (C > 0)))
                raise InputError("cov", "positive finite variances (a positive definite diagonal covariance)",
                                 f"{bad.size} bad value(s), first at row {int(bad[0])} ({C[bad[0]]:g})",
                                 "variances must be > 0; drop those rows or fix the variances")
            w = 1.0 / C if w is None else w / C
            kind = "gls-diagonal"
        elif C.shape == (n, n):
            if w is not None:
                raise InputError("weights", "None together with a full covariance matrix", "weights",
                                 "fold the weights into cov (cov / w scales row i and column i by 1/sqrt(w_i))")
            if not np.all(np.isfinite(C)):
                raise InputError("cov", "finite values", f"{int((~np.isfinite(C)).sum())} NaN/inf value(s)",
                                 "fix the covariance matrix")
            if not np.allclose(C, C.T, rtol=1e-10, atol=0):
                raise InputError("cov", "a symmetric matrix", "an asymmetric matrix", "pass (C + C.T) / 2")
            from scipy.linalg import lapack, solve_triangular

            L, info = lapack.dpotrf(C, lower=1, clean=1)
            if info != 0:
                raise InputError("cov", "a positive definite covariance matrix",
                                 f"a matrix that is not positive definite (Cholesky failed at leading minor "
                                 f"{info})", "check for duplicated or perfectly correlated rows; add a small "
                                 "multiple of the identity, or pass per-row variances")
            A = solve_triangular(L, X, lower=True)
            b = solve_triangular(L, y, lower=True)
            c = solve_triangular(L, np.ones(n), lower=True) if fit_intercept else None
            logdet = 2.0 * float(np.log(np.diag(L)).sum())
            return A, b, c, None, n, logdet, float(n), "gls"
        else:
            raise InputError("cov", f"shape ({n}, {n}) (full covariance) or ({n},) (variances)",
                             f"shape {C.shape}", "pass one variance per row or an n-by-n covariance matrix")
    if w is None:
        return X, y, (1.0 if fit_intercept else None), None, n, 0.0, float(n), "ols"
    keep = w > 0
    if keep.all():
        keep = None
        Xk, yk, wk = X, y, w
    else:
        Xk, yk, wk = X[keep], y[keep], w[keep]
    s = np.sqrt(wk)
    A = Xk * s[:, None]
    b = yk * s
    return A, b, (s if fit_intercept else None), keep, int(wk.size), -float(np.log(wk).sum()), \
        float(wk.sum()), "wls" if cov is None else "gls-diagonal"


def _parse_alpha(alpha):
    if isinstance(alpha, str):
        if alpha not in ("loo", "gcv"):
            raise InputError("alpha", "a number >= 0, 'loo', 'gcv' or a grid of numbers", repr(alpha),
                             "pass e.g. alpha=0.1 or alpha='gcv'")
        return "select"
    if isinstance(alpha, numbers.Real) and not isinstance(alpha, bool):
        if not math.isfinite(alpha) or alpha < 0:
            raise InputError("alpha", "a finite number >= 0", repr(alpha), "pass alpha >= 0")
        return "scalar"
    a = np.asarray(alpha)
    if a.ndim == 0 and np.issubdtype(a.dtype, np.number):
        return _parse_alpha(float(a))
    if a.ndim == 1 and np.issubdtype(a.dtype, np.number):
        return "select"
    raise InputError("alpha", "a number >= 0, 'loo', 'gcv' or a 1-D grid", repr(alpha), "pass e.g. alpha=0.1")


def fit_least_squares(design: Design, loss: Any, *, cov: Any = None, alpha: Any = 0.0, l1_ratio: float = 0.0,
                      fit_intercept: bool = True, method: str = "auto", cov_type: str = "nonrobust",
                      **refuse_others: Any) -> Fit:
    r"""Least-squares fit of a validated design (called by :func:`l2kit.fit` for ``Squared()``).

    Parameters
    ----------
    design : Design
        Output of :func:`~l2kit.linear._design.validate_design`.
    loss : Squared
    cov : array (n, n) or (n,), optional
        GLS error covariance or per-row variances.
    alpha : float, "loo", "gcv" or 1-D grid
        Penalty in the glmnet scaling (``alpha=a`` is scikit-learn ``Ridge(alpha=a*n)``).
        A string or a grid selects the ridge penalty by leave-one-out (default
        for a grid; ``criterion="gcv"`` for GCV) from one SVD; the curve is in
        ``Fit.extra``.
    l1_ratio : float in [0, 1]
        0 = ridge; > 0 = elastic net by coordinate descent (1 = lasso).
    fit_intercept : bool
    method : {"auto", "cholesky", "qr", "svd"}
    cov_type : {"nonrobust", "HC0", "HC1", "HC2", "HC3"}
    **refuse_others
        ``criterion`` ("loo"/"gcv"), ``tol`` and ``max_iter`` (elastic net);
        anything else is refused.

    Returns
    -------
    Fit

    Examples
    --------
    >>> import numpy as np, l2kit as l2
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2)); y = 1.0 + X @ [2.0, -1.0] + 0.1 * rng.normal(size=200)
    >>> f = l2.fit(X, y)
    >>> f.method, f.rank, np.round(f.coef, 1), round(float(f.intercept), 1)
    ('cholesky', 2, array([ 2., -1.]), 1.0)
    >>> f = l2.fit(X, y, alpha="gcv")
    >>> f.extra["cv_criterion"], f.alpha < 1e-2
    ('gcv', True)
    """
    _check_options(refuse_others)
    criterion = refuse_others.get("criterion", "loo")
    tol = refuse_others.get("tol", 1e-10)
    max_iter = refuse_others.get("max_iter", 10000)
    if method not in METHODS:
        raise InputError("method", "one of " + ", ".join(map(repr, METHODS)), repr(method),
                         "use method='auto' unless you need a specific path")
    if cov_type not in COV_TYPES:
        raise InputError("cov_type", "one of " + ", ".join(COV_TYPES), repr(cov_type), "e.g. cov_type='HC3'")
    if not isinstance(l1_ratio, numbers.Real) or not 0.0 <= float(l1_ratio) <= 1.0:
        raise InputError("l1_ratio", "a number in [0, 1]", repr(l1_ratio), "0 = ridge, 1 = lasso")
    l1_ratio = float(l1_ratio)
    akind = _parse_alpha(alpha)
    fit_intercept = bool(fit_intercept)
    X, y = design.X, design.y
    n, p = X.shape
    cplx = np.iscomplexobj(X)
    names = design.feature_names
    # the one-pass Cholesky path and the elastic net find NaN/inf in their first pass instead
    enet = akind == "scalar" and float(np.asarray(alpha)) > 0 and l1_ratio > 0
    if not (cov is None and design.weights is None and akind == "scalar"
            and (method in ("auto", "cholesky") or enet)):
        check_finite_design(design)
    A, b, c, keep, n_obs, logdet, n_pen, kind = _whiten(design, cov, fit_intercept)
    extra: dict[str, Any] = {"n_dropped_zero_weight": int(n - n_obs) if keep is not None else 0}
    if design.weights is not None:
        extra["sum_weights"] = float(design.weights.sum())
    notes: list[str] = []

    if akind == "select":
        if l1_ratio > 0:
            raise InputError("alpha", "a number when l1_ratio > 0", repr(alpha),
                             "penalty selection covers ridge (l1_ratio=0); for the elastic net use "
                             "sklearn.linear_model.ElasticNetCV or loop over alphas")
        from ._ridge import select_alpha

        alpha_val, curve = select_alpha(A, b, c, alpha, n_pen, criterion)
        extra.update(curve)
        if curve["cv_at_edge"]:
            notes.append("the selected alpha lies at the edge of the grid; widen it")
    else:
        alpha_val = float(np.asarray(alpha))

    if alpha_val > 0 and l1_ratio > 0:
        return _fit_enet(design, loss, A, b, c, keep, n_obs, n_pen, alpha_val, l1_ratio, fit_intercept, tol,
                         max_iter, kind, extra, cov_type)

    ridge = n_pen * alpha_val
    try:
        sol = lstsq(A, b, c, method=method, ridge=ridge)
    except NonFiniteInput:
        check_finite_design(design)        # raises the InputError with the count and first row
        raise InputError("X, y", "values whose squares are finite", "overflow in X^T X or y^T y",
                         "rescale the columns (e.g. divide by their standard deviation)") from None
    notes += list(sol.notes)
    p_eff = p
    rank = sol.rank
    if rank < p_eff and not ridge:
        wide = n_obs - fit_intercept < p_eff
        notes.append(warn_collinear(sol.collinear, rank, p_eff, names, wide=wide, stacklevel=4))
    coef, b0 = sol.coef, sol.intercept
    rw = sol.residuals                       # whitened residuals (rows kept)
    rss = float(np.vdot(rw, rw).real)
    ginv = sol.ginv()
    if ridge:
        edf = float(rank - ridge * np.real(np.trace(ginv)))   # tr(G (G + lam)^-1)
        extra["edf"] = edf + fit_intercept
        df_resid = n_obs - edf - fit_intercept
    else:
        df_resid = float(n_obs - rank - fit_intercept)
    scale = rss / df_resid if df_resid > 0 else math.nan
    if cov_type == "nonrobust":
        cov_params = classical_cov(ginv, scale, mean=sol.mean, sw=sol.sw, fit_intercept=fit_intercept, ridge=ridge)
    else:
        if ridge:
            raise InputError("cov_type", "'nonrobust' for ridge fits", repr(cov_type),
                             "robust covariances are for unpenalised fits; set alpha=0")
        cov_params = robust_cov(cov_type, A, c, rw, ginv, mean=sol.mean, sw=sol.sw, df_resid=df_resid,
                                fit_intercept=fit_intercept)
    se = np.sqrt(np.abs(np.real(np.diag(cov_params)))) if df_resid > 0 or cov_type != "nonrobust" else \
        np.full(p + fit_intercept, np.nan)
    if df_resid <= 0:
        notes.append("no residual degrees of freedom: standard errors are undefined (NaN)")
    loglike = None if ridge else gaussian_loglike(rss, n_obs, logdet_cov=logdet, complex_data=cplx)
    # residuals on the response scale for every row (zero-weight rows included)
    if kind == "ols":
        resid = rw
    else:
        resid = y - X @ coef - (b0 if fit_intercept else 0.0)
    path = sol.method
    status = (f"solved by {path} ({sol.n_refine} refinement step{'s' if sol.n_refine != 1 else ''}); "
              f"rank {rank} of {p}; reciprocal condition estimate {sol.rcond:.3g}")
    if not sol.refined:
        notes.append("iterative refinement stopped at its step limit before the correction fell below its "
                     "tolerance: the solution may be inaccurate (ill-conditioned design)")
    if notes:
        note = "; ".join(notes)
        status += ". " + note[:1].upper() + note[1:]
    extra.update({"rcond": sol.rcond, "n_refine": sol.n_refine, "problem": kind, "rss": rss})
    if sol.collinear:
        extra["collinear"] = tuple(names[i] for i in sol.collinear)
    return Fit(
        coef=np.asarray(coef), intercept=_scalar(b0) if fit_intercept else 0.0,
        stderr=se[1:] if fit_intercept else se, intercept_stderr=float(se[0]) if fit_intercept else None,
        cov_params=cov_params, rank=int(rank), scale=scale, loglike=loglike, converged=bool(sol.refined),
        n_iter=int(sol.n_refine), status=status, residuals=resid, n_obs=int(n_obs), df_resid=float(df_resid),
        loss=loss, method=path, fit_intercept=fit_intercept, cov_type=cov_type, alpha=alpha_val,
        dist="t" if cov_type == "nonrobust" else "normal",   # statsmodels' default (use_t=False for HC)
        l1_ratio=l1_ratio, feature_names=names, backend=design.backend, extra=extra, _like=design.backend_like)


def _scalar(v):
    v = np.asarray(v)
    return complex(v) if np.iscomplexobj(v) else float(v)


def _fit_enet(design, loss, A, b, c, keep, n_obs, n_pen, alpha, l1_ratio, fit_intercept, tol, max_iter, kind,
              extra, cov_type):
    from ._enet import NonFiniteData, enet_active_set

    if np.iscomplexobj(A) or np.iscomplexobj(b):
        raise InputError("X, y", "real data for the elastic net", "complex data",
                         "use ridge (l1_ratio=0) or least squares for complex data")
    if cov_type != "nonrobust":
        raise InputError("cov_type", "'nonrobust' (no inference after an L1 penalty)", repr(cov_type),
                         "refit the selected columns without the penalty, or bootstrap")
    if not (isinstance(max_iter, numbers.Integral) and max_iter > 0):
        raise InputError("max_iter", "a positive integer", repr(max_iter), "e.g. max_iter=10000")
    if not (isinstance(tol, numbers.Real) and tol > 0):
        raise InputError("tol", "a positive number", repr(tol), "e.g. tol=1e-10")
    try:
        coef, b0, it, gap, ok, n_work, rw = enet_active_set(A, b, c, n_pen, alpha, l1_ratio, tol=tol,
                                                            max_iter=max_iter)
    except NonFiniteData:
        check_finite_design(design)
        raise InputError("X, y", "finite column statistics", "overflow", "rescale the columns") from None
    extra["working_set_size"] = n_work
    X, y = design.X, design.y
    resid = rw if kind == "ols" else y - X @ coef - (b0 if fit_intercept else 0.0)
    nnz = int(np.count_nonzero(coef))
    status = (f"coordinate descent {'converged' if ok else 'did NOT converge'} after {it} sweep(s): duality gap "
              f"{gap:.3g} {'<=' if ok else '>'} tol {tol:g} x ||y_c||^2/n; {nnz} non-zero coefficient(s)")
    if not ok:
        status += "; raise max_iter or loosen tol"
        warnings.warn(status, RuntimeWarning, stacklevel=4)
    extra.update({"duality_gap": gap, "problem": kind, "n_nonzero": nnz})
    return Fit(coef=coef, intercept=float(b0) if fit_intercept else 0.0, stderr=None, intercept_stderr=None,
               cov_params=None, rank=nnz, scale=math.nan, loglike=None, converged=ok, n_iter=it, status=status,
               residuals=resid, n_obs=int(n_obs), df_resid=math.nan, loss=loss, method="cd",
               fit_intercept=fit_intercept, cov_type="nonrobust", alpha=alpha, l1_ratio=l1_ratio,
               feature_names=design.feature_names, backend=design.backend, extra=extra, _like=design.backend_like)
