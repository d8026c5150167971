r"""Out-of-core least squares: one pass over an iterator of ``(X, y)`` or ``(X, y, w)`` chunks.

Each chunk becomes a :class:`~.state.GramState` (weighted
count, means and the R factor of the centred chunk) merged into a running
state by Chan's update, so memory is bounded by one chunk plus a
``(p+1) x (p+1)`` matrix, and the estimates equal the in-memory fit to
rounding whatever the chunking.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..._array import as_numpy
from ..._errors import InputError
from ...losses import Squared
from .._design import WEIGHT_RANGE, check_weight_scale, first_nonfinite
from .state import GramState, solve_state

_KNOWN_OPTS = {"rcond"}


def check_stream_options(loss, *, cov, alpha, l1_ratio, method, opts, where: str) -> tuple[float, dict]:
    """Refuse options the chunked/distributed paths cannot honour; return (alpha, solver opts)."""
    if loss.fit_family != "least_squares":
        raise InputError("loss", f"Squared() for {where} data", repr(loss),
                         "load the data into memory for other losses")
    unknown = sorted(set(opts) - _KNOWN_OPTS)
    if unknown:
        known = ", ".join(sorted(_KNOWN_OPTS))
        raise InputError(", ".join(unknown), f"options of the {where} least-squares path ({known})",
                         "unknown keyword(s)", "remove them")
    if method not in ("auto", "tsqr"):
        raise InputError("method", f"'auto' or 'tsqr' for {where} data", repr(method), "use method='auto'")
    if isinstance(alpha, str) or np.ndim(alpha) != 0:
        raise InputError("alpha", f"a single non-negative number for {where} data", repr(alpha),
                         "select alpha on an in-memory sample, then pass the number")
    alpha = float(alpha)
    if not alpha >= 0:
        raise InputError("alpha", "a non-negative number", repr(alpha), "pass alpha >= 0")
    if alpha > 0 and l1_ratio not in (0, 0.0):
        raise InputError("l1_ratio", f"0 (ridge) for {where} data", repr(l1_ratio),
                         "elastic net and lasso need the data in memory (coordinate descent); use l1_ratio=0")
    if cov is not None and np.ndim(cov) != 1:
        raise InputError("cov", f"None or per-row variances (n,) for {where} data",
                         f"an array of shape {np.shape(cov)}", "a full error covariance needs in-memory data")
    return alpha, {k: opts[k] for k in opts}


def _chunk_arrays(chunk: Any, i: int, offset: int, p_expected: int | None):
    """Validate one chunk; return float64 (X, y, w) with global row numbers in errors."""
    if not isinstance(chunk, (tuple, list)) or len(chunk) not in (2, 3):
        raise InputError(f"chunk {i}", "a tuple (X, y) or (X, y, weights)", type(chunk).__name__,
                         "yield (X, y) or (X, y, w) tuples from the iterator")
    X, y = chunk[0], chunk[1]
    w = chunk[2] if len(chunk) == 3 else None
    names = tuple(str(c) for c in X.columns) if hasattr(X, "columns") else None
    Xn, yn = as_numpy(X, f"X (chunk {i})"), as_numpy(y, f"y (chunk {i})")
    if Xn.ndim != 2:
        raise InputError(f"X (chunk {i})", "a 2-D array (rows, features)", f"shape {Xn.shape}",
                         "reshape each chunk's X to 2-D, e.g. x.reshape(-1, 1)")
    if yn.ndim != 1 or yn.shape[0] != Xn.shape[0]:
        raise InputError(f"y (chunk {i})", f"shape ({Xn.shape[0]},) like its X", f"shape {yn.shape}",
                         "pass one target per row, as a 1-D array")
    if p_expected is not None and Xn.shape[1] != p_expected:
        raise InputError(f"X (chunk {i})", f"{p_expected} columns like the first chunk", f"{Xn.shape[1]} columns",
                         "yield chunks with the same columns")
    for name, a in (("X", Xn), ("y", yn)):
        if np.iscomplexobj(a):
            raise InputError(f"{name} (chunk {i})", "real data for a chunked fit", "complex data",
                             "fit complex data in memory")
        if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
            raise InputError(f"{name} (chunk {i})", "numeric values", f"dtype {a.dtype}", "convert to numbers")
    Xn = np.asarray(Xn, dtype=np.float64)
    yn = np.asarray(yn, dtype=np.float64)
    wn = None
    if w is not None:
        wn = as_numpy(w, f"weights (chunk {i})")
        if not (np.issubdtype(wn.dtype, np.number) or wn.dtype == bool) or np.iscomplexobj(wn):
            raise InputError(f"weights (chunk {i})", "real case weights", f"dtype {wn.dtype}", "pass numeric weights")
        wn = wn.astype(np.float64, copy=False)
        if wn.shape != yn.shape:
            raise InputError(f"weights (chunk {i})", f"shape {yn.shape}", f"shape {wn.shape}", "one weight per row")
    if wn is not None and not (wn >= 0).all():  # also catches NaN weights
        _check_finite(Xn, yn, wn, offset, f"chunk {i}")
    return Xn, yn, wn, names


def _check_finite(X, y, w, offset: int, where: str) -> None:
    for name, a in (("X", X), ("y", y), ("weights", w)):
        if a is not None:
            first_nonfinite(name, a, where=where, offset=offset)
    if w is not None and (w < 0).any():
        i = int(np.flatnonzero(w < 0)[0])
        raise InputError("weights", "non-negative case weights", f"negative weight {w[i]:g} in {where} at global "
                         f"row {offset + i} (0-based)", "weights are case weights; fix or drop those rows")


def fit_chunks(chunks: Iterable[Any], *, loss: Any = None, weights: Any = None, cov: Any = None,
               alpha: float = 0.0, l1_ratio: float = 0.0, fit_intercept: bool = True, method: str = "auto",
               feature_names: Any = None, **opts: Any):
    r"""Least squares in one pass over ``(X, y)`` or ``(X, y, w)`` chunks, in bounded memory.

    Called by :func:`l2kit.fit` when ``X`` is an iterator of chunks. The
    result equals the in-memory fit of the concatenated rows (coefficients to
    rounding, classical OLS/WLS standard errors) for any chunking; see
    :mod:`.state` for the centred TSQR state and its merge.

    Parameters
    ----------
    chunks : iterable of (X, y) or (X, y, w)
        ``X`` of shape (m_i, p), ``y`` (m_i,), optional non-negative case
        weights ``w`` (m_i,). Chunk sizes may vary; empty chunks are allowed.
    loss : Squared
    weights : None
        Weights travel inside the chunks.
    cov : None or 1-D per-row variances are not available here (pass
        ``w = 1 / var`` inside the chunks).
    alpha : float
        Ridge penalty (glmnet scaling with ``n`` = sum of weights); ``l1_ratio`` must be 0.
    fit_intercept : bool
    method : {"auto", "tsqr"}
    feature_names : sequence of str, optional
        Default: the columns of a DataFrame chunk, else ``x0, x1, ...``.
    rcond : float, optional
        Relative singular-value cut-off for the rank (default
        ``max(n, p) * eps``, as ``numpy.linalg.matrix_rank``).

    Returns
    -------
    Fit
        With ``residuals=None`` (the rows are gone).

    Examples
    --------
    >>> import numpy as np, l2kit as l2
    >>> X = np.arange(10.0).reshape(-1, 1)
    >>> y = 1.0 + 2.0 * X[:, 0]
    >>> f = l2.fit(((X[i:i + 3], y[i:i + 3]) for i in range(0, 10, 3)))
    >>> round(f.intercept, 10), np.round(f.coef, 10), f.residuals is None
    (1.0, array([2.]), True)
    """
    loss = Squared() if loss is None else loss
    if weights is not None:
        raise InputError("weights", "None when X is an iterator of chunks", "an array",
                         "yield (X, y, w) chunks instead")
    if cov is not None:
        raise InputError("cov", "None when X is an iterator of chunks", "an array",
                         "for per-row variances yield (X, y, 1/var) chunks (WLS equals diagonal GLS)")
    alpha, opts = check_stream_options(loss, cov=None, alpha=alpha, l1_ratio=l1_ratio, method=method, opts=opts,
                               where="chunked")
    state = None
    names = None
    offset = 0
    n_chunks = 0
    wmax = None   # the largest weight so far (None: unweighted)
    for i, chunk in enumerate(iter(chunks)):
        X, y, w, cnames = _chunk_arrays(chunk, i, offset, None if state is None else state.p)
        if names is None:
            names = cnames
        if w is not None and w.size:
            wmax = max(wmax or 0.0, float(w.max()))
            if wmax > WEIGHT_RANGE[1]:
                check_weight_scale(wmax)    # blame the weights before their squares overflow
        part = GramState.from_chunk(X, y, w)
        if not part.finite:  # only now pay for a scan of the rows
            _check_finite(X, y, w, offset, f"chunk {i}")
            raise InputError(f"X, y (chunk {i})", "values whose squares fit in float64", "an overflow",
                             "rescale the columns (e.g. standardise) before fitting")
        state = part if state is None else state.merge(part)
        offset += X.shape[0]
        n_chunks += 1
    if wmax:
        check_weight_scale(wmax)
    if state is None:
        raise InputError("X", "an iterator of at least one (X, y) chunk", "an empty iterator", "pass data")
    if state.n_rows == 0:
        raise InputError("X", "at least one row", "chunks with no rows", "pass data")
    if feature_names is not None:
        names = tuple(str(c) for c in feature_names)
        if len(names) != state.p:
            raise InputError("feature_names", f"{state.p} names", f"{len(names)} names", "one name per column")
    return solve_state(state, fit_intercept=fit_intercept, alpha=alpha, loss=loss, feature_names=names,
                       n_chunks=n_chunks, where="chunked", **opts)
