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
from .._covariance import read_cov_options
from .._design import Design, Training
from .._linalg import gram_rank, inverse, single_blas_thread
from .._options import check_common
from .._result import Estimates, Fit, build_design_fit
from .._scale import weighted_quantile
from ._lp import GLOB_MIN_ROWS, lp_scaling, solve_quantile_globbed, solve_quantile_lp

__all__ = ["fit_quantile", "fit_quantiles"]

_OPTIONS = ("max_iter", "tol", "cov_type")
#: quantreg's summary.rq(se=...) estimators, and "none"
_COV_TYPES = ("ker", "nid", "iid", "none")
_EPS = float(np.finfo(float).eps) ** 0.5   # quantreg's eps


def fit_quantile(design: Design, loss: Any, *, _cache: dict | None = None, **options: Any) -> Fit:
    r"""Exact quantile (``Quantile(q)``) or L1 (``Absolute()``) regression by linear programming.

    Parameters
    ----------
    design : Design
    loss : Quantile or Absolute
        ``Absolute()`` is the median regression, ``Quantile(0.5)`` with twice
        the objective.
    fit_intercept : bool, default True
    alpha : float, default 0.0
        L1 penalty (``l1_ratio`` must be 1: an L2 term would make the LP a QP): minimises
        :math:`\frac{1}{\sum c}\sum_i c_i\rho(r_i) + \alpha\|\beta\|_1` (intercept unpenalised) by
        the primal LP with :math:`|\beta_j|` bounded by extra variables; for ``Quantile(q)`` this is
        scikit-learn's ``QuantileRegressor(quantile=q, alpha=alpha)`` (``Absolute()`` is twice the
        pinball loss: ``alpha=2a`` there). No standard errors.
    method : {"auto", "highs", "dual", "primal", "highs-ipm", "highs-ds"}
        ``"auto"``: a Frisch-Newton interior point (Mehrotra predictor-corrector,
        compiled by numba; Portnoy-Koenker preprocessing above 20000 rows,
        see :func:`._fn.solve_quantile_fn`) finished at an exact vertex whose
        KKT conditions are verified for every row; when numba is missing or a
        check fails, ``"highs"``. ``"dual"``: HiGHS on the dual LP (``k`` equality rows, about one
        copy of ``X`` in memory). ``"highs"``: the dual for up to 20000 rows;
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
        ``extra["sparsity"]`` the estimated :math:`1/f(0)` ("iid"; the mean
        of :math:`f_i` is ``extra["density"]`` for "nid" and "ker"),
        ``extra["bandwidth"]`` the Hall-Sheather :math:`h` used. ``loglike``
        is quantreg's asymmetric-Laplace ``logLik.rq``,
        :math:`n(\log(q(1-q)) - 1 - \log(\rho/n))`.
    cov_type : {"ker", "nid", "iid", "none"}, default "ker"
        quantreg's ``summary.rq(se=...)``, with its Hall-Sheather bandwidth
        :math:`h` (halved until :math:`q \pm h` lies in (0, 1), as quantreg
        does, so an answer is always given):

        * "ker": Powell's kernel sandwich
          :math:`q(1-q)\,(X^\top F X)^{-1} X^\top X (X^\top F X)^{-1}`,
          :math:`F = \mathrm{diag}(\varphi(r_i/b)/b)`, bandwidth
          :math:`b = (\Phi^{-1}(q+h) - \Phi^{-1}(q-h))\min(\mathrm{sd}(r), \mathrm{IQR}(r)/1.34)`;
        * "nid": Hendricks-Koenker: the same sandwich with
          :math:`F_i = 2h/(x_i^\top(\hat\beta_{q+h} - \hat\beta_{q-h}))` from two
          more LP fits (quantreg's default for n > 1000);
        * "iid": :math:`q(1-q)\,s^2 (X^\top X)^{-1}` with the sparsity :math:`s`
          the slope of a median regression of the order statistics of the
          residuals nearest 0 (unweighted fits only).

        "ker" is the default here (quantreg's is "nid" for n > 1000, "rank"
        below): as robust to heteroscedasticity, without two more LP fits.
        Case weights enter as frequencies (sums, quantiles and the standard
        deviation are weighted). p-values use the t distribution with
        ``df_resid`` degrees of freedom, as quantreg.

    Examples
    --------
    >>> import numpy as np, l2kit as l2
    >>> X = np.arange(10.0).reshape(-1, 1); y = 2 * X[:, 0] + np.array([0, 1, 0, 5, 0, -3, 0, 1, 0, 0.0])
    >>> f = l2.fit(X, y, loss=l2.Absolute())
    >>> f.converged, round(f.intercept, 6), np.round(f.coef, 6)
    (True, 0.0, array([2.]))
    """
    return _fit_quantile(design, loss, _cache, options)


