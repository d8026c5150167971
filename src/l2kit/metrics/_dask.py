"""Metrics on Dask arrays: one :class:`~l2kit.metrics.Accumulator` state per row chunk, tree-merged.

Each chunk is reduced by the fused kernel on a worker, the small states are
merged pairwise (Chan) in a binary tree, and the metric is assembled from the
root state. Runs on whatever scheduler is active (the threaded default, or a
``dask.distributed`` client); the result is a NumPy number (or array for
``multioutput="raw_values"``).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .._array import numpy_namespace
from .._errors import InputError
from ._state import NonFiniteOmitted, assemble, check_multioutput, check_ndim, finite_sums
from .accumulator import Accumulator

__all__ = ["dask_metric"]


def _chunk_state(yt, yp, w, nonfinite):
    """State of one chunk; with nonfinite='raise' a bad chunk returns its non-finite counts instead."""
    acc = Accumulator(nonfinite="omit")
    total = yt.shape[0]
    acc.update(yt, yp, w)
    bad = {}
    if nonfinite == "raise" and acc.n_omitted:
        for name, a in (("y_true", yt), ("y_pred", yp), ("weights", w)):
            if a is not None:
                c = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
                if c:
                    bad[name] = c
    return acc, bad, total


def _merge(a, b):
    acc_a, bad_a, n_a = a
    acc_b, bad_b, n_b = b
    bad = dict(bad_a)
    for k, v in bad_b.items():
        bad[k] = bad.get(k, 0) + v
    return acc_a + acc_b, bad, n_a + n_b   # a new state: a retried task may see its inputs again


def dask_metric(metric, y_true, y_pred, weights, multioutput, nonfinite):
    import dask
    import dask.array as da

    for name, a in (("y_true", y_true), ("y_pred", y_pred)):
        if type(a).__module__.split(".")[0] != "dask":
            lib = type(a).__module__.split(".")[0]
            raise InputError(name, "a Dask array like the other argument", f"a {lib} array",
                             "wrap it with dask.array.from_array(...) or compute the Dask array first")
    if any(math.isnan(s) for s in y_true.shape + y_pred.shape):
        raise InputError("y_true, y_pred", "Dask arrays with known chunk sizes", "unknown (NaN) chunk sizes",
                         "call .compute_chunk_sizes() on them first")
    st, sp = tuple(y_true.shape), tuple(y_pred.shape)
    if st != sp:
        raise InputError("y_pred", f"shape {st} like y_true", f"shape {sp}",
                         "pass y_true and y_pred with the same shape (l2kit never broadcasts them)")
    check_ndim(st)
    if math.prod(st) == 0:
        raise InputError("y_true", "at least one element", f"an empty array of shape {st}", "pass non-empty data")
    k = 1 if y_true.ndim == 1 else st[1]
    mo = check_multioutput(metric, multioutput, k)
    yt = y_true if y_true.ndim == 1 else y_true.rechunk({1: -1})
    yp = y_pred.rechunk(yt.chunks)
    row_chunks = yt.chunks[0]
    wb = [None] * len(row_chunks)
    if weights is not None:
        w = weights if type(weights).__module__.split(".")[0] == "dask" else da.asarray(np.asarray(weights))
        if tuple(w.shape) not in ((st[0],), st):
            raise InputError("weights", f"shape ({st[0]},) or {st}", f"shape {tuple(w.shape)}",
                             "pass one weight per sample, or one per element")
        w = w.rechunk((row_chunks,) if w.ndim == 1 else yt.chunks)
        wb = list(w.to_delayed().ravel())
    blocks = [dask.delayed(_chunk_state)(a, b, c, nonfinite)
              for a, b, c in zip(yt.to_delayed().ravel(), yp.to_delayed().ravel(), wb)]
    while len(blocks) > 1:  # binary tree of merges
        nxt = [dask.delayed(_merge)(blocks[i], blocks[i + 1]) for i in range(0, len(blocks) - 1, 2)]
        if len(blocks) % 2:
            nxt.append(blocks[-1])
        blocks = nxt
    acc, bad, total = dask.compute(blocks[0])[0]
    if bad:
        parts = [f"{name} holds {c} non-finite value{'s' if c > 1 else ''}" for name, c in bad.items()]
        raise InputError(", ".join(n for n in ("y_true", "y_pred", "weights") if n in bad) or "y_true, y_pred",
                         "finite values", "; ".join(parts),
                         "clean the data, or pass nonfinite='omit' to drop non-finite pairs (the count is reported)")
    if acc._state is None:
        raise InputError("y_true, y_pred", "at least one sample with finite values",
                         f"all {total} samples hold NaN or inf", "clean the data")
    if acc.n_omitted:
        warnings.warn(NonFiniteOmitted(acc.n_omitted, total), stacklevel=4)
    out = assemble(numpy_namespace(), metric, finite_sums(acc._state, metric), mo, acc.n)
    dt = np.result_type(y_true.dtype, y_pred.dtype)
    if dt.kind != "f":
        dt = np.dtype(np.float64)  # integer/boolean targets promote to float64, as in memory
    out = np.asarray(out, dtype=dt)
    return out[()] if out.ndim == 0 else out
