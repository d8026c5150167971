"""Base classes of the loss family.

A loss is a small, immutable, hashable dataclass. Subclasses supply only an
elementwise kernel; validation and reduction live here, written once.

* :class:`Loss` — any loss of ``(y_true, y_pred)``.
* :class:`ResidualLoss` — a loss of the residual ``r = y_true - y_pred`` alone,
  with ``rho``, ``psi = rho'``, ``psi_prime = rho''`` and ``weight = psi(r)/r``
  (finite at 0), as used by IRLS and sandwich standard errors.

Properties are declared as data (``convex``, ``smooth``, ``redescending``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np

from .._array import array_namespace, compute_dtype, is_traced, validate_pair
from .._errors import InputError
from ._reduce import check_reduction, reduce


@dataclass(frozen=True)
class Loss:
    """Base class of every loss.

    Subclasses set the class data below and implement :meth:`_elementwise`
    (and :meth:`_grad` for the analytic gradient).
    """

    name: ClassVar[str] = ""
    aliases: ClassVar[tuple[str, ...]] = ()
    convex: ClassVar[bool] = True
    smooth: ClassVar[bool] = True
    redescending: ClassVar[bool] = False
    allow_complex: ClassVar[bool] = False
    #: the loss reduces over the last axis (one value per row), e.g. Mahalanobis
    reduces_last_axis: ClassVar[bool] = False
    #: keyword arguments accepted by ``__call__``/``grad`` besides weights
    call_kwargs: ClassVar[tuple[str, ...]] = ()
    #: those of ``call_kwargs`` without a default (``l2kit.fit`` needs them in ``loss_kwargs``)
    required_call_kwargs: ClassVar[tuple[str, ...]] = ()
    #: which solver family ``l2kit.fit`` uses: "least_squares", "irls", "linprog", "glm", "gradient",
    #: or None (a loss for scoring and gradients only)
    fit_family: ClassVar[str | None] = None
    #: links (:mod:`l2kit.losses.links`) ``l2kit.fit`` may put between the linear predictor and
    #: ``y_pred``; the first is the default ("logit" keeps probabilities in (0, 1))
    fit_links: ClassVar[tuple[str, ...]] = ("identity",)
    #: a fused ``torch.nn.functional`` kernel with the same elementwise values, and the loss parameters it
    #: takes (attribute -> torch keyword): real torch tensors then take one native pass (and its backward)
    #: instead of one pass and one temporary per elementwise operation
    torch_kernel: ClassVar[tuple[str, dict[str, str]] | None] = None

    # -- public API -------------------------------------------------------
    def __call__(self, y_true: Any, y_pred: Any, *, weights: Any = None, reduction: str = "mean", **kwargs: Any):
        """Loss of ``y_pred`` against ``y_true``, reduced by ``reduction``.

        Parameters
        ----------
        y_true, y_pred : array
            Same shape, one array library (NumPy, PyTorch, JAX, CuPy, ...).
        weights : array, optional
            Case weights of the elementwise loss's shape, or one per sample
            (first axis). The weighted mean is ``sum(w * l) / sum(w)``.
        reduction : {"mean", "sum", "none"}
        """
        check_reduction(reduction)
        if self.torch_kernel is not None and weights is None and not kwargs and _same_torch_floats(y_true, y_pred):
            # the lean path: two float32/float64 tensors of one shape, dtype and device are valid as they are
            return self._torch_fused(y_pred, y_true, reduction)
        v = self._validate(y_true, y_pred, weights, kwargs)
        if self.torch_kernel is not None and v.xp.__name__ == "array_api_compat.torch" and not kwargs \
                and not v.xp.isdtype(v.y_true.dtype, "complex floating"):
            if v.weights is None and reduction != "none":
                return reduce(v.xp, self._torch_fused(v.y_pred, v.y_true, reduction), None, "none", v.result_dtype)
            values = self._torch_fused(v.y_pred, v.y_true, "none")
        else:
            values = self._elementwise(v.xp, v.y_true, v.y_pred, **self._prepare_kwargs(v, kwargs))
        return reduce(v.xp, values, v.weights, reduction, v.result_dtype)

    def grad(self, y_true: Any, y_pred: Any, **kwargs: Any):
        """Elementwise derivative of the loss with respect to ``y_pred``.

        For complex input this is the conjugate-Wirtinger gradient that torch
        autograd produces, :math:`\\partial\\ell/\\partial\\Re + i\\,\\partial\\ell/\\partial\\Im`.
        """
        v = self._validate(y_true, y_pred, None, kwargs)
        g = self._grad(v.xp, v.y_true, v.y_pred, **self._prepare_kwargs(v, kwargs))
        if g.dtype != v.result_dtype and not v.xp.isdtype(v.result_dtype, "complex floating"):
            g = v.xp.astype(g, v.result_dtype)
        return g

    def _torch_fused(self, y_pred, y_true, reduction: str):
        """The loss by its fused ``torch.nn.functional`` kernel (see :attr:`torch_kernel`)."""
        import torch.nn.functional as F

        name, params = self.torch_kernel
        return getattr(F, name)(y_pred, y_true, reduction=reduction, **{k: getattr(self, a) for a, k in params.items()})

    @property
    def params(self) -> dict[str, Any]:
        """The loss's parameters, as passed to :func:`l2kit.get_loss`."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """:attr:`params`, under scikit-learn's name: an estimator holding the loss then lists them as
        ``loss__<name>`` (``l2kit.sklearn.Regressor.set_params`` replaces the immutable loss)."""
        return self.params

    # -- what solvers need, declared by the loss --------------------------
    @property
    def default_link(self) -> str:
        """The link ``l2kit.fit`` uses unless told otherwise: ``fit_links[0]``."""
        return self.fit_links[0]

    @property
    def takes_linear_predictor(self) -> bool:
        """Whether ``y_pred`` is the linear predictor itself under a non-identity link.

        True for ``Focal(logits=True)``: the solver then passes :math:`\\eta`
        (the stable form) instead of :math:`g^{-1}(\\eta)`.
        """
        return False

    def likelihood_factor(self, y_true: Any) -> float | None:
        """``c`` such that ``c * loss + nll_constant`` is the negative log-likelihood of one observation.

        None when the loss is not a likelihood for these targets; solvers then
        report no ``loglike`` and use sandwich standard errors.
        """
        return None

    @property
    def nll_constant(self) -> float:
        """Per-observation constant left out of the loss value (see :meth:`likelihood_factor`)."""
        return 0.0

    # -- hooks for subclasses ---------------------------------------------
    def _validate(self, y_true, y_pred, weights, kwargs):
        unknown = set(kwargs) - set(self.call_kwargs)
        if unknown:
            accepted = ", ".join(self.call_kwargs) or "none besides weights and reduction"
            raise InputError("keyword arguments", f"keywords of {type(self).__name__} ({accepted})",
                             ", ".join(sorted(unknown)), "remove the unknown keywords")
        v = validate_pair(y_true, y_pred, weights=weights, allow_complex=self.allow_complex,
                          weight_shape=self._weight_shape(y_true))
        if not is_traced(v.y_true) and not is_traced(v.y_pred):  # values are unknown while JAX traces
            self._check_domain(v.xp, v.y_true, v.y_pred)
        return v

    def _weight_shape(self, y_true) -> tuple | None:
        """The elementwise loss's shape when it differs from the inputs' (losses over the last axis)."""
        if not self.reduces_last_axis:
            return None
        try:
            return tuple(np.shape(y_true))[:-1]
        except ValueError:   # a ragged sequence: validate_pair refuses it with the library's error
            return None

    def _check_domain(self, xp, y_true, y_pred) -> None:
        """Refuse values outside the loss's domain (counts, probabilities...)."""

    def _prepare_kwargs(self, v, kwargs: dict) -> dict:
        """Validate and convert extra call keywords (e.g. ``var=``) into the compute dtype."""
        return kwargs

    def _elementwise(self, xp, y_true, y_pred, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError

    def _grad(self, xp, y_true, y_pred, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def _example(cls, rng: np.random.Generator, n: int = 7):
        """An instance and valid inputs for generated tests: ``(loss, y_true, y_pred, kwargs)``."""
        return cls(), rng.normal(size=n), rng.normal(size=n), {}


@dataclass(frozen=True)
class ResidualLoss(Loss):
    """A loss of the residual ``r = y_true - y_pred`` alone: ``l = rho(r)``."""

    fit_family: ClassVar[str | None] = "irls"
    #: parameters of the same loss that make it the bounded rho of a 50 %-breakdown S-estimator (with the
    #: right-hand side b = sup(rho) / 2), as robustbase's ``tuning.chi``; None where rho is unbounded.
    #: ``l2kit.fit(..., method="mm")`` needs it.
    s_tuning: ClassVar[dict[str, float] | None] = None

    # -- residual functions (public; one xp resolution each) --------------
    def rho(self, r: Any):
        """The loss as a function of the residual."""
        xp, r, dtype = self._residual(r)
        return _cast(xp, self._rho(xp, r), dtype)

    def psi(self, r: Any):
        """Influence function, ``psi(r) = rho'(r)``."""
        xp, r, dtype = self._residual(r)
        return _cast(xp, self._psi(xp, r), dtype)

    def psi_prime(self, r: Any):
        """``psi'(r) = rho''(r)`` (used by sandwich standard errors)."""
        xp, r, dtype = self._residual(r)
        return _cast(xp, self._psi_prime(xp, r), dtype)

    def weight(self, r: Any):
        """IRLS weight ``psi(r) / r``, with its finite limit at ``r = 0``."""
        xp, r, dtype = self._residual(r)
        return _cast(xp, self._weight(xp, r), dtype)

    def _residual(self, r):
        xp = array_namespace(r)
        if not hasattr(r, "dtype"):
            r = xp.asarray(r)
        compute, result = compute_dtype(xp, r, allow_complex=self.allow_complex, argnames=("r",))
        if r.dtype != compute:
            r = xp.astype(r, compute)
        return xp, r, result

    # -- kernels ----------------------------------------------------------
    def _elementwise(self, xp, y_true, y_pred, **kwargs):
        return self._rho(xp, y_true - y_pred)

    def _grad(self, xp, y_true, y_pred, **kwargs):
        return -self._psi(xp, y_true - y_pred)

    def _rho(self, xp, r):  # pragma: no cover - abstract
        raise NotImplementedError

    def _psi(self, xp, r):  # pragma: no cover - abstract
        raise NotImplementedError

    def _psi_prime(self, xp, r):  # pragma: no cover - abstract
        raise NotImplementedError

    def _weight(self, xp, r):  # pragma: no cover - abstract
        raise NotImplementedError


def _same_torch_floats(a, b) -> bool:
    """Two torch float32/float64 tensors of one non-empty shape, dtype and device (nothing to convert)."""
    return (type(a) is type(b) and type(a).__module__ == "torch" and a.dtype == b.dtype and a.is_floating_point()
            and a.dtype.itemsize >= 4 and a.shape == b.shape and a.numel() > 0 and a.device == b.device)


def _cast(xp, out, dtype):
    """Return ``out`` in the input's result dtype (float16 in, float16 out; complex untouched)."""
    if out.dtype != dtype and not xp.isdtype(dtype, "complex floating") and not xp.isdtype(
            out.dtype, "complex floating"):
        out = xp.astype(out, dtype)
    return out
