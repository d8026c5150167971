"""Wilkinson formulas and DataFrame columns to a design matrix, through formulaic; the same transform on new data.

Factors use treatment contrasts with the first level as reference and the
statsmodels/formulaic coefficient names (``C(g)[T.b]``, ``g[T.b]``; R writes
``gb``). Levels are a pandas Categorical's categories in order, otherwise the
sorted distinct values. A bool column enters as 0/1 under its own name
(formulaic's convention; R names it ``bTRUE``). Integer-coded factors stay
numeric unless written ``C(x)``, as in R.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._errors import InputError
from ._tables import Missing, apply_missing, as_pandas, refuse_infinite

INTERCEPT = "Intercept"


def _quote(name: str) -> str:
    if "`" in name:
        raise InputError("data", "column names without backticks", repr(name), "rename the column")
    return f"`{name}`"


def _formula_parts(formula: str):
    from formulaic import Formula

    try:
        f = Formula(formula)
    except Exception as exc:   # formulaic's parser errors carry the position; keep its words
        raise InputError("formula", "a Wilkinson formula such as 'y ~ x1 + C(g) + log(x2)'", repr(formula),
                         f"fix the syntax ({exc})") from None
    if not hasattr(f, "lhs") or not len(f.lhs):
        raise InputError("formula", "a response on the left of '~'", repr(formula), "write e.g. 'y ~ x1 + x2'")
    return f


def _evaluation_error(exc: Exception, df, what: str) -> InputError:
    text = str(exc)
    missing = [c for c in _names_in(text) if c not in df.columns]
    if missing:
        return InputError(what, "the formula's columns", f"no column {missing[0]!r}; the table has: "
                          + ", ".join(map(str, df.columns)), "pass a table with that column or fix the formula")
    return InputError(what, "a table the formula can be evaluated on", text.splitlines()[0],
                      "check the formula's functions and the column types")


def _used_columns(f, formula: str, df) -> list:
    """The columns a formula reads: formulaic's required variables, and backticked names (it reads `a.b` as a.b)."""
    req = {str(v) for v in f.required_variables}
    return [c for c in df.columns if str(c) in req or f"`{c}`" in formula]


def _names_in(text: str) -> list[str]:
    return re.findall(r"`([^`]+)` is not present", text)


@dataclass(frozen=True)
class Coding:
    """The transform from a table to the design columns of a fit (a formulaic ``ModelSpec``), reusable on new data."""

    formula: str
    spec: Any
    feature_names: tuple[str, ...]
    factors: tuple[tuple[str, tuple], ...]   # (column, levels) of every factor, for listing
    columns: tuple[str, ...] = ()            # the table's columns the formula reads

    def transform(self, data: Any) -> np.ndarray:
        """The design matrix (without the intercept column) of ``data``: columns by name, levels as fitted."""
        from formulaic.errors import FactorEvaluationError
        from formulaic.transforms.contrasts import DataMismatchWarning

        df = as_pandas(data, "X")
        counts = {c: int(df[c].isna().sum()) for c in self.columns if c in df.columns}
        counts = {c: k for c, k in counts.items() if k}
        if counts:
            raise InputError("X", "new rows without missing values", "missing values per column: "
                             + ", ".join(f"{c}: {k}" for c, k in counts.items()), "drop or impute those rows first")
        with warnings.catch_warnings():
            warnings.simplefilter("error", DataMismatchWarning)
            try:
                mm = self.spec.get_model_matrix(df)
            except DataMismatchWarning as exc:
                unseen = re.sub(r"np\.\w+\(([^)]*)\)", r"\1", str(exc).split(": ", 1)[-1].split(". They")[0])
                raise InputError("X", "factor levels seen when fitting", f"unseen level(s) {unseen}",
                                 "map those rows to a fitted level or refit with them") from None
            except FactorEvaluationError as exc:
                raise _evaluation_error(exc, df, "X") from None
        return _drop_intercept(mm, self.spec.column_names)[0]


