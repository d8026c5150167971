"""Option handling shared by the solvers behind ``l2kit.fit`` (validated once, with fixes in the message)."""

from __future__ import annotations

import numpy as np

from .._errors import InputError

#: ``method=`` values that force the generic gradient solver for any smooth loss (see :mod:`.gradient`)
GRADIENT_METHODS = ("gradient", "lbfgs", "trust")


def check_common(options: dict, solver: str, allowed: tuple[str, ...], penalty: str | None = None) -> dict:
    """Refuse GLS ``cov``, unknown keywords, and penalties the solver does not support.

    ``penalty="l2"`` accepts ``alpha >= 0`` with ``l1_ratio=0`` (a ridge penalty), ``penalty="l1"``
    accepts ``alpha >= 0`` with ``l1_ratio=1`` (a lasso penalty); the validated ``alpha`` is then
    returned in the options as a float. Any other solver refuses ``alpha != 0``.
    """
    opts = dict(options)
    cov = opts.pop("cov", None)
    if cov is not None:
        raise InputError("cov", f"None for {solver} fits", "an error covariance",
                         "GLS error covariances are supported for loss=Squared() only; pass case weights instead")
    alpha = opts.pop("alpha", 0.0)
    l1_ratio = opts.pop("l1_ratio", 0.0)
    number = isinstance(alpha, (int, float, np.floating, np.integer)) and not isinstance(alpha, bool)
    if penalty is None or not number or not (np.isfinite(alpha) and alpha >= 0):
        if not (number and alpha == 0):
            fit = {"l2": "alpha >= 0 (a ridge penalty)", "l1": "alpha >= 0 (an L1 penalty)"}.get(
                penalty, "0 (no penalty)")
            raise InputError("alpha", f"{fit} for {solver} fits", repr(alpha),
                             "pass a non-negative number" if penalty else
                             "penalised fits are supported for Squared(), the robust losses (ridge) and "
                             "Quantile/Absolute (L1); drop alpha")
    want = {"l2": 0.0, "l1": 1.0}.get(penalty, 0.0)
    if not (isinstance(l1_ratio, (int, float, np.floating, np.integer)) and l1_ratio == want) and not (
            alpha == 0 and l1_ratio in (0, 0.0)):
        raise InputError("l1_ratio", f"{want:g} for {solver} fits", repr(l1_ratio),
                         {"l2": "robust losses take a ridge penalty: pass l1_ratio=0",
                          "l1": "the LP takes an L1 penalty: pass l1_ratio=1 (an L2 term would make it a QP)"
                          }.get(penalty, "drop l1_ratio"))
    if penalty is not None:
        opts["alpha"] = float(alpha)
    unknown = set(opts) - set(allowed) - {"fit_intercept", "method", "alpha"}
    if unknown:
        raise InputError("options", f"keywords of the {solver} solver (" + ", ".join(sorted(allowed)) + ")",
                         ", ".join(sorted(unknown)), "remove the unknown keywords")
    return opts


def iteration_options(opts: dict, *, max_iter: int, tol: float) -> tuple[int, float]:
    """Read ``max_iter`` (an integer >= 1) and ``tol`` (> 0) from ``opts`` with the solver's defaults.

    Examples
    --------
    >>> iteration_options({"tol": 1e-6}, max_iter=100, tol=1e-8)
    (100, 1e-06)
    >>> iteration_options({"max_iter": 0}, max_iter=100, tol=1e-8)
    Traceback (most recent call last):
    ...
    l2kit._errors.InputError: max_iter, tol: expected an integer max_iter >= 1 and tol > 0, got 0, 1e-08. Fix: ...
    """
    it = opts.get("max_iter", max_iter)
    tl = opts.get("tol", tol)
    ok_it = isinstance(it, (int, np.integer)) and not isinstance(it, bool) and it >= 1
    ok_tol = isinstance(tl, (int, float, np.floating, np.integer)) and not isinstance(tl, bool) and tl > 0
    if not (ok_it and ok_tol):
        raise InputError("max_iter, tol", "an integer max_iter >= 1 and tol > 0", f"{it!r}, {tl!r}",
                         f"pass e.g. max_iter={max_iter}, tol={tol!r}")
    return int(it), float(tl)
