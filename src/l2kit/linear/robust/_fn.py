r"""Quantile regression by a Frisch-Newton interior point, finished at an exact, verified LP vertex.

The quantile LP in its bounded "a-form" (Koenker's, behind ``quantreg::rq.fit.fnb``):

.. math::
    \min_a\ -y^\top a \quad\text{s.t.}\quad X^\top a = (1-q) X^\top c,\quad 0 \le a \le c

(``c`` the case weights; ``a = \lambda + (1-q)c`` for the dual variables ``λ`` of :mod:`.quantile`).
Its dual variables are the coefficients: ``β = -v`` for the multipliers ``v`` of the equality rows.
:func:`frisch_newton` runs Mehrotra's predictor-corrector on it, keeping primal and dual feasibility
and driving the complementarity ``x z + s w`` to zero; each iteration costs one ``k x k`` weighted Gram
matrix (``O(n k^2)``) and a Cholesky solve. This follows the published algorithm (Portnoy & Koenker
1997, Sec. 4); the code is written from the equations, not from quantreg.

An interior point ends *near* the optimal face. :func:`vertex` turns it into the exact answer: the
``k`` rows with the smallest residuals form a basis ``h``, ``β = X_h^{-1} y_h`` exactly, the other rows'
dual values are set by the signs of their residuals, and the basis's own dual values solve
``X_h^\top λ_h = -X_{\bar h}^\top λ_{\bar h}``; the vertex is optimal exactly when every ``λ_h`` lies in its
bounds (complementary slackness and dual feasibility: the LP's KKT conditions). A vertex that fails
the check is reported as None and the caller solves the LP by HiGHS instead (never an approximation).
"""

from __future__ import annotations

import numpy as np

__all__ = ["FN_DIRECT_ROWS", "frisch_newton", "solve_quantile_fn", "vertex"]

#: the fraction of the distance to the boundary a step may take (Koenker's beta)
_STEP = 0.99995
#: frisch_newton stops when the relative duality gap, once below 1e-6 (or 1000 tolerances), has not halved in this
#: many iterations: the rounding floor (a 1e-12 gap on 4000 rows stalled at 6e-12 for 90 iterations; a reduced
#: problem with a discrete target and two pseudo-observations at 1e-7 until it broke down); the vertex finishes
_STALL = 3


def fn_steps(x, dx, s, z, dz, w, dw):  # pragma: no cover - compiled by numba
    """The primal and dual step lengths: ``_STEP`` of the way to the boundary, at most 1 (``ds = -dx``).

    A ratio is divided out only when it beats the current minimum (divisions dominate these loops)."""
    tp = np.inf
    td = np.inf
    for i in range(x.shape[0]):
        dxi = dx[i]
        if dxi < 0.0:
            if x[i] < -tp * dxi:
                tp = -x[i] / dxi
        elif dxi > 0.0:
            if s[i] < tp * dxi:
                tp = s[i] / dxi
        if dz[i] < 0.0 and z[i] < -td * dz[i]:
            td = -z[i] / dz[i]
        if dw[i] < 0.0 and w[i] < -td * dw[i]:
            td = -w[i] / dw[i]
    return min(_STEP * tp, 1.0), min(_STEP * td, 1.0)


def fn_scale(x, s, z, w, d, dr, ix, is_):  # pragma: no cover - compiled by numba
    """``d = 1 / (z/x + w/s)``, ``dr = d (z - w)`` (the Newton system's weights and right-hand side) and
    the reciprocals ``1/x``, ``1/s`` the other kernels multiply by."""
    for i in range(x.shape[0]):
        a = 1.0 / x[i]
        b = 1.0 / s[i]
        ix[i] = a
        is_[i] = b
        di = 1.0 / (z[i] * a + w[i] * b)
        d[i] = di
        dr[i] = di * (z[i] - w[i])


