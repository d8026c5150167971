"""Numeric tables from CSV or Parquet files, whole or streamed in bounded memory (pyarrow).

The format follows the file suffix: ``.csv`` / ``.txt`` / ``.tsv`` (CSV, the
last tab-separated) or ``.parquet`` / ``.pq``. Every requested column is
read as float64:

* a cell that is not a number raises :class:`~l2kit.io.errors.DataError`
  naming the file, the column, the row and the value. **Rows are numbered
  from 1 after the header** (row 1 is the first data row), the way a
  spreadsheet user counts data rows;
* missing cells (empty, ``NA``, ``null``, ...; Parquet nulls) become NaN.
  Nothing is dropped here: the callers count NaN/inf rows and either refuse
  them or skip them with the count reported;
* a missing file, an unknown column (the message lists the columns that
  exist) and a table without data rows raise DataError.

pyarrow is imported lazily, so ``import l2kit`` stays light.

Examples
--------
>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "t.csv")
>>> _ = open(path, "w").write("a,b,name\\n1,2,x\\n3,,y\\n")
>>> column_names(path)
['a', 'b', 'name']
>>> names, cols = read_columns(path, ["a", "b"])
>>> names, cols["b"]
(['a', 'b'], array([ 2., nan]))
>>> [(start, batch["a"].tolist()) for start, batch in iter_batches(path, ["a"])]
[(0, [1.0, 3.0])]
>>> read_columns(path, ["c"])
Traceback (most recent call last):
...
l2kit.io.errors.DataError: ...t.csv, column 'c': no such column; the file has columns: a, b, name. Fix: ...
"""

from __future__ import annotations

import os
import queue
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import DataError

__all__ = ["column_names", "read_columns", "iter_batches", "map_parts", "numeric_columns", "row_parts",
           "total_rows", "table_format", "text_error", "prefer_jemalloc", "RowPart"]

_CSV = (".csv", ".txt", ".tsv")
_PARQUET = (".parquet", ".pq", ".parq")
ROW_NOTE = "rows are numbered from 1 after the header"


def table_format(path: str | os.PathLike) -> str:
    """``"csv"`` or ``"parquet"`` from the file suffix; DataError otherwise or if the file is missing."""
    path = os.fspath(path)
    low = path.lower()
    if not os.path.exists(path):
        raise DataError("no such file", file=path, fix="check the path and the working directory")
    if os.path.isdir(path):
        raise DataError("is a directory, not a table file", file=path, fix="pass a .csv or .parquet file")
    if low.endswith(_CSV):
        return "csv"
    if low.endswith(_PARQUET):
        return "parquet"
    raise DataError(f"unsupported file type {os.path.splitext(path)[1] or '(no suffix)'!r}", file=path,
                    fix="pass a CSV (.csv, .tsv) or Parquet (.parquet) file")


def _csv_options(path: str, columns: Sequence[str] | None, *, as_string: bool = False, block_size: int | None = None):
    import pyarrow as pa
    import pyarrow.csv as pcsv

    read = pcsv.ReadOptions(block_size=block_size) if block_size else pcsv.ReadOptions()
    parse = pcsv.ParseOptions(delimiter="\t" if path.lower().endswith(".tsv") else ",")
    typ = pa.string() if as_string else pa.float64()
    conv = pcsv.ConvertOptions(include_columns=list(columns) if columns is not None else None,
                               column_types={c: typ for c in columns} if columns is not None else None,
                               strings_can_be_null=True)
    return read, parse, conv


def _arrow_errors() -> tuple[type[BaseException], ...]:
    """What pyarrow raises on a bad file: its own errors, OSError, and UnicodeDecodeError for non-UTF-8 names."""
    import pyarrow as pa

    return (pa.ArrowException, OSError, UnicodeDecodeError)


