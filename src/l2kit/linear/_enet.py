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
    >>> g = Ac.T @ (bc - Ac @ coef) / 100      # lasso KKT: g = 0.1 sign(coef) on the support
    >>> ok, bool(coef[1] == 0.0), bool(np.allclose(g[[0, 2]], 0.1 * np.sign(coef[[0, 2]])))
    (True, True, True)
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


def _times(blocks, w):
    """``[X_1, X_2, ...] @ w`` for a working set kept as column blocks (no concatenation copy)."""
    out, k = None, 0
    for Xi in blocks:
        v = Xi @ w[k:k + Xi.shape[1]]
        out = v if out is None else out + v
        k += Xi.shape[1]
    return out


_CONTROLLER = None


def _one_blas_thread():
    """Context limiting BLAS to one thread (threadpoolctl, when installed).

    The working-set products are small (n x |S|); threading them costs more in
    wake-ups than it saves, and much more on a busy machine.
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


class NonFiniteData(ArithmeticError):
    """Column statistics are not finite: the caller reports where the NaN/inf are."""


def enet_active_set(A, b, c, n_pen, alpha, l1_ratio, *, tol=1e-10, max_iter=10000, max_rounds=50):
    r"""Elastic net with covariance updates restricted to a growing working set, with a KKT check.

    Only inner products among the working set ``S`` are formed (the columns
    of ``A`` in ``S``, explicitly centred, so no cancellation), which costs
    O(n |S|^2) instead of O(n p^2); columns that join later only add their
    own inner products. ``S`` starts with the columns most correlated with the
    target (the candidates |q_j| > alpha*l1_ratio, at most a quarter of them
    and at least 32). After coordinate descent converges on ``S`` (duality
    gap), the KKT conditions are checked for every column outside ``S`` in
    one O(np) pass; all violators join ``S`` and the loop repeats. When no
    column violates them the restricted problem's gap is the full problem's.

    Returns ``coef, b0, n_sweeps, gap, converged, working_set_size, residuals``.
    """
    with _one_blas_thread():
        return _enet_active_set(A, b, c, n_pen, alpha, l1_ratio, tol=tol, max_iter=max_iter,
                                max_rounds=max_rounds)


def _enet_active_set(A, b, c, n_pen, alpha, l1_ratio, *, tol, max_iter, max_rounds):
    n, p = A.shape
    has_c = c is not None
    cv = None
    if has_c:
        cv = np.full(n, 1.0) if np.ndim(c) == 0 else c
        sw = float(cv @ cv)
        mean = (cv @ A) / sw
        bmean = float(cv @ b) / sw
    else:
        sw, mean, bmean = 0.0, np.zeros(p), 0.0
    bc = b - cv * bmean if has_c else b
    q = (bc @ A - (mean * float(cv @ bc) if has_c else 0.0)) / n_pen     # A_c^T b_c / n
    yy = float(bc @ bc) / n_pen
    if not (np.all(np.isfinite(q)) and np.isfinite(yy)):
        raise NonFiniteData("NaN/inf in A or b")
    l1 = float(alpha * l1_ratio)
    l2 = float(alpha * (1.0 - l1_ratio))

    def centred(cols):
        Xn = np.take(A, cols, axis=1)
        if has_c:
            if np.ndim(c):
                Xn -= cv[:, None] * mean[cols]
            else:
                Xn -= mean[cols]
        return Xn

    order = np.argsort(-np.abs(q), kind="stable")
    cand = int((np.abs(q) > l1).sum())
    S = order[: min(p, max(64, min(cand // 3, n)), max(cand, 1))]   # a lasso has at most n non-zeros
    if S.size > p // 2 and p <= _FULL_GRAM_MAX_P:
        # most columns will be needed: one full Gram pass is cheaper than growing a working set
        from ._direct import centred_gram

        S, blocks, GS = np.arange(p), None, centred_gram(A, b, c).G / n_pen
    else:
        blocks = [centred(S)]
        GS = (blocks[0].T @ blocks[0]) / n_pen
    w = np.zeros(p)
    kernel = _kernel()
    sweeps = 0
    gap, ok = np.inf, False
    for _ in range(max_rounds):
        if blocks is None:     # the full problem was solved: nothing is outside S
            wS = np.ascontiguousarray(w)
            it, gap, ok = kernel(np.ascontiguousarray(GS), np.ascontiguousarray(q), wS, GS @ wS, l1, l2, yy,
                                 float(tol * max(yy, 1e-300)), int(max_iter - sweeps))
            sweeps += int(it)
            w[:] = wS
            break
        wS = np.ascontiguousarray(w[S])
        HS = GS @ wS
        it, gap, ok = kernel(np.ascontiguousarray(GS), np.ascontiguousarray(q[S]), wS, HS, l1, l2, yy,
                             float(tol * max(yy, 1e-300)), int(max_iter - sweeps))
        sweeps += int(it)
        w[:] = 0.0
        w[S] = wS
        if not ok:
            break
        # KKT for the columns outside S: |A_c^T r| / n <= l1 where their coefficient is 0
        fitted = _times(blocks, wS)
        grad = (fitted @ A - (mean * float(cv @ fitted) if has_c else 0.0)) / n_pen
        g = np.abs(q - grad)
        g[S] = 0.0
        viol = np.flatnonzero(g > l1 * (1 + 1e-12))
        if viol.size == 0:
            break
        ok = False
        if p > _FULL_GRAM_MAX_P:
            # wide data: never form the p x p Gram; grow S by the worst violators only
            k = max(32, S.size)
            viol = viol[np.argsort(-g[viol], kind="stable")[:k]]
        elif S.size + viol.size > p // 2:
            # most columns are needed: the blocked one-pass Gram of all columns is cheaper than growing
            from ._direct import centred_gram

            S = np.arange(p)
            GS = centred_gram(A, b, c).G / n_pen
            blocks = None
            continue
        XN = centred(viol)
        GSN = np.vstack([Xi.T @ XN for Xi in blocks]) / n_pen
        GNN = (XN.T @ XN) / n_pen
        GS = np.block([[GS, GSN], [GSN.T, GNN]])
        blocks.append(XN)
        S = np.concatenate([S, viol])
    b0 = (bmean - float(mean @ w)) if has_c else 0.0
    # residuals b - c b0 - A w = b_c - A_c w (whitened scale), from the working-set columns
    r = bc - (_times(blocks, w[S]) if blocks is not None else A @ w - (cv * float(mean @ w) if has_c else 0.0))
    return w, b0, sweeps, float(gap), bool(ok), int(S.size), r
