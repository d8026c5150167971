r"""The quantile regression linear program, exact, by HiGHS: the dual LP and Portnoy-Koenker preprocessing.

See :mod:`.quantile` for the formulations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["GLOB_MIN_ROWS", "LPScaling", "lp_scaling", "solve_quantile_globbed", "solve_quantile_lp"]

GLOB_MIN_ROWS = 20000  # above this, "auto" solves the exact LP by Portnoy-Koenker preprocessing


def _power_of_two(m: np.ndarray) -> np.ndarray:
    """The power of two nearest below each positive ``m`` (1.0 where ``m`` is 0): an exact scale factor."""
    m = np.asarray(m, dtype=np.float64)
    _, e = np.frexp(np.where(m > 0, m, 1.0))
    return np.ldexp(1.0, e - 1)


@dataclass(frozen=True)
class LPScaling:
    """Powers of two that bring the LP's columns, target and weights to about 1 (see :func:`lp_scaling`)."""

    columns: np.ndarray   # (k,): X[:, j] is divided by columns[j]
    target: float         # y is divided by it
    weights: float        # the case weights are divided by it

    def coef(self, beta_scaled: np.ndarray) -> np.ndarray:
        """The coefficients of the original problem from those of the scaled one."""
        return beta_scaled * (self.target / self.columns)


#: column maxima in this range keep their column unscaled (see :func:`lp_scaling`)
_UNSCALED = (2.0**-16, 2.0**16)


def _absmax_rows(X):  # pragma: no cover - compiled by numba
    """``max |X[:, j]|`` for each column in one pass over the rows."""
    n, k = X.shape
    out = np.zeros(k)
    for i in range(n):
        for j in range(k):
            v = abs(X[i, j])
            if v > out[j]:
                out[j] = v
    return out


def _absmax_numpy(X):
    # from the two extremes: no |X| temporary (an extra copy of X at 1e7 rows)
    return np.maximum(X.max(axis=0), -X.min(axis=0))


def column_absmax(X: np.ndarray) -> np.ndarray:
    """The largest ``|x|`` of each column of a finite ``X`` (n, k).

    A row-major ``X`` with few columns goes through a compiled pass over the rows: NumPy's
    ``X.max(axis=0)`` walks it in rows of ``k`` values and took 27 ms at 1e6 x 6 (2 ms for the same
    values as one vector).

    Examples
    --------
    >>> column_absmax(np.array([[1.0, -5.0], [-3.0, 2.0]]))
    array([3., 5.])
    """
    from ..._jit import jit

    if X.flags.c_contiguous:
        return jit(_absmax_rows, _absmax_numpy)(X)
    return _absmax_numpy(X)


def lp_scaling(Xa: np.ndarray, y: np.ndarray, c: np.ndarray | None):
    r"""Scale the quantile LP's columns, target and weights by powers of two near their maxima.

    HiGHS treats matrix entries below about 1e-9 as zero and stops on costs
    or bounds near 1e100, so a column of values near 1e-10 was ignored (its
    coefficient 0, the LP still "optimal") and large weights or targets failed.
    Columns whose largest ``|x|`` lies within :math:`2^{\pm 16}` are kept as they
    are (``Xs`` is then ``Xa`` itself, not a copy).
    With :math:`X = X_s D`, :math:`y = s\,y_s` and :math:`c = t\,c_s` the pinball
    objective is :math:`s\,t` times the scaled one, so the optimum is
    :math:`eta = s D^{-1} eta_s` exactly; powers of two make the scaling
    itself exact.

    Returns ``(Xs, ys, cs, scaling)``.

    Examples
    --------
    >>> X = np.array([[1.0, 3 * 2.0**-40], [1.0, -2.0**-40]])
    >>> Xs, ys, cs, sc = lp_scaling(X, np.array([4.0, 8.0]), np.array([0.5, 0.25]))
    >>> Xs[:, 1], ys, cs
    (array([ 1.5, -0.5]), array([0.5, 1. ]), array([1. , 0.5]))
    >>> sc.coef(np.array([1.0, 1.0])) == [8.0, 2.0**42]
    array([ True,  True])
    """
    cols = _power_of_two(column_absmax(Xa) if Xa.size else np.ones(Xa.shape[1]))
    # columns within 2^-16..2^16 of 1 are left as they are: no scaled copy of X (at 1e7 rows a copy is the
    # largest allocation of the fit), and HiGHS handles such entries
    cols = np.where((cols >= _UNSCALED[0]) & (cols <= _UNSCALED[1]), 1.0, cols)
    target = float(_power_of_two(np.max(np.abs(y)) if y.size else 0.0))
    weights = 1.0 if c is None else float(_power_of_two(np.max(c)))
    Xs = Xa if np.all(cols == 1.0) else Xa / cols
    cs = None if c is None else c / weights
    return Xs, y / target, cs, LPScaling(cols, target, weights)


def solve_quantile_lp(Xa: np.ndarray, y: np.ndarray, c: np.ndarray | None, q: float, *,
                      formulation: str = "dual", solver: str = "highs", time_limit: float | None = None,
                      tol: float | None = None, l1: np.ndarray | None = None):
    r"""Solve the weighted quantile LP; returns ``(beta, result)`` (scipy ``OptimizeResult``).

    ``l1`` (k,) adds :math:`\sum_j l1_j |\beta_j|` (scikit-learn's ``QuantileRegressor`` penalty): the primal
    LP then bounds :math:`|\beta_j|` by extra variables :math:`a_j` with cost :math:`l1_j`.
    """
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
    if l1 is not None:
        return _penalised_primal(Xa, y, cw, q, l1, solver, opts)
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


def _penalised_primal(Xa, y, cw, q, l1, solver, opts):
    """min c'(q u + (1-q) v) + l1'a  s.t.  X beta + u - v = y,  -a <= beta <= a  (u, v, a >= 0)."""
    from scipy import sparse
    from scipy.optimize import linprog

    n, k = Xa.shape
    eye_n, eye_k = sparse.eye_array(n, format="csc"), sparse.eye_array(k, format="csc")
    zeros = sparse.csc_array((k, n))
    A_eq = sparse.hstack([sparse.csc_array(Xa), eye_n, -eye_n, sparse.csc_array((n, k))], format="csc")
    A_ub = sparse.vstack([sparse.hstack([eye_k, zeros, zeros, -eye_k]),
                          sparse.hstack([-eye_k, zeros, zeros, -eye_k])], format="csc")
    cost = np.concatenate([np.zeros(k), q * cw, (1.0 - q) * cw, l1])
    bounds = [(None, None)] * k + [(0, None)] * (2 * n + k)
    res = linprog(cost, A_ub=A_ub, b_ub=np.zeros(2 * k), A_eq=A_eq, b_eq=y, bounds=bounds, method=solver,
                  options=opts)
    return (np.asarray(res.x[:k]) if res.status == 0 else None), res


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
