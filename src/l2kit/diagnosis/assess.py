"""Build the named checks of a diagnosis from the fits, the OLS influence and the Monte Carlo null.

Each function returns :class:`~l2kit.diagnosis.checks.Check` values; :func:`assess`
collects them and applies Holm's adjustment across every tested check.
"""

from __future__ import annotations

import numpy as np

from ._rows import label_rows
from .checks import LEVEL, LOSS_FAMILY, Check, NullSampler, holm, outlyingness, residual_shape, robust_outliers
from .tests import breusch_godfrey, breusch_pagan, collinearity, durbin_watson, reset


def _p(p: float) -> str:
    if not np.isfinite(p):
        return "n/a"
    return "p < 1e-16" if p < 1e-16 else (f"p = {p:.2g}" if p < 0.001 else f"p = {p:.3f}")


def _rows(idx, labels=None) -> str:
    rows = label_rows(labels, idx[:12])
    more = f" ... ({len(idx)} in all)" if len(idx) > 12 else ""
    return ", ".join(rows) + more


def shape_checks(inf, sampler: NullSampler, *, positive: bool, level: float) -> tuple[dict, dict]:
    """Normality, heavy tails and right skew of the OLS residuals, by Monte Carlo from the Gaussian fit.

    With a heteroscedastic sampler (``sampler.sd`` set) the residuals are
    divided by the fitted standard deviations first, as the null draws are.
    """
    het = sampler.sd is not None
    s = residual_shape(inf.resid / sampler.sd if het else inf.resid, inf.leverage, sampler)
    mc = f"{s['B']} simulations from the fitted Gaussian model" + (
        " with the fitted variance function (the residuals standardised by it)" if het else "")
    out = {
        "normality": Check("normality", s["jb"], s["p_jb"], "pass",
                           f"Jarque-Bera {s['jb']:.3g} on the OLS residuals (skewness {s['skew']:.2f}, kurtosis "
                           f"{s['kurtosis']:.2f}), {_p(s['p_jb'])} against {mc}.",
                           "Gaussian prediction intervals are off; see the tail and skewness checks for the cause.",
                           level),
        "heavy_tails": Check("heavy_tails", s["kurtosis"], s["p_kurtosis"], "pass",
                             f"Kurtosis of the OLS residuals {s['kurtosis']:.2f} (Gaussian: 3 up to leverage), "
                             f"one-sided {_p(s['p_kurtosis'])} against {mc}.",
                             "Use a robust loss (Huber, or the MM fit when rows at high leverage are off).", level),
    }
    if positive:
        out["skewness"] = Check("skewness", s["skew"], s["p_skew"], "pass",
                                f"The target is positive; skewness of the OLS residuals {s['skew']:.2f} (right skew: "
                                f"one-sided {_p(s['p_skew'])} against {mc}).",
                                "Model the mean on the log scale: a Gamma GLM with log link (or log-normal).", level)
    else:
        out["skewness"] = Check("skewness", s["skew"], float("nan"), "skipped",
                                "Skewness is checked for positive targets only (log link / Gamma advice).")
    return out, s


