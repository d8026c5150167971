"""Geometry for losses that live on manifolds: :mod:`l2kit.geometry.sphere` (the unit sphere).

Also reachable as ``l2kit.sphere`` (``l2.sphere.project(...)``).
"""

from . import sphere

__all__ = ["sphere"]
