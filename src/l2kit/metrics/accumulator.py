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

``update`` and ``merge`` work in place and return ``self`` (as torchmetrics'
and datasketch's ``merge`` do); ``a + b`` returns a new accumulator and leaves
both operands unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._array import as_numpy, nonfinite_error, numpy_namespace, validate_pair
from .._errors import InputError
from ._fused import fused
from ._serial import VERSION as _VERSION
from ._serial import parse_state_dict
from ._state import STATE_KEYS, assemble, check_multioutput, check_ndim, finite_sums, merge_states

__all__ = ["Accumulator"]


def _as_numpy_input(x: Any, name: str):
    if x is None or type(x) is np.ndarray:
        return x
    if type(x).__module__.split(".")[0] == "dask":
        raise InputError(name, "an in-memory array chunk", "a Dask array",
                         "call l2.mse(...) etc. on the Dask arrays directly, or update per computed chunk")
    return as_numpy(x, name)


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
    >>> c = a + b                      # a new accumulator; a and b unchanged
    >>> res = c.result()
    >>> res["n"], abs(res["r2"] - float(l2.r2(y, p))) < 1e-12
    (1000, True)
    >>> a.merge(b) is a, a.n           # merge adds b into a, in place
    (True, 1000)
    >>> d = l2.metrics.Accumulator.from_dict(a.to_dict())
    >>> d.result() == a.result()
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
        self._weighted = False   # whether any update had weights (else the weight sum equals n)

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
        out.n, out.n_omitted, out._ndim, out._weighted = self.n, self.n_omitted, self._ndim, self._weighted
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
        # the inputs are NumPy arrays now: validate them in NumPy's namespace, whatever the data came from
        v = validate_pair(yt, yp, weights=w, allow_complex=False, xp=numpy_namespace())
        yt, yp, w = v.y_true, v.y_pred, v.weights
        check_ndim(yt.shape)
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
        # unweighted chunks share the running shift (their merge is then exact); a weighted chunk is
        # centred on its own heaviest row, which the weighted mean depends on to the last digit
        shift = None if self._state is None or w is not None else (self._state["ky"], self._state["kr"])
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
        self._weighted |= w is not None

    # ------------------------------------------------------------------
    def merge(self, other: Accumulator) -> Accumulator:
        """Add the state of ``other`` into this accumulator, in place; returns ``self``.

        ``other`` is unchanged (use ``a + b`` for a new accumulator that leaves
        both unchanged). The merge is exact in the sense of Chan's formulas:
        merging in any order and tree shape gives the same result to rounding.
        Accumulators of different output shapes are refused and ``self`` is
        then left as it was.
        """
        if not isinstance(other, Accumulator):
            raise InputError("other", "an Accumulator", type(other).__name__,
                             "merge accumulators only (use Accumulator.from_dict for JSON states)")
        if self._state is not None and other._state is not None and (
                other._ndim != self._ndim or other.n_outputs != self.n_outputs):
            raise InputError("other", f"an accumulator of {self.n_outputs} output(s), {self._ndim}-D",
                             f"{other.n_outputs} output(s), {other._ndim}-D", "merge states of the same targets")
        if other._state is not None:
            if self._state is None:
                self._ndim = other._ndim
                self._state = {k: v.copy() for k, v in other._state.items()}
            else:
                self._state = merge_states(self._state, other._state)
        # read other's counts only now: a.merge(a) doubles a, as a + a does
        self.n, self.n_omitted = self.n + other.n, self.n_omitted + other.n_omitted
        self._weighted |= other._weighted
        return self

    def __add__(self, other: Accumulator) -> Accumulator:
        """A new accumulator holding both states; neither operand changes."""
        return self.copy().merge(other)

    # ------------------------------------------------------------------
    def result(self, *, multioutput: Any = "uniform_average") -> dict:
        """The metrics: ``n``, ``mse``, ``rmse``, ``mae``, ``r2``, ``explained_variance``.

        Also ``n_omitted`` (rows skipped with ``nonfinite="omit"``) and
        ``sum_weights``. Values are Python floats, or float64 arrays of length
        ``k`` with ``multioutput="raw_values"``; ``multioutput`` follows
        :func:`l2kit.mse` (``"variance_weighted"`` applies to r2 and explained
        variance; the other metrics then use uniform weights). Finite data whose
        squared errors overflow float64 (values near 1e200) raise
        :class:`~l2kit.InputError`, as :func:`l2kit.mse` does.
        """
        xnp = numpy_namespace()
        if self._state is None:
            raise InputError("Accumulator", "at least one update with data", "an empty accumulator",
                             "call update(y_true, y_pred) first")
        k = self.n_outputs
        out: dict[str, Any] = {"n": int(self.n), "n_omitted": int(self.n_omitted)}
        W = self._state["W"] * self._state["u"]
        # one number when every output has the same weight sum (always, unless weights are per element)
        out["sum_weights"] = float(W[0]) if np.all(W == W[0]) else W.copy()
        for metric in ("mse", "rmse", "mae", "r2", "explained_variance"):
            mo = multioutput
            if isinstance(mo, str) and mo == "variance_weighted" and metric not in ("r2", "explained_variance"):
                mo = "uniform_average"
            mo = check_multioutput(metric, mo, k)
            val = assemble(xnp, metric, finite_sums(self._state, metric), mo, self.n)
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
            "weighted": self._weighted,
            "state": None if self._state is None else {k: [float(x) for x in self._state[k]] for k in STATE_KEYS},
        }

    @classmethod
    def from_dict(cls, d: dict | str) -> Accumulator:
        """Rebuild an accumulator from :meth:`to_dict` output (a dict or its JSON string).

        The dict is checked before use: counts must be non-negative integers,
        the state lists finite and of one length per output, the sums of
        squares and weights non-negative, and an unweighted state's weight sum
        equal to its count. Anything else raises :class:`~l2kit.InputError`
        naming the key (never a KeyError, or a state that reports a negative
        mse or an r2 above 1).

        Examples
        --------
        >>> import numpy as np, l2kit as l2
        >>> d = l2.metrics.Accumulator().update(np.arange(4.0), np.ones(4)).to_dict()
        >>> l2.metrics.Accumulator.from_dict({**d, "n": 5})
        Traceback (most recent call last):
        ...
        l2kit._errors.InputError: d['n']: expected the count of rows, equal to the weight sum 4 of an unweighted ...
        """
        d = parse_state_dict(d)
        out = cls(nonfinite=d["nonfinite"])
        out.n, out.n_omitted, out._ndim, out._weighted, out._state = (
            d["n"], d["n_omitted"], d["ndim"], d["weighted"], d["state"])
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
            out.merge(Accumulator.from_dict(s))
        return out
