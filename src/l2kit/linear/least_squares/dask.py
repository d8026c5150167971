r"""Distributed least squares on row-chunked Dask arrays.

Each row block of ``[X, y, w]`` becomes a
:class:`~.state.GramState` (centred TSQR factor, weighted
count and means) on the worker that holds it; states are combined by a tree
reduction of k-way Chan merges, and only the final ``(p+1) x (p+1)`` state
travels to the client. Unlike ``dask.array.linalg.lstsq`` (unpivoted TSQR,
garbage for rank-deficient ``X``) the solve is rank revealing and returns the
minimum-norm solution with a warning naming the collinear columns.

Validation happens on the workers and travels back inside the states (count
of non-finite rows and the first one), so no exception has to be pickled and
a bad block is reported with its global row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..._errors import InputError
from ...losses import Squared
from .state import GramState, solve_state
from .stream import check_stream_options

SPLIT_EVERY = 8


@dataclass(frozen=True)
class _Part:
    """A block's state plus what validation found (bad rows are counted, never dropped)."""

    state: GramState | None
    n_bad: int = 0
    first_bad: tuple[int, int, str] | None = None  # (block, local row, what)
    n_negative: int = 0
    first_negative: tuple[int, int] | None = None


def _block_part(Xb: np.ndarray, yb: np.ndarray, wb: np.ndarray | None, block: int) -> _Part:
    Xb = np.asarray(Xb, dtype=np.float64)
    yb = np.asarray(yb, dtype=np.float64).reshape(-1)
    wb = None if wb is None else np.asarray(wb, dtype=np.float64).reshape(-1)
    if wb is not None and not (wb >= 0).all():
        neg = wb < 0
        if neg.any() and np.isfinite(wb).all():
            rows = np.flatnonzero(neg)
            return _Part(None, 0, None, int(rows.size), (block, int(rows[0])))
    state = GramState.from_chunk(Xb, yb, wb)
    if state.finite:
        return _Part(state)
    # a NaN/inf row poisoned the state: find and count them (clean blocks never pay this scan)
    bad = ~np.isfinite(yb) | ~np.isfinite(Xb).all(axis=1)
    if wb is not None:
        bad |= ~np.isfinite(wb)
    if not bad.any():
        return _Part(None, 0, (block, -1, "overflow"))
    rows = np.flatnonzero(bad)
    r = int(rows[0])
    what = "X" if not np.isfinite(Xb[r]).all() else ("y" if not np.isfinite(yb[r]) else "weights")
    return _Part(None, int(rows.size), (block, r, what))


def _merge_parts(*parts: _Part) -> _Part:
    n_bad = sum(q.n_bad for q in parts)
    n_neg = sum(q.n_negative for q in parts)
    first_bad = min((q.first_bad for q in parts if q.first_bad is not None), default=None)
    first_neg = min((q.first_negative for q in parts if q.first_negative is not None), default=None)
    if n_bad or n_neg or first_bad is not None:
        return _Part(None, n_bad, first_bad, n_neg, first_neg)
    return _Part(GramState.merge_all([q.state for q in parts]))


def _as_dask(a: Any, chunks, name: str, n: int):
    import dask.array as da

    if a is None:
        return None
    if type(a).__module__.split(".")[0] != "dask":
        a = np.asarray(a)
        if a.shape != (n,):
            raise InputError(name, f"shape ({n},)", f"shape {a.shape}", "pass one value per row")
        return da.from_array(a, chunks=(chunks,))
    if a.ndim == 2 and a.shape[1] == 1:
        raise InputError(name, f"shape ({n},)", f"shape {a.shape}", f"pass {name}.reshape(-1) (no broadcasting)")
    if a.ndim != 1 or (not np.isnan(a.shape[0]) and not np.isnan(n) and a.shape[0] != n):
        raise InputError(name, f"shape ({n},)", f"shape {a.shape}", "pass one value per row of X")
    if a.chunks[0] != chunks:
        if any(np.isnan(c) for c in chunks) or any(np.isnan(c) for c in a.chunks[0]):
            raise InputError(name, "row blocks aligned with X", "unknown chunk sizes",
                             "call .compute_chunk_sizes() on X and " + name)
        a = a.rechunk((chunks,))
    return a


