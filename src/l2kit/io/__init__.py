"""File I/O for the CLI: tables (CSV/Parquet via pyarrow), atomic writes, progress."""

from .atomic import atomic_write
from .errors import DataError

__all__ = ["DataError", "atomic_write"]
