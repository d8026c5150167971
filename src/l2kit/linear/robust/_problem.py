"""The pieces of IRLS's weighted normal equations, built without copying ``X`` (:class:`Problem`)."""

from __future__ import annotations

import numpy as np

from .._design import Training
from .._linalg import gram_rank, small_solve, weighted_gram, x_dot, xt_dot

__all__ = ["Problem", "residual_training"]


def residual_training(X, y, c, r) -> Training:
    """The training data of a fit of the residual alone (no variance function, no deviance, no leverage
    weights): what :mod:`l2kit.linear._residuals` needs for the residual kinds such a fit defines."""
    return Training(X, y, c, None, lambda: {"fitted": y - r, "eta": y - r, "variance": None, "unit_deviance": None,
                                            "hat_weights": None, "prior": None, "dispersion_fixed": False})


class Problem:
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
        self.ridge = None   # lam * diag(0, 1, ..., 1): the ridge penalty, intercept unpenalised (set_ridge)

    def set_ridge(self, lam: float) -> None:
        r"""Add :math:`\tfrac{\lambda}{2}\beta^\top P\beta` to the IRLS objective (no penalty on the
        intercept; centring the columns leaves the slopes and so the penalty unchanged)."""
        if lam > 0:
            self.ridge = lam * np.eye(self.k)
            if self.intercept:
                self.ridge[0, 0] = 0.0
            self.full = True   # the penalised normal equations are positive definite

    def penalised(self, M, beta=None):
        """``M + R`` (a Gram matrix), or with ``beta`` the step's right-hand side ``M - R beta``."""
        if self.ridge is None:
            return M
        return M + self.ridge if beta is None else M - self.ridge @ beta

    def penalty(self, beta, scale: float) -> float:
        r"""The ridge term in the units of ``sum c rho(r/s)``: :math:`\beta^\top R\beta / (2 s^2)`."""
        return 0.0 if self.ridge is None else 0.5 * float(beta @ self.ridge @ beta) / scale ** 2

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