def fn_predict(z, w, d, t, dx, dz, dw, ix, is_):  # pragma: no cover - compiled by numba
    """The affine-scaling step from ``t = X dv`` (``ds = -dx``)."""
    for i in range(z.shape[0]):
        dxi = d[i] * (t[i] - (z[i] - w[i]))
        dx[i] = dxi
        dz[i] = -z[i] * (dxi * ix[i] + 1.0)
        dw[i] = -w[i] * (1.0 - dxi * is_[i])


def fn_centre(x, s, z, w, d, dx, dz, dw, fp, fd, rhs, ix, is_):  # pragma: no cover - compiled by numba
    """Mehrotra's centring target ``mu`` and the corrector's right-hand side ``d vv`` (into ``rhs``); the
    affine step's second-order products are left in ``dz`` and ``dw`` and ``mu`` in ``dx``."""
    n = x.shape[0]
    mu = 0.0
    g = 0.0
    for i in range(n):
        mu += z[i] * x[i] + w[i] * s[i]
        g += (z[i] + fd * dz[i]) * (x[i] + fp * dx[i]) + (w[i] + fd * dw[i]) * (s[i] - fp * dx[i])
    mu = mu * (g / mu) ** 3 / (2 * n)
    for i in range(n):
        dxdz = dx[i] * dz[i]
        dsdw = -dx[i] * dw[i]
        rhs[i] = d[i] * ((z[i] - w[i]) - mu * (ix[i] - is_[i]) + dxdz * ix[i] - dsdw * is_[i])
        dz[i] = dxdz
        dw[i] = dsdw
        dx[i] = mu


def fn_correct(z, w, d, t, dv_rhs, dx, dz, dw, ix, is_):  # pragma: no cover - compiled by numba
    """The corrected step from ``t = X dv`` (``dx`` holds mu, ``dz``/``dw`` the affine products)."""
    for i in range(z.shape[0]):
        mu = dx[i]
        dxi = d[i] * t[i] - dv_rhs[i]
        dx[i] = dxi
        dz[i] = (mu - dz[i] - z[i] * dxi) * ix[i] - z[i]
        dw[i] = (mu - dw[i] + w[i] * dxi) * is_[i] - w[i]


def fn_update(x, s, z, w, dx, dz, dw, fp, fd, y, c):  # pragma: no cover - compiled by numba
    """Take the steps; returns ``(y^T x, c^T w)`` for the duality gap."""
    yx = 0.0
    cw = 0.0
    for i in range(x.shape[0]):
        x[i] += fp * dx[i]
        s[i] -= fp * dx[i]
        z[i] += fd * dz[i]
        w[i] += fd * dw[i]
        yx += y[i] * x[i]
        cw += c[i] * w[i]
    return yx, cw


def _kernels():
    """The compiled kernels, or None without numba (the caller then solves the LP by HiGHS)."""
    from ..._jit import jit

    ks = [jit(f, None) for f in (fn_steps, fn_scale, fn_predict, fn_centre, fn_correct, fn_update)]
    return None if any(k is None for k in ks) else ks


def _gram(X, d, block=4096):
    """``X^T diag(d) X`` by BLAS: ``syrk`` on row blocks scaled by ``sqrt(d)`` (half the flops; a block stays
    in cache instead of a scaled copy of all of ``X``) for wide ``X``."""
    if X.shape[1] <= 8:
        return (X * d[:, None]).T @ X
    from scipy.linalg.blas import dsyrk

    r = np.sqrt(d)
    M = None
    for i in range(0, X.shape[0], block):
        Y = X[i:i + block] * r[i:i + block, None]
        M = dsyrk(1.0, Y.T, trans=0, lower=0) if M is None else dsyrk(1.0, Y.T, beta=1.0, c=M, trans=0,
                                                                       lower=0, overwrite_c=1)
    return np.triu(M) + np.triu(M, 1).T


def _factor(M):
    """The Cholesky factor of ``M`` (LAPACK directly: these are tiny systems, solved twice per iteration),
    or ``M`` itself when it is not positive definite (then :func:`_solve` uses least squares)."""
    from scipy.linalg.lapack import dpotrf

    L, info = dpotrf(M, lower=0, clean=0)
    return (L, True) if info == 0 else (M, False)


