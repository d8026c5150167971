r"""Iterative fits beyond one machine: row chunks passed over once per iteration, merged as weighted Gram states.

Robust IRLS and GLM Newton steps need, per iteration, only sums over rows:
a value, a gradient :math:`\sum_i g_i x_i` and a weighted Gram matrix
:math:`\sum_i h_i x_i x_i^\top` (:class:`WeightedGramState`). Each chunk of rows
computes its state where it lives (a Dask worker, a Spark executor, a loop
over file batches); states are added, in any order and grouping, so the memory
is one chunk plus a few ``k x k`` matrices, and the estimates equal the
in-memory ones to rounding.

A :class:`ChunkSource` is where the rows live: a re-iterable of ``(X, y)`` or
``(X, y, w)`` chunks (read once per pass), or Dask arrays / DataFrames (one
task per row block per pass, tree-reduced; a lost worker's blocks are
recomputed by Dask, so the result does not change).

The robust scale is an exact weighted median of :math:`|r_i|`, found by
:func:`exact_median` in passes that move only counts and a bracket of values
(no sketch, no approximation).

The map-reduce recipe for other engines (Spark, Ray)::

    state = sum(chunk_state(chunk, params) for chunk in chunks)   # any grouping
    payload = state.to_dict()    # JSON-safe: ship it, store it
    state = WeightedGramState.from_dict(payload)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._errors import InputError

__all__ = ["ChunkSource", "WeightedGramState", "exact_median", "make_source"]


@dataclass
class WeightedGramState:
    r"""A mergeable sum over rows: count, weight, a value, a gradient, a weighted Gram matrix and named sums.

    ``value`` (e.g. a log-likelihood), ``gradient`` (k,) and ``gram`` (k, k)
    are sums over the rows a state has seen; ``sums`` holds further named
    scalar sums. ``a + b`` (or ``a.merge(b)``, in place) is the state of both
    sets of rows, so states from chunks combine in any order (a map-reduce).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(6.0).reshape(3, 2)
    >>> a = WeightedGramState.of_rows(X[:2], np.ones(2), gradient=X[:2].sum(0))
    >>> b = WeightedGramState.of_rows(X[2:], np.ones(1), gradient=X[2:].sum(0))
    >>> s = WeightedGramState.from_dict((a + b).to_dict())
    >>> bool(np.allclose(s.gram, X.T @ X)), s.n_rows
    (True, 3)
    """

    n_rows: int = 0
    sum_weights: float = 0.0
    value: float = 0.0
    gradient: np.ndarray | None = None
    gram: np.ndarray | None = None
    sums: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of_rows(cls, X: np.ndarray, h: np.ndarray, *, weights: np.ndarray | None = None, value: float = 0.0,
                gradient: np.ndarray | None = None, sums: dict | None = None) -> WeightedGramState:
        """The state of rows ``X`` with Gram weights ``h`` (``X.T @ diag(h) @ X``) and case weights ``weights``."""
        from ._linalg import weighted_gram

        n = X.shape[0]
        return cls(n, float(n if weights is None else weights.sum()), float(value),
                   None if gradient is None else np.asarray(gradient, dtype=float),
                   weighted_gram(X, np.asarray(h, dtype=float)), dict(sums or {}))

    def merge(self, other: WeightedGramState) -> WeightedGramState:
        """Add ``other``'s rows into this state (in place); returns self."""
        self.n_rows += other.n_rows
        self.sum_weights += other.sum_weights
        self.value += other.value
        self.gradient = _add(self.gradient, other.gradient)
        self.gram = _add(self.gram, other.gram)
        for k, v in other.sums.items():
            self.sums[k] = self.sums.get(k, 0.0) + v
        return self

    def __add__(self, other: WeightedGramState) -> WeightedGramState:
        return WeightedGramState().merge(self).merge(other)

    def to_dict(self) -> dict:
        """A JSON-safe dict (lists of floats; non-finite values as strings, as ``float()`` reads them back)."""
        def num(v):
            v = float(v)
            return v if math.isfinite(v) else repr(v)

        return {"kind": "l2kit.WeightedGramState", "version": 1, "n_rows": int(self.n_rows),
                "sum_weights": num(self.sum_weights), "value": num(self.value),
                "gradient": None if self.gradient is None else [num(v) for v in self.gradient],
                "gram": None if self.gram is None else [[num(v) for v in row] for row in self.gram],
                "sums": {str(k): num(v) for k, v in self.sums.items()}}

    @classmethod
    def from_dict(cls, d: dict) -> WeightedGramState:
        """The state of :meth:`to_dict`, checked (shapes, symmetry, counts) before it is trusted."""
        if not isinstance(d, dict) or d.get("kind") != "l2kit.WeightedGramState":
            raise InputError("state", "a dict from WeightedGramState.to_dict()", type(d).__name__,
                             "pass the dict that to_dict() returned (after json.loads)")
        try:
            g = None if d["gradient"] is None else np.array([float(v) for v in d["gradient"]])
            G = None if d["gram"] is None else np.array([[float(v) for v in row] for row in d["gram"]])
            n, sw = int(d["n_rows"]), float(d["sum_weights"])
            sums = {str(k): float(v) for k, v in d.get("sums", {}).items()}
            value = float(d["value"])
        except (KeyError, TypeError, ValueError) as e:
            raise InputError("state", "the fields of WeightedGramState.to_dict()", f"an unreadable state ({e})",
                             "pass the dict that to_dict() returned") from None
        if G is not None and (G.ndim != 2 or G.shape[0] != G.shape[1] or not np.allclose(G, G.T, rtol=1e-12,
                                                                                         atol=0, equal_nan=True)):
            raise InputError("state", "a square symmetric gram", f"shape {G.shape}", "pass an unmodified state")
        if g is not None and G is not None and g.shape != (G.shape[0],):
            raise InputError("state", f"a gradient of length {G.shape[0]}", f"length {g.size}",
                             "pass an unmodified state")
        if n < 0 or not sw >= 0:
            raise InputError("state", "non-negative n_rows and sum_weights", f"{n}, {sw}", "pass an unmodified state")
        return cls(n, sw, value, g, G, sums)


