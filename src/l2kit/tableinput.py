"""One table file to one formula: what ``l2kit fit`` and ``l2kit report`` both do before fitting.

:func:`prepare` reads the file (:func:`l2kit.io.frame.read_table`), picks the
row labels (``--id``; otherwise R's unnamed row-name column or the first text
column with a distinct value on every row), decides the target and features
(``--formula``, or ``--target`` with every other column a feature:
text, bool and categorical columns become factors, ``--factor COL`` makes an
integer-coded column one), and checks every chosen column at once: unknown
names, date columns, text columns that are mostly numbers with a few bad
cells. The result is a formula over a labelled DataFrame; the commands pass
it to :func:`l2kit.fit` or :func:`l2kit.diagnose` with ``missing=`` (listwise
drop by default, counted and printed; ``--missing raise`` refuses).
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass, field
from typing import Any

from .io.errors import DataError
from .io.frame import UNNAMED_INDEX, Table, read_table

__all__ = ["Prepared", "prepare", "parse_loss", "loss_spec", "quote"]


def _set_params(loss) -> dict:
    """The parameters of ``loss`` that differ from its class defaults."""
    try:
        default = type(loss)().params
    except TypeError:   # a loss without defaults: every parameter is needed
        default = {}
    return {k: v for k, v in loss.params.items() if k not in default or default[k] != v}


def quote(name: str) -> str:
    """A column name as a formula term: bare when it is an identifier, else in backticks."""
    return name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else f"`{name}`"


def parse_loss(text: str):
    """``"huber(delta=1.345)"`` -> ``Huber(delta=1.345)`` (a registry name with keyword parameters).

    Examples
    --------
    >>> parse_loss("huber(delta=1.345)"), parse_loss("quantile(q=0.9)"), parse_loss("tukey")
    (Huber(delta=1.345), Quantile(q=0.9), Tukey(c=4.685))
    """
    from .losses import get_loss

    m = re.fullmatch(r"\s*([A-Za-z_][\w-]*)\s*(?:\((.*)\))?\s*", text or "")
    if not m:
        raise DataError(f"--loss {text!r} is not NAME or NAME(key=value, ...)", fix="write e.g. --loss "
                        "\"huber(delta=1.345)\"; the names are in l2kit.available_losses()")
    params = {}
    if m.group(2) and m.group(2).strip():
        try:
            call = ast.parse(f"f({m.group(2)})", mode="eval").body
            if call.args:
                raise ValueError("positional")
            params = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
        except (SyntaxError, ValueError):
            raise DataError(f"--loss {text!r}: the parameters are not key=number pairs",
                            fix="write e.g. --loss \"huber(delta=1.345)\"") from None
    try:
        return get_loss(m.group(1), **params)
    except TypeError as exc:
        raise DataError(f"--loss {text!r}: {exc}", fix="check the parameter names of that loss") from None


def loss_spec(loss) -> str:
    """The ``--loss`` text that rebuilds ``loss`` (``"huber(delta=1.345)"``); parameters at their defaults are left
    out (a count candidate's ``theta=1.0`` is only the start of its estimate, not the recommended value)."""
    params = ", ".join(f"{k}={v!r}" for k, v in _set_params(loss).items())
    return f"{loss.name}({params})" if params else loss.name


@dataclass
class Prepared:
    """A table ready to fit: the labelled frame, the formula, and what was decided about each column."""

    table: Table
    frame: Any
    formula: str
    target: str
    features: list
    label: str | None
    factors: list
    excluded: list = field(default_factory=list)     # (column, why)
    weights: Any = None
    n_rows: int = 0

    @property
    def path(self) -> str:
        return self.table.path

    def describe(self) -> list[str]:
        """Lines for the user: dialect notes, labels, factors, columns left out."""
        out = list(self.table.notes)
        if self.label:
            out.append(f"row labels: column {self.label!r}")
        if self.factors:
            out.append("factors (treatment coding, first level the reference): " + ", ".join(
                f"{c} ({n} levels)" for c, n in self.factors))
        for c, why in self.excluded:
            out.append(f"left out: {c!r} ({why})")
        return out


def _mostly_numeric(s):
    """(row, value) of the first bad cell of a text column whose other cells are numbers; else None."""
    import pandas as pd

    vals = s.dropna()
    if vals.empty:
        return None
    num = pd.to_numeric(vals, errors="coerce")
    bad = num.isna()
    if bad.any() and (~bad).sum() >= 2 and bad.mean() <= 0.5:
        i = vals.index[bad.to_numpy()][0]
        return int(s.index.get_loc(i)), str(vals[i])
    return None


def _column_problems(df, columns, factors, quoted) -> list[str]:
    import pandas as pd

    problems = []
    for c in columns:
        s = df[c]
        if _is_date(s):
            problems.append(f"column {c!r}: dates cannot enter a linear model as they are (fix: --exclude {c}, or "
                            "add a numeric column such as days since the first date or the year)")
        elif s.isna().all():
            problems.append(f"column {c!r}: every value is missing (fix: --exclude {c})")
        elif c not in factors and c not in quoted and not pd.api.types.is_numeric_dtype(s) \
                and not pd.api.types.is_bool_dtype(s):
            hit = _mostly_numeric(s)
            if hit is not None:
                problems.append(f"column {c!r}, row {hit[0] + 1}: cell {hit[1]!r} is not a number (fix: clean it or "
                                f"leave it empty; or pass --factor {c} to treat the column as categories)")
    return problems


def _no_such(c: str, cols) -> str:
    close = [n for n in cols if n.lower() == str(c).lower()]
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"column {c!r}: no such column (fix: {hint}names are case-sensitive)"


def _is_date(s) -> bool:
    import datetime

    import pandas as pd

    return pd.api.types.is_datetime64_any_dtype(s) or str(s.dtype).startswith(("date", "time")) or (
        s.dtype == object and s.dropna().map(type).isin([datetime.date, datetime.datetime]).any())


def _identifiers(df, skip) -> list[str]:
    """Text columns with a distinct value on every row, except dates and numbers with a stray text cell."""
    from .frames import identifier_columns

    return [c for c in identifier_columns(df) if c not in skip and not _is_date(df[c])
            and _mostly_numeric(df[c]) is None]


def prepare(path: str, *, target: str | None = None, formula: str | None = None, features=None, exclude=(),
            id: str | None = None, factors=(), weights: str | None = None, sep: str | None = None,
            decimal: str | None = None, encoding: str | None = None) -> Prepared:
    """Read ``path`` and turn the options into a formula over a labelled frame (see the module docstring)."""
    table = read_table(path, sep=sep, decimal=decimal, encoding=encoding)
    df = table.frame
    cols = [str(c) for c in df.columns]
    quoted = {n.split(": ", 1)[-1] for n in table.notes if n.startswith("quoted")}
    quoted = {c.strip() for q in quoted for c in q.split(",")}
    named = [c for c in (*exclude, *factors, *([id] if id else []), *([weights] if weights else [])) if c]
    problems = [_no_such(c, cols) for c in named if c not in cols]
    excluded = [(c, "--exclude") for c in exclude if c in cols]
    skip = {c for c, _ in excluded} | ({weights} if weights else set())
    label = id if id in cols else None
    if id is None:
        ids = _identifiers(df[[c for c in cols if c not in skip]], skip)
        if "rownames" in cols and "rownames" not in skip:
            label = "rownames"
        elif ids:
            label = ids[0]
        excluded += [(c, "a distinct text value on every row: an identifier, not a feature") for c in ids
                     if c != label]
    if UNNAMED_INDEX in cols and UNNAMED_INDEX not in skip and UNNAMED_INDEX != label:
        excluded.append((UNNAMED_INDEX, "an unnamed first column beside 'rownames' (pandas' index): not a feature"))
    if label is not None:
        skip.add(label)
    skip |= {c for c, _ in excluded}
    if formula is not None:
        if target is not None or features:
            problems.append("--formula with --target/--features: the formula names both (fix: pass one of them)")
        from .frames._coding import _formula_parts, _used_columns

        f = _formula_parts(formula)
        used = [str(c) for c in _used_columns(f, formula, df)]
        target = str(f.lhs).strip()
        feats = [c for c in used if c not in str(f.lhs)]
    else:
        target = target if target is not None else next((c for c in reversed(cols) if c not in skip), None)
        if target not in cols:
            problems.append(_no_such(target, cols))
        feats = list(features) if features else [c for c in cols if c not in skip and c != target]
        problems += [_no_such(c, cols) for c in feats if c not in cols]
        feats = [c for c in feats if c in cols]
        used = [target, *feats]
        if not feats:
            problems.append(f"no feature columns besides the target {target!r}")
    problems += _column_problems(df, [c for c in used if c in cols], set(factors), quoted)
    if problems:
        raise DataError(f"{len(problems)} problem(s) with the columns: " + "; ".join(problems), file=path,
                        fix="see each column's fix above (every column was checked; the file has columns: "
                        + ", ".join(cols) + ")")
    if formula is None:
        terms = [f"C({quote(c)})" if c in factors else quote(c) for c in feats]
        formula = f"{quote(target)} ~ " + " + ".join(terms)
    w = df[weights] if weights else None
    import pandas as pd

    if label is not None:
        df = df.set_index(label)
    else:   # rows are named by their number from 1 after the header, in every message and the report
        df.index = pd.RangeIndex(1, len(df) + 1)

    facs = [(c, df[c].nunique()) for c in feats if c in df.columns and (c in factors or not (
        pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c])))]
    return Prepared(table, df, formula, target, feats, label, facs, excluded, w, len(df))


