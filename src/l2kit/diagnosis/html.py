"""The self-contained HTML report of a diagnosis (jinja2; figures as inline SVG).

The page holds no scripts and loads nothing: CSS is inline, figures are
``<svg>`` elements with text rendered as paths. It is written atomically with
:func:`l2kit.io.atomic_write`, so a failed run leaves no file behind.
"""

from __future__ import annotations

import os

import numpy as np

from ._fits import LABELS
from ._rows import row_name, row_names


def _num(v, digits: int = 4) -> str:
    if v is None:
        return "–"
    try:
        v = float(np.real(v))
    except (TypeError, ValueError):
        return str(v)
    if not np.isfinite(v):
        return "–"
    if v != 0 and (abs(v) >= 1e6 or abs(v) < 1e-3):
        return f"{v:.{digits - 1}e}"
    return f"{v:.{digits}g}" if abs(v) < 1e4 else f"{v:,.0f}"


def _p(p) -> str:
    if p is None or not np.isfinite(p):
        return "–"
    return "< 1e-16" if p < 1e-16 else (f"{p:.2e}" if p < 1e-3 else f"{p:.3f}")


def _tests_rows(d) -> list[tuple[str, str, str, str]]:
    jb, bp, q = d.jarque_bera, d.breusch_pagan, d.qq
    rows = [
        ("Jarque-Bera (OLS residuals)", _num(jb.statistic), _p(jb.pvalue),
         "normality rejected" if jb.pvalue < 0.05 else "normality not rejected"),
        ("Kurtosis / skewness", f"{jb.kurtosis:.3f} / {jb.skew:.3f}", "",
         "Gaussian: 3 / 0; above 3 means heavier tails"),
    ]
    if q is not None:
        rows.append(("QQ correlation / Shapiro-Wilk", f"{q.correlation:.4f}", _p(q.shapiro_pvalue),
                     "1 for a perfect Gaussian QQ line"))
    for name, t in d.tails.items():
        rows.append((f"Residuals beyond {t.cutoff} robust SD ({LABELS.get(name, name)})",
                     f"{t.n_beyond} (Gaussian: {t.expected:.2g})", _p(t.pvalue),
                     "heavy tails" if t.heavy else "as a Gaussian would give"))
    if bp is not None:
        rows.append(("Breusch-Pagan (Koenker LM)" if bp.robust else "Breusch-Pagan (LM)", _num(bp.lm),
                     _p(bp.lm_pvalue), "variance changes with the features" if bp.lm_pvalue < 0.05
                     else "no evidence of heteroscedasticity"))
    inf = d.influence
    top = int(np.argmax(np.nan_to_num(inf.cooks_distance)))
    rows.append(("Largest Cook's distance", f"{_num(inf.cooks_distance[top])} (row {row_name(d, top)})",
                 _p(inf.cooks_pvalue[top]), f"{inf.influential().size} rows above 4/n = {inf.cooks_cutoff:.3g}"))
    if d.overdispersion is not None:
        o = d.overdispersion
        rows.append(("Overdispersion: Pearson chi2/df (Poisson)", f"{o.ratio:.3f}", _p(o.pvalue),
                     "overdispersed (Poisson needs 1)" if o.ratio > 1.1 and o.pvalue < 0.01 else "Poisson-like"))
    for z in (d.zero_inflation_poisson, d.zero_inflation_nb):
        if z is not None:
            rows.append((f"Zeros: observed / expected ({z.model})", f"{z.observed} / {z.expected:.1f}",
                         _p(z.pvalue), "excess zeros" if z.pvalue < 0.05 else "zeros as expected"))
    return rows


def _pills(d) -> list[tuple[str, str]]:
    """Badges: one per tested check, red exactly when its verdict is "reject" (the outlier badge counts the
    rows the outlier check flags, which is empty unless it rejects: badge and text cannot disagree)."""
    pills = []
    for k, c in d.checks.items():
        if not c.tested or (k == "outliers" and d.is_count):   # count outliers come from the count model
            continue
        label = k.replace("_", " ")
        if k == "outliers" and d.outliers.size:
            label = f"{d.outliers.size} outlier{'s' if d.outliers.size != 1 else ''}"
        p = _p(c.p_adjusted)
        pills.append((f"{label}: Holm p {p}" if p.startswith("<") else f"{label}: Holm p = {p}",
                      "bad" if c.rejected else "ok"))
    if d.is_count and d.outliers.size:
        pills.append((f"{d.outliers.size} outlier{'s' if d.outliers.size != 1 else ''} (count model)", "bad"))
    return pills


def _check_rows(d) -> list[tuple]:
    return [(k.replace("_", " "), _num(c.statistic), _p(c.p_value), _p(c.p_adjusted), c.verdict, c.reason)
            for k, c in d.checks.items()]


