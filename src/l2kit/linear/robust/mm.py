r"""The MM-estimator of regression (Yohai 1987) with robustbase ``lmrob``'s defaults.

1. An S-estimate :math:`(\hat\beta_S, \hat s)` of 50 % breakdown by the fast-S
   search (:mod:`._sest`): bisquare :math:`\chi` with :math:`c = 1.54764`,
   :math:`b = 1/2`, 500 nonsingular subsamples, one I-step each, the best two
   refined to convergence.
2. An M-step from :math:`\hat\beta_S` with the scale fixed at :math:`\hat s`:
   IRLS for :math:`\sum_i \rho_c\big((y_i - x_i^\top\beta)/\hat s\big)` with the
   loss's :math:`\rho_c` (bisquare, :math:`c = 4.685061`: 95 % efficiency at
   the normal) until the coefficients change by less than ``tol`` (relative,
   L1 norm; robustbase's ``rel.tol``).

The breakdown point is that of the S-estimate (50 %), the efficiency that of
the M-step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..._errors import InputError
from ..._status import Status
from .._design import Design
from .._linalg import single_blas_thread, weighted_gram, x_dot
from .._options import check_common, iteration_options
from .._result import Estimates, Fit, build_design_fit
from ._problem import residual_training
from ._sest import (
    Chi,
    SOptions,
    SResult,
    _wls,
    _xp,
    by_blocks,
    centre_columns,
    check_s_design,
    fast_s,
    make_chi,
    read_seed,
)

__all__ = ["fit_mm"]

_OPTIONS = ("seed", "cov_type", "max_iter", "tol", "n_resample", "k_fast_s", "best_r", "k_max", "refine_tol",
            "max_it_scale", "scale_tol", "large_n", "groups", "n_group")


def fit_mm(design: Design, loss: Any, **options: Any) -> Fit:
    r"""MM-estimation of a linear model (robustbase ``lmrob(y ~ X)`` with its defaults).

    Parameters
    ----------
    design : Design
        Validated ``X`` and ``y``. Case weights are refused (see Notes).
    loss : ResidualLoss
        The M-step's loss: a redescending loss that declares ``s_tuning``
        (:class:`~l2kit.losses.Tukey`). Its tuning constant is used as given:
        ``Tukey(c=4.685061)`` is lmrob's default, ``Tukey()`` (statsmodels'
        ``c = 4.685``) moves the coefficients by up to ~1e-5 (relative).
    fit_intercept : bool, default True
    seed : int, numpy.random.Generator or None, default 0
        The random subsamples of the S search; equal seeds give equal fits
        (None: fresh entropy, not reproducible).
    cov_type : {"avar1"}, default "avar1"
        lmrob's default covariance ``.vcov.avar1``: the asymptotic sandwich
        of the MM-estimate that accounts for the S-scale (Croux, Dhaene and
        Hoorelbeke 2003), with lmrob's repair of negative eigenvalues.
    max_iter : int, default 50
        IRLS iterations of the M-step (``max.it``).
    tol : float, default 1e-7
        Relative L1 change of the M-step's coefficients (``rel.tol``).
    n_resample, k_fast_s, best_r, k_max, refine_tol, max_it_scale, scale_tol, large_n, groups, n_group
        The S search (``nResample`` = 500, ``k.fast.s`` = 1, ``best.r.s`` = 2,
        ``k.max`` = 200, ``refine.tol`` = 1e-7, ``maxit.scale`` = 200,
        ``scale.tol`` = 1e-10, ``fast.s.large.n`` = 2000, ``groups`` = 5,
        ``n.group`` = 400), as ``lmrob.control``.

    Returns
    -------
    Fit
        ``scale`` is the S-scale :math:`\hat s`; ``extra["weights"]`` the
        final robustness weights :math:`w(r_i/\hat s)` (lmrob's
        ``rweights``); ``extra["s_params"]`` the S-estimate (intercept first),
        ``extra["s_converged"]``, ``extra["s_iter"]``.

    Notes
    -----
    Conventions that differ from R: the subsamples come from NumPy's
    generator, so on data with several local S-minima l2kit and lmrob may
    keep different ones (both are S-estimates; the fits agree to about 1e-7
    when they keep the same). Case weights are refused: lmrob multiplies the
    rows by :math:`\sqrt{w}`, which is not a case weight for a robust fit (a
    row of weight 2 is not two rows); repeat rows for frequency weights.
    A rank-deficient design is refused (lmrob drops aliased columns).

    Examples
    --------
    >>> import numpy as np, l2kit as l2
    >>> rng = np.random.default_rng(1)
    >>> x = rng.normal(size=100); y = 1 + 2 * x + 0.5 * rng.normal(size=100)
    >>> x[:20] = rng.uniform(8, 10, size=20); y[:20] = -15        # 20 % bad leverage points
    >>> f = l2.fit(x[:, None], y, loss=l2.Tukey(c=4.685061), method="mm", seed=0)
    >>> f.status, round(float(f.coef[0]), 1)
    (<Status.SUCCESS: 'success'>, 2.0)
    >>> round(float(l2.fit(x[:, None], y).coef[0]), 1)              # least squares is dragged away
    -1.5
    """
    opts = check_common(options, "MM", _OPTIONS)
    o = _read_options(opts)
    design.require_real("method='mm'")
    if design.weights is not None:
        raise InputError("weights", "None for method='mm'", "case weights",
                         "the MM-estimator has no case weights (robustbase's lmrob rescales rows by sqrt(w), "
                         "which is not a case weight for a robust fit): repeat rows for frequency weights, or "
                         "use method='irls'")
    chi = make_chi(loss)
    Xa = design.with_intercept(o.fit_intercept)   # a copy when fit_intercept: centring it in place is safe
    means = centre_columns(Xa, o.fit_intercept)
    y = design.y
    n, k = Xa.shape
    check_s_design(Xa)
    if n > o.s.large_n and not (k < o.s.n_group and o.s.groups * o.s.n_group <= n):
        raise InputError("n_group, groups", f"n_group > {k} parameters and groups * n_group <= n = {n}",
                         f"n_group={o.s.n_group}, groups={o.s.groups}", "keep the defaults (400, 5) or raise large_n")
    s = fast_s(Xa, y, chi, o.s, np.random.default_rng(o.seed))
    beta, r, n_iter, converged = _m_step(Xa, y, s, loss, o.max_iter, o.tol)
    status, message = _status(s, converged, n_iter, o, n, k)
    cov = None
    if s.scale > 0 and converged:
        cov = avar1(Xa, r, s.resid, s.scale, loss, chi, o.s.b)
        if cov is None:
            message += "; standard errors undefined: X' diag(psi'(r/s)) X is singular at the estimate"
    s_params = s.beta
    if means is not None:   # back from the centred columns: x'beta = (beta_0 + m'beta_r) + (x_r - m)'beta_r
        T = np.eye(k)
        T[0, 1:] = -means
        beta, s_params = T @ beta, T @ s.beta
        cov = None if cov is None else T @ cov @ T.T
    def weight(u):
        return np.asarray(loss._weight(_xp(), u), dtype=float)
    rweights = by_blocks(weight, r, s.scale) if s.scale > 0 else weight(np.where(r == 0, 0.0, np.inf))
    return build_design_fit(Estimates(
        params=beta, cov=cov, status=status, message=message, method="mm", rank=k, scale=float(s.scale),
        residuals=r, n_obs=int(n), df_resid=float(n - k), n_iter=int(n_iter), cov_type="avar1", dist="t",
        df_model=float(k - o.fit_intercept),
        undefined={"loglike": f"{type(loss).__name__} is not a likelihood: no log-likelihood, AIC or BIC"},
        training=residual_training(design.X, y, None, r),
        extra={"weights": rweights, "start": "s", "s_params": s_params, "s_scale": float(s.scale),
               "s_converged": bool(s.converged), "s_iter": int(s.n_iter), "seed": o.seed_repr}),
        design, loss, o.fit_intercept)


@dataclass(frozen=True)
class _Options:
    fit_intercept: bool
    seed: Any
    seed_repr: Any
    max_iter: int
    tol: float
    s: SOptions


def _read_options(opts: dict) -> _Options:
    cov_type = opts.get("cov_type", "avar1")
    if cov_type != "avar1":
        raise InputError("cov_type", "'avar1' for method='mm' (lmrob's default covariance)", repr(cov_type),
                         "drop cov_type, or fit with method='irls' from start='s' for the other covariances")
    seed = read_seed(opts.get("seed", 0))
    max_iter, tol = iteration_options(opts, max_iter=50, tol=1e-7)
    fields = {}
    for name in ("n_resample", "k_fast_s", "best_r", "k_max", "max_it_scale", "large_n", "groups", "n_group"):
        if name in opts:
            v = opts[name]
            if not (isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1):
                raise InputError(name, "an integer >= 1", repr(v), f"pass e.g. {name}={getattr(SOptions, name)}")
            fields[name] = int(v)
    for name in ("refine_tol", "scale_tol"):
        if name in opts:
            v = opts[name]
            if not (isinstance(v, (int, float, np.floating)) and not isinstance(v, bool) and 0 < v < 1):
                raise InputError(name, "a number in (0, 1)", repr(v), f"pass e.g. {name}={getattr(SOptions, name)}")
            fields[name] = float(v)
    so = SOptions(**fields)
    return _Options(bool(opts.get("fit_intercept", True)), seed, seed if not isinstance(seed, np.random.Generator)
                    else "Generator", max_iter, tol, so)


@single_blas_thread   # small solves, as the S search (see fast_s)
def _m_step(X, y, s: SResult, loss, max_iter: int, tol: float):
    """robustbase's ``rwls``: IRLS from the S-estimate with the scale fixed, L1 relative convergence."""
    beta = s.beta.copy()
    r = y - x_dot(X, beta)
    if s.scale <= 0:
        return beta, r, 0, True
    xp = _xp()
    it = 0
    converged = False
    while not converged and it + 1 < max_iter:
        it += 1
        w = by_blocks(lambda u: np.asarray(loss._weight(xp, u), dtype=float), r, s.scale)
        new = _wls(X, y, w)
        r = y - x_dot(X, new)
        converged = float(np.abs(beta - new).sum()) <= tol * max(tol, float(np.abs(new).sum()))
        beta = new
    return beta, r, it, converged