def prepare_args(args) -> Prepared:
    """:func:`prepare` from the parsed ``fit``/``report`` options (one place, so both read a file the same way)."""
    return prepare(args.data, target=args.target, formula=args.formula, features=args.features,
                   exclude=args.exclude, id=args.id, factors=args.factor, weights=args.weights, sep=args.sep,
                   decimal=args.decimal, encoding=args.encoding)


def file_error(exc, path: str, columns: dict | None = None) -> DataError:
    """A library :class:`~l2kit.InputError` about a table, as the DataError that names the file, column and row.

    ``columns`` maps the library's argument names (``y``, ``weights``) to the file's columns.
    """
    got = str(exc.got)
    column = (columns or {}).get(exc.argument)
    m = re.search(r"no column '([^']+)'", got) or re.search(r"per column: ([^:;]+): \d+;", got)
    if m:
        column = m.group(1)
    if exc.argument == "folds":
        return DataError(f"--folds {exc.got} is not {exc.expected}", file=path,
                         fix="pass e.g. --folds 5")
    m = re.search(r"first at row ([^;)]+)", got)
    row = m.group(1).strip("'") if m else None
    # the CLI's spelling of the API's options
    fix = exc.fix.replace("missing='drop'", "--missing drop").replace("pass counts=False", "pass --family continuous")
    return DataError(f"{exc.argument}: expected {exc.expected}, got {exc.got}", file=path, column=column, row=row,
                     fix=fix)


