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
the columns cost less than it (:mod:`._naive`); they hand over to
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

import numpy as np

from .._linalg import blas_threads_limit
from ._centred import Centred, NaiveCopy, positive_definite
from ._kernels import cd_kernel
from ._naive import conditioning, naive_kernel

#: above this many columns the full p x p Gram matrix is never formed (working sets only)
_FULL_GRAM_MAX_P = 2000


# ---------------------------------------------------------------------------
# working sets, a float32 Gram matrix and exact float64 refinement
# ---------------------------------------------------------------------------
#: a float32 round must shrink the duality gap by this factor, else the Gram is rebuilt in float64
_MIN_GAIN = 1e-2
#: a probe step leaving this fraction of the columns active settles "all columns" (measured: the
#: second step cuts the count by at most ~30%, and all columns are taken above 40%)
_DENSE_PROBE = 0.8
#: a float32 Gram pays for its extra refinement pass once |S|^2 >= this * p
_F32_MIN_RATIO = 32


#: naive updates only when the first probe step moves the separable solution by at most this (relative)
_NAIVE_MAX_SPREAD = 0.5
#: sweeps per round before naive updates give way to covariance updates (about one Gram matrix's time)
_NAIVE_SWEEPS = 16
#: a naive round must at least halve the gap, else covariance updates take over (its sweeps stop at a
#: relative change, so a round near the optimum may gain only ~5x: measured 5-400x on orthogonal designs)
_NAIVE_MIN_GAIN = 0.5
#: the float32 column copy is made only up to this many elements (256 MiB)
_NAIVE_MAX_ELEMS = 1 << 26


#: the cost model of :func:`naive_min_p`, seconds per element of ``A`` (measured on 10000 x 200, one core):
#: a float32 Gram costs ``p`` x GRAM, the column copy COPY, a naive sweep SWEEP and an exact pass PASS
COST = {"gram": 2.1e-11, "copy": 8.5e-10, "sweep": 1.27e-10, "pass": 4.3e-10}
UPDATES = ("auto", "covariance", "naive")


def naive_min_p(tol: float, cost: dict = COST) -> int:
    """Fewest columns for which naive sweeps beat the Gram matrix, by the cost model ``cost``.

    The rule: naive updates cost one column copy plus a few sweeps (6 at
    ``tol`` = 1e-5, 7 at 1e-6; tighter, 14 in two or three rounds, since a
    first round stops near 1e-7, the float32 floor, so one more exact pass
    than the float32 Gram's refinement); covariance updates cost one Gram
    matrix, ``p`` times the per-column cost. Naive updates pay once
    ``p * gram >= copy + sweeps * sweep + passes * pass``. With :data:`COST`
    that is 76, 82 and 145 columns. The constants depend on the machine's
    memory and cache; ``l2kit.fit(..., cd_updates="naive" | "covariance")``
    overrides the choice.

    Examples
    --------
    >>> naive_min_p(1e-5), naive_min_p(1e-6), naive_min_p(1e-10)
    (76, 82, 145)
    """
    sweeps, passes = (6, 0) if tol >= 1e-5 else (7, 0) if tol >= 1e-6 else (14, 1)
    return int((cost["copy"] + sweeps * cost["sweep"] + passes * cost["pass"]) / cost["gram"])


def _naive_copy(X, tol, spread, updates):
    """A :class:`NaiveCopy` when naive updates pay (or are asked for), else None.

    In ``"auto"`` they pay when the columns are nearly orthogonal (``spread``,
    from the probe) and numerous enough for the Gram matrix to cost more than
    the sweeps; always, the copy must be bounded, within float32's range and
    the kernel compiled.
    """
    n, p = X.A.shape
    if updates == "covariance" or n * p > _NAIVE_MAX_ELEMS or naive_kernel() is None:
        return None
    if updates == "auto" and (spread > _NAIVE_MAX_SPREAD or p < naive_min_p(tol)):
        return None
    if not np.all(X.bound < _F32_SAFE):             # beyond float32's range: covariance updates
        return None
    return NaiveCopy(X, tol)


#: centred values below this (float32's largest is 3.4e38) cannot round to inf in the copy
_F32_SAFE = 3e38


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


def enet_active_set(A, b, c, n_pen, alpha, l1_ratio, *, tol=1e-10, max_iter=10000, max_rounds=50, updates="auto",
                    blas_threads=1):
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
    its size) and the cost model of :func:`naive_min_p` says the Gram
    matrix costs more than the sweeps (many columns, loose ``tol``), rounds
    run naive updates on a centred float32 copy of the columns instead, from
    the same exact gradients. More than 16 sweeps in a round, or a round
    that does not halve the gap, hands over to covariance updates on the
    copy's Gram matrix (float64 from ``A`` when that is not positive
    definite). ``updates="naive"`` or ``"covariance"`` overrides the choice
    (naive updates still need the compiled kernel and data within float32's
    range).

    *Threads.* BLAS runs on ``blas_threads`` threads during the fit (default
    1, see :func:`blas_threads_limit`); None leaves the caller's setting.

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
    with blas_threads_limit(blas_threads):
        return _enet_active_set(A, b, c, n_pen, alpha, l1_ratio, tol=tol, max_iter=max_iter,
                                max_rounds=max_rounds, updates=updates)


def _enet_active_set(A, b, c, n_pen, alpha, l1_ratio, *, tol, max_iter, max_rounds, updates):
    """The body of :func:`enet_active_set`."""
    p = A.shape[1]
    X = Centred(A, b, c, n_pen)
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
    F = _naive_copy(X, tol, spread, updates) if S.size == p else None
    force64 = False               # set once float32 has failed: every later Gram is float64
    exact = True                  # whether the current Q was built in float64 throughout

    def dtype(m):
        return np.float64 if force64 or m * m < _F32_MIN_RATIO * p else np.float32

    def gram(cols, start=0):
        nonlocal force64, exact
        kind = dtype(cols.size)
        G = X.gram(cols, start, kind)
        if kind != np.float64 and start == 0 and not positive_definite(G, l2):
            force64, kind = True, np.float64   # float32 rounding broke definiteness: no model to refine
            G = X.gram(cols, start, kind)
        exact = (exact or start == 0) and kind == np.float64
        return G

    Q = gram(S) if F is None else None
    w, r, g = np.zeros(p), X.bc, X.q
    kernel = cd_kernel()
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
