r"""Mergeable least-squares state for streamed and distributed fits.

A :class:`GramState` summarises any number of rows of ``Z = [X, y]`` with
case weights ``w`` by

* the weighted count ``sw = sum(w)``, the number of rows and of rows with
  positive weight, and ``sum(log w)`` over those (for the log-likelihood);
* the weighted column means ``m`` of ``Z``;
* an upper-triangular ``R`` with :math:`R^\top R = (Z - m)^\top W (Z - m)`,
  the centred weighted Gram (co-moment) matrix *in factored form*: the R
  factor of a QR decomposition of :math:`W^{1/2}(Z - m)` (centred TSQR).

Keeping ``R`` rather than the Gram matrix itself keeps the condition number
of ``X`` (not its square) in play, so streamed fits agree with an in-memory
QR/SVD fit to rounding. Two states merge exactly by the Chan et al. pairwise
formula written for factors: the co-moments of the union are

.. math::
    C = C_a + C_b + \frac{s_a s_b}{s_a + s_b} (m_b - m_a)(m_b - m_a)^\top,

so ``R`` of the union is the R factor of the stacked
``[R_a; R_b; sqrt(s_a s_b / s) (m_b - m_a)^T]``. :meth:`merge_all` merges
``k`` states in one small QR (the k-way form of the same identity), used by
tree reductions.

Per chunk, ``R`` comes from the Cholesky factor of the centred, equilibrated
chunk Gram matrix when the chunk is well conditioned (estimated condition
<= 100: one BLAS-3 pass), from CholeskyQR2 (two Gram matrices and one
triangular solve) up to condition 1e6, and from Householder QR beyond, where
the Cholesky routes would lose accuracy.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X, y = rng.normal(size=(100, 2)), rng.normal(size=100)
>>> a = GramState.from_chunk(X[:30], y[:30])
>>> b = GramState.from_chunk(X[30:], y[30:])
>>> s = a.merge(b)
>>> Zc = np.column_stack([X, y]) - np.column_stack([X, y]).mean(0)
>>> bool(np.allclose(s.gram, Zc.T @ Zc))
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..._errors import InputError
from ..._status import Status
from ...losses import Squared
from .._inference import classical_cov, gaussian_loglike
from .._result import Estimates, build_fit
from ._direct import warn_collinear

_CHOLQR1_MAX_COND = 1e2
_CHOLQR_MAX_COND = 1e6


def _r_factor(Zc: np.ndarray, *, fast: bool = True) -> np.ndarray:
    """Upper-triangular R with R'R = Zc'Zc (Zc may be modified in place).

    Columns are equilibrated (unit norm) for the condition estimate. The
    estimated condition ``kappa`` of the equilibrated chunk picks the path:
    ``kappa <= 1e2``: Cholesky of the Gram (one BLAS-3 pass; error
    ~kappa^2 eps <= 1e-12, like the in-memory Cholesky path);
    ``kappa <= 1e6``: CholeskyQR2 (second pass restores orthogonality,
    Householder-level accuracy); otherwise Householder QR.
    """
    m, k = Zc.shape
    if m == 0:
        return np.zeros((k, k))
    if fast and m >= 4 * k:
        G = Zc.T @ Zc
        d = np.sqrt(np.maximum(G.diagonal(), 0.0))
        d[d == 0] = 1.0
        try:
            R1 = np.linalg.cholesky(G / np.outer(d, d)).T
            kappa = np.linalg.cond(R1)
            if kappa <= _CHOLQR1_MAX_COND:
                return R1 * d
            if kappa <= _CHOLQR_MAX_COND:
                import scipy.linalg as sl

                R1 = R1 * d
                Q = sl.solve_triangular(R1, Zc.T, trans="T", lower=False, check_finite=False).T
                R2 = np.linalg.cholesky(Q.T @ Q).T
                return R2 @ R1
        except np.linalg.LinAlgError:
            pass
    d = np.sqrt(np.einsum("ij,ij->j", Zc, Zc))
    d[d == 0] = 1.0
    Zc /= d
    R = np.linalg.qr(Zc, mode="r")
    if R.shape[0] < k:  # fewer rows than columns
        R = np.vstack([R, np.zeros((k - R.shape[0], k))])
    return R * d


@dataclass(frozen=True)
class GramState:
    """Weighted count, means and factored centred co-moments of ``[X, y]``.

    Attributes
    ----------
    sw : float
        Sum of weights.
    n_rows : int
        Rows seen (including zero-weight rows).
    n_pos : int
        Rows with positive weight.
    sum_log_w : float
        Sum of ``log(w)`` over rows with positive weight (0 when unweighted).
    mean : ndarray of shape (p + 1,)
        Weighted means of the columns of ``X`` and of ``y`` (last).
    R : ndarray of shape (p + 1, p + 1)
        Upper triangular, ``R.T @ R`` the centred weighted co-moment matrix.
    """

    sw: float
    n_rows: int
    n_pos: int
    sum_log_w: float
    mean: np.ndarray
    R: np.ndarray

    @property
    def p(self) -> int:
        """Number of features."""
        return self.mean.shape[0] - 1

    @property
    def finite(self) -> bool:
        """Whether every statistic is finite (a NaN/inf row poisons them: then scan the rows)."""
        return bool(np.isfinite(self.sw) and np.isfinite(self.mean).all() and np.isfinite(self.R).all())

    @property
    def gram(self) -> np.ndarray:
        """The centred weighted co-moment matrix of ``[X, y]``, ``R.T @ R``."""
        return self.R.T @ self.R

    @classmethod
    def empty(cls, p: int) -> GramState:
        """State of no rows for ``p`` features."""
        return cls(0.0, 0, 0, 0.0, np.zeros(p + 1), np.zeros((p + 1, p + 1)))

    @classmethod
    def from_chunk(cls, X: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> GramState:
        """State of one chunk (float64 ``X`` (m, p), ``y`` (m,), optional ``w`` >= 0).

        Inputs are trusted; NaN/inf rows make the state non-finite (see
        :attr:`finite`), so callers scan the rows only then.
        """
        with np.errstate(all="ignore"):
            try:
                return cls._from_chunk(X, y, w)
            except (np.linalg.LinAlgError, ValueError):
                p = X.shape[1]
                return cls(float("nan"), X.shape[0], 0, 0.0, np.full(p + 1, np.nan), np.full((p + 1, p + 1), np.nan))

    @classmethod
    def _from_chunk(cls, X: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> GramState:
        m, p = X.shape
        # keep X's memory order so that the copy streams (column-major tables, row-major arrays)
        column_major = X.flags.f_contiguous and not X.flags.c_contiguous
        if w is None and column_major and m:
            return cls.from_columns([X[:, j] for j in range(p)] + [y])
        Z = np.empty((m, p + 1), order="F" if column_major else "C")
        Z[:, :p] = X
        Z[:, p] = y
        if w is None:
            if m == 0:
                return cls.empty(p)
            mean = Z.mean(axis=0)
            Z -= mean
            return cls(float(m), m, m, 0.0, mean, _r_factor(Z))
        pos = w > 0
        n_pos = int(np.count_nonzero(pos))
        if n_pos == 0:
            return cls(0.0, m, 0, 0.0, np.zeros(p + 1), np.zeros((p + 1, p + 1)))
        if n_pos < m:  # zero-weight rows contribute nothing; drop them before factoring
            Z, w = Z[pos], w[pos]
        sw = float(w.sum())
        mean = (w @ Z) / sw
        Z -= mean
        Z *= np.sqrt(w)[:, None]
        return cls(sw, m, n_pos, float(np.log(w).sum()), mean, _r_factor(Z))

    @classmethod
    def from_columns(cls, columns: Sequence[np.ndarray], *, scratch: np.ndarray | None = None) -> GramState:
        """State of one unweighted chunk given as its columns ``[x_1, ..., x_p, y]`` (float64, equal lengths).

        The streaming path: the chunk is never copied into a 2-D ``X``. Each
        column's sum gives its mean; when a sum is not finite (NaN or inf in
        the chunk, or an overflow) the state is returned unfactored and not
        :attr:`finite`, so the caller scans the rows. ``scratch``, a float64
        1-D array of at least ``m * (p + 1)`` values, holds the centred chunk
        (reuse it between chunks: fresh memory costs page faults each time).

        Examples
        --------
        >>> import numpy as np
        >>> x, y = np.array([0.0, 1.0, 2.0]), np.array([1.0, 3.0, 5.0])
        >>> s = GramState.from_columns([x, y])
        >>> s.mean, np.allclose(s.gram, GramState.from_chunk(x[:, None], y).gram)
        (array([1., 3.]), True)
        >>> GramState.from_columns([x, np.array([1.0, np.nan, 5.0])]).finite
        False
        """
        m, k = len(columns[0]), len(columns)
        if m == 0:
            return cls.empty(k - 1)
        with np.errstate(all="ignore"):
            mean = np.array([np.add.reduce(c) for c in columns]) / m
            if np.isfinite(mean).all():
                # a column's mean is the same pairwise sum whether taken on the column or on its copy (both
                # contiguous), so the chunk is centred while it is copied into Z: one pass fewer than copy, then centre
                buf = scratch if scratch is not None and scratch.size >= m * k else np.empty(m * k)
                Z = buf[:m * k].reshape((m, k), order="F")   # contiguous, column-major
                for j, c in enumerate(columns):
                    np.subtract(c, mean[j], out=Z[:, j])
                try:
                    return cls(float(m), m, m, 0.0, mean, _r_factor(Z))
                except (np.linalg.LinAlgError, ValueError):
                    pass
        return cls(float(m), m, m, 0.0, mean, np.full((k, k), np.nan))

    def merge(self, other: GramState) -> GramState:
        """The state of the union of both row sets (Chan's pairwise update)."""
        return GramState.merge_all([self, other])

    @staticmethod
    def merge_all(states: Sequence[GramState]) -> GramState:
        """Merge any number of states exactly (k-way Chan update, one small QR)."""
        states = list(states)
        n_rows = sum(s.n_rows for s in states)
        live = [s for s in states if s.sw > 0]
        if not live:
            e = states[0]
            return GramState(0.0, n_rows, 0, 0.0, np.zeros_like(e.mean), np.zeros_like(e.R))
        if len(live) == 1:
            s = live[0]
            return GramState(s.sw, n_rows, s.n_pos, s.sum_log_w, s.mean, s.R)
        sw = sum(s.sw for s in live)
        # weighted mean of means, accumulated relative to the first to limit cancellation
        base = live[0].mean
        mean = base + sum(s.sw * (s.mean - base) for s in live[1:]) / sw
        rows = [s.R for s in live] + [np.sqrt(s.sw) * (s.mean - mean)[None, :] for s in live]
        R = _r_factor(np.vstack(rows), fast=False)  # small: Householder
        return GramState(sw, n_rows, sum(s.n_pos for s in live), sum(s.sum_log_w for s in live), mean, R)

    # -- serialisation (map-reduce) --------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (lossless: floats round-trip through repr)."""
        return {"sw": self.sw, "n_rows": self.n_rows, "n_pos": self.n_pos, "sum_log_w": self.sum_log_w,
                "mean": self.mean.tolist(), "R": self.R.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GramState:
        """Inverse of :meth:`to_dict`."""
        return cls(float(d["sw"]), int(d["n_rows"]), int(d["n_pos"]), float(d["sum_log_w"]),
                   np.asarray(d["mean"], dtype=float), np.asarray(d["R"], dtype=float))


def _rank_tol(S: np.ndarray, n: int, p: int, rcond: float | None) -> float:
    # numpy.linalg.matrix_rank's default: s_max * max(n, p) * eps
    if rcond is None:
        rcond = max(n, p) * np.finfo(float).eps
    return float(S.max(initial=0.0)) * rcond


def solve_state(state: GramState, *, fit_intercept: bool = True, alpha: float = 0.0, loss: Any = None,
                feature_names: Sequence[str] | None = None, rcond: float | None = None,
                method: str = "tsqr", n_chunks: int | None = None, where: str = "streamed") -> Any:
    r"""Least-squares (or ridge) solution and classical inference from a merged state.

    With ``R = [[R11, r12], [0, r22]]`` the factor of the (centred) weighted
    ``[X, y]``, the slopes minimise :math:`\|R_{11}\beta - r_{12}\|^2 + r_{22}^2`
    = RSS. The rank comes from the SVD of ``R11`` with unit-norm columns
    (so units do not matter) and the tolerance of
    ``numpy.linalg.matrix_rank``; a rank-deficient design gets the
    minimum-norm solution (as ``numpy.linalg.lstsq`` on centred data) and a
    :class:`~l2kit.linear._direct.CollinearityWarning` naming the dependent columns.

    Inference is classical (statsmodels OLS/WLS): :math:`\hat\sigma^2 =
    \mathrm{RSS}_w / (n - r - 1)` with ``n`` the rows of positive weight and
    ``r`` the rank, :math:`\mathrm{Cov}(\hat\beta) = \hat\sigma^2 (X_c^\top W X_c)^{+}`,
    :math:`\mathrm{Var}(\hat\beta_0) = \hat\sigma^2/\sum w + \bar x^\top \mathrm{Cov}(\hat\beta)\bar x`.
    """
    p = state.p
    names = tuple(feature_names) if feature_names is not None else tuple(f"x{j}" for j in range(p))
    if state.sw <= 0:
        raise InputError("X", "at least one row with positive weight", f"{state.n_rows} rows, none weighted",
                         "pass data (and weights with a positive sum)")
    R = state.R
    if not fit_intercept:  # uncentred factor: C + sw m m' stacked as one more row
        R = np.linalg.qr(np.vstack([R, np.sqrt(state.sw) * state.mean[None, :]]), mode="r")
    R11, r12, r22 = R[:p, :p], R[:p, p], R[p, p]
    d = np.sqrt(np.einsum("ij,ij->j", R11, R11))
    const = d <= np.finfo(float).tiny
    d[const] = 1.0
    U, S, Vt = np.linalg.svd(R11 / d, full_matrices=False)
    n = state.n_pos
    rank = int(np.count_nonzero(S > _rank_tol(S, n, p, rcond))) if p else 0
    status_bits = []
    edf = None
    collinear: tuple[str, ...] = ()
    if alpha > 0:
        # ridge, glmnet scaling 1/(2 sw) RSS + alpha/2 |b|^2: lam = alpha * sw (as the in-memory solver);
        # filter factors from the SVD of R11 (original units); sandwich covariance sigma^2 (g - lam g^2)
        lam = alpha * state.sw
        U2, S2, Vt2 = np.linalg.svd(R11, full_matrices=False)
        coef = Vt2.T @ ((S2 / (S2**2 + lam)) * (U2.T @ r12))
        f2 = S2**2 / (S2**2 + lam)
        edf = float(f2.sum())
        VS = Vt2.T * (np.sqrt(f2) / np.sqrt(S2**2 + lam))
        cov_b = VS @ VS.T
    elif rank == p:
        coef = (Vt.T @ ((U.T @ r12) / S)) / d
        VS = Vt.T / S
        cov_b = (VS @ VS.T) / np.outer(d, d)
    else:
        # minimum-norm solution in the original units, truncated at the detected rank
        U2, S2, Vt2 = np.linalg.svd(R11, full_matrices=False)
        coef = Vt2[:rank].T @ ((U2[:, :rank].T @ r12) / S2[:rank])
        VS = Vt2[:rank].T / S2[:rank]
        cov_b = VS @ VS.T
        from scipy.linalg import qr

        # the same choice of dependent columns as the in-memory solver (pivoted QR of the scaled design)
        piv = qr(R11 / d, pivoting=True, mode="r")[1]
        involved = sorted(int(j) for j in piv[rank:])
        warn_collinear(tuple(involved), rank, p, names, wide=n <= p, stacklevel=5)  # caller of fit
        collinear = tuple(names[j] for j in involved)
        status_bits.append(f"rank deficient: rank {rank} of {p} (dependent: {', '.join(collinear)}); "
                           "minimum-norm solution")
    resid = r12 - R11 @ coef
    rss = float(resid @ resid + r22 * r22)
    df_resid = float(n - (rank if edf is None else edf) - (1 if fit_intercept else 0))
    scale = rss / df_resid if df_resid > 0 else float("nan")
    if df_resid <= 0:
        status_bits.append("no residual degrees of freedom: scale and standard errors are undefined")
    mx, my = state.mean[:p], state.mean[p]
    intercept = float(my - mx @ coef) if fit_intercept else 0.0
    cov_params = classical_cov(cov_b, scale, mean=mx, sw=state.sw, fit_intercept=fit_intercept)
    tss_c = float(np.sum(state.R[:, p] ** 2))  # centred weighted TSS of y
    loglike = gaussian_loglike(rss, n, logdet_cov=-state.sum_log_w)  # WLS: log|Sigma| = -sum log w
    if edf is not None:
        loglike = None
        status_bits.append(f"ridge alpha={alpha:g}, effective degrees of freedom {edf:.6g}")
    chunks = f" over {n_chunks} chunk{'s' if n_chunks != 1 else ''}" if n_chunks is not None else ""
    message = (f"solved by centred TSQR of {where} data{chunks} ({state.n_rows} rows"
              + (f", {n} with positive weight" if n != state.n_rows else "") + ")"
              + ("; " + "; ".join(status_bits) if status_bits else "") + ".")
    extra = {"sum_weights": state.sw, "n_rows": state.n_rows, "rss": rss, "tss": tss_c,
             "r2": 1 - rss / tss_c if tss_c > 0 and fit_intercept else float("nan")}
    if n_chunks is not None:
        extra["n_chunks"] = n_chunks
    if edf is not None:
        extra["edf"] = edf + fit_intercept
    if collinear:
        extra["collinear"] = collinear
    params = np.concatenate([[intercept], coef]) if fit_intercept else np.asarray(coef, dtype=float)
    est = Estimates(params=params, cov=cov_params, status=Status.RANK_DEFICIENT if collinear else Status.SUCCESS,
                    message=message, method=method, rank=rank, scale=scale, loglike=loglike, residuals=None,
                    n_obs=n, df_resid=df_resid, n_iter=1, dist="t", alpha=float(alpha), extra=extra)
    return build_fit(est, loss=loss if loss is not None else Squared(), fit_intercept=fit_intercept,
                     feature_names=names)
