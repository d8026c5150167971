r"""Statistical tests of the Gaussian story behind squared error.

Each function takes plain NumPy arrays (validated by :func:`l2kit.diagnose`)
and returns a small immutable result. The formulas follow statsmodels, which
the tests use as the reference:

* :func:`jarque_bera` — ``statsmodels.stats.stattools.jarque_bera``;
* :func:`breusch_pagan` — ``statsmodels.stats.diagnostic.het_breuschpagan``;
* :func:`overdispersion` — the Pearson statistic of a Poisson GLM
  (``GLMResults.pearson_chi2 / df_resid``);
* :func:`zero_inflation` — observed zeros against the zeros the fitted
  Poisson or negative binomial model expects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "BreuschPagan", "JarqueBera", "Overdispersion", "QQ", "Tails", "ZeroInflation",
    "Collinearity", "LinearTest", "breusch_godfrey", "breusch_pagan", "collinearity", "durbin_watson", "heavy_tails",
    "jarque_bera", "overdispersion", "qq", "reset", "zero_inflation",
]


def _vec(a, name: str = "resid") -> np.ndarray:
    from .._array import as_numpy
    from .._errors import InputError

    a = as_numpy(a, name)
    if a.dtype.kind not in "fiub":   # strings, objects, complex: the library's error, not NumPy's
        raise InputError(name, "real numbers", f"dtype {a.dtype}", "pass the residuals as a float array")
    a = a.astype(np.float64).reshape(-1)
    if a.size < 3:
        raise InputError(name, "at least 3 values", f"{a.size}", "pass more observations")
    if not np.isfinite(a).all():
        raise InputError(name, "finite values", f"{int((~np.isfinite(a)).sum())} NaN/inf value(s)",
                         "drop or impute those observations first")
    return a


@dataclass(frozen=True)
class JarqueBera:
    """Jarque-Bera normality test of residuals.

    ``kurtosis`` is the (biased) Pearson kurtosis, 3 for a Gaussian.
    """

    statistic: float
    pvalue: float
    skew: float
    kurtosis: float

    @property
    def excess_kurtosis(self) -> float:
        return self.kurtosis - 3.0


def jarque_bera(resid) -> JarqueBera:
    r"""Jarque-Bera test that ``resid`` come from a normal distribution.

    .. math::
        JB = \frac{n}{6}\left(S^2 + \frac{(K-3)^2}{4}\right) \sim \chi^2_2,

    with the biased sample skewness :math:`S` and kurtosis :math:`K`.

    Examples
    --------
    >>> import numpy as np
    >>> r = jarque_bera(np.array([-1.0, 0.0, 1.0, 2.0, 10.0]))
    >>> round(r.kurtosis, 4), round(r.pvalue, 4)
    (2.9421, 0.5144)
    """
    from scipy import stats

    r = _vec(resid)
    n = r.size
    d = r - r.mean()
    m2 = np.mean(d ** 2)
    skew = float(np.mean(d ** 3) / m2 ** 1.5)
    kurt = float(np.mean(d ** 4) / m2 ** 2)
    jb = float(n / 6.0 * (skew ** 2 + (kurt - 3.0) ** 2 / 4.0))
    return JarqueBera(jb, float(stats.chi2.sf(jb, 2)), skew, kurt)


@dataclass(frozen=True)
class BreuschPagan:
    """Breusch-Pagan test of heteroscedasticity (LM and F forms)."""

    lm: float
    lm_pvalue: float
    fvalue: float
    f_pvalue: float
    robust: bool


def breusch_pagan(resid, exog, *, robust: bool = True, add_constant: bool = True) -> BreuschPagan:
    r"""Breusch-Pagan test: regress squared residuals on ``exog``.

    With ``robust=True`` (Koenker's studentized form, statsmodels' default)
    :math:`LM = n R^2` of :math:`e_i^2` on the regressors; otherwise the
    original :math:`LM = ESS/2` of :math:`e_i^2/\overline{e^2}`. Both are
    :math:`\chi^2_{p}` under homoscedasticity, ``p`` the number of non-constant
    regressors.

    Parameters
    ----------
    resid : array of shape (n,)
    exog : array of shape (n, p)
        Regressors the variance may depend on (the model's features).
    robust : bool
    add_constant : bool
        Prepend a column of ones (statsmodels expects it inside ``exog``).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(1.0, 9.0)[:, None]
    >>> e = np.array([0.1, -0.2, 0.3, -0.5, 0.8, -1.0, 1.5, -2.0])
    >>> round(breusch_pagan(e, x).lm_pvalue, 4)
    0.014
    """
    from scipy import stats

    r = _vec(resid)
    Z = np.asarray(exog, dtype=np.float64)
    if Z.ndim == 1:
        Z = Z[:, None]
    if add_constant:
        Z = np.column_stack([np.ones(r.size), Z])
    norms = np.linalg.norm(Z, axis=0)
    Z = Z / np.where(norms > 0, norms, 1.0)   # the test is invariant to column scales; ranks are not
    y = r ** 2
    if not robust:
        y = y / y.mean()
    n, k = Z.shape
    coef, *_ = np.linalg.lstsq(Z, y, rcond=None)
    fitted = Z @ coef
    ssr = float(np.sum((y - fitted) ** 2))
    centered = float(np.sum((y - y.mean()) ** 2))
    ess = centered - ssr
    rsq = 1.0 - ssr / centered
    rank = int(np.linalg.matrix_rank(Z))
    df_model, df_resid = rank - 1, n - rank
    fval = (ess / df_model) / (ssr / df_resid)
    lm = n * rsq if robust else ess / 2.0
    return BreuschPagan(float(lm), float(stats.chi2.sf(lm, k - 1)), float(fval),
                        float(stats.f.sf(fval, df_model, df_resid)), robust)


@dataclass(frozen=True)
class QQ:
    """Normal QQ comparison: theoretical quantiles against sorted standardized residuals."""

    theoretical: np.ndarray
    sample: np.ndarray
    correlation: float      # Shapiro-Francia-type probability-plot correlation
    shapiro_pvalue: float   # Shapiro-Wilk p-value (scipy)


def qq(resid) -> QQ:
    """Normal QQ comparison of ``resid`` (standardized by mean and sd).

    Plotting positions are Blom's ``(i - 3/8) / (n + 1/4)``.

    Examples
    --------
    >>> import numpy as np
    >>> q = qq(np.random.default_rng(0).normal(size=200))
    >>> q.correlation > 0.99
    True
    """
    from scipy import stats

    r = _vec(resid)
    n = r.size
    sd = r.std(ddof=1)
    z = np.sort((r - r.mean()) / (sd if sd > 0 else 1.0))
    theo = stats.norm.ppf((np.arange(1, n + 1) - 0.375) / (n + 0.25))
    corr = float(np.corrcoef(theo, z)[0, 1]) if sd > 0 else float("nan")
    sw = float(stats.shapiro(r).pvalue) if n <= 5000 and sd > 0 else float("nan")
    return QQ(theo, z, corr, sw)


@dataclass(frozen=True)
class Tails:
    """Heavy-tail check: how many robustly standardized residuals pass ``cutoff``."""

    cutoff: float
    n_beyond: int
    expected: float        # under a Gaussian: n * P(|Z| > cutoff)
    pvalue: float          # binomial P(count >= n_beyond)
    excess_kurtosis: float
    scale: float           # the robust scale used (1.4826 * median |r|)

    @property
    def heavy(self) -> bool:
        return self.pvalue < 0.05


def heavy_tails(resid, *, cutoff: float = 2.5, center: bool = False) -> Tails:
    r"""Count residuals beyond ``cutoff`` robust standard deviations.

    The scale is :math:`s = 1.4826\,\mathrm{median}|r_i|` (residuals of a fit
    with an intercept are centred already; ``center=True`` subtracts the
    median first). Under a Gaussian the count is Binomial(n, P(|Z| > cutoff));
    the p-value is its upper tail. The cutoff 2.5 follows Rousseeuw & Leroy
    (1987).

    Examples
    --------
    >>> import numpy as np
    >>> t = heavy_tails(np.r_[np.linspace(-1, 1, 19), 10.0, -12.0])
    >>> t.n_beyond, t.heavy
    (2, True)
    """
    from scipy import stats

    from ..linear._scale import mad_scale

    r = _vec(resid)
    if center:
        r = r - np.median(r)
    a = np.abs(r)
    s = mad_scale(r, None)  # the normalised MAD about zero, as the robust fits' (statsmodels RLM's) scale
    n = r.size
    p_tail = 2 * stats.norm.sf(cutoff)
    k = int(np.sum(a > cutoff * s)) if s > 0 else 0
    d = r - r.mean()
    m2 = np.mean(d ** 2)
    excess = float(np.mean(d ** 4) / m2 ** 2 - 3.0) if m2 > 0 else 0.0
    return Tails(cutoff, k, n * p_tail, float(stats.binom.sf(k - 1, n, p_tail)), excess, s)


@dataclass(frozen=True)
class Overdispersion:
    """Pearson chi-square dispersion of a Poisson fit: ratio 1 for Poisson data."""

    pearson_chi2: float
    df_resid: float
    ratio: float
    pvalue: float  # P(chi2_df >= pearson_chi2)


def overdispersion(y, mu, *, df_resid: float) -> Overdispersion:
    r"""Pearson dispersion :math:`\sum (y_i - \mu_i)^2/\mu_i / (n - k)` of a Poisson fit.

    Examples
    --------
    >>> import numpy as np
    >>> o = overdispersion(np.array([0, 0, 9, 1, 0, 8.0]), np.full(6, 3.0), df_resid=5)
    >>> round(o.ratio, 3)
    6.133
    """
    from scipy import stats

    y = np.asarray(y, dtype=np.float64)
    mu = np.asarray(mu, dtype=np.float64)
    chi2 = float(np.sum((y - mu) ** 2 / mu))
    return Overdispersion(chi2, float(df_resid), chi2 / df_resid, float(stats.chi2.sf(chi2, df_resid)))


@dataclass(frozen=True)
class ZeroInflation:
    """Observed zeros against the zeros a fitted count model expects."""

    observed: int
    expected: float
    ratio: float
    z: float
    pvalue: float   # one-sided: more zeros than expected
    model: str      # "poisson" or "negative binomial"


def zero_inflation(y, mu, *, theta: float | None = None) -> ZeroInflation:
    r"""Compare observed zeros with the expected count :math:`\sum_i P(Y_i = 0)`.

    Under Poisson :math:`P(Y_i=0) = e^{-\mu_i}`; under a negative binomial with
    dispersion ``theta`` (variance :math:`\mu + \mu^2/\theta`)
    :math:`P(Y_i=0) = (\theta/(\theta+\mu_i))^\theta`. The z-score uses the
    variance :math:`\sum p_i(1-p_i)` of a sum of independent Bernoulli
    indicators (ignoring estimation error in :math:`\mu`).

    Examples
    --------
    >>> import numpy as np
    >>> zi = zero_inflation(np.array([0, 0, 0, 0, 5, 6.0]), np.full(6, 2.0))
    >>> zi.observed, round(zi.expected, 3)
    (4, 0.812)
    """
    from scipy import stats

    y = np.asarray(y, dtype=np.float64)
    mu = np.asarray(mu, dtype=np.float64)
    if theta is None:
        p0, model = np.exp(-mu), "poisson"
    else:
        p0, model = np.exp(theta * (np.log(theta) - np.log(theta + mu))), "negative binomial"
    obs = int(np.sum(y == 0))
    exp = float(np.sum(p0))
    sd = float(np.sqrt(np.sum(p0 * (1 - p0))))
    z = (obs - exp) / sd if sd > 0 else 0.0
    return ZeroInflation(obs, exp, obs / exp if exp > 0 else float("inf"), float(z), float(stats.norm.sf(z)), model)


def _ols_rss(A: np.ndarray, y: np.ndarray) -> tuple[float, int]:
    """Residual sum of squares and rank of the least-squares fit of ``y`` on ``A`` (pivoted QR)."""
    Q = _design_basis(A)
    e = y - Q @ (Q.T @ y)
    return float(e @ e), Q.shape[1]


def _design_basis(A: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the column space of ``A`` (pivoted QR, the rank rule of :func:`_ols_rss`)."""
    from scipy import linalg

    Q, R, _ = linalg.qr(A, mode="economic", pivoting=True, check_finite=False)
    d = np.abs(np.diag(R))
    k = int(np.sum(d > d.max() * max(A.shape) * np.finfo(float).eps)) if d.size else 0
    return Q[:, :k]


def _added_rss(Q: np.ndarray, v: np.ndarray, F: np.ndarray, col_max: float) -> tuple[float, float, int]:
    """Residual sums of squares of ``v`` on the basis ``Q`` and on ``Q`` plus the columns ``F``; the rank ``F`` adds.

    One QR of the design serves both fits: ``F`` is projected off ``Q`` (twice: Gram-Schmidt needs it, Kahan)
    and only that thin block is factored, instead of a QR of ``[A, F]`` and one of ``A``. ``col_max`` is the
    largest column norm of the design: a column of ``F`` counts when its part off ``Q`` exceeds
    ``max(col_max, |F|) * max(n, k) * eps``, the rank rule of a pivoted QR of ``[A, F]``.
    """
    from scipy import linalg

    n, k = Q.shape
    e = v - Q @ (Q.T @ v)
    Fr = F - Q @ (Q.T @ F)
    Fr -= Q @ (Q.T @ Fr)
    Q2, R2, _ = linalg.qr(Fr, mode="economic", pivoting=True, check_finite=False)
    d = np.abs(np.diag(R2))
    big = max(col_max, float(np.linalg.norm(F, axis=0).max()))
    q = int(np.sum(d > big * max(n, k + F.shape[1]) * np.finfo(float).eps))
    Q2 = Q2[:, :q]
    e2 = e - Q2 @ (Q2.T @ e)
    return float(e @ e), float(e2 @ e2), q


def _with_ones(X, n: int) -> np.ndarray:
    return np.column_stack([np.ones(n), np.asarray(X, dtype=np.float64)])


@dataclass(frozen=True)
class LinearTest:
    """An F (and chi-square) test of added regressors: RESET or Breusch-Godfrey."""

    fvalue: float
    f_pvalue: float
    chi2: float          # Wald (RESET) or LM = n R^2 (Breusch-Godfrey)
    chi2_pvalue: float
    df_num: int
    df_denom: int


def reset(y, X, *, power: int = 3, basis: np.ndarray | None = None) -> LinearTest:
    r"""Ramsey's RESET test of linearity: add :math:`\hat y^2, \dots, \hat y^{power}` to the regression.

    The F statistic compares the residual sums of squares with and without
    the powers; ``chi2`` is the Wald form ``q F``. This is
    ``statsmodels.stats.diagnostic.linear_reset(res, power, test_type="fitted")``
    (``use_f=True`` for ``fvalue``, ``use_f=False`` for ``chi2``). The fitted
    values are standardised first: the span, hence the test, is unchanged.
    ``basis``: an orthonormal basis of ``[1, X]`` (:attr:`Influence.basis`)
    saves the one QR of the design that both fits share.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(0, 3, 40); y = np.exp(x) + np.sin(7 * x)
    >>> reset(y, x[:, None]).f_pvalue < 1e-6
    True
    """
    from scipy import stats

    y = np.asarray(y, dtype=np.float64)
    A = _with_ones(X, y.size)
    Q = _design_basis(A) if basis is None else basis
    f = Q @ (Q.T @ y)       # the least-squares fitted values
    sd = f.std()
    f = (f - f.mean()) / (sd if sd > 0 else 1.0)
    rss_r, rss_u, q = _added_rss(Q, y, np.column_stack([f ** j for j in range(2, power + 1)]),
                                 float(np.linalg.norm(A, axis=0).max()))
    dfd = y.size - Q.shape[1] - q
    if q <= 0 or dfd <= 0 or rss_u <= 0:
        return LinearTest(float("nan"), float("nan"), float("nan"), float("nan"), q, dfd)
    fval = (rss_r - rss_u) / q / (rss_u / dfd)
    return LinearTest(float(fval), float(stats.f.sf(fval, q, dfd)), float(q * fval),
                      float(stats.chi2.sf(q * fval, q)), q, dfd)


def durbin_watson(resid) -> float:
    r"""Durbin-Watson statistic :math:`\sum (e_t - e_{t-1})^2 / \sum e_t^2` (2 without autocorrelation).

    Examples
    --------
    >>> durbin_watson(np.array([1.0, -1.0, 1.0, -1.0]))
    3.0
    """
    e = _vec(resid)
    return float(np.sum(np.diff(e) ** 2) / np.sum(e ** 2))


def breusch_godfrey(resid, X, *, nlags: int | None = None, basis: np.ndarray | None = None) -> LinearTest:
    r"""Breusch-Godfrey LM test of serial correlation up to ``nlags`` (default ``min(10, n // 5)``).

    Regress the OLS residuals on the design (with intercept) and their first
    ``nlags`` lags (zeros before the start); ``LM = n R^2`` is
    :math:`\chi^2_{nlags}` and the F form tests the lag coefficients, as
    ``statsmodels.stats.diagnostic.acorr_breusch_godfrey``. ``basis`` as in :func:`reset`.

    Examples
    --------
    >>> import numpy as np
    >>> e = np.sin(np.arange(60) / 3.0)
    >>> breusch_godfrey(e, np.arange(60.0)[:, None], nlags=2).f_pvalue < 1e-6
    True
    """
    from scipy import stats

    e = _vec(resid)
    n = e.size
    nlags = min(10, n // 5) if nlags is None else int(nlags)
    if nlags < 1:
        return LinearTest(float("nan"), float("nan"), float("nan"), float("nan"), 0, 0)
    lags = np.column_stack([np.r_[np.zeros(j), e[:n - j]] for j in range(1, nlags + 1)])
    A = _with_ones(X, n)
    Q = _design_basis(A) if basis is None else basis
    rss_r, rss_u, q = _added_rss(Q, e, lags, float(np.linalg.norm(A, axis=0).max()))
    dfd = n - Q.shape[1] - q
    tss = float(np.sum((e - e.mean()) ** 2))
    lm = n * (1.0 - rss_u / tss) if tss > 0 else float("nan")
    fval = (rss_r - rss_u) / q / (rss_u / dfd) if q > 0 and dfd > 0 and rss_u > 0 else float("nan")
    return LinearTest(float(fval), float(stats.f.sf(fval, q, dfd)), float(lm), float(stats.chi2.sf(lm, nlags)),
                      q, dfd)


@dataclass(frozen=True)
class Collinearity:
    """Variance inflation factors and the scaled condition number of a design."""

    vif: np.ndarray            # one per feature; inf for a column that others reproduce exactly
    condition_number: float    # of the centred features scaled to unit length (sqrt of the correlation matrix's)


def collinearity(X) -> Collinearity:
    r"""VIF of each feature and the condition number of the centred, unit-length features.

    :math:`VIF_j = 1 / (1 - R_j^2)`, :math:`R_j^2` from regressing feature
    ``j`` on the others and an intercept, as
    ``statsmodels.stats.outliers_influence.variance_inflation_factor`` on a
    design with a constant column. The condition number is
    :math:`\sqrt{\lambda_{max}/\lambda_{min}}` of the features' correlation
    matrix (centring first, so an intercept far from the data does not count
    as collinearity). Rules of thumb: VIF above 10, condition number above 30
    (Belsley, Kuh & Welsch 1980).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(10.0); X = np.c_[x, x ** 2, np.cos(x)]
    >>> c = collinearity(X)
    >>> bool(c.vif[1] > 10), round(float(c.vif[2]), 6) == round(float(collinearity(X[:, ::-1]).vif[0]), 6)
    (True, True)
    """
    X = np.asarray(X, dtype=np.float64)
    n, p = X.shape
    vif = np.empty(p)
    Z = X - X.mean(axis=0)
    norms = np.linalg.norm(Z, axis=0)
    if p and norms.min() > 0:   # well-conditioned: the diagonal of the inverse correlation matrix, one pass
        C = (Z / norms).T @ (Z / norms)
        if np.linalg.cond(C) < 1e6:
            return Collinearity(np.diag(np.linalg.inv(C)).copy(), float(np.sqrt(np.linalg.cond(C))))
    for j in range(p):
        tss = float(Z[:, j] @ Z[:, j])
        if tss == 0:
            vif[j] = np.inf
            continue
        rss, _ = _ols_rss(_with_ones(np.delete(X, j, axis=1), n), X[:, j]) if p > 1 else (tss, 1)
        vif[j] = tss / rss if rss > 1e-13 * tss else np.inf
    s = np.linalg.svd(Z / np.where(norms > 0, norms, 1.0), compute_uv=False) if p else np.ones(1)
    cond = float(s[0] / s[-1]) if s[-1] > 0 else float("inf")
    return Collinearity(vif, cond)
