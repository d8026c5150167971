"""The summary of a :class:`~l2kit.linear.Fit` as plain text, markdown, HTML or LaTeX.

One table model (header lines, the coefficient rows, footer lines) is built
once and rendered by format, so the four formats always say the same thing.
"""

from __future__ import annotations

import html
import math

import numpy as np

from .._errors import InputError

__all__ = ["FORMATS", "format_summary"]

FORMATS = ("text", "markdown", "html", "latex")
_COLUMNS = ("coef", "std err", "t/z", "P>|t|", "[0.025", "0.975]")


def _header(fit) -> list[str]:
    lines = [
        f"l2kit fit: {fit.loss!r}  method={fit.method}  cov_type={fit.cov_type}",
        f"n_obs={fit.n_obs}  df_resid={fit.df_resid:g}  rank={fit.rank}  scale={fit.scale:.6g}"
        + (f"  loglike={fit.loglike:.6f}" if fit.loglike is not None else ""),
    ]
    stats = [(k, getattr(fit, k)) for k in ("aic", "bic", "deviance", "null_deviance", "r2", "r2_adj")]
    shown = "  ".join(f"{k}={v:.6g}" for k, v in stats if math.isfinite(v))
    if shown:
        lines.append(shown)
    if fit.formula is not None:
        lines.append(f"formula: {fit.formula}")
    if fit.missing is not None and fit.missing.n_dropped:
        lines.append(f"missing: {fit.missing.describe()}")
    lines += [f"status={fit.status.value}  converged={fit.converged}  n_iter={fit.n_iter}",
              f"message: {fit.message}"]
    return lines


def _rows(fit) -> list[tuple[str, list[float] | None]]:
    """(name, [coef, se, t, p, lower, upper]) per parameter; the values are None past coef without standard errors."""
    names = (["intercept"] if fit.fit_intercept else []) + list(fit.feature_names)
    params, bse = fit.params, fit.bse
    multi = np.ndim(params) == 2   # multi-output fit: one row per (term, output)
    if multi:
        d = params.shape[1]
        names = [f"{n}[{j}]" for n in names for j in range(d)]
        params = params.reshape(-1)
        bse = None if bse is None else bse.reshape(-1)
    ci = fit.conf_int() if bse is not None else None
    pv = fit.pvalues
    if multi and ci is not None:
        ci, pv = ci.reshape(-1, 2), pv.reshape(-1)
    out = []
    for i, n in enumerate(names):
        c = float(np.real(params[i]))
        if bse is None:
            out.append((n, [c] + [math.nan] * 5))
            continue
        t = float(np.real(params[i] / bse[i])) if bse[i] else math.nan
        out.append((n, [c, float(np.real(bse[i])), t, float(pv[i]), float(np.real(ci[i, 0])),
                        float(np.real(ci[i, 1]))]))
    return out


def _footer(fit) -> list[str]:
    lines = [f"{k}: {v}" for k, v in fit.extra.items()
             if np.ndim(v) == 0 and isinstance(v, (int, float, np.floating, np.integer, str))]
    return lines


def _cells(vals: list[float]) -> list[str]:
    fmt = ("{:.6g}", "{:.4g}", "{:.3f}", "{:.3f}", "{:.5g}", "{:.5g}")
    return ["" if not math.isfinite(v) else f.format(v) for f, v in zip(fmt, vals)]


def _text(fit, header, rows, footer) -> str:
    width = max(12, max(len(n) for n, _ in rows) + 2)
    head = f"{'':<{width}}{'coef':>14}{'std err':>12}{'t/z':>10}{'P>|t|':>9}{'[0.025':>13}{'0.975]':>13}"
    lines = header + ["=" * len(head), head, "-" * len(head)]
    for n, vals in rows:
        c = _cells(vals)
        if not c[1]:
            lines.append(f"{n:<{width}}{vals[0]:>14.6g}")
            continue
        lines.append(f"{n:<{width}}{vals[0]:>14.6g}{vals[1]:>12.4g}{vals[2]:>10.3f}{vals[3]:>9.3f}"
                     f"{vals[4]:>13.5g}{vals[5]:>13.5g}")
    return "\n".join(lines + ["=" * len(head)] + footer)


def _markdown(fit, header, rows, footer) -> str:
    def esc(s: str) -> str:
        return s.replace("|", "\\|")

    out = [f"**{esc(header[0])}**", ""] + [esc(h) + "  " for h in header[1:]] + [""]
    out.append("| | " + " | ".join(esc(c) for c in _COLUMNS) + " |")
    out.append("|---|" + "---:|" * len(_COLUMNS))
    out += [f"| {esc(n)} | " + " | ".join(_cells(v)) + " |" for n, v in rows]
    return "\n".join(out + [""] + [esc(f) + "  " for f in footer]).rstrip() + "\n"


def _html(fit, header, rows, footer) -> str:
    e = html.escape
    out = ['<div class="l2kit-summary">', f"<p><strong>{e(header[0])}</strong></p>"]
    out += [f"<p>{e(h)}</p>" for h in header[1:]]
    out.append("<table>\n<thead><tr><th></th>" + "".join(f"<th>{e(c)}</th>" for c in _COLUMNS) + "</tr></thead>")
    out.append("<tbody>")
    out += [f"<tr><th>{e(n)}</th>" + "".join(f"<td>{e(c)}</td>" for c in _cells(v)) + "</tr>" for n, v in rows]
    out.append("</tbody>\n</table>")
    out += [f"<p>{e(f)}</p>" for f in footer]
    return "\n".join(out + ["</div>"]) + "\n"


def _latex(fit, header, rows, footer) -> str:
    def esc(s: str) -> str:
        for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("$", r"\$"), ("#", r"\#"),
                     ("_", r"\_"), ("{", r"\{"), ("}", r"\}"), ("~", r"\textasciitilde{}"), ("^", r"\^{}")):
            s = s.replace(a, b) if a != "\\" else s.replace(a, "\x00")
        return s.replace("\x00", r"\textbackslash{}")

    out = [r"\begin{table}[ht]", r"\centering", r"\caption{" + esc(header[0]) + "}",
           r"\begin{tabular}{l" + "r" * len(_COLUMNS) + "}", r"\hline",
           " & " + " & ".join(esc(c) for c in _COLUMNS) + r" \\", r"\hline"]
    out += [esc(n) + " & " + " & ".join(_cells(v)) + r" \\" for n, v in rows]
    out += [r"\hline", r"\end{tabular}"]
    notes = [esc(h) for h in header[1:]] + [esc(f) for f in footer]
    if notes:
        out.append(r"\par\smallskip{\footnotesize " + r" \\ ".join(notes) + "}")
    return "\n".join(out + [r"\end{table}"]) + "\n"


def format_summary(fit, fmt: str = "text") -> str:
    """The coefficient table with the fit's statistics and status, in ``fmt`` (one of :data:`FORMATS`)."""
    renderers = {"text": _text, "markdown": _markdown, "html": _html, "latex": _latex}
    if fmt not in renderers:
        raise InputError("format", "one of " + ", ".join(map(repr, FORMATS)), repr(fmt), "pass format='markdown'")
    return renderers[fmt](fit, _header(fit), _rows(fit), _footer(fit))
