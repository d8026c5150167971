"""Beyond Gaussian: robust IRLS (Huber) vs scikit-learn / statsmodels, quantile LP at 1e5 and 1e6 rows,
NB / ZINB count models vs statsmodels on randhie."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import warnings

import numpy as np

from ._harness import fmt_time, interleaved, table


def _huber_data(n, p, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    beta = rng.normal(size=p)
    y = 1.0 + X @ beta + rng.normal(size=n)
    bad = rng.choice(n, n // 20, replace=False)            # 5 % gross outliers
    y[bad] += 50 + 100 * rng.normal(size=bad.size)
    return X, y, beta


def _huber(report, quick):
    import statsmodels.api as sm
    from sklearn.linear_model import HuberRegressor

    import l2kit as l2

    n, p = (5000, 20) if quick else (200_000, 20)
    X, y, beta = _huber_data(n, p)
    Xc = sm.add_constant(X)
    loss = l2.Huber(delta=1.345)
    out = {}

    def ours():
        out["l2kit"] = l2.fit(X, y, loss=loss)

    def sk():
        out["sklearn"] = HuberRegressor(epsilon=1.345, alpha=0.0, max_iter=1000).fit(X, y)

    def stm():
        out["statsmodels"] = sm.RLM(y, Xc, M=sm.robust.norms.HuberT(1.345)).fit()

    l2.fit(X[:200], y[:200], loss=loss)   # first-use imports out of the timings
    HuberRegressor(epsilon=1.345, alpha=0.0).fit(X[:200], y[:200])
    t = interleaved({"l2kit Huber (IRLS)": ours, "sklearn HuberRegressor": sk, "statsmodels RLM": stm},
                    repeats=1 if quick else 5, warmup=0 if quick else 1)
    f, h, r = out["l2kit"], out["sklearn"], out["statsmodels"]
    err = {"l2kit": np.sqrt(np.mean((f.coef - beta) ** 2)), "sklearn": np.sqrt(np.mean((h.coef_ - beta) ** 2)),
           "statsmodels": np.sqrt(np.mean((r.params[1:] - beta) ** 2))}
    ierr = {"l2kit": abs(f.intercept - 1), "sklearn": abs(h.intercept_ - 1), "statsmodels": abs(r.params[0] - 1)}
    body = table(t, baseline="l2kit Huber (IRLS)",
                 title=f"Huber(delta=1.345) regression, {n}x{p}, 5 % gross outliers")
    body += ("\n| fit | RMS error of the 20 slopes vs truth | intercept error | iterations | converged |\n"
             "|---|---:|---:|---:|---|\n")
    body += f"| l2kit | {err['l2kit']:.5f} | {ierr['l2kit']:.4f} | {f.n_iter} | {f.converged} |\n"
    body += f"| sklearn | {err['sklearn']:.5f} | {ierr['sklearn']:.4f} | {h.n_iter_} | - |\n"
    body += (f"| statsmodels | {err['statsmodels']:.5f} | {ierr['statsmodels']:.4f} | "
             f"{r.fit_history['iteration']} | - |\n")
    body += ("\nl2kit and statsmodels solve the same M-estimation (MAD scale); their coefficients agree to "
             f"{np.max(np.abs(f.params - r.params)):.1e}. scikit-learn estimates the scale jointly "
             "(a different estimator), so its coefficients differ slightly.\n")
    report.section("Robust regression: Huber IRLS", body)
    base = t["l2kit Huber (IRLS)"].median
    rs, rm = t["sklearn HuberRegressor"].median / base, t["statsmodels RLM"].median / base
    report.check(f"Huber {n}x{p}: speed-up over sklearn HuberRegressor", ">= 3x", f"{rs:.1f}x", rs >= 3)
    report.check(f"Huber {n}x{p}: speed-up over statsmodels RLM", ">= 30x", f"{rm:.1f}x", rm >= 30)
    report.check(f"Huber {n}x{p}: slope error vs truth (RMS)", "<= sklearn's",
                 f"{err['l2kit']:.5f} vs {err['sklearn']:.5f}", err["l2kit"] <= err["sklearn"])


_CHILD = textwrap.dedent("""
    import json, resource, sys, time, warnings
    import numpy as np
    warnings.simplefilter("ignore")
    n, p, who = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, p)); y = 1 + X @ np.arange(1.0, p + 1) + rng.standard_t(2, size=n)
    import l2kit as l2, sklearn.linear_model, scipy.optimize  # imports before the baseline
    import l2kit.linear.robust
    def status(key):
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key):
                    return int(line.split()[1])  # KiB
    try:  # reset the peak-RSS high-water mark (Linux), so VmHWM is the fit's own peak
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        base = status("VmRSS:")
    except OSError:
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    if who == "sklearn":
        m = sklearn.linear_model.QuantileRegressor(quantile=0.3, alpha=0.0, solver="highs").fit(X, y)
        pred, ok = m.predict(X), True
    else:
        f = l2.fit(X, y, loss=l2.Quantile(0.3), method=who)
        pred, ok = f.predict(X), f.converged
    dt = time.perf_counter() - t0
    try:
        peak = status("VmHWM:")
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    r = y - pred
    obj = float(np.sum(np.where(r < 0, -0.7 * r, 0.3 * r)))
    print(json.dumps({"time": dt, "extra_mib": max(peak - base, 0) / 1024, "objective": obj, "ok": bool(ok),
                      "x_mib": X.nbytes / 2**20}))
