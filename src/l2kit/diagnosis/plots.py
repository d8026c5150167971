"""Figures of the diagnosis, as inline SVG strings (matplotlib, Agg backend, imported lazily).

Each ``plot_*`` function takes a :class:`~l2kit.diagnosis.Diagnosis` and returns
an ``<svg ...>`` string ready to embed in HTML (no external files, no fonts
fetched: text is rendered as paths). Dense scatter layers are rasterized
into the SVG so that a report on many rows stays small.
"""

from __future__ import annotations

import io
import re

import numpy as np

from ._fits import COUNT_MODELS, LABELS, ROBUST, count_parts, point_prediction
from ._rows import place_labels, row_names

COLORS = {"squared": "#1f77b4", "huber": "#2ca02c", "tukey": "#d62728", "absolute": "#9467bd",
          "gamma": "#8c564b", "binomial": "#e377c2",
          "poisson": "#8c564b", "negative_binomial": "#e377c2", "zinb": "#17becf"}
OUT = "#d62728"
FIGSIZE = (6.4, 4.2)
WIDE = (13.0, 4.2)   # full-width figures: twice the width, so text scales like the half-width ones


STYLE = {"svg.fonttype": "path", "font.size": 10, "axes.spines.top": False, "axes.spines.right": False,
         "axes.grid": True, "grid.alpha": 0.25, "axes.titleweight": "bold", "axes.titlesize": 11,
         "svg.hashsalt": "l2kit"}


class _Plt:
    """Figures without pyplot: no global backend switch, no state left in the user's session."""

    @staticmethod
    def subplots(nrows=1, ncols=1, **kw):
        from matplotlib.figure import Figure

        figsize = kw.pop("figsize", FIGSIZE)
        fig = Figure(figsize=figsize)
        axes = fig.subplots(nrows, ncols, **kw)
        return fig, axes


def _plt():
    return _Plt


def _svg(fig) -> str:
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context(STYLE):
        fig.savefig(buf, format="svg", bbox_inches="tight")
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)  # RDF boilerplate: not needed inline
    # let the browser scale the figure to its container; keep the aspect ratio from viewBox
    text = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1', text, count=1)
    return text.replace("<svg", '<svg class="plot" preserveAspectRatio="xMidYMid meet"', 1)


def _dense(n: int) -> bool:
    return n > 1500


def _label_rows(ax, xs, ys, names, color=OUT):
    """Name the points by their row labels (or numbers from 1), without overlapping labels."""
    place_labels(ax, xs, ys, names, color=color)


def _fitted(d, name):
    f = d.fits.get(name)
    if f is None:
        return None, None
    fitted = point_prediction(f, d.X)
    return fitted, d.y - fitted


def plot_residuals(d) -> str:
    """Residuals against fitted values: OLS and the recommended fit, outliers marked."""
    plt = _plt()
    names = ["squared"]
    rec = d.recommendation.name if d.recommendation else "squared"
    if rec == "squared":  # show what a robust fit would see
        rec = next((k for k in ROBUST if d.fits.get(k) is not None), "squared")
    if rec != "squared" and d.fits.get(rec) is not None:
        names.append(rec)
    fig, axes = plt.subplots(1, len(names), figsize=(WIDE if len(names) == 2 else FIGSIZE),
                             squeeze=False, sharey=True)
    out = d.outliers[:40]
    for ax, name in zip(axes[0], names):
        fitted, resid = _fitted(d, name)
        if fitted is None:
            fitted, resid = d.influence.fitted, d.influence.resid
        dense = _dense(resid.size)
        ax.scatter(fitted, resid, s=8 if dense else 22, alpha=0.35 if dense else 0.8, color=COLORS.get(name, "k"),
                   edgecolors="none", rasterized=dense)
        if out.size:
            ax.scatter(fitted[out], resid[out], s=60, facecolors="none", edgecolors=OUT, linewidths=1.5,
                       label="outliers")
            if out.size <= 20:
                _label_rows(ax, fitted[out], resid[out], row_names(d, out))
        t = d.tails.get(name)
        ax.axhline(0, color="0.3", lw=0.8)
        if t is not None and t.scale > 0:
            for s in (-1, 1):
                ax.axhline(s * t.cutoff * t.scale, color="0.5", lw=0.8, ls="--")
        ax.set_title(f"{LABELS.get(name, name)}: residuals vs fitted")
        ax.set_xlabel("fitted value")
    axes[0][0].set_ylabel("residual (y - fitted)")
    if out.size:
        axes[0][0].legend(loc="best", fontsize=8, frameon=False)
    fig.tight_layout()
    return _svg(fig)