def _add(a, b):
    if a is None:
        return None if b is None else np.array(b, dtype=float)
    return a if b is None else a + b


# ---------------------------------------------------------------------------
# where the rows live
# ---------------------------------------------------------------------------
class ChunkSource:
    """Rows in chunks of float64 ``(X, y, w)``; :meth:`map_reduce` runs a function per chunk and adds the results."""

    p: int
    names: tuple[str, ...] | None
    where: str
    n_passes: int = 0

    def map_reduce(self, fn: Callable, *args: Any) -> Any:  # pragma: no cover - interface
        """``sum(fn(X, y, w, *args) for each chunk)`` (results support ``+``; ``fn`` a module-level function)."""
        raise NotImplementedError


class _IterSource(ChunkSource):
    """A re-iterable of chunks, read once per pass (each pass validates as the least-squares stream does)."""

    def __init__(self, chunks: Iterable):
        self.chunks, self.where = chunks, "chunked"
        first = self._iter()
        self.p, self.names = None, None
        for i, c in enumerate(first):
            X, _, _, names = _chunk(c, i, 0, None)
            self.p, self.names = X.shape[1], names
            break
        if self.p is None:
            raise InputError("X", "an iterable of at least one (X, y) chunk", "no chunks", "pass data")

    def _iter(self) -> Iterator:
        it = iter(self.chunks)
        return it

    def map_reduce(self, fn, *args):
        self.n_passes += 1
        total, offset = None, 0
        for i, c in enumerate(self._iter()):
            X, y, w, _ = _chunk(c, i, offset, self.p)
            part = _in_chunk(fn, X, y, w, args, f"chunk {i} (its row 0 is global row {offset}, 0-based)")
            offset += X.shape[0]
            total = part if total is None else total + part
        return total


