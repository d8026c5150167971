"""The loss family: one small immutable class per loss, and a registry.

Importing a module registers its losses; :func:`get_loss` builds one by
name. To add a loss: write its class in one module (decorated with
``@register``), import the module below and add its names to ``__all__``.
"""

from ._base import Loss, ResidualLoss
from ._glm import GLMLoss
from ._registry import available_losses, get_loss, loss_classes, register
from .counts import ZINB, NegativeBinomialNLL, PoissonNLL
from .focal import Focal, HeatmapFocal, HeatmapMSE
from .geodesic import Geodesic
from .glm_families import Binomial, GammaNLL, Tweedie
from .likelihood import GaussianNLL
from .links import Link, available_links, get_link
from .mahalanobis import Mahalanobis, whiten
from .robust import Absolute, Cauchy, Huber, LogCosh, PseudoHuber, Quantile, SmoothL1, Tukey
from .squared import Squared

__all__ = [
    "Absolute", "Binomial", "Cauchy", "Focal", "GLMLoss", "GammaNLL", "GaussianNLL", "Geodesic", "HeatmapFocal",
    "HeatmapMSE", "Huber", "Link", "LogCosh", "Loss", "Mahalanobis", "NegativeBinomialNLL", "PoissonNLL",
    "PseudoHuber", "Quantile", "ResidualLoss", "SmoothL1", "Squared", "Tukey", "Tweedie", "ZINB", "available_links",
    "available_losses", "get_link", "get_loss", "loss_classes", "register", "whiten",
]
