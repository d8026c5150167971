"""Metrics speed: ``l2.mse`` against the memory-bandwidth bound (``a @ b``), NumPy, torch and sklearn.

Targets (NumPy float64, n = 2e7):
* ``l2.mse(a, b)`` <= 2.0x the time of ``a @ b`` (aim 1.2x);
* >= 3.5x faster than ``np.mean((a - b)**2)``;
* peak extra memory (tracemalloc) < 1% of the input;
* n = 100: per-call latency <= 1.5x that of ``np.mean((a - b)**2)``.
Also: R^2 and ``Accumulator.update`` throughput, for the ``l2kit score`` budget.
"""

from __future__ import annotations

import tracemalloc

import numpy as np

from ._harness import fmt_time, interleaved, table


def _peak_extra(fn) -> int:
    fn()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def run(report, quick: bool) -> None:
    import l2kit as l2

    rng = np.random.default_rng(0)
    n = 200_000 if quick else 20_000_000
    a = rng.normal(size=n)
    b = a + rng.normal(scale=0.5, size=n)
    repeats = 3 if quick else 9

    try:
        import torch
        import torch.nn.functional as F

        ta, tb = torch.from_numpy(a), torch.from_numpy(b)  # zero-copy views
    except ImportError:  # pragma: no cover
        torch = None
    try:
        from sklearn.metrics import mean_squared_error, r2_score
    except ImportError:  # pragma: no cover
        mean_squared_error = r2_score = None

    # --- large n ---------------------------------------------------------
    contenders = {
        "a @ b": lambda: a @ b,
        "l2.mse": lambda: l2.mse(a, b),
        "np.mean((a-b)**2)": lambda: np.mean((a - b) ** 2),
    }
    if torch is not None:
        contenders["torch mse_loss (CPU)"] = lambda: F.mse_loss(ta, tb)
    if mean_squared_error is not None:
        contenders["sklearn mean_squared_error"] = lambda: mean_squared_error(a, b)
    t = interleaved(contenders, repeats=repeats)
    report.section(f"MSE, NumPy float64, n = {n:,}", table(t, baseline="a @ b"))
    r_dot = t["l2.mse"].median / t["a @ b"].median
    r_np = t["np.mean((a-b)**2)"].median / t["l2.mse"].median
    report.check(f"l2.mse time / (a @ b), n={n:.0e}", "<= 2.0x (aim 1.2x)", f"{r_dot:.2f}x", r_dot <= 2.0)
    report.check(f"np.mean((a-b)**2) time / l2.mse, n={n:.0e}", ">= 3.5x", f"{r_np:.2f}x", r_np >= 3.5)
    if torch is not None:
        r_t = t["torch mse_loss (CPU)"].median / t["l2.mse"].median
        report.check("torch mse_loss time / l2.mse (info)", "info", f"{r_t:.2f}x", True)

    peak = _peak_extra(lambda: l2.mse(a, b))
    frac = peak / (a.nbytes + b.nbytes)
    report.check("l2.mse peak extra memory / input bytes", "< 1%", f"{100 * frac:.4f}% ({peak} B)", frac < 0.01)
    peak_r2 = _peak_extra(lambda: l2.r2(a, b))
    frac_r2 = peak_r2 / (a.nbytes + b.nbytes)
    report.check("l2.r2 peak extra memory / input bytes", "< 1%", f"{100 * frac_r2:.4f}% ({peak_r2} B)", frac_r2 < 0.01)

    # --- R^2 and the Accumulator (the l2kit score kernel) -----------------
    acc_update = lambda: l2.metrics.Accumulator().update(a, b)  # noqa: E731
    c2 = {"a @ b": lambda: a @ b, "l2.r2": lambda: l2.r2(a, b), "Accumulator.update": acc_update}
    if r2_score is not None:
        c2["sklearn r2_score"] = lambda: r2_score(a, b)
    t2 = interleaved(c2, repeats=max(3, repeats // 2))
    report.section(f"R^2 and Accumulator.update, NumPy float64, n = {n:,}", table(t2, baseline="a @ b"))
    ratio_acc = t2["Accumulator.update"].median / t2["a @ b"].median
    report.check("Accumulator.update time / (a @ b) (info, for l2kit score)", "info", f"{ratio_acc:.2f}x", True)

    # --- small n latency --------------------------------------------------
    s_a, s_b = a[:100].copy(), b[:100].copy()
    small = {
        "np.mean((a-b)**2)": lambda: np.mean((s_a - s_b) ** 2),
        "l2.mse": lambda: l2.mse(s_a, s_b),
    }
    if torch is not None:
        st_a, st_b = torch.from_numpy(s_a), torch.from_numpy(s_b)
        small["torch mse_loss (CPU)"] = lambda: F.mse_loss(st_a, st_b)
    if mean_squared_error is not None:
        small["sklearn mean_squared_error"] = lambda: mean_squared_error(s_a, s_b)
    ts = interleaved(small, repeats=7, inner=200 if quick else 2000, warmup=3)
    report.section("MSE latency, n = 100", table(ts, baseline="np.mean((a-b)**2)"))
    r_small = ts["l2.mse"].median / ts["np.mean((a-b)**2)"].median
    report.check("l2.mse latency / np.mean((a-b)**2), n=100", "<= 1.5x", f"{r_small:.2f}x "
                 f"({fmt_time(ts['l2.mse'].median)})", r_small <= 1.5)
