"""Score and fit tables of any size in one streamed pass (the logic behind ``l2kit score`` / ``l2kit fit``).

The workflows join the layers below them: files (:mod:`l2kit.io`), the
metrics and the linear models. Batches come from
:func:`l2kit.io.tables.iter_batches` (pyarrow, bounded memory, reading
overlapped with computing). Rows with missing or non-finite values are always
counted; they are refused (DataError naming the first bad row; rows numbered
from 1 after the header) unless the caller asks to skip them, in which case
the count is part of the result.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._errors import InputError
from .io.errors import DataError
from .io.progress import progress
from .io.tables import (
    ROW_NOTE,
    column_names,
    iter_batches,
    map_parts,
    numeric_columns,
    read_ahead,
    read_columns,
    total_rows,
)

__all__ = ["ScoreResult", "score_file", "fit_file", "fit_features", "json_safe"]

#: rows per batch for ``fit``: 128k rows keep peak RSS low (a few MB per column) however wide the table. A
#: Parquet file is read by two threads, each with a batch and its centred copy in flight (2e7 x 4 Parquet under
#: jemalloc: 146 and 153 MB on 2e6 and 2e7 rows; 256k-row batches 171 and 189 MB, for no less time). A CSV
#: file's batches are its parser's blocks (at most CSV_MAX_BLOCK bytes), whatever this number
BATCH_ROWS = 1 << 17
#: rows per batch for ``score`` (at most 3 columns) in a long-lived process with numba's kernels: fewer, larger
#: batches cost less (2e7-row Parquet, two reading threads: 110 ms with 512k rows, 149 ms with 256k, 187 ms with 64k,
#: against 77-97 ms for pyarrow's read_table); `l2kit score` passes smaller ones (cli.SCORE_BATCH_ROWS)
SCORE_BATCH_ROWS = 1 << 19


@dataclass(frozen=True)
class ScoreResult:
    """Metrics of a streamed file plus the row accounting."""

    metrics: dict[str, Any]
    rows_read: int
    rows_invalid: int
    rows_skipped: int
    first_invalid: dict[str, Any] | None = None
    columns: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary."""
        return {**{k: _jsonable(v) for k, v in self.metrics.items()}, "rows_read": self.rows_read,
                "rows_invalid": self.rows_invalid, "rows_skipped": self.rows_skipped,
                "first_invalid": self.first_invalid, "columns": self.columns}


def json_safe(obj):
    """Replace NaN/inf floats by None (strict JSON), recursively."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def _jsonable(v):
    a = np.asarray(v)
    if a.ndim == 0:
        x = a.item()
        return float(x) if isinstance(x, float) else x
    return a.tolist()


def _describe(v: float) -> str:
    return "missing/NaN" if np.isnan(v) else repr(float(v))


class _BadRows:
    """Counts rows with a missing/non-finite value; remembers the first one."""

    def __init__(self, path: str):
        self.path = path
        self.count = 0
        self.first: dict[str, Any] | None = None

    def scan(self, start: int, cols: dict[str, np.ndarray], allow_nan=()) -> np.ndarray | None:
        """Boolean mask of bad rows in this batch, or None when all are finite (the fast path).

        A NaN (missing value) in a column of ``allow_nan`` is not bad: those rows are dropped listwise later.
        """
        bad = None
        for c, a in cols.items():
            fin = np.isfinite(a)
            if c in allow_nan:
                fin |= np.isnan(a)
            if not fin.all():
                bad = ~fin if bad is None else bad | ~fin
        if bad is None:
            return None
        idx = np.flatnonzero(bad)
        self.count += idx.size
        if self.first is None:
            i = int(idx[0])
            col = next(c for c, a in cols.items() if not np.isfinite(a[i]) and not (c in allow_nan and np.isnan(a[i])))
            self.first = {"row": start + i + 1, "column": col, "value": _describe(cols[col][i])}
        return bad

    @classmethod
    def joined(cls, path: str, parts: Sequence[_BadRows]) -> _BadRows:
        """The bad rows of a table read in parts (in file order): their counts added, the first of the first part."""
        out = cls(path)
        out.count = sum(p.count for p in parts)
        out.first = next((p.first for p in parts if p.first is not None), None)
        return out

    def error(self, what: str, fix: str) -> DataError:
        f = self.first
        return DataError(f"{self.count} row{'s' if self.count != 1 else ''} {what} have missing or non-finite "
                         f"values; the first has {f['value']} ({ROW_NOTE})", file=self.path, column=f["column"],
                         row=f["row"], fix=fix)


def _all_finite(cols: dict[str, np.ndarray]) -> bool:
    """Whether every value of every column is finite, by one summing pass per column (no mask is built).

    NaN and inf make a sum non-finite; a sum that overflows on finite values only sends the batch to the
    exact scan (:meth:`_BadRows.scan`), which then finds nothing.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        return all(np.isfinite(np.add.reduce(a)) for a in cols.values())


