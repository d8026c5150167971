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

then solves it with :func:`._direct.lstsq` (direct paths),
:mod:`l2kit.linear.penalized.ridge` (penalty selection from one SVD) or
:mod:`l2kit.linear.penalized.enet` (coordinate descent). Inference follows statsmodels: ``df_resid = n - rank - 1``,
``scale = RSS / df_resid`` on the whitened scale, HC0-HC3 from the whitened
design and residuals.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np

from ..._errors import InputError
from ..._status import Status
from .._covariance import COV_KINDS, CovSpec, read_cov_options
from .._design import Design, Training, check_finite_design
from .._inference import classical_cov, gaussian_loglike, robust_cov
from .._result import Estimates, Fit, build_design_fit
from ._direct import CollinearityWarning, NonFiniteInput, lstsq, warn_collinear
from ._whiten import Whitened, whiten

METHODS = ("auto", "cholesky", "qr", "svd")
_OPTIONS = ("cov_type", "criterion", "tol", "max_iter", "cd_updates", "blas_threads", "groups", "maxlags",
            "small_sample", "folds", "seed", "n_alphas", "eps", "alphas", "cv_select")
#: the options of ``alpha="cv"`` (K-fold cross-validation of the path)
_CV_OPTIONS = ("folds", "seed", "n_alphas", "eps", "alphas", "cv_select")

__all__ = ["fit_least_squares", "CollinearityWarning", "METHODS"]


