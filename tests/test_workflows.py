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


# --- a Parquet file of several row groups is read in two parts, on two threads (io.tables.map_parts): the parts'
# results merge to what one pass gives, and the row accounting and errors are those of the whole file

@pytest.fixture
def cols():
    """The columns of a 6000-row table; :func:`_write_with` writes them in row groups of 1100 rows: two parts (rows
    0-3299 and 3300-5999)."""
    rng = np.random.default_rng(11)
    n = 6000
    X = rng.normal(size=(n, 2)) + [0.0, 50.0]
    y = 3 + X @ [1.0, -0.5] + rng.normal(size=n)
    return {"a": X[:, 0], "b": X[:, 1], "y": y, "p": y + rng.normal(size=n), "w": rng.uniform(0.5, 2, size=n)}


def _write_with(tmp_path, cols, cells=None, name="t.parquet"):
    """``cols`` as Parquet in row groups of 1100 rows, with ``cells`` (``{(column, row): value}``) changed."""
    data = {c: v.copy() for c, v in cols.items()}
    for (c, i), v in (cells or {}).items():
        data[c][i] = v
    path = tmp_path / name
    pq.write_table(pa.table(data), path, row_group_size=1100)
    return str(path)


def test_a_file_in_row_groups_is_read_in_two_parts(tmp_path, cols):
    from l2kit.io.tables import row_parts

    assert [p.start for p in row_parts(_write_with(tmp_path, cols))] == [0, 3300]


def test_score_in_two_parts_equals_one_pass(tmp_path, cols, monkeypatch):
    path = _write_with(tmp_path, cols)
    got = workflows.score_file(path, "y", "p", "w", batch_rows=500)
    from l2kit.io import tables

    monkeypatch.setattr(tables, "READ_PARTS", 1)   # one stream, read ahead
    one = workflows.score_file(path, "y", "p", "w", batch_rows=500)
    assert got.rows_read == one.rows_read == 6000
    for k in ("mse", "rmse", "mae", "r2", "explained_variance"):
        assert got.metrics[k] == pytest.approx(one.metrics[k], rel=1e-13)
    ref = l2.mse(cols["y"], cols["p"], weights=cols["w"])
    assert got.metrics["mse"] == pytest.approx(float(ref), rel=1e-13)


def test_bad_rows_in_both_parts_are_counted_and_the_first_is_named(tmp_path, cols):
    path = _write_with(tmp_path, cols, {("p", 5000): np.nan, ("y", 40): np.inf, ("p", 3400): np.nan})
    with pytest.raises(l2.io.DataError, match="3 rows of 6000") as e:
        workflows.score_file(path, "y", "p", batch_rows=500)
    assert e.value.row == 41 and e.value.column == "y"
    got = workflows.score_file(path, "y", "p", skip_invalid=True, batch_rows=500)
    keep = np.ones(6000, bool)
    keep[[40, 3400, 5000]] = False
    assert (got.rows_read, got.rows_invalid, got.rows_skipped, got.first_invalid["row"]) == (6000, 3, 3, 41)
    assert got.metrics["mse"] == pytest.approx(float(np.mean((cols["y"][keep] - cols["p"][keep]) ** 2)), rel=1e-13)
    # the same in a fit: the bad rows of the second part join the count, the first row of the first is named
    with pytest.raises(l2.io.DataError, match="3 rows of 6000") as e:
        workflows.fit_file(path, "y", features=["a", "p"], batch_rows=500)
    assert e.value.row == 41


@pytest.mark.parametrize("weighted", [False, True])
def test_fit_in_two_parts_equals_the_in_memory_fit(tmp_path, cols, weighted):
    got = workflows.fit_file(_write_with(tmp_path, cols), "y", features=["a", "b"], weights="w" if weighted else None,
                             batch_rows=500)
    X = np.column_stack([cols["a"], cols["b"]])
    ref = l2.fit(X, cols["y"], weights=cols["w"] if weighted else None)
    assert "over 13 chunks" in got.message   # batches of at most 500 rows in each part (3300 and 2700 rows)
    np.testing.assert_allclose(np.r_[got.intercept, got.coef], np.r_[ref.intercept, ref.coef], rtol=1e-12)
    np.testing.assert_allclose(got.bse, ref.bse, rtol=1e-10)


def test_fit_in_two_parts_drops_and_counts_missing_rows_of_both(tmp_path, cols):
    cells = {("a", 10): np.nan, ("b", 10): np.nan, ("a", 4000): np.nan, ("y", 5999): np.nan}
    path = _write_with(tmp_path, cols, cells)
    got = workflows.fit_file(path, "y", features=["a", "b"], missing="drop", batch_rows=500)
    keep = np.ones(6000, bool)
    keep[[10, 4000, 5999]] = False
    ref = l2.fit(np.column_stack([cols["a"], cols["b"]])[keep], cols["y"][keep])
    assert got.missing.n_dropped == 3 and dict(got.missing.by_column) == {"a": 2, "b": 1, "y": 1}
    np.testing.assert_allclose(np.r_[got.intercept, got.coef], np.r_[ref.intercept, ref.coef], rtol=1e-12)


def test_a_negative_weight_in_the_second_part_names_its_row(tmp_path, cols):
    path = _write_with(tmp_path, cols, {("w", 4321): -1.0})
    with pytest.raises(l2.io.DataError, match="negative case weight") as e:
        workflows.fit_file(path, "y", features=["a", "b"], weights="w", batch_rows=500)
    assert e.value.row == 4322
    with pytest.raises(l2.io.DataError, match="negative case weight") as e:
        workflows.score_file(path, "y", "p", "w", batch_rows=500)
    assert e.value.row == 4322
