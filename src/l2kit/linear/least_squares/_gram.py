r"""The centred Gram matrix in one pass, and least squares solved from it (Cholesky, eigh fallback).

Reusable pieces for every least-squares path: :func:`centred_gram` (one
blocked ``syrk`` pass over ``[A, c, b]``, centring by a rank-one update),
:func:`solve_normal_equations` (solve from a centred Gram alone, with the rank
and the minimum-norm solution when it is singular) and :func:`gram_inverse`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["CentredGram", "GramSolution", "centred_gram", "gram_inverse", "solve_normal_equations"]

EPS = np.finfo(np.float64).eps
_BLOCK = 8192
#: from this many columns the Gram ``syrk`` runs on the design itself rather than on row blocks
_WIDE_P = 64


# ---------------------------------------------------------------------------
# one-pass centred Gram
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class CentredGram:
    r"""Sufficient statistics of ``[A, c, b]`` after projecting out ``c``.

    Attributes
    ----------
    G : (p, p) centred Gram :math:`A_c^H A_c`, Hermitian, both triangles filled
    Atb : (p,) :math:`A_c^H b_c`
    mean : (p,) projection coefficients of ``A`` on ``c`` (the column means when c = 1)
    bmean : scalar, same for ``b``
    sw : float, :math:`c^H c` (n for OLS, sum of weights for WLS; 0 without intercept)
    bss : float, :math:`\|b_c\|^2` (centred total sum of squares)
    n : int, number of rows
    cancellation : float, largest ``sw * |mean_j|^2 / G_jj`` (loss of digits by centring)
    """

    G: np.ndarray
    Atb: np.ndarray
    mean: np.ndarray
    bmean: Any
    sw: float
    bss: float
    n: int
    cancellation: float = 1.0


def _herk(dtype):
    from scipy.linalg import blas

    return blas.zherk if dtype == np.complex128 else blas.dsyrk


def centred_gram(A: np.ndarray, b: np.ndarray, c: np.ndarray | float | None = 1.0,
                 *, block: int | None = None) -> CentredGram:
    """One blocked pass: the Gram matrix of ``[A, c, b]``, then centring by a rank-one update.

    ``c=1.0`` means a column of ones (no vector is allocated), ``None`` no
    intercept. Each block of rows is copied into a small cache-resident buffer
    next to ``c`` and ``b`` so a single ``syrk`` (``herk`` for complex) call
    per block yields ``A^H A``, ``A^H c``, ``A^H b``, ``c^H b`` and ``b^H b``.
    For wide designs (p >= 64) the ``syrk`` runs on ``A`` itself (no copy)
    and the few cross products with ``c`` and ``b`` are matrix-vector products:
    their extra O(np) reads are negligible next to the O(np^2) ``syrk``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> A, b = rng.normal(size=(50, 3)), rng.normal(size=50)
    >>> g = centred_gram(A, b)
    >>> Ac = A - A.mean(0)
    >>> bool(np.allclose(g.G, Ac.T @ Ac)), bool(np.allclose(g.Atb, Ac.T @ (b - b.mean())))
    (True, True)
    """
    n, p = A.shape
    dtype = np.result_type(A, b)
    has_c = c is not None
    k = p + 1 + has_c
    herk = _herk(dtype)
    if p >= _WIDE_P and A.dtype == dtype:
        cols = [np.full(n, c, dtype=dtype) if has_c and np.ndim(c) == 0 else c] if has_c else []
        C = cols + [b]
        M = np.empty((k, k), dtype=dtype)
        # herk on the (p, n) view gives the lower triangle of conj(A^H A); its transpose is the
        # upper triangle of A^H A (Hermitian)
        M[:p, :p] = herk(1.0, A.T, trans=0, lower=1).T
        M[:p, :p] = np.triu(M[:p, :p]) + np.triu(M[:p, :p], 1).conj().T
        for j, v in enumerate(C):       # vector @ matrix: the fastest GEMV layout for C-ordered A
            M[p + j, :p] = v.conj() @ A
            M[:p, p + j] = M[p + j, :p].conj()
            for i, u in enumerate(C):
                M[p + j, p + i] = np.vdot(v, u)
        return _centre_gram(M, p, has_c, dtype, n)
    B = min(block or max(512, min(_BLOCK, 2**19 // k)), n)
    buf = np.empty((B, k), dtype=dtype)
    if has_c and np.ndim(c) == 0:
        buf[:, p] = c
    M = np.zeros((k, k), dtype=dtype, order="F")
    for i in range(0, n, B):
        j = min(i + B, n)
        w = buf[: j - i]
        w[:, :p] = A[i:j]
        if has_c and np.ndim(c) != 0:
            w[:, p] = c[i:j]
        w[:, k - 1] = b[i:j]
        # (k, rows) Fortran view: herk computes a a^H = conj(w^H w); conjugated below
        M = herk(1.0, w.T, beta=1.0, c=M, trans=0, lower=0, overwrite_c=1)
    M = np.triu(M) + np.triu(M, 1).conj().T
    if dtype == np.complex128:
        M = M.conj()
    return _centre_gram(M, p, has_c, dtype, n)


def _centre_gram(M, p, has_c, dtype, n) -> CentredGram:
    """Centre the Gram matrix ``M`` of ``[A, c, b]`` (or ``[A, b]``) by a rank-one update."""
    k = M.shape[0]
    Mxx, Mxb, bb = M[:p, :p], M[:p, k - 1], M[k - 1, k - 1].real
    if not has_c:
        return CentredGram(Mxx.copy(), Mxb.copy(), np.zeros(p, dtype), dtype.type(0), 0.0, float(bb), n)
    sw = float(M[p, p].real)
    mxc, mcb = M[:p, p], M[p, k - 1]
    mean = mxc.conj() / sw        # row vector m' with A_c = A - c m'
    bmean = mcb / sw
    G = Mxx - np.outer(mxc, mxc.conj()) / sw
    Atb = Mxb - mxc * bmean
    bss = float(bb - sw * abs(bmean) ** 2)
    diag = np.maximum(G.diagonal().real, 0.0)
    raw = Mxx.diagonal().real
    with np.errstate(divide="ignore", invalid="ignore"):
        canc = np.where(diag > 0, raw / np.where(diag > 0, diag, 1.0), np.inf)
    cancel = float(max(1.0, canc.max(initial=1.0)))
    return CentredGram(G, Atb, mean, bmean, sw, max(bss, 0.0), n, cancel)


# ---------------------------------------------------------------------------
# solving from a centred Gram matrix
# ---------------------------------------------------------------------------
@dataclass
class GramSolution:
    """Result of :func:`solve_normal_equations`."""

    coef: np.ndarray
    rank: int
    rcond: float                      # reciprocal condition estimate of the equilibrated (shifted) Gram
    method: str                       # "cholesky" or "eigh"
    collinear: tuple[int, ...] = ()   # indices of dependent columns (rank deficient only)
    solve: Callable[[np.ndarray], np.ndarray] | None = field(default=None, repr=False)
    ginv: Callable[[], np.ndarray] | None = field(default=None, repr=False)


def _equilibrate(G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = np.sqrt(np.maximum(G.diagonal().real, 0.0))
    d[d == 0] = 1.0
    return G / np.outer(d, d), d


def _cholesky(Gs: np.ndarray):
    """LAPACK potrf + pocon; returns (factor, rcond) or (None, 0.0)."""
    from scipy.linalg import lapack

    cplx = np.iscomplexobj(Gs)
    potrf, pocon = (lapack.zpotrf, lapack.zpocon) if cplx else (lapack.dpotrf, lapack.dpocon)
    L, info = potrf(Gs, lower=0, clean=1)
    if info != 0:
        return None, 0.0
    anorm = np.abs(Gs).sum(axis=0).max()
    rcond, info = pocon(L, anorm)
    return L, float(rcond)


def _cho_solver(U: np.ndarray, d: np.ndarray):
    from scipy.linalg import lapack

    potrs = lapack.zpotrs if np.iscomplexobj(U) else lapack.dpotrs

    def solve(g):
        x, _ = potrs(U, np.asarray(g) / d, lower=0)
        return x / d

    def ginv():
        from scipy.linalg import lapack as lp

        # G = U^H U, so G^-1 = U^-1 U^-H (trtri; OpenBLAS potri is pathologically slow here)
        trtri = lp.ztrtri if np.iscomplexobj(U) else lp.dtrtri
        Ui, _ = trtri(U, lower=0)
        Ui = np.triu(Ui)
        return (Ui @ Ui.conj().T) / np.outer(d, d)

    return solve, ginv


def solve_normal_equations(G: np.ndarray, Atb: np.ndarray, *, ridge: float = 0.0,
                           n: int | None = None) -> GramSolution:
    r"""Solve :math:`(G + \lambda I)\beta = A^H b` from a centred Gram matrix alone.

    The reusable final step of one-pass and streamed least squares. ``G`` is
    equilibrated to unit diagonal, factored by Cholesky (LAPACK ``potrf``) and
    its reciprocal condition number estimated by ``pocon``. When the factor
    fails or the estimate says the system is numerically singular, a
    symmetric eigendecomposition gives the rank and the minimum-norm
    solution (never a silent truncation: ``collinear`` names the dependent
    columns). Note the Gram route squares the condition number of the data;
    with the rows at hand prefer :func:`lstsq` for ill-conditioned designs.

    Parameters
    ----------
    G : (p, p) centred Gram matrix; Atb : (p,) centred cross products
    ridge : float
        Added to the diagonal (:math:`\lambda = n\,\alpha` in l2kit's scaling).
    n : int, optional
        Number of rows, used in the rank tolerance.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> A, b = rng.normal(size=(40, 3)), rng.normal(size=40)
    >>> g = centred_gram(A, b)
    >>> s = solve_normal_equations(g.G, g.Atb)
    >>> ref = np.linalg.lstsq(np.column_stack([np.ones(40), A]), b, rcond=None)[0]
    >>> bool(np.allclose(s.coef, ref[1:])), s.rank, s.method
    (True, 3, 'cholesky')
    """
    p = G.shape[0]
    if p == 0:
        return GramSolution(np.zeros(0, G.dtype), 0, 1.0, "cholesky", (), lambda g: g[:0], lambda: np.zeros((0, 0)))
    Gs, d = _equilibrate(G)
    if ridge:
        Gs = Gs + np.diag(ridge / d**2)
    U, rcond = _cholesky(Gs)
    m = p if n is None else n
    tol = max(m, p) * EPS
    if U is not None and rcond > tol * 10:
        solve, ginv = _cho_solver(U, d)
        return GramSolution(solve(Atb), p, rcond, "cholesky", (), solve, ginv)
    # numerically singular: eigen route on the equilibrated matrix (rank), min-norm on the raw one
    w, V = np.linalg.eigh(Gs)
    rank = int((w > w.max(initial=0.0) * tol).sum()) if w.size else 0
    Gr = G + ridge * np.eye(p) if ridge else G
    wr, Vr = np.linalg.eigh(Gr)
    keep = np.argsort(wr)[::-1][:rank]
    Vk, wk = Vr[:, keep], wr[keep]

    def solve(g):
        return Vk @ ((Vk.conj().T @ g) / wk)

    def ginv():
        return (Vk / wk) @ Vk.conj().T

    from scipy.linalg import qr

    piv = qr(Gs, pivoting=True, mode="r")[1]
    return GramSolution(solve(Atb), rank, float(w.min() / w.max()) if w.max() > 0 else 0.0, "eigh",
                        tuple(sorted(int(i) for i in piv[rank:])), solve, ginv)


def gram_inverse(G: np.ndarray, *, ridge: float = 0.0) -> np.ndarray:
    """(Pseudo-)inverse of a centred Gram matrix via :func:`solve_normal_equations`'s factor.

    Examples
    --------
    >>> import numpy as np
    >>> G = np.array([[4.0, 1.0], [1.0, 3.0]])
    >>> bool(np.allclose(gram_inverse(G) @ G, np.eye(2)))
    True
    """
    return solve_normal_equations(G, np.zeros(G.shape[0], G.dtype), ridge=ridge).ginv()