def _drop_intercept(mm, names=None) -> tuple[np.ndarray, tuple[str, ...], bool]:
    """The model matrix without its intercept column, as one C-contiguous float64 array (the only copy)."""
    names = [str(c) for c in (names if names is not None else mm.model_spec.column_names)]
    arr = np.asarray(mm)
    keep = [j for j, c in enumerate(names) if c != INTERCEPT]
    if len(keep) == len(names):
        X = np.ascontiguousarray(arr, dtype=np.float64)
    elif keep == list(range(1, len(names))):
        X = np.ascontiguousarray(arr[:, 1:], dtype=np.float64)
    else:
        X = np.ascontiguousarray(arr[:, keep], dtype=np.float64)
    return X, tuple(names[j] for j in keep), len(keep) < len(names)


@dataclass(frozen=True)
class TableDesign:
    """A table coded for fitting: the arrays, names, the :class:`Coding`, row labels and the missing-value report."""

    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    fit_intercept: bool
    coding: Coding
    row_labels: tuple | None
    missing: Missing
    keep: np.ndarray | None        # rows of the input kept (None: all)


def _labels(df) -> tuple | None:
    import pandas as pd

    if isinstance(df.index, pd.RangeIndex) and df.index.start in (0, 1) and df.index.step == 1:
        return None   # the default index, or rows numbered from 1: positions (named from 1), not labels
    return tuple(str(v) for v in df.index)


def _factors(df, used) -> tuple:
    out = []
    for c in used:
        s = df[c]
        if s.dtype.kind in "OSUb" or str(s.dtype) in ("category", "string", "str", "boolean"):
            levels = tuple(s.cat.categories) if str(s.dtype) == "category" else tuple(sorted(s.dropna().unique()))
            out.append((c, levels))
    return tuple(out)


def _numeric_target(y, name: str) -> np.ndarray:
    import pandas as pd

    s = y if isinstance(y, pd.Series) else pd.Series(np.asarray(y))
    if s.dtype == bool or str(s.dtype) == "boolean":
        return s.astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)
    if s.dtype.kind not in "iufb" and not pd.api.types.is_numeric_dtype(s):
        raise InputError(name, "a numeric target", f"dtype {s.dtype}",
                         "code it as numbers (e.g. (y == 'yes') for a logistic fit)")
    return s.to_numpy(dtype=np.float64, na_value=np.nan)


def identifier_columns(df) -> list[str]:
    """Non-numeric columns with a distinct value on every row (identifiers, R's row names), at least 3 rows."""
    out = []
    for c in df.columns:
        s = df[c]
        if len(s) >= 3 and not pd_numeric(s) and s.nunique(dropna=False) == len(s):
            out.append(str(c))
    return out


def pd_numeric(s) -> bool:
    import pandas as pd

    return pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)


def design_from_formula(formula: str, data: Any, *, missing: str = "raise") -> TableDesign:
    """Code ``data`` by ``formula`` (formulaic), applying ``missing`` over the formula's variables.

    Examples
    --------
    >>> td = design_from_formula("y ~ x + C(g)", {"y": [1.0, 2, 4, 3], "x": [0.0, 1, 2, 3], "g": list("abab")})
    >>> td.feature_names, td.fit_intercept
    (('x', 'C(g)[T.b]'), True)
    """
    from formulaic import model_matrix
    from formulaic.errors import FactorEvaluationError

    if not isinstance(formula, str):
        raise InputError("formula", "a string", type(formula).__name__, "pass e.g. 'y ~ x1 + C(g)'")
    f = _formula_parts(formula)
    df = as_pandas(data)
    used = _used_columns(f, formula, df)
    keep, miss = apply_missing(df, used, missing)
    if keep is not None:
        df = df.loc[keep]
    refuse_infinite(df, used)
    fast = _plain_numeric(f, formula, df)
    if fast is not None:
        return fast(formula, df, miss, keep)
    try:
        mm = model_matrix(f, df, na_action="raise", output="numpy")
    except FactorEvaluationError as exc:
        raise _evaluation_error(exc, df, "formula") from None
    except ValueError as exc:   # e.g. log of a non-positive value gives NaN, refused by na_action="raise"
        raise InputError("formula", "terms that are finite on every row", str(exc).splitlines()[0],
                         "check the transforms (log of zero or negative values?) and the data") from None
    if len(mm.lhs.model_spec.column_names) != 1:
        raise InputError("formula", "one numeric response", f"response columns {list(mm.lhs.model_spec.column_names)}",
                         "put a numeric column on the left of '~' (code a factor as 0/1 first)")
    y = np.asarray(mm.lhs, dtype=np.float64).reshape(-1)
    spec = mm.rhs.model_spec
    X, names, has_intercept = _drop_intercept(mm.rhs)
    del mm   # the model matrix with its intercept column: free it before fitting
    coding = Coding(formula, spec, names, _factors(df, used), tuple(map(str, used)))
    return TableDesign(X, y, names, has_intercept, coding, _labels(df), miss, keep)


