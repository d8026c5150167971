"""Bounded streaming memory: `l2kit score` and `l2kit fit` on CSV and Parquet of growing size, in fresh processes.

Targets (issue 21, item 5): peak RSS under 300 MB on 2e6- and 2e7-row files
(within 10 % of each other: memory does not grow with the file), and wall
time at most 1.2x that of a process that only streams the same columns with
pyarrow (``pyarrow.csv.open_csv`` with a block size; Parquet by
``iter_batches``). Peak RSS is the child's ``ru_maxrss`` (resource.getrusage
of a helper whose only child is the command). Each command runs :data:`REPS`
times per file, in rotating order with the reader: medians of the times, the
largest peak RSS (under 300 MB) and the growth from the median peaks. Files are generated in a
temporary directory (quick mode: 2e4 and 2e5 rows) and removed. l2kit's
bytecode is compiled first, as ``pip install`` does: with
``PYTHONDONTWRITEBYTECODE`` set (as on the benchmark machine) every fresh
process would otherwise compile l2kit from source, about 0.15 s of CPU that an
installed l2kit never spends (pyarrow's bytecode is installed with it).

`l2kit fit` on Parquet is also timed against two floors, scripts that use only
pyarrow and NumPy (:data:`_FLOOR`): the same two-thread read with, per batch,
the least arithmetic of any least-squares fit (``X'X`` by pairwise dot products
of the columns as they are, BLAS on one thread) or the passes of an exact
(centred) one (column sums, the centred copy, its Gram), which l2kit makes.
They show how much of the fit's time is arithmetic that no implementation
avoids and how much is l2kit's own.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile

import numpy as np

from ._harness import fmt_time
from .bench_scale import BIN, _child_peak

_READ = ("import sys, pyarrow.csv as pc, pyarrow.parquet as pq\n"
         "path, cols = sys.argv[1], sys.argv[2].split(',')\n"
         "if path.endswith('.csv'):\n"
         "    r = pc.open_csv(path, read_options=pc.ReadOptions(block_size=1 << 24),\n"
         "                    convert_options=pc.ConvertOptions(include_columns=cols))\n"
         "    n = sum(b.num_rows for b in r)\n"
         "else:\n"
         "    f = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 22)\n"
         "    n = sum(b.num_rows for b in f.iter_batches(batch_size=1 << 20, columns=cols))\n"
         "print(n)\n")

#: a floor for `l2kit fit` on Parquet: the row groups read in two halves on two threads (as l2kit reads them), and
#: per batch the least arithmetic of a least-squares fit (``least``) or the passes of an exact, centred one (``exact``)
_FLOOR = """\
import os, sys
if sys.argv[3] == "least":   # pairwise dot products: BLAS threads on top of the readers' would only slow them
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
from concurrent.futures import ThreadPoolExecutor
import numpy as np, pyarrow.parquet as pq

path, cols, kind = sys.argv[1], sys.argv[2].split(","), sys.argv[3]
k, rows = len(cols), 1 << 17

def least(xs, scratch):
    return [[np.dot(a, b) for b in xs[i:]] for i, a in enumerate(xs)]

def exact(xs, scratch):
    m = len(xs[0])
    mean = np.array([np.add.reduce(x) for x in xs]) / m
    Z = scratch[:m * k].reshape((m, k), order="F")
    for j, x in enumerate(xs):
        np.subtract(x, mean[j], out=Z[:, j])
    return Z.T @ Z

def part(groups):
    f = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 18)
    scratch, n = np.empty(rows * k), 0
    for b in f.iter_batches(batch_size=rows, columns=cols, row_groups=groups, use_threads=False):
        xs = [np.frombuffer(b.column(c).buffers()[1], dtype=np.float64, count=b.num_rows) for c in cols]
        (least if kind == "least" else exact)(xs, scratch)
        n += b.num_rows
    return n

