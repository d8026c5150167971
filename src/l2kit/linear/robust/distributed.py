r"""Robust IRLS on chunks and Dask: each step one pass over weighted Gram states, the scale an exact median.

The iteration is the in-memory one of :mod:`.irls` (statsmodels RLM's order:
IRLS weights from the current scale, a weighted least-squares step, a new
scale), with every sum over rows computed per chunk and merged
(:class:`~l2kit.linear._chunked.WeightedGramState`):

* the step: :math:`X^\top C W X` and :math:`X^\top C W y` in one pass;
* the scale: the MAD of the residuals, an *exact* weighted median found by
  :func:`~l2kit.linear._chunked.exact_median` (a counting pass around the
  previous median, then one pass that gathers the few values of the median's
  bin: two passes, no sketch);
* the covariance (Huber's H1, the default, and H2/H3): sums of
  :math:`\psi^2`, :math:`\psi'` and :math:`\psi'^2` and the Gram matrices
  :math:`X^\top C X` and :math:`X^\top C \psi' X`, one final pass.

So an iteration costs three passes; the fixed point, the scale and the
standard errors are the in-memory fit's (to its tolerance). Redescending
losses (Tukey...) start from a Huber fit (the in-memory ``start="huber"``;
in memory the default is an exact L1 start, which needs all rows at once).
Available: ``scale="mad"`` or a fixed number, ``convention``, ``cov_type``
in {"nonrobust", "H1", "H2", "H3"}, ``max_iter``, ``tol``, ``start`` in
{"auto", "ols", "huber"}.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..._errors import InputError
from ..._status import Status
from .._chunked import ChunkSource, WeightedGramState, exact_median
from .._linalg import gram_rank, inverse, small_solve
from .._options import iteration_options
from .._result import Estimates, Fit, build_fit
from .._scale import GAUSS_3_4

__all__ = ["fit_irls_source"]

_OPTIONS = {"scale", "cov_type", "max_iter", "tol", "start", "update_scale", "convention", "method"}
#: MASS's rlm divides the MAD by 0.6745 (as :mod:`.irls`)
_MASS_MAD = 0.6745


def _xp():
    import array_api_compat.numpy as xp

    return xp


def _design(X, fi):
    if not fi:
        return X
    Xa = np.empty((X.shape[0], X.shape[1] + 1))
    Xa[:, 0] = 1.0
    Xa[:, 1:] = X
    return Xa


def _ols_chunk(X, y, w, fi):
    Xa = _design(X, fi)
    c = np.ones(y.size) if w is None else w
    return WeightedGramState.of_rows(Xa, c, weights=c, gradient=Xa.T @ (c * y), sums={"yy": float(c @ (y * y))})


def _abs_resid(X, y, w, beta, fi):
    return np.abs(y - _design(X, fi) @ beta)


def _step_chunk(X, y, w, loss, beta, scale, fi):
    """The weighted normal equations of one IRLS step (weights from ``loss.weight`` at the current scale)."""
    Xa = _design(X, fi)
    c = np.ones(y.size) if w is None else w
    wt = np.asarray(loss._weight(_xp(), (y - Xa @ beta) / scale), dtype=float) * c
    return WeightedGramState.of_rows(Xa, wt, weights=c, gradient=Xa.T @ (wt * y),
                                     sums={"positive": float(np.count_nonzero(wt > 0))})


def _stats_chunk(X, y, w, loss, beta, scale, fi):
    """psi, psi' sums and the Gram matrix of psi' (Huber's covariances)."""
    Xa = _design(X, fi)
    c = np.ones(y.size) if w is None else w
    u = (y - Xa @ beta) / scale
    xp = _xp()
    psi = np.asarray(loss._psi(xp, u), dtype=float)
    dpsi = np.asarray(loss._psi_prime(xp, u), dtype=float)
    return WeightedGramState.of_rows(Xa, c * dpsi, weights=c, sums={
        "dpsi": float(c @ dpsi), "dpsi2": float(c @ (dpsi * dpsi)), "psi2": float(c @ (psi * psi))})


def _read(opts: dict, where: str):
    unknown = sorted(set(opts) - _OPTIONS)
    if unknown:
        raise InputError(", ".join(unknown), f"options of robust fits on {where} data ({', '.join(sorted(_OPTIONS))})",
                         "unknown or unavailable keyword(s)", "remove them, or load the data to use them")
    scale = opts.get("scale", "mad")
    if isinstance(scale, str) and scale.lower() != "mad":
        raise InputError("scale", f"'mad' or a positive number on {where} data", repr(scale),
                         "Huber's proposal 2 needs the rows in memory; use scale='mad' (exact, distributed)")
    if not isinstance(scale, str) and not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
        raise InputError("scale", "'mad' or a positive finite number", repr(scale), "pass e.g. scale=1.0")
    cov_type = opts.get("cov_type", "nonrobust")
    if cov_type not in ("nonrobust", "H1", "H2", "H3"):
        raise InputError("cov_type", f"'nonrobust', 'H1', 'H2' or 'H3' on {where} data", repr(cov_type),
                         "sandwich covariances need the rows in memory")
    start = opts.get("start", "auto")
    if not (isinstance(start, str) and start in ("auto", "ols", "huber")):
        raise InputError("start", f"'auto', 'ols' or 'huber' on {where} data", repr(start),
                         "the exact L1 start and given starts need the rows in memory")
    convention = opts.get("convention", "statsmodels")
    if convention not in ("statsmodels", "MASS"):
        raise InputError("convention", "'statsmodels' or 'MASS'", repr(convention), "pass convention='MASS'")
    if opts.get("method", "auto") not in ("auto", "irls", "newton"):
        raise InputError("method", "'auto', 'irls' or 'newton'", repr(opts["method"]), "pass method='irls'")
    max_iter, tol = iteration_options(opts, max_iter=100, tol=1e-8)
    return scale, cov_type, start, convention == "MASS", max_iter, tol, bool(opts.get("update_scale", True))


class _Scale:
    """The robust scale of the residuals at ``beta``: the exact distributed MAD (near the previous one) or fixed."""

    def __init__(self, source, kind, fi, factor):
        self.source, self.kind, self.fi, self.factor, self.last = source, kind, fi, factor, None

    def __call__(self, beta):
        if not isinstance(self.kind, str):
            return float(self.kind)
        self.last = exact_median(self.source, _abs_resid, (beta, self.fi), guess=self.last)
        return self.last / GAUSS_3_4 * self.factor


def _iterate(source, loss, beta, scale, estimate_scale, update_scale, max_iter, tol, fi, G0, sumw):
    """statsmodels RLM's loop (as :func:`.irls._iterate` without Newton steps); returns beta, scale, n, status, text."""
    dfit = math.inf
    for it in range(1, max_iter + 1):
        if not scale > 0:
            return beta, 0.0, it - 1, Status.STALLED, ("stopped: the robust scale is 0 (more than half of the "
                                                       "residuals are exactly 0); pass a fixed scale= to continue")
        st = source.map_reduce(_step_chunk, loss, beta, scale, fi)
        if st.sums["positive"] == 0:
            return beta, scale, it - 1, Status.STALLED, ("stopped: every IRLS weight is 0; use a larger tuning "
                                                         "constant or a Huber start")
        new = small_solve(st.gram, st.gradient, True)
        dlt = new - beta
        beta = new
        new_scale = estimate_scale(beta) if update_scale else scale
        dfit = math.sqrt(max(float(dlt @ G0 @ dlt), 0.0) / sumw)
        ds = abs(new_scale - scale)
        scale = new_scale
        if dfit <= tol * max(scale, 1e-300) and ds <= tol * max(scale, 1e-300):
            return beta, scale, it, Status.SUCCESS, ""
    return beta, scale, max_iter, Status.MAX_ITER, (
        f"not converged: stopped at the iteration limit max_iter={max_iter}; the last step still changed the "
        f"fitted values by {dfit / max(scale, 1e-300):.3g} scale units (tol={tol:g}); raise max_iter")


def fit_irls_source(source: ChunkSource, loss: Any, *, fit_intercept: bool = True, feature_names: Any = None,
                    **opts: Any) -> Fit:
    r"""M-estimation by IRLS over a :class:`~l2kit.linear._chunked.ChunkSource` (called by ``l2.fit``).

    Examples
    --------
    >>> import numpy as np, l2kit as l2
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(900, 2)); y = 1 + X @ [2.0, -1.0] + rng.standard_t(2, size=900)
    >>> class Chunks:
    ...     def __iter__(self):
    ...         return ((X[i:i + 300], y[i:i + 300]) for i in range(0, 900, 300))
    >>> f = l2.fit(Chunks(), loss=l2.Huber(1.345), tol=1e-10)
    >>> g = l2.fit(X, y, loss=l2.Huber(1.345), tol=1e-10)
    >>> bool(np.allclose(f.coef, g.coef, atol=1e-9)), bool(np.allclose(f.stderr, g.stderr, rtol=1e-8))
    (True, True)
    """
    kind, cov_type, start, mass, max_iter, tol, update_scale = _read(opts, source.where)
    fi = bool(fit_intercept)
    s0 = source.map_reduce(_ols_chunk, fi)
    if s0 is None or not s0.sum_weights > 0:
        raise InputError("X", "rows with positive weight", "none", "pass data")
    G0, k, sumw = s0.gram, s0.gram.shape[0], s0.sum_weights
    rank = gram_rank(G0)
    if rank < k:
        raise InputError("X", f"a full-rank design for a robust fit on {source.where} data",
                         f"rank {rank} < {k} columns", "drop collinear or constant columns")
    beta = small_solve(G0, s0.gradient, True)
    estimate_scale = _Scale(source, kind, fi, GAUSS_3_4 / _MASS_MAD if mass else 1.0)
    # the first median's counting pass brackets it near the OLS residuals' normal-theory median (narrow bins:
    # a small gather); only a guess, the median is exact whatever it is
    rss = s0.sums["yy"] - 2 * float(beta @ s0.gradient) + float(beta @ G0 @ beta)
    estimate_scale.last = GAUSS_3_4 * math.sqrt(max(rss, 0.0) / sumw) or None
    start = ("huber" if loss.redescending else "ols") if start == "auto" else start
    n_pre = 0
    scale = estimate_scale(beta)
    if start == "huber":
        from ...losses import Huber

        beta, scale, n_pre, _, _ = _iterate(source, Huber(delta=1.345), beta, scale, estimate_scale, update_scale,
                                            max_iter, max(tol, 1e-8), fi, G0, sumw)
    beta, scale, n_iter, status, message = _iterate(source, loss, beta, scale, estimate_scale, update_scale,
                                                    max_iter, tol, fi, G0, sumw)
    cov = None
    if scale > 0:
        st = source.map_reduce(_stats_chunk, loss, beta, scale, fi)
        cov = _huber_cov(st, G0, scale, k, sumw, cov_type, mass)
    if status is Status.SUCCESS:
        message = (f"converged in {n_iter} IRLS iterations on {source.where} data (fitted values and scale changed "
                   f"by less than tol={tol:g}), from {'a Huber(1.345) start' if start == 'huber' else 'an OLS start'}"
                   f"{f' ({n_pre} Huber iterations)' if n_pre else ''}; {source.n_passes} passes over the rows")
    names = tuple(str(v) for v in feature_names) if feature_names is not None else (source.names or ())
    return build_fit(Estimates(
        params=beta, cov=cov, status=status, message=message, method="irls", rank=k, scale=float(scale),
        residuals=None, n_obs=int(s0.n_rows), df_resid=float(sumw - k), n_iter=int(n_iter + n_pre),
        cov_type=cov_type, dist="normal", df_model=float(k - fi),
        undefined={"loglike": f"{type(loss).__name__} is not a likelihood: no log-likelihood, AIC or BIC"},
        extra={"sum_weights": sumw, "scale_estimator": kind if isinstance(kind, str) else "fixed", "start": start,
               "convention": "MASS" if mass else "statsmodels", "n_passes": source.n_passes}),
        loss=loss, fit_intercept=fi, feature_names=names)


def _huber_cov(st, G0, scale, k, n, cov_type, mass):
    """Huber's H1 ("nonrobust"), H2, H3 from the final pass's sums (as :func:`.irls._huber_cov`)."""
    m = st.sums["dpsi"] / n
    if not m > 0 or n - k <= 0:
        return None
    var_dpsi = (st.sums["dpsi2"] - n * m * m) / (n - 1 if mass else n)
    kfac = 1 + k / n * var_dpsi / m ** 2
    base = st.sums["psi2"] / (n - k) * scale ** 2
    if cov_type in ("H1", "nonrobust"):
        return kfac ** 2 * base / m ** 2 * inverse(G0, True)
    Winv = inverse(st.gram, True)
    if cov_type == "H2":
        return kfac * base / m * Winv
    return base / kfac * (Winv @ G0 @ Winv)