def outlier_check(inf, shape: dict, mm_fit, level: float, row_labels=None, sd: np.ndarray | None = None) -> Check:
    """Outliers with leverage: OLS residuals in MAD units (Monte Carlo) and the MM fit (Bonferroni).

    The reason names the flagged rows by ``row_labels`` (the table's), or by their number from 1.
    ``sd`` (the fitted variance function, when the variance changes with the
    features) standardises the OLS residuals, as the Monte Carlo null does. The
    MM fit's residuals stay as they are: a variance function fitted to residuals
    explains a cluster of outliers at high leverage (starsCYG's giants) away as
    a variance growing toward them, with or without those rows in its fit (then
    by extrapolation).
    """
    p_ols = shape["p_outlying"]
    rows_mm, cut_mm, p_mm = np.zeros(0, dtype=int), float("nan"), 1.0
    if mm_fit is not None and mm_fit.residuals is not None and mm_fit.scale:
        rows_mm, cut_mm, p_mm = robust_outliers(np.asarray(mm_fit.residuals, float), float(mm_fit.scale),
                                                inf.leverage, level=level / 2)
    p = float(min(1.0, 2.0 * min(p_ols, p_mm)))
    # rows beyond the OLS statistic's own critical value at level / 2 (the MC null of the maximum)
    resid = inf.resid if sd is None else inf.resid / sd    # the scale of the Monte Carlo null's statistic
    # a zero MAD makes every z inf or NaN (outlyingness): no row is then flagged on the OLS side
    z = np.nan_to_num(outlyingness(resid, inf.leverage), nan=0.0, posinf=0.0)
    crit = float(np.quantile(shape["null_outlying"], 1.0 - level / 2))
    rows = np.union1d(rows_mm, np.flatnonzero(z > crit)).astype(int)
    high = rows[inf.leverage[rows] > inf.leverage_cutoff]
    reason = (f"Largest leverage-adjusted OLS residual {shape['outlying']:.2f} robust SDs ({_p(p_ols)}, Monte "
              f"Carlo); MM fit: {rows_mm.size} row(s) beyond the Bonferroni bound {cut_mm:.2f} ({_p(p_mm)}); "
              f"combined {_p(p)}.")
    if rows.size:
        what = "Rows (from 1)" if row_labels is None else "Rows (row labels)"
        reason += f" {what}: {_rows(rows, row_labels)}" + (
            f"; at high leverage: {_rows(high, row_labels)}." if high.size else ".")
    return Check("outliers", float(shape["outlying"]), p, "pass", reason,
                 "Outliers at high leverage drag OLS and Huber alike: use the high-breakdown MM fit." if high.size
                 else "Down-weight them with a robust loss; check those rows for recording errors.", level,
                 detail={"rows": rows, "high_leverage": high, "p_ols": p_ols, "p_mm": p_mm, "z_ols": z})


def variance_sd(resid: np.ndarray, X: np.ndarray) -> np.ndarray | None:
    r"""Fitted standard deviation per row from a log-linear variance model of the OLS residuals.

    :math:`\log \sigma_i^2 = \gamma_0 + x_i^T\gamma`, fitted by the Gamma
    GLM with log link to :math:`e_i^2` (under Gaussian errors
    :math:`e_i^2/\sigma_i^2` is :math:`\chi^2_1`, a Gamma with shape 1/2, so
    this is the likelihood fit of the variance function up to the leverage of
    each row; Aitkin 1987, Smyth 1989). Returns ``None`` when the fit fails.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(0, 2, size=(400, 1))
    >>> sd = variance_sd(np.exp(x[:, 0]) * rng.normal(size=400), x)
    >>> bool(2.5 < sd.max() / sd.min() < 12)   # exp(2) = 7.4 in truth
    True
    """
    from ..linear import fit

    e2 = np.asarray(resid, float) ** 2
    mean = float(np.mean(e2))
    if not mean > 0:
        return None
    f = fit(X, np.maximum(e2, 1e-8 * mean), loss="gamma_nll")   # the floor keeps exact zeros in the Gamma's domain
    if not f.converged:
        return None
    v = np.asarray(f.predict(X), dtype=float)
    return np.sqrt(v) if np.all(np.isfinite(v)) and np.all(v > 0) else None