#: rows per block of :func:`_avar1_sums` (its per-row vectors are 512 KiB each)
_AVAR_BLOCK = 1 << 16


def _avar1_sums(X, u, u0, loss, chi: Chi, b: float):
    r"""The row sums of :func:`avar1` over row blocks: :math:`X^\top\mathrm{diag}\,\psi'(u)X`,
    :math:`X^\top\psi'(u)u`, :math:`\sum\chi'(u_0)u_0`, :math:`X^\top\psi(u)\chi(u_0)`,
    :math:`X^\top\mathrm{diag}\,\psi(u)^2X` and :math:`\sum(\chi(u_0)^2 - b^2)` (the dozen full-length
    vectors of the loss functions at once were the peak memory of an MM fit on 1e6 rows)."""
    xp = _xp()
    k = X.shape[1]
    xwx, xpsi2x, xpu, v = np.zeros((k, k)), np.zeros((k, k)), np.zeros(k), np.zeros(k)
    dchi_u = chi2 = 0.0
    for i in range(0, X.shape[0], _AVAR_BLOCK):
        Xi, ui, u0i = X[i:i + _AVAR_BLOCK], u[i:i + _AVAR_BLOCK], u0[i:i + _AVAR_BLOCK]
        dpsi = np.asarray(loss._psi_prime(xp, ui), dtype=float)
        psi = np.asarray(loss._psi(xp, ui), dtype=float)
        chi0 = chi.rho(u0i)
        weighted_gram(Xi, dpsi, out=xwx)
        weighted_gram(Xi, psi ** 2, out=xpsi2x)
        xpu += Xi.T @ (dpsi * ui)
        v += Xi.T @ (psi * chi0)
        dchi_u += float(np.sum(chi.dchi(u0i) * u0i))   # chi' = psi_chi / sup, the normalised rho's derivative
        chi2 += float(np.sum(chi0 ** 2 - b ** 2))
    return xwx, xpu, dchi_u, v, xpsi2x, chi2


