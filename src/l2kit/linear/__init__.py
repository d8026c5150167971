"""Linear models under any loss of the family: least squares, IRLS, quantile LP, GLMs, the generic solver.

:func:`fit` routes to the solver family the loss declares (``loss.fit_family``);
each family is a sub-package (:mod:`.least_squares`, :mod:`.penalized`,
:mod:`.robust`, :mod:`.glm`, :mod:`.gradient`) built on the shared pieces here
(:mod:`._design`, :mod:`._result`, :mod:`._linalg`, :mod:`._scale`,
:mod:`._inference`).
"""

from typing import Any

from .._errors import CollinearityWarning
from .._status import Status
from ._api import fit
from ._chunked import WeightedGramState
from ._result import Fit

__all__ = ["CollinearityWarning", "Fit", "PenaltyPath", "Status", "WeightedGramState", "enet_path", "fit",
           "fit_quantiles"]


def __getattr__(name: str) -> Any:
    # the path and the quantile solvers load on first use: importing every family up front made `l2kit fit`
    # on a streamed file pay for all of them (and scipy) before reading a row
    if name in ("PenaltyPath", "enet_path"):
        from .least_squares import path as module
    elif name == "fit_quantiles":
        from .robust import quantile as module
    else:
        raise AttributeError(f"module 'l2kit.linear' has no attribute {name!r}")
    value = getattr(module, name)
    globals()[name] = value
    return value
