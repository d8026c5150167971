"""`l2kit report` on a large file holds one float64 copy of the design, not several (issue 18: 1e6 x 20 under 1 GB).

The 1 GB target itself is bench_report's (the 1e6-row run takes half a minute); here the peak RSS is
compared between two files that differ only in their number of rows, both sampled to the same 20,000 rows
for the diagnosis, so that imports and the diagnosis cancel and what is left grows with the rows: the
coded design, the MM refit's design with its intercept column and the per-row vectors. Before the fix it
was 5.8 times the design's bytes (pyarrow's parse buffers kept after the read, n x p temporaries in the MM
fit), after it 2.2 times.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from _rss import BIN
from _rss import peak_mb as _peak_mb


def _write_csv(path, n, p=20):
    import pyarrow as pa
    import pyarrow.csv as pcsv

    rng = np.random.default_rng(0)   # t(3) noise: the report recommends the MM fit, as in bench_report
    X = rng.normal(size=(n, p - 1)).round(5)
    y = (1.0 + X @ np.linspace(-1, 1, p - 1) + rng.standard_t(3, size=n)).round(5)
    pcsv.write_csv(pa.table({**{f"x{j}": X[:, j] for j in range(p - 1)}, "y": y}), path)


@pytest.mark.integration
@pytest.mark.timeout(600)
def test_report_peak_grows_by_about_two_designs_per_row(tmp_path):
    sizes = (60_000, 300_000)
    peaks = {}
    for n in sizes:
        path = str(tmp_path / f"d{n}.csv")
        _write_csv(path, n)
        peaks[n], out = _peak_mb([BIN, "report", path, "--target", "y", "--out", str(tmp_path / "r.html")])
        assert "a uniform random sample of 20,000" in out and "method='mm'" in out, out
        os.remove(path)
    design_mb = (sizes[1] - sizes[0]) * 19 * 8 / 2**20
    growth = peaks[sizes[1]] - peaks[sizes[0]]
    assert growth < 3.5 * design_mb, (peaks, design_mb)


_READ = """
import json, sys
def rss():
    for ln in open("/proc/self/status"):
        if ln.startswith("VmRSS"):
            return int(ln.split()[1]) / 1024
import pandas, pyarrow
from l2kit.io.frame import read_table
before = rss()
t = read_table(sys.argv[1])
print(json.dumps([rss() - before, float(t.frame.memory_usage(index=False).sum()) / 2**20]))
"""


@pytest.mark.integration
def test_reading_a_csv_gives_the_parse_buffers_back(tmp_path):
    """pyarrow's CSV reader parses into its default pool (mimalloc) whatever memory_pool says, and mimalloc kept
    those pages after the read: 118 MB resident for a 31 MB frame, 54 MB once they are released."""
    path = str(tmp_path / "d.csv")
    _write_csv(path, 200_000)
    out = subprocess.run([sys.executable, "-c", _READ, path], capture_output=True, text=True, check=True)
    growth, frame = json.loads(out.stdout)
    assert growth < 2.5 * frame, (growth, frame)
