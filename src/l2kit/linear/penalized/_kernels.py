"""The compiled kernels of covariance-update coordinate descent (numba through :mod:`l2kit._jit`).

Each kernel is a plain function with a NumPy (or plain-Python) fallback used
when numba is missing or ``L2KIT_DISABLE_NUMBA`` is set: same results, slower.
"""

from __future__ import annotations

import numpy as np

from ..._jit import jit

__all__ = ["cd_kernel", "centre_cast_kernel", "row_pass_kernel"]


def cd_gram(Q, q, w, H, l1, l2, yy, tol, max_iter):  # pragma: no cover - compiled by numba
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


def centre_cast(A, i0, i1, cols, cv, mean, out):  # pragma: no cover - compiled by numba
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


def centre_cast_numpy(A, i0, i1, cols, cv, mean, out):
    blk = np.take(A[i0:i1], cols, axis=1)
    blk -= cv[i0:i1, None] * mean
    out[...] = blk


def row_pass(A, w, base, cv, mw, r, g, h, d):  # pragma: no cover - compiled by numba
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


def row_pass_numpy(A, w, base, cv, mw, r, g, h, d):
    r[:] = base - (A @ w if w.shape[0] else 0.0) + cv * mw
    g[:] = r @ A
    if h.shape[0]:
        h[:] = cv @ A
        d[:] = np.einsum("ij,ij->j", A, A)


def cd_kernel():
    """The coordinate-descent kernel: numba-compiled when available, else plain Python (same algorithm)."""
    return jit(cd_gram, cd_gram)


def centre_cast_kernel():
    """The centring block copy into a float32 or float64 buffer."""
    return jit(centre_cast, centre_cast_numpy)


def row_pass_kernel(A: np.ndarray):
    """The fused residual-and-gradient pass: compiled for row-major ``A``, else two BLAS passes."""
    # reassociation lets the row dot products vectorise (no finite-math assumption: NaN still shows)
    if A.flags.c_contiguous:
        return jit(row_pass, row_pass_numpy, fastmath={"reassoc", "contract"})
    return row_pass_numpy
