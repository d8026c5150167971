"""Streaming a file with missing cells does not import pandas (about 1 s and tens of MB of a streamed command)."""

import subprocess
import sys

import pytest

pytest.importorskip("pyarrow")

_CHECK = """
import sys
import numpy as np
from l2kit.io.tables import iter_batches
got = [b for _, b in iter_batches(sys.argv[1], ["x", "y"])]
x = np.concatenate([b["x"] for b in got])
assert np.isnan(x[[1, 3]]).all() and np.isfinite(np.delete(x, [1, 3])).all(), x
assert x[2] == 2.5 and "pandas" not in sys.modules, sorted(m for m in sys.modules if m.startswith("pandas"))
"""


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_missing_cells_become_nan_without_pandas(tmp_path, fmt):
    import pyarrow as pa
    import pyarrow.csv as pc
    import pyarrow.parquet as pq

    t = pa.table({"x": pa.array([0.5, None, 2.5, None, 4.0]), "y": pa.array([1, 2, 3, 4, 5])})
    path = str(tmp_path / f"d.{fmt}")
    (pc.write_csv if fmt == "csv" else pq.write_table)(t, path)
    r = subprocess.run([sys.executable, "-c", _CHECK, path], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
