"""Fuzzed CSV and Parquet bytes through the table reader and ``l2kit score`` / ``fit`` / ``report`` (and
``align``), in-process.

Any outcome other than a result (exit 0) or the library's input error (``DataError`` from the reader, exit 2
with one paragraph naming the fix from the command line) fails: a traceback, another exit status, a
``.tmp-*`` file left behind, or a report that says it succeeded without writing its file.

The number of examples per test is ``L2KIT_FUZZ_EXAMPLES`` (default 40: about 15 s for the module in
``make test``); run e.g. ``L2KIT_FUZZ_EXAMPLES=2000 pytest tests/integration/test_fuzz_files.py`` for a long
search.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from l2kit.cli import main
from l2kit.io.errors import DataError
from l2kit.io.tables import column_names, iter_batches, read_columns

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

EXAMPLES = int(os.environ.get("L2KIT_FUZZ_EXAMPLES", "40"))
# the fits of degenerate fuzzed tables warn (collinearity, overflow in a candidate): expected, not failures
pytestmark = pytest.mark.filterwarnings("ignore")
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])

POOL = ["y", "p", "w", "a", "b", "x y", "é", "Y", '"q"', "a,b", ""]


def _names(k: int):
    """Usually distinct names (so the data reach the numerical code); sometimes repeated, empty or quoted."""
    unique = st.lists(st.sampled_from(POOL[:7]), min_size=k, max_size=k, unique=True)
    return st.one_of(unique, unique, unique, st.lists(st.sampled_from(POOL), min_size=k, max_size=k))
SPECIAL = ["", "NA", "null", "nan", "NaN", "inf", "-inf", "1e400", "-1e400", "1e-400", "5e-324", "1e308",
           "-1.7976931348623157e308", "1e200", "0x10", "1,5", '"3"', "abc", " 1 ", "TRUE", "é", "\ufeff1",
           "1e-320", "0", "-0"]
CELL = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64).map(repr),
    st.integers(-(10 ** 20), 10 ** 20).map(str),
    st.sampled_from(SPECIAL),
    st.text(max_size=4),
)
NUMBER = st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.integers(-5, 5).map(float),
                   st.sampled_from([0.0, 1e-300, 1e150, -1e150, 1e-20]))


@st.composite
def csv_bytes(draw) -> tuple[bytes, list[str]]:
    """A CSV file: mostly numeric tables that reach the numerical code, with damage of every kind."""
    k = draw(st.one_of(st.integers(2, 4), st.integers(2, 4), st.integers(1, 4)))
    names = draw(_names(k))
    n = draw(st.one_of(st.integers(0, 25), st.integers(6, 25)))
    numeric = draw(st.integers(0, 3)) > 0
    rows = [[repr(draw(NUMBER)) if numeric else draw(CELL) for _ in range(k)] for _ in range(n)]
    if rows and numeric and not draw(st.integers(0, 3)):   # one odd cell in a numeric table
        rows[draw(st.integers(0, n - 1))][draw(st.integers(0, k - 1))] = draw(CELL)
    if rows and not draw(st.integers(0, 4)):   # a row with a missing or an extra cell
        rows[draw(st.integers(0, n - 1))].append(draw(CELL)) if draw(st.booleans()) else rows[0].pop()
    sep = draw(st.sampled_from([",", ",", ",", ",", ";"]))   # ';' makes one column of a .csv
    eol = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = eol.join(sep.join(r) for r in [names, *rows]) + draw(st.sampled_from([eol, ""]))
    data = text.encode("utf-8", errors="surrogatepass") if draw(st.booleans()) else text.encode("utf-8", "replace")
    data = draw(st.sampled_from([b"", b"\xef\xbb\xbf"])) + data
    return _damage(draw, data), [c for c in names if c] or ["y"]


def _damage(draw, data: bytes) -> bytes:
    how = draw(st.one_of(st.just("none"), st.just("none"),
                         st.sampled_from(["none", "truncate", "bytes", "gzip", "random"])))
    if how == "truncate" and data:
        return data[:draw(st.integers(0, len(data) - 1))]
    if how == "bytes":   # bytes that are not UTF-8, or NUL, at a random place
        i = draw(st.integers(0, len(data)))
        return data[:i] + draw(st.sampled_from([b"\xff", b"\x00", b"\xc3", b"\x80\x80"])) + data[i:]
    if how == "gzip":
        return gzip.compress(data)
    if how == "random":
        return draw(st.binary(max_size=200))
    return data


@st.composite
def parquet_bytes(draw) -> tuple[bytes, list[str]]:
    """A Parquet file with columns of random types and names, sometimes damaged."""
    k = draw(st.one_of(st.integers(2, 4), st.integers(2, 4), st.integers(1, 4)))
    n = draw(st.one_of(st.integers(0, 25), st.integers(6, 25)))
    names = draw(_names(k))
    cols = []
    for _ in range(k):
        kind = draw(st.sampled_from(["float"] * 5 + ["int", "str", "bool", "null", "f32"]))
        if kind in ("float", "f32"):
            odd = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.none())
            vals = draw(st.lists(st.one_of(NUMBER, NUMBER, NUMBER, odd), min_size=n, max_size=n))
            cols.append(pa.array(vals, type=pa.float64() if kind == "float" else pa.float32(), from_pandas=True))
        elif kind == "int":
            cols.append(pa.array(draw(st.lists(st.one_of(st.integers(-(2 ** 63), 2 ** 63 - 1), st.none()),
                                               min_size=n, max_size=n)), type=pa.int64()))
        elif kind == "str":
            cols.append(pa.array(draw(st.lists(st.one_of(CELL, st.none()), min_size=n, max_size=n)),
                                 type=pa.string()))
        elif kind == "bool":
            cols.append(pa.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), type=pa.bool_()))
        else:
            cols.append(pa.nulls(n))
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_arrays(cols, names=names), buf)
    return _damage(draw, buf.getvalue()), [c for c in names if c] or ["y"]


@st.composite
def numeric_csv(draw) -> tuple[bytes, list[str]]:
    """A well-formed numeric CSV whose values stress the numerical code: huge, tiny, constant or copied
    columns, exact fits, a few NaN/inf, integer counts."""
    k = draw(st.integers(2, 4))
    names = draw(st.lists(st.sampled_from(POOL[:7]), min_size=k, max_size=k, unique=True))
    n = draw(st.integers(1, 30))
    cols = []
    for _ in range(k):
        kind = draw(st.sampled_from(["normal", "normal", "wide", "const", "copy", "counts", "scaled", "odd"]))
        rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
        if kind == "wide":
            col = np.array(draw(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=n, max_size=n)))
        elif kind == "const":
            col = np.full(n, draw(NUMBER))
        elif kind == "copy" and cols:
            col = cols[-1] * draw(st.sampled_from([1.0, 2.0, -1.0]))
        elif kind == "counts":
            col = rng.poisson(draw(st.sampled_from([0.1, 2.0, 50.0])), n).astype(float)
        elif kind == "scaled":
            col = rng.normal(size=n) * draw(st.sampled_from([1e-200, 1e-20, 1e20, 1e150]))
        elif kind == "odd":
            col = rng.normal(size=n)
            col[draw(st.integers(0, n - 1))] = draw(st.sampled_from([np.nan, np.inf, -np.inf, 1e308]))
        else:
            col = rng.normal(size=n) * 3 + draw(NUMBER)
        cols.append(col)
    if draw(st.booleans()):   # an exact linear fit of the target on the others
        cols[0] = sum(cols[1:]) + 1.0
    text = ",".join(names) + "\n" + "".join(",".join(repr(float(v)) for v in row) + "\n" for row in zip(*cols))
    return text.encode(), names


def _run(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        rc = main(argv)
    return rc, err.getvalue()


def _check_cli(argv: list[str], folder: str, out: str | None = None) -> None:
    rc, err = _run(argv)
    assert rc in (0, 2), (argv, rc, err)
    if rc == 2:
        lines = [ln for ln in err.strip().splitlines() if "error:" in ln]
        assert len(lines) == 1 and err.strip().splitlines()[-1] == lines[0], err
        assert "Fix:" in lines[0], err
    leftovers = [f for f in os.listdir(folder) if f.startswith(".tmp-")]
    assert not leftovers, leftovers
    if out is not None:
        assert os.path.exists(out) == (rc == 0), (argv, rc, err)
        if rc == 0:
            os.remove(out)


def _check_reader(path: str) -> None:
    try:
        names = column_names(path)
        _, cols = read_columns(path, names)
        assert all(a.dtype == np.float64 and a.shape == cols[names[0]].shape for a in cols.values())
        rows = sum(len(b[names[0]]) for _, b in iter_batches(path, names, batch_rows=7))
        assert rows == len(cols[names[0]])     # streaming and whole reads agree: nothing dropped
    except DataError as exc:
        assert exc.fix and str(exc)


def _exercise(data: bytes, names: list[str], suffix: str, pick) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "fuzz" + suffix)
        with open(path, "wb") as fh:
            fh.write(data)
        _check_reader(path)
        order = sorted(names, key=lambda _: pick(1000))
        a, b, c = (order[i % len(order)] for i in range(3))
        _check_cli(["score", path, "--true", a, "--pred", b], folder)
        _check_cli(["score", path, "--true", a, "--pred", b, "--weights", c, "--skip-invalid"], folder)
        _check_cli(["fit", path, "--target", a], folder)
        _check_cli(["fit", path, "--target", a, "--loss", "huber", "--weights", c], folder)
        out = os.path.join(folder, "r.html")
        _check_cli(["report", path, "--target", a, "--folds", "2", "--out", out], folder, out)
        _check_cli(["align", path, path], folder)


@FUZZ
@given(csv_bytes(), st.randoms(use_true_random=False))
def test_fuzzed_csv_gives_a_result_or_an_input_error(file, rnd):
    data, names = file
    _exercise(data, names, ".csv", lambda k: rnd.randrange(k))


@FUZZ
@given(parquet_bytes(), st.randoms(use_true_random=False))
def test_fuzzed_parquet_gives_a_result_or_an_input_error(file, rnd):
    data, names = file
    _exercise(data, names, ".parquet", lambda k: rnd.randrange(k))


@FUZZ
@given(numeric_csv(), st.randoms(use_true_random=False))
def test_fuzzed_numeric_tables_give_a_result_or_an_input_error(file, rnd):
    data, names = file
    _exercise(data, names, ".csv", lambda k: rnd.randrange(k))
