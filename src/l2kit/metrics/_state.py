r"""The metrics' moments state and what is read from it.

A state is a dict of float64 arrays ``(k,)`` (one entry per output) keyed by
:data:`STATE_KEYS`, as :func:`l2kit.metrics._fused.fused` computes it and
:class:`~l2kit.metrics.Accumulator` keeps it: the weight sum ``W``, shifts
``ky``/``kr``, the weighted means ``my``/``mr`` of ``y - ky`` and ``r - kr``,
the centred sums of squares ``m2y``/``m2r``, the weighted mean ``mabs`` of
``|r|`` and the weight unit ``u``: weights enter divided by a power of two
near their maximum, so ``W``, ``m2y`` and ``m2r`` are in units of ``u`` (the
true weight sum is ``W * u``). Weights of 5e-324 or 1e300 then neither
underflow nor overflow, and every metric is a ratio in which ``u`` cancels.
This module merges states (:func:`merge_states`), turns one into the sums a
metric needs (:func:`state_sums`) and those sums into the metric
(:func:`assemble`, with the ``multioutput`` rules of :func:`check_multioutput`).
The in-memory metrics, the accumulator and the Dask path all end here.

Examples
--------
>>> import numpy as np
>>> from l2kit.metrics._fused import fused
>>> st = fused(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0]))
>>> sums = state_sums(st, "mse")
>>> float(sums["sse"][0]), float(assemble(np, "mse", sums, "uniform_average", 3))
(4.0, 1.3333333333333333)
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from .._array import is_traced, overflow_error, to_numpy
from .._errors import InputError

__all__ = ["KERNEL_KEYS", "STATE_KEYS", "NonFiniteOmitted", "UndefinedMetric", "assemble", "check_multioutput",
           "check_ndim", "finite_sums", "in_unit", "merge_states", "state_sums"]

#: per-output state arrays the fused kernel writes, in its order
KERNEL_KEYS = ("W", "ky", "my", "m2y", "kr", "mr", "m2r", "mabs")
#: every per-output state array: the kernel's and the weight unit
STATE_KEYS = KERNEL_KEYS + ("u",)
#: the state arrays that are sums of weights (scale with the unit); the others are means or shifts
_WEIGHT_SUMS = ("W", "m2y", "m2r")

_MULTI = ("raw_values", "uniform_average")
_MULTI_VW = _MULTI + ("variance_weighted",)


class NonFiniteOmitted(UserWarning):
    """Warning issued by ``nonfinite="omit"``: ``count`` of ``total`` samples were dropped."""

    def __init__(self, count: int, total: int, what: str = "samples"):
        self.count = int(count)
        self.total = int(total)
        super().__init__(f"l2kit omitted {count} of {total} {what} holding NaN or inf (nonfinite='omit')")


class UndefinedMetric(UserWarning):
    """A metric is undefined for the input (e.g. R^2 of one sample); NaN is returned."""


def in_unit(s: dict, unit: np.ndarray) -> dict:
    """State ``s`` with its weight sums expressed in ``unit`` (a power of two at least ``s["u"]``: exact,
    or rounding to 0 a part below 2**-1074 of the other's weight)."""
    if np.array_equal(s["u"], unit):
        return s
    f = s["u"] / unit
    return {**s, **{key: s[key] * f for key in _WEIGHT_SUMS}, "u": unit}


def merge_states(a: dict, b: dict) -> dict:
    r"""Chan's pairwise merge of two states (dicts of float64 arrays (k,)); ``b`` is re-shifted to ``a``.

    .. math::
        W = W_a + W_b,\quad \delta = \bar x_b - \bar x_a,\quad
        \bar x = \bar x_a + \delta W_b / W,\quad
        M_2 = M_{2,a} + M_{2,b} + \delta^2 W_a W_b / W

    Both states are first expressed in the larger of their weight units.
    """
    unit = np.maximum(a["u"], b["u"])
    a, b = in_unit(a, unit), in_unit(b, unit)
    Wa, Wb = a["W"], b["W"]
    W = Wa + Wb
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.where(W > 0, Wb / np.where(W > 0, W, 1.0), 0.0)
    out = {"W": W, "ky": a["ky"], "kr": a["kr"], "u": unit}
    # b's means relative to a's shifts; the shift difference is exact for nearby values
    myb = b["my"] + (b["ky"] - a["ky"])
    mrb = b["mr"] + (b["kr"] - a["kr"])
    dy = myb - a["my"]
    dr = mrb - a["mr"]
    out["my"] = a["my"] + dy * f
    out["m2y"] = a["m2y"] + b["m2y"] + dy * dy * Wa * f
    out["mr"] = a["mr"] + dr * f
    out["m2r"] = a["m2r"] + b["m2r"] + dr * dr * Wa * f
    out["mabs"] = a["mabs"] + (b["mabs"] - a["mabs"]) * f
    empty_a = Wa == 0
    if empty_a.any():  # an empty column of a: take b's state as it is
        for key in STATE_KEYS:
            out[key] = np.where(empty_a, b[key], out[key])
    return out


def state_sums(s: dict, metric: str) -> dict:
    """The sums ``metric`` needs, arrays ``(k,)``, from a moments state (``W`` always; ``sse``, ``sae``,
    ``sst``, ``ssr_c`` as needed)."""
    W = s["W"]
    mr = s["kr"] + s["mr"]
    out = {"W": W}
    if metric in ("mse", "rmse", "r2"):
        out["sse"] = s["m2r"] + W * mr * mr  # both terms >= 0: no cancellation
    if metric == "mae":
        out["sae"] = s["mabs"] * W
    if metric in ("r2", "explained_variance"):
        out["sst"] = s["m2y"]
    if metric == "explained_variance":
        out["ssr_c"] = s["m2r"]
    return out


def finite_sums(s: dict, metric: str) -> dict:
    """:func:`state_sums`, refusing sums that overflowed: finite data whose squares pass 1.8e308 (values near
    1e200) give an error, as :func:`l2kit.mse` does, never an mse of inf."""
    with np.errstate(over="ignore", invalid="ignore"):
        sums = state_sums(s, metric)
    if not all(np.isfinite(v).all() for v in sums.values()):
        raise overflow_error("y_true, y_pred")
    return sums


def check_ndim(shape: tuple, name: str = "y_true") -> None:
    """Refuse data that is not ``(n_samples,)`` or ``(n_samples, n_outputs)`` (a 0-d scalar gave an IndexError)."""
    if len(shape) not in (1, 2):
        got = "a 0-d scalar" if not shape else f"{len(shape)}-D shape {shape}"
        raise InputError(name, "a 1-D (n_samples,) or 2-D (n_samples, n_outputs) array", got,
                         "pass one value per sample, e.g. np.atleast_1d(y)" if not shape
                         else "reshape to (n_samples, n_outputs)")


def check_multioutput(metric: str, multioutput: Any, k: int):
    """Return the validated ``multioutput``: a string or a NumPy float64 array of length k."""
    allowed = _MULTI_VW if metric in ("r2", "explained_variance") else _MULTI
    if isinstance(multioutput, str):
        if multioutput not in allowed:
            raise InputError("multioutput",
                             "one of " + ", ".join(map(repr, allowed)) + " or an array of output weights",
                             repr(multioutput), "pass multioutput='uniform_average' or 'raw_values'")
        return multioutput
    try:
        mo = np.asarray(to_numpy(multioutput) if hasattr(multioutput, "shape") else multioutput, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError("multioutput", "a string or an array of output weights", type(multioutput).__name__,
                         "pass multioutput='uniform_average', 'raw_values' or k weights") from None
    if mo.shape != (k,):
        raise InputError("multioutput", f"an array of {k} output weights (one per output)", f"shape {mo.shape}",
                         "pass one weight per output column")
    if not np.all(np.isfinite(mo)) or np.any(mo < 0) or mo.sum() <= 0:
        raise InputError("multioutput", "finite non-negative output weights with a positive sum",
                         repr(mo.tolist()), "pass e.g. np.ones(k)")
    return mo


def _fraction(xp, num, den):
    """1 - num/den with scikit-learn's force_finite rules (differentiable: no division by 0)."""
    nz_den = den != 0
    nz_num = num != 0
    safe = xp.where(nz_den, den, xp.ones_like(den))
    score = 1 - num / safe
    one = xp.ones_like(num)
    return xp.where(nz_den & nz_num, score, xp.where(nz_num, xp.zeros_like(num), one))


def assemble(xp, metric: str, st: dict, mo, n: int):
    """The metric from its per-output sums, reduced over outputs as ``mo`` says.

    Parameters
    ----------
    xp : array namespace
        Of the sums (NumPy for states; the input's library for the differentiable path).
    metric : {"mse", "rmse", "mae", "r2", "explained_variance"}
    st : dict
        Sums from :func:`state_sums` (or the array-API equivalent): ``W`` and the ones ``metric`` needs.
    mo : str or ndarray
        ``multioutput`` as returned by :func:`check_multioutput`.
    n : int
        Number of samples (R^2 of fewer than two is NaN with an :class:`UndefinedMetric` warning).

    Returns
    -------
    scalar or array ``(k,)`` of ``xp``
    """
    W = st["W"]
    if not is_traced(W):
        if not bool(xp.all(W > 0)):
            raise InputError("weights", "a positive sum (per output)", "weights that sum to 0",
                             "give at least one sample a positive weight")
    if metric == "mse":
        cols = st["sse"] / W
    elif metric == "rmse":
        cols = xp.sqrt(st["sse"] / W)
    elif metric == "mae":
        cols = st["sae"] / W
    elif metric == "r2":
        if n < 2:
            warnings.warn(UndefinedMetric("R^2 is not well-defined with fewer than two samples; returning NaN"),
                          stacklevel=4)
            nan = xp.full(st["sse"].shape, math.nan, dtype=st["sse"].dtype)
            cols = nan
            return cols if (isinstance(mo, str) and mo == "raw_values") else nan[0]
        cols = _fraction(xp, st["sse"], st["sst"])
    else:
        cols = _fraction(xp, st["ssr_c"], st["sst"])
    if isinstance(mo, str):
        if mo == "raw_values":
            return cols
        if mo == "uniform_average":
            return xp.mean(cols)
        # variance_weighted: weights are the target variances; all-constant targets fall back to uniform
        den = st["sst"]
        if is_traced(den) or bool(xp.any(den != 0)):
            return xp.sum(cols * den) / xp.sum(den)
        return xp.mean(cols)
    mw = xp.asarray(mo, dtype=cols.dtype) if type(cols) is not np.ndarray else mo
    if hasattr(cols, "device") and not isinstance(cols, np.ndarray):
        try:
            mw = xp.asarray(mo, dtype=cols.dtype, device=cols.device)
        except TypeError:
            pass
    return xp.sum(cols * mw) / xp.sum(mw)