def _solve(factor, rhs):
    from scipy.linalg.lapack import dpotrs

    L, chol = factor
    if chol:
        return dpotrs(L, rhs, lower=0)[0]
    return np.linalg.lstsq(L, rhs, rcond=None)[0]


def _solve_normal(X, d, rhs):
    """``(X^T diag(d) X)^{-1} rhs``."""
    return _solve(_factor(_gram(X, d)), rhs)


def frisch_newton(X, y, c, q, *, tol=1e-10, max_iter=100):
    """Mehrotra predictor-corrector on the a-form LP; returns ``(beta, n_iter, converged)``.

    ``X`` (n x k), ``y`` (n,), ``c`` (n,) positive weights; the right-hand side is ``(1-q) X^T c``
    (a globbed problem carries its globs as pseudo-observations). Stops when the duality gap is below
    ``tol`` times ``1 + |objective|``, or at its rounding floor (:data:`_STALL`). ``beta`` is None
    without numba.
    """
    kernels = _kernels()
    if kernels is None:
        return None, 0, False
    steps, scale, predict, centre, correct, update = kernels
    n, k = X.shape
    X = np.ascontiguousarray(X)
    # the primal start (1-q) c, strictly inside the box, defines the right-hand side b = X^T x
    x = (1.0 - q) * c
    b = x @ X
    ones = np.ones(n)
    s = c - x
    # a dual feasible start: v from least squares, z - w = -y - X v split into positive parts
    v = -_solve_normal(X, ones, X.T @ y)
    r = -y - X @ v
    delta = 1e-8 * (1.0 + float(np.mean(np.abs(r))))
    z = np.maximum(r, 0.0) + delta
    w = z - r
    d, dr, dx, dz, dw, rhs, ix, is_ = (np.empty(n) for _ in range(8))
    yx, cw = float(y @ x), float(c @ w)
    gaps: list[float] = []
    for it in range(max_iter):
        gap = -yx - float(b @ v) + cw
        rel = abs(gap) / (1.0 + abs(yx))
        if rel <= tol:
            return -v, it, True
        gaps.append(rel)
        if rel < max(1e3 * tol, 1e-6) and rel > 0.5 * gaps[max(0, it - _STALL)]:
            return -v, it, False
        scale(x, s, z, w, d, dr, ix, is_)
        if not np.isfinite(d).all():   # a variable reached its bound exactly: the caller's vertex step finishes
            return -v, it, False
        F = _factor(_gram(X, d))
        dv = _solve(F, X.T @ dr)
        predict(z, w, d, X @ dv, dx, dz, dw, ix, is_)
        fp, fd = steps(x, dx, s, z, dz, w, dw)
        if min(fp, fd) < 1.0:
            centre(x, s, z, w, d, dx, dz, dw, fp, fd, rhs, ix, is_)
            dv = _solve(F, X.T @ rhs)
            correct(z, w, d, X @ dv, rhs, dx, dz, dw, ix, is_)
            fp, fd = steps(x, dx, s, z, dz, w, dw)
        yx, cw = update(x, s, z, w, dx, dz, dw, fp, fd, y, c)
        v = v + fd * dv
    return -v, max_iter, False