def _chunk(c, i: int, offset: int, p: int | None):
    """One chunk as float64 ``(X, y, w)`` (checked: shapes, numbers, finiteness) and its column names."""
    if not isinstance(c, (tuple, list)) or len(c) not in (2, 3):
        raise InputError(f"chunk {i}", "a tuple (X, y) or (X, y, weights)", type(c).__name__,
                         "yield (X, y) or (X, y, w) tuples")
    names = tuple(str(v) for v in c[0].columns) if hasattr(c[0], "columns") else None
    out = []
    for name, a in zip(("X", "y", "weights"), c):
        a = np.asarray(a.to_numpy() if hasattr(a, "to_numpy") else a)
        if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool) or np.iscomplexobj(a):
            raise InputError(f"{name} (chunk {i})", "real numbers", f"dtype {a.dtype}", "convert to numbers")
        out.append(a.astype(np.float64, copy=False))
    X, y = out[0], out[1]
    w = out[2] if len(out) == 3 else None
    if X.ndim != 2 or (p is not None and X.shape[1] != p):
        raise InputError(f"X (chunk {i})", f"a 2-D array with {p if p is not None else 'the same'} columns",
                         f"shape {X.shape}", "yield 2-D chunks with the same columns")
    for name, a in (("y", y), ("weights", w)):
        if a is not None and a.shape != (X.shape[0],):
            raise InputError(f"{name} (chunk {i})", f"shape ({X.shape[0]},) like its X", f"shape {a.shape}",
                             "pass one value per row (no broadcasting)")
    _check_rows(X, y, w, f"chunk {i}", offset)
    return X, y, w, names


class _DaskSource(ChunkSource):
    """Dask arrays or DataFrames: per pass, one task per row block, a tree reduction, one ``compute``."""

    def __init__(self, X, y, weights, split_every: int = 8):
        X, names = _dask_matrix(X)
        self.names = names
        if X.numblocks[1] > 1:
            X = X.rechunk({1: -1})
        self.p, self.where, self.split_every = int(X.shape[1]), "Dask", max(2, int(split_every))
        rows = X.chunks[0]
        self.xb = X.to_delayed().ravel()
        self.yb = _dask_vector(y, rows, "y").to_delayed().ravel()
        w = _dask_vector(weights, rows, "weights") if weights is not None else None
        self.wb = w.to_delayed().ravel() if w is not None else [None] * len(self.xb)
        self.rows = rows

    def map_reduce(self, fn, *args):
        import dask
        from dask import delayed

        self.n_passes += 1
        task = delayed(_dask_block, pure=True)
        add = delayed(_add_all, pure=True)
        parts = [task(fn, self.xb[i], self.yb[i], self.wb[i], i, *args) for i in range(len(self.xb))]
        s = self.split_every
        while len(parts) > 1:
            parts = [add(*parts[i:i + s]) if len(parts[i:i + s]) > 1 else parts[i] for i in range(0, len(parts), s)]
        (out,) = dask.compute(parts[0])
        return out


def _dask_block(fn, X, y, w, block, *args):
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    w = None if w is None else np.asarray(w, dtype=np.float64).reshape(-1)
    _check_rows(X, y, w, f"Dask block {block}", 0)
    return _in_chunk(fn, X, y, w, args, f"Dask block {block}")


def _in_chunk(fn, X, y, w, args, where: str):
    """``fn`` on one chunk; an InputError about its rows says which chunk (rows count from the chunk's start)."""
    try:
        return fn(X, y, w, *args)
    except InputError as e:
        raise InputError(e.argument, e.expected, f"{e.got} in {where}", e.fix) from None


def _add_all(*parts):
    total = parts[0]
    for q in parts[1:]:
        total = total + q
    return total


def _dask_matrix(X):
    names = None
    if hasattr(X, "columns"):          # a Dask DataFrame
        names = tuple(str(c) for c in X.columns)
        X = X.to_dask_array(lengths=True)
    if X.ndim != 2:
        raise InputError("X", "a 2-D Dask array (rows, features)", f"shape {X.shape}", "reshape X to 2-D")
    if not (np.issubdtype(X.dtype, np.number) or X.dtype.kind == "b") or np.issubdtype(X.dtype, np.complexfloating):
        raise InputError("X", "real numeric values", f"dtype {X.dtype}", "convert the columns to numbers")
    return X, names


