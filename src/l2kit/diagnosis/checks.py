r"""The checks of a diagnosis: each one a test with a stated level, a finite-sample null and a verdict.

Every check is a :class:`Check` (statistic, p-value, verdict, one-line reason,
advice), collected by name in ``Diagnosis.checks``. The nulls are exact in
finite samples where that is cheap:

* the residual-shape checks (normality, heavy tails, outliers, skewness) are
  Monte Carlo tests against the fitted Gaussian model, as DHARMa simulates
  from the fitted model. Under :math:`y = X\beta + \sigma z` the OLS residuals
  are :math:`(I - H)\sigma z`, and every statistic below is scale invariant,
  so the null draws are :math:`(I - QQ^T) z` with :math:`z` standard normal:
  no refit, no dependence on :math:`\beta` or :math:`\sigma`, and the
  leverage of every row is built in. The p-value is
  :math:`(1 + \#\{T^* \ge T\}) / (B + 1)` (Davison & Hinkley 1997, eq. 4.11),
  exact at any ``n`` and ``p``.
* outliers at high leverage, which OLS residuals cannot show (OLS is pulled
  onto them), are read off the high-breakdown MM fit with a Bonferroni bound
  over the rows.
* RESET, Breusch-Pagan, Durbin-Watson / Breusch-Godfrey follow statsmodels
  (see :mod:`l2kit.diagnosis.tests`).

Multiplicity: :func:`holm` adjusts p-values within a family of checks
(Holm 1979), so the chance that a dataset satisfying every null gets any
"reject" verdict in that family is at most the level. There are two families:
the checks that can move the recommendation away from squared error
(:data:`LOSS_FAMILY`: heavy tails, outliers, skewness) and the checks whose
advice keeps the loss but changes the model or its standard errors
(normality, linearity, heteroscedasticity, serial correlation).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..linear._scale import GAUSS_3_4  # Phi^-1(3/4): MAD / this is consistent for sigma

__all__ = ["LOSS_FAMILY", "Check", "NullSampler", "holm", "outlyingness", "residual_shape", "robust_outliers"]

LEVEL = 0.05
#: the checks whose rejection can move the recommendation away from squared error
LOSS_FAMILY = ("heavy_tails", "outliers", "skewness")


@dataclass(frozen=True)
class Check:
    """One check of a diagnosis.

    Attributes
    ----------
    name : str
        Key in ``Diagnosis.checks``, e.g. ``"heavy_tails"``.
    statistic : float
    p_value : float
        Unadjusted p-value (NaN for a check that is not a test, such as VIF).
    verdict : str
        ``"reject"`` (the null fails at ``level`` after Holm's adjustment),
        ``"pass"``, ``"info"`` (not a test) or ``"skipped"`` (with the reason).
    reason : str
        One line citing the numbers.
    advice : str
        What to do when the verdict is ``"reject"`` (or ``"info"`` worth acting on).
    level : float
    p_adjusted : float
        Holm-adjusted p-value across the tested checks of the diagnosis.
    detail : dict
        Extra numbers (VIFs, flagged rows...).
    """

    name: str
    statistic: float
    p_value: float
    verdict: str
    reason: str
    advice: str = ""
    level: float = LEVEL
    p_adjusted: float = float("nan")
    detail: dict = field(default_factory=dict, compare=False)

    @property
    def rejected(self) -> bool:
        return self.verdict == "reject"

    @property
    def tested(self) -> bool:
        return np.isfinite(self.p_value) and self.verdict in ("reject", "pass")


def holm(checks: dict[str, Check], level: float = LEVEL, family: tuple[str, ...] | None = None) -> dict[str, Check]:
    """Holm-adjust the p-values of the tested checks (those named in ``family``, default all) at ``level``.

    Examples
    --------
    >>> c = {"a": Check("a", 1.0, 0.01, "pass", ""), "b": Check("b", 1.0, 0.04, "pass", "")}
    >>> out = holm(c)
    >>> out["a"].p_adjusted, out["a"].verdict, out["b"].verdict
    (0.02, 'reject', 'reject')
    """
    tested = [k for k, c in checks.items() if c.tested and (family is None or k in family)]
    order = sorted(tested, key=lambda k: checks[k].p_value)
    m, running, out = len(order), 0.0, dict(checks)
    for i, k in enumerate(order):
        running = max(running, min(1.0, (m - i) * checks[k].p_value))
        out[k] = replace(checks[k], p_adjusted=running, level=level,
                         verdict="reject" if running < level else "pass")
    return out


class NullSampler:
    r"""Monte Carlo null of scale-invariant statistics of OLS residuals.

    Draws :math:`B` residual vectors :math:`(I - QQ^T)z`, where ``Q`` is an
    orthonormal basis of the design (intercept included), in chunks that keep
    memory near 20 MB. With ``sd`` (a fitted standard deviation per row) the
    null is heteroscedastic: :math:`(I - QQ^T)(s \circ z) / s`, the OLS
    residuals of Gaussian errors with those standard deviations, standardised
    by them (compare them with the data's residuals divided by ``sd``).

    ``B`` is 4999 up to n = 4000 and shrinks to 199 for n >= 1e5 (the
    p-value's Monte Carlo error at p = 0.05 is 0.003 at 4999 draws and 0.015
    at 199). The draws are a fixed stream, shared by every dataset of a
    size, so their error is a bias of the test's level, not noise that
    averages out over datasets: hence the large ``B`` where it is cheap.

    Examples
    --------
    >>> import numpy as np
    >>> Q = np.linalg.qr(np.c_[np.ones(30), np.arange(30.0)])[0]
    >>> s = NullSampler(Q, seed=0)
    >>> s.B, next(iter(s.draws())).shape[0]
    (4999, 30)
    """

    def __init__(self, Q: np.ndarray, *, seed: int = 0, B: int | None = None, sd: np.ndarray | None = None):
        self.Q = Q
        n = Q.shape[0]
        self.B = int(B) if B is not None else int(max(199, min(4999, 2e7 // max(n, 1))))
        self.seed = seed
        self.sd = sd

    def draws(self):
        """Blocks of null residual vectors, one per column; divided by ``sd`` when the null is heteroscedastic."""
        rng = np.random.default_rng([self.seed, 17])
        n = self.Q.shape[0]
        chunk = int(max(1, min(self.B, 2_500_000 // max(n, 1))))
        sd = None if self.sd is None else self.sd[:, None]
        done = 0
        while done < self.B:
            b = min(chunk, self.B - done)
            z = rng.standard_normal((n, b))
            if sd is None:
                yield z - self.Q @ (self.Q.T @ z)
            else:   # residuals of errors with standard deviation sd, standardised as the data's are
                z *= sd
                yield (z - self.Q @ (self.Q.T @ z)) / sd
            done += b


def _moments(e: np.ndarray):
    d = e - e.mean(axis=0)
    d2 = d * d
    m2 = np.mean(d2, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        skew = np.einsum("ij,ij->j", d2, d) / d.shape[0] / m2 ** 1.5
        kurt = np.einsum("ij,ij->j", d2, d2) / d.shape[0] / m2 ** 2
    return skew, kurt


def outlyingness(e: np.ndarray, h: np.ndarray) -> np.ndarray:
    """|e_i| / (s sqrt(1 - h_i)) for every row, with s the MAD about zero (robust to masking by the outliers).

    ``e`` (n,) or (n, B), one column per simulated residual vector; ``h`` (n,) the leverages. Rows of
    leverage 1 count as leverage 1 - 1e-12; ``s = 0`` gives inf (or NaN for a zero residual).

    Examples
    --------
    >>> z = outlyingness(np.array([1.0, -1.0, 1.0, 8.0]), np.array([0.0, 0.0, 0.0, 0.75]))
    >>> np.round(z / z[0], 6)
    array([ 1.,  1.,  1., 16.])
    """
    s = np.median(np.abs(e), axis=0) / GAUSS_3_4
    lev = np.sqrt(np.clip(1.0 - h, 1e-12, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.abs(e) / (lev if e.ndim == 1 else lev[:, None]) / s


def _max_outlyingness(e: np.ndarray, h: np.ndarray) -> np.ndarray:
    """The largest :func:`outlyingness` (per column of a 2-D ``e``)."""
    t = np.max(outlyingness(e, h), axis=0)
    return t if e.ndim == 2 else float(t)


def residual_shape(resid: np.ndarray, leverage: np.ndarray, sampler: NullSampler) -> dict:
    """Statistics of the OLS residuals and their Monte Carlo p-values.

    Returns a dict with ``skew``, ``kurtosis``, ``jb`` (Jarque-Bera), ``outlying``
    (largest leverage-adjusted residual in MAD units) and the p-values
    ``p_skew`` (one-sided: right skew), ``p_kurtosis`` (one-sided: heavy
    tails), ``p_jb`` and ``p_outlying``, each exact under Gaussian errors up
    to Monte Carlo error.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> X = np.c_[np.ones(50), rng.normal(size=50)]
    >>> Q = np.linalg.qr(X)[0]
    >>> e = rng.standard_t(2, size=50); e = e - Q @ (Q.T @ e)
    >>> r = residual_shape(e, np.sum(Q ** 2, axis=1), NullSampler(Q, B=199))
    >>> r["p_kurtosis"] < 0.05
    True
    """
    n = resid.size
    skew, kurt = _moments(resid[:, None])
    skew, kurt = float(skew[0]), float(kurt[0])
    jb = n / 6.0 * (skew ** 2 + (kurt - 3.0) ** 2 / 4.0)
    out = _max_outlyingness(resid, leverage)
    count = np.zeros(4)
    null_out = []
    for e in sampler.draws():
        s, k = _moments(e)
        t = _max_outlyingness(e, leverage)
        null_out.append(t)
        count += [np.sum(s >= skew), np.sum(k >= kurt),
                  np.sum(n / 6.0 * (s ** 2 + (k - 3.0) ** 2 / 4.0) >= jb), np.sum(t >= out)]
    p = (1.0 + count) / (sampler.B + 1.0)
    return dict(skew=skew, kurtosis=kurt, jb=float(jb), outlying=float(out), p_skew=float(p[0]),
                p_kurtosis=float(p[1]), p_jb=float(p[2]), p_outlying=float(p[3]), B=sampler.B,
                null_outlying=np.concatenate(null_out))


def robust_outliers(resid: np.ndarray, scale: float, leverage: np.ndarray, *, level: float = LEVEL):
    r"""Rows a high-breakdown fit puts beyond the Bonferroni bound, and that bound's p-value.

    With ``k`` the design's rank, the fit's robust scale ``s`` is corrected
    for the degrees of freedom the fit spends, :math:`s' = s\sqrt{n/(n-1.5k)}`
    (a robust fit pulls residuals toward zero, which biases a scale of
    in-sample residuals low: the cause of the false alarms of earlier
    versions; the S-scale minimises the scale over the fit, so its square
    falls by about :math:`1.3`-:math:`1.7\,k/n`, more than least squares'
    :math:`k/n`: measured 0.977, 0.933 and 0.792 of sigma at n = 1000 and
    k = 26, 101, 251, the form Maronna & Yohai (2010) correct for), and each
    residual is standardised as a prediction error:
    :math:`z_i = |r_i| / (s'\sqrt{1 + h_i})`. A row the high-breakdown fit
    down-weights does not pull the fit toward itself, so its residual has the
    variance of a prediction, :math:`\sigma^2(1 + h_i)` to first order, not the
    OLS residual's :math:`\sigma^2(1 - h_i)`; dividing by :math:`\sqrt{1 - h_i}`
    (as earlier versions did) inflated exactly the largest residuals, and at
    n = 50, p = 12 the bound rejected 13.5% of Gaussian samples at a nominal
    2.5%, 22% at n = 100, p = 25 and 25% at n = 1000, p = 100; now 0%, 0% and
    3% (200, 200 and 60 samples). A row is flagged when
    :math:`z_i > t_{1 - \alpha/(2n),\,\nu}`, the two-sided Bonferroni
    quantile over the ``n`` rows, with :math:`\nu = (n - k)/3` degrees of
    freedom: the 50%-breakdown S-scale is about a third as efficient as the
    residual standard deviation, so it is as noisy as one from a third of the
    rows. The p-value of the
    largest is ``min(1, 2 n P(T_\nu > max z))``.

    Examples
    --------
    >>> import numpy as np
    >>> r = np.r_[np.linspace(-1.5, 1.5, 39), 20.0]
    >>> rows, cut, p = robust_outliers(r, 1.0, np.full(40, 0.05))
    >>> rows.tolist(), p < 1e-6
    ([39], True)
    """
    from scipy import stats

    n = resid.size
    k = float(np.sum(leverage))
    df = max((n - k) / 3.0, 1.0)
    cut = float(stats.t.isf(level / (2 * n), df))
    s = scale * np.sqrt(n / max(n - 1.5 * k, 1.0))
    z = np.abs(resid) / (s * np.sqrt(1.0 + leverage)) if scale > 0 else np.zeros(n)
    rows = np.flatnonzero(z > cut)
    p = float(min(1.0, 2 * n * stats.t.sf(z.max(), df))) if n else 1.0
    return rows, cut, p
