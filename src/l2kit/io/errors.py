"""The error raised for bad files: names the file, column, row and the fix."""

from __future__ import annotations


class DataError(ValueError):
    """Bad input data in a file. The CLI prints it as one paragraph and exits 2.

    Examples
    --------
    >>> str(DataError("no such file", file="a.csv", fix="check the path"))
    'a.csv: no such file. Fix: check the path.'
    >>> str(DataError("cell 'abc' is not a number", file="a.csv", column="y", row=7, fix="clean the cell"))
    "a.csv, column 'y', row 7: cell 'abc' is not a number. Fix: clean the cell."
    """

    def __init__(self, problem: str, *, file: str | None = None, column: str | None = None,
                 row: int | None = None, fix: str = ""):
        self.problem, self.file, self.column, self.row, self.fix = problem, file, column, row, fix
        where = ", ".join(p for p in (
            file, None if column is None else f"column {column!r}", None if row is None else f"row {row}") if p)
        text = (f"{where}: " if where else "") + problem.rstrip(".") + "."
        if fix:
            text += f" Fix: {fix.rstrip('.')}."
        super().__init__(text)
