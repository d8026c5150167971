r"""Statistics of the L2 loss: the bias-variance decomposition by repeated sampling.

For a learning procedure that maps a training set :math:`D` to a predictor
:math:`\hat f_D`, and a new observation :math:`y = f(x) + \varepsilon` drawn
independently of :math:`D`, the expected squared error splits exactly:

.. math::
    \mathbb{E}\bigl[(y - \hat f_D(x))^2\bigr]
    = \underbrace{\bigl(f(x) - \mathbb{E}_D \hat f_D(x)\bigr)^2}_{\text{bias}^2}
    + \underbrace{\operatorname{Var}_D \hat f_D(x)}_{\text{variance}}
    + \underbrace{\operatorname{Var}(\varepsilon \mid x)}_{\text{noise}}

:func:`bias_variance` estimates each term by refitting on ``n_rounds``
independent training sets.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._array import to_numpy
from ._errors import InputError

__all__ = ["BiasVariance", "bias_variance"]


@dataclass(frozen=True)
class BiasVariance:
    """Result of :func:`bias_variance`; scalars are averages over the test points.

    Attributes
    ----------
    bias2, variance, noise : float
        Unbiased Monte Carlo estimates of the three terms (``bias2`` can come
        out slightly negative when the true bias is zero).
    expected_mse : float
        ``bias2 + variance + noise``.
    mse : float or None
        Direct Monte Carlo estimate of the expected squared error against
        fresh targets (needs ``sample_y``), to check the decomposition.
    mse_se : float or None
        Standard error of ``mse``.
    bias2_se, variance_se : float
        Standard errors of ``bias2`` and ``variance`` (delta method over rounds).
    pointwise : mapping of str to ndarray
        ``bias2``, ``variance``, ``noise`` and ``mean_prediction`` at each test point.
    predictions : ndarray of shape (n_rounds, n_test)
    n_rounds : int
    """

    bias2: float
    variance: float
    noise: float
    expected_mse: float
    mse: float | None
    mse_se: float | None
    bias2_se: float
    variance_se: float
    pointwise: dict = field(repr=False)
    predictions: np.ndarray = field(repr=False)
    n_rounds: int = 0

    def __str__(self) -> str:
        line = (f"bias^2 = {self.bias2:.6g}, variance = {self.variance:.6g}, noise = {self.noise:.6g}; "
                f"sum = {self.expected_mse:.6g}")
        if self.mse is not None:
            line += f"; direct MSE = {self.mse:.6g} ± {self.mse_se:.2g}"
        return line


def _predict(predictor: Any, x_test: Any) -> np.ndarray:
    if hasattr(predictor, "predict"):
        out = predictor.predict(x_test)
    elif callable(predictor):
        out = predictor(x_test)
    else:
        raise InputError("fit", "a callable (X, y) -> predictor, where the predictor is callable or has .predict",
                         f"a predictor of type {type(predictor).__name__}",
                         "return e.g. lambda x: model.predict(x), or the fitted estimator")
    return np.asarray(to_numpy(out), dtype=np.float64).reshape(-1)


def _values(v: Any, x_test: Any, n: int, name: str) -> np.ndarray:
    out = v(x_test) if callable(v) else v
    arr = np.asarray(to_numpy(out) if hasattr(out, "shape") else out, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    arr = arr.reshape(-1) if arr.size == n else arr
    if arr.shape != (n,):
        raise InputError(name, f"a scalar or {n} values (one per test point)", f"shape {arr.shape}",
                         "evaluate it at x_test")
    if not np.isfinite(arr).all():
        raise InputError(name, "finite values", "NaN/inf", "check the function")
    return arr


def bias_variance(fit: Callable[[Any, Any], Any], sample: Callable[[np.random.Generator], tuple[Any, Any]],
                  x_test: Any, *, n_rounds: int = 200, truth: Any = None, noise_var: Any = None,
                  sample_y: Callable[[np.random.Generator, Any], Any] | None = None, n_noise: int = 200,
                  rng: Any = None) -> BiasVariance:
    r"""Estimate bias², variance and noise of a learning procedure by repeated sampling.

    Parameters
    ----------
    fit : callable ``(X, y) -> predictor``
        Trains one model. The predictor is callable on ``x_test`` or has a
        ``predict`` method (an :class:`l2kit.Fit`, a fitted scikit-learn
        estimator...).
    sample : callable ``rng -> (X, y)``
        Draws one independent training set.
    x_test : array
        Test inputs, passed unchanged to the predictors (``n_test`` rows).
    n_rounds : int, default 200
        Number of training sets.
    truth : callable or array, optional
        The regression function :math:`f(x) = E[y \mid x]` at ``x_test``
        (a callable on ``x_test`` or its values).
    noise_var : float, callable or array, optional
        :math:`\mathrm{Var}(y \mid x)` at ``x_test``.
    sample_y : callable ``(rng, x_test) -> y``, optional
        Draws fresh targets at ``x_test``. Needed when ``truth`` or
        ``noise_var`` is unknown (they are then estimated from ``n_noise``
        draws), and used for the direct check ``mse``: one fresh draw per
        round, scored against that round's predictions.
    n_noise : int, default 200
        Draws of ``sample_y`` per test point when estimating truth/noise.
    rng : int or numpy Generator, optional

    Returns
    -------
    BiasVariance

    Notes
    -----
    With predictions :math:`\hat y_{r}` over rounds :math:`r = 1..R`, mean
    :math:`\bar y` and unbiased variance :math:`s^2`, the estimates are
    :math:`\text{variance} = s^2` and
    :math:`\text{bias}^2 = (\bar y - f)^2 - s^2/R` (the plug-in square is
    biased upwards by :math:`s^2/R`); when :math:`f` is itself a mean of
    :math:`M` noisy draws, its variance :math:`\sigma^2/M` is removed too.
    Their sum equals :math:`\frac1R\sum_r (\hat y_r - f)^2 + \text{noise}`
    exactly, an unbiased estimate of the expected squared error.

    Examples
    --------
    >>> import numpy as np, l2kit as l2
    >>> f = lambda x: np.sin(3 * x)
    >>> def sample(rng):
    ...     x = rng.uniform(-1, 1, 30)
    ...     return x, f(x) + rng.normal(0, 0.3, 30)
    >>> line = lambda x, y: np.poly1d(np.polyfit(x, y, 1))    # a straight-line fit
    >>> bv = l2.bias_variance(line, sample, np.linspace(-1, 1, 25), n_rounds=100,
    ...                       truth=f, noise_var=0.09, rng=0)
    >>> bv.bias2 > bv.variance, round(bv.noise, 2)     # a straight line underfits sin(3x)
    (True, 0.09)
    """
    if not callable(fit):
        raise InputError("fit", "a callable (X, y) -> predictor", type(fit).__name__,
                         "pass e.g. lambda X, y: l2.fit(X, y)")
    if not callable(sample):
        raise InputError("sample", "a callable rng -> (X, y)", type(sample).__name__,
                         "pass a function that draws one training set")
    if isinstance(n_rounds, bool) or not isinstance(n_rounds, (int, np.integer)) or n_rounds < 2:
        raise InputError("n_rounds", "an integer >= 2", repr(n_rounds), "pass e.g. n_rounds=200")
    if isinstance(n_noise, bool) or not isinstance(n_noise, (int, np.integer)) or n_noise < 2:
        raise InputError("n_noise", "an integer >= 2", repr(n_noise), "pass e.g. n_noise=200")
    if (truth is None or noise_var is None) and sample_y is None:
        missing = " and ".join(n for n, v in (("truth", truth), ("noise_var", noise_var)) if v is None)
        raise InputError(missing, "known values, or sample_y to estimate them", "None",
                         "pass truth=f and noise_var=sigma**2, or sample_y=lambda rng, x: ... drawing fresh targets")
    gen = np.random.default_rng(rng)
    n_test = len(x_test)

    def draw_y(g: np.random.Generator) -> np.ndarray:
        y = np.asarray(to_numpy(sample_y(g, x_test)), dtype=np.float64).reshape(-1)
        if y.shape != (n_test,):
            raise InputError("sample_y", f"{n_test} values (one per test point)", f"shape {y.shape}",
                             "return one target per row of x_test")
        return y

    # truth and noise: given, or estimated from repeated fresh draws
    f_var = np.zeros(n_test)  # variance of the truth estimate (zero when known)
    if truth is not None:
        f = _values(truth, x_test, n_test, "truth")
    if noise_var is not None:
        noise = _values(noise_var, x_test, n_test, "noise_var")
        if (noise < 0).any():
            raise InputError("noise_var", "non-negative variances", "negative values", "pass variances (sigma**2)")
    if truth is None or noise_var is None:
        Y = np.stack([draw_y(gen) for _ in range(int(n_noise))])
        if truth is None:
            f = Y.mean(axis=0)
        est_noise = Y.var(axis=0, ddof=1)
        if noise_var is None:
            noise = est_noise
        if truth is None:
            f_var = (noise if noise_var is not None else est_noise) / n_noise

    R = int(n_rounds)
    preds = np.empty((R, n_test))
    direct = np.empty(R) if sample_y is not None else None
    for r in range(R):
        X, y = sample(gen)
        preds[r] = p = _predict(fit(X, y), x_test)
        if p.shape != (n_test,):  # pragma: no cover - reshape(-1) above makes this a size check
            raise InputError("predictor", f"{n_test} predictions", f"{p.size}", "predict one value per test row")
        if direct is not None:
            direct[r] = float(np.mean((draw_y(gen) - p) ** 2))
    if not np.isfinite(preds).all():
        raise InputError("fit", "finite predictions", "NaN/inf predictions", "check the model on these samples")

    mean_pred = preds.mean(axis=0)
    var_pt = preds.var(axis=0, ddof=1)
    bias2_pt = (mean_pred - f) ** 2 - var_pt / R - f_var
    # standard errors over rounds: per-round contributions to the averaged terms
    dev = preds - mean_pred
    var_terms = (dev ** 2).mean(axis=1) * R / (R - 1)
    cross = (2 * (mean_pred - f) * dev).mean(axis=1)  # linearised bias^2 fluctuation
    mse = mse_se = None
    if direct is not None:
        mse = float(direct.mean())
        mse_se = float(direct.std(ddof=1) / math.sqrt(R))
    return BiasVariance(
        bias2=float(bias2_pt.mean()), variance=float(var_pt.mean()), noise=float(noise.mean()),
        expected_mse=float(bias2_pt.mean() + var_pt.mean() + noise.mean()), mse=mse, mse_se=mse_se,
        bias2_se=float(cross.std(ddof=1) / math.sqrt(R)), variance_se=float(var_terms.std(ddof=1) / math.sqrt(R)),
        pointwise={"bias2": bias2_pt, "variance": var_pt, "noise": noise, "mean_prediction": mean_pred},
        predictions=preds, n_rounds=R)
