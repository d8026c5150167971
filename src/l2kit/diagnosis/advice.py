"""Turn the diagnostics into a recommendation with plain sentences that cite the numbers.

The rules, in order:

Counts (non-negative integers with zeros)
    Overdispersion (Poisson Pearson chi2/df > 1.1 with p < 0.01) points to the
    negative binomial; zeros beyond what the NB expects (one-sided p < 0.05)
    together with a better cross-validated log score point to ZINB. Without
    overdispersion, Poisson (or ZINB for excess zeros).
Continuous
    If the residuals break the Gaussian story — more residuals beyond 2.5
    robust standard deviations under the robust fits than a Gaussian gives
    (binomial p < 0.05), or a Jarque-Bera p < 0.01 — recommend the robust
    candidate (Huber, Tukey, L1) with the lowest cross-validated mean
    absolute error. Otherwise squared error, the Gaussian maximum-likelihood
    loss, with heteroscedasticity-robust standard errors when Breusch-Pagan
    rejects (p < 0.05).

A candidate whose fit failed is skipped and the reasons say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._fits import COUNT_MODELS, LABELS, ROBUST

ALPHA = 0.05
#: Jarque-Bera alone must be stronger evidence: it rejects 5% of Gaussian samples at 0.05
JB_ALPHA = 0.01


@dataclass(frozen=True)
class Recommendation:
    """The loss the data asks for: a registry loss with its parameters and fit options.

    Use it as ``l2.fit(X, y, loss=rec.loss, **rec.options)``.
    """

    name: str                 # candidate key, e.g. "huber"
    loss: Any                 # the loss object (from the registry)
    options: dict = field(default_factory=dict)   # extra fit options, e.g. {"cov_type": "HC3"}

    @property
    def label(self) -> str:
        return LABELS.get(self.name, self.name)

    @property
    def params(self) -> dict:
        return dict(getattr(self.loss, "params", {}))

    @property
    def robust(self) -> bool:
        return self.name in ROBUST

    def __str__(self) -> str:
        opts = "".join(f", {k}={v!r}" for k, v in self.options.items())
        return f"{self.loss!r}{opts}"


def _p(p: float) -> str:
    if not np.isfinite(p):
        return "n/a"
    return "< 1e-16" if p < 1e-16 else (f"{p:.2g}" if p < 0.001 else f"{p:.3f}")


def _peq(p: float) -> str:
    """"p = 0.012" or "p < 1e-16"."""
    t = _p(p)
    return f"p {t}" if t.startswith("<") else f"p = {t}"


def _rows(idx) -> str:
    rows = [str(int(i) + 1) for i in idx]
    if len(rows) > 12:
        rows = rows[:12] + [f"... ({len(idx)} in all)"]
    return ", ".join(rows[:-1]) + " and " + rows[-1] if len(rows) > 1 else (rows[0] if rows else "none")


def _cv_sentence(d, keys, metric: str, metric_name: str, best: str | None) -> str | None:
    ok = [k for k in keys if k in d.cv and d.cv[k].ok and np.isfinite(getattr(d.cv[k], metric))]
    if not ok:
        return None
    vals = {k: getattr(d.cv[k], metric) for k in ok}
    order = sorted(ok, key=vals.get)
    parts = ", ".join(f"{LABELS[k]} {vals[k]:.4g}" for k in order)
    head = f"Out of sample ({d.folds}-fold cross-validation), the {metric_name} is {parts}"
    if best in vals and "squared" in vals and best != "squared":
        rel = 100 * (vals["squared"] - vals[best]) / vals["squared"]
        head += (f"; {LABELS[best]} is {abs(rel):.1f}% {'lower' if rel >= 0 else 'higher'} than squared error")
    return head + "."


def advise(d) -> tuple[Recommendation, list[str]]:
    """Recommendation and reasons for a :class:`~l2kit.diagnosis.Diagnosis` under construction."""
    reasons: list[str] = []
    for k, msg in d.fit_errors.items():
        reasons.append(f"The {LABELS.get(k, k)} candidate could not be fitted and is left out: {msg}")
    if d.is_count:
        rec = _advise_counts(d, reasons)
        if rec is not None:
            return rec, reasons
    return _advise_continuous(d, reasons), reasons


def _fitted_loss(d, name):
    """The candidate loss with its estimated parameters (NB theta, ZINB theta and pi) filled in."""
    from ._fits import count_parts

    loss = d.losses[name]
    f = d.fits.get(name)
    if f is None or name not in ("negative_binomial", "zinb"):
        return loss
    parts = count_parts(f, d.X[:1])
    if parts is None or parts[1] is None:
        return loss
    params = {"theta": float(f"{parts[1]:.6g}")}
    if name == "zinb" and parts[2] is not None and np.ndim(parts[2]) == 0:
        pi = float(parts[2])
        params["pi_logit"] = float(f"{np.log(pi / (1 - pi)):.6g}")
    try:
        return type(loss)(**{**loss.params, **params})
    except Exception:  # pragma: no cover - a loss that refuses the estimates keeps its defaults
        return loss


def _lr_test(d, big: str, small: str):
    """``(LR, p, pi)`` for ZINB against NB (pi = 0 on the boundary), or None without log-likelihoods."""
    from scipy import stats

    from ._fits import count_parts

    fb, fs = d.fits.get(big), d.fits.get(small)
    if fb is None or fs is None or fb.loglike is None or fs.loglike is None:
        return None
    lr = max(0.0, 2.0 * (float(fb.loglike) - float(fs.loglike)))
    p = 0.5 * float(stats.chi2.sf(lr, 1)) if lr > 0 else 1.0
    parts = count_parts(fb, d.X[:1])
    pi = float(np.mean(parts[2])) if parts is not None and parts[2] is not None else float("nan")
    return lr, p, pi


def _advise_counts(d, reasons: list[str]) -> Recommendation | None:
    y = d.y
    nz = int(np.sum(y == 0))
    reasons.append(f"The target {d.target!r} is a count: non-negative integers with {nz} zeros "
                   f"({100 * nz / y.size:.0f}% of {y.size} rows), mean {y.mean():.3g}, variance "
                   f"{y.var(ddof=1):.3g} and maximum {int(y.max())}; squared error treats it as Gaussian "
                   f"with constant variance, which a count cannot be.")
    od = d.overdispersion
    if od is None:
        reasons.append("The Poisson fit failed, so dispersion could not be tested; falling back to the "
                       "continuous diagnosis.")
        return None
    over = od.ratio > 1.1 and od.pvalue < 0.01
    reasons.append(
        f"Overdispersion: the Poisson fit's Pearson chi2/df is {od.ratio:.2f} (chi2 = {od.pearson_chi2:.1f} on "
        f"{od.df_resid:.0f} degrees of freedom, {_peq(od.pvalue)}); a Poisson model "
        f"requires 1, so {'the variance grows faster than the mean' if over else 'Poisson variance is adequate'}.")
    zp, znb = d.zero_inflation_poisson, d.zero_inflation_nb
    if zp is not None:
        s = (f"Zeros: {zp.observed} observed against {zp.expected:.1f} expected under Poisson "
             f"(ratio {zp.ratio:.2f}, {_peq(zp.pvalue)})")
        if znb is not None:
            s += (f" and {znb.expected:.1f} under the negative binomial (ratio {znb.ratio:.2f}, "
                  f"{_peq(znb.pvalue)})")
        reasons.append(s + ".")
    ok = {k for k in COUNT_MODELS if k in d.fits and d.fits[k] is not None}
    def better(a, b):  # CV log score of a beats b (lower NLL)
        ca, cb = d.cv.get(a), d.cv.get(b)
        if ca is None or not ca.ok or not np.isfinite(ca.log_score):
            return False
        return cb is None or not cb.ok or not np.isfinite(cb.log_score) or ca.log_score < cb.log_score
    nb_why = ("it models the extra variance (variance mu + mu^2/theta"
              + (f", theta = {d.nb_theta:.3g}" if d.nb_theta is not None else "") + ")"
              + (" and accounts for the zeros" if znb is not None and znb.pvalue >= ALPHA else ""))
    if over:
        # does the inflation part earn its keep? a likelihood-ratio test of pi = 0 (on the boundary:
        # p = P(chi2_1 > LR) / 2, Self & Liang 1987) and a better out-of-sample log score
        lr = _lr_test(d, "zinb", "negative_binomial")
        if lr is not None:
            excess = lr[1] < ALPHA
            reasons.append(f"Zero inflation on top of the negative binomial: likelihood-ratio statistic "
                           f"{lr[0]:.3g} ({_peq(lr[1])}, boundary chi-square), estimated inflation "
                           f"probability {lr[2]:.3g}.")
        else:  # no log-likelihoods: the zero count against the NB's expectation
            excess = znb.pvalue < ALPHA if znb is not None else (zp is not None and zp.pvalue < ALPHA)
        if "negative_binomial" in ok and not (excess and "zinb" in ok and better("zinb", "negative_binomial")):
            choice, why = "negative_binomial", nb_why
        elif "zinb" in ok:
            choice = "zinb"
            why = ("zeros exceed even the negative binomial's expectation (the inflation part is significant) "
                   "and ZINB has the better cross-validated log score" if "negative_binomial" in ok else
                   "the data are overdispersed and the negative binomial fit is unavailable")
        else:
            reasons.append("Neither the negative binomial nor the ZINB fit succeeded; the Poisson fit is kept "
                           "but its standard errors understate the uncertainty.")
            choice, why = ("poisson" if "poisson" in ok else None), "it is the only count model that could be fitted"
    else:
        choice, why = ("poisson" if "poisson" in ok else None), "the variance matches the mean"
        if zp is not None and zp.pvalue < ALPHA and "zinb" in ok and better("zinb", "poisson"):
            choice, why = "zinb", "zeros exceed the Poisson expectation and ZINB has the better log score"
    if choice is None:
        return None
    s = _cv_sentence(d, [k for k in COUNT_MODELS if k in ok], "log_score",
                     "mean negative log-likelihood per row (log score; lower is better)", None)
    if s:
        reasons.append(s)
    s = _cv_sentence(d, ["squared", *[k for k in COUNT_MODELS if k in ok]], "mae", "mean absolute error", None)
    if s:
        reasons.append(s)
    rec = Recommendation(choice, _fitted_loss(d, choice))
    reasons.append(f"Recommended: {LABELS[choice]} ({rec.loss!r}) because {why}.")
    return rec


def _advise_continuous(d, reasons: list[str]) -> Recommendation:
    n = d.y.size
    jb, inf, bp = d.jarque_bera, d.influence, d.breusch_pagan
    robust_ok = [k for k in ROBUST if d.fits.get(k) is not None]
    flagged = {k: t for k, t in d.tails.items() if k in robust_ok}
    heavy = any(t.heavy for t in flagged.values())
    jb_reject = jb.pvalue < JB_ALPHA
    if d.is_integer and not d.is_count:
        reasons.append(f"The target {d.target!r} is integer-valued but never zero (minimum {d.y.min():.0f}), "
                       "so it is treated as continuous; pass counts=True to also fit count models.")
    if flagged:
        worst = max(flagged, key=lambda k: flagged[k].n_beyond)
        t = flagged[worst]
        out = d.outliers
        if out.size:
            reasons.append(
                f"The robust fits put {out.size} of {n} observations (rows {_rows(out)}, counting from 1) more "
                f"than {t.cutoff} robust standard deviations from their fitted values; a Gaussian would put "
                f"{t.expected:.2g} there (binomial {_peq(t.pvalue)} under {LABELS[worst]}). "
                + ("Squared error gives these rows the most pull on the fit." if heavy else
                   "That is no more than chance allows."))
        else:
            reasons.append(f"No observation lies more than {t.cutoff} robust standard deviations from the "
                           f"robust fits (a Gaussian would put {t.expected:.2g} there).")
    if d.outliers.size and heavy:
        idx = d.outliers[:8]
        ts = ", ".join(f"{inf.studentized_external[i]:.2f}" for i in idx)
        cd = ", ".join(f"{inf.cooks_distance[i]:.2g}" for i in idx)
        top = int(np.argmax(inf.cooks_distance))
        reasons.append(
            f"Under OLS these rows have externally studentized residuals {ts} and Cook's distances {cd} "
            f"(rule of thumb 4/n = {inf.cooks_cutoff:.2g}); the most influential row is {top + 1} "
            f"(D = {inf.cooks_distance[top]:.2g}, leverage {inf.leverage[top]:.2f}). OLS pulls toward them, "
            "which is why its own residuals understate them.")
    reasons.append(
        f"Jarque-Bera on the OLS residuals: JB = {jb.statistic:.3g}, {_peq(jb.pvalue)}, kurtosis "
        f"{jb.kurtosis:.2f} (3 for a Gaussian), skewness {jb.skew:.2f}; "
        + (f"normality is rejected (p < {JB_ALPHA})." if jb_reject else
           ("normality is not rejected, but with " + str(n) + " rows the test has little power and OLS "
            "residuals mask outliers." if heavy else "normality is not rejected.")))
    if d.qq is not None and np.isfinite(d.qq.correlation):
        reasons.append(f"The QQ plot's correlation with Gaussian quantiles is {d.qq.correlation:.3f} "
                       f"(Shapiro-Wilk {_peq(d.qq.shapiro_pvalue)}).")
    bp_reject = bp is not None and bp.lm_pvalue < ALPHA
    if bp is not None:
        reasons.append(f"Breusch-Pagan: LM = {bp.lm:.3g}, {_peq(bp.lm_pvalue)}; "
                       + ("the residual variance changes with the features (heteroscedasticity)." if bp_reject
                          else "no evidence that the residual variance changes with the features."))
    if (heavy or jb_reject) and robust_ok:
        scored = [k for k in robust_ok if k in d.cv and d.cv[k].ok]
        choice = min(scored, key=lambda k: d.cv[k].mae) if scored else robust_ok[0]
        s = _cv_sentence(d, ["squared", *robust_ok], "mae",
                         "mean absolute error (used because squared error would be dominated by the very "
                         "outliers being diagnosed)", choice)
        if s:
            reasons.append(s)
        s = _cv_sentence(d, ["squared", *robust_ok], "rmse", "RMSE", None)
        if s:
            reasons.append(s)
        shift = d.coef_shift(choice)
        if shift is not None and heavy and shift[1] >= 0.5:
            j, z = shift
            reasons.append(f"The {LABELS[choice]} fit moves the coefficient of {j!r} by {z:.2f} OLS standard "
                           "errors: the outliers change the conclusions, not just the error bars.")
        rec = Recommendation(choice, d.losses[choice])
        why = ("the errors are heavier-tailed than Gaussian" if heavy else "the residuals are not Gaussian")
        reasons.append(f"Recommended: {LABELS[choice]} ({rec.loss!r}), because {why} and it has the lowest "
                       f"cross-validated mean absolute error among the robust losses.")
        return rec
    if (heavy or jb_reject) and not robust_ok:
        reasons.append("The residuals are not Gaussian but no robust candidate could be fitted; squared error "
                       "is kept for now.")
    s = _cv_sentence(d, ["squared", *robust_ok], "rmse", "RMSE", None)
    if s:
        reasons.append(s)
    options = {"cov_type": "HC3"} if bp_reject else {}
    rec = Recommendation("squared", d.losses["squared"], options)
    reasons.append("Recommended: squared error (" + repr(rec.loss) + "), the Gaussian maximum-likelihood loss and "
                   "the most efficient when the Gaussian story holds"
                   + ("; with heteroscedasticity-robust (HC3) standard errors." if bp_reject else "."))
    return rec
