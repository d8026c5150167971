"""A whole table file as a pandas DataFrame, typed as a statistician expects (``l2kit fit`` and ``report``).

CSV (``.csv``, ``.tsv``, ``.txt``; compressed ``.gz``, ``.bz2``, ``.zst`` by
extension) or Parquet, read by pyarrow. For CSV:

* the delimiter is sniffed from the first 64 KiB (comma, semicolon, tab,
  pipe) unless ``sep`` is given; a semicolon file whose numbers use a decimal
  comma is read with ``decimal=","`` (stated in ``Table.notes``);
* ``encoding`` other than UTF-8 is transcoded (``--encoding latin-1``);
  undecodable bytes are a :class:`DataError` naming the line and the fix;
* a column whose values are quoted numbers (``"1"``, ``"2"``: R's
  ``write.csv`` of a factor) is read as text, hence a factor, not a number;
* R's unnamed first header field (``write.csv`` row names) becomes the
  column ``rownames``;
* a repeated column name is refused.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field

from .errors import DataError
from .tables import text_error

__all__ = ["Table", "read_table", "file_sha256", "COMPRESSION"]


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes (hex), read in 1 MiB blocks: the data's fingerprint in a report."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()

COMPRESSION = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd", ".zstd": "zstd"}
_CSV = (".csv", ".tsv", ".txt", ".dat")
_PARQUET = (".parquet", ".pq", ".parq")
ROWNAMES = "rownames"
#: the name of an unnamed first column when a 'rownames' column exists too (pandas' name for its index)
UNNAMED_INDEX = "Unnamed: 0"


def POOL():
    """The system allocator for whole-table reads: pyarrow's default (mimalloc) keeps the parse buffers of a
    160 MB CSV after they are freed, 170 MB that the fit could not reuse; malloc gives them back."""
    import pyarrow as pa

    return pa.system_memory_pool()


def release_arrow_memory() -> None:
    """Give the memory that pyarrow's default pool (mimalloc) keeps after a read back to the OS: the CSV reader
    parses into that pool whatever ``memory_pool`` says, and a 160 MB CSV left 166 MB resident until exit."""
    import sys

    if "pyarrow" in sys.modules:   # never import pyarrow only to release nothing
        sys.modules["pyarrow"].default_memory_pool().release_unused()


@dataclass
class Table:
    """A table read from a file: the DataFrame, its path, the CSV dialect used, and notes for the user."""

    frame: object
    path: str
    sep: str | None = None
    decimal: str = "."
    notes: list = field(default_factory=list)


def _kind(path: str) -> tuple[str, str | None]:
    low = path.lower()
    comp = next((c for ext, c in COMPRESSION.items() if low.endswith(ext)), None)
    base = low[: low.rfind(".")] if comp else low
    if base.endswith(_PARQUET) and comp is None:
        return "parquet", None
    if base.endswith(_CSV):
        return "csv", comp
    raise DataError(f"unsupported file type {os.path.splitext(path)[1] or '(no suffix)'!r}", file=path,
                    fix="pass a CSV (.csv, .tsv, optionally .gz/.bz2/.zst) or Parquet (.parquet) file")


def _sample(path: str, comp: str | None, encoding: str) -> str:
    import pyarrow as pa

    with pa.input_stream(path, compression=comp) as fh:
        raw = fh.read(1 << 16)
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        if exc.end >= len(raw) - 4:   # a multi-byte character cut by the sample's end
            return raw[: exc.start].decode(encoding)
        if comp is None:
            raise _encoding_error(path) from None
        raise DataError(f"the data hold bytes that are not {encoding} text (byte 0x{raw[exc.start]:02x})",
                        file=path, fix="pass --encoding latin-1 (or the file's encoding)") from None


def _encoding_error(path: str) -> DataError:
    e = text_error(path)
    fix = e.fix + ("; or read it as it is with --encoding latin-1 (or the file's encoding)" if "UTF-8" in e.problem
                   else "")
    return DataError(e.problem, file=e.file, column=e.column, row=e.row, fix=fix)


def _dialect(path: str, text: str, sep: str | None, decimal: str | None) -> tuple[str, str, list[str]]:
    notes = []
    lines = [ln for ln in text.splitlines()[:50] if ln.strip()]
    if sep is None:
        if path.lower().split(".gz")[0].endswith(".tsv"):
            sep = "\t"
        else:
            counts = {d: [ln.count(d) for ln in lines] for d in (",", ";", "\t", "|")}
            steady = {d: c[0] for d, c in counts.items() if c and c[0] > 0 and len(set(c[: len(c) - 1 or 1])) == 1}
            sep = max(steady, key=steady.get) if steady else ","
            if sep != ",":
                notes.append(f"delimiter {'tab' if sep == chr(9) else repr(sep)} detected (pass --sep to override)")
    if decimal is None:
        decimal = "."
        if sep != "," and any(re.search(r"(^|" + re.escape(sep) + r")-?\d+,\d+($|" + re.escape(sep) + ")", ln)
                              for ln in lines[1:]):
            decimal = ","
            notes.append("decimal comma detected (pass --decimal . to override)")
    return sep, decimal, notes


def _quoted_numeric(text: str, sep: str) -> list[str]:
    """Columns whose sampled values are all quoted numbers: R's write.csv of an integer-coded factor."""
    try:
        rows = list(csv.reader(text.splitlines(), delimiter=sep, quoting=csv.QUOTE_NONE))
    except csv.Error:   # a heuristic on a sample: without it the column is read as pyarrow types it
        return []
    if len(rows) < 2:
        return []
    header = [h.strip('"') for h in rows[0]]
    out = []
    for j, name in enumerate(header):
        vals = [r[j] for r in rows[1:-1] if j < len(r) and r[j] not in ("", "NA", '"NA"')]
        if vals and all(re.fullmatch(r'"-?\d+(\.\d*)?"', v) for v in vals):
            out.append(name)
    return out


