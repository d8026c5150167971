"""The loss family: one small immutable class per loss, and a registry.

Import order registers every loss; :func:`get_loss` builds one by name.
To add a module, append one import line and one ``__all__ +=`` line below.
"""

from ._base import Loss, ResidualLoss
from ._registry import available_losses, get_loss, loss_classes, register
from .squared import Squared

__all__ = ["Loss", "ResidualLoss", "Squared", "available_losses", "get_loss", "loss_classes", "register"]

# one block per module (append yours; keep each self-contained)
from .robust import Absolute, Cauchy, Huber, LogCosh, PseudoHuber, Quantile, SmoothL1, Tukey  # noqa: E402
__all__ += ["Absolute", "Cauchy", "Huber", "LogCosh", "PseudoHuber", "Quantile", "SmoothL1", "Tukey"]
from .likelihood import GaussianNLL, NegativeBinomialNLL, PoissonNLL, ZINB  # noqa: E402  (issue 5)
__all__ += ["GaussianNLL", "NegativeBinomialNLL", "PoissonNLL", "ZINB"]  # noqa: E305
from .focal import Focal, HeatmapFocal, HeatmapMSE  # noqa: E402  (issue 5)
__all__ += ["Focal", "HeatmapFocal", "HeatmapMSE"]
from .mahalanobis import Mahalanobis, whiten  # noqa: E402
__all__ += ["Mahalanobis", "whiten"]
from .geodesic import Geodesic  # noqa: E402  (issue 7)
__all__ += ["Geodesic"]  # noqa: E305