# tall-thin products only (X beta, X^T X, k x k solves): a second BLAS thread costs more than it saves
@single_blas_thread
def _fit_quantile(design: Design, loss: Any, _cache: dict | None, options: dict) -> Fit:
    """The body of :func:`fit_quantile`."""
    opts = check_common(options, "quantile LP", _OPTIONS, penalty="l1")
    fit_intercept = bool(opts.get("fit_intercept", True))
    method = opts.get("method", "auto")
    if method not in ("auto", "highs", "dual", "primal", "highs-ipm", "highs-ds"):
        raise InputError("method", "'auto', 'highs', 'dual', 'primal', 'highs-ipm' or 'highs-ds'", repr(method),
                         "pass method='auto'")
    q, factor = float(loss.q), float(loss.pinball_factor)   # the LP minimises factor x pinball_q
    design.require_real("quantile regression")
    y, c = design.y, design.weights
    cache = {} if _cache is None else _cache        # work shared by the fits of one design (see fit_quantiles)
    if "Xa" not in cache:
        cache["Xa"] = design.with_intercept(fit_intercept)
    Xa = cache["Xa"]
    # L1 penalty: (1/sum c) sum c rho(r) + alpha |beta|_1 (intercept free) = QuantileRegressor(alpha) for factor 1
    l1 = None
    if opts["alpha"] > 0:
        l1 = np.full(Xa.shape[1], opts["alpha"] * float(design.case_weights.sum()) / factor)
        l1[:int(fit_intercept)] = 0.0
    beta, res, formulation, solver, rounds = _solve(Xa, y, c, q, method, opts, cache, l1)
    status, message = _outcome(beta, res, formulation, rounds)
    if beta is None:
        beta = np.full(Xa.shape[1], np.nan)
    r = y - Xa @ beta
    obj = factor * _pinball_sum(r, c, q)
    if "XtX" not in cache:
        cache["XtX"] = Xa.T @ Xa if c is None else (Xa * c[:, None]).T @ Xa
    XtX = cache["XtX"]
    rank = gram_rank(XtX)
    if status is Status.SUCCESS and rank < Xa.shape[1]:
        status = Status.RANK_DEFICIENT
    spec = read_cov_options(opts, solver="quantile", supported=_COV_TYPES, default="ker", n=y.size)
    sw = float(y.size if c is None else c.sum())
    extra = {"objective": obj, "quantile": q, "sum_weights": sw, "n_zero_residuals": _n_zero(r, y)}
    cov = None
    if l1 is not None:
        message += f"; L1 penalty alpha={opts['alpha']:g}: no standard errors (the penalty biases the estimates)"
    elif status is Status.SUCCESS and spec.kind != "none":
        cov, why = _cov(spec.kind, Xa, y, r, c, q, XtX, method, opts, extra, cache)
        if cov is None:
            message += f"; standard errors undefined: {why}"
    pinball = obj / factor   # quantreg's rho: the pinball loss at q, summed
    loglike = sw * (np.log(q * (1 - q)) - 1 - np.log(pinball / sw)) if pinball > 0 and beta is not None else None
    return build_design_fit(Estimates(
        params=beta, cov=cov, status=status, message=message, rank=rank, scale=obj / sw,
        n_iter=int(getattr(res, "nit", 0) or 0), residuals=r, n_obs=int(y.size), df_resid=float(sw - rank),
        method=("frisch-newton" if solver == "fn" else
                "linprog-" + formulation.replace(" ", "-") + ("" if solver == "highs" else f"-{solver}")),
        cov_type=spec.kind, dist="t", loglike=None if loglike is None else float(loglike),
        n_params=float(Xa.shape[1]), n_ic=sw, df_model=float(rank - fit_intercept), extra=extra,
        training=Training(design.X, y, c, None, lambda: {"fitted": y - r, "eta": y - r, "variance": None,
                                                         "unit_deviance": None, "hat_weights": None,
                                                         "prior": None, "dispersion_fixed": False})),
        design, loss, fit_intercept)


