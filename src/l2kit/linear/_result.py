"""The immutable result of a fit (:class:`Fit`), what a solver returns (:class:`Estimates`), and the one builder.

Every solver computes an :class:`Estimates` (parameters with the intercept
first, their covariance, a :class:`~l2kit.Status` and its message) and
:func:`build_fit` turns it into a :class:`Fit`: splitting the intercept off,
standard errors from the covariance, names and the caller's array library
are written here once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from .._array import to_numpy
from .._errors import InputError
from .._status import Status
from ._design import Design

__all__ = ["Estimates", "Fit", "build_fit"]


def _frozen(a):
    if isinstance(a, np.ndarray):
        a = a.copy()
        a.flags.writeable = False
    return a


@dataclass
class Estimates:
    """What a solver returns: everything of a :class:`Fit` that the solver alone knows.

    ``params`` holds the intercept first when the fit has one, shape (k,) or
    (k, d) for a multi-output fit; ``cov`` is their (k, k) (or (k d, k d))
    covariance, None where inference is undefined.
    """

    params: np.ndarray
    status: Status
    message: str
    method: str
    cov: np.ndarray | None = None
    rank: int = 0
    scale: float = 1.0
    loglike: float | None = None
    residuals: np.ndarray | None = None
    n_obs: int = 0
    df_resid: float = math.nan
    n_iter: int = 0
    link: str = "identity"
    dist: str = "normal"
    cov_type: str = "nonrobust"
    alpha: float = 0.0
    l1_ratio: float = 0.0
    extra: dict = field(default_factory=dict)


def _stderr(cov: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray | None:
    if cov is None:
        return None
    return np.sqrt(np.clip(np.real(np.diag(cov)), 0, None)).reshape(shape)


def _scalar(v):
    v = np.asarray(v)
    if v.ndim:
        return v.copy()
    return complex(v) if np.iscomplexobj(v) else float(v)


def build_fit(est: Estimates, *, loss: Any, fit_intercept: bool, feature_names: tuple[str, ...] = (),
              backend: str = "numpy", like: Any = None) -> Fit:
    """Assemble the :class:`Fit` of a solver's :class:`Estimates` (the one place a Fit is built)."""
    params = np.asarray(est.params)
    se = _stderr(est.cov, params.shape)
    if fit_intercept:
        intercept, coef = _scalar(params[0]), params[1:]
        intercept_se = None if se is None else _scalar(se[0])
    else:
        intercept = 0.0 if params.ndim == 1 else np.zeros(params.shape[1])
        coef, intercept_se = params, None
    return Fit(coef=coef, intercept=intercept, stderr=None if se is None else (se[1:] if fit_intercept else se),
               intercept_stderr=intercept_se, cov_params=est.cov, rank=int(est.rank), scale=float(est.scale),
               loglike=None if est.loglike is None else float(est.loglike), status=est.status,
               message=est.message, n_iter=int(est.n_iter), residuals=est.residuals, n_obs=int(est.n_obs),
               df_resid=float(est.df_resid), loss=loss, method=est.method, fit_intercept=bool(fit_intercept),
               link=est.link, dist=est.dist, cov_type=est.cov_type, alpha=float(est.alpha),
               l1_ratio=float(est.l1_ratio), feature_names=tuple(feature_names), backend=backend,
               extra=est.extra, _like=like)


def build_design_fit(est: Estimates, design: Design, loss: Any, fit_intercept: bool) -> Fit:
    """:func:`build_fit` for an in-memory :class:`~l2kit.linear._design.Design` (names and library from it)."""
    return build_fit(est, loss=loss, fit_intercept=fit_intercept, feature_names=design.feature_names,
                     backend=design.backend, like=design.backend_like)