""")


def _run_child(n, p, who, timeout):
    try:
        out = subprocess.run([sys.executable, "-c", _CHILD, str(n), str(p), who], capture_output=True, text=True,
                             timeout=timeout)
        return json.loads(out.stdout.strip().splitlines()[-1])
    except subprocess.TimeoutExpired:
        return None
    except Exception as exc:  # pragma: no cover - reported in the table
        return {"error": str(exc)}


def _quantile(report, quick):
    p = 5
    sizes = [(2000, ["auto", "sklearn"]), (5000, ["auto"])] if quick else \
        [(20000, ["auto", "dual", "sklearn"]), (100_000, ["auto", "highs-ipm"]), (1_000_000, ["auto"])]
    rows = ["| rows | solver | time | extra peak memory | X itself | objective | optimal |",
            "|---:|---|---:|---:|---:|---:|---|"]
    res = {}
    for n, whos in sizes:
        for who in whos:
            r = _run_child(n, p, who, timeout=600)
            res[(n, who)] = r
            name = {"auto": "l2kit (auto)", "dual": "l2kit dual LP (HiGHS)", "highs-ipm": "l2kit dual LP (HiGHS IPM)",
                    "sklearn": "sklearn QuantileRegressor(highs)"}[who]
            if r is None or "error" in r:
                rows.append(f"| {n} | {name} | timed out / failed | | | | |")
                continue
            rows.append(f"| {n} | {name} | {fmt_time(r['time'])} | {r['extra_mib']:.0f} MiB | {r['x_mib']:.0f} MiB | "
                        f"{r['objective']:.6f} | {r['ok']} |")
    body = ("Quantile(q=0.3) regression, 5 features + intercept, t(2) noise; each run in a fresh process "
            "(peak RSS growth during the fit). `auto` uses Portnoy-Koenker preprocessing beyond 20000 rows; "
            "the plain dual LP and scikit-learn's primal LP are shown for comparison.\n\n" + "\n".join(rows) + "\n")
    report.section("Quantile regression (exact LP)", body)
    for n in ([5000] if quick else [100_000, 1_000_000]):
        r = res.get((n, "auto"))
        ok = r is not None and "error" not in r and r["ok"]
        report.check(f"quantile LP {n} rows: solved to optimality", "optimal", "yes" if ok else "no", ok)
        if ok:
            report.check(f"quantile LP {n} rows: extra memory", "bounded: <= 20x the size of X",
                         f"{r['extra_mib']:.0f} MiB (X: {r['x_mib']:.0f} MiB)", r["extra_mib"] <= 20 * r["x_mib"] + 64)
    cmp_n = 2000 if quick else 20000
    a, s = res.get((cmp_n, "auto")), res.get((cmp_n, "sklearn"))
    if a and s and "error" not in a and "error" not in s:
        report.check(f"quantile LP {cmp_n} rows: objective equals sklearn's", "relative difference <= 1e-9",
                     f"{abs(a['objective'] - s['objective']) / s['objective']:.1e}",
                     abs(a["objective"] - s["objective"]) <= 1e-9 * s["objective"])


def _counts(report, quick):
    import statsmodels.api as sm

    import l2kit as l2

    d = sm.datasets.randhie.load_pandas()
    y, X = d.endog.values.astype(float), d.exog.values.astype(float)
    if quick:
        y, X = y[:3000], X[:3000]
    Xc = sm.add_constant(X)
    out = {}
    warnings.simplefilter("ignore")

    def nb_l2():
        out["nb"] = l2.fit(X, y, loss=l2.NegativeBinomialNLL())

    def nb_sm_default():
        out["nb_sm_default"] = sm.NegativeBinomial(y, Xc).fit(disp=0)

    def nb_sm():
        out["nb_sm"] = sm.NegativeBinomial(y, Xc).fit(method="newton", maxiter=300, disp=0)

    def zinb_l2():
        out["zinb"] = l2.fit(X, y, loss=l2.ZINB())

    def zinb_sm():
        m = sm.ZeroInflatedNegativeBinomialP(y, Xc, exog_infl=np.ones((y.size, 1)), p=2)
        out["zinb_sm"] = m.fit(method="bfgs", maxiter=1000, disp=0)

    def pois_l2():
        out["pois"] = l2.fit(X, y, loss=l2.PoissonNLL())

    def pois_sm():
        out["pois_sm"] = sm.GLM(y, Xc, family=sm.families.Poisson()).fit()

    t = interleaved({"l2kit NB": nb_l2, "statsmodels NB (default bfgs)": nb_sm_default,
                     "statsmodels NB (newton, maxiter=300)": nb_sm}, repeats=3 if quick else 5)
    t2 = interleaved({"l2kit ZINB": zinb_l2, "statsmodels ZINB (bfgs)": zinb_sm}, repeats=2 if quick else 3)
    t3 = interleaved({"l2kit Poisson": pois_l2, "statsmodels GLM Poisson": pois_sm}, repeats=3 if quick else 5)
    nb, nbd, nbs, z, zs = out["nb"], out["nb_sm_default"], out["nb_sm"], out["zinb"], out["zinb_sm"]
    body = table(t, baseline="l2kit NB", title=f"Negative binomial on randhie (mdvis, n={y.size})")
    body += "\n" + table(t2, baseline="l2kit ZINB", title="Zero-inflated NB (intercept-only inflation)")
    body += "\n" + table(t3, baseline="l2kit Poisson", title="Poisson")
    body += "\n| fit | loglike | converged | alpha = 1/theta |\n|---|---:|---|---:|\n"
    body += f"| l2kit NB | {nb.loglike:.6f} | {nb.converged} | {nb.extra['alpha']:.6f} |\n"
    body += (f"| statsmodels NB default | {nbd.llf:.6f} | {nbd.mle_retvals['converged']} | {nbd.params[-1]:.6f} |\n")
    body += (f"| statsmodels NB newton | {nbs.llf:.6f} | {nbs.mle_retvals['converged']} | {nbs.params[-1]:.6f} |\n")
    body += f"| l2kit ZINB | {z.loglike:.6f} | {z.converged} | {z.extra['alpha']:.6f} |\n"
    body += f"| statsmodels ZINB bfgs | {zs.llf:.6f} | {zs.mle_retvals['converged']} | {zs.params[-1]:.6f} |\n"
    body += ("\nOn randhie the ZINB optimum is on the boundary (inflation probability -> 0, inflation logit "
             f"{z.extra['inflation_coef'][0]:.1f}): its loglike equals the NB loglike.\n")
    report.section("Count models on randhie: NB and ZINB", body)
    d_nb = abs(nb.loglike - nbs.llf)
    report.check("NB randhie: loglike vs statsmodels' converged optimum", "|diff| <= 1e-5", f"{d_nb:.1e}",
                 d_nb <= 1e-5 and nbs.mle_retvals["converged"])
    r = t["statsmodels NB (newton, maxiter=300)"].median / t["l2kit NB"].median
    report.check("NB randhie: speed-up over statsmodels (converged newton)", "> 1x", f"{r:.1f}x", r > 1)
    r0 = t["statsmodels NB (default bfgs)"].median / t["l2kit NB"].median
    report.check("NB randhie: speed-up over statsmodels defaults (which do not converge)", "> 1x", f"{r0:.1f}x", r0 > 1)
    rz = t2["statsmodels ZINB (bfgs)"].median / t2["l2kit ZINB"].median
    report.check("ZINB randhie: speed-up over statsmodels", "> 1x", f"{rz:.1f}x", rz > 1)
    report.check("ZINB randhie: loglike not below statsmodels'", ">= statsmodels - 1e-5",
                 f"{z.loglike - zs.llf:+.1e}", z.loglike >= zs.llf - 1e-5)
    rp = t3["statsmodels GLM Poisson"].median / t3["l2kit Poisson"].median
    report.check("Poisson randhie: speed-up over statsmodels GLM", "> 1x", f"{rp:.1f}x", rp > 1)


def run(report, quick: bool) -> None:
    _huber(report, quick)
    _quantile(report, quick)
    _counts(report, quick)
