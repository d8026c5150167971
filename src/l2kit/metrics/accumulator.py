r"""Mergeable streaming state for the regression metrics.

:class:`Accumulator` keeps, per output column, float64 sufficient statistics:

* ``W`` -- the sum of case weights (the count when unweighted);
* ``ky``, ``my``, ``m2y`` -- a shift (a data value), the weighted mean of
  ``y - ky`` and the weighted centred sum of squares of the target;
* ``kr``, ``mr``, ``m2r`` -- the same for the residual ``r = y_true - y_pred``;
* ``mabs`` -- the weighted mean of ``|r|``.

Chunks are reduced by the fused one-pass kernel (blocked two-pass within
cache) and combined by the pairwise formulas of Chan, Golub and LeVeque:

.. math::
    W = W_a + W_b,\quad \delta = \bar x_b - \bar x_a,\quad
    \bar x = \bar x_a + \delta \frac{W_b}{W},\quad
    M_2 = M_{2,a} + M_{2,b} + \delta^2 \frac{W_a W_b}{W}.

Because every state is centred (never raw power sums) and values are taken
relative to a data-valued shift, results agree with an exactly rounded
two-pass computation far below 1e-9 relative (the tested bound) whatever the
chunking and merge order, even
for a target like ``1e9 + noise``: the case where one-pass R^2 (as in
torchmetrics or Keras) loses every digit. From the state:

.. math::
    SS_{res} = M_{2,r} + W \bar r^2,\quad SS_{tot} = M_{2,y},\quad
    R^2 = 1 - SS_{res}/SS_{tot},\quad EV = 1 - M_{2,r}/M_{2,y}.

``merge`` returns a *new* accumulator and leaves both operands unchanged
(``a + b`` is the same); ``update`` works in place and returns ``self``.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from .._array import nonfinite_error, to_numpy, validate_pair
from .._errors import InputError
from ._fused import fused
from ._state import STATE_KEYS, assemble, check_multioutput, merge_states, state_sums

__all__ = ["Accumulator"]

_VERSION = 1


def _as_numpy_input(x: Any, name: str):
    if x is None or type(x) is np.ndarray:
        return x
    if type(x).__module__.split(".")[0] == "dask":
        raise InputError(name, "an in-memory array chunk", "a Dask array",
                         "call l2.mse(...) etc. on the Dask arrays directly, or update per computed chunk")
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return to_numpy(x)
    return np.asarray(x)


class Accumulator:
    """Streaming, mergeable, exact regression metrics (n, mse, rmse, mae, r2, explained variance).

    Parameters
    ----------
    nonfinite : {"raise", "omit"}
        ``"raise"`` (default): an update whose data hold NaN or inf raises
        :class:`~l2kit.InputError` naming the argument, the count and the first
        bad row (counted over all updates so far; also in the error's ``row``
        attribute) and leaves the state unchanged. ``"omit"``: such rows are
        skipped and counted in ``n_omitted`` (no warning per update).

    Notes
    -----
    Any input dtype (float16/32/64, integers, torch tensors on any device, JAX
    arrays) is reduced into float64 state. ``weights`` are case weights of shape
    ``(N,)`` or of the inputs' shape (per output). Multioutput input ``(N, k)``
    keeps one state per column. Accumulators serialise to JSON with
    :meth:`to_dict` for map-reduce; :meth:`reduce_distributed` combines the
    states of all ``torch.distributed`` ranks.

    Examples
    --------
    >>> import numpy as np, l2kit as l2
    >>> rng = np.random.default_rng(0)
    >>> y = 1e9 + rng.normal(size=1000)
    >>> p = y + rng.normal(scale=0.5, size=1000)
    >>> a = l2.metrics.Accumulator().update(y[:300], p[:300])
    >>> b = l2.metrics.Accumulator().update(y[300:], p[300:])
    >>> res = a.merge(b).result()
    >>> res["n"], abs(res["r2"] - float(l2.r2(y, p))) < 1e-12
    (1000, True)
    >>> c = l2.metrics.Accumulator.from_dict(a.to_dict())
    >>> c.result() == a.result()
    True
    """

    def __init__(self, *, nonfinite: str = "raise") -> None:
        if nonfinite not in ("raise", "omit"):
            raise InputError("nonfinite", "'raise' or 'omit'", repr(nonfinite),
                             "pass nonfinite='raise' (the default) or nonfinite='omit'")
        self.nonfinite = nonfinite
        self.n = 0
        self.n_omitted = 0
        self._ndim: int | None = None
        self._state: dict | None = None

    # ------------------------------------------------------------------
    @property
    def n_outputs(self) -> int | None:
        """Number of output columns (None before the first update)."""
        return None if self._state is None else int(self._state["W"].shape[0])

    def __repr__(self) -> str:
        return f"Accumulator(n={self.n}, n_outputs={self.n_outputs}, n_omitted={self.n_omitted})"

    def copy(self) -> Accumulator:
        """An independent copy."""
        out = Accumulator(nonfinite=self.nonfinite)
        out.n, out.n_omitted, out._ndim = self.n, self.n_omitted, self._ndim
        out._state = None if self._state is None else {k: v.copy() for k, v in self._state.items()}
        return out

    # ------------------------------------------------------------------
    def update(self, y_true: Any, y_pred: Any, weights: Any = None) -> Accumulator:
        """Add a chunk of ``(y_true, y_pred[, weights])`` in place; returns ``self``.

        The chunk is reduced in one pass by the fused kernel into float64 state.
        """
        yt = _as_numpy_input(y_true, "y_true")
        yp = _as_numpy_input(y_pred, "y_pred")
        w = _as_numpy_input(weights, "weights")
        v = validate_pair(yt, yp, weights=w, allow_complex=False)
        yt, yp, w = v.y_true, v.y_pred, v.weights
        if yt.ndim > 2:
            raise InputError("y_true", "a 1-D (n_samples,) or 2-D (n_samples, n_outputs) chunk",
                             f"{yt.ndim}-D shape {yt.shape}", "reshape to (n_samples, n_outputs)")
        if w is not None and yt.ndim == 2 and w.shape != yt.shape:
            w = w.reshape(-1)  # the validator's (N, 1) view of per-row weights
        k = 1 if yt.ndim == 1 else yt.shape[1]
        if self._state is not None and (yt.ndim != self._ndim or k != self.n_outputs):
            want = "(N,)" if self._ndim == 1 else f"(N, {self.n_outputs})"
            raise InputError("y_true", f"chunks of shape {want} like the earlier updates",
                             f"shape {yt.shape}", "keep the number of output columns fixed")
        self._add(yt, yp, w, self.nonfinite)
        return self

    def _add(self, yt, yp, w, mode: str) -> None:
        shift = None if self._state is None else (self._state["ky"], self._state["kr"])
        st = fused(yt, yp, w, what="moments", shift=shift)
        n = int(yt.shape[0])
        if not all(np.isfinite(st[key]).all() for key in ("W", "my", "m2y", "mr", "m2r", "mabs")):
            ok = np.isfinite(yt) & np.isfinite(yp)
            if w is not None:
                ok &= np.isfinite(w if w.shape == yt.shape or yt.ndim == 1 else w[:, None])
            if ok.ndim == 2:
                ok = ok.all(axis=1)
            bad = n - int(np.count_nonzero(ok))
            if mode == "raise" or bad == 0:
                err = nonfinite_error(np, {key: a for key, a in
                                           (("y_true", yt), ("y_pred", yp), ("weights", w)) if a is not None})
                err.row = self.n + self.n_omitted + int(np.argmin(ok)) if bad else None
                if bad:
                    err.args = (err.args[0] + f" First bad row: {err.row} (counting rows of all updates from 0).",)
                raise err
            self.n_omitted += bad
            if bad == n:
                return
            yt, yp = yt[ok], yp[ok]
            w = None if w is None else w[ok]
            st = fused(yt, yp, w, what="moments", shift=shift)
            n -= bad
        if self._state is None:
            self._ndim = yt.ndim
            self._state = st
        else:
            self._state = merge_states(self._state, st)
        self.n += n

    # ------------------------------------------------------------------
    def merge(self, other: Accumulator) -> Accumulator:
        """Return a new accumulator holding both states (neither operand changes).

        The merge is exact in the sense of Chan's formulas: merging in any order
        and tree shape gives the same result to rounding.
        """
        if not isinstance(other, Accumulator):
            raise InputError("other", "an Accumulator", type(other).__name__,
                             "merge accumulators only (use Accumulator.from_dict for JSON states)")
        if self._state is None:
            out = other.copy()
            out.n_omitted += self.n_omitted
            out.nonfinite = self.nonfinite
            return out
        out = self.copy()
        out.n_omitted += other.n_omitted
        if other._state is None:
            return out
        if other._ndim != self._ndim or other.n_outputs != self.n_outputs:
            raise InputError("other", f"an accumulator of {self.n_outputs} output(s), {self._ndim}-D",
                             f"{other.n_outputs} output(s), {other._ndim}-D", "merge states of the same targets")
        out._state = merge_states(out._state, other._state)
        out.n += other.n
        return out

    __add__ = merge

    # ------------------------------------------------------------------
    def result(self, *, multioutput: Any = "uniform_average") -> dict:
        """The metrics: ``n``, ``mse``, ``rmse``, ``mae``, ``r2``, ``explained_variance``.

        Also ``n_omitted`` (rows skipped with ``nonfinite="omit"``) and
        ``sum_weights``. Values are Python floats, or float64 arrays of length
        ``k`` with ``multioutput="raw_values"``; ``multioutput`` follows
        :func:`l2kit.mse` (``"variance_weighted"`` applies to r2 and explained
        variance; the other metrics then use uniform weights).
        """
        import array_api_compat.numpy as xnp

        if self._state is None:
            raise InputError("Accumulator", "at least one update with data", "an empty accumulator",
                             "call update(y_true, y_pred) first")
        k = self.n_outputs
        out: dict[str, Any] = {"n": int(self.n), "n_omitted": int(self.n_omitted)}
        W = self._state["W"]
        # one number when every output has the same weight sum (always, unless weights are per element)
        out["sum_weights"] = float(W[0]) if np.all(W == W[0]) else W.copy()
        for metric in ("mse", "rmse", "mae", "r2", "explained_variance"):
            mo = multioutput
            if isinstance(mo, str) and mo == "variance_weighted" and metric not in ("r2", "explained_variance"):
                mo = "uniform_average"
            mo = check_multioutput(metric, mo, k)
            val = assemble(xnp, metric, state_sums(self._state, metric), mo, self.n)
            out[metric] = float(val) if np.ndim(val) == 0 else np.asarray(val, dtype=np.float64)
        return out

    # ------------------------------------------------------------------
    def to_dict(self) -> dict:
        """A JSON-safe dict of the state (floats round-trip exactly through ``json``)."""
        return {
            "l2kit_accumulator": _VERSION,
            "nonfinite": self.nonfinite,
            "n": int(self.n),
            "n_omitted": int(self.n_omitted),
            "ndim": self._ndim,
            "state": None if self._state is None else {k: [float(x) for x in self._state[k]] for k in STATE_KEYS},
        }

    @classmethod
    def from_dict(cls, d: dict | str) -> Accumulator:
        """Rebuild an accumulator from :meth:`to_dict` output (a dict or its JSON string)."""
        if isinstance(d, (str, bytes)):
            d = json.loads(d)
        if not isinstance(d, dict) or d.get("l2kit_accumulator") != _VERSION:
            raise InputError("d", f"a dict from Accumulator.to_dict() (version {_VERSION})",
                             type(d).__name__ if not isinstance(d, dict) else f"keys {sorted(d)[:6]}",
                             "pass the output of to_dict() unchanged")
        out = cls(nonfinite=d.get("nonfinite", "raise"))
        out.n = int(d["n"])
        out.n_omitted = int(d.get("n_omitted", 0))
        st = d.get("state")
        if st is not None:
            arrs = {k: np.asarray(st[k], dtype=np.float64) for k in STATE_KEYS}
            shapes = {a.shape for a in arrs.values()}
            if len(shapes) != 1 or len(next(iter(shapes))) != 1 or not all(
                    math.isfinite(x) for a in arrs.values() for x in a):
                raise InputError("d['state']", "finite lists of equal length, one per output",
                                 "inconsistent or non-finite state", "pass the output of to_dict() unchanged")
            out._state = arrs
            out._ndim = int(d["ndim"])
        return out

    # ------------------------------------------------------------------
    def reduce_distributed(self, group: Any = None) -> Accumulator:
        """Combine the states of all ``torch.distributed`` ranks; every rank gets the same result.

        Collective: every rank of ``group`` must call it. The states are
        gathered (as :meth:`to_dict` objects) and merged in rank order, so all
        ranks hold bit-identical results. Returns a new accumulator.
        """
        import torch.distributed as dist

        if not (dist.is_available() and dist.is_initialized()):
            raise InputError("torch.distributed", "an initialised process group", "no process group",
                             "call torch.distributed.init_process_group(...) first")
        states: list = [None] * dist.get_world_size(group)
        dist.all_gather_object(states, self.to_dict(), group=group)
        out = Accumulator(nonfinite=self.nonfinite)
        for s in states:
            out = out.merge(Accumulator.from_dict(s))
        return out
