"""Keras 3 adapter: l2kit losses and metrics inside ``model.compile`` on every Keras backend.

``import l2kit.keras`` imports Keras (``import l2kit`` does not). :class:`Loss` wraps any registry
loss as a ``keras.losses.Loss``; :class:`Metric` computes l2kit's regression metrics as a stateful
``keras.metrics.Metric``. Both are registered serializable (package ``"l2kit"``).
"""

from ._loss import Loss
from ._metric import Metric

__all__ = ["Loss", "Metric"]
