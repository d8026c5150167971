"""``l2kit.fit``: one entry point that routes to the solver family the loss declares."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from .._array import as_numpy, from_frame
from .._errors import InputError
from ..frames import is_table
from ..losses import Loss, Squared, get_loss, loss_classes
from ._design import validate_design
from ._options import GRADIENT_METHODS
from ._result import Fit

#: options holding one value per row: subset with the rows a table fit keeps
_ROW_OPTIONS = ("weights", "offset", "exposure", "trials", "groups")


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


def fit(X: Any, y: Any = None, *, data: Any = None, loss: Any = None, weights: Any = None, cov: Any = None,
        alpha: Any = 0.0, l1_ratio: float = 0.0, fit_intercept: bool = True, method: str = "auto",
        feature_names: Any = None, missing: str = "raise", **options: Any) -> Fit:
    r"""Fit a linear model by minimising ``loss`` of the residuals.

    .. math::
        \hat\beta = \arg\min_{\beta_0, \beta} \sum_i w_i\,\rho(y_i - \beta_0 - x_i^\top\beta)
        + n\,\alpha\left(\lambda\|\beta\|_1 + \tfrac{1-\lambda}{2}\|\beta\|_2^2\right)

    with the glmnet / sklearn ElasticNet scaling (``alpha``, ``l1_ratio`` = λ)
    for squared error: ``1/(2n) RSS + alpha * (...)``. The intercept is never
    penalised.

    Parameters
    ----------
import numpy as np

from .._array import as_numpy, from_frame
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
    if isinstance(X, str) or data is not None or is_table(X):
        return _fit_table(X, y, data=data, missing=missing, loss=loss, weights=weights, cov=cov, alpha=alpha,
                          l1_ratio=l1_ratio, fit_intercept=fit_intercept, method=method,
                          feature_names=feature_names, **options)
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



def _fit_table(X, y, *, data, missing, fit_intercept, feature_names, **kwargs) -> Fit:
    """Code a table or formula (:mod:`l2kit.frames`), fit the arrays, and keep the coding and labels on the fit."""
    from ..frames import design_from_formula, design_from_table

    if feature_names is not None:
        raise InputError("feature_names", "None for a table or formula", "names",
                         "the names come from the columns and the formula")
    if isinstance(X, str):
        if data is None:
            raise InputError("data", "the table the formula is evaluated on", "None", "pass data=df")
        if y is not None:
            raise InputError("y", "None with a formula", type(y).__name__, "write the response left of '~'")
        td = design_from_formula(X, data, missing=missing)
        if not fit_intercept and td.fit_intercept:
            raise InputError("fit_intercept", "the formula to say it", "fit_intercept=False with an intercept in "
                             "the formula", "write '- 1' (or '0 +') in the formula instead")
    else:
        if data is not None:
            raise InputError("data", "None unless X is a formula", type(data).__name__,
                             "pass a formula string as X, or the table as X and its target as y")
        if y is None:
            raise InputError("y", "the target: an array or the name of a column of X", "None", "pass y")
        td = design_from_table(X, y, fit_intercept=fit_intercept, missing=missing)
    return fit_table_design(td, **kwargs)


def fit_table_design(td, **kwargs) -> Fit:
    """Fit a coded table (:class:`l2kit.frames.TableDesign`): per-row options follow the rows kept, and the
    fit keeps the formula, row labels, missing-value report and coding. The caller may drop the table first."""
    import dataclasses

    for name in _ROW_OPTIONS:
        v = kwargs.get(name)
        if td.keep is not None and v is not None and not isinstance(v, str):
            a = as_numpy(v, name)
            if a.shape[:1] != td.keep.shape:
                raise InputError(name, f"{td.keep.size} values (one per row of the table)", f"shape {a.shape}",
                                 f"pass one {name} value per row")
            kwargs[name] = a[td.keep]
    out = fit(td.X, td.y, fit_intercept=td.fit_intercept, feature_names=td.feature_names, **kwargs)
    return dataclasses.replace(out, formula=td.coding.formula, row_labels=td.row_labels, missing=td.missing,
                               _coding=td.coding)
