r"""Squared geodesic (great-circle) distance between unit vectors, over the last axis."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._errors import InputError
from ..geometry.sphere import _angle, _norm, _tangent_direction
from ._base import Loss
from ._registry import register

__all__ = ["Geodesic"]


@register
@dataclass(frozen=True)
class Geodesic(Loss):
    r"""Squared angle between directions: :math:`\ell(t, p) = \theta(t, p)^2`, over the last axis.

    .. math::
        \theta = 2\,\mathrm{atan2}\bigl(\|\hat t - \hat p\|, \|\hat t + \hat p\|\bigr),
        \qquad \hat u = u / \|u\|

    the great-circle distance in radians on the unit sphere, computed stably
    for every angle (``arccos`` of the dot product loses half the digits
    near 0 and π). It is the L2 loss of the sphere's own geometry: near the
    target it equals the Euclidean :class:`Squared` row sum to second order.

    Inputs are meant to be unit vectors (see :func:`l2kit.sphere.project`);
    since only directions matter, non-unit non-zero vectors are accepted and
    measured by their directions. Zero vectors are refused.

    :meth:`grad` returns the **Riemannian gradient** at ``y_pred``,

    .. math::
        \operatorname{grad}_p \ell = -2\,\theta\,\frac{w}{\|w\|}\,\frac{1}{\|p\|},
        \qquad w = \hat t - (\hat t\cdot\hat p)\,\hat p,

    i.e. :math:`-2\log_p(t)` for unit ``p``: tangent to the sphere at
    ``y_pred`` (orthogonal to it) with length :math:`2\theta`. Because the
    loss depends on directions only, this is also its Euclidean gradient, so
    finite differences and autograd agree with it. Riemannian gradient
    descent steps ``p <- l2.sphere.retract(p, -lr * grad)``. At exactly
    antipodal points the direction is undefined; the gradient there has the
    right length and an arbitrary tangent direction, or is zero.

    ``reduction="none"`` returns one value per vector (shape
    ``y.shape[:-1]``); ``weights`` are one per vector.

    ``l2kit.fit(X, Y, loss=Geodesic())`` with unit-vector targets ``Y`` of
    shape (n, d) fits directions :math:`\eta/\|\eta\|`,
    :math:`\eta = \beta_0 + B^\top x` (``link="sphere"``; ``predict``
    returns unit vectors). The loss sees directions only, so the scale of
    ``B`` is not identified: the fit reports the representative whose
    predictors have weighted mean :math:`\|\eta_i\|^2 = 1`, and standard
    errors for that normalised estimate. For directions that are not linear
    in ``x``, use Riemannian gradient descent (``examples/sphere_geometry.py``).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([[1.0, 0.0, 0.0]])
    >>> p = np.array([[0.0, 1.0, 0.0]])
    >>> float(Geodesic()(t, p)) == (np.pi / 2) ** 2
    True
    >>> g = Geodesic().grad(t, p)
    >>> np.round(g, 6), float(np.dot(g[0], p[0]))
    (array([[-3.141593, -0.      , -0.      ]]), 0.0)
    """

    name = "geodesic"
    aliases = ("angle", "great_circle", "squared_angle")
    convex = False  # geodesically convex only on hemispheres
    smooth = True
    redescending = False
    reduces_last_axis = True
    fit_family = "gradient"
    fit_links = ("sphere",)

    def _check_domain(self, xp, y_true, y_pred) -> None:
        if y_true.ndim == 0:
            raise InputError("y_true", "vectors along the last axis, shape (..., d)", "a scalar",
                             "pass unit vectors of shape (n, d)")
        for name, a in (("y_true", y_true), ("y_pred", y_pred)):
            n = _norm(xp, a)
            if not bool(xp.all(xp.isfinite(n))):
                raise InputError(name, "finite vectors", "NaN/inf entries", "clean the input")
            if not bool(xp.all(n > 0)):
                raise InputError(name, "non-zero vectors (directions)", "a zero vector",
                                 "drop zero rows; a zero vector has no direction")

    def _elementwise(self, xp, y_true, y_pred, **kw):
        t = y_true / _norm(xp, y_true)
        p = y_pred / _norm(xp, y_pred)
        theta = _angle(xp, p, t)[..., 0]
        return theta * theta

    def _grad(self, xp, y_true, y_pred, **kw):
        npred = _norm(xp, y_pred)
        t = y_true / _norm(xp, y_true)
        p = y_pred / npred
        theta = _angle(xp, p, t)
        w = _tangent_direction(xp, p, t)
        nw = _norm(xp, w)
        safe = xp.where(nw > 0, nw, xp.ones_like(nw))
        ratio = xp.where(nw > 0, theta / safe, xp.ones_like(nw))  # theta / sin(theta) -> 1 at theta = 0
        return (-2 * ratio / npred) * w

    @classmethod
    def _example(cls, rng, n=7):
        t = rng.normal(size=(n, 3))
        p = t + 0.5 * rng.normal(size=(n, 3))  # angles well away from 0 and π
        t /= np.linalg.norm(t, axis=-1, keepdims=True)
        p /= np.linalg.norm(p, axis=-1, keepdims=True)
        return cls(), t, p, {}