def _parse_alpha(alpha):
    if isinstance(alpha, str):
        if alpha == "cv":
            return "cv"
        if alpha not in ("loo", "gcv"):
            raise InputError("alpha", "a number >= 0, 'cv', 'loo', 'gcv' or a grid of numbers", repr(alpha),
                             "pass e.g. alpha=0.1, alpha='cv' or alpha='gcv'")
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
    alpha : float, "cv", "loo", "gcv" or 1-D grid
        Penalty in the glmnet scaling (``alpha=a`` is scikit-learn ``Ridge(alpha=a*n)``).
        "loo", "gcv" or a grid selects the ridge penalty by leave-one-out (default
        for a grid; ``criterion="gcv"`` for GCV) from one SVD; the curve is in
        ``Fit.extra``. ``"cv"`` (lasso, elastic net or ridge) runs K-fold
        cross-validation of the path (:func:`.path.cross_validate`; options
        ``folds`` = K or one label per row, default 10, ``seed``, ``n_alphas``,
        ``eps``, ``alphas``, ``cv_select`` = "min" (default, scikit-learn's
        ``alpha_``) or "1se" (glmnet's ``lambda.1se``)) and fits at the chosen
        penalty; the curve, ``alpha_min`` and ``alpha_1se`` are in ``Fit.extra["cv"]``.
    l1_ratio : float in [0, 1]
        0 = ridge; > 0 = elastic net by coordinate descent (1 = lasso).
    fit_intercept : bool
    method : {"auto", "cholesky", "qr", "svd"}
    cov_type : {"nonrobust", "HC0", "HC1", "HC2", "HC3", "cluster", "HAC"}
        See :mod:`l2kit.linear._covariance`; "cluster" takes ``groups=``
        (one label per row), "HAC" ``maxlags=``, both ``small_sample=``.
        Sandwiches are on the whitened scale (R's ``estfun.lm``: weighted
        residuals times weighted rows).
    **refuse_others
        ``criterion`` ("loo"/"gcv"); for the elastic net ``tol``, ``max_iter``,
        ``cd_updates`` ("auto", "covariance" or "naive": glmnet's
        ``type.gaussian``; "auto" picks by a cost model, see
        :func:`l2kit.linear.penalized.naive_min_p`) and ``blas_threads``
        (default 1: the coordinate descent's thin BLAS products run faster on
        one thread, limited during the fit through threadpoolctl; None leaves
        BLAS threading as it is). Anything else is refused.

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
    >>> f = l2.fit(X, y, alpha="cv", l1_ratio=1.0, folds=5)
    >>> cv = f.extra["cv"]
    >>> f.alpha == cv["alpha_min"] <= cv["alpha_1se"], cv["cv_mean"].shape
    (True, (100,))
    """
    criterion, tol, max_iter = _read_options(refuse_others, method, l1_ratio)
    cd_options = {"updates": refuse_others.get("cd_updates", "auto"),
                  "blas_threads": refuse_others.get("blas_threads", 1)}
    l1_ratio = float(l1_ratio)
    akind = _parse_alpha(alpha)
    fit_intercept = bool(fit_intercept)
    # the one-pass Cholesky path and the elastic net find NaN/inf in their first pass instead
    enet = akind == "scalar" and float(np.asarray(alpha)) > 0 and l1_ratio > 0
    if not (cov is None and design.weights is None and akind == "scalar"
            and (method in ("auto", "cholesky") or enet)):
        check_finite_design(design)
    wh = whiten(design, cov, fit_intercept)
    n = design.X.shape[0]
    spec = read_cov_options({**refuse_others, "cov_type": cov_type}, solver="least-squares", supported=COV_KINDS,
                            default="nonrobust", n=n, keep=wh.keep)
    extra: dict[str, Any] = {"n_dropped_zero_weight": int(n - wh.n_obs) if wh.keep is not None else 0}
    if design.weights is not None:
        extra["sum_weights"] = float(design.weights.sum())
    notes: list[str] = []
    cv_opts = {k: refuse_others[k] for k in _CV_OPTIONS if k in refuse_others}
    if cv_opts and akind != "cv":
        raise InputError(", ".join(cv_opts), "options of alpha='cv' only", "given with alpha=" + repr(alpha)[:40],
                         "pass alpha='cv' to cross-validate, or drop these options")
    if akind == "cv":
        alpha_val = _cross_validate(design, wh, l1_ratio, tol, max_iter, cv_opts, extra, notes)
    elif akind == "select":
        if l1_ratio > 0:
            raise InputError("alpha", "a number or 'cv' when l1_ratio > 0", repr(alpha),
                             "LOO/GCV selection covers ridge (l1_ratio=0); for the elastic net use alpha='cv' "
                             "(K-fold cross-validation) or l2kit.enet_path")
        from ..penalized.ridge import select_alpha

        alpha_val, curve = select_alpha(wh.A, wh.b, wh.c, alpha, wh.n_pen, criterion)
        extra.update(curve)
        if curve["cv_at_edge"]:
            notes.append("the selected alpha lies at the edge of the grid; widen it")
    else:
        alpha_val = float(np.asarray(alpha))
    if alpha_val > 0 and l1_ratio > 0:
        return _fit_enet(design, loss, wh, alpha_val, l1_ratio, fit_intercept, tol, max_iter, extra, spec.kind,
                         cd_options)
    est = _solve_direct(design, wh, n_pen_alpha=wh.n_pen * alpha_val, fit_intercept=fit_intercept,
                        method=method, spec=spec, extra=extra, notes=notes)
    est.alpha, est.l1_ratio = alpha_val, l1_ratio
    return build_design_fit(est, design, loss, fit_intercept)


def _cross_validate(design, wh, l1_ratio, tol, max_iter, cv_opts, extra, notes) -> float:
    """``alpha="cv"``: K-fold CV of the path (:func:`.path.cross_validate`); the curve goes to ``extra["cv"]``."""
    from .path import cross_validate

    select = cv_opts.pop("cv_select", "min")
    if select not in ("min", "1se"):
        raise InputError("cv_select", "'min' or '1se'", repr(select),
                         "'min' = the smallest CV error (scikit-learn's alpha_), '1se' = the largest alpha within "
                         "one standard error of it (glmnet's default for predict)")
    from ..penalized import NonFiniteData, blas_threads_limit

    try:
        with blas_threads_limit(1):
            cv = cross_validate(design, wh, l1_ratio=l1_ratio, tol=tol, max_iter=max_iter, **cv_opts)
    except NonFiniteData:
        check_finite_design(design)
        raise InputError("X, y", "values whose squares are finite", "overflow in the Gram matrix",
                         "rescale the columns") from None
    cv["cv_select"] = select
    extra["cv"] = cv
    chosen = cv["alpha_min"] if select == "min" else cv["alpha_1se"]
    if chosen in (cv["alphas"][0], cv["alphas"][-1]) and len(cv["alphas"]) > 1 and chosen == cv["alpha_min"]:
        notes.append("the CV minimum lies at the edge of the alpha grid; widen it (eps=, n_alphas=)")
    return float(chosen)


def _read_options(options: dict, method: str, l1_ratio: Any) -> tuple[str, Any, Any]:
    """Refuse unknown options and bad values; return ``criterion``, ``tol`` and ``max_iter``."""
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise InputError(", ".join(unknown), "options of the least-squares solver (" + ", ".join(_OPTIONS) + ")",
                         "unknown keyword(s)", "check the spelling; see help(l2kit.fit)")
    if method not in METHODS:
        raise InputError("method", "one of " + ", ".join(map(repr, METHODS)), repr(method),
                         "use method='auto' unless you need a specific path")
    if not isinstance(l1_ratio, numbers.Real) or not 0.0 <= float(l1_ratio) <= 1.0:
        raise InputError("l1_ratio", "a number in [0, 1]", repr(l1_ratio), "0 = ridge, 1 = lasso")
    return options.get("criterion", "loo"), options.get("tol", 1e-10), options.get("max_iter", 10000)


def _solve_direct(design: Design, wh: Whitened, *, n_pen_alpha: float, fit_intercept: bool, method: str,
                  spec: CovSpec, extra: dict, notes: list[str]) -> Estimates:
    """Least squares or ridge (``n_pen_alpha`` = lambda) by :func:`._direct.lstsq`, with its inference."""
    ridge = n_pen_alpha
    X, y = design.X, design.y
    p = X.shape[1]
    names = design.feature_names
    try:
        sol = lstsq(wh.A, wh.b, wh.c, method=method, ridge=ridge)
    except NonFiniteInput:
        check_finite_design(design)        # raises the InputError with the count and first row
        raise InputError("X, y", "values whose squares are finite", "overflow in X^T X or y^T y",
                         "rescale the columns (e.g. divide by their standard deviation)") from None
    notes += list(sol.notes)
    rank = sol.rank
    if rank < p and not ridge:
        wide = wh.n_obs - fit_intercept < p
        notes.append(warn_collinear(sol.collinear, rank, p, names, wide=wide, stacklevel=5))
    rw = sol.residuals                       # whitened residuals (rows kept)
    rss = float(np.vdot(rw, rw).real)
    ginv = sol.ginv()
    if ridge:
        edf = float(rank - ridge * np.real(np.trace(ginv)))   # tr(G (G + lam)^-1)
        extra["edf"] = edf + fit_intercept
        df_resid = wh.n_obs - edf - fit_intercept
    else:
        df_resid = float(wh.n_obs - rank - fit_intercept)
    scale = rss / df_resid if df_resid > 0 else math.nan
    if spec.kind == "nonrobust":
        cov_params = classical_cov(ginv, scale, mean=sol.mean, sw=sol.sw, fit_intercept=fit_intercept, ridge=ridge)
    else:
        if ridge:
            raise InputError("cov_type", "'nonrobust' for ridge fits", repr(spec.kind),
                             "robust covariances are for unpenalised fits; set alpha=0")
        cov_params = robust_cov(spec, wh.A, wh.c, rw, ginv, mean=sol.mean, sw=sol.sw, df_resid=df_resid,
                                fit_intercept=fit_intercept)
    if df_resid <= 0:
        notes.append("no residual degrees of freedom: standard errors are undefined (NaN)")
    loglike = None if ridge else gaussian_loglike(rss, wh.n_obs, logdet_cov=wh.logdet,
                                                  complex_data=np.iscomplexobj(X))
    coef, b0 = sol.coef, sol.intercept
    # residuals on the response scale for every row (zero-weight rows included)
    resid = rw if wh.kind == "ols" else y - X @ coef - (b0 if fit_intercept else 0.0)
    message = (f"solved by {sol.method} ({sol.n_refine} refinement step{'s' if sol.n_refine != 1 else ''}); "
               f"rank {rank} of {p}; reciprocal condition estimate {sol.rcond:.3g}")
    if not sol.refined:
        notes.append("iterative refinement stopped at its step limit before the correction fell below its "
                     "tolerance: the solution may be inaccurate (ill-conditioned design)")
    if notes:
        note = "; ".join(notes)
        message += ". " + note[:1].upper() + note[1:]
    status = (Status.MAX_ITER if not sol.refined else
              Status.RANK_DEFICIENT if rank < p and not ridge else Status.SUCCESS)
    stats = {} if ridge else _statistics(wh, rss, df_resid, rank, fit_intercept)
    extra.update({"rcond": sol.rcond, "n_refine": sol.n_refine, "problem": wh.kind, "rss": rss})
    if sol.collinear:
        extra["collinear"] = tuple(names[i] for i in sol.collinear)
    return Estimates(
        params=np.concatenate([[b0], coef]) if fit_intercept else np.asarray(coef), cov=cov_params, status=status,
        message=message, method=sol.method, rank=int(rank), scale=scale, loglike=loglike, residuals=resid,
        n_obs=int(wh.n_obs), df_resid=float(df_resid), n_iter=int(sol.n_refine), cov_type=spec.kind, extra=extra,
        dist="t" if spec.kind == "nonrobust" else "normal",   # statsmodels' default (use_t=False for HC)
        prediction_scale=scale, training=_training(design, wh, resid), **stats)


def _statistics(wh: Whitened, rss: float, df_resid: float, rank: int, fit_intercept: bool) -> dict:
    """R's summary.lm statistics on the whitened problem: deviance (RSS), null deviance (TSS), R^2, adjusted R^2."""
    b, c = wh.b, wh.c
    if fit_intercept:
        cv = np.full(b.shape[0], c) if np.ndim(c) == 0 else c
        b = b - cv * (np.vdot(cv, b) / np.vdot(cv, cv))
    tss = float(np.vdot(b, b).real)
    r2 = 1.0 - rss / tss if tss > 0 else math.nan
    n = wh.n_obs
    r2_adj = 1.0 - (1.0 - r2) * (n - fit_intercept) / df_resid if df_resid > 0 else math.nan
    return {"deviance": rss, "null_deviance": tss, "r2": r2, "r2_adj": r2_adj, "df_model": float(rank),
            "n_params": float(rank + fit_intercept + 1), "n_ic": float(n)}


def _training(design: Design, wh: Whitened, resid: np.ndarray) -> Training:
    """The pieces of the residual kinds: least squares is the Gaussian GLM with prior weights (V = 1/w)."""
    y, w = design.y, design.weights

    def parts() -> dict:
        fitted = y - resid
        ww = np.ones(y.shape[0]) if w is None else w
        return {"fitted": fitted, "eta": fitted, "variance": 1.0 / ww if w is not None else ww,
                "unit_deviance": ww * np.abs(resid) ** 2,
                "hat_weights": None if wh.kind == "gls" else ww, "prior": None, "dispersion_fixed": False}

    return Training(design.X, y, None, None, parts)


def _fit_enet(design, loss, wh: Whitened, alpha, l1_ratio, fit_intercept, tol, max_iter, extra, cov_type,
              cd_options):
    """The elastic net (``alpha > 0``, ``l1_ratio > 0``) by :func:`l2kit.linear.penalized.enet.enet_active_set`."""
    from ..penalized import UPDATES, NonFiniteData, enet_active_set

    if np.iscomplexobj(wh.A) or np.iscomplexobj(wh.b):
        raise InputError("X, y", "real data for the elastic net", "complex data",
                         "use ridge (l1_ratio=0) or least squares for complex data")
    if cov_type != "nonrobust":
        raise InputError("cov_type", "'nonrobust' (no inference after an L1 penalty)", repr(cov_type),
                         "refit the selected columns without the penalty, or bootstrap")
    if not (isinstance(max_iter, numbers.Integral) and max_iter > 0):
        raise InputError("max_iter", "a positive integer", repr(max_iter), "e.g. max_iter=10000")
    if not (isinstance(tol, numbers.Real) and tol > 0):
        raise InputError("tol", "a positive number", repr(tol), "e.g. tol=1e-10")
    if cd_options["updates"] not in UPDATES:
        raise InputError("cd_updates", "one of " + ", ".join(map(repr, UPDATES)), repr(cd_options["updates"]),
                         "leave cd_updates='auto' unless a benchmark on your machine says otherwise")
    threads = cd_options["blas_threads"]
    if threads is not None and not (isinstance(threads, numbers.Integral) and threads >= 1):
        raise InputError("blas_threads", "None (leave BLAS threading as it is) or an integer >= 1", repr(threads),
                         "pass e.g. blas_threads=1")
    try:
        coef, b0, it, gap, ok, n_work, rw = enet_active_set(wh.A, wh.b, wh.c, wh.n_pen, alpha, l1_ratio, tol=tol,
                                                            max_iter=max_iter, **cd_options)
    except NonFiniteData:
        check_finite_design(design)
        raise InputError("X, y", "finite column statistics", "overflow", "rescale the columns") from None
    extra["working_set_size"] = n_work
    X, y = design.X, design.y
    resid = rw if wh.kind == "ols" else y - X @ coef - (b0 if fit_intercept else 0.0)
    nnz = int(np.count_nonzero(coef))
    message = (f"coordinate descent {'converged' if ok else 'did NOT converge'} after {it} sweep(s): duality gap "
               f"{gap:.3g} {'<=' if ok else '>'} tol {tol:g} x ||y_c||^2/n; {nnz} non-zero coefficient(s)")
    if not ok:
        message += "; raise max_iter or loosen tol"
        warnings.warn(message, RuntimeWarning, stacklevel=4)
    status = Status.SUCCESS if ok else Status.MAX_ITER if it >= max_iter else Status.STALLED
    extra.update({"duality_gap": gap, "problem": wh.kind, "n_nonzero": nnz})
    params = np.concatenate([[b0], coef]) if fit_intercept else coef
    return build_design_fit(Estimates(
        params=params, status=status, message=message, method="cd", rank=nnz, scale=math.nan, residuals=resid,
        n_obs=int(wh.n_obs), df_resid=math.nan, n_iter=it, dist="t", alpha=alpha, l1_ratio=l1_ratio, extra=extra),
        design, loss, fit_intercept)
