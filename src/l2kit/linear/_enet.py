r"""Elastic net and lasso by coordinate descent on the centred Gram matrix, with a duality-gap stop.

Minimises the glmnet / scikit-learn ElasticNet objective

.. math::
    \frac{1}{2n}\|b - c\beta_0 - A\beta\|^2 + \alpha\lambda\|\beta\|_1 + \frac{\alpha(1-\lambda)}{2}\|\beta\|^2

(``n`` = sum of weights when weighted). One pass over the rows forms the
centred Gram matrix :math:`Q = A_c^H A_c / n` and :math:`q = A_c^H b_c / n`
(see :func:`~l2kit.linear._direct.centred_gram`); every coordinate update then
costs O(p) ("covariance updates", Friedman, Hastie & Tibshirani 2010) and the
duality gap of scikit-learn's ``enet_coordinate_descent_gram`` is evaluated
after every sweep in O(p). The loop stops when the gap is below
``tol * ||b_c||^2 / n``; it never reports convergence at ``max_iter``.

The kernel is compiled by numba when installed (lazily, on first use) and
runs as plain Python otherwise; both live behind :func:`_kernel`.
"""

from __future__ import annotations

import numpy as np

_KERNEL = None


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


def _kernel():
    """The coordinate-descent kernel: numba-compiled when available, else plain Python."""
    global _KERNEL
    if _KERNEL is None:
        try:
            import numba

            _KERNEL = numba.njit(cache=True, fastmath=False)(_cd_gram)
        except Exception:  # numba missing or unusable: same algorithm, slower
            _KERNEL = _cd_gram
    return _KERNEL


def enet_gram(G, Atb, bss, n_pen, alpha, l1_ratio, *, tol=1e-10, max_iter=10000):
    """Coordinate descent from a centred Gram matrix; returns (coef, n_iter, gap, converged).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> A = rng.normal(size=(100, 3)); b = A @ [2.0, 0.0, -1.0] + 0.1 * rng.normal(size=100)
    >>> Ac, bc = A - A.mean(0), b - b.mean()
    >>> coef, it, gap, ok = enet_gram(Ac.T @ Ac, Ac.T @ bc, bc @ bc, 100, 0.1, 1.0)
    >>> ok, np.round(coef, 2)
    (True, array([ 1.87,  0.  , -0.92]))
    """
    Q = np.ascontiguousarray(G / n_pen, dtype=np.float64)
    q = np.ascontiguousarray(Atb / n_pen, dtype=np.float64)
    yy = float(bss / n_pen)
    p = q.shape[0]
    w = np.zeros(p)
    H = np.zeros(p)
    l1 = float(alpha * l1_ratio)
    l2 = float(alpha * (1.0 - l1_ratio))
    it, gap, ok = _kernel()(Q, q, w, H, l1, l2, yy, float(tol * max(yy, 1e-300)), int(max_iter))
    return w, int(it), float(gap), bool(ok)
