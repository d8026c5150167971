"""scikit-learn adapter: :class:`Regressor` wraps :func:`l2kit.fit` as an estimator, :class:`RegressorCV` its
K-fold cross-validated elastic net / lasso / ridge (``alpha="cv"``).

scikit-learn is imported only when this module is imported.

Examples
--------
>>> import numpy as np
>>> from l2kit.sklearn import Regressor
>>> X = np.arange(10.0).reshape(-1, 1); y = 3.0 * X[:, 0] + 1.0
>>> reg = Regressor().fit(X, y)
>>> round(float(reg.coef_[0]), 10), round(float(reg.intercept_), 10)
(3.0, 1.0)
>>> from sklearn.pipeline import make_pipeline
>>> from sklearn.preprocessing import StandardScaler
>>> make_pipeline(StandardScaler(), Regressor(alpha=0.1)).fit(X, y).predict(X[:1]).shape
(1,)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["Regressor", "RegressorCV"]


def _validate(est, X, y, sample_weight):
    """scikit-learn's validation of ``X``, ``y`` and the case weights."""
    X, y = validate_data(est, X, y, y_numeric=True, dtype=np.float64)
    if sample_weight is not None:
        from sklearn.utils.validation import _check_sample_weight

        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
    return X, y, sample_weight


class Regressor(RegressorMixin, BaseEstimator):
    """Linear regression under any l2kit loss, as a scikit-learn estimator.

    Parameters
    ----------
    loss : Loss, str or None, default None
        ``None`` = ``Squared()``; any loss :func:`l2kit.fit` can minimise, or its registry name.
    alpha : float, default 0.0
        Penalty in the glmnet / ElasticNet scaling (``alpha=a`` is ``Ridge(alpha=a*n)``);
        "loo" / "gcv" select a ridge penalty.
    l1_ratio : float, default 0.0
    fit_intercept : bool, default True
    method : str, default "auto"
    fit_options : dict or None
        Extra keywords for :func:`l2kit.fit` (e.g. ``{"cov_type": "HC3"}``).

    Attributes
    ----------
    coef_, intercept_, n_features_in_, fit_ (the :class:`l2kit.Fit`)
    feature_names_in_ : ndarray of str
        The column names of a DataFrame ``X`` (then the Fit's summary uses them, and ``predict``
        refuses a frame whose columns differ).

    Notes
    -----
    The loss's parameters are tunable as ``loss__<name>`` (``get_params(deep=True)`` lists them and
    :meth:`set_params` replaces the immutable loss).
    """

    def __init__(self, loss: Any = None, alpha: Any = 0.0, l1_ratio: float = 0.0, fit_intercept: bool = True,
                 method: str = "auto", fit_options: dict | None = None):
        self.loss = loss
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.method = method
        self.fit_options = fit_options

    def fit(self, X, y, sample_weight=None):
        """Fit by :func:`l2kit.fit`; ``sample_weight`` are case weights."""
        from .linear import fit

        X, y, sample_weight = _validate(self, X, y, sample_weight)
        # rank deficiency warns (CollinearityWarning) and gives the minimum-norm solution
        # DataFrame column names (validate_data keeps them in feature_names_in_) label the Fit's summary
        names = getattr(self, "feature_names_in_", None)
        res = fit(X, y, loss=self.loss, weights=sample_weight, alpha=self.alpha, l1_ratio=self.l1_ratio,
                  fit_intercept=self.fit_intercept, method=self.method,
                  feature_names=None if names is None else [str(n) for n in names], **(self.fit_options or {}))
        self.fit_ = res
        self.coef_ = np.asarray(res.coef)
        self.intercept_ = float(np.real(res.intercept))
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # a loss whose mean goes through a log link (counts, Gamma, Tweedie) is fitted to positive targets
        from .losses import Loss, get_loss

        loss = self.loss if isinstance(self.loss, Loss) else get_loss(self.loss or "squared")
        tags.target_tags.positive_only = loss.default_link == "log"
        return tags

    def set_params(self, **params):
        """Set parameters; ``loss__<name>`` replaces one parameter of the (immutable) loss, so
        ``GridSearchCV(reg, {"loss__delta": [1.0, 1.345]})`` tunes it."""
        sub = {k.split("__", 1)[1]: params.pop(k) for k in list(params) if k.startswith("loss__")}
        if sub:
            from dataclasses import replace

            from .losses import Loss, get_loss

            loss = params.pop("loss", self.loss)
            loss = get_loss("squared" if loss is None else loss) if not isinstance(loss, Loss) else loss
            unknown = set(sub) - set(loss.params)
            if unknown:
                from ._errors import InputError

                raise InputError("set_params", f"parameters of {type(loss).__name__} ("
                                 + ", ".join(loss.params) + ")", ", ".join(sorted(unknown)),
                                 "tune parameters the loss has, e.g. loss__delta for Huber")
            params["loss"] = replace(loss, **sub)
        return super().set_params(**params)

    def predict(self, X):
        """Predictions ``X @ coef_ + intercept_``."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return np.asarray(self.fit_.predict(X))


class RegressorCV(RegressorMixin, BaseEstimator):
    """Elastic net, lasso or ridge with the penalty chosen by K-fold cross-validation of the path.

    :func:`l2kit.fit` with ``alpha="cv"`` (see :func:`l2kit.enet_path` for the
    grid and :func:`l2kit.linear.least_squares.cross_validate` for the curve):
    the counterpart of scikit-learn's ``ElasticNetCV`` / ``LassoCV`` and of
    glmnet's ``cv.glmnet``, with both choices.

    Parameters
    ----------
    l1_ratio : float, default 0.5
        1 = lasso, 0 = ridge.
    n_alphas : int, default 100
    eps : float, default 1e-3
    alphas : array or None
        An explicit grid (overrides ``n_alphas`` and ``eps``).
    cv : int or array, default 5
        The number of folds (balanced random folds from ``random_state``), or one fold label per row.
    select : {"min", "1se"}, default "min"
        The smallest mean CV error (ElasticNetCV's ``alpha_``) or the largest
        penalty within one standard error of it (glmnet's ``lambda.1se``).
    fit_intercept : bool, default True
    tol : float, default 1e-10
    max_iter : int, default 10000
    random_state : int or None, default 0

    Attributes
    ----------
    alpha_ : the chosen penalty; alpha_min_, alpha_1se_ : both choices
    alphas_, cv_mean_, cv_se_ : the grid and the CV curve (mean squared error and its standard error)
    mse_path_ : (n_alphas, n_folds) held-out mean squared errors (ElasticNetCV's layout)
    coef_, intercept_, n_features_in_, n_iter_, fit_ (the :class:`l2kit.Fit` at ``alpha_``)

    Integer ``sample_weight`` equal repeated rows only when the copies share
    a fold (pass ``cv`` as labels): random folds split copies, as in
    ElasticNetCV (scikit-learn's weight-equivalence check is expected to fail).

    Examples
    --------
    >>> import numpy as np
    >>> from l2kit.sklearn import RegressorCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 6)); y = X @ [2.0, 0, 0, -1.0, 0, 0] + rng.normal(size=200)
    >>> reg = RegressorCV(l1_ratio=1.0, select="1se").fit(X, y)
    >>> np.flatnonzero(reg.coef_).tolist(), reg.alpha_ == reg.alpha_1se_ > reg.alpha_min_
    ([0, 3], True)
    """

    def __init__(self, l1_ratio: float = 0.5, n_alphas: int = 100, eps: float = 1e-3, alphas: Any = None,
                 cv: Any = 5, select: str = "min", fit_intercept: bool = True, tol: float = 1e-10,
                 max_iter: int = 10000, random_state: Any = 0):
        self.l1_ratio = l1_ratio
        self.n_alphas = n_alphas
        self.eps = eps
        self.alphas = alphas
        self.cv = cv
        self.select = select
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X, y, sample_weight=None):
        """Cross-validate the path and fit at the chosen penalty; ``sample_weight`` are case weights."""
        from .linear import fit

        X, y, sample_weight = _validate(self, X, y, sample_weight)
        if X.shape[0] < 2:
            raise ValueError(f"n_samples={X.shape[0]}: cross-validation needs at least 2 samples")
        folds = self.cv
        if isinstance(folds, (int, np.integer)) and not isinstance(folds, bool):
            folds = min(int(folds), X.shape[0])
        grid = {} if self.alphas is None else {"alphas": self.alphas}
        res = fit(X, y, weights=sample_weight, alpha="cv", l1_ratio=self.l1_ratio, fit_intercept=self.fit_intercept,
                  folds=folds, seed=self.random_state, n_alphas=self.n_alphas, eps=self.eps, cv_select=self.select,
                  tol=self.tol, max_iter=self.max_iter, **grid)
        cv = res.extra["cv"]
        self.fit_ = res
        self.alpha_ = float(res.alpha)
        self.alpha_min_, self.alpha_1se_ = cv["alpha_min"], cv["alpha_1se"]
        self.alphas_, self.cv_mean_, self.cv_se_ = cv["alphas"], cv["cv_mean"], cv["cv_se"]
        self.mse_path_ = np.asarray(cv["fold_errors"]).T
        self.coef_ = np.asarray(res.coef)
        self.intercept_ = float(res.intercept)
        self.n_iter_ = int(res.n_iter)
        return self

    def predict(self, X):
        """Predictions ``X @ coef_ + intercept_``."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return np.asarray(self.fit_.predict(X))
