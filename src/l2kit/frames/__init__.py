"""Tables to designs: Wilkinson formulas (formulaic), DataFrame coding, factors, missing values, row labels.

``l2.fit("y ~ x1 + C(g)", data=df)`` and ``l2.fit(df, y)`` pass here first:
the table (pandas, polars eager, or a dict of columns) becomes a float design
matrix with coefficient names, a reusable :class:`Coding` that ``predict``
applies to new tables by column name, the row labels, and the count of rows
dropped for missing values (``missing="drop"``; the default ``"raise"``
refuses them, listing the count per column).
"""

from ._coding import Coding, TableDesign, design_from_formula, design_from_table, identifier_columns
from ._tables import MISSING_POLICIES, Missing, apply_missing, as_pandas, is_table, missing_counts

__all__ = ["MISSING_POLICIES", "Coding", "Missing", "TableDesign", "apply_missing", "as_pandas",
           "design_from_formula", "design_from_table", "identifier_columns", "is_table", "missing_counts"]