def _dask_vector(a, rows, name):
    import dask.array as da

    if a is None:
        raise InputError(name, "a Dask array of shape (n,)", "None", f"pass {name}")
    if hasattr(a, "to_dask_array"):   # a Dask Series
        a = a.to_dask_array(lengths=True)
    if type(a).__module__.split(".")[0] != "dask":
        a = np.asarray(a)
        if a.shape != (sum(rows),):
            raise InputError(name, f"shape ({sum(rows)},)", f"shape {a.shape}", "pass one value per row")
        return da.from_array(a, chunks=(rows,))
    if a.ndim != 1 or a.shape[0] != sum(rows):
        raise InputError(name, f"shape ({sum(rows)},)", f"shape {a.shape}", f"pass one value per row of X "
                         f"({name}.reshape(-1); no broadcasting)")
    return a.rechunk((rows,)) if a.chunks[0] != rows else a


def _check_rows(X, y, w, where, offset):
    """Refuse NaN/inf and negative weights in a chunk, naming the chunk and the row (never dropped)."""
    for name, a in (("X", X), ("y", y), ("weights", w)):
        if a is None:
            continue
        bad = ~np.isfinite(a) if a.ndim == 1 else ~np.isfinite(a).all(axis=1)
        if bad.any():
            raise InputError(name, "finite values", f"{int(bad.sum())} row(s) with NaN/inf in {where}, first at "
                             f"row {offset + int(np.flatnonzero(bad)[0])}", "drop or impute those rows before "
                             "fitting (l2kit never drops rows silently)")
    if w is not None and (w < 0).any():
        raise InputError("weights", "non-negative case weights", f"a negative weight in {where}",
                         "weights are case weights; fix or drop those rows")


def make_source(X: Any, y: Any, weights: Any, *, family: str) -> ChunkSource:
    """The :class:`ChunkSource` of a Dask array/DataFrame or a re-iterable of chunks (one-shot iterators refused)."""
    if type(X).__module__.split(".")[0] == "dask":
        return _DaskSource(X, y, weights)
    if y is not None or weights is not None:
        raise InputError("y, weights", "None when X is an iterable of chunks", "arrays",
                         "yield (X, y) or (X, y, w) chunks instead")
    if isinstance(X, Iterator):
        raise InputError("X", f"a re-iterable of chunks for a {family} fit (it reads the rows once per iteration)",
                         "a one-shot iterator (a generator)", "pass an object whose __iter__ starts a fresh "
                         "pass, e.g. class Chunks: def __iter__(self): return my_generator()")
    return _IterSource(X)


# ---------------------------------------------------------------------------
# the exact distributed median
# ---------------------------------------------------------------------------
#: at most this many values travel to the client in the gather pass of :func:`exact_median`
GATHER_CAP = 1 << 20
_N_BINS = 4096


@dataclass
class _Hist:
    counts: np.ndarray        # case weight per bin
    rows: np.ndarray          # rows per bin

    def __add__(self, other):
        return _Hist(self.counts + other.counts, self.rows + other.rows)


@dataclass
class _Bracket:
    values: np.ndarray
    weights: np.ndarray
    above: float             # the smallest value at or above the bracket's upper edge (inf: none)

    def __add__(self, other):
        return _Bracket(np.concatenate([self.values, other.values]), np.concatenate([self.weights, other.weights]),
                        min(self.above, other.above))


def _hist_chunk(X, y, w, values_fn, args, edges):
    a = values_fn(X, y, w, *args)
    c = np.ones_like(a) if w is None else w
    keep = c > 0
    a, c = a[keep], c[keep]
    idx = np.searchsorted(edges, a, side="right") - 1
    inside = (idx >= 0) & (idx < edges.size - 1)
    nb = edges.size - 1
    below = np.array([c[idx < 0].sum()]), np.array([float((idx < 0).sum())])
    counts = np.bincount(idx[inside], weights=c[inside], minlength=nb)
    rows = np.bincount(idx[inside], minlength=nb).astype(float)
    return _Hist(np.concatenate([below[0], counts, [c[idx >= nb].sum()]]),
                 np.concatenate([below[1], rows, [float((idx >= nb).sum())]]))