#: rows of the head a plain-numeric formula is first coded on (the spec, names and checks), before the columns
#: are copied straight into the design matrix
_HEAD = 64


def _plain_numeric(f, formula: str, df):
    """For a formula whose terms are all numeric columns as they are (``y ~ x1 + x2``), a builder that copies
    the columns straight into the design matrix (one copy, no intermediate frames: 1e6 x 20 in a fraction of
    formulaic's time and memory), else None. The coding (spec, names) is formulaic's, made on the first rows."""
    import pandas as pd
    from formulaic import model_matrix

    def numeric(c):
        return c in df.columns and pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])

    terms = [str(t) for t in f.rhs if str(t) != "1"] + [str(t) for t in f.lhs]
    if len(df) <= 4 * _HEAD or not all(numeric(t) for t in terms):
        return None   # transforms, factors and interactions go through formulaic
    # from the string: a formulaic Formula object would keep the head's factor levels for the full table
    head = model_matrix(formula, df.iloc[:_HEAD], na_action="raise", output="numpy")
    names = [str(c) for c in head.rhs.model_spec.column_names]
    lhs = [str(c) for c in head.lhs.model_spec.column_names]
    cols = [c for c in names if c != INTERCEPT]
    if len(lhs) != 1 or not all(numeric(c) for c in [*lhs, *cols]):
        return None

    def build(formula, frame, miss, keep):
        X = np.empty((len(frame), len(cols)))
        for j, c in enumerate(cols):
            X[:, j] = frame[c].to_numpy(dtype=np.float64, na_value=np.nan)
        y = frame[lhs[0]].to_numpy(dtype=np.float64, na_value=np.nan)
        spec = head.rhs.model_spec
        coding = Coding(formula, spec, tuple(cols), (), tuple(dict.fromkeys([*lhs, *cols])))
        return TableDesign(X, y, tuple(cols), INTERCEPT in names, coding, _labels(frame), miss, keep)
    return build


def design_from_table(X: Any, y: Any, *, fit_intercept: bool = True, missing: str = "raise") -> TableDesign:
    """Code every column of the table ``X`` (numeric as is, bool 0/1, strings and categoricals as factors).

    ``y`` is an array or Series of the same rows, or the name of a column of ``X``.
    """
    df = as_pandas(X, "X")
    if isinstance(y, str):
        if y not in df.columns:
            raise InputError("y", "a column of X", repr(y), "pass the target column's name or an array")
        target, df = df[y], df.drop(columns=[y])
        yname = y
    else:
        target, yname = y, "y"
    ids = identifier_columns(df)
    if ids:
        raise InputError("X", "feature columns", f"column {ids[0]!r} is non-numeric with a distinct value on every row "
                         "(an identifier, not a factor)", f"pass X.set_index({ids[0]!r}) to keep it as row labels, "
                         "or drop it")
    yv = _numeric_target(target, yname)
    if yv.shape[0] != len(df):
        raise InputError("y", f"{len(df)} rows like X", f"{yv.shape[0]} rows", "pass X and y with the same rows")
    rhs = " + ".join(_quote(str(c)) for c in df.columns) or "1"
    formula = f"{'1' if fit_intercept else '0'} + {rhs}" if len(df.columns) else ("1" if fit_intercept else "0")
    keep, miss = apply_missing(df, list(df.columns), missing, {yname: yv})
    if keep is not None:
        df, yv = df.loc[keep], yv[keep]
    refuse_infinite(df, list(df.columns))
    from formulaic import model_matrix

    mm = model_matrix(formula, df, na_action="raise", output="numpy")
    Xv, names, _ = _drop_intercept(mm)
    cols = list(df.columns)
    coding = Coding(formula, mm.model_spec, names, _factors(df, cols), tuple(map(str, cols)))
    return TableDesign(Xv, yv, names, fit_intercept, coding, _labels(df), miss, keep)
