r"""Elastic net and lasso by coordinate descent with covariance updates, and a duality-gap stop.

Minimises the glmnet / scikit-learn ElasticNet objective

.. math::
    \frac{1}{2n}\|b - c\beta_0 - A\beta\|^2 + \alpha\lambda\|\beta\|_1 + \frac{\alpha(1-\lambda)}{2}\|\beta\|^2

(``n`` = sum of weights when weighted). Coordinate descent runs on the
centred Gram matrix :math:`Q = A_c^T A_c / n` of a working set of columns,
so every update costs O(|S|) ("covariance updates", Friedman, Hastie &
Tibshirani 2010). The Gram matrix is formed in float32 when that pays
(half the BLAS time) and the float32 model is refined against exact float64
gradients, so the answer is the float64 optimum: see
:func:`enet_active_set`. One regime skips the Gram matrix: when nearly
every column is active, the columns are nearly orthogonal and ``tol`` is
loose, a few *naive* sweeps (glmnet's other update) on a float32 copy of
the columns cost less than it (:mod:`._enet_naive`); they hand over to
covariance updates as soon as they slow down. Convergence is only claimed
when scikit-learn's duality gap, computed from exact float64 residuals of
the full problem, is below ``tol * ||b_c||^2 / n``; it is never claimed at
``max_iter``.

The kernels are compiled by numba when installed (lazily, on first use);
without it, or with ``L2KIT_DISABLE_NUMBA=1``, the coordinate descent runs as
plain Python and the row passes and block copies as NumPy (and naive
updates, O(n) per update, are not used).
"""

from __future__ import annotations

import os

import numpy as np

from ._enet_naive import GROUP, cd_naive, centre_columns_f32, conditioning

#: above this many columns the full p x p Gram matrix is never formed (working sets only)
_FULL_GRAM_MAX_P = 2000


def _cd_gram(Q, q, w, H, l1, l2, yy, tol, max_iter):  # pragma: no cover - compiled by numba
    p = q.shape[0]
    gap = np.inf
    for it in range(max_iter):
        for j in range(p):
            qjj = Q[j, j]
            if qjj == 0.0:
                continue
            wj = w[j]
            z = q[j] - H[j] + qjj * wj
            az = abs(z) - l1
            new = 0.0
            if az > 0.0:
                new = (az if z > 0 else -az) / (qjj + l2)
            if new != wj:
                delta = new - wj
                for k in range(p):
                    H[k] += Q[k, j] * delta
                w[j] = new
        # duality gap (scikit-learn's formula divided by n)
        qw = 0.0
        wH = 0.0
        l1n = 0.0
        w2 = 0.0
        dual = 0.0
        for k in range(p):
            qw += q[k] * w[k]
            wH += w[k] * H[k]
            l1n += abs(w[k])
            w2 += w[k] * w[k]
            g = abs(q[k] - H[k] - l2 * w[k])
            if g > dual:
                dual = g
        R2 = yy - 2.0 * qw + wH
        if R2 < 0.0:
            R2 = 0.0
        if dual > l1:
            const = l1 / dual
            gap = 0.5 * (R2 + R2 * const * const)
        else:
            const = 1.0
            gap = R2
        gap += l1 * l1n - const * (yy - qw) + 0.5 * l2 * (1.0 + const * const) * w2
        if gap <= tol:
            return it + 1, gap, True
    return max_iter, gap, False


_NATIVE: dict = {}


def _native(fn, fallback, fastmath=False):
    """``fn`` compiled by numba (lazily, cached on disk) when installed, else the NumPy ``fallback``."""
    if fn in _NATIVE:
        return _NATIVE[fn]
    try:
        if os.environ.get("L2KIT_DISABLE_NUMBA"):     # the project-wide switch (see metrics._fused)
            raise ImportError("numba disabled by L2KIT_DISABLE_NUMBA")
        import numba

        got = numba.njit(cache=True, fastmath=fastmath)(fn)
    except Exception:  # numba missing or unusable: same results, vectorised NumPy (or None: no such path)
        got = fallback
    _NATIVE[fn] = got
    return got


