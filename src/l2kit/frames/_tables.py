"""Tables in, one pandas DataFrame out: pandas, polars (eager) and dicts of arrays; the missing-value policy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._errors import InputError

MISSING_POLICIES = ("raise", "drop")


def is_table(X: Any) -> bool:
    """True for a pandas/polars DataFrame (or LazyFrame) or a dict of columns: inputs coded by :mod:`l2kit.frames`."""
    mod = type(X).__module__.split(".")[0]
    return isinstance(X, Mapping) or (mod in ("pandas", "polars") and hasattr(X, "columns"))


def as_pandas(data: Any, what: str = "data"):
    """``data`` as a pandas DataFrame (a view where possible); refuses a LazyFrame and ragged dicts.

    Examples
    --------
    >>> as_pandas({"x": [1.0, 2.0], "g": ["a", "b"]}).shape
    (2, 2)
    >>> as_pandas({"x": [1.0, 2.0], "g": ["a"]})
    Traceback (most recent call last):
    ...
    l2kit._errors.InputError: data: expected columns of one length, got lengths x: 2, g: 1. Fix: ...
    """
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    name = type(data).__name__
    mod = type(data).__module__.split(".")[0]
    if mod == "polars":
        if name == "LazyFrame":
            raise InputError(what, "an eager DataFrame", "a polars LazyFrame",
                             "call .collect() on it first (l2kit needs every row in memory to fit)")
        return data.to_pandas()
    if isinstance(data, Mapping):
        cols = {str(k): np.asarray(v) if not hasattr(v, "dtype") else v for k, v in data.items()}
        lengths = {k: len(v) if np.ndim(v) else 1 for k, v in cols.items()}
        if len(set(lengths.values())) > 1:
            got = ", ".join(f"{k}: {n}" for k, n in lengths.items())
            raise InputError(what, "columns of one length", f"lengths {got}", "pass one value per row in each column")
        bad = [k for k, v in cols.items() if np.ndim(v) != 1]
        if bad:
            raise InputError(what, "1-D columns", f"column(s) {', '.join(bad)} with other shapes",
                             "pass each column as a 1-D array")
        return pd.DataFrame(cols)
    raise InputError(what, "a pandas or polars DataFrame or a dict of columns", name,
                     "pass e.g. data=df, or data={'y': y, 'x': x}")


@dataclass(frozen=True)
class Missing:
    """Rows left out for missing values: how many, which, and the count per column."""

    n_dropped: int = 0
    by_column: Mapping[str, int] = field(default_factory=dict)
    dropped_rows: tuple = ()

    def describe(self) -> str:
        if not self.n_dropped:
            return "no rows dropped for missing values"
        cols = ", ".join(f"{c} ({k})" for c, k in self.by_column.items())
        return f"{self.n_dropped} row(s) with missing values dropped (listwise; missing per column: {cols})"


def row_name(v) -> str:
    """A row label for a message: a number as is, text quoted (``4``, ``'Mazda RX4'``)."""
    v = v.item() if hasattr(v, "item") else v
    return repr(v) if isinstance(v, str) else str(v)


def missing_counts(df, columns) -> dict[str, int]:
    """Per column, the count of missing values (NaN, None, pd.NA, NaT), only for columns that have some."""
    out = {}
    for c in columns:
        k = int(df[c].isna().sum())
        if k:
            out[str(c)] = k
    return out


def apply_missing(df, columns, policy: str, extra: Mapping[str, np.ndarray] | None = None):
    """Apply ``missing=policy`` over ``columns`` (and ``extra`` name -> 1-D float arrays): ``(keep, Missing)``.

    ``keep`` is a boolean mask of the rows kept (None when nothing is
    missing). "raise" refuses any missing value, listing the count per
    column and the first row; "drop" drops rows listwise (R's ``na.omit``).
    """
    if policy not in MISSING_POLICIES:
        raise InputError("missing", "'raise' or 'drop'", repr(policy), "pass missing='drop' to drop rows listwise")
    counts = missing_counts(df, columns)
    bad = np.zeros(len(df), dtype=bool)
    for c in counts:
        bad |= df[c].isna().to_numpy()
    for name, a in (extra or {}).items():
        m = np.isnan(a) if a.dtype.kind == "f" else np.zeros(a.shape[0], dtype=bool)
        if m.any():
            counts[name] = int(m.sum())
            bad |= m
    if not counts:
        return None, Missing()
    rows = np.flatnonzero(bad)
    if policy == "raise":
        cols = ", ".join(f"{c}: {k}" for c, k in counts.items())
        raise InputError("data", "no missing values (missing='raise')",
                         f"missing values in {rows.size} row(s) (per column: {cols}; first at row "
                         f"{row_name(df.index[rows[0]])})",
                         "pass missing='drop' to drop those rows listwise (counted on the fit), or impute them")
    return ~bad, Missing(int(rows.size), counts, tuple(df.index[rows].tolist()))


def refuse_infinite(df, columns) -> None:
    """Refuse +-inf in the numeric ``columns`` (never silently finite), naming the column, count and first row."""
    for c in columns:
        s = df[c]
        if s.dtype.kind != "f" and str(s.dtype) != "Float64":
            continue
        a = s.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.isinf(a)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(str(c), "finite values", f"{int(bad.sum())} infinite value(s), first at row "
                             f"{row_name(df.index[i])}",
                             "fix or remove those values (inf is neither missing nor usable by a linear model)")