def plot_qq(d) -> str:
    """Normal QQ plot of the standardized OLS residuals."""
    plt = _plt()
    q = d.qq
    fig, ax = plt.subplots(figsize=FIGSIZE)
    dense = _dense(q.sample.size)
    ax.scatter(q.theoretical, q.sample, s=8 if dense else 22, color=COLORS["squared"], alpha=0.6 if dense else 0.85,
               edgecolors="none", rasterized=dense)
    lim = [min(q.theoretical.min(), q.sample.min()), max(q.theoretical.max(), q.sample.max())]
    ax.plot(lim, lim, color="0.3", lw=1, label="Gaussian")
    # mark the outliers by rank: sorted standardized residuals keep the order of resid
    r = d.influence.resid
    order = np.argsort((r - r.mean()) / r.std(ddof=1), kind="stable")
    pos = {int(i): k for k, i in enumerate(order)}
    out = [i for i in d.outliers[:20]]
    if out:
        ks = [pos[int(i)] for i in out]
        ax.scatter(q.theoretical[ks], q.sample[ks], s=60, facecolors="none", edgecolors=OUT, linewidths=1.5,
                   label="outliers")
        _label_rows(ax, q.theoretical[ks], q.sample[ks], row_names(d, out))
    ax.set_xlabel("Gaussian quantile")
    ax.set_ylabel("standardized OLS residual")
    jp = d.jarque_bera.pvalue
    ptxt = "p < 1e-16" if jp < 1e-16 else f"p = {jp:.3g}"
    ax.set_title(f"Normal QQ plot (Jarque-Bera {ptxt}, kurtosis {d.jarque_bera.kurtosis:.2f})")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    fig.tight_layout()
    return _svg(fig)


def plot_influence(d) -> str:
    """Leverage against externally studentized residuals; area proportional to Cook's distance."""
    plt = _plt()
    inf = d.influence
    fig, ax = plt.subplots(figsize=FIGSIZE)
    cd = np.nan_to_num(inf.cooks_distance, nan=0.0)
    size = 15 + 600 * cd / max(cd.max(), 1e-12)
    dense = _dense(cd.size)
    ax.scatter(inf.leverage, inf.studentized_external, s=size, alpha=0.45, color=COLORS["squared"],
               edgecolors="k" if not dense else "none", linewidths=0.4, rasterized=dense)
    flag = np.union1d(inf.influential()[:15], d.outliers[:15])
    if flag.size:
        ax.scatter(inf.leverage[flag], inf.studentized_external[flag], s=size[flag], facecolors="none",
                   edgecolors=OUT, linewidths=1.4)
        _label_rows(ax, inf.leverage[flag], inf.studentized_external[flag], row_names(d, flag))
    for s in (-2.5, 2.5):
        ax.axhline(s, color="0.5", lw=0.8, ls="--")
    ax.axvline(inf.leverage_cutoff, color="0.5", lw=0.8, ls=":")
    ax.set_xlabel(f"leverage h (dotted: 2k/n = {inf.leverage_cutoff:.2f})")
    ax.set_ylabel("externally studentized residual")
    ax.set_title("Influence (bubble area ~ Cook's distance)")
    fig.tight_layout()
    return _svg(fig)


