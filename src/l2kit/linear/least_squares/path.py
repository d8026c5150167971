r"""Regularisation paths (:func:`enet_path`) and K-fold cross-validation (:func:`cross_validate`) for
the lasso, the elastic net and ridge, on the whitened problem of :mod:`.solver`.

The objective is l2kit's (and scikit-learn's) at every penalty:
:math:`\frac{1}{2n}\sum_i w_i (y_i - \beta_0 - x_i^\top\beta)^2 + \alpha(\lambda\|\beta\|_1 +
\frac{1-\lambda}{2}\|\beta\|^2)`, ``n`` the weight sum. glmnet's gaussian
family standardises ``y`` internally, so its ``lambda`` maps to
``alpha * l1_ratio = lambda * a`` and ``alpha * (1 - l1_ratio) = lambda * (1 - a) / sd(y)``
(``sd`` with divisor ``n``, weighted): the same for the lasso, different
for the elastic net and ridge unless ``sd(y) = 1``. The grid is glmnet's and
scikit-learn's: ``n_alphas`` values from ``alpha_max`` (the smallest penalty
with every coefficient zero; for ridge, glmnet's ``alpha_max`` at
``l1_ratio = 1e-3``) down to ``eps * alpha_max`` (scikit-learn's
``eps = 1e-3``; glmnet's ``lambda.min.ratio`` is 1e-4 when ``n > p``), and
every penalty is solved (glmnet may stop early when the deviance stops
changing; scikit-learn does not).

The engine is :mod:`l2kit.linear.penalized.path`: one pass over the data for
per-fold Gram blocks, then compiled coordinate descent with warm starts,
strong rules and KKT checks (ridge: one eigendecomposition).
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..._errors import InputError
from ..._status import Status
from .._design import Design, validate_design
from ._whiten import Whitened, whiten

__all__ = ["PenaltyPath", "cross_validate", "enet_path"]

#: above this many columns the path is not run on the full Gram matrix (p^2 memory, n p^2 time) but as
#: one working-set fit per penalty
_GRAM_MAX_P = 2000


@dataclass(frozen=True)
class PenaltyPath:
    """Coefficients along a grid of penalties (one row per penalty, largest penalty first).

    Attributes
    ----------
    alphas : (L,) penalties, decreasing
    coef : (L, p) coefficients
    intercept : (L,) intercepts (zeros without one)
    df : (L,) non-zero coefficients (glmnet's ``df``)
    dev_ratio : (L,) fraction of the (weighted, centred) sum of squares explained (glmnet's ``dev.ratio``)
    duality_gap : (L,) duality gaps, relative to ``||y_c||^2 / n`` (0 for ridge: solved exactly)
    n_iter : (L,) coordinate-descent sweeps per penalty
    l1_ratio : float
    status : Status
    message : str
    feature_names : tuple of str
    """

    alphas: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    df: np.ndarray
    dev_ratio: np.ndarray
    duality_gap: np.ndarray
    n_iter: np.ndarray
    l1_ratio: float
    status: Status
    message: str
    feature_names: tuple = field(default=())

    @property
    def converged(self) -> bool:
        """True when every penalty's duality gap is below the tolerance."""
        return self.status.converged

    def predict(self, X: Any) -> np.ndarray:
        """Predictions at every penalty: shape ``(n, L)``."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.coef.shape[1]:
            raise InputError("X", f"a 2-D array with {self.coef.shape[1]} columns", f"shape {X.shape}",
                             "pass the columns the path was computed on")
        return X @ self.coef.T + self.intercept


def _check_grid(alphas, n_alphas, eps) -> np.ndarray | None:
    if alphas is not None:
        a = np.asarray(alphas, dtype=np.float64)
        if a.ndim != 1 or a.size == 0 or not np.all(np.isfinite(a)) or np.any(a <= 0):
            raise InputError("alphas", "a non-empty 1-D array of finite penalties > 0", f"{np.asarray(alphas)!r}"[:80],
                             "pass e.g. alphas=np.geomspace(1, 1e-3, 50), or None for the default grid")
        return np.sort(a)[::-1].copy()
    if not (isinstance(n_alphas, numbers.Integral) and n_alphas >= 1):
        raise InputError("n_alphas", "an integer >= 1", repr(n_alphas), "e.g. n_alphas=100")
    if not (isinstance(eps, numbers.Real) and 0 < eps < 1):
        raise InputError("eps", "a number in (0, 1): the smallest penalty as a fraction of alpha_max", repr(eps),
                         "e.g. eps=1e-3")
    return None


def _check_cd(l1_ratio, tol, max_iter) -> float:
    if not isinstance(l1_ratio, numbers.Real) or not 0.0 <= float(l1_ratio) <= 1.0:
        raise InputError("l1_ratio", "a number in [0, 1]", repr(l1_ratio), "0 = ridge, 1 = lasso")
    if not (isinstance(max_iter, numbers.Integral) and max_iter > 0):
        raise InputError("max_iter", "a positive integer", repr(max_iter), "e.g. max_iter=10000")
    if not (isinstance(tol, numbers.Real) and tol > 0):
        raise InputError("tol", "a positive number", repr(tol), "e.g. tol=1e-10")
    return float(l1_ratio)


def _row_pen(design: Design, wh: Whitened) -> np.ndarray:
    """Each kept row's share of the penalty's ``n``: its weight (1 without weights)."""
    w = design.weights
    if w is None:
        return np.ones(wh.n_obs)
    return np.asarray(w if wh.keep is None else w[wh.keep], dtype=np.float64)


def _solve(A, b, c, row_pen, bounds, l1_ratio, alphas, n_alphas, eps, tol, max_iter):
    """The per-fold sums and the path on all folds: ``sums, alphas, W, b0, gaps (relative), iters, R2, yy``."""
    from ..penalized.path import alpha_grid, alpha_max, centred, fold_sums, solve_path

    sums = fold_sums(A, b, c, bounds, row_pen)
    Q, q, yy, _, mean, bmean = centred(sums)
    if alphas is None:
        alphas = alpha_grid(alpha_max(q, l1_ratio), n_alphas, eps)
        if alphas.size == 0:                      # y constant (or no column varies): a single zero model
            alphas = np.ones(1)
    W, gaps, iters, R2 = solve_path(Q, q, yy, alphas, l1_ratio, tol=tol, max_iter=max_iter)
    b0 = (bmean - W @ mean) if c is not None else np.zeros(len(alphas))
    return sums, alphas, W, b0, gaps / max(yy, 1e-300), iters, R2, yy


def _solve_wide(A, b, c, n_pen, l1_ratio, alphas, n_alphas, eps, tol, max_iter):
    """The path for more than :data:`_GRAM_MAX_P` columns: one working-set fit per penalty (no Gram matrix)."""
    from ..penalized import enet_active_set
    from ..penalized._centred import Centred
    from ..penalized.path import alpha_grid, alpha_max

    X = Centred(A, b, c, n_pen)
    if alphas is None:
        alphas = alpha_grid(alpha_max(X.q, l1_ratio), n_alphas, eps)
        if alphas.size == 0:
            alphas = np.ones(1)
    if l1_ratio == 0.0:
        raise InputError("l1_ratio", f"> 0 for a path over more than {_GRAM_MAX_P} columns", "0 (ridge)",
                         "use l2kit.fit(X, y, alpha=grid) (ridge selection from one SVD) for wide ridge")
    L, p = len(alphas), A.shape[1]
    W, b0, gaps, iters, R2 = np.zeros((L, p)), np.zeros(L), np.zeros(L), np.zeros(L, np.int64), np.zeros(L)
    for k, a in enumerate(alphas):
        W[k], b0[k], iters[k], gaps[k], _, _, r = enet_active_set(A, b, c, n_pen, a, l1_ratio, tol=tol,
                                                                    max_iter=max_iter)
        R2[k] = float(r @ r) / n_pen
    return alphas, W, b0, gaps / max(X.yy, 1e-300), iters, R2, X.yy


def enet_path(X: Any, y: Any, *, l1_ratio: float = 0.5, alphas: Any = None, n_alphas: int = 100,
              eps: float = 1e-3, weights: Any = None, fit_intercept: bool = True, tol: float = 1e-10,
              max_iter: int = 10000, feature_names: Any = None) -> PenaltyPath:
    r"""The elastic-net (lasso, ridge) coefficients along a decreasing grid of penalties.

    Minimises, at every ``alpha`` of the grid,

    .. math::
        \frac{1}{2n}\sum_i w_i (y_i - \beta_0 - x_i^\top\beta)^2
        + \alpha\left(\lambda\|\beta\|_1 + \tfrac{1-\lambda}{2}\|\beta\|_2^2\right)

    (``λ`` = ``l1_ratio``, ``n`` = the weight sum), warm-starting each
    penalty from the previous one, screening columns by the sequential
    strong rule and checking every screened-out column against the KKT
    conditions. Each penalty stops when scikit-learn's duality gap is below
    ``tol * ||y_c||^2 / n`` (ridge is solved exactly from one
    eigendecomposition). See :mod:`l2kit.linear.least_squares.path` for the
    map to glmnet's ``lambda``.

    Parameters
    ----------
    X : array (n, p)
    y : array (n,)
    l1_ratio : float in [0, 1], default 0.5
        1 = lasso, 0 = ridge.
    alphas : 1-D array, optional
        The penalties (sorted decreasing). Default: ``n_alphas`` values on a
        log grid from ``alpha_max`` down to ``eps * alpha_max``.
    n_alphas : int, default 100
    eps : float, default 1e-3
    weights : array (n,), optional
        Case weights (integer weights equal repeated rows; zero removes a row).
    fit_intercept : bool, default True
    tol, max_iter : float, int
        Duality-gap tolerance (relative) and sweep budget per penalty.
    feature_names : sequence of str, optional

    Returns
    -------
    PenaltyPath

    Examples
    --------
    >>> import numpy as np, l2kit as l2
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 5)); y = X @ [3.0, 0, 0, -2.0, 0] + rng.normal(size=200)
    >>> path = l2.enet_path(X, y, l1_ratio=1.0, n_alphas=5)
    >>> path.coef.shape, path.df.tolist(), path.converged
    ((5, 5), [0, 2, 2, 5, 5], True)
    >>> bool(np.allclose(path.coef[-1], l2.fit(X, y, alpha=path.alphas[-1], l1_ratio=1.0).coef, atol=1e-6))
    True
    """
    l1_ratio = _check_cd(l1_ratio, tol, max_iter)
    grid = _check_grid(alphas, n_alphas, eps)
    design = validate_design(X, y, weights, feature_names=feature_names, check_finite=True)
    if np.iscomplexobj(design.X) or np.iscomplexobj(design.y):
        raise InputError("X, y", "real data for a penalty path", "complex data", "pass real arrays")
    wh = whiten(design, None, bool(fit_intercept))
    from ..penalized import NonFiniteData, blas_threads_limit

    try:
        with blas_threads_limit(1):
            if wh.A.shape[1] > _GRAM_MAX_P:
                grid, W, b0, gaps, iters, R2, yy = _solve_wide(wh.A, wh.b, wh.c, wh.n_pen, l1_ratio, grid,
                                                               n_alphas, eps, tol, max_iter)
            else:
                _, grid, W, b0, gaps, iters, R2, yy = _solve(wh.A, wh.b, wh.c, _row_pen(design, wh),
                                                             np.array([0, wh.n_obs]), l1_ratio, grid, n_alphas,
                                                             eps, tol, max_iter)
    except NonFiniteData:
        raise InputError("X, y", "values whose squares are finite", "overflow in the Gram matrix",
                         "rescale the columns (e.g. divide by their standard deviation)") from None
    ok = bool(np.all(gaps <= tol))
    bad = np.flatnonzero(gaps > tol)
    message = (f"{len(grid)} penalties from {grid[0]:.4g} to {grid[-1]:.4g}; "
               + ("every duality gap <= tol" if ok else
                  f"{bad.size} penalt{'y' if bad.size == 1 else 'ies'} did NOT converge (first alpha="
                  f"{grid[bad[0]]:.4g}, relative gap {gaps[bad[0]]:.3g} > tol {tol:g}); raise max_iter"))
    if not ok:
        warnings.warn(message, RuntimeWarning, stacklevel=2)
    dev = 1.0 - R2 / yy if yy > 0 else np.zeros(len(grid))
    return PenaltyPath(alphas=grid, coef=W, intercept=b0, df=np.count_nonzero(W, axis=1), dev_ratio=dev,
                duality_gap=gaps, n_iter=iters, l1_ratio=l1_ratio,
                status=Status.SUCCESS if ok else Status.MAX_ITER, message=message,
                feature_names=tuple(design.feature_names))


def _fold_labels(folds: Any, n: int, seed: Any) -> np.ndarray:
    """Fold labels per row: ``folds`` an int K (a balanced random assignment, glmnet's) or labels."""
    if isinstance(folds, numbers.Integral) and not isinstance(folds, bool):
        if not 2 <= folds <= n:
            raise InputError("folds", f"an integer K with 2 <= K <= n = {n}, or one label per row", repr(folds),
                             "e.g. folds=10")
        rng = np.random.default_rng(seed)
        return rng.permutation(np.arange(n) % int(folds))
    lab = np.asarray(folds)
    if lab.shape != (n,):
        raise InputError("folds", f"an integer K or one fold label per row, shape ({n},)", f"shape {lab.shape}",
                         "pass e.g. folds=10 or an array of labels 0..K-1")
    if np.unique(lab).size < 2:
        raise InputError("folds", "at least two distinct fold labels", f"{np.unique(lab).size} label(s)",
                         "use two or more folds")
    return lab


def cross_validate(design: Design, wh: Whitened, *, l1_ratio: float, folds: Any = 10, seed: Any = 0,
                   alphas: Any = None, n_alphas: int = 100, eps: float = 1e-3, tol: float = 1e-10,
                   max_iter: int = 10000) -> dict:
    r"""K-fold cross-validation of the path (cv.glmnet's curve and choices, on l2kit's objective).

    The grid comes from all the (kept) rows; every fold's training rows are
    fitted along it and scored on the held-out rows by the weighted mean
    squared error. The curve is cv.glmnet's (``grouped``): the mean over
    folds weighted by their weight sums and its standard error (see
    :func:`l2kit.linear.penalized.path.cv_curve`). ``folds`` is an integer
    (balanced random folds from ``seed``) or one label per row of ``design``
    (rows of weight zero are ignored, as in the fit).

    Returns a dict: ``alphas``, ``cv_mean``, ``cv_se``, ``alpha_min``,
    ``alpha_1se``, ``n_folds``, ``folds`` (labels per original row),
    ``nonzero`` (per penalty, full data).
    """
    from ..penalized.path import centred, cv_curve, solve_path

    l1_ratio = _check_cd(l1_ratio, tol, max_iter)
    grid = _check_grid(alphas, n_alphas, eps)
    if wh.kind == "gls":
        raise InputError("cov", "None or per-row variances for cross-validation", "a full covariance matrix",
                         "correlated rows cannot be split into independent folds; choose alpha by hand")
    if wh.A.shape[1] > _GRAM_MAX_P:
        raise InputError("X", f"at most {_GRAM_MAX_P} columns for alpha='cv'", f"{wh.A.shape[1]} columns",
                         "screen the columns first, or call l2kit.enet_path and score the folds yourself")
    labels_all = _fold_labels(folds, design.X.shape[0], seed)
    labels = labels_all if wh.keep is None else labels_all[wh.keep]
    uniq, idx = np.unique(labels, return_inverse=True)
    if uniq.size < 2:
        raise InputError("folds", "at least two folds with rows of positive weight", f"{uniq.size}",
                         "use more folds or fewer zero weights")
    order = np.argsort(idx, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(idx, minlength=uniq.size))])
    A, b = np.ascontiguousarray(wh.A[order]), wh.b[order]
    c = None if wh.c is None else (wh.c if np.ndim(wh.c) == 0 else wh.c[order])
    sums, grid, W, _, gaps, _, _, _ = _solve(A, b, c, _row_pen(design, wh)[order], bounds, l1_ratio, grid,
                                             n_alphas, eps, tol, max_iter)
    K = uniq.size
    errors = np.empty((K, len(grid)))
    worst = float(gaps.max(initial=0.0))
    cfull = None if c is None else np.broadcast_to(np.asarray(c, dtype=np.float64), (A.shape[0],))
    for f in range(K):
        Q, q, yy, _, mean, bmean = centred(sums, leave_out=f)
        Wf, gf, _, _ = solve_path(Q, q, yy, grid, l1_ratio, tol=tol, max_iter=max_iter)
        worst = max(worst, float(gf.max(initial=0.0)) / max(yy, 1e-300))
        rows = slice(int(bounds[f]), int(bounds[f + 1]))
        pred = A[rows] @ Wf.T
        if cfull is not None:
            pred += cfull[rows, None] * (bmean - Wf @ mean)[None, :]
        errors[f] = ((b[rows, None] - pred) ** 2).sum(0) / sums.npen[f]
    mean_curve, se, i_min, i_1se = cv_curve(errors, sums.npen)
    return {"alphas": grid, "cv_mean": mean_curve, "cv_se": se, "alpha_min": float(grid[i_min]),
            "alpha_1se": float(grid[i_1se]), "n_folds": int(K), "folds": labels_all,
            "nonzero": np.count_nonzero(W, axis=1), "max_relative_gap": worst, "fold_errors": errors}
