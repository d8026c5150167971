"""Robust scale and weighted quantiles: the one weighted quantile, the MAD and Huber's proposal 2.

:func:`weighted_quantile` is the only weighted quantile in l2kit. Its
definition keeps the invariances case weights promise: all-equal weights are
no weights (``numpy.quantile``'s linear interpolation), and otherwise it is
the inverse of the weighted empirical distribution function, averaging the two
neighbouring values where the cumulative weight hits ``q`` exactly, so integer
weights give the quantile of the repeated rows at the median and scaling every
weight changes nothing.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

__all__ = ["GAUSS_3_4", "huber_scale", "mad_scale", "weighted_median", "weighted_quantile"]

# 0.6745: MAD / this is consistent for the normal sigma. The standard library's normal quantile equals
# scipy.stats.norm.ppf(0.75) to the last bit (tested) without importing scipy.stats (~1 s and tens of MB)
GAUSS_3_4 = NormalDist().inv_cdf(0.75)


def weighted_quantile(a: np.ndarray, w: np.ndarray | None, q: float) -> float:
    """The ``q``-quantile of ``a`` with case weights ``w`` (see the module docstring for the definition).

    Examples
    --------
    >>> float(weighted_quantile(np.array([1.0, 2.0, 10.0]), np.array([1.0, 2.0, 1.0]), 0.5))
    2.0
    >>> float(weighted_quantile(np.array([1.0, 3.0]), np.array([2.0, 2.0]), 0.5))  # = median of 1, 1, 3, 3
    2.0
    >>> float(weighted_quantile(np.array([1.0, 2.0, 3.0, 4.0]), None, 0.25))  # numpy.quantile
    1.75
    """
    if w is None or (w.size and np.all(w == w[0])):
        return float(np.quantile(a, q))
    keep = w > 0
    a, w = a[keep], w[keep]
    order = np.argsort(a, kind="stable")
    a, w = a[order], w[order]
    cum = np.cumsum(w)
    target = q * cum[-1]
    i = min(int(np.searchsorted(cum, target * (1 - 1e-12), side="left")), a.size - 1)
    if abs(cum[i] - target) <= 1e-12 * cum[-1] and i + 1 < a.size:
        return float(0.5 * (a[i] + a[i + 1]))  # exactly q of the weight at or below a[i]: average
    return float(a[i])


def weighted_median(a: np.ndarray, c: np.ndarray | None) -> float:
    """Median of ``a`` with case weights ``c``; equals ``np.median`` of the repeated rows for integer weights.

    Examples
    --------
    >>> float(weighted_median(np.array([1.0, 2.0, 10.0]), np.array([1.0, 2.0, 1.0])))
    2.0
    """
    return weighted_quantile(a, c, 0.5)


def _median_near(a: np.ndarray, guess: float) -> float:
    """``np.median(a)`` exactly, selecting only among the values near ``guess`` (a previous median).

    Counts the values below a narrow bracket around ``guess``; when the middle order statistics fall
    inside it, only the bracket's few values are partitioned (a full ``np.partition`` of ``a`` is the
    fallback). Inside an IRLS loop the median moves little between iterations, so the bracket holds.
    """
    n = a.size
    k1, k2 = (n - 1) // 2, n // 2
    if np.isnan(a).any():
        return float(np.median(a))
    for width in (0.02, 0.2):
        lo, hi = guess * (1 - width), guess * (1 + width)
        below = int(np.count_nonzero(a < lo))
        if below > k1:
            continue
        band = a[(a >= lo) & (a <= hi)]
        if below + band.size <= k2:
            continue
        j1, j2 = k1 - below, k2 - below
        if j1 == j2:
            return float(np.partition(band, j1)[j1])
        band.partition((j1, j2))
        return float(np.mean(band[[j1, j2]]))   # as np.median averages the two middle values
    return float(np.median(a))


def mad_scale(r: np.ndarray, c: np.ndarray | None, guess: float | None = None,
              work: np.ndarray | None = None) -> float:
    """Normalised MAD about 0, ``median(|r|) / 0.6745`` (statsmodels RLM's ``mad(resid, center=0)``).

    ``guess``: a previous value of this scale (the same result, found faster when it is close);
    ``work``: an optional buffer like ``r`` for ``|r|`` (a fresh large temporary per call costs page faults).

    Examples
    --------
    >>> r = np.array([-3.0, 1.0, 2.0, -0.5])
    >>> bool(mad_scale(r, None) == mad_scale(r, None, guess=2.0) == np.median(np.abs(r)) / 0.6744897501960817)
    True
    """
    if c is None and r.size >= 4096:
        a = np.abs(r, out=work) if work is not None and work.shape == r.shape else np.abs(r)
        if guess is not None and guess > 0 and math.isfinite(guess):
            near = guess * GAUSS_3_4
        else:   # no previous value: start from the median of a subsample
            near = float(np.median(a[::r.size // 1024]))
        if near > 0 and math.isfinite(near):
            return _median_near(a, near) / GAUSS_3_4
        return float(np.median(a)) / GAUSS_3_4
    return weighted_median(np.abs(r), c) / GAUSS_3_4


def huber_scale(r: np.ndarray, c: np.ndarray | None, df_resid: float, d: float = 2.5,
                tol: float = 1e-12, max_iter: int = 500) -> float:
    r"""Huber's proposal 2 scale (statsmodels ``HuberScale(d=2.5)``), iterated to its fixed point.

    Solves :math:`\sum_i c_i\,\chi(r_i/s) = (n - p)\,E_\Phi[\chi]` with
    :math:`\chi(u) = \min(u^2, d^2)/2`, starting from the MAD.
    """
    from scipy import stats  # lazily: scipy.stats is ~1 s to import, and only this scale needs it

    n = float(r.size if c is None else c.sum())
    h = df_resid / n * (d ** 2 + (1 - d ** 2) * stats.norm.cdf(d) - 0.5 - d / math.sqrt(2 * math.pi)
                        * math.exp(-0.5 * d ** 2))
    med = weighted_median(r, c)
    s = weighted_median(np.abs(r - med), c) / GAUSS_3_4
    if s == 0:
        return 0.0
    r2 = r * r
    for _ in range(max_iter):
        chi = np.minimum(r2 / (s * s), d * d) / 2
        tot = float(chi.sum() if c is None else (c * chi).sum())
        new = math.sqrt(tot / (n * h)) * s
        if abs(new - s) <= tol * s:
            return new
        s = new
    return s