def _pinball_sum(r, c, q):
    """``sum c_i rho_q(r_i)`` from the two signs' sums: no n-vector per term (memory at 1e7 rows)."""
    neg = r < 0
    if c is None:
        return float(q * r[~neg].sum() + (1.0 - q) * -r[neg].sum())
    return float(q * (c[~neg] @ r[~neg]) + (1.0 - q) * -(c[neg] @ r[neg]))


def _n_zero(r, y):
    """How many residuals are zero to ``1e-9 (1 + |y|)`` (the rows on the fit: a vertex has at least ``k``)."""
    t = np.abs(y)
    t += 1.0
    t *= 1e-9
    return int(np.count_nonzero(np.abs(r) <= t))


def _outcome(beta, res, formulation, rounds):
    """The status and message of a solve (``beta`` None: not solved)."""
    if beta is None:
        status = Status.MAX_ITER if res.status == 1 else Status.FAILED
        return status, f"not converged: HiGHS stopped with status {res.status} ({res.message})"
    if formulation == "frisch-newton":
        return Status.SUCCESS, (f"optimal: Frisch-Newton interior point ({res.nit} iterations"
                                + (f", Portnoy-Koenker preprocessing, {rounds} round(s)" if rounds else "")
                                + "), finished at a vertex whose KKT conditions were verified for every row")
    message = f"optimal: HiGHS solved the {formulation} LP exactly ({res.message.rstrip('.')})"
    if formulation == "globbed dual":
        message += f"; every globbed row's residual sign verified (KKT), {rounds} round(s)"
    return Status.SUCCESS, message


def _solve(Xa, y, c, q, method, opts, cache=None, l1=None):
    """The LP by the requested formulation; returns ``beta`` (None on failure), the result and what was solved.

    The LP is solved on columns, target and weights scaled by powers of two (:func:`lp_scaling`: exact) and
    the coefficients mapped back, so a column of values near 1e-10 or 1e150 is fitted like any other.
    """
    cache = {} if cache is None else cache
    if "scaled" not in cache:
        cache["scaled"] = lp_scaling(Xa, y, c)
    Xa, y, c, scaling = cache["scaled"]
    if l1 is not None:   # the penalty in the scaled problem's units (objective / (s t), beta_j = s beta_s,j / D_j)
        solver = method if method.startswith("highs") else "highs"
        beta, res = solve_quantile_lp(Xa, y, c, q, solver=solver, l1=l1 / (scaling.weights * scaling.columns))
        return (None if beta is None else scaling.coef(beta)), res, "penalised primal", solver, 0
    beta, res, formulation, solver, rounds = _solve_scaled(Xa, y, c, q, method, opts, cache)
    return (None if beta is None else scaling.coef(beta)), res, formulation, solver, rounds


