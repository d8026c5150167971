"""Streamed commands stay light: no pandas for missing cells, no numba/scipy/pandas in `l2kit score`."""

import os
import subprocess
import sys

import numpy as np
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


_CLI_JSON = """
import io, json, sys
from contextlib import redirect_stdout
import numpy as np
from l2kit.cli import main


def cli_json(argv, forbidden):
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert main(argv) == 0
    got = json.loads(buf.getvalue())
    heavy = sorted(m for m in forbidden if m in sys.modules)
    assert not heavy, heavy
    return got
"""

_SCORE = _CLI_JSON + """
# array_api_compat.numpy clones NumPy's namespace on import (numpy.f2py, numpy.testing: ~70 ms of a 0.6 s run)
got = cli_json(["score", sys.argv[1], "--true", "y", "--pred", "p", "--json"],
               ("numba", "llvmlite", "scipy", "pandas", "matplotlib", "array_api_compat.numpy"))
y, p = np.load(sys.argv[2])
assert got["n"] == y.size and abs(got["mse"] - np.mean((y - p) ** 2)) <= 1e-12 * got["mse"], got
"""


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_score_imports_neither_numba_nor_scipy_nor_pandas(tmp_path, fmt):
    # large enough for the compiled kernels (metrics._fused.SMALL); one pass does not repay numba's ~140 MB.
    # The Parquet file has several row groups: it is scored in two parts, on two threads
    import pyarrow as pa
    import pyarrow.csv as pc
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    y = rng.normal(size=50_000)
    p = y + rng.normal(size=y.size)
    path = str(tmp_path / f"s.{fmt}")
    table = pa.table({"y": y, "p": p})
    if fmt == "csv":
        pc.write_csv(table, path)
    else:
        pq.write_table(table, path, row_group_size=20_000)
    np.save(tmp_path / "yp.npy", np.stack([y, p]))
    r = subprocess.run([sys.executable, "-c", _SCORE, path, str(tmp_path / "yp.npy")], capture_output=True,
                       text=True, env={k: v for k, v in os.environ.items() if k != "L2KIT_DISABLE_NUMBA"})
    assert r.returncode == 0, r.stderr


# argv: the file, the loss, the modules that must stay unimported (comma-separated)
_FIT = _CLI_JSON + """
loss, forbidden = sys.argv[2], sys.argv[3].split(",")
argv = ["fit", sys.argv[1], "--target", "y", "--stream", "always", "--json"]
got = cli_json(argv if loss == "squared" else argv + ["--loss", loss], forbidden)   # squared: the default
assert got["streamed"], got
if loss == "squared":
    X, y = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1, usecols=(0, 1)), np.loadtxt(
        sys.argv[1], delimiter=",", skiprows=1, usecols=2)
    A = np.column_stack([np.ones(y.size), X])
    ref = np.linalg.lstsq(A, y, rcond=None)[0]
    assert np.allclose([got["intercept"], *got["coef"]], ref, rtol=1e-10, atol=1e-12), (got, ref)
"""


@pytest.mark.parametrize("loss", ["squared", "huber"])
def test_streamed_fit_imports_neither_scipy_nor_pandas(tmp_path, loss):
    # a streamed squared fit needs only NumPy and pyarrow: scipy (~1 s), pandas and formulaic (~0.4 s) were
    # imported before reading a row, which made `l2kit fit` 2.6-3.4x a pyarrow read of the same Parquet file
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 2))
    path = tmp_path / "f.csv"
    np.savetxt(path, np.column_stack([X, 1 + X @ [2.0, -1.0] + rng.normal(size=5000)]), delimiter=",",
               header="x0,x1,y", comments="")
    forbidden = ["numba", "llvmlite", "scipy", "pandas", "matplotlib", "formulaic"]
    if loss == "huber":   # IRLS needs scipy (Huber's scale), but still neither pandas nor formulaic
        forbidden.remove("scipy")
    r = subprocess.run([sys.executable, "-c", _FIT, str(path), loss, ",".join(forbidden)], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
