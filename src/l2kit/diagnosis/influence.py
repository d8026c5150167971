r"""Leverage, studentized residuals and Cook's distance of a least-squares fit.

Computed from a column-pivoted QR factorisation of the design (with the
intercept column), never from an explicit inverse:
:math:`h_{ii} = \|Q_{i,:}\|^2` over the first ``rank`` columns of ``Q``.
The definitions match ``statsmodels.stats.outliers_influence.OLSInfluence``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Influence", "influence"]


@dataclass(frozen=True, eq=False)
class Influence:
    r"""Influence measures of each observation in an OLS fit.

    Attributes
    ----------
    leverage : ndarray (n,)
        Diagonal of the hat matrix.
    resid : ndarray (n,)
        OLS residuals ``y - fitted``.
    studentized_internal, studentized_external : ndarray (n,)
        Residuals divided by :math:`s\sqrt{1-h}` with :math:`s` from all rows
        (internal) or leaving row ``i`` out (external, t-distributed with
        ``df_resid - 1`` degrees of freedom).
    cooks_distance, cooks_pvalue : ndarray (n,)
        :math:`D_i = t_i^2 h_i / ((1-h_i) k)` and ``F(k, n-k).sf(D_i)``.
    k : int
        Rank of the design (intercept included).
    df_resid : int
    """

    leverage: np.ndarray
    resid: np.ndarray
    fitted: np.ndarray
    studentized_internal: np.ndarray
    studentized_external: np.ndarray
    cooks_distance: np.ndarray
    cooks_pvalue: np.ndarray
    k: int
    df_resid: int
    sigma: float
    basis: np.ndarray | None = None   # orthonormal basis Q of the design's column space (n, k)

    @property
    def leverage_cutoff(self) -> float:
        """The usual flag for high leverage, :math:`2k/n`."""
        return 2.0 * self.k / self.leverage.size

    @property
    def cooks_cutoff(self) -> float:
        """The usual flag for an influential row, :math:`4/n`."""
        return 4.0 / self.leverage.size

    def influential(self) -> np.ndarray:
        """Rows (0-based) with Cook's distance above ``4/n``, most influential first."""
        idx = np.flatnonzero(self.cooks_distance > self.cooks_cutoff)
        return idx[np.argsort(-self.cooks_distance[idx])]


def influence(X, y, *, fit_intercept: bool = True) -> Influence:
    """Influence measures of the ordinary least-squares fit of ``y`` on ``X``.

    Parameters
    ----------
    X : array of shape (n, p)
    y : array of shape (n,)
    fit_intercept : bool
        Add a column of ones (as the fit does).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(6.0)[:, None]
    >>> inf = influence(X, np.array([0.1, 1.0, 2.1, 2.9, 4.0, 9.0]))
    >>> int(np.argmax(inf.cooks_distance)), round(float(inf.leverage.sum()), 10)
    (5, 2.0)
    """
    from scipy import linalg, stats

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    A = np.column_stack([np.ones(X.shape[0]), X]) if fit_intercept else X
    n = A.shape[0]
    Q, R, _ = linalg.qr(A, mode="economic", pivoting=True)
    d = np.abs(np.diag(R))
    tol = d.max() * max(A.shape) * np.finfo(float).eps if d.size else 0.0
    k = int(np.sum(d > tol))
    Q = Q[:, :k]
    fitted = Q @ (Q.T @ y)
    e = y - fitted
    h = np.einsum("ij,ij->i", Q, Q)
    df = n - k
    rss = float(e @ e)
    sigma2 = rss / df if df > 0 else np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        one_h = 1.0 - h
        t_int = e / np.sqrt(sigma2 * one_h)
        s2_i = (rss - e ** 2 / one_h) / (df - 1) if df > 1 else np.full(n, np.nan)
        t_ext = e / np.sqrt(s2_i * one_h)
        cooks = t_int ** 2 * h / one_h / k
    pval = stats.f.sf(cooks, k, df) if df > 0 else np.full(n, np.nan)
    return Influence(h, e, fitted, t_int, t_ext, cooks, pval, k, df, float(np.sqrt(sigma2)), Q)