def _residual_curves(d):
    r = np.linspace(-6, 6, 481)
    curves = {}
    for name in ("squared", *ROBUST):
        loss = d.losses.get(name)
        if loss is None:
            continue
        try:
            rho = np.asarray(loss.rho(r), dtype=float)
            psi = np.asarray(loss.psi(r), dtype=float)
        except Exception:
            continue
        if name == "squared":  # show 0.5 r^2 so all curves share the Gaussian curvature at 0
            rho, psi = rho / 2, psi / 2
        curves[name] = (rho, psi)
    return r, curves


def plot_loss_curves(d) -> str:
    """rho(r) and psi(r) of the residual losses; for counts, each likelihood's loss against the mean."""
    plt = _plt()
    r, curves = _residual_curves(d)
    ncols = 3 if d.is_count else 2
    fig, axes = plt.subplots(1, ncols, figsize=WIDE)
    for name, (rho, psi) in curves.items():
        lw = 2.6 if d.recommendation and d.recommendation.name == name else 1.4
        axes[0].plot(r, rho, color=COLORS[name], lw=lw, label=LABELS[name])
        axes[1].plot(r, psi, color=COLORS[name], lw=lw, label=LABELS[name])
    axes[0].set_ylim(0, 8)
    axes[0].set_title("loss rho(r)")
    axes[0].set_xlabel("residual r (robust-scale units)")
    axes[1].set_title("influence psi(r) = rho'(r)")
    axes[1].set_xlabel("residual r")
    axes[1].set_ylim(-4, 4)
    axes[0].legend(fontsize=8, frameon=False, loc="upper center")
    if d.is_count:
        ax = axes[2]
        yv = float(np.round(np.median(d.y[d.y > 0]) if np.any(d.y > 0) else 1.0))
        mu = np.linspace(0.05, max(3 * yv, 4.0), 300)
        from scipy import stats

        for name in COUNT_MODELS:
            f = d.fits.get(name)
            if f is None:
                continue
            parts = count_parts(f, d.X[:1])
            if parts is None:
                continue
            _, theta, pi = parts
            if theta is None:
                nll = -stats.poisson.logpmf(yv, mu)
            else:
                nll = -stats.nbinom.logpmf(yv, theta, theta / (theta + mu))
            if pi is not None:
                nll = -(np.log1p(-float(np.mean(pi))) - nll)
            lw = 2.6 if d.recommendation and d.recommendation.name == name else 1.4
            ax.plot(mu, nll - nll.min(), color=COLORS[name], lw=lw, label=LABELS[name])
        ax.plot(mu, (yv - mu) ** 2 / (2 * max(d.y.var(), 1e-12)), color=COLORS["squared"], lw=1.4,
                label="Squared / (2 var y)")
        ax.axvline(yv, color="0.5", lw=0.8, ls=":")
        ax.set_title(f"count losses at y = {yv:g}")
        ax.set_xlabel("predicted mean mu")
        ax.set_ylabel("loss - min")
        ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return _svg(fig)


def expected_count_frequencies(d, kmax: int) -> dict[str, np.ndarray]:
    """Expected number of rows with each count 0..kmax under every fitted count model."""
    from scipy import stats

    out = {}
    k = np.arange(kmax + 1)
    for name in COUNT_MODELS:
        f = d.fits.get(name)
        if f is None:
            continue
        parts = count_parts(f, d.X)
        if parts is None:
            continue
        mu, theta, pi = parts
        mu = mu[:, None]
        if theta is None:
            pm = stats.poisson.pmf(k[None, :], mu)
        else:
            pm = stats.nbinom.pmf(k[None, :], theta, theta / (theta + mu))
        if pi is not None:
            pic = np.broadcast_to(np.asarray(pi, dtype=float).reshape(-1, 1) if np.ndim(pi) else pi, (mu.shape[0], 1))
            pm = (1 - pic) * pm
            pm[:, 0] += pic[:, 0]
        out[name] = pm.sum(axis=0)
    return out