def _check_weights(path: str, column: str, start: int, w: np.ndarray, bad: np.ndarray | None) -> None:
    neg = w < 0
    if bad is not None:
        neg &= ~bad
    if neg.any():
        i = int(np.flatnonzero(neg)[0])
        raise DataError(f"negative case weight {w[i]:g} ({int(neg.sum())} negative in this batch; {ROW_NOTE})",
                        file=path, column=column, row=start + i + 1,
                        fix="weights are case weights; fix or drop those rows, or choose another column")


@dataclass
class _ScoredPart:
    """What one part of a scored table gave: its metrics accumulator, bad rows and row counts."""

    acc: Any
    bad_rows: _BadRows
    rows: int = 0
    scored: int = 0


def score_file(path: str | os.PathLike, true_col: str, pred_col: str, weights_col: str | None = None, *,
               skip_invalid: bool = False, batch_rows: int = SCORE_BATCH_ROWS, show_progress: bool | None = None,
               ) -> ScoreResult:
    """Stream ``path`` and compute n, mse, rmse, mae, r2 and explained variance of ``pred_col`` vs ``true_col``.

    Parameters
    ----------
    path : CSV or Parquet file
    true_col, pred_col : column names
    weights_col : column of non-negative case weights, optional
    skip_invalid : bool
        Skip rows with a missing/non-finite value in any used column (the
        count is in the result); by default they are refused with a
        DataError naming the first such row.
    batch_rows : int
        Rows per batch (memory is a few batches of the used columns).
    show_progress : bool, optional
        Default: a progress bar only when standard error is a terminal.

    Examples
    --------
    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "s.csv")
    >>> _ = open(p, "w").write("y,p\\n1,1.5\\n2,2\\n3,2.5\\n")
    >>> r = score_file(p, "y", "p")
    >>> r.metrics["n"], round(r.metrics["mse"], 12), r.rows_read
    (3, 0.166666666667, 3)
    """
    from .metrics import Accumulator

    path = os.fspath(path)
    cols = [true_col, pred_col] + ([weights_col] if weights_col else [])
    if len(set(cols)) != len(cols):
        raise DataError("the same column is used twice", file=path, column=pred_col if pred_col == true_col else
                        weights_col, fix="pass different columns for --true, --pred and --weights")
    total = total_rows(path)

    def score_part(batches) -> _ScoredPart:
        part = _ScoredPart(Accumulator(), _BadRows(path))
        acc, bad_rows = part.acc, part.bad_rows
        for start, batch in batches:
            m = len(batch[true_col])
            part.rows += m
            bar.update(m)
            w = batch.get(weights_col) if weights_col else None
            t, p = batch[true_col], batch[pred_col]
            if w is not None:
                _check_weights(path, weights_col, start, w, ~np.isfinite(w))
            if bad_rows.count and not skip_invalid:
                bad_rows.scan(start, batch)  # already refused: only count the rest
                continue
            try:
                # fast path: the accumulator checks finiteness on its result (no extra pass)
                acc.update(t, p, weights=w)
                part.scored += m
                continue
            except InputError:
                bad = bad_rows.scan(start, batch)
                if bad is None:
                    raise
            if not skip_invalid:
                continue  # keep scanning: the error reports the full count
            keep = ~bad
            if keep.any():
                acc.update(t[keep], p[keep], weights=None if w is None else w[keep])
                part.scored += int(keep.sum())
        return part

    with progress(total, desc=f"scoring {os.path.basename(path)}", unit="rows", enabled=show_progress) as bar:
        # a Parquet file of several row groups is read and scored in two parts, on two threads
        parts = map_parts(path, cols, score_part, batch_rows=batch_rows)
    acc = parts[0].acc
    for part in parts[1:]:
        acc.merge(part.acc)
    bad_rows = _BadRows.joined(path, [part.bad_rows for part in parts])
    rows = sum(part.rows for part in parts)
    scored = sum(part.scored for part in parts)
    if bad_rows.count and not skip_invalid:
        raise bad_rows.error(f"of {rows}", "clean those rows, or pass --skip-invalid to leave them out "
                             "(the count is reported)")
    if rows == 0:
        raise DataError("the table has no data rows", file=path, fix="pass a file with data below the header")
    if scored == 0:
        raise DataError(f"all {rows} rows have missing or non-finite values; nothing to score", file=path,
                        fix="check the column choice")
    try:
        metrics = acc.result()
    except InputError as exc:  # e.g. weights summing to zero: name the file and column
        raise DataError(f"cannot score: {exc.got}", file=path, column=weights_col or pred_col,
                        fix=exc.fix) from None
    return ScoreResult(metrics, rows, bad_rows.count, bad_rows.count if skip_invalid else 0,
                       bad_rows.first, {"true": true_col, "pred": pred_col, "weights": weights_col})