def _trim() -> None:
    """Give freed heap memory back to the OS (glibc keeps the 8 MB column buffers of a dropped table)."""
    import ctypes
    import gc

    from .io.frame import release_arrow_memory

    gc.collect()
    release_arrow_memory()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):   # not glibc: nothing to do
        pass


def design_prepared(p: Prepared, missing: str, *, release: bool = False):
    """The whole table coded by the formula (a :class:`l2kit.frames.TableDesign`); a library error names the file.

    ``release=True`` then drops the table (``p.frame`` becomes None) and gives its memory back, so that a large
    file is not held twice while a solver runs.
    """
    from ._errors import InputError
    from .frames import design_from_formula

    try:
        td = design_from_formula(p.formula, p.frame, missing=missing)
    except InputError as exc:
        raise file_error(exc, p.path, {"y": p.target}) from None
    if release:
        p.frame = p.table.frame = None
        _trim()
    return td


def fit_options(args) -> dict:
    """The fit options of ``l2kit fit`` (``--method``, ``--seed``, ``--cov-type``, ``--maxlags``) as keywords
    of :func:`l2kit.fit`."""
    out = {}
    if getattr(args, "method", "auto") != "auto":
        out["method"] = args.method
    if getattr(args, "seed", None) is not None:
        if out.get("method") != "mm":
            raise DataError("--seed is used by --method mm only", fix="add --method mm, or leave out --seed")
        out["seed"] = args.seed
    if getattr(args, "cov_type", None):
        out["cov_type"] = args.cov_type
    if getattr(args, "maxlags", None) is not None:
        if out.get("cov_type") != "HAC":
            raise DataError("--maxlags is the lag truncation of --cov-type HAC only",
                            fix="add --cov-type HAC, or leave out --maxlags")
        out["maxlags"] = args.maxlags
    return out


