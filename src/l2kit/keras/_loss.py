"""Any l2kit loss as a ``keras.losses.Loss``, serializable and reduced the Keras way."""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
from keras.src.losses.loss import squeeze_or_expand_to_same_rank

from .._array import validate_pair
from .._errors import InputError
from ..losses import Loss as L2Loss
from ..losses import get_loss
from ._ops import json_safe, namespace

__all__ = ["Loss"]


def _resolve(loss: Any) -> L2Loss:
    if isinstance(loss, str):
        return get_loss(loss)
    if isinstance(loss, L2Loss):
        return loss
    raise InputError("loss", "an l2kit loss object or a registry name", type(loss).__name__,
                     "pass e.g. l2kit.keras.Loss(l2kit.Huber(delta=1.0)) or l2kit.keras.Loss('huber')")


def _constants(loss: L2Loss, kwargs: dict) -> dict[str, float]:
    unknown = set(kwargs) - set(loss.call_kwargs)
    missing = set(loss.required_call_kwargs) - set(kwargs)
    if unknown or missing:
        raise InputError("keyword arguments", f"the call keywords of {type(loss).__name__} "
                         f"({', '.join(loss.call_kwargs) or 'none'}) as constants",
                         ", ".join(sorted(unknown)) or "no " + ", ".join(sorted(missing)),
                         "pass e.g. l2kit.keras.Loss(l2kit.GaussianNLL(), var=1.0)")
    out = {}
    for k, v in kwargs.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise InputError(k, "a finite number (a constant for every element)", repr(v),
                             "Keras passes only y_true and y_pred to a loss; fix the value, e.g. var=1.0")
        out[k] = float(v)
    return out


def _prepared(loss: L2Loss, constants: dict[str, float]) -> dict[str, float | None]:
    """The keyword values the kernel gets (defaults filled, constants validated and floored, e.g. GaussianNLL's
    eps), found once on a one-element NumPy input: nothing is checked or synchronised per batch."""
    v = validate_pair(np.zeros(1), np.full(1, 0.5))
    return {k: None if a is None else float(np.ravel(a)[0])
            for k, a in loss._prepare_kwargs(v, dict(constants)).items()}


@keras.saving.register_keras_serializable(package="l2kit", name="Loss")
class Loss(keras.losses.Loss):
    r"""An l2kit loss as a ``keras.losses.Loss`` (any Keras 3 backend: torch, JAX, TensorFlow).

    ``call`` returns one value per sample, :math:`\tfrac1k\sum_j \ell(y_{ij}, \hat y_{ij})` (the mean
    over the last axis, as Keras' ``MeanSquaredError`` does; losses over the last axis such as
    ``Mahalanobis`` give their row value). Keras then applies ``sample_weight``, masks and the
    ``reduction`` (default ``"sum_over_batch_size"``: :math:`\sum_i w_i\ell_i / N`, Keras' weighted mean,
    not l2kit's :math:`\sum_i w_i\ell_i/\sum_i w_i`), in the dtype of the policy.

    Parameters
    ----------
    loss : l2kit.Loss or str
        The loss, or its registry name (``"huber"``).
    name, reduction, dtype
        As in ``keras.losses.Loss``; ``name`` defaults to ``"l2kit_<loss name>"``.
    **call_kwargs : float
        Constants for the loss's call keywords (``var=`` of ``GaussianNLL``, ``theta=``...): Keras
        passes a loss nothing but ``y_true`` and ``y_pred``.

    Notes
    -----
    Inside a compiled graph values are unknown, so the value checks l2kit makes on eager input
    (counts, probabilities, positive means) are not made here; validate the data before ``fit``.
    Registered as ``"l2kit>Loss"``: ``model.save`` and ``keras.models.load_model`` need no
    ``custom_objects`` once ``l2kit.keras`` is imported.

    Examples
    --------
    >>> import numpy as np, l2kit as l2
    >>> from l2kit.keras import Loss
    >>> loss = Loss(l2.Huber(delta=1.0))
    >>> loss
    Loss(Huber(delta=1.0), reduction='sum_over_batch_size')
    >>> y, p = np.array([[0.0], [0.0]], "float32"), np.array([[0.5], [3.0]], "float32")
    >>> float(loss(y, p)), float(loss(y, p, sample_weight=np.array([1.0, 0.0])))
    (1.3125, 0.0625)
    >>> Loss.from_config(loss.get_config()).loss
    Huber(delta=1.0)
    """

    def __init__(self, loss: Any = "squared", *, name: str | None = None, reduction: str = "sum_over_batch_size",
                 dtype: Any = None, **call_kwargs: float):
        loss = _resolve(loss)
        super().__init__(name=name or f"l2kit_{loss.name}", reduction=reduction, dtype=dtype)
        self.loss = loss
        self.call_kwargs = _constants(loss, call_kwargs)
        self._prepared = _prepared(loss, self.call_kwargs)

    def call(self, y_true, y_pred):
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        xp = namespace(y_true, y_pred)
        kw = {k: None if v is None else xp.full_like(y_pred, v) for k, v in self._prepared.items()}
        values = self.loss._elementwise(xp, y_true, y_pred, **kw)
        if values.ndim >= 2 and not self.loss.reduces_last_axis:
            values = xp.mean(values, axis=-1)
        return values

    def get_config(self) -> dict:
        return {**super().get_config(), "loss": self.loss.name,
                "params": {k: json_safe(v) for k, v in self.loss.params.items()},
                "call_kwargs": dict(self.call_kwargs)}

    @classmethod
    def from_config(cls, config: dict) -> Loss:
        config = dict(config)
        loss = get_loss(config.pop("loss"), **config.pop("params", {}))
        return cls(loss, **config.pop("call_kwargs", {}), **config)

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in self.call_kwargs.items())
        return f"Loss({self.loss!r}, reduction={self.reduction!r}{extra})"
