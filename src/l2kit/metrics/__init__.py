"""Regression metrics (scikit-learn semantics, every backend) and the mergeable :class:`Accumulator`.

* :func:`mse`, :func:`rmse`, :func:`mae`, :func:`r2`, :func:`explained_variance`
  -- ``(y_true, y_pred, *, weights=None, multioutput="uniform_average", nonfinite="raise")``;
  NumPy, PyTorch, JAX, array-API and Dask arrays.
* :class:`Accumulator` -- streaming float64 state (Welford/Chan), ``update``/``merge``/
  ``result``/``to_dict``/``from_dict``/``reduce_distributed``.
* :class:`NonFiniteOmitted` -- the warning ``nonfinite="omit"`` issues, with the count.

Examples
--------
>>> import numpy as np, l2kit as l2
>>> float(l2.metrics.rmse(np.array([0.0, 0.0]), np.array([3.0, 4.0])))
3.5355339059327378
"""

from ._state import NonFiniteOmitted, UndefinedMetric
from .accumulator import Accumulator
from .functional import explained_variance, mae, mse, r2, rmse

__all__ = ["Accumulator", "NonFiniteOmitted", "UndefinedMetric", "explained_variance", "mae", "mse", "r2", "rmse"]
