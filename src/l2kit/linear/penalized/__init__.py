"""Penalised least squares: the elastic net by coordinate descent, and ridge penalty selection from one SVD.

These are engines below :mod:`l2kit.linear.least_squares`, which whitens the
problem (weights, GLS) and calls them.
"""

from .._linalg import single_blas_thread
from ._centred import NonFiniteData
from .enet import UPDATES, blas_threads_limit, duality_gap, enet_active_set, naive_min_p
from .ridge import default_alphas, ridge_path, select_alpha

__all__ = ["UPDATES", "NonFiniteData", "blas_threads_limit", "default_alphas", "duality_gap", "enet_active_set",
           "naive_min_p", "ridge_path", "select_alpha", "single_blas_thread"]
