"""The JSON form of an :class:`~l2kit.metrics.Accumulator` state, checked before it is trusted.

:func:`parse_state_dict` turns the output of ``Accumulator.to_dict()`` (a dict
or its JSON text) back into counts and float64 state arrays, and refuses
anything an accumulator cannot have produced, naming the key: a version that
is not the integer 1 (``True == 1`` is refused too), counts that are not
non-negative integers (a count of 3.7 was truncated, -5 accepted), lists of
different lengths or with NaN/inf, negative sums of squares or weights (which
gave a negative mse or an r2 of 85), ``ndim`` other than 1 or 2, and an
unweighted state whose weight sum differs from its count.

Examples
--------
>>> d = {"l2kit_accumulator": 1, "n": 2, "ndim": 1, "weighted": False, "state": {
...     "W": [2.0], "ky": [0.0], "my": [0.5], "m2y": [0.5], "kr": [0.0], "mr": [0.0], "m2r": [0.0],
...     "mabs": [0.0]}}
>>> parse_state_dict(d)["state"]["u"]
array([1.])
>>> parse_state_dict({**d, "n": 3.7})
Traceback (most recent call last):
...
l2kit._errors.InputError: d['n']: expected a non-negative integer, got 3.7. Fix: pass the output of to_dict() unchanged.
"""

from __future__ import annotations

import json
import math
import numbers
from typing import Any

import numpy as np

from .._errors import InputError
from ._state import STATE_KEYS

__all__ = ["VERSION", "parse_state_dict"]

#: the format version written by ``Accumulator.to_dict``
VERSION = 1
_FIX = "pass the output of to_dict() unchanged"
#: state arrays that can never be negative: weight sums, sums of squares, the mean absolute residual
_NON_NEGATIVE = ("W", "m2y", "m2r", "mabs")


def _bad(key: str | tuple[str, ...], expected: str, got: Any) -> InputError:
    path = "".join(f"[{k!r}]" for k in ((key,) if isinstance(key, str) else key))
    shown = repr(got) if isinstance(got, (bool, int, float, str, list, type(None))) else type(got).__name__
    return InputError(f"d{path}", expected, shown if len(shown) < 80 else shown[:77] + "...", _FIX)


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _count(d: dict, key: str, default: Any = None) -> int:
    v = d.get(key, default)
    if not _is_int(v) or v < 0:
        raise _bad(key, "a non-negative integer", v)
    return int(v)


def _as_dict(d: Any) -> dict:
    if isinstance(d, (str, bytes, bytearray)):
        try:
            d = json.loads(d)
        except ValueError:
            raise InputError("d", "a dict from Accumulator.to_dict() or its JSON text", "text that is not JSON",
                             _FIX) from None
    if not isinstance(d, dict):
        raise InputError("d", f"a dict from Accumulator.to_dict() (version {VERSION})", type(d).__name__, _FIX)
    v = d.get("l2kit_accumulator")
    if not (_is_int(v) and v == VERSION):
        raise _bad("l2kit_accumulator", f"the integer {VERSION} (the format version)", v)
    return d


def _state_arrays(st: Any) -> dict[str, np.ndarray]:
    """The state lists as float64 arrays of one length (``u``, absent before weight units, defaults to 1)."""
    if not isinstance(st, dict):
        raise _bad("state", "None or a dict of lists", st)
    out = {}
    for key in STATE_KEYS:
        v = st.get(key, [1.0] * len(st.get("W") or [0]) if key == "u" else None)
        if not (isinstance(v, list) and v and all(isinstance(x, numbers.Real) and not isinstance(x, bool)
                                                  and math.isfinite(x) for x in v)):
            raise _bad(("state", key), "a non-empty list of finite numbers, one per output", v)
        out[key] = np.asarray(v, dtype=np.float64)
    if len({a.shape for a in out.values()}) != 1:
        raise _bad("state", "lists of equal length (one entry per output)",
                   ", ".join(f"{k}: {a.size}" for k, a in out.items()))
    for key in _NON_NEGATIVE:
        if (out[key] < 0).any():
            raise _bad(("state", key), "non-negative values (a sum of weights or squares)", st[key])
    if (out["u"] <= 0).any():
        raise _bad(("state", "u"), "positive weight units", st["u"])
    return out


def parse_state_dict(d: Any) -> dict[str, Any]:
    """Checked ``nonfinite``, ``n``, ``n_omitted``, ``ndim``, ``weighted`` and ``state`` (arrays or None)."""
    d = _as_dict(d)
    n, n_omitted = _count(d, "n"), _count(d, "n_omitted", 0)
    weighted = d.get("weighted", True)   # dicts written before the flag: the weight-sum check is skipped
    if not isinstance(weighted, bool):
        raise _bad("weighted", "true or false", weighted)
    ndim, st = d.get("ndim"), d.get("state")
    if st is None:
        if n != 0 or ndim is not None:
            raise _bad("state", f"a state for the {n} row(s) and ndim {ndim!r} given", None)
        return {"nonfinite": d.get("nonfinite", "raise"), "n": 0, "n_omitted": n_omitted, "ndim": None,
                "weighted": weighted, "state": None}
    state = _state_arrays(st)
    k = state["W"].size
    if not (_is_int(ndim) and ndim in (1, 2)) or (ndim == 1 and k != 1):
        raise _bad("ndim", "1 (one output) or 2 (n_samples, n_outputs)" + (f" for {k} outputs" if k > 1 else ""),
                   ndim)
    if n == 0:
        raise _bad("n", "at least 1 for a non-empty state", n)
    if not weighted and not (np.all(state["W"] == n) and np.all(state["u"] == 1.0)):
        raise _bad("n", f"the count of rows, equal to the weight sum {state['W'][0]:g} of an unweighted state", n)
    return {"nonfinite": d.get("nonfinite", "raise"), "n": n, "n_omitted": n_omitted, "ndim": int(ndim),
            "weighted": weighted, "state": state}
