"""Files only: tables (CSV/Parquet via pyarrow), atomic writes, progress, and :class:`DataError`.

The streamed score and fit workflows that read these files live in :mod:`l2kit.workflows`.
"""

from .atomic import atomic_write
from .errors import DataError

__all__ = ["DataError", "atomic_write"]