def plot_count_histogram(d) -> str:
    """Observed frequency of each count against the frequencies the fitted count models expect."""
    plt = _plt()
    y = d.y.astype(int)
    kmax = int(min(y.max(), max(np.percentile(y, 99), 10)))
    k = np.arange(kmax + 1)
    obs = np.bincount(np.minimum(y, kmax + 1), minlength=kmax + 2)[: kmax + 1]
    fig, ax = plt.subplots(figsize=WIDE)
    ax.bar(k, obs, color="0.8", edgecolor="0.5", label="observed")
    for name, freq in expected_count_frequencies(d, kmax).items():
        lw = 2.6 if d.recommendation and d.recommendation.name == name else 1.4
        ax.plot(k, freq, marker="o", ms=4, color=COLORS[name], lw=lw, label=LABELS[name])
    ax.set_xlabel("count")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("number of rows")
    ax.set_title(f"Observed vs fitted counts of {d.target!r} (counts above {kmax} not shown)")
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return _svg(fig)


def plot_cv(d) -> str:
    """Cross-validated error of every candidate."""
    plt = _plt()
    names = [k for k in d.candidates if k in d.cv and d.cv[k].ok]
    metrics = [("mae", "CV mean absolute error"), ("rmse", "CV RMSE")]
    if d.is_count:
        metrics.append(("log_score", "CV log score (NLL per row)"))
    fig, axes = plt.subplots(1, len(metrics), figsize=(WIDE[0], 0.42 * len(names) + 1.3))
    for ax, (m, title) in zip(np.atleast_1d(axes), metrics):
        ks = [k for k in names if np.isfinite(getattr(d.cv[k], m))]
        vals = [getattr(d.cv[k], m) for k in ks]
        bars = ax.barh([LABELS[k] for k in ks], vals, color=[COLORS[k] for k in ks])
        for b, k in zip(bars, ks):
            if d.recommendation and k == d.recommendation.name:
                b.set_edgecolor("k")
                b.set_linewidth(2)
        for yv, v in enumerate(vals):
            ax.text(v, yv, f" {v:.3g}", va="center", fontsize=8)
        ax.invert_yaxis()
        ax.set_title(title)
        ax.grid(axis="y", visible=False)
        if vals:
            ax.set_xlim(0, max(vals) * 1.18)
    fig.tight_layout()
    return _svg(fig)


def all_plots(d) -> list[tuple[str, str, str]]:
    """``(id, caption, svg)`` for every figure of the report."""
    figs = [
        ("residuals", "Residuals against fitted values. Dashed lines: 2.5 robust standard deviations; "
                      "circled: outliers (named by row label, or number from 1).", plot_residuals),
        ("qq", "Normal QQ plot of the OLS residuals: points off the line are tails a Gaussian would not "
               "produce.", plot_qq),
        ("influence", "Influence: leverage against studentized residual; bubble area is Cook's distance.",
         plot_influence),
        ("losses", "The candidate losses: how each one charges a residual (rho) and how hard it pulls the "
                   "fit (psi). Thick: the recommendation.", plot_loss_curves),
    ]
    if d.is_count:
        figs.append(("counts", "Observed count frequencies (bars) against each fitted count model.",
                     plot_count_histogram))
    figs.append(("cv", "Out-of-sample error of every candidate (K-fold cross-validation). Outlined: the "
                       "recommendation.", plot_cv))
    import matplotlib

    out = []
    for ident, caption, fn in figs:
        try:
            with matplotlib.rc_context(STYLE):
                out.append((ident, caption, fn(d)))
        except Exception as exc:  # a figure that cannot be drawn must not lose the report
            out.append((ident, f"{caption} (not drawn: {type(exc).__name__}: {exc})", ""))
    return out
