"""``l2kit.diagnose``: does the data tell the Gaussian story that squared error assumes?"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._errors import InputError
from ._fits import COUNT_MODELS, LABELS, ROBUST, build_candidates, count_parts, fit_candidate, point_prediction
from ._recommendation import Recommendation
from .advice import advise
from .checks import LOSS_FAMILY
from .crossval import KAPPA, CVScore, cross_validate
from .influence import Influence, influence
from .tests import (
    QQ,
    BreuschPagan,
    JarqueBera,
    Overdispersion,
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
        Candidate name -> :class:`~l2kit.diagnosis.crossval.CVScore` (repeated K-fold).
    checks : dict
        Check name -> :class:`~l2kit.diagnosis.checks.Check`: ``normality``,
        ``heavy_tails``, ``outliers``, ``skewness``, ``linearity``,
        ``heteroscedasticity``, ``serial_correlation``, ``collinearity``,
        ``target`` (and ``dispersion``, ``zero_inflation`` for counts), each
        with statistic, p-value, Holm-adjusted p-value, verdict, reason and advice.
    kind : str
        "continuous", "positive", "binary" or "counts".
    verdict : tuple of str
        The two or three sentences (checks with numbers) that drove the recommendation.
    next_steps : tuple of str
        What to do next, in order.
    notes, dropped
        What was changed to make a degenerate design diagnosable (dropped columns, rescaling).
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
    checks: dict = field(default_factory=dict)
    kind: str = "continuous"
    level: float = 0.05
    seed: int = 0
    repeats: int = 1
    notes: tuple[str, ...] = ()
    dropped: tuple[tuple[str, str], ...] = ()
    choice: dict = field(default_factory=dict)
    verdict: tuple[str, ...] = ()
    next_steps: tuple[str, ...] = ()
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
        out = {**self.checks, "jarque_bera": self.jarque_bera, "qq": self.qq, "breusch_pagan": self.breusch_pagan,
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
                 + (" (counts)" if self.is_count else ""), f"recommendation: {self.recommendation}"]
        lines += [f"  - {v}" for v in self.verdict]
        lines += ["next:"] + [f"  - {v}" for v in self.next_steps] + [f"note: {v}" for v in self.notes]
        lines.append("checks:")
        for k, c in self.checks.items():
            p = "" if not c.tested else f"  p = {c.p_value:.3g}, Holm {c.p_adjusted:.3g}"
            lines.append(f"  {k:<19}{c.verdict:<8}{p}")
        head = f"{'loss':<16}{'converged':>10}{'CV RMSE':>11}{'CV tRMSE':>10}{'+/- SE':>8}" + (
            f"{'log score':>11}" if self.is_count else "")
        lines += [head, "-" * len(head)]
        for row in self.comparison():
            cv = row["cv"]
            mark = " *" if row["recommended"] else ""
            if row["fit"] is None:
                lines.append(f"{row['label'] + mark:<16}{'failed':>10}  {str(row['error'])[:60]}")
                continue
            se = 0.5 * cv.score_se / max(np.sqrt(cv.score * KAPPA), 1e-300)   # delta method: SE of sqrt
            lines.append(f"{row['label'] + mark:<16}{str(row['converged']):>10}{cv.rmse:>11.4g}{cv.score_rmse:>10.4g}"
                         f"{se:>8.2g}"
                         + (f"{cv.log_score:>11.4g}" if self.is_count else ""))
        lines.append("-" * len(head))
        if self.outliers.size:
            from ._rows import row_names

            shown = ", ".join(row_names(self, self.outliers[:20]))
            what = "rows, from 1" if self.row_labels is None else "row labels"
            lines.append(f"outliers ({what}): {shown}" + (" ..." if self.outliers.size > 20 else ""))
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


def _target_kind(y: np.ndarray, counts: bool | None) -> str:
    is_integer = bool(np.all(y == np.round(y)))
    if counts is None:
        counts = is_integer and bool(np.all(y >= 0)) and bool(np.any(y == 0)) and bool(np.any(y > 1))
    elif counts and not (is_integer and np.all(y >= 0)):
        bad = int(np.flatnonzero((y != np.round(y)) | (y < 0))[0])
        raise InputError("y", "non-negative integers for counts=True", f"{y[bad]!r} at row {bad}",
                         "pass counts=False, or clean the target")
    if counts:
        return "counts"
    if np.all((y == 0) | (y == 1)):
        return "binary"
    return "positive" if np.all(y > 0) else "continuous"


def _check_options(folds, n, level, repeats, cv):
    if cv is not True and cv != "needed":
        raise InputError("cv", 'True or "needed"', repr(cv), 'pass cv=True (every candidate) or cv="needed"')
    if not isinstance(folds, (int, np.integer)) or isinstance(folds, bool) or not 2 <= folds <= n:
        raise InputError("folds", f"an integer between 2 and the number of rows ({n})", repr(folds),
                         "pass e.g. folds=5")
    if not (isinstance(level, (float, int)) and 0 < level < 0.5):
        raise InputError("level", "a test level in (0, 0.5)", repr(level), "pass e.g. level=0.05")
    if repeats is None:
        return 5 if n <= 2000 else (2 if n <= 20000 else 1)
    if not isinstance(repeats, (int, np.integer)) or isinstance(repeats, bool) or repeats < 1:
        raise InputError("repeats", "a positive integer", repr(repeats), "pass e.g. repeats=5")
    return int(repeats)


def diagnose(X: Any, y: Any = None, *, data: Any = None, missing: str = "raise",
             feature_names: Any = None, target: str = "y", counts: bool | None = None,
             folds: int = 5, repeats: int | None = None, seed: int = 0, level: float = 0.05,
             ordered: bool = False, cv: bool | str = True, random_state: int | None = None,
             progress: Any = None) -> Diagnosis:
    r"""Fit ``y`` on ``X`` under squared error and its credible alternatives, and test the Gaussian story.

    **Checks** (``Diagnosis.checks``, each a test at ``level`` with a
    finite-sample null; Holm's adjustment across all of them bounds the chance
    of any false "reject" by ``level``): normality, heavy tails and right skew
    of the OLS residuals (Monte Carlo from the fitted Gaussian model, exact at
    any n and p), outliers with leverage (leverage-adjusted OLS residuals in
    MAD units by Monte Carlo, and the high-breakdown MM fit with a Bonferroni
    bound), linearity (RESET), heteroscedasticity (Breusch-Pagan), serial
    correlation (Durbin-Watson and Breusch-Godfrey, when ``ordered=True``),
    collinearity (VIF and condition number), and for counts dispersion and zero
    inflation by simulation.

    **Decision.** A binary target gets logistic regression and counts a count
    likelihood. Otherwise squared error stays unless heavy tails or outliers
    are rejected; then a robust loss, chosen by repeated K-fold
    cross-validation of the truncated squared prediction error (see
    :mod:`l2kit.diagnosis.crossval`) with the one-standard-error rule in the
    order Huber, Tukey MM, L1 — except that outliers at high leverage call for
    the high-breakdown MM fit. A positive, right-skewed target whose skew a
    Gamma model explains gets a Gamma GLM with log link. Heteroscedasticity
    and serial correlation change the standard errors, not the loss.

    ``outliers`` are the rows the outlier check flags (empty unless it rejects).
    Constant, duplicated and exactly collinear columns are left out with a
    note; huge or tiny magnitudes are rescaled by powers of two. A constant
    target or fewer than ``p + 3`` rows is an :class:`~l2kit.InputError` that
    says why.

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
        Cross-validation folds (2 <= folds <= n).
    repeats : int, optional
        Repeats of the K-fold split (default 5 up to n = 2000, 2 up to 20 000, then 1).
    seed : int
        Seeds the cross-validation folds and the MM subsamples: the same seed gives the same diagnosis.
        The Monte Carlo nulls of the checks use a fixed stream, so the checks depend on the data alone.
    level : float
        Level of every test (family-wise, by Holm).
    ordered : bool
        Rows are in a meaningful order (time): run the serial-correlation check.
    cv : True or "needed"
        ``True`` cross-validates every candidate (the report's table).
        ``"needed"`` only when the decision uses it (a loss check rejects,
        or a count or binary target): the same decision rule, much faster,
        for simulation studies.
    random_state : int, optional
        Old name of ``seed``.
    progress : bool or None
        Show a progress bar on stderr; None shows it only when stderr is a terminal.

    Returns
    -------
    Diagnosis

    Examples
    --------
    >>> import numpy as np, l2kit as l2
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 2)); y = X @ [1.0, -2.0] + rng.normal(size=60)
    >>> d = l2.diagnose(X, y, progress=False)
    >>> d.recommendation.name, d.checks["heavy_tails"].verdict
    ('squared', 'pass')
    """
    from ..linear.penalized import single_blas_thread  # here: importing l2kit.diagnosis stays light

    # one BLAS thread: the fits here are many small solves and thin passes, where OpenBLAS's threads cost
    # wake-ups and no bandwidth (n = 1000, p = 100 on a loaded 2-core machine: several times slower with 2)
    return single_blas_thread(_diagnose)(X, y, data, missing, feature_names, target, counts, folds, repeats, seed,
                                         level, ordered, cv, random_state, progress)


def _diagnose(X, y, data, missing, feature_names, target, counts, folds, repeats, seed, level, ordered, cv,
              random_state, progress) -> Diagnosis:
    """The body of :func:`diagnose`."""
    from ..frames import is_table
    from ..linear._design import check_finite_design, validate_design
    from ._prepare import prepare
    from .assess import assess

    table = None
    if isinstance(X, str) or data is not None or is_table(X):
        table, X, y, feature_names, target = _table_design(X, y, data, missing, target)
    if target == "y" and isinstance(getattr(y, "name", None), str):  # a pandas Series names itself
        target = y.name
    seed = int(seed if random_state is None else random_state)
    # NaN/inf are refused here; huge magnitudes are not: prepare() rescales them by powers of two
    design = validate_design(X, y, feature_names=feature_names, allow_complex=False, check_finite=False)
    check_finite_design(design)
    prep = prepare(design.X, design.y, tuple(design.feature_names))
    Xn, yn, names = prep.X, prep.y, prep.names
    n, p = Xn.shape
    repeats = _check_options(folds, n, level, repeats, cv)
    kind = _target_kind(yn, counts)
    counts = kind == "counts"
    is_integer = bool(np.all(yn == np.round(yn)))

    losses = build_candidates(kind)
    if kind == "binary":   # robust losses of a 0/1 target answer no question anyone asked
        losses = {k: v for k, v in losses.items() if k in ("squared", "binomial")}
    fit_errors: dict[str, str] = {}
    from ..io.progress import progress as progress_display

    fits: dict[str, Any] = {}
    n_cv = folds * repeats if cv is True or kind in ("counts", "binary") else 0
    with progress_display(len(losses) * (n_cv + 1), desc="l2kit diagnose", unit="fits", enabled=progress) as bar:
        for name, loss in losses.items():
            if name == "tukey" and n < 5 * (p + 1):
                fits[name] = None
                fit_errors[name] = (f"the MM fit needs at least 5 rows per parameter (n = {n} < 5 (p + 1) = "
                                    f"{5 * (p + 1)}): a 50%-breakdown fit of so few rows is not reliable")
                continue
            try:
                fits[name] = fit_candidate(name, loss, Xn, yn, seed=seed, feature_names=names)
            except Exception as exc:  # report the failure, keep the other candidates
                fits[name] = None
                fit_errors[name] = f"{type(exc).__name__}: {exc}"
            bar.update(1, f"fit {name}")
        mm = fits.get("tukey")
        inf = influence(Xn, yn)
        checks, _ = assess(inf, inf.basis, Xn, names, mm_fit=mm, positive=kind == "positive", ordered=ordered,
                           seed=seed, level=level, row_labels=None if table is None else table.row_labels)
        needed = kind in ("counts", "binary") or any(checks[k].rejected for k in LOSS_FAMILY if k in checks)
        scores = {}
        if cv is True or needed:
            # above 20 000 rows the L1 candidate (an exact LP, seconds a fold) is fitted but not cross-validated
            scores = cross_validate(Xn, yn, {k: losses[k] for k in losses if fits.get(k) is not None
                                             and not (k == "absolute" and n > 20000)},
                                    folds=folds, random_state=seed, repeats=repeats,
                                    scale=float(mm.scale) if mm is not None and mm.scale else None, progress=bar,
                                    fit_options=_cv_options(mm, losses))
    jb = jarque_bera(inf.resid)
    q = qq(inf.resid)
    bp = breusch_pagan(inf.resid, Xn) if p > 0 else None
    tails = {name: heavy_tails(_residuals(fits[name], Xn, yn)) for name in ("squared", *ROBUST)
             if fits.get(name) is not None}
    outliers = np.asarray(checks["outliers"].detail["rows"], dtype=int)
    if checks["outliers"].rejected and not outliers.size:   # the test's maximum is the row behind it
        outliers = np.array([int(np.argmax(checks["outliers"].detail["z_ols"]))])
    if not checks["outliers"].rejected:
        outliers = np.zeros(0, dtype=int)

    od = zp = znb = None
    theta = None
    if counts:
        from .assess import count_checks

        od, zp, znb, theta = _count_tests(fits, Xn, yn, p)
        checks = {**checks, **count_checks(yn, fits, Xn, seed=seed, level=level)}

    d = Diagnosis(Xn, yn, names, str(target), counts, is_integer, int(folds), losses, fits,
                  fit_errors, inf, jb, q, bp, tails, scores, od, zp, znb, theta, outliers,
                  checks=checks, kind=kind, level=float(level), seed=seed, repeats=repeats, notes=prep.notes,
                  dropped=prep.dropped)
    rec, reasons, verdict, steps, choice = advise(d)
    _refit_recommended(fits, rec, Xn, yn, names)
    if counts and rec.name in COUNT_MODELS:
        outliers = _count_outliers(fits[rec.name], Xn, yn, outliers)
    object.__setattr__(d, "outliers", np.asarray(outliers, dtype=int))
    for key, value in (("recommendation", rec), ("reasons", tuple(reasons)), ("verdict", tuple(verdict)),
                       ("next_steps", tuple(steps)), ("choice", choice)):
        object.__setattr__(d, key, value)
    if table is not None:
        object.__setattr__(d, "formula", table.coding.formula)
        object.__setattr__(d, "row_labels", table.row_labels)
        object.__setattr__(d, "missing", table.missing)
    return d


def _refit_recommended(fits: dict, rec, Xn, yn, names) -> None:
    """The recommended candidate fitted exactly as ``l2.fit(X, y, loss=rec.loss, **rec.options)``.

    The report's coefficients and standard errors are then those of the fit its reproduce lines give:
    HC3/HAC standard errors for squared error, and the MM fit on every row (the candidate's S search ran on
    a subsample above ``MM_SUBSAMPLE`` rows). A candidate already fitted that way is kept.
    """
    from ..linear import fit as l2fit

    f = fits.get(rec.name)
    if f is None or not rec.options:
        return
    if rec.name == "tukey" and set(rec.options) == {"method", "seed"} and "mm_subsample" not in f.extra:
        return   # fit_candidate already made this very call
    fits[rec.name] = l2fit(Xn, yn, loss=rec.loss, feature_names=names, **rec.options)


def _cv_options(mm, losses) -> dict:
    """Cross-validation of the MM candidate: its M-step from the full-data S-estimate and S-scale.

    The S search (thousands of subsamples) is the costly part of an MM fit;
    its 50% breakdown point makes it insensitive to any one fold, so each
    fold reruns only the M-step (Tukey IRLS at the fixed S-scale), as the MM
    fit itself does after its S step.
    """
    from ..linear import fit as l2fit

    if mm is None or mm.extra.get("s_params") is None or not mm.scale:
        return {}
    start, scale, loss = np.asarray(mm.extra["s_params"], dtype=float), float(mm.scale), losses["tukey"]
    return {"tukey": lambda a, b: l2fit(a, b, loss=loss, start=start, scale=scale)}


def _count_tests(fits, Xn, yn, p):
    od = zp = znb = theta = None
    n = yn.size
    fp = fits.get("poisson")
    if fp is not None:
        parts = count_parts(fp, Xn)
        if parts is not None:
            od = overdispersion(yn, parts[0], df_resid=n - p - 1)
            zp = zero_inflation(yn, parts[0])
    fnb = fits.get("negative_binomial")
    if fnb is not None:
        parts = count_parts(fnb, Xn)
        if parts is not None and parts[1] is not None:
            theta = float(parts[1])
            znb = zero_inflation(yn, parts[0], theta=theta)
    return od, zp, znb, theta


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