@dataclass(frozen=True, eq=False)
class Fit:
    """Result of :func:`l2kit.fit`. Immutable; arrays are read-only NumPy arrays.

    Attributes
    ----------
    coef : ndarray of shape (p,), or (p, d) for a multi-output fit (Mahalanobis)
    intercept : float or complex (0.0 without an intercept), or ndarray (d,)
    stderr : ndarray of shape (p,) or None
        Standard errors of ``coef`` (None where inference is undefined, e.g. lasso).
    intercept_stderr : float or None
    cov_params : ndarray of shape (p + 1, p + 1) or (p, p), or None
        Covariance of the estimates, intercept first when fitted.
    rank : int
        Numerical rank of the (centred) design.
    scale : float
        Residual variance for Squared (RSS / df_resid), the robust scale for
        IRLS fits, the dispersion for GLMs.
    loglike : float or None
        Log-likelihood at the estimate (Squared and likelihood losses).
    status : Status
        Why the solver stopped (:class:`l2kit.Status`).
    message : str
        A readable sentence on how the solver ended and what to do.
    converged : bool
        Derived from ``status``: true only when the solver met its tolerance
        (or solved the problem exactly); never at an iteration limit.
    n_iter : int
    residuals : ndarray of shape (n,) or None
        ``y - fitted`` on the response scale (None for streamed fits).
    n_obs : int
        Number of rows (sum of weights is in ``extra['sum_weights']`` when weighted).
    df_resid : float
    loss : Loss
    method : str
        The solver path actually used ("cholesky", "qr", "svd", "irls", ...).
    link : str
        Name of the link (:mod:`l2kit.losses.links`) from the linear predictor to the prediction.
    dist : {"t", "normal"}
        Reference distribution of ``conf_int`` and ``pvalues``.
    extra : mapping
        Solver specific values (theta, alphas, cross-validation curves...).
    """

    coef: np.ndarray
    intercept: Any
    stderr: np.ndarray | None
    intercept_stderr: Any
    cov_params: np.ndarray | None
    rank: int
    scale: float
    loglike: float | None
    status: Status
    message: str
    n_iter: int
    residuals: np.ndarray | None
    n_obs: int
    df_resid: float
    loss: Any
    method: str
    fit_intercept: bool = True
    link: str = "identity"
    dist: str = "t"
    cov_type: str = "nonrobust"
    alpha: float = 0.0
    l1_ratio: float = 0.0
    feature_names: tuple[str, ...] = ()
    backend: str = "numpy"
    extra: Mapping[str, Any] = field(default_factory=dict)
    _like: Any = field(default=None, repr=False)

    def __post_init__(self):
        if not isinstance(self.status, Status):
            raise TypeError(f"Fit.status must be an l2kit.Status, got {self.status!r}")
        for name in ("coef", "stderr", "cov_params", "residuals"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        object.__setattr__(self, "extra", MappingProxyType({k: _frozen(v) for k, v in dict(self.extra).items()}))
        if not self.feature_names:
            object.__setattr__(self, "feature_names", tuple(f"x{j}" for j in range(np.shape(self.coef)[0])))

    def __getstate__(self) -> dict:
        # MappingProxyType does not pickle: store a plain dict, re-freeze on load
        state = dict(self.__dict__)
        state["extra"] = dict(self.extra)
        return state

    def __setstate__(self, state: dict) -> None:
        for k, v in state.items():
            object.__setattr__(self, k, v)
        self.__post_init__()

    def __repr__(self) -> str:
        return (f"Fit(loss={self.loss!r}, method={self.method!r}, n_obs={self.n_obs}, rank={self.rank}, "
                f"status={self.status})")

    @property
    def converged(self) -> bool:
        """True only when the solver met its tolerance or solved the problem exactly (see :class:`l2kit.Status`)."""
        return self.status.converged

    # -- inference --------------------------------------------------------
    @property
    def params(self) -> np.ndarray:
        """Intercept (when fitted) followed by ``coef``."""
        if not self.fit_intercept:
            return np.asarray(self.coef)
        return np.concatenate([np.asarray(self.intercept)[None], self.coef])

    @property
    def bse(self) -> np.ndarray | None:
        """Standard errors aligned with :attr:`params`."""
        if self.stderr is None:
            return None
        if not self.fit_intercept:
            return self.stderr
        return np.concatenate([np.asarray(self.intercept_stderr)[None], self.stderr])

    @property
    def tvalues(self) -> np.ndarray | None:
        """``params / bse``."""
        bse = self.bse
        return None if bse is None else self.params / bse

    @property
    def pvalues(self) -> np.ndarray | None:
        """Two-sided p-values from the t (Squared) or normal distribution."""
        from scipy import stats

        t = self.tvalues
        if t is None:
            return None
        t = np.abs(np.real(t))
        if self.dist == "t" and self.df_resid > 0:
            return 2 * stats.t.sf(t, self.df_resid)
        return 2 * stats.norm.sf(t)

    def conf_int(self, level: float = 0.95) -> np.ndarray:
        """Confidence intervals for :attr:`params`, shape ``(k, 2)``.

        Uses the t distribution with ``df_resid`` degrees of freedom for
        squared-error fits (as statsmodels OLS) and the normal otherwise.
        For a multi-output fit (2-D ``coef``) the shape is ``(k, d, 2)``.
        """
        from scipy import stats

        if not 0 < level < 1:
            raise InputError("level", "a number in (0, 1)", repr(level), "pass e.g. level=0.95")
        bse = self.bse
        if bse is None:
            raise InputError("conf_int", "a fit with standard errors", f"a {self.method} fit without them",
                             "refit without the L1 penalty, or bootstrap")
        if self.dist == "t" and self.df_resid > 0:
            q = stats.t.ppf(0.5 + level / 2, self.df_resid)
        else:
            q = stats.norm.ppf(0.5 + level / 2)
        return np.stack([self.params - q * bse, self.params + q * bse], axis=-1)

    # -- prediction -------------------------------------------------------
    def predict(self, X: Any):
        """Predictions on the response scale, in the library of the fitted ``X``.

        The inverse link (:mod:`l2kit.losses.links`) maps the linear
        predictor: identity, ``exp`` for ``link="log"``, the logistic sigmoid
        for ``link="logit"`` (a probability), the row direction
        ``eta / |eta|`` for ``link="sphere"`` (Geodesic fits). Multi-output
        fits return shape (m, d).

        Examples
        --------
        >>> import numpy as np, l2kit as l2
        >>> f = l2.fit(np.arange(4.0).reshape(-1, 1), np.array([1.0, 3.0, 5.0, 7.0]))
        >>> np.round(f.predict(np.array([[10.0]])), 6)
        array([21.])
        """
        from ..losses.links import get_link

        Xn = to_numpy(X) if not isinstance(X, (list, tuple)) else np.asarray(X, dtype=float)
        if Xn.ndim != 2 or Xn.shape[1] != np.shape(self.coef)[0]:
            raise InputError("X", f"shape (n, {np.shape(self.coef)[0]})", f"shape {Xn.shape}",
                             "pass the same columns the model was fitted on")
        eta = Xn @ self.coef + self.intercept
        return self._to_backend(get_link(self.link).inverse(np, eta))

    def _to_backend(self, out: np.ndarray):
        if self.backend == "torch":
            import torch

            like = self._like
            dtype = like.dtype if like is not None and like.is_floating_point() else None
            return torch.as_tensor(out, dtype=dtype, device=None if like is None else like.device)
        if self.backend == "jax":
            import jax.numpy as jnp

            return jnp.asarray(out)
        return out

    # -- reporting --------------------------------------------------------
    def summary(self) -> str:
        """A plain-text coefficient table like statsmodels' ``summary()``."""
        from ._summary import format_summary

        return format_summary(self)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary of the estimates and status."""
        def num(v):
            if v is None:
                return None
            v = np.asarray(v)
            if np.iscomplexobj(v):
                return {"real": np.real(v).tolist(), "imag": np.imag(v).tolist()}
            return v.tolist()

        return {
            "loss": type(self.loss).__name__, "loss_params": {k: num(v) if isinstance(v, np.ndarray) else v
                                                              for k, v in self.loss.params.items()},
            "method": self.method, "feature_names": list(self.feature_names),
            "coef": num(self.coef), "stderr": num(self.stderr), "intercept": num(self.intercept),
            "intercept_stderr": num(self.intercept_stderr), "rank": int(self.rank), "scale": float(self.scale),
            "loglike": None if self.loglike is None else float(self.loglike), "converged": bool(self.converged),
            "n_iter": int(self.n_iter), "status": self.status.value, "message": self.message,
            "n_obs": int(self.n_obs), "df_resid": float(self.df_resid), "cov_type": self.cov_type,
        }
