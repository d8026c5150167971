"""The centred design, never materialised (:class:`Centred`), and its float32 column copy (:class:`NaiveCopy`)."""

from __future__ import annotations

import numpy as np

from ._kernels import centre_cast_kernel, row_pass_kernel
from ._naive import GROUP, column_copy_kernel, naive_kernel

__all__ = ["Centred", "NaiveCopy", "NonFiniteData", "block_rows"]

#: elements per row block when forming a Gram matrix (2 MiB of float32: cache-sized, never a copy of A)
_BLOCK_ELEMS = 1 << 19


def block_rows(m):
    """Rows per block of a Gram matrix over ``m`` columns."""
    return max(256, _BLOCK_ELEMS // max(m, 1))


class NonFiniteData(ArithmeticError):
    """Column statistics are not finite: the caller reports where the NaN/inf are."""


class Centred:
    """The centred design ``A_c = A - c m^T``, never materialised: products, gradients and Gram blocks."""

    def __init__(self, A, b, c, n_pen):
        n, p = A.shape
        self.A, self.n_pen = A, float(n_pen)
        has_c = c is not None
        self.cv = (np.full(n, float(c)) if np.ndim(c) == 0 else np.asarray(c, dtype=np.float64)) if has_c \
            else np.zeros(n)
        sw = float(self.cv @ self.cv)
        self.bmean = float(self.cv @ b) / sw if has_c else 0.0
        bc, cross, sums, sq = np.empty(n), np.empty(p), np.empty(p), np.empty(p)
        self._pass(np.empty(0), b - self.cv * self.bmean, 0.0, bc, cross, sums, sq)
        self.bc = bc
        self.mean = sums / sw if has_c else np.zeros(p)
        self.q = (cross - self.mean * float(self.cv @ self.bc)) / self.n_pen      # A_c^T b_c / n
        self.yy = float(self.bc @ self.bc) / self.n_pen
        if not (np.all(np.isfinite(self.q)) and np.isfinite(self.yy) and np.all(np.isfinite(self.mean))):
            raise NonFiniteData("NaN/inf in A or b")
        #: the diagonal of A_c^T A_c / n, from uncentred sums (cancellation is harmless: it only sizes
        #: the working set)
        self.diag = np.maximum(sq - sw * self.mean**2, 0.0) / self.n_pen
        #: a bound on |A_c| per column (sqrt(sum of squares) bounds every |A_ij|)
        self.bound = np.sqrt(sq) + float(np.abs(self.cv).max(initial=0.0)) * np.abs(self.mean)

    def _pass(self, w, base, mw, r, g, h, d):
        """The fused row pass (compiled, single-threaded) on row-major data, else two BLAS passes."""
        row_pass_kernel(self.A)(self.A, w, base, self.cv, mw, r, g, h, d)

    def residuals_gradient(self, w):
        """``r = b_c - A_c w`` and ``A_c^T r / n``, in one pass over ``A``."""
        r, g = np.empty(self.A.shape[0]), np.empty(self.A.shape[1])
        none = np.empty(0)
        self._pass(np.ascontiguousarray(w, dtype=np.float64), self.bc, float(self.mean @ w), r, g, none, none)
        return r, (g - self.mean * float(self.cv @ r)) / self.n_pen

    def gram(self, cols, start, dtype):
        """``A_c[:, cols]^T A_c[:, cols[start:]] / n``, accumulated in float64 over row blocks.

        Each block is centred and cast into a small buffer of ``dtype`` (float32:
        twice the BLAS speed) and multiplied there; ``A`` is not copied. A
        float32 overflow (or underflow, which shows as stalled refinement in
        the caller) is handled by redoing the work in float64.
        """
        n = self.A.shape[0]
        m = cols.size
        rows = block_rows(m)
        buf = np.empty((min(rows, n), m), dtype=dtype)
        G = np.zeros((m, m - start))
        cast = centre_cast_kernel()
        mc = np.ascontiguousarray(self.mean[cols])
        with np.errstate(over="ignore", invalid="ignore"):     # checked below
            for i0 in range(0, n, rows):
                i1 = min(i0 + rows, n)
                blk = buf[: i1 - i0]
                cast(self.A, i0, i1, cols, self.cv, mc, blk)
                G += blk.T @ blk[:, start:]
        G /= self.n_pen
        if not np.all(np.isfinite(G)):
            if dtype != np.float64:      # beyond float32's range: redo in float64
                return self.gram(cols, start, np.float64)
            raise NonFiniteData("the Gram matrix overflows")
        return G


class NaiveCopy:
    """The centred columns in float32, contiguous, with their Gram matrix within groups of four (filled by
    the first sweep)."""

    def __init__(self, X, tol):
        n, p = X.A.shape
        padded = -(-p // GROUP) * GROUP
        self.p = p
        self.columns = np.empty((padded, n), dtype=np.float32)
        self.columns[p:] = 0.0                     # zero columns: never updated, no effect on rho
        column_copy_kernel()(X.A, np.ascontiguousarray(X.cv), np.ascontiguousarray(X.mean), self.columns)
        self.within = np.zeros((padded, GROUP))
        self.fresh = True                          # ``within`` not yet filled
        # inner sweeps stop at the float32 floor, or earlier when tol is loose
        self.eps = min(1e-3, max(float(tol), 1e-7))

    def sweep(self, g, w, l1, l2, inv_n, max_sweeps):
        """Naive sweeps (:func:`l2kit.linear._enet_naive.cd_naive`) from the exact gradient ``g`` at ``w``."""
        out = naive_kernel()(self.columns, self.within, g, w, l1, l2, inv_n, self.eps, max_sweeps, self.fresh)
        self.fresh = self.fresh and max_sweeps < 1
        return out

    def gram(self, n_pen, l2):
        """``F F^T / n`` accumulated in float64 over row blocks, or None when it is not positive definite."""
        m = self.p
        F = self.columns[:m]
        n = F.shape[1]
        rows = block_rows(m)
        G = np.zeros((m, m))
        for i0 in range(0, n, rows):
            blk = F[:, i0:i0 + rows]
            G += blk @ blk.T
        G /= n_pen
        return G if np.all(np.isfinite(G)) and positive_definite(G, l2) else None


def positive_definite(G, l2):
    """Whether ``G + l2 I`` (equilibrated) has a Cholesky factor: O(p^3 / 3), small next to the O(n p^2) Gram."""
    from scipy.linalg import lapack

    d = np.sqrt(np.maximum(G.diagonal(), 0.0) + l2)
    d[d == 0] = 1.0
    M = G / d[:, None] / d[None, :]
    M[np.diag_indices_from(M)] += l2 / d**2
    return lapack.dpotrf(M, lower=0, clean=0, overwrite_a=1)[1] == 0