#: leading bytes of binary formats that are sometimes given a .csv name
_MAGIC = ((b"\x1f\x8b", "gzip-compressed data", "decompress it first (gunzip FILE)"),
          (b"PK\x03\x04", "a ZIP archive (an .xlsx workbook?)", "export the sheet as CSV, or unzip the file"),
          (b"BZh", "bzip2-compressed data", "decompress it first (bunzip2 FILE)"),
          (b"\xfd7zXZ\x00", "xz-compressed data", "decompress it first (unxz FILE)"),
          (b"(\xb5/\xfd", "zstd-compressed data", "decompress it first (unzstd FILE)"),
          (b"PAR1", "a Parquet file", "rename it to .parquet"))


def _sniff(path: str) -> tuple[str, str] | None:
    """``(what, fix)`` when a CSV file is really a known binary format or holds NUL bytes; else None."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return None
    for magic, what, fix in _MAGIC:
        if head.startswith(magic):
            return what, fix
    if b"\x00" in head:
        return "binary data (it holds NUL bytes)", "pass a text CSV file"
    return None


def _not_utf8(path: str) -> DataError:
    """Name the first line (and column) of a CSV file holding bytes that are not UTF-8 (error path only)."""
    sep = b"\t" if path.lower().endswith(".tsv") else b","
    header: list[str] = []
    with open(path, "rb") as fh:
        for i, line in enumerate(fh):
            if i == 0:
                header = line.rstrip(b"\r\n").decode("utf-8", errors="replace").split(sep.decode())
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                j = line[:exc.start].count(sep)
                column = header[j] if i and j < len(header) else None
                place = "the header line" if i == 0 else f"line {i + 1} of the file"
                note = f"; {ROW_NOTE}" if i else ""
                return DataError(f"{place} holds bytes that are not UTF-8 text (0x{line[exc.start]:02x} at byte "
                                 f"{exc.start + 1} of the line{note})", file=path, column=column,
                                 row=i or None, fix="save the file as UTF-8 text (e.g. iconv -f latin1 -t utf-8)")
    return DataError("the file holds bytes that are not UTF-8 text", file=path, fix="save the file as UTF-8 text")


def text_error(path: str) -> DataError:
    """Why ``path`` cannot be read as UTF-8 text: a known binary format (gzip, zip, Parquet...), NUL bytes, or
    the first line (and column) holding bytes that are not UTF-8. For the CSV readers' error paths.

    Examples
    --------
    >>> import gzip, os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "t.csv")
    >>> _ = open(p, "wb").write(gzip.compress(b"a,b\\n1,2\\n"))
    >>> e = text_error(p)
    >>> e.problem, e.fix
    ('this is gzip-compressed data, not a text CSV file', 'decompress it first (gunzip FILE)')
    """
    binary = _sniff(path)
    if binary is not None:
        return DataError(f"this is {binary[0]}, not a text CSV file", file=path, fix=binary[1])
    return _not_utf8(path)


def _arrow_error(path: str, exc: BaseException, fmt: str) -> DataError:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if fmt == "csv":
        if isinstance(exc, UnicodeDecodeError) or "UTF8" in text or "UTF-8" in text or _sniff(path):
            return text_error(path)
        if "Empty CSV file" in text:
            what = "the file is empty" if os.path.getsize(path) == 0 else "the first line is blank"
            return DataError(f"{what} (no header line)", file=path, fix="write a header line and data rows")
    return DataError(f"cannot read this {fmt.upper()} file ({text})", file=path,
                     fix=f"check that it is a valid {'comma-separated' if fmt == 'csv' else 'Parquet'} file")


def _unique(path: str, names: list[str]) -> list[str]:
    """``names``, refusing a header that repeats a name (score used the first, report crashed)."""
    if len(set(names)) != len(names):
        dup = next(n for i, n in enumerate(names) if n in names[:i])
        raise DataError(f"the column name {dup!r} appears {names.count(dup)} times in the header", file=path,
                        column=dup, fix="rename the columns so that each name is unique")
    return names


def column_names(path: str | os.PathLike) -> list[str]:
    """Column names of a CSV (header line) or Parquet file (schema)."""
    path = os.fspath(path)
    fmt = table_format(path)
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return _unique(path, list(pq.ParquetFile(path).schema_arrow.names))
        import pyarrow.csv as pcsv

        read, parse, _ = _csv_options(path, None)
        read.block_size = 1 << 16
        # everything as strings: the header is all we need, no type inference can fail
        conv = pcsv.ConvertOptions(column_types=None, strings_can_be_null=True)
        with pcsv.open_csv(path, read_options=read, parse_options=parse, convert_options=conv) as r:
            return _unique(path, list(r.schema.names))
    except _arrow_errors() as exc:
        raise _arrow_error(path, exc, fmt) from None


def schema(path: str | os.PathLike):
    """The pyarrow schema of a Parquet file, or of a CSV file as inferred from its first block."""
    path = os.fspath(path)
    fmt = table_format(path)
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            sch = pq.ParquetFile(path).schema_arrow
        else:
            import pyarrow.csv as pcsv

            read, parse, _ = _csv_options(path, None)
            with pcsv.open_csv(path, read_options=read, parse_options=parse) as r:
                sch = r.schema
        _unique(path, list(sch.names))
    except _arrow_errors() as exc:
        raise _arrow_error(path, exc, fmt) from None
    return sch


def numeric_columns(path: str | os.PathLike) -> list[str]:
    """Columns whose type (Parquet schema; CSV: inferred from the first block) is numeric or boolean."""
    import pyarrow.types as pt

    return [f.name for f in schema(path)
            if pt.is_integer(f.type) or pt.is_floating(f.type) or pt.is_boolean(f.type) or pt.is_decimal(f.type)
            or pt.is_null(f.type)]


def total_rows(path: str | os.PathLike) -> int | None:
    """Number of data rows when cheap to know (Parquet metadata), else None (CSV)."""
    path = os.fspath(path)
    if table_format(path) == "parquet":
        import pyarrow.parquet as pq

        try:
            return int(pq.ParquetFile(path).metadata.num_rows)
        except _arrow_errors() as exc:   # a non-Parquet file named .parquet was a traceback in score
            raise _arrow_error(path, exc, "parquet") from None
    return None


def _check_columns(path: str, columns: Sequence[str] | None) -> list[str]:
    names = column_names(path)
    if columns is None:
        return names
    columns = list(columns)
    for c in columns:
        if c not in names:
            close = [n for n in names if n.lower() == str(c).lower()]
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise DataError(f"no such column; the file has columns: {', '.join(names)}", file=path, column=str(c),
                            fix=f"{hint}pick one of those names (they are case-sensitive)")
    return columns


def _first_unparsable(arr) -> tuple[int, str] | None:
    """(index, value) of the first cell of a string array that float64 cannot parse, by bisection."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def ok(a) -> bool:
        try:
            pc.cast(a, pa.float64())
            return True
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return False

    if ok(arr):
        return None
    lo, hi = 0, len(arr)  # invariant: arr[lo:hi] holds a bad cell
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if not ok(arr.slice(lo, mid - lo)):
            hi = mid
        else:
            lo = mid
    return lo, str(arr[lo].as_py())


