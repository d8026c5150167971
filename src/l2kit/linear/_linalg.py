"""Small dense linear algebra shared by the solvers: symmetric solves, ranks and row-blocked products.

Every function takes NumPy arrays and trusts them (validation happens once,
in :func:`l2kit.fit`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["WithOnes", "blas_threads_limit", "block_rows", "centre", "gram_rank", "gram_workers", "hat_values",
           "intercept_column", "inverse", "pinvh", "single_blas_thread", "small_solve", "uncentre", "weighted_gram",
           "x_dot", "xt_dot"]


def uncentre(params: np.ndarray, cov: np.ndarray | None, mean, fit_intercept: bool):
    """Map (b0 on centred X, beta) to (intercept, beta) and transform the covariance alike."""
    if not fit_intercept:
        return 0.0, params, cov
    b = params.copy()
    b[0] = params[0] - mean @ params[1:]
    if cov is not None:
        J = np.eye(b.size)
        J[0, 1:] = -mean
        cov = J @ cov @ J.T
    return float(b[0]), b[1:], cov


def small_solve(G: np.ndarray, b: np.ndarray, rank_full: bool) -> np.ndarray:
    """Solve the k x k SPD system by Cholesky; pseudo-inverse (eigh) when rank deficient."""
    if rank_full:
        from scipy import linalg  # lazily: scipy.linalg costs ~0.3 s, and streamed least squares never needs it

        try:
            return linalg.cho_solve(linalg.cho_factor(G, check_finite=False), b, check_finite=False)
        except np.linalg.LinAlgError:   # scipy's is numpy's
            pass
    return pinvh(G) @ b


def pinvh(G: np.ndarray) -> np.ndarray:
    """Pseudo-inverse of a symmetric PSD matrix with a relative eigenvalue cut-off."""
    d = np.sqrt(np.clip(np.diag(G), 1e-300, None))
    Gs = G / d[:, None] / d[None, :]
    ev, V = np.linalg.eigh(Gs)
    keep = ev > ev.max() * G.shape[0] * np.finfo(float).eps * 10
    inv = (V[:, keep] / ev[keep]) @ V[:, keep].T
    return inv / d[:, None] / d[None, :]


def inverse(G: np.ndarray, full: bool) -> np.ndarray:
    """Inverse of a symmetric PSD matrix (Cholesky), or its pseudo-inverse when not of full rank."""
    if full:
        try:
            return small_solve(G, np.eye(G.shape[0]), True)
        except np.linalg.LinAlgError:  # pragma: no cover - small_solve already falls back
            pass
    return pinvh(G)


def gram_rank(G: np.ndarray) -> int:
    """Numerical rank of X from its Gram matrix (column-scaled eigenvalues)."""
    d = np.sqrt(np.clip(np.diag(G), 1e-300, None))
    ev = np.linalg.eigvalsh(G / d[:, None] / d[None, :])
    return int((ev > ev.max() * G.shape[0] * np.finfo(float).eps * 10).sum())


#: the rule for passes over tall X: matrix-vector products in row blocks of about 160k elements (1.25 MB, an
#: L2 cache), each one BLAS gemv below OpenBLAS's threading threshold. The passes are memory-bound, so
#: threads add wake-ups and no bandwidth; one gemv over all of X let OpenBLAS spin up threads that made
#: each pass 5-8x slower on a loaded 2-core machine (IRLS benchmark, 200000 x 20).
_BLOCK_ELEMS = 160_000


def block_rows(X: np.ndarray, ones: bool = False) -> int:
    """Rows per block for a pass over tall ``X`` (see ``_BLOCK_ELEMS``), with a column of ones before it if ``ones``."""
    return max(256, _BLOCK_ELEMS // max(X.shape[1] + ones, 1))


def xt_dot(X: np.ndarray, v: np.ndarray, *, ones: bool = False) -> np.ndarray:
    """``X.T @ v`` for tall ``X``, in row blocks (see ``_BLOCK_ELEMS``); ``ones``: ``[1, X].T @ v``, no copy of X."""
    n = X.shape[0]
    B = block_rows(X)
    if n <= 2 * B:
        out = X.T @ v
    else:
        out = X[:B].T @ v[:B]
        for i in range(B, n, B):
            out += X[i:i + B].T @ v[i:i + B]
    return np.concatenate([[v.sum()], out]) if ones else out


def x_dot(X: np.ndarray, b: np.ndarray, out: np.ndarray | None = None, *, ones: bool = False) -> np.ndarray:
    """``X @ b`` for tall ``X``, in row blocks (see ``_BLOCK_ELEMS``); rows are independent, so exact.

    ``ones``: ``[1, X] @ b`` (``b[0]`` the intercept), without the copy of X.
    """
    n = X.shape[0]
    if ones:
        if X.shape[1] == 0:   # the column of ones alone
            out = np.empty(n, dtype=np.result_type(X, b)) if out is None else out
            out[:] = b[0]
            return out
        out = x_dot(X, b[1:], out)
        out += b[0]
        return out
    B = block_rows(X)
    if n <= 2 * B:
        return np.dot(X, b, out=out) if out is not None else X @ b
    if out is None:
        out = np.empty(n, dtype=np.result_type(X, b))
    for i in range(0, n, B):
        np.dot(X[i:i + B], b, out=out[i:i + B])
    return out


def weighted_gram(X: np.ndarray, w: np.ndarray, out: np.ndarray | None = None, *, ones: bool = False) -> np.ndarray:
    r""":math:`X^\top \mathrm{diag}(w) X` in one pass over row blocks, by symmetric rank-k updates (syrk).

    Each block of rows is scaled by :math:`\sqrt{|w|}` (a cache-sized copy,
    never one of all of ``X``) and added by BLAS ``dsyrk``, half the flops of
    a general product; rows of negative weight (an observed Hessian of a
    non-canonical link) go to a second update that is subtracted. ``out``
    (k x k) is added to in place and returned (a mergeable state). Large
    designs are split into contiguous row parts, one per CPU, each summed on
    its own thread with single-threaded BLAS, then merged in order.

    ``ones``: the Gram of ``[1, X]`` (intercept first), built block by block,
    never by a copy of all of ``X`` with a column of ones.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X, w = rng.normal(size=(50, 3)), rng.normal(size=50)
    >>> bool(np.allclose(weighted_gram(X, w), (X * w[:, None]).T @ X))
    True
    >>> Xa = np.column_stack([np.ones(50), X])
    >>> bool(np.allclose(weighted_gram(X, w, ones=True), (Xa * w[:, None]).T @ Xa))
    True
    """
    n, k = X.shape
    if X.dtype != np.float64 or w.dtype != np.float64 or 0 in X.shape:   # dsyrk refuses an empty operand
        Xa = np.column_stack([np.ones(n, dtype=X.dtype), X]) if ones else X
        G = (Xa * w[:, None]).T @ Xa
        return G if out is None else out.__iadd__(G)
    B = block_rows(X, ones)
    parts = max(1, min(gram_workers(), n // (8 * B)))
    bounds = [n * i // parts for i in range(parts + 1)]
    # one BLAS thread per part: OpenBLAS's own threads busy-wait, and on a loaded machine each of the many
    # block-sized dsyrk calls waited on them (1e5 x 201: 6-10 s per Gram with 2 threads, 0.35 s with one)
    with blas_threads_limit(1):
        if parts == 1:
            ups = [_gram_rows(X, w, 0, n, B, ones)]
        else:
            ups = list(_gram_pool().map(lambda i: _gram_rows(X, w, bounds[i], bounds[i + 1], B, ones),
                                        range(parts)))
    up = ups[0]
    for u in ups[1:]:     # parts merged in a fixed order: the same sum at every call
        up += u
    G = np.triu(up) + np.triu(up, 1).T
    if out is None:
        return G
    out += G
    return out


def _gram_rows(X: np.ndarray, w: np.ndarray, lo: int, hi: int, B: int, ones: bool) -> np.ndarray:
    """The upper triangle of the weighted Gram of rows ``lo:hi``, in row blocks of ``B`` (see :func:`weighted_gram`)."""
    from scipy.linalg.blas import dsyrk

    k = X.shape[1] + ones
    up, down = np.zeros((k, k)), np.zeros((k, k))
    for i in range(lo, hi, B):
        Xb, wb = X[i:min(i + B, hi)], w[i:min(i + B, hi)]
        neg = wb < 0
        if neg.all():   # a Hessian's weights (e.g. -mu): one update of the negated block, no mixed-sign copies
            down = dsyrk(1.0, _scaled(Xb, np.sqrt(-wb), ones).T, beta=1.0, c=down, lower=0, overwrite_c=1)
            continue
        if neg.any():
            down = dsyrk(1.0, _scaled(Xb[neg], np.sqrt(-wb[neg]), ones).T, beta=1.0, c=down, lower=0, overwrite_c=1)
            wb = np.where(neg, 0.0, wb)
        # Z.T of a C-ordered block is Fortran-ordered: dsyrk reads it in place (trans=1 on Z would copy it)
        up = dsyrk(1.0, _scaled(Xb, np.sqrt(wb), ones).T, beta=1.0, c=up, lower=0, overwrite_c=1)
    return up - down


def _scaled(Xb: np.ndarray, s: np.ndarray, ones: bool) -> np.ndarray:
    """The block ``diag(s) Xb`` (C-ordered), with ``s`` itself as a first column when ``ones`` (an intercept)."""
    if not ones:
        return Xb * s[:, None]
    Z = np.empty((Xb.shape[0], Xb.shape[1] + 1))
    Z[:, 0] = s
    np.multiply(Xb, s[:, None], out=Z[:, 1:])
    return Z


class WithOnes:
    r"""The design :math:`[\mathbf{1}, X]` (``ones``) or :math:`X`, without the copy of ``X`` a column of ones costs.

    Products, Grams and row subsets of the augmented matrix from ``X`` itself
    (1e6 x 200 is a 1.6 GB copy); ``dense()`` materialises it where a caller
    needs every column (leverages, per-row scores). ``X`` may have no columns:
    the column of ones alone (an intercept-only block).

    Examples
    --------
    >>> X = np.arange(6.0).reshape(3, 2)
    >>> D = WithOnes(X, True)
    >>> D.shape, D.dot(np.array([1.0, 0.0, 2.0])).tolist(), D.tdot(np.ones(3)).tolist()
    ((3, 3), [3.0, 7.0, 11.0], [3.0, 6.0, 9.0])
    """

    __slots__ = ("X", "ones")

    def __init__(self, X: np.ndarray, ones: bool) -> None:
        self.X, self.ones = X, bool(ones)

    @property
    def shape(self) -> tuple[int, int]:
        return self.X.shape[0], self.X.shape[1] + self.ones

    @property
    def constant_only(self) -> bool:
        """True for the column of ones alone."""
        return self.ones and self.X.shape[1] == 0

    def dot(self, b: np.ndarray) -> np.ndarray:
        return x_dot(self.X, b, ones=self.ones)

    def tdot(self, v: np.ndarray) -> np.ndarray:
        return xt_dot(self.X, v, ones=self.ones)

    def gram(self, w: np.ndarray) -> np.ndarray:
        return weighted_gram(self.X, w, ones=self.ones)

    def cross(self, w: np.ndarray, other: WithOnes) -> np.ndarray:
        r""":math:`A^\top \mathrm{diag}(w) B` of this design ``A`` and ``other`` (a column of ones: column sums)."""
        if other.constant_only:
            return self.tdot(w)[:, None]
        if self.constant_only:
            return other.tdot(w)[None, :]
        return self.scaled(w).T @ other.dense()

    def scaled(self, s: np.ndarray) -> np.ndarray:
        r"""The dense rows scaled, :math:`\mathrm{diag}(s)\,[\mathbf{1}, X]` (one allocation)."""
        return _scaled(self.X, s, self.ones)

    def dense(self) -> np.ndarray:
        return self.scaled(np.ones(self.X.shape[0])) if self.ones else self.X

    def rows(self, sl: slice) -> WithOnes:
        """The design of the rows ``sl`` (a contiguous copy of those rows of ``X``)."""
        return WithOnes(np.ascontiguousarray(self.X[sl]), self.ones)


_CONTROLLER = None
_POOL = None


def gram_workers() -> int:
    """Threads for a Gram over row parts: the CPUs this process may run on."""
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _gram_pool():
    """A thread pool kept for the process (dsyrk releases the GIL, so row parts run in parallel)."""
    global _POOL
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor

        _POOL = ThreadPoolExecutor(gram_workers(), thread_name_prefix="l2kit-gram")
    return _POOL


def blas_threads_limit(limit):
    """A context limiting BLAS to ``limit`` threads (threadpoolctl), or nothing when ``limit`` is None.

    The controller is built once: inspecting the loaded libraries costs
    milliseconds. The limit is process-wide while the context is open.
    """
    global _CONTROLLER
    if limit is None:
        import contextlib

        return contextlib.nullcontext()
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=int(limit), user_api="blas")


def single_blas_thread(func):
    """Decorator: ``func`` runs with BLAS limited to one thread (:func:`blas_threads_limit`).

    For solvers made of small factorisations and thin passes over tall data,
    where OpenBLAS's busy-waiting threads cost wake-ups and add no bandwidth
    (on a loaded 2-core machine: a 201 x 201 Cholesky took 0.6 s with 2
    threads; the batched SVDs of the fast-S search 31 s instead of 0.7 s).

    Examples
    --------
    >>> from threadpoolctl import threadpool_info
    >>> @single_blas_thread
    ... def threads():
    ...     return {d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas"}
    >>> threads() <= {1}
    True
    """
    import functools

    @functools.wraps(func)
    def with_one_thread(*args, **kwargs):
        with blas_threads_limit(1):
            return func(*args, **kwargs)

    return with_one_thread


def intercept_column(c, n, dtype):
    """The intercept column as a vector: ``c`` itself, or ``n`` copies of a scalar ``c``; None stays None."""
    return np.full(n, c, dtype=dtype) if c is not None and np.ndim(c) == 0 else c


def centre(A, b, c):
    """Explicit two-pass centring (projection of c out of A and b); returns Ac, bc, mean, bmean, sw."""
    if c is None:
        return A, b, np.zeros(A.shape[1], A.dtype), A.dtype.type(0) * 0, 0.0
    cv = intercept_column(c, A.shape[0], A.dtype)
    sw = float(np.vdot(cv, cv).real)
    m1 = (cv.conj() @ A) / sw
    Ac = A - np.outer(cv, m1)
    m2 = (cv.conj() @ Ac) / sw         # second pass removes the rounding of the first
    Ac -= np.outer(cv, m2)
    bm1 = np.vdot(cv, b) / sw
    bc = b - cv * bm1
    bm2 = np.vdot(cv, bc) / sw
    bc = bc - cv * bm2
    return Ac, bc, m1 + m2, bm1 + bm2, sw


def hat_values(Xa: np.ndarray, hw: np.ndarray, cw: np.ndarray | None = None) -> np.ndarray:
    r"""Leverages :math:`h_i = v_i\,x_i^\top (X^\top \mathrm{diag}(c\,v) X)^{-1} x_i` of a weighted design.

    ``hw`` are the working weights :math:`v_i` (least squares: the weights;
    GLM: :math:`(d\mu/d\eta)^2/V(\mu)`; IRLS: the final IRLS weights) and
    ``cw`` optional case weights (a row repeated ``c`` times keeps its
    leverage per copy). Computed from a Cholesky factor, never an inverse.

    Examples
    --------
    >>> X = np.column_stack([np.ones(4), [0.0, 1.0, 2.0, 4.0]])
    >>> H = X @ np.linalg.solve(X.T @ X, X.T)
    >>> bool(np.allclose(hat_values(X, np.ones(4)), np.diag(H)))
    True
    """
    w = hw if cw is None else cw * hw
    from scipy import linalg

    G = weighted_gram(Xa, w)
    L = linalg.cholesky(G, lower=True, check_finite=False)
    Z = linalg.solve_triangular(L, Xa.T, lower=True, check_finite=False)
    return hw * np.einsum("ij,ij->j", Z, Z)
