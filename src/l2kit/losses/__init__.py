"""The loss family: one small immutable class per loss, and a registry.

Import order registers every loss; :func:`get_loss` builds one by name.
"""

from ._base import Loss, ResidualLoss
from ._registry import available_losses, get_loss, loss_classes, register
from .squared import Squared

__all__ = ["Loss", "ResidualLoss", "Squared", "available_losses", "get_loss", "loss_classes", "register"]