def _gather_chunk(X, y, w, values_fn, args, lo, hi):
    a = values_fn(X, y, w, *args)
    c = np.ones_like(a) if w is None else w
    keep = c > 0
    a, c = a[keep], c[keep]
    inb = (a >= lo) & (a < hi)
    up = a[a >= hi]
    vals, inv = np.unique(a[inb], return_inverse=True)   # ties travel once, with their summed weight
    return _Bracket(vals, np.bincount(inv, weights=c[inb], minlength=vals.size), float(up.min()) if up.size
                    else math.inf)


def exact_median(source: ChunkSource, values_fn: Callable, args: tuple, *, guess: float | None = None) -> float:
    r"""The exact weighted median of non-negative per-row values (e.g. :math:`|r_i|`), in a few passes.

    ``values_fn(X, y, w, *args)`` gives the values of a chunk (a module-level
    function, so it ships to Dask workers). The definition is
    :func:`l2kit.linear._scale.weighted_median`'s (``numpy.median`` without
    weights). Pass 1 counts the case weight in bins (bins of width 0.2 % around
    ``guess``, else one per binary exponent); further counting passes narrow
    the bracket until the median's bin holds at most :data:`GATHER_CAP`
    values; the last pass gathers that bin's values (and the next value above
    it, for the average of the two middle values) and selects exactly.
    """
    if guess is not None and guess > 0 and math.isfinite(guess):
        edges = np.concatenate([[0.0], guess * np.exp(np.linspace(-4.0, 4.0, _N_BINS + 1)), [math.inf]])
    else:
        edges = np.concatenate([[0.0], np.ldexp(1.0, np.arange(-1074, 1024)), [math.inf]])
    total, prev = None, math.inf
    for _ in range(64):
        h = source.map_reduce(_hist_chunk, values_fn, args, edges)
        below_w = float(h.counts[0])          # the weight below the bracket's lower edge
        counts, rows = h.counts[1:-1], h.rows[1:-1]
        if total is None:
            total = float(h.counts.sum())
            if not total > 0:
                return math.nan
        target = 0.5 * total
        cum = below_w + np.cumsum(counts)
        j = min(int(np.searchsorted(cum, target * (1 - 1e-12), side="left")), counts.size - 1)
        lo, hi = float(edges[j]), float(edges[j + 1])
        below_w = float(cum[j - 1]) if j > 0 else below_w
        # gather when the bin is small, or stopped shrinking (ties: they travel as one value each)
        if rows[j] <= GATHER_CAP or rows[j] >= prev or not hi > np.nextafter(lo, math.inf):
            br = source.map_reduce(_gather_chunk, values_fn, args, lo, hi)
            return _select(br, below_w, target, total)
        if math.isinf(hi):
            powers = np.ldexp(1.0, np.arange(-1074, 1024))
            edges = np.concatenate([[lo], powers[powers > lo], [math.inf]])
        else:
            edges = np.unique(np.linspace(lo, hi, _N_BINS + 1))
        prev = rows[j]
    raise RuntimeError("exact_median: the bracket did not narrow")  # pragma: no cover


def _select(br: _Bracket, below_w: float, target: float, total: float) -> float:
    a, inv = np.unique(br.values, return_inverse=True)
    c = np.bincount(inv, weights=br.weights, minlength=a.size)
    cum = below_w + np.cumsum(c)
    i = min(int(np.searchsorted(cum, target * (1 - 1e-12), side="left")), a.size - 1)
    if abs(cum[i] - target) <= 1e-12 * total:   # exactly half the weight at or below a[i]: average with the next
        nxt = a[i + 1] if i + 1 < a.size else br.above
        return float(0.5 * (a[i] + nxt)) if math.isfinite(nxt) else float(a[i])
    return float(a[i])