def _bad_cell_error(path: str, column: str, row0: int, value: str) -> DataError:
    return DataError(f"cell {value!r} is not a number ({ROW_NOTE})", file=path, column=column, row=row0 + 1,
                     fix="clean or remove that cell (missing values may be left empty), or pick another column")


def _locate_bad_csv_cell(path: str, columns: Sequence[str]) -> DataError:
    """Re-read ``columns`` as strings to name the first cell that is not a number (error path only)."""
    import pyarrow.csv as pcsv

    read, parse, conv = _csv_options(path, columns, as_string=True)
    start = 0
    try:
        with pcsv.open_csv(path, read_options=read, parse_options=parse, convert_options=conv) as r:
            for batch in r:
                hits = []
                for c in columns:
                    hit = _first_unparsable(batch.column(c))
                    if hit is not None:
                        hits.append((hit[0], c, hit[1]))
                if hits:
                    i, c, v = min(hits)
                    return _bad_cell_error(path, c, start + i, v)
                start += batch.num_rows
    except _arrow_errors() as exc:   # e.g. a cell that is not UTF-8 text cannot even be read as a string
        return _arrow_error(path, exc, "csv")
    return DataError("a cell is not a number", file=path, fix="clean the non-numeric cells of the chosen columns")


def _to_float(path: str, column: str, arr, start: int) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.types as pt

    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if not pt.is_float64(arr.type):
        import pyarrow.compute as pc  # only to cast: importing it costs ~50 ms a float64 stream need not pay

        if pt.is_string(arr.type) or pt.is_large_string(arr.type):
            hit = _first_unparsable(arr)
            if hit is not None:
                raise _bad_cell_error(path, column, start + hit[0], hit[1])
        try:
            arr = pc.cast(arr, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise DataError(f"column of type {arr.type} cannot be read as numbers ({exc})", file=path,
                            column=column, fix="pick a numeric column") from None
    # zero-copy view of the value buffer; Array.to_numpy would import pandas (~1 s of start-up)
    values = np.frombuffer(arr.buffers()[1], dtype=np.float64, count=len(arr), offset=arr.offset * 8)
    if arr.null_count:   # missing -> NaN, counted by the callers
        # from the validity bitmap in numpy: pc.fill_null converts its Python fill value, which imports pandas
        bits = np.unpackbits(np.frombuffer(arr.buffers()[0], dtype=np.uint8), bitorder="little")
        values = values.copy()
        values[~bits[arr.offset:arr.offset + len(arr)].astype(bool)] = np.nan
    return values


#: the largest CSV block pyarrow's streaming reader gets: its peak RSS grows with the block size and, for blocks of
#: 16 MB, with the file (2e7 rows x 3 columns: 172 MB at 2e6 rows, 456 MB at 2e7); 1 MB blocks stay near 120 MB
CSV_MAX_BLOCK = 1 << 20


def _csv_block_size(path: str, batch_rows: int) -> int:
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    lines = max(1, head.count(b"\n"))
    per_row = max(8, len(head) // lines)
    return int(min(max(per_row * batch_rows, 16 * per_row, 1 << 12), CSV_MAX_BLOCK))


def _raw_batches(path: str, fmt: str, columns: list[str], batch_rows: int,
                 row_groups: tuple[int, ...] | None = None) -> Iterator:
    """Arrow record batches (CSV columns already typed float64); Parquet: of ``row_groups`` only, when given."""
    import pyarrow as pa

    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            # pre_buffer=True (the default) reads ahead whole column chunks of every row group:
            # RSS grows with the file. A buffered stream keeps memory to a few pages; 256 KB buffers, not 4 MB,
            # as the steady state is reached sooner and lower (2e7 x 4 Parquet: 151 MB peak against 167 MB at
            # 4 MB, 147 MB on 2e6 rows either way) for the same read time
            pf = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 18)
            # one decoding thread per reader: the batches are read ahead in a thread of their own (read_ahead), or
            # the row groups are split between readers (map_parts); pyarrow's pool on top of that cost ~20-40 % more
            # CPU for the same wall time (2e7 rows x 4 columns on 2 cores: 0.33-0.43 s of CPU, not 0.41-0.74 s)
            yield from pf.iter_batches(batch_size=batch_rows, columns=columns, use_threads=False,
                                       row_groups=None if row_groups is None else list(row_groups))
        except _arrow_errors() as exc:
            raise _arrow_error(path, exc, fmt) from None
        return
    import pyarrow.csv as pcsv

    read, parse, conv = _csv_options(path, columns, block_size=_csv_block_size(path, batch_rows))
    # one parsing thread, as for Parquet above: with pyarrow's pool the peak RSS crept up with the file (2e7-row
    # CSV: 152 MB against 140 MB on 2e6 rows; one thread: 136 and 132 MB) for no less CPU
    read.use_threads = False
    try:
        reader = pcsv.open_csv(path, read_options=read, parse_options=parse, convert_options=conv)
        with reader:
            yield from reader
    except pa.ArrowInvalid as exc:
        if "conversion error" in str(exc) or "invalid value" in str(exc):
            raise _locate_bad_csv_cell(path, columns) from None
        raise _arrow_error(path, exc, fmt) from None
    except _arrow_errors() as exc:
        raise _arrow_error(path, exc, fmt) from None


_END = object()


def read_ahead(gen: Iterator, depth: int) -> Iterator:
    """Run ``gen`` in a thread, ``depth`` items ahead (pyarrow and NumPy release the GIL).

    The items come in order; an exception raised by ``gen`` is raised by the consumer when it reaches it.

    Examples
    --------
    >>> list(read_ahead(iter(range(5)), 2))
    [0, 1, 2, 3, 4]
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work():
        try:
            for item in gen:
                while not stop.is_set():
                    try:
                        q.put((True, item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put((True, _END))
        except BaseException as exc:  # re-raised in the consumer
            q.put((False, exc))

    t = threading.Thread(target=work, name="l2kit-prefetch", daemon=True)
    t.start()
    try:
        while True:
            ok, item = q.get()
            if not ok:
                raise item
            if item is _END:
                return
            yield item
    finally:
        stop.set()
        while t.is_alive():
            try:
                q.get(timeout=0.05)
            except queue.Empty:
                pass
        t.join()


def iter_batches(path: str | os.PathLike, columns: Sequence[str], *, batch_rows: int = 1 << 20,
                 prefetch: int = 2, part: RowPart | None = None) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """Stream ``columns`` as float64 NumPy arrays in batches of about ``batch_rows`` rows.

    Yields ``(first_row, {column: array})`` with ``first_row`` the 0-based
    index of the batch's first data row (add 1 for the row numbering of
    error messages). Memory stays bounded by ``prefetch + 1`` batches;
    with ``prefetch > 0`` reading runs in a background thread, overlapping
    the caller's work. Missing cells are NaN (never dropped). ``part`` (from
    :func:`row_parts`) limits the stream to that share of the rows.
    """
    path = os.fspath(path)
    fmt = table_format(path)
    before = _snapshot(path)
    columns = _check_columns(path, columns)
    part = part or RowPart(0, None)

    def gen():
        start = part.start
        for batch in _raw_batches(path, fmt, columns, batch_rows, part.row_groups):
            m = batch.num_rows
            if m == 0:
                continue
            yield start, {c: _to_float(path, c, batch.column(c), start) for c in columns}
            start += m

    return _unchanged(path, before, read_ahead(gen(), prefetch) if prefetch > 0 else gen())


@dataclass(frozen=True)
class RowPart:
    """A contiguous share of a table's rows: the Parquet row groups ``row_groups``, whose first data row (0-based) is
    ``start``; ``row_groups=None`` is the whole table."""

    start: int
    row_groups: tuple[int, ...] | None


#: shares a table is read in by :func:`map_parts`: a fixed number, so that a result merged from the shares does not
#: depend on the machine's core count (the same rule as the metrics kernels' two halves)
READ_PARTS = 2


def row_parts(path: str | os.PathLike, parts: int | None = None) -> list[RowPart]:
    """Split a table into at most ``parts`` (default :data:`READ_PARTS`) contiguous shares of about equal rows, at
    Parquet row-group boundaries.

    A CSV file (read as one stream) and a Parquet file of one row group are one share.

    Examples
    --------
    >>> import os, tempfile, pyarrow as pa, pyarrow.parquet as pq
    >>> path = os.path.join(tempfile.mkdtemp(), "t.parquet")
    >>> pq.write_table(pa.table({"a": [float(i) for i in range(10)]}), path, row_group_size=3)
    >>> row_parts(path)
    [RowPart(start=0, row_groups=(0, 1)), RowPart(start=6, row_groups=(2, 3))]
    """
    path = os.fspath(path)
    parts = READ_PARTS if parts is None else parts
    if table_format(path) != "parquet" or parts < 2:
        return [RowPart(0, None)]
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path).metadata
    except _arrow_errors() as exc:
        raise _arrow_error(path, exc, "parquet") from None
    ends = np.cumsum([meta.row_group(i).num_rows for i in range(meta.num_row_groups)])
    if len(ends) < 2:
        return [RowPart(0, None)]
    # part k ends after the first row group that reaches k/parts of the rows
    cuts = sorted({0, len(ends)} | {int(np.searchsorted(ends, ends[-1] * k / parts)) + 1 for k in range(1, parts)})
    return [RowPart(int(ends[a - 1]) if a else 0, tuple(range(a, b))) for a, b in zip(cuts, cuts[1:]) if b > a]


def map_parts(path: str | os.PathLike, columns: Sequence[str], work: Callable[[Iterator], Any], *,
              batch_rows: int, parts: int | None = None) -> list[Any]:
    """``[work(batches) for each share of the table]``, the shares read and processed on threads of their own.

    The shares are those of :func:`row_parts`; ``batches`` streams one share as :func:`iter_batches` does
    (global row numbers). Each thread decodes with one thread and runs ``work`` on what it read: pyarrow and
    NumPy release the GIL, so a table of several row groups is read and reduced on two cores. A table of one
    share is read ahead in a thread instead. The results come in file order; when ``work`` raises in some
    shares, the exception of the first of them is raised, once every thread has stopped (the shares after a
    failed one stop reading at their next batch; those before it run to their end, as their errors come first).

    Examples
    --------
    >>> import os, tempfile, pyarrow as pa, pyarrow.parquet as pq
    >>> path = os.path.join(tempfile.mkdtemp(), "t.parquet")
    >>> pq.write_table(pa.table({"a": [float(i) for i in range(10)]}), path, row_group_size=3)
    >>> map_parts(path, ["a"], lambda batches: [(start, b["a"].tolist()) for start, b in batches], batch_rows=4)
    [[(0, [0.0, 1.0, 2.0, 3.0]), (4, [4.0, 5.0])], [(6, [6.0, 7.0, 8.0, 9.0])]]
    """
    shares = row_parts(path, parts)
    if len(shares) == 1:
        return [work(iter_batches(path, columns, batch_rows=batch_rows))]
    from concurrent.futures import ThreadPoolExecutor

    failed = [len(shares)]   # the first share that failed: the shares after it stop reading at their next batch

    def run(k: int) -> tuple[bool, Any]:
        def batches():
            for item in iter_batches(path, columns, batch_rows=batch_rows, prefetch=0, part=shares[k]):
                if failed[0] < k:
                    return
                yield item

        try:
            return True, work(batches())
        except BaseException as exc:  # re-raised below, in file order
            failed[0] = min(failed[0], k)
            return False, exc

    with ThreadPoolExecutor(len(shares) - 1, thread_name_prefix="l2kit-part") as pool:
        futures = [pool.submit(run, k) for k in range(1, len(shares))]
        outcomes = [run(0)] + [f.result() for f in futures]
    for ok, value in outcomes:
        if not ok:
            raise value
    return [value for _, value in outcomes]


def prefer_jemalloc(path: str | os.PathLike) -> bool:
    """Have pyarrow use its jemalloc pool in this process for a Parquet ``path``, where pyarrow's build has one
    and the user chose no pool.

    For the streaming commands, short processes that only stream a table. Read by two threads
    (:func:`map_parts`), pyarrow's default mimalloc pool kept more freed batches the longer it ran (peak RSS
    of `l2kit score` 160 MB on 2e6 rows, 185 MB on 2e7 and 6e7), where jemalloc stays flat (127 and 140 MB
    with 256k-row batches, 108 and 114 MB with 64k) at the same speed. A CSV file is one stream, flat under
    mimalloc (`l2kit fit`: 145-160 and 163 MB), and less so under jemalloc (130 and 149 MB): it keeps the
    default. pyarrow fixes its pool when it is imported (``ARROW_DEFAULT_MEMORY_POOL``;
    ``pyarrow.set_memory_pool`` later leaves its C++ readers on the first one), so this must run first; an
    unsupported backend there would print a warning, so the build's configuration header is read instead of
    trying. pyarrow is imported here, and the environment restored. Returns whether jemalloc was chosen.
    """
    if not os.fspath(path).lower().endswith(_PARQUET):
        return False
    if "pyarrow" in sys.modules or os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return False   # too late, or the user's choice
    if not _built_with_jemalloc():
        return False
    os.environ["ARROW_DEFAULT_MEMORY_POOL"] = "jemalloc"
    try:
        import pyarrow  # noqa: F401 - the pool is chosen now
    finally:   # and the choice stays in this process: child processes keep the user's environment
        del os.environ["ARROW_DEFAULT_MEMORY_POOL"]
    return True


def _built_with_jemalloc() -> bool:
    """Whether the installed pyarrow was built with jemalloc, from its ``arrow/util/config.h`` (not importing it)."""
    import importlib.util

    spec = importlib.util.find_spec("pyarrow")
    if spec is None or not spec.submodule_search_locations:
        return False
    header = os.path.join(list(spec.submodule_search_locations)[0], "include", "arrow", "util", "config.h")
    try:
        with open(header, encoding="utf-8") as fh:
            return any(line.split() == ["#define", "ARROW_JEMALLOC"] for line in fh)
    except OSError:
        return False


def _snapshot(path: str) -> tuple[int, int, int] | None:
    """Size, modification time and inode of ``path`` (None once it is gone)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ino


