"""The one reduction shared by every loss: none, sum, mean, or weighted mean."""

from __future__ import annotations

import math

from .._array import is_traced
from .._errors import InputError

REDUCTIONS = ("mean", "sum", "none")


def check_reduction(reduction: str) -> None:
    """Refuse an unknown ``reduction`` with a message listing the valid ones."""
    if reduction not in REDUCTIONS:
        raise InputError("reduction", "one of " + ", ".join(map(repr, REDUCTIONS)), repr(reduction),
                         "pass reduction='mean', 'sum' or 'none'")


def check_weight_sum(total) -> None:
    """Refuse case weights that sum to 0 (a weighted mean of nothing); skipped while JAX traces."""
    if not is_traced(total) and float(total) <= 0:
        raise InputError("weights", "a positive sum", "weights that sum to 0",
                         "give at least one observation a positive weight")


def reduce(xp, values, weights, reduction: str, result_dtype):
    r"""Reduce elementwise loss ``values`` with optional case ``weights``.

    .. math::
        \text{mean} = \frac{\sum_i w_i \ell_i}{\sum_i w_i}, \qquad
        \text{sum} = \sum_i w_i \ell_i, \qquad \text{none} = w_i \ell_i

    Examples
    --------
    >>> import numpy as np, array_api_compat.numpy as xp
    >>> float(reduce(xp, np.array([1.0, 3.0]), np.array([3.0, 1.0]), "mean", np.float64))
    1.5
    """
    if weights is not None:
        values = values * weights
    if reduction == "none":
        out = values
    elif reduction == "sum":
        out = xp.sum(values)
    else:
        if weights is None:
            out = xp.mean(values)
        else:
            # per-sample weights of shape (N,) stand for every element of their row
            total = xp.sum(weights) * (math.prod(values.shape) / math.prod(weights.shape) if weights.ndim else 1)
            check_weight_sum(total)
            out = xp.sum(values) / total
    if out.dtype != result_dtype and not xp.isdtype(result_dtype, "complex floating"):
        out = xp.astype(out, result_dtype)
    return out
