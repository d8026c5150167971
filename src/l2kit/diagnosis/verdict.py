"""The decision for a non-count target and the short verdict that explains it (see :mod:`.advice` for the rules)."""

from __future__ import annotations

import numpy as np

from ._fits import LABELS, ROBUST
from ._recommendation import Recommendation
from .checks import LOSS_FAMILY
from .crossval import one_se_choice


def _p(p: float) -> str:
    return "p < 1e-16" if p < 1e-16 else (f"p = {p:.2g}" if p < 0.001 else f"p = {p:.3f}")


def gamma_explains(d) -> tuple[bool, str]:
    r"""Does the Gamma GLM (log link) account for the right tail? Its quantile residuals against a Bonferroni bound.

    The quantile residual of row ``i`` is :math:`\Phi^{-1}(F(y_i))` under the
    fitted Gamma (mean :math:`\hat\mu_i`, shape :math:`1/\hat\phi`); under the
    model they are standard normal, so no row should pass
    :math:`z_{1 - \alpha/(2n)}`.
    """
    from scipy import stats

    f = d.fits.get("gamma")
    if f is None or not f.scale or not np.isfinite(f.scale):
        return False, "the Gamma fit is unavailable"
    mu = np.asarray(f.predict(d.X), dtype=float)
    shape = 1.0 / float(f.scale)
    u = stats.gamma.cdf(d.y, shape, scale=mu / shape)
    z = np.abs(stats.norm.ppf(np.clip(u, 1e-300, 1 - 1e-16)))
    cut = float(stats.norm.isf(d.level / (2 * d.y.size)))
    k = int(np.sum(z > cut))
    return k == 0, (f"the Gamma fit (log link, shape {shape:.3g}) leaves {k} quantile residual(s) beyond the "
                    f"Bonferroni bound {cut:.2f}")


def _cv_compare(d, a: str, b: str) -> str:
    ca, cb = d.cv.get(a), d.cv.get(b)
    if ca is None or cb is None or not ca.ok or not cb.ok or ca.row_scores is None or cb.row_scores is None:
        return ""
    x = ca.row_scores - cb.row_scores
    se = x.std(ddof=1) / np.sqrt(x.size)
    return (f"{LABELS[a]} {ca.score_rmse:.4g} against {LABELS[b]} {cb.score_rmse:.4g} (truncated RMSE, "
            f"{d.folds}-fold CV x {d.repeats}; paired difference of mean squared error {x.mean():.3g} "
            f"+/- {se:.2g})")


