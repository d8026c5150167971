r"""Elastic-net, lasso and ridge paths and K-fold cross-validation, from per-fold Gram blocks.

The whitened problem is :math:`\min \frac{1}{2n}\|b - c\beta_0 - A\beta\|^2 +
\alpha(\lambda\|\beta\|_1 + \frac{1-\lambda}{2}\|\beta\|^2)` (see
:mod:`.enet`). Every quantity a path needs is a sum over rows, so one pass
over ``A`` (:func:`fold_sums`) collects, per fold ``f``, the blocks
``A_f^T A_f``, ``A_f^T c_f``, ``A_f^T b_f``, ``c_f^T c_f``, ``c_f^T b_f`` and
``b_f^T b_f`` of the data centred by the full-data means (so the later
re-centring cancels little). The full data are the sum of the folds; the
training set of fold ``f`` is the sum minus fold ``f``: ``K``-fold CV costs
one Gram matrix, not ``K + 1``.

From the sums, :func:`centred` forms the training problem's centred Gram
``Q = A_c^T A_c / n``, ``q = A_c^T b_c / n`` and ``yy = ||b_c||^2 / n``, and
:func:`solve_path` runs the compiled coordinate descent of
:mod:`._path_kernel` down the grid (warm starts, strong rules, KKT checks,
duality-gap stop), or, for ridge (``l1_ratio = 0``), solves every penalty
exactly from one eigendecomposition of ``Q``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._centred import NonFiniteData, block_rows
from ._kernels import centre_cast_kernel
from ._path_kernel import path_kernel

__all__ = ["FoldSums", "alpha_grid", "alpha_max", "centred", "cv_curve", "fold_sums", "solve_path"]

#: glmnet's floor on the mix when sizing the grid: ridge (l1_ratio = 0) takes alpha_max as if l1_ratio = 1e-3
_MIN_MIX = 1e-3


@dataclass(frozen=True)
class FoldSums:
    """Per-fold sums of the globally centred data (leading axis: fold); ``shift`` and ``bshift`` undo the
    global centring (column means and the mean of ``b``)."""

    G: np.ndarray        # (K, p, p) A_f^T A_f
    h: np.ndarray        # (K, p)    A_f^T c_f
    u: np.ndarray        # (K, p)    A_f^T b_f
    s: np.ndarray        # (K,)      c_f^T c_f
    v: np.ndarray        # (K,)      c_f^T b_f
    bb: np.ndarray       # (K,)      b_f^T b_f
    npen: np.ndarray     # (K,)      the fold's share of the penalty's n (its weight sum)
    shift: np.ndarray    # (p,)
    bshift: float


def fold_sums(A, b, c, bounds, row_pen=None):
    """The :class:`FoldSums` of the row ranges ``bounds[f]:bounds[f + 1]`` (rows already grouped by fold).

    ``c`` is the intercept column (a scalar, an array, or None for no
    intercept: then nothing is centred); ``row_pen`` each row's share of
    the penalty's ``n`` (default ``c**2``, or 1 without an intercept). The Gram blocks are accumulated by
    BLAS ``syrk`` over cache-sized row blocks, centred on the fly.
    """
    from scipy.linalg.blas import dsyrk

    n, p = A.shape
    cv = np.zeros(n) if c is None else np.broadcast_to(np.asarray(c, dtype=np.float64), (n,))
    cv = np.ascontiguousarray(cv)
    sw = float(cv @ cv)
    has_c = c is not None and sw > 0
    shift = (cv @ A) / sw if has_c else np.zeros(p)
    bshift = float(cv @ b) / sw if has_c else 0.0
    K = len(bounds) - 1
    G, h, u = np.zeros((K, p, p)), np.zeros((K, p)), np.zeros((K, p))
    s, v, bb = np.zeros(K), np.zeros(K), np.zeros(K)
    cast = centre_cast_kernel()
    cols = np.arange(p)
    rows = block_rows(p)
    buf = np.empty((min(rows, n), p))
    bc = b - cv * bshift
    for f in range(K):
        Gf = np.zeros((p, p), order="F")        # syrk's output, updated in place (Fortran order: no copies)
        for i0 in range(int(bounds[f]), int(bounds[f + 1]), rows):
            i1 = min(i0 + rows, int(bounds[f + 1]))
            blk = buf[: i1 - i0]
            cast(A, i0, i1, cols, cv, shift, blk)
            Gf = dsyrk(1.0, blk.T, beta=1.0, c=Gf, trans=0, lower=0, overwrite_c=1)
            h[f] += cv[i0:i1] @ blk
            u[f] += bc[i0:i1] @ blk
        G[f] = Gf
        rng = slice(int(bounds[f]), int(bounds[f + 1]))
        s[f], v[f], bb[f] = cv[rng] @ cv[rng], cv[rng] @ bc[rng], bc[rng] @ bc[rng]
    iu = np.triu_indices(p, 1)
    G[:, iu[1], iu[0]] = G[:, iu[0], iu[1]]        # syrk fills the upper triangle
    if not (np.all(np.isfinite(G)) and np.all(np.isfinite(u)) and np.all(np.isfinite(bb))):
        raise NonFiniteData("NaN/inf in A or b, or the Gram matrix overflows")
    if row_pen is None:
        row_pen = cv * cv if c is not None else np.ones(n)
    npen = np.add.reduceat(np.asarray(row_pen, dtype=np.float64), np.asarray(bounds[:-1], dtype=np.intp)) \
        if n else np.zeros(K)
    return FoldSums(G, h, u, s, v, bb, npen, shift, bshift)


def centred(sums: FoldSums, leave_out=None):
    """The centred problem of all folds but ``leave_out`` (None: all of them).

    Returns ``Q, q, yy, n, mean, bmean``: ``Q = A_c^T A_c / n``,
    ``q = A_c^T b_c / n`` and ``yy = ||b_c||^2 / n`` with ``n`` the training
    folds' share of the penalty's ``n``, and the column means and the mean of
    ``b`` on the original scale (for the intercept).
    """
    keep = np.ones(sums.s.shape[0], bool)
    if leave_out is not None:
        keep[leave_out] = False
    G, h, u = sums.G[keep].sum(0), sums.h[keep].sum(0), sums.u[keep].sum(0)
    s, v, bb = float(sums.s[keep].sum()), float(sums.v[keep].sum()), float(sums.bb[keep].sum())
    n = float(sums.npen[keep].sum())
    if s > 0:                                   # re-centre on the training means (small offsets)
        m, bm = h / s, v / s
        G = G - np.outer(h, m)
        u = u - h * bm
        bb = bb - v * bm
    else:
        m, bm = np.zeros_like(h), 0.0
    return G / n, u / n, bb / n, n, m + sums.shift, bm + sums.bshift


def alpha_max(q, l1_ratio):
    r"""The smallest penalty with all coefficients zero: :math:`\max_j |q_j| / \max(\lambda, 10^{-3})`
    (glmnet's and scikit-learn's; glmnet's floor on the mix for ridge)."""
    return float(np.max(np.abs(q), initial=0.0)) / max(float(l1_ratio), _MIN_MIX)


def alpha_grid(a_max, n_alphas, eps):
    """``n_alphas`` penalties from ``a_max`` down to ``eps * a_max``, evenly spaced on the log scale."""
    if a_max <= 0:
        return np.zeros(0)
    return np.geomspace(a_max, a_max * eps, int(n_alphas))


def solve_path(Q, q, yy, alphas, l1_ratio, *, tol, max_iter):
    """The coefficients at every penalty of ``alphas`` (decreasing), for the centred problem ``Q, q, yy``.

    Returns ``W`` (``len(alphas) x p``), the duality gaps, the sweeps per
    penalty and the residual mean squares ``R2`` (``||b_c - A_c w||^2 / n``).
    Ridge is solved exactly from the eigendecomposition of ``Q`` (gap 0, no
    sweeps); otherwise by :func:`._path_kernel.path_cd`, whose gap stop is
    ``tol * yy``.
    """
    L, p = len(alphas), q.shape[0]
    W = np.zeros((L, p))
    gaps, iters, R2 = np.zeros(L), np.zeros(L, np.int64), np.zeros(L)
    if L == 0:
        return W, gaps, iters, R2
    if l1_ratio == 0.0:
        e, V = np.linalg.eigh(Q)
        e = np.maximum(e, 0.0)
        z = V.T @ q
        W = (z[None, :] / (e[None, :] + np.asarray(alphas)[:, None])) @ V.T
        QW = W @ Q
        R2 = np.maximum(yy - 2.0 * W @ q + np.einsum("kj,kj->k", W, QW), 0.0)
        return W, gaps, iters, R2
    l1s = np.ascontiguousarray(np.asarray(alphas, dtype=np.float64) * l1_ratio)
    l2s = np.ascontiguousarray(np.asarray(alphas, dtype=np.float64) * (1.0 - l1_ratio))
    start = max(float(l1s[0]), float(np.max(np.abs(q), initial=0.0)))
    path_kernel()(np.ascontiguousarray(Q), np.ascontiguousarray(q), float(yy), l1s, l2s, start, float(tol),
                  int(max_iter), W, gaps, iters, R2)
    return W, gaps, iters, R2


def cv_curve(errors, fold_weights):
    r"""cv.glmnet's curve from the per-fold mean squared errors ``errors`` (``K x L``).

    The mean is weighted by the folds' weight sums ``fold_weights``, the
    standard error is :math:`\sqrt{\sum_f w_f (e_f - \bar e)^2 / \sum_f w_f / (K-1)}`;
    ``alpha_min`` is the index of the smallest mean (the largest penalty on a
    tie), ``alpha_1se`` the largest penalty whose mean is within one standard
    error of it. Returns ``mean, se, i_min, i_1se``.

    Examples
    --------
    >>> e = np.array([[4.0, 1.3, 1.0], [4.0, 1.3, 1.4]])      # 2 folds x 3 penalties
    >>> mean, se, i_min, i_1se = cv_curve(e, np.array([1.0, 1.0]))
    >>> np.round(mean, 12).tolist(), np.round(se, 12).tolist(), i_min, i_1se
    ([4.0, 1.3, 1.2], [0.0, 0.0, 0.2], 2, 1)
    """
    wf = np.asarray(fold_weights, dtype=np.float64)
    mean = wf @ errors / wf.sum()
    K = errors.shape[0]
    se = np.sqrt((wf @ (errors - mean) ** 2) / wf.sum() / max(K - 1, 1))
    i_min = int(np.flatnonzero(mean <= mean.min())[0])
    i_1se = int(np.flatnonzero(mean <= mean[i_min] + se[i_min])[0])
    return mean, se, i_min, i_1se
