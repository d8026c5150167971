r"""Direct least squares: centred Gram + Cholesky with refinement, pivoted QR, SVD.

Every solver here minimises

.. math::
    \| b - c\,\beta_0 - A\beta \|_2^2 + \lambda \|\beta\|_2^2

where ``A`` (n, p) and ``b`` (n,) are the (possibly whitened) design and
target and ``c`` is the intercept column (ones for OLS, :math:`\sqrt{w}` for
WLS, :math:`L^{-1}1` for GLS; ``None`` without an intercept). The intercept is
handled by *centring*, i.e. projecting ``c`` out of ``A`` and ``b``; it is
never penalised.

Paths
-----
``cholesky``
    One blocked pass over ``A`` forms the augmented Gram matrix of
    ``[A, c, b]`` with BLAS ``syrk``/``herk`` (no copy of ``A``), centring is a
    rank-one correction, the column-equilibrated Gram is factored by LAPACK
    ``potrf`` and its reciprocal condition number estimated by ``pocon``. A
    second pass computes the residuals ``r = b - c b0 - A beta`` and the
    gradient ``A^H r`` together (semi-normal equations with iterative
    refinement, Björck 1987); the correction is solved with the same factor.
``qr``
    Explicit (two-pass) centring, column scaling, Householder QR with column
    pivoting (LAPACK ``geqp3``). Numerical rank from the pivoted diagonal.
``svd``
    Explicit centring, column scaling, thin SVD.

Both ``qr`` and ``svd`` refine once or more on the residuals, computed in
extended precision (``np.longdouble``) for small problems. Rank deficiency
always gives the minimum-norm solution and a :class:`CollinearityWarning`
that names the dependent columns; rank is never truncated silently.

The Gram pieces (:func:`~._gram.centred_gram`, :func:`~._gram.solve_normal_equations`)
live in :mod:`._gram`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..._errors import CollinearityWarning
from .._linalg import centre, intercept_column
from ._gram import _BLOCK, EPS, centred_gram, solve_normal_equations

__all__ = ["CollinearityWarning", "NonFiniteInput", "Solution", "lstsq", "warn_collinear"]

#: estimated relative error of the Cholesky solve above which ``auto`` uses QR
_CHOL_MAX_ERR = 1e-6
#: problems with n * p at most this refine their residuals in extended precision
_LONGDOUBLE_MAX = 50_000
#: refinement with extended-precision residuals stops when every correction is below this (relative)
_EXT_TOL = 1e-14


class NonFiniteInput(ArithmeticError):
    """The one-pass Gram matrix is not finite: the data hold NaN/inf (the caller reports where)."""


def _require_finite(A: np.ndarray, b: np.ndarray) -> None:
    """The Gram pass's NaN/inf check for the paths without one (no columns; the SVD of a wide design),
    where NaN came back as an intercept of NaN with status "success" or "max_iter"."""
    if not (np.isfinite(A).all() and np.isfinite(b).all()):
        raise NonFiniteInput("NaN/inf in A or b")


def _pivoted_rank(Rdiag: np.ndarray, m: int, p: int) -> int:
    a = np.abs(Rdiag)
    if a.size == 0 or a[0] == 0:
        return 0
    return int((a > a[0] * max(m, p) * EPS).sum())



@dataclass
class Solution:
    """A direct least-squares solution of ``b ~ c b0 + A beta`` (see module docstring)."""

    coef: np.ndarray
    intercept: Any
    residuals: np.ndarray
    rank: int
    method: str
    mean: np.ndarray
    sw: float
    ginv: Callable[[], np.ndarray]   # (p, p) (pseudo-)inverse of the centred (shifted) Gram
    rcond: float
    n_refine: int
    collinear: tuple[int, ...] = ()
    notes: tuple[str, ...] = ()
    svd: Any = None                   # (U, s, Vh, d) of the scaled centred design when computed
    refined: bool = True              # the last refinement correction met its tolerance


def _residuals(A, b, c, coef, b0, ext: bool, keep_ext: bool = False):
    """r = b - c b0 - A coef, optionally in extended precision (returned as such with ``keep_ext``)."""
    if ext:
        ld = np.clongdouble if np.iscomplexobj(A) or np.iscomplexobj(b) else np.longdouble
        Al, bl = A.astype(ld), b.astype(ld)
        r = bl - Al @ coef.astype(ld)
        if c is not None:
            r = r - np.asarray(c, dtype=ld) * np.asarray(b0, dtype=ld)
        return r if keep_ext else r.astype(np.result_type(A, b))
    r = b - A @ coef
    if c is not None:
        r = r - (c * b0 if np.ndim(c) else b0)
    return r


def _resid_and_grad(A, b, c, coef, b0, *, block=None):
    """Fused pass: residuals r = b - c b0 - A coef, and A^H r, c^H r (data stays in cache)."""
    n, p = A.shape
    block = block or max(256, min(_BLOCK, 2**19 // max(p, 1)))
    dtype = np.result_type(A, b)
    r = np.empty(n, dtype=dtype)
    g = np.zeros(p, dtype=dtype)
    for i in range(0, n, block):
        j = min(i + block, n)
        Ab = A[i:j]
        rb = r[i:j]
        np.dot(Ab, coef, out=rb)
        np.subtract(b[i:j], rb, out=rb)
        if c is not None:
            rb -= c[i:j] * b0 if np.ndim(c) else b0
        g += rb @ Ab.conj() if dtype == np.complex128 else rb @ Ab
    sc = 0.0
    if c is not None:
        sc = np.vdot(c, r) if np.ndim(c) else r.sum()
    return r, g, sc


def _rel_change(d, coef) -> float:
    a = np.abs(coef)
    scale = np.where(a > 0, a, a.max(initial=0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.abs(d) / scale
    r = r[np.isfinite(r)]
    return float(r.max(initial=0.0)) if np.all(np.isfinite(d)) else np.inf


def _stop(d, coef, prev: float, ext: bool) -> tuple[bool, bool, float]:
    """LAPACK-style refinement stop: (stop, done, size). ``done`` when the correction is below
    tolerance or has stopped shrinking (stagnation: the attainable accuracy is reached)."""
    cur = _rel_change(d, coef) if ext else (float(np.linalg.norm(d) / max(np.linalg.norm(coef), 1e-300))
                                            if np.all(np.isfinite(d)) else np.inf)
    if not np.isfinite(cur):
        return True, False, cur
    if cur <= (_EXT_TOL if ext else 1e-12):
        return True, True, cur
    if cur > 0.5 * prev:
        return True, True, cur
    return False, False, cur


def _col_scale(Ac):
    d = np.sqrt((Ac.real**2 + Ac.imag**2).sum(axis=0)) if np.iscomplexobj(Ac) else np.sqrt((Ac * Ac).sum(axis=0))
    d[d == 0] = 1.0
    return d


def _refine(A, b, c, cv, coef, b0, mean, sw, correct, *, ridge, ext, max_steps):
    """Iterative refinement on the residuals of the full (uncentred) problem."""
    steps = 0
    prev = np.inf
    for _ in range(max_steps):
        r = _residuals(A, b, cv, coef, b0, ext)
        rc = r - cv * (np.vdot(cv, r) / sw) if c is not None else r
        d = correct(rc, coef)
        steps += 1
        coef = coef + d
        b0 = (np.vdot(cv, b - A @ coef) / sw) if c is not None else b0
        stop, done, prev = _stop(d, coef, prev, ext)
        if stop:
            break
    else:
        done = False
    r = _residuals(A, b, cv, coef, b0, ext)
    if c is not None:   # final intercept from the refined residuals
        b0 = b0 + np.vdot(cv, r) / sw
        r = r - cv * (np.vdot(cv, r) / sw)
    return coef, b0, r, steps, done


def _bjorck(A, b, cv, coef, b0, Q, rsolve, rhsolve, mean, sw, *, ext, max_steps):
    r"""Björck's refinement of the augmented system [[I, Z], [Z^H, 0]] [r; x] = [b; 0], Z = [c, A].

    Residuals ``f`` and gradients ``g`` are computed in extended precision
    (``ext``), the corrections with the factorisation ``A_c = Q R`` of the
    centred design (``rsolve`` = R^-1, ``rhsolve`` = R^-H), extended to ``Z`` by
    ``Q1 = [c/sqrt(sw), Q]``, ``R1 = [[sqrt(sw), sqrt(sw) m], [0, R]]``. Unlike
    refinement of ``x`` alone it also converges for large-residual problems.
    """
    has_c = cv is not None
    ld = (np.clongdouble if np.iscomplexobj(A) or np.iscomplexobj(b) else np.longdouble) if ext else None
    dt = np.result_type(A, b)
    Al = A.astype(ld) if ext else A
    bl = b.astype(ld) if ext else b
    cl = (cv.astype(ld) if ext else cv) if has_c else None
    rt = np.sqrt(sw) if has_c else 1.0

    def Zx(coef, b0):
        v = Al @ coef.astype(Al.dtype)
        return v + cl * b0 if has_c else v

    r = (bl - Zx(coef, b0)).astype(dt)
    steps = 0
    prev = np.inf
    for _ in range(max_steps):
        rl = r.astype(Al.dtype)
        f = (bl - rl - Zx(coef, b0)).astype(dt)
        gA = -(rl @ Al.conj()).astype(dt)
        gc = -np.vdot(cl, rl).astype(dt) if has_c else 0.0
        hc = gc / rt if has_c else 0.0
        hA = rhsolve(gA - (mean.conj() * gc if has_c else 0.0))
        dc = np.vdot(cv, f) / rt if has_c else 0.0
        dA = Q.conj().T @ f
        vA = dA - hA
        xA = rsolve(vA)
        xc = ((dc - hc) - rt * (mean @ xA)) / rt if has_c else 0.0
        dr = f + Q @ (hA - dA) + (cv * ((hc - dc) / rt) if has_c else 0.0)
        coef = coef + xA
        b0 = b0 + xc
        r = r + dr
        steps += 1
        stop, done, prev = _stop(xA, coef, prev, ext)
        if stop:
            break
    else:
        done = False
    r = (bl - Zx(coef, b0)).astype(dt)     # residuals consistent with the returned coefficients
    return coef, b0, r, steps, done


def _solve_qr(A, b, c, *, ridge=0.0, max_refine=5):
    from scipy.linalg import qr, solve_triangular

    n, p = A.shape
    Ac, bc, mean, bmean, sw = centre(A, b, c)
    cv = intercept_column(c, n, A.dtype)
    d = _col_scale(Ac)
    As = Ac / d
    if ridge:
        As = np.vstack([As, np.diag(np.sqrt(ridge) / d).astype(As.dtype)])
    Q, R, piv = qr(As, mode="economic", pivoting=True)
    rank = _pivoted_rank(R.diagonal(), *As.shape)
    collinear = tuple(sorted(int(i) for i in piv[rank:]))
    inv_piv = np.argsort(piv)
    ext = n * p <= _LONGDOUBLE_MAX
    if rank == p:
        Rk = R[:p, :p]

        def ginv():
            Ri = solve_triangular(Rk, np.eye(p, dtype=Rk.dtype))
            Gi = (Ri @ Ri.conj().T)[np.ix_(inv_piv, inv_piv)]
            return Gi / np.outer(d, d)

        bv = bc if not ridge else np.concatenate([bc, np.zeros(p, bc.dtype)])
        coef = solve_triangular(Rk, Q.conj().T @ bv)[inv_piv] / d
        b0 = (bmean - mean @ coef) if c is not None else 0.0
        if ridge:
            def correct(rc, coef):
                v = np.concatenate([rc, -np.sqrt(ridge) * coef])
                return solve_triangular(Rk, Q.conj().T @ v)[inv_piv] / d

            coef, b0, r, steps, done = _refine(A, b, c, cv, coef, b0, mean, sw, correct, ridge=ridge, ext=ext,
                                         max_steps=max_refine)
        else:
            def rsolve(v):      # (R P^T D)^-1 v
                return solve_triangular(Rk, v)[inv_piv] / d

            def rhsolve(g):     # (R P^T D)^-H g
                return solve_triangular(Rk, (g / d)[piv], trans="C")

            coef, b0, r, steps, done = _bjorck(A, b, cv, coef, b0, Q, rsolve, rhsolve, mean, sw, ext=ext,
                                         max_steps=max_refine)
    else:
        coef, correct, ginv = _min_norm(Ac, bc, rank, ridge)
        b0 = (bmean - mean @ coef) if c is not None else 0.0
        coef, b0, r, steps, done = _refine(A, b, c, cv, coef, b0, mean, sw, correct, ridge=ridge, ext=ext,
                                     max_steps=max_refine)
    rcond = float(abs(R[rank - 1, rank - 1] / R[0, 0])) ** 2 if rank else 0.0
    return Solution(coef, b0, r, rank, "qr", mean, sw, ginv, rcond, steps, collinear, refined=done)


def _min_norm(Ac, bc, rank, ridge):
    """Minimum-norm solution in the original coordinates, truncated to the detected rank."""
    U, s, Vh = np.linalg.svd(Ac, full_matrices=False)
    U, s, Vh = U[:, :rank], s[:rank], Vh[:rank]
    f = s / (s**2 + ridge)

    def correct(rc, coef):
        out = Vh.conj().T @ (f * (U.conj().T @ rc))
        if ridge:
            out = out - Vh.conj().T @ ((ridge / (s**2 + ridge)) * (Vh @ coef))
        return out

    def ginv():
        return (Vh.conj().T / (s**2 + ridge)) @ Vh

    return Vh.conj().T @ (f * (U.conj().T @ bc)), correct, ginv


def _solve_svd(A, b, c, *, ridge=0.0, max_refine=5):
    n, p = A.shape
    Ac, bc, mean, bmean, sw = centre(A, b, c)
    cv = intercept_column(c, n, A.dtype)
    d = _col_scale(Ac)
    U, s, Vh = np.linalg.svd(Ac / d, full_matrices=False)
    tol = s[0] * max(n, p) * EPS if s.size else 0.0
    rank = int((s > tol).sum())
    collinear: tuple[int, ...] = ()
    ext = n * p <= _LONGDOUBLE_MAX
    if rank == p and not ridge:
        def rsolve(v):      # (S Vh D)^-1 v
            return (Vh.conj().T @ (v / s)) / d

        def rhsolve(g):     # (S Vh D)^-H g
            return (Vh @ (g / d)) / s

        def ginv():
            W = (Vh.conj().T / s**2) @ Vh
            return W / np.outer(d, d)

        coef = rsolve(U.conj().T @ bc)
        b0 = (bmean - mean @ coef) if c is not None else 0.0
        coef, b0, r, steps, done = _bjorck(A, b, cv, coef, b0, U, rsolve, rhsolve, mean, sw, ext=ext,
                                     max_steps=max_refine)
    else:
        if rank < p:
            from scipy.linalg import qr

            piv = qr(Ac / d, pivoting=True, mode="r")[1]
            collinear = tuple(sorted(int(i) for i in piv[rank:]))
        # ridge acts in the original coordinates: filter factors of the unscaled SVD
        coef, correct, ginv = _min_norm(Ac, bc, rank if rank < p else p, ridge)
        b0 = (bmean - mean @ coef) if c is not None else 0.0
        coef, b0, r, steps, done = _refine(A, b, c, cv, coef, b0, mean, sw, correct, ridge=ridge, ext=ext,
                                     max_steps=max_refine)
    rcond = float(s[rank - 1] / s[0]) ** 2 if rank else 0.0
    return Solution(coef, b0, r, rank, "svd", mean, sw, ginv, rcond, steps, collinear, svd=(U, s, Vh, d),
                    refined=done)


def _solve_cholesky(A, b, c, *, ridge=0.0, strict=False, max_refine=4):
    """One-pass Gram + Cholesky + refinement; returns None when ``auto`` should fall back."""
    n, p = A.shape
    with np.errstate(all="ignore"):   # non-finite data are reported by the caller
        g = centred_gram(A, b, c)
    if not (np.all(np.isfinite(g.G.diagonal())) and np.isfinite(g.bss)):
        raise NonFiniteInput("NaN/inf in A or b (or overflow of their squares)")
    notes = []
    sol = solve_normal_equations(g.G, g.Atb, ridge=ridge, n=n)
    err = g.cancellation * EPS * max(p, 1) / max(sol.rcond, 1e-300)
    if sol.method != "cholesky" or err > _CHOL_MAX_ERR:
        if not strict:
            return None
        notes.append(f"Cholesky was forced on an ill-conditioned system (rcond {sol.rcond:.2g}); "
                     "method='qr' is more accurate here")
    coef = sol.coef
    b0 = (g.bmean - g.mean @ coef) if c is not None else 0.0
    steps = 0
    prev = np.inf
    ext = n * p <= _LONGDOUBLE_MAX
    if ext:
        max_refine = max(max_refine, 8)
    for _ in range(max_refine):
        if ext:   # small problem: residuals and gradient in extended precision (converges like QR)
            r = _residuals(A, b, c if c is None or np.ndim(c) else intercept_column(c, n, A.dtype), coef, b0, True,
                           keep_ext=True)
            gA = (r @ A.astype(r.dtype).conj()).astype(coef.dtype)
            gc = (np.vdot(intercept_column(c, n, r.dtype), r) if c is not None else 0.0)
            gc = gc.astype(coef.dtype) if c is not None else 0.0
            r = r.astype(coef.dtype)
        else:     # one fused pass: residuals and the gradient of the full (uncentred) problem
            r, gA, gc = _resid_and_grad(A, b, c, coef, b0)
        gcent = gA - g.mean.conj() * gc if c is not None else gA
        if ridge:
            gcent = gcent - ridge * coef
        d = sol.solve(gcent)
        d0 = (gc / g.sw - g.mean @ d) if c is not None else 0.0
        steps += 1
        rnorm = float(np.sqrt(np.vdot(r, r).real))
        if steps == 1 and not strict and not ext and not ridge:
            # semi-normal equations lose cond^2 * eps * ||r|| / ||A x|| on large-residual problems
            fitted = np.sqrt(max(float(np.real(np.vdot(coef, g.G @ coef))), 1e-300))
            if EPS / max(sol.rcond, 1e-300) * rnorm / fitted > 1e-10:
                return None
        coef = coef + d
        b0 = b0 + d0
        # extended-precision residuals refine to full accuracy; float64 ones stop at cond * eps
        stop, done, prev = _stop(d, coef, prev, ext)
        if stop and ext and prev > _EXT_TOL:
            if not strict:
                return None   # small problem whose refinement stagnated above full accuracy: QR does better
            notes.append(f"refinement of the forced Cholesky solution stagnated at a relative correction of "
                         f"{prev:.1g}; method='qr' is more accurate here")
        if stop and (done or strict):
            break
        if stop:
            return None
    else:
        done = False
        if not strict:   # refinement stagnated: the Gram route cannot resolve it, QR can
            return None
    # ||c d0 + A d||^2 = d^H G d + sw |d0 + m d|^2 from the Gram alone: the last correction moves the
    # residuals by less than their rounding error on well-conditioned data, so they are computed once
    # (below 1e-12 ||b|| it is invisible next to the rounding of b - A x itself: skip that pass)
    dA = float(np.real(np.vdot(d, g.G @ d)) + (g.sw * abs(d0 + g.mean @ d) ** 2 if c is not None else 0.0))
    bnorm = np.sqrt(g.bss + g.sw * abs(g.bmean) ** 2)
    if np.sqrt(max(dA, 0.0)) > 1e-12 * bnorm:
        r = r - A @ d
        if c is not None:
            r -= (c * d0) if np.ndim(c) else d0
    if not np.all(np.isfinite(coef)) and not strict:
        return None
    return Solution(coef, b0, r, sol.rank, "cholesky" if sol.method == "cholesky" else "eigh", g.mean, g.sw,
                    sol.ginv, sol.rcond, steps, sol.collinear, tuple(notes), refined=done)


def lstsq(A: np.ndarray, b: np.ndarray, c: np.ndarray | float | None = 1.0, *, method: str = "auto",
          ridge: float = 0.0) -> Solution:
    r"""Least squares of ``b`` on ``[c, A]`` with the intercept by centring.

    Parameters
    ----------
    A : (n, p) float64 or complex128 array
    b : (n,) array
    c : 1.0 (ones), an (n,) intercept column, or None (no intercept)
    method : {"auto", "cholesky", "qr", "svd"}
        ``auto`` uses the one-pass Cholesky path for tall designs and falls
        back to pivoted QR when Cholesky fails or the estimated error
        :math:`\kappa_{centring}\, p\, \epsilon / \mathrm{rcond}` exceeds 1e-6; designs
        with no more rows than columns go to SVD (minimum norm).
    ridge : float
        :math:`\lambda` in :math:`\|b - c b_0 - A\beta\|^2 + \lambda\|\beta\|^2`.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[0.0], [1.0], [2.0]]); b = np.array([1.0, 3.0, 5.0])
    >>> s = lstsq(A, b)
    >>> np.round(s.coef, 12), round(float(s.intercept), 12), s.method
    (array([2.]), 1.0, 'cholesky')
    """
    n, p = A.shape
    if p == 0 or method == "svd" or (method == "auto" and n <= p + (c is not None)):
        _require_finite(A, b)
    if p == 0:
        Ac, bc, mean, bmean, sw = centre(A, b, c)
        return Solution(np.zeros(0, A.dtype), bmean if c is not None else 0.0, bc, 0, "qr", mean, sw,
                        lambda: np.zeros((0, 0)), 1.0, 0)
    if method in ("auto", "cholesky"):
        if method == "auto" and n <= p + (c is not None):
            method = "svd"
        else:
            sol = _solve_cholesky(A, b, c, ridge=ridge, strict=method == "cholesky")
            if sol is not None:
                return sol
            sol = _solve_qr(A, b, c, ridge=ridge)
            sol.notes = sol.notes + ("the Gram matrix was too ill-conditioned for Cholesky; "
                                     "used column-pivoted QR",)
            return sol
    if method == "svd":
        return _solve_svd(A, b, c, ridge=ridge)
    return _solve_qr(A, b, c, ridge=ridge)


def warn_collinear(collinear, rank, p, names, *, wide: bool, stacklevel: int = 3) -> str:
    """Warn (and return the message) that the design is rank deficient."""
    cols = ", ".join(repr(names[i]) for i in collinear[:10]) + (" ..." if len(collinear) > 10 else "")
    if wide:
        msg = (f"X has more columns than rows can determine (rank {rank} of {p} columns after centring): "
               "returned the minimum-norm solution, which is one of infinitely many. Options: add a ridge "
               "penalty (alpha > 0, or alpha='gcv' to choose it), or drop columns"
               + (f" (dependent: {cols})" if cols else "") + ".")
    else:
        msg = (f"X is rank deficient (rank {rank} of {p} columns after centring): columns {cols} are linear "
               "combinations of the others (or constant). Returned the minimum-norm solution; drop those "
               "columns or add a ridge penalty (alpha > 0) for a unique answer.")
    warnings.warn(msg, CollinearityWarning, stacklevel=stacklevel)
    return msg
