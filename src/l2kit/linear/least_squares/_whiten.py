r"""The whitening that turns OLS, WLS and GLS into one problem :math:`\min \|b - c\beta_0 - A\beta\|^2`.

See :mod:`.solver` for the three cases. Zero-weight rows are removed (and
counted), so "weight 0 = row removed" holds exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..._array import to_numpy
from ..._errors import InputError
from .._design import Design

__all__ = ["Whitened", "whiten"]


@dataclass(frozen=True)
class Whitened:
    r"""The whitened problem ``b ~ c b0 + A beta``.

    ``c`` is the intercept column (1.0 for a column of ones, None without an
    intercept), ``keep`` the mask of the rows kept (None: all), ``n_obs`` their
    number, ``logdet`` :math:`\log|\Sigma|` for the log-likelihood, ``n_pen``
    the ``n`` of the penalty scaling (the weight sum) and ``kind`` one of
    "ols", "wls", "gls", "gls-diagonal".
    """

    A: np.ndarray
    b: np.ndarray
    c: Any
    keep: np.ndarray | None
    n_obs: int
    logdet: float
    n_pen: float
    kind: str


def whiten(design: Design, cov: Any, fit_intercept: bool) -> Whitened:
    """The whitened problem of ``design`` under the error covariance ``cov`` (None, variances (n,) or (n, n))."""
    X, y, w = design.X, design.y, design.weights
    n = X.shape[0]
    if cov is not None:
        C = np.asarray(to_numpy(cov) if not isinstance(cov, (list, tuple)) else cov)
        if not np.issubdtype(C.dtype, np.number) or np.iscomplexobj(C):
            raise InputError("cov", "a real covariance matrix (n, n) or variances (n,)", f"dtype {C.dtype}",
                             "pass real numbers")
        C = C.astype(np.float64)
        if C.shape == (n,):
            if not np.all(np.isfinite(C)) or (C <= 0).any():
                bad = np.flatnonzero(~(np.isfinite(C) & (C > 0)))
                raise InputError("cov", "positive finite variances (a positive definite diagonal covariance)",
                                 f"{bad.size} bad value(s), first at row {int(bad[0])} ({C[bad[0]]:g})",
                                 "variances must be > 0; drop those rows or fix the variances")
            w = 1.0 / C if w is None else w / C
        elif C.shape == (n, n):
            if w is not None:
                raise InputError("weights", "None together with a full covariance matrix", "weights",
                                 "fold the weights into cov (cov / w scales row i and column i by 1/sqrt(w_i))")
            if not np.all(np.isfinite(C)):
                raise InputError("cov", "finite values", f"{int((~np.isfinite(C)).sum())} NaN/inf value(s)",
                                 "fix the covariance matrix")
            if not np.allclose(C, C.T, rtol=1e-10, atol=0):
                raise InputError("cov", "a symmetric matrix", "an asymmetric matrix", "pass (C + C.T) / 2")
            from scipy.linalg import lapack, solve_triangular

            L, info = lapack.dpotrf(C, lower=1, clean=1)
            if info != 0:
                raise InputError("cov", "a positive definite covariance matrix",
                                 f"a matrix that is not positive definite (Cholesky failed at leading minor "
                                 f"{info})", "check for duplicated or perfectly correlated rows; add a small "
                                 "multiple of the identity, or pass per-row variances")
            A = solve_triangular(L, X, lower=True)
            b = solve_triangular(L, y, lower=True)
            c = solve_triangular(L, np.ones(n), lower=True) if fit_intercept else None
            logdet = 2.0 * float(np.log(np.diag(L)).sum())
            return Whitened(A, b, c, None, n, logdet, float(n), "gls")
        else:
            raise InputError("cov", f"shape ({n}, {n}) (full covariance) or ({n},) (variances)",
                             f"shape {C.shape}", "pass one variance per row or an n-by-n covariance matrix")
    if w is None:
        return Whitened(X, y, 1.0 if fit_intercept else None, None, n, 0.0, float(n), "ols")
    keep = w > 0
    if keep.all():
        keep = None
        Xk, yk, wk = X, y, w
    else:
        Xk, yk, wk = X[keep], y[keep], w[keep]
    s = np.sqrt(wk)
    A = Xk * s[:, None]
    b = yk * s
    return Whitened(A, b, s if fit_intercept else None, keep, int(wk.size), -float(np.log(wk).sum()),
                    float(wk.sum()), "wls" if cov is None else "gls-diagonal")