def _solve_scaled(Xa, y, c, q, method, opts, cache):
    """:func:`_solve` on the scaled LP."""
    formulation = "primal" if method == "primal" else "dual"
    solver = method if method.startswith("highs-") else "highs"
    time_limit = opts.get("max_iter")
    n_eff = int(y.size if c is None else np.count_nonzero(c))
    rounds = 0
    if method == "auto":
        from ._fn import solve_quantile_fn

        beta, nit, rounds = solve_quantile_fn(Xa, y, c, q, shared=cache.setdefault("fn", {}))
        if beta is not None:
            from types import SimpleNamespace

            return beta, SimpleNamespace(status=0, message="optimal vertex", nit=nit), "frisch-newton", "fn", rounds
    if method in ("auto", "highs") and n_eff > GLOB_MIN_ROWS:
        formulation, solver = "globbed dual", "highs-ipm"
        beta, res, rounds = solve_quantile_globbed(Xa, y, c, q)
        if beta is None:   # preprocessing gave up: solve the whole dual LP (exact, more memory)
            formulation = "dual"
            beta, res = solve_quantile_lp(Xa, y, c, q, solver="highs-ipm", time_limit=time_limit, tol=opts.get("tol"))
    else:
        beta, res = solve_quantile_lp(Xa, y, c, q, formulation=formulation, solver=solver, time_limit=time_limit,
                                      tol=opts.get("tol"))
    return beta, res, formulation, solver, rounds


def hall_sheather(q: float, n: float, alpha: float = 0.05) -> float:
    r"""Hall and Sheather's bandwidth (quantreg's ``bandwidth.rq(hs=TRUE)``).

    .. math:: h = n^{-1/3} z_{1-\alpha/2}^{2/3}\left(\frac{1.5\,\varphi(z_q)^2}{2 z_q^2 + 1}\right)^{1/3}

    Examples
    --------
    >>> round(float(hall_sheather(0.5, 100)), 6)
    0.209316
    """
    from scipy.stats import norm

    z = norm.ppf(q)
    return n ** (-1 / 3) * norm.ppf(1 - alpha / 2) ** (2 / 3) * (1.5 * norm.pdf(z) ** 2 / (2 * z * z + 1)) ** (1 / 3)


def _inside(q: float, h: float) -> float:
    """quantreg's rule: halve the bandwidth until q - h and q + h lie in [0, 1]."""
    while q - h < 0 or q + h > 1:
        h /= 2
    return h


def _cov(kind, Xa, y, r, c, q, XtX, method, opts, extra, cache):
    """The covariance of ``kind`` ("iid", "nid", "ker"), or (None, why)."""
    from scipy.stats import norm

    cw = np.ones(y.size) if c is None else c
    n, k = float(cw.sum()), Xa.shape[1]
    h = hall_sheather(q, n)
    if kind == "iid":
        return _iid_cov(Xa, r, c, q, XtX, h, extra)
    h = _inside(q, h)
    extra["bandwidth"] = h
    if kind == "nid":
        bhi = _solve(Xa, y, c, q + h, method, opts, cache)[0]
        blo = _solve(Xa, y, c, q - h, method, opts, cache)[0]
        if bhi is None or blo is None:
            return None, "an LP at q +- h failed"
        dyhat = Xa @ (bhi - blo)
        extra["n_nonpositive_density"] = int(np.sum(dyhat <= 0))
        f = np.maximum(0.0, 2 * h / (dyhat - _EPS))
    else:
        sd = float(np.sqrt(cw @ (r - float(cw @ r) / n) ** 2 / (n - 1)))
        iqr = weighted_quantile(r, c, 0.75) - weighted_quantile(r, c, 0.25)
        b = (norm.ppf(q + h) - norm.ppf(q - h)) * min(sd, iqr / 1.34)
        if not b > 0:
            return None, "the kernel bandwidth is 0 (the residuals have no spread)"
        f = norm.pdf(r / b) / b
    extra["density"] = float(cw @ f) / n
    A = (Xa * (cw * f)[:, None]).T @ Xa
    if gram_rank(A) < k:
        return None, "the estimated densities leave X'FX singular"
    Ainv = inverse(A, True)
    return q * (1 - q) * Ainv @ XtX @ Ainv, ""