def model_checks(inf, X: np.ndarray, names, *, ordered: bool, level: float) -> dict:
    """Linearity (RESET), heteroscedasticity (Breusch-Pagan), serial correlation, collinearity."""
    y = inf.fitted + inf.resid
    out = {}
    r = reset(y, X, basis=inf.basis)
    out["linearity"] = Check("linearity", r.fvalue, r.f_pvalue, "pass",
                             f"RESET (squares and cubes of the fitted values): F = {r.fvalue:.3g} on "
                             f"({r.df_num}, {r.df_denom}) df, {_p(r.f_pvalue)}.",
                             "The mean is not linear in the features: add terms (splines, interactions, a "
                             "transformed feature) before choosing a loss; see the residual smoother plot.", level)
    if X.shape[1] == 0:   # every column was constant or dependent: the variance has nothing to depend on
        out["heteroscedasticity"] = Check(
            "heteroscedasticity", float("nan"), float("nan"), "skipped",
            "No usable feature is left (constant or dependent columns were dropped): nothing to test against.")
        return _serial_and_collinearity(out, inf, X, names, ordered=ordered, level=level)
    bp = breusch_pagan(inf.resid, X)
    out["heteroscedasticity"] = Check(
        "heteroscedasticity", bp.lm, bp.lm_pvalue, "pass",
        f"Breusch-Pagan (Koenker) LM = {bp.lm:.3g}, {_p(bp.lm_pvalue)}.",
        "The variance changes with the features: keep squared error for the mean but use robust standard errors "
        "(cov_type='HC3') or model the variance (weights, a GLM); a robust loss does not fix this.", level)
    return _serial_and_collinearity(out, inf, X, names, ordered=ordered, level=level)


def _serial_and_collinearity(out: dict, inf, X: np.ndarray, names, *, ordered: bool, level: float) -> dict:
    """Serial correlation (when row order is meaningful) and collinearity, added to ``out``."""
    if ordered:
        bg = breusch_godfrey(inf.resid, X, basis=inf.basis)
        dw = durbin_watson(inf.resid)
        out["serial_correlation"] = Check(
            "serial_correlation", bg.fvalue, bg.f_pvalue, "pass",
            f"Durbin-Watson {dw:.3f} (2 without autocorrelation); Breusch-Godfrey with {bg.df_num} lag(s): "
            f"F = {bg.fvalue:.3g}, {_p(bg.f_pvalue)}.",
            "Errors are correlated in row order: use HAC standard errors (cov_type='HAC') or a time-series "
            "model; the point estimates stay unbiased.", level, detail={"durbin_watson": dw})
    else:
        out["serial_correlation"] = Check(
            "serial_correlation", float("nan"), float("nan"), "skipped",
            "Row order was not declared meaningful (pass ordered=True for time series; l2kit cannot tell "
            "from the numbers whether rows are in time order).")
    if X.shape[1] == 0:
        out["collinearity"] = Check("collinearity", float("nan"), float("nan"), "skipped",
                                    "No usable feature is left: nothing can be collinear.")
        return out
    c = collinearity(X)
    worst = int(np.argmax(c.vif)) if c.vif.size else 0
    high = bool((c.vif.size and c.vif.max() > 10) or c.condition_number > 30)
    out["collinearity"] = Check(
        "collinearity", float(c.vif.max()) if c.vif.size else float("nan"), float("nan"), "info",
        (f"Largest VIF {c.vif[worst]:.3g} ({names[worst]!r}), scaled condition number {c.condition_number:.3g} "
         f"({'above' if high else 'below'} the rules of thumb 10 and 30)."),
        "Coefficients of collinear features are unstable (wide standard errors) whatever the loss; drop or "
        "combine features, or use ridge (alpha > 0)." if high else "", level,
        detail={"vif": c.vif, "condition_number": c.condition_number, "high": high})
    return out


def assess(inf, Q, X, names, *, mm_fit, positive: bool, ordered: bool, seed: int, level: float = LEVEL,
           B: int | None = None, row_labels=None) -> tuple[dict, dict]:
    """All continuous-target checks, Holm-adjusted; returns ``(checks, shape statistics)``.

    ``row_labels`` (a table's, one per row) name the rows in the reasons, as the summary and report do.
    """
    # a fixed Monte Carlo stream: the checks are a function of the data alone, so a p-value near the level
    # cannot flip the recommendation between seeds (mtcars' skewness at p ~ 0.017 did); ``seed`` moves the
    # CV folds and the MM subsamples only
    del seed
    model = model_checks(inf, X, names, ordered=ordered, level=level)
    # a variance that changes with the features makes the pooled residuals look heavy-tailed (a scale mixture);
    # the advice for it is robust standard errors, not a robust loss, so the tail checks then ask whether the
    # residuals are heavy-tailed *given* the fitted variance function
    sd = variance_sd(inf.resid, X) if model["heteroscedasticity"].p_value < level else None
    sampler = NullSampler(Q, seed=0, B=B, sd=sd)
    checks, shape = shape_checks(inf, sampler, positive=positive, level=level)
    checks["outliers"] = outlier_check(inf, shape, mm_fit, level, row_labels, sd=sd)
    checks.update(model)
    checks = holm(checks, level, LOSS_FAMILY)
    return holm(checks, level, tuple(k for k in checks if k not in LOSS_FAMILY)), shape


