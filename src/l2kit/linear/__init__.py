"""Linear models under any loss of the family: least squares, IRLS, quantile LP, GLMs, streaming."""

from ._fit import fit
from ._result import Fit

__all__ = ["Fit", "fit"]
