"""Least squares engine: one-pass OLS, wide OLS, ridge over 100 alphas, elastic net.

Targets (ratios, interleaved timing, medians):

* dense 1e6 x 50 with an intercept: ``l2.fit`` <= 1.5x the time of ``X.T @ X`` alone, >= 8x faster
  than ``sklearn LinearRegression().fit``, coefficients within 1e-9 (relative) of ``numpy.linalg.lstsq``;
* elastic net on 10000 x 200: >= 2x faster than ``sklearn ElasticNet`` and within 1e-6 of it; measured
  on independent and on correlated columns, against scikit-learn at its default tolerance and at the
  loosest tolerance that agrees with the exact solution to 1e-6 (equal accuracy).

Also reported: 200000 x 200 against sklearn and statsmodels OLS, ridge with 100 alphas (LOO) against
``RidgeCV``.
"""

from __future__ import annotations

import warnings

import numpy as np

from ._harness import interleaved, table


def _rel(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def _ols_big(report, quick: bool) -> None:
    from sklearn.linear_model import LinearRegression

    import l2kit as l2

    n, p = (20_000, 50) if quick else (1_000_000, 50)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, p)) * rng.uniform(0.5, 2.0, p) + rng.uniform(-3, 3, p)
    y = X @ rng.normal(size=p) + 2.0 + rng.normal(size=n)
    t = interleaved({
        "X.T @ X": lambda: X.T @ X,
        "l2.fit": lambda: l2.fit(X, y),
        "sklearn LinearRegression": lambda: LinearRegression().fit(X, y),
    }, repeats=3 if quick else 7)
    report.section(f"OLS, dense {n}x{p} with intercept", table(t, baseline="X.T @ X"))
    f = l2.fit(X, y)
    Z = np.column_stack([np.ones(n), X])
    ref = np.linalg.lstsq(Z, y, rcond=None)[0]
    del Z
    r_gram = t["l2.fit"].median / t["X.T @ X"].median
    r_sk = t["sklearn LinearRegression"].median / t["l2.fit"].median
    err = _rel(f.params, ref)
    report.check(f"OLS {n}x{p}: l2.fit time / X.T@X time", "<= 1.5x", f"{r_gram:.2f}x", r_gram <= 1.5)
    report.check(f"OLS {n}x{p}: speed-up over sklearn LinearRegression", ">= 8x", f"{r_sk:.1f}x", r_sk >= 8)
    report.check(f"OLS {n}x{p}: max relative coef difference to numpy.linalg.lstsq", "<= 1e-9", f"{err:.1e}",
                 err <= 1e-9)
    report.section(f"OLS {n}x{p}: path", f"`{f.method}`, status: {f.status}")


def _ols_wide(report, quick: bool) -> None:
    import statsmodels.api as sm
    from sklearn.linear_model import LinearRegression

    import l2kit as l2

    n, p = (5_000, 200) if quick else (200_000, 200)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(n, p)) + 1.0
    y = X @ rng.normal(size=p) + rng.normal(size=n)
    Z = sm.add_constant(X)
    t = interleaved({
        "X.T @ X": lambda: X.T @ X,
        "l2.fit": lambda: l2.fit(X, y),
        "l2.fit(cov_type='HC3')": lambda: l2.fit(X, y, cov_type="HC3"),
        "sklearn LinearRegression": lambda: LinearRegression().fit(X, y),
        "statsmodels OLS": lambda: sm.OLS(y, Z).fit(),
    }, repeats=3)
    report.section(f"OLS, dense {n}x{p} with intercept (with inference)", table(t, baseline="X.T @ X"))
    f, r = l2.fit(X, y), sm.OLS(y, Z).fit()
    ratio = t["statsmodels OLS"].median / t["l2.fit"].median
    report.check(f"OLS {n}x{p}: speed-up over statsmodels OLS (coef + SEs)", "reported (no target)",
                 f"{ratio:.1f}x; SE rel. diff {_rel(f.bse, r.bse):.1e}", True)


def _ridge(report, quick: bool) -> None:
    from sklearn.linear_model import RidgeCV

    import l2kit as l2

    n, p = (2_000, 50) if quick else (20_000, 200)
    rng = np.random.default_rng(2)
    X = rng.normal(size=(n, p)) @ rng.normal(size=(p, p)) / np.sqrt(p)
    y = X @ rng.normal(size=p) + 3.0 * rng.normal(size=n)
    alphas = np.logspace(-6, 1, 100)
    t = interleaved({
        "l2.fit(alpha=grid) (LOO)": lambda: l2.fit(X, y, alpha=alphas),
        "l2.fit(alpha=grid, criterion='gcv')": lambda: l2.fit(X, y, alpha=alphas, criterion="gcv"),
        "sklearn RidgeCV (LOO)": lambda: RidgeCV(alphas=alphas * n).fit(X, y),
    }, repeats=3 if quick else 5)
    report.section(f"Ridge with 100 alphas, {n}x{p}", table(t, baseline="l2.fit(alpha=grid) (LOO)"))
    f = l2.fit(X, y, alpha=alphas)
    r = RidgeCV(alphas=alphas * n).fit(X, y)
    ratio = t["sklearn RidgeCV (LOO)"].median / t["l2.fit(alpha=grid) (LOO)"].median
    same = bool(np.isclose(f.alpha, r.alpha_ / n, rtol=1e-12))
    report.check(f"Ridge 100 alphas {n}x{p}: speed-up over sklearn RidgeCV, same alpha chosen",
                 "reported; same alpha", f"{ratio:.1f}x; same alpha: {same}; coef diff {_rel(f.coef, r.coef_):.1e}",
                 same)