#: fit options -> their ``l2kit fit`` flags (the reproduce lines of the report)
_OPTION_FLAGS = {"method": "--method", "seed": "--seed", "cov_type": "--cov-type", "maxlags": "--maxlags"}


def fit_design(p: Prepared, td, loss, **options):
    """Fit ``loss`` on a coded table of ``p`` (see :func:`design_prepared`) with :func:`l2kit.fit`'s ``options``;
    a library error names the file."""
    from ._errors import InputError
    from .linear._api import fit_table_design

    try:
        return fit_table_design(td, loss=loss, weights=p.weights, **options)
    except InputError as exc:
        raise file_error(exc, p.path, {"y": p.target, "weights": getattr(p.weights, "name", None)}) from None


def fit_prepared(p: Prepared, loss, missing: str, *, release: bool = False, **options):
    """``l2.fit(p.formula, data=p.frame, loss=loss, missing=missing, **options)`` with errors naming the file
    (``release=True``: drop the table once coded, see :func:`design_prepared`)."""
    return fit_design(p, design_prepared(p, missing, release=release), loss, **options)


def reproduce(p: Prepared, loss, missing: str, args=None, options: dict | None = None) -> tuple[str, str]:
    """The ``l2kit fit`` command and the Python line that refit ``loss`` on this table with the same numbers.

    ``options`` are the recommendation's fit options (``method="mm"``, ``seed``, ``cov_type``): both lines carry
    them, so that they give the report's coefficients and standard errors.
    """
    options = dict(options or {})
    unknown = set(options) - set(_OPTION_FLAGS)
    if unknown:   # a new option must get its CLI flag before the report can print a command for it
        raise ValueError(f"no l2kit fit flag for the fit option(s) {sorted(unknown)}")
    import shlex

    dialect = {"sep": p.table.sep if p.table.sep not in (None, ",") else None,
               "decimal": p.table.decimal if p.table.decimal != "." else None,
               "encoding": getattr(args, "encoding", None)}
    opts = [x for k, v in dialect.items() if v is not None for x in (f"--{k}", v)]
    if getattr(args, "weights", None):
        opts += ["--weights", args.weights]
    if missing != "drop":
        opts += ["--missing", missing]
    opts += [x for k, v in options.items() for x in (_OPTION_FLAGS[k], str(v))]
    cmd = shlex.join(["l2kit", "fit", p.path, "--formula", p.formula, "--loss", loss_spec(loss), *opts])
    read = [repr(p.path)] + [f"{k}={v!r}" for k, v in dialect.items() if v is not None]
    params = "".join(f", {k}={v!r}" for k, v in _set_params(loss).items())
    wts = f", weights=df[{args.weights!r}]" if getattr(args, "weights", None) else ""
    py = (f"import l2kit as l2; from l2kit.io.frame import read_table; df = read_table({', '.join(read)}).frame; "
          f"fit = l2.fit({p.formula!r}, data=df, loss=l2.get_loss({loss.name!r}{params}){wts}, missing={missing!r}"
          + "".join(f", {k}={v!r}" for k, v in options.items()) + ")")
    return cmd, py


#: ``l2kit report`` diagnoses every row up to this many, else a random sample of DEFAULT_SAMPLE rows
SAMPLE_ABOVE, DEFAULT_SAMPLE = 50_000, 20_000


def sample_rows(frame, n: int | None, seed: int):
    """``(frame, note)``: a uniform random sample of ``n`` rows without replacement (seeded), in file order.

    ``n=None`` samples :data:`DEFAULT_SAMPLE` rows only above :data:`SAMPLE_ABOVE`; the note says what was done
    (None when every row is kept).
    """
    import numpy as np

    total = len(frame)
    if n is None:
        n = DEFAULT_SAMPLE if total > SAMPLE_ABOVE else total
    if n < 1:
        raise DataError(f"--sample {n} is not a positive number of rows", fix="pass e.g. --sample 100000")
    if n >= total:
        return frame, None
    keep = np.sort(np.random.default_rng(seed).choice(total, size=n, replace=False))
    return frame.iloc[keep], (f"a uniform random sample of {n:,} of {total:,} rows (seed {seed}, without "
                              "replacement) is diagnosed")


