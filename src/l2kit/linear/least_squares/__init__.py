"""Least squares: OLS, WLS, GLS, ridge and the elastic net in memory; chunked and Dask fits from mergeable states.

* :func:`fit_least_squares` — the in-memory solver behind ``l2kit.fit`` for ``Squared()``;
* :func:`enet_path` / :func:`cross_validate` — lasso, elastic-net and ridge paths and K-fold CV;
* :func:`fit_chunks` / :func:`fit_dask` — one pass over chunks or Dask blocks, merging
  :class:`GramState` summaries (:func:`reduce_chunks` and :func:`fit_reduced` are its two halves, for
  parts of a table reduced on threads of their own);
* :func:`lstsq`, :func:`centred_gram`, :func:`solve_normal_equations` — the direct solvers underneath.
"""

from ..._lazy import lazy_attributes
from ._direct import CollinearityWarning, lstsq
from ._gram import centred_gram, gram_inverse, solve_normal_equations
from .state import GramState, solve_state
from .stream import Reduced, fit_chunks, fit_reduced, reduce_chunks

__all__ = ["CollinearityWarning", "GramState", "PenaltyPath", "Reduced", "centred_gram", "cross_validate",
           "enet_path", "fit_chunks", "fit_dask", "fit_least_squares", "fit_reduced", "gram_inverse", "lstsq",
           "reduce_chunks", "solve_normal_equations", "solve_state"]


# the in-memory solver, the penalty paths and the Dask fit load on first use: a streamed fit
# (`l2kit fit` on a large file) needs only the chunk states above
__getattr__ = lazy_attributes(__name__, {"PenaltyPath": ".path", "cross_validate": ".path", "enet_path": ".path",
                                         "fit_dask": ".dask", "fit_least_squares": ".solver"})