def _iid_cov(Xa, r, c, q, XtX, h, extra):
    """quantreg's "iid": the sparsity from a median regression of the order statistics nearest 0."""
    if c is not None:
        raise InputError("cov_type", "'ker' or 'nid' for a weighted quantile fit", "'iid'",
                         "the order-statistic sparsity of quantreg's 'iid' is for unweighted fits")
    n, k = r.size, Xa.shape[1]
    pz = int(np.sum(np.abs(r) < _EPS))
    m = max(k + 1, int(np.ceil(n * h)))
    ir = np.arange(pz + 1, m + pz + 2)          # quantreg's 1-based ranks
    if ir[-1] > n:
        return None, f"too few residuals ({n}) for the iid sparsity's {ir.size} order statistics"
    ordered = np.sort(r[np.argsort(np.abs(r), kind="stable")][ir - 1])
    xt = ir / (n - k)
    beta, _ = solve_quantile_lp(np.column_stack([np.ones(ir.size), xt]), ordered, None, 0.5)
    if beta is None:
        return None, "the sparsity's median regression failed"
    sparsity = float(beta[1])
    extra["sparsity"] = sparsity
    return sparsity ** 2 * q * (1 - q) * inverse(XtX, True), ""


def fit_quantiles(X: Any, y: Any, q: Any = (0.1, 0.5, 0.9), *, weights: Any = None, fit_intercept: bool = True,
                  feature_names: Any = None, **options: Any) -> tuple[Fit, ...]:
    r"""Quantile regressions at several quantiles of one design, sharing the work; one :class:`Fit` per ``q``.

    Equivalent to ``tuple(l2.fit(X, y, loss=l2.Quantile(qi), ...) for qi in q)`` (same exact LP
    optima, each with its own status and standard errors) but the design is validated, the
    intercept column added and the LP scaled once, and the Frisch-Newton solver's Portnoy-Koenker
    subsample and column sums are built once for all quantiles (so are the ``q +- h`` fits of
    ``cov_type="nid"``). Options as for ``l2.fit(..., loss=l2.Quantile(q))``.

    Parameters
    ----------
    X : array (n, p)
    y : array (n,)
    q : sequence of float in (0, 1), default (0.1, 0.5, 0.9)
        Returned in this order.
    weights, fit_intercept, feature_names, **options
        As for :func:`l2kit.fit`.

    Returns
    -------
    tuple of Fit
        ``fits[j].loss`` is ``Quantile(q[j])``.

    Examples
    --------
    >>> import numpy as np, l2kit as l2
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 2)); y = X @ [1.0, -1.0] + rng.normal(size=500)
    >>> lo, med, hi = l2.fit_quantiles(X, y, [0.1, 0.5, 0.9])
    >>> bool(lo.intercept < med.intercept < hi.intercept), med.loss
    (True, Quantile(q=0.5))
    >>> bool(np.allclose(med.params, l2.fit(X, y, loss=l2.Quantile(0.5)).params))
    True
    """
    from ...losses import Quantile
    from .._design import validate_design

    qs = np.atleast_1d(np.asarray(q, dtype=np.float64))
    if qs.ndim != 1 or qs.size == 0:
        raise InputError("q", "a non-empty 1-D sequence of quantiles in (0, 1)", repr(q)[:60],
                         "pass e.g. q=[0.1, 0.5, 0.9]")
    losses = [Quantile(q=float(v)) for v in qs]          # validates each q
    design = validate_design(X, y, weights, feature_names=feature_names, allow_complex=False)
    cache: dict = {}
    return tuple(fit_quantile(design, loss, _cache=cache, fit_intercept=fit_intercept, **options)
                 for loss in losses)