def _status(s: SResult, converged: bool, n_iter: int, o: _Options, n: int, k: int) -> tuple[Status, str]:
    if s.exact_fit:
        few = (f" (with n = {n} rows and {k} parameters, any {k} rows are more than half: add rows)"
               if 2 * k > n else "")
        return Status.SUCCESS, ("exact fit: more than half of the rows lie on one hyperplane, so the S-scale is 0 "
                                f"and those rows define the fit; no standard errors{few}")
    if not s.converged:
        return Status.MAX_ITER, (f"not converged: the S-estimate's refinement stopped at k_max={o.s.k_max} steps "
                                 f"(refine_tol={o.s.refine_tol:g}); raise k_max")
    if not converged:
        return Status.MAX_ITER, (f"not converged: the M-step stopped at the iteration limit max_iter={o.max_iter} "
                                 f"(tol={o.tol:g}); raise max_iter")
    return Status.SUCCESS, (f"converged: S-estimate (scale {s.scale:.6g}, 50% breakdown, {s.n_iter} refinement "
                            f"steps) then {n_iter} IRLS iterations of the M-step with the scale fixed")


def avar1(X, r, r0, scale, loss, chi: Chi, b: float):
    r"""lmrob's ``.vcov.avar1``: the MM-estimate's asymptotic covariance with the S-scale's contribution.

    With :math:`u = r/s` (MM residuals), :math:`u_0 = r_0/s` (S residuals),
    :math:`A = s\,(X^\top\mathrm{diag}\,\psi'(u)X)^{-1}`,
    :math:`a = A X^\top\psi'(u)u\,/\,\overline{\chi'(u_0)u_0}` and
    :math:`v = X^\top(\psi(u)\chi(u_0))`:

    .. math::
        V = A X^\top\mathrm{diag}\,\psi(u)^2 X A - \tfrac{1}{n}(a v^\top A + A v a^\top)
            + \tfrac{1}{n}\overline{(\chi(u_0)^2 - b^2)}\,a a^\top

    then negative eigenvalues set to 0 and the diagonal restored (robustbase's
    ``posdef.meth = "posdefify"``).
    """
    n = X.shape[0]
    xwx, xpu, dchi_u, v, xpsi2x, chi2 = _avar1_sums(X, r / scale, r0 / scale, loss, chi, b)
    try:
        A = np.linalg.solve(xwx, np.eye(X.shape[1])) * scale
    except np.linalg.LinAlgError:
        return None
    if not np.all(np.isfinite(A)):
        return None
    a = A @ xpu / (dchi_u / n)
    u1 = A @ xpsi2x @ A
    u23 = (np.outer(a, v @ A) + np.outer(A @ v, a)) / n
    u4 = (chi2 / n) * np.outer(a, a) / n
    V = u1 - u23 + u4
    V = (V + V.T) / 2
    lam, Q = np.linalg.eigh(V)
    if np.any(lam < 0):
        d0 = np.diag(V).copy()
        V = (Q * np.clip(lam, 0, None)) @ Q.T
        D = np.sqrt(np.clip(d0, 0, None) / np.diag(V))
        V = D[:, None] * V * D[None, :]
    return V if math.isfinite(float(np.sum(V))) else None
