"""The generic solver: any smooth loss through a link, by trust-region Newton or L-BFGS, with sandwich errors."""

from .solver import fit_gradient

__all__ = ["fit_gradient"]
