"""The compiled elastic-net path kernel: covariance-update coordinate descent down a grid of penalties.

One call runs the whole path on a centred Gram matrix ``Q`` (``p x p``,
divided by ``n``), warm-starting each penalty from the previous solution and
screening by the sequential strong rule (Tibshirani et al. 2012) with a KKT
check of every excluded column. Compiled by numba through :mod:`l2kit._jit`;
without numba the same function runs as plain Python (same results, slower).
"""

from __future__ import annotations

import numpy as np

from ..._jit import jit

__all__ = ["path_kernel"]


def path_cd(Q, q, yy, l1s, l2s, l1_start, tol, max_iter, W, gaps, iters, R2s):  # pragma: no cover - numba
    """Fill ``W[k]`` with the minimiser at penalty ``(l1s[k], l2s[k])`` for every ``k``, in order.

    Each penalty: the strong set (columns with ``|q_j - (Qw)_j| >= 2 l1_k - l1_{k-1}``,
    plus every column used before) is swept until the duality gap is below
    ``tol * yy``; then every other column is checked against the KKT condition
    ``|q_j - (Qw)_j| <= l1_k`` and violators join the set (and the sweeps go
    on). ``gaps[k]`` is the gap of the full problem, ``iters[k]`` the sweeps
    spent and ``R2s[k]`` the residual mean square. A penalty that spends
    ``max_iter`` sweeps keeps its gap above ``tol * yy`` (the caller reports it).
    """
    p = q.shape[0]
    w = np.zeros(p)
    H = np.zeros(p)                      # H = Q w, kept for every column
    in_set = np.zeros(p, np.bool_)
    S = np.empty(p, np.int64)
    ns = 0
    stop = tol * yy
    l1_prev = l1_start
    for k in range(l1s.shape[0]):
        l1 = l1s[k]
        l2 = l2s[k]
        strong = 2.0 * l1 - l1_prev
        for j in range(p):
            if not in_set[j] and Q[j, j] > 0.0 and abs(q[j] - H[j]) >= strong:
                in_set[j] = True
                S[ns] = j
                ns += 1
        spent = 0
        gap = np.inf
        gap_in = np.inf
        R2 = yy
        while True:
            while spent < max_iter:
                for t in range(ns):
                    j = S[t]
                    qjj = Q[j, j]
                    wj = w[j]
                    z = q[j] - H[j] + qjj * wj
                    az = abs(z) - l1
                    new = 0.0
                    if az > 0.0:
                        new = (az if z > 0 else -az) / (qjj + l2)
                    if new != wj:
                        delta = new - wj
                        for m in range(p):
                            H[m] += Q[m, j] * delta
                        w[j] = new
                spent += 1
                # scikit-learn's duality gap / n, its dual scaled over S (inside) and over all columns
                qw = 0.0
                wH = 0.0
                l1n = 0.0
                w2 = 0.0
                dual_in = 0.0
                dual_all = 0.0
                for m in range(p):
                    wm = w[m]
                    g = abs(q[m] - H[m] - l2 * wm)
                    if g > dual_all:
                        dual_all = g
                    if in_set[m]:
                        qw += q[m] * wm
                        wH += wm * H[m]
                        l1n += abs(wm)
                        w2 += wm * wm
                        if g > dual_in:
                            dual_in = g
                R2 = max(yy - 2.0 * qw + wH, 0.0)
                for which in range(2):
                    dual = dual_in if which == 0 else dual_all
                    const = l1 / dual if dual > l1 else 1.0
                    gp = 0.5 * R2 * (1.0 + const * const) if dual > l1 else R2
                    gp = max(gp + l1 * l1n - const * (yy - qw) + 0.5 * l2 * (1.0 + const * const) * w2, 0.0)
                    if which == 0:
                        gap_in = gp
                    else:
                        gap = gp
                if gap_in <= stop:
                    break
            added = 0
            for j in range(p):
                if not in_set[j] and Q[j, j] > 0.0 and abs(q[j] - H[j]) > l1:
                    in_set[j] = True
                    S[ns] = j
                    ns += 1
                    added += 1
            if added == 0 or spent >= max_iter:
                break
        gaps[k] = gap
        R2s[k] = R2
        iters[k] = spent
        W[k] = w
        l1_prev = l1


def path_kernel():
    """The path kernel: numba-compiled when available, else plain Python (same algorithm)."""
    return jit(path_cd, path_cd)
