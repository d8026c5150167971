"""l2kit's regression metrics as a stateful ``keras.metrics.Metric`` (mergeable per-output moments)."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from .._errors import InputError

__all__ = ["Metric"]

_METRICS = ("mse", "rmse", "mae", "r2", "explained_variance")
_STATES = ("W", "my", "m2y", "mr", "m2r", "sse", "sae")


def _moments(y, r, w):
    """Per-output batch sums: weight, weighted means and centred second moments of y and r, SSE, SAE."""
    W = ops.sum(w, axis=0)
    safe = ops.where(W > 0, W, ops.ones_like(W))
    my, mr = ops.sum(w * y, axis=0) / safe, ops.sum(w * r, axis=0) / safe
    dy, dr = y - my, r - mr
    return {"W": W, "my": my, "m2y": ops.sum(w * dy * dy, axis=0), "mr": mr, "m2r": ops.sum(w * dr * dr, axis=0),
            "sse": ops.sum(w * r * r, axis=0), "sae": ops.sum(w * ops.abs(r), axis=0)}


def _merge(a: dict, b: dict) -> dict:
    """Chan et al.'s pairwise update of two moment states (exact; no one-pass sum of squares)."""
    W = a["W"] + b["W"]
    f = ops.where(W > 0, b["W"] / ops.where(W > 0, W, ops.ones_like(W)), ops.zeros_like(W))
    out = {"W": W, "sse": a["sse"] + b["sse"], "sae": a["sae"] + b["sae"]}
    for m, m2 in (("my", "m2y"), ("mr", "m2r")):
        d = b[m] - a[m]
        out[m] = a[m] + d * f
        out[m2] = a[m2] + b[m2] + d * d * a["W"] * f
    return out


def _finite_ratio(num, den):
    """``1 - num/den`` with scikit-learn's force_finite: a constant target gives 1 (perfect) or 0."""
    safe = ops.where(den > 0, den, ops.ones_like(den))
    return ops.where(den > 0, 1 - num / safe, ops.where(num > 0, ops.zeros_like(num), ops.ones_like(num)))


@keras.saving.register_keras_serializable(package="l2kit", name="Metric")
class Metric(keras.metrics.Metric):
    r"""``l2kit.mse``, ``rmse``, ``mae``, ``r2`` or ``explained_variance`` as a Keras metric.

    The state is per output: the weight sum, the weighted means and centred second moments of the
    target and the residual, and the sums of squared and absolute residuals, merged batch by batch
    by Chan's exact update, so the epoch value equals the l2kit metric of all the epoch's data
    (``multioutput="uniform_average"``; ``sample_weight`` are l2kit's case weights), not a mean of
    batch values. State is held in the metric's dtype (float32 by default).

    Parameters
    ----------
    metric : {"mse", "rmse", "mae", "r2", "explained_variance"}
    outputs : int, default 1
        Number of outputs k (targets of shape ``(N,)`` or ``(N, k)``).
    name, dtype
        As in ``keras.metrics.Metric``; ``name`` defaults to ``metric``.

    Examples
    --------
    >>> import numpy as np, l2kit as l2
    >>> from l2kit.keras import Metric
    >>> m = Metric("r2")
    >>> y, p = np.array([3.0, -0.5, 2.0, 7.0]), np.array([2.5, 0.0, 2.0, 8.0])
    >>> m.update_state(y[:2], p[:2]); m.update_state(y[2:], p[2:])
    >>> round(float(m.result()), 5), round(float(l2.r2(y, p)), 5)
    (0.94861, 0.94861)
    """

    def __init__(self, metric: str = "mse", *, outputs: int = 1, name: str | None = None, dtype: Any = None):
        if metric not in _METRICS:
            raise InputError("metric", "one of " + ", ".join(_METRICS), repr(metric), "pass e.g. Metric('r2')")
        if isinstance(outputs, bool) or not isinstance(outputs, int) or outputs < 1:
            raise InputError("outputs", "a positive integer", repr(outputs), "pass the number of target columns")
        super().__init__(name=name or metric, dtype=dtype)
        self.metric, self.outputs = metric, outputs
        self._state = {k: self.add_variable(shape=(outputs,), initializer="zeros", name=k, dtype=self.dtype)
                       for k in _STATES}

    def update_state(self, y_true, y_pred, sample_weight=None):
        y = ops.reshape(ops.cast(y_true, self.dtype), (-1, self.outputs))
        p = ops.reshape(ops.cast(y_pred, self.dtype), (-1, self.outputs))
        w = ops.ones_like(y) if sample_weight is None else \
            ops.reshape(ops.cast(sample_weight, self.dtype), (-1, 1)) * ops.ones_like(y)
        new = _merge({k: v.value for k, v in self._state.items()}, _moments(y, y - p, w))
        for k, var in self._state.items():
            var.assign(new[k])

    def result(self):
        s = {k: v.value for k, v in self._state.items()}
        safe = ops.where(s["W"] > 0, s["W"], ops.ones_like(s["W"]))
        per = {"mse": s["sse"] / safe, "mae": s["sae"] / safe, "rmse": ops.sqrt(s["sse"] / safe),
               "r2": _finite_ratio(s["sse"], s["m2y"]) if self.metric == "r2" else None,
               "explained_variance": _finite_ratio(s["m2r"], s["m2y"]) if self.metric == "explained_variance"
               else None}[self.metric]
        return ops.sum(per) / self.outputs  # not ops.mean: the torch backend averages float64 in float32

    def reset_state(self):
        for var in self._state.values():
            var.assign(ops.zeros_like(var.value))

    def get_config(self) -> dict:
        return {**super().get_config(), "metric": self.metric, "outputs": self.outputs}
