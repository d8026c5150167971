"""Independent float64 references: exactly rounded sums (math.fsum), two-pass; exact rationals (fractions)."""

import math
from fractions import Fraction

import numpy as np


def exact_stats(y, p, w=None):
    """Per-output (W, sse, sae, sst, ssr_c) with exactly rounded sums (math.fsum)."""
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    if y.ndim == 1:
        y, p = y[:, None], p[:, None]
        if w is not None:
            w = np.asarray(w, dtype=np.float64)[:, None]
    elif w is not None:
        w = np.asarray(w, dtype=np.float64)
        w = w[:, None] * np.ones(y.shape[1]) if w.ndim == 1 else w
    out = []
    for j in range(y.shape[1]):
        yj, pj = y[:, j], p[:, j]
        wj = np.ones(len(yj)) if w is None else w[:, j]
        W = math.fsum(wj)
        r = [a - b for a, b in zip(yj.tolist(), pj.tolist())]
        my = math.fsum(a * b for a, b in zip(wj, yj)) / W
        mr = math.fsum(a * b for a, b in zip(wj, r)) / W
        out.append(dict(
            W=W,
            sse=math.fsum(a * b * b for a, b in zip(wj, r)),
            sae=math.fsum(a * abs(b) for a, b in zip(wj, r)),
            sst=math.fsum(a * (b - my) ** 2 for a, b in zip(wj, yj)),
            ssr_c=math.fsum(a * (b - mr) ** 2 for a, b in zip(wj, r)),
        ))
    return out


def exact_metrics(y, p, w=None):
    """Uniformly averaged metrics from :func:`exact_stats` (non-constant targets)."""
    cols = exact_stats(y, p, w)
    res = dict(
        mse=np.mean([c["sse"] / c["W"] for c in cols]),
        rmse=np.mean([math.sqrt(c["sse"] / c["W"]) for c in cols]),
        mae=np.mean([c["sae"] / c["W"] for c in cols]),
        r2=np.mean([1 - c["sse"] / c["sst"] for c in cols]),
        explained_variance=np.mean([1 - c["ssr_c"] / c["sst"] for c in cols]),
        one_minus_r2=np.mean([c["sse"] / c["sst"] for c in cols]),
        one_minus_ev=np.mean([c["ssr_c"] / c["sst"] for c in cols]),
    )
    return res


def fraction_metrics(y, p, w):
    """mse, rmse, mae, r2 and explained variance of 1-D data in exact rational arithmetic, rounded once."""
    y, p, w = ([Fraction(float(v)) for v in a] for a in (y, p, w))
    W = sum(w)
    r = [a - b for a, b in zip(y, p)]
    my = sum(a * b for a, b in zip(w, y)) / W
    mr = sum(a * b for a, b in zip(w, r)) / W
    sse = sum(a * b * b for a, b in zip(w, r))
    sst = sum(a * (b - my) ** 2 for a, b in zip(w, y))
    ssr_c = sum(a * (b - mr) ** 2 for a, b in zip(w, r))
    return dict(mse=float(sse / W), rmse=math.sqrt(sse / W), mae=float(sum(a * abs(b) for a, b in zip(w, r)) / W),
                r2=float(1 - sse / sst), explained_variance=float(1 - ssr_c / sst))