def fit_features(path: str, target: str, weights: str | None, features: Sequence[str] | None) -> list[str]:
    """The feature columns: ``features``, or every other numeric column."""
    if features:
        feats = list(features)
        clash = [c for c in feats if c in (target, weights)]
        if clash:
            raise DataError("a feature is also the target or weights column", file=path, column=clash[0],
                            fix="remove it from --features")
        return feats
    feats = [c for c in numeric_columns(path) if c not in (target, weights)]
    if not feats:
        other = [c for c in column_names(path) if c not in (target, weights)]
        raise DataError("no numeric feature columns besides the target"
                        + (f" (columns with non-numeric cells: {', '.join(other)})" if other else ""),
                        file=path, column=target, fix="pass --features with numeric columns, or clean those columns")
    return feats


def fit_file(path: str | os.PathLike, target: str, *, loss: Any = "squared", weights: str | None = None,
             features: Sequence[str] | None = None, batch_rows: int = BATCH_ROWS,
             show_progress: bool | None = None, missing: str = "raise"):
    """Fit ``target ~ features`` from a CSV/Parquet file in bounded memory (Squared, robust and GLM losses).

    Squared error goes through the one-pass chunked least-squares path
    (:func:`l2kit.linear.least_squares.fit_chunks`). Robust (IRLS) and GLM
    losses read a small file into memory (used columns up to
    :data:`IN_MEMORY_BYTES` as float64) and stream a larger one, once per
    iteration, over mergeable Gram states (:mod:`l2kit.linear._chunked`):
    the same estimates in bounded memory. Other losses read the used columns
    into memory and call :func:`l2kit.fit`. Rows with missing or
    non-finite values are refused with a DataError giving their count and
    the first one; with ``missing="drop"`` rows with a missing value (empty
    cell, NaN) in a used column are dropped listwise, batch by batch, and
    counted in ``fit.missing`` exactly as :func:`l2kit.fit` counts them on a
    table (``n_dropped``, ``by_column``); infinite values and missing weights
    are still refused.

    Returns
    -------
    Fit

    Examples
    --------
    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "f.csv")
    >>> _ = open(p, "w").write("x,y\\n0,1\\n1,3\\n2,5\\n3,7.5\\n")
    >>> f = fit_file(p, "y")
    >>> np.round(f.coef, 6), f.feature_names
    (array([2.15]), ('x',))
    >>> _ = open(p, "w").write("x,y\\n0,1\\n1,3\\n,4\\n2,5\\n3,7.5\\n")
    >>> f = fit_file(p, "y", missing="drop")
    >>> np.round(f.coef, 6), f.missing.n_dropped, dict(f.missing.by_column)
    (array([2.15]), 1, {'x': 1})
    """
    from .linear._api import resolve_loss
    from .losses import Squared

    path = os.fspath(path)
    loss = resolve_loss(loss)
    feats = fit_features(path, target, weights, features)
    cols = feats + [target] + ([weights] if weights else [])
    if len(set(cols)) != len(cols):
        raise DataError("a column is used twice", file=path, fix="pass distinct --target, --weights and --features")
    fix = "clean or drop those rows first (fit never drops rows silently)"
    if missing not in ("raise", "drop"):
        raise DataError(f"missing={missing!r} is not 'raise' or 'drop'", file=path, fix="pass 'raise' or 'drop'")
    streamed = type(loss) is Squared or (loss.fit_family in ("irls", "glm") and not _fits_in_memory(path, len(cols)))
    # as l2kit.fit on a table: weights are not part of the listwise drop (a missing weight is refused)
    drop = _Dropper(feats + [target]) if missing == "drop" else None
    allow = set(drop.cols) if drop is not None else set()
    if not streamed:
        from . import linear

        names, data = read_columns(path, cols)
        bad_rows = _BadRows(path)
        if bad_rows.scan(0, data, allow) is not None:   # before the drop: rows keep their numbers
            raise bad_rows.error(f"of {len(data[target])}", fix)
        if weights:
            _check_weights(path, weights, 0, data[weights], None)
        if drop is not None:
            data = drop.batch(data)
        w = data[weights] if weights else None
        X = np.column_stack([data[c] for c in feats])
        try:
            return _with_missing(linear.fit(X, data[target], loss=loss, weights=w, feature_names=feats), drop)
        except InputError as exc:
            raise _file_error(exc, path, target, weights) from None
    from . import linear
    from .linear.least_squares import GramState, fit_reduced, reduce_chunks

    total = total_rows(path)
    lean = type(loss) is Squared and not weights   # unweighted least squares: chunks reduced from their columns

    def part_chunks(batches, part: _FitPart):
        """The chunks of one part of the table: GramStates (lean) or (X, y[, w]); stops at the first bad row,
        counting the rest, and leaves the error to the caller (which knows the count over every part)."""
        scratch = np.empty(batch_rows * (len(feats) + 1)) if lean else None
        for start, batch in batches:
            m = len(batch[target])
            part.rows += m
            bar.update(m)
            if lean:
                state = GramState.from_columns([batch[c] for c in feats] + [batch[target]], scratch=scratch)
                if state.finite:   # the column sums were finite: no NaN or inf in the chunk
                    yield state
                    continue
            clean = _all_finite(batch)   # the common case: no mask, nothing to drop
            bad = None if clean else part.bad_rows.scan(start, batch, allow)   # before the drop: rows keep numbers
            if weights:
                _check_weights(path, weights, start, batch[weights], bad)
            if bad is not None:
                for s2, b2 in batches:  # count the rest
                    part.rows += len(b2[target])
                    bar.update(len(b2[target]))
                    part.bad_rows.scan(s2, b2, allow)
                return
            if part.drop is not None and not clean:
                batch = part.drop.batch(batch)
            if not len(batch[target]):   # every row of this batch dropped for missing values
                continue
            X = np.empty((len(batch[target]), len(feats)), order="F")  # column copies are contiguous
            for j, c in enumerate(feats):
                X[:, j] = batch[c]
            yield (X, batch[target], batch[weights]) if weights else (X, batch[target])

    def new_part() -> _FitPart:   # a part (or pass) counts its own bad rows and drops
        return _FitPart(_BadRows(path), None if drop is None else _Dropper(drop.cols))

    def reduce_part(batches) -> _FitPart:
        part = new_part()
        part.reduced = reduce_chunks(part_chunks(batches, part))
        return part

    class _Passes:
        """The file as a re-iterable of chunks: iterative fits read it once per pass, in bounded memory."""

        last: _FitPart | None = None

        def __iter__(self):
            # an iterative fit's own work per chunk (weights, a weighted Gram) outweighs the reading: reading, the
            # checks and the copy into X run in a thread two chunks ahead of it
            self.last = part = new_part()   # one pass counts its rows and drops afresh
            return read_ahead(self._checked(part), 2)

        @staticmethod
        def _checked(part: _FitPart):
            yield from part_chunks(iter_batches(path, cols, batch_rows=batch_rows, prefetch=0), part)
            if part.bad_rows.count:
                raise part.bad_rows.error(f"of {part.rows}", fix)

    with progress(total, desc=f"fitting {os.path.basename(path)}", unit="rows", enabled=show_progress) as bar:
        try:
            if type(loss) is not Squared:
                passes = _Passes()
                return _with_missing(linear.fit(passes, loss=loss, feature_names=feats), passes.last.drop)
            # least squares is one pass: a Parquet file of several row groups is read and reduced in two parts, on
            # two threads, and the parts' states merged in file order
            parts = map_parts(path, cols, reduce_part, batch_rows=batch_rows)
            bad_rows = _BadRows.joined(path, [part.bad_rows for part in parts])
            if bad_rows.count:
                raise bad_rows.error(f"of {sum(part.rows for part in parts)}", fix)
            reduced = parts[0].reduced
            for part in parts[1:]:
                reduced = reduced.merge(part.reduced)
            drop = None if drop is None else _Dropper.joined([part.drop for part in parts])
            return _with_missing(fit_reduced(reduced, loss=loss, feature_names=feats), drop)
        except InputError as exc:
            if bar.count == 0:
                raise DataError("the table has no data rows", file=path,
                                fix="pass a file with data below the header") from None
            raise _file_error(exc, path, target, weights) from None


