"""l2kit: the L2 loss (squared error) and its whole family, fast, exact and honest.

Import as ``import l2kit as l2``. Heavy submodules load on first use, so
``import l2kit`` stays fast.

Examples
--------
>>> import numpy as np, l2kit as l2
>>> y = np.array([1.0, 2.0, 3.0, 100.0])
>>> float(l2.mse(y, np.full(4, 2.0)))
2401.5
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it (PEP 562 lazy attributes)
_LAZY = {
    "InputError": "l2kit._errors",
    # losses
    "Loss": "l2kit.losses", "ResidualLoss": "l2kit.losses", "get_loss": "l2kit.losses",
    "available_losses": "l2kit.losses", "Squared": "l2kit.losses", "Absolute": "l2kit.losses",
    "Huber": "l2kit.losses", "PseudoHuber": "l2kit.losses", "SmoothL1": "l2kit.losses",
    "LogCosh": "l2kit.losses", "Cauchy": "l2kit.losses", "Tukey": "l2kit.losses",
    "Quantile": "l2kit.losses", "Mahalanobis": "l2kit.losses", "whiten": "l2kit.losses",
    "GaussianNLL": "l2kit.losses", "PoissonNLL": "l2kit.losses", "NegativeBinomialNLL": "l2kit.losses",
    "ZINB": "l2kit.losses", "Focal": "l2kit.losses", "HeatmapFocal": "l2kit.losses",
    "HeatmapMSE": "l2kit.losses", "Geodesic": "l2kit.losses",
    # metrics
    "mse": "l2kit.metrics", "rmse": "l2kit.metrics", "mae": "l2kit.metrics", "r2": "l2kit.metrics",
    "explained_variance": "l2kit.metrics",
    # fitting
    "fit": "l2kit.linear", "Fit": "l2kit.linear",
    # diagnostics and applications
    "diagnose": "l2kit.diagnosis", "Diagnosis": "l2kit.diagnosis",
    "align": "l2kit.signal", "Alignment": "l2kit.signal",
    "LinearAutoencoder": "l2kit.autoencoder", "bias_variance": "l2kit.stats",
    "sphere": "l2kit.geometry",  # the module l2kit.geometry.sphere, under its public name
}
_SUBMODULES = {"losses", "metrics", "linear", "diagnosis", "datasets", "signal", "geometry", "sklearn",
               "torch", "autoencoder", "stats", "io"}

__all__ = sorted(_LAZY) + sorted(_SUBMODULES)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"l2kit.{name}")
    raise AttributeError(f"module 'l2kit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
