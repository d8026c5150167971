"""Linear models under any loss of the family: least squares, IRLS, quantile LP, GLMs, the generic solver.

:func:`fit` routes to the solver family the loss declares (``loss.fit_family``);
each family is a sub-package (:mod:`.least_squares`, :mod:`.penalized`,
:mod:`.robust`, :mod:`.glm`, :mod:`.gradient`) built on the shared pieces here
(:mod:`._design`, :mod:`._result`, :mod:`._linalg`, :mod:`._scale`,
:mod:`._inference`).
"""

from .._errors import CollinearityWarning
from .._lazy import lazy_attributes
from .._status import Status
from ._api import fit
from ._chunked import WeightedGramState
from ._result import Fit

__all__ = ["CollinearityWarning", "Fit", "PenaltyPath", "Status", "WeightedGramState", "enet_path", "fit",
           "fit_quantiles"]


# the path and the quantile solvers load on first use: importing every family up front made `l2kit fit`
# on a streamed file pay for all of them (and scipy) before reading a row
__getattr__ = lazy_attributes(__name__, {"PenaltyPath": ".least_squares.path", "enet_path": ".least_squares.path",
                                         "fit_quantiles": ".robust.quantile"})
