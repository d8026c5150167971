"""Generalised linear models by Newton's method over the linear predictors a likelihood loss declares."""

from .distributed import fit_glm_source
from .newton import NewtonResult, inverse_negative, newton
from .solver import fit_glm

__all__ = ["NewtonResult", "fit_glm", "fit_glm_source", "inverse_negative", "newton"]
