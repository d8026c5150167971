"""The panels a statistician expects, as R's ``plot(lm)`` and ``performance::check_model`` draw them.

Observed against predicted, residuals against fitted with a smoother, scale-location, residuals against each
predictor, a normal QQ plot with a simulation envelope, standardized residuals against leverage with Cook's
distance contours, variance inflation factors, and for counts a hanging rootogram. Points are named by their
row label; beyond :data:`DENSE` rows the scatter panels are hexagonal bins (log counts) so that a million rows
stay readable, and the QQ plot shows 2,000 evenly spaced quantiles plus the 20 most extreme at each end.
"""

from __future__ import annotations

import numpy as np

from ._fits import COUNT_MODELS, LABELS, point_prediction
from ._rows import place_labels, row_names
from .plots import COLORS, FIGSIZE, OUT, WIDE, _plt, _svg, expected_count_frequencies

#: rows above which scatter panels become hexbin density plots
DENSE = 5000
#: simulated samples for the QQ envelope (Atkinson 1985; R's car::qqPlot uses a parametric bootstrap too)
N_SIM = 199


def smooth(x: np.ndarray, y: np.ndarray, bins: int = 25) -> tuple[np.ndarray, np.ndarray]:
    """A binned-median smoother: the median of ``y`` within equal-count bins of ``x`` (robust, O(n log n)).

    Examples
    --------
    >>> x = np.linspace(0, 1, 1000); cx, cy = smooth(x, 2 * x)
    >>> bool(np.allclose(cy, 2 * cx, atol=0.05))
    True
    """
    order = np.argsort(x, kind="stable")
    xs, ys = x[order], y[order]
    edges = np.linspace(0, xs.size, min(bins, max(xs.size // 5, 2)) + 1).astype(int)
    cx = np.array([np.median(xs[a:b]) for a, b in zip(edges[:-1], edges[1:]) if b > a])
    cy = np.array([np.median(ys[a:b]) for a, b in zip(edges[:-1], edges[1:]) if b > a])
    return cx, cy


def _scatter(ax, x, y, color=COLORS["squared"]):
    if x.size > DENSE:
        ax.hexbin(x, y, gridsize=70, bins="log", mincnt=1, cmap="Blues", linewidths=0, rasterized=True)
    else:
        ax.scatter(x, y, s=14 if x.size > 300 else 22, alpha=0.6, color=color, edgecolors="none",
                   rasterized=x.size > 1500)


def _name_extremes(ax, d, x, y, score, k=5):
    top = np.argsort(-np.nan_to_num(np.abs(score)))[:k]
    place_labels(ax, x[top], y[top], row_names(d, top))


def _model(d):
    name = d.recommendation.name if d.recommendation is not None else "squared"
    f = d.fits.get(name) or d.fits.get("squared")
    return (name if d.fits.get(name) is not None else "squared"), f


def plot_observed_predicted(d) -> str:
    """Observed against predicted of the recommended fit (check_model's posterior predictive check, as a scatter)."""
    name, f = _model(d)
    pred = point_prediction(f, d.X) if f is not None else d.influence.fitted
    fig, ax = _plt().subplots(figsize=FIGSIZE)
    _scatter(ax, pred, d.y, COLORS.get(name, "k"))
    lo, hi = float(min(pred.min(), d.y.min())), float(max(pred.max(), d.y.max()))
    ax.plot([lo, hi], [lo, hi], color="0.3", lw=1)
    _name_extremes(ax, d, pred, d.y, d.y - pred)
    ax.set_xlabel(f"predicted ({LABELS.get(name, name)})")
    ax.set_ylabel(f"observed {d.target}")
    ax.set_title("Observed vs predicted (line: y = x)")
    fig.tight_layout()
    return _svg(fig)


def plot_fitted_panels(d) -> str:
    """R's plot(lm) 1 and 3: residuals vs fitted and scale-location, each with a binned-median smoother."""
    inf = d.influence
    fig, axes = _plt().subplots(1, 2, figsize=WIDE)
    std = inf.studentized_internal
    for ax, yv, title, ylab in ((axes[0], inf.resid, "Residuals vs fitted", "residual"),
                                (axes[1], np.sqrt(np.abs(std)), "Scale-location", "sqrt(|standardized residual|)")):
        _scatter(ax, inf.fitted, yv)
        cx, cy = smooth(inf.fitted, yv)
        ax.plot(cx, cy, color=OUT, lw=1.8, label="binned median")
        if ax is axes[0]:
            ax.axhline(0, color="0.3", lw=0.8, ls="--")
        _name_extremes(ax, d, inf.fitted, yv, std, k=3)
        ax.set_xlabel("fitted value (OLS)")
        ax.set_ylabel(ylab)
        ax.set_title(title)
        ax.legend(loc="best", fontsize=8, frameon=False)
    fig.tight_layout()
    return _svg(fig)


def plot_predictors(d, max_panels: int = 12) -> str:
    """OLS residuals against each predictor (car::residualPlots), with a binned-median smoother."""
    p = min(len(d.feature_names), max_panels)
    if p == 0:
        raise ValueError("no predictors")
    cols = min(p, 4)
    rows = (p + cols - 1) // cols
    fig, axes = _plt().subplots(rows, cols, figsize=(3.3 * cols, 2.7 * rows), squeeze=False, sharey=True)
    r = d.influence.resid
    for j in range(rows * cols):
        ax = axes[j // cols][j % cols]
        if j >= p:
            ax.set_visible(False)
            continue
        x = d.X[:, j]
        _scatter(ax, x, r)
        if np.unique(x[: min(x.size, 5000)]).size > 2:
            cx, cy = smooth(x, r, bins=15)
            ax.plot(cx, cy, color=OUT, lw=1.5)
        ax.axhline(0, color="0.3", lw=0.8, ls="--")
        ax.set_title(d.feature_names[j], fontsize=9)
    fig.suptitle("Residuals vs each predictor" + (f" (first {p} of {len(d.feature_names)})"
                                                  if len(d.feature_names) > p else ""), fontsize=11)
    fig.tight_layout()
    return _svg(fig)


def qq_envelope(n: int, level: float = 0.95, seed: int = 0, points: int = 2000):
    """Positions (ranks 0..n-1), Gaussian quantiles and a pointwise ``level`` envelope of sorted N(0,1) samples.

    Up to 5,000 rows the envelope is simulated (:data:`N_SIM` samples); beyond, the normal approximation of
    an order statistic, :math:`q_p \\pm z\\sqrt{p(1-p)/n}/\\varphi(q_p)`, on 2,000 evenly spaced ranks and the
    20 most extreme at each end.
    """
    from scipy import stats

    ranks = np.arange(n)
    if n > points + 40:
        ranks = np.unique(np.r_[np.arange(20), np.linspace(20, n - 21, points).astype(int), np.arange(n - 20, n)])
    prob = (ranks + 0.625) / (n + 0.25)   # Blom's plotting positions, as R's qqnorm for n > 10
    q = stats.norm.ppf(prob)
    a = (1 - level) / 2
    if n <= DENSE:
        sims = np.sort(np.random.default_rng(seed).standard_normal((N_SIM, n)), axis=1)[:, ranks]
        lo, hi = np.quantile(sims, [a, 1 - a], axis=0)
    else:
        half = stats.norm.ppf(1 - a) * np.sqrt(prob * (1 - prob) / n) / stats.norm.pdf(q)
        lo, hi = q - half, q + half
    return ranks, q, lo, hi


def plot_qq_envelope(d) -> str:
    """Normal QQ plot of the standardized OLS residuals with a 95% simulation envelope."""
    std = d.influence.studentized_internal
    ok = np.isfinite(std)
    order = np.flatnonzero(ok)[np.argsort(std[ok], kind="stable")]
    ranks, q, lo, hi = qq_envelope(order.size)
    s = std[order][ranks]
    fig, ax = _plt().subplots(figsize=FIGSIZE)
    many = s.size > 1500   # rasterize the points: the SVG stays small at a million rows
    ax.fill_between(q, lo, hi, color="0.85", label="95% envelope (Gaussian)", rasterized=many)
    ax.plot(q, q, color="0.3", lw=1)
    outside = (s < lo) | (s > hi)
    ax.scatter(q[~outside], s[~outside], s=10, color=COLORS["squared"], edgecolors="none", rasterized=many)
    ax.scatter(q[outside], s[outside], s=14, color=OUT, edgecolors="none", label="outside the envelope",
               rasterized=many)
    ext = np.r_[np.arange(min(3, s.size)), np.arange(max(s.size - 3, 3), s.size)]
    place_labels(ax, q[ext], s[ext], row_names(d, order[ranks[ext]]))
    ax.set_xlabel("Gaussian quantile")
    ax.set_ylabel("standardized residual (OLS)")
    ax.set_title(f"Normal QQ with envelope ({int(outside.sum())} of {s.size} shown points outside)")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    fig.tight_layout()
    return _svg(fig)


def plot_cooks(d) -> str:
    """R's plot(lm) 5: standardized residuals against leverage with Cook's distance contours at 0.5 and 1."""
    inf = d.influence
    h, std = inf.leverage, inf.studentized_internal
    fig, ax = _plt().subplots(figsize=FIGSIZE)
    _scatter(ax, h, std)
    hh = np.linspace(max(h.min(), 1e-3), max(h.max(), 1e-3) * 1.05, 200)
    for level, ls in ((0.5, "--"), (1.0, "-")):
        r = np.sqrt(level * inf.k * (1 - hh) / hh)
        for sgn in (1, -1):
            ax.plot(hh, sgn * r, color=OUT, lw=1, ls=ls, label=f"Cook's D = {level:g}" if sgn == 1 else None)
    ylim = max(3.0, float(np.nanmax(np.abs(std))) * 1.1)
    ax.set_ylim(-ylim, ylim)
    _name_extremes(ax, d, h, std, inf.cooks_distance)
    ax.set_xlabel("leverage")
    ax.set_ylabel("standardized residual")
    ax.set_title("Residuals vs leverage (Cook's distance contours)")
    ax.legend(loc="best", fontsize=8, frameon=False)
    fig.tight_layout()
    return _svg(fig)


def vif(X: np.ndarray) -> np.ndarray:
    """Variance inflation factors: the diagonal of the inverse correlation matrix of the columns (inf if singular).

    Examples
    --------
    >>> rng = np.random.default_rng(0); a = rng.normal(size=500)
    >>> v = vif(np.column_stack([a, a + 0.1 * rng.normal(size=500), rng.normal(size=500)]))
    >>> bool(v[0] > 50 and v[2] < 1.1)
    True
    """
    sd = X.std(axis=0)
    out = np.full(X.shape[1], np.inf)
    ok = sd > 0
    if ok.sum() < 2:
        out[ok] = 1.0
        return out
    c = np.corrcoef(X[:, ok], rowvar=False)
    try:
        out[ok] = np.diag(np.linalg.inv(c))
    except np.linalg.LinAlgError:
        pass
    return out


def plot_vif(d) -> str:
    """Variance inflation factors of the features, with the usual 5 and 10 marks."""
    if len(d.feature_names) < 2:
        raise ValueError("VIF needs two features or more")
    v = vif(d.X)
    fig, ax = _plt().subplots(figsize=(FIGSIZE[0], max(2.2, 0.28 * v.size + 1)))
    shown = np.where(np.isfinite(v), v, np.nanmax(np.where(np.isfinite(v), v, 1)) * 2)
    colors = [OUT if x >= 10 else ("#ff7f0e" if x >= 5 else COLORS["huber"]) for x in shown]
    ax.barh(list(d.feature_names), shown, color=colors)
    for level in (5, 10):
        ax.axvline(level, color="0.4", lw=0.8, ls="--")
    for yv, x in enumerate(v):
        ax.text(shown[yv], yv, f" {x:.3g}", va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("VIF (log scale; 5 and 10 marked)")
    ax.set_title("Collinearity: variance inflation factors")
    fig.tight_layout()
    return _svg(fig)


def plot_rootogram(d) -> str:
    """Hanging rootogram (Kleiber & Zeileis 2016) of the recommended count model, or the first fitted one."""
    kmax = int(min(np.quantile(d.y, 0.995), 60))
    exp = expected_count_frequencies(d, kmax)
    name = d.recommendation.name if d.recommendation and d.recommendation.name in exp else next(iter(exp))
    k = np.arange(kmax + 1)
    obs = np.bincount(d.y.astype(int).clip(0, kmax + 1), minlength=kmax + 2)[: kmax + 1]
    e = np.sqrt(exp[name])
    fig, ax = _plt().subplots(figsize=FIGSIZE)
    ax.bar(k, np.sqrt(obs), bottom=e - np.sqrt(obs), color="0.75", edgecolor="0.4", width=0.9, label="observed")
    ax.plot(k, e, color=COLORS.get(name, OUT), lw=2, marker="o", ms=3, label=f"expected ({LABELS.get(name, name)})")
    ax.axhline(0, color="0.2", lw=1)
    ax.set_xlabel(f"count of {d.target}")
    ax.set_ylabel("sqrt(frequency)")
    ax.set_title("Hanging rootogram: bars should end on the zero line")
    ax.legend(loc="best", fontsize=8, frameon=False)
    fig.tight_layout()
    return _svg(fig)


def plot_quantile_residuals(d) -> str:
    """DHARMa's QQ plot: the recommended count model's randomised quantile residuals against the uniform.

    The band is the pointwise 95% range of sorted uniform samples of the same size (199 simulations).
    """
    from ._fits import count_parts, quantile_residuals

    name = d.recommendation.name if d.recommendation.name in COUNT_MODELS else next(
        k for k in COUNT_MODELS if d.fits.get(k) is not None)
    mu, theta, pi = count_parts(d.fits[name], d.X)
    u = quantile_residuals(d.y, mu, theta, pi, rng=np.random.default_rng([0, 29]))
    order = np.argsort(u, kind="stable")
    n = u.size
    ranks = np.unique(np.linspace(0, n - 1, min(n, 2000)).round().astype(int))
    q = (ranks + 0.5) / n
    sims = np.sort(np.random.default_rng(0).uniform(size=(N_SIM, n)), axis=1)[:, ranks]
    lo, hi = np.quantile(sims, [0.025, 0.975], axis=0)
    s = u[order][ranks]
    fig, ax = _plt().subplots(figsize=FIGSIZE)
    ax.fill_between(q, lo, hi, color="0.85", label="95% band (uniform)")
    ax.plot([0, 1], [0, 1], color="0.3", lw=1)
    outside = (s < lo) | (s > hi)
    ax.scatter(q[~outside], s[~outside], s=10, color=COLORS.get(name, COLORS["squared"]), edgecolors="none")
    ax.scatter(q[outside], s[outside], s=14, color=OUT, edgecolors="none", label="outside the band")
    ax.set_xlabel("uniform quantile")
    ax.set_ylabel(f"quantile residual ({LABELS.get(name, name)})")
    ax.set_title(f"Simulated quantile residuals ({int(outside.sum())} of {s.size} shown points outside)")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    fig.tight_layout()
    return _svg(fig)


def panel_plots(d) -> list[tuple[str, str, str, bool]]:
    """``(id, caption, svg, wide)`` of every panel that applies to ``d`` (a panel that fails says why)."""
    import matplotlib

    from .plots import STYLE

    lab = "row labels" if getattr(d, "row_labels", None) is not None else "row numbers from 1"
    figs = [("observed", f"Observed against predicted by the recommended fit; the largest misses named by {lab}.",
             plot_observed_predicted, False),
            ("fitted", "Residuals vs fitted and scale-location (R's plot(lm) 1 and 3): the smoother should stay "
                       "flat; a trend is a missing term, a slope in scale-location is heteroscedasticity.",
             plot_fitted_panels, True),
            ("qqenv", "Normal QQ plot of standardized residuals with a 95% pointwise envelope simulated from "
                      "Gaussian samples of the same size.", plot_qq_envelope, False),
            ("cooks", "Standardized residuals vs leverage with Cook's distance contours (R's plot(lm) 5).",
             plot_cooks, False),
            ("predictors", "Residuals against each predictor: curvature suggests a transform or a spline.",
             plot_predictors, True)]
    if len(d.feature_names) >= 2:
        figs.append(("vif", "Variance inflation factors: above 5-10 a coefficient is poorly determined by "
                            "collinearity.", plot_vif, False))
    if d.is_count and any(d.fits.get(k) is not None for k in COUNT_MODELS):
        figs.append(("rootogram", "Hanging rootogram of observed against expected counts.", plot_rootogram, False))
        figs.append(("quantres", "Randomised quantile residuals of the count model against the uniform (as R's "
                                 "DHARMa): on the line when the model is right, whatever the counts.",
                     plot_quantile_residuals, False))
    out = []
    for ident, caption, fn, wide in figs:
        try:
            with matplotlib.rc_context(STYLE):
                out.append((ident, caption, fn(d), wide))
        except Exception as exc:  # a panel that cannot be drawn must not lose the report
            out.append((ident, f"{caption} (not drawn: {type(exc).__name__}: {exc})", "", wide))
    return out
