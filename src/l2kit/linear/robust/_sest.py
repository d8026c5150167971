r"""The fast-S estimator of regression (Salibian-Barrera & Yohai 2006), as robustbase's ``lmrob.S``.

The S-estimate minimises the M-scale :math:`s(\beta)` of the residuals, the
solution of

.. math::
    \frac{1}{n - p}\sum_i \chi\!\left(\frac{y_i - x_i^\top\beta}{s}\right) = b,

with :math:`\chi` a bounded rho normalised to :math:`\sup\chi = 1` (the
bisquare with :math:`c = 1.54764` and :math:`b = 1/2`: 50 % breakdown) and
robustbase's divisor :math:`n - p`. The search follows ``lmrob.c``:

1. ``n_resample`` candidates from random *nonsingular* subsamples of ``p``
   rows (exact fits);
2. each refined by ``k_fast_s`` I-steps (one step of the scale iteration
   :math:`s \leftarrow s\sqrt{\mathrm{ave}\,\chi(r/s) / b}` from the MAD, then a
   weighted least-squares fit with weights :math:`\chi'(u)/u`);
3. the ``best_r`` candidates of smallest M-scale refined by the same
   I-steps until the coefficients change by less than ``refine_tol``
   (relative, Euclidean norm), keeping the one of smallest scale.

For ``n > large_n`` (2000) the search runs as robustbase's
``fast_s_large_n``: ``groups`` (5) disjoint random groups of ``n_group`` (400)
rows each give their ``best_r`` candidates, these are refined on the union of
the groups, and the best ``best_r`` of them on the full data.

The candidates of one stage are handled together (one batched solve), which
gives the same result as robustbase's one-at-a-time loop: a candidate enters
the best list there exactly when its M-scale is below the worst one kept.
The random subsamples come from NumPy's generator (``seed``), so they differ
from R's: both reach the same S-minimum on well-posed data, not the same
candidates.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..._errors import InputError

__all__ = ["Chi", "SOptions", "SResult", "fast_s", "make_chi", "m_scale"]

#: robustbase's MAD constant in lmrob.c (1 / qnorm(3/4), rounded)
_MAD = 1.4826


def _xp():
    import array_api_compat.numpy as xp

    return xp


@dataclass(frozen=True)
class Chi:
    """A bounded rho normalised to ``sup = 1`` (robustbase's chi) and its IRLS weight, from a loss object."""

    loss: Any
    sup: float

    def rho(self, u: np.ndarray) -> np.ndarray:
        return np.asarray(self.loss._rho(_xp(), u), dtype=float) / self.sup

    def weight(self, u: np.ndarray) -> np.ndarray:
        return np.asarray(self.loss._weight(_xp(), u), dtype=float)


def make_chi(loss: Any) -> Chi:
    """The S-estimator's chi of ``loss``: the same loss at its ``s_tuning`` (50 % breakdown), normalised."""
    tuning = getattr(type(loss), "s_tuning", None)
    if not tuning:
        raise InputError("loss", "a redescending loss with a bounded rho for method='mm' (Tukey)", repr(loss),
                         "pass loss=l2kit.Tukey() (the bisquare, as robustbase's lmrob)")
    chi = dataclasses.replace(loss, **tuning)
    sup = float(np.asarray(chi._rho(_xp(), np.array([1e150])))[0])
    return Chi(chi, sup)


@dataclass(frozen=True)
class SOptions:
    """The fast-S search settings (robustbase ``lmrob.control`` names in the comments)."""

    n_resample: int = 500       # nResample
    k_fast_s: int = 1           # k.fast.s
    best_r: int = 2             # best.r.s
    k_max: int = 200            # k.max
    refine_tol: float = 1e-7    # refine.tol
    max_it_scale: int = 200     # maxit.scale
    scale_tol: float = 1e-10    # scale.tol
    solve_tol: float = 1e-7     # solve.tol
    zero_tol: float = 1e-10     # zero.tol
    b: float = 0.5              # bb
    large_n: int = 2000         # fast.s.large.n
    groups: int = 5             # groups
    n_group: int = 400          # n.group


@dataclass(frozen=True)
class SResult:
    """The S-estimate: coefficients, M-scale, residuals, whether the refinement converged, its steps."""

    beta: np.ndarray
    scale: float
    resid: np.ndarray
    converged: bool
    n_iter: int
    exact_fit: bool = False


def m_scale(R: np.ndarray, s0: np.ndarray, chi: Chi, b: float, dof: float, max_it: int, tol: float) -> np.ndarray:
    r"""M-scales of the columns of ``R`` by robustbase's ``find_scale`` iteration
    :math:`s \leftarrow s\sqrt{\sum\chi(r/s) / ((n-p)\,b)}`, from ``s0``, to relative change ``tol``."""
    s = np.array(s0, dtype=float, copy=True)
    active = np.flatnonzero(s > 0)
    for _ in range(max_it):
        if active.size == 0:
            break
        Ra = R[:, active]
        new = s[active] * np.sqrt(chi.rho(Ra / s[active]).sum(axis=0) / (dof * b))
        done = np.abs(new - s[active]) <= tol * s[active]
        s[active] = new
        active = active[~done]
    return s


def _wls(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted least squares by QR of ``sqrt(w) X`` (robustbase's DGELS), refusing a rank-deficient system."""
    from scipy import linalg

    sw = np.sqrt(w)
    A = X * sw[:, None]
    Q, Rm = linalg.qr(A, mode="economic", check_finite=False)
    d = np.abs(np.diag(Rm))
    if d.size and not d.min() > 1e-13 * d.max():
        return np.linalg.lstsq(A, y * sw, rcond=None)[0]
    return linalg.solve_triangular(Rm, Q.T @ (y * sw), check_finite=False)


def _batched_wls(X: np.ndarray, y: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Weighted least squares for each column of weights ``W`` (n, m): normal equations, in chunks."""
    n, p = X.shape
    m = W.shape[1]
    out = np.empty((m, p))
    step = max(1, int(2_000_000 // max(n * p, 1)))
    for lo in range(0, m, step):
        Wc = W[:, lo:lo + step]
        XtW = X.T[None, :, :] * Wc.T[:, None, :]          # (mc, p, n)
        G = XtW @ X
        rhs = XtW @ y
        try:
            out[lo:lo + step] = np.linalg.solve(G, rhs[..., None])[..., 0]
        except np.linalg.LinAlgError:   # a weighted design lost rank: solve those one by one
            for j in range(G.shape[0]):
                out[lo + j] = np.linalg.lstsq(G[j], rhs[j], rcond=None)[0]
    return out


def _subsample_betas(X: np.ndarray, y: np.ndarray, m: int, rng: np.random.Generator, tol: float) -> np.ndarray:
    """``m`` exact fits through random nonsingular subsamples of ``p`` rows (robustbase's "nonsingular")."""
    n, p = X.shape
    # equilibrate the columns (robustbase scales by dgeequ) so the singularity test is scale-free
    cs = np.max(np.abs(X), axis=0)
    cs[cs == 0] = 1.0
    Xe = X / cs
    perms = np.argsort(rng.random((m, n)), axis=1)
    idx = perms[:, :p]
    Xs = Xe[idx]                                            # (m, p, p)
    sv = np.linalg.svd(Xs, compute_uv=False)
    ok = sv[:, -1] > tol * np.maximum(sv[:, 0], 1e-300)
    for j in np.flatnonzero(~ok):                           # walk on along the permutation, as lmrob does
        idx[j] = _greedy_rows(Xe, perms[j], tol)
    Xs = Xe[idx]
    betas = np.linalg.solve(Xs, y[idx][..., None])[..., 0]
    return betas / cs


def _greedy_rows(Xe: np.ndarray, perm: np.ndarray, tol: float) -> np.ndarray:
    """The first ``p`` rows along ``perm`` that are linearly independent (Gram-Schmidt with a tolerance)."""
    p = Xe.shape[1]
    basis = np.zeros((0, p))
    rows = []
    for i in perm:
        v = Xe[i]
        nv = float(np.linalg.norm(v))
        if nv == 0:
            continue
        u = v - basis.T @ (basis @ v)
        u = u - basis.T @ (basis @ u)
        nu = float(np.linalg.norm(u))
        if nu > tol * nv:
            basis = np.vstack([basis, u / nu])
            rows.append(i)
            if len(rows) == p:
                return np.array(rows)
    raise InputError("X", "a design with p linearly independent rows for the S-estimator", "a singular design",
                     "drop the dependent columns")


def _candidates(X, y, betas, scales, chi, o: SOptions, s_y: float, steps: int):
    """Refine candidate columns by ``steps`` I-steps (from the MAD where ``scales`` is None); their M-scales.

    Returns ``(betas, m_scales, exact)`` with ``exact`` the index of a candidate that fits more than half the
    rows exactly (scale 0), or None.
    """
    n, p = X.shape
    R = y[:, None] - X @ betas.T
    if scales is None:
        scales = _MAD * np.median(np.abs(R), axis=0)
    zeros = np.count_nonzero(np.abs(R) <= s_y * o.zero_tol, axis=0)
    bad = (scales <= 0) | (zeros > n / 2)
    if bad.any():
        return betas, np.zeros(betas.shape[0]), int(np.flatnonzero(bad)[0])
    s = np.asarray(scales, dtype=float).copy()
    for _ in range(steps):
        s = s * np.sqrt(chi.rho(R / s).sum(axis=0) / ((n - p) * o.b))
        betas = _batched_wls(X, y, chi.weight(R / s))
        R = y[:, None] - X @ betas.T
    return betas, m_scale(R, s, chi, o.b, n - p, o.max_it_scale, o.scale_tol), None


def _best(betas, scales, k):
    order = np.argsort(scales, kind="stable")[:k]
    return betas[order], scales[order]


def refine(X, y, beta, s0, chi: Chi, o: SOptions) -> tuple[np.ndarray, float, np.ndarray, bool, int]:
    """I-steps until convergence (robustbase's ``refine_fast_s(conv = TRUE)``): beta, scale, residuals, conv, steps."""
    n, p = X.shape
    r = y - X @ beta
    s = float(s0)
    for it in range(o.k_max):
        s = s * math.sqrt(float(chi.rho(r / s).sum()) / ((n - p) * o.b))
        new = _wls(X, y, chi.weight(r / s))
        if np.linalg.norm(beta - new) <= o.refine_tol * max(o.refine_tol, float(np.linalg.norm(beta))):
            return new, s, y - X @ new, True, it
        beta = new
        r = y - X @ beta
    return beta, s, r, False, o.k_max


def fast_s(X: np.ndarray, y: np.ndarray, chi: Chi, o: SOptions, rng: np.random.Generator) -> SResult:
    """The S-estimate of ``y`` on ``X`` (intercept column included) by the fast-S search."""
    n, p = X.shape
    s_y = float(np.mean(np.abs(y)))
    if n > o.large_n:
        rows = rng.choice(n, size=o.groups * o.n_group, replace=False)
        cands, cscales = [], []
        for g in range(o.groups):
            sub = rows[g * o.n_group:(g + 1) * o.n_group]
            Xg, yg = X[sub], y[sub]
            b0 = _subsample_betas(Xg, yg, o.n_resample, rng, o.solve_tol)
            bg, sg, exact = _candidates(Xg, yg, b0, None, chi, o, s_y, o.k_fast_s)
            if exact is not None:
                return _exact(X, y, bg[exact])
            bb, ss = _best(bg, sg, o.best_r)
            cands.append(bb)
            cscales.append(ss)
        Xm, ym = X[rows], y[rows]
        bm, sm, exact = _candidates(Xm, ym, np.vstack(cands), np.concatenate(cscales), chi, o, s_y, o.k_fast_s)
        if exact is not None:
            return _exact(X, y, bm[exact])
        best, best_scales = _best(bm, sm, o.best_r)
    else:
        b0 = _subsample_betas(X, y, o.n_resample, rng, o.solve_tol)
        bc, sc, exact = _candidates(X, y, b0, None, chi, o, s_y, o.k_fast_s)
        if exact is not None:
            return _exact(X, y, b0[exact])
        best, best_scales = _best(bc, sc, o.best_r)
    result = None
    converged, steps = True, 0
    for beta, s0 in zip(best, best_scales):
        b, s, r, conv, it = refine(X, y, beta, s0, chi, o)
        converged &= conv
        steps = max(steps, it)
        if result is None or s < result[1]:
            result = (b, s, r)
    return SResult(result[0], float(result[1]), result[2], bool(converged), int(steps))


def _exact(X, y, beta) -> SResult:
    return SResult(beta, 0.0, y - X @ beta, True, 0, exact_fit=True)