def _unique(path: str, names: list[str]) -> None:
    if len(set(names)) != len(names):
        dup = next(n for i, n in enumerate(names) if n in names[:i])
        raise DataError(f"the column name {dup!r} appears {names.count(dup)} times in the header", file=path,
                        column=dup, fix="rename the columns so that each name is unique")


def _read_csv(path: str, comp: str | None, sep: str | None, decimal: str | None, encoding: str):
    import pyarrow as pa
    import pyarrow.csv as pcsv

    text = _sample(path, comp, encoding)
    if comp is None and encoding.lower().replace("-", "") in ("utf8",):
        from .tables import _sniff

        if _sniff(path):
            raise _encoding_error(path)
    sep, decimal, notes = _dialect(path, text, sep, decimal)
    try:   # splitlines: CR, LF and CRLF line ends alike
        header = next(csv.reader(text.splitlines()[:1], delimiter=sep), [])
    except csv.Error as exc:
        raise DataError(f"the header line cannot be parsed ({exc})", file=path,
                        fix="check the quoting of the column names") from None
    _unique(path, header)
    # R's write.csv leaves the row-name column unnamed; pandas' to_csv too, beside a 'rownames' column of its own
    # (then it gets pandas' own name for it)
    first = ROWNAMES if ROWNAMES not in header else UNNAMED_INDEX
    names = [h if h or j else first for j, h in enumerate(header)]
    quoted = [c for c in _quoted_numeric(text, sep) if c in names]
    if quoted:
        notes.append("quoted numbers read as factor codes: " + ", ".join(quoted))
    # large blocks: fewer chunks per column, so the pandas conversion is mostly zero-copy (and faster to parse)
    read = pcsv.ReadOptions(encoding=encoding, column_names=names, skip_rows=1, block_size=1 << 28)
    conv = pcsv.ConvertOptions(decimal_point=decimal, strings_can_be_null=True,
                               column_types={c: pa.string() for c in quoted})
    try:
        with pa.input_stream(path, compression=comp) as fh:
            t = pcsv.read_csv(fh, read_options=read, parse_options=pcsv.ParseOptions(delimiter=sep),
                              convert_options=conv, memory_pool=POOL())
    except (pa.ArrowException, UnicodeDecodeError) as exc:
        msg = str(exc).splitlines()[0]
        if "UTF8" in msg or "UTF-8" in msg or isinstance(exc, UnicodeDecodeError):
            raise _encoding_error(path) from None
        m = re.search(r"Expected (\d+) columns, got (\d+)", msg)
        if m:
            raise DataError(f"a line has {m.group(2)} fields where the header has {m.group(1)} ({msg})", file=path,
                            fix=f"check the delimiter (read as {sep!r}; pass --sep) and quoting") from None
        raise DataError(f"cannot read this CSV file ({msg})", file=path,
                        fix="check the delimiter (--sep), decimal mark (--decimal) and encoding (--encoding)") from None
    if any(pa.types.is_binary(f.type) for f in t.schema):   # pyarrow's type for cells that are not UTF-8
        raise _encoding_error(path)
    return t, sep, decimal, notes


def read_table(path: str | os.PathLike, *, sep: str | None = None, decimal: str | None = None,
               encoding: str | None = None) -> Table:
    """Read a CSV or Parquet file into a pandas DataFrame (see the module docstring for the dialect rules).

    Examples
    --------
    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "t.csv")
    >>> _ = open(p, "w").write('"","y";"g"\\n'.replace(",", ";") + '"a";1,5;"1"\\n"b";2,5;"2"\\n"c";3;"1"\\n')
    >>> t = read_table(p)
    >>> t.sep, t.decimal, list(t.frame.columns), t.frame["y"].tolist(), t.frame["g"].tolist()
    (';', ',', ['rownames', 'y', 'g'], [1.5, 2.5, 3.0], ['1', '2', '1'])
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise DataError("no such file", file=path, fix="check the path and the working directory")
    if os.path.isdir(path):
        raise DataError("is a directory, not a table file", file=path, fix="pass a .csv or .parquet file")
    fmt, comp = _kind(path)
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            t = pq.read_table(path)
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"cannot read this PARQUET file ({str(exc).splitlines()[0]})", file=path,
                            fix="check that it is a valid Parquet file") from None
        _unique(path, list(t.column_names))
        frame = t.to_pandas(self_destruct=True, split_blocks=True)
        del t
        release_arrow_memory()
        return Table(frame, path)
    t, sep, decimal, notes = _read_csv(path, comp, sep, decimal, encoding or "utf-8")
    if t.num_rows == 0:
        raise DataError("the table has no data rows", file=path, fix="add data rows below the header")
    # self_destruct frees each Arrow column once converted: the peak is one copy of the table, not two
    frame = t.to_pandas(self_destruct=True, split_blocks=True, memory_pool=POOL())
    del t
    release_arrow_memory()
    return Table(frame, path, sep, decimal, notes)