def _changed_error(path: str, before: tuple, after: tuple | None) -> DataError:
    if after is None:
        what = "the file was removed while it was being read"
    elif after[0] != before[0]:
        what = f"the file changed while it was being read ({before[0]:,} bytes at the start, {after[0]:,} now)"
    else:
        what = "the file was rewritten while it was being read (its modification time changed)"
    return DataError(what, file=path, fix="run again once the file is complete (write it under another name "
                     "and rename it into place when done)")


def _unchanged(path: str, before: tuple | None, batches: Iterator) -> Iterator:
    """``batches``, then a check that the file still has the size and modification time it had at the start:
    a file truncated or appended to while it was read is refused rather than scored on the part that was seen.
    A read error from a file that changed is reported as the change."""
    try:
        yield from batches
    except DataError:
        after = _snapshot(path)
        if after != before:
            raise _changed_error(path, before, after) from None
        raise
    after = _snapshot(path)
    if after != before:
        raise _changed_error(path, before, after)


def read_columns(path: str | os.PathLike,
                 columns: Sequence[str] | None = None) -> tuple[list[str], dict[str, np.ndarray]]:
    """Read whole ``columns`` (default: all) as float64 NumPy arrays.

    Returns ``(names, {name: array})``. Non-numeric cells raise DataError
    naming file, column, 1-based data row and the value; missing cells are
    NaN; a table with no data rows raises DataError.
    """
    path = os.fspath(path)
    cols = _check_columns(path, columns)
    parts: dict[str, list[np.ndarray]] = {c: [] for c in cols}
    n = 0
    for _, batch in iter_batches(path, cols, batch_rows=1 << 20, prefetch=0):
        for c in cols:
            parts[c].append(batch[c])
        n += len(batch[cols[0]]) if cols else 0
    if n == 0:
        raise DataError("the table has no data rows", file=path, fix="pass a file with data below the header")
    return cols, {c: (v[0] if len(v) == 1 else np.concatenate(v)) for c, v in parts.items()}
