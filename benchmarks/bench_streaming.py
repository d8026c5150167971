"""Bounded streaming memory: `l2kit score` and `l2kit fit` on CSV and Parquet of growing size, in fresh processes.

Targets (issue 21, item 5): peak RSS under 300 MB on 2e6- and 2e7-row files
(within 10 % of each other: memory does not grow with the file), and wall
time at most 1.2x that of a process that only streams the same columns with
pyarrow (``pyarrow.csv.open_csv`` with a block size; Parquet by
``iter_batches``). Peak RSS is the child's ``ru_maxrss`` (resource.getrusage
of a helper whose only child is the command). Each command runs :data:`REPS`
times per file, alternating with the reader: medians of the times, the
largest peak RSS (under 300 MB) and the growth from the median peaks. Files are generated in a
temporary directory (quick mode: 2e4 and 2e5 rows) and removed. l2kit's
bytecode is compiled first, as ``pip install`` does: with
``PYTHONDONTWRITEBYTECODE`` set (as on the benchmark machine) every fresh
process would otherwise compile l2kit from source, about 0.15 s of CPU that an
installed l2kit never spends (pyarrow's bytecode is installed with it).
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


#: runs of each command per file (full mode), alternating which goes first: times are their medians, peak RSS
#: their maximum (on a loaded 2-core machine one run's time moved by up to 2x, and the median of 5 runs of the bare
#: Parquet read moved from 363 to 461 ms between module runs). The growth check compares the median peaks: one
#: command's peak RSS on one file varied from 149 to 169 MB between runs (pyarrow's pool and the reading
#: threads), and a ratio of two maxima of three runs then read 1.19 on memory that does not grow
REPS = 9


def _interleaved(cmd: list, read: list, reps: int, n: int | None) -> tuple[float, float, float, float, float]:
    """(median time, max peak RSS) of ``cmd`` and of the pyarrow ``read``, run ``reps`` times each, alternating,
    and the median peak RSS of ``cmd``."""
    runs: dict = {"l2kit": [], "read": []}
    for i in range(reps):
        for who in (("l2kit", "read") if i % 2 else ("read", "l2kit")):
            t, rss, out = _child_peak(cmd if who == "l2kit" else read)
            if n is not None:   # score prints n, the reader its row count: both saw every row
                assert (json.loads(out)["n"] if who == "l2kit" else int(out)) == n
            runs[who].append((t, rss))
    (t, rss), (t_read, rss_read) = ((float(np.median([a for a, _ in v])), max(b for _, b in v)) for v in runs.values())
    return t, rss, t_read, rss_read, float(np.median([b for _, b in runs["l2kit"]]))


def run(report, quick: bool) -> None:
    _compile_l2kit()
    sizes = (20_000, 200_000) if quick else (2_000_000, 20_000_000)
    formats = ("parquet",) if quick else ("parquet", "csv")   # quick: a smoke run, one format
    tmp = tempfile.mkdtemp(prefix="l2kit-bench-stream-")
    rows = []
    peaks: dict = {}
    try:
        for fmt in formats:
            for job in ("score", "fit"):
                for n in sizes:
                    path = os.path.join(tmp, f"{job}-{n}.{fmt}")
                    _write(path, n, job == "fit")
                    cols = "x0,x1,x2,y" if job == "fit" else "y,p"
                    cmd = ([BIN, "score", path, "--true", "y", "--pred", "p", "--json"] if job == "score"
                           else [BIN, "fit", path, "--target", "y", "--json"])
                    t, rss, t_read, rss_read, rss_med = _interleaved(
                        cmd, [sys.executable, "-c", _READ, path, cols], 1 if quick else REPS,
                        n if job == "score" else None)
                    peaks[(fmt, job, n)] = (t, rss, t_read, rss_med)
                    rows.append(f"| {job} | {fmt} | {n:,} | {os.path.getsize(path) / 1e6:.0f} MB | {fmt_time(t)} | "
                                f"{rss:.0f} MB ({rss_med:.0f}) | {fmt_time(t_read)} | {rss_read:.0f} MB | "
                                f"{t / t_read:.2f}x |")
                    os.remove(path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    body = (f"Fresh processes, {1 if quick else REPS} run(s) of each command per file, alternating; times are "
            "medians, peak RSS the largest seen (in brackets: the median of the runs' peaks, which the growth check "
            "compares). The machine had 2 cores shared with other jobs (loaded: times are noisy).\n\n"
            "| command | format | rows | file | l2kit time | l2kit peak RSS | "
            "pyarrow stream time | pyarrow peak RSS | time ratio |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n"
            + "\n".join(rows) + "\n")
    report.section("Streaming memory: l2kit score / fit vs a pyarrow streaming read", body)
    small, big = sizes
    for fmt in formats:
        for job in ("score", "fit"):
            t, rss, t_read, rss_med = peaks[(fmt, job, big)]
            report.check(f"`l2kit {job}` {fmt} {big:.0e} rows: peak RSS", "< 300 MB", f"{rss:.0f} MB", rss < 300)
            growth = rss_med / peaks[(fmt, job, small)][3]
            report.check(f"`l2kit {job}` {fmt}: peak RSS {big:.0e} / {small:.0e} rows (medians of the runs' peaks)",
                         "<= 1.10", f"{growth:.2f}", growth <= 1.10)
            report.check(f"`l2kit {job}` {fmt} {big:.0e} rows: time / pyarrow streaming read", "<= 1.2x",
                         f"{t / t_read:.2f}x", t / t_read <= 1.2)