def count_checks(y: np.ndarray, fits: dict, X: np.ndarray, *, seed: int, level: float = LEVEL,
                 B: int = 999) -> dict:
    r"""Dispersion, zero inflation and the fit of the count model, by simulation from the fitted model (DHARMa).

    ``dispersion``: the Pearson statistic :math:`\sum (y-\hat\mu)^2/\hat\mu`
    of the Poisson fit against ``B`` draws of Poisson counts with means
    :math:`\hat\mu` (one-sided: more variance than Poisson).
    ``zero_inflation``: the number of zeros against draws from the negative
    binomial fit (Poisson without one). ``count_fit``: the randomised
    quantile residuals :math:`u_i \sim U(F(y_i - 1), F(y_i))` of that model
    (Dunn & Smyth 1996), uniform when it is right; Kolmogorov-Smirnov.
    """
    from scipy import stats

    from ._fits import count_parts, quantile_residuals

    rng = np.random.default_rng([0, 23])   # fixed, as the Gaussian null (see assess); seed kept for the API
    del seed
    out = {}
    fp = fits.get("poisson")
    parts = count_parts(fp, X) if fp is not None else None
    if parts is not None:
        mu = parts[0]
        t = float(np.sum((y - mu) ** 2 / mu))
        sims = rng.poisson(mu, size=(B, mu.size))
        p = (1.0 + np.sum(np.sum((sims - mu) ** 2 / mu, axis=1) >= t)) / (B + 1.0)
        out["dispersion"] = Check("dispersion", t / (y.size - X.shape[1] - 1), float(p), "pass",
                                  f"Pearson dispersion of the Poisson fit {t / (y.size - X.shape[1] - 1):.3g} "
                                  f"(1 for Poisson), {_p(p)} against {B} simulations from the fit.",
                                  "Overdispersed counts: use the negative binomial (or a quasi-Poisson "
                                  "variance).", level)
    fnb = fits.get("negative_binomial")
    nb = count_parts(fnb, X) if fnb is not None else None
    model = nb if nb is not None and nb[1] is not None else parts
    if model is not None:
        mu, theta = model[0], model[1]
        if theta is None:
            sims = rng.poisson(mu, size=(B, mu.size))
        else:
            sims = rng.negative_binomial(theta, theta / (theta + mu), size=(B, mu.size))
        z = int(np.sum(y == 0))
        p = (1.0 + np.sum(np.sum(sims == 0, axis=1) >= z)) / (B + 1.0)
        name = "negative binomial" if theta is not None else "Poisson"
        out["zero_inflation"] = Check("zero_inflation", float(z), float(p), "pass",
                                      f"{z} zeros against {np.mean(np.sum(sims == 0, axis=1)):.1f} expected under "
                                      f"the {name} fit, {_p(p)} against {B} simulations.",
                                      "More zeros than the count model allows: try ZINB.", level)
        u = quantile_residuals(y, mu, theta, rng=rng)
        ks = stats.kstest(u, "uniform")
        out["count_fit"] = Check("count_fit", float(ks.statistic), float(ks.pvalue), "pass",
                                 f"Randomised quantile residuals of the {name} fit: Kolmogorov-Smirnov "
                                 f"{ks.statistic:.3f} against uniform, {_p(ks.pvalue)}.",
                                 "The count model misses the distribution: check the mean model (features, "
                                 "offset) and the zeros.", level)
    return holm(out, level)
