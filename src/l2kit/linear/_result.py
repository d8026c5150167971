"""The immutable result of a fit: coefficients, inference and an honest status."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

from .._array import InputError, to_numpy


def _frozen(a):
    if isinstance(a, np.ndarray):
        a = a.copy()
        a.flags.writeable = False
    return a


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
    converged : bool
        True only when the solver met its tolerance; never true at an
        iteration limit.
    n_iter : int
    status : str
        A readable sentence on how the solver ended.
    residuals : ndarray of shape (n,) or None
        ``y - fitted`` on the response scale (None for streamed fits).
    n_obs : int
        Number of rows (sum of weights is in ``extra['sum_weights']`` when weighted).
    df_resid : float
    loss : Loss
    method : str
        The solver path actually used ("cholesky", "qr", "svd", "irls", ...).
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
    converged: bool
    n_iter: int
    status: str
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
                f"converged={self.converged}, status={self.status!r})")

    # -- inference --------------------------------------------------------
    @property
    def params(self) -> np.ndarray:
        """Intercept (when fitted) followed by ``coef``."""
        return np.concatenate([[self.intercept], self.coef]) if self.fit_intercept else np.asarray(self.coef)

    @property
    def bse(self) -> np.ndarray | None:
        """Standard errors aligned with :attr:`params`."""
        if self.stderr is None:
            return None
        return np.concatenate([[self.intercept_stderr], self.stderr]) if self.fit_intercept else self.stderr

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
        q = (stats.t.ppf if self.dist == "t" and self.df_resid > 0 else
             lambda p, *_: stats.norm.ppf(p))(0.5 + level / 2, self.df_resid)
        return np.stack([self.params - q * bse, self.params + q * bse], axis=-1)

    # -- prediction -------------------------------------------------------
    def predict(self, X: Any):
        """Predictions on the response scale, in the library of the fitted ``X``.

        The inverse link maps the linear predictor: identity, ``exp`` for
        ``link="log"``, the logistic sigmoid for ``link="logit"`` (a
        probability), the row direction ``eta / |eta|`` for
        ``link="sphere"`` (Geodesic fits). Multi-output fits return shape (m, d).

        Examples
        --------
        >>> import numpy as np, l2kit as l2
        >>> f = l2.fit(np.arange(4.0).reshape(-1, 1), np.array([1.0, 3.0, 5.0, 7.0]))
        >>> np.round(f.predict(np.array([[10.0]])), 6)
        array([21.])
        """
        Xn = to_numpy(X) if not isinstance(X, (list, tuple)) else np.asarray(X, dtype=float)
        if Xn.ndim != 2 or Xn.shape[1] != np.shape(self.coef)[0]:
            raise InputError("X", f"shape (n, {np.shape(self.coef)[0]})", f"shape {Xn.shape}",
                             "pass the same columns the model was fitted on")
        eta = Xn @ self.coef + self.intercept
        if self.link == "log":
            out = np.exp(eta)
        elif self.link == "sphere":   # a direction: the projection onto the unit sphere
            norm = np.linalg.norm(eta, axis=-1, keepdims=True)
            if not np.all(norm > 0):
                raise InputError("X", "rows whose linear predictor is non-zero", "a zero predictor (no direction)",
                                 "these rows have no predicted direction; drop them")
            out = eta / norm
        elif self.link == "logit":
            z = np.exp(-np.abs(eta))  # overflow-free sigmoid
            out = np.where(eta >= 0, 1 / (1 + z), z / (1 + z))
        else:
            out = eta
        return self._to_backend(out)

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
            "n_iter": int(self.n_iter), "status": self.status, "n_obs": int(self.n_obs),
            "df_resid": float(self.df_resid), "cov_type": self.cov_type,
        }
