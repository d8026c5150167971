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
from typing import Any

import numpy as np
from scipy import linalg, stats

from .._array import InputError
from ._design import Design
from ._result import Fit

_GAUSS_3_4 = float(stats.norm.ppf(0.75))  # 0.6745: MAD / this is consistent for the normal sigma

from ._options import check_common, iteration_options

__all__ = ["fit_irls", "weighted_median", "mad_scale", "huber_scale"]


def uncentre(params: np.ndarray, cov: np.ndarray | None, mean, fit_intercept: bool):
    """Map (b0 on centred X, beta) to (intercept, beta) and transform the covariance alike."""
    if not fit_intercept:
        return 0.0, params, cov
    b = params.copy()
    b[0] = params[0] - mean @ params[1:]
    if cov is not None:
        J = np.eye(b.size)
        J[0, 1:] = -mean
        cov = J @ cov @ J.T
    return float(b[0]), b[1:], cov


def small_solve(G: np.ndarray, b: np.ndarray, rank_full: bool) -> np.ndarray:
    """Solve the k x k SPD system by Cholesky; pseudo-inverse (eigh) when rank deficient."""
    if rank_full:
        try:
            return linalg.cho_solve(linalg.cho_factor(G, check_finite=False), b, check_finite=False)
        except linalg.LinAlgError:
            pass
    return pinvh(G) @ b


def pinvh(G: np.ndarray) -> np.ndarray:
    """Pseudo-inverse of a symmetric PSD matrix with a relative eigenvalue cut-off."""
    d = np.sqrt(np.clip(np.diag(G), 1e-300, None))
    Gs = G / d[:, None] / d[None, :]
    ev, V = np.linalg.eigh(Gs)
    keep = ev > ev.max() * G.shape[0] * np.finfo(float).eps * 10
    inv = (V[:, keep] / ev[keep]) @ V[:, keep].T
    return inv / d[:, None] / d[None, :]


def gram_rank(G: np.ndarray) -> int:
    """Numerical rank of X from its Gram matrix (column-scaled eigenvalues)."""
    d = np.sqrt(np.clip(np.diag(G), 1e-300, None))
    ev = np.linalg.eigvalsh(G / d[:, None] / d[None, :])
    return int((ev > ev.max() * G.shape[0] * np.finfo(float).eps * 10).sum())


# Row-block size for matrix-vector products over tall X: one BLAS gemv per block of ~160k elements stays
# single-threaded and in cache; a single gemv over all of X lets OpenBLAS spin up threads, which on a
# loaded machine made each pass 5-8x slower than the memory bandwidth allows.
_BLOCK_ELEMS = 160_000