def _enet(report, quick: bool) -> None:
    n, p = (2_000, 100) if quick else (10_000, 200)
    rng = np.random.default_rng(3)
    Z = rng.normal(size=(n, p))
    beta = np.where(rng.uniform(size=p) < 0.2, rng.normal(size=p) * 2, 0.0)
    shift = rng.uniform(-1, 1, p)
    noise = rng.normal(size=n)
    # independent columns, and Toeplitz-correlated ones (corr(x_j, x_k) = 0.9^|j-k|), where plain
    # coordinate descent needs many sweeps
    L = np.linalg.cholesky(0.9 ** np.abs(np.subtract.outer(np.arange(p), np.arange(p))))
    for design, X in (("independent columns", Z + shift), ("correlated columns (rho=0.9)", Z @ L.T + shift)):
        y = X @ beta + noise
        _enet_case(report, quick, X, y, design)


def _enet_case(report, quick, X, y, design) -> None:
    from sklearn.linear_model import ElasticNet

    import l2kit as l2

    n, p = X.shape
    l1 = 0.5
    # a denser solution (smaller alpha) and a sparser one
    for a in (0.01, 0.05):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # sklearn's ConvergenceWarning at tight tol
            exact = ElasticNet(alpha=a, l1_ratio=l1, tol=1e-13, max_iter=100_000).fit(X, y).coef_
            # equal accuracy: each library at the loosest tolerance of the same grid (both use
            # scikit-learn's duality gap, relative to ||y_c||^2) whose answer is within 1e-6 of the exact one
            sk_tol = _loosest_tol(lambda t: ElasticNet(alpha=a, l1_ratio=l1, tol=t, max_iter=100_000).fit(X, y)
                                  .coef_, exact)
            l2_tol = _loosest_tol(lambda t: l2.fit(X, y, alpha=a, l1_ratio=l1, tol=t).coef, exact)
            ours = f"l2.fit(alpha={a}, l1_ratio={l1}) (default gap tol 1e-10)"
            oursm = f"l2.fit(tol={l2_tol:.0e}) (agrees to 1e-6)"
            sk = "sklearn ElasticNet (default tol 1e-4)"
            skm = f"sklearn ElasticNet(tol={sk_tol:.0e}) (agrees to 1e-6)"
            t = interleaved({
                ours: lambda: l2.fit(X, y, alpha=a, l1_ratio=l1),
                oursm: lambda: l2.fit(X, y, alpha=a, l1_ratio=l1, tol=l2_tol),
                sk: lambda: ElasticNet(alpha=a, l1_ratio=l1).fit(X, y),
                skm: lambda: ElasticNet(alpha=a, l1_ratio=l1, tol=sk_tol, max_iter=100_000).fit(X, y),
                "sklearn ElasticNet(precompute=True)": lambda: ElasticNet(alpha=a, l1_ratio=l1, precompute=True)
                .fit(X, y),
            }, repeats=3 if quick else 41)    # ~10 ms calls on a noisy shared VM: many samples per median
            default_err = float(np.max(np.abs(ElasticNet(alpha=a, l1_ratio=l1).fit(X, y).coef_ - exact)))
        f = l2.fit(X, y, alpha=a, l1_ratio=l1)
        nnz = int(np.count_nonzero(f.coef))
        diff = float(np.max(np.abs(f.coef - exact)))
        diff_m = float(np.max(np.abs(l2.fit(X, y, alpha=a, l1_ratio=l1, tol=l2_tol).coef - exact)))
        report.section(f"Elastic net, {n}x{p} {design}, alpha={a}, l1_ratio={l1} ({nnz} non-zero coefficients)",
                       table(t, baseline=ours) + f"\nl2kit: {f.status}; working set {f.extra['working_set_size']}. "
                       f"Max |coef - exact|: l2kit {diff:.1e} (at tol={l2_tol:.0e}: {diff_m:.1e}), "
                       f"sklearn default {default_err:.1e}.\n")
        r_match = t[skm].median / t[oursm].median
        r_strict = t[skm].median / t[ours].median
        r_def = t[sk].median / t[ours].median
        report.check(f"Elastic net {n}x{p} {design} alpha={a} ({nnz}/{p} non-zero): speed-up over sklearn "
                     "ElasticNet at equal accuracy (each at its loosest tol within 1e-6 of the exact solution)",
                     ">= 2x", f"{r_match:.1f}x", r_match >= 2)
        report.check(f"Elastic net {n}x{p} {design} alpha={a}: speed-up of l2kit at its default tol=1e-10 over "
                     "sklearn within 1e-6", ">= 2x", f"{r_strict:.1f}x", r_strict >= 2)
        report.check(f"Elastic net {n}x{p} {design} alpha={a}: speed-up of l2kit at its default tol=1e-10 over "
                     f"sklearn at its default tol=1e-4 (sklearn then {default_err:.0e} from exact)", ">= 2x",
                     f"{r_def:.1f}x", r_def >= 2)
        report.check(f"Elastic net {n}x{p} {design} alpha={a}: max |coef - sklearn ElasticNet(tol=1e-13)|", "<= 1e-6",
                     f"{diff:.1e}", diff <= 1e-6)


def _loosest_tol(fit, exact, bound=1e-6):
    """The loosest tolerance in 1e-4, ..., 1e-12 whose coefficients ``fit(tol)`` are within ``bound`` of ``exact``."""
    grid = (float(f"1e-{k}") for k in range(4, 13))      # exact decimals (10.0 ** -6 is 9.999...e-07)
    return next((t for t in grid if np.max(np.abs(fit(t) - exact)) <= bound), 1e-13)


def run(report, quick: bool) -> None:
    _ols_big(report, quick)
    _ols_wide(report, quick)
    _ridge(report, quick)
    _enet(report, quick)
