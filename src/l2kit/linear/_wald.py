r"""Wald and F tests of linear hypotheses :math:`R\theta = q` on a fit, and the constraint parser.

.. math::
    W = (R\hat\theta - q)^\top (R\,\hat V R^\top)^{-1} (R\hat\theta - q) \sim \chi^2_m,
    \qquad F = W/m \sim F_{m,\ \mathrm{df\_resid}}

with :math:`\hat V` the fit's covariance (robust when ``cov_type`` is), as
R's ``car::linearHypothesis(fit, ..., test="Chisq" | "F", vcov.=)`` and
statsmodels' ``wald_test`` / ``f_test``.

Constraints may be a matrix ``R`` (one row per constraint, one column per
parameter, intercept first) with ``q``, or strings over the feature names:
``"x1 = x2"``, ``"x1 + 2*x3 = 1"``, ``"x2"`` (meaning ``x2 = 0``), several
separated by commas or given as a list. The intercept is ``intercept``
(also ``(Intercept)`` or ``const``).
"""

from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np

from .._errors import InputError

__all__ = ["TestResult", "constraints", "linear_test"]

_INTERCEPT_NAMES = ("intercept", "(Intercept)", "Intercept", "const")
_NUMBER = re.compile(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


class TestResult(NamedTuple):
    """A test's statistic, p-value, degrees of freedom (denominator's for F), and kind ("chi2" or "F")."""

    statistic: float
    pvalue: float
    df: int
    df_denom: float
    kind: str


def _tokens(text: str, names: list[str]) -> list[tuple[str, object]]:
    order = sorted(set(names) | set(_INTERCEPT_NAMES), key=len, reverse=True)
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c.isspace():
            i += 1
            continue
        name = next((nm for nm in order if text.startswith(nm, i) and not (
            i + len(nm) < len(text) and (text[i + len(nm)].isalnum() or text[i + len(nm)] in "_."))), None)
        if name is not None:
            out.append(("name", name))
            i += len(name)
            continue
        m = _NUMBER.match(text, i)
        if m:
            out.append(("num", float(m.group(0))))
            i = m.end()
            continue
        if c in "+-*=":
            out.append((c, c))
            i += 1
            continue
        raise InputError("constraint", "a linear equation in the parameter names (" + ", ".join(names) + ")",
                         repr(text), f"'{text[i:]}' is not a parameter name, a number or one of + - * =")
    return out


def _side(tokens, text: str, index: dict) -> tuple[np.ndarray, float]:
    """Coefficients and constant of one side of an equation."""
    coef, const, sign, i = np.zeros(len(set(index.values()))), 0.0, 1.0, 0
    expect_term = True
    while i < len(tokens):
        kind, val = tokens[i]
        if kind in "+-" and expect_term:
            sign = sign * (-1.0 if kind == "-" else 1.0)
            i += 1
            continue
        if kind in "+-":
            sign, expect_term, i = (-1.0 if kind == "-" else 1.0), True, i + 1
            continue
        if not expect_term:
            raise InputError("constraint", "terms joined by + or -", repr(text), "write e.g. 'x1 + 2*x2 = 1'")
        factor = 1.0
        if kind == "num":
            factor, i = val, i + 1
            if i < len(tokens) and tokens[i][0] == "*":
                i += 1
            elif i >= len(tokens) or tokens[i][0] != "name":
                const += sign * factor
                sign, expect_term = 1.0, False
                continue
        if i >= len(tokens) or tokens[i][0] != "name":
            raise InputError("constraint", "a parameter name after the number", repr(text), "write e.g. '2*x1'")
        j = index[tokens[i][1]]
        i += 1
        if i + 1 < len(tokens) and tokens[i][0] == "*" and tokens[i + 1][0] == "num":
            factor, i = factor * tokens[i + 1][1], i + 2
        coef[j] += sign * factor
        sign, expect_term = 1.0, False
    if expect_term and tokens:
        raise InputError("constraint", "a complete expression", repr(text), "remove the trailing operator")
    return coef, const


def constraints(spec, names: list[str], fit_intercept: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(R, q)`` of string constraints over the parameter names (see the module docstring).

    Examples
    --------
    >>> R, q = constraints("x1 = x2, 2*x0 + x2 = 1", ["x0", "x1", "x2"], True)
    >>> R.tolist(), q.tolist()
    ([[0.0, 0.0, 1.0, -1.0], [0.0, 2.0, 0.0, 1.0]], [0.0, 1.0])
    """
    items = [spec] if isinstance(spec, str) else list(spec)
    parts = [p.strip() for item in items for p in re.split(r"[,;]", item) if p.strip()]
    if not parts:
        raise InputError("constraint", "at least one equation", repr(spec), "pass e.g. 'x1 = 0'")
    index = {nm: j + int(fit_intercept) for j, nm in enumerate(names)}
    if fit_intercept:
        index.update({nm: 0 for nm in _INTERCEPT_NAMES})
    rows, rhs = [], []
    for text in parts:
        sides = text.split("=")
        if len(sides) > 2:
            raise InputError("constraint", "one '=' per equation", repr(text), "separate equations by commas")
        k = len(names) + int(fit_intercept)
        lhs = _side(_tokens(sides[0], names), text, index) if sides[0].strip() else (np.zeros(k), 0.0)
        right = _side(_tokens(sides[1], names), text, index) if len(sides) == 2 else (np.zeros(k), 0.0)
        rows.append(lhs[0] - right[0])
        rhs.append(right[1] - lhs[1])
    return np.array(rows), np.array(rhs)


def linear_test(params: np.ndarray, cov: np.ndarray, R: np.ndarray, q: np.ndarray, *, kind: str,
                df_resid: float) -> TestResult:
    """The Wald (``kind="chi2"``) or F test of :math:`R\\theta = q` (see the module docstring)."""
    from scipy import linalg, stats

    R = np.atleast_2d(np.asarray(R, dtype=float))
    q = np.zeros(R.shape[0]) if q is None else np.atleast_1d(np.asarray(q, dtype=float))
    if R.shape[1] != params.size or q.shape != (R.shape[0],):
        raise InputError("R, q", f"R of shape (m, {params.size}) (intercept first) and q of shape (m,)",
                         f"shapes {R.shape} and {q.shape}", "one row of R and one q per constraint")
    if not (np.all(np.isfinite(R)) and np.all(np.isfinite(q))):
        raise InputError("R, q", "finite values", "NaN/inf", "check the constraint matrix")
    d = R @ params - q
    V = R @ cov @ R.T
    m = R.shape[0]
    if np.linalg.matrix_rank(V) < m:
        raise InputError("R", "linearly independent constraints on estimated parameters", f"{m} constraints of rank "
                         f"{np.linalg.matrix_rank(V)}", "drop the redundant constraints")
    W = float(d @ linalg.solve(V, d, assume_a="pos"))
    if kind == "F":
        if not df_resid > 0:
            raise InputError("f_test", "a fit with residual degrees of freedom", f"df_resid={df_resid:g}",
                             "use wald_test (chi-squared)")
        return TestResult(W / m, float(stats.f.sf(W / m, m, df_resid)), m, float(df_resid), "F")
    return TestResult(W, float(stats.chi2.sf(W, m)), m, float("inf"), "chi2")
