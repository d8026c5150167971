"""A :class:`~l2kit.linear.Fit` as strict JSON and back: ``Fit.to_dict()`` and ``Fit.from_dict(d)``.

The dictionary holds everything but the per-row arrays (residuals, IRLS
weights) and the training data: the loss (its registry name and
parameters), the link, ``fit_intercept``, the coefficients, the covariance,
the statistics, the status and its message, and ``extra``. It is strict
JSON: NaN and infinities become ``null``, complex arrays
``{"real": [...], "imag": [...]}``, tuples lists; ``json.dumps(d,
allow_nan=False)`` always succeeds. ``Fit.from_dict`` rebuilds a fit that
predicts (and reports) identically.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from .._errors import InputError

__all__ = ["fit_from_dict", "fit_to_dict", "json_value"]

FORMAT = "l2kit.Fit"
VERSION = 1
_PER_ROW = ("weights",)   # extra entries with one value per training row: left out


def json_value(v: Any) -> Any:
    """``v`` as strict-JSON data (NaN/inf -> None, arrays -> lists, complex -> {"real", "imag"}).

    Examples
    --------
    >>> json_value({"a": np.array([1.0, np.nan]), "b": (1, float("inf")), "c": np.float64(2.5)})
    {'a': [1.0, None], 'b': [1, None], 'c': 2.5}
    """
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, dict) or hasattr(v, "items"):
        return {str(k): json_value(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [json_value(x) for x in v]
    if isinstance(v, (np.ndarray, np.generic, int, float, complex)):
        a = np.asarray(v)
        if np.iscomplexobj(a):
            return {"real": json_value(np.real(a)), "imag": json_value(np.imag(a))}
        if a.dtype.kind in "biu":
            return a.tolist()
        if a.dtype.kind == "f":
            out = a.astype(object)
            out[~np.isfinite(a)] = None
            return out.tolist()
        return json_value(a.tolist())
    if hasattr(v, "value") and isinstance(v.value, str):   # an enum (Status)
        return v.value
    return str(v)


def fit_to_dict(fit) -> dict[str, Any]:
    """The strict-JSON dictionary of ``fit`` (see the module docstring)."""
    d = {
        "format": FORMAT, "version": VERSION,
        "loss": type(fit.loss).__name__, "loss_name": fit.loss.name, "loss_params": fit.loss.params,
        "method": fit.method, "link": fit.link, "fit_intercept": fit.fit_intercept,
        "feature_names": list(fit.feature_names), "coef": fit.coef, "intercept": fit.intercept,
        "stderr": fit.stderr, "intercept_stderr": fit.intercept_stderr, "cov_params": fit.cov_params,
        "cov_type": fit.cov_type, "dist": fit.dist, "rank": fit.rank, "scale": fit.scale, "loglike": fit.loglike,
        "status": fit.status.value, "converged": fit.converged, "message": fit.message, "n_iter": fit.n_iter,
        "n_obs": fit.n_obs, "df_resid": fit.df_resid, "alpha": fit.alpha, "l1_ratio": fit.l1_ratio,
        "deviance": fit.deviance, "null_deviance": fit.null_deviance, "df_model": fit.df_model, "aic": fit.aic,
        "bic": fit.bic, "r2": fit.r2, "r2_adj": fit.r2_adj, "prediction_scale": fit.prediction_scale,
        "offset_used": fit.offset_used, "undefined": dict(fit.undefined),
        "extra": {k: v for k, v in fit.extra.items() if k not in _PER_ROW},
    }
    return json_value(d)


def _array(v, *, scalar: bool = False):
    if v is None:
        return None
    if isinstance(v, dict) and set(v) == {"real", "imag"}:
        a = _array(v["real"]) + 1j * _array(v["imag"])
    else:
        a = np.array(v, dtype=object)
        a = np.where(a == None, np.nan, a).astype(float)  # noqa: E711 - elementwise None test
    if scalar and a.ndim == 0:
        return complex(a) if np.iscomplexobj(a) else float(a)
    return a


def _num(v) -> float:
    return math.nan if v is None else float(v)


def _extra(v):
    if isinstance(v, dict) and set(v) == {"real", "imag"}:
        return _array(v)
    if isinstance(v, dict):
        return {k: _extra(x) for k, x in v.items()}
    if isinstance(v, list) and v and all(isinstance(x, (int, float)) or x is None for x in v):
        return _array(v)
    return v


def _loss(d: dict):
    from ..losses import get_loss, loss_classes

    name = d.get("loss_name")
    if name is None:   # a dict written before loss_name: find the class by its name
        name = next((c.name for c in loss_classes() if c.__name__ == d.get("loss")), d.get("loss"))
    params = {k: (_array(v) if isinstance(v, list) else v) for k, v in (d.get("loss_params") or {}).items()}
    return get_loss(name, **params)


def fit_from_dict(cls, d: Any):
    """Rebuild a ``cls`` (Fit) from :func:`fit_to_dict` output (a dict or its JSON string)."""
    from .._status import Status

    if isinstance(d, str):
        d = json.loads(d)
    if not isinstance(d, dict) or d.get("format", FORMAT) != FORMAT or "coef" not in d:
        raise InputError("d", "a dict from Fit.to_dict()", type(d).__name__, "pass the output of to_dict() unchanged")
    intercept = _array(d["intercept"], scalar=True)
    return cls(
        coef=_array(d["coef"]), intercept=intercept, stderr=_array(d.get("stderr")),
        intercept_stderr=_array(d.get("intercept_stderr"), scalar=True), cov_params=_array(d.get("cov_params")),
        rank=int(d["rank"]), scale=_num(d.get("scale")), loglike=None if d.get("loglike") is None else d["loglike"],
        status=Status(d["status"]), message=d.get("message", ""), n_iter=int(d.get("n_iter", 0)), residuals=None,
        n_obs=int(d.get("n_obs", 0)), df_resid=_num(d.get("df_resid")), loss=_loss(d), method=d["method"],
        fit_intercept=bool(d["fit_intercept"]), link=d.get("link", "identity"), dist=d.get("dist", "t"),
        cov_type=d.get("cov_type", "nonrobust"), alpha=_num(d.get("alpha", 0.0)),
        l1_ratio=_num(d.get("l1_ratio", 0.0)), feature_names=tuple(d.get("feature_names", ())),
        extra={k: _extra(v) for k, v in (d.get("extra") or {}).items()},
        **{k: _num(d.get(k)) for k in ("deviance", "null_deviance", "df_model", "aic", "bic", "r2", "r2_adj")},
        prediction_scale=d.get("prediction_scale"), offset_used=bool(d.get("offset_used", False)),
        undefined=dict(d.get("undefined") or {}))
