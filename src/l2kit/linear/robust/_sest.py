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
from .._linalg import block_rows, gram_rank, single_blas_thread, x_dot, xt_dot

__all__ = ["Chi", "SOptions", "SResult", "check_s_design", "fast_s", "make_chi", "m_scale", "read_seed", "s_estimate"]

#: robustbase's MAD constant in lmrob.c (1 / qnorm(3/4), rounded)
_MAD = 1.4826


#: NumPy >= 2.1 is array-API compliant (``clip(min=, max=)``) and twice as fast on small arrays as the compat
#: wrapper, whose overhead dominated an MM fit at n = 100
_NUMPY_IS_XP = np.lib.NumpyVersion(np.__version__) >= "2.1.0"


def _xp():
    """The array namespace of the loss kernels (see ``_NUMPY_IS_XP``)."""
    if _NUMPY_IS_XP:
        return np
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

    def dchi(self, u: np.ndarray) -> np.ndarray:
        """The derivative of the normalised rho."""
        return np.asarray(self.loss._psi(_xp(), u), dtype=float) / self.sup


def make_chi(loss: Any, fallback: bool = False) -> Chi:
    """The S-estimator's chi of ``loss``: the same loss at its ``s_tuning`` (50 % breakdown), normalised.

    ``fallback``: a loss without ``s_tuning`` gets the bisquare's (a start for any M-fit); else it is refused.
    """
    tuning = getattr(type(loss), "s_tuning", None)
    if not tuning and fallback:
        from ...losses import Tukey

        loss, tuning = Tukey(), Tukey.s_tuning
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
    r"""M-scales of the columns of ``R``: the roots of :math:`\sum\chi(r/s) / (n-p) = b`, from ``s0``, to
    relative change ``tol`` (robustbase's ``find_scale`` reaches the same root by the slower fixed-point
    step :math:`s \leftarrow s\sqrt{\sum\chi(r/s) / ((n-p)\,b)}`; here Newton steps, that step as fallback).

    Examples
    --------
    The bisquare M-scale at 50 % breakdown is consistent for the normal's standard deviation:

    >>> import numpy as np, l2kit as l2
    >>> r = np.random.default_rng(0).normal(scale=3.0, size=(100_000, 1))
    >>> s = m_scale(r, np.array([1.0]), make_chi(l2.Tukey()), 0.5, r.shape[0], 200, 1e-12)
    >>> round(float(s[0]), 1)
    3.0
    """
    s = np.array(s0, dtype=float, copy=True)
    active = np.flatnonzero(s > 0)
    for _ in range(max_it):
        if active.size == 0:
            break
        sa = s[active]
        U = R[:, active] / sa
        g = chi.rho(U).sum(axis=0) / dof - b
        # Newton on g(s) = sum chi(r/s)/(n-p) - b (decreasing in s): quadratic convergence to the same root
        # as robustbase's fixed-point step s*sqrt(1 + g/b), which is the fallback where Newton misbehaves
        dg = -(chi.dchi(U) * U).sum(axis=0) / (dof * sa)
        fixed = sa * np.sqrt(np.maximum(1.0 + g / b, 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = sa - g / dg
        good = np.isfinite(newton) & (newton > 0.5 * sa) & (newton < 2.0 * sa) & (dg < 0)
        new = np.where(good, newton, fixed)
        done = np.abs(new - sa) <= tol * sa
        s[active] = new
        active = active[~done]
    return s


def _gram(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``X' diag(w) X`` for ``w >= 0`` in row blocks that stay in cache (a symmetric product per block)."""
    n, p = X.shape
    B = block_rows(X)
    G = np.zeros((p, p))
    sw = np.sqrt(w)
    for i in range(0, n, B):
        Z = X[i:i + B] * sw[i:i + B, None]
        G += Z.T @ Z
    return G


def _wls(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted least squares (robustbase solves it by DGELS, a QR of ``sqrt(w) X``).

    Here: the equilibrated normal equations by Cholesky with one step of iterative refinement (as accurate as
    the QR for a condition number up to ~1e4, and about 10 times faster at n = 1e5), and the QR itself when
    the equilibrated Gram matrix is worse conditioned than that.
    """
    G = _gram(X, w)
    d = np.sqrt(np.diag(G))
    d[d == 0] = 1.0
    Gs = G / d[:, None] / d[None, :]
    try:
        L = np.linalg.cholesky(Gs)
        ld = np.diag(L)
        ok = bool(ld.min() > 1e-4 * ld.max())   # rcond(Gs) ~ (min/max)^2 > 1e-8
    except np.linalg.LinAlgError:
        ok = False
    if not ok:
        from scipy import linalg

        sw = np.sqrt(w)
        Z, zy = X * sw[:, None], y * sw
        Q, Rm = linalg.qr(Z, mode="economic", check_finite=False)
        rd = np.abs(np.diag(Rm))
        if rd.size and not rd.min() > 1e-13 * rd.max():
            return np.linalg.lstsq(Z, zy, rcond=None)[0]
        return linalg.solve_triangular(Rm, Q.T @ zy, check_finite=False)
    from scipy.linalg import lapack

    wy = w * y
    # both solves reuse the Cholesky factor (LAPACK potrs directly: scipy's cho_solve wrapper costs more than
    # the solve at small p)
    b = lapack.dpotrs(L, xt_dot(X, wy) / d, lower=1)[0] / d
    corr = lapack.dpotrs(L, xt_dot(X, wy - w * x_dot(X, b)) / d, lower=1)[0]
    return b + corr / d


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
    bad = np.flatnonzero(~ok)
    if bad.size:                                            # walk on along the permutation, as lmrob does
        idx[bad] = _greedy_rows(Xe, perms[bad], tol)
    Xs = Xe[idx]
    betas = np.linalg.solve(Xs, y[idx][..., None])[..., 0]
    return betas / cs


def _greedy_rows(Xe: np.ndarray, perms: np.ndarray, tol: float) -> np.ndarray:
    """For each permutation (a row of ``perms``), the first ``p`` rows along it that are linearly independent:
    a row is kept when its part orthogonal to the rows kept so far exceeds ``tol`` times its norm (robustbase
    drops a row whose LU pivot is below ``solve.tol``). All permutations advance together, one row a step."""
    m, n = perms.shape
    p = Xe.shape[1]
    basis = np.zeros((m, p, p))                 # orthonormal rows of the kept rows (zero rows not yet filled)
    count = np.zeros(m, dtype=int)
    rows = np.zeros((m, p), dtype=int)
    active = np.arange(m)
    for t in range(n):
        v = Xe[perms[active, t]]
        B = basis[active]
        u = v - np.einsum("aij,ai->aj", B, np.einsum("aij,aj->ai", B, v))
        u -= np.einsum("aij,ai->aj", B, np.einsum("aij,aj->ai", B, u))     # twice is enough (Kahan)
        nu = np.linalg.norm(u, axis=1)
        keep = nu > tol * np.linalg.norm(v, axis=1)
        ka, kc = active[keep], count[active[keep]]
        basis[ka, kc] = u[keep] / nu[keep, None]
        rows[ka, kc] = perms[ka, t]
        count[ka] += 1
        active = active[count[active] < p]
        if active.size == 0:
            return rows
    raise InputError("X", "a design with p linearly independent rows for the S-estimator", "a singular design",
                     "drop the dependent columns")


def _candidates(X, y, betas, scales, chi, o: SOptions, s_y: float, steps: int):
    """Refine candidate columns by ``steps`` I-steps (from the MAD where ``scales`` is None); their M-scales.

    Returns ``(betas, m_scales, bad)`` with ``bad`` the indices of the candidates that fit more than half the
    rows exactly (MAD 0: an exact fit, robustbase's scale 0), None when there are none.
    """
    n, p = X.shape
    R = y[:, None] - X @ betas.T
    if scales is None:
        scales = _MAD * np.median(np.abs(R), axis=0)
    bad = (scales <= 0) | (_zeros(R, s_y, o) > n / 2)
    if bad.any():
        return betas, None, np.flatnonzero(bad)
    s = np.asarray(scales, dtype=float).copy()
    for _ in range(steps):
        s = s * np.sqrt(chi.rho(R / s).sum(axis=0) / ((n - p) * o.b))
        betas = _batched_wls(X, y, chi.weight(R / s))
        R = y[:, None] - X @ betas.T
    return betas, _m_scales_of_best(R, s, chi, o, n - p), None


def _zeros(R: np.ndarray, s_y: float, o: SOptions) -> np.ndarray:
    """Residuals that are zero up to ``zero_tol`` times the mean absolute response (robustbase's test)."""
    return np.count_nonzero(np.abs(R) <= s_y * o.zero_tol, axis=0)


def _stage(X, y, betas, scales, chi, o: SOptions, s_y: float, full):
    """One screening stage (``_candidates``); an exact-fit candidate ends the search only if it fits more than
    half of the *full* data ``full = (X, y)`` exactly (a group of the large-n search may be degenerate alone).

    Returns ``(betas, m_scales, exact_beta)``.
    """
    bc, sc, bad = _candidates(X, y, betas, scales, chi, o, s_y, o.k_fast_s)
    if bad is None:
        return bc, sc, None
    Xf, yf = full
    for j in bad:
        if _zeros((yf - x_dot(Xf, betas[j]))[:, None], s_y, o)[0] > Xf.shape[0] / 2:
            return None, None, betas[j]
    keep = np.setdiff1d(np.arange(betas.shape[0]), bad)
    if keep.size == 0:
        return betas[:0], np.zeros(0), None
    return _stage(X, y, betas[keep], None if scales is None else np.asarray(scales)[keep], chi, o, s_y, full)


def _m_scales_of_best(R, s, chi: Chi, o: SOptions, dof: float) -> np.ndarray:
    """M-scales of the columns of ``R`` that can be among the ``best_r`` smallest; ``inf`` for the others.

    robustbase computes the M-scale of a candidate only when it beats the worst one kept
    (``sum chi(r / worst) / (n - p) < b``); here, likewise: the M-scales of the ``best_r`` columns of smallest
    one-step scale give a threshold ``T``, and only the columns with ``sum chi(r / T) / (n - p) < b`` (an
    M-scale below ``T``) are solved for. The ``best_r`` smallest M-scales are those of the full ranking.
    """
    m = R.shape[1]
    out = np.full(m, np.inf)
    first = np.argsort(s, kind="stable")[:o.best_r]
    out[first] = m_scale(R[:, first], s[first], chi, o.b, dof, o.max_it_scale, o.scale_tol)
    T = float(np.max(out[first]))
    rest = np.setdiff1d(np.arange(m), first)
    if rest.size:
        below = rest[chi.rho(R[:, rest] / T).sum(axis=0) / dof < o.b]
        if below.size:
            out[below] = m_scale(R[:, below], s[below], chi, o.b, dof, o.max_it_scale, o.scale_tol)
    return out


def _best(betas, scales, k):
    order = np.argsort(scales, kind="stable")[:k]
    return betas[order], scales[order]


#: rows per block of :func:`by_blocks`
_LOSS_BLOCK = 1 << 16


def by_blocks(f, r: np.ndarray, scale: float) -> np.ndarray:
    """``f(r / scale)`` for a residual vector, evaluated in row blocks into one output: a loss function holds a
    handful of full-length temporaries (about 90 MB at 1e6 rows); elementwise, so equal to one call."""
    n = r.shape[0]
    if n <= _LOSS_BLOCK:
        return f(r / scale)
    out = np.empty(n)
    for i in range(0, n, _LOSS_BLOCK):
        out[i:i + _LOSS_BLOCK] = f(r[i:i + _LOSS_BLOCK] / scale)
    return out


def refine(X, y, beta, s0, chi: Chi, o: SOptions) -> tuple[np.ndarray, float, np.ndarray, bool, int]:
    """I-steps until convergence (robustbase's ``refine_fast_s(conv = TRUE)``): beta, scale, residuals, conv, steps."""
    n, p = X.shape
    r = y - x_dot(X, beta)
    s = float(s0)
    for it in range(o.k_max):
        s = s * math.sqrt(float(by_blocks(chi.rho, r, s).sum()) / ((n - p) * o.b))
        new = _wls(X, y, by_blocks(chi.weight, r, s))
        if np.linalg.norm(beta - new) <= o.refine_tol * max(o.refine_tol, float(np.linalg.norm(beta))):
            return new, s, y - x_dot(X, new), True, it
        beta = new
        r = y - x_dot(X, beta)
    return beta, s, r, False, o.k_max


def fast_s(X: np.ndarray, y: np.ndarray, chi: Chi, o: SOptions, rng: np.random.Generator) -> SResult:
    """The S-estimate of ``y`` on ``X`` (intercept column included) by the fast-S search.

    BLAS runs single-threaded here: the search is hundreds of small solves (p x p, batched) and thin passes,
    where a second OpenBLAS thread costs wake-ups and no bandwidth (at n = 1000, p = 100 on a loaded 2-core
    machine the batched SVD of the subsamples took 31 s with 2 threads, 0.7 s with one).
    """
    return _fast_s(X, y, chi, o, rng)


@single_blas_thread
def _fast_s(X: np.ndarray, y: np.ndarray, chi: Chi, o: SOptions, rng: np.random.Generator) -> SResult:
    """The body of :func:`fast_s`."""
    n, p = X.shape
    s_y = float(np.mean(np.abs(y)))
    if n > o.large_n:
        rows = rng.choice(n, size=o.groups * o.n_group, replace=False)
        cands, cscales = [], []
        for g in range(o.groups):
            sub = rows[g * o.n_group:(g + 1) * o.n_group]
            Xg, yg = X[sub], y[sub]
            b0 = _subsample_betas(Xg, yg, o.n_resample, rng, o.solve_tol)
            bg, sg, exact = _stage(Xg, yg, b0, None, chi, o, s_y, (X, y))
            if exact is not None:
                return _exact(X, y, exact)
            bb, ss = _best(bg, sg, o.best_r)
            cands.append(bb)
            cscales.append(ss)
        Xm, ym = X[rows], y[rows]
        bm, sm, exact = _stage(Xm, ym, np.vstack(cands), np.concatenate(cscales), chi, o, s_y, (X, y))
    else:
        bm, sm, exact = _stage(X, y, _subsample_betas(X, y, o.n_resample, rng, o.solve_tol), None, chi, o, s_y,
                               (X, y))
    if exact is not None:
        return _exact(X, y, exact)
    if bm.shape[0] == 0:
        raise InputError("X, y", "data whose subsample fits are not all degenerate", "every candidate fit of the "
                         "S search has a zero scale on its rows", "check for duplicated rows or a constant target")
    best, best_scales = _best(bm, sm, o.best_r)
    result = None
    converged, steps = True, 0
    for beta, s0 in zip(best, best_scales):
        if not np.isfinite(s0):
            continue
        b, s, r, conv, it = refine(X, y, beta, s0, chi, o)
        converged &= conv
        steps = max(steps, it)
        if result is None or s < result[1]:
            result = (b, s, r)
    return SResult(result[0], float(result[1]), result[2], bool(converged), int(steps))


def _exact(X, y, beta) -> SResult:
    return SResult(beta, 0.0, y - x_dot(X, beta), True, 0, exact_fit=True)


def centre_columns(Xa: np.ndarray, intercept: bool) -> np.ndarray | None:
    """Centre the non-intercept columns of ``Xa`` in place where a mean dwarfs its column's spread (the S and M
    solves would lose those digits; the estimates are affine-equivariant); returns the means, or None.

    The parameters of the centred design map back by ``beta_0 -= means @ beta[1:]``.
    """
    if not intercept or Xa.shape[1] < 2:
        return None
    m = Xa[:, 1:].mean(axis=0)
    B = block_rows(Xa)   # the spread in row blocks: Xa[:, 1:].std(axis=0) holds an n x p temporary (160 MB at 1e6 x 20)
    ss = sum(np.square(Xa[i:i + B, 1:] - m).sum(axis=0) for i in range(0, Xa.shape[0], B))
    if not np.any(np.abs(m) > 30 * np.sqrt(ss / Xa.shape[0])):
        return None
    Xa[:, 1:] -= m
    return m


def check_s_design(Xa: np.ndarray) -> None:
    """Refuse designs the S search cannot handle: no columns, n <= p, rank deficiency."""
    n, k = Xa.shape
    if k == 0:
        raise InputError("X", "at least one column or an intercept", "an empty design", "add features")
    if n <= k:
        raise InputError("X", f"more rows than parameters for an S-estimate (n > {k})", f"n = {n}",
                         "add rows, or drop columns (an S-estimate needs n > p, and n >= 2p to resist outliers)")
    rank = gram_rank(Xa.T @ Xa)
    if rank < k:
        raise InputError("X", "a full-rank design for an S-estimate", f"rank {rank} < {k} columns",
                         "drop the collinear or constant columns (the S search needs nonsingular subsamples)")


def s_estimate(Xa: np.ndarray, y: np.ndarray, loss: Any, seed: Any = 0) -> SResult:
    """The S-estimate with lmrob's defaults (``Xa`` includes the intercept column), the start of redescending
    M-fits (``l2kit.fit(..., start="s")``); the bisquare chi for a loss that declares no ``s_tuning``."""
    check_s_design(Xa)
    return fast_s(Xa, y, make_chi(loss, fallback=True), SOptions(), np.random.default_rng(read_seed(seed)))


def read_seed(seed: Any) -> Any:
    """An integer, a NumPy Generator or None (fresh entropy: not reproducible); else refused."""
    if seed is None or isinstance(seed, np.random.Generator) or (
            isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0):
        return seed
    raise InputError("seed", "a non-negative integer or a numpy Generator", repr(seed), "pass seed=0")
