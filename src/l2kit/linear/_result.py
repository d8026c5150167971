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
    #: R's statistics where the solver defines them (NaN otherwise, with the reason in ``undefined``)
    deviance: float = math.nan
    null_deviance: float = math.nan
    df_model: float = math.nan
    #: parameters counted by AIC/BIC (R's ``attr(logLik, "df")``) and the n of BIC
    n_params: float = math.nan
    n_ic: float = math.nan
    r2: float = math.nan
    r2_adj: float = math.nan
    #: the variance of a new observation's noise (least squares: the scale), for prediction intervals
    prediction_scale: float | None = None
    offset_used: bool = False
    undefined: dict = field(default_factory=dict)
    training: Any = None


#: the statistics a Fit reports as NaN with a reason when a solver does not define them
_STATISTICS = ("deviance", "null_deviance", "df_model", "aic", "bic", "r2", "r2_adj")


def _information_criteria(est: Estimates, undefined: dict) -> tuple[float, float]:
    r"""R's AIC and BIC, :math:`-2\ell + 2k` and :math:`-2\ell + k\log n`, or NaN with the reason."""
    if est.loglike is None or not math.isfinite(est.loglike):
        undefined.setdefault("aic", undefined.get("loglike", "no log-likelihood for this loss and solver"))
        undefined.setdefault("bic", undefined["aic"])
        return math.nan, math.nan
    if not math.isfinite(est.n_params):
        undefined.setdefault("aic", f"the {est.method} solver does not count its parameters")
        undefined.setdefault("bic", undefined["aic"])
        return math.nan, math.nan
    aic = -2.0 * est.loglike + 2.0 * est.n_params
    bic = -2.0 * est.loglike + math.log(est.n_ic) * est.n_params if est.n_ic > 0 else math.nan
    return aic, bic


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
    undefined = dict(est.undefined)
    aic, bic = _information_criteria(est, undefined)
    stats = {"deviance": est.deviance, "null_deviance": est.null_deviance, "df_model": est.df_model, "aic": aic,
             "bic": bic, "r2": est.r2, "r2_adj": est.r2_adj}
    for name in _STATISTICS:
        if not math.isfinite(stats[name]):
            undefined.setdefault(name, f"not defined for {type(loss).__name__} fits by the {est.method} solver")
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
               extra=est.extra, **{k: float(v) for k, v in stats.items()},
               prediction_scale=None if est.prediction_scale is None else float(est.prediction_scale),
               offset_used=bool(est.offset_used), undefined=undefined, _like=like, _training=est.training)


def build_design_fit(est: Estimates, design: Design, loss: Any, fit_intercept: bool) -> Fit:
    """:func:`build_fit` for an in-memory :class:`~l2kit.linear._design.Design` (names and library from it)."""
    return build_fit(est, loss=loss, fit_intercept=fit_intercept, feature_names=design.feature_names,
                     backend=design.backend, like=design.backend_like)


def _is_table(X) -> bool:
    """A pandas/polars frame or a dict of columns (``predict`` codes it with the fit's formula)."""
    return isinstance(X, Mapping) or (type(X).__module__.split(".")[0] in ("pandas", "polars")
                                      and hasattr(X, "columns"))