def vertex(X, y, c, q, beta, extra_lam=None):
    r"""The exact vertex next to ``beta`` and whether it is optimal (KKT verified); ``(beta, ok)``.

    The basis is ``k`` linearly independent rows taken in order of ``|y - X beta|`` (the ``k``
    smallest when they are independent). At the vertex, rows with a positive residual carry the dual
    value :math:`q c_i`, negative ones :math:`-(1-q) c_i`, and the rows on the fit (within
    ``1e-9 (1 + |y_i|)``, the basis among them) any value in between; the vertex is optimal when
    such values balance, :math:`X^T\lambda = 0`. With only the basis on the fit they are unique
    (one solve); with more rows on it (discrete features and target) their existence is a small LP
    (HiGHS). ``extra_lam`` is ``X_g^T λ_g`` of rows fixed elsewhere (globbed), added to the balance.
    Returns ``(None, False)`` without a well-conditioned basis among the smallest residuals.
    """
    n, k = X.shape
    if n < k:
        return None, False
    h = _basis(X, np.abs(y - X @ beta))
    if h is None:
        return None, False
    try:
        lu = _lu(X[h])
    except np.linalg.LinAlgError:
        return None, False
    from scipy.linalg import lu_solve

    exact = lu_solve(lu, y[h], check_finite=False)
    r = y - X @ exact
    r[h] = 0.0
    on = np.abs(r) <= 1e-9 * (1.0 + np.abs(y))
    lam = np.where(r > 0, q * c, -(1.0 - q) * c)
    lam[on] = 0.0
    bal = X.T @ lam + (0.0 if extra_lam is None else extra_lam)
    if np.count_nonzero(on) == k:
        lam_h = lu_solve(lu, -bal, trans=1, check_finite=False)
        slack = 1e-9 * c[h]
        return exact, bool(np.all(lam_h >= -(1.0 - q) * c[h] - slack) and np.all(lam_h <= q * c[h] + slack))
    return exact, _balances(X[on], c[on], q, -bal)


def _basis(X, a):
    """``k`` linearly independent rows of ``X`` in order of ``a`` (greedy Gram-Schmidt on the rows), or None.

    The first ``max(4k, 64)`` rows of smallest ``a`` are tried, each distinct row once (a repeated row adds
    nothing: with dummy features most are repeats); then 16 times as many, up to all rows.
    """
    n, k = X.shape
    m = min(n, max(4 * k, 64))
    while True:
        cand = np.argpartition(a, m - 1)[:m] if m < n else np.arange(n)
        cand = cand[np.argsort(a[cand], kind="stable")]
        _, first = np.unique(X[cand], axis=0, return_index=True)
        picked = _independent(X, cand[np.sort(first)])
        if picked is not None or m == n:
            return picked
        m = min(n, 16 * m)


def _independent(X, cand):
    """The first ``k`` rows of ``cand`` that are linearly independent of those before them, or None."""
    k = X.shape[1]
    Q = np.empty((k, k))
    picked: list[int] = []
    for i in cand:
        x = X[i]
        v = x - Q[:len(picked)].T @ (Q[:len(picked)] @ x)
        vn = float(np.linalg.norm(v))
        if vn > 1e-8 * float(np.linalg.norm(x)) and vn > 0:
            Q[len(picked)] = v / vn
            picked.append(int(i))
            if len(picked) == k:
                return np.asarray(picked)
    return None