@dataclass
class _FitPart:
    """What one part of a streamed table gave: its bad rows, its listwise drops, its rows and their reduction."""

    bad_rows: _BadRows
    drop: _Dropper | None
    rows: int = 0
    reduced: Any = None


class _Dropper:
    """Listwise drop of rows with a missing value (NaN) in a batch, counted per column as ``l2kit.fit`` counts."""

    def __init__(self, cols: Sequence[str]):
        self.cols = list(cols)
        self.n_dropped = 0
        self.by_column = dict.fromkeys(self.cols, 0)

    def batch(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        miss = None
        for c in self.cols:
            na = np.isnan(batch[c])
            k = int(np.count_nonzero(na))
            if k:
                self.by_column[c] += k
                miss = na if miss is None else miss | na
        if miss is None:
            return batch
        self.n_dropped += int(np.count_nonzero(miss))
        keep = ~miss
        return {c: a[keep] for c, a in batch.items()}

    @classmethod
    def joined(cls, parts: Sequence[_Dropper]) -> _Dropper:
        """The drops of a table read in parts, added up."""
        out = cls(parts[0].cols)
        for p in parts:
            out.n_dropped += p.n_dropped
            for c, k in p.by_column.items():
                out.by_column[c] += k
        return out

    def missing(self):
        from .frames import Missing

        return Missing(self.n_dropped, {c: k for c, k in self.by_column.items() if k})


def _with_missing(fit, drop: _Dropper | None):
    """``fit`` carrying the rows dropped for missing values (``fit.missing``), when rows were dropped listwise."""
    if drop is None:
        return fit
    import dataclasses

    return dataclasses.replace(fit, missing=drop.missing())


#: robust and GLM fits load a file whose used columns take at most this much as float64 (fast, one read);
#: larger files are streamed once per iteration in bounded memory
IN_MEMORY_BYTES = 16 << 20


def _fits_in_memory(path: str, n_cols: int) -> bool:
    """Whether the used columns of ``path`` fit in :data:`IN_MEMORY_BYTES` (CSV: bounded by its size on disk)."""
    total = total_rows(path)
    if total is not None:
        return total * n_cols * 8 <= IN_MEMORY_BYTES
    return os.path.getsize(path) <= IN_MEMORY_BYTES // 4   # a CSV cell takes >= 2 bytes; 8 as float64


def _file_error(exc: InputError, path: str, target: str, weights: str | None) -> DataError:
    """A fit's InputError as a DataError naming the file, and the column when it is the target or the weights."""
    arg = exc.argument
    column = weights if weights and arg.startswith("weights") else target if arg.split(" ")[0] == "y" else None
    what = "" if column else f"{arg}: "
    return DataError(f"{what}expected {exc.expected}, got {exc.got}", file=path, column=column, fix=exc.fix)