def _influential_rows(d) -> list[tuple]:
    inf = d.influence
    idx = list(dict.fromkeys([*map(int, d.outliers[:12]), *map(int, inf.influential()[:8])]))
    idx = sorted(idx, key=lambda i: -np.nan_to_num(inf.cooks_distance[i]))[:15]
    out = set(map(int, d.outliers))
    return [(row_name(d, i), _num(d.y[i]), _num(inf.fitted[i]), f"{inf.leverage[i]:.3f}",
             f"{inf.studentized_external[i]:.2f}", _num(inf.cooks_distance[i], 3), "yes" if i in out else "")
            for i in idx]


def context(d, title: str | None = None, provenance: dict | None = None) -> dict:
    """The values the template renders (also handy for tests)."""
    import l2kit

    from .panels import panel_plots
    from .plots import all_plots

    rows = d.comparison()
    columns = [{"label": r["label"], "recommended": r["recommended"]} for r in rows]
    terms = ["intercept", *d.feature_names]
    coef_rows = []
    for j, term in enumerate(terms):
        cells = []
        for r in rows:
            if r["fit"] is None or "params" not in r or j >= r["params"].size:
                cells.append({"est": "–", "se": ""})
                continue
            se = r["bse"][j] if r["bse"] is not None and j < r["bse"].size else None
            cells.append({"est": _num(r["params"][j]), "se": _num(se, 3) if se is not None and np.isfinite(se) else ""})
        coef_rows.append({"term": term, "cells": cells})
    stat_rows = [
        {"term": "converged", "cells": ["failed" if r["fit"] is None else ("yes" if r["converged"] else "NO")
                                        for r in rows]},
        {"term": f"CV RMSE ({d.folds}-fold)", "cells": [_num(r["cv"].rmse) for r in rows]},
        {"term": "CV mean absolute error", "cells": [_num(r["cv"].mae) for r in rows]},
        {"term": "CV median absolute error", "cells": [_num(r["cv"].medae) for r in rows]},
    ]
    if d.is_count:
        stat_rows.append({"term": "CV log score (NLL/row)", "cells": [_num(r["cv"].log_score) for r in rows]})
    failures = [f"{LABELS.get(k, k)}: {v}" for k, v in d.fit_errors.items()]
    failures += [f"{r['label']} cross-validation: {r['cv'].error}" for r in rows
                 if r["fit"] is not None and not r["cv"].ok]
    rec = d.recommendation
    pills = _pills(d)
    if d.overdispersion is not None:
        pills.append((f"dispersion {d.overdispersion.ratio:.2f}", "bad" if d.overdispersion.ratio > 1.1 else "ok"))
    wide = {"residuals", "losses", "counts", "cv"}
    figures = [(i, c, s, i in wide) for i, c, s in all_plots(d)] + panel_plots(d)
    outl = ", ".join(row_names(d, d.outliers[:30])) + (" ..." if d.outliers.size > 30 else "")
    return dict(
        title=title or f"l2kit report: {d.target}", version=l2kit.__version__, n=d.y.size, p=len(d.feature_names),
        target=d.target, is_count=d.is_count, folds=d.folds, rec_label=rec.label, rec_repr=repr(rec.loss),
        rec_options=[(k, repr(v)) for k, v in rec.options.items()], reasons=list(d.reasons), pills=pills,
        outliers=outl, verdict=list(d.verdict), next_steps=list(d.next_steps), level=d.level,
        checks=_check_rows(d), columns=columns, coef_rows=coef_rows, stat_rows=stat_rows, failures=failures,
        tests=_tests_rows(d), influential=_influential_rows(d), figures=figures,
        provenance=_provenance(d, provenance), row_key="row" if getattr(d, "row_labels", None) is None else "label",
    )


def _provenance(d, given: dict | None) -> list[tuple[str, str]]:
    """What produced the report: the caller's entries (command line, data file and its SHA-256, seed...) and
    the version, date, formula, rows dropped for missing values and the sample, when known."""
    import datetime

    import l2kit

    out = dict(given or {})
    out.setdefault("l2kit version", l2kit.__version__)
    out.setdefault("date (UTC)", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S"))
    if getattr(d, "formula", None):
        out.setdefault("formula", d.formula)
    missing = getattr(d, "missing", None)
    if missing is not None:
        out.setdefault("missing values", missing.describe())
    return [(k, str(v)) for k, v in out.items()]


def render(d, title: str | None = None, provenance: dict | None = None) -> str:
    """The report as one HTML string."""
    import jinja2

    from ._template import TEMPLATE

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=False)
    return env.from_string(TEMPLATE).render(**context(d, title, provenance))


def write_report(d, path, *, title: str | None = None, provenance: dict | None = None) -> str:
    """Render the report and write it to ``path`` atomically. Returns the path."""
    from ..io.atomic import atomic_write

    text = render(d, title, provenance)   # render first: a failure leaves no file, not even a temp file
    path = os.fspath(path)
    with atomic_write(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path
