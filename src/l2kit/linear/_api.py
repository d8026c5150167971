"""``l2kit.fit``: one entry point that routes to the solver family the loss declares."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from .._array import from_frame
from .._errors import InputError
from ..losses import Loss, Squared, get_loss, loss_classes
from ._design import validate_design
from ._options import GRADIENT_METHODS
from ._result import Fit


def _least_squares():
    from .least_squares import fit_least_squares

    return fit_least_squares


def _irls():
    from .robust import fit_irls

    return fit_irls


def _mm():
    from .robust import fit_mm

    return fit_mm


def _linprog():
    from .robust import fit_quantile

    return fit_quantile


def _glm():
    from .glm import fit_glm

    return fit_glm


def _gradient():
    from .gradient import fit_gradient

    return fit_gradient


# loss.fit_family -> the solver family's entry point (a sub-package each, imported on first use);
# each takes (design, loss, **options) -> Fit
_SOLVERS = {"least_squares": _least_squares, "irls": _irls, "linprog": _linprog, "glm": _glm,
            "gradient": _gradient, "mm": _mm}


def _is_chunk_iterator(X: Any) -> bool:
    return isinstance(X, Iterator) or (isinstance(X, Iterable) and not hasattr(X, "shape")
                                       and not isinstance(X, (list, tuple, str, bytes)))


def _fit_beyond(X: Any, y: Any, loss: Loss, family: str, common: dict) -> Fit:
    """Robust IRLS and GLMs on chunks or Dask: one pass per iteration over mergeable Gram states."""
    if family == "linprog":
        raise InputError("loss", f"a loss l2kit fits exactly beyond one machine, not {loss!r}", "chunked or Dask "
                         "data", "quantile/L1 regression is an LP over all rows; l2kit solves it exactly in "
                         "memory only (no approximation presented as exact): load the rows, or a sample of them")
    if family not in ("irls", "glm"):
        raise InputError("loss", "Squared, a robust residual loss or a GLM likelihood for chunked or Dask data",
                         repr(loss), "fit this loss in memory")
    from ._chunked import make_source

    for name in ("cov", "alpha"):
        v = common.pop(name)
        if v is not None and not (name == "alpha" and np.ndim(v) == 0 and v == 0):
            raise InputError(name, f"None for {family.upper()} fits on chunked or Dask data", repr(v),
                             "fit penalised or GLS models in memory")
    if common.pop("l1_ratio", 0.0) not in (0, 0.0):
        raise InputError("l1_ratio", "0 for chunked or Dask data", "a penalty mix", "fit penalised models in memory")
    source = make_source(X, y, common.pop("weights"), family=f"{loss!r}")
    if family == "glm":
        from .glm import fit_glm_source

        return fit_glm_source(source, loss, **common)
    from .robust import fit_irls_source

    return fit_irls_source(source, loss, **common)


def resolve_loss(loss: Any) -> Loss:
    """Accept a loss object, a registry name, or None (Squared)."""
    if loss is None:
        return Squared()
    if isinstance(loss, str):
        return get_loss(loss)
    if not isinstance(loss, Loss):
        raise InputError("loss", "a loss object or a registry name", type(loss).__name__,
                         "pass e.g. loss=l2kit.Huber() or loss='huber'")
    return loss


def fit(X: Any, y: Any = None, *, loss: Any = None, weights: Any = None, cov: Any = None,
        alpha: Any = 0.0, l1_ratio: float = 0.0, fit_intercept: bool = True, method: str = "auto",
        feature_names: Any = None, **options: Any) -> Fit:
    r"""Fit a linear model by minimising ``loss`` of the residuals.

    .. math::
        \hat\beta = \arg\min_{\beta_0, \beta} \sum_i w_i\,\rho(y_i - \beta_0 - x_i^\top\beta)
        + n\,\alpha\left(\lambda\|\beta\|_1 + \tfrac{1-\lambda}{2}\|\beta\|_2^2\right)

    with the glmnet / sklearn ElasticNet scaling (``alpha``, ``l1_ratio`` = λ)
    for squared error: ``1/(2n) RSS + alpha * (...)``. The intercept is never
    penalised.

    Parameters
    ----------
    X : array of shape (n, p), torch tensor, Dask array or DataFrame, or iterable of (X, y) chunks
        Dask data and chunks fit Squared (one pass), robust residual losses
        (IRLS) and GLM likelihoods (Newton): one pass per iteration over
        mergeable :class:`~l2kit.linear.WeightedGramState`\ s, so iterative
        fits need a re-iterable of chunks (an object whose ``__iter__``
        starts over), not a one-shot generator. Quantile/L1 are refused there.
    y : array of shape (n,) (omit when ``X`` is an iterator of chunks)
    loss : Loss or str, default Squared()
        Its ``fit_family`` picks the solver: least squares, IRLS (robust
        losses), linear programming (quantile/L1), GLM (count likelihoods),
        or the generic gradient solver (GaussianNLL, focal and heatmap
        losses, Mahalanobis; options ``link=``, ``loss_kwargs=`` e.g.
        ``{"var": v}``, ``start=``). For Mahalanobis ``y`` has shape (n, d).
    weights : array of shape (n,), optional
        Non-negative case weights. Integer weights equal repeated rows.
    cov : array of shape (n, n) or (n,), optional
        Error covariance for GLS (full matrix) or per-row variances.
    alpha, l1_ratio : float
        Penalty strength and mix (ridge: l1_ratio=0; lasso: l1_ratio=1).
        ``alpha`` may also be "loo", "gcv" or a grid for ridge selection, or
        "cv" for K-fold cross-validation of the lasso / elastic-net / ridge
        path (options ``folds``, ``cv_select``...; see
        :func:`l2kit.linear.least_squares.fit_least_squares`); the path
        itself is :func:`l2kit.enet_path`.
    fit_intercept : bool
    method : str
        Solver path; "auto" chooses. ``"gradient"``, ``"trust"`` or
        ``"lbfgs"`` force the generic gradient solver for any smooth loss.
        ``"mm"`` (with ``loss=Tukey(...)``): the high-breakdown MM-estimator
        of robustbase's ``lmrob`` (options ``seed=``...; see
        :func:`l2kit.linear.robust.fit_mm`).
    **options
        Solver-specific options (``cov_type``, ``scale``, ``max_iter``,
        ``tol``, ...); unknown ones are refused.

    Returns
    -------
    Fit

    Examples
    --------
    >>> import numpy as np, l2kit as l2
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> f = l2.fit(X, np.array([1.0, 3.0, 5.0, 7.0]))
    >>> round(f.intercept, 10), np.round(f.coef, 10)
    (1.0, array([2.]))
    """
    loss = resolve_loss(loss)
    family = loss.fit_family
    if method in GRADIENT_METHODS:
        family = "gradient"
    elif method == "mm":   # the high-breakdown MM-estimator (robust/mm.py); it checks the loss can do it
        family = "mm"
    if family is None or family not in _SOLVERS:
        fittable = sorted(cls.name for cls in loss_classes() if cls.fit_family in _SOLVERS)
        raise InputError("loss", "a loss that l2kit.fit can minimise (" + ", ".join(fittable) + ")",
                         repr(loss), "use the loss for scoring/gradients, or pick a fittable one")
    common = dict(weights=weights, cov=cov, alpha=alpha, l1_ratio=l1_ratio, fit_intercept=fit_intercept,
                  method=method, feature_names=feature_names, **options)
    mod = type(X).__module__.split(".")[0]
    if mod == "dask" and hasattr(X, "to_dask_array"):   # a Dask DataFrame: its columns as a row-chunked array
        if feature_names is None:
            common["feature_names"] = tuple(str(c) for c in X.columns)
        X, y, common["weights"] = from_frame(X), from_frame(y), from_frame(weights)
    if mod == "dask" or _is_chunk_iterator(X):
        if family != "least_squares":
            return _fit_beyond(X, y, loss, family, common)
        if mod == "dask":
            from .least_squares import fit_dask

            return fit_dask(X, y, loss=loss, **common)
        if y is not None:
            raise InputError("y", "None when X is an iterator of (X, y) chunks", "an array",
                             "pass the targets inside the chunks")
        from .least_squares import fit_chunks

        return fit_chunks(X, loss=loss, **common)
    if y is None:
        raise InputError("y", "an array of shape (n,)", "None", "pass the target")
    # least squares finds NaN/inf in its own Gram pass for free (and then reports them the same way)
    design = validate_design(X, y, weights, feature_names=feature_names, allow_complex=loss.allow_complex,
                             check_finite=family != "least_squares",
                             multi_output=family == "gradient" and loss.reduces_last_axis)
    common.pop("weights")
    common.pop("feature_names")
    return _SOLVERS[family]()(design, loss, **common)