def fit_dask(X: Any, y: Any, *, loss: Any = None, weights: Any = None, cov: Any = None, alpha: float = 0.0,
             l1_ratio: float = 0.0, fit_intercept: bool = True, method: str = "auto", feature_names: Any = None,
             split_every: int = SPLIT_EVERY, **opts: Any):
    r"""Least squares on a row-chunked Dask array by a tree reduction of centred TSQR states.

    Called by :func:`l2kit.fit` when ``X`` is a Dask array. Runs on the
    current Dask scheduler (a ``dask.distributed.Client`` when one is
    active), so lost blocks are recomputed by Dask. Coefficients and
    standard errors equal the in-memory fit of the same rows.

    Parameters
    ----------
    X : dask.array.Array of shape (n, p)
        Row-chunked (column blocks are merged first).
    y : dask or NumPy array of shape (n,)
    weights : dask or NumPy array of shape (n,), optional
        Non-negative case weights.
    cov : dask or NumPy array of shape (n,), optional
        Per-row error variances (diagonal GLS = WLS with weights ``1/cov``).
    alpha : float
        Ridge penalty (``l1_ratio`` must be 0).
    split_every : int
        Fan-in of the tree reduction.

    Returns
    -------
    Fit
        ``residuals`` is None (call ``fit.predict(X)`` lazily if needed).

    Examples
    --------
    >>> import numpy as np, dask.array as da, l2kit as l2
    >>> X = da.from_array(np.arange(12.0).reshape(-1, 1), chunks=(4, 1))
    >>> y = 3.0 - X[:, 0]
    >>> f = l2.fit(X, y)
    >>> round(f.intercept, 10), np.round(f.coef, 10)
    (3.0, array([-1.]))
    """
    import dask
    from dask import delayed

    loss = Squared() if loss is None else loss
    alpha, opts = check_stream_options(loss, cov=cov, alpha=alpha, l1_ratio=l1_ratio, method=method, opts=opts,
                               where="Dask")
    if X.ndim != 2:
        raise InputError("X", "a 2-D Dask array (rows, features)", f"shape {X.shape}",
                         "reshape X to 2-D, e.g. x[:, None]")
    if y is None:
        raise InputError("y", "a Dask array of shape (n,)", "None", "pass the target")
    for name, a in (("X", X), ("y", y)):
        dt = getattr(a, "dtype", np.dtype(float))
        if np.issubdtype(dt, np.complexfloating):
            raise InputError(name, "real data for a Dask fit", "complex data", "fit complex data in memory")
        if not (np.issubdtype(dt, np.number) or dt.kind == "b"):
            raise InputError(name, "numeric values", f"dtype {dt}", "convert to numbers")
    if X.numblocks[1] > 1:
        X = X.rechunk({1: -1})
    rows = X.chunks[0]
    n = X.shape[0]
    y = _as_dask(y, rows, "y", n)
    w = _as_dask(weights, rows, "weights", n)
    c = _as_dask(cov, rows, "cov", n)
    if c is not None:  # diagonal GLS == WLS with weights w / var
        w = 1.0 / c if w is None else w / c
    if feature_names is None:
        names = None
    else:
        names = tuple(str(v) for v in feature_names)
        if len(names) != X.shape[1]:
            raise InputError("feature_names", f"{X.shape[1]} names", f"{len(names)} names", "one name per column")
    xb = X.to_delayed().ravel()
    yb = y.to_delayed().ravel()
    wb = w.to_delayed().ravel() if w is not None else [None] * len(xb)
    block = delayed(_block_part, pure=True)
    merge = delayed(_merge_parts, pure=True)
    parts = [block(xb[i], yb[i], wb[i], i) for i in range(len(xb))]
    split_every = max(2, int(split_every))
    while len(parts) > 1:
        parts = [merge(*parts[i:i + split_every]) if len(parts[i:i + split_every]) > 1 else parts[i]
                 for i in range(0, len(parts), split_every)]
    (part,) = dask.compute(parts[0])
    if part.first_bad is not None and part.first_bad[2] == "overflow":
        raise InputError("X, y", "values whose squares fit in float64", f"an overflow in block {part.first_bad[0]}",
                         "rescale the columns (e.g. standardise) before fitting")
    if part.n_bad or part.n_negative:
        known = not any(np.isnan(r) for r in rows)
        offsets = np.concatenate([[0], np.cumsum(rows)]) if known else None
        if part.n_bad:
            b, r, what = part.first_bad
            where = f"global row {int(offsets[b]) + r} (0-based)" if known else f"block {b}, row {r}"
            raise InputError(what, "finite values", f"{part.n_bad} row(s) with NaN/inf in X, y or weights, first at "
                             f"{where}", "drop or impute those rows before fitting (l2kit never drops rows silently)")
        b, r = part.first_negative
        where = f"global row {int(offsets[b]) + r} (0-based)" if known else f"block {b}, row {r}"
        raise InputError("weights", "non-negative case weights", f"{part.n_negative} negative weight(s), first at "
                         f"{where}", "weights are case weights; fix or drop those rows")
    return solve_state(part.state, fit_intercept=fit_intercept, alpha=alpha, loss=loss, feature_names=names,
                       method="tsqr", n_chunks=len(xb), where="Dask", **opts)
