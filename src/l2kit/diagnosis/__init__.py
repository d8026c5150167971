"""Diagnostics that say which loss your data wants: ``l2kit.diagnose(X, y)``.

Fits the data under squared error and its credible alternatives, tests the
Gaussian story (normality, heavy tails, heteroscedasticity, influence,
overdispersion, zero inflation), cross-validates every candidate, and
recommends a loss with reasons that cite the numbers. ``Diagnosis.to_html``
writes a self-contained HTML report (matplotlib and jinja2, imported lazily).
"""

from ._core import Diagnosis, diagnose
from ._recommendation import Recommendation
from .crossval import CVScore
from .influence import Influence, influence
from .tests import breusch_pagan, heavy_tails, jarque_bera, overdispersion, qq, zero_inflation

__all__ = ["CVScore", "Diagnosis", "Influence", "Recommendation", "breusch_pagan", "diagnose", "heavy_tails",
           "influence", "jarque_bera", "overdispersion", "qq", "zero_inflation"]