def _balances(XZ, cZ, q, target):
    """Whether dual values ``λ`` with ``-(1-q) c <= λ <= q c`` (1e-9 c of slack) solve ``XZ^T λ = target``.

    Identical rows share one variable whose box is the sum of theirs (the same set of sums ``XZ^T λ``).
    """
    from scipy.optimize import linprog

    U, inv = np.unique(XZ, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    slack = 1e-9 * cZ
    lo = np.bincount(inv, -(1.0 - q) * cZ - slack, minlength=U.shape[0])
    hi = np.bincount(inv, q * cZ + slack, minlength=U.shape[0])
    res = linprog(np.zeros(U.shape[0]), A_eq=U.T, b_eq=target, bounds=np.column_stack([lo, hi]), method="highs")
    return res.status == 0


def _lu(A):
    """LU factors of a square ``A``; LinAlgError when it is singular to working precision."""
    from scipy.linalg import lu_factor

    if A.shape[0] and np.linalg.cond(A) > 1e12:
        raise np.linalg.LinAlgError("singular basis")
    return lu_factor(A, check_finite=False)


#: up to this many rows (or while the preprocessing band would hold a quarter of them) the interior point
#: runs on all rows; above, Portnoy-Koenker preprocessing first
FN_DIRECT_ROWS = 2000
#: preprocessing runs when the subsample of ``m`` rows is under ``1 / _PK_RATIO`` of the rows
_PK_RATIO = 4
#: duality-gap tolerance of the reduced (globbed) problem: its glob pseudo-observations' large residuals weigh in
#: the objective the gap is measured against, and at 1e-10 the k smallest band residuals missed the optimal
#: basis (1e6 x 50, q = 0.1); 1e-12 cost two more iterations there
GLOBBED_GAP_TOL = 1e-12


def fn_glob(X, y, beta, cw, lo, hi, cls, idx, xa, xb):  # pragma: no cover - compiled by numba
    """One pass: residuals ``r = y - X beta``; rows below ``lo`` (class -1) and above ``hi`` (+1) are
    globbed, their weighted rows ``[x, y]`` summed into ``xb`` / ``xa`` (length ``k + 1``, ``y`` last); the
    others (class 0) listed in ``idx``. Returns how many were listed."""
    n, k = X.shape
    xa[:] = 0.0
    xb[:] = 0.0
    m = 0
    for i in range(n):
        r = y[i]
        for j in range(k):
            r -= X[i, j] * beta[j]
        if r < lo:
            cls[i] = -1
            for j in range(k):
                xb[j] += cw[i] * X[i, j]
            xb[k] += cw[i] * y[i]
        elif r > hi:
            cls[i] = 1
            for j in range(k):
                xa[j] += cw[i] * X[i, j]
            xa[k] += cw[i] * y[i]
        else:
            cls[i] = 0
            idx[m] = i
            m += 1
    return m


def fn_verify(X, y, beta, cls, tol):  # pragma: no cover - compiled by numba
    """One pass over the globbed rows: how many residuals have the wrong sign for their bound (beyond
    ``tol (1 + |y|)``), and the smallest and largest such residual."""
    n, k = X.shape
    bad = 0
    lo = np.inf
    hi = -np.inf
    for i in range(n):
        if cls[i] == 0:
            continue
        r = y[i]
        for j in range(k):
            r -= X[i, j] * beta[j]
        t = tol * (1.0 + abs(y[i]))
        if (cls[i] < 0 and r > t) or (cls[i] > 0 and r < -t):
            bad += 1
            lo = min(lo, r)
            hi = max(hi, r)
    return bad, lo, hi


def solve_quantile_fn(Xa, y, c, q, *, seed=0, band=1.5, max_rounds=20, shared=None):
    r"""The exact quantile LP by Frisch-Newton and a verified vertex, with Portnoy-Koenker preprocessing.

    Up to :data:`FN_DIRECT_ROWS` rows, or while ``4m >= n``: :func:`frisch_newton` on all rows, then
    :func:`vertex`. Above: the interior point on a random subsample of
    :math:`m = \max(20k, \sqrt{k}\,n^{2/3})` rows (``quantreg::rq.fit.pfn``'s size); the rows whose
    residuals fall outside the subsample's residual quantiles ``q -+ band m/(2n)`` (a band of about
    ``1.5m`` rows) are globbed at their bounds, each glob entering the reduced problem as one
    pseudo-observation (its rows' summed ``[x, y]``, as ``rq.fit.pfn`` does: the reduced problem keeps
    the standard interior start), which is solved the same way; every globbed row's residual sign is then
    checked against its bound (at the vertex, or at the interior solution when a glob sits in the
    reduced problem's basis); violators join the band and the round repeats. Each round is two compiled
    passes over ``X`` (:func:`fn_glob`, :func:`fn_verify`); memory
    is a byte and an index per row besides ``X``. The answer is a vertex whose KKT conditions hold for
    all ``n`` rows. Returns ``(beta, n_iter, rounds)``, or ``(None, n_iter, rounds)`` when a check
    fails or numba is missing (the caller then solves the LP by HiGHS). ``shared`` (a dict) keeps the
    subsample for later calls on the same data (several quantiles).
    """
    from ..._jit import jit

    shared = {} if shared is None else shared
    if c is not None:
        keep = c > 0
        if not keep.all():
            Xa, y, c = Xa[keep], y[keep], c[keep]
    n, k = Xa.shape
    cw = np.ones(n) if c is None else np.asarray(c, dtype=np.float64)
    m = int(min(n, max(20 * k, np.sqrt(k) * n ** (2 / 3))))     # quantreg's rq.fit.pfn subsample size
    if n <= FN_DIRECT_ROWS or _PK_RATIO * m >= n:     # preprocessing pays once the band is a small part
        beta, it, _ = frisch_newton(Xa, y, cw, q)
        if beta is None:
            return None, it, 0
        exact, ok = vertex(Xa, y, cw, q, beta)
        return (exact if ok else None), it, 0
    glob, verify = jit(fn_glob, None), jit(fn_verify, None)
    if glob is None or verify is None:
        return None, 0, 0
    Xa = np.ascontiguousarray(Xa)
    if "sub" not in shared:
        sub = np.sort(np.random.default_rng(seed).choice(n, m, replace=False))
        shared["sub"] = (np.ascontiguousarray(Xa[sub]), y[sub], cw[sub])
    Xs, ys, cs = shared["sub"]
    beta, iters, _ = frisch_newton(Xs, ys, cs, q)
    if beta is None:
        return None, iters, 0
    # the band from the subsample's residuals: about M of the n rows fall between lo and hi
    M = min(n, int(band * m))
    rs = ys - Xs @ beta
    lo, hi = _band(rs, q, M, n)
    cls, idx = np.empty(n, np.int8), np.empty(n, np.int32 if n < 2**31 else np.int64)   # 4 bytes a row
    xa, xb = np.empty(k + 1), np.empty(k + 1)
    for rounds in range(1, max_rounds + 1):
        size = glob(Xa, y, beta, cw, lo, hi, cls, idx, xa, xb)
        rows = idx[:size]
        band = Xa[rows], y[rows], cw[rows]
        sol, it, _ = frisch_newton(*_with_globs(*band, xa, xb), q, tol=GLOBBED_GAP_TOL)
        iters += it
        if sol is None:
            return None, iters, rounds
        exact, ok = vertex(*band, q, sol, q * xa[:k] - (1.0 - q) * xb[:k])
        # a glob whose rows straddle the fit sits in the optimal basis (zero residual), so the band alone has no
        # optimal vertex: its violators, found at the interior solution, join the band as any others
        beta = exact if ok else sol
        nbad, rmin, rmax = verify(Xa, y, beta, cls, 1e-9)
        if nbad == 0:
            return (exact if ok else None), iters, rounds
        grow = 2.0 if nbad > 0.1 * size else 1.0      # many violators: the band was too narrow
        lo = min(lo * grow if lo < 0 else lo / grow, rmin - 1e-12)
        hi = max(hi * grow if hi > 0 else hi / grow, rmax + 1e-12)
    return None, iters, max_rounds


def _with_globs(X, y, c, xa, xb):
    """The band rows plus one pseudo-observation per non-empty glob (``quantreg::rq.fit.pfn``'s device):
    the glob's summed ``[x, y]`` with weight 1. While every globbed row keeps the sign of its side, so
    does their sum, and the reduced LP has the same optimum and a standard interior start."""
    k = X.shape[1]
    extra = [g for g in (xb, xa) if np.any(g[:k])]
    if not extra:
        return X, y, c
    G = np.asarray(extra)
    return np.vstack([X, G[:, :k]]), np.concatenate([y, G[:, k]]), np.concatenate([c, np.ones(len(extra))])


def _band(r, q, M, n):
    """Cut-offs from the (subsample) residuals ``r`` keeping about a fraction ``M / n`` of the rows around
    the fitted ``q``-quantile."""
    if M >= n:
        return -np.inf, np.inf
    lo, hi = np.quantile(r, [max(0.0, q - M / (2 * n)), min(1.0, q + M / (2 * n))])
    return float(lo), float(hi)
