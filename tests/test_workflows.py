"""fit_file streams robust and GLM fits over a file (once per iteration) with the in-memory estimates."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import l2kit as l2
from l2kit import workflows


@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(4)
    n = 5000
    X = rng.normal(size=(n, 2))
    cols = {"a": X[:, 0], "b": X[:, 1], "y": 1 + X @ [1.0, -0.5] + rng.standard_t(3, size=n),
            "k": rng.poisson(np.exp(0.2 + X @ [0.3, 0.1])).astype(float), "w": rng.integers(1, 3, size=n) * 1.0}
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table(cols), path, row_group_size=1200)
    return str(path), X, cols


@pytest.mark.parametrize("loss,target", [("huber", "y"), ("poisson", "k")])
def test_large_files_stream_with_the_in_memory_estimates(table, loss, target, monkeypatch):
    path, X, cols = table
    mem = workflows.fit_file(path, target, loss=loss, weights="w", features=["a", "b"])
    monkeypatch.setattr(workflows, "IN_MEMORY_BYTES", 0)            # every file is "large" now
    got = workflows.fit_file(path, target, loss=loss, weights="w", features=["a", "b"], batch_rows=1000)
    assert "passes over the rows" in got.message and "passes" not in mem.message
    np.testing.assert_allclose(np.r_[got.intercept, got.coef], np.r_[mem.intercept, mem.coef], rtol=0, atol=1e-8)
    np.testing.assert_allclose(got.stderr, mem.stderr, rtol=1e-7)
    ref = l2.fit(X, cols[target], loss=loss, weights=cols["w"])
    np.testing.assert_allclose(mem.coef, ref.coef, rtol=1e-12)


def test_a_bad_row_in_a_streamed_fit_names_the_file_and_row(table, tmp_path, monkeypatch):
    path, _, cols = table
    cols = dict(cols)
    cols["k"] = cols["k"].copy()
    cols["k"][3000] = np.nan
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.table(cols), bad, row_group_size=1200)
    monkeypatch.setattr(workflows, "IN_MEMORY_BYTES", 0)
    with pytest.raises(l2.io.DataError, match="bad.parquet") as e:
        workflows.fit_file(str(bad), "k", loss="poisson", features=["a", "b"], batch_rows=1000)
    assert "3001" in str(e.value) or "3000" in str(e.value)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_the_finite_fast_path_sees_every_non_finite_value(bad):
    ok = {"a": np.arange(5.0), "b": np.ones(5)}
    assert workflows._all_finite(ok) and workflows._all_finite({"a": np.empty(0)})
    for col in ok:
        for i in (0, 4):
            cols = {c: a.copy() for c, a in ok.items()}
            cols[col][i] = bad
            assert not workflows._all_finite(cols), (col, i)


def test_a_sum_that_overflows_only_sends_the_batch_to_the_exact_scan(tmp_path):
    # 1e308 + 1e308 is inf: the fast check says "maybe not finite", the exact scan then finds every row fine
    big = {"a": np.array([1e308, 1e308, 1.0])}
    assert not workflows._all_finite(big)
    assert workflows._BadRows(str(tmp_path / "f.csv")).scan(0, big) is None


def test_streamed_squared_fit_drops_missing_rows_per_batch_as_in_memory(tmp_path):
    rng = np.random.default_rng(7)
    n = 3000
    x = rng.normal(size=n)
    y = 2 - x + rng.normal(size=n)
    x[[5, 1500, 2999]] = np.nan          # in the first, a middle and the last batch of 1000 rows
    path = tmp_path / "m.parquet"
    pq.write_table(pa.table({"x": x, "y": y}), path)
    got = workflows.fit_file(str(path), "y", missing="drop", batch_rows=1000)
    keep = ~np.isnan(x)
    ref = l2.fit(x[keep, None], y[keep])
    assert got.missing.n_dropped == 3 and dict(got.missing.by_column) == {"x": 3}
    np.testing.assert_allclose(np.r_[got.intercept, got.coef], np.r_[ref.intercept, ref.coef], rtol=1e-12)
    np.testing.assert_allclose(got.bse, ref.bse, rtol=1e-10)