def _kernel():
    """The coordinate-descent kernel: numba-compiled when available, else plain Python (same algorithm)."""
    return _native(_cd_gram, _cd_gram)


# ---------------------------------------------------------------------------
# working sets, a float32 Gram matrix and exact float64 refinement
# ---------------------------------------------------------------------------
#: elements per row block when forming a Gram matrix (2 MiB of float32: cache-sized, never a copy of A)
_BLOCK_ELEMS = 1 << 19


def _block_rows(m):
    """Rows per block of a Gram matrix over ``m`` columns."""
    return max(256, _BLOCK_ELEMS // max(m, 1))


#: a float32 round must shrink the duality gap by this factor, else the Gram is rebuilt in float64
_MIN_GAIN = 1e-2
#: a probe step leaving this fraction of the columns active settles "all columns" (measured: the
#: second step cuts the count by at most ~30%, and all columns are taken above 40%)
_DENSE_PROBE = 0.8
#: a float32 Gram pays for its extra refinement pass once |S|^2 >= this * p
_F32_MIN_RATIO = 32


def _centre_cast(A, i0, i1, cols, cv, mean, out):  # pragma: no cover - compiled by numba
    """``out[i - i0, k] = A[i, cols[k]] - cv[i] mean[k]`` in ``out``'s dtype."""
    m = cols.shape[0]
    j0 = cols[0] if m else 0
    if A.strides[0] >= A.strides[1]:
        run = m > 0 and cols[m - 1] - j0 == m - 1
        for i in range(i0, i1):            # row views keep the inner loops vectorised
            ci = cv[i]
            o = out[i - i0]
            if run:
                a = A[i, j0:j0 + m]
                for k in range(m):
                    o[k] = a[k] - ci * mean[k]
            else:
                a = A[i]
                for k in range(m):
                    o[k] = a[cols[k]] - ci * mean[k]
    else:
        for k in range(m):
            j, mk = cols[k], mean[k]
            for i in range(i0, i1):
                out[i - i0, k] = A[i, j] - cv[i] * mk


def _centre_cast_numpy(A, i0, i1, cols, cv, mean, out):
    blk = np.take(A[i0:i1], cols, axis=1)
    blk -= cv[i0:i1, None] * mean
    out[...] = blk


def _row_pass(A, w, base, cv, mw, r, g, h, d):  # pragma: no cover - compiled by numba
    """One pass over the rows: ``r = base - A w + cv mw`` and ``g = A^T r``; when ``h`` and ``d``
    are non-empty also ``h = A^T cv`` and ``d = sum of squares`` per column (``w`` empty means zero)."""
    n, p = A.shape
    g[:] = 0.0
    h[:] = 0.0
    d[:] = 0.0
    for i in range(n):
        a = A[i]                           # row views keep the inner loops vectorised
        s = 0.0
        if w.shape[0]:
            for j in range(p):
                s += a[j] * w[j]
        ri = base[i] - s + cv[i] * mw
        r[i] = ri
        for j in range(p):
            g[j] += a[j] * ri
        if h.shape[0]:
            ci = cv[i]
            for j in range(p):
                v = a[j]
                h[j] += v * ci
                d[j] += v * v


def _row_pass_numpy(A, w, base, cv, mw, r, g, h, d):
    r[:] = base - (A @ w if w.shape[0] else 0.0) + cv * mw
    g[:] = r @ A
    if h.shape[0]:
        h[:] = cv @ A
        d[:] = np.einsum("ij,ij->j", A, A)


class NonFiniteData(ArithmeticError):
    """Column statistics are not finite: the caller reports where the NaN/inf are."""


class _Centred:
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
        """:func:`_row_pass` (compiled, single-threaded) on row-major data, else two BLAS passes."""
        # reassociation lets the row dot products vectorise (no finite-math assumption: NaN still shows)
        kernel = _native(_row_pass, _row_pass_numpy, {"reassoc", "contract"}) if self.A.flags.c_contiguous \
            else _row_pass_numpy
        kernel(self.A, w, base, self.cv, mw, r, g, h, d)

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
        rows = _block_rows(m)
        buf = np.empty((min(rows, n), m), dtype=dtype)
        G = np.zeros((m, m - start))
        cast = _native(_centre_cast, _centre_cast_numpy)
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


#: naive updates only when the first probe step moves the separable solution by at most this (relative)
_NAIVE_MAX_SPREAD = 0.5
#: sweeps per round before naive updates give way to covariance updates (about one Gram matrix's time)
_NAIVE_SWEEPS = 16
#: a naive round must at least halve the gap, else covariance updates take over (its sweeps stop at a
#: relative change, so a round near the optimum may gain only ~5x: measured 5-400x on orthogonal designs)
_NAIVE_MIN_GAIN = 0.5
#: the float32 column copy is made only up to this many elements (256 MiB)
_NAIVE_MAX_ELEMS = 1 << 26


def _naive_kernel():
    """The compiled naive-update kernel, or None without numba (plain Python would be O(n) slower per update)."""
    return _native(cd_naive, None, {"reassoc", "contract"})


def _naive_min_p(tol):
    """Fewest columns for which naive sweeps beat the Gram matrix (cost model measured on 10000 x 200).

    Per element of ``A``: a float32 Gram costs ``p`` x 2.1e-11 s, the tiled
    column copy 7.5e-10 s (its group products come with the first sweep), a
    sweep 1.27e-10 s and an exact pass 4.3e-10 s. Measured sweeps: 6 at
    ``tol`` = 1e-5, 7 at 1e-6; tighter, 14 in two or three rounds (a first
    round stops near 1e-7, the float32 floor), so one more exact pass than
    the float32 Gram's refinement. That gives 72, 78 and 140 columns; the
    model is on the safe side: forced-naive against the Gram path on
    10000 x p measured 1.63 vs 1.73 ms at p = 48 (tol 1e-5), 2.17 vs 2.56 ms
    at p = 60 (1e-6) and 4.29 vs 4.34 ms at p = 100 (1e-8).
    """
    sweeps, passes = (6, 0) if tol >= 1e-5 else (7, 0) if tol >= 1e-6 else (14, 1)
    return int((7.5e-10 + sweeps * 1.27e-10 + passes * 4.3e-10) / 2.1e-11)


def _column_copy(A):
    """The kernel for :class:`_NaiveCopy`'s transposed copy: by register tiles when ``A``'s rows are
    contiguous (:mod:`._tile`), else element by element."""
    if A.dtype == np.float64 and A.strides[1] == A.itemsize:
        try:
            from ._tile import centre_columns_f32_tiled

            return centre_columns_f32_tiled
        except Exception:  # an llvmlite without the IR builder used there: the element-wise copy
            pass
    return _native(centre_columns_f32, None, {"reassoc", "contract"})


class _NaiveCopy:
    """The centred columns in float32, contiguous, with their Gram matrix within groups of four (filled by
    the first sweep)."""

    def __init__(self, X, tol):
        n, p = X.A.shape
        padded = -(-p // GROUP) * GROUP
        self.p = p
        self.columns = np.empty((padded, n), dtype=np.float32)
        self.columns[p:] = 0.0                     # zero columns: never updated, no effect on rho
        _column_copy(X.A)(X.A, np.ascontiguousarray(X.cv), np.ascontiguousarray(X.mean), self.columns)
        self.within = np.zeros((padded, GROUP))
        self.fresh = True                          # ``within`` not yet filled
        # inner sweeps stop at the float32 floor, or earlier when tol is loose
        self.eps = min(1e-3, max(float(tol), 1e-7))

    def sweep(self, g, w, l1, l2, inv_n, max_sweeps):
        """Naive sweeps (:func:`l2kit.linear._enet_naive.cd_naive`) from the exact gradient ``g`` at ``w``."""
        out = _naive_kernel()(self.columns, self.within, g, w, l1, l2, inv_n, self.eps, max_sweeps, self.fresh)
        self.fresh = self.fresh and max_sweeps < 1
        return out

    def gram(self, n_pen, l2):
        """``F F^T / n`` accumulated in float64 over row blocks, or None when it is not positive definite."""
        m = self.p
        F = self.columns[:m]
        n = F.shape[1]
        rows = _block_rows(m)
        G = np.zeros((m, m))
        for i0 in range(0, n, rows):
            blk = F[:, i0:i0 + rows]
            G += blk @ blk.T
        G /= n_pen
        return G if np.all(np.isfinite(G)) and _positive_definite(G, l2) else None


def _naive_copy(X, tol, spread):
    """A :class:`_NaiveCopy` when naive updates pay, else None.

    They pay when the columns are nearly orthogonal (``spread``, from the
    probe), numerous enough for the Gram matrix to cost more than the sweeps,
    the copy is bounded and the kernel is compiled.
    """
    n, p = X.A.shape
    if spread > _NAIVE_MAX_SPREAD or p < _naive_min_p(tol) or n * p > _NAIVE_MAX_ELEMS or _naive_kernel() is None:
        return None
    if not np.all(X.bound < _F32_SAFE):             # beyond float32's range: covariance updates
        return None
    return _NaiveCopy(X, tol)


#: centred values below this (float32's largest is 3.4e38) cannot round to inf in the copy
_F32_SAFE = 3e38


def _positive_definite(G, l2):
    """Whether ``G + l2 I`` (equilibrated) has a Cholesky factor: O(p^3 / 3), small next to the O(n p^2) Gram."""
    from scipy.linalg import lapack

    d = np.sqrt(np.maximum(G.diagonal(), 0.0) + l2)
    d[d == 0] = 1.0
    M = G / d[:, None] / d[None, :]
    M[np.diag_indices_from(M)] += l2 / d**2
    return lapack.dpotrf(M, lower=0, clean=0, overwrite_a=1)[1] == 0


def _soft_diag(z, d, l1, l2):
    """Coordinate-wise minimiser of ``d w^2 / 2 - z w + l1 |w| + l2 w^2 / 2`` (0 where ``d = 0``)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(d > 0, np.sign(z) * np.maximum(np.abs(z) - l1, 0.0) / (d + l2), 0.0)


def duality_gap(w, r, g, bc, l1, l2, n_pen):
    """scikit-learn's elastic-net duality gap divided by ``n``, from exact residuals ``r`` and ``g = A_c^T r / n``."""
    R2 = float(r @ r) / n_pen
    dual = float(np.max(np.abs(g - l2 * w), initial=0.0))
    const = l1 / dual if dual > l1 else 1.0
    gap = 0.5 * R2 * (1.0 + const * const) if dual > l1 else R2
    return max(gap + l1 * float(np.abs(w).sum()) - const * float(r @ bc) / n_pen
               + 0.5 * l2 * (1.0 + const * const) * float(w @ w), 0.0)


def enet_active_set(A, b, c, n_pen, alpha, l1_ratio, *, tol=1e-10, max_iter=10000, max_rounds=50):
    r"""Elastic net on a working set, by covariance updates on a float32 Gram refined in float64.

    *Working set.* Only inner products among the working set ``S`` are
    formed: O(n |S|^2) instead of O(n p^2). A probe sizes ``S`` first: the
    separable solution (each column alone, variances from the first pass) and
    two damped Jacobi steps on exact gradients, four O(np) passes in all
    (one step fewer when the first already leaves 80% of the columns active).
    When more than half the columns look active, ``S`` is all of them (one
    contiguous Gram beats gathering); otherwise ``S`` is the probe's largest
    ``1.25 k`` (at least 64) columns by |score|. Columns outside ``S`` that
    violate the KKT conditions after a round join it.

    *Rounds.* Each round solves the quadratic model

    .. math::
        \tfrac12 (w - w_k)^T Q_S (w - w_k) - g_k^T (w - w_k) + \text{penalty}(w)

    by coordinate descent, where ``g_k = A_c^T r_k / n`` is the *exact*
    gradient from float64 residuals. The fixed point of the rounds is the
    exact float64 optimum whatever the rounding in ``Q_S``, which only sets
    the contraction per round (about 1e-5 for a well-conditioned design: one
    refinement round). ``Q_S`` is float32 when ``|S|^2 >= 32 p`` (below
    that the saved BLAS time is less than the extra round costs). It is
    rebuilt in float64 (for good) when the float32 matrix is not positive
    definite or when a round shrinks the gap less than a hundredfold.

    *Naive rounds.* When the probe finds all columns active and nearly
    orthogonal (one Jacobi step moves the separable solution by at most half
    its size) and the cost model of :func:`_naive_min_p` says the Gram
    matrix costs more than the sweeps (many columns, loose ``tol``), rounds
    run naive updates on a centred float32 copy of the columns instead, from
    the same exact gradients. More than 16 sweeps in a round, or a round
    that does not halve the gap, hands over to covariance updates on the
    copy's Gram matrix (float64 from ``A`` when that is not positive
    definite).

    *Stop.* After each round the duality gap of the *full* problem is
    computed from the exact residuals; convergence needs it below
    ``tol * ||b_c||^2 / n``. A float64 round that stalls above it ends the
    loop unconverged (the rounding floor) rather than claiming success.

    Returns ``coef, b0, n_sweeps, gap, converged, working_set_size, residuals``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> A = rng.normal(size=(500, 300)); b = A[:, :3] @ [2.0, -1.0, 0.5] + 0.1 * rng.normal(size=500)
    >>> coef, b0, it, gap, ok, size, r = enet_active_set(A, b, 1.0, 500, 0.05, 1.0)
    >>> ok, np.flatnonzero(coef).tolist(), size < 300
    (True, [0, 1, 2], True)
    """
    with _one_blas_thread():
        return _enet_active_set(A, b, c, n_pen, alpha, l1_ratio, tol=tol, max_iter=max_iter,
                                max_rounds=max_rounds)


_CONTROLLER = None


def _one_blas_thread():
    """Context limiting BLAS to one thread (threadpoolctl, when installed).

    The products here are thin (n x |S| blocks and matrix-vector); on the
    shared 2-core machines measured, a second BLAS thread cost more in
    wake-ups than it saved (interleaved medians 1.1-1.9x slower).
    """
    global _CONTROLLER
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # optional: same results, default threading
        import contextlib

        return contextlib.nullcontext()
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")


def _enet_active_set(A, b, c, n_pen, alpha, l1_ratio, *, tol, max_iter, max_rounds):
    """The body of :func:`enet_active_set`."""
    p = A.shape[1]
    X = _Centred(A, b, c, n_pen)
    l1 = float(alpha * l1_ratio)
    l2 = float(alpha * (1.0 - l1_ratio))
    wide = p > _FULL_GRAM_MAX_P
    # probe the support size: the separable (diagonal) solution, then up to two damped Jacobi steps on
    # exact gradients (O(np) passes, against O(n p^2) for a Gram matrix)
    w, z = _soft_diag(X.q, X.diag, l1, l2), X.q
    spread = np.inf              # how far the first Jacobi step moves the separable solution
    if wide:
        k = int((np.abs(z) > l1).sum()) // 3
    else:
        for first in (True, False):
            z = X.residuals_gradient(w)[1] + X.diag * w
            step = _soft_diag(z, X.diag, l1, l2)
            if first:
                spread = conditioning(X.diag, w, step)
            w = 0.5 * (w + step)
            k = int(np.count_nonzero(step))
            if k >= _DENSE_PROBE * p:     # all columns whatever a second step says: save its pass
                break
    k = min(p, max(64, int(1.25 * k)))
    # most columns needed: one contiguous Gram of all of them beats gathering a subset
    S = np.arange(p) if 2 * k > p and not wide else np.sort(np.argsort(-np.abs(z), kind="stable")[:k])
    # all columns active and nearly orthogonal: a few naive sweeps cost less than the Gram matrix
    F = _naive_copy(X, tol, spread) if S.size == p else None
    force64 = False               # set once float32 has failed: every later Gram is float64
    exact = True                  # whether the current Q was built in float64 throughout

    def dtype(m):
        return np.float64 if force64 or m * m < _F32_MIN_RATIO * p else np.float32

    def gram(cols, start=0):
        nonlocal force64, exact
        kind = dtype(cols.size)
        G = X.gram(cols, start, kind)
        if kind != np.float64 and start == 0 and not _positive_definite(G, l2):
            force64, kind = True, np.float64   # float32 rounding broke definiteness: no model to refine
            G = X.gram(cols, start, kind)
        exact = (exact or start == 0) and kind == np.float64
        return G

    Q = gram(S) if F is None else None
    w, r, g = np.zeros(p), X.bc, X.q
    kernel = _kernel()
    stop = float(tol * max(X.yy, 1e-300))
    sweeps, gap, ok, prev = 0, np.inf, False, np.inf
    for _ in range(max_rounds):
        budget = int(max_iter - sweeps)
        if F is not None:                  # naive updates on the float32 copy, from the exact gradient
            it, inner_ok = F.sweep(g, w, l1, l2, 1.0 / X.n_pen, min(budget, _NAIVE_SWEEPS))
            spent = not inner_ok and budget <= _NAIVE_SWEEPS
        else:
            wS = np.ascontiguousarray(w[S])
            H = Q @ wS
            qe = g[S] + H                      # the model's gradient at w_k is the exact g_k
            yye = float(r @ r) / X.n_pen + 2.0 * float(qe @ wS) - float(wS @ H)
            it, _, inner_ok = kernel(Q, qe, wS, H, l1, l2, yye, 0.1 * stop, budget)
            w[S] = wS
            spent = not inner_ok
        sweeps += int(it)
        r, g = X.residuals_gradient(w)
        gap = duality_gap(w, r, g, X.bc, l1, l2, X.n_pen)
        if spent:                          # the sweep budget is spent
            break
        if gap <= stop:
            ok = True
            break
        if F is not None:
            if not inner_ok or gap > _NAIVE_MIN_GAIN * prev:
                # slow sweeps or stalled rounds: the design is not as orthogonal as the probe said;
                # covariance updates from here on, on a Gram matrix from the copy
                Q, F = F.gram(X.n_pen, l2), None
                if Q is None:               # not positive definite in float32: float64 from here on
                    force64 = True
                    Q = gram(S)
                else:
                    exact = False
            prev = gap
            continue
        out = np.ones(p, bool)
        out[S] = False
        viol = np.flatnonzero(out & (np.abs(g) > l1 * (1 + 1e-12)))
        if viol.size:
            if wide:                        # wide data: grow S by the worst violators only
                viol = viol[np.argsort(-np.abs(g[viol]), kind="stable")[: max(32, S.size)]]
            if S.size + viol.size > p // 2 and not wide:
                # most columns are needed: one contiguous Gram of all of them beats a gathered extension
                S = np.arange(p)
                Q = gram(S)
            else:
                S = np.concatenate([S, viol])
                GN = gram(S, S.size - viol.size)
                Q = np.block([[Q, GN[: -viol.size]], [GN[: -viol.size].T, GN[-viol.size:]]])
            prev = np.inf
            continue
        if gap > _MIN_GAIN * prev:
            if exact:                       # float64 rounding floor: do not claim convergence
                break
            force64 = True
            Q = gram(S)
        prev = gap
    b0 = X.bmean - float(X.mean @ w)
    return w, b0, sweeps, float(gap), ok, int(S.size), r
