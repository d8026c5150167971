"""Plain-text summary table of a :class:`~l2kit.linear.Fit`."""

from __future__ import annotations

import numpy as np


def format_summary(fit) -> str:
    """Format a coefficient table with status, like statsmodels' summary."""
    names = (["intercept"] if fit.fit_intercept else []) + list(fit.feature_names)
    params = fit.params
    bse = fit.bse
    multi = np.ndim(params) == 2  # multi-output fit: one row per (term, output)
    if multi:
        d = params.shape[1]
        names = [f"{n}[{j}]" for n in names for j in range(d)]
        params = params.reshape(-1)
        bse = None if bse is None else bse.reshape(-1)
    lines = [
        f"l2kit fit: {fit.loss!r}  method={fit.method}  cov_type={fit.cov_type}",
        f"n_obs={fit.n_obs}  df_resid={fit.df_resid:g}  rank={fit.rank}  scale={fit.scale:.6g}"
        + (f"  loglike={fit.loglike:.6f}" if fit.loglike is not None else ""),
        f"status={fit.status.value}  converged={fit.converged}  n_iter={fit.n_iter}",
        f"message: {fit.message}",
    ]
    width = max(12, max(len(n) for n in names) + 2)
    header = f"{'':<{width}}{'coef':>14}{'std err':>12}{'t/z':>10}{'P>|t|':>9}{'[0.025':>13}{'0.975]':>13}"
    lines += ["=" * len(header), header, "-" * len(header)]
    ci = fit.conf_int() if bse is not None else None
    pv = fit.pvalues
    if multi and ci is not None:
        ci, pv = ci.reshape(-1, 2), pv.reshape(-1)
    for i, n in enumerate(names):
        c = params[i]
        if bse is None:
            lines.append(f"{n:<{width}}{np.real(c):>14.6g}")
            continue
        t = np.real(params[i] / bse[i]) if bse[i] else np.nan
        lines.append(f"{n:<{width}}{np.real(c):>14.6g}{np.real(bse[i]):>12.4g}{t:>10.3f}{pv[i]:>9.3f}"
                     f"{np.real(ci[i, 0]):>13.5g}{np.real(ci[i, 1]):>13.5g}")
    lines.append("=" * len(header))
    for k, v in fit.extra.items():
        if np.ndim(v) == 0 and isinstance(v, (int, float, np.floating, np.integer, str)):
            lines.append(f"{k}: {v}")
    return "\n".join(lines)
