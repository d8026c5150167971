"""Validation of a design matrix, target and weights for fitting (the public boundary of ``fit``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._array import as_numpy
from .._errors import InputError


@dataclass(frozen=True)
class Design:
    """Validated fitting inputs as NumPy arrays (float64, or complex128 for complex data)."""

    X: np.ndarray            # (n, p)
    y: np.ndarray            # (n,), or (n, d) for multi-output losses (validate_design(multi_output=True))
    weights: np.ndarray | None
    feature_names: tuple[str, ...]
    backend: str             # "numpy", "torch", ... : the library predictions are returned in
    backend_like: Any = None  # an input array, to convert outputs back (device, dtype)

    @property
    def case_weights(self) -> np.ndarray:
        """The case weights, ones when none were given."""
        return np.ones(self.y.shape[0]) if self.weights is None else self.weights

    def require_real(self, solver: str) -> None:
        """Refuse complex data for a solver of real-valued losses."""
        if np.iscomplexobj(self.X) or np.iscomplexobj(self.y):
            raise InputError("X, y", f"real data for {solver}", "complex data",
                             "use loss=Squared() (least squares) for complex data")

    def with_intercept(self, fit_intercept: bool) -> np.ndarray:
        """``X`` with a leading column of ones when ``fit_intercept`` (the parameters' order everywhere)."""
        if not fit_intercept:
            return self.X
        Xa = np.empty((self.X.shape[0], self.X.shape[1] + 1), dtype=np.result_type(self.X, np.float64))
        Xa[:, 0] = 1.0
        Xa[:, 1:] = self.X
        return Xa

    def full_rank(self, Xa: np.ndarray, what: str, *, ones: bool = False) -> int:
        """The rank of the weighted design ``Xa`` (``[1, Xa]`` if ``ones``); refuses a rank-deficient one for a model
        that needs full rank."""
        from ._linalg import gram_rank, weighted_gram

        rank = gram_rank(weighted_gram(Xa, self.case_weights, ones=ones))
        k = Xa.shape[1] + ones
        if rank < k:
            raise InputError("X", f"a full-rank design for {what}", f"rank {rank} < {k} columns",
                             "drop collinear or constant columns")
        return rank


@dataclass(frozen=True)
class Training:
    """The data a fit was made from, by reference, and how to get its per-row pieces (for residual kinds).

    Held privately by an in-memory :class:`~l2kit.linear.Fit` (not pickled,
    not serialised). ``parts()`` returns a dict with ``fitted`` (the
    response-scale means), ``eta`` (the linear predictor), ``variance`` (the
    variance function at unit dispersion, None where undefined),
    ``unit_deviance`` (None where undefined), ``hat_weights`` (the working
    weights of the leverage, None where undefined), ``prior`` (per-row prior
    weights such as binomial trials) and ``dispersion_fixed``.
    """

    X: np.ndarray
    y: np.ndarray
    weights: np.ndarray | None
    offset: np.ndarray | None
    parts: Callable[[], dict]

    @property
    def case_weights(self) -> np.ndarray:
        return np.ones(self.y.shape[0]) if self.weights is None else self.weights


#: the largest case weight ``fit`` accepts lies in this range: beyond it ``w * x**2`` overflows float64 for
#: ordinary data, or underflows (weights of 5e-324 gave "success" with wrong coefficients and NaN errors)
WEIGHT_RANGE = (1e-100, 1e100)


def check_weight_scale(wmax: float) -> None:
    """Refuse case weights whose largest value lies outside :data:`WEIGHT_RANGE`, blaming the weights.

    Examples
    --------
    >>> check_weight_scale(1e300)
    Traceback (most recent call last):
    ...
    l2kit._errors.InputError: weights: expected case weights whose largest value lies between 1e-100 and 1e+100, got ...
    """
    lo, hi = WEIGHT_RANGE
    if not lo <= wmax <= hi:
        raise InputError("weights", f"case weights whose largest value lies between {lo:g} and {hi:g}",
                         f"a largest weight of {wmax:g}",
                         "divide the weights by their largest value (only their ratios matter to the coefficients)")


def _backend(x) -> str:
    mod = type(x).__module__.split(".")[0]
    mod = {"jaxlib": "jax"}.get(mod, mod)   # a JAX array's type lives in jaxlib
    return "numpy" if mod in ("numpy", "builtins", "pandas", "polars") else mod


def first_nonfinite(name: str, a: np.ndarray, *, where: str | None = None, offset: int = 0) -> None:
    """Refuse NaN/inf in ``a`` with the count and the first row.

    For a chunk of a stream, ``where`` names it and ``offset`` turns its row into a global (0-based) row.
    """
    bad = ~np.isfinite(a)
    if bad.any():
        rows = np.flatnonzero(bad.reshape(a.shape[0], -1).any(axis=1))
        col = ""
        if a.ndim == 2:
            col = f", column {int(np.flatnonzero(bad[rows[0]])[0])}"
        first = (f"in {where}, first at global row {offset + int(rows[0])} (0-based)" if where is not None
                 else f"first at row {int(rows[0])}")
        raise InputError(name, "finite values", f"{int(bad.sum())} NaN/inf value(s) in {rows.size} row(s), "
                         f"{first}{col}",
                         "drop or impute those rows before fitting (l2kit never drops rows silently)")


#: the largest magnitude the solvers that square residuals and scales in float64 accept (IRLS, LP, GLM, gradient):
#: squares up to 1e304 and their sums over 1e4 rows stay finite (1.8e154 raised OverflowError in IRLS). Least
#: squares checks its Gram matrix instead.
MAGNITUDE_LIMIT = 1e152


def check_magnitude(name: str, a: np.ndarray) -> None:
    """Refuse values above :data:`MAGNITUDE_LIMIT` in absolute value (an OverflowError deep in a solver)."""
    if a.size and max(float(a.max()), -float(a.min())) > MAGNITUDE_LIMIT:
        big = np.abs(a) > MAGNITUDE_LIMIT
        first = np.unravel_index(int(np.argmax(big)), a.shape)
        where = f"row {first[0]}" + (f", column {first[1]}" if a.ndim == 2 else "")
        raise InputError(name, f"values of magnitude at most {MAGNITUDE_LIMIT:g} (their squares must fit float64)",
                         f"{int(big.sum())} larger value(s), first {a[first]:.3g} at {where}",
                         "rescale it (e.g. divide by its standard deviation), or fit with loss='squared'")


def check_finite_design(design: Design) -> None:
    """Raise the NaN/inf :class:`~l2kit._errors.InputError` (count, first row) for ``X`` then ``y``."""
    first_nonfinite("X", design.X)
    first_nonfinite("y", design.y)


def validate_design(X: Any, y: Any, weights: Any = None, *, feature_names=None,
                    allow_complex: bool = True, check_finite: bool = True, multi_output: bool = False) -> Design:
    """Validate ``X`` (n, p), ``y`` (n,) and optional non-negative ``weights`` (n,).

    ``multi_output=True`` (used only by the generic gradient solver, for
    losses over the last axis such as Mahalanobis) requires ``y`` of shape
    (n, d) instead.

    Raises :class:`~l2kit._errors.InputError` naming the argument, the count of
    bad values and the first bad row. ``check_finite=False`` skips the NaN/inf
    scan of ``X`` and ``y`` for a solver that detects them itself at no cost
    (the least-squares Gram pass) and then calls :func:`check_finite_design`.

    Examples
    --------
    >>> d = validate_design([[1.0], [2.0]], [1.0, 2.0])
    >>> d.X.shape, d.y.shape
    ((2, 1), (2,))
    >>> validate_design([1.0, 2.0], [1.0, 2.0])
    Traceback (most recent call last):
    ...
    l2kit._errors.InputError: X: expected a 2-D array of shape (n_samples, n_features), got shape (2,). Fix: ...
    """
    backend = _backend(X)
    # outputs follow the input: a library's array (device, dtype), or float32 NumPy staying float32
    like = X if backend != "numpy" or getattr(X, "dtype", None) == np.float32 else None
    if feature_names is None and hasattr(X, "columns"):
        feature_names = tuple(str(c) for c in X.columns)
    Xn, yn = as_numpy(X, "X"), as_numpy(y, "y")
    if Xn.ndim != 2:
        raise InputError("X", "a 2-D array of shape (n_samples, n_features)", f"shape {Xn.shape}",
                         "for one feature pass X.reshape(-1, 1)" if Xn.ndim == 1 else "reshape X to 2-D")
    if multi_output:
        if yn.ndim != 2 or yn.shape[1] < 1:
            raise InputError("y", "a 2-D array of shape (n_samples, d) for a loss over the last axis",
                             f"shape {yn.shape}", "put the d target variables in the columns of y")
    elif yn.ndim == 2 and yn.shape[1] == 1:
        raise InputError("y", f"shape ({Xn.shape[0]},)", f"shape {yn.shape}", "pass y.reshape(-1) (a column "
                         "vector would silently broadcast in many libraries)")
    if yn.ndim != 1 and not multi_output:
        raise InputError("y", "a 1-D array of shape (n_samples,)", f"shape {yn.shape}", "pass one target column")
    if yn.shape[0] != Xn.shape[0]:
        raise InputError("y", f"{Xn.shape[0]} rows like X", f"{yn.shape[0]} rows",
                         "pass X and y with the same rows")
    if Xn.shape[0] == 0:
        raise InputError("X", "at least one row", "no rows", "pass non-empty data")
    cplx = np.iscomplexobj(Xn) or np.iscomplexobj(yn)
    if cplx and not allow_complex:
        raise InputError("X, y", "real data for this loss", "complex data", "use loss=Squared() for complex data")
    for name, a in (("X", Xn), ("y", yn)):
        if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
            raise InputError(name, "numeric values", f"dtype {a.dtype}", "convert the columns to numbers")
    dtype = np.complex128 if cplx else np.float64
    Xn = np.ascontiguousarray(Xn, dtype=dtype)
    yn = np.ascontiguousarray(yn, dtype=dtype)
    if check_finite:
        first_nonfinite("X", Xn)
        first_nonfinite("y", yn)
        if not cplx:
            check_magnitude("X", Xn)
            check_magnitude("y", yn)
    wn = None
    if weights is not None:
        wn = as_numpy(weights, "weights")
        if not (np.issubdtype(wn.dtype, np.number) or wn.dtype == bool) or np.iscomplexobj(wn):
            raise InputError("weights", "real, non-negative case weights", f"dtype {wn.dtype}",
                             "pass numeric weights")
        wn = wn.astype(np.float64, copy=False)
        if wn.shape != (Xn.shape[0],):
            raise InputError("weights", f"shape ({Xn.shape[0]},)", f"shape {wn.shape}", "pass one weight per row")
        first_nonfinite("weights", wn)
        if (wn < 0).any():
            i = int(np.flatnonzero(wn < 0)[0])
            raise InputError("weights", "non-negative case weights", f"{int((wn < 0).sum())} negative weight(s), "
                             f"first at row {i} ({wn[i]:g})", "weights are case weights; fix or drop those rows")
        if not (wn > 0).any():
            raise InputError("weights", "a positive sum", "all-zero weights", "give some rows positive weight")
        check_weight_scale(float(wn.max()))
    if feature_names is None:
        feature_names = tuple(f"x{j}" for j in range(Xn.shape[1]))
    else:
        feature_names = tuple(str(c) for c in feature_names)
        if len(feature_names) != Xn.shape[1]:
            raise InputError("feature_names", f"{Xn.shape[1]} names", f"{len(feature_names)} names",
                             "pass one name per column of X")
    return Design(Xn, yn, wn, feature_names, backend, like)