@dataclass(frozen=True, eq=False)
class Fit:
    r"""Result of :func:`l2kit.fit`. Immutable; arrays are read-only NumPy arrays.

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
    deviance, null_deviance : float
        R's deviance of the fit and of the intercept-only model (least
        squares: the weighted RSS and total sum of squares; GLMs: the summed
        unit deviance; NaN where undefined, see ``undefined``).
    df_model : float
        Estimated mean parameters less the intercept (statsmodels'; the
        numerator degrees of freedom of R's overall F test).
    aic, bic : float
        :math:`-2\ell + 2k` and :math:`-2\ell + k\log n` with R's parameter
        count :math:`k` (least squares and Gamma count the scale, NB counts
        theta, ZINB every parameter); NaN without a log-likelihood.
    r2, r2_adj : float
        R's ``summary.lm`` R^2 and adjusted R^2 (least squares only; the
        uncentred versions without an intercept).
    undefined : mapping
        For each statistic reported as NaN, the reason.
    formula : str or None
        The formula of a fit made from a table (``l2.fit("y ~ x + C(g)", data=df)``,
        or the one written for ``l2.fit(df, y)``); ``predict`` re-applies it to new tables.
    row_labels : tuple of str or None
        The labels (DataFrame index) of the rows fitted, None for arrays or a default index.
    missing : Missing or None
        For a fit made from a table, the rows dropped for missing values (``n_dropped``,
        ``by_column``, ``dropped_rows``; ``missing="drop"``).
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
    deviance: float = math.nan
    null_deviance: float = math.nan
    df_model: float = math.nan
    aic: float = math.nan
    bic: float = math.nan
    r2: float = math.nan
    r2_adj: float = math.nan
    prediction_scale: float | None = None
    offset_used: bool = False
    undefined: Mapping[str, str] = field(default_factory=dict)
    formula: str | None = None
    row_labels: tuple | None = None
    missing: Any = None
    _coding: Any = field(default=None, repr=False)
    _like: Any = field(default=None, repr=False)
    _training: Any = field(default=None, repr=False)

    def __post_init__(self):
        if not isinstance(self.status, Status):
            raise TypeError(f"Fit.status must be an l2kit.Status, got {self.status!r}")
        for name in ("coef", "stderr", "cov_params", "residuals"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        object.__setattr__(self, "extra", MappingProxyType({k: _frozen(v) for k, v in dict(self.extra).items()}))
        object.__setattr__(self, "undefined", MappingProxyType(dict(self.undefined)))
        if not self.feature_names:
            object.__setattr__(self, "feature_names", tuple(f"x{j}" for j in range(np.shape(self.coef)[0])))

    def __getstate__(self) -> dict:
        # MappingProxyType does not pickle: store a plain dict, re-freeze on load
        state = dict(self.__dict__)
        state["extra"] = dict(self.extra)
        state["undefined"] = dict(self.undefined)
        state["_training"] = None   # the training data stay with the caller: a pickle holds the estimates only
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
    def named_params(self) -> Mapping[str, Any]:
        """The parameters by name, read-only: ``"Intercept"`` (when fitted) then the feature names.

        For a table fit the names are the formula's (``fit.named_params["C(g)[T.b]"]``).

        Examples
        --------
        >>> import l2kit as l2
        >>> f = l2.fit("y ~ x", data={"y": [1.0, 3.0, 5.0, 8.0], "x": [0.0, 1.0, 2.0, 3.0]})
        >>> {k: round(v, 2) for k, v in f.named_params.items()}
        {'Intercept': 0.9, 'x': 2.3}
        """
        names = (["Intercept"] if self.fit_intercept else []) + list(self.feature_names)
        return MappingProxyType(dict(zip(names, (_scalar(v) for v in self.params))))

    @property
    def n_dropped(self) -> int:
        """Rows dropped for missing values before fitting (``missing="drop"``; 0 otherwise)."""
        return 0 if self.missing is None else int(self.missing.n_dropped)

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

    # -- tests --------------------------------------------------------------
    def wald_test(self, R: Any, q: Any = None):
        """Wald chi-squared test of the linear hypothesis :math:`R\\theta = q` (see :mod:`l2kit.linear._wald`).

        ``R`` is a matrix (one row per constraint, intercept first) with
        ``q`` (default 0), or constraint strings over the feature names
        (``"x1 = x2"``, ``"x1 + x2 = 1, x3"``). Uses :attr:`cov_params` (robust
        when the fit's ``cov_type`` is). Returns a ``TestResult``
        (``statistic``, ``pvalue``, ``df``, ``df_denom``, ``kind``).

        Examples
        --------
        >>> import numpy as np, l2kit as l2
        >>> rng = np.random.default_rng(0); X = rng.normal(size=(50, 2))
        >>> f = l2.fit(X, X @ [1.0, 1.0] + rng.normal(size=50))
        >>> f.wald_test("x0 = x1").pvalue > 0.05
        True
        """
        return self._linear_test(R, q, "chi2")

    def f_test(self, R: Any = None, q: Any = None):
        """F test of :math:`R\\theta = q` with ``df_resid`` denominator degrees of freedom (R's ``linearHypothesis``).

        Without ``R``: every coefficient but the intercept is 0, the overall
        F test of R's ``summary.lm``.
        """
        if R is None:
            k = np.shape(self.coef)[0]
            R = np.hstack([np.zeros((k, 1)), np.eye(k)]) if self.fit_intercept else np.eye(k)
        return self._linear_test(R, q, "F")

    def _linear_test(self, R, q, kind):
        from ._wald import constraints, linear_test

        if self.cov_params is None or np.ndim(self.coef) != 1:
            raise InputError("fit", "a single-output fit with a covariance", f"a {self.method} fit without one",
                             "tests need standard errors (refit without the L1 penalty or on a full-rank design)")
        if isinstance(R, str) or (isinstance(R, (list, tuple)) and R and isinstance(R[0], str)):
            if q is not None:
                raise InputError("q", "None with string constraints", repr(q), "put the constants in the strings")
            R, q = constraints(R, list(self.feature_names), self.fit_intercept)
        params = np.real(np.asarray(self.params, dtype=complex if np.iscomplexobj(self.params) else float))
        return linear_test(params, np.real(np.asarray(self.cov_params)), np.asarray(R, dtype=float), q, kind=kind,
                           df_resid=self.df_resid)

    # -- prediction -------------------------------------------------------
    def predict(self, X: Any, *, interval: str | None = None, level: float = 0.95, offset: Any = None,
                exposure: Any = None):
        """Predictions on the response scale, in the library of the fitted ``X``.

        The inverse link (:mod:`l2kit.losses.links`) maps the linear
        predictor: identity, ``exp`` for ``link="log"``, the logistic sigmoid
        for ``link="logit"`` (a probability), the row direction
        ``eta / |eta|`` for ``link="sphere"`` (Geodesic fits). Multi-output
        fits return shape (m, d).

        ``interval="confidence"`` or ``"prediction"`` returns a
        ``Prediction`` (``mean``, ``lower``, ``upper``, ``se``) at ``level``:
        for least squares R's ``predict.lm(interval=...)`` (t quantiles,
        :math:`\\hat\\sigma^2` added for a prediction); for a GLM the
        confidence interval of the mean through the link,
        :math:`g^{-1}(\\eta \\pm z\\,\\mathrm{se}_\\eta)`, with ``se`` the
        delta-method standard error of R's ``predict.glm(type="response",
        se.fit=TRUE)``; GLM prediction intervals are refused.
        ``offset``/``exposure``: the new rows' offset (required when the fit
        had one).

        Examples
        --------
        >>> import numpy as np, l2kit as l2
        >>> f = l2.fit(np.arange(4.0).reshape(-1, 1), np.array([1.0, 3.0, 5.0, 7.0]))
        >>> np.round(f.predict(np.array([[10.0]])), 6)
        array([21.])
        """
        from ..losses.links import get_link

        if self._coding is not None and _is_table(X):
            X = self._coding.transform(X)
        elif _is_table(X):
            raise InputError("X", "an array (this fit was made from arrays)", type(X).__name__,
                             "pass X.to_numpy() with the fitted columns in order, or fit on the table")
        Xn = to_numpy(X) if not isinstance(X, (list, tuple)) else np.asarray(X, dtype=float)
        if Xn.ndim != 2 or Xn.shape[1] != np.shape(self.coef)[0]:
            raise InputError("X", f"shape (n, {np.shape(self.coef)[0]})", f"shape {Xn.shape}",
                             "pass the same columns the model was fitted on")
        eta = Xn @ self.coef + self.intercept + self._new_offset(offset, exposure, Xn.shape[0])
        if interval is None:
            return self._to_backend(get_link(self.link).inverse(np, eta))
        from ._residuals import Prediction
        from ._residuals import interval as make_interval

        p = make_interval(self, np.asarray(Xn, dtype=float), eta, interval, level)
        return Prediction(*(self._to_backend(np.asarray(v)) for v in p))

    def _new_offset(self, offset, exposure, m: int):
        if offset is None and exposure is None:
            if self.offset_used:
                raise InputError("offset", "the new rows' offset (or exposure): the model was fitted with one",
                                 "None", "pass offset= (e.g. np.zeros(m) for unit exposure) or exposure=")
            return 0.0
        total = np.zeros(m)
        for name, v in (("offset", offset), ("exposure", exposure)):
            if v is None:
                continue
            a = np.asarray(to_numpy(v) if hasattr(v, "shape") else v, dtype=float).reshape(-1)
            if a.shape != (m,) or not np.all(np.isfinite(a)) or (name == "exposure" and not np.all(a > 0)):
                raise InputError(name, f"{m} finite values" + (" > 0" if name == "exposure" else ""),
                                 f"shape {a.shape}", f"pass one {name} per new row")
            total += np.log(a) if name == "exposure" else a
        return total

    def residuals_of(self, kind: str = "response") -> np.ndarray:
        """Residuals of a kind: "response", "working", "pearson", "deviance", "standardized", "studentized".

        R's definitions (``residuals.glm``, ``rstandard``, ``rstudent``; see
        :mod:`l2kit.linear._residuals`). A kind the fit does not define is
        refused with the reason.
        """
        from ._residuals import residuals_of

        return residuals_of(self, kind)

    def _to_backend(self, out: np.ndarray):
        if self.backend == "torch":
            import torch

            like = self._like
            dtype = like.dtype if like is not None and like.is_floating_point() else None
            return torch.as_tensor(out, dtype=dtype, device=None if like is None else like.device)
        if self.backend == "jax":
            import jax.numpy as jnp

            like = self._like
            floating = like is not None and jnp.issubdtype(like.dtype, jnp.floating)
            return jnp.asarray(out, dtype=like.dtype if floating else None)
        if self._like is not None and getattr(self._like, "dtype", None) == np.float32:
            return out.astype(np.float32)   # float32 in, float32 out (as the losses do)
        return out

    # -- reporting --------------------------------------------------------
    def summary(self, format: str = "text") -> str:
        """The coefficient table with the statistics and status: ``format`` "text", "markdown", "html" or "latex"."""
        from ._summary import format_summary

        return format_summary(self, format)

    def to_dict(self) -> dict[str, Any]:
        """Strict-JSON dictionary of the fit (NaN as null): loss, link, coefficients, covariance, statistics, status.

        ``Fit.from_dict`` rebuilds a fit that predicts identically (see :mod:`l2kit.linear._serialize`).

        Examples
        --------
        >>> import json, numpy as np, l2kit as l2
        >>> f = l2.fit(np.arange(4.0).reshape(-1, 1), np.array([1.0, 3.0, 5.0, 8.0]))
        >>> g = l2.Fit.from_dict(json.loads(json.dumps(f.to_dict(), allow_nan=False)))
        >>> bool(np.array_equal(g.predict(np.array([[7.0]])), f.predict(np.array([[7.0]]))))
        True
        """
        from ._serialize import fit_to_dict

        return fit_to_dict(self)

    @classmethod
    def from_dict(cls, d: Any) -> Fit:
        """Rebuild a fit from :meth:`to_dict` output (a dict or its JSON string); it holds no training data."""
        from ._serialize import fit_from_dict

        return fit_from_dict(cls, d)