g = pq.ParquetFile(path).metadata.num_row_groups
with ThreadPoolExecutor(2) as pool:
    print(sum(pool.map(part, [list(range(g // 2)), list(range(g // 2, g))])))
"""


def _write(path: str, n: int, fit: bool, seed: int = 0) -> None:
    """``y, p`` (score) or ``x0, x1, x2, y`` (fit) float columns, 4 decimals, written batch by batch."""
    import pyarrow as pa
    import pyarrow.csv as pc
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    names = ["x0", "x1", "x2", "y"] if fit else ["y", "p"]
    schema = pa.schema([(c, pa.float64()) for c in names])
    writer = pc.CSVWriter(path, schema) if path.endswith(".csv") else pq.ParquetWriter(path, schema)
    with writer:
        for i in range(0, n, 1 << 20):
            m = min(1 << 20, n - i)
            if fit:
                X = rng.normal(size=(m, 3))
                cols = [X[:, 0], X[:, 1], X[:, 2], 1 + X @ [0.5, -1.0, 2.0] + rng.normal(size=m)]
            else:
                y = rng.normal(size=m) * 3 + 100
                cols = [y, y + rng.normal(size=m)]
            writer.write_table(pa.table({c: np.round(v, 4) for c, v in zip(names, cols)}, schema=schema))


def _compile_l2kit() -> None:
    """Write the bytecode of the l2kit that the commands import (``__pycache__``, ignored by git)."""
    import compileall

    import l2kit

    compileall.compile_dir(os.path.dirname(l2kit.__file__), quiet=1)


#: runs of each command per file (full mode), in rotating order: times are their medians, peak RSS
#: their maximum (on a loaded 2-core machine one run's time moved by up to 2x, and the median of 5 runs of the bare
#: Parquet read moved from 363 to 461 ms between module runs). The growth check compares the median peaks: one
#: command's peak RSS on one file varied from 149 to 169 MB between runs (pyarrow's pool and the reading
#: threads), and a ratio of two maxima of three runs then read 1.19 on memory that does not grow
REPS = 9


def _interleaved(cmds: dict[str, list], reps: int, n: int, key: str) -> dict[str, dict]:
    """Run each of ``cmds`` (name: command line) ``reps`` times, in rotating order; per name the median and best
    time, the largest and the median peak RSS. Every command must print the row count ``n`` (l2kit's JSON under
    ``key``, the others a bare number): each saw every row."""
    runs: dict = {name: [] for name in cmds}
    names = list(cmds)
    for i in range(reps):
        for name in names[i % len(names):] + names[:i % len(names)]:
            t, rss, out = _child_peak(cmds[name])
            assert (json.loads(out)[key] if name == "l2kit" else int(out)) == n
            runs[name].append((t, rss))
    return {name: {"t": float(np.median([a for a, _ in v])), "best": min(a for a, _ in v),
                   "rss": max(b for _, b in v), "rss_med": float(np.median([b for _, b in v]))}
            for name, v in runs.items()}


def _row(job: str, fmt: str, n: int, size: int, r: dict) -> str:
    l2, rd = r["l2kit"], r["read"]
    return (f"| {job} | {fmt} | {n:,} | {size / 1e6:.0f} MB | {fmt_time(l2['t'])} | {l2['rss']:.0f} MB "
            f"({l2['rss_med']:.0f}) | {fmt_time(rd['t'])} | {rd['rss']:.0f} MB | {l2['t'] / rd['t']:.2f}x | "
            f"{l2['best'] / rd['best']:.2f}x |")


def _against_read(r: dict, name: str) -> str:
    """``name``'s median time (its ratio to the read's median; the ratio of the best runs)."""
    t, rd = r[name], r["read"]
    return f"{fmt_time(t['t'])} ({t['t'] / rd['t']:.2f}x; best runs {t['best'] / rd['best']:.2f}x)"


def run(report, quick: bool) -> None:
    _compile_l2kit()
    sizes = (20_000, 200_000) if quick else (2_000_000, 20_000_000)
    formats = ("parquet",) if quick else ("parquet", "csv")   # quick: a smoke run, one format
    tmp = tempfile.mkdtemp(prefix="l2kit-bench-stream-")
    rows, floor_rows = [], []
    runs: dict = {}
    try:
        for fmt in formats:
            for job in ("score", "fit"):
                for n in sizes:
                    path = os.path.join(tmp, f"{job}-{n}.{fmt}")
                    _write(path, n, job == "fit")
                    cols = "x0,x1,x2,y" if job == "fit" else "y,p"
                    cmds = {"l2kit": ([BIN, "score", path, "--true", "y", "--pred", "p", "--json"] if job == "score"
                                      else [BIN, "fit", path, "--target", "y", "--json"]),
                            "read": [sys.executable, "-c", _READ, path, cols]}
                    if job == "fit" and fmt == "parquet":
                        cmds.update({kind: [sys.executable, "-c", _FLOOR, path, cols, kind]
                                     for kind in ("least", "exact")})
                    r = runs[(fmt, job, n)] = _interleaved(cmds, 1 if quick else REPS, n,
                                                           "n" if job == "score" else "rows")
                    rows.append(_row(job, fmt, n, os.path.getsize(path), r))
                    if "exact" in r:
                        floor_rows.append(f"| {n:,} | " + " | ".join(_against_read(r, name) for name in
                                                                      ("read", "least", "exact", "l2kit")) + " |")
                    os.remove(path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    body = (f"Fresh processes, {1 if quick else REPS} run(s) of each command per file, in rotating order; times are "
            "medians, peak RSS the largest seen (in brackets: the median of the runs' peaks, which the growth check "
            "compares); the last column is the ratio of the best runs. The machine had 2 cores shared with other "
            "jobs (loaded: times are noisy).\n\n"
            "| command | format | rows | file | l2kit time | l2kit peak RSS | pyarrow stream time | pyarrow peak RSS "
            "| time ratio | best-run ratio |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
            + "\n".join(rows) + "\n\n"
            "`l2kit fit` on Parquet against two floors that use only pyarrow and NumPy, each read in two halves "
            "on two threads: `X'X` only (pairwise dot products of the columns as they are: the least arithmetic of "
            "any least-squares fit) and the passes of an exact fit (column sums, the centred copy, its Gram: what "
            "l2kit computes). Median times (the ratio to the read's median; the ratio of the best runs):\n\n"
            "| rows | pyarrow stream read | read + `X'X` only | read + exact passes | `l2kit fit` |\n"
            "|---:|---:|---:|---:|---:|\n" + "\n".join(floor_rows) + "\n")
    report.section("Streaming memory: l2kit score / fit vs a pyarrow streaming read", body)
    small, big = sizes
    for fmt in formats:
        for job in ("score", "fit"):
            l2, rd = runs[(fmt, job, big)]["l2kit"], runs[(fmt, job, big)]["read"]
            report.check(f"`l2kit {job}` {fmt} {big:.0e} rows: peak RSS", "< 300 MB", f"{l2['rss']:.0f} MB",
                         l2["rss"] < 300)
            growth = l2["rss_med"] / runs[(fmt, job, small)]["l2kit"]["rss_med"]
            report.check(f"`l2kit {job}` {fmt}: peak RSS {big:.0e} / {small:.0e} rows (medians of the runs' peaks)",
                         "<= 1.10", f"{growth:.2f}", growth <= 1.10)
            ratio = l2["t"] / rd["t"]
            report.check(f"`l2kit {job}` {fmt} {big:.0e} rows: time / pyarrow streaming read", "<= 1.2x",
                         f"{ratio:.2f}x", ratio <= 1.2)