def _block_rows(X: np.ndarray) -> int:
    return max(256, _BLOCK_ELEMS // max(X.shape[1], 1))


def xt_dot(X: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``X.T @ v`` for tall ``X``, in row blocks (see ``_BLOCK_ELEMS``)."""
    n = X.shape[0]
    B = _block_rows(X)
    if n <= 2 * B:
        return X.T @ v
    out = X[:B].T @ v[:B]
    for i in range(B, n, B):
        out += X[i:i + B].T @ v[i:i + B]
    return out


def x_dot(X: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``X @ b`` for tall ``X``, in row blocks (see ``_BLOCK_ELEMS``); rows are independent, so exact."""
    n = X.shape[0]
    B = _block_rows(X)
    if n <= 2 * B:
        return np.dot(X, b, out=out) if out is not None else X @ b
    if out is None:
        out = np.empty(n, dtype=np.result_type(X, b))
    for i in range(0, n, B):
        np.dot(X[i:i + B], b, out=out[i:i + B])
    return out


def weighted_gram(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``X.T @ diag(w) @ X``: a symmetric rank-k product (syrk) when the weights share one sign."""
    if w.size and (w.min() >= 0 or w.max() <= 0):
        sign = 1.0 if w.min() >= 0 else -1.0
        if w.size and w[0] == w[-1] and np.all(w == w[0]):
            return w[0] * (X.T @ X)
        Z = X * np.sqrt(sign * w)[:, None]
        return sign * (Z.T @ Z)
    return (X * w[:, None]).T @ X


# ---------------------------------------------------------------------------
# scale estimators
# ---------------------------------------------------------------------------
def weighted_median(a: np.ndarray, c: np.ndarray | None) -> float:
    """Median of ``a`` with case weights ``c``; equals ``np.median`` of the repeated rows for integer weights.

    Examples
    --------
    >>> float(weighted_median(np.array([1.0, 2.0, 10.0]), np.array([1.0, 2.0, 1.0])))
    2.0
    >>> float(weighted_median(np.array([1.0, 3.0]), np.array([2.0, 2.0])))  # = median of 1, 1, 3, 3
    2.0
    """
    if c is None:
        return float(np.median(a))
    keep = c > 0
    a, c = a[keep], c[keep]
    order = np.argsort(a, kind="stable")
    a, c = a[order], c[order]
    cum = np.cumsum(c)
    half = cum[-1] / 2.0
    i = int(np.searchsorted(cum, half * (1 - 1e-12), side="left"))
    if abs(cum[i] - half) <= 1e-12 * cum[-1] and i + 1 < a.size:
        return float(0.5 * (a[i] + a[i + 1]))  # exactly half the weight below: average, as np.median does
    return float(a[i])


def _median_near(a: np.ndarray, guess: float) -> float:
    """``np.median(a)`` exactly, selecting only among the values near ``guess`` (a previous median).

    Counts the values below a narrow bracket around ``guess``; when the middle order statistics fall
    inside it, only the bracket's few values are partitioned (a full ``np.partition`` of ``a`` is the
    fallback). Inside an IRLS loop the median moves little between iterations, so the bracket holds.
    """
    n = a.size
    k1, k2 = (n - 1) // 2, n // 2
    if np.isnan(a).any():
        return float(np.median(a))
    for width in (0.02, 0.2):
        lo, hi = guess * (1 - width), guess * (1 + width)
        below = int(np.count_nonzero(a < lo))
        if below > k1:
            continue
        band = a[(a >= lo) & (a <= hi)]
        if below + band.size <= k2:
            continue
        j1, j2 = k1 - below, k2 - below
        if j1 == j2:
            return float(np.partition(band, j1)[j1])
        band.partition((j1, j2))
        return float(np.mean(band[[j1, j2]]))   # as np.median averages the two middle values
    return float(np.median(a))


def mad_scale(r: np.ndarray, c: np.ndarray | None, guess: float | None = None,
              work: np.ndarray | None = None) -> float:
    """Normalised MAD about 0, ``median(|r|) / 0.6745`` (statsmodels RLM's ``mad(resid, center=0)``).

    ``guess``: a previous value of this scale (the same result, found faster when it is close);
    ``work``: an optional buffer like ``r`` for ``|r|`` (a fresh large temporary per call costs page faults).

    Examples
    --------
    >>> r = np.array([-3.0, 1.0, 2.0, -0.5])
    >>> bool(mad_scale(r, None) == mad_scale(r, None, guess=2.0) == np.median(np.abs(r)) / 0.6744897501960817)
    True
    """
    if c is None and r.size >= 4096:
        a = np.abs(r, out=work) if work is not None and work.shape == r.shape else np.abs(r)
        if guess is not None and guess > 0 and math.isfinite(guess):
            near = guess * _GAUSS_3_4
        else:   # no previous value: start from the median of a subsample
            near = float(np.median(a[::r.size // 1024]))
        if near > 0 and math.isfinite(near):
            return _median_near(a, near) / _GAUSS_3_4
        return float(np.median(a)) / _GAUSS_3_4
    return weighted_median(np.abs(r), c) / _GAUSS_3_4


def huber_scale(r: np.ndarray, c: np.ndarray | None, df_resid: float, d: float = 2.5,
                tol: float = 1e-12, max_iter: int = 500) -> float:
    r"""Huber's proposal 2 scale (statsmodels ``HuberScale(d=2.5)``), iterated to its fixed point.

    Solves :math:`\sum_i c_i\,\chi(r_i/s) = (n - p)\,E_\Phi[\chi]` with
    :math:`\chi(u) = \min(u^2, d^2)/2`, starting from the MAD.
    """
    n = float(r.size if c is None else c.sum())
    h = df_resid / n * (d ** 2 + (1 - d ** 2) * stats.norm.cdf(d) - 0.5 - d / math.sqrt(2 * math.pi)
                        * math.exp(-0.5 * d ** 2))
    med = weighted_median(r, c)
    s = weighted_median(np.abs(r - med), c) / _GAUSS_3_4
    if s == 0:
        return 0.0
    r2 = r * r
    for _ in range(max_iter):
        chi = np.minimum(r2 / (s * s), d * d) / 2
        tot = float(chi.sum() if c is None else (c * chi).sum())
        new = math.sqrt(tot / (n * h)) * s
        if abs(new - s) <= tol * s:
            return new
        s = new
    return s


# ---------------------------------------------------------------------------
# the solver
# ---------------------------------------------------------------------------
_START_NAMES = {"ols": "an OLS start", "l1": "an L1 (median regression) start", "huber": "a Huber(1.345) start",
                "given": "the given start"}
_OPTIONS = ("scale", "cov_type", "max_iter", "tol", "start", "update_scale", "huber_d")


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
    cov_type : {"H1", "H2", "H3"}, default "H1"
        Huber's sandwich covariances from :math:`\psi` and :math:`\psi'`,
        as statsmodels RLM (H1 is its default).
    max_iter : int, default 100
    tol : float, default 1e-8
        Stop when the change of the fitted values (RMS, in units of the
        scale) and the relative change of the scale are both below ``tol``.
    start : {"auto", "ols", "huber", "l1"} or array, default "auto"
        Starting coefficients (intercept first). ``"auto"``: OLS for
        monotone (convex) losses, whose optimum is unique; for redescending
        losses (Tukey, Cauchy) the exact L1 (median regression) fit, never
        OLS alone: OLS - and even a Huber fit - may sit in the basin of a bad
        local minimum when many outliers lie on one side (40 % one-sided
        outliers: both lead Tukey to a wrong fit, L1 does not; see the tests).
        ``"huber"`` starts from a converged Huber(1.345) fit.
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
    opts = check_common(options, "IRLS", _OPTIONS)
    fit_intercept = bool(opts.get("fit_intercept", True))
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
    cov_type = str(opts.get("cov_type", "H1")).upper()
    if cov_type not in ("H1", "H2", "H3"):
        raise InputError("cov_type", "'H1', 'H2' or 'H3'", repr(cov_type), "pass cov_type='H1' (statsmodels' default)")
    max_iter, tol = iteration_options(opts, max_iter=100, tol=1e-8)
    start = opts.get("start", "auto")
    update_scale = bool(opts.get("update_scale", True))
    huber_d = float(opts.get("huber_d", 2.5))

    y, c = design.y, design.weights
    if np.iscomplexobj(design.X):
        raise InputError("X", "real data for this loss", "complex data", "use loss=Squared() for complex data")
    state = _Problem(design.X, y, c, fit_intercept)
    k = state.k
    if state.rank == 0:
        raise InputError("X", "at least one non-constant column or an intercept", "an all-zero design",
                         "add features or fit_intercept=True")
    newton = method == "newton" or (method == "auto" and getattr(loss, "convex", False)
                                    and not getattr(loss, "redescending", False))

    # -- start --------------------------------------------------------------
    if isinstance(start, str):
        start = start.lower()
        if start not in ("auto", "ols", "huber", "l1"):
            raise InputError("start", "'auto', 'ols', 'huber', 'l1' or an array of coefficients", repr(start),
                             "pass start='l1'")
        if start == "auto":
            start = "l1" if getattr(loss, "redescending", False) else "ols"
        beta = _l1_start(state) if start == "l1" else state.ols()
        start_name = start
    else:
        b0 = np.asarray(start, dtype=float).reshape(-1)
        if b0.shape != (k,):
            raise InputError("start", f"{k} coefficients (intercept first)" if fit_intercept else f"{k} coefficients",
                             f"{b0.size} values", "pass one value per parameter")
        beta = b0.copy()
        if state.mean is not None:
            beta[0] = b0[0] + state.mean @ b0[1:]   # to the centred parametrisation
        start_name = "given"

    last_mad = [None]   # the previous MAD: the next one is found near it (same value, less work)
    work = np.empty(y.shape) if c is None else None

    def estimate_scale(r):
        if not isinstance(scale_opt, str):
            return float(scale_opt)
        if scale_opt == "mad":
            last_mad[0] = mad_scale(r, c, guess=last_mad[0], work=work)
            return last_mad[0]
        return huber_scale(r, c, state.sumw - state.rank, d=huber_d)

    n_pre = 0
    if start_name == "huber":
        from ..losses.robust import Huber

        pre = _iterate(state, Huber(delta=1.345), beta, estimate_scale(state.resid(beta)), estimate_scale,
                       update_scale, max_iter, max(tol, 1e-8), newton=True)
        beta, scale0, n_pre = pre[0], pre[1], pre[2]
    else:
        scale0 = estimate_scale(state.resid(beta))

    beta, scale, n_iter, converged, why, r = _iterate(state, loss, beta, scale0, estimate_scale, update_scale,
                                                      max_iter, tol, newton=newton)
    kind = "Newton-accelerated IRLS" if newton else "IRLS"
    if converged:
        status = (f"converged in {n_iter} {kind} iterations (fitted values and scale changed by less than "
                  f"tol={tol:g}), from {_START_NAMES[start_name]}" + (f" ({n_pre} Huber iterations)" if n_pre else ""))
    else:
        status = why

    # -- sandwich covariance (statsmodels RLM H1/H2/H3, with case weights) --------
    cov = _sandwich(loss, r, scale, state, cov_type) if state.full else None
    if not state.full:
        status += (f"; X is rank deficient (rank {state.rank} of {k} columns): minimum-norm coefficients, "
                   "no standard errors (drop the dependent columns)")
    if fit_intercept and state.mean is not None:
        intercept, coef, cov = uncentre(beta, cov, state.mean, True)
    elif fit_intercept:
        intercept, coef = float(beta[0]), beta[1:]
    else:
        intercept, coef = 0.0, beta
    if cov is not None:
        se = np.sqrt(np.clip(np.diag(cov), 0, None))
    else:
        se = None
    iw = loss._weight(_np_xp(), r / scale) if scale > 0 else np.ones_like(r)
    return Fit(
        coef=coef, intercept=intercept,
        stderr=None if se is None else (se[1:] if fit_intercept else se),
        intercept_stderr=(float(se[0]) if fit_intercept and se is not None else None),
        cov_params=cov, rank=state.rank, scale=float(scale), loglike=None, converged=bool(converged),
        n_iter=int(n_iter + n_pre), status=status, residuals=r, n_obs=int(y.size),
        df_resid=float(state.sumw - state.rank), loss=loss, method="irls", fit_intercept=fit_intercept,
        dist="normal", cov_type=cov_type, feature_names=design.feature_names, backend=design.backend,
        extra={"weights": iw, "sum_weights": float(state.sumw),
               "scale_estimator": scale_opt if isinstance(scale_opt, str) else "fixed",
               "start": start_name},
        _like=design.backend_like,
    )


def _np_xp():
    import array_api_compat.numpy as xp

    return xp


class _Problem:
    """Pieces of the weighted normal equations, without copying ``X``.

    The intercept is handled analytically (an implicit ones column), and the
    case-weighted Gram matrix ``G0`` is computed once; every later Gram matrix
    is ``w0 * G0`` plus a correction on the rows whose weight is not ``w0``.
    Columns are centred (one copy) only when their means dwarf their spread,
    where the raw normal equations would lose digits.
    """

    def __init__(self, X, y, c, intercept: bool):
        self.y, self.c = y, c
        cw = np.ones(y.size) if c is None else c
        self.cw = cw
        self.sumw = float(cw.sum())
        self.intercept = intercept
        self.mean = None
        self.X = X
        self.G0 = self._gram(X, None if c is None else cw)
        if intercept:
            mean = self.G0[0, 1:] / self.sumw
            var = np.diag(self.G0)[1:] / self.sumw - mean ** 2
            if np.any(np.abs(mean) > 30 * np.sqrt(np.clip(var, 1e-300, None))):
                self.mean = mean
                self.X = X - mean
                self.G0 = self._gram(self.X, None if c is None else cw)
        self.b0 = self._rhs(self.X, cw * y)
        self.k = self.G0.shape[0]
        self.rank = gram_rank(self.G0)
        self.full = self.rank == self.k

    def _gram(self, X, w):
        core = X.T @ X if w is None else weighted_gram(X, w)
        if not self.intercept:
            return core
        s = xt_dot(X, np.ones(X.shape[0]) if w is None else w)
        G = np.empty((core.shape[0] + 1,) * 2)
        G[0, 0] = X.shape[0] if w is None else w.sum()
        G[0, 1:] = G[1:, 0] = s
        G[1:, 1:] = core
        return G

    def csum(self, x):
        """``sum(c * x)`` (an elementwise product and a sum: a BLAS dot of length n is no faster and
        multi-threads badly)."""
        return float(x.sum() if self.c is None else (self.cw * x).sum())

    def _rhs(self, X, v):
        return np.concatenate([[v.sum()], xt_dot(X, v)]) if self.intercept else xt_dot(X, v)

    def resid(self, beta, out=None):
        """``y - fitted(beta)`` in one buffer (``out`` if given)."""
        if not self.intercept:
            f = x_dot(self.X, beta, out=out)
        else:
            f = x_dot(self.X, beta[1:], out=out)
            f += beta[0]
        return np.subtract(self.y, f, out=f)

    def hessian(self, dp, d0, prev=None):
        """``X' C diag(dp) X`` and the count of incremental updates it carries.

        From ``prev = (H, dp_prev, count)`` by a correction on the rows whose ``dp`` changed, when they
        are fewer than the rows where ``dp != d0`` (Huber: the rows that crossed the threshold since the
        last step, typically a few hundred); else from ``d0 * G0`` plus a correction on the rows where
        ``dp != d0``; else from all rows.
        """
        n = self.y.size
        diff = dp != d0
        nd = int(np.count_nonzero(diff))
        if prev is not None:
            H, dp_prev, n_inc = prev
            ch = dp != dp_prev
            nc = int(np.count_nonzero(ch))
            if nc == 0:
                return H, n_inc
            if nc < nd and nc < 0.6 * n and n_inc < 50:   # refresh now and then: no drift from many updates
                idx = np.flatnonzero(ch)
                dH = self._gram(np.take(self.X, idx, axis=0), self.cw[idx] * (dp[idx] - dp_prev[idx]))
                return H + dH, n_inc + 1
        if nd < 0.6 * n and d0 > 0:
            idx = np.flatnonzero(diff)
            return d0 * self.G0 + self._gram(np.take(self.X, idx, axis=0), self.cw[idx] * (dp[idx] - d0)), 0
        return self._gram(self.X, self.cw * dp), 0

    def ols(self):
        return small_solve(self.G0, self.b0, self.full)

    def grams(self, wts, w0s):
        """Weighted Gram matrices ``X' C diag(wt) X`` for each weight vector, sharing one row subset."""
        diff = np.zeros(self.y.size, dtype=bool)
        for wt, w0 in zip(wts, w0s):
            diff |= wt != w0
        nd = int(np.count_nonzero(diff))
        out = []
        if nd < 0.6 * self.y.size and all(w0 > 0 for w0 in w0s):
            idx = np.flatnonzero(diff)
            Xs = np.take(self.X, idx, axis=0)
            cs = self.cw[idx]
            for wt, w0 in zip(wts, w0s):
                out.append(w0 * self.G0 + self._gram(Xs, cs * (wt[idx] - w0)))
            return out, idx, Xs
        return [self._gram(self.X, self.cw * wt) for wt in wts], None, None

    def rhs(self, wt, w0, idx, Xs):
        """``X' C diag(wt) y`` using the same row subset as :meth:`grams`."""
        if idx is not None:
            return w0 * self.b0 + self._rhs(Xs, self.cw[idx] * (wt[idx] - w0) * self.y[idx])
        return self._rhs(self.X, self.cw * wt * self.y)


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
            return beta, 0.0, it - 1, False, (
                "stopped: the robust scale is 0 (more than half of the residuals are exactly 0, a perfect fit "
                "of the bulk of the data); pass a fixed scale= to continue"), r
        u = r / scale
        wt = np.asarray(loss._weight(xp, u), dtype=float)
        if not np.any(wt > 0 if cw is None else wt * cw > 0):
            return beta, scale, it - 1, False, ("stopped: every IRLS weight is 0 (all residuals beyond the "
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
            step = small_solve(H, grad, state.full) if np.all(np.isfinite(H)) else None
            big_step = step is not None and (
                math.sqrt(max(float(step @ state.G0 @ step), 0.0) / state.sumw) > 0.05 * scale)
            if step is not None and np.all(np.isfinite(step)) and not big_step:
                # a small step (a twentieth of the scale in RMS fitted change): the quadratic model is
                # accurate there, so skip the objective check (two passes over the data)
                new = beta + step
                r_new = state.resid(new, out=spare)
            elif step is not None and np.all(np.isfinite(step)):
                f0 = state.csum(np.asarray(loss._rho(xp, u)))
                t = 1.0
                for _ in range(20):
                    cand = beta + t * step
                    rc = state.resid(cand, out=spare)
                    f1 = state.csum(np.asarray(loss._rho(xp, rc / scale)))
                    if f1 <= f0 + 1e-12 * abs(f0):
                        new, r_new = cand, rc
                        break
                    t *= 0.5
        if new is None:                 # an IRLS step (also the fallback of a Newton step that did not descend)
            (Gw,), idx, Xs = state.grams([wt], [w0])
            new = small_solve(Gw, state.rhs(wt, w0, idx, Xs), state.full)
            r_new = state.resid(new, out=spare)
        dlt = new - beta
        beta, r, spare = new, r_new, r
        new_scale = estimate_scale(r) if update_scale else scale
        # RMS change of the fitted values, in units of the scale (G0 / sum(c) is the design's second moment)
        dfit = math.sqrt(max(float(dlt @ state.G0 @ dlt), 0.0) / state.sumw)
        ds = abs(new_scale - scale)
        scale = new_scale
        if dfit <= tol * max(scale, 1e-300) and ds <= tol * max(scale, 1e-300):
            return beta, scale, it, True, "", r
    return beta, scale, max_iter, False, (
        f"not converged: stopped at the iteration limit max_iter={max_iter}; the last step still changed the "
        f"fitted values by {dfit / max(scale, 1e-300):.3g} scale units (tol={tol:g}); raise max_iter"), r


def _inv(G, full):
    if full:
        try:
            return small_solve(G, np.eye(G.shape[0]), True)
        except linalg.LinAlgError:  # pragma: no cover - small_solve already falls back
            pass
    return pinvh(G)


def _sandwich(loss, r, scale, state, cov_type):
    if not scale > 0:
        return None
    xp = _np_xp()
    u = r / scale
    psi = np.asarray(loss._psi(xp, u), dtype=float)
    dpsi = np.asarray(loss._psi_prime(xp, u), dtype=float)
    cw = state.cw
    n = state.sumw
    m = state.csum(dpsi) / n
    if not m > 0 or state.sumw - state.rank <= 0:
        return None
    var_dpsi = state.csum((dpsi - m) ** 2) / n
    kfac = 1 + state.rank / n * var_dpsi / m ** 2
    df_resid = n - state.rank
    ss_psi = state.csum(psi * psi)
    if cov_type == "H1":
        return kfac ** 2 * (ss_psi / df_resid * scale ** 2) / m ** 2 * _inv(state.G0, state.full)
    W = state._gram(state.X, cw * dpsi)
    Winv = _inv(W, state.full)
    if cov_type == "H2":
        return kfac * ss_psi / df_resid * scale ** 2 / m * Winv
    return ss_psi / df_resid * scale ** 2 / kfac * (Winv @ state.G0 @ Winv)


def _l1_start(state):
    """Least absolute deviations start (exact LP), for redescending losses on request."""
    from ._quantile import _GLOB_MIN_ROWS, solve_quantile_globbed, solve_quantile_lp

    Xa = np.column_stack([np.ones(state.y.size), state.X]) if state.intercept else state.X
    if state.y.size > _GLOB_MIN_ROWS:
        beta = solve_quantile_globbed(Xa, state.y, state.c, 0.5)[0]
    else:
        beta = solve_quantile_lp(Xa, state.y, state.c, 0.5)[0]
    if beta is None:   # LP failure: fall back to OLS (the Huber pre-fit is then the safeguard)
        return state.ols()
    return beta
