"""`l2kit report` and `l2kit fit` on a 1e6 x 20 CSV (~160 MB): wall time, CPU time and peak RSS (issue 18).

Targets (full run): `l2kit report` under 30 s and under 1 GB peak RSS (it took 128 s and 2.2 GB before
issue 18). The report diagnoses its default random sample (20,000 rows, seed 0, stated in the report) and
refits the recommended loss on every row. Each command runs in a fresh process; its peak RSS is the child's
``ru_maxrss`` and its CPU time the child's user + system time, which a loaded machine does not inflate the
way it inflates wall time. Quick mode: 5,000 x 6, no targets.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

BIN = os.path.join(os.path.dirname(sys.executable), "l2kit")
HELPER = ("import resource, subprocess, sys, time, json; t = time.perf_counter(); "
          "r = subprocess.run(sys.argv[1:], capture_output=True, text=True); dt = time.perf_counter() - t; "
          "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
          "print(json.dumps([dt, u.ru_maxrss / 1024, u.ru_utime + u.ru_stime, r.returncode, r.stderr[-2000:]]))")


def _write_csv(path: str, n: int, p: int, seed: int = 0) -> None:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p - 1)).round(5)
    y = (1.0 + X @ np.linspace(-1, 1, p - 1) + rng.standard_t(3, size=n)).round(5)
    cols = {f"x{j}": X[:, j] for j in range(p - 1)}
    cols["y"] = y
    pcsv.write_csv(pa.table(cols), path)


def _measure(cmd: list[str]) -> tuple[float, float, float]:
    """(wall s, peak RSS MB, CPU s) of ``cmd`` in a fresh helper process (its only child)."""
    out = subprocess.run([sys.executable, "-c", HELPER, *cmd], capture_output=True, text=True, check=True)
    dt, rss, cpu, rc, err = json.loads(out.stdout)
    if rc != 0:
        raise RuntimeError(f"{cmd} exited {rc}: {err}")
    return dt, rss, cpu


def run(report, quick: bool) -> None:
    n, p = (5_000, 6) if quick else (1_000_000, 20)
    tmp = tempfile.mkdtemp(prefix="l2kit-bench-report-")
    try:
        path = os.path.join(tmp, "big.csv")
        t0 = time.perf_counter()
        _write_csv(path, n, p)
        size = os.path.getsize(path) / 1e6
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        rows = ["| command | wall | CPU (user+sys) | peak RSS |", "|---|---:|---:|---:|"]
        res = {}
        for name, cmd in (("report", [BIN, "report", path, "--target", "y", "--out", os.path.join(tmp, "r.html")]),
                          ("fit", [BIN, "fit", path, "--target", "y", "--json"])):
            res[name] = _measure(cmd)
            dt, rss, cpu = res[name]
            rows.append(f"| `l2kit {name}` | {dt:.1f} s | {cpu:.1f} s | {rss:.0f} MB |")
        body = (f"{n:,} x {p} CSV ({size:.0f} MB), the report diagnosing its default sample (20,000 rows when the "
                f"file has more than 50,000) and refitting the recommended loss on every row; load average "
                f"{load:.1f} on {os.cpu_count()} CPUs when measured.\n\n" + "\n".join(rows) + "\n")
        report.section("l2kit report on a large CSV", body)
        if not quick:
            dt, rss, cpu = res["report"]
            report.check("l2kit report, 1e6 x 20 CSV: wall time", "< 30 s (was 128 s)",
                         f"{dt:.1f} s wall, {cpu:.1f} s CPU (load {load:.1f})", dt < 30)
            report.check("l2kit report, 1e6 x 20 CSV: peak RSS", "< 1 GB (was 2.2 GB)", f"{rss:.0f} MB", rss < 1024)
        print(f"bench_report done in {time.perf_counter() - t0:.1f} s", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
