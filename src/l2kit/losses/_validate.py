"""Checks shared by the losses: tuning constants, call keywords and value domains (refused with the fix)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._array import array_namespace, is_traced
from .._errors import InputError


def positive_param(owner: str, name: str, value: float, *, allow_zero: bool = False) -> None:
    """Refuse a tuning constant that is not a positive finite number."""
    # math, not NumPy: a loss built inside torch.compile then traces without a graph break
    ok = (isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool)
          and math.isfinite(value) and (value >= 0 if allow_zero else value > 0))
    if not ok:
        raise InputError(f"{owner}({name}=...)", "a positive finite number" if not allow_zero
                         else "a non-negative finite number", repr(value), f"pass e.g. {owner}({name}=1.0)")


def tuning_constant(obj: Any, name: str, *, allow_zero: bool = False) -> None:
    """Validate tuning constant ``name`` of loss ``obj`` (see :func:`positive_param`) and store it as a float.

    Floats are hashable, compare equal across int/float/np.float64, and give a repr that round-trips.
    """
    positive_param(type(obj).__name__, name, getattr(obj, name), allow_zero=allow_zero)
    object.__setattr__(obj, name, float(getattr(obj, name)))


def check_unit(xp, a, name: str, owner: str, fix: str) -> None:
    """Refuse values outside [0, 1] (labels, probabilities)."""
    bad = ~((a >= 0) & (a <= 1))
    if bool(xp.any(bad)):
        n = int(xp.sum(xp.astype(bad, xp.int64)))
        raise InputError(name, f"values in [0, 1] for {owner}", f"{n} value(s) outside [0, 1] or NaN "
                         f"(range {float(xp.min(a)):g} to {float(xp.max(a)):g})", fix)


def any_true(xp, pred) -> bool:
    """``any(pred)`` for a value check; False under JAX tracing, where values cannot be inspected."""
    return not is_traced(pred) and bool(xp.any(pred))


def check_counts(xp, y, owner: str, allow_fractional: bool) -> None:
    if bool(xp.any(y < 0)):
        n = int(xp.sum(xp.astype(y < 0, xp.int64)))
        raise InputError("y_true", f"non-negative counts for {owner}", f"{n} negative value(s), minimum "
                         f"{float(xp.min(y)):g}", "counts cannot be negative; check the target column")
    if not allow_fractional and bool(xp.any(y != xp.floor(y))):
        n = int(xp.sum(xp.astype(y != xp.floor(y), xp.int64)))
        raise InputError("y_true", f"integer counts for {owner}", f"{n} non-integer value(s)",
                         f"round the counts, or pass {owner}(allow_fractional=True) for a quasi-likelihood")


def check_positive_mean(xp, mu, owner: str, name: str = "y_pred") -> None:
    if bool(xp.any(~(mu > 0))):
        bad = ~(mu > 0)
        n = int(xp.sum(xp.astype(bad, xp.int64)))
        raise InputError(name, f"a positive mean mu > 0 for {owner}", f"{n} value(s) <= 0 or NaN, minimum "
                         f"{float(xp.min(mu)):g}", "predict the mean through exp(), or pass log-means with "
                         "log_input=True" if owner == "PoissonNLL" else "predict the mean through exp() or softplus()")


def param_array(v, value, name: str, owner: str, *, positive: bool):
    """Convert a call keyword (scalar, or array of y_true's shape) to the compute dtype; never broadcast."""
    xp = v.xp
    dtype = v.y_true.dtype
    if hasattr(value, "shape") and tuple(value.shape) not in ((), tuple(v.y_true.shape)):
        raise InputError(name, f"a scalar or an array of shape {tuple(v.y_true.shape)} like y_true",
                         f"shape {tuple(value.shape)}", f"pass one {name} per element (l2kit never broadcasts)")
    if not hasattr(value, "shape"):
        if isinstance(value, (list, tuple)):
            value = xp.asarray(value, dtype=dtype)
            if tuple(value.shape) != tuple(v.y_true.shape):
                raise InputError(name, f"a scalar or shape {tuple(v.y_true.shape)}", f"shape {tuple(value.shape)}",
                                 f"pass one {name} per element")
        else:
            value = xp.full(v.y_true.shape, float(value), dtype=dtype)
    else:
        array_namespace(v.y_true, value)  # refuses mixing libraries
        value = xp.astype(value, dtype) if value.dtype != dtype else value
        if tuple(value.shape) == ():
            value = xp.full(v.y_true.shape, float(value), dtype=dtype)
    if positive and any_true(xp, ~(value > 0)):
        raise InputError(name, f"positive values for {owner}", f"minimum {float(xp.min(value)):g}",
                         f"{name} must be > 0; pass e.g. {name}=1.0")
    return value