#: ``l2kit fit --stream auto`` streams a file whose used columns would take more than this as float64 (a CSV: whose
#: size on disk is above it); below it the in-memory path (factors, formulas, row labels) costs little
STREAM_ABOVE = 16 << 20


@dataclass
class StreamPlan:
    """What ``l2kit fit`` streams: the columns :func:`prepare` would choose for the same options, all numeric."""

    target: str
    features: list
    label: str | None
    excluded: list
    formula: str
    factors: list = field(default_factory=list)   # never any: a factor needs the whole table


def _dialect_problem(path: str, args) -> str | None:
    """Why the streaming reader (comma CSV or Parquet, UTF-8) would not read ``path`` as :func:`read_table` does."""
    low = path.lower()
    if not low.endswith((".csv", ".parquet", ".pq")):
        return "only uncompressed .csv and .parquet files are streamed"
    if low.endswith(".csv"):
        if args.sep not in (None, ",") or args.decimal not in (None, ".") or args.encoding not in (None, "utf-8"):
            return "--sep/--decimal/--encoding other than comma, '.' and UTF-8 are read in memory"
        with open(path, "rb") as fh:
            head = fh.readline(1 << 16)
        if max(head.count(s) for s in (b";", b"\t", b"|")) > head.count(b","):
            return "the header is not comma-separated (the delimiter is sniffed in memory)"
    return None


def stream_plan(args) -> tuple[StreamPlan | None, str | None]:
    """``(plan, None)`` when ``l2kit fit`` can stream ``args.data``; else ``(None, why not)``.

    The file streams when ``--stream always``, or ``--stream auto`` and its used columns exceed
    :data:`STREAM_ABOVE`, and the fit needs no whole-table view: no ``--formula`` or ``--factor``, a comma CSV
    or Parquet file, every used column numeric (a text or bool column would be a factor or a row label, which
    need the whole table). The columns are chosen as :func:`prepare` chooses them. A plan is never made when
    the options have a problem: the in-memory path reports those, every column checked at once.
    """
    from .io.tables import column_names, numeric_columns, table_format, total_rows

    if args.stream == "never":
        return None, None
    if args.formula is not None or args.factor:
        return None, "--formula and --factor code the table as a whole"
    path = args.data
    try:
        table_format(path)
    except DataError:
        return None, None
    why = _dialect_problem(path, args)
    if why:
        return None, why
    cols = column_names(path)
    named = [c for c in (*args.exclude, *(args.features or ()), args.target, args.id, args.weights) if c]
    if any(c not in cols for c in named) or len(set(cols)) != len(cols):
        return None, None   # the in-memory path names every problem at once
    skip = set(args.exclude) | {c for c in (args.weights, args.id) if c} | ({UNNAMED_INDEX} & set(cols))
    label = args.id or ("rownames" if "rownames" in cols and "rownames" not in skip else None)
    skip |= {label} if label else set()
    target = args.target or next((c for c in reversed(cols) if c not in skip), None)
    feats = list(args.features) if args.features else [c for c in cols if c not in skip and c != target]
    if target is None or not feats or target in feats or args.weights in feats:
        return None, None
    numeric = set(numeric_columns(path)) - _factor_or_empty(path)
    text = [c for c in (target, *feats, *([args.weights] if args.weights else [])) if c not in numeric]
    if text:
        return None, (f"column {text[0]!r} is not numeric: a factor or row label needs the whole table")
    if args.stream == "auto":
        rows = total_rows(path)
        size = rows * 8 * (len(feats) + 1 + bool(args.weights)) if rows is not None else os.path.getsize(path)
        if size <= STREAM_ABOVE:
            return None, None
    formula = f"{quote(target)} ~ " + " + ".join(quote(c) for c in feats)
    excluded = [(c, "--exclude") for c in args.exclude]
    return StreamPlan(target, feats, label, excluded, formula), None


def _factor_or_empty(path: str) -> set:
    """Boolean columns (factors in memory) and all-null ones (refused in memory), as the schema types them."""
    import pyarrow.types as pt

    from .io.tables import schema

    return {f.name for f in schema(path) if pt.is_boolean(f.type) or pt.is_null(f.type)}
