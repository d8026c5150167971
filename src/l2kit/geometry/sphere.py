r"""Geometry of the unit sphere :math:`S^{d-1} = \{u \in \mathbb{R}^d : \|u\| = 1\}` (last axis).

The tools a squared-angle fit needs: :func:`project` onto the sphere,
:func:`tangent` (projection onto the tangent space), :func:`retract` (step
along a tangent vector and come back to the sphere), the exponential and
logarithm maps :func:`exp` and :func:`log`, and the geodesic :func:`distance`
(the angle). All work over the last axis in any array-API library (NumPy,
PyTorch, JAX, ...), so they compose with autograd.

The angle is computed as :math:`2\,\mathrm{atan2}(\|u - v\|, \|u + v\|)`,
accurate to rounding for every angle; ``arccos(u·v)`` loses half the digits
near 0 and π.
"""

from __future__ import annotations

from typing import Any

from .._array import array_namespace, compute_dtype
from .._errors import InputError

__all__ = ["distance", "exp", "log", "project", "retract", "tangent"]


def _prep(*arrays: Any, names: tuple[str, ...]):
    xp = array_namespace(*arrays)
    out = []
    for a, name in zip(arrays, names):
        if not hasattr(a, "shape"):
            a = xp.asarray(a)
        if a.ndim == 0 or a.shape[-1] < 1:
            raise InputError(name, "vectors along the last axis", f"shape {tuple(a.shape)}",
                             "pass an array of shape (..., d)")
        out.append(a)
    compute, _ = compute_dtype(xp, *out, allow_complex=False, argnames=names)
    out = [xp.astype(a, compute) if a.dtype != compute else a for a in out]
    shapes = {tuple(a.shape) for a in out}
    if len(shapes) > 1:
        raise InputError(names[1], f"shape {tuple(out[0].shape)} like {names[0]}", f"shape {tuple(out[1].shape)}",
                         "pass arrays of the same shape (l2kit never broadcasts them)")
    return xp, out


def _norm(xp, a):
    return xp.sqrt(xp.sum(a * a, axis=-1, keepdims=True))


def project(x: Any) -> Any:
    r"""Nearest point on the unit sphere: :math:`x / \|x\|` over the last axis.

    Zero vectors have no nearest point and are refused.

    Examples
    --------
    >>> import numpy as np
    >>> project(np.array([3.0, 4.0]))
    array([0.6, 0.8])
    """
    xp, (x,) = _prep(x, names=("x",))
    n = _norm(xp, x)
    if not bool(xp.all(n > 0)):
        raise InputError("x", "non-zero vectors", "a zero vector", "drop zero rows or add a tiny offset first")
    if not bool(xp.all(xp.isfinite(n))):
        raise InputError("x", "finite vectors", "NaN/inf entries", "clean the input")
    return x / n


def tangent(x: Any, v: Any) -> Any:
    r"""Project ``v`` onto the tangent space at unit ``x``: :math:`v - (x\cdot v)\,x`.

    Examples
    --------
    >>> import numpy as np
    >>> tangent(np.array([0.0, 0.0, 1.0]), np.array([1.0, 2.0, 3.0]))
    array([1., 2., 0.])
    """
    xp, (x, v) = _prep(x, v, names=("x", "v"))
    return v - xp.sum(x * v, axis=-1, keepdims=True) * x


def retract(x: Any, v: Any) -> Any:
    r"""Retraction :math:`R_x(v) = (x + v) / \|x + v\|`: a first-order step along tangent ``v``.

    Cheaper than :func:`exp` and agrees with it to second order in ``v``;
    Riemannian gradient descent steps ``x <- retract(x, -lr * grad)``.

    Examples
    --------
    >>> import numpy as np
    >>> np.round(retract(np.array([1.0, 0.0]), np.array([0.0, 1.0])), 6)
    array([0.707107, 0.707107])
    """
    xp, (x, v) = _prep(x, v, names=("x", "v"))
    return project(x + v)


def exp(x: Any, v: Any) -> Any:
    r"""Exponential map: follow the great circle from ``x`` in direction ``v`` for length ``|v|``.

    :math:`\exp_x(v) = \cos(\|v\|)\,x + \sin(\|v\|)\,v/\|v\|`.

    Examples
    --------
    >>> import numpy as np
    >>> np.round(exp(np.array([1.0, 0.0]), np.array([0.0, np.pi / 2])), 12)
    array([0., 1.])
    """
    xp, (x, v) = _prep(x, v, names=("x", "v"))
    t = _norm(xp, v)
    safe = xp.where(t > 0, t, xp.ones_like(t))
    # sin(t)/t -> 1 as t -> 0
    sinc = xp.where(t > 0, xp.sin(safe) / safe, xp.ones_like(t))
    return xp.cos(t) * x + sinc * v


def log(x: Any, y: Any) -> Any:
    r"""Logarithm map: the tangent vector at ``x`` pointing to ``y`` with length ``angle(x, y)``.

    Inverse of :func:`exp` for angles below π. At antipodal points the
    direction is undefined and a zero vector is returned.

    Examples
    --------
    >>> import numpy as np
    >>> np.round(log(np.array([1.0, 0.0]), np.array([0.0, 1.0])), 12)
    array([0.      , 1.570796])
    """
    xp, (x, y) = _prep(x, y, names=("x", "y"))
    theta = _angle(xp, x, y)
    w = _tangent_direction(xp, x, y)
    nw = _norm(xp, w)
    safe = xp.where(nw > 0, nw, xp.ones_like(nw))
    ratio = xp.where(nw > 0, theta / safe, xp.ones_like(nw))
    return ratio * w


def distance(x: Any, y: Any) -> Any:
    r"""Geodesic distance (the angle in radians) between unit vectors, over the last axis.

    Examples
    --------
    >>> import numpy as np
    >>> float(distance(np.array([1.0, 0.0]), np.array([0.0, 1.0]))) == np.pi / 2
    True
    """
    xp, (x, y) = _prep(x, y, names=("x", "y"))
    return _angle(xp, x, y)[..., 0]


# -- kernels (inputs trusted: unit vectors, same shape, compute dtype) ------
def _angle(xp, x, y):
    """Angle with a trailing axis of size 1: 2 atan2(|x - y|, |x + y|) (Kahan), stable at 0 and π."""
    return 2 * xp.atan2(_norm(xp, x - y), _norm(xp, x + y))


def _tangent_direction(xp, x, y):
    """y - (x·y) x, written as (y - x) + (1 - x·y) x so that it stays accurate when y -> x."""
    d = y - x
    one_minus_cos = 0.5 * xp.sum(d * d, axis=-1, keepdims=True)  # 1 - x·y for unit vectors
    return d + one_minus_cos * x
