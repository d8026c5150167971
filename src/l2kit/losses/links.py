r"""Link functions between a linear predictor :math:`\eta` and a prediction :math:`\mu`.

A fitted linear model predicts :math:`\mu = g^{-1}(\eta)` with
:math:`\eta = \beta_0 + x^\top\beta`. Every solver, ``Fit.predict`` and the
diagnosis take the link from here, by name (``Fit.link`` and a loss's
``fit_links`` hold names), so each link is written once:

=========== ====================================== ===================================
name        :math:`\mu = g^{-1}(\eta)`              :math:`d\mu/d\eta`
=========== ====================================== ===================================
identity    :math:`\eta`                            1
log         :math:`e^\eta`                          :math:`e^\eta`
logit       :math:`\sigma(\eta) = 1/(1+e^{-\eta})`  :math:`\sigma(\eta)\,\sigma(-\eta)`
sphere      :math:`\eta/\|\eta\|` (last axis)       (not elementwise)
=========== ====================================== ===================================

The functions take the array namespace ``xp`` first (NumPy, PyTorch, JAX...),
like the loss kernels. :func:`sigmoid` and :func:`softplus` are the one
overflow-free implementation of the logistic function and
:math:`\log(1+e^x)` in l2kit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

from .._errors import InputError

__all__ = ["Link", "get_link", "available_links", "sigmoid", "softplus"]


def softplus(xp, x):
    """``log(1 + exp(x))`` without overflow: ``max(x, 0) + log1p(exp(-|x|))``.

    Examples
    --------
    >>> import numpy as np
    >>> [float(v) for v in softplus(np, np.array([-800.0, 0.0, 800.0]))]
    [0.0, 0.6931471805599453, 800.0]
    """
    return xp.maximum(x, xp.zeros_like(x)) + xp.log1p(xp.exp(-xp.abs(x)))


def sigmoid(xp, x):
    """Logistic function, overflow-free on both tails (no inf in either branch of ``where``).

    Examples
    --------
    >>> import numpy as np
    >>> [float(v) for v in sigmoid(np, np.array([-800.0, 0.0, 800.0]))]
    [0.0, 0.5, 1.0]
    """
    z = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + z), z / (1 + z))


@dataclass(frozen=True)
class Link:
    """A link: ``inverse`` maps the linear predictor to the prediction, ``mu_eta`` is its derivative."""

    name: ClassVar[str] = ""
    #: whether ``inverse`` acts element by element (``mu_eta`` is then defined)
    elementwise: ClassVar[bool] = True
    #: the open interval of valid predictions (for starting values)
    mean_range: ClassVar[tuple[float, float]] = (-math.inf, math.inf)

    def link(self, xp, mu):  # pragma: no cover - abstract
        """The linear predictor :math:`\\eta = g(\\mu)` of a prediction."""
        raise NotImplementedError

    def inverse(self, xp, eta):  # pragma: no cover - abstract
        """The prediction :math:`\\mu = g^{-1}(\\eta)`."""
        raise NotImplementedError

    def mu_eta(self, xp, eta):  # pragma: no cover - abstract
        """:math:`d\\mu/d\\eta`, element by element."""
        raise NotImplementedError


@dataclass(frozen=True)
class Identity(Link):
    name = "identity"

    def link(self, xp, mu):
        return mu

    def inverse(self, xp, eta):
        return eta

    def mu_eta(self, xp, eta):
        return xp.ones_like(eta)


@dataclass(frozen=True)
class Log(Link):
    name = "log"
    mean_range = (0.0, math.inf)

    def link(self, xp, mu):
        return xp.log(mu)

    def inverse(self, xp, eta):
        return xp.exp(eta)

    def mu_eta(self, xp, eta):
        return xp.exp(eta)


@dataclass(frozen=True)
class Logit(Link):
    name = "logit"
    mean_range = (0.0, 1.0)

    def link(self, xp, mu):
        return xp.log(mu) - xp.log1p(-mu)

    def inverse(self, xp, eta):
        return sigmoid(xp, eta)

    def mu_eta(self, xp, eta):
        return sigmoid(xp, eta) * sigmoid(xp, -eta)


@dataclass(frozen=True)
class Sphere(Link):
    """The direction of the predictor, :math:`\\eta/\\|\\eta\\|` over the last axis (Geodesic fits)."""

    name = "sphere"
    elementwise = False

    def link(self, xp, mu):
        return mu

    def inverse(self, xp, eta):
        norm = xp.sqrt(xp.sum(eta * eta, axis=-1, keepdims=True))
        if not bool(xp.all(norm > 0)):
            raise InputError("X", "rows whose linear predictor is non-zero", "a zero predictor (no direction)",
                             "these rows have no predicted direction; drop them")
        return eta / norm


_LINKS: dict[str, Link] = {cls.name: cls() for cls in (Identity, Log, Logit, Sphere)}


def available_links() -> tuple[str, ...]:
    """Names of the links, sorted.

    Examples
    --------
    >>> available_links()
    ('identity', 'log', 'logit', 'sphere')
    """
    return tuple(sorted(_LINKS))


def get_link(name: Any) -> Link:
    """The link called ``name``.

    Examples
    --------
    >>> import numpy as np
    >>> float(get_link("log").inverse(np, np.array(0.0)))
    1.0
    >>> get_link("probit")
    Traceback (most recent call last):
    ...
    l2kit._errors.InputError: link: expected one of 'identity', 'log', 'logit', 'sphere', got 'probit'. Fix: ...
    """
    if isinstance(name, Link):
        return name
    try:
        return _LINKS[name]
    except (KeyError, TypeError):
        raise InputError("link", "one of " + ", ".join(map(repr, available_links())), repr(name),
                         "pass one of those names") from None
