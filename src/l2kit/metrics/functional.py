r"""Regression metrics with scikit-learn semantics on every array backend.

``mse``, ``rmse``, ``mae``, ``r2`` and ``explained_variance`` take
``(y_true, y_pred, *, weights=None, multioutput="uniform_average", nonfinite="raise")``.

* Inputs are ``(N,)`` or ``(N, k)`` (k outputs), of one array library: NumPy,
  PyTorch (tensors in, tensors out, autograd flows), JAX (``jit``/``grad``),
  CuPy, any array-API namespace, or Dask (computed to a NumPy number).
* ``weights`` are case weights: one per sample ``(N,)``, or one per element
  (the inputs' shape). ``sample_weight=`` is the same argument under scikit-learn's name, so a
  metric works in ``make_scorer`` with metadata routing. The weighted mean is :math:`\sum_i w_i \ell_i / \sum_i w_i`.
* ``multioutput``: ``"uniform_average"`` (default), ``"raw_values"`` (one value
  per output, shape ``(k,)``; ``(1,)`` for 1-D input as in scikit-learn), an
  array of ``k`` output weights, or, for ``r2``/``explained_variance``,
  ``"variance_weighted"``.
* float32 stays float32 and float16 is computed in float32 (NumPy float16/32
  input accumulates in float64 and is cast back). NumPy input returns a NumPy
  scalar (a ``float`` subclass for float64).

Non-finite input
    With ``nonfinite="raise"`` (default) NaN or inf in the data raises
    :class:`~l2kit.InputError` naming which argument holds how many. With
    ``nonfinite="omit"`` samples (rows) with a non-finite value in ``y_true``,
    ``y_pred`` or ``weights`` are dropped and a :class:`~l2kit.metrics.NonFiniteOmitted`
    warning reports the count (its ``count`` and ``total`` attributes hold the
    numbers). Clean data pays no extra pass: the finiteness of the computed
    sums is checked, and only a non-finite result triggers the search.

Constant targets (scikit-learn's ``force_finite=True``)
    When a target column is constant, ``r2`` and ``explained_variance`` are
    1.0 for perfect predictions and 0.0 otherwise, instead of NaN/-inf. ``r2``
    of fewer than two samples is NaN with a warning, as in scikit-learn.

Accuracy
    :math:`R^2` uses centred (two-pass) sums, never the one-pass
    :math:`\sum y^2 - n\bar y^2`, so a target like ``1e9 + noise`` keeps its
    digits. The NumPy path computes the sums in one pass over memory by the
    blocked two-pass/Chan kernel of :mod:`l2kit.metrics._fused`.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from .._array import from_frame, is_traced, nonfinite_error, overflow_error, validate_pair
from .._errors import InputError
from ._state import NonFiniteOmitted, assemble, check_multioutput, check_ndim, state_sums

__all__ = ["mse", "rmse", "mae", "r2", "explained_variance"]

_F64 = np.dtype(np.float64)
_SMALL = 16384


# ---------------------------------------------------------------------------
# public metrics
# ---------------------------------------------------------------------------
def mse(y_true: Any, y_pred: Any, *, weights: Any = None, multioutput: Any = "uniform_average",
        nonfinite: str = "raise", sample_weight: Any = None):
    r"""Mean squared error, :math:`\sum_i w_i (y_i - \hat y_i)^2 / \sum_i w_i`.

    Matches ``sklearn.metrics.mean_squared_error`` (``weights`` =
    ``sample_weight``) and ``torch.nn.functional.mse_loss``. See the module
    docstring for the shared parameters.

    Parameters
    ----------
    y_true, y_pred : array
        Same shape ``(N,)`` or ``(N, k)``.
    weights : array, optional
        Case weights ``(N,)`` or of the inputs' shape.
    multioutput : {"uniform_average", "raw_values"} or array of shape (k,)
    nonfinite : {"raise", "omit"}

    Returns
    -------
    scalar or array ``(k,)`` of the input's library and float dtype.

    Examples
    --------
    >>> import numpy as np, l2kit as l2
    >>> l2.mse(np.array([3.0, -0.5, 2.0, 7.0]), np.array([2.5, 0.0, 2.0, 8.0]))
    np.float64(0.375)
    >>> l2.mse(np.array([[0.5, 1.0], [-1.0, 1.0], [7.0, -6.0]]),
    ...        np.array([[0.0, 2.0], [-1.0, 2.0], [8.0, -5.0]]), multioutput="raw_values")
    array([0.41666667, 1.        ])
    """
    weights = _either(weights, sample_weight)
    # Lean fast path (no validator, no namespace lookup) for the common case.
    if (type(y_true) is np.ndarray and type(y_pred) is np.ndarray and weights is None
            and y_true.dtype is _F64 and y_pred.dtype is _F64 and y_true.ndim == 1
            and y_true.shape == y_pred.shape and nonfinite == "raise"
            and type(multioutput) is str and multioutput == "uniform_average"):
        n = y_true.shape[0]
        if 0 < n < _SMALL:
            d = y_true - y_pred
            v = np.dot(d, d) / n
        elif n:
            from ._fused import fused

            v = fused(y_true, y_pred, what="sse")[0] / n
        else:
            v = math.nan  # empty: the validator below raises the proper error
        if math.isfinite(v):
            return np.float64(v)
    return _metric("mse", y_true, y_pred, weights, multioutput, nonfinite)


def rmse(y_true: Any, y_pred: Any, *, weights: Any = None, multioutput: Any = "uniform_average",
         nonfinite: str = "raise", sample_weight: Any = None):
    r"""Root mean squared error per output, then averaged over outputs.

    As ``sklearn.metrics.root_mean_squared_error``: with several outputs it is
    the average of the per-output RMSEs, not the root of the average MSE.

    Examples
    --------
    >>> import numpy as np, l2kit as l2
    >>> float(l2.rmse(np.array([3.0, -0.5, 2.0, 7.0]), np.array([2.5, 0.0, 2.0, 8.0])))
    0.6123724356957945
    """
    return _metric("rmse", y_true, y_pred, _either(weights, sample_weight), multioutput, nonfinite)


def mae(y_true: Any, y_pred: Any, *, weights: Any = None, multioutput: Any = "uniform_average",
        nonfinite: str = "raise", sample_weight: Any = None):
    r"""Mean absolute error, :math:`\sum_i w_i |y_i - \hat y_i| / \sum_i w_i`.

    Matches ``sklearn.metrics.mean_absolute_error``.

    Examples
    --------
    >>> import numpy as np, l2kit as l2
    >>> float(l2.mae(np.array([3.0, -0.5, 2.0, 7.0]), np.array([2.5, 0.0, 2.0, 8.0])))
    0.5
    """
    return _metric("mae", y_true, y_pred, _either(weights, sample_weight), multioutput, nonfinite)


def r2(y_true: Any, y_pred: Any, *, weights: Any = None, multioutput: Any = "uniform_average",
       nonfinite: str = "raise", sample_weight: Any = None):
    r"""Coefficient of determination :math:`R^2 = 1 - SS_{res}/SS_{tot}`.

    .. math::
        SS_{res} = \sum_i w_i (y_i - \hat y_i)^2, \qquad
        SS_{tot} = \sum_i w_i (y_i - \bar y_w)^2

    Matches ``sklearn.metrics.r2_score`` with its default ``force_finite=True``:
    a constant target gives 1.0 for perfect predictions and 0.0 otherwise; fewer
    than two samples give NaN with an :class:`~l2kit.metrics.UndefinedMetric` warning.
    :math:`SS_{tot}` is a centred (two-pass) sum, exact for targets with a large offset.

    Examples
    --------
    >>> import numpy as np, l2kit as l2
    >>> float(l2.r2(np.array([3.0, -0.5, 2.0, 7.0]), np.array([2.5, 0.0, 2.0, 8.0])))
    0.9486081370449679
    >>> float(l2.r2(np.array([1e9 + 1, 1e9 + 2, 1e9 + 3]), np.array([1e9 + 1, 1e9 + 2, 1e9 + 4])))
    0.5
    >>> float(l2.r2(np.array([2.0, 2.0]), np.array([2.0, 2.0])))  # constant target, perfect
    1.0
    """
    return _metric("r2", y_true, y_pred, _either(weights, sample_weight), multioutput, nonfinite)


def explained_variance(y_true: Any, y_pred: Any, *, weights: Any = None,
                       multioutput: Any = "uniform_average", nonfinite: str = "raise", sample_weight: Any = None):
    r"""Explained variance :math:`1 - \operatorname{Var}_w(y - \hat y) / \operatorname{Var}_w(y)`.

    Matches ``sklearn.metrics.explained_variance_score`` (``force_finite=True``):
    unlike :func:`r2` it ignores a constant bias of the predictions.

    Examples
    --------
    >>> import numpy as np, l2kit as l2
    >>> float(l2.explained_variance(np.array([3.0, -0.5, 2.0, 7.0]), np.array([2.5, 0.0, 2.0, 8.0])))
    0.9571734475374732
    """
    return _metric("explained_variance", y_true, y_pred, _either(weights, sample_weight), multioutput, nonfinite)


# ---------------------------------------------------------------------------
# shared machinery
# ---------------------------------------------------------------------------
def _either(weights: Any, sample_weight: Any) -> Any:
    """``weights``, or scikit-learn's name for them (``make_scorer`` with metadata routing passes
    ``sample_weight=``); both at once is refused."""
    if sample_weight is None:
        return weights
    if weights is not None:
        raise InputError("weights, sample_weight", "one of them", "both",
                         "pass the case weights once (sample_weight is scikit-learn's name for weights)")
    return sample_weight


def _check_nonfinite_option(nonfinite: str) -> None:
    if nonfinite not in ("raise", "omit"):
        raise InputError("nonfinite", "'raise' or 'omit'", repr(nonfinite),
                         "pass nonfinite='raise' (the default) or nonfinite='omit'")


def _is_dask(x: Any) -> bool:
    return type(x).__module__.split(".")[0] == "dask"


def _metric(metric: str, y_true, y_pred, weights, multioutput, nonfinite):
    _check_nonfinite_option(nonfinite)
    # pandas/polars columns as NumPy (as scikit-learn accepts them), Dask columns as Dask arrays
    y_true, y_pred, weights = from_frame(y_true), from_frame(y_pred), from_frame(weights)
    if _is_dask(y_true) or _is_dask(y_pred):
        from ._dask import dask_metric

        return dask_metric(metric, y_true, y_pred, weights, multioutput, nonfinite)
    v = validate_pair(y_true, y_pred, weights=weights, allow_complex=False)
    xp, yt, yp, w = v.xp, v.y_true, v.y_pred, v.weights
    check_ndim(tuple(yt.shape))
    k = 1 if yt.ndim == 1 else int(yt.shape[1])
    mo = check_multioutput(metric, multioutput, k)
    numpy_in = type(yt) is np.ndarray
    stats_fn = _numpy_stats if numpy_in else _xp_stats
    args = {"y_true": yt, "y_pred": yp, "weights": w}
    st = stats_fn(xp, yt, yp, w, metric)
    if not _all_finite(xp, st):
        if nonfinite == "omit":
            mask = _finite_rows(xp, yt, yp, w)
            n_total = int(yt.shape[0])
            n_bad = n_total - int(xp.sum(xp.astype(mask, xp.int64)))
            if n_bad:
                if n_bad == n_total:
                    raise InputError("y_true, y_pred", "at least one sample with finite values",
                                     f"all {n_total} samples hold NaN or inf",
                                     "clean the data; nothing is left to score after omitting them")
                warnings.warn(NonFiniteOmitted(n_bad, n_total), stacklevel=3)
                yt, yp = yt[mask], yp[mask]
                w = None if w is None else w[mask]
                st = stats_fn(xp, yt, yp, w, metric)
        if not _all_finite(xp, st):
            raise nonfinite_error(xp, {k_: a for k_, a in args.items() if a is not None})
    n = int(yt.shape[0])
    out = assemble(xp, metric, st, mo, n)
    if numpy_in:
        if out.dtype != v.result_dtype:
            out = _narrow(xp, out, v.result_dtype, metric)
        return out[()] if out.ndim == 0 else out
    if out.dtype != v.result_dtype:
        out = _narrow(xp, out, v.result_dtype, metric)
    return out


def _narrow(xp, out, dtype, metric: str):
    """``out`` cast to the result dtype (float16 input computes in float32/float64 and returns float16),
    refusing a value that overflows it: an mse of 360000 is inf in float16."""
    small = xp.astype(out, dtype)
    if not is_traced(small) and bool(xp.all(xp.isfinite(out))) and not bool(xp.all(xp.isfinite(small))):
        raise overflow_error("y_true, y_pred", dtype=str(dtype).replace("torch.", ""), metric=metric)
    return small


def _all_finite(xp, st: dict) -> bool:
    vals = [a for a in st.values() if a is not None]
    if any(is_traced(a) for a in vals):
        return True  # inside jax.jit the values are unknown; NaN propagates to the result instead
    return all(bool(xp.all(xp.isfinite(a))) for a in vals)


def _finite_rows(xp, yt, yp, w):
    ok = xp.isfinite(yt) & xp.isfinite(yp)
    if w is not None:
        ok = ok & xp.isfinite(w)
    if ok.ndim == 2:
        ok = xp.all(ok, axis=1)
    return ok


def _numpy_stats(xp, yt, yp, w, metric):
    """Per-output sums as float64 NumPy arrays (k,), via the fused kernel (one pass)."""
    from ._fused import fused

    if metric in ("mse", "rmse") and w is None:
        n = yt.shape[0]
        return {"W": np.full(1 if yt.ndim == 1 else yt.shape[1], float(n)),
                "sse": fused(yt, yp, what="sse")}
    if w is not None and w.ndim == 2 and w.shape[1] == 1 and yt.ndim == 2:
        w = w[:, 0]  # per-row weights reshaped by the validator
    return state_sums(fused(yt, yp, w, what="moments"), metric)


def _xp_stats(xp, yt, yp, w, metric):
    """Per-output sums with array-API calls only (differentiable; two-pass where centring is needed)."""
    r = yt - yp
    if w is not None and yt.ndim == 2 and w.ndim == 1:
        w = xp.reshape(w, (-1, 1))
    if w is None:
        W = xp.asarray(float(yt.shape[0]), dtype=yt.dtype)
        if yt.ndim == 2:
            W = xp.full((yt.shape[1],), float(yt.shape[0]), dtype=yt.dtype)
        sumw = lambda a: xp.sum(a, axis=0)  # noqa: E731
    else:
        W = xp.sum(w, axis=0) if (w.ndim == yt.ndim and w.shape == yt.shape) else \
            xp.sum(w, axis=0) * xp.ones(tuple(yt.shape[1:]), dtype=yt.dtype)
        sumw = lambda a: xp.sum(w * a, axis=0)  # noqa: E731
    out = {"W": W}
    if metric in ("mse", "rmse", "r2"):
        out["sse"] = sumw(r * r)
    if metric == "mae":
        out["sae"] = sumw(xp.abs(r))
    if metric in ("r2", "explained_variance"):
        my = sumw(yt) / W
        d = yt - my
        out["sst"] = sumw(d * d)
    if metric == "explained_variance":
        mr = sumw(r) / W
        d = r - mr
        out["ssr_c"] = sumw(d * d)
    if yt.ndim == 1:
        out = {k: xp.reshape(v, (1,)) for k, v in out.items()}
    return out
