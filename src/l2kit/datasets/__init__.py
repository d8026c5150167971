"""Small embedded datasets with provenance, for examples, tests and ``l2kit report``.

Every dataset is a CSV shipped in this package with the target as the last
column. :func:`load` returns a :class:`Dataset` that unpacks as
``X, y, column_names``; :func:`list_datasets` lists them with their source and
licence (see also ``README.md`` beside this file).

Examples
--------
>>> from l2kit import datasets
>>> X, y, names = datasets.load("stackloss")
>>> X.shape, y.shape, names
((21, 3), (21,), ('airflow', 'watertemp', 'acidconc'))
>>> datasets.load().target
'stackloss'
>>> [d.name for d in datasets.list_datasets()]
['stackloss', 'longley', 'randhie']
"""

from __future__ import annotations

import csv
import difflib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

__all__ = ["DEFAULT", "Dataset", "DatasetInfo", "list_datasets", "load", "path"]

DEFAULT = "stackloss"
_HERE = os.path.dirname(os.path.abspath(__file__))


@dataclass(frozen=True)
class DatasetInfo:
    """Provenance of one embedded dataset."""

    name: str
    title: str
    target: str
    kind: str          # "continuous" or "counts"
    source: str
    licence: str
    notes: str = ""


_INFO = {
    "stackloss": DatasetInfo(
        "stackloss", "Stack loss plant data (21 days of a nitric acid plant)", "stackloss", "continuous",
        "Brownlee, K. A. (1965), Statistical Theory and Methodology in Science and Engineering, 2nd ed., "
        "Wiley; copied from statsmodels.datasets.stackloss",
        "public domain (statsmodels: 'This is public domain.')",
        "observations 1, 3, 4 and 21 are the classic outliers (Daniel & Wood 1980; Rousseeuw & Leroy 1987)"),
    "longley": DatasetInfo(
        "longley", "Longley US macroeconomic data 1947-1962 (highly collinear)", "totemp", "continuous",
        "Longley, J. W. (1967), JASA 62(319), 819-841; NIST StRD; copied from statsmodels.datasets.longley",
        "public domain (US government data; statsmodels: 'This is public domain.')",
        "the NIST StRD certified regression; the Obs column is dropped"),
    "randhie": DatasetInfo(
        "randhie", "RAND Health Insurance Experiment, doctor visits (1000-row sample)", "mdvis", "counts",
        "RAND Corporation Health Insurance Experiment, via Cameron & Trivedi (2005) and "
        "statsmodels.datasets.randhie; rows drawn with numpy.random.default_rng(20260101)"
        ".choice(20190, 1000, replace=False)",
        "public domain (statsmodels: 'This is in the public domain.')",
        "mdvis counts outpatient visits to a doctor: many zeros and a long right tail"),
}


@dataclass(frozen=True, eq=False)
class Dataset:
    """An embedded dataset. Unpacks as ``X, y, column_names``.

    Attributes
    ----------
    X : ndarray of shape (n, p), float64
    y : ndarray of shape (n,), float64
    column_names : tuple of str
        Names of the columns of ``X``.
    target : str
        Name of ``y``.
    info : DatasetInfo
        Title, source and licence.
    path : str
        The CSV file (target last).
    """

    X: np.ndarray
    y: np.ndarray
    column_names: tuple[str, ...]
    target: str
    info: DatasetInfo
    path: str = field(repr=False, default="")

    @property
    def name(self) -> str:
        return self.info.name

    def __iter__(self) -> Iterator:
        return iter((self.X, self.y, self.column_names))

    def __len__(self) -> int:
        return 3


def list_datasets() -> list[DatasetInfo]:
    """The embedded datasets with their provenance, default first."""
    return list(_INFO.values())


def _check(name: str) -> str:
    key = str(name).strip().lower()
    if key.endswith(".csv"):
        key = key[:-4]
    if key not in _INFO:
        from .._errors import InputError

        close = difflib.get_close_matches(key, list(_INFO), n=1)
        raise InputError("name", "an embedded dataset (" + ", ".join(_INFO) + ")", repr(name),
                         (f"did you mean {close[0]!r}? " if close else "") + "see l2kit.datasets.list_datasets()")
    return key


def path(name: str = DEFAULT) -> str:
    """Path of the dataset's CSV file inside the installed package."""
    return os.path.join(_HERE, _check(name) + ".csv")


def load(name: str = DEFAULT) -> Dataset:
    """Load an embedded dataset.

    Parameters
    ----------
    name : {"stackloss", "longley", "randhie"}
        Default ``"stackloss"``.

    Returns
    -------
    Dataset
        Unpacks as ``X, y, column_names``; also has ``target``, ``info`` and ``path``.

    Examples
    --------
    >>> X, y, names = load("randhie")
    >>> X.shape, names[-1], int(y.max())
    ((1000, 9), 'hlthp', 56)
    """
    key = _check(name)
    p = path(key)
    with open(p, newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    data = np.array(body, dtype=np.float64)
    data.flags.writeable = False
    X, y = data[:, :-1], data[:, -1]
    return Dataset(X, y, tuple(header[:-1]), header[-1], _INFO[key], p)
