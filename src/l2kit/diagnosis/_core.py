"""``l2kit.diagnose``: does the data tell the Gaussian story that squared error assumes?"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._errors import InputError
from ._fits import COUNT_MODELS, LABELS, ROBUST, build_candidates, count_parts, point_prediction
from .advice import Recommendation, advise
from .crossval import CVScore, cross_validate
from .influence import Influence, influence
from .tests import (
    QQ,
    BreuschPagan,
    JarqueBera,
    Overdispersion,
    Tails,
    ZeroInflation,
    breusch_pagan,
    heavy_tails,
    jarque_bera,
    overdispersion,
    qq,
    zero_inflation,
)


@dataclass(frozen=True, eq=False)
class Diagnosis:
    """Result of :func:`diagnose`. Immutable.

    Attributes
    ----------
    recommendation : Recommendation
        The loss the data asks for (``.loss`` is a registry loss with its
        parameters; ``.options`` extra fit options such as ``cov_type``).
    reasons : tuple of str
        Plain sentences that cite the numbers behind the recommendation.
    outliers : ndarray of int
        0-based rows flagged as outliers (see :func:`diagnose`).
    fits : dict
        Candidate name -> :class:`~l2kit.linear.Fit` on all rows (None if it failed).
    fit_errors : dict
        Candidate name -> why it could not be fitted.
    cv : dict
        Candidate name -> :class:`~l2kit.diagnosis.crossval.CVScore`.
    jarque_bera, qq, breusch_pagan, influence
        Tests of the OLS residuals.
    tails : dict
        Candidate name -> :class:`~l2kit.diagnosis.tests.Tails` of its residuals.
    overdispersion, zero_inflation_poisson, zero_inflation_nb
        Count diagnostics (None for continuous targets).
    """

    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    target: str
    is_count: bool
    is_integer: bool
    folds: int
    losses: dict
    fits: dict
    fit_errors: dict
    influence: Influence
    jarque_bera: JarqueBera
    qq: QQ | None
    breusch_pagan: BreuschPagan | None
    tails: dict
    cv: dict
    overdispersion: Overdispersion | None = None
    zero_inflation_poisson: ZeroInflation | None = None
    zero_inflation_nb: ZeroInflation | None = None
    nb_theta: float | None = None
    outliers: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    recommendation: Recommendation | None = None
    reasons: tuple[str, ...] = ()
    #: from a table (``l2.diagnose(formula, data=df)``): the formula, row labels, and rows dropped for missing values
    formula: str | None = None
    row_labels: tuple | None = None
    missing: Any = None

    # -- derived views ----------------------------------------------------
    @property
    def candidates(self) -> tuple[str, ...]:
        """Names of the candidate losses, fitted or not."""
        return tuple(self.losses) + tuple(k for k in self.fit_errors if k not in self.losses)

    @property
    def tests(self) -> dict[str, Any]:
        """Every test result by name."""
        out = {"jarque_bera": self.jarque_bera, "qq": self.qq, "breusch_pagan": self.breusch_pagan,
               "influence": self.influence, "heavy_tails": dict(self.tails)}
        if self.is_count:
            out.update(overdispersion=self.overdispersion, zero_inflation_poisson=self.zero_inflation_poisson,
                       zero_inflation_nb=self.zero_inflation_nb)
        return out

    def coef_shift(self, name: str) -> tuple[str, float] | None:
        """Largest |coef(name) - coef(OLS)| in OLS standard errors: ``(feature, z)``."""
        a, b = self.fits.get("squared"), self.fits.get(name)
        if a is None or b is None or a.stderr is None:
            return None
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.abs(np.asarray(b.coef) - np.asarray(a.coef)) / np.asarray(a.stderr)
        if not np.isfinite(z).any():
            return None
        j = int(np.nanargmax(z))
        return self.feature_names[j], float(z[j])

    def comparison(self) -> list[dict]:
        """One row per candidate: coefficients, standard errors, status and CV scores."""
        rows = []
        for name in self.candidates:
            f = self.fits.get(name)
            cv = self.cv.get(name, CVScore(error="not run"))
            row = {"name": name, "label": LABELS.get(name, name), "fit": f,
                   "loss": repr(self.losses[name]) if name in self.losses else name,
                   "error": self.fit_errors.get(name), "cv": cv,
                   "recommended": self.recommendation is not None and self.recommendation.name == name}
            if f is not None:
                row["params"] = np.asarray(f.params, dtype=float)
                row["bse"] = None if f.bse is None else np.asarray(
                    [np.nan if v is None else v for v in f.bse], dtype=float)
                row["converged"] = bool(f.converged)
                row["status"] = f.status.value
                row["message"] = f.message
            rows.append(row)
        return rows

    def summary(self) -> str:
        """A short plain-text table of the candidates and the recommendation."""
        lines = [f"l2kit diagnose: {self.y.size} rows, {len(self.feature_names)} features, target {self.target!r}"
                 + (" (counts)" if self.is_count else "")]
        head = f"{'loss':<16}{'converged':>10}{'CV RMSE':>11}{'CV MAE':>10}" + (
            f"{'log score':>11}" if self.is_count else "")
        lines += [head, "-" * len(head)]
        for row in self.comparison():
            cv = row["cv"]
            mark = " *" if row["recommended"] else ""
            if row["fit"] is None:
                lines.append(f"{row['label'] + mark:<16}{'failed':>10}  {str(row['error'])[:60]}")
                continue
            lines.append(f"{row['label'] + mark:<16}{str(row['converged']):>10}{cv.rmse:>11.4g}{cv.mae:>10.4g}"
                         + (f"{cv.log_score:>11.4g}" if self.is_count else ""))
        lines.append("-" * len(head))
        if self.outliers.size:
            from ._rows import row_names

            shown = ", ".join(row_names(self, self.outliers[:20]))
            what = "rows, from 1" if self.row_labels is None else "row labels"
            lines.append(f"outliers ({what}): {shown}" + (" ..." if self.outliers.size > 20 else ""))
        lines.append(f"recommendation: {self.recommendation}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"Diagnosis(n={self.y.size}, target={self.target!r}, recommendation={self.recommendation}, "
                f"outliers={[int(i) for i in self.outliers[:10]]}{'...' if self.outliers.size > 10 else ''})")

    def to_html(self, path, *, title: str | None = None, provenance: dict | None = None) -> str:
        """Write the self-contained HTML report to ``path`` atomically; return the path.

        ``provenance``: entries for the report's provenance table (command line, data file SHA-256, seed...).
        """
        from .html import write_report

        return write_report(self, path, title=title, provenance=provenance)


def _residuals(fit, X, y) -> np.ndarray:
    if fit.residuals is not None:
        return np.asarray(fit.residuals, dtype=np.float64)
    return y - point_prediction(fit, X)


def diagnose(X: Any, y: Any = None, *, data: Any = None, missing: str = "raise", feature_names: Any = None,
             target: str = "y", counts: bool | None = None, folds: int = 5, random_state: int = 0,
             progress: Any = None) -> Diagnosis:
    r"""Fit ``y`` on ``X`` under squared error and its credible alternatives, and test the Gaussian story.

    Candidates: Squared, Huber(delta=1.345), Tukey(c=4.685) and Absolute (L1);
    for count targets also Poisson, negative binomial and ZINB. Every fit goes
    through :func:`l2kit.fit`; a candidate that fails is reported, not fatal.

    The diagnosis tests the OLS residuals (Jarque-Bera, kurtosis, QQ,
    Breusch-Pagan), computes leverage, studentized residuals and Cook's
    distance from a pivoted QR of the design, counts residuals beyond 2.5
    robust standard deviations under each robust fit (a heavy-tail check), and
    for counts the Pearson dispersion and observed against expected zeros.
    Each candidate is scored out of sample by K-fold cross-validation.

    ``outliers`` are the rows that some robust fit (Huber, Tukey, L1) puts
    more than 2.5 robust standard deviations (:math:`1.4826\,\mathrm{median}|r|`)
    from its fitted value — the Rousseeuw & Leroy rule, applied to fits that
    outliers cannot drag toward themselves. For counts, the rows whose upper
    tail probability under the recommended count model is below
    :math:`0.05/n`.

    Parameters
    ----------
    X : array of shape (n, p), table, or formula
        A formula (``"y ~ x1 + C(g)"``) is evaluated on ``data``; a table is
        coded as by :func:`l2kit.fit` (factors, names, row labels).
    y : array of shape (n,), or a column name of a table ``X`` (omit with a formula)
    data : table, optional
    missing : {"raise", "drop"}
        Missing values in a table: refused with the count per column, or
        rows dropped listwise (counted on ``Diagnosis.missing``).
    feature_names : sequence of str, optional
    target : str
        Name of ``y`` used in the reasons.
    counts : bool, optional
        Treat ``y`` as counts. Default: when ``y`` holds non-negative
        integers including zero.
    folds : int
        Number of cross-validation folds (2 <= folds <= n).
    random_state : int
        Seed of the fold assignment.
    progress : bool or None
        Show a progress bar on stderr during cross-validation; None shows it
        only when stderr is a terminal.

    Returns
    -------
    Diagnosis

    Examples
    --------
    >>> import numpy as np, l2kit as l2
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 2)); y = X @ [1.0, -2.0] + rng.normal(size=60)
    >>> d = l2.diagnose(X, y, progress=False)
    >>> d.recommendation.name
    'squared'
    """
    from ..frames import is_table
    from ..linear import fit as l2fit
    from ..linear._design import validate_design

    table = None
    if isinstance(X, str) or data is not None or is_table(X):
        table, X, y, feature_names, target = _table_design(X, y, data, missing, target)
    if target == "y" and isinstance(getattr(y, "name", None), str):  # a pandas Series names itself
        target = y.name
    design = validate_design(X, y, feature_names=feature_names, allow_complex=False)
    Xn, yn = design.X, design.y
    n, p = Xn.shape
    if not isinstance(folds, (int, np.integer)) or isinstance(folds, bool) or not 2 <= folds <= n:
        raise InputError("folds", f"an integer between 2 and the number of rows ({n})", repr(folds),
                         "pass e.g. folds=5")
    if np.all(yn == yn[0]):   # nothing to model (it crashed with ZeroDivisionError)
        raise InputError("y", "a target that varies", f"a constant target (every value is {yn[0]:g})",
                         "pick a target column that varies; a constant needs no model")
    if n < p + 3:
        raise InputError("X", f"more rows than features + 2 (p = {p})", f"{n} rows",
                         "diagnostics need residual degrees of freedom; add rows or drop features")
    is_integer = bool(np.all(yn == np.round(yn)))
    if counts is None:
        counts = is_integer and bool(np.all(yn >= 0)) and bool(np.any(yn == 0)) and bool(np.any(yn > 1))
    elif counts and not (is_integer and np.all(yn >= 0)):
        bad = int(np.flatnonzero((yn != np.round(yn)) | (yn < 0))[0])
        raise InputError("y", "non-negative integers for counts=True", f"{yn[bad]!r} at row {bad}",
                         "pass counts=False, or clean the target")
    counts = bool(counts)

    losses, fit_errors = build_candidates(counts), {}
    n_fit = len(losses)
    from ..io.progress import progress as progress_display

    fits: dict[str, Any] = {}
    with progress_display(n_fit * (folds + 1), desc="l2kit diagnose", unit="fits", enabled=progress) as bar:
        for name, loss in losses.items():
            try:
                fits[name] = l2fit(Xn, yn, loss=loss, feature_names=design.feature_names)
            except Exception as exc:  # report the failure, keep the other candidates
                fits[name] = None
                fit_errors[name] = f"{type(exc).__name__}: {exc}"
            bar.update(1, f"fit {name}")
        cv = cross_validate(Xn, yn, {k: losses[k] for k in losses if fits.get(k) is not None},
                            folds=folds, random_state=random_state, progress=bar)

    inf = influence(Xn, yn)
    resid = inf.resid
    jb = jarque_bera(resid)
    q = qq(resid)
    bp = breusch_pagan(resid, Xn) if p > 0 else None
    tails: dict[str, Tails] = {}
    for name in ("squared", *ROBUST):
        f = fits.get(name)
        if f is not None:
            tails[name] = heavy_tails(_residuals(f, Xn, yn))
    robust_flags = []
    for name in ROBUST:
        f = fits.get(name)
        if f is not None:
            r = _residuals(f, Xn, yn)
            robust_flags.append(np.abs(r) > tails[name].cutoff * tails[name].scale)
    if robust_flags:
        outliers = np.flatnonzero(np.any(robust_flags, axis=0))
    else:  # no robust fit: fall back on OLS externally studentized residuals
        outliers = np.flatnonzero(np.abs(inf.studentized_external) > 2.5)

    od = zp = znb = None
    theta = None
    if counts:
        fp = fits.get("poisson")
        if fp is not None:
            parts = count_parts(fp, Xn)
            if parts is not None:
                mu = parts[0]
                k = p + 1
                od = overdispersion(yn, mu, df_resid=n - k)
                zp = zero_inflation(yn, mu)
        fnb = fits.get("negative_binomial")
        if fnb is not None:
            parts = count_parts(fnb, Xn)
            if parts is not None and parts[1] is not None:
                theta = float(parts[1])
                znb = zero_inflation(yn, parts[0], theta=theta)

    d = Diagnosis(Xn, yn, design.feature_names, str(target), counts, is_integer, int(folds), losses, fits,
                  fit_errors, inf, jb, q, bp, tails, cv, od, zp, znb, theta, outliers.astype(int))
    rec, reasons = advise(d)
    if counts and rec.name in COUNT_MODELS:
        outliers = _count_outliers(fits[rec.name], Xn, yn, outliers)
    object.__setattr__(d, "outliers", np.asarray(outliers, dtype=int))
    object.__setattr__(d, "recommendation", rec)
    object.__setattr__(d, "reasons", tuple(reasons))
    if table is not None:
        object.__setattr__(d, "formula", table.coding.formula)
        object.__setattr__(d, "row_labels", table.row_labels)
        object.__setattr__(d, "missing", table.missing)
    return d


def _table_design(X, y, data, missing, target):
    """A formula or table coded by :mod:`l2kit.frames`: ``(table, X, y, feature_names, target)``."""
    from ..frames import design_from_formula, design_from_table

    if isinstance(X, str):
        if data is None or y is not None:
            raise InputError("data", "a table for the formula (and y=None)", type(data).__name__,
                             "call l2.diagnose('y ~ x1 + C(g)', data=df)")
        td = design_from_formula(X, data, missing=missing)
        target = X.split("~")[0].strip() if target == "y" else target
    else:
        td = design_from_table(X, y, missing=missing)
        name = y if isinstance(y, str) else getattr(y, "name", None)
        if isinstance(name, str) and target == "y":   # a pandas Series names itself
            target = name
    return td, td.X, td.y, td.feature_names, target


def _count_outliers(fit, X, y, fallback):
    from scipy import stats

    parts = count_parts(fit, X)
    if parts is None:
        return fallback
    mu, theta, pi = parts
    if theta is None:
        sf = stats.poisson.sf(y - 1, mu)
    else:
        sf = stats.nbinom.sf(y - 1, theta, theta / (theta + mu))
    if pi is not None:
        sf = np.where(y > 0, (1 - pi) * sf, 1.0)
    return np.flatnonzero(sf < 0.05 / y.size)