def continuous_choice(d):
    """``(Recommendation, verdict sentences, choice details)`` for binary, positive and continuous targets."""
    c = d.checks
    if d.kind == "binary" and d.fits.get("binomial") is not None:
        rec = Recommendation("binomial", d.losses["binomial"])
        p1 = float(np.mean(d.y))
        return rec, [f"The target {d.target!r} takes only the values 0 and 1 ({100 * p1:.0f}% ones): it is a "
                     "probability to model, not a Gaussian quantity; squared error fits a line that leaves "
                     "[0, 1] (and on a sigmoid saturates), the Bernoulli likelihood does not.",
                     f"Recommended: {rec.label} ({rec.loss!r})."], {}
    heavy, out = c["heavy_tails"], c["outliers"]
    drove = [k for k in ("heavy_tails", "outliers", "skewness") if k in c and c[k].rejected]
    if d.kind == "positive" and c["skewness"].rejected:
        ok, why = gamma_explains(d)
        if ok:
            rec = Recommendation("gamma", d.losses["gamma"])
            return rec, [c["skewness"].reason, f"On the other hand {why}: the skew is the Gamma's own.",
                         f"Recommended: {rec.label} ({rec.loss!r}), a log link with variance growing as the "
                         "mean squared (a log-normal fit of log y is the alternative)."], {}
        drove.append("gamma")
    robust_ok = [k for k in ROBUST if d.fits.get(k) is not None]
    if (heavy.rejected or out.rejected) and robust_ok:
        high = out.detail.get("high_leverage", np.zeros(0))
        choice, diffs = one_se_choice(d.cv, robust_ok)
        why = "chosen by the one-standard-error rule on the cross-validated truncated squared error (simplest first)"
        if out.rejected and len(high) and "tukey" in robust_ok:
            choice, why = "tukey", (f"because {len(high)} flagged row(s) sit at high leverage (hat value above 2k/n = "
                                    f"{d.influence.leverage_cutoff:.2g}), where only a high-breakdown fit resists them")
        sq = one_se_choice(d.cv, ["squared", choice])
        if sq[0] == "squared" and sq[1] and sq[1]["squared"][0] < -sq[1]["squared"][1] and not len(high):
            rec = Recommendation("squared", d.losses["squared"])
            return rec, [*(c[k].reason for k in drove[:2]),
                         "Yet squared error predicts better out of sample by more than one standard error: "
                         + _cv_compare(d, "squared", choice) + ".",
                         f"Recommended: squared error ({rec.loss!r}); inspect the flagged rows."], {"diffs": diffs}
        # the MM fit is the Tukey candidate: its options (S start, seeded subsamples) are part of the answer
        opts = {"method": "mm", "seed": d.seed} if choice == "tukey" else {}
        rec = Recommendation(choice, d.losses[choice], opts)
        lines = [c[k].reason for k in drove[:2]]
        s = _cv_compare(d, choice, "squared")
        if s:
            lines.append("Out of sample: " + s + ".")
        lines.append(f"Recommended: {rec.label} ({rec.loss!r}), {why}.")
        return rec, lines, {"diffs": diffs}
    return _squared(d)


def _squared(d):
    c = d.checks
    opts = {}
    if c["heteroscedasticity"].rejected:
        opts["cov_type"] = "HC3"
    if c.get("serial_correlation") is not None and c["serial_correlation"].rejected:
        # Newey-West's rule of thumb for the lag truncation (statsmodels' and sandwich's usual choice)
        opts["cov_type"], opts["maxlags"] = "HAC", int(4 * (d.y.size / 100) ** (2 / 9))
    rec = Recommendation("squared", d.losses["squared"], opts)
    tested = [k for k, v in c.items() if v.tested and k in LOSS_FAMILY]
    lines = [f"No check of the error distribution rejects at level {d.level:g} (Holm over {len(tested)} tests): "
             + "; ".join(f"{k.replace('_', ' ')} {_p(c[k].p_value)}" for k in ("heavy_tails", "outliers",
                                                                                 "skewness") if c[k].tested) + "."]
    lines += [c[k].reason for k in ("heteroscedasticity", "serial_correlation", "linearity") if c[k].rejected]
    lines.append(f"Recommended: squared error ({rec!s}): squared error is fine here, and it is the most efficient "
                 "loss when the Gaussian story holds"
                 + ("; with robust standard errors." if opts else "."))
    return rec, lines, {}


def next_steps(d, rec) -> list[str]:
    """What to do next, most important first."""
    opts = "".join(f", {k}={v!r}" for k, v in rec.options.items())
    steps = [f"Fit it: l2kit.fit(X, y, loss={rec.loss!r}{opts})."]
    if rec.name == "squared" and not rec.options:
        steps.append("Squared error is fine here: keep OLS and its usual standard errors.")
    # a likelihood for the target's kind (counts, 0/1, Gamma) models its own variance and tails: the OLS-residual
    # checks' advice (a robust loss, HC3 for squared error) would contradict the recommendation
    glm = rec.name not in ("squared", *ROBUST)
    for k, c in d.checks.items():
        if glm and k in (*LOSS_FAMILY, "normality", "heteroscedasticity"):
            continue
        if c.advice and (c.rejected or (c.verdict == "info" and c.detail.get("high"))):
            steps.append(c.advice)
    if d.outliers.size:
        steps.append("Look at the flagged rows (outlier table) for recording errors before trusting any fit.")
    return list(dict.fromkeys(steps))
