"""Table readers: numeric columns, streaming batches, and errors that name file, column, row and value."""

import gzip
import os

import numpy as np
import pytest

from l2kit.io.errors import DataError
from l2kit.io.tables import column_names, iter_batches, numeric_columns, read_columns, total_rows

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def _csv(tmp_path, text, name="t.csv"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def _bytes(tmp_path, data, name):
    p = tmp_path / name
    p.write_bytes(data)
    return str(p)


def test_csv_and_parquet_read_the_same(tmp_path, rng):
    a, b = rng.normal(size=1000), rng.integers(0, 9, 1000)
    csvp = _csv(tmp_path, "a,b,s\n" + "".join(f"{float(x)!r},{y},z\n" for x, y in zip(a, b)))
    pqp = str(tmp_path / "t.parquet")
    pq.write_table(pa.table({"a": a, "b": b, "s": ["z"] * 1000}), pqp, row_group_size=300)
    for path in (csvp, pqp):
        assert column_names(path) == ["a", "b", "s"]
        assert numeric_columns(path) == ["a", "b"]
        names, cols = read_columns(path, ["b", "a"])
        assert names == ["b", "a"] and cols["a"].dtype == np.float64
        np.testing.assert_array_equal(cols["a"], a)  # repr round-trips exactly
        np.testing.assert_array_equal(cols["b"], b)
        got = list(iter_batches(path, ["a"], batch_rows=128))
        assert len(got) > 1
        starts = [s for s, _ in got]
        assert starts[0] == 0 and starts == sorted(starts)
        np.testing.assert_array_equal(np.concatenate([c["a"] for _, c in got]), a)
        assert all(s == sum(len(c["a"]) for _, c in got[:i]) for i, (s, _) in enumerate(got))
    assert total_rows(pqp) == 1000 and total_rows(csvp) is None


def test_missing_cells_become_nan_never_dropped(tmp_path):
    path = _csv(tmp_path, "a,b\n1,\n,2\nNA,3\nnan,inf\n")
    _, cols = read_columns(path)
    assert len(cols["a"]) == 4
    assert np.isnan(cols["a"]).sum() == 3 and np.isnan(cols["b"]).sum() == 1 and np.isinf(cols["b"][3])
    pqp = str(tmp_path / "n.parquet")
    pq.write_table(pa.table({"a": pa.array([1.0, None, 3.0]), "i": pa.array([1, None, 2])}), pqp)
    _, cols = read_columns(pqp)
    assert np.isnan(cols["a"][1]) and np.isnan(cols["i"][1]) and cols["i"][2] == 2.0


def test_bad_cell_names_column_row_and_value_even_in_a_later_batch(tmp_path):
    rows = "".join(f"{i},{i}\n" for i in range(5000))
    path = _csv(tmp_path, "a,b\n" + rows + "7,oops\n" + rows)
    with pytest.raises(DataError) as e:
        list(iter_batches(path, ["a", "b"], batch_rows=500))
    assert e.value.column == "b" and e.value.row == 5001 and "'oops'" in str(e.value)
    assert "rows are numbered from 1 after the header" in str(e.value)
    with pytest.raises(DataError, match="oops"):
        read_columns(path, ["b"])
    read_columns(path, ["a"])  # other columns are fine


def test_string_column_in_parquet(tmp_path):
    pqp = str(tmp_path / "s.parquet")
    pq.write_table(pa.table({"a": ["1.5", "2", "x", "4"]}), pqp)
    with pytest.raises(DataError) as e:
        read_columns(pqp)
    assert e.value.row == 3 and "'x'" in str(e.value)


@pytest.mark.parametrize("make, match", [
    (lambda d: str(d / "missing.csv"), "no such file"),
    (lambda d: _csv(d, "a,b\n1,2\n", "t.xlsx"), "unsupported file type"),
    (lambda d: _csv(d, "a,b\n", "e.csv"), "no data rows"),
    (lambda d: _csv(d, "", "z.csv"), "empty"),
    (lambda d: _csv(d, "not parquet", "z.parquet"), "cannot read"),
])
def test_file_errors(tmp_path, make, match):
    with pytest.raises(DataError, match=match):
        read_columns(make(tmp_path))


def test_unknown_column_lists_the_columns(tmp_path):
    path = _csv(tmp_path, "Alpha,beta\n1,2\n")
    with pytest.raises(DataError) as e:
        read_columns(path, ["alpha"])
    assert "Alpha, beta" in str(e.value) and "did you mean 'Alpha'" in str(e.value)


def test_stopping_early_releases_the_reader(tmp_path, rng):
    pqp = str(tmp_path / "big.parquet")
    pq.write_table(pa.table({"a": rng.normal(size=20000)}), pqp, row_group_size=1000)
    it = iter_batches(pqp, ["a"], batch_rows=1000)
    next(it)
    it.close()  # the prefetch thread stops; no hang


def test_progress_silent_when_not_a_tty_and_drawn_when_forced():
    import io

    from l2kit.io.progress import progress

    s = io.StringIO()
    with progress(100, desc="x", stream=s) as bar:
        bar.update(100)
    assert s.getvalue() == "" and bar.count == 100
    s = io.StringIO()
    with progress(100, desc="x", stream=s, enabled=True) as bar:
        bar.update(50)
    assert s.getvalue() != ""


@pytest.mark.parametrize("make, match, row", [
    (lambda d: _bytes(d, b"y,p\xff\n1,2\n", "h.csv"), "header line holds bytes that are not UTF-8", None),
    (lambda d: _bytes(d, b"y,p\n1,2\n2,\xff3\n", "c.csv"), "line 3 of the file holds bytes that are not UTF-8", 2),
    (lambda d: _bytes(d, gzip.compress(b"y,p\n1,2\n"), "g.csv"), "gzip-compressed data", None),
    (lambda d: _bytes(d, b"PK\x03\x04" + bytes(40), "x.csv"), "ZIP archive", None),
    (lambda d: _bytes(d, bytes(10), "n.csv"), "NUL bytes", None),
    (lambda d: _bytes(d, b"\n\n", "b.csv"), "first line is blank", None),
    (lambda d: _bytes(d, b"y,p,y\n1,2,3\n", "d.csv"), "'y' appears 2 times", None),
])
def test_unreadable_bytes_are_data_errors_naming_the_problem(tmp_path, make, match, row):
    # non-UTF-8 bytes were a UnicodeDecodeError or ArrowInvalid traceback; gzip bytes were "the file is empty";
    # a repeated column name was silently resolved to the first one
    path = make(tmp_path)
    readers = [lambda p: read_columns(p, ["y", "p"])] + ([column_names, numeric_columns] if row is None else [])
    for read in readers:   # a bad cell is found by reading the data, not the header
        with pytest.raises(DataError, match=match) as e:
            read(path)
        assert e.value.fix
    if row is not None:
        assert e.value.row == row and e.value.column == "p"


def test_duplicate_names_in_parquet_are_refused(tmp_path):
    path = str(tmp_path / "d.parquet")
    pq.write_table(pa.Table.from_arrays([pa.array([1.0]), pa.array([2.0])], names=["y", "y"]), path)
    with pytest.raises(DataError, match="appears 2 times"):
        read_columns(path, ["y"])


def test_not_a_parquet_file_is_a_data_error_everywhere(tmp_path):
    path = _csv(tmp_path, "y,p\n1,2\n", "fake.parquet")
    for read in (column_names, numeric_columns, total_rows, lambda p: read_columns(p, ["y"])):
        with pytest.raises(DataError, match="cannot read this PARQUET file"):
            read(path)


@pytest.mark.parametrize("change", ["truncate", "append", "remove"])
def test_a_file_that_changes_while_it_is_read_is_refused(tmp_path, change):
    # a CSV truncated while being read was scored on the part that was seen, with exit 0
    path = _csv(tmp_path, "y,p\n" + "".join(f"{i},{i + 0.5}\n" for i in range(50_000)))
    it = iter_batches(path, ["y", "p"], batch_rows=1000)
    next(it)
    if change == "truncate":
        os.truncate(path, os.path.getsize(path) // 2)
    elif change == "append":
        with open(path, "a") as fh:
            fh.write("1,2\n")
    else:
        os.remove(path)
    with pytest.raises(DataError, match="while it was being read") as e:
        for _ in it:
            pass
    assert "run again once the file is complete" in e.value.fix


def test_an_unchanged_file_reads_whole(tmp_path):
    path = _csv(tmp_path, "y,p\n" + "".join(f"{i},{i + 0.5}\n" for i in range(5000)))
    assert sum(len(b["y"]) for _, b in iter_batches(path, ["y", "p"], batch_rows=1000)) == 5000


# --- reading a table in parts (row_parts / map_parts): several threads, results in file order

def _row_groups(tmp_path, n=10, group=3, name="g.parquet"):
    path = str(tmp_path / name)
    pq.write_table(pa.table({"a": np.arange(float(n))}), path, row_group_size=group)
    return path


def test_row_parts_split_at_row_groups_into_halves(tmp_path):
    from l2kit.io.tables import RowPart, row_parts

    path = _row_groups(tmp_path, n=10, group=3)   # groups of 3, 3, 3, 1 rows
    assert row_parts(path) == [RowPart(0, (0, 1)), RowPart(6, (2, 3))]
    assert row_parts(path, 4) == [RowPart(0, (0,)), RowPart(3, (1,)), RowPart(6, (2,)), RowPart(9, (3,))]
    assert row_parts(path, 1) == [RowPart(0, None)]
    one = _row_groups(tmp_path, n=10, group=100, name="one.parquet")
    assert row_parts(one) == [RowPart(0, None)]
    csv = _csv(tmp_path, "a\n1\n2\n3\n")
    assert row_parts(csv) == [RowPart(0, None)]


def test_map_parts_covers_every_row_once_with_global_row_numbers(tmp_path):
    from l2kit.io.tables import map_parts

    path = _row_groups(tmp_path, n=1000, group=70)
    got = map_parts(path, ["a"], lambda batches: [(s, b["a"].copy()) for s, b in batches], batch_rows=64)
    assert len(got) == 2
    starts = [s for part in got for s, _ in part]
    values = np.concatenate([a for part in got for _, a in part])
    np.testing.assert_array_equal(values, np.arange(1000.0))
    assert all(a[0] == s for part in got for s, a in part)   # the start is the global row of the batch
    assert starts == sorted(starts)


def test_map_parts_raises_the_error_of_the_first_failing_part(tmp_path):
    from l2kit.io.tables import map_parts

    path = _row_groups(tmp_path, n=1000, group=70)

    def work(batches):
        first, _ = next(batches)
        if first > 0:
            raise ValueError(f"part at {first}")
        return first

    with pytest.raises(ValueError, match="part at"):
        map_parts(path, ["a"], work, batch_rows=64)

    def both_fail(batches):
        first, _ = next(batches)
        raise KeyError(first)

    with pytest.raises(KeyError) as e:   # both parts fail: the first in file order wins
        map_parts(path, ["a"], both_fail, batch_rows=64)
    assert e.value.args == (0,)


def test_map_parts_on_one_stream_reads_it_ahead(tmp_path):
    from l2kit.io.tables import map_parts

    csv = _csv(tmp_path, "a\n" + "".join(f"{i}\n" for i in range(50)))
    got = map_parts(csv, ["a"], lambda batches: sum(float(b["a"].sum()) for _, b in batches), batch_rows=8)
    assert got == [float(sum(range(50)))]


_POOL = """
import os, sys
from l2kit.io.tables import _built_with_jemalloc, prefer_jemalloc
user = os.environ.get("ARROW_DEFAULT_MEMORY_POOL")
chose = prefer_jemalloc(sys.argv[1])
assert os.environ.get("ARROW_DEFAULT_MEMORY_POOL") == user   # nothing leaks to child processes
import pyarrow as pa
supported = "jemalloc" in pa.supported_memory_backends()
print(chose, _built_with_jemalloc(), pa.default_memory_pool().backend_name, supported)
"""


@pytest.mark.parametrize("name,env", [("t.parquet", None), ("t.csv", None), ("t.parquet", "system")])
def test_prefer_jemalloc_before_pyarrow_loads_for_parquet_only(tmp_path, name, env):
    import subprocess
    import sys

    environ = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if env:
        environ["ARROW_DEFAULT_MEMORY_POOL"] = env
    out = subprocess.run([sys.executable, "-c", _POOL, str(tmp_path / name)], capture_output=True, text=True,
                         env=environ, check=True)
    chose, built, backend, supported = out.stdout.split()
    assert built == supported   # the configuration header says what pyarrow supports
    assert out.stderr == ""     # never an "unsupported backend" warning
    if name.endswith(".parquet") and not env and supported == "True":
        assert (chose, backend) == ("True", "jemalloc")
    else:
        assert chose == "False"
        assert backend == env or not env   # the user's choice wins


def test_prefer_jemalloc_is_too_late_once_pyarrow_is_loaded(tmp_path, monkeypatch):
    from l2kit.io.tables import prefer_jemalloc

    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    assert "pyarrow" in __import__("sys").modules
    assert prefer_jemalloc(str(tmp_path / "t.parquet")) is False
    assert "ARROW_DEFAULT_MEMORY_POOL" not in os.environ
