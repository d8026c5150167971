"""Turn the checks into a recommendation, the verdict that drove it, and what to do next.

The rules, in order (every test at the diagnosis' level, Holm-adjusted):

Binary target (0/1)
    Logistic regression (Binomial likelihood): squared error on a 0/1 target
    fits probabilities outside [0, 1] and, on a sigmoid, saturates.
Counts (non-negative integers with zeros)
    Overdispersion (Poisson Pearson chi2/df > 1.1 with p < 0.01) points to the
    negative binomial; zeros beyond what the NB expects (likelihood-ratio test
    on the boundary) together with a better cross-validated log score point to
    ZINB. Without overdispersion, Poisson (or ZINB for excess zeros).
Positive, right-skewed target
    When the skewness check rejects and the Gamma GLM (log link) accounts for
    the tail (no row beyond the Bonferroni bound of its quantile residuals):
    Gamma with log link.
Heavy tails or outliers rejected
    A robust loss, chosen by the one-standard-error rule on the repeated-CV
    truncated squared error in the order Huber, Tukey MM, L1; outliers at
    high leverage call for the MM fit (the only high-breakdown candidate).
    Squared error is kept if it predicts better than that choice by more than
    one paired standard error.
Otherwise
    Squared error, "fine here"; heteroscedasticity adds HC3 standard errors,
    serial correlation HAC standard errors, and nonlinearity or collinearity
    add advice, none of which changes the loss.

A candidate whose fit failed is skipped and the reasons say so.
"""

from __future__ import annotations

import numpy as np

from ._fits import COUNT_MODELS, LABELS
from ._recommendation import Recommendation
from .verdict import continuous_choice, next_steps

ALPHA = 0.05


def _p(p: float) -> str:
    if not np.isfinite(p):
        return "n/a"
    return "< 1e-16" if p < 1e-16 else (f"{p:.2g}" if p < 0.001 else f"{p:.3f}")


def _peq(p: float) -> str:
    """"p = 0.012" or "p < 1e-16"."""
    t = _p(p)
    return f"p {t}" if t.startswith("<") else f"p = {t}"


def _cv_sentence(d, keys=None) -> str:
    """The repeated-CV scores with their standard errors."""
    keys = [k for k in (keys or d.candidates) if k in d.cv and d.cv[k].ok]
    if not keys:
        return ""
    if d.is_count and all(np.isfinite(d.cv[k].log_score) for k in keys if k in COUNT_MODELS):
        parts = ", ".join(f"{LABELS.get(k, k)} {d.cv[k].log_score:.4g}" for k in keys if k in COUNT_MODELS)
        extra = f"; log score (NLL per row): {parts}" if parts else ""
    else:
        extra = ""
    parts = ", ".join(f"{LABELS.get(k, k)} {d.cv[k].score_rmse:.4g}" for k in keys)
    return (f"Out of sample ({d.folds}-fold cross-validation repeated {d.repeats} times, seed {d.seed}), the "
            f"Gaussian-consistent truncated RMSE is {parts}{extra}.")


def advise(d):
    """``(recommendation, reasons, verdict, next_steps, choice)`` for a Diagnosis under construction."""
    reasons: list[str] = list(d.notes)
    for k, msg in d.fit_errors.items():
        reasons.append(f"The {LABELS.get(k, k)} candidate could not be fitted and is left out: {msg}")
    rec, verdict, choice = None, [], {}
    if d.is_integer and not d.is_count:
        reasons.append(f"The target {d.target!r} is integer-valued but never zero (minimum {d.y.min():.0f}), "
                       "so it is treated as continuous; pass counts=True to also fit count models.")
    if d.is_count:
        start = len(reasons)
        rec = _advise_counts(d, reasons)
        sim = [d.checks[k].reason for k in ("dispersion", "zero_inflation") if k in d.checks]
        verdict = [*reasons[start + 1:start + 2], *sim, reasons[-1]] if rec is not None else []
    if rec is None:
        rec, verdict, choice = continuous_choice(d)
        reasons += [c.reason for c in d.checks.values() if c.verdict != "skipped"]
        reasons.append(_cv_sentence(d))
        reasons.append(verdict[-1])
    return rec, [r for r in reasons if r], verdict, next_steps(d, rec), choice


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
    s = _cv_sentence(d, ["squared", *[k for k in COUNT_MODELS if k in ok]])
    if s:
        reasons.append(s)
    rec = Recommendation(choice, _fitted_loss(d, choice))
    reasons.append(f"Recommended: {LABELS[choice]} ({rec.loss!r}) because {why}.")
    return rec


