"""Robust regression: M-estimation by IRLS for any residual loss, the high-breakdown MM-estimator
(fast-S start), and exact quantile / L1 regression by LP."""

from ._lp import solve_quantile_globbed, solve_quantile_lp
from .distributed import fit_irls_source
from .irls import fit_irls
from .mm import fit_mm
from .quantile import fit_quantile

__all__ = ["fit_irls", "fit_irls_source", "fit_mm", "fit_quantile", "solve_quantile_globbed", "solve_quantile_lp"]
